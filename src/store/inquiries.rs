//! Inquiries: one command, one transaction. Lock the inquiry, let the protocol decide,
//! append the event to the hash chain, update the projection, queue notifications,
//! remember the idempotency key, commit. A refused command writes nothing.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::chain::{ChainHead, EventActor, event_hash, new_salt};
use super::command_io::{CommandIo, INSERT_ATTACHMENT, Value, Writes};
use super::writer::{Batch, ChainTip, Savepoint, Waiter};
use super::{BeginWrite, DEFAULT_REMINDER_SHARE, Store, StoreError, dispatch};
use crate::domain::{Caller, MemberStateCode, PocRole, Principal};
use crate::protocol::inquiry::{
    self, AttachmentMeta, LookupTarget, PocSnapshot, Requester, ShareTarget, StateName,
};
use crate::protocol::notification::{
    Audience, CurrentPocs, Recipient, audiences, inquiry_data, recipients,
};
use crate::protocol::{
    Action, ActionName, EventData, Inquiry, Party, Refusal, Role, Standing, Status, apply, decide,
};

/// The part `principal` plays in `inquiry`, or `None` if it may not see it at all.
///
/// Inquiries are between states: the policy POCs of the requesting state, and of the
/// responding state once the inquiry is sent, see it and act on it; a POC of either state
/// that a policy POC shared it with reads it and sends messages; a state that no longer
/// participates reads only. Anyone else does not see it.
pub fn party_of(principal: &Principal, inquiry: &Inquiry) -> Option<Party> {
    let Principal::Poc {
        poc_id,
        member_state,
        role,
        participating,
    } = principal
    else {
        return Some(Party::SECRETARIAT);
    };
    let side = if *member_state == inquiry.requesting_state {
        Role::Requester
    } else if inquiry.responding_state.as_ref() == Some(member_state) && inquiry.sent_at.is_some() {
        Role::Responder
    } else {
        return None;
    };
    let standing = if !participating {
        Standing::NotParticipating
    } else if *role == PocRole::Policy {
        Standing::Acting
    } else {
        Standing::Shared
    };
    let sees = *role == PocRole::Policy
        || inquiry
            .share_of(poc_id.0)
            .is_some_and(|share| share.side == side);
    sees.then_some(Party {
        role: side,
        standing,
    })
}

/// An action as requested: ready, or needing the directory first.
#[derive(Debug, Clone)]
pub enum ActionRequest {
    Ready(Action),
    /// `lookup_poc`: the store resolves the state's active policy POCs inside the
    /// transaction, so the snapshot is consistent with the decision.
    LookupPoc(MemberStateCode),
    /// `share`: the store resolves the POC likewise.
    Share(Uuid),
    /// `attach`: the file's record, and its bytes to keep beside the event in the same
    /// transaction (`None` when the server keeps them in its attachments directory).
    Attach {
        meta: AttachmentMeta,
        content: Option<Vec<u8>>,
    },
}

/// How long an `Idempotency-Key` is remembered: a retry within this window replays the
/// first answer; after it, the key is free again and the sweeper purges it.
pub const IDEMPOTENCY_KEY_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// An `Idempotency-Key` with a digest of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    pub request_hash: String,
}

impl IdempotencyKey {
    pub fn new(key: String, method: &str, path: &str, body: &[u8]) -> Self {
        let mut digest = Sha256::new();
        digest.update(method.as_bytes());
        digest.update(b"\n");
        digest.update(path.as_bytes());
        digest.update(b"\n");
        digest.update(body);
        Self {
            key,
            request_hash: hex::encode(digest.finalize()),
        }
    }
}

/// Who issues a command.
#[derive(Debug, Clone, Copy)]
pub enum IssuedBy<'a> {
    /// A caller of the API.
    Caller(&'a Caller),
    /// cbm2 itself: the deadline sweeper.
    Engine,
}

/// A command on one inquiry.
pub struct Command<'a> {
    pub inquiry_id: Uuid,
    pub by: IssuedBy<'a>,
    pub action: ActionRequest,
    /// `If-Match`: the version the caller last saw.
    pub if_match: Option<i64>,
    pub idempotency: Option<IdempotencyKey>,
    pub now: DateTime<Utc>,
}

/// What a command did.
#[derive(Debug)]
pub enum Executed {
    /// The action was recorded; the inquiry after it, the caller's part in it, and the
    /// answer kept under the command's idempotency key, if it had one (rendered once,
    /// inside the command: the HTTP answer is that body, as a replay's is).
    Applied(Box<Inquiry>, Party, Option<String>),
    /// A retry of an earlier request with the same key: the action was applied then, and
    /// this is the answer as first rendered.
    Replayed { body: String },
}

/// Why a command wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("no inquiry with id {0} is visible to the caller")]
    NotFound(Uuid),
    #[error("the inquiry is at version {current}, not {expected}")]
    VersionMismatch { expected: i64, current: i64 },
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CommandError {
    fn from(error: sqlx::Error) -> Self {
        CommandError::Store(StoreError::Database(error))
    }
}

/// Why an inquiry could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("only a point of contact opens inquiries")]
    NotAPoc,
    #[error(
        "only the policy points of contact of a state open CBM #2 inquiries; a POC of another role reads and writes those shared with it"
    )]
    NotPolicy,
    #[error(
        "{0} does not participate in CBM #2 at present (the Secretariat sets participation): its points of contact cannot open inquiries"
    )]
    NotParticipating(MemberStateCode),
    #[error("related_inquiry_id: no inquiry of your state has id {0}")]
    UnknownRelatedInquiry(Uuid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CreateError {
    fn from(error: sqlx::Error) -> Self {
        CreateError::Store(StoreError::Database(error))
    }
}

/// One stored event, as the API shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    pub seq: i64,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub actor_kind: String,
    pub actor_poc_id: Option<Uuid>,
    pub actor_state: Option<String>,
    pub at: DateTime<Utc>,
    pub payload: String,
    pub hash: String,
}

/// An event with what its hash covers besides what the API shows: its chain position, the
/// hash before it and its salt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChainedEvent {
    pub chain_seq: i64,
    #[sqlx(flatten)]
    pub event: StoredEvent,
    pub salt: Option<String>,
    pub prev_hash: String,
}

