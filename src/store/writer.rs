//! Group commit: one task per store runs the inquiry commands, many to a transaction.
//!
//! A command's cost is mostly its commit (one fsync on SQLite with `synchronous=FULL`, one
//! WAL flush on PostgreSQL with `synchronous_commit=on`), and every command appends to the
//! one audit chain, so commands cannot commit side by side: each would wait for the
//! chain head (a row lock on PostgreSQL, the database's write lock on SQLite). The writer
//! takes the commands that queued up while the previous batch was committing, runs each
//! inside a savepoint of one transaction, in arrival order, and commits once for all:
//!
//! - a command that is refused (or fails) rolls back to its savepoint and writes nothing,
//!   while the commands before and after it in the batch commit;
//! - every command sees what the commands before it wrote, as if they had committed one
//!   by one: the chain stays one sequence, in the order the commands ran;
//! - no command is answered before the commit that holds it: if the commit fails, every
//!   command of the batch is answered with that failure (none of them is recorded);
//! - a command whose caller goes away before it has run (a request that timed out while
//!   it waited for a lock) is rolled back to its savepoint: it writes nothing, as its
//!   caller was told. One that has run commits with its batch.
//!
//! How a command is kept apart from its neighbours depends on what a savepoint costs
//! ([`Isolation`]): on SQLite it is a call on the writer's own thread ([`super::direct`]),
//! so every command has one, opened just before its first write; on PostgreSQL it is a
//! round trip of its own (a third of a command's inside a batch), so the commands run without one, and a command
//! that fails after writing (or whose failure aborted the transaction) makes the writer
//! roll the batch back and run it again, a savepoint before each command: the rerun
//! gives every command the outcome savepoints would have given it.
//!
//! A command that reaches an idle writer (nothing queued behind it) on PostgreSQL runs
//! alone, outside a transaction ([`Savepoint::Alone`]): its reads (the chain head's
//! among them) in one query, then its writes and the chain head's update in one statement,
//! which commits by itself. Every write of that statement is made conditional on the
//! update of the head, which moves it only from where the command read it (and locks it
//! first, as a batch does): if another instance appended meanwhile, the statement writes
//! nothing and the command runs again in a batch. Two round trips instead of four (`BEGIN`
//! with the head's read, the reads, the writes, `COMMIT`), since a round trip to the server
//! is most of what a lone command costs.
//!
//! The writer sends `BEGIN` and `COMMIT` itself, with the read of the chain head in the
//! same round trip as the one and its write in that of the other ([`BatchStart`]): a
//! command alone in its batch makes as many round trips as a raw commit of one update and
//! one insert. On PostgreSQL a batch locks the chain head first, before any inquiry row,
//! so that two instances' batches queue on the head instead of deadlocking on each
//! other's rows.
//!
//! How a batch is run is a [`Runner`]'s: on a sqlx pool ([`Writer::start`]: PostgreSQL),
//! or through rusqlite on the handle of sqlx's SQLite write connection
//! ([`super::direct::Direct`]), whose batches make two hops to sqlx's thread (its `BEGIN`,
//! and the lock of the connection), whatever their size.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use futures_util::FutureExt;
#[cfg(test)]
use futures_util::TryFutureExt;
use futures_util::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};
use tokio::sync::{mpsc, oneshot};

use super::StoreError;

/// By default a batch holds at most 64 commands.
pub const DEFAULT_MAX_BATCH: usize = 64;

/// The largest batch a setting may ask for.
pub const MAX_BATCH_LIMIT: usize = 1024;

/// How many commands may wait for the writer, in default batches (1 024): beyond it, a
/// caller waits for a place (the HTTP edge's bound on requests in flight, 256 by default,
/// answers before that).
const QUEUE_BATCHES: usize = 16;

/// One command as the writer runs it: its work inside a savepoint, then its answer once
/// the batch is committed or has failed.
pub(super) trait Job<C>: Send {
    /// Runs the command (again, if its batch is run again: the last run's outcome is the
    /// one answered); whether its writes are kept.
    fn run<'c>(&'c mut self, batch: Batch<'c, C>) -> BoxFuture<'c, bool>;
    /// Answers the caller: its own outcome if the batch committed, the batch's failure
    /// otherwise.
    fn answer(self: Box<Self>, failure: Option<&BatchFailure>);
    /// Whether the command may run alone, outside a transaction ([`Savepoint::Alone`]).
    fn may_run_alone(&self) -> bool;
}

/// Why a batch was not committed, shared by every command in it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BatchFailure {
    #[error(transparent)]
    Database(Arc<sqlx::Error>),
    /// A command panicked: its transaction was rolled back, and the writer goes on.
    #[error("a command panicked (see the log above)")]
    Panicked,
}

impl BatchFailure {
    fn into_store_error(self) -> StoreError {
        match self {
            BatchFailure::Database(error) => StoreError::Batch(error),
            BatchFailure::Panicked => StoreError::WriterStopped,
        }
    }
}

/// The last event of the audit chain, as the batch's commands have left it: read from
/// `event_chain_head` when the batch begins, advanced in memory by each append, and
/// written back once, with the batch's commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTip {
    pub chain_seq: i64,
    pub hash: String,
}

/// What a command gets to run with: the batch's connection (inside the command's
/// savepoint) and the chain's tip.
///
/// A command must write nothing before it has called [`open_savepoint`] (or run
/// [`Savepoint::sql`] first): the savepoint is opened by the command's first write, so that
/// a command refused while it reads costs no round trip for it.
pub struct Batch<'c, C> {
    pub connection: &'c mut C,
    /// `None` if the backend's [`Begin`] left it to the first command that appends.
    pub tip: &'c mut Option<ChainTip>,
    pub savepoint: &'c mut Savepoint,
    /// Whether the command's caller has gone. A command in a batch is dropped if its
    /// caller goes before it has finished (its writes are rolled back); one run alone is not,
    /// since its write commits by itself: it asks this just before sending that write,
    /// and sends nothing if the caller has gone.
    pub waiter: &'c (dyn Waiter + Sync),
}

