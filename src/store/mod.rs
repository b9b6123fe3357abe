//! Persistence with sqlx, on SQLite (the default, one embedded file) or PostgreSQL (when
//! several instances share the load), chosen by the scheme of the database URL.
//!
//! Both backends run the same SQL text: queries use `$1`-style placeholders, which SQLite
//! accepts too, and only types both drivers encode natively (`Uuid`, `DateTime<Utc>`, JSON).
//! [`dispatch!`] expands one body once per backend, so each query is written once and
//! compiled for both. `sqlx::Any` is not used: it cannot carry UUIDs, times or JSON.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use sqlx::{Postgres, Sqlite, Transaction};

pub mod accounts;
pub mod backup;
pub mod ceiling;
pub mod chain;
mod checkpoints;
pub mod checks;
mod command_io;
pub mod deadlines;
pub mod decoded;
pub mod deliveries;
pub mod direct;
pub mod directory;
pub mod directory_import;
pub mod grouped_reads;
pub mod inquiries;
pub mod listened;
pub mod monitoring;
pub mod open;
mod sqlite_reads;
pub mod tokens;
pub mod webhooks;
pub mod writer;

use writer::{BatchStart, Writer};

/// How long a pooled connection may sit unused before it is tested (one round trip) before
/// its next use: a connection in use is known to work, an idle one may have been closed by
/// the server (a restart, an idle timeout) and is replaced at once instead of failing a
/// query.
pub const TEST_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// `duration` in nanoseconds (saturating: a setting is far below 584 years).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// How long a SQLite connection waits for another process's lock on the file (a CLI
/// command writing beside the server).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The settings of every pool. sqlx tests each connection it lends by default, a round
/// trip more for every query (to the server, on PostgreSQL): here only one that has been
/// idle for [`TEST_IF_IDLE_FOR`] is tested, and closed if it fails. Waiting for a
/// connection is bounded (10 s), so a request during an outage is answered, not hung.
/// (sqlx still tests each connection it takes back, off the caller's path: it offers no
/// way to skip that.)
fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for < TEST_IF_IDLE_FOR {
                    return Ok(true);
                }
                match sqlx::Connection::ping(connection).await {
                    Ok(()) => Ok(true),
                    Err(error) => {
                        tracing::info!(%error, idle_for = ?meta.idle_for, "a pooled connection failed its test: closing it");
                        Ok(false)
                    }
                }
            })
        })
}

/// Whether `url` names a SQLite database (`sqlite:…`).
fn is_sqlite_url(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Whether `url` names a PostgreSQL database (`postgres:…` or `postgresql:…`).
fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres:") || url.starts_with("postgresql:")
}

/// Runs `$body` with `$pool` bound to the concrete pool of whichever backend `$store` uses.
macro_rules! dispatch {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use dispatch;

/// The connection pool of one of the two supported backends.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Where writes go. On SQLite, one dedicated connection: writers queue for it in
/// arrival order instead of sleeping on SQLite's busy handler, and the connections of
/// [`Pool`] only read (they are opened read-only). On PostgreSQL, the one pool. On both,
/// the inquiry commands go through the group-commit [`Writer`].
#[derive(Clone, Debug)]
enum Writes {
    Sqlite {
        pool: SqlitePool,
        /// Through rusqlite, on `pool`'s connection ([`direct`]).
        commands: Writer<rusqlite::Connection>,
        /// How long `commands` holds that connection at most, in nanoseconds.
        max_hold: Arc<AtomicU64>,
    },
    Postgres {
        commands: Writer<sqlx::PgConnection>,
    },
}

/// The database: a cheap, cloneable handle shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    /// Reads (and, on PostgreSQL, every write too).
    pool: Pool,
    writes: Writes,
    /// The share of a deadline's window after which the acting state is reminded.
    reminder_share: f64,
    /// Each member state's time zone, as last read ([`Store::zones`]).
    zones: Arc<std::sync::Mutex<Option<(std::time::Instant, StateZones)>>>,
    /// On a SQLite file, connections for the read every request makes, read on its own
    /// thread ([`sqlite_reads`]).
    sqlite_reads: Option<Arc<sqlite_reads::SqliteReads>>,
    /// On a SQLite file, the thread that checkpoints its log ([`checkpoints`]).
    checkpoints: Option<Arc<checkpoints::Checkpoints>>,
    /// On PostgreSQL, the task that sends the token reads of concurrent requests to the
    /// server together ([`grouped_reads`]).
    grouped_reads: Option<grouped_reads::GroupedReads>,
    /// The inquiries last read, decoded ([`decoded`]).
    decoded: Arc<decoded::DecodedInquiries>,
    /// On PostgreSQL, when asked, token reads and reads of one inquiry answered from
    /// memory kept current by the database's notifications ([`listened`]).
    listened: Option<Arc<listened::Listened>>,
}

