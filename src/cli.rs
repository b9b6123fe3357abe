//! The command line: `cbm2 serve`, `cbm2 migrate`, `cbm2 token …`, `cbm2 audit …`.

use std::process::ExitCode;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

use crate::deadlines::MIN_SWEEP_INTERVAL;
use crate::delivery::DeliverySettings;
use crate::delivery::email::Mailer;
use crate::domain::{Label, MemberStateCode, PocId};
use crate::http::limits::{HttpLimits, Rate, RateLimits};
use crate::http::monitoring::OverdueItem;
use crate::startup::{Application, Settings, shutdown_signal};
use crate::store::Store;
use crate::store::chain::{ChainHead, ChainReport};
use crate::store::directory::Actor;
use crate::store::monitoring::OverdueFilter;
use crate::store::tokens::TokenOwner;
use crate::telemetry::{self, LogFormat};
use crate::{bench, clock};

/// cbm2: the inquiry-workflow engine for OAS Cyber Confidence-Building Measure #2.
///
/// Every command works on the database named by --database-url and applies its pending
/// migrations first, so a new SQLite file or an empty PostgreSQL database is ready at once.
#[derive(Debug, Parser)]
#[command(name = "cbm2", version, propagate_version = true)]
pub struct Cli {
    /// Database: sqlite://PATH (the file is created if missing) or postgres://USER@HOST/DB.
    #[arg(
        long,
        global = true,
        env = "CBM2_DATABASE_URL",
        default_value = "sqlite://cbm2.db"
    )]
    pub database_url: String,

    /// Log format on stderr. The level comes from RUST_LOG (default: info).
    #[arg(
        long,
        global = true,
        env = "CBM2_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
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
    /// What the Secretariat monitors, read from the database (no API needed).
    #[command(subcommand)]
    Monitor(MonitorCommand),
    /// Fill a throwaway database with inquiries and time the overdue query and the
    /// deadline sweep. Prints figures.
    Bench(BenchArgs),
}

#[derive(Debug, Subcommand)]
pub enum MonitorCommand {
    /// Print the overdue inquiries, most overdue first (metadata only).
    Overdue {
        /// Only inquiries from or to this member state (ISO 3166-1 alpha-3).
        #[arg(long, value_parser = parse_member_state)]
        member_state: Option<MemberStateCode>,
    },
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The database to fill: it must hold no inquiries. Default: a new SQLite file in the
    /// temporary directory, removed afterwards. Never the --database-url.
    #[arg(long, value_name = "URL")]
    pub bench_database_url: Option<String>,
    /// How many inquiries to create.
    #[arg(long, default_value_t = 100_000)]
    pub inquiries: u32,
    /// How many of them are open (a fifth of those overdue).
    #[arg(long, default_value_t = 10_000)]
    pub open: u32,
    /// How many times each query is timed.
    #[arg(long, default_value_t = 200)]
    pub samples: u32,
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
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CBM2_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// How often to record missed deadlines and reminders (humantime: 30s, 5m, 100ms;
    /// at least 100ms). The sweep also runs once at start.
    #[arg(long, env = "CBM2_SWEEP_INTERVAL", default_value = "30s", value_parser = parse_sweep_interval)]
    pub sweep_interval: Duration,
    /// Remind the acting state once this share of a deadline's window has elapsed
    /// (0 to 1).
    #[arg(long, env = "CBM2_REMINDER_SHARE", default_value_t = crate::store::DEFAULT_REMINDER_SHARE, value_parser = parse_share)]
    pub reminder_share: f64,
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
            rate_limits: self.rate_limits.then(|| RateLimits {
                writes: rate(self.write_rate, self.write_burst),
                reads: rate(self.read_rate, self.read_burst),
                unauthenticated: rate(self.unauthenticated_rate, self.unauthenticated_burst),
            }),
        }
    }
}

fn parse_delay(value: &str) -> Result<Duration, String> {
    let delay = humantime::parse_duration(value).map_err(|e| format!("{e} (e.g. 30s, 100ms)"))?;
    if delay < Duration::from_millis(10) {
        return Err("must be at least 10ms".into());
    }
    Ok(delay)
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
    /// Revoke a token by id: it answers 401 from then on.
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
    /// A token for the point of contact with this id.
    #[arg(long, value_name = "POC_ID")]
    pub poc: Option<Uuid>,
    /// A name to recognise the token by.
    #[arg(long, value_name = "NAME", value_parser = parse_label)]
    pub label: Label,
}

fn parse_label(value: &str) -> Result<Label, String> {
    Label::parse(value).map_err(|e| e.to_string())
}

