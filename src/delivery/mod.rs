//! Delivery of queued notifications: a worker inside `cbm2 serve` fans each outbox row out
//! to the recipient's webhooks and e-mail, claims due deliveries with a lease, makes the
//! attempts and records them, retrying with exponential backoff and jitter. At least once:
//! a claim whose lease expired (its worker died, or gave up at shutdown) is taken again;
//! never twice at once, since an attempt never outlives its claim.
//!
//! The worker is a pipeline, not a round: it claims work as slots free up, at most
//! `concurrency` attempts at once and at most `per_target` to one receiver (a webhook's
//! origin, or the SMTP relay), and every attempt runs under a hard time limit. A receiver
//! that hangs holds its own slots until its attempts time out; everyone else's
//! notifications keep flowing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;
use tokio::task::{Id, JoinSet};
use tokio::time::Instant;

use crate::clock;
use crate::store::Store;
use crate::store::deliveries::{AttemptOutcome, ClaimedDelivery, NextStep};
use slots::{Slots, Target};

pub mod email;
pub mod email_templates;
pub mod link;
pub mod slots;
pub mod target;
pub mod webhook;

pub use email::{SignInMailError, send_sign_in_mail};

/// How delivery behaves; from `serve`'s flags and environment.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// The base of links in notifications (`CBM2_PUBLIC_URL`).
    pub public_url: String,
    /// The first retry delay; each next one doubles (capped at six hours), plus jitter.
    pub retry_base: Duration,
    /// After this many attempts a delivery is `failed`.
    pub max_attempts: u32,
    /// How long a claim lasts (at most 60 s). No attempt runs longer.
    pub lease: Duration,
    /// How long one webhook attempt may take, name resolution included.
    pub attempt_timeout: Duration,
    /// How often the worker looks for new work (it also looks whenever a slot frees up
    /// while work is waiting).
    pub poll_interval: Duration,
    /// How many attempts one worker makes at once.
    pub concurrency: usize,
    /// How many of them may go to one receiver: a webhook origin, or the SMTP relay.
    pub per_target: usize,
    /// Allow webhooks to loopback and private addresses, over http (local setups, tests).
    pub allow_private: bool,
    /// The SMTP relay, if any (with its own time limit for an attempt).
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
            concurrency: DEFAULT_CONCURRENCY,
            per_target: DEFAULT_PER_TARGET,
            allow_private: false,
            email: None,
        }
    }
}

/// Attempts one worker makes at once, by default.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// Attempts in flight to one receiver, by default: a hung receiver holds four slots of 32.
pub const DEFAULT_PER_TARGET: usize = 4;

/// With the default 30 s base and delays capped at six hours, 14 attempts span about a day.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 14;

/// The longest delay between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(6 * 3600);

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

