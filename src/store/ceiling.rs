//! The raw commit ceiling that `cbm2 bench` measures the engine against: a transaction of
//! one UPDATE and one INSERT, committed durably, on the store's own pool (so with the
//! connection settings every command gets: WAL and `synchronous=FULL` on SQLite, the
//! server's `synchronous_commit` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite).
//!
//! The two scratch tables are ordinary tables, created and dropped by the bench in the
//! bench database: a TEMP table would not do, since SQLite keeps it outside the WAL and
//! PostgreSQL does not log it, so its commits would cost less than a real one.

use super::{BeginWrite, Pool, Store, StoreError, dispatch};

const DROP: [&str; 2] = [
    "DROP TABLE IF EXISTS bench_ceiling_counter",
    "DROP TABLE IF EXISTS bench_ceiling_log",
];

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

    /// One durable commit: bump `writer`'s counter and log the new count.
    pub async fn ceiling_commit(&self, writer: usize, at: &str) -> Result<(), StoreError> {
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            sqlx::query("UPDATE bench_ceiling_counter SET commits = commits + 1 WHERE writer = $1")
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
        });
        Ok(())
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
