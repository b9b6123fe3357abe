//! The directory as pages: the member states, each state's points of contact, one POC's
//! record; the Secretariat's changes to them (add, edit, deactivate a POC; a state's
//! participation and time zone), a POC's changes to its own record and its confirmation;
//! and the Secretariat's staff accounts.
//!
//! Every signed-in person reads the directory, as `GET /v1/member-states` and `/v1/pocs`
//! allow. Changes go through the API's own reading of a request body (each form builds the
//! JSON body the API takes) and its authorization, so a page refuses what the API refuses,
//! naming the same field.

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::forms::field;
use super::inquiry::{Choice, FieldView};
use super::page::Page;
use super::render::{At, Failure, WebError, html};
use super::session::SignedIn;
use crate::clock;
use crate::domain::poc::STALE_AFTER;
use crate::domain::{EmailAddress, MemberStateCode, PersonName, PocRole};
use crate::http::AppState;
use crate::http::member_states::member_state_changes_from;
use crate::http::pagination::{decode_cursor, encode_cursor};
use crate::http::pocs::{may_confirm, new_poc_from, poc_changes_from};
use crate::http::pocs_import::Layout;
use crate::http::problem::ApiError;
use crate::http::un_directory::{
    ExportFormat, export_download, exported, may_speak_for, read_file, un_consent_from,
};
use crate::store::accounts::{AccountError, StaffAccount, StaffKey};
use crate::store::directory::{
    Actor, DirectoryError, MemberState, PocCursor, PocFilter, PocRecord,
};
use crate::un_directory::{Changed, Comparison, UnEntry, UnRole, compare};

/// Points of contact on one page of a state's list.
const PAGE_SIZE: u32 = 25;

/// The outcomes a page reports after a form (`?done=…`); anything else is ignored.
const DONE: [&str; 10] = [
    "added",
    "holidays-saved",
    "un-consent-given",
    "un-consent-withdrawn",
    "saved",
    "confirmed",
    "deactivated",
    "removed",
    "state-saved",
    "staff-added",
];

/// The banner for `?done=<word>`, when the word is one of ours.
fn done_banner(page: &Page, done: Option<&str>) -> Option<String> {
    let word = DONE.into_iter().find(|w| Some(*w) == done)?;
    Some(page.t(&format!("directory-done-{word}")))
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

/// One member state, as the directory lists it.
pub struct StateRow {
    pub code: String,
    pub name: String,
    pub participating: bool,
    pub time_zone: String,
    pub active_pocs: i64,
    /// No active policy POC: no inquiry can be addressed to the state.
    pub no_policy_poc: bool,
}

impl StateRow {
    fn new(page: &Page, state: &MemberState) -> Self {
        Self {
            code: state.code.to_string(),
            name: page.state_name(state.code.as_str()),
            participating: state.participating,
            time_zone: state.time_zone.to_string(),
            active_pocs: state.active_pocs,
            no_policy_poc: state.active_policy_pocs == 0,
        }
    }
}

#[derive(Template)]
#[template(path = "directory.html", config = "src/web/askama.toml")]
struct DirectoryPage<'a> {
    page: &'a Page,
    rows: Vec<StateRow>,
}

/// `GET /directory`: the member states, by name in the reader's language.
pub async fn directory(
    signed_in: SignedIn,
    State(state): State<AppState>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    let states = state.store.list_member_states().await.at(page)?;
    let mut rows: Vec<StateRow> = states.iter().map(|s| StateRow::new(page, s)).collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(html(&DirectoryPage { page, rows }))
}

/// One POC, as lists and its own page show it.
pub struct PocRow {
    pub id: Uuid,
    pub member_state: String,
    pub name: String,
    pub affiliation: String,
    pub role: String,
    pub email: String,
    pub phone: Option<String>,
    pub languages: String,
    pub active: bool,
    pub last_confirmed_at: DateTime<Utc>,
    /// Not confirmed for a year (the API's `stale`).
    pub stale: bool,
    pub deactivated_at: Option<DateTime<Utc>>,
}

impl PocRow {
    fn new(page: &Page, record: PocRecord, now: DateTime<Utc>) -> Self {
        Self {
            id: record.id,
            member_state: record.member_state.to_string(),
            role: page.word("poc-role", record.role.as_str()),
            languages: record.languages.0.join(", "),
            stale: now - record.last_confirmed_at >= STALE_AFTER,
            name: record.name,
            affiliation: record.affiliation,
            email: record.email,
            phone: record.phone,
            active: record.active,
            last_confirmed_at: record.last_confirmed_at,
            deactivated_at: record.deactivated_at,
        }
    }
}