/// Whoever waits for a command's answer.
pub trait Waiter {
    /// Whether it has gone (its request timed out or was dropped).
    fn has_gone(&self) -> bool;
}

impl<T: Send> Waiter for oneshot::Sender<T> {
    fn has_gone(&self) -> bool {
        self.is_closed()
    }
}

/// The waiter of a command as the writer hands it over: [`Job::run`] puts the real one in.
pub(super) struct Unknown;

impl Waiter for Unknown {
    fn has_gone(&self) -> bool {
        false
    }
}

/// The savepoint a command's writes go after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Savepoint {
    /// The command is the first of its transaction: if it fails, the writer rolls the
    /// transaction back.
    NotNeeded,
    /// To be opened before the command's first write.
    Due,
    /// Opened: if the command fails, the writer rolls back to it.
    Open,
    /// None, in an optimistic batch ([`Isolation::Optimistic`]): if the command fails, the
    /// batch is run again with savepoints, unless the command wrote nothing and the
    /// transaction is still usable.
    Skipped,
    /// As [`Savepoint::Skipped`], once the command has written.
    SkippedWritten,
    /// No transaction at all: the command runs alone (see the module's documentation). It
    /// reads the chain's tip itself (`tip` is `None`), and makes one write statement, which
    /// holds the tip's update and commits by itself.
    Alone,
    /// As [`Savepoint::Alone`], once the command has sent its write: if it fails, whether
    /// the statement committed is not known (the connection broke), and the failure is
    /// the command's answer.
    AloneWritten,
    /// As [`Savepoint::Alone`], once the server has refused the command's write (an error,
    /// or the chain's head had moved): nothing of it committed, and the writer runs the
    /// command again in a batch.
    AloneRolledBack,
}

impl Savepoint {
    /// What to run before the command's first write ("" when nothing is due), counting
    /// it as run.
    pub fn sql(&mut self) -> &'static str {
        match self {
            Savepoint::Due => {
                *self = Savepoint::Open;
                "SAVEPOINT cbm2_command;\n"
            }
            Savepoint::Skipped => {
                *self = Savepoint::SkippedWritten;
                ""
            }
            Savepoint::Alone => {
                *self = Savepoint::AloneWritten;
                ""
            }
            Savepoint::NotNeeded
            | Savepoint::Open
            | Savepoint::SkippedWritten
            | Savepoint::AloneWritten
            | Savepoint::AloneRolledBack => "",
        }
    }
}

/// Opens the command's savepoint if it is due, as a statement of its own.
pub async fn open_savepoint<DB>(
    connection: &mut DB::Connection,
    savepoint: &mut Savepoint,
) -> Result<(), sqlx::Error>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let sql = savepoint.sql();
    if !sql.is_empty() {
        sqlx::raw_sql(sql).execute(connection).await?;
    }
    Ok(())
}

/// The work of one command. An `Err` rolls back what it wrote (and its move of the tip).
/// It may run more than once, if its batch is run again ([`Isolation::Optimistic`]): each
/// run starts from the database as it was before it, and must do what the first did.
pub trait Work<C, T, E>:
    for<'c> FnMut(Batch<'c, C>) -> BoxFuture<'c, Result<T, E>> + Send + 'static
{
}

impl<C, T, E, F> Work<C, T, E> for F where
    F: for<'c> FnMut(Batch<'c, C>) -> BoxFuture<'c, Result<T, E>> + Send + 'static
{
}

struct Pending<F, T, E> {
    work: F,
    outcome: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
    may_run_alone: bool,
}

impl<C, F, T, E> Job<C> for Pending<F, T, E>
where
    C: Send,
    F: Work<C, T, E>,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    fn run<'c>(&'c mut self, batch: Batch<'c, C>) -> BoxFuture<'c, bool> {
        let Pending {
            work,
            outcome: kept_outcome,
            reply,
            ..
        } = self;
        let alone = *batch.savepoint == Savepoint::Alone;
        Box::pin(async move {
            let outcome = if alone {
                // Its write commits by itself: never dropped once it has sent it, the
                // command asks before it sends it whether its caller has gone.
                work(Batch {
                    waiter: &*reply,
                    ..batch
                })
                .await
            } else {
                // A caller that gives up (its request timed out or was dropped) before its
                // command has run was told that nothing was done: so nothing is.
                let work = work(batch);
                tokio::select! {
                    biased;
                    () = reply.closed() => return false,
                    outcome = work => outcome,
                }
            };
            let kept = outcome.is_ok();
            *kept_outcome = Some(outcome);
            kept
        })
    }

    fn answer(self: Box<Self>, failure: Option<&BatchFailure>) {
        let outcome = match (failure, self.outcome) {
            (None, Some(outcome)) => outcome,
            // A refusal may rest on what an earlier command of the failed batch wrote:
            // every command of it is told the batch failed, none is recorded.
            (Some(failure), _) => Err(failure.clone().into_store_error().into()),
            (None, None) => Err(StoreError::WriterStopped.into()),
        };
        // The caller may have gone (a dropped request): its command stands all the same.
        let _ = self.reply.send(outcome);
    }

    fn may_run_alone(&self) -> bool {
        self.may_run_alone
    }
}

/// The handle commands are queued through; cheap to clone.
///
/// `C` is the connection a command runs on: sqlx's (PostgreSQL; SQLite in the writer's own
/// tests), or rusqlite's over the handle of sqlx's SQLite write connection
/// ([`super::direct`]).
pub struct Writer<C> {
    jobs: mpsc::Sender<Box<dyn Job<C>>>,
    max_batch: Arc<AtomicUsize>,
    alone: Arc<AtomicBool>,
    counts: Arc<Counts>,
}

