//! The command line: `cbm2 serve`, `cbm2 migrate`, `cbm2 token …`, `cbm2 audit …`,
//! `cbm2 staff …`, `cbm2 login-link`.

use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

use crate::deadlines::MIN_SWEEP_INTERVAL;
use crate::delivery::DeliverySettings;
use crate::delivery::email::Mailer;
use crate::domain::{IsoDuration, Label, MemberStateCode, PocId};
use crate::http::limits::{HttpLimits, Rate, RateLimits};
use crate::http::monitoring::{OverdueItem, Summary};
use crate::startup::{Application, Settings, shutdown_signal};
use crate::store::Store;
use crate::store::chain::{ChainHead, ChainReport};
use crate::store::directory::Actor;
use crate::store::directory::PocRecord;
use crate::store::monitoring::{OverdueFilter, OverdueRow};
use crate::store::open::{self, OpenError, OpenOptions};
use crate::store::tokens::TokenOwner;
use crate::telemetry::{self, LogFormat};
use crate::{bench, clock};

mod poc;
mod staff;
pub use poc::PocCommand;
pub use staff::{LoginLinkArgs, StaffCommand};

/// cbm2: the inquiry-workflow engine for OAS Cyber Confidence-Building Measure #2.
///
/// Every command but `audit verify-record` and `audit public-key` works on the database
/// named by --database-url, says which on stderr, and applies its pending migrations first.
/// Only `serve` and `migrate` create a missing SQLite file; the other commands refuse one.
#[derive(Debug, Parser)]
#[command(name = "cbm2", version, propagate_version = true)]
pub struct Cli {
    /// Database: sqlite://PATH (created if missing by serve and migrate only) or
    /// postgres://USER@HOST/DB.
    #[arg(
        long,
        global = true,
        env = "CBM2_DATABASE_URL",
        default_value = "sqlite://cbm2.db"
    )]
    pub database_url: String,

    /// How long to wait for PostgreSQL to accept the first connection before giving up
    /// (humantime: 5s, 500ms).
    #[arg(long, global = true, env = "CBM2_CONNECT_TIMEOUT", default_value = "5s", value_parser = parse_delay)]
    pub connect_timeout: Duration,

    /// Log format on stderr. The level comes from RUST_LOG (default: info; `bench`: warn).
    #[arg(
        long,
        global = true,
        env = "CBM2_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// The file holding the instance's Ed25519 key, which signs inquiry records (PKCS#8
    /// PEM, mode 0600; made by `serve` or `audit public-key` when missing). Default: beside
    /// a SQLite database (cbm2.db.signing-key), else cbm2-signing.key in the working
    /// directory. Back it up with the database; give every instance that shares a
    /// PostgreSQL database the same file.
    #[arg(long, global = true, env = "CBM2_SIGNING_KEY", value_name = "FILE")]
    pub signing_key: Option<std::path::PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The signing key's file: --signing-key, or its default for the database.
    fn signing_key_path(&self) -> std::path::PathBuf {
        self.signing_key
            .clone()
            .unwrap_or_else(|| crate::startup::default_signing_key(&self.database_url))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API until Ctrl-C or SIGTERM (then finish in-flight requests within the
    /// shutdown grace, exit 0).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create, list and revoke bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The directory of points of contact: add, list, import and export (CSV).
    #[command(subcommand)]
    Poc(PocCommand),
    /// The Secretariat's staff accounts, who sign in to the web UI: add, list, remove.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Print the sign-in link(s) for an e-mail address, one per line with whom it signs in
    /// as, for an operator to hand over where no SMTP relay is configured. Each works
    /// once, for 15 minutes, and signs in whoever holds it: hand it to its owner only.
    /// Exits 1 if no active POC or staff account has the address.
    LoginLink(LoginLinkArgs),
    /// What the Secretariat monitors, read from the database (no API needed).
    #[command(subcommand)]
    Monitor(MonitorCommand),
    /// Measure the engine against its database on a throwaway one: the raw commit ceiling,
    /// transitions in process and over HTTP, reads, time to ready and memory, in one table
    /// (with --scale, also the figures at 100 000 inquiries or more). Prints figures,
    /// asserts nothing.
    Bench(BenchArgs),
    /// Copy the SQLite database to a new file while the server runs, verify the copy's
    /// audit chain and print its head, `SEQ:HASH`, alone on stdout. On PostgreSQL, refuse
    /// and print the pg_dump command to use instead.
    Backup(BackupArgs),
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write the copy to; it must not exist.
    #[arg(long, value_name = "FILE")]
    pub to: std::path::PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum MonitorCommand {
    /// Print the overdue inquiries, most overdue first (metadata only).
    Overdue {
        /// Only inquiries from or to this member state (ISO 3166-1 alpha-3; one of the 35
        /// OAS Member States).
        #[arg(long, value_parser = parse_member_state)]
        member_state: Option<MemberStateCode>,
    },
    /// Print the summary the Secretariat watches (the figures of GET
    /// /v1/monitoring/summary): inquiries by status and time sensitivity, response times,
    /// states without an active policy POC, stale POCs, failed deliveries.
    Summary,
}

#[derive(Debug, Args)]
#[command(after_long_help = BENCH_TABLE_HELP)]
pub struct BenchArgs {
    /// The database to measure: it must hold no inquiries, and is left filled (drop it
    /// afterwards). Default: a new SQLite file in the temporary directory, removed
    /// afterwards. Never the --database-url. On PostgreSQL add `?sslmode=disable` to
    /// measure without TLS, as a server on the same machine would run.
    #[arg(long, value_name = "URL")]
    pub bench_database_url: Option<String>,
    /// How long each throughput figure is measured, after a warm-up of 3 operations per
    /// worker (humantime: 2s, 500ms).
    #[arg(long, default_value = "2s", value_parser = parse_delay)]
    pub duration: Duration,
    /// The concurrent commands of the second row of each write figure (raw commits, in
    /// process, over HTTP); the first row is at 1. Each writer has its own inquiry.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub writers: u16,
    /// The concurrent keep-alive connections of the read figures (GET /v1/inquiries/{id}
    /// and the bare axum handler).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub readers: u16,
    /// As `serve --cache-reads`: on PostgreSQL the in-process server answers token reads
    /// and reads of one inquiry from memory kept current by the database's notifications
    /// (the GET row says what share); false reads the database for every request.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub cache_reads: bool,
    /// Also fill the database with generated inquiries (without events: its audit chain
    /// does not verify) and time, at that size, the overdue query, sweeper ticks, and the
    /// server's time to ready. Slow: tens of seconds at 100 000 inquiries, minutes at a
    /// million.
    #[arg(long)]
    pub scale: bool,
    /// With --scale: how many inquiries to create (1000000 for the figures at a million).
    #[arg(long, default_value_t = 100_000, requires = "scale")]
    pub inquiries: u32,
    /// With --scale: how many of them are open (a fifth of those overdue).
    #[arg(long, default_value_t = 10_000, requires = "scale")]
    pub open: u32,
    /// With --scale: how many times each query is timed.
    #[arg(long, default_value_t = 200, requires = "scale")]
    pub samples: u32,
}

/// What `cbm2 bench --help` says of its table.
const BENCH_TABLE_HELP: &str = "\
The table (Markdown, on stdout; progress on stderr), every figure measured in this process,
none asserted:

  raw commits, 1 connection: the ceiling
      An UPDATE and an INSERT in one transaction, in a loop, on one connection kept for
      the loop, made with the settings of the store's write pool (those every command
      gets: WAL and synchronous=FULL, BEGIN IMMEDIATE on SQLite; the server's
      synchronous_commit on PostgreSQL, printed in the first line), on two scratch tables
      the bench creates and drops (ordinary tables: a TEMP table is not made durable the
      same way). What the database itself can commit.
  raw commits, a connection each
      The same at --writers concurrent transactions, each on its own connection and row
      (on SQLite they take the file's one write lock in turn, through the busy timeout).
  transitions in process
      `message` commands (a transition that leaves the status as it is) through
      Store::execute, at 1 and at --writers concurrent commands, each on its own inquiry:
      the engine without HTTP.
  transitions over HTTP
      The same through POST /v1/inquiries/{id}/message, each request with an
      Idempotency-Key of its own, against the real server (Application::build: cbm2
      serve's defaults, rate limits off, its sweeper and delivery worker running) on
      127.0.0.1:0, from a reqwest client per worker on a keep-alive connection, in the same
      process.
  GET /v1/inquiries/{id} over HTTP, the same without a token, bare axum handler
      Reads at --readers connections (the token and the inquiry in one query; on
      PostgreSQL the reads queued while one is in flight share the next query, and the
      row says how many a query carried on average and, with --cache-reads, what share
      memory answered); the same
      requests without a token, refused with 401 before any query (the server's own stack:
      routing, middleware, the answer); the bare handler (axum::serve, one route answering
      \"ok\"), the reference for what HTTP costs in this process.
  bare axum handler making one query
      The bare handler, making one query (SELECT 1) on the store's read pool before it
      answers: what one round trip to the database for each request costs a read.
  time to ready
      From Application::build (open the database, migrate, lock, bind) to the first 200 from
      GET /v1/health, on the already migrated bench database.
  RSS
      VmRSS of this process once the server is ready and idle (the bench's own pool and
      runtime included), and its peak (VmHWM) after the loads, the clients included.
  scale: … (with --scale)
      The fill, the overdue query's first page, sweeper ticks, and time to ready again.

Columns: concurrency (workers at once), result (operations a second, or the value), p50 and
p99 latency of one operation, ratio: write rows against the ceiling (rate ÷ its rate, p50 ÷
its p50), reads against the bare handler's rate. Server and clients share the machine's
cores: rerun on a quiet machine, in release mode, for figures to compare.";

/// `--attachment-types`' default: [`crate::http::attachments::DEFAULT_TYPES`].
const ATTACHMENT_TYPES: &str = "application/gzip,application/json,application/pdf,application/vnd.tcpdump.pcap,application/zip,image/jpeg,image/png,message/rfc822,text/csv,text/plain,application/stix+json";

/// A content type as `--attachment-types` takes it: `type/subtype`, lowercase, no
/// parameters.
fn parse_content_type(value: &str) -> Result<String, String> {
    let parsed: mime::Mime = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a content type (type/subtype)"))?;
    if parsed.params().next().is_some() {
        return Err(format!("{value:?}: give the type without parameters"));
    }
    Ok(parsed.essence_str().to_ascii_lowercase())
}

fn parse_member_state(value: &str) -> Result<MemberStateCode, String> {
    MemberStateCode::parse(value).map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the record, offline, on the database: the hash chain of every inquiry event,
    /// and every inquiry row against the replay of its events. Exits 0 when all is sound
    /// (printing the chain's head, to keep), 1 naming the inquiry and the event (`seq`) or
    /// column of the first thing found wrong.
    Verify {
        /// A head kept from earlier (`cbm2 audit head`, or a verification's answer): also
        /// fail unless the first SEQ events still end in HASH. Without it, a rewrite of
        /// the whole chain by someone with write access to the database goes unseen.
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Option<ChainHead>,
    },
    /// Print the chain's head, `SEQ:HASH` (its last event's position and hash), alone on
    /// stdout: keep it outside the database and give it later to `verify --expect-head`.
    Head,
    /// Print the instance's public key (base64), alone on stdout, and its fingerprint and
    /// file on stderr: what states check signed records against (the server answers the
    /// same at GET /v1/audit/public-key). Makes the key file if there is none.
    PublicKey,
    /// Check a signed inquiry record (GET /v1/inquiries/{id}/record), offline: its Ed25519
    /// signature, and every event's hash against its content. Needs no database and
    /// trusts nothing of the instance that sent it but the key. Exits 0 when sound, 1
    /// naming the first thing found wrong.
    VerifyRecord {
        /// The record, as downloaded.
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
        /// The instance's public key, obtained apart from the record (its operator, GET
        /// /v1/audit/public-key): base64 or PEM, or a file holding either. Without it the
        /// signature is checked against the key the record names, which proves only that
        /// the record is whole, not who issued it.
        #[arg(long, value_name = "KEY")]
        public_key: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (127.0.0.1:8080; 0.0.0.0:8080 for every interface,
    /// behind a TLS reverse proxy).
    #[arg(long, env = "CBM2_BIND", default_value = "127.0.0.1:8080", value_parser = parse_bind)]
    pub bind: String,
    /// Serve Prometheus metrics at http://ADDR/metrics, a listener apart from the API
    /// (unauthenticated: keep it on a private address). Off when not given.
    #[arg(long, env = "CBM2_METRICS_BIND", value_name = "ADDR")]
    pub metrics_bind: Option<String>,
    /// How often to record missed deadlines and reminders (humantime: 30s, 5m, 100ms;
    /// at least 100ms). The sweep also runs once at start.
    #[arg(long, env = "CBM2_SWEEP_INTERVAL", default_value = "30s", value_parser = parse_sweep_interval)]
    pub sweep_interval: Duration,
    /// Remind the acting state once this share of a deadline's window has elapsed
    /// (0 to 1).
    #[arg(long, env = "CBM2_REMINDER_SHARE", default_value_t = crate::store::DEFAULT_REMINDER_SHARE, value_parser = parse_share)]
    pub reminder_share: f64,
    /// How many inquiry commands one database transaction may hold (group commit: the
    /// commands that arrive while a commit is in flight share the next one; 1 to 1024,
    /// 1 commits each alone).
    #[arg(long, env = "CBM2_WRITE_BATCH", default_value_t = crate::store::writer::DEFAULT_MAX_BATCH, value_parser = parse_write_batch)]
    pub write_batch: usize,
    /// On SQLite, how long the inquiry commands' writer keeps the one write connection at
    /// most while commands keep following each other (each within 1ms of the last
    /// commit), before giving it back to the server's other writes; 0s to 1s (humantime),
    /// 0s gives it back after every batch.
    #[arg(long, env = "CBM2_WRITE_HOLD", default_value = "10ms", value_parser = parse_write_hold)]
    pub write_hold: Duration,
    /// On PostgreSQL, how many requests' token reads one query may carry (group read:
    /// the reads that arrive while a query is in flight share the next one; 1 to 1024,
    /// 1 reads each through the pool, side by side). SQLite reads each on the request's own thread.
    #[arg(long, env = "CBM2_READ_BATCH", default_value_t = crate::store::grouped_reads::DEFAULT_MAX_READS, value_parser = parse_read_batch)]
    pub read_batch: usize,
    /// The inquiries kept decoded for reads of one inquiry, in bytes of their stored text
    /// (0 to 1 GiB; 0 keeps none). Never stale: a read compares the stored text with the
    /// one it decoded.
    #[arg(long, env = "CBM2_INQUIRY_CACHE", default_value_t = crate::store::decoded::DEFAULT_BUDGET_BYTES as u64, value_parser = clap::value_parser!(u64).range(0..=1_073_741_824))]
    pub inquiry_cache: u64,
    /// On PostgreSQL, answer token reads (every request's) and reads of one inquiry from
    /// memory, which the database's notifications keep current: a change committed
    /// anywhere (another instance, the command line) is seen once its notification
    /// arrives, and never later than 3 seconds (past that without word from the database,
    /// every read goes to it). false reads the database for every request. SQLite always does.
    #[arg(long, env = "CBM2_CACHE_READS", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub cache_reads: bool,
    /// With --cache-reads, how many tokens memory keeps at most (1 to 1000000; about
    /// 200 bytes each), least recently used out first: a token let go is read from the
    /// database on its next use.
    #[arg(long, env = "CBM2_CACHE_TOKENS", default_value_t = crate::store::listened::DEFAULT_MAX_TOKENS, value_parser = parse_cache_tokens)]
    pub cache_tokens: usize,
    /// The base of the links in notifications (default: http://BIND).
    #[arg(long, env = "CBM2_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// The SMTP relay for e-mail notifications, as lettre reads it: smtps://host (implicit
    /// TLS), smtp://host:587?tls=required (STARTTLS), smtp://host:25 (plain, a local relay);
    /// user and password in the URL. Without it e-mail deliveries are recorded as skipped.
    #[arg(
        long,
        env = "CBM2_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,
    /// The sender of e-mail notifications.
    #[arg(long, env = "CBM2_MAIL_FROM", default_value = "cbm2 <cbm2@localhost>")]
    pub mail_from: String,
    /// The first delay before retrying a failed delivery; each next one doubles (capped at
    /// six hours), plus up to 25% jitter.
    #[arg(long, env = "CBM2_DELIVERY_RETRY_BASE", default_value = "30s", value_parser = parse_delay)]
    pub delivery_retry_base: Duration,
    /// After this many attempts a delivery is failed (the default spans about a day).
    #[arg(long, env = "CBM2_DELIVERY_MAX_ATTEMPTS", default_value_t = crate::delivery::DEFAULT_MAX_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub delivery_max_attempts: u32,
    /// How long a worker's claim on a delivery lasts (1s to 60s); a claim whose worker died
    /// is taken again after it.
    #[arg(long, env = "CBM2_DELIVERY_LEASE", default_value = "60s", value_parser = parse_lease)]
    pub delivery_lease: Duration,
    /// How often the delivery worker looks for work (at least 100ms).
    #[arg(long, env = "CBM2_DELIVERY_POLL", default_value = "1s", value_parser = parse_sweep_interval)]
    pub delivery_poll: Duration,
    /// How many delivery attempts one server makes at once.
    #[arg(long, env = "CBM2_DELIVERY_CONCURRENCY", default_value_t = crate::delivery::DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..=1024).map(usize::from))]
    pub delivery_concurrency: usize,
    /// How many of them may go to one receiver (a webhook's scheme, host and port, or the
    /// SMTP relay): a receiver that hangs holds no more slots than this.
    #[arg(long, env = "CBM2_DELIVERY_PER_TARGET", default_value_t = crate::delivery::DEFAULT_PER_TARGET, value_parser = clap::value_parser!(u16).range(1..=1024).map(usize::from))]
    pub delivery_per_target: usize,
    /// How long one webhook attempt may take, name resolution included (at most the
    /// delivery lease: an attempt never outlives its claim).
    #[arg(long, env = "CBM2_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = parse_delay)]
    pub webhook_timeout: Duration,
    /// How long one e-mail attempt may take (at most the delivery lease).
    #[arg(long, env = "CBM2_SMTP_TIMEOUT", default_value = "30s", value_parser = parse_delay)]
    pub smtp_timeout: Duration,
    /// How many active webhooks one owner (a POC, or the Secretariat) may have.
    #[arg(long, env = "CBM2_MAX_WEBHOOKS_PER_OWNER", default_value_t = crate::store::webhooks::DEFAULT_MAX_WEBHOOKS_PER_OWNER, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_webhooks_per_owner: u32,
    /// After SIGTERM or Ctrl-C, how long in-flight requests and delivery attempts may go
    /// on; then they are abandoned and the server exits (an abandoned delivery is made
    /// again after its lease).
    #[arg(long, env = "CBM2_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_grace)]
    pub shutdown_grace: Duration,
    /// Let webhooks point at loopback and private addresses, over http or https (local
    /// setups and tests). Off: such URLs are refused, and public ones need https.
    #[arg(long, env = "CBM2_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub webhook_allow_private: bool,
    /// How long a client has to send a request's headers in full, from the connection's
    /// opening or the end of the previous answer; then the connection is closed.
    #[arg(long, env = "CBM2_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_delay)]
    pub header_read_timeout: Duration,
    /// A connection on which nothing moves while no request is being answered (idle
    /// keep-alive, a client that stopped reading) is closed after this long.
    #[arg(long, env = "CBM2_KEEP_ALIVE_TIMEOUT", default_value = "5s", value_parser = parse_delay)]
    pub keep_alive_timeout: Duration,
    /// How long a request may take to be answered; then it is abandoned and answered 503.
    #[arg(long, env = "CBM2_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_delay)]
    pub request_timeout: Duration,
    /// Connections open at once; more wait to be accepted. Keep it below the process's
    /// file limit (ulimit -n) less the database connections.
    #[arg(long, env = "CBM2_MAX_CONNECTIONS", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Requests answered at once; more are answered 503 with Retry-After at once.
    #[arg(long, env = "CBM2_MAX_IN_FLIGHT", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: u32,
    /// The largest directory file POST /v1/pocs/import reads, in bytes (413 past it).
    #[arg(long, env = "CBM2_IMPORT_BODY_LIMIT", default_value_t = crate::directory_file::IMPORT_LIMIT_BYTES as u64, value_parser = clap::value_parser!(u64).range(65_536..=67_108_864))]
    pub import_body_limit: u64,
    /// The largest file attached to an inquiry as evidence, in bytes (1 KiB to 256 MiB;
    /// 413 past it).
    #[arg(long, env = "CBM2_ATTACHMENT_LIMIT", default_value_t = crate::http::attachments::DEFAULT_LIMIT as u64, value_parser = clap::value_parser!(u64).range(1024..=268_435_456))]
    pub attachment_limit: u64,
    /// The content types taken as evidence, comma-separated (type/subtype); a file of
    /// any other type is refused (422).
    #[arg(long, env = "CBM2_ATTACHMENT_TYPES", value_delimiter = ',', default_value = ATTACHMENT_TYPES, value_parser = parse_content_type)]
    pub attachment_types: Vec<String>,
    /// Keep attachments' bytes in this directory (one file per attachment, named by its
    /// id; created if missing) instead of the database. Back it up with the database.
    #[arg(long, env = "CBM2_ATTACHMENTS_DIR", value_name = "DIR")]
    pub attachments_dir: Option<std::path::PathBuf>,
    /// Per-caller rate limits (429 with Retry-After past them); false switches them off.
    #[arg(long, env = "CBM2_RATE_LIMITS", default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub rate_limits: bool,
    /// Writes (every method but GET and HEAD) a second one principal may make once its
    /// burst is spent.
    #[arg(long, env = "CBM2_WRITE_RATE", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub write_rate: u32,
    /// Writes one principal may make at once.
    #[arg(long, env = "CBM2_WRITE_BURST", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub write_burst: u32,
    /// Reads (GET, HEAD) a second one principal may make once its burst is spent.
    #[arg(long, env = "CBM2_READ_RATE", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub read_rate: u32,
    /// Reads one principal may make at once.
    #[arg(long, env = "CBM2_READ_BURST", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub read_burst: u32,
    /// Requests without a valid token a second from one client address (an IPv6 client by
    /// its /64) once its burst is spent.
    #[arg(long, env = "CBM2_UNAUTHENTICATED_RATE", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub unauthenticated_rate: u32,
    /// Requests without a valid token one client address may make at once.
    #[arg(long, env = "CBM2_UNAUTHENTICATED_BURST", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub unauthenticated_burst: u32,
}

impl ServeArgs {
    /// The limits of the HTTP edge these arguments ask for.
    fn http_limits(&self) -> HttpLimits {
        let rate = |per_second, burst| Rate::new(per_second, burst).expect("flags are at least 1");
        HttpLimits {
            header_read_timeout: self.header_read_timeout,
            keep_alive_timeout: self.keep_alive_timeout,
            request_timeout: self.request_timeout,
            max_connections: self.max_connections as usize,
            max_in_flight: self.max_in_flight as usize,
            import_body_limit: self.import_body_limit as usize,
            rate_limits: self.rate_limits.then(|| RateLimits {
                writes: rate(self.write_rate, self.write_burst),
                reads: rate(self.read_rate, self.read_burst),
                unauthenticated: rate(self.unauthenticated_rate, self.unauthenticated_burst),
            }),
        }
    }
}

/// An address to listen on: `HOST:PORT`, the host an IP address (IPv6 in brackets) or a
/// name. A bare port is the likely slip, and the message shows what was meant.
fn parse_bind(value: &str) -> Result<String, String> {
    if value.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(value.to_owned());
    }
    if let Some((host, port)) = value.rsplit_once(':')
        && !host.is_empty()
        && !host.contains(':')
        && port.parse::<u16>().is_ok()
    {
        return Ok(value.to_owned());
    }
    let port = value.trim_start_matches(':').parse::<u16>().unwrap_or(8080);
    Err(format!(
        "needs HOST:PORT, e.g. 127.0.0.1:{port} (or 0.0.0.0:{port} for every interface, \
         [::1]:{port} for IPv6)"
    ))
}

fn parse_delay(value: &str) -> Result<Duration, String> {
    let delay = humantime::parse_duration(value).map_err(|e| format!("{e} (e.g. 30s, 100ms)"))?;
    if delay < Duration::from_millis(10) {
        return Err("must be at least 10ms".into());
    }
    Ok(delay)
}

fn parse_write_hold(value: &str) -> Result<Duration, String> {
    let hold = humantime::parse_duration(value).map_err(|e| format!("{e} (e.g. 10ms, 0s)"))?;
    if hold > crate::store::direct::MAX_HOLD_LIMIT {
        return Err(format!(
            "must be at most {}",
            humantime::format_duration(crate::store::direct::MAX_HOLD_LIMIT)
        ));
    }
    Ok(hold)
}

fn parse_grace(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value).map_err(|e| format!("{e} (e.g. 10s, 500ms, 0s)"))
}

fn parse_lease(value: &str) -> Result<Duration, String> {
    let lease = parse_delay(value)?;
    if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&lease) {
        return Err("must be from 1s to 60s".into());
    }
    Ok(lease)
}

fn parse_sweep_interval(value: &str) -> Result<Duration, String> {
    let interval =
        humantime::parse_duration(value).map_err(|e| format!("{e} (e.g. 30s, 5m, 100ms)"))?;
    if interval < MIN_SWEEP_INTERVAL {
        return Err(format!(
            "must be at least {}",
            humantime::format_duration(MIN_SWEEP_INTERVAL)
        ));
    }
    Ok(interval)
}

fn parse_write_batch(value: &str) -> Result<usize, String> {
    parse_batch(value, crate::store::writer::MAX_BATCH_LIMIT)
}

fn parse_cache_tokens(value: &str) -> Result<usize, String> {
    parse_batch(value, crate::store::listened::MAX_TOKENS_LIMIT)
}

fn parse_read_batch(value: &str) -> Result<usize, String> {
    parse_batch(value, crate::store::grouped_reads::MAX_READS_LIMIT)
}

/// A batch size: a whole number from 1 to `limit`.
fn parse_batch(value: &str, limit: usize) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(size) if (1..=limit).contains(&size) => Ok(size),
        _ => Err(format!(
            "must be a whole number from 1 to {limit}, got {value:?}"
        )),
    }
}

fn parse_share(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("must be a number from 0 to 1, got {value:?}")),
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, alone, on stdout. It is shown this once.
    ///
    /// The first Secretariat token must come from here:
    /// `cbm2 token create --secretariat --label ops`.
    Create(TokenCreateArgs),
    /// Revoke a token by id: it answers 401 from then on (a server on PostgreSQL reading
    /// from memory refuses it once the database's notification reaches it, within
    /// milliseconds; never later than 3 seconds).
    Revoke {
        /// The token's id (printed on stderr at creation, and by `cbm2 token list`).
        token_id: Uuid,
    },
    /// List tokens (never their secrets), newest first.
    List,
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// A token for the OAS Secretariat.
    #[arg(long, conflicts_with = "poc", required_unless_present = "poc")]
    pub secretariat: bool,
    /// A token for this point of contact: its id, or its e-mail address (which must be
    /// that of exactly one active POC).
    #[arg(long, value_name = "POC_ID|EMAIL")]
    pub poc: Option<String>,
    /// A name to recognise the token by.
    #[arg(long, value_name = "NAME", value_parser = parse_label)]
    pub label: Label,
}

