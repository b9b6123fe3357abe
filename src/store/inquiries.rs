//! Inquiries: one command, one transaction. Lock the inquiry, let the protocol decide,
//! append the event to the hash chain, update the projection, queue notifications,
//! remember the idempotency key, commit. A refused command writes nothing.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::QueryBuilder;
use sqlx::types::Json;
use uuid::Uuid;

use super::chain::{ChainHead, EventActor, event_hash, new_salt};
use super::writer::{Batch, ChainTip, Savepoint, Waiter, open_savepoint};
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

/// Binds one statement's values, in the order of its placeholders.
type Bind<'q, DB> = Box<
    dyn FnOnce(
            sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
        ) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
        + Send
        + 'q,
>;

/// The writes of one event, in order, each a statement and its binds, sent as one query
/// with their placeholders numbered through ([`OneQuery`]): one round trip (to SQLite's
/// worker thread, to the PostgreSQL server) instead of one a statement, which is most of
/// what a statement costs.
struct Writes<'q, DB: sqlx::Database> {
    statements: Vec<(Cow<'static, str>, Bind<'q, DB>)>,
    /// For a command run alone ([`Savepoint::Alone`]), the binds of [`HEAD_MOVE`] (the
    /// chain's new tip, and the sequence number it is moved from), and who waits for it.
    head_move: Option<(Bind<'q, DB>, &'q (dyn Waiter + Sync))>,
}

impl<DB: sqlx::Database> Writes<'_, DB> {
    /// Writes for `_pool`'s backend.
    fn new(_pool: &sqlx::Pool<DB>) -> Self {
        Self {
            statements: Vec::new(),
            head_move: None,
        }
    }
}

/// A lone command's update of the chain head, first of its one statement: it moves the
/// head only from where the command read it, and locks it before any other row (as a
/// batch does, so that the two never wait on each other's rows). Every other write of the
/// statement is [`gated`] on its row: if another instance appended since the command's
/// read, the statement writes nothing.
const HEAD_MOVE: &str = "h AS (UPDATE event_chain_head SET last_chain_seq = $1, last_hash = $2
        WHERE id = 1 AND last_chain_seq = $3 RETURNING 1)";

/// `sql`, one of the writes of an event, made to write only if the head moved
/// ([`HEAD_MOVE`]): an `INSERT ... VALUES (...)` becomes `INSERT ... SELECT ... FROM h`,
/// an `UPDATE` or `DELETE` gets `AND EXISTS (SELECT 1 FROM h)` after its `WHERE`. `None`
/// for any other statement.
fn gated(sql: &str) -> Option<String> {
    let statement = sql.trim_start();
    if statement.starts_with("INSERT") {
        let values = sql.find("VALUES")?;
        let open = values + sql[values..].find('(')?;
        let mut depth = 0usize;
        let close = sql[open..].char_indices().find_map(|(at, c)| {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(open + at);
                    }
                }
                _ => {}
            }
            None
        })?;
        Some(format!(
            "{}SELECT {} FROM h{}",
            &sql[..values],
            &sql[open + 1..close],
            &sql[close + 1..]
        ))
    } else if (statement.starts_with("UPDATE") || statement.starts_with("DELETE"))
        && sql.contains(" WHERE ")
    {
        Some(format!("{sql} AND EXISTS (SELECT 1 FROM h)"))
    } else {
        None
    }
}

/// The highest `$N` in `sql`.
fn placeholders(sql: &str) -> usize {
    sql.split('$')
        .skip(1)
        .filter_map(|rest| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            rest[..digits].parse::<usize>().ok()
        })
        .max()
        .unwrap_or(0)
}

/// `sql` with every `$N` raised by `offset`.
fn renumbered(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut parts = sql.split('$');
    out.push_str(parts.next().unwrap_or_default());
    for rest in parts {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => {
                out.push('$');
                out.push_str(&(n + offset).to_string());
                out.push_str(&rest[digits..]);
            }
            Err(_) => {
                out.push('$');
                out.push_str(rest);
            }
        }
    }
    out
}