impl<C> Clone for Writer<C> {
    fn clone(&self) -> Self {
        Self {
            jobs: self.jobs.clone(),
            max_batch: self.max_batch.clone(),
            alone: self.alone.clone(),
            counts: self.counts.clone(),
        }
    }
}

/// What the writer has done since it started.
#[derive(Debug, Default)]
pub(super) struct Counts {
    batches: AtomicU64,
    commands: AtomicU64,
    reruns: AtomicU64,
    alone: AtomicU64,
    alone_again: AtomicU64,
    lock_waits: AtomicU64,
}

impl Counts {
    /// A batch waited for another process's lock on the database (see
    /// [`WriteStats::lock_waits`]).
    pub(super) fn lock_waited(&self) {
        self.lock_waits.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a writer has done, and what waits for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    /// Transactions committed (or failed) so far.
    pub batches: u64,
    /// Commands they held.
    pub commands: u64,
    /// Commands queued, not yet taken into a batch.
    pub waiting: usize,
    /// Optimistic batches run again with savepoints, a command of them having failed.
    pub reruns: u64,
    /// Commands run alone, outside a transaction (counted in `batches` and `commands`
    /// too, as a batch of one).
    pub alone: u64,
    /// Commands run alone whose write the server refused (the chain's head had moved, or
    /// an error): each ran again in a batch.
    pub alone_again: u64,
    /// On SQLite, batches that found another process holding the file's write lock as
    /// the writer held the connection after a batch: each gave the connection back and
    /// waited for the lock through sqlx.
    pub lock_waits: u64,
}

impl<C> Writer<C> {
    /// Sets how many commands one transaction may hold, from the next batch on.
    pub fn set_max_batch(&self, max: usize) {
        self.max_batch
            .store(max.clamp(1, MAX_BATCH_LIMIT), Ordering::Relaxed);
    }

    /// What the writer has done, and what waits for it.
    pub fn stats(&self) -> WriteStats {
        WriteStats {
            batches: self.counts.batches.load(Ordering::Relaxed),
            commands: self.counts.commands.load(Ordering::Relaxed),
            waiting: self.jobs.max_capacity() - self.jobs.capacity(),
            reruns: self.counts.reruns.load(Ordering::Relaxed),
            alone: self.counts.alone.load(Ordering::Relaxed),
            alone_again: self.counts.alone_again.load(Ordering::Relaxed),
            lock_waits: self.counts.lock_waits.load(Ordering::Relaxed),
        }
    }

    /// Whether a command that may run alone does so when the writer is idle (if the
    /// backend allows it: [`BatchStart::alone`]), from the next command on.
    pub fn set_alone(&self, alone: bool) {
        self.alone.store(alone, Ordering::Relaxed);
    }
}

impl<C> std::fmt::Debug for Writer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

/// Begins a batch's transaction and reads the chain's tip (`None` if it is left to the
/// first command that appends), in one round trip.
pub type Begin<DB> = for<'c> fn(
    &'c mut <DB as Database>::Connection,
) -> BoxFuture<'c, Result<Option<ChainTip>, sqlx::Error>>;

/// Writes the chain's tip to `event_chain_head` if the batch moved it, and commits, in one
/// round trip.
pub type Commit<DB> = for<'c> fn(
    &'c mut <DB as Database>::Connection,
    Option<&'c ChainTip>,
) -> BoxFuture<'c, Result<(), sqlx::Error>>;

/// How the writer opens and closes a batch's transaction on one backend. It sends the
/// statements itself (not through `Pool::begin`), so that the read of the tip goes with
/// `BEGIN` and its write with `COMMIT`.
pub struct BatchStart<DB: Database> {
    pub begin: Begin<DB>,
    pub commit: Commit<DB>,
    pub isolation: Isolation,
    /// Whether a command that may run alone ([`Savepoint::Alone`]) does so when it finds
    /// the writer idle (PostgreSQL: a round trip saved is most of a lone command's time).
    pub alone: bool,
}

/// How the commands of a batch are kept from each other's failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// A savepoint for every command but the first, opened with its first write (as
    /// [`super::direct`] runs SQLite's batches, where it costs no round trip).
    Savepoints,
    /// No savepoint (PostgreSQL, where one is a statement and a round trip of its own). A
    /// command that fails after writing, or whose failure left the transaction aborted
    /// (any error of the server does), makes the writer roll the batch back and run it
    /// again with a savepoint opened before each command (before its reads too): rare,
    /// and then every command gets the outcome savepoints would have given it.
    Optimistic,
}

impl<DB: Database> Clone for BatchStart<DB> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<DB: Database> Copy for BatchStart<DB> {}

