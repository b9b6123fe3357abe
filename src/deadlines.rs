//! The deadline sweeper: a task inside `cbm2 serve` that records missed deadlines and
//! reminders as they fall due.

use std::time::Duration;

use tokio::sync::watch;

use crate::clock;
use crate::store::Store;

/// The shortest sweep interval accepted (tests use it).
pub const MIN_SWEEP_INTERVAL: Duration = Duration::from_millis(100);

/// Sweeps once now, then every `interval`, until `stop` changes.
pub async fn run_sweeper(store: Store, interval: Duration, mut stop: watch::Receiver<bool>) {
    tracing::info!(interval = %humantime::format_duration(interval), "deadline sweeper started");
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        match store.sweep_deadlines(clock::now()).await {
            Ok(report) if report.deadlines_missed + report.reminders > 0 => tracing::info!(
                missed = report.deadlines_missed,
                reminders = report.reminders,
                skipped = report.skipped,
                "deadline sweep"
            ),
            Ok(_) => {}
            // A failed sweep is retried at the next tick; nothing is lost (due rows stay due).
            Err(error) => tracing::error!(%error, "deadline sweep failed"),
        }
    }
    tracing::info!("deadline sweeper stopped");
}
