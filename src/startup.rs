//! Building and running the server: what `cbm2 serve` does, and what tests call with port 0.

use std::fs::{File, TryLockError};
use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::deadlines::run_sweeper;
use crate::delivery::{DeliverySettings, run_worker};
use crate::http::limits::{HttpLimits, RateLimiter};
use crate::http::{AppState, app, serve, serve_metrics};
use crate::record::InstanceKey;
use crate::store::listened::CacheLimits;
use crate::store::open::{self, OpenError, OpenOptions};
use crate::store::{Store, StoreError};

/// What the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// Where to listen; port 0 picks a free port (tests).
    pub bind: String,
    /// How often the deadline sweeper runs (it also runs once at start).
    pub sweep_interval: Duration,
    /// The share of a deadline's window after which the acting state is reminded.
    pub reminder_share: f64,
    /// How many inquiry commands one transaction may hold (group commit).
    pub write_batch: usize,
    /// On SQLite, how long the commands' writer keeps the write connection at most.
    pub write_hold: Duration,
    /// On PostgreSQL, how many token reads one query may carry (group read).
    pub read_batch: usize,
    /// How many bytes of stored inquiry text reads keep decoded (0: none).
    pub inquiry_cache: usize,
    /// On PostgreSQL, answer token reads (and reads of one inquiry) from memory kept
    /// current by the database's notifications (`store::listened`).
    pub cache_reads: bool,
    /// With `cache_reads`, how many tokens memory keeps at most.
    pub cache_tokens: usize,
    /// How notifications are delivered.
    pub delivery: DeliverySettings,
    /// How many active webhooks one owner may have.
    pub max_webhooks_per_owner: u32,
    /// After the shutdown signal, how long in-flight requests and delivery attempts may
    /// go on before they are abandoned.
    pub shutdown_grace: Duration,
    /// Timeouts, bounds and rate limits of the HTTP edge.
    pub http: HttpLimits,
    /// How long to wait for PostgreSQL to accept the first connection at start.
    pub connect_timeout: Duration,
    /// Where to serve `GET /metrics` (Prometheus), apart from the API; `None`: nowhere.
    pub metrics_bind: Option<String>,
    /// The file holding the instance's Ed25519 key, which signs inquiry records; made at
    /// first start when missing ([`default_signing_key`]).
    pub signing_key: PathBuf,
    /// What is taken as evidence (size, types) and where it is kept.
    pub attachments: crate::http::attachments::AttachmentSettings,
}

/// `path` with `suffix` appended to its file name: `cbm2.db` → `cbm2.db.lock`.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Where the instance's signing key is kept unless told: beside a SQLite database file
/// (`cbm2.db.signing-key`), else `cbm2-signing.key` in the working directory.
pub fn default_signing_key(database_url: &str) -> PathBuf {
    match open::sqlite_file(database_url) {
        Some(path) => beside(&path, ".signing-key"),
        None => PathBuf::from("cbm2-signing.key"),
    }
}

/// By default, shutdown waits at most ten seconds for what is in flight.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl Settings {
    /// Settings with the defaults of `cbm2 serve` for everything but the database and
    /// the address.
    pub fn new(database_url: impl Into<String>, bind: impl Into<String>) -> Self {
        let bind = bind.into();
        let database_url = database_url.into();
        Self {
            signing_key: default_signing_key(&database_url),
            attachments: Default::default(),
            database_url,
            delivery: DeliverySettings::new(format!("http://{bind}")),
            bind,
            sweep_interval: Duration::from_secs(30),
            reminder_share: crate::store::DEFAULT_REMINDER_SHARE,
            write_batch: crate::store::writer::DEFAULT_MAX_BATCH,
            write_hold: crate::store::direct::DEFAULT_MAX_HOLD,
            read_batch: crate::store::grouped_reads::DEFAULT_MAX_READS,
            inquiry_cache: crate::store::decoded::DEFAULT_BUDGET_BYTES,
            cache_reads: true,
            cache_tokens: crate::store::listened::DEFAULT_MAX_TOKENS,
            max_webhooks_per_owner: crate::store::webhooks::DEFAULT_MAX_WEBHOOKS_PER_OWNER,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            http: HttpLimits::default(),
            connect_timeout: open::DEFAULT_CONNECT_TIMEOUT,
            metrics_bind: None,
        }
    }
}

