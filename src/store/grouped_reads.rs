//! Group reads on PostgreSQL: the token reads that arrive while one is in flight go to
//! the server together, in one query.
//!
//! Every request reads its token (and, for a read of one inquiry, the inquiry) from the
//! database: nothing is kept in memory, so a token revoked from the command line, or on
//! another instance, is refused from the next request on. On PostgreSQL that read is a
//! round trip to a server process, and under load the round trips (the wake-ups of both
//! processes, the protocol's messages, the planning of the statement) cost more than
//! the lookups: a bare handler making one `SELECT 1` answers a fifth to a third of the
//! requests a bare handler answers (`cbm2 bench`).
//!
//! So, as the group-commit writer does for commands ([`super::writer`]), one task takes
//! the reads: a read that finds no query in flight goes at once, alone; the reads that
//! arrive while a query is running wait for the next one, which carries them all (up to
//! the batch size) as two arrays, one row per read. Each read still starts after its
//! request arrived and sees every commit made before it: the answers are those the reads
//! alone would have given.
//!
//! The task keeps one connection, out of the pool ([`Kept`]). A query that fails answers
//! each of its reads with `None`: each caller then reads alone through the pool, waiting
//! and reporting as every read does, and the next query takes a new connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::TEST_IF_IDLE_FOR;
use super::tokens::TokenOwnerRow;

/// By default a query carries at most 32 reads.
pub const DEFAULT_MAX_READS: usize = 32;

/// The largest number of reads a setting may put in one query.
pub const MAX_READS_LIMIT: usize = 1024;

/// How many reads may wait for a query, in default queries: beyond it, a caller waits
/// for a place.
const QUEUE_QUERIES: usize = 16;

/// [`super::tokens::TOKEN_OWNER_QUERY`] for many reads at once: `$1` the hashes of the
/// secrets, `$2` the inquiries (NULL for none), read `n` (from 1) answered by the row
/// numbered `n`, or by no row if its token is unknown or revoked.
const TOKEN_OWNERS_QUERY: &str =
    "SELECT r.n, t.id, t.poc_id, p.member_state, p.active AS poc_active, p.role AS poc_role,
            m.participating, t.last_used_at, i.state AS inquiry_state
       FROM unnest($1::text[], $2::uuid[]) WITH ORDINALITY AS r(token_hash, inquiry_id, n)
            JOIN tokens t ON t.token_hash = r.token_hash AND t.revoked_at IS NULL
            LEFT JOIN pocs p ON p.id = t.poc_id
            LEFT JOIN member_states m ON m.code = p.member_state
            LEFT JOIN inquiries i ON i.id = r.inquiry_id";

#[derive(sqlx::FromRow)]
struct NumberedRow {
    n: i64,
    #[sqlx(flatten)]
    row: TokenOwnerRow,
}

/// One read: what it asks for, and where its answer goes (`None`: read it alone).
struct Read {
    token_hash: String,
    inquiry_id: Option<Uuid>,
    reply: oneshot::Sender<Option<Option<TokenOwnerRow>>>,
}

/// The handle of the task that groups the token reads of one PostgreSQL pool.
#[derive(Clone, Debug)]
pub struct GroupedReads {
    reads: mpsc::Sender<Read>,
    max_reads: Arc<AtomicUsize>,
    counts: Arc<Counts>,
}

/// What the task has done so far.
#[derive(Debug, Default)]
struct Counts {
    queries: AtomicU64,
    reads: AtomicU64,
}

/// What the grouped reads have done, and what waits for them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Queries sent so far (failed ones included).
    pub queries: u64,
    /// Reads they carried.
    pub reads: u64,
    /// Reads queued, not yet taken into a query.
    pub waiting: usize,
}

impl GroupedReads {
    /// Starts the task (on the current tokio runtime); it stops once every handle is dropped.
    pub(super) fn start(pool: PgPool, max_reads: usize) -> Self {
        let max_reads = Arc::new(AtomicUsize::new(max_reads.clamp(1, MAX_READS_LIMIT)));
        let (reads, queue) = mpsc::channel(DEFAULT_MAX_READS * QUEUE_QUERIES);
        let counts = Arc::new(Counts::default());
        tokio::spawn(run(pool, queue, max_reads.clone(), counts.clone()));
        Self {
            reads,
            max_reads,
            counts,
        }
    }

    /// What the task has done so far, and what waits for it.
    pub fn stats(&self) -> ReadStats {
        ReadStats {
            queries: self.counts.queries.load(Ordering::Relaxed),
            reads: self.counts.reads.load(Ordering::Relaxed),
            waiting: self.reads.max_capacity() - self.reads.capacity(),
        }
    }

    /// Sets how many reads one query may carry (at least 1: 1 groups none, each read is
    /// made through the pool).
    pub fn set_max_reads(&self, max: usize) {
        self.max_reads
            .store(max.clamp(1, MAX_READS_LIMIT), Ordering::Relaxed);
    }

