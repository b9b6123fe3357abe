//! The SQLite writer's batches, run on the writer's own thread through rusqlite, over the
//! handle of sqlx's one write connection.
//!
//! sqlx runs each SQLite connection on a thread of its own: every query is a message to that
//! thread and an answer back, two thread switches that cost more than the statement itself
//! (a batch of 16 commands made 34 of them, about 60 µs each on a 2-core machine). Here a
//! batch takes the write connection from sqlx's pool, begins its transaction through sqlx
//! (`BEGIN IMMEDIATE` and the read of the chain's head, one message: if another process
//! holds SQLite's write lock, the wait for it is on sqlx's thread), locks the connection's
//! handle ([`sqlx::sqlite::SqliteConnection::lock_handle`]: a second message, after which
//! sqlx's thread waits for the lock) and runs every command's reads, savepoint and writes,
//! and the `COMMIT`, on that handle through rusqlite, on the task's own thread, with
//! rusqlite's cache of prepared statements. It keeps the connection so for the batches
//! that follow within 1 ms, up to `serve --write-hold` ([`Direct::hold`]); the statements
//! are finalized before sqlx has the connection back, since sqlx panics closing a handle
//! with statements open. The
//! connection is the same one every other write of the server goes through (directory
//! changes, deliveries, tokens): writes still queue for it in arrival order, and never
//! wait on SQLite's busy handler for each other.
//!
//! Every statement runs on the writer task's thread, the commit's `fsync` too: a batch
//! blocks one thread of the runtime for as long as it runs (its other tasks are taken by
//! the others meanwhile), as the token reads of [`super::sqlite_reads`] do for a read.
//!
//! Values are bound as sqlx binds them (a UUID as its 16 bytes, a time as RFC 3339 text,
//! a boolean as 0 or 1): rows written here and rows written through sqlx read alike.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::future::BoxFuture;
use rusqlite::types::{FromSqlError, Null, ToSqlOutput};
use rusqlite::{Connection, ErrorCode, Row, Statement, ToSql};
use sqlx::SqlitePool;
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::types::Json;
use uuid::Uuid;

use super::command_io::{
    CALENDAR, CHAIN_HEAD, COMMAND_ROWS, CommandIo, CommandRow, HOLIDAYS, IS_MEMBER_STATE,
    MEMBER_STATE, POC, POLICY_POCS, PocRow, PolicyPocRow, RELATED_VISIBLE, REQUESTER, RequesterRow,
    STATE_POCS, StateRow, Value, Writes,
};
use super::sqlite_reads::{time_of, uuid_of};
use super::writer::{
    Alone, Batch, BatchFailure, ChainTip, Counts, Jobs, Open, Queue, Runner, Savepoint, Unknown,
    join_queued, settle,
};

/// A failure SQLite reported through rusqlite, as sqlx reports a database's: its extended
/// result code and message (SQLITE_BUSY is told apart from the rest as sqlx's is).
#[derive(Debug, thiserror::Error)]
#[error("{message} (SQLite code {code})")]
pub struct DirectError {
    code: i32,
    message: String,
}

impl DirectError {
    /// SQLite's extended result code.
    pub fn code(&self) -> i32 {
        self.code
    }
}

impl DatabaseError for DirectError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use rusqlite::ffi;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

/// A rusqlite error as sqlx's error of the same kind.
pub fn sqlx_error(error: rusqlite::Error) -> sqlx::Error {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => {
            sqlx::Error::Database(Box::new(DirectError {
                code: failure.extended_code,
                message: message.unwrap_or_else(|| failure.to_string()),
            }))
        }
        error @ (rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(..)) => sqlx::Error::Decode(Box::new(error)),
        rusqlite::Error::QueryReturnedNoRows => sqlx::Error::RowNotFound,
        error => sqlx::Error::Protocol(error.to_string()),
    }
}

/// As sqlx binds each value in SQLite.
impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Int(value) => ToSqlOutput::from(*value),
            Value::Bool(value) => ToSqlOutput::from(i64::from(*value)),
            Value::Text(Some(value)) => ToSqlOutput::from(value.as_str()),
            Value::Uuid(Some(value)) => ToSqlOutput::from(value.as_bytes().as_slice()),
            Value::Time(Some(value)) => {
                ToSqlOutput::from(value.to_rfc3339_opts(SecondsFormat::AutoSi, false))
            }
            Value::Bytes(Some(value)) => ToSqlOutput::from(value.as_slice()),
            Value::Text(None) | Value::Uuid(None) | Value::Time(None) | Value::Bytes(None) => {
                ToSqlOutput::from(Null)
            }
        })
    }
}

