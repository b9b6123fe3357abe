//! `/v1/communication-checks`: does each POC answer? The Secretariat starts a check, each
//! POC asked replies, and the check shows who replied and how fast, per state.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, Secretariat};
use super::pagination::{Page, PageQuery, decode_cursor, into_page, page_limit};
use super::problem::ApiError;
use super::{AppState, Routes};
use crate::clock;
use crate::domain::{Caller, IsoDuration, MemberStateCode, Principal};
use crate::store::checks::{CheckError, CheckRecord, CheckTarget};

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .post("/communication-checks", create)
        .get("/communication-checks", list)
        .get("/communication-checks/{id}", show)
        .post("/communication-checks/{id}/reply", reply)
}

impl From<CheckError> for ApiError {
    fn from(error: CheckError) -> Self {
        match error {
            CheckError::UnknownMemberState(_) | CheckError::NobodyToAsk => ApiError::invalid_field(
                "member_states",
                error.to_string().trim_start_matches("member_states: "),
            ),
            // Also a check that does not ask the caller: as for GET, it is not the caller's
            // to see, and the answer is the same as for a check that does not exist.
            CheckError::NotFound(_) => ApiError::NotFound(error.to_string()),
            CheckError::Store(error) => error.into(),
        }
    }
}

/// A check, with every POC asked when the Secretariat reads it.
#[derive(Debug, Serialize)]
pub(crate) struct CheckView {
    pub(crate) id: Uuid,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) reply_window: String,
    pub(crate) window_ends_at: DateTime<Utc>,
    /// The window has ended: those who did not reply by then are listed in `not_replied`.
    pub(crate) window_ended: bool,
    /// The states asked; `null` when every active POC was.
    pub(crate) member_states: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) results: Option<CheckResults>,
    /// For a POC: when it replied (null if not yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) your_reply: Option<Option<DateTime<Utc>>>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CheckResults {
    pub(crate) asked: usize,
    pub(crate) replied: usize,
    pub(crate) replied_in_time: usize,
    pub(crate) by_state: Vec<StateResult>,
    /// Once the window has ended: the POCs that did not reply within it.
    pub(crate) not_replied: Vec<TargetView>,
}