/// What [`Store::inquiry_record`] reads.
#[derive(Debug, Clone)]
pub struct RecordRead {
    pub inquiry: Inquiry,
    pub party: Party,
    pub events: Vec<ChainedEvent>,
    pub head: ChainHead,
}

/// `SELECT <columns> FROM inquiry_events` of inquiry `$1` as a reader sees them: `$2` is
/// whether the reader is the responding state, whose trail starts at the first
/// `request_info` (it sees the inquiry as sent and what follows, nothing of its
/// preparation); `$3` the reader's side, which sees its own `share` and `unshare` events
/// only (whom the other state works with is that state's business), or NULL for the
/// Secretariat. `<rest>` follows the conditions.
macro_rules! visible_events {
    ($columns:literal, $rest:literal) => {
        concat!(
            "SELECT ",
            $columns,
            " FROM inquiry_events
              WHERE inquiry_id = $1
                AND (NOT $2 OR seq >= (SELECT MIN(seq) FROM inquiry_events
                                        WHERE inquiry_id = $1 AND type = 'request_info'))
                AND ($3 IS NULL OR type NOT IN ('share', 'unshare') OR actor_kind = $3) ",
            $rest
        )
    };
}

/// Filters for listing inquiries.
#[derive(Debug, Clone, Default)]
pub struct InquiryFilter {
    pub status: Option<Status>,
    pub overdue: Option<bool>,
    /// `requester` or `responder`: which side of the caller's state.
    pub role: Option<Role>,
}

/// One row of an inquiry list: its position, and the inquiry unless its stored row cannot
/// be decoded (logged; such a row never fails the whole page).
#[derive(Debug, Clone)]
pub struct ListedInquiry {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub inquiry: Option<Inquiry>,
}

/// Where a page of inquiries starts: just after this (created_at, id), newest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InquiryCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::CorruptRow(format!("{what}: {error}"))
}

pub(super) fn decode_inquiry(state: &str) -> Result<Inquiry, StoreError> {
    serde_json::from_str(state).map_err(|e| corrupt("inquiries.state", e))
}

fn principal_key(principal: &Principal) -> String {
    match principal {
        Principal::Secretariat => "secretariat".to_owned(),
        Principal::Poc { poc_id, .. } => format!("poc:{poc_id}"),
    }
}

fn actor_of(caller: Option<&Caller>, role: Role) -> EventActor {
    let (poc_id, state) = match caller.map(|c| &c.principal) {
        Some(Principal::Poc {
            poc_id,
            member_state,
            ..
        }) => (Some(poc_id.0), Some(member_state.to_string())),
        _ => (None, None),
    };
    EventActor {
        kind: role.as_str().to_owned(),
        poc_id,
        state,
    }
}

/// A command's answer, kept under its idempotency key (`idempotency_keys`) in the same
/// round trip as its event's writes: a retry with the key gets it back.
struct KeptAnswer {
    principal: String,
    key: String,
    request_hash: String,
    body: String,
}

/// What [`record`] records.
struct Record<'a> {
    /// The inquiry, the event already applied.
    inquiry: &'a Inquiry,
    event: &'a EventData,
    actor: &'a EventActor,
    role: Role,
    at: DateTime<Utc>,
    /// The row as stored, `None` if the inquiry is new.
    stored: Option<StoredRow<'a>>,
    /// The reminder share of this process (see `Inquiry::next_sweep_at`).
    share: f64,
    /// The policy POCs read with the inquiry.
    pocs: Option<PocsRead>,
    /// The command's answer, kept under its idempotency key.
    kept: Option<KeptAnswer>,
}