/// Binds `values` to the placeholders `$1`.. of `statement` (SQLite numbers a `$N`
/// by its first appearance, not by `N`).
fn bind(statement: &mut Statement<'_>, values: &[Value]) -> rusqlite::Result<()> {
    for index in 1..=statement.parameter_count() {
        let value = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$')?.parse::<usize>().ok())
            .and_then(|n| values.get(n.checked_sub(1)?))
            .ok_or_else(|| {
                rusqlite::Error::InvalidParameterName(
                    statement.parameter_name(index).unwrap_or("?").to_owned(),
                )
            })?;
        statement.raw_bind_parameter(index, value)?;
    }
    Ok(())
}

/// The rows of `sql` with `values`, each read by `read`.
fn rows<T>(
    connection: &Connection,
    sql: &str,
    values: &[Value],
    mut read: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, sqlx::Error> {
    let mut run = || {
        let mut statement = connection.prepare_cached(sql)?;
        bind(&mut statement, values)?;
        let mut rows = statement.raw_query();
        let mut read_rows = Vec::new();
        while let Some(row) = rows.next()? {
            read_rows.push(read(row)?);
        }
        Ok(read_rows)
    };
    run().map_err(sqlx_error)
}

/// The first row of `sql` with `values`, if any.
fn row<T>(
    connection: &Connection,
    sql: &str,
    values: &[Value],
    read: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>, sqlx::Error> {
    Ok(rows(connection, sql, values, read)?.into_iter().next())
}

/// A UUID that is there (as sqlx stores one: [`uuid_of`]).
fn id_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Uuid> {
    Ok(uuid_of(row.get_ref(index)?.as_blob()?)?)
}

/// A read of the connection the batch holds: done by the time it is awaited.
fn done<T: Send>(read: T) -> impl Future<Output = T> + Send {
    std::future::ready(read)
}

impl CommandIo for Connection {
    fn command_rows(
        &mut self,
        inquiry: Uuid,
        principal: &str,
        key: Option<&str>,
        since: DateTime<Utc>,
        _lock: bool,
    ) -> impl Future<Output = Result<Vec<CommandRow>, sqlx::Error>> + Send {
        // The batch holds SQLite's write lock: nothing else writes until its commit.
        let values = [
            Value::from(inquiry),
            Value::from(principal),
            Value::from(key),
            Value::from(since),
        ];
        done(rows(self, COMMAND_ROWS, &values, |row| {
            Ok((
                row.get(0)?,
                row.get_ref(1)?.as_str_or_null()?.map(time_of).transpose()?,
                row.get_ref(2)?
                    .as_blob_or_null()?
                    .map(uuid_of)
                    .transpose()?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
            ))
        }))
    }

    fn member_state(
        &mut self,
        code: &str,
    ) -> impl Future<Output = Result<Option<StateRow>, sqlx::Error>> + Send {
        done(row(self, MEMBER_STATE, &[Value::from(code)], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        }))
    }

    fn policy_pocs(
        &mut self,
        code: &str,
    ) -> impl Future<Output = Result<Vec<PolicyPocRow>, sqlx::Error>> + Send {
        done(rows(self, POLICY_POCS, &[Value::from(code)], |row| {
            let languages: String = row.get(4)?;
            Ok(PolicyPocRow {
                id: id_at(row, 0)?,
                name: row.get(1)?,
                affiliation: row.get(2)?,
                email: row.get(3)?,
                languages: Json(
                    serde_json::from_str(&languages)
                        .map_err(|e| FromSqlError::Other(Box::new(e)))?,
                ),
            })
        }))
    }

    fn poc(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<PocRow>, sqlx::Error>> + Send {
        done(row(self, POC, &[Value::from(id)], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        }))
    }

    fn calendar(
        &mut self,
        code: &str,
    ) -> impl Future<Output = Result<Option<(String, String, String)>, sqlx::Error>> + Send {
        done(row(self, CALENDAR, &[Value::from(code)], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        }))
    }

    fn holidays(
        &mut self,
        code: &str,
        from: &str,
    ) -> impl Future<Output = Result<Vec<String>, sqlx::Error>> + Send {
        let values = [Value::from(code), Value::from(from)];
        done(rows(self, HOLIDAYS, &values, |row| row.get(0)))
    }

    fn is_member_state(
        &mut self,
        code: &str,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send {
        let known = row(self, IS_MEMBER_STATE, &[Value::from(code)], |_| Ok(()));
        done(known.map(|known| known.is_some()))
    }

    fn related_visible(
        &mut self,
        inquiry: Uuid,
        member_state: &str,
    ) -> impl Future<Output = Result<bool, sqlx::Error>> + Send {
        let values = [Value::from(inquiry), Value::from(member_state)];
        let visible = row(self, RELATED_VISIBLE, &values, |_| Ok(()));
        done(visible.map(|visible| visible.is_some()))
    }

    fn requester(
        &mut self,
        poc: Uuid,
    ) -> impl Future<Output = Result<RequesterRow, sqlx::Error>> + Send {
        let read = row(self, REQUESTER, &[Value::from(poc)], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ))
        });
        done(read.and_then(|row| row.ok_or(sqlx::Error::RowNotFound)))
    }

    fn chain_head(&mut self) -> impl Future<Output = Result<(i64, String), sqlx::Error>> + Send {
        let read = row(self, CHAIN_HEAD, &[], |row| Ok((row.get(0)?, row.get(1)?)));
        done(read.and_then(|row| row.ok_or(sqlx::Error::RowNotFound)))
    }

    fn state_pocs(
        &mut self,
        requesting: &str,
        responding: Option<&str>,
    ) -> impl Future<Output = Result<Vec<(Uuid, String)>, sqlx::Error>> + Send {
        let values = [Value::from(requesting), Value::from(responding)];
        done(rows(self, STATE_POCS, &values, |row| {
            Ok((id_at(row, 0)?, row.get(1)?))
        }))
    }

    fn write(
        &mut self,
        writes: Writes<'_>,
        savepoint: &mut Savepoint,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send {
        let mut run = || -> Result<(), sqlx::Error> {
            if writes.head_move.is_some() {
                // Nothing sent: the command runs again in a batch.
                *savepoint = Savepoint::AloneRolledBack;
                return Err(sqlx::Error::Protocol(
                    "a command runs alone on PostgreSQL only".into(),
                ));
            }
            let open = savepoint.sql();
            if !open.is_empty() {
                self.execute_batch(open).map_err(sqlx_error)?;
            }
            for (sql, values) in &writes.statements {
                let mut statement = self.prepare_cached(sql).map_err(sqlx_error)?;
                bind(&mut statement, values).map_err(sqlx_error)?;
                statement.raw_execute().map_err(sqlx_error)?;
            }
            Ok(())
        };
        done(run())
    }
}