impl<C: Send + 'static> Writer<C> {
    /// Starts the writer task on `pool`, each batch a transaction on one of its
    /// connections; it ends once every handle is dropped.
    pub fn start<DB>(pool: Pool<DB>, start: BatchStart<DB>, max_batch: usize) -> Self
    where
        DB: Database<Connection = C>,
        C: sqlx::Connection<Database = DB>,
        for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    {
        Self::start_with(Sqlx { pool, start }, max_batch)
    }

    /// Starts the writer task with `runner`, which runs its batches.
    pub(super) fn start_with(runner: impl Runner<C>, max_batch: usize) -> Self {
        let max_batch = Arc::new(AtomicUsize::new(max_batch.clamp(1, MAX_BATCH_LIMIT)));
        let (jobs, queue) = mpsc::channel(DEFAULT_MAX_BATCH * QUEUE_BATCHES);
        let counts = Arc::new(Counts::default());
        let alone = Arc::new(AtomicBool::new(runner.alone()));
        tokio::spawn(run(
            runner,
            queue,
            max_batch.clone(),
            alone.clone(),
            counts.clone(),
        ));
        Self {
            jobs,
            max_batch,
            alone,
            counts,
        }
    }

    /// Queues one command and waits for its answer, which comes after the commit of the
    /// batch it ran in.
    pub async fn submit<T, E>(&self, work: impl Work<C, T, E>) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.submit_with(false, work).await
    }

    /// As [`Writer::submit`]; with `may_run_alone`, for a command that can run alone
    /// ([`Savepoint::Alone`]), which it does if it finds the writer idle.
    pub async fn submit_with<T, E>(
        &self,
        may_run_alone: bool,
        work: impl Work<C, T, E>,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job<C>> = Box::new(Pending {
            work,
            outcome: None,
            reply,
            may_run_alone,
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

/// The commands a batch holds, in arrival order.
pub(super) type Jobs<C> = Vec<Box<dyn Job<C>>>;

/// Where the commands wait for the writer.
pub(super) type Queue<C> = mpsc::Receiver<Box<dyn Job<C>>>;

/// How a writer runs its batches on one kind of connection.
pub(super) trait Runner<C>: Send + 'static {
    /// Whether a command that may run alone does so when it finds the writer idle
    /// ([`BatchStart::alone`]).
    fn alone(&self) -> bool;
    /// Runs `job` alone, outside a transaction ([`Savepoint::Alone`]).
    fn run_alone<'a>(&'a self, job: &'a mut Box<dyn Job<C>>) -> BoxFuture<'a, Alone>;
    /// Runs `batch`, and the commands that queue up while it runs (up to `max`), in one
    /// transaction; commits. `None` if the batch committed. A runner may answer a batch
    /// that committed itself ([`settle`]) and go on with more batches from `queue` on the
    /// same connection; what it leaves in `batch`, the writer answers with the outcome.
    fn run_batch<'a>(
        &'a self,
        batch: &'a mut Jobs<C>,
        queue: &'a mut Queue<C>,
        max: usize,
        counts: &'a Counts,
    ) -> BoxFuture<'a, Option<BatchFailure>>;
}

/// Batches on the connections of a sqlx pool.
struct Sqlx<DB: Database> {
    pool: Pool<DB>,
    start: BatchStart<DB>,
}

impl<DB> Runner<DB::Connection> for Sqlx<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    fn alone(&self) -> bool {
        self.start.alone
    }

    fn run_alone<'a>(&'a self, job: &'a mut Box<dyn Job<DB::Connection>>) -> BoxFuture<'a, Alone> {
        Box::pin(run_alone(&self.pool, job))
    }

    fn run_batch<'a>(
        &'a self,
        batch: &'a mut Jobs<DB::Connection>,
        queue: &'a mut Queue<DB::Connection>,
        max: usize,
        counts: &'a Counts,
    ) -> BoxFuture<'a, Option<BatchFailure>> {
        Box::pin(run_batch(&self.pool, self.start, batch, queue, max, counts))
    }
}

/// Takes the commands that arrived while a batch ran (up to `max` in all) into it,
/// before its commit; whether it holds some not yet run (`ran` are).
pub(super) fn join_queued<C>(
    batch: &mut Jobs<C>,
    queue: &mut Queue<C>,
    max: usize,
    ran: usize,
) -> bool {
    while batch.len() < max {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    ran < batch.len()
}

/// The writer's loop: wait for a command, take every command queued behind it (up to
/// the batch size), run them in one transaction, answer them all, again.
async fn run<C>(
    runner: impl Runner<C>,
    mut queue: Queue<C>,
    max_batch: Arc<AtomicUsize>,
    alone: Arc<AtomicBool>,
    counts: Arc<Counts>,
) {
    // How many commands the last transaction held: after a batch of several, commands
    // are arriving side by side, and the next one waits for those that follow it rather
    // than run alone ahead of them (which would halve the batches).
    let mut last_held = 1;
    while let Some(mut first) = queue.recv().await {
        if runner.alone()
            && alone.load(Ordering::Relaxed)
            && last_held == 1
            && first.may_run_alone()
            && queue.is_empty()
        {
            let ran = AssertUnwindSafe(runner.run_alone(&mut first))
                .catch_unwind()
                .await;
            match ran {
                Ok(Alone::Answered) => {
                    counts.batches.fetch_add(1, Ordering::Relaxed);
                    counts.commands.fetch_add(1, Ordering::Relaxed);
                    counts.alone.fetch_add(1, Ordering::Relaxed);
                    crate::metrics::batch_committed(1);
                    first.answer(None);
                    continue;
                }
                Ok(Alone::Again) => {
                    counts.alone_again.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(
                        "the server refused the write of a command run alone (another instance appended to the chain, or an error): it runs again in a batch"
                    );
                }
                Err(_) => {
                    tracing::error!(
                        "a command running alone panicked: it is answered with a failure, and the writer goes on"
                    );
                    first.answer(Some(&BatchFailure::Panicked));
                    continue;
                }
            }
        }
        let max = max_batch.load(Ordering::Relaxed);
        let mut batch = Vec::with_capacity(max.min(DEFAULT_MAX_BATCH));
        batch.push(first);
        // A command that panics takes its batch down (its transaction is rolled back and
        // its callers are told the writer stopped, a 503), never the writer.
        let run = AssertUnwindSafe(runner.run_batch(&mut batch, &mut queue, max, &counts));
        let failure = run
            .catch_unwind()
            .await
            .unwrap_or(Some(BatchFailure::Panicked));
        // Empty if the runner answered its batches itself (SQLite's, which holds its
        // connection for the batches that follow).
        if !batch.is_empty() {
            last_held = batch.len();
            settle(&mut batch, failure.as_ref(), &counts);
        }
    }
}

/// Answers the commands of a batch that ended (committed if `failure` is `None`), and
/// counts it.
pub(super) fn settle<C>(batch: &mut Jobs<C>, failure: Option<&BatchFailure>, counts: &Counts) {
    counts.batches.fetch_add(1, Ordering::Relaxed);
    counts
        .commands
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    if let Some(failure) = failure {
        tracing::error!(commands = batch.len(), error = %failure, "a batch of commands failed: none of them is recorded");
    }
    for job in batch.drain(..) {
        job.answer(failure);
    }
}

/// What became of a command run alone.
pub(super) enum Alone {
    /// It committed, or was refused or failed in a way that is its answer.
    Answered,
    /// The server refused its write, nothing of which committed: it runs again in a batch.
    Again,
}

/// Runs `job` alone, outside a transaction ([`Savepoint::Alone`]).
async fn run_alone<DB>(pool: &Pool<DB>, job: &mut Box<dyn Job<DB::Connection>>) -> Alone
where
    DB: Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    // No connection: the batch it runs in gets the pool's error, and answers it.
    let Ok(mut connection) = pool.acquire().await else {
        return Alone::Again;
    };
    let (mut tip, mut savepoint) = (None, Savepoint::Alone);
    let kept = job
        .run(Batch {
            connection: &mut connection,
            tip: &mut tip,
            savepoint: &mut savepoint,
            waiter: &Unknown,
        })
        .await;
    match (kept, savepoint) {
        (false, Savepoint::AloneRolledBack) => Alone::Again,
        _ => Alone::Answered,
    }
}