fn parse_label(value: &str) -> Result<Label, String> {
    Label::parse(value).map_err(|e| e.to_string())
}

/// Why a command's result could not be written on stdout.
#[derive(Debug, thiserror::Error)]
pub enum StdoutError {
    /// The reader went away (`cbm2 token list | head -1`): the command ends quietly, with
    /// success, as Unix tools do.
    #[error("stdout was closed")]
    Closed,
    #[error("cannot write to stdout: {0}")]
    Io(std::io::Error),
}

/// Writes one line of a command's result on stdout. Unlike `println!`, a closed stdout is
/// an error to return ([`StdoutError::Closed`]), not a panic.
pub fn write_line(line: std::fmt::Arguments<'_>) -> Result<(), StdoutError> {
    use std::io::Write;
    writeln!(std::io::stdout().lock(), "{line}").map_err(|error| {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            StdoutError::Closed
        } else {
            StdoutError::Io(error)
        }
    })
}

/// `println!` for a command's result, returning [`StdoutError`] instead of panicking
/// when the reader of stdout has gone.
macro_rules! outln {
    () => {
        $crate::cli::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::write_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// Runs a parsed command line; the process exits with the returned code.
pub fn run(cli: Cli) -> ExitCode {
    // The bench's server would log every request at info: only its warnings, unless
    // RUST_LOG says otherwise.
    let default_filter = match cli.command {
        Command::Bench(_) => telemetry::BENCH_FILTER,
        _ => telemetry::DEFAULT_FILTER,
    };
    telemetry::init(cli.log_format, default_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(execute(cli));
    // What `serve` abandoned at the end of its shutdown grace (a name lookup on a blocking
    // thread, a connection's task) must not hold the process: give it a moment, no more.
    runtime.shutdown_timeout(Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if stdout_closed(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

fn stdout_closed(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| matches!(cause.downcast_ref(), Some(StdoutError::Closed)))
}

/// The error and its causes on one line, each said once: a cause whose text its wrapper
/// already shows (as thiserror's `{0}` and sqlx's messages do) is left out.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(text.trim()) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text.trim());
    }
    line.replace('\n', " ")
}

/// `cbm2 audit verify-record`: the verdict on stdout, a warning on stderr when no key was
/// given to check the signer against.
fn verify_record(file: &std::path::Path, public_key: Option<&str>) -> anyhow::Result<()> {
    use anyhow::Context;
    let expected = public_key
        .map(|key| {
            let text = if key.trim_start().starts_with("-----BEGIN")
                || crate::record::PublicKey::parse(key).is_ok()
            {
                key.to_owned()
            } else {
                std::fs::read_to_string(key).with_context(|| {
                    format!("--public-key {key}: neither a key (base64, PEM) nor a readable file")
                })?
            };
            crate::record::PublicKey::parse(&text)
                .map_err(|error| anyhow::anyhow!("--public-key: {error}"))
        })
        .transpose()?;
    let document =
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let verified = crate::record::verify(&document, expected.as_ref())
        .map_err(|error| anyhow::anyhow!("invalid record {}: {error}", file.display()))?;
    let checked = if verified.hashes_checked {
        "each hash matching its content"
    } else {
        "without content or hashes (the Secretariat's record): the signature covers them"
    };
    outln!(
        "valid: the record of inquiry {} exported by {} at {}, signed by {}; {} events, {checked}; \
         chain head {}",
        verified.inquiry_id,
        verified.instance_url,
        verified
            .exported_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        verified.public_key,
        verified.events,
        verified.chain_head,
    )?;
    if expected.is_none() {
        eprintln!(
            "warning: checked against the key the record names, which anyone could put there: \
             compare {} with the instance's key (its operator's `cbm2 audit public-key`, or GET \
             /v1/audit/public-key) or pass --public-key",
            verified.public_key
        );
    }
    Ok(())
}

/// Opens the command's database and says on stderr which it is.
async fn open_store(cli: &Cli, create: bool) -> Result<Store, OpenError> {
    let options = OpenOptions {
        create,
        connect_timeout: cli.connect_timeout,
    };
    let store = Store::open(&cli.database_url, options).await?;
    tracing::info!(
        database = %open::describe(&cli.database_url),
        backend = store.backend(),
        "database opened"
    );
    Ok(store)
}

/// Runs `command` on `store`, then closes it (SQLite checkpoints its WAL) whatever came of
/// the command.
async fn with_store<T>(
    store: Store,
    command: impl AsyncFnOnce(&Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let result = command(&store).await;
    store.close().await;
    result
}

async fn execute(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve(args) => {
            let http = args.http_limits();
            let email = match &args.smtp_url {
                Some(url) => Some(Mailer::with_timeout(
                    url,
                    &args.mail_from,
                    args.smtp_timeout,
                )?),
                None => None,
            };
            let mut delivery = DeliverySettings::new(
                args.public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", args.bind)),
            );
            delivery.retry_base = args.delivery_retry_base;
            delivery.max_attempts = args.delivery_max_attempts;
            delivery.lease = args.delivery_lease;
            delivery.poll_interval = args.delivery_poll;
            delivery.attempt_timeout = args.webhook_timeout;
            delivery.concurrency = args.delivery_concurrency;
            delivery.per_target = args.delivery_per_target;
            delivery.allow_private = args.webhook_allow_private;
            delivery.email = email;
            let settings = Settings {
                database_url: cli.database_url.clone(),
                http,
                bind: args.bind.clone(),
                metrics_bind: args.metrics_bind.clone(),
                sweep_interval: args.sweep_interval,
                reminder_share: args.reminder_share,
                write_batch: args.write_batch,
                write_hold: args.write_hold,
                read_batch: args.read_batch,
                inquiry_cache: args.inquiry_cache as usize,
                cache_reads: args.cache_reads,
                cache_tokens: args.cache_tokens,
                delivery,
                max_webhooks_per_owner: args.max_webhooks_per_owner,
                shutdown_grace: args.shutdown_grace,
                connect_timeout: cli.connect_timeout,
                signing_key: cli.signing_key_path(),
                attachments: crate::http::attachments::AttachmentSettings {
                    limit: args.attachment_limit as usize,
                    types: args.attachment_types.clone(),
                    dir: args.attachments_dir.clone(),
                },
            };
            let application = Application::build(&settings).await?;
            application.run_until(shutdown_signal()).await?;
        }
        Command::Migrate => {
            let store = open_store(&cli, true).await?;
            eprintln!("migrations applied ({})", store.backend());
            store.close().await;
        }
        Command::Audit(AuditCommand::Verify { expect_head }) => {
            let store = open_store(&cli, false).await?;
            let report = with_store(store, async |store| {
                Ok(store.verify_chain(expect_head.as_ref()).await?)
            })
            .await?;
            match report {
                ChainReport::Valid {
                    events,
                    inquiries,
                    head,
                } => {
                    let kept = expect_head
                        .as_ref()
                        .map(|kept| format!(", passing through the kept head {kept}"))
                        .unwrap_or_default();
                    outln!(
                        "valid: {events} events, hash chain intact{kept}; {inquiries} inquiries, \
                         each the replay of its events; head {head}"
                    )?;
                }
                ChainReport::Broken(found) => anyhow::bail!("broken: {found}"),
            }
        }
        Command::Audit(AuditCommand::Head) => {
            let store = open_store(&cli, false).await?;
            let head = with_store(store, async |store| Ok(store.chain_head().await?)).await?;
            outln!("{head}")?;
        }
        Command::Audit(AuditCommand::PublicKey) => {
            let path = cli.signing_key_path();
            let (key, created) = crate::record::InstanceKey::load_or_create(&path)?;
            let key = key.public_key();
            eprintln!(
                "{} {}; fingerprint (SHA-256) {}",
                if created {
                    "made the signing key"
                } else {
                    "the signing key in"
                },
                path.display(),
                key.fingerprint()
            );
            outln!("{key}")?;
        }
        Command::Audit(AuditCommand::VerifyRecord { file, public_key }) => {
            verify_record(file, public_key.as_deref())?;
        }
        Command::Monitor(MonitorCommand::Overdue { member_state }) => {
            let store = open_store(&cli, false).await?;
            with_store(store, async |store| {
                if let Some(code) = member_state {
                    refuse_unknown_member_state(store, code).await?;
                }
                let filter = OverdueFilter {
                    member_state: member_state.clone(),
                    status: None,
                };
                let now = clock::now();
                let rows = store.overdue_inquiries(now, &filter, None, None).await?;
                print_overdue(rows, now)
            })
            .await?;
        }
        Command::Monitor(MonitorCommand::Summary) => {
            let store = open_store(&cli, false).await?;
            let summary = with_store(store, async |store| {
                Ok(Summary::gather(store, clock::now()).await?)
            })
            .await?;
            print_summary(&summary)?;
        }
        Command::Bench(args) => {
            let (url, scratch) = match &args.bench_database_url {
                Some(url) => (url.clone(), None),
                None => {
                    let path = std::env::temp_dir()
                        .join(format!("cbm2-bench-{}.db", uuid::Uuid::new_v4()));
                    (format!("sqlite://{}", path.display()), Some(path))
                }
            };
            let options = OpenOptions {
                create: true,
                connect_timeout: cli.connect_timeout,
            };
            let store = Store::open(&url, options).await?;
            tracing::info!(database = %open::describe(&url), "bench database opened");
            let plan = bench::BenchPlan {
                duration: args.duration,
                writers: usize::from(args.writers),
                readers: usize::from(args.readers),
                cache_reads: args.cache_reads,
                connect_timeout: cli.connect_timeout,
                scale: args.scale.then(|| bench::ScalePlan {
                    inquiries: args.inquiries,
                    open: args.open.min(args.inquiries),
                    samples: args.samples.max(1),
                }),
            };
            let result = with_store(store, async |store| bench::run(store, &url, plan).await).await;
            if let Some(path) = scratch {
                for suffix in ["", "-wal", "-shm", ".lock"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            result?;
        }
        Command::Poc(command) => {
            let store = open_store(&cli, false).await?;
            with_store(store, async |store| poc::run(store, command.clone()).await).await?;
        }
        Command::Staff(command) => {
            let store = open_store(&cli, false).await?;
            with_store(store, async |store| {
                staff::run(store, command.clone()).await
            })
            .await?;
        }
        Command::LoginLink(args) => {
            let store = open_store(&cli, false).await?;
            with_store(store, async |store| {
                staff::login_link(store, args.clone()).await
            })
            .await?;
        }
        Command::Backup(args) => backup(&cli, &args.to).await?,
        Command::Token(command) => {
            let store = open_store(&cli, false).await?;
            with_store(store, async |store| token_command(store, command).await).await?;
        }
    }
    Ok(())
}

/// Fails, naming `code` and the codes there are, unless `code` is an OAS Member State.
async fn refuse_unknown_member_state(store: &Store, code: &MemberStateCode) -> anyhow::Result<()> {
    if store.get_member_state(code).await?.is_some() {
        return Ok(());
    }
    let codes: Vec<String> = store
        .list_member_states()
        .await?
        .into_iter()
        .map(|state| state.code.to_string())
        .collect();
    anyhow::bail!(
        "{code} is not one of the {} OAS Member States; use one of: {}",
        codes.len(),
        codes.join(" ")
    )
}

fn print_overdue(rows: Vec<OverdueRow>, now: DateTime<Utc>) -> anyhow::Result<()> {
    outln!(
        "{:<36}  {:<4}  {:<4}  {:<17}  {:<11}  {:<15}  {:<20}  OVERDUE BY",
        "INQUIRY",
        "FROM",
        "TO",
        "STATUS",
        "SENSITIVITY",
        "DEADLINE",
        "DUE AT"
    )?;
    for row in rows {
        let item = OverdueItem::new(row, now);
        outln!(
            "{:<36}  {:<4}  {:<4}  {:<17}  {:<11}  {:<15}  {:<20}  {}",
            item.id,
            item.requesting_state,
            item.responding_state.unwrap_or_default(),
            item.status,
            item.time_sensitivity.unwrap_or_default(),
            item.deadline,
            item.due_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            human_duration(item.overdue_by.as_delta())
        )?;
    }
    Ok(())
}

/// The summary as tables a person reads; the same figures as GET /v1/monitoring/summary.
fn print_summary(summary: &Summary) -> anyhow::Result<()> {
    let figures = &summary.inquiries;
    let shown = |d: &Option<IsoDuration>| {
        d.map_or_else(|| "-".to_owned(), |d| human_duration(d.as_delta()))
    };
    outln!(
        "Summary at {} ({} inquiries, {} of them overdue; {} exercises left out)",
        summary
            .generated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        figures.total,
        figures.overdue,
        figures.exercises_excluded
    )?;
    outln!()?;
    outln!("{:<20}  {:>9}", "STATUS", "INQUIRIES")?;
    for (status, count) in &figures.by_status {
        outln!("{status:<20}  {count:>9}")?;
    }
    outln!()?;
    outln!("{:<20}  {:>9}", "TIME SENSITIVITY", "INQUIRIES")?;
    for (sensitivity, count) in &figures.by_time_sensitivity {
        outln!("{sensitivity:<20}  {count:>9}")?;
    }
    outln!()?;
    outln!(
        "{:<20}  {:>9}  {:<24}  90TH PERCENTILE",
        "FROM SENDING",
        "COUNT",
        "MEDIAN"
    )?;
    for (name, d) in [
        ("to acknowledgement", &figures.times.time_to_acknowledge),
        ("to response", &figures.times.time_to_respond),
    ] {
        outln!(
            "{name:<20}  {:>9}  {:<24}  {}",
            d.count,
            shown(&d.median),
            shown(&d.p90)
        )?;
    }
    outln!()?;
    outln!(
        "{:<20}  {:>9}  {:<24}  RESPONDED IN (MEDIAN)",
        "RESPONDING STATE",
        "RECEIVED",
        "ACKNOWLEDGED IN (MEDIAN)"
    )?;
    for state in &figures.by_responding_state {
        outln!(
            "{:<20}  {:>9}  {:<24}  {}",
            state.member_state,
            state.inquiries,
            shown(&state.times.time_to_acknowledge.median),
            shown(&state.times.time_to_respond.median)
        )?;
    }
    outln!()?;
    let without: Vec<&str> = summary
        .states_without_active_policy_poc
        .iter()
        .map(|state| state.code.as_str())
        .collect();
    outln!(
        "States without an active policy POC ({}): {}",
        without.len(),
        if without.is_empty() {
            "none".to_owned()
        } else {
            without.join(" ")
        }
    )?;
    outln!(
        "Stale POCs (not confirmed for 365 days): {}",
        summary.stale_pocs.len()
    )?;
    for poc in &summary.stale_pocs {
        outln!(
            "  {}  {}  {:<10}  {}  last confirmed {}",
            poc.id,
            poc.member_state,
            poc.role,
            poc.name,
            poc.last_confirmed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )?;
    }
    outln!(
        "Failed deliveries (every attempt failed): {}",
        summary.failed_deliveries
    )?;
    Ok(())
}

/// A duration as a person reads it: its largest unit and the next one down when that is
/// not zero ("2 days 3 hours", "5 minutes", "0 seconds"), truncated to whole seconds.
fn human_duration(delta: TimeDelta) -> String {
    const UNITS: [(&str, i64); 4] = [
        ("day", 86_400),
        ("hour", 3_600),
        ("minute", 60),
        ("second", 1),
    ];
    let seconds = delta.num_seconds().max(0);
    let say =
        |count: i64, unit: &str| format!("{count} {unit}{}", if count == 1 { "" } else { "s" });
    let Some(largest) = UNITS.iter().position(|(_, size)| seconds >= *size) else {
        return say(0, "second");
    };
    let (unit, size) = UNITS[largest];
    let mut text = say(seconds / size, unit);
    if let Some((next, next_size)) = UNITS.get(largest + 1) {
        let count = seconds % size / next_size;
        if count > 0 {
            text.push(' ');
            text.push_str(&say(count, next));
        }
    }
    text
}

/// The POC `given` names: its id, or the e-mail address of exactly one active POC.
async fn resolve_poc(store: &Store, given: &str) -> anyhow::Result<PocId> {
    if let Ok(id) = Uuid::parse_str(given) {
        return Ok(PocId(id));
    }
    if !given.contains('@') {
        anyhow::bail!(
            "--poc takes a POC's id (a UUID) or its e-mail address; {given:?} is neither"
        );
    }
    let pocs = store.pocs_with_email(given).await?;
    let describe = |pocs: &[&PocRecord]| {
        pocs.iter()
            .map(|poc| {
                format!(
                    "{} ({} {}, {})",
                    poc.id,
                    poc.member_state,
                    poc.role.as_str(),
                    poc.name
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let active: Vec<&PocRecord> = pocs.iter().filter(|poc| poc.active).collect();
    match active.as_slice() {
        [one] => Ok(PocId(one.id)),
        [] if pocs.is_empty() => anyhow::bail!(
            "no point of contact has the e-mail address {given}; check it against the directory \
             (GET /v1/pocs), or give --poc the POC's id"
        ),
        [] => anyhow::bail!(
            "every point of contact with the e-mail address {given} is deactivated: {}",
            describe(&pocs.iter().collect::<Vec<_>>())
        ),
        several => anyhow::bail!(
            "{} active points of contact have the e-mail address {given}: {}; give --poc one of \
             these ids",
            several.len(),
            describe(several)
        ),
    }
}

async fn token_command(store: &Store, command: &TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create(args) => {
            let owner = match &args.poc {
                Some(given) => TokenOwner::Poc(resolve_poc(store, given).await?),
                None => TokenOwner::Secretariat,
            };
            let issued = store
                .create_token(Actor::CommandLine, owner, Some(&args.label), clock::now())
                .await?;
            eprintln!(
                "created token {} ({}{}); it is shown once, below",
                issued.record.id,
                issued.record.kind,
                issued
                    .record
                    .poc_id
                    .map(|id| format!(" of POC {id}"))
                    .unwrap_or_default()
            );
            outln!("{}", issued.secret)?;
        }
        TokenCommand::Revoke { token_id } => {
            if !store
                .revoke_token(Actor::CommandLine, *token_id, clock::now())
                .await?
            {
                anyhow::bail!("no token has id {token_id}; `cbm2 token list` shows their ids");
            }
            eprintln!("revoked token {token_id}");
        }
        TokenCommand::List => {
            outln!(
                "{:<36}  {:<11}  {:<36}  {:<20}  {:<25}  STATUS",
                "ID",
                "KIND",
                "POC",
                "LABEL",
                "LAST USED"
            )?;
            for token in store.list_tokens().await? {
                let poc = token
                    .poc_id
                    .map(|id| id.to_string())
                    .unwrap_or_else(|| "-".into());
                let last_used = token
                    .last_used_at
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_else(|| "never".into());
                let status = if token.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                outln!(
                    "{:<36}  {:<11}  {:<36}  {:<20}  {:<25}  {status}",
                    token.id,
                    token.kind,
                    poc,
                    token.label.unwrap_or_default(),
                    last_used
                )?;
            }
        }
    }
    Ok(())
}

/// `cbm2 backup`: copy, verify the copy, print its head.
async fn backup(cli: &Cli, to: &std::path::Path) -> anyhow::Result<()> {
    if let Some(advice) = crate::store::backup::postgres_backup_advice(&cli.database_url, to) {
        anyhow::bail!(advice);
    }
    let store = open_store(cli, false).await?;
    with_store(store, async |store| Ok(store.back_up_into(to).await?)).await?;
    let copy = Store::open_backup(to).await?;
    let report = with_store(copy, async |copy| Ok(copy.verify_chain(None).await?)).await?;
    match report {
        ChainReport::Valid {
            events,
            inquiries,
            head,
        } => {
            eprintln!(
                "backed up to {}: {events} events, hash chain intact; {inquiries} inquiries, \
                 each the replay of its events; its head, below, is one the live database \
                 must still pass through (cbm2 audit verify --expect-head)",
                to.display()
            );
            outln!("{head}")?;
            Ok(())
        }
        ChainReport::Broken(found) => anyhow::bail!(
            "the copy at {} does not verify: {found}; the database it was taken from has the \
             same fault: run cbm2 audit verify on it",
            to.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn durations_are_said_in_their_two_largest_units() {
        let cases = [
            (51 * 3_600, "2 days 3 hours"),
            (86_400, "1 day"),
            (2 * 86_400 + 5 * 60, "2 days"),
            (3_600 + 60, "1 hour 1 minute"),
            (125, "2 minutes 5 seconds"),
            (1, "1 second"),
            (0, "0 seconds"),
            (-30, "0 seconds"),
        ];
        for (seconds, said) in cases {
            assert_eq!(
                human_duration(TimeDelta::seconds(seconds)),
                said,
                "{seconds}"
            );
        }
    }

    #[test]
    fn bind_takes_host_and_port_and_shows_what_a_bare_port_meant() {
        for good in [
            "127.0.0.1:8080",
            "0.0.0.0:0",
            "[::1]:8080",
            "localhost:8080",
        ] {
            assert_eq!(parse_bind(good).as_deref(), Ok(good));
        }
        let said = parse_bind("18203").unwrap_err();
        assert!(said.contains("e.g. 127.0.0.1:18203"), "{said}");
        for bad in ["localhost", "::1", ":8080", "127.0.0.1:99999", ""] {
            assert!(parse_bind(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn an_error_is_one_line_with_each_cause_said_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("database error: {0}")]
        struct Wrapper(#[source] std::io::Error);
        let error = anyhow::Error::new(Wrapper(std::io::Error::other("pool timed out")))
            .context("cannot start");
        assert_eq!(
            one_line(&error),
            "cannot start: database error: pool timed out"
        );
    }

    #[test]
    fn serve_without_flags_has_the_edge_limits_of_the_library_defaults() {
        let cli = Cli::try_parse_from(["cbm2", "serve"]).expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let (flags, defaults) = (args.http_limits(), HttpLimits::default());
        assert_eq!(flags.header_read_timeout, defaults.header_read_timeout);
        assert_eq!(flags.keep_alive_timeout, defaults.keep_alive_timeout);
        assert_eq!(flags.request_timeout, defaults.request_timeout);
        assert_eq!(flags.max_connections, defaults.max_connections);
        assert_eq!(flags.max_in_flight, defaults.max_in_flight);
        assert_eq!(flags.rate_limits, defaults.rate_limits);
        assert_eq!(flags.import_body_limit, defaults.import_body_limit);
        let attachments = crate::http::attachments::AttachmentSettings::default();
        assert_eq!(args.attachment_limit as usize, attachments.limit);
        assert_eq!(args.attachment_types, attachments.types);
    }
}