/// Each member state's time zone, by code: in which a deadline is shown to each state.
pub type StateZones = Arc<std::collections::BTreeMap<String, chrono_tz::Tz>>;

/// How long the zones read once serve before they are read again: a time zone changed on
/// another instance shows here within this time (on this one, at once).
const ZONES_FRESH_FOR: Duration = Duration::from_secs(30);

/// By default the acting state is reminded when 75% of a deadline's window has elapsed.
pub const DEFAULT_REMINDER_SHARE: f64 = 0.75;

/// A failure of the database itself (connection, query, migration): never the caller's fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("the operating system's random source failed: {0}")]
    Randomness(getrandom::Error),
    #[error("a stored row does not decode: {0}")]
    CorruptRow(String),
    #[error("the transaction this command was committed in failed: {0}")]
    Batch(std::sync::Arc<sqlx::Error>),
    #[error("the database writer could not run this command (see the log for why)")]
    WriterStopped,
}

/// The pool a write goes to, for the backend of the pool a query is written against:
/// `self.writes(pool)` inside [`dispatch!`].
pub(crate) trait WritePool {
    type Db: sqlx::Database;
    fn of(store: &Store) -> &Self;
}

impl WritePool for SqlitePool {
    type Db = Sqlite;
    fn of(store: &Store) -> &Self {
        match &store.writes {
            Writes::Sqlite { pool, .. } => pool,
            Writes::Postgres { .. } => unreachable!("a store's pools are of one backend"),
        }
    }
}

impl WritePool for PgPool {
    type Db = Postgres;
    fn of(store: &Store) -> &Self {
        match &store.pool {
            Pool::Postgres(pool) => pool,
            Pool::Sqlite(_) => unreachable!("a store's pools are of one backend"),
        }
    }
}

/// Opens write transactions the way each backend needs them.
///
/// SQLite's default `BEGIN` is deferred: a transaction that reads and then writes can fail
/// with SQLITE_BUSY when another writer got there first, whatever the busy timeout.
/// `BEGIN IMMEDIATE` takes the write lock up front (within the server, writers queue for
/// the one write connection first; the busy timeout covers another process). PostgreSQL
/// needs nothing special (rows are locked where a command reads them).
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    async fn begin_write(&self) -> Result<Transaction<'static, Self::Db>, sqlx::Error>;
    /// What to append to a SELECT that reads a row the transaction will write: nothing on
    /// SQLite (the transaction already holds the write lock), `FOR UPDATE` on PostgreSQL.
    fn lock_suffix(&self) -> &'static str;
    /// A read-only transaction whose reads all see one snapshot, for checks that read
    /// several tables while the server keeps writing (SQLite in WAL mode gives a deferred
    /// transaction one snapshot from its first read; PostgreSQL needs REPEATABLE READ).
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Self::Db>, sqlx::Error>;
}

impl BeginWrite for SqlitePool {
    type Db = Sqlite;
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
    fn lock_suffix(&self) -> &'static str {
        ""
    }
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin().await
    }
}

impl BeginWrite for PgPool {
    type Db = Postgres;
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin().await
    }
    fn lock_suffix(&self) -> &'static str {
        " FOR UPDATE"
    }
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
    }
}