#[derive(Debug, Serialize)]
pub(crate) struct StateResult {
    pub(crate) member_state: String,
    pub(crate) asked: usize,
    pub(crate) replied: usize,
    pub(crate) pocs: Vec<TargetView>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct TargetView {
    pub(crate) poc_id: Uuid,
    pub(crate) name: String,
    pub(crate) role: String,
    pub(crate) replied_at: Option<DateTime<Utc>>,
    /// From the start of the check to the reply.
    pub(crate) reply_time: Option<IsoDuration>,
    /// Replied after the window ended.
    pub(crate) late: bool,
}

pub(crate) fn view(
    record: CheckRecord,
    targets: Option<Vec<CheckTarget>>,
    your_reply: Option<Option<DateTime<Utc>>>,
) -> CheckView {
    let now = clock::now();
    let window_ended = now >= record.window_ends_at;
    let results = targets.map(|targets| {
        let target_view = |t: &CheckTarget| TargetView {
            poc_id: t.poc_id,
            name: t.name.clone(),
            role: t.role.clone(),
            replied_at: t.replied_at,
            reply_time: t
                .replied_at
                .map(|at| IsoDuration::from_delta(at - record.created_at)),
            late: t.replied_at.is_some_and(|at| at > record.window_ends_at),
        };
        let mut by_state: Vec<StateResult> = Vec::new();
        for target in &targets {
            if by_state
                .last()
                .is_none_or(|s| s.member_state != target.member_state)
            {
                by_state.push(StateResult {
                    member_state: target.member_state.clone(),
                    asked: 0,
                    replied: 0,
                    pocs: Vec::new(),
                });
            }
            let state = by_state.last_mut().expect("just pushed");
            state.asked += 1;
            state.replied += usize::from(target.replied_at.is_some());
            state.pocs.push(target_view(target));
        }
        CheckResults {
            asked: targets.len(),
            replied: targets.iter().filter(|t| t.replied_at.is_some()).count(),
            replied_in_time: targets
                .iter()
                .filter(|t| t.replied_at.is_some_and(|at| at <= record.window_ends_at))
                .count(),
            by_state,
            not_replied: if window_ended {
                targets
                    .iter()
                    .filter(|t| t.replied_at.is_none_or(|at| at > record.window_ends_at))
                    .map(target_view)
                    .collect()
            } else {
                Vec::new()
            },
        }
    });
    CheckView {
        id: record.id,
        created_at: record.created_at,
        reply_window: record.reply_window,
        window_ends_at: record.window_ends_at,
        window_ended,
        member_states: record.member_states.map(|j| j.0),
        results,
        your_reply,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateCheck {
    /// The states whose active POCs are asked; all states when absent.
    #[serde(default)]
    member_states: Option<Vec<MemberStateCode>>,
    reply_window: IsoDuration,
}

/// What a new check must be, beyond its types: some states or all of them (never an empty
/// list), and a reply window of at most 90 days. The page that starts a check applies
/// the same rules.
pub(crate) fn check_rules(
    member_states: Option<&[MemberStateCode]>,
    reply_window: IsoDuration,
) -> Result<(), ApiError> {
    if member_states.is_some_and(<[MemberStateCode]>::is_empty) {
        return Err(ApiError::invalid_field(
            "member_states",
            "must name at least one state, or be left out to ask every state",
        ));
    }
    if reply_window.as_delta() > chrono::TimeDelta::days(90) {
        return Err(ApiError::invalid_field(
            "reply_window",
            "must be at most P90D",
        ));
    }
    Ok(())
}

async fn create(
    Secretariat(caller): Secretariat,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateCheck>,
) -> Result<Response, ApiError> {
    check_rules(body.member_states.as_deref(), body.reply_window)?;
    let record = state
        .store
        .create_check(
            &caller,
            body.member_states.as_deref(),
            body.reply_window,
            clock::now(),
        )
        .await?;
    let (record, targets) = state
        .store
        .get_check(record.id)
        .await?
        .ok_or_else(|| ApiError::NotFound("the check just created".into()))?;
    let location = format!("/v1/communication-checks/{}", record.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view(record, Some(targets), None)),
    )
        .into_response())
}

/// Newest first: every check for the Secretariat; for a POC, the checks that ask it.
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<CheckView>>, ApiError> {
    let limit = page_limit(query.limit)?;
    let after: Option<(DateTime<Utc>, Uuid)> = decode_cursor(query.cursor.as_deref())?;
    let rows = state
        .store
        .list_checks(&caller.principal, after, limit + 1)
        .await?;
    let mut views = Vec::with_capacity(rows.len());
    for record in rows {
        views.push(check_for(&state, &caller, record.id).await?);
    }
    Ok(Json(into_page(
        views,
        limit,
        |v| (v.created_at, v.id),
        |v| v,
    )))
}

/// The check as `caller` may see it: everything for the Secretariat, its own reply for a
/// POC asked, 404 for anyone else.
pub(crate) async fn check_for(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<CheckView, ApiError> {
    let not_found = || ApiError::NotFound(format!("no communication check has id {id}"));
    let (record, targets) = state.store.get_check(id).await?.ok_or_else(not_found)?;
    match &caller.principal {
        Principal::Secretariat => Ok(view(record, Some(targets), None)),
        Principal::Poc { poc_id, .. } => {
            let mine = targets
                .iter()
                .find(|t| t.poc_id == poc_id.0)
                .ok_or_else(not_found)?;
            let replied_at = mine.replied_at;
            Ok(view(record, None, Some(replied_at)))
        }
    }
}

async fn show(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CheckView>, ApiError> {
    Ok(Json(check_for(&state, &caller, id).await?))
}

/// A POC asked replies: 200 with the check as it sees it. Replying again keeps the first
/// reply's time.
async fn reply(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CheckView>, ApiError> {
    if caller.is_secretariat() {
        return Err(ApiError::Forbidden(
            "only a point of contact asked by the check replies".into(),
        ));
    }
    state
        .store
        .reply_to_check(&caller, id, clock::now())
        .await?;
    Ok(Json(check_for(&state, &caller, id).await?))
}
