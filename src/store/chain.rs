//! The hash chain over inquiry events, and the audit that verifies the record: the chain,
//! the projections against their events, and (when a verifier kept one) an earlier head.
//!
//! What it proves, and against whom, is in ARCHITECTURE.md ("The audit and its threat
//! model").

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{ColumnIndex, Decode, Type};
use uuid::Uuid;

use super::{BeginWrite, Store, StoreError, dispatch};
use crate::protocol::{EventData, Inquiry, apply};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How many inquiry rows the audit holds at once while it replays their events.
const INQUIRY_BATCH: i64 = 100;

/// Who acted, as stored and hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventActor {
    /// requester, responder, secretariat or engine.
    pub kind: String,
    pub poc_id: Option<Uuid>,
    pub state: Option<String>,
}

/// Everything the hash covers, in a fixed order, one field per line. `payload` is the
/// canonical JSON text exactly as stored. `salt` (`cbm2-event-v2`) is the event's secret
/// salt, which makes a hash shown useless for testing guesses of its payload; events
/// recorded before salts have none (`cbm2-event-v1`).
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    prev_hash: &str,
    salt: Option<&str>,
    chain_seq: i64,
    inquiry_id: Uuid,
    seq: i64,
    event_type: &str,
    actor: &EventActor,
    at: DateTime<Utc>,
    payload: &str,
) -> String {
    let poc = actor.poc_id.map(|id| id.to_string()).unwrap_or_default();
    let state = actor.state.as_deref().unwrap_or_default();
    let version = match salt {
        Some(salt) => format!("cbm2-event-v2\n{salt}"),
        None => "cbm2-event-v1".to_owned(),
    };
    let canonical = format!(
        "{version}\n{prev_hash}\n{chain_seq}\n{inquiry_id}\n{seq}\n{event_type}\n{}\n{poc}\n{state}\n{}\n{payload}",
        actor.kind,
        at.to_rfc3339_opts(SecondsFormat::Micros, true),
    );
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// A new event's salt: 128 random bits, as 32 hexadecimal digits.
pub fn new_salt() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(StoreError::Randomness)?;
    Ok(hex::encode(bytes))
}

/// A point of the chain: the position of an event and its hash, which covers every event
/// before it. A verifier who keeps one outside the database can later prove that the
/// first `chain_seq` events are unchanged (`cbm2 audit verify --expect-head`). Written
/// `SEQ:HASH`; `0:` followed by the genesis hash is the empty chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainHead {
    pub chain_seq: i64,
    pub hash: String,
}

impl ChainHead {
    /// The head of the empty chain.
    pub fn genesis() -> Self {
        Self {
            chain_seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.chain_seq, self.hash)
    }
}

/// Why a text is not a chain head.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}: a chain head is SEQ:HASH, e.g. 42:{GENESIS_HASH} (as `cbm2 audit head` prints it)")]
pub struct ChainHeadError(&'static str);

impl FromStr for ChainHead {
    type Err = ChainHeadError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (seq, hash) = text
            .split_once(':')
            .ok_or(ChainHeadError("no colon between the position and the hash"))?;
        let chain_seq = Some(seq)
            .filter(|seq| !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|seq| seq.parse::<i64>().ok())
            .ok_or(ChainHeadError("the position is not a whole number"))?;
        if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ChainHeadError(
                "the hash is not 64 lowercase hexadecimal digits",
            ));
        }
        Ok(Self {
            chain_seq,
            hash: hash.to_owned(),
        })
    }
}

/// The outcome of the audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    /// The chain is whole, every inquiry row is its events replayed, and the kept head
    /// (if one was given) is still in the chain. `head` is the last event's: keep it.
    Valid {
        events: u64,
        inquiries: u64,
        head: ChainHead,
    },
    /// The first thing found wrong.
    Broken(Break),
}

/// What the audit found wrong first, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub inquiry_id: Option<Uuid>,
    /// The event at fault, when one is.
    pub seq: Option<i64>,
    /// The column of the inquiry row at fault, when one is (`state`, `responding_state`…).
    pub column: Option<String>,
    pub reason: String,
}

