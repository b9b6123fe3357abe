//! What an inquiry command reads and writes, on the connection of the batch it runs in:
//! the same statements on both backends, sent through sqlx on PostgreSQL (a round trip to
//! the server each) and through rusqlite on SQLite ([`super::direct`]: on the writer's own
//! thread, with no hop to another).
//!
//! The commands themselves (`inquiries.rs`) are written once, against [`CommandIo`].

use std::borrow::Cow;
use std::future::Future;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::types::Json;
use uuid::Uuid;

use super::writer::{Savepoint, Waiter, open_savepoint};

/// One value a write binds. `None` in a variant is SQL `NULL` of that type (PostgreSQL
/// types every parameter, a `NULL` too).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Int(i64),
    Bool(bool),
    Text(Option<String>),
    Uuid(Option<Uuid>),
    Time(Option<DateTime<Utc>>),
    Bytes(Option<Vec<u8>>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(Some(value))
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(Some(value.to_owned()))
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Value::Text(Some(value.clone()))
    }
}

impl From<Option<&str>> for Value {
    fn from(value: Option<&str>) -> Self {
        Value::Text(value.map(str::to_owned))
    }
}

impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Self {
        Value::Text(value)
    }
}

impl From<Uuid> for Value {
    fn from(value: Uuid) -> Self {
        Value::Uuid(Some(value))
    }
}

impl From<Option<Uuid>> for Value {
    fn from(value: Option<Uuid>) -> Self {
        Value::Uuid(value)
    }
}

impl From<DateTime<Utc>> for Value {
    fn from(value: DateTime<Utc>) -> Self {
        Value::Time(Some(value))
    }
}

impl From<Option<DateTime<Utc>>> for Value {
    fn from(value: Option<DateTime<Utc>>) -> Self {
        Value::Time(value)
    }
}

impl From<Option<Vec<u8>>> for Value {
    fn from(value: Option<Vec<u8>>) -> Self {
        Value::Bytes(value)
    }
}

