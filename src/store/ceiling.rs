//! The raw commit ceiling that `cbm2 bench` measures the engine against: a transaction of
//! one UPDATE and one INSERT, committed durably, in a loop on one connection (as pgbench's
//! clients and a C program do), made with the settings of the store's write pool (so with
//! the settings every command gets: WAL and `synchronous=FULL` on SQLite, the server's
//! `synchronous_commit` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite).
//!
//! The two scratch tables are ordinary tables, created and dropped by the bench in the
//! bench database: a TEMP table would not do, since SQLite keeps it outside the WAL and
//! PostgreSQL does not log it, so its commits would cost less than a real one.

use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnection;
use sqlx::{ConnectOptions, Connection};

use super::{Pool, Store, StoreError, dispatch};

const DROP: [&str; 2] = [
    "DROP TABLE IF EXISTS bench_ceiling_counter",
    "DROP TABLE IF EXISTS bench_ceiling_log",
];

/// A connection of its own for one writer of the ceiling, outside the store's pools.
pub enum CeilingConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl CeilingConnection {
    /// One durable commit: bump `writer`'s counter and log the new count.
    pub async fn commit(&mut self, writer: usize, at: &str) -> Result<(), StoreError> {
        macro_rules! commit {
            ($connection:expr, $begin:expr) => {{
                let mut tx = $connection.begin_with($begin).await?;
                sqlx::query(
                    "UPDATE bench_ceiling_counter SET commits = commits + 1 WHERE writer = $1",
                )
                .bind(writer as i64)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO bench_ceiling_log (writer, commits, at)
                     SELECT writer, commits, $2 FROM bench_ceiling_counter WHERE writer = $1",
                )
                .bind(writer as i64)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }};
        }
        match self {
            CeilingConnection::Sqlite(connection) => commit!(connection, "BEGIN IMMEDIATE"),
            CeilingConnection::Postgres(connection) => commit!(connection, "BEGIN"),
        }
        Ok(())
    }
}

impl Store {
    /// Creates the scratch tables, one counter row per writer (each writer updates its own
    /// row, as pgbench's clients update different rows: the figure is the database's, not
    /// a lock's).
    pub async fn create_ceiling_tables(&self, writers: usize) -> Result<(), StoreError> {
        self.drop_ceiling_tables().await?;
        dispatch!(self, pool => {
            sqlx::query(
                "CREATE TABLE bench_ceiling_counter (writer BIGINT PRIMARY KEY, commits BIGINT NOT NULL)",
            )
            .execute(self.writes(pool))
            .await?;
            sqlx::query(
                "CREATE TABLE bench_ceiling_log (writer BIGINT NOT NULL, commits BIGINT NOT NULL, at TEXT NOT NULL)",
            )
            .execute(self.writes(pool))
            .await?;
            for writer in 0..writers {
                sqlx::query("INSERT INTO bench_ceiling_counter (writer, commits) VALUES ($1, 0)")
                    .bind(writer as i64)
                    .execute(self.writes(pool))
                    .await?;
            }
        });
        Ok(())
    }

    /// A connection for one writer of the ceiling, with the settings of the store's write
    /// pool.
    pub async fn ceiling_connection(&self) -> Result<CeilingConnection, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => {
                CeilingConnection::Sqlite(self.writes(pool).connect_options().connect().await?)
            }
            Pool::Postgres(pool) => {
                CeilingConnection::Postgres(self.writes(pool).connect_options().connect().await?)
            }
        })
    }

    /// Drops the scratch tables (if there).
    pub async fn drop_ceiling_tables(&self) -> Result<(), StoreError> {
        for sql in DROP {
            dispatch!(self, pool => sqlx::query(sql).execute(self.writes(pool)).await.map(drop)?);
        }
        Ok(())
    }

    /// The settings the connection commands are written on reports, as they would be
    /// written in the database's own configuration: `journal_mode=wal synchronous=2
    /// temp_store=2` (FULL; savepoints' journals in memory) on SQLite,
    /// `synchronous_commit=on fsync=on` on PostgreSQL.
    pub async fn durability_settings(&self) -> Result<String, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => {
                let mut connection = self.writes(pool).acquire().await?;
                let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                    .fetch_one(&mut *connection)
                    .await?;
                let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                    .fetch_one(&mut *connection)
                    .await?;
                let temp_store: i64 = sqlx::query_scalar("PRAGMA temp_store")
                    .fetch_one(&mut *connection)
                    .await?;
                format!("journal_mode={journal} synchronous={synchronous} temp_store={temp_store}")
            }
            Pool::Postgres(pool) => {
                let mut connection = pool.acquire().await?;
                let synchronous: String = sqlx::query_scalar("SHOW synchronous_commit")
                    .fetch_one(&mut *connection)
                    .await?;
                let fsync: String = sqlx::query_scalar("SHOW fsync")
                    .fetch_one(&mut *connection)
                    .await?;
                let ssl: Option<bool> =
                    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                        .fetch_optional(&mut *connection)
                        .await?;
                format!(
                    "synchronous_commit={synchronous} fsync={fsync} tls={}",
                    if ssl == Some(true) { "on" } else { "off" }
                )
            }
        })
    }
}