/// Why the server could not start; each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("cannot listen on {addr}: {problem}")]
    Bind { addr: String, problem: String },
    #[error(
        "another cbm2 serve is using {path} (it holds {path}.lock): one server per SQLite file; \
         stop that one first, or use PostgreSQL (--database-url postgres://…), where several \
         instances share the load",
        path = path.display()
    )]
    AlreadyServed { path: PathBuf },
    #[error(
        "cannot lock {path}.lock, which keeps a second server off the database: {source}; make \
         its directory writable for cbm2's user",
        path = path.display()
    )]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Metrics(#[from] crate::metrics::InstallError),
    #[error(transparent)]
    SigningKey(#[from] crate::record::KeyError),
    #[error(
        "cannot use the attachments directory {path}: {source}; create it writable by cbm2's \
         user, or leave --attachments-dir (CBM2_ATTACHMENTS_DIR) unset to keep files in the \
         database",
        path = path.display()
    )]
    AttachmentsDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl StartupError {
    /// A failure to listen on `addr`, with what to do about the usual causes.
    fn bind(addr: &str, error: &std::io::Error) -> Self {
        let problem = match error.kind() {
            ErrorKind::AddrInUse => format!(
                "{error}: another cbm2, or another program, listens there (`ss -ltnp` shows \
                 which); stop it or choose another --bind (CBM2_BIND)"
            ),
            ErrorKind::PermissionDenied => format!(
                "{error}: ports below 1024 need privileges; choose a port above 1023 in --bind \
                 and put a reverse proxy in front (see README)"
            ),
            ErrorKind::AddrNotAvailable => format!(
                "{error}: this machine has no such address; use one of its addresses, \
                 127.0.0.1, or 0.0.0.0 for all of them"
            ),
            _ => format!("{error}; check --bind (CBM2_BIND)"),
        };
        Self::Bind {
            addr: addr.to_owned(),
            problem,
        }
    }
}

/// Creates `dir` if missing and checks that a file can be written there.
fn writable_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".cbm2-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// The instance's signing key from `path`, made there if missing; says which on the log.
fn load_signing_key(path: &Path) -> Result<InstanceKey, StartupError> {
    let (key, created) = InstanceKey::load_or_create(path)?;
    let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    if created {
        tracing::info!(
            path = %shown.display(),
            public_key = %key.public_key(),
            "made the instance's signing key for inquiry records: back it up with the database"
        );
    } else {
        tracing::debug!(path = %shown.display(), public_key = %key.public_key(), "signing key read");
    }
    Ok(key)
}

/// Takes the lock that keeps a second server off the SQLite file `database`: an OS lock on
/// `<database>.lock`, held while the returned file is open (the process's end releases it,
/// however it ends). The lock file stays, empty, between runs. A separate file, because
/// SQLite itself takes POSIX locks on the database, which any close of it would release.
fn lock_database(database: &Path) -> Result<File, StartupError> {
    // The same file reached by another path (relative, through a symbolic link) takes the
    // same lock.
    let database = std::fs::canonicalize(database).unwrap_or_else(|_| database.to_owned());
    let lock_path = beside(&database, ".lock");
    let lock_error = |source| StartupError::Lock {
        path: database.clone(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(lock_error)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StartupError::AlreadyServed { path: database }),
        Err(TryLockError::Error(error)) => Err(lock_error(error)),
    }
}

/// A server whose database is migrated and whose listener is bound, ready to run.
pub struct Application {
    listener: TcpListener,
    store: Store,
    local_addr: SocketAddr,
    sweep_interval: Duration,
    delivery: DeliverySettings,
    max_webhooks_per_owner: u32,
    shutdown_grace: Duration,
    http: HttpLimits,
    /// Held while serving a SQLite file, so that a second server on it refuses to start.
    database_lock: Option<File>,
    /// The metrics listener and its recorder, when asked for.
    metrics: Option<(TcpListener, PrometheusHandle)>,
    /// The instance's key, which signs inquiry records.
    record_key: InstanceKey,
    attachments: Arc<crate::http::attachments::AttachmentSettings>,
}

