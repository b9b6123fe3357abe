//! `/v1/webhooks` and `/v1/deliveries`: where a POC (for itself) or the Secretariat is told
//! of what concerns it, and what became of each notification.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageQuery, decode_cursor, into_page, page_limit};
use super::problem::ApiError;
use super::{AppState, Routes};
use crate::clock;
use crate::delivery::target::{parse, resolve_and_check};
use crate::domain::Caller;
use crate::protocol::notification::{Audience, NOTIFIED};
use crate::store::StoreError;
use crate::store::deliveries::DeliveryRecord;
use crate::store::webhooks::{CreateWebhookError, WebhookOwner, WebhookRecord};

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .post("/webhooks", create)
        .get("/webhooks", list)
        .delete("/webhooks/{id}", remove)
        .post("/webhooks/{id}/ping", ping)
        .get("/webhooks/{id}/deliveries", deliveries)
        .post("/deliveries/{id}/retry", retry)
}

/// An endpoint as its owner sees it (the secret only at registration).
#[derive(Debug, Serialize)]
struct WebhookView {
    id: Uuid,
    url: String,
    /// The event types it receives; `null` for all its owner is told of.
    events: Option<Vec<String>>,
    active: bool,
    disabled_reason: Option<String>,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl WebhookView {
    fn new(record: WebhookRecord, with_secret: bool) -> Self {
        Self {
            id: record.id,
            url: record.url,
            events: record.events.map(|e| e.0),
            active: record.active,
            disabled_reason: record.disabled_reason,
            created_at: record.created_at,
            disabled_at: record.disabled_at,
            secret: with_secret.then_some(record.secret),
        }
    }
}

/// A delivery: one notification to one endpoint.
#[derive(Debug, Serialize)]
struct DeliveryView {
    /// Also the `webhook-id` header, the same on every attempt.
    id: Uuid,
    event: String,
    webhook_id: Option<Uuid>,
    /// `pending`, `delivered`, `failed` (or `skipped`, for e-mail without SMTP).
    state: String,
    attempts: i32,
    last_status: Option<i32>,
    last_error: Option<String>,
    /// When the next attempt is due (pending only).
    next_attempt_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(record: DeliveryRecord) -> Self {
        Self {
            next_attempt_at: (record.state == "pending").then_some(record.next_attempt_at),
            id: record.id,
            event: record.event_type,
            webhook_id: record.webhook_id,
            state: record.state,
            attempts: record.attempts,
            last_status: record.last_status,
            last_error: record.last_error,
            created_at: record.created_at,
            delivered_at: record.delivered_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateWebhook {
    url: String,
    #[serde(default)]
    events: Option<Vec<String>>,
}

/// `whsec_` and the base64 of 32 random bytes: the Standard Webhooks secret format.
fn new_secret() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(StoreError::Randomness(e)))?;
    Ok(format!("whsec_{}", STANDARD.encode(bytes)))
}

async fn create(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<Response, ApiError> {
    if body.url.len() > 2048 {
        return Err(ApiError::invalid_field(
            "url",
            "must be at most 2048 characters",
        ));
    }
    let url = parse(&body.url).map_err(|e| ApiError::invalid_field("url", e))?;
    resolve_and_check(&url, state.webhook_allow_private)
        .await
        .map_err(|e| ApiError::invalid_field("url", e))?;
    let owner = WebhookOwner::of(&caller.principal);
    let mut events = body.events;
    if let Some(events) = &mut events {
        if events.is_empty() {
            return Err(ApiError::invalid_field(
                "events",
                "must name at least one event type, or be left out for all",
            ));
        }
        // The events this owner is ever told of (the Secretariat: missed deadlines only).
        let told: Vec<&str> = NOTIFIED
            .iter()
            .filter(|(_, audiences)| match owner {
                WebhookOwner::Secretariat => audiences.contains(&Audience::Secretariat),
                WebhookOwner::Poc(_) => audiences.iter().any(|a| *a != Audience::Secretariat),
            })
            .map(|(t, _)| *t)
            .collect();
        for (i, event) in events.iter().enumerate() {
            if !told.contains(&event.as_str()) {
                return Err(ApiError::invalid_field(
                    format!("events[{i}]"),
                    format!("{event:?} is not an event you are told of; one of {told:?}"),
                ));
            }
        }
        events.sort();
        events.dedup();
    }
    let record = state
        .store
        .create_webhook(
            owner,
            url.as_str(),
            events.as_deref(),
            &new_secret()?,
            state.max_webhooks_per_owner,
            clock::now(),
        )
        .await
        .map_err(|error| match error {
            CreateWebhookError::TooMany { .. } => ApiError::Conflict(format!(
                "{error}; remove one you no longer need with DELETE /v1/webhooks/{{id}} \
                 (GET /v1/webhooks lists them), then register this one"
            )),
            CreateWebhookError::Store(error) => error.into(),
        })?;
    let location = format!("/v1/webhooks/{}", record.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(WebhookView::new(record, true)),
    )
        .into_response())
}

#[derive(Debug, Serialize)]
struct WebhookList {
    items: Vec<WebhookView>,
}

/// The caller's own endpoints.
async fn list(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<WebhookList>, ApiError> {
    let records = state
        .store
        .list_webhooks(WebhookOwner::of(&caller.principal))
        .await?;
    Ok(Json(WebhookList {
        items: records
            .into_iter()
            .map(|r| WebhookView::new(r, false))
            .collect(),
    }))
}

/// The caller's endpoint `id`; anyone else's is 404.
async fn owned(state: &AppState, caller: &Caller, id: Uuid) -> Result<WebhookRecord, ApiError> {
    state
        .store
        .get_webhook(id)
        .await?
        .filter(|w| w.owner() == WebhookOwner::of(&caller.principal))
        .ok_or_else(|| ApiError::NotFound(format!("you have no webhook with id {id}")))
}

/// Stops the endpoint: 204; its pending deliveries fail.
async fn remove(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    owned(&state, &caller, id).await?;
    state
        .store
        .disable_webhook(id, "deleted by its owner", clock::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a signed `ping`: 202 with its delivery.
async fn ping(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let webhook = owned(&state, &caller, id).await?;
    if !webhook.active {
        return Err(ApiError::Conflict(format!(
            "the webhook is disabled: {}",
            webhook.disabled_reason.unwrap_or_default()
        )));
    }
    let delivery = state.store.ping_webhook(&webhook, clock::now()).await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryView::from(delivery))).into_response())
}

/// The endpoint's deliveries, newest first.
async fn deliveries(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<DeliveryView>>, ApiError> {
    owned(&state, &caller, id).await?;
    let limit = page_limit(query.limit)?;
    let after: Option<(DateTime<Utc>, Uuid)> = decode_cursor(query.cursor.as_deref())?;
    let rows = state.store.list_deliveries(id, after, limit + 1).await?;
    Ok(Json(into_page(
        rows,
        limit,
        |d| (d.created_at, d.id),
        DeliveryView::from,
    )))
}

/// Puts a failed delivery of one of the caller's endpoints back in the queue: 200.
async fn retry(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<DeliveryView>, ApiError> {
    let not_found = || ApiError::NotFound(format!("you have no delivery with id {id}"));
    let delivery = state.store.get_delivery(id).await?.ok_or_else(not_found)?;
    let webhook_id = delivery.webhook_id.ok_or_else(not_found)?;
    let webhook = match owned(&state, &caller, webhook_id).await {
        Err(ApiError::NotFound(_)) => return Err(not_found()),
        other => other?,
    };
    if delivery.state != "failed" {
        return Err(ApiError::Conflict(format!(
            "only a failed delivery is retried; this one is {}",
            delivery.state
        )));
    }
    if !webhook.active {
        return Err(ApiError::Conflict(
            "the webhook is disabled; register it again".into(),
        ));
    }
    let retried = state
        .store
        .retry_delivery(id, clock::now())
        .await?
        .ok_or_else(not_found)?;
    if retried.state != "pending" {
        // The webhook was disabled, or the delivery changed, between the checks and now.
        return Err(ApiError::Conflict(format!(
            "the delivery could not be queued again; it is {}",
            retried.state
        )));
    }
    Ok(Json(retried.into()))
}