impl Store {
    /// Connects to `url`: `sqlite://PATH` (the file is created if missing) or
    /// `postgres://…` / `postgresql://…`. The command line opens its database through
    /// [`Store::open`] instead, which refuses to create one by accident and explains failures.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if is_sqlite_url(url) {
            let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
            Ok(Self::connect_sqlite(options).await?)
        } else if is_postgres_url(url) {
            Ok(Self::connect_postgres(PgConnectOptions::from_str(url)?).await?)
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// The pools on a SQLite file, with the settings every connection gets: one writer
    /// (opened first: it creates the file and puts it in WAL mode) and eight readers.
    async fn connect_sqlite(options: SqliteConnectOptions) -> Result<Self, sqlx::Error> {
        // WAL lets readers run beside the writer. synchronous=FULL syncs the WAL on every
        // commit: an accepted action (and its audit event) survives a power loss. The busy
        // timeout covers another process writing (a CLI command beside the server): within
        // the server, writers queue for the one write connection.
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // A command's savepoint keeps the pages it changes in a sub-journal, to roll back
        // to: in memory on the writer, not in a temporary file written, closed and deleted
        // around every command. It is not needed for a crash (the WAL is), and it holds
        // only the pages of the transaction at hand.
        let writer = pool_options()
            .max_connections(1)
            .connect_with(
                options
                    .clone()
                    .pragma("temp_store", "memory")
                    // A thread of its own checkpoints: this is a backstop.
                    .pragma(
                        "wal_autocheckpoint",
                        checkpoints::BACKSTOP_PAGES.to_string(),
                    ),
            )
            .await?;
        let readers = pool_options()
            .max_connections(8)
            .connect_with(options.clone().create_if_missing(false).read_only(true))
            .await?;
        let mut store = Self::sqlite(readers, writer);
        store.sqlite_reads = sqlite_reads::SqliteReads::open(options.get_filename()).map(Arc::new);
        store.checkpoints = checkpoints::Checkpoints::start(options.get_filename()).map(Arc::new);
        Ok(store)
    }

    /// A store on SQLite pools: `readers` for reads, `writer` (one connection) for writes.
    fn sqlite(readers: SqlitePool, writer: SqlitePool) -> Self {
        // The commands' batches through rusqlite on the write connection: no hop to sqlx's
        // thread for each statement.
        let max_hold = Arc::new(AtomicU64::new(nanos(direct::DEFAULT_MAX_HOLD)));
        let direct = direct::Direct::new(writer.clone(), BUSY_TIMEOUT, max_hold.clone());
        Self {
            pool: Pool::Sqlite(readers),
            writes: Writes::Sqlite {
                commands: Writer::start_with(direct, writer::DEFAULT_MAX_BATCH),
                pool: writer,
                max_hold,
            },
            reminder_share: DEFAULT_REMINDER_SHARE,
            zones: Default::default(),
            sqlite_reads: None,
            checkpoints: None,
            grouped_reads: None,
            decoded: Default::default(),
            listened: None,
        }
    }

    /// A pool on a PostgreSQL database.
    async fn connect_postgres(options: PgConnectOptions) -> Result<Self, sqlx::Error> {
        let pool = pool_options()
            .max_connections(16)
            .connect_with(options)
            .await?;
        // Every batch locks the chain head in its BEGIN, before any inquiry row, so that
        // two instances' batches queue on it instead of deadlocking: see `writer`.
        let start = BatchStart {
            begin: inquiries::begin_postgres,
            commit: inquiries::commit_postgres,
            // A savepoint is a round trip of its own: a third of a command's in a batch.
            isolation: writer::Isolation::Optimistic,
            // A lone command in two round trips instead of four: see `writer`.
            alone: true,
        };
        Ok(Self {
            writes: Writes::Postgres {
                commands: Writer::start(pool.clone(), start, writer::DEFAULT_MAX_BATCH),
            },
            grouped_reads: Some(grouped_reads::GroupedReads::start(
                pool.clone(),
                grouped_reads::DEFAULT_MAX_READS,
            )),
            pool: Pool::Postgres(pool),
            reminder_share: DEFAULT_REMINDER_SHARE,
            zones: Default::default(),
            sqlite_reads: None,
            checkpoints: None,
            decoded: Default::default(),
            listened: None,
        })
    }

    /// Each member state's time zone, read from the database at most every 30 seconds
    /// (a zone that does not parse is left out, and logged).
    pub async fn zones(&self) -> Result<StateZones, StoreError> {
        if let Some((read_at, zones)) = self.zones.lock().expect("zones lock").as_ref()
            && read_at.elapsed() < ZONES_FRESH_FOR
        {
            return Ok(zones.clone());
        }
        let rows: Vec<(String, String)> = dispatch!(self, pool => {
            sqlx::query_as("SELECT code, time_zone FROM member_states")
                .fetch_all(pool)
                .await?
        });
        let zones: StateZones = Arc::new(
            rows.into_iter()
                .filter_map(|(code, zone)| match zone.parse::<chrono_tz::Tz>() {
                    Ok(tz) => Some((code, tz)),
                    Err(_) => {
                        tracing::error!(%code, %zone, "a member state's time zone does not parse; left out");
                        None
                    }
                })
                .collect(),
        );
        *self.zones.lock().expect("zones lock") = Some((std::time::Instant::now(), zones.clone()));
        Ok(zones)
    }

    /// Forgets the zones read, so the next [`Store::zones`] reads them again.
    pub(crate) fn forget_zones(&self) {
        *self.zones.lock().expect("zones lock") = None;
    }

    /// The pool writes go to, for a query written against `_read`'s backend.
    pub(crate) fn writes<'a, P: WritePool>(&'a self, _read: &P) -> &'a P {
        P::of(self)
    }

    /// What the group-commit writer has done, and what waits for it.
    pub fn write_stats(&self) -> writer::WriteStats {
        match &self.writes {
            Writes::Sqlite { commands, .. } => commands.stats(),
            Writes::Postgres { commands } => commands.stats(),
        }
    }

    /// What the grouped token reads have done (PostgreSQL; `None` on SQLite, which
    /// reads each on the request's thread).
    pub fn read_stats(&self) -> Option<grouped_reads::ReadStats> {
        self.grouped_reads
            .as_ref()
            .map(grouped_reads::GroupedReads::stats)
    }

    /// Sets how many inquiry commands one transaction may hold (at least 1: 1 commits
    /// each command alone).
    pub fn with_write_batch(self, max: usize) -> Self {
        match &self.writes {
            Writes::Sqlite { commands, .. } => commands.set_max_batch(max),
            Writes::Postgres { commands } => commands.set_max_batch(max),
        }
        self
    }

    /// Sets how long the SQLite writer keeps the write connection at most while commands
    /// keep following each other (`serve --write-hold`; zero gives it back after every
    /// batch). Nothing on PostgreSQL, whose writer takes a pooled connection per batch.
    pub fn with_write_hold(self, max_hold: Duration) -> Self {
        if let Writes::Sqlite { max_hold: held, .. } = &self.writes {
            held.store(nanos(max_hold), Ordering::Relaxed);
        }
        self
    }

    /// Whether an inquiry command that finds the writer idle on PostgreSQL runs alone,
    /// outside a transaction, in two round trips (the default; see `writer`), or in a
    /// batch of one like every other. SQLite runs every command in a batch.
    pub fn with_commands_alone(self, alone: bool) -> Self {
        match &self.writes {
            Writes::Sqlite { commands, .. } => commands.set_alone(alone),
            Writes::Postgres { commands } => commands.set_alone(alone),
        }
        self
    }

    /// Sets how many token reads one query may carry on PostgreSQL (at least 1: 1 reads
    /// each through the pool, side by side); SQLite reads each on the request's thread.
    pub fn with_read_batch(self, max: usize) -> Self {
        if let Some(reads) = &self.grouped_reads {
            reads.set_max_reads(max);
        }
        self
    }

    /// Sets how many bytes of stored inquiry text the decoded inquiries kept for reads may
    /// total (0: none is kept).
    pub fn with_inquiry_cache(mut self, bytes: usize) -> Self {
        self.decoded = Arc::new(decoded::DecodedInquiries::new(bytes));
        self
    }

    /// On PostgreSQL with `limits`, answers token reads (and reads of one inquiry) from
    /// memory, kept current by the database's notifications ([`listened`]; the migrations
    /// must have run). Without, and on SQLite (whose reads are made on the request's own
    /// thread), every read goes to the database.
    pub fn with_cache_reads(mut self, limits: Option<listened::CacheLimits>) -> Self {
        self.listened = match (&self.pool, limits) {
            (Pool::Postgres(pool), Some(limits)) => {
                Some(listened::Listened::start(pool.clone(), limits))
            }
            _ => None,
        };
        self
    }

    /// Held by each method that changes what a token read returns (a token, a POC, a
    /// member state): when it returns, after its commit, the tokens kept in memory are
    /// forgotten, so this instance's next read sees the change at once ([`listened`]).
    pub(crate) fn owners_changing(&self) -> listened::Forget<'_> {
        listened::Forget::owners(self.listened.as_deref())
    }

    /// The same for a method that may change inquiry `id`.
    pub(crate) fn inquiry_changing(&self, id: uuid::Uuid) -> listened::Forget<'_> {
        listened::Forget::inquiry(self.listened.as_deref(), id)
    }

    /// What the reads answered from memory did (`None` unless [`Store::with_cache_reads`]
    /// turned them on, on PostgreSQL).
    pub fn cache_stats(&self) -> Option<listened::CacheStats> {
        self.listened.as_ref().map(|listened| listened.stats())
    }

    /// Applies the migrations embedded in the binary that the database has not seen yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                sqlx::migrate!("migrations/sqlite")
                    .run(self.writes(pool))
                    .await?
            }
            Pool::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Sets the share (0 to 1) of a deadline's window after which the sweeper reminds the
    /// acting state.
    pub fn with_reminder_share(mut self, share: f64) -> Self {
        self.reminder_share = share.clamp(0.0, 1.0);
        self
    }

    /// The backend's name, for logs.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop)?);
        Ok(())
    }

    /// Refreshes the planner's statistics after a bulk load (PostgreSQL runs without
    /// autovacuum on some machines; SQLite's ANALYZE feeds its planner the same way).
    pub async fn analyze(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query("ANALYZE")
                .execute(self.writes(pool))
                .await
                .map(drop)?,
            Pool::Postgres(pool) => sqlx::query("VACUUM ANALYZE")
                .execute(pool)
                .await
                .map(drop)?,
        }
        Ok(())
    }

    /// The pools' open connections and how many of them are idle, for the metrics.
    pub fn pool_connections(&self) -> (u32, usize) {
        match (&self.pool, &self.writes) {
            (Pool::Sqlite(readers), Writes::Sqlite { pool: writer, .. }) => (
                readers.size() + writer.size(),
                readers.num_idle() + writer.num_idle(),
            ),
            _ => dispatch!(self, pool => (pool.size(), pool.num_idle())),
        }
    }

    /// Closes every connection; used on shutdown so SQLite checkpoints its WAL (the
    /// writer last: the last connection to close checkpoints).
    pub async fn close(&self) {
        dispatch!(self, pool => pool.close().await);
        if let Writes::Sqlite { pool, .. } = &self.writes {
            pool.close().await;
        }
    }
}