impl Application {
    /// Connects to the database (creating a missing SQLite file), applies pending
    /// migrations, takes the SQLite file's lock, and binds the listener.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let options = OpenOptions {
            create: true,
            connect_timeout: settings.connect_timeout,
        };
        let store = Store::open(&settings.database_url, options)
            .await?
            .with_reminder_share(settings.reminder_share)
            .with_write_batch(settings.write_batch)
            .with_write_hold(settings.write_hold)
            .with_read_batch(settings.read_batch)
            .with_inquiry_cache(settings.inquiry_cache)
            .with_cache_reads(settings.cache_reads.then_some(CacheLimits {
                tokens: settings.cache_tokens,
                inquiry_bytes: settings.inquiry_cache,
            }));
        let database_lock = match open::sqlite_file(&settings.database_url) {
            Some(path) => match lock_database(&path) {
                Ok(lock) => Some(lock),
                Err(error) => {
                    store.close().await;
                    return Err(error);
                }
            },
            None => None,
        };
        if let Some(dir) = &settings.attachments.dir
            && let Err(source) = writable_dir(dir)
        {
            store.close().await;
            return Err(StartupError::AttachmentsDir {
                path: dir.clone(),
                source,
            });
        }
        let record_key = match load_signing_key(&settings.signing_key) {
            Ok(key) => key,
            Err(error) => {
                store.close().await;
                return Err(error);
            }
        };
        tracing::info!(
            backend = store.backend(),
            database = %open::describe(&settings.database_url),
            "database ready, migrations applied"
        );
        let listener = match TcpListener::bind(&settings.bind).await {
            Ok(listener) => listener,
            Err(error) => {
                store.close().await;
                return Err(StartupError::bind(&settings.bind, &error));
            }
        };
        let local_addr = listener
            .local_addr()
            .map_err(|error| StartupError::bind(&settings.bind, &error))?;
        let metrics = match &settings.metrics_bind {
            Some(addr) => match TcpListener::bind(addr).await {
                Ok(listener) => Some((listener, crate::metrics::install()?)),
                Err(error) => {
                    store.close().await;
                    return Err(match StartupError::bind(addr, &error) {
                        StartupError::Bind { addr, problem } => StartupError::Bind {
                            addr,
                            problem: problem.replace(
                                "--bind (CBM2_BIND)",
                                "--metrics-bind (CBM2_METRICS_BIND)",
                            ),
                        },
                        other => other,
                    });
                }
            },
            None => None,
        };
        Ok(Self {
            listener,
            store,
            local_addr,
            sweep_interval: settings.sweep_interval,
            delivery: settings.delivery.clone(),
            max_webhooks_per_owner: settings.max_webhooks_per_owner,
            shutdown_grace: settings.shutdown_grace,
            http: settings.http.clone(),
            database_lock,
            metrics,
            record_key,
            attachments: Arc::new(settings.attachments.clone()),
        })
    }

    /// The address actually bound (the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The store the server serves from (a handle on the same pools).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// Where `GET /metrics` is served, if anywhere (the real port when port 0 was asked for).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        let (listener, _) = self.metrics.as_ref()?;
        listener.local_addr().ok()
    }

    /// Serves, with the deadline sweeper and the delivery worker beside it, until
    /// `shutdown` completes; then stops both, finishes in-flight requests and closes the
    /// database. Whatever is still in flight when the shutdown grace has passed since the
    /// signal (a request whose client never sends its body, a delivery attempt to a
    /// receiver that never answers) is abandoned: shutdown never waits longer.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = AppState {
            store: self.store.clone(),
            webhook_allow_private: self.delivery.allow_private,
            max_webhooks_per_owner: self.max_webhooks_per_owner,
            import_body_limit: self.http.import_body_limit,
            rate_limiter: self
                .http
                .rate_limits
                .map(|limits| Arc::new(RateLimiter::new(&limits))),
            web: crate::web::WebSettings::new(
                &self.delivery.public_url,
                self.delivery.email.clone(),
            ),
            summary: Default::default(),
            record_key: self.record_key.clone(),
            attachments: self.attachments.clone(),
        };
        let grace = self.shutdown_grace;
        let (stop_background, stopped) = watch::channel(false);
        let sweeper = tokio::spawn(run_sweeper(
            self.store.clone(),
            self.sweep_interval,
            stopped.clone(),
        ));
        // Said once, before "listening on", so an operator sees them with the start-up lines.
        if !self.local_addr.ip().is_loopback() {
            tracing::warn!(
                address = %self.local_addr,
                "listening on a non-loopback address over plain HTTP: bearer tokens would cross \
                 the network in the clear; put TLS in front: see README, \"Behind a reverse proxy\""
            );
        }
        if self.delivery.allow_private {
            tracing::warn!(
                "CBM2_WEBHOOK_ALLOW_PRIVATE is on: webhooks may reach loopback and private \
                 addresses, and plain http; for local setups and tests only"
            );
        }
        match &self.delivery.email {
            Some(mailer) => tracing::info!(smtp = %mailer.describe(), "e-mail delivery enabled"),
            None => tracing::warn!(
                "no SMTP server configured (CBM2_SMTP_URL): e-mail deliveries are recorded as skipped"
            ),
        }
        // The moment everything in flight must have stopped by: the signal + the grace.
        let (stop_worker, worker_stop) = watch::channel(None);
        let worker = tokio::spawn(run_worker(self.store.clone(), self.delivery, worker_stop));
        let deadline = Arc::new(OnceLock::<Instant>::new());
        let signalled = {
            let deadline = Arc::clone(&deadline);
            async move {
                shutdown.await;
                let at = *deadline.get_or_init(|| Instant::now() + grace);
                let _ = stop_background.send(true);
                let _ = stop_worker.send(Some(at));
            }
        };
        // Stopped with the sweeper: at the signal, scrapes end with the server.
        let metrics = self.metrics.map(|(listener, handle)| {
            let addr = listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            tracing::info!("metrics served at http://{addr}/metrics");
            let mut stopped = stopped.clone();
            let store = self.store.clone();
            tokio::spawn(async move {
                let stop = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                if let Err(error) = serve_metrics(listener, handle, store, stop).await {
                    tracing::error!(%error, "the metrics listener failed");
                }
            })
        });
        let drain_ends = {
            let (deadline, mut stopped) = (Arc::clone(&deadline), stopped);
            async move {
                // The sender is dropped only once the server has returned: then this arm
                // has lost the race anyway.
                let _ = stopped.wait_for(|stop| *stop).await;
                let at = *deadline.get_or_init(|| Instant::now() + grace);
                tokio::time::sleep_until(at).await;
            }
        };
        tracing::info!("listening on {}", self.local_addr);
        // The server's graceful shutdown waits for every in-flight request, however long.
        let result = tokio::select! {
            result = serve(self.listener, app(state, &self.http), &self.http, signalled) => result,
            () = drain_ends => {
                tracing::warn!(
                    grace = %humantime::format_duration(grace),
                    "shutdown grace over: closing with requests still in flight"
                );
                Ok(())
            }
        };
        let deadline = *deadline.get_or_init(|| Instant::now() + grace);
        // The worker stops itself by the deadline (and says what it abandoned); a moment
        // more before it is abandoned too, should a database call hold it.
        if let Some(task) = metrics {
            stop_within("metrics listener", task, deadline).await;
        }
        for (name, task, by) in [
            ("deadline sweeper", sweeper, deadline),
            (
                "delivery worker",
                worker,
                deadline + Duration::from_millis(500),
            ),
        ] {
            stop_within(name, task, by).await;
        }
        // Time for SQLite to checkpoint its WAL, even when the grace is spent.
        let close_by = deadline.max(Instant::now() + Duration::from_secs(1));
        if tokio::time::timeout_at(close_by, self.store.close())
            .await
            .is_err()
        {
            tracing::warn!("the database connections did not close in time");
        }
        // Only now may another server take the file.
        drop(self.database_lock);
        tracing::info!("stopped");
        result
    }
}

