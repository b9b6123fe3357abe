#!/usr/bin/env bash
# Fuzzes openapi.yaml against a running cbm2 with schemathesis, as the Secretariat and as a
# POC, with every check: a request the contract calls valid must not be refused, one it calls
# invalid must be refused, and every answer must match its documented status, headers and
# schema. Fails on any finding. Called by .ci/run after `cargo test`.
#
#   .ci/schemathesis.sh                 # about CBM2_FUZZ_SECONDS (default 60) per role
#   CBM2_FUZZ_SECONDS=20 .ci/schemathesis.sh
#   CBM2_FUZZ_SEED=$RANDOM .ci/schemathesis.sh   # another draw (CI uses a fixed seed, so a
#                                                # red run is the code's, not the dice's)
#
# The server runs on a temporary SQLite file and a free port, and is stopped on exit,
# whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV=target/schemathesis-venv
SECONDS_PER_ROLE=${CBM2_FUZZ_SECONDS:-60}

# The server's own limits would answer a fuzzer's hundreds of requests a second with 429
# and 503 (which the contract documents): lift them so the run tests the contract, not
# the limiter.
FUZZ_SERVER_ENV=(CBM2_RATE_LIMITS=false CBM2_MAX_IN_FLIGHT=4096)

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --quiet
cbm2=target/debug/cbm2

work=$(mktemp -d)
server_pid=
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}
trap 'stop_server; rm -rf "$work"' EXIT

# JSON in, one field out, without assuming jq.
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# call TOKEN PATH [curl arguments]
call() {
  curl -fsS "$base$2" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' "${@:3}"
}
new_poc() {
  call "$secretariat" /v1/pocs -d "{\"member_state\":\"$1\",\"name\":\"$2\",
    \"affiliation\":\"Ministry of Foreign Affairs\",\"role\":\"policy\",\"email\":\"$3\"}" | field id
}
token_of() { call "$secretariat" "/v1/pocs/$1/tokens" -d '{"label":"schemathesis"}' | field token; }

# A fresh server on a fresh database (each role fuzzes its own: the Secretariat's run
# deactivates POCs and revokes tokens), with a Secretariat token, a POC of Chile and one of
# Brazil with tokens, and one inquiry Brazil sent to Chile, so Chile also plays the
# responder. Sets base, secretariat, chl, bra.
start_server() {
  stop_server
  local run=$1
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  export CBM2_DATABASE_URL="sqlite://$work/$run.db"
  env ${FUZZ_SERVER_ENV[@]+"${FUZZ_SERVER_ENV[@]}"} RUST_LOG=warn \
    "$cbm2" serve --bind "127.0.0.1:$port" --webhook-allow-private true >"$work/$run.log" 2>&1 &
  server_pid=$!
  local deadline=$((SECONDS + 30))
  until curl -fs "$base/v1/health" >/dev/null 2>&1; do
    if ! kill -0 "$server_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      echo "cbm2 serve did not become ready on $base:" >&2
      cat "$work/$run.log" >&2
      exit 1
    fi
    sleep 0.2
  done

  secretariat=$("$cbm2" token create --secretariat --label schemathesis 2>/dev/null)
  chl=$(token_of "$(new_poc CHL 'Eva Rojas' eva.rojas@minrel.example.org)")
  bra=$(token_of "$(new_poc BRA 'Ana Souza' ana.souza@itamaraty.example.org)")
  local inquiry
  inquiry=$(call "$bra" /v1/inquiries -X POST | field id)
  call "$bra" "/v1/inquiries/$inquiry/lookup-poc" -d '{"member_state":"CHL"}' >/dev/null
  call "$bra" "/v1/inquiries/$inquiry/invoke" -d '{"language":"pt"}' >/dev/null
  call "$bra" "/v1/inquiries/$inquiry/describe" \
    -d '{"nature":"Scanning","category":"recon","sectors":["energy"]}' >/dev/null
  call "$bra" "/v1/inquiries/$inquiry/request-info" -d '{"questions":"Who?",
    "contact":{"name":"Ana Souza","email":"ana.souza@itamaraty.example.org"},"time_sensitivity":"routine"}' >/dev/null
}

# Every check but use_after_free: a DELETE here revokes (a token) or disables (a webhook)
# and keeps the record, which reads back with `revoked_at` / `disabled_at`; the record is
# the audit trail, so "a deleted resource answers 404" is not this API's contract.
status=0
for role in secretariat poc; do
  start_server "$role"
  case $role in
    secretariat) token=$secretariat ;;
    poc) token=$chl ;;
  esac
  echo "schemathesis as the $role, about ${SECONDS_PER_ROLE}s" >&2
  "$VENV/bin/schemathesis" --config-file .ci/schemathesis.toml run openapi.yaml \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks all \
    --exclude-checks use_after_free \
    --max-time "$SECONDS_PER_ROLE" \
    --workers 1 \
    --seed "${CBM2_FUZZ_SEED:-20261130}" \
    --no-color || { status=1; echo "the server's log:" >&2; tail -n 50 "$work/$role.log" >&2; }
done
exit "$status"