/// Runs until `stop` holds a deadline: fans out what was queued every poll interval, and
/// keeps the slots busy with due deliveries. Once stopped it claims nothing more, lets the
/// attempts in flight finish until the deadline, and abandons the rest (their claims are
/// taken again when their lease ends).
pub async fn run_worker(
    store: Store,
    settings: DeliverySettings,
    mut stop: watch::Receiver<Option<Instant>>,
) {
    let worker = Worker {
        store,
        id: format!("worker-{}", uuid::Uuid::new_v4()).into(),
        settings: Arc::new(settings),
    };
    let mut pipeline = Pipeline {
        slots: Slots::new(worker.settings.concurrency, worker.settings.per_target),
        attempts: JoinSet::new(),
        targets: HashMap::new(),
    };
    let mut ticker = tokio::time::interval(worker.settings.poll_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Whether the last look for work left due deliveries behind (slots were full).
    let mut work_left = false;
    loop {
        tokio::select! {
            biased;
            changed = stop.changed() => {
                if changed.is_err() || stop.borrow().is_some() {
                    break;
                }
                continue;
            }
            Some(finished) = pipeline.attempts.join_next_with_id() => {
                pipeline.finished(finished);
                if !work_left {
                    continue;
                }
            }
            _ = ticker.tick() => worker.fan_out().await,
        }
        work_left = match worker.fill(&mut pipeline).await {
            Ok(left) => left,
            Err(error) => {
                tracing::error!(%error, "looking for deliveries failed; trying again at the next tick");
                false
            }
        };
    }
    // A dropped sender (the server is gone) leaves no time at all.
    let deadline = (*stop.borrow()).unwrap_or_else(Instant::now);
    pipeline.stop(deadline).await;
    tracing::info!("delivery worker stopped");
}

/// What every attempt of one worker shares.
#[derive(Clone)]
struct Worker {
    store: Store,
    /// The lease owner's name.
    id: Arc<str>,
    settings: Arc<DeliverySettings>,
}

/// The attempts in flight and the slots they hold.
struct Pipeline {
    slots: Slots,
    attempts: JoinSet<()>,
    targets: HashMap<Id, Target>,
}

impl Pipeline {
    /// Frees the slot of an attempt that ended (recorded, or panicked).
    fn finished(&mut self, finished: Result<(Id, ()), tokio::task::JoinError>) {
        let id = match finished {
            Ok((id, ())) => id,
            Err(error) => {
                tracing::error!(%error, "a delivery attempt ended abnormally; its claim is taken again after the lease");
                error.id()
            }
        };
        if let Some(target) = self.targets.remove(&id) {
            self.slots.release(&target);
        }
    }

    /// Waits until `deadline` for the attempts in flight, then abandons the rest.
    async fn stop(mut self, deadline: Instant) {
        if self.attempts.is_empty() {
            return;
        }
        tracing::info!(
            in_flight = self.attempts.len(),
            "waiting for the delivery attempts in flight"
        );
        let drained = tokio::time::timeout_at(deadline, async {
            while self.attempts.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = self.attempts.len(),
                "shutdown grace over: abandoning the delivery attempts still in flight; their \
                 claims are taken again when their lease ends"
            );
            self.attempts.abort_all();
        }
    }
}

impl Worker {
    /// Creates the deliveries of what was queued since the last tick.
    async fn fan_out(&self) {
        let public_url = self.settings.public_url.as_str();
        let links = |data: &serde_json::Value| {
            [
                ("link", link::link(public_url, data)),
                ("page", link::page(public_url, data)),
            ]
            .into_iter()
            .filter_map(|(key, url)| url.map(|url| (key, url)))
            .collect()
        };
        if let Err(error) = self
            .store
            .fan_out(&links, self.settings.email.is_some(), clock::now())
            .await
        {
            tracing::error!(%error, "fanning out notifications failed; trying again at the next tick");
        }
    }

    /// Claims due deliveries for the free slots, fairly across targets, and starts their
    /// attempts. Returns whether due deliveries were left behind for want of slots.
    async fn fill(&self, pipeline: &mut Pipeline) -> Result<bool, crate::store::StoreError> {
        let free = pipeline.slots.free();
        if free == 0 {
            return Ok(true);
        }
        // Look further than the free slots: some of what is due may go to targets that
        // filled up meanwhile.
        let window = (free * 4).min(256) as u32;
        let due = self
            .store
            .due_deliveries(clock::now(), &pipeline.slots.saturated(), window)
            .await?;
        let mut chosen = Vec::new();
        let mut taken: HashMap<uuid::Uuid, Target> = HashMap::new();
        for delivery in &due {
            if pipeline.slots.free() == 0 {
                break;
            }
            let target = Target::of(&delivery.channel, delivery.url.as_deref());
            if pipeline.slots.try_take(&target) {
                chosen.push(delivery.id);
                taken.insert(delivery.id, target);
            }
        }
        let left_behind = due.len() > chosen.len() || due.len() == window as usize;
        let now = clock::now();
        let lease = TimeDelta::from_std(self.settings.lease).unwrap_or(TimeDelta::seconds(60));
        // The claim ends at `now + lease` in the database; the attempt ends before it.
        let claim_ends = Instant::now() + self.settings.lease;
        let claimed = match self
            .store
            .claim_deliveries(&chosen, &self.id, now, now + lease)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                for target in taken.values() {
                    pipeline.slots.release(target);
                }
                return Err(error);
            }
        };
        for delivery in claimed {
            let Some(target) = taken.remove(&delivery.id) else {
                continue;
            };
            let worker = self.clone();
            let handle = pipeline
                .attempts
                .spawn(async move { worker.attempt_and_record(delivery, claim_ends).await });
            pipeline.targets.insert(handle.id(), target);
        }
        // What another worker claimed first frees its slot at once.
        for target in taken.values() {
            pipeline.slots.release(target);
        }
        Ok(left_behind)
    }

    /// Makes one attempt, under its hard time limit, then records and logs it.
    async fn attempt_and_record(&self, delivery: ClaimedDelivery, claim_ends: Instant) {
        let limit = match (delivery.channel.as_str(), &self.settings.email) {
            ("email", Some(mailer)) => mailer.timeout(),
            _ => self.settings.attempt_timeout,
        };
        let started = Instant::now();
        let ends = (started + limit).min(claim_ends);
        // An e-mail shows a deadline in both states' local times; without the zones (the
        // database out of reach), in the reader's alone.
        let zones = match delivery.channel.as_str() {
            "email" => self.store.zones().await.ok(),
            _ => None,
        };
        let sent = send(&delivery, &self.settings, zones);
        let result = match tokio::time::timeout_at(ends, sent).await {
            Ok(result) => result,
            Err(_) => Err(webhook::Failure::transient(
                None,
                format!(
                    "the attempt timed out: it did not end within {}",
                    humantime::format_duration(Duration::from_millis(
                        (ends - started).as_millis() as u64
                    ))
                ),
            )),
        };
        let outcome = decide(&delivery, &self.settings, result, started.elapsed());
        log_attempt(&delivery, &outcome);
        if let Err(error) = self
            .store
            .record_attempt(&delivery, &self.id, &outcome, clock::now())
            .await
        {
            tracing::error!(delivery_id = %delivery.id, %error, "recording a delivery attempt failed; it is made again after the lease");
        }
    }
}

