//! The deadline sweeper: a task inside `cbm2 serve` that records missed deadlines and
//! reminders as they fall due, queues the notice to POCs about to turn stale, and purges
//! expired idempotency keys.

use std::time::Duration;

use tokio::sync::watch;

use crate::clock;
use crate::domain::poc::STALE_AFTER;
use crate::store::Store;

/// How long before a POC turns stale it is asked to confirm its details.
pub const STALE_WARNING: chrono::TimeDelta = chrono::TimeDelta::days(30);

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
        let now = clock::now();
        match store
            .queue_stale_notices(now, STALE_AFTER, STALE_WARNING)
            .await
        {
            Ok(0) => {}
            Ok(queued) => tracing::info!(queued, "stale-soon notices queued"),
            Err(error) => tracing::error!(%error, "queueing stale-soon notices failed"),
        }
        match store.purge_expired_idempotency_keys(now).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired idempotency keys purged"),
            Err(error) => tracing::error!(%error, "purging expired idempotency keys failed"),
        }
        match store.purge_expired_sign_in(now).await {
            Ok(purged) if purged == Default::default() => {}
            Ok(purged) => tracing::info!(
                links = purged.links,
                sessions = purged.sessions,
                "expired sign-in links and old sessions purged"
            ),
            Err(error) => tracing::error!(%error, "purging expired sign-in links failed"),
        }
        let started = std::time::Instant::now();
        let swept = store.sweep_deadlines(now).await;
        crate::metrics::sweeper_ticked(
            swept.is_ok(),
            started.elapsed(),
            swept
                .as_ref()
                .ok()
                .and_then(|report| report.oldest_due)
                .map(|due| (now - due).to_std().unwrap_or_default()),
        );
        match swept {
            Ok(report) if report.deadlines_missed + report.reminders + report.undecodable > 0 => {
                tracing::info!(
                    missed = report.deadlines_missed,
                    reminders = report.reminders,
                    skipped = report.skipped,
                    undecodable = report.undecodable,
                    "deadline sweep"
                )
            }
            Ok(_) => {}
            // A failed sweep is retried at the next tick; nothing is lost (due rows stay due).
            Err(error) => tracing::error!(%error, "deadline sweep failed"),
        }
    }
    tracing::info!("deadline sweeper stopped");
}