/// Runs a parsed command line; the process exits with the returned code.
pub fn run(cli: Cli) -> ExitCode {
    telemetry::init(cli.log_format);
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
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
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
                database_url: cli.database_url,
                http,
                bind: args.bind,
                sweep_interval: args.sweep_interval,
                reminder_share: args.reminder_share,
                delivery,
                max_webhooks_per_owner: args.max_webhooks_per_owner,
                shutdown_grace: args.shutdown_grace,
            };
            let application = Application::build(&settings).await?;
            application.run_until(shutdown_signal()).await?;
        }
        Command::Migrate => {
            let store = Store::connect_and_migrate(&cli.database_url).await?;
            eprintln!("migrations applied ({})", store.backend());
            store.close().await;
        }
        Command::Audit(AuditCommand::Verify { expect_head }) => {
            let store = Store::connect_and_migrate(&cli.database_url).await?;
            let report = store.verify_chain(expect_head.as_ref()).await;
            store.close().await;
            match report? {
                ChainReport::Valid {
                    events,
                    inquiries,
                    head,
                } => {
                    let kept = expect_head
                        .map(|kept| format!(", passing through the kept head {kept}"))
                        .unwrap_or_default();
                    println!(
                        "valid: {events} events, hash chain intact{kept}; {inquiries} inquiries, \
                         each the replay of its events; head {head}"
                    )
                }
                ChainReport::Broken(found) => anyhow::bail!("broken: {found}"),
            }
        }
        Command::Audit(AuditCommand::Head) => {
            let store = Store::connect_and_migrate(&cli.database_url).await?;
            let head = store.chain_head().await;
            store.close().await;
            println!("{}", head?);
        }
        Command::Monitor(MonitorCommand::Overdue { member_state }) => {
            let store = Store::connect_and_migrate(&cli.database_url).await?;
            let now = clock::now();
            let filter = OverdueFilter {
                member_state,
                status: None,
            };
            let rows = store.overdue_inquiries(now, &filter, None, None).await;
            store.close().await;
            let rows = rows?;
            println!(
                "{:<36}  {:<4}  {:<4}  {:<17}  {:<11}  {:<15}  {:<20}  OVERDUE BY",
                "INQUIRY", "FROM", "TO", "STATUS", "SENSITIVITY", "DEADLINE", "DUE AT"
            );
            for row in rows {
                let item = OverdueItem::new(row, now);
                println!(
                    "{:<36}  {:<4}  {:<4}  {:<17}  {:<11}  {:<15}  {:<20}  {}",
                    item.id,
                    item.requesting_state,
                    item.responding_state.unwrap_or_default(),
                    item.status,
                    item.time_sensitivity.unwrap_or_default(),
                    item.deadline,
                    item.due_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    item.overdue_by
                );
            }
        }
        Command::Bench(args) => {
            let (url, scratch) = match args.bench_database_url {
                Some(url) => (url, None),
                None => {
                    let path = std::env::temp_dir()
                        .join(format!("cbm2-bench-{}.db", uuid::Uuid::new_v4()));
                    (format!("sqlite://{}", path.display()), Some(path))
                }
            };
            let store = Store::connect_and_migrate(&url).await?;
            let plan = bench::BenchPlan {
                inquiries: args.inquiries,
                open: args.open.min(args.inquiries),
                samples: args.samples.max(1),
            };
            let result = bench::run(&store, plan).await;
            store.close().await;
            if let Some(path) = scratch {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            result?;
        }
        Command::Token(command) => {
            let store = Store::connect_and_migrate(&cli.database_url).await?;
            let result = token_command(&store, command).await;
            store.close().await;
            result?;
        }
    }
    Ok(())
}

async fn token_command(store: &Store, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create(args) => {
            let owner = match args.poc {
                Some(id) => TokenOwner::Poc(PocId(id)),
                None => TokenOwner::Secretariat,
            };
            let issued = store
                .create_token(Actor::CommandLine, owner, Some(&args.label), clock::now())
                .await?;
            eprintln!(
                "created token {} ({}); it is shown once, below",
                issued.record.id, issued.record.kind
            );
            println!("{}", issued.secret);
        }
        TokenCommand::Revoke { token_id } => {
            if !store
                .revoke_token(Actor::CommandLine, token_id, clock::now())
                .await?
            {
                anyhow::bail!("no token has id {token_id}");
            }
            eprintln!("revoked token {token_id}");
        }
        TokenCommand::List => {
            println!(
                "{:<36}  {:<11}  {:<36}  {:<20}  {:<25}  STATUS",
                "ID", "KIND", "POC", "LABEL", "LAST USED"
            );
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
                println!(
                    "{:<36}  {:<11}  {:<36}  {:<20}  {:<25}  {status}",
                    token.id,
                    token.kind,
                    poc,
                    token.label.unwrap_or_default(),
                    last_used
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

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
    }
}
