//! `/v1/directory/events`: the log of every change to the directory, for the Secretariat.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::extract::{ApiQuery, Secretariat};
use super::pagination::{Page, PageQuery, decode_cursor, into_page, page_limit};
use super::problem::ApiError;
use super::{AppState, Routes};
use crate::store::directory::DirectoryEvent;

pub(super) fn routes(routes: Routes) -> Routes {
    routes.get("/directory/events", list)
}

#[derive(Debug, Serialize)]
struct DirectoryEventBody {
    seq: i64,
    #[serde(rename = "type")]
    event_type: String,
    at: DateTime<Utc>,
    actor: ActorBody,
    subject: String,
    payload: Value,
}

#[derive(Debug, Serialize)]
struct ActorBody {
    kind: String,
    token_id: Option<Uuid>,
    poc_id: Option<Uuid>,
}

impl From<DirectoryEvent> for DirectoryEventBody {
    fn from(event: DirectoryEvent) -> Self {
        Self {
            seq: event.seq,
            event_type: event.event_type,
            at: event.at,
            actor: ActorBody {
                kind: event.actor_kind,
                token_id: event.actor_token_id,
                poc_id: event.actor_poc_id,
            },
            subject: event.subject,
            payload: event.payload.0,
        }
    }
}

/// Newest first.
async fn list(
    _secretariat: Secretariat,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<DirectoryEventBody>>, ApiError> {
    let limit = page_limit(query.limit)?;
    let before: Option<i64> = decode_cursor(query.cursor.as_deref())?;
    let rows = state.store.list_directory_events(before, limit + 1).await?;
    Ok(Json(into_page(
        rows,
        limit,
        |e| e.seq,
        DirectoryEventBody::from,
    )))
}