/// [`Runner::run_batch`] on a sqlx pool.
///
/// The first command of a transaction runs without a savepoint (if it fails, the
/// transaction holds nothing else: it is rolled back and a new one begun). With
/// [`Isolation::Savepoints`] each later one opens `SAVEPOINT cbm2_command` with its first
/// write, and is rolled back to it if it fails. Savepoints are not released one by one (a
/// round trip each): the commit releases them all, and a rollback goes to the newest of
/// that name, the failed command's own. With [`Isolation::Optimistic`] the later ones run
/// without; see there.
async fn run_batch<DB>(
    pool: &Pool<DB>,
    start: BatchStart<DB>,
    batch: &mut Jobs<DB::Connection>,
    queue: &mut Queue<DB::Connection>,
    max: usize,
    counts: &Counts,
) -> Option<BatchFailure>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let outcome: Result<(), sqlx::Error> = async {
        let mut tx = Open::new(pool.acquire().await?);
        let mut read = (start.begin)(tx.connection()).await?;
        let mut tip = read.clone();
        let mut empty = true;
        let mut ran = 0;
        let mut with_savepoints = start.isolation == Isolation::Savepoints;
        loop {
            while ran < batch.len() {
                let before = tip.clone();
                let mut savepoint = match (empty, with_savepoints) {
                    (true, _) => Savepoint::NotNeeded,
                    (false, true) => Savepoint::Due,
                    (false, false) => Savepoint::Skipped,
                };
                if savepoint == Savepoint::Due && start.isolation == Isolation::Optimistic {
                    // A rerun: the savepoint before the command's reads, which abort the
                    // transaction too if they fail.
                    open_savepoint::<DB>(tx.connection(), &mut savepoint).await?;
                }
                let kept = batch[ran]
                    .run(Batch {
                        connection: tx.connection(),
                        tip: &mut tip,
                        savepoint: &mut savepoint,
                        waiter: &Unknown,
                    })
                    .await;
                let rerun = match (kept, savepoint) {
                    (true, _) => {
                        empty = false;
                        false
                    }
                    (false, Savepoint::NotNeeded) => {
                        read = tx.begin_again(start).await?;
                        tip = read.clone();
                        false
                    }
                    // It failed before its first write: it wrote nothing.
                    (false, Savepoint::Due) => {
                        tip = before;
                        false
                    }
                    (false, Savepoint::Open) => {
                        sqlx::raw_sql("ROLLBACK TO SAVEPOINT cbm2_command")
                            .execute(tx.connection())
                            .await?;
                        tip = before;
                        false
                    }
                    (false, Savepoint::Skipped) => {
                        // Refused before writing, or failed in a read that aborted the
                        // transaction: only the server knows which.
                        let usable = usable(tx.connection()).await?;
                        if usable {
                            tip = before;
                        }
                        !usable
                    }
                    // A batch's command never runs alone: as one that wrote without a
                    // savepoint, should one ever.
                    (
                        false,
                        Savepoint::SkippedWritten
                        | Savepoint::Alone
                        | Savepoint::AloneWritten
                        | Savepoint::AloneRolledBack,
                    ) => true,
                };
                if rerun {
                    counts.reruns.fetch_add(1, Ordering::Relaxed);
                    crate::metrics::batch_rerun();
                    tracing::warn!(
                        commands = batch.len(),
                        failed = ran,
                        "a command of a batch without savepoints failed after writing, or in a way that aborted the transaction: the batch runs again, with a savepoint before each command"
                    );
                    read = tx.begin_again(start).await?;
                    tip = read.clone();
                    (empty, ran, with_savepoints) = (true, 0, true);
                    continue;
                }
                ran += 1;
            }
            // Commands that arrived meanwhile join this batch, before its commit.
            if !join_queued(batch, queue, max, ran) {
                break;
            }
        }
        let moved = tip.as_ref().filter(|tip| Some(*tip) != read.as_ref());
        crate::metrics::batch_committed(batch.len());
        (start.commit)(tx.connection(), moved).await?;
        tx.ended();
        Ok(())
    }
    .await;
    outcome
        .err()
        .map(|error| BatchFailure::Database(Arc::new(error)))
}

