//! `/v1/tokens/{id}`: a token's metadata, and revocation.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::extract::{ApiPath, Secretariat};
use super::problem::ApiError;
use super::{AppState, Routes};
use crate::clock;
use crate::store::directory::Actor;
use crate::store::tokens::TokenRecord;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .get("/tokens/{id}", show)
        .delete("/tokens/{id}", revoke)
}

/// A token's metadata; the secret is never shown again after creation.
#[derive(Debug, Serialize)]
struct TokenBody {
    id: Uuid,
    kind: String,
    poc_id: Option<Uuid>,
    label: Option<String>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRecord> for TokenBody {
    fn from(record: TokenRecord) -> Self {
        Self {
            id: record.id,
            kind: record.kind,
            poc_id: record.poc_id,
            label: record.label,
            created_at: record.created_at,
            last_used_at: record.last_used_at,
            revoked_at: record.revoked_at,
        }
    }
}

async fn show(
    _secretariat: Secretariat,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<TokenBody>, ApiError> {
    let record = state
        .store
        .get_token(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no token has id {id}")))?;
    Ok(Json(record.into()))
}

/// 204, and the token answers 401 from then on. Revoking a revoked token is a no-op.
async fn revoke(
    Secretariat(caller): Secretariat,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    if state
        .store
        .revoke_token(Actor::Caller(&caller), id, clock::now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no token has id {id}")))
    }
}