#[derive(Template)]
#[template(path = "directory_state.html", config = "src/web/askama.toml")]
struct StatePage<'a> {
    page: &'a Page,
    state: StateRow,
    pocs: Vec<PocRow>,
    /// Deactivated POCs are listed too.
    all: bool,
    next: Option<String>,
    /// The Secretariat's form for participation, time zone and working days.
    form: Option<Vec<FieldView>>,
    done: Option<String>,
    /// The state's public holidays, by date.
    holidays: Vec<crate::calendar::Holiday>,
    /// Why an uploaded calendar was refused.
    holidays_refused: Option<String>,
    /// The days the state works and when its working day closes, as a sentence.
    working_week: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct StateQuery {
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// A state's code from the path; an unknown one is the 404 page.
async fn known_state(
    state: &AppState,
    page: &Page,
    code: &str,
) -> Result<(MemberStateCode, MemberState), Failure> {
    let not_found = || Failure(page.clone(), WebError::NotFound);
    let code = MemberStateCode::parse(code).map_err(|_| not_found())?;
    let found = state.store.get_member_state(&code).await.at(page)?;
    found.map(|m| (code, m)).ok_or_else(not_found)
}

/// `GET /directory/{code}`: the state and its POCs, a page at a time.
pub async fn member_state(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<StateQuery>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    let (code, member_state) = known_state(&state, page, &code).await?;
    let form = signed_in
        .caller()
        .is_secretariat()
        .then(|| state_fields(page, &member_state, &[], None));
    let view = state_page(&state, &signed_in, code, &member_state, &query, form).await?;
    Ok(html(&view))
}

async fn state_page<'a>(
    state: &AppState,
    signed_in: &'a SignedIn,
    code: MemberStateCode,
    member_state: &MemberState,
    query: &StateQuery,
    form: Option<Vec<FieldView>>,
) -> Result<StatePage<'a>, Failure> {
    let page = &signed_in.page;
    let all = query.all.is_some();
    let after: Option<PocCursor> = decode_cursor(query.cursor.as_deref())
        .map_err(|_| WebError::BadRequest("cursor".into()))
        .at(page)?;
    let filter = PocFilter {
        member_state: Some(code.clone()),
        role: None,
        active: (!all).then_some(true),
    };
    let mut records = state
        .store
        .list_pocs(&filter, after.as_ref(), PAGE_SIZE + 1)
        .await
        .at(page)?;
    let more = records.len() > PAGE_SIZE as usize;
    records.truncate(PAGE_SIZE as usize);
    let next = more.then(|| {
        let last = records.last().expect("a full page has a last row");
        let mut query = form_urlencoded::Serializer::new(String::new());
        if all {
            query.append_pair("all", "on");
        }
        query.append_pair("cursor", &encode_cursor(&last.cursor()));
        format!("/directory/{code}?{}", query.finish())
    });
    let now = clock::now();
    Ok(StatePage {
        page,
        state: StateRow::new(page, member_state),
        pocs: records
            .into_iter()
            .map(|r| PocRow::new(page, r, now))
            .collect(),
        all,
        next,
        form,
        done: done_banner(page, query.done.as_deref()),
        holidays: state
            .store
            .holidays(&code)
            .await
            .at(page)?
            .unwrap_or_default(),
        holidays_refused: None,
        working_week: page.t2(
            "state-working-week",
            ("days", &member_state.working_days.replace(',', ", ")),
            ("ends", &member_state.working_day_ends),
        ),
    })
}

/// A text field of one of the directory's forms.
fn text_field(
    page: &Page,
    form: &str,
    name: &str,
    value: String,
    required: bool,
    error: Option<&Refusal>,
) -> FieldView {
    let key = format!("{form}-{name}");
    let hint_key = format!("{key}-hint");
    FieldView {
        id: format!("{form}-{name}"),
        name: name.to_owned(),
        kind: "text",
        label: page.t(&key),
        hint: super::i18n::has(page.lang, &hint_key).then(|| page.t(&hint_key)),
        required,
        value,
        parts: Vec::new(),
        choices: Vec::new(),
        error: error
            .filter(|e| e.field.as_deref() == Some(name))
            .map(|e| e.message.clone()),
    }
}

/// Why a form was refused: next to a field when the refusal names one.
pub struct Refusal {
    pub status: StatusCode,
    pub field: Option<String>,
    pub message: String,
}

impl Refusal {
    /// The API's refusal as a form shows it: a bad field named in the reader's language.
    fn from_api(page: &Page, error: ApiError) -> Self {
        let status = error.status_code();
        match error {
            ApiError::InvalidField { field, detail } => {
                // `languages[2]` is the languages field.
                let name = field.split(['[', '.']).next().unwrap_or(&field).to_owned();
                let key = format!("directory-invalid-{name}");
                let message = if super::i18n::has(page.lang, &key) {
                    page.t(&key)
                } else {
                    format!("{field}: {detail}")
                };
                Refusal {
                    status,
                    field: Some(name),
                    message,
                }
            }
            other => Refusal {
                status,
                field: None,
                message: other.to_string(),
            },
        }
    }
}

fn state_fields(
    page: &Page,
    member_state: &MemberState,
    sent: &[(String, String)],
    refusal: Option<&Refusal>,
) -> Vec<FieldView> {
    let (participating, time_zone, working_days, working_day_ends) = if refusal.is_some() {
        let typed = |name: &str| field(sent, name).unwrap_or_default().to_owned();
        (
            field(sent, "participating").is_some(),
            typed("time_zone"),
            typed("working_days"),
            typed("working_day_ends"),
        )
    } else {
        (
            member_state.participating,
            member_state.time_zone.to_string(),
            member_state.working_days.replace(',', ", "),
            member_state.working_day_ends.clone(),
        )
    };
    let mut participating_field = text_field(
        page,
        "state-form",
        "participating",
        if participating { "on" } else { "" }.to_owned(),
        false,
        refusal,
    );
    participating_field.kind = "boolean";
    vec![
        participating_field,
        text_field(page, "state-form", "time_zone", time_zone, true, refusal),
        text_field(
            page,
            "state-form",
            "working_days",
            working_days,
            true,
            refusal,
        ),
        text_field(
            page,
            "state-form",
            "working_day_ends",
            working_day_ends,
            true,
            refusal,
        ),
    ]
}

