//! Metrics, in Prometheus' text format, through the `metrics` facade: every name is here,
//! with what it means (README's "Metrics" section says the same to operators).
//!
//! The recorder is process-wide (the facade's global) and installed only when `serve` is
//! given `--metrics-bind`; without it every recording below costs a no-op. The HTTP
//! request metrics are recorded by `http::metrics`, which also serves the listener.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, by `method`, `route` (the route template, `unmatched` for none) and
/// `status`.
pub const HTTP_REQUESTS: &str = "cbm2_http_requests_total";
/// How long requests took to be answered, with the same labels.
pub const HTTP_REQUEST_DURATION: &str = "cbm2_http_request_duration_seconds";
/// Inquiry events recorded, by `action` (the event type: `request_info`, `deadline_missed`, …).
pub const TRANSITIONS: &str = "cbm2_inquiry_transitions_total";
/// Deadline sweeper ticks, by `result` (`ok`, `error`).
pub const SWEEPER_TICKS: &str = "cbm2_sweeper_ticks_total";
/// How late the oldest due row was when the last tick looked (0 when none was due).
pub const SWEEPER_LAG: &str = "cbm2_sweeper_lag_seconds";
/// How long sweeper ticks took.
pub const SWEEPER_TICK_DURATION: &str = "cbm2_sweeper_tick_duration_seconds";
/// Notifications waiting, by `stage`: `fan_out` (queued, not yet turned into deliveries),
/// `delivery` (deliveries pending: due, retrying or being attempted). Read at each scrape.
pub const OUTBOX_DEPTH: &str = "cbm2_outbox_depth";
/// Delivery attempts, by `channel` (`webhook`, `email`) and `outcome` (`delivered`,
/// `retrying`, `failed`: failed for good).
pub const DELIVERY_ATTEMPTS: &str = "cbm2_delivery_attempts_total";
/// The database pool's connections, by `state` (`idle`, `in_use`). Read at each scrape.
pub const DB_POOL_CONNECTIONS: &str = "cbm2_db_pool_connections";
/// How many inquiry commands each group commit held (refused ones included).
pub const WRITE_BATCH_COMMANDS: &str = "cbm2_write_batch_commands";
/// How many requests' token reads each grouped query carried (PostgreSQL:
/// `store::grouped_reads`).
pub const READ_BATCH_READS: &str = "cbm2_read_batch_reads";
/// Token reads (and reads of one inquiry) on PostgreSQL, by `from`: `memory` (answered
/// from what the database's notifications keep current: `store::listened`) or
/// `database`.
pub const READS_CACHED: &str = "cbm2_token_reads_total";
/// Batches run again with a savepoint per command, one of their commands having failed
/// without one (PostgreSQL: see `store::writer::Isolation`).
pub const WRITE_BATCH_RERUNS: &str = "cbm2_write_batch_reruns_total";

/// Batch size buckets, in commands: from one alone to 256 (larger batches, up to 1 024,
/// count in `+Inf`).
const BATCH_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// Latency buckets, in seconds: from a cached read to the request timeout.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
/// Held while installing, so that two servers starting at once install one recorder.
static INSTALLING: Mutex<()> = Mutex::new(());

/// Why the recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0} (is another metrics recorder installed?)")]
pub struct InstallError(String);