/// Runs the SQLite writer's batches on sqlx's write connection, through rusqlite.
pub(super) struct Direct {
    pool: SqlitePool,
    /// The write connection's busy timeout, as sqlx set it: put back before the
    /// connection goes back to the pool (a hold sets none, see [`Direct::hold`]).
    busy_timeout: Duration,
    /// How long a hold lasts at most, in nanoseconds ([`DEFAULT_MAX_HOLD`]).
    max_hold: Arc<AtomicU64>,
    /// How long a hold waits for a command after a batch ([`LINGER`]).
    linger: Duration,
}

impl Direct {
    /// Batches on `pool`'s one connection, whose busy timeout is `busy_timeout`, held up
    /// to `max_hold` (nanoseconds, which the caller may change while it runs).
    pub(super) fn new(pool: SqlitePool, busy_timeout: Duration, max_hold: Arc<AtomicU64>) -> Self {
        Self {
            pool,
            busy_timeout,
            max_hold,
            linger: LINGER,
        }
    }

    /// Takes the write connection and runs `batch` on it, then, while commands follow
    /// within [`LINGER`] (for up to `serve --write-hold`), their batches, answering each
    /// once committed. A batch that fails is left in `batch`, unanswered, and the connection
    /// closed (rolling back what it began).
    async fn hold(
        &self,
        batch: &mut Jobs<Connection>,
        queue: &mut Queue<Connection>,
        max: usize,
        counts: &Counts,
    ) -> Result<HoldEnd, sqlx::Error> {
        let mut open = Open::new(self.pool.acquire().await?);
        let held = Instant::now();
        // Through sqlx: if another process holds the write lock, the wait for it (up to
        // the busy timeout) is on sqlx's thread, not on the runtime's.
        let mut read = begin(open.connection()).await?;
        let mut handle = open.connection().lock_handle().await?;
        // SAFETY: the handle is sqlx's open connection, locked for as long as `handle`
        // lives (sqlx's thread waits for it), and `connection`, declared after it, is
        // dropped first, on every path (it finalizes its cached statements, which sqlx
        // could not close the connection with, and does not close a handle it does not
        // own).
        let mut connection = unsafe { Connection::from_handle(handle.as_raw_handle().as_ptr()) }
            .map_err(sqlx_error)?;
        // The batches that follow begin here, on the runtime's thread: a wait for another
        // process's lock is not waited here, but through sqlx, in a new hold.
        connection
            .busy_timeout(Duration::ZERO)
            .map_err(sqlx_error)?;
        let max_hold = Duration::from_nanos(self.max_hold.load(Ordering::Relaxed));
        let end = loop {
            run_locked(&mut connection, read, batch, queue, max).await?;
            settle(batch, None, counts);
            if held.elapsed() >= max_hold {
                break HoldEnd::Idle;
            }
            match tokio::time::timeout(self.linger, queue.recv()).await {
                Ok(Some(job)) => batch.push(job),
                // None followed, or the writer is stopping.
                Ok(None) | Err(_) => break HoldEnd::Idle,
            }
            match begin_here(&connection) {
                Ok(tip) => read = tip,
                Err(error) if error.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) => {
                    counts.lock_waited();
                    break HoldEnd::Busy;
                }
                Err(error) => return Err(sqlx_error(error)),
            }
        };
        connection
            .busy_timeout(self.busy_timeout)
            .map_err(sqlx_error)?;
        drop(connection);
        drop(handle);
        // No transaction open: the connection goes back to the pool. Had anything failed,
        // `open` would close it, rolling back what the batch began.
        open.ended();
        Ok(end)
    }
}