/// `POST /directory/{code}`: the Secretariat changes a state's participation and time zone.
pub async fn update_member_state(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    signed_in.check_form(&fields).at(page)?;
    secretariat_only(&signed_in).at(&signed_in.page)?;
    let (code, member_state) = known_state(&state, page, &code).await?;
    let mut body = json!({
        "participating": field(&fields, "participating").is_some(),
        "time_zone": field(&fields, "time_zone").unwrap_or_default().trim(),
    });
    // The working week's fields, when the form sent them.
    if let Some(days) = field(&fields, "working_days") {
        let days: Vec<&str> = days
            .split([',', ' ', ';'])
            .map(str::trim)
            .filter(|day| !day.is_empty())
            .collect();
        body["working_days"] = json!(days);
    }
    if let Some(ends) = field(&fields, "working_day_ends") {
        body["working_day_ends"] = json!(ends.trim());
    }
    let result = match member_state_changes_from(&body) {
        Ok(changes) => state
            .store
            .update_member_state(
                Actor::Caller(signed_in.caller()),
                &code,
                &changes,
                clock::now(),
            )
            .await
            .map_err(|e| directory_refusal(page, e)),
        Err(error) => Err(Ok(Refusal::from_api(page, error))),
    };
    match result {
        Ok(updated) => {
            tracing::info!(member_state = %updated.code, participating = updated.participating, "member state changed from a page");
            Ok(Redirect::to(&format!("/directory/{code}?done=state-saved")).into_response())
        }
        Err(Err(error)) => Err(Failure(page.clone(), error)),
        Err(Ok(refusal)) => {
            let form = state_fields(page, &member_state, &fields, Some(&refusal));
            let query = StateQuery::default();
            let view =
                state_page(&state, &signed_in, code, &member_state, &query, Some(form)).await?;
            Ok((refusal.status, html(&view)).into_response())
        }
    }
}

/// `POST /directory/{code}/holidays`: the Secretariat uploads a state's holidays as an
/// iCalendar file (multipart, part `calendar`), replacing those kept, as the API's PUT.
pub async fn upload_holidays(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(code): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    let bad_form = || Failure(page.clone(), WebError::BadRequest("calendar".into()));
    let mut fields = Vec::new();
    let mut file: Option<axum::body::Bytes> = None;
    while let Some(part) = multipart.next_field().await.map_err(|_| bad_form())? {
        let name = part.name().unwrap_or_default().to_owned();
        if name == "calendar" {
            file = Some(part.bytes().await.map_err(|_| bad_form())?);
        } else {
            fields.push((name, part.text().await.map_err(|_| bad_form())?));
        }
    }
    signed_in.check_form(&fields).at(page)?;
    secretariat_only(&signed_in).at(page)?;
    let (code, member_state) = known_state(&state, page, &code).await?;
    let read = match file.as_deref().map(std::str::from_utf8) {
        // A day two events cover is kept once: a page takes a calendar as published.
        Some(Ok(text)) => crate::calendar::holidays_from_ical(text).and_then(|mut holidays| {
            holidays.sort();
            holidays.dedup_by(|a, b| a.date == b.date);
            crate::calendar::holiday_set(holidays)
        }),
        Some(Err(_)) => Err("the file is not UTF-8 text".to_owned()),
        None => Err(page.t("state-holidays-no-file")),
    };
    match read {
        Ok(holidays) => {
            state
                .store
                .set_holidays(
                    Actor::Caller(signed_in.caller()),
                    &code,
                    &holidays,
                    clock::now(),
                )
                .await
                .map_err(|e| match directory_refusal(page, e) {
                    Ok(refusal) => WebError::BadRequest(refusal.message),
                    Err(error) => error,
                })
                .at(page)?;
            tracing::info!(member_state = %code, holidays = holidays.len(), "holidays uploaded from a page");
            Ok(Redirect::to(&format!("/directory/{code}?done=holidays-saved")).into_response())
        }
        Err(why) => {
            let form = state_fields(page, &member_state, &[], None);
            let query = StateQuery::default();
            let mut view =
                state_page(&state, &signed_in, code, &member_state, &query, Some(form)).await?;
            view.holidays_refused = Some(why);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&view)).into_response())
        }
    }
}

/// A directory command's refusal: shown on the form (`Ok`), or a failure page (`Err`).
fn directory_refusal(page: &Page, error: DirectoryError) -> Result<Refusal, WebError> {
    match error {
        DirectoryError::Store(error) => Err(error.into()),
        DirectoryError::PocNotFound(_) => Err(WebError::NotFound),
        other => Ok(Refusal::from_api(page, other.into())),
    }
}

