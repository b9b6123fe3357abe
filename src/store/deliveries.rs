//! Deliveries: what the worker makes of each queued notification (one per endpoint of the
//! recipient, and an e-mail), their claims, attempts and outcomes.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use super::webhooks::WebhookRecord;
use super::{BeginWrite, Store, StoreError, dispatch};

/// A delivery as its owner sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRecord {
    pub id: Uuid,
    pub event_type: String,
    pub channel: String,
    pub webhook_id: Option<Uuid>,
    pub state: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A delivery a worker has claimed, with what it needs to make the attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedDelivery {
    pub id: Uuid,
    pub event_type: String,
    pub channel: String,
    pub webhook_id: Option<Uuid>,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub email_to: Option<String>,
    /// The recipient POC's languages, for e-mail.
    pub languages: Option<Json<Vec<String>>>,
    /// The time zone of the recipient POC's member state, for e-mail.
    pub time_zone: Option<String>,
    /// The recipient POC's OpenPGP public key, ASCII-armored: its e-mail goes encrypted.
    pub openpgp_key: Option<String>,
    pub body: String,
    pub attempts: i32,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// The delivery's state after the attempt, and when to try again if pending.
    pub next: NextStep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryAt(DateTime<Utc>),
    Failed,
    /// Failed, and the endpoint said it is gone for good (410): disable the webhook.
    Gone,
}

/// A due delivery a worker may claim, with what says where its attempt goes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: Uuid,
    pub channel: String,
    /// The endpoint's URL (webhooks).
    pub url: Option<String>,
}

/// What a worker leaves out when it looks for work: the receivers whose slots are full.
#[derive(Debug, Clone, Default)]
pub struct Saturated {
    /// Webhook deliveries whose URL starts with one of these (`scheme://host[:port]/`).
    pub url_prefixes: Vec<String>,
    /// Every e-mail delivery (they all go through the one relay).
    pub email: bool,
}

const DELIVERY_COLUMNS: &str = "id, event_type, channel, webhook_id, state, attempts, \
     last_status, last_error, next_attempt_at, created_at, delivered_at";

/// `$first, $first+1, …`: `count` placeholders for an `IN (…)` list.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many notifications one transaction of [`Store::fan_out`] takes. On SQLite it holds
/// the one write connection while it runs, and inquiry commands wait for it: 200 in one
/// transaction held it 21 to 53 ms under `cbm2 bench`'s 16 writers over HTTP, 25 hold it
/// a few.
const FAN_OUT_CHUNK: usize = 25;

/// How many such transactions one call runs at most: 200 notifications.
const FAN_OUT_CHUNKS: usize = 8;