/// Whether the transaction on `connection` still takes statements: a statement that
/// failed on the server aborts it (PostgreSQL), until it is rolled back.
async fn usable<DB>(connection: &mut DB::Connection) -> Result<bool, sqlx::Error>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    match sqlx::raw_sql("SELECT 1").execute(connection).await {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// A connection inside a transaction the writer began with its own statements. If it is
/// dropped before [`Open::ended`] (a failed statement, a panic), it is closed, not
/// returned to the pool: closing rolls the transaction back, where a connection back in
/// the pool would carry it open into its next use.
pub(super) struct Open<DB: Database> {
    connection: PoolConnection<DB>,
    ended: bool,
}

impl<DB> Open<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    pub(super) fn new(connection: PoolConnection<DB>) -> Self {
        Self {
            connection,
            ended: false,
        }
    }

    pub(super) fn connection(&mut self) -> &mut DB::Connection {
        &mut self.connection
    }

    /// Rolls the transaction back and begins another on the same connection; the chain's
    /// tip as that one reads it.
    async fn begin_again(
        &mut self,
        start: BatchStart<DB>,
    ) -> Result<Option<ChainTip>, sqlx::Error> {
        sqlx::raw_sql("ROLLBACK").execute(self.connection()).await?;
        (start.begin)(self.connection()).await
    }

    /// The transaction is over (committed): the connection may go back to the pool.
    pub(super) fn ended(mut self) {
        self.ended = true;
    }
}