/// The Secretariat's forms refuse anyone else (403, as the API does), saying who may.
fn secretariat_only(signed_in: &SignedIn) -> Result<(), WebError> {
    if signed_in.caller().is_secretariat() {
        Ok(())
    } else {
        Err(WebError::Forbidden(
            signed_in.page.t("directory-secretariat-only"),
        ))
    }
}

/// What a POC form holds: the record's values, or what was sent.
#[derive(Clone, Default)]
struct PocValues {
    member_state: String,
    name: String,
    affiliation: String,
    role: String,
    email: String,
    phone: String,
    languages: String,
    /// The OpenPGP public key, ASCII-armored (editing a record only).
    openpgp_key: String,
}

impl PocValues {
    fn of(record: &PocRecord) -> Self {
        Self {
            member_state: record.member_state.to_string(),
            name: record.name.clone(),
            affiliation: record.affiliation.clone(),
            role: record.role.as_str().to_owned(),
            email: record.email.clone(),
            phone: record.phone.clone().unwrap_or_default(),
            languages: record.languages.0.join(", "),
            openpgp_key: record.openpgp_key.clone().unwrap_or_default(),
        }
    }

    fn sent(fields: &[(String, String)]) -> Self {
        let get = |name: &str| field(fields, name).unwrap_or_default().to_owned();
        Self {
            member_state: get("member_state"),
            name: get("name"),
            affiliation: get("affiliation"),
            role: get("role"),
            email: get("email"),
            phone: get("phone"),
            languages: get("languages"),
            openpgp_key: get("openpgp_key"),
        }
    }

    /// The body of a change to a record: [`PocValues::body`] and the OpenPGP key, an
    /// empty one removing it.
    fn change_body(&self, full: bool) -> Value {
        let mut body = self.body(full);
        let key = self.openpgp_key.trim();
        body["openpgp_key"] = if key.is_empty() {
            Value::Null
        } else {
            json!(key)
        };
        body
    }

    /// The JSON body the API takes, with the fields `full` allows (a POC's own form has
    /// no state and no role). An empty phone is `null`: none, or cleared.
    fn body(&self, full: bool) -> Value {
        let languages: Vec<&str> = self
            .languages
            .split([',', ' ', ';'])
            .map(str::trim)
            .filter(|code| !code.is_empty())
            .collect();
        let phone = self.phone.trim();
        let mut body = json!({
            "name": self.name,
            "affiliation": self.affiliation,
            "email": self.email.trim(),
            "phone": if phone.is_empty() { Value::Null } else { json!(phone) },
            "languages": languages,
        });
        if full {
            body["member_state"] = json!(self.member_state);
            body["role"] = json!(self.role);
        }
        body
    }
}

/// The fields of a POC form; `full` for the Secretariat (state and role too).
async fn poc_fields(
    state: &AppState,
    page: &Page,
    values: &PocValues,
    full: bool,
    refusal: Option<&Refusal>,
) -> Result<Vec<FieldView>, Failure> {
    let mut fields = Vec::new();
    if full {
        let states = state.store.list_member_states().await.at(page)?;
        let mut choices: Vec<Choice> = states
            .iter()
            .map(|m| Choice {
                selected: m.code.as_str() == values.member_state,
                label: page.state_name(m.code.as_str()),
                value: m.code.to_string(),
            })
            .collect();
        choices.sort_by(|a, b| a.label.cmp(&b.label));
        let mut field = text_field(page, "poc", "member_state", String::new(), true, refusal);
        field.kind = "select";
        field.choices = choices;
        fields.push(field);
    }
    fields.push(text_field(
        page,
        "poc",
        "name",
        values.name.clone(),
        true,
        refusal,
    ));
    fields.push(text_field(
        page,
        "poc",
        "affiliation",
        values.affiliation.clone(),
        true,
        refusal,
    ));
    if full {
        let mut field = text_field(page, "poc", "role", String::new(), true, refusal);
        field.kind = "select";
        field.choices = PocRole::ALL
            .into_iter()
            .map(|role| Choice {
                selected: role.as_str() == values.role,
                label: page.word("poc-role", role.as_str()),
                value: role.as_str().to_owned(),
            })
            .collect();
        fields.push(field);
    }
    fields.push(text_field(
        page,
        "poc",
        "email",
        values.email.clone(),
        true,
        refusal,
    ));
    fields.push(text_field(
        page,
        "poc",
        "phone",
        values.phone.clone(),
        false,
        refusal,
    ));
    fields.push(text_field(
        page,
        "poc",
        "languages",
        values.languages.clone(),
        false,
        refusal,
    ));
    Ok(fields)
}

#[derive(Template)]
#[template(path = "directory_poc_new.html", config = "src/web/askama.toml")]
struct NewPocPage<'a> {
    page: &'a Page,
    fields: Vec<FieldView>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NewPocQuery {
    #[serde(default)]
    member_state: Option<String>,
}

/// `GET /directory/pocs/new`: the Secretariat's form for a new POC.
pub async fn new_poc_form(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Query(query): Query<NewPocQuery>,
) -> Result<Response, Failure> {
    secretariat_only(&signed_in).at(&signed_in.page)?;
    let page = &signed_in.page;
    let values = PocValues {
        member_state: query.member_state.unwrap_or_default(),
        role: PocRole::Policy.as_str().to_owned(),
        ..PocValues::default()
    };
    let fields = poc_fields(&state, page, &values, true, None).await?;
    Ok(html(&NewPocPage {
        page,
        fields,
        error: None,
    }))
}

