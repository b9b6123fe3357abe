//! `GET /v1/health`: whether the service and its database answer.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::problem::ApiError;
use super::{AppState, Routes};

pub(super) fn routes(routes: Routes) -> Routes {
    routes.get("/health", health)
}

/// 200 `{"status":"ok"}` when the database answers a query; 503 otherwise.
async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store.ping().await.map_err(ApiError::Unavailable)?;
    Ok(Json(json!({ "status": "ok" })))
}
