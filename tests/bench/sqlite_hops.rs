//! What a hop to sqlx's SQLite connection thread costs a batch of commands: the measure
//! behind the next lever for SQLite's writes (README, "Against the goals").
//!
//! sqlx runs each SQLite connection on a thread of its own, and every query is a message
//! to that thread and an answer back. The writer's batch of 16 commands makes two such
//! hops for each (its read, then its writes in one multi-statement query) and two for the
//! transaction: 34 in a row. This runs the same shape of batch (16 commands, each reading
//! a 2 kB row, then updating it and inserting an event; `BEGIN IMMEDIATE`, `COMMIT`, WAL,
//! `synchronous=FULL`) through sqlx, and with rusqlite on a thread of its own that the
//! batch is sent to and answered from in one hop, and prints commands a second for each.
//!
//! `cargo bench --bench sqlite_hops` (a scratch file in the temporary directory; prints,
//! asserts nothing).

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Executor};

/// Commands a batch.
const BATCH: i64 = 16;
/// How long each figure is measured.
const MEASURED: Duration = Duration::from_secs(3);

fn create(path: &std::path::Path) -> rusqlite::Result<()> {
    let connection = rusqlite::Connection::open(path)?;
    connection.execute_batch(
        "PRAGMA journal_mode = wal;
         CREATE TABLE inquiries (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, state TEXT NOT NULL);
         CREATE TABLE events (seq INTEGER PRIMARY KEY, inquiry_id INTEGER NOT NULL, version INTEGER NOT NULL, payload TEXT NOT NULL);",
    )?;
    for id in 0..BATCH {
        connection.execute(
            "INSERT INTO inquiries (id, version, state) VALUES (?1, 0, ?2)",
            rusqlite::params![id, "x".repeat(2000)],
        )?;
    }
    Ok(())
}

/// Batches through sqlx: two hops to the connection's thread a command, two a batch.
async fn through_sqlx(path: &std::path::Path) -> Result<f64, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
    let (mut commands, started) = (0, Instant::now());
    while started.elapsed() < MEASURED {
        connection.execute("BEGIN IMMEDIATE").await?;
        for id in 0..BATCH {
            let (version, state): (i64, String) =
                sqlx::query_as("SELECT version, state FROM inquiries WHERE id = ?1")
                    .bind(id)
                    .fetch_one(&mut connection)
                    .await?;
            sqlx::query(
                "UPDATE inquiries SET version = ?2, state = ?3 WHERE id = ?1;
                 INSERT INTO events (inquiry_id, version, payload) VALUES (?1, ?2, 'payload')",
            )
            .bind(id)
            .bind(version + 1)
            .bind(state)
            .execute(&mut connection)
            .await?;
        }
        connection.execute("COMMIT").await?;
        commands += BATCH;
    }
    connection.close().await?;
    Ok(commands as f64 / started.elapsed().as_secs_f64())
}

/// Runs one batch on `connection`, on the calling thread.
fn batch(connection: &rusqlite::Connection) -> rusqlite::Result<()> {
    connection.execute_batch("BEGIN IMMEDIATE")?;
    for id in 0..BATCH {
        let (version, state): (i64, String) = connection
            .prepare_cached("SELECT version, state FROM inquiries WHERE id = ?1")?
            .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))?;
        connection
            .prepare_cached("UPDATE inquiries SET version = ?2, state = ?3 WHERE id = ?1")?
            .execute(rusqlite::params![id, version + 1, state])?;
        connection
            .prepare_cached(
                "INSERT INTO events (inquiry_id, version, payload) VALUES (?1, ?2, 'payload')",
            )?
            .execute(rusqlite::params![id, version + 1])?;
    }
    connection.execute_batch("COMMIT")
}

/// Batches run by a thread that owns its connection: one hop a batch.
async fn on_a_thread_of_its_own(path: &std::path::Path) -> f64 {
    type Reply = tokio::sync::oneshot::Sender<rusqlite::Result<()>>;
    let (batches, queue) = std::sync::mpsc::channel::<Reply>();
    let path = path.to_owned();
    let thread = std::thread::spawn(move || {
        let connection = rusqlite::Connection::open(path).expect("open the scratch file");
        connection
            .execute_batch("PRAGMA synchronous = FULL")
            .expect("synchronous=FULL");
        while let Ok(reply) = queue.recv() {
            let _ = reply.send(batch(&connection));
        }
    });
    let (mut commands, started) = (0, Instant::now());
    while started.elapsed() < MEASURED {
        let (reply, answer) = tokio::sync::oneshot::channel();
        batches.send(reply).expect("the batch thread runs");
        answer
            .await
            .expect("the batch thread answers")
            .expect("a batch commits");
        commands += BATCH;
    }
    let rate = commands as f64 / started.elapsed().as_secs_f64();
    drop(batches);
    thread.join().expect("the batch thread ends");
    rate
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("hops.db");
    create(&path).expect("the scratch tables");
    println!("batches of {BATCH} commands (read, update, insert), WAL, synchronous=FULL:");
    for _ in 0..3 {
        let sqlx = through_sqlx(&path).await.expect("sqlx batches");
        let own = on_a_thread_of_its_own(&path).await;
        println!(
            "  through sqlx (34 hops a batch) {sqlx:.0} commands/s; rusqlite on a thread of its own (1 hop a batch) {own:.0} commands/s ({:.1}×)",
            own / sqlx
        );
    }
}