impl<'q, DB> Writes<'q, DB>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    fn push(&mut self, sql: impl Into<Cow<'static, str>>, bind: Bind<'q, DB>) {
        self.statements.push((sql.into(), bind));
    }

    /// Makes the writes those of a command run alone: [`HEAD_MOVE`] first, with `bind`;
    /// sent only if `waiter` has not gone.
    fn move_head(&mut self, bind: Bind<'q, DB>, waiter: &'q (dyn Waiter + Sync)) {
        self.head_move = Some((bind, waiter));
    }

    /// Runs the writes, opening `savepoint` first if it is due: on SQLite in the same query.
    async fn run(
        self,
        connection: &mut DB::Connection,
        form: OneQuery,
        savepoint: &mut Savepoint,
    ) -> Result<(), sqlx::Error> {
        let mut sql = String::new();
        match form {
            OneQuery::Statements => sql.push_str(savepoint.sql()),
            OneQuery::With => open_savepoint::<DB>(&mut *connection, savepoint).await?,
        }
        let mut offset = 0;
        if self.head_move.is_some() {
            let OneQuery::With = form else {
                // Nothing sent: the command runs again in a batch.
                *savepoint = Savepoint::AloneRolledBack;
                return Err(sqlx::Error::Protocol(
                    "a command runs alone on PostgreSQL only".into(),
                ));
            };
            sql.push_str("WITH ");
            sql.push_str(HEAD_MOVE);
            offset = placeholders(HEAD_MOVE);
        }
        for (n, (statement, _)) in self.statements.iter().enumerate() {
            let gated = self.head_move.as_ref().map(|_| gated(statement));
            let statement = match gated {
                None => Cow::Borrowed(statement.as_ref()),
                Some(Some(gated)) => Cow::Owned(gated),
                Some(None) => {
                    // A write of a kind `gated` does not know: nothing sent, the command
                    // runs again in a batch.
                    tracing::error!(statement = %statement, "a write cannot be made conditional on the chain head's move: the command runs in a batch");
                    *savepoint = Savepoint::AloneRolledBack;
                    return Err(sqlx::Error::Protocol(format!(
                        "cannot gate on the head's move: {statement}"
                    )));
                }
            };
            let statement_sql = renumbered(&statement, offset);
            match form {
                OneQuery::Statements => {
                    sql.push_str(&statement_sql);
                    sql.push_str(";\n");
                }
                OneQuery::With => {
                    let first = n == 0 && self.head_move.is_none();
                    sql.push_str(if first { "WITH " } else { ",\n" });
                    sql.push_str(&format!("w{n} AS ({statement_sql})"));
                }
            }
            offset += placeholders(&statement);
        }
        let (head_move, waiter) = self.head_move.unzip();
        sql.push_str(match (form, waiter) {
            // Alone: its row says whether the head moved.
            (_, Some(_)) => "\nSELECT 1 FROM h",
            (OneQuery::With, None) => "\nSELECT 1",
            (OneQuery::Statements, None) => "",
        });
        let query = sqlx::query(sqlx::AssertSqlSafe(sql));
        let query = match head_move {
            Some(bind) => bind(query),
            None => query,
        };
        let query = self
            .statements
            .into_iter()
            .fold(query, |query, (_, bind)| bind(query));
        let Some(waiter) = waiter else {
            return query.execute(&mut *connection).await.map(drop);
        };
        // Alone: the statement commits by itself.
        if waiter.has_gone() {
            // Its caller was told nothing was done: nothing is sent.
            *savepoint = Savepoint::Alone;
            return Err(sqlx::Error::Protocol(
                "the command's caller has gone: nothing written".into(),
            ));
        }
        match query.fetch_optional(&mut *connection).await {
            Ok(Some(_)) => Ok(()),
            // Another instance appended since the command read the head: nothing written.
            Ok(None) => {
                *savepoint = Savepoint::AloneRolledBack;
                Err(sqlx::Error::RowNotFound)
            }
            // The server refused the statement: none of it committed.
            Err(error @ sqlx::Error::Database(_)) => {
                *savepoint = Savepoint::AloneRolledBack;
                Err(error)
            }
            Err(error) => Err(error),
        }
    }
}