impl Break {
    fn event(inquiry_id: Uuid, seq: i64, reason: impl Into<String>) -> Self {
        Self {
            inquiry_id: Some(inquiry_id),
            seq: Some(seq),
            column: None,
            reason: reason.into(),
        }
    }

    /// A fault before the event's place in its inquiry is known.
    fn unplaced(inquiry_id: Option<Uuid>, reason: impl Into<String>) -> Self {
        Self {
            inquiry_id,
            seq: None,
            column: None,
            reason: reason.into(),
        }
    }

    fn column(inquiry_id: Uuid, column: &str, reason: impl Into<String>) -> Self {
        Self {
            inquiry_id: Some(inquiry_id),
            seq: None,
            column: Some(column.to_owned()),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inquiry_id {
            Some(id) => write!(f, "inquiry {id}")?,
            None => write!(f, "inquiry -")?,
        }
        match (self.seq, &self.column) {
            (Some(seq), _) => write!(f, " seq {seq}")?,
            (None, Some(column)) => write!(f, " column {column}")?,
            (None, None) => write!(f, " seq -")?,
        }
        write!(f, ": {}", self.reason)
    }
}

/// Why the audit stopped: the database failed, or the record is broken.
enum Stop {
    Store(StoreError),
    Broken(Break),
}

impl From<Break> for Stop {
    fn from(found: Break) -> Self {
        Stop::Broken(found)
    }
}

impl From<sqlx::Error> for Stop {
    fn from(error: sqlx::Error) -> Self {
        Stop::Store(StoreError::Database(error))
    }
}

/// One event as the chain hashes it.
struct ChainRow {
    chain_seq: i64,
    salt: Option<String>,
    inquiry_id: Uuid,
    seq: i64,
    event_type: String,
    actor: EventActor,
    at: DateTime<Utc>,
    payload: String,
    prev_hash: String,
    hash: String,
}

/// One event as the protocol replays it.
struct EventRow {
    inquiry_id: Uuid,
    seq: i64,
    event_type: String,
    at: DateTime<Utc>,
    payload: String,
}

/// One inquiry row: every column `record!` (store/inquiries.rs) writes.
struct InquiryRow {
    id: Uuid,
    status: String,
    version: i64,
    requesting_state: String,
    requester_poc_id: Uuid,
    responding_state: Option<String>,
    exercise: bool,
    related_inquiry_id: Option<Uuid>,
    time_sensitivity: Option<String>,
    due_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    protocol_version: String,
    state: String,
    next_sweep_at: Option<DateTime<Utc>>,
    acknowledged_at: Option<DateTime<Utc>>,
    responded_at: Option<DateTime<Utc>>,
}

const CHAIN_SQL: &str =
    "SELECT chain_seq, salt, inquiry_id, seq, type, actor_kind, actor_poc_id, actor_state, at,
        payload, prev_hash, hash
   FROM inquiry_events ORDER BY chain_seq";
const INQUIRY_COLUMNS: &str = "SELECT id, status, version, requesting_state, requester_poc_id,
        responding_state, exercise, related_inquiry_id, time_sensitivity, due_at, sent_at,
        created_at, updated_at, protocol_version, state, next_sweep_at, acknowledged_at,
        responded_at
   FROM inquiries";
const EVENT_COLUMNS: &str = "SELECT inquiry_id, seq, type, at, payload FROM inquiry_events";

/// Reads the audit's rows column by column, so that a value that does not decode (a
/// SQLite column holds whatever is written into it) is reported where it is, not as a
/// database failure.
struct Read<'r, R>(&'r R);

