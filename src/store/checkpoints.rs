//! SQLite's checkpoints, off the writer's path.
//!
//! In WAL mode a commit appends its pages to the log, and a checkpoint copies them back
//! into the database file (and syncs it). By default the connection that commits runs one
//! whenever the log passes 1 000 pages, inside its commit: on a database of a million
//! inquiries, whose pages are spread wide, that made one transition in 60 cost about
//! twice its share (a transition there ran at 0.58× the rate on a fresh database; with no
//! checkpoints at all, 0.97×). Here a thread of its own, on a connection of its own, runs
//! a `PASSIVE` checkpoint whenever the log holds pages it has not copied, at most every
//! [`INTERVAL`]: it takes no lock a commit waits for, and a commit does not wait for it.
//! The writer keeps SQLite's own checkpoint as a backstop only, at [`BACKSTOP_PAGES`], for
//! when this thread cannot keep up or is not running.
//!
//! A checkpoint changes nothing a reader sees and nothing of durability: every commit is
//! in the log, synced, before it is answered (`synchronous=FULL`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// At most one checkpoint this often.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// The log's size, in pages, at which the writer checkpoints by itself all the same
/// (SQLite's `wal_autocheckpoint`; its default is 1 000).
pub const BACKSTOP_PAGES: u32 = 10_000;

/// The checkpointing thread of one database file; it stops once this is dropped, and the
/// drop waits for it (so that its connection is closed when the store is gone: a caller
/// may then remove the file and find no log or shared memory file left behind).
#[derive(Debug)]
pub(super) struct Checkpoints {
    /// Dropped first: the thread's `recv_timeout` then says it is time to stop.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    #[cfg_attr(not(test), allow(dead_code))]
    done: Arc<AtomicU64>,
}

impl Checkpoints {
    /// Starts checkpointing the SQLite file at `path`; `None` if it cannot be opened (an
    /// in-memory database, which has no log) or the thread cannot be started: the writer's
    /// backstop checkpoints then.
    pub(super) fn start(path: &Path) -> Option<Self> {
        let connection = match connect(path) {
            Ok(connection) => connection,
            Err(error) => {
                tracing::debug!(path = %path.display(), %error,
                    "no checkpointing thread: the writer checkpoints by itself");
                return None;
            }
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let done = Arc::new(AtomicU64::new(0));
        let counted = done.clone();
        let path_shown = path.display().to_string();
        let started = std::thread::Builder::new()
            .name("cbm2-checkpoints".into())
            .spawn(move || run(&connection, &stopped, &counted, &path_shown));
        match started {
            Ok(thread) => Some(Self {
                stop: Some(stop),
                thread: Some(thread),
                done,
            }),
            Err(error) => {
                tracing::warn!(%error, "no checkpointing thread: the writer checkpoints by itself");
                None
            }
        }
    }

    /// The checkpoints that copied pages so far.
    #[cfg(test)]
    pub(super) fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the checkpointing thread panicked");
        }
    }
}

/// A read-write connection that never waits for a lock: a `PASSIVE` checkpoint takes what
/// it can and leaves the rest for the next.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::ZERO)?;
    // The same durability as the writer's: the database file is synced after each
    // checkpoint, before the log is reused.
    connection.pragma_update(None, "synchronous", "FULL")?;
    // Only a database in WAL mode has a log to checkpoint.
    let journal: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    if !journal.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidQuery);
    }
    Ok(connection)
}

/// Checkpoints every [`INTERVAL`] until told to stop. A failure is logged and the next
/// interval tries again: a checkpoint that does not happen only lets the log grow, until
/// the writer's backstop.
fn run(connection: &Connection, stop: &mpsc::Receiver<()>, done: &AtomicU64, path: &str) {
    let mut failing = false;
    let mut last = (0, 0);
    loop {
        match stop.recv_timeout(INTERVAL) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        // (busy, pages in the log, pages of it copied into the database)
        let checkpoint = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
            ))
        });
        match checkpoint {
            Ok((_, log, copied)) => {
                if failing {
                    tracing::info!(path, "checkpoints work again");
                    failing = false;
                }
                // The figures are the log's as it stands: pages copied since the last look
                // (or a log begun anew) make a checkpoint that did something.
                if copied > 0 && (log, copied) != last {
                    done.fetch_add(1, Ordering::Relaxed);
                }
                last = (log, copied);
            }
            Err(error) => {
                if !failing {
                    tracing::warn!(path, %error,
                        "a checkpoint failed: the next is tried in 100 ms (the writer checkpoints by itself past 10 000 pages)");
                    failing = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::store_with_fixture;

    /// The events in the database file alone, without its log: a copy of the file, read.
    fn events_in_the_file(dir: &std::path::Path) -> i64 {
        let copy = dir.join("copy.db");
        std::fs::copy(dir.join("store.db"), &copy).unwrap();
        let read = rusqlite::Connection::open(&copy)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM inquiry_events", [], |row| row.get(0))
            .unwrap();
        std::fs::remove_file(&copy).unwrap();
        read
    }

    #[tokio::test]
    async fn the_thread_copies_the_log_into_the_database_and_the_writer_does_not() {
        let (store, fixture, dir) = store_with_fixture().await;
        let checkpoints = store.checkpoints.clone().expect("a file has its thread");
        let message = crate::bench::message("Any news?").unwrap();
        for _ in 0..5 {
            let inquiry = fixture.inquiries[0];
            crate::bench::command(&store, &fixture.caller, inquiry, message.clone())
                .await
                .unwrap();
        }
        let events: i64 = crate::store::dispatch!(store, pool =>
            sqlx::query_scalar("SELECT COUNT(*) FROM inquiry_events").fetch_one(pool).await.unwrap());
        // The writer checkpoints only past the backstop, far beyond these few pages.
        let writer_setting: i64 = crate::store::dispatch!(store, pool =>
            sqlx::query_scalar("PRAGMA wal_autocheckpoint").fetch_one(store.writes(pool)).await.unwrap());
        assert_eq!(writer_setting, i64::from(super::BACKSTOP_PAGES));
        let mut in_file = 0;
        for _ in 0..500 {
            in_file = events_in_the_file(dir.path());
            if in_file == events && checkpoints.done() > 0 {
                break;
            }
            tokio::time::sleep(super::INTERVAL / 10).await;
        }
        assert_eq!(
            in_file, events,
            "every committed event reached the database file"
        );
        assert!(checkpoints.done() > 0);
    }

    #[tokio::test]
    async fn an_in_memory_database_has_no_thread() {
        assert!(super::Checkpoints::start(std::path::Path::new(":memory:")).is_none());
    }
}