    /// The token whose secret hashes to `token_hash` (unless revoked), its owner and the
    /// stored state of `inquiry_id`, read with the reads queued beside it; `None` if the
    /// grouped query failed (or the task is gone), or reads are not grouped (a batch of
    /// 1: one query at a time would make them wait for each other): read it alone.
    pub(super) async fn token_owner(
        &self,
        token_hash: &str,
        inquiry_id: Option<Uuid>,
    ) -> Option<Option<TokenOwnerRow>> {
        if self.max_reads.load(Ordering::Relaxed) <= 1 {
            return None;
        }
        let (reply, answer) = oneshot::channel();
        let read = Read {
            token_hash: token_hash.to_owned(),
            inquiry_id,
            reply,
        };
        self.reads.send(read).await.ok()?;
        answer.await.ok()?
    }
}

/// The task: wait for a read, take every read queued behind it (up to the batch size),
/// send them in one query and answer them, again. One query at a time keeps the most
/// reads waiting for the next one, and so makes the fewest round trips: measured with
/// `cbm2 bench` (GET at 8 connections, alternating runs), one query in flight carried 3.1
/// reads and answered 8 200 to 9 100 reads a second; two at once, 2.0 reads and 7 600 to
/// 8 900; four, 1.2 reads and 6 100 to 6 600; each read alone, 5 700 to 6 000.
async fn run(
    pool: PgPool,
    mut queue: mpsc::Receiver<Read>,
    max_reads: Arc<AtomicUsize>,
    counts: Arc<Counts>,
) {
    let mut connection = Kept::default();
    while let Some(first) = queue.recv().await {
        let max = max_reads.load(Ordering::Relaxed);
        let mut reads = vec![first];
        while reads.len() < max {
            match queue.try_recv() {
                Ok(read) => reads.push(read),
                Err(_) => break,
            }
        }
        counts.queries.fetch_add(1, Ordering::Relaxed);
        counts
            .reads
            .fetch_add(reads.len() as u64, Ordering::Relaxed);
        crate::metrics::reads_grouped(reads.len());
        let rows = match connection.ready(&pool).await {
            Ok(ready) => query(ready, &reads).await,
            Err(error) => Err(error),
        };
        if rows.is_err() {
            // It may be the connection that failed: the next query takes another.
            connection.drop_it();
        }
        answer(reads, rows);
    }
}

/// The task's own connection, taken out of the pool once and kept: lent and taken back
/// for every query, it would cost a round trip more each time (sqlx tests every
/// connection it takes back).
#[derive(Default)]
struct Kept(Option<(PgConnection, Instant)>);

impl Kept {
    /// The connection, tested first if it sat idle for [`TEST_IF_IDLE_FOR`] (as the pool
    /// tests its own) and replaced if it fails; the pool's error if it is closed or gives
    /// no connection (each read is then made alone, and reports the failure).
    async fn ready(&mut self, pool: &PgPool) -> Result<&mut PgConnection, sqlx::Error> {
        if pool.is_closed() {
            return Err(sqlx::Error::PoolClosed);
        }
        if let Some((connection, used)) = &mut self.0
            && used.elapsed() >= TEST_IF_IDLE_FOR
            && let Err(error) = connection.ping().await
        {
            tracing::info!(%error, "the grouped reads' connection failed its test: replacing it");
            self.drop_it();
        }
        let kept = match self.0.take() {
            Some(kept) => kept,
            None => (pool.acquire().await?.detach(), Instant::now()),
        };
        let (connection, used) = self.0.insert(kept);
        *used = Instant::now();
        Ok(connection)
    }

    fn drop_it(&mut self) {
        self.0 = None;
    }
}

/// One query for `reads`, on `connection`.
async fn query(
    connection: &mut PgConnection,
    reads: &[Read],
) -> Result<Vec<NumberedRow>, sqlx::Error> {
    let (hashes, inquiries): (Vec<&str>, Vec<Option<Uuid>>) = reads
        .iter()
        .map(|read| (read.token_hash.as_str(), read.inquiry_id))
        .unzip();
    sqlx::query_as(TOKEN_OWNERS_QUERY)
        .bind(hashes)
        .bind(inquiries)
        .fetch_all(connection)
        .await
}

/// Answers each of `reads` from the rows of their query.
fn answer(reads: Vec<Read>, rows: Result<Vec<NumberedRow>, sqlx::Error>) {
    let mut answers: Vec<Option<TokenOwnerRow>> = reads.iter().map(|_| None).collect();
    match rows {
        Ok(rows) => {
            for numbered in rows {
                let slot = usize::try_from(numbered.n - 1)
                    .ok()
                    .and_then(|index| answers.get_mut(index));
                match slot {
                    Some(slot) => *slot = Some(numbered.row),
                    None => tracing::error!(
                        n = numbered.n,
                        "a grouped token read answered a read it was not asked"
                    ),
                }
            }
            for (read, row) in reads.into_iter().zip(answers) {
                let _ = read.reply.send(Some(row));
            }
        }
        Err(error) => {
            tracing::warn!(%error, reads = reads.len(), "a grouped token read failed: each read is made alone");
            for read in reads {
                let _ = read.reply.send(None);
            }
        }
    }
}