/// Installs the process's recorder, once, and returns the handle that renders it; later
/// calls (a second server in the same process, as tests run) share the first.
pub fn install() -> Result<PrometheusHandle, InstallError> {
    let _installing = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_duration_seconds".into()),
            &LATENCY_BUCKETS,
        )
        .map_err(|e| InstallError(e.to_string()))?
        .set_buckets_for_metric(Matcher::Full(WRITE_BATCH_COMMANDS.into()), &BATCH_BUCKETS)
        .map_err(|e| InstallError(e.to_string()))?
        .set_buckets_for_metric(Matcher::Full(READ_BATCH_READS.into()), &BATCH_BUCKETS)
        .map_err(|e| InstallError(e.to_string()))?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| InstallError(e.to_string()))?;
    describe();
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Whether a recorder is installed: work done only to be measured is skipped otherwise.
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Time to answer HTTP requests, by method, route template and status"
    );
    describe_counter!(TRANSITIONS, "Inquiry events recorded, by action");
    describe_counter!(SWEEPER_TICKS, "Deadline sweeper ticks, by result");
    describe_gauge!(
        SWEEPER_LAG,
        Unit::Seconds,
        "How late the oldest due inquiry was at the last sweeper tick"
    );
    describe_histogram!(
        SWEEPER_TICK_DURATION,
        Unit::Seconds,
        "Time a deadline sweeper tick took"
    );
    describe_gauge!(
        OUTBOX_DEPTH,
        "Notifications waiting, by stage (fan_out, delivery)"
    );
    describe_counter!(
        DELIVERY_ATTEMPTS,
        "Delivery attempts, by channel and outcome (delivered, retrying, failed)"
    );
    describe_gauge!(
        DB_POOL_CONNECTIONS,
        "Database pool connections, by state (idle, in_use)"
    );
    describe_histogram!(
        WRITE_BATCH_COMMANDS,
        Unit::Count,
        "Inquiry commands per group commit (one transaction, one durable commit)"
    );
    describe_histogram!(
        READ_BATCH_READS,
        Unit::Count,
        "Requests' token reads per grouped query (PostgreSQL)"
    );
    describe_counter!(
        READS_CACHED,
        "Token reads on PostgreSQL, by where they were answered from (memory, database)"
    );
    describe_counter!(
        WRITE_BATCH_RERUNS,
        "Batches of commands run again with a savepoint per command, one having failed without"
    );
    // Shown from the start: a counter that appears only once it moves cannot be told
    // from one not exported.
    counter!(WRITE_BATCH_RERUNS).increment(0);
}

/// An inquiry event was committed.
pub fn transition_recorded(action: &'static str) {
    counter!(TRANSITIONS, "action" => action).increment(1);
}

/// A group commit of `commands` inquiry commands is about to commit.
pub fn batch_committed(commands: usize) {
    metrics::histogram!(WRITE_BATCH_COMMANDS).record(commands as f64);
}

/// A grouped query of `reads` token reads is about to be sent.
pub fn reads_grouped(reads: usize) {
    metrics::histogram!(READ_BATCH_READS).record(reads as f64);
}

/// A token read on PostgreSQL was answered from memory (`true`) or went to the database.
pub fn read_answered(from_memory: bool) {
    let from = if from_memory { "memory" } else { "database" };
    counter!(READS_CACHED, "from" => from).increment(1);
}

/// A batch of commands is run again, with a savepoint per command.
pub fn batch_rerun() {
    counter!(WRITE_BATCH_RERUNS).increment(1);
}

/// A sweeper tick ended: whether it succeeded, how long it took, and how late the oldest
/// due row was when it looked (`None`: nothing was due).
pub fn sweeper_ticked(ok: bool, took: Duration, lag: Option<Duration>) {
    let result = if ok { "ok" } else { "error" };
    counter!(SWEEPER_TICKS, "result" => result).increment(1);
    metrics::histogram!(SWEEPER_TICK_DURATION).record(took.as_secs_f64());
    gauge!(SWEEPER_LAG).set(lag.unwrap_or_default().as_secs_f64());
}

/// A delivery attempt ended.
pub fn delivery_attempted(channel: &str, outcome: &'static str) {
    let channel = match channel {
        "webhook" => "webhook",
        "email" => "email",
        _ => "other",
    };
    counter!(DELIVERY_ATTEMPTS, "channel" => channel, "outcome" => outcome).increment(1);
}

/// What waits in the outbox, as read at a scrape.
pub fn outbox_depth(to_fan_out: i64, deliveries_pending: i64) {
    gauge!(OUTBOX_DEPTH, "stage" => "fan_out").set(to_fan_out as f64);
    gauge!(OUTBOX_DEPTH, "stage" => "delivery").set(deliveries_pending as f64);
}

/// The pool's connections, as read at a scrape.
pub fn pool_connections(size: u32, idle: usize) {
    let idle = idle.min(size as usize);
    gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
    gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set((size as usize - idle) as f64);
}