impl<'r, R> Read<'r, R>
where
    R: sqlx::Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Uuid: Decode<'r, R::Database> + Type<R::Database>,
    DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn get<T>(&self, column: &'static str) -> Result<T, String>
    where
        T: Decode<'r, R::Database> + Type<R::Database>,
    {
        self.0
            .try_get(column)
            .map_err(|error| format!("its {column} does not decode: {error}"))
    }

    fn chain(&self) -> Result<ChainRow, Break> {
        let chain_seq: i64 = self
            .get("chain_seq")
            .map_err(|reason| Break::unplaced(None, format!("an event: {reason}")))?;
        let at_position = |reason| format!("the event at chain position {chain_seq}: {reason}");
        let inquiry_id: Uuid = self
            .get("inquiry_id")
            .map_err(|reason| Break::unplaced(None, at_position(reason)))?;
        let seq: i64 = self
            .get("seq")
            .map_err(|reason| Break::unplaced(Some(inquiry_id), at_position(reason)))?;
        let rest = || -> Result<ChainRow, String> {
            Ok(ChainRow {
                chain_seq,
                salt: self.get("salt")?,
                inquiry_id,
                seq,
                event_type: self.get("type")?,
                actor: EventActor {
                    kind: self.get("actor_kind")?,
                    poc_id: self.get("actor_poc_id")?,
                    state: self.get("actor_state")?,
                },
                at: self.get("at")?,
                payload: self.get("payload")?,
                prev_hash: self.get("prev_hash")?,
                hash: self.get("hash")?,
            })
        };
        rest().map_err(|reason| Break::event(inquiry_id, seq, format!("the event: {reason}")))
    }

    fn event(&self) -> Result<EventRow, Break> {
        // The chain walk has read these very rows already: what decoded there decodes here.
        let inquiry_id: Uuid = self
            .get("inquiry_id")
            .map_err(|reason| Break::unplaced(None, format!("an event: {reason}")))?;
        let seq: i64 = self
            .get("seq")
            .map_err(|reason| Break::unplaced(Some(inquiry_id), format!("an event: {reason}")))?;
        let rest = || -> Result<EventRow, String> {
            Ok(EventRow {
                inquiry_id,
                seq,
                event_type: self.get("type")?,
                at: self.get("at")?,
                payload: self.get("payload")?,
            })
        };
        rest().map_err(|reason| Break::event(inquiry_id, seq, format!("the event: {reason}")))
    }

    fn inquiry(&self) -> Result<InquiryRow, Break> {
        let id: Uuid = self.get("id").map_err(|reason| Break {
            inquiry_id: None,
            seq: None,
            column: Some("id".into()),
            reason: format!("an inquiry row: {reason}"),
        })?;
        let rest = || -> Result<InquiryRow, String> {
            Ok(InquiryRow {
                id,
                status: self.get("status")?,
                version: self.get("version")?,
                requesting_state: self.get("requesting_state")?,
                requester_poc_id: self.get("requester_poc_id")?,
                responding_state: self.get("responding_state")?,
                exercise: self.get("exercise")?,
                related_inquiry_id: self.get("related_inquiry_id")?,
                time_sensitivity: self.get("time_sensitivity")?,
                due_at: self.get("due_at")?,
                sent_at: self.get("sent_at")?,
                created_at: self.get("created_at")?,
                updated_at: self.get("updated_at")?,
                protocol_version: self.get("protocol_version")?,
                state: self.get("state")?,
                next_sweep_at: self.get("next_sweep_at")?,
                acknowledged_at: self.get("acknowledged_at")?,
                responded_at: self.get("responded_at")?,
            })
        };
        rest().map_err(|reason| Break::unplaced(Some(id), format!("the inquiry row: {reason}")))
    }
}

/// The first pass: every event in chain order, each hash recomputed and each link
/// followed, in constant memory.
struct ChainWalk<'a> {
    events: u64,
    previous: ChainHead,
    last_event: Option<(Uuid, i64)>,
    expect: Option<&'a ChainHead>,
}

impl<'a> ChainWalk<'a> {
    fn new(expect: Option<&'a ChainHead>) -> Result<Self, Break> {
        let walk = Self {
            events: 0,
            previous: ChainHead::genesis(),
            last_event: None,
            expect,
        };
        walk.check_expected(None)?;
        Ok(walk)
    }