/// `POST /directory/pocs`: the Secretariat adds a POC.
pub async fn create_poc(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    signed_in.check_form(&fields).at(page)?;
    secretariat_only(&signed_in).at(&signed_in.page)?;
    let values = PocValues::sent(&fields);
    let result = match new_poc_from(&values.body(true)) {
        Ok(poc) => state
            .store
            .create_poc(Actor::Caller(signed_in.caller()), &poc, clock::now())
            .await
            .map_err(|e| directory_refusal(page, e)),
        Err(error) => Err(Ok(Refusal::from_api(page, error))),
    };
    match result {
        Ok(record) => {
            tracing::info!(poc_id = %record.id, member_state = %record.member_state, "point of contact added from a page");
            Ok(Redirect::to(&format!("/directory/pocs/{}?done=added", record.id)).into_response())
        }
        Err(Err(error)) => Err(Failure(page.clone(), error)),
        Err(Ok(refusal)) => {
            let fields = poc_fields(&state, page, &values, true, Some(&refusal)).await?;
            let body = NewPocPage {
                page,
                fields,
                error: refusal.field.is_none().then(|| refusal.message.clone()),
            };
            Ok((refusal.status, html(&body)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "directory_poc.html", config = "src/web/askama.toml")]
struct PocPage<'a> {
    page: &'a Page,
    poc: PocRow,
    state_name: String,
    /// The edit form, for the POC itself or the Secretariat (an active record only).
    fields: Option<Vec<FieldView>>,
    error: Option<String>,
    may_confirm: bool,
    may_deactivate: bool,
    own: bool,
    done: Option<String>,
    un: UnCard,
}

/// A POC's consent to the UN Global POC Directory, as its page shows it, and what the
/// reader may do about it.
struct UnCard {
    consented_at: Option<DateTime<Utc>>,
    /// Noted by the Secretariat (a consent given outside cbm2), with how it was given.
    noted: Option<String>,
    /// The form that gives it: the POC's own button, or the Secretariat's note.
    may_give: bool,
    may_withdraw: bool,
    /// The Secretariat's fields (when and how); none for the POC itself.
    fields: Vec<FieldView>,
    error: Option<String>,
}

impl UnCard {
    fn new(
        page: &Page,
        record: &PocRecord,
        caller: &crate::domain::Caller,
        sent: Option<(&[(String, String)], &Refusal)>,
    ) -> Self {
        let secretariat = caller.is_secretariat();
        let speaks = may_speak_for(caller, record.id).is_ok();
        let consenting = record.un_consent_at.is_some();
        let fields = if secretariat {
            let value = |name: &str| {
                sent.and_then(|(fields, _)| field(fields, name))
                    .unwrap_or_default()
                    .to_owned()
            };
            let refusal = sent.map(|(_, refusal)| refusal);
            let mut when = text_field(
                page,
                "poc-un",
                "consented_at",
                value("consented_at"),
                true,
                refusal,
            );
            when.kind = "datetime";
            let mut how = text_field(page, "poc-un", "how", value("how"), true, refusal);
            how.kind = "long_text";
            vec![when, how]
        } else {
            Vec::new()
        };
        Self {
            consented_at: record.un_consent_at,
            noted: (record.un_consent_by.as_deref() == Some("secretariat"))
                .then(|| record.un_consent_how.clone().unwrap_or_default()),
            may_give: record.active && speaks && !consenting,
            may_withdraw: speaks && consenting,
            fields,
            error: sent
                .filter(|(_, refusal)| refusal.field.is_none())
                .map(|(_, refusal)| refusal.message.clone()),
        }
    }
}

/// The POC `id` from the path; an unknown or malformed one is the 404 page.
async fn known_poc(state: &AppState, page: &Page, id: &str) -> Result<PocRecord, Failure> {
    let not_found = || Failure(page.clone(), WebError::NotFound);
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    state
        .store
        .get_poc(id)
        .await
        .at(page)?
        .ok_or_else(not_found)
}

async fn poc_page<'a>(
    state: &AppState,
    signed_in: &'a SignedIn,
    record: PocRecord,
    sent: Option<(&PocValues, &Refusal)>,
    un_sent: Option<(&[(String, String)], &Refusal)>,
    done: Option<&str>,
) -> Result<PocPage<'a>, Failure> {
    let page = &signed_in.page;
    let caller = signed_in.caller();
    let secretariat = caller.is_secretariat();
    let own = caller.poc_id().is_some_and(|id| id.0 == record.id);
    let editable = record.active && (secretariat || own);
    let fields = if editable {
        let values = match sent {
            Some((values, _)) => values.clone(),
            None => PocValues::of(&record),
        };
        let refusal = sent.map(|(_, r)| r);
        let mut fields = poc_fields(state, page, &values, secretariat, refusal).await?;
        let mut key = text_field(
            page,
            "poc",
            "openpgp_key",
            values.openpgp_key.clone(),
            false,
            refusal,
        );
        key.kind = "long_text";
        fields.push(key);
        Some(fields)
    } else {
        None
    };
    Ok(PocPage {
        page,
        state_name: page.state_name(record.member_state.as_str()),
        may_confirm: record.active && may_confirm(caller, record.id).is_ok(),
        may_deactivate: record.active && secretariat,
        own,
        fields,
        error: sent
            .filter(|(_, r)| r.field.is_none())
            .map(|(_, r)| r.message.clone()),
        done: done_banner(page, done),
        un: UnCard::new(page, &record, caller, un_sent),
        poc: PocRow::new(page, record, clock::now()),
    })
}