/// Waits for a background task until `deadline`, then aborts it.
async fn stop_within(name: &str, mut task: JoinHandle<()>, deadline: Instant) {
    match tokio::time::timeout_at(deadline, &mut task).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(%error, "the {name} ended abnormally"),
        Err(_) => {
            tracing::warn!("the {name} did not stop within the shutdown grace; abandoning it");
            task.abort();
        }
    }
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when
/// the future is first polled: call it before the server says "listening on", so that a
/// signal sent right after start-up (a quick `systemctl stop`) stops it gracefully instead
/// of killing it.
#[cfg(unix)]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let install = |kind: SignalKind, name: &'static str| {
        signal(kind)
            .inspect_err(|error| tracing::error!(%error, "cannot listen for {name}"))
            .ok()
    };
    let mut interrupt = install(SignalKind::interrupt(), "Ctrl-C");
    let mut terminate = install(SignalKind::terminate(), "SIGTERM");
    async move {
        let received = async |signal: &mut Option<tokio::signal::unix::Signal>| match signal {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        };
        tokio::select! {
            () = received(&mut interrupt) => tracing::info!("Ctrl-C received, finishing in-flight requests"),
            () = received(&mut terminate) => tracing::info!("SIGTERM received, finishing in-flight requests"),
        }
    }
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("Ctrl-C received, finishing in-flight requests");
    }
}