    /// Whether the chain up to here ends in the kept head, once the walk reaches it.
    fn check_expected(&self, at: Option<(Uuid, i64)>) -> Result<(), Break> {
        match self.expect {
            Some(kept)
                if kept.chain_seq == self.previous.chain_seq && kept.hash != self.previous.hash =>
            {
                Err(Break {
                    inquiry_id: at.map(|(id, _)| id),
                    seq: at.map(|(_, seq)| seq),
                    column: None,
                    reason: format!(
                        "the chain's first {} events now end in {}, not in the kept head {kept}: \
                         events up to it were altered and the chain recomputed",
                        kept.chain_seq, self.previous.hash
                    ),
                })
            }
            _ => Ok(()),
        }
    }

    fn step(&mut self, row: ChainRow) -> Result<(), Break> {
        let expected_position = self.previous.chain_seq + 1;
        if row.chain_seq != expected_position {
            return Err(Break::event(
                row.inquiry_id,
                row.seq,
                format!(
                    "chain position {} follows {}: an event before it is missing",
                    row.chain_seq, self.previous.chain_seq
                ),
            ));
        }
        let recomputed = event_hash(
            &row.prev_hash,
            row.salt.as_deref(),
            row.chain_seq,
            row.inquiry_id,
            row.seq,
            &row.event_type,
            &row.actor,
            row.at,
            &row.payload,
        );
        if recomputed != row.hash {
            return Err(Break::event(
                row.inquiry_id,
                row.seq,
                "the event's content does not match its hash: it was altered",
            ));
        }
        if row.prev_hash != self.previous.hash {
            return Err(Break::event(
                row.inquiry_id,
                row.seq,
                "the event does not link to the event before it: an event was removed, inserted or altered",
            ));
        }
        self.events += 1;
        self.previous = ChainHead {
            chain_seq: row.chain_seq,
            hash: row.hash,
        };
        self.last_event = Some((row.inquiry_id, row.seq));
        self.check_expected(self.last_event)
    }

    /// The chain's head, once it is checked against the head row and the kept head.
    fn finish(self, recorded: ChainHead) -> Result<(u64, ChainHead), Break> {
        let (inquiry_id, seq) = self.last_event.unzip();
        if recorded != self.previous {
            return Err(Break {
                inquiry_id,
                seq,
                column: None,
                reason: format!(
                    "the chain ends at position {} but its head records {}: events at the end were removed",
                    self.previous.chain_seq, recorded.chain_seq
                ),
            });
        }
        if let Some(kept) = self.expect
            && kept.chain_seq > self.previous.chain_seq
        {
            return Err(Break {
                inquiry_id,
                seq,
                column: None,
                reason: format!(
                    "the chain ends at position {}, before the kept head {kept}: events were removed",
                    self.previous.chain_seq
                ),
            });
        }
        Ok((self.events, self.previous))
    }
}

/// One inquiry being replayed from its events.
struct Replay {
    row: InquiryRow,
    projection: Option<Inquiry>,
    /// Its rows of `inquiry_shares` (POC id, side), sorted: the index of who may read it.
    shares: Vec<(Uuid, String)>,
}

impl Replay {
    fn apply(&mut self, event: EventRow) -> Result<(), Break> {
        let id = self.row.id;
        let expected = self.projection.as_ref().map_or(1, |p| p.version + 1);
        if event.seq != expected {
            return Err(Break::event(
                id,
                event.seq,
                format!(
                    "sequence number {} where {expected} was expected: an event of this inquiry is missing or out of order",
                    event.seq
                ),
            ));
        }
        let data = serde_json::from_str(&event.payload)
            .and_then(|payload| EventData::from_parts(&event.event_type, payload))
            .map_err(|error| {
                Break::event(
                    id,
                    event.seq,
                    format!("the event's payload does not decode: {error}"),
                )
            })?;
        let next =
            apply(self.projection.as_ref(), id, event.seq, &data, event.at).map_err(|error| {
                Break::event(id, event.seq, format!("the event does not replay: {error}"))
            })?;
        self.projection = Some(next);
        Ok(())
    }

