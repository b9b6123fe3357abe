//! `cbm2 bench`: measures the engine against its own database, in one run and one table.
//!
//! On a throwaway database it times, in this process: the raw commit ceiling of the database
//! (an UPDATE+INSERT transaction on a connection of its own, see [`crate::store::ceiling`]); the
//! engine's transitions (`message`, which leaves the status as it is) through
//! [`Store::execute`] and through HTTP, against the real server built by
//! [`Application::build`] on 127.0.0.1:0 with an in-process reqwest client on keep-alive
//! connections; `GET /v1/inquiries/{id}`, the same without a token (refused before any
//! query: the server's own stack), and a bare axum handler served the same way, alone and
//! making one query on the store's pool;
//! the server's time to ready and the process's memory. With `--scale`, it also fills the
//! database with generated inquiries and times what the Secretariat and the sweeper do at
//! that size. Prints figures; asserts nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{Barrier, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use uuid::Uuid;

use crate::cli::outln;
use crate::clock;
use crate::domain::poc::Languages;
use crate::domain::{
    Affiliation, Caller, EmailAddress, Language, LongText, MemberStateCode, Nature, PersonName,
    PocId, PocRole, ShortText, TimeSensitivity,
};
use crate::http::monitoring::{Summary, SummaryCache};
use crate::protocol::inquiry::{EventData, Incident, PocSnapshot, Requester, StateName, create};
use crate::protocol::{Action, Inquiry, apply};
use crate::startup::{Application, Settings};
use crate::store::Store;
use crate::store::directory::{Actor, NewPoc};
use crate::store::inquiries::{ActionRequest, Command, Executed, IssuedBy};
use crate::store::monitoring::OverdueFilter;
use crate::store::tokens::TokenOwner;

/// What to measure.
#[derive(Debug, Clone, Copy)]
pub struct BenchPlan {
    /// How long each throughput figure is measured (after a short warm-up).
    pub duration: Duration,
    /// The concurrent commands of the second row of each write figure (the first is 1).
    pub writers: usize,
    /// The concurrent connections of the read figures.
    pub readers: usize,
    /// Whether the in-process server answers reads from memory on PostgreSQL
    /// (`serve --cache-reads`).
    pub cache_reads: bool,
    /// How long to wait for PostgreSQL's first connection (the in-process server's).
    pub connect_timeout: Duration,
    /// The fill and the figures at that size, when asked for (`--scale`).
    pub scale: Option<ScalePlan>,
}

/// What to fill, with `--scale`.
#[derive(Debug, Clone, Copy)]
pub struct ScalePlan {
    pub inquiries: u32,
    /// Of which open (awaiting a response); a fifth of those are overdue.
    pub open: u32,
    /// How many times each query is timed.
    pub samples: u32,
}

/// Latency figures of one measured operation.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub median: Duration,
    pub p99: Duration,
}

fn timing(mut samples: Vec<Duration>) -> Timing {
    samples.sort();
    let at = |p: usize| samples[((p * samples.len()).div_ceil(100)).max(1) - 1];
    Timing {
        median: at(50),
        p99: at(99),
    }
}

/// What a load of concurrent operations achieved.
#[derive(Debug, Clone, Copy)]
struct Load {
    per_second: f64,
    timing: Timing,
}

/// Operations each worker runs before the clock starts: connections opened, statements
/// prepared, caches warm.
const WARM_UP_OPERATIONS: usize = 3;

/// One operation of worker `n`.
type Operation =
    Arc<dyn Fn(usize) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> + Send + Sync>;

/// Runs `operation` in `workers` concurrent tasks, each in a loop for `duration` after its
/// warm-up; every operation's latency is kept. The rate is the operations completed over
/// the wall time from the first worker's start to the last one's end.
async fn load(workers: usize, duration: Duration, operation: Operation) -> anyhow::Result<Load> {
    let barrier = Arc::new(Barrier::new(workers));
    let mut tasks = JoinSet::new();
    for worker in 0..workers {
        let (operation, barrier) = (operation.clone(), barrier.clone());
        tasks.spawn(async move {
            for _ in 0..WARM_UP_OPERATIONS {
                operation(worker).await?;
            }
            barrier.wait().await;
            let started = Instant::now();
            let mut samples = Vec::new();
            while started.elapsed() < duration {
                let t = Instant::now();
                operation(worker).await?;
                samples.push(t.elapsed());
            }
            anyhow::Ok((started, Instant::now(), samples))
        });
    }
    let mut all = Vec::new();
    let (mut first, mut last) = (None::<Instant>, None::<Instant>);
    // The first failure ends the load (dropping the set aborts the other workers).
    while let Some(result) = tasks.join_next().await {
        let (started, ended, samples) = result.context("a bench worker panicked")??;
        first = Some(first.map_or(started, |f| f.min(started)));
        last = Some(last.map_or(ended, |l| l.max(ended)));
        all.extend(samples);
    }
    let wall = match (first, last) {
        (Some(first), Some(last)) => last.duration_since(first),
        _ => duration,
    };
    let count = all.len();
    Ok(Load {
        per_second: count as f64 / wall.as_secs_f64().max(f64::EPSILON),
        timing: timing(all),
    })
}