/// How long the writer keeps the write connection after a batch for a command that
/// follows it (a client sending one command after another): the next batch then begins
/// on the connection at hand, with the statements the last one prepared, instead of two
/// hops to sqlx's thread and every statement prepared again.
const LINGER: Duration = Duration::from_millis(1);

/// How long the writer keeps the write connection at most (`serve --write-hold`),
/// however many commands keep arriving: then it goes back to the pool, whose other
/// users (a directory change, the delivery worker, a token's last use) wait for it in
/// turn (sqlx's pool is fair). Zero gives it back after every batch.
pub const DEFAULT_MAX_HOLD: Duration = Duration::from_millis(10);

/// The longest `serve --write-hold` takes.
pub const MAX_HOLD_LIMIT: Duration = Duration::from_secs(1);

/// How a hold of the write connection ended.
enum HoldEnd {
    /// Every batch committed and answered, and none followed within the linger (or the
    /// hold lasted its longest).
    Idle,
    /// Another process holds SQLite's write lock: the batch at hand, not begun, waits
    /// for it through sqlx, in a new hold.
    Busy,
}

impl Runner<Connection> for Direct {
    fn alone(&self) -> bool {
        // A lone command saves round trips to a server; here there are none to save.
        false
    }

    fn run_alone<'a>(
        &'a self,
        _job: &'a mut Box<dyn super::writer::Job<Connection>>,
    ) -> BoxFuture<'a, Alone> {
        Box::pin(std::future::ready(Alone::Again))
    }

    fn run_batch<'a>(
        &'a self,
        batch: &'a mut Jobs<Connection>,
        queue: &'a mut Queue<Connection>,
        max: usize,
        counts: &'a Counts,
    ) -> BoxFuture<'a, Option<BatchFailure>> {
        Box::pin(async move {
            loop {
                match self.hold(batch, queue, max, counts).await {
                    Ok(HoldEnd::Idle) => return None,
                    Ok(HoldEnd::Busy) => continue,
                    Err(error) => return Some(BatchFailure::Database(Arc::new(error))),
                }
            }
        })
    }
}

/// `BEGIN IMMEDIATE` and the chain's tip, in one query.
const BEGIN: &str =
    "BEGIN IMMEDIATE; SELECT last_chain_seq, last_hash FROM event_chain_head WHERE id = 1";

/// Begins the batch's transaction, and reads the chain's tip, through sqlx.
async fn begin(connection: &mut sqlx::SqliteConnection) -> Result<ChainTip, sqlx::Error> {
    use sqlx::Row;
    let row = sqlx::raw_sql(BEGIN).fetch_one(connection).await?;
    Ok(ChainTip {
        chain_seq: row.try_get(0)?,
        hash: row.try_get(1)?,
    })
}

/// [`begin`], on the connection at hand, waiting for no lock.
fn begin_here(connection: &Connection) -> rusqlite::Result<ChainTip> {
    connection.execute_batch("BEGIN IMMEDIATE")?;
    connection.prepare_cached(CHAIN_HEAD)?.query_row([], |row| {
        Ok(ChainTip {
            chain_seq: row.get(0)?,
            hash: row.get(1)?,
        })
    })
}