/// Appends the event to the chain and writes the projection and outbox, inside the
/// command's batch on `tx`, with the command's answer under its idempotency key, in one
/// write ([`CommandIo::write`]). The audit (`chain.rs`, `Replay::finish`) checks every
/// column written here: keep the two in step.
async fn record<C: CommandIo>(
    tx: &mut C,
    tip: &mut Option<ChainTip>,
    savepoint: &mut Savepoint,
    waiter: &(dyn Waiter + Sync),
    record: Record<'_>,
) -> Result<(), StoreError> {
    let Record {
        inquiry,
        event,
        actor,
        role,
        at,
        stored,
        share,
        pocs: pocs_read,
        kept,
    } = record;
    let (last_chain_seq, last_hash) = match tip.take() {
        Some(tip) => (tip.chain_seq, tip.hash),
        None => tx.chain_head().await?,
    };
    let chain_seq = last_chain_seq + 1;
    let payload = serde_json::to_string(&event.payload()).expect("payloads serialize");
    let salt = new_salt()?;
    let hash = event_hash(
        &last_hash,
        Some(&salt),
        chain_seq,
        inquiry.id,
        inquiry.version,
        event.type_name(),
        actor,
        at,
        &payload,
    );
    let state = serde_json::to_string(inquiry).expect("inquiries serialize");
    // The states' policy POCs of the day, when the event notifies a side: read before
    // anything is written, so that the writes can go in one round trip.
    let mut current = CurrentPocs::default();
    if audiences(event.type_name()).iter().any(|a| {
        matches!(
            a,
            Audience::RequestingState | Audience::RespondingState | Audience::OtherSide
        )
    }) {
        // Those read with the inquiry, if they are of its states still (`lookup_poc`
        // names the responding state); else both states' in one query: a round trip is
        // most of what a statement costs.
        let requesting = inquiry.requesting_state.as_str();
        let responding = inquiry
            .responding_state
            .as_ref()
            .map(MemberStateCode::as_str);
        current = match pocs_read.filter(|read| read.is_of(requesting, responding)) {
            Some(read) => read.pocs,
            None => {
                let pocs = tx.state_pocs(requesting, responding).await?;
                PocsRead::sorted(requesting, responding, pocs).pocs
            }
        };
    }
    let mut writes = Writes::new();
    if *savepoint == Savepoint::Alone {
        writes.move_head(
            vec![chain_seq.into(), hash.clone().into(), last_chain_seq.into()],
            waiter,
        );
    }
    let next_sweep_at = inquiry.next_sweep_at(share);
    match stored {
        None => writes.push(
            "INSERT INTO inquiries (status, version, requesting_state, requester_poc_id,
                 responding_state, exercise, related_inquiry_id, time_sensitivity, due_at,
                 sent_at, created_at, updated_at, protocol_version, state, next_sweep_at,
                 acknowledged_at, responded_at, id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                 $17, $18)",
            vec![
                inquiry.status.as_str().into(),
                inquiry.version.into(),
                inquiry.requesting_state.as_str().into(),
                inquiry.requester.poc_id.into(),
                inquiry
                    .responding_state
                    .as_ref()
                    .map(MemberStateCode::as_str)
                    .into(),
                inquiry.exercise.into(),
                inquiry.related_inquiry_id.into(),
                inquiry.time_sensitivity.map(|t| t.as_str()).into(),
                inquiry.due_at().into(),
                inquiry.sent_at.into(),
                inquiry.created_at.into(),
                inquiry.updated_at.into(),
                (&inquiry.protocol_version).into(),
                state.into(),
                next_sweep_at.into(),
                inquiry.acknowledged_at.into(),
                inquiry.responded_at.into(),
                inquiry.id.into(),
            ],
        ),
        Some(StoredRow {
            inquiry: was,
            next_sweep_at: stored_sweep,
        }) => {
            // Only the columns whose values change, and those an event always changes:
            // SQLite rewrites an index entry for every indexed column an UPDATE sets,
            // changed or not (five indexes, a page of the log each), and checks the
            // foreign keys of every column it sets.
            let mut set = String::new();
            let mut values: Vec<Value> = Vec::new();
            macro_rules! column {
                ($name:literal, $changed:expr, $value:expr) => {
                    if $changed {
                        values.push(Value::from($value));
                        if !set.is_empty() {
                            set.push_str(", ");
                        }
                        set.push_str(&format!("{} = ${}", $name, values.len()));
                    }
                };
            }
            column!("status", true, inquiry.status.as_str());
            column!("version", true, inquiry.version);
            column!("updated_at", true, inquiry.updated_at);
            column!("state", true, state);
            column!(
                "time_sensitivity",
                was.time_sensitivity != inquiry.time_sensitivity,
                inquiry.time_sensitivity.map(|t| t.as_str())
            );
            column!("sent_at", was.sent_at != inquiry.sent_at, inquiry.sent_at);
            column!(
                "acknowledged_at",
                was.acknowledged_at != inquiry.acknowledged_at,
                inquiry.acknowledged_at
            );
            column!(
                "responded_at",
                was.responded_at != inquiry.responded_at,
                inquiry.responded_at
            );
            column!("due_at", was.due_at() != inquiry.due_at(), inquiry.due_at());
            column!(
                "next_sweep_at",
                stored_sweep != next_sweep_at,
                next_sweep_at
            );
            column!(
                "responding_state",
                was.responding_state != inquiry.responding_state,
                inquiry
                    .responding_state
                    .as_ref()
                    .map(MemberStateCode::as_str)
            );
            // Set when the inquiry is created, never changed by an event since.
            column!(
                "requesting_state",
                was.requesting_state != inquiry.requesting_state,
                inquiry.requesting_state.as_str()
            );
            column!(
                "requester_poc_id",
                was.requester.poc_id != inquiry.requester.poc_id,
                inquiry.requester.poc_id
            );
            column!(
                "exercise",
                was.exercise != inquiry.exercise,
                inquiry.exercise
            );
            column!(
                "related_inquiry_id",
                was.related_inquiry_id != inquiry.related_inquiry_id,
                inquiry.related_inquiry_id
            );
            column!(
                "created_at",
                was.created_at != inquiry.created_at,
                inquiry.created_at
            );
            column!(
                "protocol_version",
                was.protocol_version != inquiry.protocol_version,
                &inquiry.protocol_version
            );
            let sql = format!(
                "UPDATE inquiries SET {set} WHERE id = ${}",
                values.len() + 1
            );
            values.push(inquiry.id.into());
            writes.push(sql, values);
        }
    }
    writes.push(
        "INSERT INTO inquiry_events (chain_seq, inquiry_id, seq, type, actor_kind, actor_poc_id,
             actor_state, at, payload, prev_hash, hash, salt)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        vec![
            chain_seq.into(),
            inquiry.id.into(),
            inquiry.version.into(),
            event.type_name().into(),
            (&actor.kind).into(),
            actor.poc_id.into(),
            actor.state.as_deref().into(),
            at.into(),
            (&payload).into(),
            last_hash.into(),
            (&hash).into(),
            salt.into(),
        ],
    );
    match event {
        EventData::Share { side, poc_id, .. } => {
            writes.push(
                "INSERT INTO inquiry_shares (inquiry_id, poc_id, side, shared_at)
                 VALUES ($1, $2, $3, $4)",
                vec![
                    inquiry.id.into(),
                    (*poc_id).into(),
                    side.as_str().into(),
                    at.into(),
                ],
            );
        }
        EventData::Unshare { poc_id, .. } => {
            writes.push(
                "DELETE FROM inquiry_shares WHERE inquiry_id = $1 AND poc_id = $2",
                vec![inquiry.id.into(), (*poc_id).into()],
            );
        }
        _ => {}
    }
    for recipient in recipients(event, role, inquiry, &current) {
        let data = inquiry_data(event, inquiry, &recipient).to_string();
        let (kind, poc_id, addressed_as) = match &recipient {
            Recipient::Poc { id, state } => ("poc", Some(*id), Some(state.to_string())),
            Recipient::Secretariat => ("secretariat", None, None),
        };
        writes.push(
            "INSERT INTO outbox (id, inquiry_id, event_chain_seq, event_type, recipient_kind,
                 recipient_poc_id, recipient_state, data, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            vec![
                Uuid::now_v7().into(),
                inquiry.id.into(),
                chain_seq.into(),
                event.type_name().into(),
                kind.into(),
                poc_id.into(),
                addressed_as.into(),
                data.into(),
                at.into(),
            ],
        );
    }
    // The answer kept under the command's idempotency key, in the same round trip.
    if let Some(kept) = kept {
        writes.push(
            "INSERT INTO idempotency_keys
                 (principal, key, request_hash, response_body, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (principal, key) DO UPDATE
                SET request_hash = excluded.request_hash,
                    response_body = excluded.response_body,
                    created_at = excluded.created_at",
            vec![
                kept.principal.into(),
                kept.key.into(),
                kept.request_hash.into(),
                kept.body.into(),
                at.into(),
            ],
        );
    }
    tx.write(writes, savepoint).await?;
    // `event_chain_head` is written once per batch, with its commit.
    *tip = Some(ChainTip { chain_seq, hash });
    Ok(())
}