/// One line per attempt: INFO when delivered, WARN when it will be tried again, ERROR when
/// it failed for good. Webhook URLs appear without their query string. Counted in the
/// metrics too.
fn log_attempt(delivery: &ClaimedDelivery, outcome: &AttemptOutcome) {
    let to = delivery
        .url
        .as_deref()
        .and_then(|url| target::parse(url).ok())
        .map(|url| target::for_logs(&url))
        .unwrap_or_default();
    let error = outcome.error.as_deref().unwrap_or("");
    macro_rules! attempt_line {
        ($level:ident, $message:literal) => {
            tracing::$level!(
                delivery_id = %delivery.id,
                channel = %delivery.channel,
                event = %delivery.event_type,
                to,
                attempt = delivery.attempts + 1,
                status = ?outcome.status,
                next = ?outcome.next,
                error,
                $message
            )
        };
    }
    let measured = match outcome.next {
        NextStep::Delivered => "delivered",
        NextStep::RetryAt(_) => "retrying",
        NextStep::Failed | NextStep::Gone => "failed",
    };
    crate::metrics::delivery_attempted(&delivery.channel, measured);
    match outcome.next {
        NextStep::Delivered => attempt_line!(info, "delivery attempt succeeded"),
        NextStep::RetryAt(_) => {
            attempt_line!(warn, "delivery attempt failed; it will be tried again")
        }
        NextStep::Failed | NextStep::Gone => attempt_line!(error, "delivery failed for good"),
    }
}

/// Sends the delivery on its channel.
async fn send(
    delivery: &ClaimedDelivery,
    settings: &DeliverySettings,
    state_zones: Option<crate::store::StateZones>,
) -> Result<Option<i32>, webhook::Failure> {
    match delivery.channel.as_str() {
        "webhook" => webhook::send(delivery, settings).await,
        _ => match &settings.email {
            Some(mailer) => email::send(mailer, delivery, state_zones).await,
            None => Err(webhook::Failure::permanent(
                None,
                "no SMTP server is configured".into(),
            )),
        },
    }
}

/// What follows an attempt that ended with `result` after `took`.
fn decide(
    delivery: &ClaimedDelivery,
    settings: &DeliverySettings,
    result: Result<Option<i32>, webhook::Failure>,
    took: Duration,
) -> AttemptOutcome {
    let duration_ms = took.as_millis() as i64;
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