impl Store {
    /// Queues a `ping` to an endpoint.
    pub async fn ping_webhook(
        &self,
        webhook: &WebhookRecord,
        now: DateTime<Utc>,
    ) -> Result<DeliveryRecord, StoreError> {
        let id = Uuid::now_v7();
        let body =
            json!({ "type": "ping", "timestamp": now, "data": { "webhook_id": webhook.id } })
                .to_string();
        let sql = format!(
            "INSERT INTO deliveries (id, event_type, channel, webhook_id, body, state, next_attempt_at, created_at)
             VALUES ($1, 'ping', 'webhook', $2, $3, 'pending', $4, $4) RETURNING {DELIVERY_COLUMNS}"
        );
        Ok(
            dispatch!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id).bind(webhook.id).bind(body).bind(now)
            .fetch_one(self.writes(pool)).await?),
        )
    }

    /// An endpoint's deliveries, newest first.
    pub async fn list_deliveries(
        &self,
        webhook_id: Uuid,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries
              WHERE webhook_id = $1 AND ($2 IS NULL OR (created_at, id) < ($2, $3))
              ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        Ok(
            dispatch!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(webhook_id)
            .bind(after.map(|(at, _)| at))
            .bind(after.map(|(_, id)| id))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?),
        )
    }

    pub async fn get_delivery(&self, id: Uuid) -> Result<Option<DeliveryRecord>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1");
        Ok(
            dispatch!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?),
        )
    }

    /// Puts a failed delivery back in the queue for one more attempt now.
    pub async fn retry_delivery(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        dispatch!(self, pool => sqlx::query(
            "UPDATE deliveries SET state = 'pending', next_attempt_at = $2, lease_owner = NULL, lease_until = NULL
              WHERE id = $1 AND state = 'failed'
                AND (webhook_id IS NULL OR webhook_id IN (SELECT id FROM webhooks WHERE active))",
        )
        .bind(id)
        .bind(now)
        .execute(self.writes(pool))
        .await
        .map(drop)?);
        self.get_delivery(id).await
    }

    /// Creates the deliveries of queued notifications: one per active endpoint of the
    /// recipient that takes the event, and one e-mail to a POC recipient (recorded as
    /// skipped when no SMTP server is configured). Each notification is fanned out once,
    /// whatever the number of workers. `links` gives the links a notification's `data`
    /// carries (`link`, the API's resource; `page`, its page in the web UI), if any.
    ///
    /// A POC is told only while it is active and, for an inquiry's notification, still
    /// a POC of the member state it was addressed for (the requesting or the responding
    /// state): one moved to another state since is told nothing more of the inquiry.
    ///
    /// Up to 200 notifications a call, [`FAN_OUT_CHUNK`] to a transaction, so that the
    /// inquiry commands waiting for SQLite's one write connection get it in between.
    pub async fn fan_out(
        &self,
        links: &(dyn Fn(&Value) -> Vec<(&'static str, String)> + Sync),
        email_enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        // A plain read first: an idle tick takes no write lock (SQLite has one writer).
        let waiting: Option<Uuid> = dispatch!(self, pool => sqlx::query_scalar(
            "SELECT id FROM outbox WHERE fanned_out_at IS NULL LIMIT 1",
        )
        .fetch_optional(pool)
        .await?);
        if waiting.is_none() {
            return Ok(0);
        }
        let mut fanned = 0;
        for _ in 0..FAN_OUT_CHUNKS {
            let claimed = dispatch!(self, pool => {
                let mut tx = self.writes(pool).begin_write().await?;
                let claim_sql = format!(
                    "SELECT o.id, o.event_type, o.recipient_kind, o.recipient_poc_id, o.data, o.created_at,
                            p.email,
                            (o.recipient_poc_id IS NULL
                             OR (p.active AND (o.recipient_state IS NULL
                                               OR p.member_state = o.recipient_state))) AS still_addressed
                       FROM outbox o LEFT JOIN pocs p ON p.id = o.recipient_poc_id
                      WHERE o.fanned_out_at IS NULL
                      ORDER BY o.created_at, o.id
                      LIMIT {FAN_OUT_CHUNK}{}",
                    if pool.lock_suffix().is_empty() { "" } else { " FOR UPDATE OF o SKIP LOCKED" }
                );
                type Row = (Uuid, String, String, Option<Uuid>, String, DateTime<Utc>, Option<String>, bool);
                let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(claim_sql)).fetch_all(&mut *tx).await?;
                let claimed = rows.len();
                for (outbox_id, event_type, recipient_kind, poc_id, data, created_at, email, still_addressed) in rows {
                    if !still_addressed {
                        // A deactivated POC, or one that left the state it was told for, is
                        // told nothing more, by any channel.
                        sqlx::query("UPDATE outbox SET fanned_out_at = $2 WHERE id = $1")
                            .bind(outbox_id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        continue;
                    }
                    let mut data: Value = serde_json::from_str(&data).unwrap_or_else(|_| json!({}));
                    for (key, url) in links(&data) {
                        data[key] = json!(url);
                    }
                    let body = json!({ "type": event_type, "timestamp": created_at, "data": data }).to_string();
                    let endpoints: Vec<(Uuid, Option<Json<Vec<String>>>)> = sqlx::query_as(
                        "SELECT id, events FROM webhooks
                          WHERE active AND owner_kind = $1 AND ($2 IS NULL OR owner_poc_id = $2)",
                    )
                    .bind(&recipient_kind)
                    .bind(poc_id)
                    .fetch_all(&mut *tx)
                    .await?;
                    for (webhook_id, events) in endpoints {
                        if events.as_ref().is_some_and(|wanted| !wanted.0.contains(&event_type)) {
                            continue;
                        }
                        sqlx::query(
                            "INSERT INTO deliveries (id, outbox_id, event_type, channel, webhook_id, body, state,
                                 next_attempt_at, created_at)
                             VALUES ($1, $2, $3, 'webhook', $4, $5, 'pending', $6, $6)",
                        )
                        .bind(Uuid::now_v7())
                        .bind(outbox_id)
                        .bind(&event_type)
                        .bind(webhook_id)
                        .bind(&body)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    if let Some(email) = email {
                        let (state, error) = if email_enabled {
                            ("pending", None)
                        } else {
                            ("skipped", Some("no SMTP server is configured (CBM2_SMTP_URL)"))
                        };
                        sqlx::query(
                            "INSERT INTO deliveries (id, outbox_id, event_type, channel, email_to, body, state,
                                 last_error, next_attempt_at, created_at)
                             VALUES ($1, $2, $3, 'email', $4, $5, $6, $7, $8, $8)",
                        )
                        .bind(Uuid::now_v7())
                        .bind(outbox_id)
                        .bind(&event_type)
                        .bind(email)
                        .bind(&body)
                        .bind(state)
                        .bind(error)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    sqlx::query("UPDATE outbox SET fanned_out_at = $2 WHERE id = $1")
                        .bind(outbox_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    fanned += 1;
                }
                tx.commit().await?;
                claimed
            });
            if claimed < FAN_OUT_CHUNK {
                break;
            }
        }
        Ok(fanned)
    }

    /// Up to `limit` deliveries due at `now` that no live claim holds, oldest due first,
    /// leaving out those bound for `saturated` receivers. A plain read: it claims nothing.
    pub async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        saturated: &Saturated,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        // `substr(url, 1, length(p)) = p` is a prefix test both backends run alike, with
        // no LIKE wildcards to escape.
        let skip_urls: String = (0..saturated.url_prefixes.len())
            .map(|i| {
                let n = i + 4;
                format!(
                    " AND NOT (d.channel = 'webhook' AND substr(w.url, 1, length(${n})) = ${n})"
                )
            })
            .collect();
        let sql = format!(
            "SELECT d.id, d.channel, w.url
               FROM deliveries d LEFT JOIN webhooks w ON w.id = d.webhook_id
              WHERE d.state = 'pending' AND d.next_attempt_at <= $1
                AND (d.lease_until IS NULL OR d.lease_until < $1)
                AND (d.webhook_id IS NULL OR w.active)
                AND NOT (d.channel = 'email' AND $2){skip_urls}
              ORDER BY d.next_attempt_at, d.id
              LIMIT $3"
        );
        Ok(dispatch!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(now)
                .bind(saturated.email)
                .bind(i64::from(limit));
            for prefix in &saturated.url_prefixes {
                query = query.bind(prefix);
            }
            query.fetch_all(pool).await?
        }))
    }

    /// Claims the deliveries `ids` for `worker` until `lease_until`, those still pending
    /// and unclaimed at `now` (another worker may have taken some meanwhile), and returns
    /// what their attempts need. A claim whose lease expired (its worker died or gave up
    /// at shutdown) is taken again.
    pub async fn claim_deliveries(
        &self,
        ids: &[Uuid],
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let claim_sql = format!(
            "UPDATE deliveries SET lease_owner = $1, lease_until = $2
              WHERE id IN ({}) AND state = 'pending'
                AND (lease_until IS NULL OR lease_until < $3)
              RETURNING id",
            placeholders(4, ids.len())
        );
        let claimed: Vec<Uuid> = dispatch!(self, pool => {
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(claim_sql))
                .bind(worker)
                .bind(lease_until)
                .bind(now);
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(self.writes(pool)).await?
        });
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let read_sql = format!(
            "SELECT d.id, d.event_type, d.channel, d.webhook_id, w.url, w.secret, d.email_to,
                    p.languages, m.time_zone, p.openpgp_key, d.body, d.attempts
               FROM deliveries d
               LEFT JOIN webhooks w ON w.id = d.webhook_id
               LEFT JOIN outbox o ON o.id = d.outbox_id
               LEFT JOIN pocs p ON p.id = o.recipient_poc_id
               LEFT JOIN member_states m ON m.code = p.member_state
              WHERE d.lease_owner = $1 AND d.id IN ({})
              ORDER BY d.next_attempt_at, d.id",
            placeholders(2, claimed.len())
        );
        Ok(dispatch!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(read_sql)).bind(worker);
            for id in &claimed {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        }))
    }

    /// Records an attempt by `worker` (ignored if its lease was lost to another worker).
    pub async fn record_attempt(
        &self,
        delivery: &ClaimedDelivery,
        worker: &str,
        outcome: &AttemptOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (state, next_attempt_at, delivered_at) = match outcome.next {
            NextStep::Delivered => ("delivered", now, Some(now)),
            NextStep::RetryAt(at) => ("pending", at, None),
            NextStep::Failed | NextStep::Gone => ("failed", now, None),
        };
        let attempt = delivery.attempts + 1;
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let updated = sqlx::query(
                "UPDATE deliveries SET state = $3, attempts = $4, last_status = $5, last_error = $6,
                     next_attempt_at = $7, delivered_at = $8, lease_owner = NULL, lease_until = NULL
                  WHERE id = $1 AND lease_owner = $2 AND state = 'pending'",
            )
            .bind(delivery.id)
            .bind(worker)
            .bind(state)
            .bind(attempt)
            .bind(outcome.status)
            .bind(outcome.error.as_deref())
            .bind(next_attempt_at)
            .bind(delivered_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 1 {
                sqlx::query(
                    "INSERT INTO delivery_attempts (delivery_id, attempt, at, status, error, duration_ms)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(delivery.id)
                .bind(attempt)
                .bind(now)
                .bind(outcome.status)
                .bind(outcome.error.as_deref())
                .bind(outcome.duration_ms)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        if outcome.next == NextStep::Gone
            && let Some(webhook_id) = delivery.webhook_id
        {
            self.disable_webhook(webhook_id, "the receiver answered 410 Gone", now)
                .await?;
        }
        Ok(())
    }

    /// What waits in the outbox, for the metrics: notifications not yet fanned out, and
    /// deliveries pending (both counted on partial indexes).
    pub async fn outbox_depth(&self) -> Result<(i64, i64), StoreError> {
        Ok(dispatch!(self, pool => {
            let to_fan_out: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE fanned_out_at IS NULL")
                .fetch_one(pool)
                .await?;
            let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 'pending'")
                .fetch_one(pool)
                .await?;
            (to_fan_out, pending)
        }))
    }

    /// How many deliveries have failed for good, for the Secretariat's summary.
    pub async fn failed_delivery_count(&self) -> Result<i64, StoreError> {
        Ok(
            dispatch!(self, pool => sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 'failed' AND attempts > 0")
            .fetch_one(pool)
            .await?),
        )
    }
}