/// The writes of one event, in order, each a statement and its values (numbered `$1`..
/// within the statement).
pub(super) struct Writes<'q> {
    pub statements: Vec<(Cow<'static, str>, Vec<Value>)>,
    /// For a command run alone ([`Savepoint::Alone`], PostgreSQL), the values of
    /// [`HEAD_MOVE`] (the chain's new tip, and the sequence number it is moved from), and
    /// who waits for it.
    pub head_move: Option<(Vec<Value>, &'q (dyn Waiter + Sync))>,
}

impl<'q> Writes<'q> {
    pub fn new() -> Self {
        Self {
            statements: Vec::new(),
            head_move: None,
        }
    }

    pub fn push(&mut self, sql: impl Into<Cow<'static, str>>, values: Vec<Value>) {
        self.statements.push((sql.into(), values));
    }

    /// Makes the writes those of a command run alone: [`HEAD_MOVE`] first, with `values`;
    /// sent only if `waiter` has not gone.
    pub fn move_head(&mut self, values: Vec<Value>, waiter: &'q (dyn Waiter + Sync)) {
        self.head_move = Some((values, waiter));
    }
}

/// A command's first read, one row a policy POC of the inquiry's states (at least one,
/// the inquiry's): the inquiry's `state` and `next_sweep_at`, the POC's id and member
/// state, the caller's earlier use of its idempotency key (its request hash and answer),
/// and the chain's head (sequence number and hash).
pub(super) type CommandRow = (
    String,
    Option<DateTime<Utc>>,
    Option<Uuid>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    String,
);

/// The inquiry `$1`, its states' policy POCs of the day, the caller's (`$2`) earlier use
/// of its idempotency key `$3` (an expired one, created before `$4`, is as good as gone:
/// the command's insert replaces its row) and the chain's head, in one query.
pub(super) const COMMAND_ROWS: &str =
    "SELECT i.state, i.next_sweep_at, p.id, p.member_state, k.request_hash,
            k.response_body, h.last_chain_seq, h.last_hash
       FROM inquiries i
       JOIN event_chain_head h ON h.id = 1
       LEFT JOIN pocs p ON p.member_state IN (i.requesting_state, i.responding_state)
            AND p.role = 'policy' AND p.active
       LEFT JOIN idempotency_keys k ON k.principal = $2 AND k.key = $3
            AND k.created_at > $4
      WHERE i.id = $1 ORDER BY p.name, p.id";

pub(super) const MEMBER_STATE: &str =
    "SELECT name_en, name_es, name_fr, name_pt, participating FROM member_states WHERE code = $1";

pub(super) const POLICY_POCS: &str = "SELECT id, name, affiliation, email, languages FROM pocs
      WHERE member_state = $1 AND role = 'policy' AND active
      ORDER BY name, id";

pub(super) const POC: &str = "SELECT name, role, member_state, active FROM pocs WHERE id = $1";

pub(super) const CALENDAR: &str =
    "SELECT time_zone, working_days, working_day_ends FROM member_states WHERE code = $1";

pub(super) const HOLIDAYS: &str =
    "SELECT date FROM member_state_holidays WHERE member_state = $1 AND date >= $2";

pub(super) const IS_MEMBER_STATE: &str = "SELECT code FROM member_states WHERE code = $1";

/// Whether inquiry `$1` is one member state `$2` sees (as requester, or as responder once
/// sent).
pub(super) const RELATED_VISIBLE: &str = "SELECT id FROM inquiries WHERE id = $1
        AND (requesting_state = $2 OR (responding_state = $2 AND sent_at IS NOT NULL))";

/// A requester's name and affiliation, and its state's names.
pub(super) const REQUESTER: &str =
    "SELECT p.name, p.affiliation, m.name_en, m.name_es, m.name_fr, m.name_pt
       FROM pocs p JOIN member_states m ON m.code = p.member_state
      WHERE p.id = $1";

pub(super) const CHAIN_HEAD: &str =
    "SELECT last_chain_seq, last_hash FROM event_chain_head WHERE id = 1";

/// The active policy POCs of two states (`$2` may be NULL), in the order notifications go.
pub(super) const STATE_POCS: &str = "SELECT id, member_state FROM pocs
      WHERE member_state IN ($1, $2) AND role = 'policy' AND active
      ORDER BY name, id";

pub(super) const INSERT_ATTACHMENT: &str =
    "INSERT INTO inquiry_attachments (id, inquiry_id, sha256, size, content, added_at)
     VALUES ($1, $2, $3, $4, $5, $6)";

/// A policy POC as snapshotted at `lookup_poc`.
#[derive(sqlx::FromRow)]
pub(super) struct PolicyPocRow {
    pub id: Uuid,
    pub name: String,
    pub affiliation: String,
    pub email: String,
    pub languages: Json<Vec<String>>,
}

/// The names of a member state and whether it participates.
pub(super) type StateRow = (String, String, String, String, bool);
/// A POC's name, role, member state and whether it is active.
pub(super) type PocRow = (String, String, String, bool);
/// A requester's name and affiliation, and its state's names in the four languages.
pub(super) type RequesterRow = (String, String, String, String, String, String);

/// What an inquiry command reads and writes inside its batch's transaction. Every read
/// happens before the command's first write (which opens its savepoint, if one is due).
pub(super) trait CommandIo: Send {
    /// [`COMMAND_ROWS`]; `lock`: lock the inquiry's row until the commit (PostgreSQL).
    fn command_rows(
        &mut self,
        inquiry: Uuid,
        principal: &str,
        key: Option<&str>,
        since: DateTime<Utc>,
        lock: bool,
    ) -> impl Future<Output = Result<Vec<CommandRow>, sqlx::Error>> + Send;
    /// [`MEMBER_STATE`].
    fn member_state(
        &mut self,
        code: &str,
    ) -> impl Future<Output = Result<Option<StateRow>, sqlx::Error>> + Send;
    /// [`POLICY_POCS`].
    fn policy_pocs(
        &mut self,
        code: &str,
    ) -> impl Future<Output = Result<Vec<PolicyPocRow>, sqlx::Error>> + Send;
    /// [`POC`].
    fn poc(&mut self, id: Uuid)
    -> impl Future<Output = Result<Option<PocRow>, sqlx::Error>> + Send;
    /// [`CALENDAR`].
    fn calendar(
        &mut self,
        code: &str,
    ) -> impl Future<Output = Result<Option<(String, String, String)>, sqlx::Error>> + Send;
    /// [`HOLIDAYS`] from the day `from` on.
    fn holidays(
        &mut self,
        code: &str,
        from: &str,
    ) -> impl Future<Output = Result<Vec<String>, sqlx::Error>> + Send;
    /// [`IS_MEMBER_STATE`].
    fn is_member_state(
        &mut self,
        code: &str,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;
    /// [`RELATED_VISIBLE`].
    fn related_visible(
        &mut self,
        inquiry: Uuid,
        member_state: &str,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send;
    /// [`REQUESTER`].
    fn requester(
        &mut self,
        poc: Uuid,
    ) -> impl Future<Output = Result<RequesterRow, sqlx::Error>> + Send;
    /// [`CHAIN_HEAD`] (locked until the commit on PostgreSQL).
    fn chain_head(&mut self) -> impl Future<Output = Result<(i64, String), sqlx::Error>> + Send;
    /// [`STATE_POCS`].
    fn state_pocs(
        &mut self,
        requesting: &str,
        responding: Option<&str>,
    ) -> impl Future<Output = Result<Vec<(Uuid, String)>, sqlx::Error>> + Send;
    /// Runs `writes`, opening `savepoint` first if it is due.
    fn write(
        &mut self,
        writes: Writes<'_>,
        savepoint: &mut Savepoint,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
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

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Binds `values` to `query`, in order.
fn bind_all(query: PgQuery<'_>, values: Vec<Value>) -> PgQuery<'_> {
    values.into_iter().fold(query, |query, value| match value {
        Value::Int(value) => query.bind(value),
        Value::Bool(value) => query.bind(value),
        Value::Text(value) => query.bind(value),
        Value::Uuid(value) => query.bind(value),
        Value::Time(value) => query.bind(value),
        Value::Bytes(value) => query.bind(value),
    })
}

/// PostgreSQL: each read a round trip; the writes of an event one statement, each write a
/// data-modifying `WITH` of one `SELECT 1` (they all run, in one snapshot; foreign keys
/// are checked at the end of the statement, so a row may reference a sibling's), since a
/// prepared statement holds one statement.
impl CommandIo for PgConnection {
    async fn command_rows(
        &mut self,
        inquiry: Uuid,
        principal: &str,
        key: Option<&str>,
        since: DateTime<Utc>,
        lock: bool,
    ) -> Result<Vec<CommandRow>, sqlx::Error> {
        let sql = if lock {
            Cow::Owned(format!("{COMMAND_ROWS} FOR UPDATE OF i"))
        } else {
            Cow::Borrowed(COMMAND_ROWS)
        };
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(inquiry)
            .bind(principal)
            .bind(key)
            .bind(since)
            .fetch_all(self)
            .await
    }

    async fn member_state(&mut self, code: &str) -> Result<Option<StateRow>, sqlx::Error> {
        sqlx::query_as(MEMBER_STATE)
            .bind(code)
            .fetch_optional(self)
            .await
    }

    async fn policy_pocs(&mut self, code: &str) -> Result<Vec<PolicyPocRow>, sqlx::Error> {
        sqlx::query_as(POLICY_POCS).bind(code).fetch_all(self).await
    }

    async fn poc(&mut self, id: Uuid) -> Result<Option<PocRow>, sqlx::Error> {
        sqlx::query_as(POC).bind(id).fetch_optional(self).await
    }

    async fn calendar(
        &mut self,
        code: &str,
    ) -> Result<Option<(String, String, String)>, sqlx::Error> {
        sqlx::query_as(CALENDAR)
            .bind(code)
            .fetch_optional(self)
            .await
    }

    async fn holidays(&mut self, code: &str, from: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(HOLIDAYS)
            .bind(code)
            .bind(from)
            .fetch_all(self)
            .await
    }

    async fn is_member_state(&mut self, code: &str) -> Result<bool, sqlx::Error> {
        let known: Option<String> = sqlx::query_scalar(IS_MEMBER_STATE)
            .bind(code)
            .fetch_optional(self)
            .await?;
        Ok(known.is_some())
    }

    async fn related_visible(
        &mut self,
        inquiry: Uuid,
        member_state: &str,
    ) -> Result<bool, sqlx::Error> {
        let visible: Option<Uuid> = sqlx::query_scalar(RELATED_VISIBLE)
            .bind(inquiry)
            .bind(member_state)
            .fetch_optional(self)
            .await?;
        Ok(visible.is_some())
    }

    async fn requester(&mut self, poc: Uuid) -> Result<RequesterRow, sqlx::Error> {
        sqlx::query_as(REQUESTER).bind(poc).fetch_one(self).await
    }

    async fn chain_head(&mut self) -> Result<(i64, String), sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{CHAIN_HEAD} FOR UPDATE")))
            .fetch_one(self)
            .await
    }

    async fn state_pocs(
        &mut self,
        requesting: &str,
        responding: Option<&str>,
    ) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
        sqlx::query_as(STATE_POCS)
            .bind(requesting)
            .bind(responding)
            .fetch_all(self)
            .await
    }

    async fn write(
        &mut self,
        writes: Writes<'_>,
        savepoint: &mut Savepoint,
    ) -> Result<(), sqlx::Error> {
        open_savepoint::<Postgres>(&mut *self, savepoint).await?;
        let mut sql = String::new();
        let mut offset = 0;
        if writes.head_move.is_some() {
            sql.push_str("WITH ");
            sql.push_str(HEAD_MOVE);
            offset = placeholders(HEAD_MOVE);
        }
        for (n, (statement, _)) in writes.statements.iter().enumerate() {
            let gated = writes.head_move.as_ref().map(|_| gated(statement));
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
            let first = n == 0 && writes.head_move.is_none();
            sql.push_str(if first { "WITH " } else { ",\n" });
            sql.push_str(&format!("w{n} AS ({statement_sql})"));
            offset += placeholders(&statement);
        }
        let (head_move, waiter) = writes.head_move.unzip();
        // Alone: its row says whether the head moved.
        sql.push_str(if waiter.is_some() {
            "\nSELECT 1 FROM h"
        } else {
            "\nSELECT 1"
        });
        let query = sqlx::query(sqlx::AssertSqlSafe(sql));
        let query = bind_all(query, head_move.unwrap_or_default());
        let query = writes
            .statements
            .into_iter()
            .fold(query, |query, (_, values)| bind_all(query, values));
        let Some(waiter) = waiter else {
            return query.execute(&mut *self).await.map(drop);
        };
        // Alone: the statement commits by itself.
        if waiter.has_gone() {
            // Its caller was told nothing was done: nothing is sent.
            *savepoint = Savepoint::Alone;
            return Err(sqlx::Error::Protocol(
                "the command's caller has gone: nothing written".into(),
            ));
        }
        match query.fetch_optional(&mut *self).await {
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

#[cfg(test)]
mod tests {
    use super::*;

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
