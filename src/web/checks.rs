//! Communication checks as pages: the Secretariat starts one (some states or all, a reply
//! window) and sees who was asked and who replied when; a POC asked sees the check and
//! replies with one button. The e-mail a check sends links to its page.
//!
//! The same rules and views as `/v1/communication-checks` (`http::checks`): `check_rules`
//! for a new check, `check_for` for who may see what (a POC not asked, like anyone but the
//! Secretariat, gets the one 404 page).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::dashboard::{REMIND_WINDOW_DAYS, span};
use super::page::Page;
use super::render::{At, Failure, WebError, html};
use super::session::SignedIn;
use crate::clock;
use crate::domain::{IsoDuration, MemberStateCode};
use crate::http::AppState;
use crate::http::checks::{CheckResults, CheckView, check_for, check_rules};
use crate::http::pagination::{decode_cursor, encode_cursor};
use crate::http::problem::ApiError;
use crate::store::checks::CheckError;

/// Checks on one page of the list.
const PAGE_SIZE: u32 = 25;
/// The longest reply window (the API's rule, `check_rules`), in days.
const MAX_WINDOW_DAYS: u32 = 90;

/// A member state to tick in the form.
pub struct StateChoice {
    pub code: String,
    pub name: String,
    pub checked: bool,
}

/// The form that starts a check, as shown or as sent back with its errors.
pub struct StartForm {
    /// Every state (the default), or those ticked.
    pub all: bool,
    pub states: Vec<StateChoice>,
    pub days: String,
    pub states_error: Option<String>,
    pub days_error: Option<String>,
}

#[derive(Template)]
#[template(path = "checks.html", config = "src/web/askama.toml")]
struct ChecksPage<'a> {
    page: &'a Page,
    secretariat: bool,
    checks: Vec<CheckView>,
    next: Option<String>,
    form: Option<StartForm>,
    max_days: u32,
}

#[derive(Template)]
#[template(path = "check.html", config = "src/web/askama.toml")]
struct CheckPage<'a> {
    page: &'a Page,
    check: CheckView,
}

/// What the templates ask of a check.
trait CheckWords {
    fn page(&self) -> &Page;

    /// The states asked, by name, or "every state".
    fn asked_states(&self, check: &CheckView) -> String {
        let page = self.page();
        match &check.member_states {
            Some(codes) => codes
                .iter()
                .map(|code| page.state_name(code))
                .collect::<Vec<_>>()
                .join(", "),
            None => page.t("checks-every-state"),
        }
    }

    /// The reply window in words ("7 d 0 h").
    fn window(&self, check: &CheckView) -> String {
        IsoDuration::parse(&check.reply_window).map_or_else(
            |_| check.reply_window.clone(),
            |d| span(self.page(), d.as_delta()),
        )
    }

    /// "3 of 5 replied".
    fn replied_of(&self, results: &CheckResults) -> String {
        self.page().t2(
            "checks-replied-of",
            ("replied", &results.replied),
            ("asked", &results.asked),
        )
    }

    /// How long a reply took, in words.
    fn took(&self, reply_time: &Option<IsoDuration>) -> String {
        reply_time.map_or_else(String::new, |d| span(self.page(), d.as_delta()))
    }
}

impl CheckWords for ChecksPage<'_> {
    fn page(&self) -> &Page {
        self.page
    }
}

impl CheckWords for CheckPage<'_> {
    fn page(&self) -> &Page {
        self.page
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    cursor: Option<String>,
}

/// `GET /checks`: the Secretariat's checks and the form to start one; for a POC, the
/// checks that ask it.
pub async fn list(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, Failure> {
    let form = if signed_in.caller().is_secretariat() {
        Some(blank_form(&state, &signed_in.page).await?)
    } else {
        None
    };
    let page = render_list(&state, &signed_in, query.cursor.as_deref(), form).await?;
    Ok(html(&page))
}

async fn blank_form(state: &AppState, page: &Page) -> Result<StartForm, Failure> {
    Ok(StartForm {
        all: true,
        states: state_choices(state, page, &[]).await?,
        days: REMIND_WINDOW_DAYS.to_string(),
        states_error: None,
        days_error: None,
    })
}

/// Every member state, by name in the reader's language, those in `ticked` ticked.
async fn state_choices(
    state: &AppState,
    page: &Page,
    ticked: &[String],
) -> Result<Vec<StateChoice>, Failure> {
    let mut choices: Vec<StateChoice> = state
        .store
        .list_member_states()
        .await
        .at(page)?
        .into_iter()
        .map(|m| StateChoice {
            checked: ticked.iter().any(|t| t == m.code.as_str()),
            name: page.state_name(m.code.as_str()),
            code: m.code.to_string(),
        })
        .collect();
    choices.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(choices)
}

async fn render_list<'a>(
    state: &AppState,
    signed_in: &'a SignedIn,
    cursor: Option<&str>,
    form: Option<StartForm>,
) -> Result<ChecksPage<'a>, Failure> {
    let page = &signed_in.page;
    let caller = signed_in.caller();
    let after: Option<(DateTime<Utc>, Uuid)> = decode_cursor(cursor)
        .map_err(|_| WebError::BadRequest("cursor".into()))
        .at(page)?;
    let mut records = state
        .store
        .list_checks(&caller.principal, after, PAGE_SIZE + 1)
        .await
        .at(page)?;
    let more = records.len() > PAGE_SIZE as usize;
    records.truncate(PAGE_SIZE as usize);
    let next = more.then(|| {
        let last = records.last().expect("a full page has a last row");
        format!(
            "/checks?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("cursor", &encode_cursor(&(last.created_at, last.id)))
                .finish()
        )
    });
    let mut checks = Vec::with_capacity(records.len());
    for record in records {
        checks.push(visible(state, signed_in, record.id).await?);
    }
    Ok(ChecksPage {
        page,
        secretariat: caller.is_secretariat(),
        checks,
        next,
        form,
        max_days: MAX_WINDOW_DAYS,
    })
}