/// The batch on `connection`, in the transaction begun with the chain's tip at `read`,
/// as [`super::writer`] describes: each command inside `SAVEPOINT cbm2_command`, opened
/// just before its first write, the first command too (rolling a failed first command
/// back to it, rather than the whole transaction, needs no new `BEGIN IMMEDIATE`, which
/// could wait for another process's lock on this thread).
async fn run_locked(
    connection: &mut Connection,
    read: ChainTip,
    batch: &mut Jobs<Connection>,
    queue: &mut Queue<Connection>,
    max: usize,
) -> Result<(), sqlx::Error> {
    let mut tip = Some(read.clone());
    let mut ran = 0;
    loop {
        while ran < batch.len() {
            let before = tip.clone();
            let mut savepoint = Savepoint::Due;
            let kept = batch[ran]
                .run(Batch {
                    connection: &mut *connection,
                    tip: &mut tip,
                    savepoint: &mut savepoint,
                    waiter: &Unknown,
                })
                .await;
            match (kept, savepoint) {
                (true, _) => {}
                // It failed before its first write: it wrote nothing.
                (false, Savepoint::Due) => tip = before,
                (false, Savepoint::Open) => {
                    connection
                        .execute_batch("ROLLBACK TO SAVEPOINT cbm2_command")
                        .map_err(sqlx_error)?;
                    tip = before;
                }
                (false, other) => {
                    return Err(sqlx::Error::Protocol(format!(
                        "a command on SQLite left its savepoint as {other:?}"
                    )));
                }
            }
            ran += 1;
        }
        // Commands that arrived meanwhile join this batch, before its commit.
        if !join_queued(batch, queue, max, ran) {
            break;
        }
    }
    let moved = tip.as_ref().filter(|tip| **tip != read);
    crate::metrics::batch_committed(batch.len());
    // The commit's fsync blocks this thread (the runtime's other threads take its other
    // tasks meanwhile): handing it to a thread of its own first cost more than it saved,
    // measured (`tokio::task::block_in_place`: a transition alone at 0.6x the rate).
    let commit = super::inquiries::commit_sql(moved)?;
    connection.execute_batch(&commit).map_err(sqlx_error)
}

#[cfg(test)]
mod tests {

    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;

    use super::*;
    use crate::store::StoreError;
    use crate::store::writer::Writer;

    /// Longer than any wait of these tests, so that a wait for a lock on the runtime's
    /// thread would be seen.
    const BUSY: Duration = Duration::from_secs(60);

    /// A writer through rusqlite on a one-connection pool, as the store's, over a file
    /// with a chain head and a table `t`.
    async fn writer() -> (Writer<Connection>, SqlitePool, tempfile::TempDir) {
        holding_writer(LINGER, DEFAULT_MAX_HOLD).await
    }

    /// A writer as [`writer`]'s, whose holds wait `linger` for a command and last up to
    /// `max_hold`.
    async fn holding_writer(
        linger: Duration,
        max_hold: Duration,
    ) -> (Writer<Connection>, SqlitePool, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("direct.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .busy_timeout(BUSY);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE t (n INTEGER NOT NULL);
             CREATE TABLE event_chain_head (id INTEGER PRIMARY KEY, last_chain_seq INTEGER NOT NULL,
                 last_hash TEXT NOT NULL);
             INSERT INTO event_chain_head VALUES (1, 0, '00')",
        )
        .execute(&pool)
        .await
        .unwrap();
        let max_hold = Arc::new(AtomicU64::new(max_hold.as_nanos() as u64));
        let direct = Direct {
            linger,
            ..Direct::new(pool.clone(), BUSY, max_hold)
        };
        (Writer::start_with(direct, 64), pool, dir)
    }

    /// How a test command ends.
    #[derive(Clone, Copy, PartialEq)]
    enum End {
        Kept,
        /// Refused after its insert.
        Refused,
        /// Panics after its insert.
        Panics,
        /// Commits the batch's transaction itself, so that the batch's commit fails.
        CommitsItself,
    }