    /// Compares the stored row with what its events give: every column `record!` writes
    /// (`next_sweep_at` last, against the range the reminder share allows), then the whole
    /// projection.
    fn finish(self) -> Result<(), Break> {
        let row = self.row;
        let Some(replayed) = self.projection else {
            return Err(Break::column(
                row.id,
                "id",
                "the inquiry has no events: its row was written behind the engine's back",
            ));
        };
        let time =
            |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        let columns: [(&str, Option<String>, Option<String>); 15] = [
            (
                "status",
                Some(replayed.status.as_str().into()),
                Some(row.status),
            ),
            (
                "version",
                Some(replayed.version.to_string()),
                Some(row.version.to_string()),
            ),
            (
                "requesting_state",
                Some(replayed.requesting_state.as_str().into()),
                Some(row.requesting_state),
            ),
            (
                "requester_poc_id",
                Some(replayed.requester.poc_id.to_string()),
                Some(row.requester_poc_id.to_string()),
            ),
            (
                "responding_state",
                replayed
                    .responding_state
                    .as_ref()
                    .map(|s| s.as_str().into()),
                row.responding_state,
            ),
            (
                "exercise",
                Some(replayed.exercise.to_string()),
                Some(row.exercise.to_string()),
            ),
            (
                "related_inquiry_id",
                replayed.related_inquiry_id.map(|id| id.to_string()),
                row.related_inquiry_id.map(|id| id.to_string()),
            ),
            (
                "time_sensitivity",
                replayed.time_sensitivity.map(|t| t.as_str().into()),
                row.time_sensitivity,
            ),
            ("due_at", time(replayed.due_at()), time(row.due_at)),
            ("sent_at", time(replayed.sent_at), time(row.sent_at)),
            (
                "created_at",
                time(Some(replayed.created_at)),
                time(Some(row.created_at)),
            ),
            (
                "updated_at",
                time(Some(replayed.updated_at)),
                time(Some(row.updated_at)),
            ),
            (
                "protocol_version",
                Some(replayed.protocol_version.clone()),
                Some(row.protocol_version),
            ),
            (
                "acknowledged_at",
                time(replayed.acknowledged_at),
                time(row.acknowledged_at),
            ),
            (
                "responded_at",
                time(replayed.responded_at),
                time(row.responded_at),
            ),
        ];
        let shown =
            |value: &Option<String>| value.as_deref().map_or("NULL".into(), |v| format!("{v:?}"));
        for (column, expected, found) in columns {
            if expected != found {
                return Err(Break::column(
                    row.id,
                    column,
                    format!(
                        "the stored row has {column} {} where its events give {}",
                        shown(&found),
                        shown(&expected)
                    ),
                ));
            }
        }
        // The sweeper's schedule depends on the server's --reminder-share, which may have
        // changed since the row was written: any share from 0 to 1 is sound, a time outside
        // what they give (a deadline put off, a reminder dropped) is not.
        let (earliest, latest) = (replayed.next_sweep_at(0.0), replayed.next_sweep_at(1.0));
        let sound = match (earliest, latest, row.next_sweep_at) {
            (None, None, None) => true,
            (Some(earliest), Some(latest), Some(found)) => (earliest..=latest).contains(&found),
            _ => false,
        };
        if !sound {
            let expected = match (earliest, latest) {
                (Some(a), Some(b)) if a == b => shown(&time(Some(a))),
                (Some(a), Some(b)) => format!(
                    "a time from {} to {}",
                    shown(&time(Some(a))),
                    shown(&time(Some(b)))
                ),
                _ => "NULL".into(),
            };
            return Err(Break::column(
                row.id,
                "next_sweep_at",
                format!(
                    "the stored row has next_sweep_at {} where its events give {expected}",
                    shown(&time(row.next_sweep_at))
                ),
            ));
        }
        // The projection as a whole; field names only, never their content.
        let stored: Inquiry = {
            let mut json = serde_json::Deserializer::from_str(&row.state);
            serde_path_to_error::deserialize(&mut json).map_err(|error| {
                let path = error.path().to_string();
                let why = error.into_inner().to_string();
                // serde_json ends with " at line L column C"; the path says more.
                let why = why
                    .rsplit_once(" at line ")
                    .map_or(why.as_str(), |(why, _)| why);
                Break::column(
                    row.id,
                    "state",
                    format!("the stored projection does not decode at {path}: {why}"),
                )
            })?
        };
        if stored != replayed {
            return Err(Break::column(
                row.id,
                "state",
                format!(
                    "the stored projection differs from its events in {}",
                    differing_fields(&stored, &replayed).join(", ")
                ),
            ));
        }
        let mut shared: Vec<(Uuid, String)> = replayed
            .shares
            .iter()
            .map(|share| (share.poc_id, share.side.as_str().to_owned()))
            .collect();
        shared.sort();
        if shared != self.shares {
            return Err(Break::column(
                row.id,
                "inquiry_shares",
                "the POCs the inquiry is shared with differ from its share and unshare events: who may read it was changed behind the engine's back",
            ));
        }
        Ok(())
    }
}