/// How a backend takes several writes in one query.
#[derive(Debug, Clone, Copy)]
enum OneQuery {
    /// SQLite: statements one after the other, bound by number across them.
    Statements,
    /// PostgreSQL, whose prepared statements hold one statement: each write a
    /// data-modifying `WITH` of one `SELECT 1` (they all run, in one snapshot; foreign keys
    /// are checked at the end of the statement, so a row may reference a sibling's).
    With,
}

/// A command's answer, kept under its idempotency key (`idempotency_keys`) in the same
/// round trip as its event's writes: a retry with the key gets it back.
struct KeptAnswer {
    principal: String,
    key: String,
    request_hash: String,
    body: String,
}

/// Appends `$event` for `$inquiry` (already applied) to the chain and writes the
/// projection and outbox, inside `$tx`, with `$kept` (a command's answer under its
/// idempotency key) in the same query. `$stored` is the row as stored ([`StoredRow`]),
/// `None` if it is new. The audit (`chain.rs`, `Replay::finish`) checks every column
/// written here: keep the two in step.
macro_rules! record {
    ($pool:expr, $tx:expr, $tip:expr, $savepoint:expr, $waiter:expr, $inquiry:expr, $event:expr, $actor:expr, $role:expr, $at:expr, $stored:expr, $share:expr, $pocs:expr, $kept:expr) => {{
        let pocs_read: Option<PocsRead> = $pocs;
        let inquiry: &Inquiry = $inquiry;
        let event: &EventData = $event;
        let actor: &EventActor = $actor;
        let role: Role = $role;
        let tip: &mut Option<ChainTip> = $tip;
        let (last_chain_seq, last_hash) = match tip.take() {
            Some(tip) => (tip.chain_seq, tip.hash),
            None => {
                let head_sql = format!(
                    "SELECT last_chain_seq, last_hash FROM event_chain_head WHERE id = 1{}",
                    $pool.lock_suffix()
                );
                sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(head_sql))
                    .fetch_one(&mut *$tx)
                    .await?
            }
        };
        let chain_seq = last_chain_seq + 1;
        let payload = serde_json::to_string(&event.payload()).expect("payloads serialize");
        let salt = new_salt()?;
        let hash = event_hash(&last_hash, Some(&salt), chain_seq, inquiry.id, inquiry.version, event.type_name(), actor, $at, &payload);
        let state = serde_json::to_string(inquiry).expect("inquiries serialize");
        // The states' policy POCs of the day, when the event notifies a side: read before
        // anything is written, so that the writes can go in one round trip.
        let mut current = CurrentPocs::default();
        if audiences(event.type_name()).iter().any(|a| {
            matches!(a, Audience::RequestingState | Audience::RespondingState | Audience::OtherSide)
        }) {
            // Those read with the inquiry, if they are of its states still (`lookup_poc`
            // names the responding state); else both states' in one query: a round trip is
            // most of what a statement costs.
            let requesting = inquiry.requesting_state.as_str();
            let responding = inquiry.responding_state.as_ref().map(MemberStateCode::as_str);
            current = match pocs_read.filter(|read| read.is_of(requesting, responding)) {
                Some(read) => read.pocs,
                None => {
                    let pocs: Vec<(Uuid, String)> = sqlx::query_as(
                        "SELECT id, member_state FROM pocs
                          WHERE member_state IN ($1, $2) AND role = 'policy' AND active
                          ORDER BY name, id",
                    )
                    .bind(requesting)
                    .bind(responding)
                    .fetch_all(&mut *$tx)
                    .await?;
                    PocsRead::sorted(requesting, responding, pocs).pocs
                }
            };
        }
        let at: DateTime<Utc> = $at;
        let mut writes = Writes::new(&$pool);
        if *$savepoint == Savepoint::Alone {
            let moved_to = hash.clone();
            writes.move_head(Box::new(move |q| q.bind(chain_seq).bind(moved_to).bind(last_chain_seq)), $waiter);
        }
        let next_sweep_at = inquiry.next_sweep_at($share);
        let stored: Option<StoredRow> = $stored;
        match stored {
            None => writes.push(
                "INSERT INTO inquiries (status, version, requesting_state, requester_poc_id,
                     responding_state, exercise, related_inquiry_id, time_sensitivity, due_at,
                     sent_at, created_at, updated_at, protocol_version, state, next_sweep_at,
                     acknowledged_at, responded_at, id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                     $17, $18)",
                Box::new(move |q| {
                    q.bind(inquiry.status.as_str())
                        .bind(inquiry.version)
                        .bind(inquiry.requesting_state.as_str())
                        .bind(inquiry.requester.poc_id)
                        .bind(inquiry.responding_state.as_ref().map(MemberStateCode::as_str))
                        .bind(inquiry.exercise)
                        .bind(inquiry.related_inquiry_id)
                        .bind(inquiry.time_sensitivity.map(|t| t.as_str()))
                        .bind(inquiry.due_at())
                        .bind(inquiry.sent_at)
                        .bind(inquiry.created_at)
                        .bind(inquiry.updated_at)
                        .bind(&inquiry.protocol_version)
                        .bind(state)
                        .bind(next_sweep_at)
                        .bind(inquiry.acknowledged_at)
                        .bind(inquiry.responded_at)
                        .bind(inquiry.id)
                }),
            ),
            Some(StoredRow { inquiry: was, next_sweep_at: stored_sweep }) => {
                // Only the columns whose values change, and those an event always changes:
                // SQLite rewrites an index entry for every indexed column an UPDATE sets,
                // changed or not (five indexes, a page of the log each), and checks the
                // foreign keys of every column it sets.
                let mut set = String::new();
                let mut binds: Vec<Bind<'_, _>> = Vec::new();
                macro_rules! column {
                    ($name:literal, $changed:expr, $value:expr) => {
                        if $changed {
                            let value = $value;
                            binds.push(Box::new(move |q| q.bind(value)));
                            if !set.is_empty() {
                                set.push_str(", ");
                            }
                            set.push_str(&format!("{} = ${}", $name, binds.len()));
                        }
                    };
                }
                column!("status", true, inquiry.status.as_str());
                column!("version", true, inquiry.version);
                column!("updated_at", true, inquiry.updated_at);
                column!("state", true, state);
                column!("time_sensitivity", was.time_sensitivity != inquiry.time_sensitivity,
                    inquiry.time_sensitivity.map(|t| t.as_str()));
                column!("sent_at", was.sent_at != inquiry.sent_at, inquiry.sent_at);
                column!("acknowledged_at", was.acknowledged_at != inquiry.acknowledged_at,
                    inquiry.acknowledged_at);
                column!("responded_at", was.responded_at != inquiry.responded_at,
                    inquiry.responded_at);
                column!("due_at", was.due_at() != inquiry.due_at(), inquiry.due_at());
                column!("next_sweep_at", stored_sweep != next_sweep_at, next_sweep_at);
                column!("responding_state", was.responding_state != inquiry.responding_state,
                    inquiry.responding_state.as_ref().map(MemberStateCode::as_str));
                // Set when the inquiry is created, never changed by an event since.
                column!("requesting_state", was.requesting_state != inquiry.requesting_state,
                    inquiry.requesting_state.as_str());
                column!("requester_poc_id", was.requester.poc_id != inquiry.requester.poc_id,
                    inquiry.requester.poc_id);
                column!("exercise", was.exercise != inquiry.exercise, inquiry.exercise);
                column!("related_inquiry_id", was.related_inquiry_id != inquiry.related_inquiry_id,
                    inquiry.related_inquiry_id);
                column!("created_at", was.created_at != inquiry.created_at, inquiry.created_at);
                column!("protocol_version", was.protocol_version != inquiry.protocol_version,
                    &inquiry.protocol_version);
                let sql = format!("UPDATE inquiries SET {set} WHERE id = ${}", binds.len() + 1);
                writes.push(
                    sql,
                    Box::new(move |q| binds.into_iter().fold(q, |q, bind| bind(q)).bind(inquiry.id)),
                );
            }
        }
        writes.push(
            "INSERT INTO inquiry_events (chain_seq, inquiry_id, seq, type, actor_kind, actor_poc_id,
                 actor_state, at, payload, prev_hash, hash, salt)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            Box::new(|q| {
                q.bind(chain_seq)
                    .bind(inquiry.id)
                    .bind(inquiry.version)
                    .bind(event.type_name())
                    .bind(&actor.kind)
                    .bind(actor.poc_id)
                    .bind(actor.state.as_deref())
                    .bind(at)
                    .bind(&payload)
                    .bind(&last_hash)
                    .bind(&hash)
                    .bind(&salt)
            }),
        );
        match event {
            EventData::Share { side, poc_id, .. } => {
                writes.push(
                    "INSERT INTO inquiry_shares (inquiry_id, poc_id, side, shared_at)
                     VALUES ($1, $2, $3, $4)",
                    Box::new(move |q| q.bind(inquiry.id).bind(poc_id).bind(side.as_str()).bind(at)),
                );
            }
            EventData::Unshare { poc_id, .. } => {
                writes.push(
                    "DELETE FROM inquiry_shares WHERE inquiry_id = $1 AND poc_id = $2",
                    Box::new(move |q| q.bind(inquiry.id).bind(poc_id)),
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
                Box::new(move |q| {
                    q.bind(Uuid::now_v7())
                        .bind(inquiry.id)
                        .bind(chain_seq)
                        .bind(event.type_name())
                        .bind(kind)
                        .bind(poc_id)
                        .bind(addressed_as)
                        .bind(data)
                        .bind(at)
                }),
            );
        }
        // The answer kept under the command's idempotency key, in the same round trip.
        let kept: Option<KeptAnswer> = $kept;
        if let Some(kept) = kept {
            writes.push(
                "INSERT INTO idempotency_keys
                     (principal, key, request_hash, response_body, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (principal, key) DO UPDATE
                    SET request_hash = excluded.request_hash,
                        response_body = excluded.response_body,
                        created_at = excluded.created_at",
                Box::new(move |q| {
                    q.bind(kept.principal)
                        .bind(kept.key)
                        .bind(kept.request_hash)
                        .bind(kept.body)
                        .bind(at)
                }),
            );
        }
        let form = if $pool.lock_suffix().is_empty() { OneQuery::Statements } else { OneQuery::With };
        writes.run(&mut *$tx, form, $savepoint).await?;
        // `event_chain_head` is written once per batch, with its commit.
        *tip = Some(ChainTip { chain_seq, hash });
    }};
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
batch_ends!(
    begin_sqlite,
    commit_sqlite,
    sqlx::SqliteConnection,
    "BEGIN IMMEDIATE; SELECT last_chain_seq, last_hash FROM event_chain_head WHERE id = 1"
);
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
fn commit_sql(tip: Option<&ChainTip>) -> Result<String, sqlx::Error> {
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

/// A policy POC as snapshotted at `lookup_poc`.
#[derive(sqlx::FromRow)]
struct PolicyPocRow {
    id: Uuid,
    name: String,
    affiliation: String,
    email: String,
    languages: Json<Vec<String>>,
}

const INQUIRY_STATE_COLUMNS: &str = "SELECT state FROM inquiries";

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
        let id = Uuid::now_v7();
        let (caller, member_state, poc_id) = (caller.clone(), member_state.clone(), poc_id.0);
        let reminder_share = self.reminder_share;
        let (created, event_type) = dispatch!(self, pool => {
            let pool = pool.clone();
            // A closure that may run again (see `writer::Isolation`): each run its own copies.
            self.commands(&pool).submit(move |batch| {
            let (pool, caller, member_state) = (pool.clone(), caller.clone(), member_state.clone());
            Box::pin(async move {
            let Batch { connection: tx, tip, savepoint, waiter } = batch;
            if let Some(related) = related_inquiry_id {
                let visible: Option<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM inquiries WHERE id = $1
                        AND (requesting_state = $2 OR (responding_state = $2 AND sent_at IS NOT NULL))",
                )
                .bind(related)
                .bind(member_state.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                if visible.is_none() {
                    return Err(CreateError::UnknownRelatedInquiry(related));
                }
            }
            let (name, affiliation, en, es, fr, pt): (String, String, String, String, String, String) = sqlx::query_as(
                "SELECT p.name, p.affiliation, m.name_en, m.name_es, m.name_fr, m.name_pt
                   FROM pocs p JOIN member_states m ON m.code = p.member_state
                  WHERE p.id = $1",
            )
            .bind(poc_id)
            .fetch_one(&mut *tx)
            .await?;
            let event = inquiry::create(
                member_state.clone(),
                StateName { en, es, fr, pt },
                Requester { poc_id, name, affiliation },
                exercise,
                related_inquiry_id,
            );
            let created = apply(None, id, 1, &event, now).map_err(|e| corrupt("create", e))?;
            let actor = actor_of(Some(&caller), Role::Requester);
            record!(pool, tx, tip, savepoint, waiter, &created, &event, &actor, Role::Requester, now, None, reminder_share, None, None);
            Ok((created, event.type_name()))
            })}).await
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
        let reminder_share = self.reminder_share;
        let render = Arc::new(render);
        // An attachment's bytes are a second write, after its event's: in a transaction.
        let may_run_alone = !matches!(action, ActionRequest::Attach { .. });
        let (executed, recorded) = dispatch!(self, pool => {
            let pool = pool.clone();
            // A closure that may run again (see `writer::Isolation`): each run its own copies.
            self.commands(&pool).submit_with(may_run_alone, move |batch| {
            let (pool, caller, action, idempotency, principal, render) = (
                pool.clone(), caller.clone(), action.clone(), idempotency.clone(),
                principal.clone(), render.clone(),
            );
            Box::pin(async move {
            let Batch { connection: tx, tip, savepoint, waiter } = batch;
            let caller = caller.as_ref();
            // Alone (see `writer`), outside a transaction: nothing to lock, and the chain's
            // tip is read here, with the rest.
            let alone = *savepoint == Savepoint::Alone;
            // The inquiry, its states' policy POCs of the day, the caller's earlier use of
            // its idempotency key (an expired one is as good as gone: the insert below
            // replaces its row) and the chain's head, in one round trip: one row a POC (at
            // least one, the inquiry's), each with the inquiry's state and the key's row.
            let lock_sql = format!(
                "SELECT i.state, i.next_sweep_at, p.id, p.member_state, k.request_hash,
                        k.response_body, h.last_chain_seq, h.last_hash
                   FROM inquiries i
                   JOIN event_chain_head h ON h.id = 1
                   LEFT JOIN pocs p ON p.member_state IN (i.requesting_state, i.responding_state)
                        AND p.role = 'policy' AND p.active
                   LEFT JOIN idempotency_keys k ON k.principal = $2 AND k.key = $3
                        AND k.created_at > $4
                  WHERE i.id = $1 ORDER BY p.name, p.id{}",
                if pool.lock_suffix().is_empty() || alone { "" } else { " FOR UPDATE OF i" }
            );
            type LockedRow = (
                String,
                Option<DateTime<Utc>>,
                Option<Uuid>,
                Option<String>,
                Option<String>,
                Option<String>,
                i64,
                String,
            );
            let mut rows: Vec<LockedRow> = sqlx::query_as(sqlx::AssertSqlSafe(lock_sql))
                .bind(inquiry_id)
                .bind(&principal)
                .bind(idempotency.as_ref().map(|key| key.key.as_str()))
                .bind(now - IDEMPOTENCY_KEY_LIFETIME)
                .fetch_all(&mut *tx)
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
                *tip = Some(ChainTip { chain_seq: head_seq, hash: head_hash });
            }
            let current = decode_inquiry(&state)?;
            let pocs_read = PocsRead::sorted(
                current.requesting_state.as_str(),
                current.responding_state.as_ref().map(MemberStateCode::as_str),
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
                (&idempotency, request_hash, response_body)
            {
                if request_hash != key.request_hash {
                    return Err(CommandError::IdempotencyKeyReused);
                }
                return Ok((Executed::Replayed { body }, None));
            }
            if let Some(expected) = if_match
                && expected != current.version
            {
                return Err(CommandError::VersionMismatch { expected, current: current.version });
            }
            let name = match &action {
                ActionRequest::Ready(action) => action.name(),
                ActionRequest::LookupPoc(_) => ActionName::LookupPoc,
                ActionRequest::Share(_) => ActionName::Share,
                ActionRequest::Attach { .. } => ActionName::Attach,
            };
            inquiry::admit(&current, party, name, now)?;
            // The bytes of an attachment, written once its event is.
            let mut attachment: Option<(Uuid, String, i64, Option<Vec<u8>>)> = None;
            let action = match action {
                ActionRequest::Ready(action) => action,
                ActionRequest::Attach { meta, content } => {
                    let size = i64::try_from(meta.size).map_err(|e| corrupt("attachment size", e))?;
                    attachment = Some((meta.id, meta.sha256.clone(), size, content));
                    Action::Attach(meta)
                }
                ActionRequest::LookupPoc(code) => {
                    let state: Option<(String, String, String, String, bool)> = sqlx::query_as(
                        "SELECT name_en, name_es, name_fr, name_pt, participating FROM member_states WHERE code = $1",
                    )
                    .bind(code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((en, es, fr, pt, participating)) = state else {
                        return Err(Refusal::Invalid {
                            field: "member_state".into(),
                            detail: format!("{code} is not an OAS Member State"),
                        }
                        .into());
                    };
                    let pocs: Vec<PolicyPocRow> = sqlx::query_as(
                        "SELECT id, name, affiliation, email, languages FROM pocs
                          WHERE member_state = $1 AND role = 'policy' AND active
                          ORDER BY name, id",
                    )
                    .bind(code.as_str())
                    .fetch_all(&mut *tx)
                    .await?;
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
                    let poc: Option<(String, String, String, bool)> = sqlx::query_as(
                        "SELECT name, role, member_state, active FROM pocs WHERE id = $1",
                    )
                    .bind(poc_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((name, poc_role, member_state, active)) = poc else {
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
            let mut action = action;
            if let Action::Acknowledge { estimated_working_days: Some(working), .. } = &mut action
                && working.calendar.is_none()
                && let Some(state) = &current.responding_state
            {
                // The responding state's working calendar of the day, from today on there.
                let row: Option<(String, String, String)> = sqlx::query_as(
                    "SELECT time_zone, working_days, working_day_ends FROM member_states WHERE code = $1",
                )
                .bind(state.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                let (zone, week, ends) =
                    row.ok_or_else(|| corrupt("member_states", format!("no row for {state}")))?;
                let from = (now - chrono::TimeDelta::days(2)).date_naive().to_string();
                let dates: Vec<String> = sqlx::query_scalar(
                    "SELECT date FROM member_state_holidays WHERE member_state = $1 AND date >= $2",
                )
                .bind(state.as_str())
                .bind(from)
                .fetch_all(&mut *tx)
                .await?;
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
                        .map(|d| d.parse().map_err(|e| corrupt("member_state_holidays.date", e)))
                        .collect::<Result<_, _>>()?,
                });
            }
            let event = decide(&current, party, action, now)?;
            if let EventData::Respond { third_states, .. } = &event {
                // Whether a code names an OAS Member State is a fact of the directory.
                for code in third_states {
                    let known: Option<String> =
                        sqlx::query_scalar("SELECT code FROM member_states WHERE code = $1")
                            .bind(code.as_str())
                            .fetch_optional(&mut *tx)
                            .await?;
                    if known.is_none() {
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
            let kept = idempotency.as_ref().map(|key| KeptAnswer {
                principal: principal.clone(),
                key: key.key.clone(),
                request_hash: key.request_hash.clone(),
                body: render(&next, party),
            });
            let answer = kept.as_ref().map(|kept| kept.body.clone());
            let stored = StoredRow { inquiry: &current, next_sweep_at: stored_sweep };
            record!(pool, tx, tip, savepoint, waiter, &next, &event, &actor, role, now, Some(stored), reminder_share, Some(pocs_read), kept);
            if let Some((id, sha256, size, content)) = attachment {
                let open = savepoint.sql();
                if !open.is_empty() {
                    sqlx::raw_sql(open).execute(&mut *tx).await?;
                }
                sqlx::query(
                    "INSERT INTO inquiry_attachments (id, inquiry_id, sha256, size, content, added_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(inquiry_id)
                .bind(sha256)
                .bind(size)
                .bind(content)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            Ok((Executed::Applied(Box::new(next), party, answer), Some(event.type_name())))
            })}).await
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
    use super::{ChainTip, commit_sql, gated, placeholders, renumbered};
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

    #[test]
    fn placeholders_are_counted_by_their_highest_number() {
        assert_eq!(placeholders("SELECT 1"), 0);
        assert_eq!(
            placeholders("UPDATE t SET a = $2, b = $10 WHERE id = $1"),
            10
        );
    }

    #[test]
    fn a_write_gated_on_the_head_move_writes_only_if_the_head_moved() {
        assert_eq!(
            gated("INSERT INTO t (a, b) VALUES ($1, lower($2))").as_deref(),
            Some("INSERT INTO t (a, b) SELECT $1, lower($2) FROM h")
        );
        assert_eq!(
            gated(
                "INSERT INTO k (p, c) VALUES ($1, $2)\n ON CONFLICT (p) DO UPDATE SET c = excluded.c"
            )
            .as_deref(),
            Some("INSERT INTO k (p, c) SELECT $1, $2 FROM h\n ON CONFLICT (p) DO UPDATE SET c = excluded.c")
        );
        assert_eq!(
            gated("UPDATE t SET a = $1 WHERE id = $2").as_deref(),
            Some("UPDATE t SET a = $1 WHERE id = $2 AND EXISTS (SELECT 1 FROM h)")
        );
        assert_eq!(
            gated("DELETE FROM t WHERE a = $1 AND b = $2").as_deref(),
            Some("DELETE FROM t WHERE a = $1 AND b = $2 AND EXISTS (SELECT 1 FROM h)")
        );
        // Anything else cannot be gated: the command runs in a batch rather than write
        // unconditionally.
        assert_eq!(gated("UPDATE t SET a = 1"), None);
        assert_eq!(gated("SELECT 1"), None);
        assert_eq!(gated("INSERT INTO t (a) VALUES ($1"), None);
    }

    #[test]
    fn renumbering_raises_every_placeholder_and_nothing_else() {
        assert_eq!(
            renumbered("INSERT INTO t (a, b) VALUES ($1, $12)", 18),
            "INSERT INTO t (a, b) VALUES ($19, $30)"
        );
        assert_eq!(renumbered("SELECT '$' || $1", 2), "SELECT '$' || $3");
        assert_eq!(renumbered("no placeholders", 5), "no placeholders");
    }
}