    /// Queues a command that inserts `n` (after its savepoint if one is due), waits for
    /// `hold` if given, and ends as `end` says.
    fn insert(
        writer: &Writer<Connection>,
        n: i64,
        hold: Option<oneshot::Receiver<()>>,
        end: End,
    ) -> JoinHandle<Result<i64, StoreError>> {
        let writer = writer.clone();
        let mut hold = hold;
        tokio::spawn(async move {
            writer
                .submit(move |batch: Batch<'_, Connection>| {
                    let hold = hold.take();
                    Box::pin(async move {
                        let open = batch.savepoint.sql();
                        let connection = batch.connection;
                        connection.execute_batch(open).map_err(sqlx_error)?;
                        connection
                            .execute("INSERT INTO t (n) VALUES (?1)", [n])
                            .map_err(sqlx_error)?;
                        if let Some(hold) = hold {
                            let _ = hold.await;
                        }
                        match end {
                            End::Kept => Ok(n),
                            End::Refused => Err(StoreError::CorruptRow(format!("refused {n}"))),
                            End::Panics => panic!("command {n} panics"),
                            End::CommitsItself => {
                                connection.execute_batch("COMMIT").map_err(sqlx_error)?;
                                Ok(n)
                            }
                        }
                    })
                })
                .await
        })
    }

    /// Waits until `waiting` commands are queued behind the one running.
    async fn until_waiting(writer: &Writer<Connection>, waiting: usize) {
        for _ in 0..10_000 {
            if writer.stats().waiting == waiting {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        panic!("{waiting} commands never queued: {:?}", writer.stats());
    }

    /// Another write of the server (a delivery, a directory change) inserting `n`
    /// through the pool's one connection; the rows it wrote.
    fn insert_through_the_pool(pool: &SqlitePool, n: i64) -> JoinHandle<Result<u64, sqlx::Error>> {
        let pool = pool.clone();
        tokio::spawn(async move {
            sqlx::query("INSERT INTO t (n) VALUES ($1)")
                .bind(n)
                .execute(&pool)
                .await
                .map(|done| done.rows_affected())
        })
    }

    async fn stored(pool: &SqlitePool) -> Vec<i64> {
        sqlx::query_scalar("SELECT n FROM t ORDER BY n")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    /// Runs commands 1 to 4 in one batch (1 holding it open until 2 to 4 have queued),
    /// 2 to 4 ending as `ends` says; their answers.
    async fn four_in_one_batch(
        writer: &Writer<Connection>,
        ends: [End; 3],
    ) -> Vec<Result<i64, StoreError>> {
        let (release, hold) = oneshot::channel();
        let first = insert(writer, 1, Some(hold), End::Kept);
        until_waiting(writer, 0).await;
        let rest = [
            insert(writer, 2, None, ends[0]),
            insert(writer, 3, None, ends[1]),
            insert(writer, 4, None, ends[2]),
        ];
        until_waiting(writer, 3).await;
        release.send(()).unwrap();
        let mut answers = vec![first.await.unwrap()];
        for command in rest {
            answers.push(command.await.unwrap());
        }
        answers
    }

    #[tokio::test]
    async fn a_refused_command_rolls_back_to_its_savepoint_while_its_batch_commits_once() {
        let (writer, pool, _dir) = writer().await;
        let answers = four_in_one_batch(&writer, [End::Kept, End::Refused, End::Kept]).await;
        let kept: Vec<_> = answers.iter().map(|a| a.as_ref().ok().copied()).collect();
        assert_eq!(kept, [Some(1), Some(2), None, Some(4)]);
        assert_eq!(stored(&pool).await, [1, 2, 4]);
        let stats = writer.stats();
        assert_eq!((stats.batches, stats.commands), (1, 4), "{stats:?}");
    }

    #[tokio::test]
    async fn a_first_command_refused_is_rolled_back_and_the_next_begins_anew() {
        let (writer, pool, _dir) = writer().await;
        let (release, hold) = oneshot::channel();
        let first = insert(&writer, 1, Some(hold), End::Refused);
        until_waiting(&writer, 0).await;
        let second = insert(&writer, 2, None, End::Kept);
        until_waiting(&writer, 1).await;
        release.send(()).unwrap();
        assert!(first.await.unwrap().is_err());
        assert_eq!(second.await.unwrap().unwrap(), 2);
        assert_eq!(stored(&pool).await, [2]);
    }

    #[tokio::test]
    async fn a_write_through_the_pool_waits_for_the_batch_and_then_goes_through() {
        let (writer, pool, _dir) = writer().await;
        let (release, hold) = oneshot::channel();
        let command = insert(&writer, 1, Some(hold), End::Kept);
        until_waiting(&writer, 0).await;
        // Another write of the server (a delivery, a directory change) on the same one
        // connection, while the batch holds it.
        let other = insert_through_the_pool(&pool, 100);
        tokio::task::yield_now().await;
        assert!(!other.is_finished(), "it waits for the batch's connection");
        release.send(()).unwrap();
        assert_eq!(command.await.unwrap().unwrap(), 1);
        assert_eq!(other.await.unwrap().unwrap(), 1);
        assert_eq!(stored(&pool).await, [1, 100]);
    }

    #[tokio::test]
    async fn a_batch_whose_commit_fails_is_answered_as_failed_and_the_writer_goes_on() {
        let (writer, pool, _dir) = writer().await;
        let ends = [End::Kept, End::Kept, End::CommitsItself];
        let answers = four_in_one_batch(&writer, ends).await;
        // The last command committed the batch's transaction itself, so the batch's own
        // COMMIT failed: every command is told the batch failed, none that it was recorded.
        for answer in &answers {
            assert!(matches!(answer, Err(StoreError::Batch(_))), "{answer:?}");
        }
        // The writer goes on, on a connection that holds no transaction open.
        assert_eq!(
            insert(&writer, 5, None, End::Kept).await.unwrap().unwrap(),
            5
        );
        assert_eq!(stored(&pool).await, [1, 2, 3, 4, 5]);
        let stats = writer.stats();
        assert_eq!((stats.batches, stats.commands), (2, 5), "{stats:?}");
    }

    #[tokio::test]
    async fn a_command_that_panics_fails_its_batch_which_writes_nothing_and_the_writer_goes_on() {
        let (writer, pool, _dir) = writer().await;
        let answers = four_in_one_batch(&writer, [End::Kept, End::Panics, End::Kept]).await;
        for answer in &answers {
            assert!(
                matches!(answer, Err(StoreError::WriterStopped)),
                "{answer:?}"
            );
        }
        assert_eq!(stored(&pool).await, Vec::<i64>::new(), "rolled back");
        assert_eq!(
            insert(&writer, 5, None, End::Kept).await.unwrap().unwrap(),
            5
        );
        assert_eq!(stored(&pool).await, [5]);
    }

    /// Far longer than any test: a hold that waits this long waits until it is ended.
    const FOREVER: Duration = Duration::from_secs(3600);

    /// Commands sent one after another, each once the last is answered.
    async fn one_after_another(
        writer: &Writer<Connection>,
        numbers: std::ops::RangeInclusive<i64>,
    ) {
        for n in numbers {
            let answer =
                tokio::time::timeout(Duration::from_secs(30), insert(writer, n, None, End::Kept))
                    .await
                    .expect(
                        "each batch of a hold is answered once it commits, not when the hold ends",
                    );
            assert_eq!(answer.unwrap().unwrap(), n);
        }
    }

    #[tokio::test]
    async fn a_hold_answers_each_batch_as_it_commits_and_keeps_the_connection_until_it_ends() {
        // A hold that would wait for the next command forever, and last as long.
        let (writer, pool, _dir) = holding_writer(FOREVER, FOREVER).await;
        one_after_another(&writer, 1..=3).await;
        let stats = writer.stats();
        assert_eq!((stats.batches, stats.commands), (3, 3), "{stats:?}");
        // The hold still has the write connection: another write waits for it.
        let other = insert_through_the_pool(&pool, 100);
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(!other.is_finished(), "the hold keeps the connection");
        // A writer that stops ends its hold: the connection goes back to the pool.
        drop(writer);
        assert_eq!(other.await.unwrap().unwrap(), 1);
        assert_eq!(stored(&pool).await, [1, 2, 3, 100]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commands_that_keep_coming_give_the_connection_back_once_a_hold_lasted_its_longest() {
        // A hold that would wait for the next command forever, but lasts 10 ms at most.
        let (writer, pool, _dir) = holding_writer(FOREVER, DEFAULT_MAX_HOLD).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sender = {
            let (writer, stop) = (writer.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    insert(&writer, n, None, End::Kept).await.unwrap().unwrap();
                }
                n
            })
        };
        // Commands are following each other when the other write asks for the connection.
        let before = writer.stats().batches;
        while writer.stats().batches < before + 3 {
            tokio::task::yield_now().await;
        }
        let other = sqlx::query("INSERT INTO t (n) VALUES (-1)").execute(&pool);
        let written = tokio::time::timeout(Duration::from_secs(30), other)
            .await
            .expect("the other write gets the connection while commands keep coming");
        assert_eq!(written.unwrap().rows_affected(), 1);
        assert!(!sender.is_finished(), "commands were still coming");
        stop.store(true, Ordering::Relaxed);
        let sent = sender.await.unwrap();
        drop(writer);
        let stored = stored(&pool).await;
        assert_eq!(
            stored.len() as i64,
            sent + 1,
            "every command and the other write"
        );
    }

    #[tokio::test]
    async fn a_batch_that_finds_another_process_holding_the_lock_waits_for_it_off_the_runtime() {
        let (writer, pool, dir) = holding_writer(FOREVER, FOREVER).await;
        one_after_another(&writer, 1..=1).await;
        // The writer holds the connection, with no transaction open: another process
        // (a CLI command) takes SQLite's write lock meanwhile, and commits when told to,
        // or by itself after 20 s (well within the busy timeout).
        let (locked_tx, locked) = std::sync::mpsc::channel();
        let (commit, commit_rx) = std::sync::mpsc::channel::<()>();
        let path = dir.path().join("direct.db");
        let other = std::thread::spawn(move || {
            let other = Connection::open(path).unwrap();
            other
                .execute_batch("BEGIN IMMEDIATE; INSERT INTO t (n) VALUES (100)")
                .unwrap();
            locked_tx.send(()).unwrap();
            let told = commit_rx.recv_timeout(Duration::from_secs(20)).is_ok();
            other.execute_batch("COMMIT").unwrap();
            told
        });
        locked.recv().unwrap();
        let second = insert(&writer, 2, None, End::Kept);
        while writer.stats().lock_waits == 0 && !second.is_finished() {
            tokio::task::yield_now().await;
        }
        // It waits for the lock (through sqlx, within the busy timeout), not failing, and
        // this runtime's one thread is free meanwhile.
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(
            !second.is_finished(),
            "it waits for the other process's lock"
        );
        commit.send(()).unwrap();
        assert_eq!(second.await.unwrap().unwrap(), 2);
        assert!(
            other.join().unwrap(),
            "the runtime's thread was free while the batch waited for the lock"
        );
        let stats = writer.stats();
        assert_eq!((stats.batches, stats.lock_waits), (2, 1), "{stats:?}");
        drop(writer);
        assert_eq!(stored(&pool).await, [1, 2, 100]);
    }

    #[tokio::test]
    async fn values_are_stored_as_sqlx_stores_them() {
        let (_writer, pool, _dir) = writer().await;
        sqlx::query(
            "CREATE TABLE kinds (via TEXT, i, b, t, u, at, bytes, none_t, none_u, none_at)",
        )
        .execute(&pool)
        .await
        .unwrap();
        let at: DateTime<Utc> = "2026-12-02T06:41:24.123456789Z".parse().unwrap();
        let id = Uuid::now_v7();
        let values = vec![
            Value::from("direct"),
            Value::from(-42_i64),
            Value::from(true),
            Value::from("Ñandú ☃"),
            Value::from(id),
            Value::from(at),
            Value::from(Some(vec![0_u8, 255, 7])),
            Value::from(None::<String>),
            Value::from(None::<Uuid>),
            Value::from(None::<DateTime<Utc>>),
        ];
        let sql = "INSERT INTO kinds VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        {
            let mut connection = pool.acquire().await.unwrap();
            let mut handle = connection.lock_handle().await.unwrap();
            // SAFETY: as in `Direct::run_batch`.
            let direct =
                unsafe { Connection::from_handle(handle.as_raw_handle().as_ptr()) }.unwrap();
            let mut statement = direct.prepare(sql).unwrap();
            bind(&mut statement, &values).unwrap();
            statement.raw_execute().unwrap();
        }
        sqlx::query(sql)
            .bind("sqlx")
            .bind(-42_i64)
            .bind(true)
            .bind("Ñandú ☃")
            .bind(id)
            .bind(at)
            .bind(vec![0_u8, 255, 7])
            .bind(None::<String>)
            .bind(None::<Uuid>)
            .bind(None::<DateTime<Utc>>)
            .execute(&pool)
            .await
            .unwrap();
        let columns = [
            "i", "b", "t", "u", "at", "bytes", "none_t", "none_u", "none_at",
        ];
        let quoted = columns
            .iter()
            .map(|c| format!("typeof({c}) || ':' || quote({c})"))
            .collect::<Vec<_>>()
            .join(" || ' ' || ");
        let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT via, {quoted} FROM kinds ORDER BY via"
        )))
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].1, rows[1].1, "direct and sqlx differ");
        assert!(rows[0].1.contains("blob:X'00FF07'"), "{}", rows[0].1);
        // Read back as sqlx reads them.
        let (read_id, read_at, read_bool): (Uuid, DateTime<Utc>, bool) =
            sqlx::query_as("SELECT u, at, b FROM kinds WHERE via = 'direct'")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((read_id, read_at, read_bool), (id, at, true));
    }

    #[tokio::test]
    async fn placeholders_are_bound_by_their_number_not_their_order() {
        let (_writer, pool, _dir) = writer().await;
        let mut connection = pool.acquire().await.unwrap();
        let mut handle = connection.lock_handle().await.unwrap();
        // SAFETY: as in `Direct::run_batch`.
        let direct = unsafe { Connection::from_handle(handle.as_raw_handle().as_ptr()) }.unwrap();
        let values = [Value::from("one"), Value::from("two")];
        let read = rows(
            &direct,
            "SELECT $2 || '-' || $1 || '-' || $2",
            &values,
            |row| row.get::<_, String>(0),
        )
        .unwrap();
        assert_eq!(read, ["two-one-two"]);
        let missing = rows(&direct, "SELECT $3", &values, |row| row.get::<_, String>(0));
        assert!(
            missing.is_err(),
            "a placeholder without its value is refused"
        );
    }
}