/// `GET /directory/pocs/{id}`: one POC's record; editable by itself and the Secretariat.
pub async fn poc(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Failure> {
    let record = known_poc(&state, &signed_in.page, &id).await?;
    let view = poc_page(
        &state,
        &signed_in,
        record,
        None,
        None,
        query.done.as_deref(),
    )
    .await?;
    Ok(html(&view))
}

/// `POST /directory/pocs/{id}`: changes to a POC's record, by itself or the Secretariat.
pub async fn update_poc(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    signed_in.check_form(&fields).at(page)?;
    let record = known_poc(&state, page, &id).await?;
    let caller = signed_in.caller();
    let values = PocValues::sent(&fields);
    let result = match poc_changes_from(
        caller,
        record.id,
        &values.change_body(caller.is_secretariat()),
    ) {
        Ok(changes) => state
            .store
            .update_poc(Actor::Caller(caller), record.id, &changes, clock::now())
            .await
            .map_err(|e| directory_refusal(page, e)),
        // Another POC's record: refused with the API's reason, before reading any field.
        Err(ApiError::Forbidden(reason)) => {
            return Err(Failure(page.clone(), WebError::Forbidden(reason)));
        }
        Err(error) => Err(Ok(Refusal::from_api(page, error))),
    };
    match result {
        Ok(updated) => {
            tracing::info!(poc_id = %updated.id, "point of contact changed from a page");
            Ok(Redirect::to(&format!("/directory/pocs/{}?done=saved", updated.id)).into_response())
        }
        Err(Err(error)) => Err(Failure(page.clone(), error)),
        Err(Ok(refusal)) => {
            let status = refusal.status;
            let view = poc_page(
                &state,
                &signed_in,
                record,
                Some((&values, &refusal)),
                None,
                None,
            )
            .await?;
            Ok((status, html(&view)).into_response())
        }
    }
}

/// The POC a form without fields of its own is about, once the form's token is checked and
/// `may` lets the reader act for that POC (the API's reason shown otherwise).
async fn poc_for_form(
    state: &AppState,
    signed_in: &SignedIn,
    id: &str,
    fields: &[(String, String)],
    may: fn(&crate::domain::Caller, Uuid) -> Result<(), ApiError>,
) -> Result<PocRecord, Failure> {
    let page = &signed_in.page;
    signed_in.check_form(fields).at(page)?;
    let record = known_poc(state, page, id).await?;
    may(signed_in.caller(), record.id)
        .map_err(|error| Failure(page.clone(), WebError::Forbidden(error.to_string())))?;
    Ok(record)
}

/// `POST /directory/pocs/{id}/confirm`: the POC (or the Secretariat) says its details are
/// still right.
pub async fn confirm_poc(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let record = poc_for_form(&state, &signed_in, &id, &fields, may_confirm).await?;
    let outcome = state
        .store
        .confirm_poc(Actor::Caller(signed_in.caller()), record.id, clock::now())
        .await;
    command_outcome(&state, &signed_in, record, outcome, "confirmed").await
}

/// `POST /directory/pocs/{id}/share-with-un`: the POC consents to the UN Global POC
/// Directory having its details, or the Secretariat notes a consent given elsewhere.
pub async fn give_un_consent(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    let record = poc_for_form(&state, &signed_in, &id, &fields, may_speak_for).await?;
    let caller = signed_in.caller();
    let body = if caller.is_secretariat() {
        let when = field(&fields, "consented_at").unwrap_or_default().trim();
        json!({
            // Read in the reader's time zone; what is not a date stays as typed, refused.
            "consented_at": super::forms::local_to_utc(when, page.zone).unwrap_or_else(|| when.to_owned()),
            "how": field(&fields, "how").unwrap_or_default().replace("\r\n", "\n").trim(),
        })
    } else {
        json!({})
    };
    let now = clock::now();
    let outcome = match un_consent_from(caller, &body, now) {
        Ok(consent) => state
            .store
            .set_un_consent(Actor::Caller(caller), record.id, Some(consent), now)
            .await
            .map_err(|e| directory_refusal(page, e)),
        Err(error) => Err(Ok(Refusal::from_api(page, error))),
    };
    match outcome {
        Ok(updated) => {
            tracing::info!(poc_id = %updated.id, "consent to the UN directory recorded from a page");
            Ok(Redirect::to(&format!(
                "/directory/pocs/{}?done=un-consent-given#un",
                updated.id
            ))
            .into_response())
        }
        Err(Err(error)) => Err(Failure(page.clone(), error)),
        Err(Ok(refusal)) => {
            let status = refusal.status;
            let view = poc_page(
                &state,
                &signed_in,
                record,
                None,
                Some((&fields, &refusal)),
                None,
            )
            .await?;
            Ok((status, html(&view)).into_response())
        }
    }
}

/// `POST /directory/pocs/{id}/share-with-un/withdraw`: the POC (or the Secretariat)
/// withdraws the consent.
pub async fn withdraw_un_consent(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let record = poc_for_form(&state, &signed_in, &id, &fields, may_speak_for).await?;
    let outcome = state
        .store
        .set_un_consent(
            Actor::Caller(signed_in.caller()),
            record.id,
            None,
            clock::now(),
        )
        .await;
    command_outcome(&state, &signed_in, record, outcome, "un-consent-withdrawn").await
}

/// `POST /directory/pocs/{id}/deactivate`: the Secretariat removes a POC from the
/// directory (its record stays, marked deactivated).
pub async fn deactivate_poc(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    signed_in.check_form(&fields).at(page)?;
    secretariat_only(&signed_in).at(&signed_in.page)?;
    let record = known_poc(&state, page, &id).await?;
    let id = record.id;
    let outcome = state
        .store
        .deactivate_poc(Actor::Caller(signed_in.caller()), id, clock::now())
        .await;
    command_outcome(&state, &signed_in, record, outcome, "deactivated").await
}

/// After a command without fields: back to the record with a banner, or the record with
/// the refusal (a deactivated POC cannot be confirmed).
async fn command_outcome(
    state: &AppState,
    signed_in: &SignedIn,
    record: PocRecord,
    outcome: Result<PocRecord, DirectoryError>,
    done: &str,
) -> Result<Response, Failure> {
    match outcome {
        Ok(updated) => {
            tracing::info!(poc_id = %updated.id, done, "point of contact changed from a page");
            Ok(
                Redirect::to(&format!("/directory/pocs/{}?done={done}", updated.id))
                    .into_response(),
            )
        }
        Err(error) => {
            let refusal = directory_refusal(&signed_in.page, error).at(&signed_in.page)?;
            let status = refusal.status;
            let values = PocValues::of(&record);
            let view = poc_page(
                state,
                signed_in,
                record,
                Some((&values, &refusal)),
                None,
                None,
            )
            .await?;
            Ok((status, html(&view)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "directory_un.html", config = "src/web/askama.toml")]
struct UnDirectoryPage<'a> {
    page: &'a Page,
    entries: Vec<UnEntry>,
    /// The comparison of the file sent, once one is.
    comparison: Option<Comparison>,
    /// Why the file sent could not be compared: every problem found.
    problems: Vec<String>,
}

impl UnDirectoryPage<'_> {
    fn role(&self, role: &UnRole) -> String {
        self.page.word("un-role", role.as_str())
    }

    fn fields(&self, changed: &Changed) -> String {
        changed
            .fields
            .iter()
            .map(|(field, difference)| {
                let text = |value: &Value| match value {
                    Value::String(text) => text.clone(),
                    Value::Array(items) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    other => other.to_string(),
                };
                format!(
                    "{}: {} → {}",
                    self.page.word("un-field", field),
                    text(&difference.cbm2),
                    text(&difference.file)
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `GET /directory/un`: the Secretariat's page for the UN Global POC Directory: the POCs
/// that consent, the export to download, a file to compare with it.
pub async fn un_directory(
    signed_in: SignedIn,
    State(state): State<AppState>,
) -> Result<Response, Failure> {
    staff_only(&signed_in).at(&signed_in.page)?;
    let page = &signed_in.page;
    let entries = exported(&state).await.at(page)?;
    Ok(html(&UnDirectoryPage {
        page,
        entries,
        comparison: None,
        problems: Vec::new(),
    }))
}

/// `GET /directory/un/export.csv`: the export, as the API's `?format=csv` gives it.
pub async fn un_export_csv(
    signed_in: SignedIn,
    State(state): State<AppState>,
) -> Result<Response, Failure> {
    un_export(signed_in, state, ExportFormat::Csv).await
}

/// `GET /directory/un/export.json`: the export, as the API's `?format=json` gives it.
pub async fn un_export_json(
    signed_in: SignedIn,
    State(state): State<AppState>,
) -> Result<Response, Failure> {
    un_export(signed_in, state, ExportFormat::Json).await
}

async fn un_export(
    signed_in: SignedIn,
    state: AppState,
    format: ExportFormat,
) -> Result<Response, Failure> {
    staff_only(&signed_in).at(&signed_in.page)?;
    export_download(&state, format).await.at(&signed_in.page)
}

/// `POST /directory/un/compare`: a file (CSV or JSON, by its name or type) compared with
/// the export; writes nothing.
pub async fn un_directory_compare(
    signed_in: SignedIn,
    State(state): State<AppState>,
    mut multipart: Multipart,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    let bad_form = || Failure(page.clone(), WebError::BadRequest("file".into()));
    let mut fields = Vec::new();
    let mut file: Option<(Layout, axum::body::Bytes)> = None;
    while let Some(part) = multipart.next_field().await.map_err(|_| bad_form())? {
        let name = part.name().unwrap_or_default().to_owned();
        if name == "file" {
            let csv = part
                .file_name()
                .is_some_and(|n| n.to_ascii_lowercase().ends_with(".csv"))
                || part
                    .content_type()
                    .is_some_and(|t| t.starts_with("text/csv"));
            let layout = if csv { Layout::Csv } else { Layout::Json };
            file = Some((layout, part.bytes().await.map_err(|_| bad_form())?));
        } else {
            fields.push((name, part.text().await.map_err(|_| bad_form())?));
        }
    }
    signed_in.check_form(&fields).at(page)?;
    staff_only(&signed_in).at(page)?;
    let entries = exported(&state).await.at(page)?;
    let (comparison, problems, status) = match file {
        None => (
            None,
            vec![page.t("un-compare-no-file")],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Some((layout, body)) => match read_file(&layout, &body) {
            Ok(theirs) => (Some(compare(&entries, &theirs)), Vec::new(), StatusCode::OK),
            Err(ApiError::InvalidRows(rows)) => (
                None,
                rows.iter().map(ToString::to_string).collect(),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Err(other) => (None, vec![other.to_string()], other.status_code()),
        },
    };
    tracing::info!(
        compared = comparison.is_some(),
        problems = problems.len(),
        "a file compared with the UN directory export from a page"
    );
    let view = UnDirectoryPage {
        page,
        entries,
        comparison,
        problems,
    };
    Ok((status, html(&view)).into_response())
}

#[derive(Template)]
#[template(path = "staff.html", config = "src/web/askama.toml")]
struct StaffPage<'a> {
    page: &'a Page,
    staff: Vec<StaffAccount>,
    fields: Vec<FieldView>,
    error: Option<String>,
    done: Option<String>,
}

/// The Secretariat's own pages are not there for anyone else (the one 404 page).
fn staff_only(signed_in: &SignedIn) -> Result<(), WebError> {
    if signed_in.caller().is_secretariat() {
        Ok(())
    } else {
        Err(WebError::NotFound)
    }
}

async fn staff_page<'a>(
    state: &AppState,
    signed_in: &'a SignedIn,
    sent: &[(String, String)],
    refusal: Option<&Refusal>,
    done: Option<&str>,
) -> Result<StaffPage<'a>, Failure> {
    let page = &signed_in.page;
    let staff = state.store.list_staff(false).await.at(page)?;
    let typed = |name: &str| field(sent, name).unwrap_or_default().to_owned();
    Ok(StaffPage {
        page,
        staff,
        fields: vec![
            text_field(page, "staff", "email", typed("email"), true, refusal),
            text_field(page, "staff", "name", typed("name"), true, refusal),
        ],
        error: refusal
            .filter(|r| r.field.is_none())
            .map(|r| r.message.clone()),
        done: done_banner(page, done),
    })
}

/// `GET /staff`: the Secretariat's staff accounts.
pub async fn staff(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Failure> {
    staff_only(&signed_in).at(&signed_in.page)?;
    let view = staff_page(&state, &signed_in, &[], None, query.done.as_deref()).await?;
    Ok(html(&view))
}

/// `POST /staff`: adds a staff account (its holder then signs in by e-mail).
pub async fn add_staff(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    signed_in.check_form(&fields).at(page)?;
    staff_only(&signed_in).at(&signed_in.page)?;
    let refuse = |field: &str| Refusal {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        field: Some(field.to_owned()),
        message: page.t(&format!("directory-invalid-{field}")),
    };
    let parsed = EmailAddress::parse(field(&fields, "email").unwrap_or_default().trim())
        .map_err(|_| refuse("email"))
        .and_then(|email| {
            PersonName::parse(field(&fields, "name").unwrap_or_default())
                .map(|name| (email, name))
                .map_err(|_| refuse("name"))
        });
    let refusal = match parsed {
        Ok((email, name)) => match state
            .store
            .add_staff(
                Actor::Caller(signed_in.caller()),
                &email,
                &name,
                clock::now(),
            )
            .await
        {
            Ok(account) => {
                tracing::info!(staff_id = %account.id, "staff account added from a page");
                return Ok(Redirect::to("/staff?done=staff-added").into_response());
            }
            Err(AccountError::DuplicateEmail(_)) => Refusal {
                status: StatusCode::CONFLICT,
                field: Some("email".into()),
                message: page.t("staff-duplicate-email"),
            },
            Err(AccountError::Store(error)) => return Err(Failure(page.clone(), error.into())),
        },
        Err(refusal) => refusal,
    };
    let view = staff_page(&state, &signed_in, &fields, Some(&refusal), None).await?;
    Ok((refusal.status, html(&view)).into_response())
}

/// `POST /staff/{id}/remove`: removes a staff account; its sessions end.
pub async fn remove_staff(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    signed_in.check_form(&fields).at(page)?;
    staff_only(&signed_in).at(&signed_in.page)?;
    let not_found = || Failure(page.clone(), WebError::NotFound);
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let removed = state
        .store
        .remove_staff(
            Actor::Caller(signed_in.caller()),
            StaffKey::Id(id),
            clock::now(),
        )
        .await
        .at(page)?
        .ok_or_else(not_found)?;
    tracing::info!(staff_id = %removed.id, "staff account removed from a page");
    Ok(Redirect::to("/staff?done=removed").into_response())
}