/// The top-level fields in which two projections differ.
fn differing_fields(stored: &Inquiry, replayed: &Inquiry) -> Vec<String> {
    let as_map = |inquiry: &Inquiry| match serde_json::to_value(inquiry) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (stored, replayed) = (as_map(stored), as_map(replayed));
    let mut fields: Vec<String> = stored
        .keys()
        .chain(replayed.keys())
        .filter(|key| stored.get(*key) != replayed.get(*key))
        .cloned()
        .collect();
    fields.sort();
    fields.dedup();
    fields
}

/// The second pass over one batch of inquiry rows (in id order) and their events (in
/// inquiry id and seq order): each inquiry replayed in turn, then compared.
struct BatchReplay {
    rows: std::iter::Peekable<std::vec::IntoIter<InquiryRow>>,
    current: Option<Replay>,
    /// The batch's rows of `inquiry_shares`, by inquiry.
    shares: std::collections::HashMap<Uuid, Vec<(Uuid, String)>>,
}

impl BatchReplay {
    fn new(rows: Vec<InquiryRow>, shares: Vec<(Uuid, Uuid, String)>) -> Self {
        let mut by_inquiry: std::collections::HashMap<Uuid, Vec<(Uuid, String)>> =
            std::collections::HashMap::new();
        for (inquiry, poc, side) in shares {
            by_inquiry.entry(inquiry).or_default().push((poc, side));
        }
        for shares in by_inquiry.values_mut() {
            shares.sort();
        }
        Self {
            rows: rows.into_iter().peekable(),
            current: None,
            shares: by_inquiry,
        }
    }

    fn replay(&mut self, row: InquiryRow) -> Replay {
        let shares = self.shares.remove(&row.id).unwrap_or_default();
        Replay {
            row,
            projection: None,
            shares,
        }
    }

    fn event(&mut self, event: EventRow) -> Result<(), Break> {
        loop {
            if let Some(current) = &mut self.current
                && current.row.id == event.inquiry_id
            {
                return current.apply(event);
            }
            if let Some(done) = self.current.take() {
                done.finish()?;
            }
            // Rows and events come in the same (byte) order of ids, on both backends.
            match self.rows.next_if(|row| row.id <= event.inquiry_id) {
                Some(row) => self.current = Some(self.replay(row)),
                None => return Err(orphan(event.inquiry_id, event.seq)),
            }
        }
    }

    fn finish(mut self) -> Result<(), Break> {
        if let Some(done) = self.current.take() {
            done.finish()?;
        }
        while let Some(row) = self.rows.next() {
            self.replay(row).finish()?;
        }
        Ok(())
    }
}

fn orphan(inquiry_id: Uuid, seq: i64) -> Break {
    Break::event(
        inquiry_id,
        seq,
        "the event's inquiry has no row: it was removed behind the engine's back",
    )
}

impl Store {
    /// The audit: walks every inquiry event in chain order and reports the first broken
    /// link (a hash that does not match its event, a link to a previous hash that is not the
    /// previous event's, a gap, a head row that is not the last event's); then replays every
    /// inquiry from its events through the protocol and reports the first row whose columns
    /// or projection differ from the replay, cannot be decoded, has no events, or events
    /// without a row. With `expect`, also that the chain still passes through that head.
    ///
    /// Everything is read from one snapshot, so a server writing meanwhile cannot make a
    /// sound record look broken, and streamed: memory stays bounded whatever the size.
    pub async fn verify_chain(
        &self,
        expect: Option<&ChainHead>,
    ) -> Result<ChainReport, StoreError> {
        match self.audit(expect).await {
            Ok((events, inquiries, head)) => Ok(ChainReport::Valid {
                events,
                inquiries,
                head,
            }),
            Err(Stop::Broken(found)) => Ok(ChainReport::Broken(found)),
            Err(Stop::Store(error)) => Err(error),
        }
    }

