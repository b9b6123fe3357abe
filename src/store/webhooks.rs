//! Webhook subscriptions: the endpoints a POC (for itself) or the Secretariat registers,
//! at most a set number per owner.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::{BeginWrite, Store, StoreError, dispatch};
use crate::domain::Principal;

/// Who owns a webhook: the Secretariat, or one POC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOwner {
    Secretariat,
    Poc(Uuid),
}

impl WebhookOwner {
    pub fn of(principal: &Principal) -> Self {
        match principal {
            Principal::Secretariat => WebhookOwner::Secretariat,
            Principal::Poc { poc_id, .. } => WebhookOwner::Poc(poc_id.0),
        }
    }

    fn parts(self) -> (&'static str, Option<Uuid>) {
        match self {
            WebhookOwner::Secretariat => ("secretariat", None),
            WebhookOwner::Poc(id) => ("poc", Some(id)),
        }
    }
}

/// A registered endpoint. The secret is never shown after registration.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRecord {
    pub id: Uuid,
    pub owner_kind: String,
    pub owner_poc_id: Option<Uuid>,
    pub url: String,
    pub events: Option<Json<Vec<String>>>,
    pub secret: String,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl WebhookRecord {
    pub fn owner(&self) -> WebhookOwner {
        match self.owner_poc_id {
            Some(id) => WebhookOwner::Poc(id),
            None => WebhookOwner::Secretariat,
        }
    }
}

/// Why an endpoint was not registered.
#[derive(Debug, thiserror::Error)]
pub enum CreateWebhookError {
    /// The owner already has `limit` active endpoints.
    #[error("you already have {limit} active webhooks, the most allowed for one owner")]
    TooMany { limit: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CreateWebhookError {
    fn from(error: sqlx::Error) -> Self {
        CreateWebhookError::Store(StoreError::Database(error))
    }
}

/// By default one owner may have ten active endpoints: one notification becomes at most
/// ten deliveries (and an e-mail), whoever asks.
pub const DEFAULT_MAX_WEBHOOKS_PER_OWNER: u32 = 10;

const WEBHOOK_COLUMNS: &str = "id, owner_kind, owner_poc_id, url, events, secret, active, \
     disabled_reason, created_at, disabled_at";

impl Store {
    /// Registers an endpoint, unless its owner already has `max_per_owner` active ones. The
    /// count and the insert are one transaction that concurrent registrations wait for
    /// (SQLite's write lock; on PostgreSQL a lock on the table that only writers of it
    /// feel), so racing requests cannot pass the limit together.
    pub async fn create_webhook(
        &self,
        owner: WebhookOwner,
        url: &str,
        events: Option<&[String]>,
        secret: &str,
        max_per_owner: u32,
        now: DateTime<Utc>,
    ) -> Result<WebhookRecord, CreateWebhookError> {
        let (kind, poc_id) = owner.parts();
        let sql = format!(
            "INSERT INTO webhooks (id, owner_kind, owner_poc_id, url, events, secret, active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {WEBHOOK_COLUMNS}"
        );
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            if !pool.lock_suffix().is_empty() {
                // PostgreSQL: SHARE ROW EXCLUSIVE conflicts with itself and with row
                // writes, not with reads, so deliveries go on while registrations queue.
                sqlx::query("LOCK TABLE webhooks IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
            }
            let active: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM webhooks
                  WHERE active AND owner_kind = $1 AND ($2 IS NULL OR owner_poc_id = $2)",
            )
            .bind(kind)
            .bind(poc_id)
            .fetch_one(&mut *tx)
            .await?;
            if active >= i64::from(max_per_owner) {
                return Err(CreateWebhookError::TooMany { limit: max_per_owner });
            }
            let record: WebhookRecord = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(Uuid::now_v7())
                .bind(kind)
                .bind(poc_id)
                .bind(url)
                .bind(events.map(Json))
                .bind(secret)
                .bind(true)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(record)
        })
    }

    /// The owner's endpoints, active first, newest first.
    pub async fn list_webhooks(
        &self,
        owner: WebhookOwner,
    ) -> Result<Vec<WebhookRecord>, StoreError> {
        let (kind, poc_id) = owner.parts();
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks
              WHERE owner_kind = $1 AND ($2 IS NULL OR owner_poc_id = $2)
              ORDER BY active DESC, created_at DESC, id DESC"
        );
        Ok(
            dispatch!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(kind).bind(poc_id).fetch_all(pool).await?),
        )
    }

    pub async fn get_webhook(&self, id: Uuid) -> Result<Option<WebhookRecord>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        Ok(
            dispatch!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?),
        )
    }

    /// Stops an endpoint: it receives nothing more; its pending deliveries fail.
    pub async fn disable_webhook(
        &self,
        id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            sqlx::query("UPDATE webhooks SET active = $2, disabled_reason = $3, disabled_at = $4 WHERE id = $1 AND active")
                .bind(id)
                .bind(false)
                .bind(reason)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE deliveries SET state = 'failed', last_error = $2, lease_owner = NULL, lease_until = NULL
                  WHERE webhook_id = $1 AND state = 'pending'",
            )
            .bind(id)
            .bind(format!("the webhook was disabled: {reason}"))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }
}