/// The check as the reader may see it, or the one 404 page.
async fn visible(state: &AppState, signed_in: &SignedIn, id: Uuid) -> Result<CheckView, Failure> {
    match check_for(state, signed_in.caller(), id).await {
        Ok(check) => Ok(check),
        Err(ApiError::NotFound(_)) => Err(Failure(signed_in.page.clone(), WebError::NotFound)),
        Err(error) => Err(Failure(
            signed_in.page.clone(),
            WebError::Unexpected(error.to_string()),
        )),
    }
}

/// `POST /checks`: starts a check (the Secretariat's only: 403 for anyone else, as the
/// API), then shows it.
pub async fn start(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Form(values): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    signed_in.check_form(&values).at(page)?;
    if !signed_in.caller().is_secretariat() {
        // As the API answers (403), saying who may.
        return Err(Failure(
            page.clone(),
            WebError::Forbidden(page.t("checks-secretariat-only")),
        ));
    }
    let ticked: Vec<String> = values
        .iter()
        .filter(|(name, _)| name == "member_states")
        .map(|(_, value)| value.trim().to_owned())
        .collect();
    // Ticking a state means "these states", even if the radio button was left on "all".
    let all = ticked.is_empty()
        && !values
            .iter()
            .any(|(name, value)| name == "scope" && value == "chosen");
    let days = super::forms::field(&values, "reply_window_days")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let mut form = StartForm {
        all,
        states: state_choices(&state, page, &ticked).await?,
        days: days.clone(),
        states_error: None,
        days_error: None,
    };
    let window = days
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=MAX_WINDOW_DAYS).contains(d))
        .and_then(|d| IsoDuration::parse(&format!("P{d}D")).ok());
    let codes: Option<Vec<MemberStateCode>> = if all {
        None
    } else {
        match ticked
            .iter()
            .map(|code| MemberStateCode::try_from(code.clone()))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(codes) => Some(codes),
            Err(_) => {
                form.states_error = Some(page.t("checks-states-unknown"));
                None
            }
        }
    };
    let Some(window) = window else {
        form.days_error = Some(page.t1("checks-days-invalid", "max", MAX_WINDOW_DAYS));
        return refuse(&state, &signed_in, form).await;
    };
    if form.states_error.is_some() {
        return refuse(&state, &signed_in, form).await;
    }
    if let Err(ApiError::InvalidField { field, .. }) = check_rules(codes.as_deref(), window) {
        if field == "member_states" {
            form.states_error = Some(page.t("checks-states-none"));
        } else {
            form.days_error = Some(page.t1("checks-days-invalid", "max", MAX_WINDOW_DAYS));
        }
        return refuse(&state, &signed_in, form).await;
    }
    match state
        .store
        .create_check(signed_in.caller(), codes.as_deref(), window, clock::now())
        .await
    {
        Ok(record) => {
            tracing::info!(check_id = %record.id, "communication check started from a page");
            Ok(Redirect::to(&format!("/checks/{}", record.id)).into_response())
        }
        Err(CheckError::UnknownMemberState(_)) => {
            form.states_error = Some(page.t("checks-states-unknown"));
            refuse(&state, &signed_in, form).await
        }
        Err(CheckError::NobodyToAsk) => {
            form.states_error = Some(page.t("checks-nobody"));
            refuse(&state, &signed_in, form).await
        }
        Err(CheckError::NotFound(_)) => Err(Failure(page.clone(), WebError::NotFound)),
        Err(CheckError::Store(error)) => Err(Failure(page.clone(), error.into())),
    }
}

/// The list again with the form as it was sent and why it was refused: 422, nothing
/// written.
async fn refuse(
    state: &AppState,
    signed_in: &SignedIn,
    form: StartForm,
) -> Result<Response, Failure> {
    let page = render_list(state, signed_in, None, Some(form)).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)).into_response())
}

/// `GET /checks/{id}`: everything for the Secretariat; for a POC asked, the check and its
/// reply button; the 404 page for anyone else.
pub async fn show(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let Ok(id) = Uuid::parse_str(&id) else {
        return Err(Failure(signed_in.page.clone(), WebError::NotFound));
    };
    let check = visible(&state, &signed_in, id).await?;
    Ok(html(&CheckPage {
        page: &signed_in.page,
        check,
    }))
}

/// `POST /checks/{id}/reply`: a POC asked replies (again: the first reply's time stays).
pub async fn reply(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(values): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    signed_in.check_form(&values).at(page)?;
    let Ok(id) = Uuid::parse_str(&id) else {
        return Err(Failure(page.clone(), WebError::NotFound));
    };
    if signed_in.caller().is_secretariat() {
        // As the API answers (403): only a POC asked replies.
        return Err(Failure(
            page.clone(),
            WebError::Forbidden(page.t("checks-reply-poc-only")),
        ));
    }
    match state
        .store
        .reply_to_check(signed_in.caller(), id, clock::now())
        .await
    {
        Ok(()) => {
            tracing::info!(check_id = %id, "communication check replied to from a page");
            Ok(Redirect::to(&format!("/checks/{id}")).into_response())
        }
        Err(CheckError::Store(error)) => Err(Failure(page.clone(), error.into())),
        Err(_) => Err(Failure(page.clone(), WebError::NotFound)),
    }
}
