//! `/v1/tokens/{id}`: a token's metadata, and revocation.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::problem::ApiError;
use super::{AppState, Routes};
use crate::clock;
use crate::domain::Caller;
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

fn token_id(id: &str, caller: &Caller) -> Result<Uuid, ApiError> {
    if !caller.is_secretariat() {
        return Err(ApiError::Forbidden(
            "only the Secretariat manages tokens".into(),
        ));
    }
    Uuid::parse_str(id).map_err(|_| ApiError::invalid_parameter("id", "must be a UUID"))
}

async fn show(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TokenBody>, ApiError> {
    let id = token_id(&id, &caller)?;
    let record = state
        .store
        .get_token(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no token has id {id}")))?;
    Ok(Json(record.into()))
}

/// 204, and the token answers 401 from then on. Revoking a revoked token is a no-op.
async fn revoke(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = token_id(&id, &caller)?;
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
