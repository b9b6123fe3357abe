//! `GET /v1/me`: who the caller is, by its token.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::problem::ApiError;
use super::{AppState, Routes};
use crate::domain::{Caller, MemberStateCode, PocRole, Principal};

pub(super) fn routes(routes: Routes) -> Routes {
    routes.get("/me", me)
}

/// The principal behind a token, and the token.
#[derive(Debug, Serialize)]
struct MeBody {
    /// `secretariat` or `poc`.
    kind: &'static str,
    /// The POC, for a POC's token; `None` for the Secretariat's.
    poc: Option<MePoc>,
    token: MeToken,
}

#[derive(Debug, Serialize)]
struct MePoc {
    id: Uuid,
    member_state: MemberStateCode,
    name: String,
    role: PocRole,
}

#[derive(Debug, Serialize)]
struct MeToken {
    id: Uuid,
    label: Option<String>,
    created_at: DateTime<Utc>,
    /// When the token stops working by itself: tokens do not expire (they are revoked),
    /// so this is always `None` for now; clients should still honour it.
    expires_at: Option<DateTime<Utc>>,
}

/// Gone between authentication and now (revoked, its POC deactivated): as if unknown.
fn vanished() -> ApiError {
    ApiError::Unauthorized("the token is unknown, revoked, or its POC is deactivated".into())
}

async fn me(caller: Caller, State(state): State<AppState>) -> Result<Json<MeBody>, ApiError> {
    let token = state
        .store
        .get_token(caller.token_id)
        .await?
        .ok_or_else(vanished)?;
    let (kind, poc) = match &caller.principal {
        Principal::Secretariat => ("secretariat", None),
        Principal::Poc { poc_id, .. } => {
            let record = state.store.get_poc(poc_id.0).await?.ok_or_else(vanished)?;
            let poc = MePoc {
                id: record.id,
                member_state: record.member_state,
                name: record.name,
                role: record.role,
            };
            ("poc", Some(poc))
        }
    };
    Ok(Json(MeBody {
        kind,
        poc,
        token: MeToken {
            id: token.id,
            label: token.label,
            created_at: token.created_at,
            expires_at: None,
        },
    }))
}
