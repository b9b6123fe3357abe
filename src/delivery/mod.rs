//! Delivery of queued notifications: a worker inside `cbm2 serve` fans each outbox row out
//! to the recipient's webhooks and e-mail, claims due deliveries with a lease, makes the
//! attempts and records them, retrying with exponential backoff and jitter. At least once:
//! a claim whose lease expired (its worker died) is taken again; never twice at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::clock;
use crate::store::Store;
use crate::store::webhooks::{AttemptOutcome, ClaimedDelivery, NextStep};

pub mod email;
pub mod email_templates;
pub mod target;
pub mod webhook;

/// How delivery behaves; from `serve`'s flags and environment.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// The base of links in notifications (`CBM2_PUBLIC_URL`).
    pub public_url: String,
    /// The first retry delay; each next one doubles (capped at six hours), plus jitter.
    pub retry_base: Duration,
    /// After this many attempts a delivery is `failed`.
    pub max_attempts: u32,
    /// How long a claim lasts (at most 60 s).
    pub lease: Duration,
    /// How long one webhook attempt may take.
    pub attempt_timeout: Duration,
    /// How often the worker looks for work.
    pub poll_interval: Duration,
    /// Allow webhooks to loopback and private addresses, over http (local setups, tests).
    pub allow_private: bool,
    /// The SMTP relay, if any.
    pub email: Option<email::Mailer>,
}

impl DeliverySettings {
    /// The defaults of `cbm2 serve`.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into(),
            retry_base: Duration::from_secs(30),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            lease: Duration::from_secs(60),
            attempt_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            allow_private: false,
            email: None,
        }
    }
}

/// With the default 30 s base and delays capped at six hours, 14 attempts span about a day.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 14;

/// The longest delay between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(6 * 3600);

/// How many deliveries one worker attempts at once.
const CLAIM_BATCH: u32 = 32;

/// When to try again after the `attempt`-th failure: base·2^(attempt−1), capped, plus up to
/// 25% random jitter so that receivers that fail together are not retried together.
pub fn retry_delay(base: Duration, attempt: u32, jitter: f64) -> Duration {
    let exponential = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    exponential
        .min(MAX_DELAY)
        .mul_f64(1.0 + 0.25 * jitter.clamp(0.0, 1.0))
}

/// A random number in [0, 1) from the operating system.
fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs until `stop` changes: fan out, claim, deliver, record, every poll interval.
pub async fn run_worker(store: Store, settings: DeliverySettings, mut stop: watch::Receiver<bool>) {
    let worker = format!("worker-{}", uuid::Uuid::new_v4());
    let settings = Arc::new(settings);
    let mut ticker = tokio::time::interval(settings.poll_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        if let Err(error) = tick(&store, &settings, &worker).await {
            tracing::error!(%error, "delivery round failed; retrying at the next tick");
        }
    }
    tracing::info!("delivery worker stopped");
}

/// One round: fan out what was queued, then attempt what is due.
async fn tick(
    store: &Store,
    settings: &Arc<DeliverySettings>,
    worker: &str,
) -> Result<(), crate::store::StoreError> {
    let now = clock::now();
    store
        .fan_out(&settings.public_url, settings.email.is_some(), now)
        .await?;
    let lease = TimeDelta::from_std(settings.lease).unwrap_or(TimeDelta::seconds(60));
    let claimed = store
        .claim_deliveries(worker, now, now + lease, CLAIM_BATCH)
        .await?;
    let mut attempts = JoinSet::new();
    for delivery in claimed {
        let settings = Arc::clone(settings);
        attempts.spawn(async move {
            let outcome = attempt(&delivery, &settings).await;
            (delivery, outcome)
        });
    }
    while let Some(joined) = attempts.join_next().await {
        let Ok((delivery, outcome)) = joined else {
            continue;
        };
        tracing::info!(
            delivery_id = %delivery.id,
            channel = %delivery.channel,
            event = %delivery.event_type,
            status = ?outcome.status,
            next = ?outcome.next,
            error = outcome.error.as_deref().unwrap_or(""),
            "delivery attempt"
        );
        store
            .record_attempt(&delivery, worker, &outcome, clock::now())
            .await?;
    }
    Ok(())
}

/// Makes one attempt and decides what follows.
async fn attempt(delivery: &ClaimedDelivery, settings: &DeliverySettings) -> AttemptOutcome {
    let started = Instant::now();
    let result = match delivery.channel.as_str() {
        "webhook" => webhook::send(delivery, settings).await,
        _ => match &settings.email {
            Some(mailer) => email::send(mailer, delivery).await,
            None => Err(webhook::Failure::permanent(
                None,
                "no SMTP server is configured".into(),
            )),
        },
    };
    let duration_ms = started.elapsed().as_millis() as i64;
    let attempt = delivery.attempts as u32 + 1;
    let retry_at = |now: DateTime<Utc>| {
        now + TimeDelta::from_std(retry_delay(settings.retry_base, attempt, jitter()))
            .unwrap_or(TimeDelta::hours(6))
    };
    match result {
        Ok(status) => AttemptOutcome {
            status,
            error: None,
            duration_ms,
            next: NextStep::Delivered,
        },
        Err(failure) => {
            let next = if failure.gone {
                NextStep::Gone
            } else if failure.permanent || attempt >= settings.max_attempts {
                NextStep::Failed
            } else {
                NextStep::RetryAt(retry_at(clock::now()))
            };
            AttemptOutcome {
                status: failure.status,
                error: Some(failure.error),
                duration_ms,
                next,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_the_base_and_are_capped() {
        let base = Duration::from_secs(30);
        assert_eq!(retry_delay(base, 1, 0.0), Duration::from_secs(30));
        assert_eq!(retry_delay(base, 2, 0.0), Duration::from_secs(60));
        assert_eq!(retry_delay(base, 5, 0.0), Duration::from_secs(480));
        assert_eq!(retry_delay(base, 30, 0.0), MAX_DELAY);
        assert_eq!(retry_delay(base, 1, 1.0), Duration::from_millis(37_500));
    }

    #[test]
    fn the_default_schedule_spans_about_a_day() {
        let base = Duration::from_secs(30);
        let total: Duration = (1..DEFAULT_MAX_ATTEMPTS)
            .map(|a| retry_delay(base, a, 0.0))
            .sum();
        assert!((20..=30).contains(&(total.as_secs() / 3600)), "{total:?}");
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..100 {
            assert!((0.0..1.0).contains(&jitter()));
        }
    }
}
