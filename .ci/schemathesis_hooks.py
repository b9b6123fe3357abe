"""schemathesis hooks for .ci/schemathesis.sh: what a fuzzer cannot know.

Each rule below keeps a *positive* case (one the contract calls valid) inside a limit the
contract states in words but JSON Schema cannot: a value the server handed out, a host
that resolves, a time relative to now, a sum of duration components. Negative cases are
left alone.

- A `cursor` is a token the server hands out (`next_cursor`); one made up is refused
  with 400, so a positive case never makes one up.
- A webhook's host must resolve; the fuzzer's made-up hosts do not (422), so a positive
  case registers a local address instead (the fuzzing server allows private addresses;
  nothing listens there, so deliveries just fail).
- `respond_by` lies ahead, within 180 days; `observed_from` is not in the future and not
  after `observed_to`; a logged contact's `at` is not in the future and at most 30 days
  before the inquiry was created.
- `estimated_timeframe` is longer than zero and at most P180D, `reply_window` at most
  P90D.
- A member state's `time_zone` is an IANA name the server's tz database knows; a made-up
  string is refused with 422, so a positive case sends a real one.
- An `Idempotency-Key` is unique per intended action: the same key with another request
  is refused with 422, as the Idempotency-Key draft says; a positive case gets a fresh key.
- A consent to the UN directory from the Secretariat says when (not in the future) and how;
  a POC gives its own with no fields (either one is 403 from a POC): a positive case sends
  both, with a past date.
- `describe`'s `indicators_stix` is a STIX bundle whose indicator patterns must be of the
  few shapes cbm2 reads (a grammar JSON Schema cannot state): a positive case sends none.
- A POC's `openpgp_key` must be a real, verifiable OpenPGP key able to encrypt (which the
  fuzzer cannot make): a positive case sends `null`, which removes one.
- schemathesis 4.32's coverage phase reads a header value that looks like a JSON string
  (`"3"`, an ETag) as JSON and sends `3`: a positive case gets its quotes back.
"""

import re
import uuid
from collections.abc import MutableMapping
from datetime import datetime, timedelta, timezone

import schemathesis
from schemathesis import GenerationMode

DURATION_BOUNDS = {"estimated_timeframe": timedelta(days=180), "reply_window": timedelta(days=90)}
UNIT_SECONDS = {"W": 7 * 86400, "D": 86400, "H": 3600, "M": 60, "S": 1}


def seconds_of(duration):
    """Seconds of a duration in the contract's grammar (any order, any case)."""
    text = duration.upper()
    date, _, time = text[1:].partition("T")
    total = 0
    for part, units in ((date, "WD"), (time, "HMS")):
        for number, unit in re.findall(r"([0-9]+)([A-Z])", part):
            if unit in units:
                total += int(number) * UNIT_SECONDS[unit]
    return total


def iso(at):
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    meta = case.meta
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return
    if isinstance(case.headers, MutableMapping) and "If-Match" in case.headers:
        tag = str(case.headers["If-Match"])
        if re.fullmatch(r"[0-9]+", tag):
            case.headers["If-Match"] = f'"{tag}"'
    if isinstance(case.headers, MutableMapping) and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4()}"
    if isinstance(case.query, MutableMapping) and "cursor" in case.query:
        del case.query["cursor"]
    if case.operation.method.upper() == "POST" and case.operation.path.endswith("/share-with-un"):
        given = case.body if isinstance(case.body, MutableMapping) else {}
        how = given.get("how")
        case.body = {
            "consented_at": iso(datetime.now(timezone.utc) - timedelta(days=1)),
            "how": how if isinstance(how, str) and how.strip() else "letter",
        }
    body = case.body
    if not isinstance(body, MutableMapping):
        return
    if case.operation.method.upper() == "POST" and case.operation.path == "/v1/webhooks":
        if isinstance(body.get("url"), str):
            body["url"] = "http://127.0.0.1:9/cbm2"
    if isinstance(body.get("time_zone"), str):
        body["time_zone"] = "America/Lima"
    now = datetime.now(timezone.utc)
    if isinstance(body.get("respond_by"), str):
        body["respond_by"] = iso(now + timedelta(days=1))
    if isinstance(body.get("observed_from"), str):
        body["observed_from"] = iso(now - timedelta(days=2))
    if isinstance(body.get("observed_to"), str):
        body["observed_to"] = iso(now - timedelta(days=1))
    if case.operation.path.endswith("/log-contact") and isinstance(body.get("at"), str):
        body["at"] = iso(now)
    body.pop("indicators_stix", None)
    if isinstance(body.get("openpgp_key"), str):
        body["openpgp_key"] = None
    for field, bound in DURATION_BOUNDS.items():
        value = body.get(field)
        if isinstance(value, str):
            seconds = seconds_of(value)
            if seconds == 0 or seconds > bound.total_seconds():
                body[field] = "P1D"