impl<DB: Database> Drop for Open<DB> {
    fn drop(&mut self) {
        if !self.ended {
            self.connection.close_on_drop();
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Sqlite;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use tokio::task::JoinHandle;

    use super::*;

    async fn writer() -> (
        Writer<sqlx::SqliteConnection>,
        sqlx::SqlitePool,
        tempfile::TempDir,
    ) {
        writer_with(Isolation::Savepoints).await
    }

    async fn writer_with(
        isolation: Isolation,
    ) -> (
        Writer<sqlx::SqliteConnection>,
        sqlx::SqlitePool,
        tempfile::TempDir,
    ) {
        writer_alone(isolation, false).await
    }

    /// A writer whose backend lets commands run alone if `alone`.
    async fn writer_alone(
        isolation: Isolation,
        alone: bool,
    ) -> (
        Writer<sqlx::SqliteConnection>,
        sqlx::SqlitePool,
        tempfile::TempDir,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("writer.db"))
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let start = BatchStart {
            begin: |c| Box::pin(sqlx::raw_sql("BEGIN IMMEDIATE").execute(c).map_ok(|_| None)),
            commit: |c, _| Box::pin(sqlx::raw_sql("COMMIT").execute(c).map_ok(drop)),
            isolation,
            alone,
        };
        (Writer::start(pool.clone(), start, 64), pool, dir)
    }

    /// Whether (and where) a test command fails.
    #[derive(Clone, Copy, PartialEq)]
    enum Fail {
        No,
        /// Refused before it writes anything.
        BeforeWriting,
        /// Refused after its insert.
        AfterWriting,
    }

    /// A test command's write: `n` into `t`, after its savepoint if one is due.
    async fn write(
        connection: &mut sqlx::SqliteConnection,
        savepoint: &mut Savepoint,
        n: i64,
    ) -> Result<(), sqlx::Error> {
        open_savepoint::<Sqlite>(&mut *connection, savepoint).await?;
        sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(n)
            .execute(connection)
            .await
            .map(drop)
    }

    /// Queues a command that inserts `n`, waits for `hold` (if any, on its first run), and
    /// fails as `fail` says; `runs` counts its runs.
    fn insert_counted(
        writer: &Writer<sqlx::SqliteConnection>,
        n: i64,
        hold: Option<oneshot::Receiver<()>>,
        fail: Fail,
        runs: Arc<AtomicUsize>,
    ) -> JoinHandle<Result<i64, StoreError>> {
        let writer = writer.clone();
        let mut hold = hold;
        tokio::spawn(async move {
            writer
                .submit(move |batch| {
                    let (hold, runs) = (hold.take(), runs.clone());
                    Box::pin(async move {
                        runs.fetch_add(1, Ordering::Relaxed);
                        if fail == Fail::BeforeWriting {
                            return Err(StoreError::CorruptRow(format!("refused {n}")));
                        }
                        write(&mut *batch.connection, batch.savepoint, n).await?;
                        if let Some(hold) = hold {
                            let _ = hold.await;
                        }
                        if fail == Fail::AfterWriting {
                            return Err(StoreError::CorruptRow(format!("refused {n}")));
                        }
                        Ok(n)
                    })
                })
                .await
        })
    }

    /// [`insert_counted`], uncounted; `fail`: after its insert.
    fn insert(
        writer: &Writer<sqlx::SqliteConnection>,
        n: i64,
        hold: Option<oneshot::Receiver<()>>,
        fail: bool,
    ) -> JoinHandle<Result<i64, StoreError>> {
        let fail = if fail { Fail::AfterWriting } else { Fail::No };
        insert_counted(writer, n, hold, fail, Arc::default())
    }

    async fn until_waiting(writer: &Writer<sqlx::SqliteConnection>, waiting: usize) {
        for _ in 0..10_000 {
            if writer.stats().waiting == waiting {
                return;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        panic!("{waiting} commands never queued: {:?}", writer.stats());
    }

    async fn stored(pool: &sqlx::SqlitePool) -> Vec<i64> {
        sqlx::query_scalar("SELECT n FROM t ORDER BY n")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    /// Four commands in one batch on a writer with `isolation`, the third failing after
    /// its insert; each outcome is checked. What was stored, the writer's figures, and how
    /// many times each command ran.
    async fn four_commands_the_third_failing_after_writing(
        isolation: Isolation,
    ) -> (Vec<i64>, WriteStats, Vec<usize>) {
        let (writer, pool, _dir) = writer_with(isolation).await;
        let runs: Vec<Arc<AtomicUsize>> = (0..4).map(|_| Arc::default()).collect();
        let (release, hold) = oneshot::channel();
        let first = insert_counted(&writer, 1, Some(hold), Fail::No, runs[0].clone());
        until_waiting(&writer, 0).await;
        // The writer is inside the first command: these three queue behind it.
        let second = insert_counted(&writer, 2, None, Fail::No, runs[1].clone());
        let failed = insert_counted(&writer, 3, None, Fail::AfterWriting, runs[2].clone());
        let fourth = insert_counted(&writer, 4, None, Fail::No, runs[3].clone());
        until_waiting(&writer, 3).await;
        release.send(()).unwrap();

        assert_eq!(first.await.unwrap().unwrap(), 1);
        assert_eq!(second.await.unwrap().unwrap(), 2);
        let refused = failed.await.unwrap().unwrap_err();
        assert!(refused.to_string().contains("refused 3"), "{refused}");
        assert_eq!(fourth.await.unwrap().unwrap(), 4);
        let runs = runs.iter().map(|r| r.load(Ordering::Relaxed)).collect();
        (stored(&pool).await, writer.stats(), runs)
    }

    #[tokio::test]
    async fn a_failed_command_rolls_back_alone_while_its_batch_commits_once() {
        let (stored, stats, runs) =
            four_commands_the_third_failing_after_writing(Isolation::Savepoints).await;
        // The failed command's insert was rolled back to its savepoint; its neighbours'
        // inserts, before and after it, were committed, all four in one transaction.
        assert_eq!(stored, [1, 2, 4]);
        let figures = (stats.batches, stats.commands, stats.reruns);
        assert_eq!(figures, (1, 4, 0), "{stats:?}");
        assert_eq!(runs, [1, 1, 1, 1]);
    }

    #[tokio::test]
    async fn an_optimistic_batch_runs_again_with_savepoints_if_a_command_fails_after_writing() {
        let (stored, stats, runs) =
            four_commands_the_third_failing_after_writing(Isolation::Optimistic).await;
        // Without a savepoint, the failed command's insert could not be undone alone: the
        // batch was rolled back and run again, each command in a savepoint, in one commit.
        assert_eq!(stored, [1, 2, 4]);
        let figures = (stats.batches, stats.commands, stats.reruns);
        assert_eq!(figures, (1, 4, 1), "{stats:?}");
        assert_eq!(
            runs,
            [2, 2, 2, 1],
            "the commands up to the failed one ran twice"
        );
    }

    #[tokio::test]
    async fn an_optimistic_batch_goes_on_past_a_command_refused_before_writing() {
        let (writer, pool, _dir) = writer_with(Isolation::Optimistic).await;
        let runs: Vec<Arc<AtomicUsize>> = (0..3).map(|_| Arc::default()).collect();
        let (release, hold) = oneshot::channel();
        let first = insert_counted(&writer, 1, Some(hold), Fail::No, runs[0].clone());
        until_waiting(&writer, 0).await;
        let refused = insert_counted(&writer, 2, None, Fail::BeforeWriting, runs[1].clone());
        let third = insert_counted(&writer, 3, None, Fail::No, runs[2].clone());
        until_waiting(&writer, 2).await;
        release.send(()).unwrap();

        assert_eq!(first.await.unwrap().unwrap(), 1);
        assert!(refused.await.unwrap().is_err());
        assert_eq!(third.await.unwrap().unwrap(), 3);
        assert_eq!(stored(&pool).await, [1, 3]);
        let stats = writer.stats();
        assert_eq!(
            (stats.batches, stats.commands, stats.reruns),
            (1, 3, 0),
            "{stats:?}"
        );
        let runs: Vec<usize> = runs.iter().map(|r| r.load(Ordering::Relaxed)).collect();
        assert_eq!(
            runs,
            [1, 1, 1],
            "a refusal that wrote nothing costs no rerun"
        );
    }

    #[tokio::test]
    async fn a_first_command_that_fails_is_rolled_back_and_the_rest_commit_after_it() {
        let (writer, pool, _dir) = writer().await;
        let (release, hold) = oneshot::channel();
        // The first command of the transaction, which runs without a savepoint.
        let failed = insert(&writer, 1, Some(hold), true);
        until_waiting(&writer, 0).await;
        let second = insert(&writer, 2, None, false);
        let third = insert(&writer, 3, None, false);
        until_waiting(&writer, 2).await;
        release.send(()).unwrap();

        assert!(failed.await.unwrap().is_err());
        assert_eq!(second.await.unwrap().unwrap(), 2);
        assert_eq!(third.await.unwrap().unwrap(), 3);
        assert_eq!(stored(&pool).await, [2, 3]);
        let stats = writer.stats();
        assert_eq!((stats.batches, stats.commands), (1, 3), "{stats:?}");
    }

    #[tokio::test]
    async fn a_command_that_panics_fails_its_batch_and_the_writer_goes_on() {
        let (writer, pool, _dir) = writer().await;
        let panicking = writer.clone();
        let panicked = tokio::spawn(async move {
            panicking
                .submit(|batch| {
                    Box::pin(async move {
                        sqlx::query("INSERT INTO t (n) VALUES (1)")
                            .execute(&mut *batch.connection)
                            .await?;
                        // Always: the condition only keeps the `Ok` below reachable.
                        if batch.tip.is_none() {
                            panic!("a command's bug");
                        }
                        Ok::<_, StoreError>(())
                    })
                })
                .await
        });
        assert!(matches!(
            panicked.await.unwrap(),
            Err(StoreError::WriterStopped)
        ));
        assert_eq!(insert(&writer, 2, None, false).await.unwrap().unwrap(), 2);
        assert_eq!(
            stored(&pool).await,
            [2],
            "the panicked batch was rolled back"
        );
    }

    #[tokio::test]
    async fn a_command_whose_caller_left_before_it_ran_writes_nothing() {
        let (writer, pool, _dir) = writer().await;
        let (release, hold) = oneshot::channel();
        let first = insert(&writer, 1, Some(hold), false);
        until_waiting(&writer, 0).await;
        let abandoned = insert(&writer, 2, None, false);
        let kept = insert(&writer, 3, None, false);
        until_waiting(&writer, 2).await;
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());
        release.send(()).unwrap();

        first.await.unwrap().unwrap();
        kept.await.unwrap().unwrap();
        assert_eq!(stored(&pool).await, [1, 3]);
    }

    #[tokio::test]
    async fn a_batch_holds_no_more_commands_than_its_limit() {
        let (writer, pool, _dir) = writer().await;
        writer.set_max_batch(2);
        let (release, hold) = oneshot::channel();
        let first = insert(&writer, 1, Some(hold), false);
        until_waiting(&writer, 0).await;
        let rest: Vec<_> = (2..=5).map(|n| insert(&writer, n, None, false)).collect();
        until_waiting(&writer, 4).await;
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        for handle in rest {
            handle.await.unwrap().unwrap();
        }
        assert_eq!(stored(&pool).await, [1, 2, 3, 4, 5]);
        let stats = writer.stats();
        assert_eq!((stats.batches, stats.commands), (3, 5), "{stats:?}");
    }

    /// Queues a command (that may run alone if `may_run_alone`) inserting `n`, which
    /// notes the savepoint it runs with; run alone, it plays the server refusing its
    /// write if `refused_alone`.
    fn insert_noting(
        writer: &Writer<sqlx::SqliteConnection>,
        n: i64,
        may_run_alone: bool,
        refused_alone: bool,
        seen: Arc<std::sync::Mutex<Vec<Savepoint>>>,
    ) -> JoinHandle<Result<i64, StoreError>> {
        let writer = writer.clone();
        tokio::spawn(async move {
            writer
                .submit_with(may_run_alone, move |batch| {
                    let seen = seen.clone();
                    Box::pin(async move {
                        seen.lock().unwrap().push(*batch.savepoint);
                        if refused_alone && *batch.savepoint == Savepoint::Alone {
                            *batch.savepoint = Savepoint::AloneRolledBack;
                            return Err(StoreError::CorruptRow(format!("refused {n}")));
                        }
                        write(&mut *batch.connection, batch.savepoint, n).await?;
                        Ok(n)
                    })
                })
                .await
        })
    }

    /// Commands run alone, run again after that, transactions, commands.
    fn alone_counts(writer: &Writer<sqlx::SqliteConnection>) -> (u64, u64, u64, u64) {
        let stats = writer.stats();
        (
            stats.alone,
            stats.alone_again,
            stats.batches,
            stats.commands,
        )
    }

    /// [`insert_noting`], never refused, waited for.
    async fn inserted_noting(
        writer: &Writer<sqlx::SqliteConnection>,
        n: i64,
        may_run_alone: bool,
        seen: &Arc<std::sync::Mutex<Vec<Savepoint>>>,
    ) {
        let inserted = insert_noting(writer, n, may_run_alone, false, seen.clone());
        inserted.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn an_idle_writer_runs_alone_only_the_commands_that_may() {
        let (writer, pool, _dir) = writer_alone(Isolation::Optimistic, true).await;
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        inserted_noting(&writer, 1, true, &seen).await;
        inserted_noting(&writer, 2, false, &seen).await;
        writer.set_alone(false);
        inserted_noting(&writer, 3, true, &seen).await;
        assert_eq!(
            *seen.lock().unwrap(),
            [Savepoint::Alone, Savepoint::NotNeeded, Savepoint::NotNeeded]
        );
        assert_eq!(stored(&pool).await, [1, 2, 3]);
        assert_eq!(alone_counts(&writer), (1, 0, 3, 3));
    }

    #[tokio::test]
    async fn a_command_alone_whose_write_the_server_refuses_runs_again_in_a_batch() {
        let (writer, pool, _dir) = writer_alone(Isolation::Optimistic, true).await;
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let n = insert_noting(&writer, 7, true, true, seen.clone())
            .await
            .unwrap();
        assert_eq!(n.unwrap(), 7, "its answer is that of its run in a batch");
        assert_eq!(
            *seen.lock().unwrap(),
            [Savepoint::Alone, Savepoint::NotNeeded]
        );
        assert_eq!(stored(&pool).await, [7]);
        assert_eq!(alone_counts(&writer), (0, 1, 1, 1));
    }

    #[tokio::test]
    async fn after_a_batch_of_several_the_next_command_does_not_run_alone() {
        let (writer, pool, _dir) = writer_alone(Isolation::Optimistic, true).await;
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        // The first runs alone, held; two queue behind it and share a batch.
        let (release, hold) = oneshot::channel();
        let first = {
            let (writer, seen) = (writer.clone(), seen.clone());
            let mut hold = Some(hold);
            tokio::spawn(async move {
                writer
                    .submit_with(true, move |batch| {
                        let (seen, hold) = (seen.clone(), hold.take());
                        Box::pin(async move {
                            seen.lock().unwrap().push(*batch.savepoint);
                            if let Some(hold) = hold {
                                let _ = hold.await;
                            }
                            Ok::<_, StoreError>(0)
                        })
                    })
                    .await
            })
        };
        // It runs (alone) before the next two queue.
        for _ in 0..10_000 {
            if !seen.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert_eq!(*seen.lock().unwrap(), [Savepoint::Alone]);
        let queued: Vec<_> = (1..=2)
            .map(|n| insert_noting(&writer, n, true, false, seen.clone()))
            .collect();
        until_waiting(&writer, 2).await;
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        for handle in queued {
            handle.await.unwrap().unwrap();
        }
        // Commands are arriving side by side: the next waits for a batch.
        inserted_noting(&writer, 3, true, &seen).await;
        // Then one alone again, after that batch of one.
        inserted_noting(&writer, 4, true, &seen).await;
        assert_eq!(
            *seen.lock().unwrap(),
            [
                Savepoint::Alone,
                Savepoint::NotNeeded,
                Savepoint::Skipped,
                Savepoint::NotNeeded,
                Savepoint::Alone
            ]
        );
        assert_eq!(stored(&pool).await, [1, 2, 3, 4]);
    }
}