/// Defines the writer's `BatchStart` on `$connection`'s backend: `$begin` begins a batch
/// with `$begin_sql` (which reads the chain head, in the same round trip), `$commit`
/// writes the tip the batch moved to and commits, in one round trip too.
macro_rules! batch_ends {
    ($begin:ident, $commit:ident, $connection:ty, $begin_sql:expr) => {
        pub(super) fn $begin(
            connection: &mut $connection,
        ) -> futures_util::future::BoxFuture<'_, Result<Option<ChainTip>, sqlx::Error>> {
            Box::pin(async move {
                use sqlx::Row;
                let row = sqlx::raw_sql($begin_sql).fetch_one(connection).await?;
                Ok(Some(ChainTip {
                    chain_seq: row.try_get(0)?,
                    hash: row.try_get(1)?,
                }))
            })
        }

        pub(super) fn $commit<'c>(
            connection: &'c mut $connection,
            tip: Option<&'c ChainTip>,
        ) -> futures_util::future::BoxFuture<'c, Result<(), sqlx::Error>> {
            Box::pin(async move {
                let sql = commit_sql(tip)?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(connection)
                    .await
                    .map(drop)
            })
        }
    };
}
// The lock on the chain head comes first, before any inquiry row, so that two instances'
// batches queue on it instead of deadlocking: see `writer`.
batch_ends!(
    begin_postgres,
    commit_postgres,
    sqlx::PgConnection,
    "BEGIN; SELECT last_chain_seq, last_hash FROM event_chain_head WHERE id = 1 FOR UPDATE"
);

/// `COMMIT`, after the update of `event_chain_head` to `tip` if there is one: a simple
/// query of several statements (one round trip), so its values are literals, of types
/// that cannot carry SQL (an integer and a hexadecimal digest, which is checked).
pub(super) fn commit_sql(tip: Option<&ChainTip>) -> Result<String, sqlx::Error> {
    let Some(ChainTip { chain_seq, hash }) = tip else {
        return Ok("COMMIT".to_owned());
    };
    if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(sqlx::Error::Protocol(format!(
            "the chain tip's hash {hash:?} is not a hexadecimal digest"
        )));
    }
    Ok(format!(
        "UPDATE event_chain_head SET last_chain_seq = {chain_seq}, last_hash = '{hash}' WHERE id = 1;\nCOMMIT"
    ))
}

/// An inquiry's row as stored, before the event a command records: its columns are those
/// of its decoded `state` (the audit checks so), and its `next_sweep_at`, which also
/// depends on the reminder share of the process that wrote it.
struct StoredRow<'a> {
    inquiry: &'a Inquiry,
    next_sweep_at: Option<DateTime<Utc>>,
}

/// The policy POCs of an inquiry's two states, read with the inquiry itself, for the
/// notifications of the event a command records.
struct PocsRead {
    requesting: String,
    responding: Option<String>,
    pocs: CurrentPocs,
}

impl PocsRead {
    /// Sorts `pocs` (id, member state) between the two states.
    fn sorted(requesting: &str, responding: Option<&str>, pocs: Vec<(Uuid, String)>) -> Self {
        let mut current = CurrentPocs::default();
        for (id, state) in pocs {
            if state == requesting {
                current.requesting.push(id);
            } else {
                current.responding.push(id);
            }
        }
        Self {
            requesting: requesting.to_owned(),
            responding: responding.map(str::to_owned),
            pocs: current,
        }
    }

    /// Whether these are the POCs of those two states.
    fn is_of(&self, requesting: &str, responding: Option<&str>) -> bool {
        self.requesting == requesting && self.responding.as_deref() == responding
    }
}

const INQUIRY_STATE_COLUMNS: &str = "SELECT state FROM inquiries";

/// Queues a command on the store's group-commit writer and waits for its answer: `$work`
/// (a closure of a [`Batch`]) is written once and given each backend's connection.
macro_rules! submit {
    ($store:expr, $alone:expr, $work:expr) => {
        match &$store.writes {
            super::Writes::Sqlite { commands, .. } => commands.submit_with($alone, $work).await,
            super::Writes::Postgres { commands } => commands.submit_with($alone, $work).await,
        }
    };
}

/// What [`create_in`] creates.
struct CreateArgs {
    id: Uuid,
    caller: Caller,
    member_state: MemberStateCode,
    poc_id: Uuid,
    exercise: bool,
    related_inquiry_id: Option<Uuid>,
    now: DateTime<Utc>,
    reminder_share: f64,
}

/// [`Store::create_inquiry`] inside its batch: the inquiry and its event's type.
async fn create_in<C: CommandIo>(
    batch: Batch<'_, C>,
    args: &CreateArgs,
) -> Result<(Inquiry, &'static str), CreateError> {
    let Batch {
        connection: tx,
        tip,
        savepoint,
        waiter,
    } = batch;
    if let Some(related) = args.related_inquiry_id
        && !tx
            .related_visible(related, args.member_state.as_str())
            .await?
    {
        return Err(CreateError::UnknownRelatedInquiry(related));
    }
    let (name, affiliation, en, es, fr, pt) = tx.requester(args.poc_id).await?;
    let event = inquiry::create(
        args.member_state.clone(),
        StateName { en, es, fr, pt },
        Requester {
            poc_id: args.poc_id,
            name,
            affiliation,
        },
        args.exercise,
        args.related_inquiry_id,
    );
    let created = apply(None, args.id, 1, &event, args.now).map_err(|e| corrupt("create", e))?;
    let actor = actor_of(Some(&args.caller), Role::Requester);
    let recorded = Record {
        inquiry: &created,
        event: &event,
        actor: &actor,
        role: Role::Requester,
        at: args.now,
        stored: None,
        share: args.reminder_share,
        pocs: None,
        kept: None,
    };
    record(tx, tip, savepoint, waiter, recorded).await?;
    Ok((created, event.type_name()))
}