/// One row of the table.
struct Row {
    figure: String,
    concurrency: String,
    result: String,
    p50: String,
    p99: String,
    ratio: String,
}

impl Row {
    fn load(figure: impl Into<String>, concurrency: usize, load: Load, ratio: String) -> Self {
        Self {
            figure: figure.into(),
            concurrency: concurrency.to_string(),
            result: format!("{:.0}/s", load.per_second),
            p50: millis(load.timing.median),
            p99: millis(load.timing.p99),
            ratio,
        }
    }

    fn value(figure: impl Into<String>, result: String) -> Self {
        Self {
            figure: figure.into(),
            concurrency: "—".into(),
            result,
            p50: "—".into(),
            p99: "—".into(),
            ratio: "—".into(),
        }
    }

    fn timed(figure: impl Into<String>, timing: Timing, runs: u32) -> Self {
        Self {
            figure: figure.into(),
            concurrency: "1".into(),
            result: format!("{runs} runs"),
            p50: millis(timing.median),
            p99: millis(timing.p99),
            ratio: "—".into(),
        }
    }
}

/// Milliseconds, to the hundredth; below a tenth of one, to the thousandth (a cached
/// answer would otherwise read "0.00 ms").
fn millis(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 0.1 {
        format!("{ms:.3} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// A write figure against the ceiling: its rate over the ceiling's, its median over the
/// ceiling's.
fn against_ceiling(load: Load, ceiling: Load) -> String {
    format!(
        "{:.2}× rate, {:.1}× p50",
        load.per_second / ceiling.per_second,
        load.timing.median.as_secs_f64() / ceiling.timing.median.as_secs_f64().max(1e-9)
    )
}

/// Prints `rows` as one Markdown table, columns aligned.
fn print_table(rows: &[Row]) -> anyhow::Result<()> {
    let header = ["figure", "concurrency", "result", "p50", "p99", "ratio"];
    let cells: Vec<[&str; 6]> = rows
        .iter()
        .map(|row| {
            [
                row.figure.as_str(),
                row.concurrency.as_str(),
                row.result.as_str(),
                row.p50.as_str(),
                row.p99.as_str(),
                row.ratio.as_str(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell}{}", " ".repeat(width - cell.chars().count())))
            .collect();
        format!("| {} |", padded.join(" | "))
    };
    outln!("{}", line(header))?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    outln!("|-{}-|", rule.join("-|-"))?;
    for row in cells {
        outln!("{}", line(row))?;
    }
    Ok(())
}

/// The process's resident memory now and at its peak, in MiB, from /proc/self/status
/// (Linux only).
fn memory() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .map(|kib| kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// The in-process server, running until stopped.
struct Server {
    addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    /// Its throwaway signing key's file.
    signing_key: std::path::PathBuf,
    /// Its store: how its token reads were grouped.
    store: Store,
}

impl Server {
    /// Builds and runs the real server on `url` at 127.0.0.1:0, as `cbm2 serve` would with
    /// its defaults but the rate limits (off: the bench is one caller going as fast as it
    /// can). Returns it with its time to ready: from the start of `Application::build`
    /// (open the database, migrate, lock, bind) to the first 200 from `GET /v1/health`.
    async fn start(
        url: &str,
        connect_timeout: Duration,
        cache_reads: bool,
    ) -> anyhow::Result<(Self, Duration)> {
        let mut settings = Settings::new(url, "127.0.0.1:0");
        settings.cache_reads = cache_reads;
        settings.http.rate_limits = None;
        settings.connect_timeout = connect_timeout;
        settings.shutdown_grace = Duration::from_secs(2);
        // Never a key file in the working directory (PostgreSQL's default): one in the
        // temporary directory, removed when the server stops.
        settings.signing_key = std::env::temp_dir().join(format!(
            "cbm2-bench-{}-{}.signing-key",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        let signing_key = settings.signing_key.clone();
        let client = reqwest::Client::new();
        let started = Instant::now();
        let app = Application::build(&settings).await?;
        let addr = app.local_addr();
        let store = app.store();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        let health = format!("http://{addr}/v1/health");
        loop {
            match client.get(&health).send().await {
                Ok(answer) if answer.status().is_success() => break,
                _ if started.elapsed() > Duration::from_secs(30) => {
                    anyhow::bail!("the in-process server did not answer /v1/health within 30 s")
                }
                _ => tokio::task::yield_now().await,
            }
        }
        let ready = started.elapsed();
        Ok((
            Self {
                addr,
                stop,
                task,
                signing_key,
                store,
            },
            ready,
        ))
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        let stopped = self.task.await;
        let _ = std::fs::remove_file(&self.signing_key);
        stopped.context("the in-process server panicked")??;
        Ok(())
    }
}

/// A bare axum handler served by `axum::serve` on 127.0.0.1:0: the reference for reads.
/// With a store, the handler first makes one query (`SELECT 1`) on its pool: what one
/// round trip to the database costs a read, with nothing of the engine around it.
async fn bare_server(
    store: Option<Store>,
) -> anyhow::Result<(std::net::SocketAddr, oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let store = store.clone();
            async move {
                if let Some(store) = store {
                    store.ping().await.map_err(|error| error.to_string())?;
                }
                Ok::<_, String>("ok")
            }
        }),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Ok((addr, stop))
}

/// One keep-alive client per worker, so each worker has its own connection.
fn clients(n: usize) -> anyhow::Result<Arc<Vec<reqwest::Client>>> {
    let clients = (0..n)
        .map(|_| reqwest::Client::builder().pool_max_idle_per_host(1).build())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(clients))
}

/// Sends one request and reads its whole answer; anything but a 2xx fails the bench.
async fn send(request: reqwest::RequestBuilder) -> anyhow::Result<()> {
    send_expecting(request, Answer::Success).await
}

/// What a bench request is to be answered with.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// Done.
    Success,
    /// Refused as the client's error (a request without a token).
    Refused,
}

/// Sends `request` and reads its answer, an error unless it is the `expected` one.
async fn send_expecting(request: reqwest::RequestBuilder, expected: Answer) -> anyhow::Result<()> {
    let answer = request.send().await?;
    let status = answer.status();
    let body = answer.bytes().await?;
    let as_expected = match expected {
        Answer::Success => status.is_success(),
        Answer::Refused => status.is_client_error(),
    };
    if !as_expected {
        anyhow::bail!(
            "the server answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(())
}

/// What the figures run on: two policy POCs of two states, a token for the requester, and
/// one sent inquiry per writer (so concurrent commands never wait on one inquiry's lock).
pub(crate) struct Fixture {
    pub(crate) caller: Caller,
    pub(crate) token: String,
    pub(crate) inquiries: Arc<Vec<Uuid>>,
}

pub(crate) async fn fixture(store: &Store, count: usize) -> anyhow::Result<Fixture> {
    let now = clock::now();
    let states = store.list_member_states().await?;
    anyhow::ensure!(
        states.len() >= 2,
        "the directory has fewer than two member states"
    );
    let mut pocs = Vec::new();
    for (state, who) in states.iter().zip(["requester", "responder"]) {
        let poc = NewPoc {
            member_state: state.code.clone(),
            name: PersonName::parse(&format!("Bench {who}"))?,
            affiliation: Affiliation::parse("Ministry of Foreign Affairs")?,
            role: PocRole::Policy,
            email: EmailAddress::parse(&format!("bench-{who}@example.org"))?,
            phone: None,
            languages: Languages::default(),
        };
        pocs.push(store.create_poc(Actor::CommandLine, &poc, now).await?);
    }
    let token = store
        .create_token(
            Actor::CommandLine,
            TokenOwner::Poc(PocId(pocs[0].id)),
            None,
            now,
        )
        .await?
        .secret;
    let caller = store
        .authenticate(&token, now)
        .await?
        .context("the bench token does not authenticate")?;
    let responder = states[1].code.clone();
    let mut inquiries = Vec::new();
    for _ in 0..count {
        let inquiry = store.create_inquiry(&caller, false, None, now).await?;
        let steps = [
            ActionRequest::LookupPoc(responder.clone()),
            ActionRequest::Ready(Action::Invoke {
                languages: Vec::new(),
            }),
            ActionRequest::Ready(Action::Describe {
                nature: Nature::parse("Benchmark incident")?,
                category: ShortText::parse("ddos")?,
                sectors: vec![ShortText::parse("government")?],
                observed_from: None,
                observed_to: None,
                indicators: Vec::new(),
            }),
            ActionRequest::Ready(Action::RequestInfo {
                questions: LongText::parse("What do you know?")?,
                contact: serde_json::from_value(
                    serde_json::json!({"name": "Bench", "email": "bench@example.org"}),
                )?,
                time_sensitivity: TimeSensitivity::Routine,
                respond_by: None,
            }),
        ];
        for action in steps {
            command(store, &caller, inquiry.id, action).await?;
        }
        inquiries.push(inquiry.id);
    }
    Ok(Fixture {
        caller,
        token,
        inquiries: Arc::new(inquiries),
    })
}

/// A `message` command (a transition that leaves the status as it is) saying `text`.
pub(crate) fn message(text: &str) -> anyhow::Result<ActionRequest> {
    Ok(ActionRequest::Ready(Action::Message {
        text: LongText::parse(text)?,
        contact: None,
    }))
}

/// Runs one command as `caller`; a refusal fails the bench.
pub(crate) async fn command(
    store: &Store,
    caller: &Caller,
    inquiry_id: Uuid,
    action: ActionRequest,
) -> anyhow::Result<()> {
    let executed = store
        .execute(
            Command {
                inquiry_id,
                by: IssuedBy::Caller(caller),
                action,
                if_match: None,
                idempotency: None,
                now: clock::now(),
            },
            |_, _| String::new(),
        )
        .await?;
    anyhow::ensure!(
        matches!(executed, Executed::Applied(..)),
        "a bench command was not applied"
    );
    Ok(())
}

const MESSAGE: &str = "Benchmark message.";

/// Runs the benchmark on `store` (which must hold no inquiries; `url` names it, for the
/// in-process server) and prints its table.
pub async fn run(store: &Store, url: &str, plan: BenchPlan) -> anyhow::Result<()> {
    if !store.inquiry_ids().await?.is_empty() {
        anyhow::bail!(
            "the bench database already holds inquiries: give it an empty one (--bench-database-url)"
        );
    }
    let writers = plan.writers.max(1);
    let readers = plan.readers.max(1);
    let duration = plan.duration;
    outln!(
        "cbm2 bench on {} ({}), {} a figure, {} build{}",
        store.backend(),
        store.durability_settings().await?,
        humantime::format_duration(duration),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        if cfg!(debug_assertions) {
            " (figures of a debug build say little: use --release)"
        } else {
            ""
        },
    )?;
    let fixture = fixture(store, writers).await?;
    // Each write figure at 1, then at `writers` (once only when that is 1).
    let levels: Vec<usize> = if writers > 1 {
        vec![1, writers]
    } else {
        vec![1]
    };

    // The server first, while the process is fresh: time to ready and idle memory.
    tracing::info!("starting the in-process server");
    let (server, ready) = Server::start(url, plan.connect_timeout, plan.cache_reads).await?;
    let idle = memory();

    let (http_writes, read_figures) =
        http_figures(&server, store, &fixture, &levels, readers, duration).await?;
    let Reads {
        reads,
        reads_per_query,
        from_memory,
        stack,
        bare,
        one_query,
    } = read_figures;
    server.stop().await?;
    let ceilings = ceiling_figures(store, &levels, duration).await?;
    let in_process = in_process_figures(store, &fixture, &levels, duration).await?;
    let peak = memory();

    let mut rows = Vec::new();
    let ceiling = ceilings[0].1;
    rows.push(Row::load(
        "raw commits (UPDATE+INSERT), 1 connection: the ceiling",
        1,
        ceiling,
        "1.00× rate, 1.0× p50".into(),
    ));
    if let Some(&(concurrency, load)) = ceilings.get(1) {
        rows.push(Row::load(
            "raw commits (UPDATE+INSERT), a connection each",
            concurrency,
            load,
            against_ceiling(load, ceiling),
        ));
    }
    for (concurrency, load, per_commit) in in_process {
        rows.push(Row::load(
            "transitions in process (Store::execute, message)",
            concurrency,
            load,
            format!(
                "{}, {per_commit:.1} a commit",
                against_ceiling(load, ceiling)
            ),
        ));
    }
    for (concurrency, load) in http_writes {
        rows.push(Row::load(
            "transitions over HTTP (POST /v1/inquiries/{id}/message)",
            concurrency,
            load,
            against_ceiling(load, ceiling),
        ));
    }
    rows.push(Row::load(
        "GET /v1/inquiries/{id} over HTTP",
        readers,
        reads,
        [
            Some(format!(
                "{:.2}× bare rate",
                reads.per_second / bare.per_second
            )),
            from_memory.map(|share| format!("{share:.0}% from memory")),
            // With memory on, only the reads it missed went to the database.
            reads_per_query.map(|per_query| match from_memory {
                Some(_) => format!("the rest {per_query:.1} a query"),
                None => format!("{per_query:.1} a query"),
            }),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", "),
    ));
    rows.push(Row::load(
        "the same without a token: 401 before any query (the server's stack)",
        readers,
        stack,
        format!("{:.2}× bare rate", stack.per_second / bare.per_second),
    ));
    rows.push(Row::load(
        "bare axum handler over HTTP (reference)",
        readers,
        bare,
        "1.00× bare rate".into(),
    ));
    rows.push(Row::load(
        "bare axum handler making one query (SELECT 1 on the store's pool)",
        readers,
        one_query,
        format!("{:.2}× bare rate", one_query.per_second / bare.per_second),
    ));
    rows.push(Row::value(
        "time to ready of the in-process server",
        millis(ready),
    ));
    let mib = |memory: Option<(f64, f64)>, pick: fn((f64, f64)) -> f64| {
        memory.map_or("n/a (no /proc)".to_owned(), |m| {
            format!("{:.1} MiB", pick(m))
        })
    };
    rows.push(Row::value(
        "RSS of this process, server ready and idle",
        mib(idle, |m| m.0),
    ));
    rows.push(Row::value(
        "peak RSS of this process after the loads (clients included)",
        mib(peak, |m| m.1),
    ));

    if let Some(scale) = plan.scale {
        let at_size = AtSize {
            fixture: &fixture,
            ceiling,
            duration,
        };
        scale_rows(store, url, plan.connect_timeout, scale, at_size, &mut rows).await?;
    }
    print_table(&rows)?;
    outln!(
        "ratio: write rows against the ceiling (rate ÷ its rate, p50 ÷ its p50); reads against the bare handler."
    )?;
    Ok(())
}

/// A load at each concurrency level.
type Figures = Vec<(usize, Load)>;

/// Through the in-process server: the transitions at each level, then reads, and the bare
/// handler's reads beside them.
async fn http_figures(
    server: &Server,
    store: &Store,
    fixture: &Fixture,
    levels: &[usize],
    readers: usize,
    duration: Duration,
) -> anyhow::Result<(Figures, Reads)> {
    tracing::info!("transitions through HTTP");
    let mut http_writes = Vec::new();
    for &concurrency in levels {
        let clients = clients(concurrency)?;
        let (urls, token) = (
            Arc::new(
                fixture
                    .inquiries
                    .iter()
                    .map(|id| server.url(&format!("/v1/inquiries/{id}/message")))
                    .collect::<Vec<_>>(),
            ),
            Arc::new(fixture.token.clone()),
        );
        // Each with an Idempotency-Key of its own, as the pages and a careful client send.
        let operation: Operation = Arc::new(move |worker| {
            let request = clients[worker]
                .post(&urls[worker % urls.len()])
                .bearer_auth(token.as_str())
                .header("Idempotency-Key", Uuid::new_v4().to_string())
                .json(&serde_json::json!({ "text": MESSAGE }));
            Box::pin(send(request))
        });
        http_writes.push((concurrency, load(concurrency, duration, operation).await?));
    }

    tracing::info!("reads through HTTP");
    let clients_for_reads = clients(readers)?;
    let (urls, token) = (
        Arc::new(
            fixture
                .inquiries
                .iter()
                .map(|id| server.url(&format!("/v1/inquiries/{id}")))
                .collect::<Vec<_>>(),
        ),
        Arc::new(fixture.token.clone()),
    );
    let operation: Operation = {
        let clients = clients_for_reads.clone();
        let urls = urls.clone();
        Arc::new(move |worker| {
            let request = clients[worker]
                .get(&urls[worker % urls.len()])
                .bearer_auth(token.as_str());
            Box::pin(send(request))
        })
    };
    let grouped_before = server.store.read_stats();
    let memory_before = server.store.cache_stats();
    let reads = load(readers, duration, operation).await?;
    let from_memory = memory_before
        .zip(server.store.cache_stats())
        .map(|(before, after)| {
            let hits = after.hits - before.hits;
            let all = hits + after.misses - before.misses;
            100.0 * hits as f64 / all.max(1) as f64
        });
    let reads_per_query = grouped_before
        .zip(server.store.read_stats())
        .map(|(before, after)| {
            (after.reads - before.reads) as f64 / (after.queries - before.queries).max(1) as f64
        });
    // The same requests without a token: refused before any query, so their rate is the
    // server's own stack (routing, middleware, the problem answer), without the database.
    let operation: Operation = {
        let clients = clients_for_reads.clone();
        Arc::new(move |worker| {
            let request = clients[worker].get(&urls[worker % urls.len()]);
            Box::pin(send_expecting(request, Answer::Refused))
        })
    };
    let stack = load(readers, duration, operation).await?;
    let bare = bare_load(None, readers, duration).await?;
    let one_query = bare_load(Some(store.clone()), readers, duration).await?;
    drop(clients_for_reads);
    Ok((
        http_writes,
        Reads {
            reads,
            reads_per_query,
            from_memory,
            stack,
            bare,
            one_query,
        },
    ))
}

/// Reads of a [`bare_server`] (making one query on `store`'s pool if there is one).
async fn bare_load(
    store: Option<Store>,
    readers: usize,
    duration: Duration,
) -> anyhow::Result<Load> {
    let (bare_addr, bare_stop) = bare_server(store).await?;
    let bare_url = Arc::new(format!("http://{bare_addr}/"));
    let clients = clients(readers)?;
    let operation: Operation =
        Arc::new(move |worker| Box::pin(send(clients[worker].get(bare_url.as_str()))));
    let figures = load(readers, duration, operation).await;
    let _ = bare_stop.send(());
    figures
}

/// The read figures: `GET /v1/inquiries/{id}`, the same refused before any query, the
/// bare handler, and the bare handler with one query.
struct Reads {
    reads: Load,
    /// On PostgreSQL, how many token reads a query carried on average ([`Store::read_stats`]).
    reads_per_query: Option<f64>,
    /// On PostgreSQL, the share of the reads answered from memory, in percent
    /// ([`Store::cache_stats`]).
    from_memory: Option<f64>,
    stack: Load,
    bare: Load,
    one_query: Load,
}

/// The raw commit ceiling at each level, on scratch tables made and dropped here.
async fn ceiling_figures(
    store: &Store,
    levels: &[usize],
    duration: Duration,
) -> anyhow::Result<Figures> {
    tracing::info!("the raw commit ceiling");
    store
        .create_ceiling_tables(levels.iter().copied().max().unwrap_or(1))
        .await?;
    let mut ceilings = Vec::new();
    for &concurrency in levels {
        // A connection of its own for each writer, kept for the whole loop.
        let mut connections = Vec::with_capacity(concurrency);
        for _ in 0..concurrency {
            connections.push(tokio::sync::Mutex::new(store.ceiling_connection().await?));
        }
        let connections = Arc::new(connections);
        let operation: Operation = Arc::new(move |worker| {
            let connections = connections.clone();
            Box::pin(async move {
                let at = clock::now().to_rfc3339();
                Ok(connections[worker].lock().await.commit(worker, &at).await?)
            })
        });
        ceilings.push((concurrency, load(concurrency, duration, operation).await?));
    }
    store.drop_ceiling_tables().await?;
    Ok(ceilings)
}

/// The transitions through `Store::execute` at each level, each with the commands a group
/// commit held on average.
async fn in_process_figures(
    store: &Store,
    fixture: &Fixture,
    levels: &[usize],
    duration: Duration,
) -> anyhow::Result<Vec<(usize, Load, f64)>> {
    tracing::info!("transitions in process");
    let mut in_process = Vec::new();
    for &concurrency in levels {
        let (shared, caller, inquiries) = (
            store.clone(),
            Arc::new(fixture.caller.clone()),
            fixture.inquiries.clone(),
        );
        let operation: Operation = Arc::new(move |worker| {
            let (store, caller) = (shared.clone(), caller.clone());
            let id = inquiries[worker % inquiries.len()];
            Box::pin(async move { command(&store, &caller, id, message(MESSAGE)?).await })
        });
        let before = store.write_stats();
        let figures = load(concurrency, duration, operation).await?;
        let after = store.write_stats();
        let per_commit = (after.commands - before.commands) as f64
            / (after.batches - before.batches).max(1) as f64;
        in_process.push((concurrency, figures, per_commit));
    }
    Ok(in_process)
}

/// What the scale figures compare with the figures at the bench's own size.
struct AtSize<'a> {
    fixture: &'a Fixture,
    ceiling: Load,
    duration: Duration,
}

/// The figures at scale: fill, the overdue query, the Secretariat's summary, a
/// transition, the sweeper, a start on the filled database.
async fn scale_rows(
    store: &Store,
    url: &str,
    connect_timeout: Duration,
    plan: ScalePlan,
    at_size: AtSize<'_>,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let now = clock::now();
    tracing::info!(inquiries = plan.inquiries, "filling the database");
    let started = Instant::now();
    let pocs = directory(store, now).await?;
    let filled = fill(store, &pocs, plan, now).await?;
    store.analyze().await?;
    rows.push(Row::value(
        format!(
            "scale: fill {filled} inquiries ({} open), bulk insert",
            plan.open
        ),
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    ));

    let mut samples = Vec::new();
    let mut overdue_count = 0;
    for _ in 0..plan.samples {
        let t = Instant::now();
        let rows = store
            .overdue_inquiries(clock::now(), &OverdueFilter::default(), None, Some(50))
            .await?;
        samples.push(t.elapsed());
        overdue_count = rows.len();
    }
    rows.push(Row::timed(
        format!(
            "scale: overdue query, first page ({overdue_count} rows of {} overdue)",
            plan.open / 5
        ),
        timing(samples),
        plan.samples,
    ));

    // Every inquiry's figures, as `GET /v1/monitoring/summary` gathers them.
    let runs = plan.samples.clamp(1, 20);
    let mut samples = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        Summary::gather(store, clock::now()).await?;
        samples.push(t.elapsed());
    }
    rows.push(Row::timed(
        "scale: the Secretariat's summary, gathered (every inquiry's metadata)",
        timing(samples),
        runs,
    ));
    // As the API and the dashboard serve it: gathered afresh while that is cheap, from its
    // last gathering once that is costly (the first run here gathers).
    let cache = SummaryCache::default();
    let mut samples = Vec::new();
    for _ in 0..plan.samples {
        let t = Instant::now();
        cache.get(store).await?;
        samples.push(t.elapsed());
    }
    rows.push(Row::timed(
        "scale: the Secretariat's summary as served (GET /v1/monitoring/summary)",
        timing(samples),
        plan.samples,
    ));

    // A transition on the filled database, against the ceiling measured before the fill.
    let transitions = in_process_figures(store, at_size.fixture, &[1], at_size.duration).await?;
    for (concurrency, load, _) in transitions {
        rows.push(Row::load(
            "scale: transitions in process at size (Store::execute, message)",
            concurrency,
            load,
            against_ceiling(load, at_size.ceiling),
        ));
    }

    let t = Instant::now();
    let report = store.sweep_deadlines(clock::now()).await?;
    rows.push(Row::value(
        format!(
            "scale: sweeper tick with work ({} deadline_missed, {} reminders)",
            report.deadlines_missed, report.reminders
        ),
        format!("{:.1} s", t.elapsed().as_secs_f64()),
    ));
    let mut samples = Vec::new();
    for _ in 0..plan.samples {
        let t = Instant::now();
        store.sweep_deadlines(clock::now()).await?;
        samples.push(t.elapsed());
    }
    rows.push(Row::timed(
        "scale: sweeper tick, nothing due",
        timing(samples),
        plan.samples,
    ));

    let (server, ready) = Server::start(url, connect_timeout, true).await?;
    server.stop().await?;
    rows.push(Row::value(
        "scale: time to ready of the in-process server on the filled database",
        millis(ready),
    ));
    Ok(())
}

/// One policy POC per member state.
async fn directory(
    store: &Store,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<(MemberStateCode, PocSnapshot)>> {
    let mut pocs = Vec::new();
    for state in store.list_member_states().await? {
        let name = format!("POC of {}", state.code);
        let poc = NewPoc {
            member_state: state.code.clone(),
            name: PersonName::parse(&name)?,
            affiliation: Affiliation::parse("Ministry of Foreign Affairs")?,
            role: PocRole::Policy,
            email: EmailAddress::parse(&format!(
                "poc@{}.example.org",
                state.code.as_str().to_lowercase()
            ))?,
            phone: None,
            languages: Languages::default(),
        };
        let record = store.create_poc(Actor::CommandLine, &poc, now).await?;
        pocs.push((
            state.code,
            PocSnapshot {
                id: record.id,
                name,
                affiliation: record.affiliation,
                email: record.email,
                languages: Vec::new(),
            },
        ));
    }
    Ok(pocs)
}

/// What a generated inquiry looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Answered and closed: no deadline runs.
    Closed,
    /// Awaiting a response, due in five days.
    Open,
    /// Awaiting a response, past its deadline.
    Overdue,
}

/// A projection built through the protocol's own `apply`: closed, open, or overdue.
fn inquiry(
    requester: &(MemberStateCode, PocSnapshot),
    responder: &(MemberStateCode, PocSnapshot),
    created: DateTime<Utc>,
    kind: Kind,
) -> Inquiry {
    let name = |code: &MemberStateCode| StateName {
        en: code.to_string(),
        es: code.to_string(),
        fr: code.to_string(),
        pt: code.to_string(),
    };
    let id = Uuid::now_v7();
    let step = |minutes: i64| created + TimeDelta::minutes(minutes);
    let mut events = vec![
        (
            create(
                requester.0.clone(),
                name(&requester.0),
                Requester {
                    poc_id: requester.1.id,
                    name: requester.1.name.clone(),
                    affiliation: requester.1.affiliation.clone(),
                },
                false,
                None,
            ),
            step(0),
        ),
        (
            EventData::LookupPoc {
                responding_state: responder.0.clone(),
                responding_state_name: name(&responder.0),
                responding_pocs: vec![responder.1.clone()],
            },
            step(1),
        ),
        (
            EventData::Invoke {
                language: Language::En,
                invocation_text: "(bench)".into(),
                languages: Vec::new(),
            },
            step(2),
        ),
        (
            EventData::Describe {
                incident: Incident {
                    nature: "Benchmark incident".into(),
                    category: "ddos".into(),
                    sectors: vec!["government".into()],
                    observed_from: None,
                    observed_to: None,
                    indicators: Vec::new(),
                },
            },
            step(3),
        ),
    ];
    let ack_due_at = match kind {
        Kind::Overdue => clock::now() - TimeDelta::hours(1 + (created.timestamp() % 500)),
        Kind::Open | Kind::Closed => clock::now() + TimeDelta::days(5),
    };
    events.push((
        EventData::RequestInfo {
            questions: "What do you know?".into(),
            contact: serde_json::from_value(
                serde_json::json!({"name": "Bench", "email": "bench@example.org"}),
            )
            .expect("contact"),
            time_sensitivity: TimeSensitivity::Routine,
            ack_due_at,
        },
        step(4),
    ));
    if kind == Kind::Closed {
        events.push((
            EventData::Respond {
                information: "Answered.".into(),
                third_states: Vec::new(),
            },
            step(600),
        ));
        events.push((EventData::Close { resolution: None }, step(700)));
    }
    let mut inquiry: Option<Inquiry> = None;
    for (seq, (event, at)) in events.iter().enumerate() {
        inquiry =
            Some(apply(inquiry.as_ref(), id, seq as i64 + 1, event, *at).expect("a valid path"));
    }
    inquiry.expect("events")
}

/// Inserts the inquiry rows in batches (projections only: the bench database holds no
/// events, so `cbm2 audit verify` does not apply to it).
async fn fill(
    store: &Store,
    pocs: &[(MemberStateCode, PocSnapshot)],
    plan: ScalePlan,
    now: DateTime<Utc>,
) -> anyhow::Result<u32> {
    let mut written = 0;
    while written < plan.inquiries {
        let batch: Vec<Inquiry> = (written..(written + 1000).min(plan.inquiries))
            .map(|i| {
                let requester = &pocs[i as usize % pocs.len()];
                let responder = &pocs[(i as usize * 7 + 1) % pocs.len()];
                let responder = if responder.0 == requester.0 {
                    &pocs[(i as usize + 1) % pocs.len()]
                } else {
                    responder
                };
                let created = now - TimeDelta::minutes(i64::from(plan.inquiries - i) * 3);
                // Every stride-th inquiry is open, and every fifth open one overdue.
                let stride = (plan.inquiries / plan.open.max(1)).max(1);
                let open_index = i
                    .is_multiple_of(stride)
                    .then_some(i / stride)
                    .filter(|n| *n < plan.open);
                let kind = match open_index {
                    Some(n) if n.is_multiple_of(5) => Kind::Overdue,
                    Some(_) => Kind::Open,
                    None => Kind::Closed,
                };
                inquiry(requester, responder, created, kind)
            })
            .collect();
        written += batch.len() as u32;
        store.insert_projections_for_bench(&batch).await?;
    }
    Ok(written)
}