    async fn audit(&self, expect: Option<&ChainHead>) -> Result<(u64, u64, ChainHead), Stop> {
        dispatch!(self, pool => {
            let mut tx = pool.begin_snapshot().await?;
            let (last_chain_seq, last_hash): (i64, String) =
                sqlx::query_as("SELECT last_chain_seq, last_hash FROM event_chain_head WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await?;

            // First pass: the chain, in chain order.
            let mut walk = ChainWalk::new(expect)?;
            {
                let mut rows = sqlx::query(CHAIN_SQL).fetch(&mut *tx);
                while let Some(row) = rows.try_next().await? {
                    walk.step(Read(&row).chain()?)?;
                }
            }
            let (events, head) = walk.finish(ChainHead { chain_seq: last_chain_seq, hash: last_hash })?;

            // Second pass: the inquiries, a batch of rows at a time, each with its events.
            let mut inquiries: u64 = 0;
            let mut after: Option<Uuid> = None;
            loop {
                let rows = match after {
                    None => sqlx::query(sqlx::AssertSqlSafe(format!("{INQUIRY_COLUMNS} ORDER BY id LIMIT $1")))
                        .bind(INQUIRY_BATCH)
                        .fetch_all(&mut *tx)
                        .await?,
                    Some(after) => sqlx::query(sqlx::AssertSqlSafe(format!("{INQUIRY_COLUMNS} WHERE id > $1 ORDER BY id LIMIT $2")))
                        .bind(after)
                        .bind(INQUIRY_BATCH)
                        .fetch_all(&mut *tx)
                        .await?,
                };
                let rows = rows.iter().map(|row| Read(row).inquiry()).collect::<Result<Vec<_>, _>>()?;
                let Some(last) = rows.last().map(|row| row.id) else {
                    break;
                };
                let fetched = rows.len();
                let shares: Vec<(Uuid, Uuid, String)> = match after {
                    None => sqlx::query_as(
                        "SELECT inquiry_id, poc_id, side FROM inquiry_shares WHERE inquiry_id <= $1",
                    )
                    .bind(last)
                    .fetch_all(&mut *tx)
                    .await?,
                    Some(after) => sqlx::query_as(
                        "SELECT inquiry_id, poc_id, side FROM inquiry_shares
                          WHERE inquiry_id > $1 AND inquiry_id <= $2",
                    )
                    .bind(after)
                    .bind(last)
                    .fetch_all(&mut *tx)
                    .await?,
                };
                let mut batch = BatchReplay::new(rows, shares);
                {
                    // Events of the ids from just after the previous batch to this batch's last:
                    // together the batches cover every id up to the last row's.
                    let mut events = match after {
                        None => sqlx::query(sqlx::AssertSqlSafe(format!(
                            "{EVENT_COLUMNS} WHERE inquiry_id <= $1 ORDER BY inquiry_id, seq"
                        )))
                        .bind(last)
                        .fetch(&mut *tx),
                        Some(after) => sqlx::query(sqlx::AssertSqlSafe(format!(
                            "{EVENT_COLUMNS} WHERE inquiry_id > $1 AND inquiry_id <= $2 ORDER BY inquiry_id, seq"
                        )))
                        .bind(after)
                        .bind(last)
                        .fetch(&mut *tx),
                    };
                    while let Some(event) = events.try_next().await? {
                        batch.event(Read(&event).event()?)?;
                    }
                }
                batch.finish()?;
                inquiries += fetched as u64;
                after = Some(last);
                if (fetched as i64) < INQUIRY_BATCH {
                    break;
                }
            }
            // And the events of ids past the last row.
            let beyond = match after {
                None => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{EVENT_COLUMNS} ORDER BY inquiry_id, seq LIMIT 1"
                )))
                .fetch_optional(&mut *tx)
                .await?,
                Some(after) => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{EVENT_COLUMNS} WHERE inquiry_id > $1 ORDER BY inquiry_id, seq LIMIT 1"
                )))
                .bind(after)
                .fetch_optional(&mut *tx)
                .await?,
            };
            if let Some(event) = beyond {
                let event = Read(&event).event()?;
                return Err(orphan(event.inquiry_id, event.seq).into());
            }
            tx.commit().await?;
            Ok((events, inquiries, head))
        })
    }

    /// The chain's head as recorded: the last event's position and hash (the genesis head
    /// when there are none). Cheap: it verifies nothing; `verify_chain` answers the head it
    /// verified.
    pub async fn chain_head(&self) -> Result<ChainHead, StoreError> {
        let (chain_seq, hash): (i64, String) = dispatch!(self, pool => {
            sqlx::query_as("SELECT last_chain_seq, last_hash FROM event_chain_head WHERE id = 1")
                .fetch_one(pool)
                .await?
        });
        Ok(ChainHead { chain_seq, hash })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(salt: Option<&str>) -> String {
        let actor = EventActor {
            kind: "requester".into(),
            poc_id: Some(Uuid::nil()),
            state: Some("CHL".into()),
        };
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap();
        event_hash(
            GENESIS_HASH,
            salt,
            1,
            Uuid::max(),
            1,
            "created",
            &actor,
            at,
            "{}",
        )
    }

    #[test]
    fn an_unsalted_event_hashes_as_before_salts_and_a_salted_one_does_not() {
        let v1 = format!(
            "cbm2-event-v1\n{GENESIS_HASH}\n1\n{}\n1\ncreated\nrequester\n{}\nCHL\n\
             2023-11-14T22:13:20.123456Z\n{{}}",
            Uuid::max(),
            Uuid::nil()
        );
        assert_eq!(example(None), hex::encode(Sha256::digest(v1.as_bytes())));
        let salt = "0123456789abcdef0123456789abcdef";
        let v2 = format!("cbm2-event-v2\n{salt}\n{}", &v1["cbm2-event-v1\n".len()..]);
        assert_eq!(
            example(Some(salt)),
            hex::encode(Sha256::digest(v2.as_bytes()))
        );
        assert_ne!(example(Some(salt)), example(Some(&"f".repeat(32))));
    }

    #[test]
    fn salts_are_32_hexadecimal_digits_and_differ() {
        let (one, two) = (new_salt().unwrap(), new_salt().unwrap());
        assert_eq!(one.len(), 32);
        assert!(one.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(one, two);
    }

    #[test]
    fn a_chain_head_reads_back_what_it_prints() {
        let head = ChainHead {
            chain_seq: 42,
            hash: "ab".repeat(32),
        };
        assert_eq!(head.to_string(), format!("42:{}", "ab".repeat(32)));
        assert_eq!(head.to_string().parse::<ChainHead>(), Ok(head));
        assert_eq!(
            format!("0:{GENESIS_HASH}").parse::<ChainHead>(),
            Ok(ChainHead::genesis())
        );
    }

    #[test]
    fn a_malformed_chain_head_is_refused_saying_why() {
        let hash = "ab".repeat(32);
        for (text, why) in [
            (hash.clone(), "no colon"),
            (format!("-1:{hash}"), "whole number"),
            (format!("+1:{hash}"), "whole number"),
            (format!(":{hash}"), "whole number"),
            (format!("x:{hash}"), "whole number"),
            ("1:abc".to_owned(), "64 lowercase"),
            (format!("1:{}", "AB".repeat(32)), "64 lowercase"),
            (format!("1:{hash}0"), "64 lowercase"),
        ] {
            let error = text.parse::<ChainHead>().expect_err(&text);
            assert!(error.to_string().contains(why), "{text}: {error}");
            assert!(error.to_string().contains("SEQ:HASH"), "{error}");
        }
    }
}