/// What [`execute_in`] runs.
struct ExecuteArgs {
    inquiry_id: Uuid,
    /// Whose idempotency keys the command's is among.
    principal: String,
    /// `None` for the engine.
    caller: Option<Caller>,
    action: ActionRequest,
    if_match: Option<i64>,
    idempotency: Option<IdempotencyKey>,
    now: DateTime<Utc>,
    reminder_share: f64,
    /// The answer kept under the idempotency key.
    #[allow(clippy::type_complexity)]
    render: Box<dyn Fn(&Inquiry, Party) -> String + Send + Sync>,
}

/// [`Store::execute`] inside its batch: what was done, and the type of the event recorded
/// (if one was).
async fn execute_in<C: CommandIo>(
    batch: Batch<'_, C>,
    args: &ExecuteArgs,
) -> Result<(Executed, Option<&'static str>), CommandError> {
    let Batch {
        connection: tx,
        tip,
        savepoint,
        waiter,
    } = batch;
    let (inquiry_id, now) = (args.inquiry_id, args.now);
    let caller = args.caller.as_ref();
    // Alone (see `writer`), outside a transaction: nothing to lock, and the chain's tip is
    // read here, with the rest.
    let alone = *savepoint == Savepoint::Alone;
    // The inquiry, its states' policy POCs of the day, the caller's earlier use of its
    // idempotency key and the chain's head, in one round trip.
    let mut rows = tx
        .command_rows(
            inquiry_id,
            &args.principal,
            args.idempotency.as_ref().map(|key| key.key.as_str()),
            now - IDEMPOTENCY_KEY_LIFETIME,
            !alone,
        )
        .await?;
    let pocs: Vec<(Uuid, String)> = rows
        .iter_mut()
        .filter_map(|(_, _, id, state, _, _, _, _)| Some((id.take()?, state.take()?)))
        .collect();
    let Some((state, stored_sweep, _, _, request_hash, response_body, head_seq, head_hash)) =
        rows.into_iter().next()
    else {
        return Err(CommandError::NotFound(inquiry_id));
    };
    if alone {
        *tip = Some(ChainTip {
            chain_seq: head_seq,
            hash: head_hash,
        });
    }
    let current = decode_inquiry(&state)?;
    let pocs_read = PocsRead::sorted(
        current.requesting_state.as_str(),
        current
            .responding_state
            .as_ref()
            .map(MemberStateCode::as_str),
        pocs,
    );
    let party = match caller {
        Some(caller) => party_of(&caller.principal, &current),
        None => Some(Party::ENGINE),
    };
    let Some(party) = party else {
        return Err(CommandError::NotFound(inquiry_id));
    };
    let role = party.role;
    if let (Some(key), Some(request_hash), Some(body)) =
        (&args.idempotency, request_hash, response_body)
    {
        if request_hash != key.request_hash {
            return Err(CommandError::IdempotencyKeyReused);
        }
        return Ok((Executed::Replayed { body }, None));
    }
    if let Some(expected) = args.if_match
        && expected != current.version
    {
        return Err(CommandError::VersionMismatch {
            expected,
            current: current.version,
        });
    }
    let name = match &args.action {
        ActionRequest::Ready(action) => action.name(),
        ActionRequest::LookupPoc(_) => ActionName::LookupPoc,
        ActionRequest::Share(_) => ActionName::Share,
        ActionRequest::Attach { .. } => ActionName::Attach,
    };
    inquiry::admit(&current, party, name, now)?;
    // The bytes of an attachment, written once its event is.
    let mut attachment: Option<(Uuid, String, i64, Option<Vec<u8>>)> = None;
    let mut action = match args.action.clone() {
        ActionRequest::Ready(action) => action,
        ActionRequest::Attach { meta, content } => {
            let size = i64::try_from(meta.size).map_err(|e| corrupt("attachment size", e))?;
            attachment = Some((meta.id, meta.sha256.clone(), size, content));
            Action::Attach(meta)
        }
        ActionRequest::LookupPoc(code) => {
            let Some((en, es, fr, pt, participating)) = tx.member_state(code.as_str()).await?
            else {
                return Err(Refusal::Invalid {
                    field: "member_state".into(),
                    detail: format!("{code} is not an OAS Member State"),
                }
                .into());
            };
            let pocs = tx.policy_pocs(code.as_str()).await?;
            Action::LookupPoc(LookupTarget {
                code,
                name: StateName { en, es, fr, pt },
                participating,
                pocs: pocs
                    .into_iter()
                    .map(|row| PocSnapshot {
                        id: row.id,
                        name: row.name,
                        affiliation: row.affiliation,
                        email: row.email,
                        languages: row.languages.0,
                    })
                    .collect(),
            })
        }
        ActionRequest::Share(poc_id) => {
            let Some((name, poc_role, member_state, active)) = tx.poc(poc_id).await? else {
                return Err(Refusal::Invalid {
                    field: "poc_id".into(),
                    detail: format!("no point of contact has id {poc_id}"),
                }
                .into());
            };
            Action::Share(ShareTarget {
                poc_id,
                name,
                role: poc_role,
                member_state: MemberStateCode::parse(&member_state)
                    .map_err(|e| corrupt("pocs.member_state", e))?,
                active,
            })
        }
    };
    if let Action::Acknowledge {
        estimated_working_days: Some(working),
        ..
    } = &mut action
        && working.calendar.is_none()
        && let Some(state) = &current.responding_state
    {
        // The responding state's working calendar of the day, from today on there.
        let row = tx.calendar(state.as_str()).await?;
        let (zone, week, ends) =
            row.ok_or_else(|| corrupt("member_states", format!("no row for {state}")))?;
        let from = (now - chrono::TimeDelta::days(2)).date_naive().to_string();
        let dates = tx.holidays(state.as_str(), &from).await?;
        working.calendar = Some(crate::calendar::WorkingCalendar {
            zone: crate::domain::TimeZone::parse(&zone)
                .map_err(|e| corrupt("member_states.time_zone", e))?
                .tz(),
            week: crate::calendar::WorkingWeek::parse_stored(&week)
                .map_err(|e| corrupt("member_states.working_days", e))?,
            day_ends: crate::calendar::parse_day_ends(&ends)
                .map_err(|e| corrupt("member_states.working_day_ends", e))?,
            holidays: dates
                .iter()
                .map(|d| {
                    d.parse()
                        .map_err(|e| corrupt("member_state_holidays.date", e))
                })
                .collect::<Result<_, _>>()?,
        });
    }
    let event = decide(&current, party, action, now)?;
    if let EventData::Respond { third_states, .. } = &event {
        // Whether a code names an OAS Member State is a fact of the directory.
        for code in third_states {
            if !tx.is_member_state(code.as_str()).await? {
                return Err(Refusal::Invalid {
                    field: "third_states".into(),
                    detail: format!("{code} is not an OAS Member State"),
                }
                .into());
            }
        }
    }
    let next = apply(Some(&current), current.id, current.version + 1, &event, now)
        .map_err(|e| corrupt("apply", e))?;
    let actor = actor_of(caller, role);
    let kept = args.idempotency.as_ref().map(|key| KeptAnswer {
        principal: args.principal.clone(),
        key: key.key.clone(),
        request_hash: key.request_hash.clone(),
        body: (args.render)(&next, party),
    });
    let answer = kept.as_ref().map(|kept| kept.body.clone());
    let recorded = Record {
        inquiry: &next,
        event: &event,
        actor: &actor,
        role,
        at: now,
        stored: Some(StoredRow {
            inquiry: &current,
            next_sweep_at: stored_sweep,
        }),
        share: args.reminder_share,
        pocs: Some(pocs_read),
        kept,
    };
    record(tx, tip, savepoint, waiter, recorded).await?;
    if let Some((id, sha256, size, content)) = attachment {
        let mut writes = Writes::new();
        writes.push(
            INSERT_ATTACHMENT,
            vec![
                id.into(),
                inquiry_id.into(),
                sha256.into(),
                size.into(),
                content.into(),
                now.into(),
            ],
        );
        tx.write(writes, savepoint).await?;
    }
    Ok((
        Executed::Applied(Box::new(next), party, answer),
        Some(event.type_name()),
    ))
}