/// A migrated store on a new SQLite file, with the bench's fixture (two POCs, a token of
/// the first, one sent inquiry), for the store's own tests.
#[cfg(test)]
pub(crate) async fn store_with_fixture() -> (Store, crate::bench::Fixture, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let fixture = crate::bench::fixture(&store, 1).await.unwrap();
    (store, fixture, dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQLite migrations up to `last`, as a database that ran an earlier release has
    /// them.
    fn sqlite_migrations_up_to(last: i64) -> sqlx::migrate::Migrator {
        let mut migrator = sqlx::migrate!("migrations/sqlite");
        let kept: Vec<_> = migrator
            .migrations
            .iter()
            .filter(|migration| migration.version <= last)
            .cloned()
            .collect();
        migrator.migrations = kept.into();
        migrator
    }

    async fn events(writer: &SqlitePool) -> Vec<(i64, Vec<u8>, i64, String)> {
        sqlx::query_as(
            "SELECT chain_seq, inquiry_id, seq, hash FROM inquiry_events ORDER BY chain_seq",
        )
        .fetch_all(writer)
        .await
        .unwrap()
    }

    async fn assert_chain_valid(store: &Store, events: usize) {
        match store.verify_chain(None).await.unwrap() {
            chain::ChainReport::Valid { events: found, .. } => assert_eq!(found, events as u64),
            broken => panic!("the chain is broken: {broken:?}"),
        }
    }

    #[tokio::test]
    async fn the_events_table_rebuilt_without_its_hash_index_keeps_every_event_and_rule() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("upgraded.db").display());
        let store = Store::connect(&url).await.unwrap();
        let Writes::Sqlite { pool: writer, .. } = &store.writes else {
            unreachable!("a SQLite store")
        };
        // A database of the release before 0017, with events and notifications in it.
        sqlite_migrations_up_to(16).run(writer).await.unwrap();
        let fixture = crate::bench::fixture(&store, 2).await.unwrap();
        let before = events(writer).await;
        let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
            .fetch_one(writer)
            .await
            .unwrap();
        assert!(
            before.len() >= 10 && outbox >= 2,
            "{} events, {outbox} notifications",
            before.len()
        );

        store.migrate().await.unwrap();

        assert_eq!(events(writer).await, before, "every event, as it was");
        assert_chain_valid(&store, before.len()).await;
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT il.name || ':' || group_concat(ii.name, ',')
               FROM pragma_index_list('inquiry_events') il, pragma_index_info(il.name) ii
              GROUP BY il.name",
        )
        .fetch_all(writer)
        .await
        .unwrap();
        assert_eq!(
            indexes,
            ["sqlite_autoindex_inquiry_events_1:inquiry_id,seq"]
        );
        let outbox_by_inquiry: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE name = 'outbox_by_inquiry'",
        )
        .fetch_one(writer)
        .await
        .unwrap();
        assert_eq!(outbox_by_inquiry, 0);

        // The rules the table had hold on the one rebuilt: append-only, its checks, and
        // foreign keys enforced again on the connection that ran the migration.
        let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(writer)
            .await
            .unwrap();
        assert_eq!(foreign_keys, 1);
        for (sql, refusal) in [
            ("UPDATE inquiry_events SET type = type", "append-only"),
            ("DELETE FROM inquiry_events", "append-only"),
            (
                "INSERT INTO inquiry_events (chain_seq, inquiry_id, seq, type, actor_kind, at,
                     payload, prev_hash, hash)
                 SELECT 1000, randomblob(16), 1, type, actor_kind, at, payload, prev_hash, hash
                   FROM inquiry_events LIMIT 1",
                "FOREIGN KEY",
            ),
            (
                "INSERT INTO inquiry_events (chain_seq, inquiry_id, seq, type, actor_kind, at,
                     payload, prev_hash, hash)
                 SELECT 1000, inquiry_id, seq, type, actor_kind, at, payload, prev_hash, hash
                   FROM inquiry_events LIMIT 1",
                "UNIQUE",
            ),
            (
                "INSERT INTO inquiry_events (chain_seq, inquiry_id, seq, type, actor_kind, at,
                     payload, prev_hash, hash)
                 SELECT 1000, inquiry_id, 99, type, actor_kind, at, payload, prev_hash, 'short'
                   FROM inquiry_events LIMIT 1",
                "CHECK",
            ),
        ] {
            let error = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(writer)
                .await
                .expect_err(sql);
            assert!(error.to_string().contains(refusal), "{sql}: {error}");
        }

        // Commands go on appending to the same chain.
        let action = crate::bench::message("After the upgrade.").unwrap();
        crate::bench::command(&store, &fixture.caller, fixture.inquiries[0], action)
            .await
            .unwrap();
        assert_chain_valid(&store, before.len() + 1).await;

        // Run again (a crash between its commit and the bookkeeping), it changes nothing.
        let after = events(writer).await;
        let migrator = sqlx::migrate!("migrations/sqlite");
        let migration = migrator.iter().find(|m| m.version == 17).unwrap();
        assert!(
            migration.no_tx,
            "17 runs its own transaction, foreign keys off"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(migration.sql.as_str().to_owned()))
            .execute(writer)
            .await
            .unwrap();
        assert_eq!(events(writer).await, after);
        assert_chain_valid(&store, after.len()).await;
        store.close().await;
    }
}