impl Store {
    /// Opens a draft inquiry of the caller's state, the caller as requester (its name and
    /// affiliation from the directory, R2), and records `created`.
    pub async fn create_inquiry(
        &self,
        caller: &Caller,
        exercise: bool,
        related_inquiry_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Inquiry, CreateError> {
        let Principal::Poc {
            poc_id,
            member_state,
            role,
            participating,
        } = &caller.principal
        else {
            return Err(CreateError::NotAPoc);
        };
        if *role != PocRole::Policy {
            return Err(CreateError::NotPolicy);
        }
        if !participating {
            return Err(CreateError::NotParticipating(member_state.clone()));
        }
        let args = Arc::new(CreateArgs {
            id: Uuid::now_v7(),
            caller: caller.clone(),
            member_state: member_state.clone(),
            poc_id: poc_id.0,
            exercise,
            related_inquiry_id,
            now,
            reminder_share: self.reminder_share,
        });
        // A closure that may run again (see `writer::Isolation`).
        let (created, event_type) = submit!(self, false, move |batch| {
            let args = args.clone();
            Box::pin(async move { create_in(batch, &args).await })
        })?;
        crate::metrics::transition_recorded(event_type);
        Ok(created)
    }

    /// One inquiry, whoever asks (callers check visibility with [`role_of`]).
    pub async fn get_inquiry(&self, id: Uuid) -> Result<Option<Inquiry>, StoreError> {
        let sql = format!("{INQUIRY_STATE_COLUMNS} WHERE id = $1");
        let state: Option<String> = dispatch!(self, pool => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?);
        state.as_deref().map(decode_inquiry).transpose()
    }

    /// Runs one command in one transaction. `render` gives the answer to store with an
    /// idempotency key (the inquiry as the caller sees it, as JSON).
    pub async fn execute(
        &self,
        command: Command<'_>,
        render: impl Fn(&Inquiry, Party) -> String + Send + Sync + 'static,
    ) -> Result<Executed, CommandError> {
        let _forget = self.inquiry_changing(command.inquiry_id);
        let (principal, caller) = match command.by {
            IssuedBy::Caller(caller) => (principal_key(&caller.principal), Some(caller.clone())),
            IssuedBy::Engine => ("engine".to_owned(), None),
        };
        let Command {
            inquiry_id,
            action,
            if_match,
            idempotency,
            now,
            ..
        } = command;
        // An attachment's bytes are a second write, after its event's: in a transaction.
        let may_run_alone = !matches!(action, ActionRequest::Attach { .. });
        let args = Arc::new(ExecuteArgs {
            inquiry_id,
            principal,
            caller,
            action,
            if_match,
            idempotency,
            now,
            reminder_share: self.reminder_share,
            render: Box::new(render),
        });
        // A closure that may run again (see `writer::Isolation`).
        let (executed, recorded) = submit!(self, may_run_alone, move |batch| {
            let args = args.clone();
            Box::pin(async move { execute_in(batch, &args).await })
        })?;
        if let Some(event_type) = recorded {
            crate::metrics::transition_recorded(event_type);
        }
        Ok(executed)
    }

    /// A page of the inquiries `principal` may see, newest first. A policy POC sees its
    /// state's inquiries as requester, and those addressed to its state once sent; another
    /// POC, those shared with it; the Secretariat sees all.
    pub async fn list_inquiries(
        &self,
        principal: &Principal,
        filter: &InquiryFilter,
        after: Option<&InquiryCursor>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<ListedInquiry>, StoreError> {
        let (state, shared_with) = match principal {
            Principal::Poc {
                member_state,
                role: PocRole::Policy,
                ..
            } => (Some(member_state.as_str()), None),
            Principal::Poc {
                member_state,
                poc_id,
                ..
            } => (Some(member_state.as_str()), Some(poc_id.0)),
            Principal::Secretariat => (None, None),
        };
        let rows: Vec<(Uuid, DateTime<Utc>, String)> = dispatch!(self, pool => sqlx::query_as(
            "SELECT id, created_at, state FROM inquiries
              WHERE ($1 IS NULL OR requesting_state = $1 OR (responding_state = $1 AND sent_at IS NOT NULL))
                AND ($9 IS NULL OR id IN (SELECT inquiry_id FROM inquiry_shares WHERE poc_id = $9))
                AND ($2 IS NULL
                     OR ($2 = 'requester' AND requesting_state = $1)
                     OR ($2 = 'responder' AND responding_state = $1 AND sent_at IS NOT NULL))
                AND ($3 IS NULL OR status = $3)
                AND ($4 IS NULL OR $4 = (due_at IS NOT NULL AND due_at < $5))
                AND ($6 IS NULL OR (created_at, id) < ($6, $7))
              ORDER BY created_at DESC, id DESC
              LIMIT $8",
        )
        .bind(state)
        .bind(filter.role.map(Role::as_str))
        .bind(filter.status.map(Status::as_str))
        .bind(filter.overdue)
        .bind(now)
        .bind(after.map(|c| c.created_at))
        .bind(after.map(|c| c.id))
        .bind(i64::from(limit))
        .bind(shared_with)
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(id, created_at, state)| {
                let inquiry = decode_inquiry(&state)
                    .inspect_err(|error| {
                        tracing::error!(
                            inquiry_id = %id,
                            %error,
                            "an inquiry row cannot be decoded: left out of the list (cbm2 audit verify names it)"
                        );
                    })
                    .ok();
                ListedInquiry { id, created_at, inquiry }
            })
            .collect())
    }

    /// A page of an inquiry's events, oldest first, after `after` (a `seq`), as `viewer`
    /// (a side, or the Secretariat) may see them (`visible_events!`).
    pub async fn inquiry_events_page(
        &self,
        id: Uuid,
        viewer: Role,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let side = matches!(viewer, Role::Requester | Role::Responder).then_some(viewer.as_str());
        Ok(dispatch!(self, pool => sqlx::query_as(visible_events!(
            "seq, type, actor_kind, actor_poc_id, actor_state, at, payload, hash",
            "AND seq > $4 ORDER BY seq LIMIT $5"
        ))
        .bind(id)
        .bind(viewer == Role::Responder)
        .bind(side)
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?))
    }

    /// What a signed record holds ([`crate::record`]), read in one snapshot: the inquiry,
    /// the events its reader may see with what their hashes cover, and the chain's head
    /// (so the head is at or after every event read, and the inquiry is their replay).
    /// `reader` says the reader's part in the inquiry; `None` when it is not theirs to see.
    pub async fn inquiry_record(
        &self,
        id: Uuid,
        reader: impl FnOnce(&Inquiry) -> Option<Party>,
    ) -> Result<Option<RecordRead>, StoreError> {
        dispatch!(self, pool => {
            let mut tx = pool.begin_snapshot().await?;
            let sql = format!("{INQUIRY_STATE_COLUMNS} WHERE id = $1");
            let state: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(inquiry) = state.as_deref().map(decode_inquiry).transpose()? else {
                return Ok(None);
            };
            let Some(party) = reader(&inquiry) else {
                return Ok(None);
            };
            let viewer = party.role;
            let side = party.is_participant().then_some(viewer.as_str());
            let events: Vec<ChainedEvent> = sqlx::query_as(visible_events!(
                "chain_seq, seq, type, actor_kind, actor_poc_id, actor_state, at, payload, hash, \
                 salt, prev_hash",
                "ORDER BY seq"
            ))
            .bind(id)
            .bind(viewer == Role::Responder)
            .bind(side)
            .fetch_all(&mut *tx)
            .await?;
            let (chain_seq, hash): (i64, String) =
                sqlx::query_as("SELECT last_chain_seq, last_hash FROM event_chain_head WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await?;
            tx.commit().await?;
            Ok(Some(RecordRead { inquiry, party, events, head: ChainHead { chain_seq, hash } }))
        })
    }

    /// The kept bytes of attachment `id` of inquiry `inquiry_id`, with the SHA-256 recorded
    /// for them: `Some((sha256, None))` when they are kept in the attachments directory.
    pub async fn attachment_content(
        &self,
        inquiry_id: Uuid,
        id: Uuid,
    ) -> Result<Option<(String, Option<Vec<u8>>)>, StoreError> {
        Ok(dispatch!(self, pool => sqlx::query_as(
            "SELECT sha256, content FROM inquiry_attachments WHERE id = $1 AND inquiry_id = $2",
        )
        .bind(id)
        .bind(inquiry_id)
        .fetch_optional(pool)
        .await?))
    }

    /// An inquiry's events, oldest first.
    pub async fn inquiry_events(&self, id: Uuid) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(dispatch!(self, pool => sqlx::query_as(
            "SELECT seq, type, actor_kind, actor_poc_id, actor_state, at, payload, hash
               FROM inquiry_events WHERE inquiry_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(pool)
        .await?))
    }

    /// Forgets idempotency keys older than [`IDEMPOTENCY_KEY_LIFETIME`], a batch at a time so
    /// that no purge holds the write lock for long; returns how many it removed.
    pub async fn purge_expired_idempotency_keys(
        &self,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        const BATCH: i64 = 1000;
        let mut removed = 0;
        loop {
            let deleted = dispatch!(self, pool => sqlx::query(
                "DELETE FROM idempotency_keys WHERE (principal, key) IN
                    (SELECT principal, key FROM idempotency_keys WHERE created_at <= $1 LIMIT $2)",
            )
            .bind(now - IDEMPOTENCY_KEY_LIFETIME)
            .bind(BATCH)
            .execute(self.writes(pool))
            .await?
            .rows_affected());
            removed += deleted;
            if deleted < BATCH as u64 {
                return Ok(removed);
            }
        }
    }

    /// Every inquiry id, for replay checks.
    pub async fn inquiry_ids(&self) -> Result<Vec<Uuid>, StoreError> {
        Ok(
            dispatch!(self, pool => sqlx::query_scalar("SELECT id FROM inquiries ORDER BY created_at, id")
            .fetch_all(pool)
            .await?),
        )
    }

    /// Rebuilds an inquiry by folding its stored events through the protocol.
    pub async fn replay_inquiry(&self, id: Uuid) -> Result<Option<Inquiry>, StoreError> {
        let mut inquiry: Option<Inquiry> = None;
        for event in self.inquiry_events(id).await? {
            let payload: serde_json::Value = serde_json::from_str(&event.payload)
                .map_err(|e| corrupt("inquiry_events.payload", e))?;
            let data = EventData::from_parts(&event.event_type, payload)
                .map_err(|e| corrupt("inquiry_events.payload", e))?;
            inquiry = Some(
                apply(inquiry.as_ref(), id, event.seq, &data, event.at)
                    .map_err(|e| corrupt("replay", e))?,
            );
        }
        Ok(inquiry)
    }
}

impl Store {
    /// Writes inquiry rows directly, without events: for `cbm2 bench` only, whose database
    /// is throwaway (its chain does not verify).
    pub async fn insert_projections_for_bench(
        &self,
        inquiries: &[Inquiry],
    ) -> Result<(), StoreError> {
        dispatch!(self, pool => {
            let mut builder = QueryBuilder::new(
                "INSERT INTO inquiries (id, status, version, requesting_state, requester_poc_id,
                     responding_state, exercise, related_inquiry_id, time_sensitivity, due_at, sent_at,
                     created_at, updated_at, protocol_version, state, next_sweep_at, acknowledged_at,
                     responded_at) ",
            );
            builder.push_values(inquiries, |mut row, inquiry| {
                row.push_bind(inquiry.id)
                    .push_bind(inquiry.status.as_str())
                    .push_bind(inquiry.version)
                    .push_bind(inquiry.requesting_state.to_string())
                    .push_bind(inquiry.requester.poc_id)
                    .push_bind(inquiry.responding_state.as_ref().map(ToString::to_string))
                    .push_bind(inquiry.exercise)
                    .push_bind(inquiry.related_inquiry_id)
                    .push_bind(inquiry.time_sensitivity.map(|t| t.as_str()))
                    .push_bind(inquiry.due_at())
                    .push_bind(inquiry.sent_at)
                    .push_bind(inquiry.created_at)
                    .push_bind(inquiry.updated_at)
                    .push_bind(inquiry.protocol_version.clone())
                    .push_bind(serde_json::to_string(inquiry).expect("serializes"))
                    .push_bind(inquiry.next_sweep_at(DEFAULT_REMINDER_SHARE))
                    .push_bind(inquiry.acknowledged_at)
                    .push_bind(inquiry.responded_at);
            });
            builder.build().execute(self.writes(pool)).await.map(drop)?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{ChainTip, commit_sql};
    use crate::store::{Pool, store_with_fixture};

    /// Columns an event such as a message leaves as they are: those an inquiry's creation
    /// sets for good, its indexed deadline columns and its responding state.
    const UNCHANGED: [&str; 9] = [
        "requesting_state",
        "requester_poc_id",
        "responding_state",
        "exercise",
        "related_inquiry_id",
        "created_at",
        "protocol_version",
        "due_at",
        "next_sweep_at",
    ];

    #[tokio::test]
    async fn an_event_sets_only_the_columns_it_changes() {
        let (store, fixture, _dir) = store_with_fixture().await;
        let Pool::Sqlite(readers) = &store.pool else {
            unreachable!("a SQLite store")
        };
        let pool = store.writes(readers);
        // SQLite fires an `UPDATE OF column` trigger for each column an UPDATE sets,
        // changed or not, as it rewrites that column's index entries.
        let mut sql = "CREATE TABLE set_columns (name TEXT NOT NULL);".to_owned();
        for column in UNCHANGED {
            sql.push_str(&format!(
                "CREATE TRIGGER set_{column} AFTER UPDATE OF {column} ON inquiries
                 BEGIN INSERT INTO set_columns VALUES ('{column}'); END;"
            ));
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await
            .unwrap();
        let id = fixture.inquiries[0];
        let version = |pool| async move {
            sqlx::query_scalar::<_, i64>("SELECT version FROM inquiries WHERE id = $1")
                .bind(id)
                .fetch_one(pool)
                .await
                .unwrap()
        };
        let before = version(pool).await;

        let message = crate::bench::message("Any news?").unwrap();
        crate::bench::command(&store, &fixture.caller, id, message)
            .await
            .unwrap();

        assert_eq!(version(pool).await, before + 1, "the row was updated");
        let set: Vec<String> = sqlx::query_scalar("SELECT name FROM set_columns")
            .fetch_all(pool)
            .await
            .unwrap();
        assert!(set.is_empty(), "set though unchanged: {set:?}");
        let report = store.verify_chain(None).await.unwrap();
        assert!(
            matches!(report, crate::store::chain::ChainReport::Valid { .. }),
            "{report:?}"
        );
    }

    #[test]
    fn a_commit_writes_the_tip_it_is_given_and_refuses_one_that_is_not_a_digest() {
        assert_eq!(commit_sql(None).unwrap(), "COMMIT");
        let tip = ChainTip {
            chain_seq: 42,
            hash: "00ff".repeat(16),
        };
        assert_eq!(
            commit_sql(Some(&tip)).unwrap(),
            format!(
                "UPDATE event_chain_head SET last_chain_seq = 42, last_hash = '{}' WHERE id = 1;\nCOMMIT",
                tip.hash
            )
        );
        for hash in ["", "00ff'; DROP TABLE inquiries; --", "g0"] {
            let tip = ChainTip {
                chain_seq: 1,
                hash: hash.to_owned(),
            };
            assert!(commit_sql(Some(&tip)).is_err(), "{hash:?} was taken");
        }
    }
}
