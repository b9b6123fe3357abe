//! `/v1/member-states`: the 35 OAS Member States, whether they participate, and the time
//! zone in which their POCs are shown times.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::extract::{ApiJson, ApiPath, Secretariat};
use super::pocs::present;
use super::problem::ApiError;
use super::{AppState, Routes};
use crate::calendar::{DayEnds, Holiday, WorkingWeek};
use crate::clock;
use crate::domain::{Caller, MemberStateCode, TimeZone};
use crate::store::directory::{Actor, MemberState, MemberStateChanges};

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .get("/member-states", list)
        .get("/member-states/{code}", show)
        .patch("/member-states/{code}", update)
        .get("/member-states/{code}/holidays", holidays)
        .put_with_body_limit("/member-states/{code}/holidays", set_holidays, usize::MAX)
}

#[derive(Debug, Serialize)]
struct MemberStateBody {
    code: MemberStateCode,
    /// The English name; `names` has it in each OAS official language.
    name: String,
    name_es: String,
    names: Names,
    participating: bool,
    /// The IANA time zone of its capital, in which e-mails to its POCs show times.
    time_zone: TimeZone,
    /// The days it works, Monday first: deadlines in working days skip the others.
    working_days: Vec<String>,
    /// When its working day closes (`HH:MM`, local): a deadline in working days falls then.
    working_day_ends: String,
    /// Active POCs of any role.
    active_pocs: i64,
    /// Active `policy` POCs: those a CBM #2 inquiry can be addressed to.
    active_policy_pocs: i64,
}

impl From<MemberState> for MemberStateBody {
    fn from(state: MemberState) -> Self {
        Self {
            code: state.code,
            name: state.name_en.clone(),
            names: Names {
                en: state.name_en,
                es: state.name_es.clone(),
                fr: state.name_fr,
                pt: state.name_pt,
            },
            name_es: state.name_es,
            participating: state.participating,
            time_zone: state.time_zone,
            working_days: state.working_days.split(',').map(str::to_owned).collect(),
            working_day_ends: state.working_day_ends,
            active_pocs: state.active_pocs,
            active_policy_pocs: state.active_policy_pocs,
        }
    }
}

/// A state's name in the four official languages of the OAS.
#[derive(Debug, Serialize)]
struct Names {
    en: String,
    es: String,
    fr: String,
    pt: String,
}

#[derive(Debug, Serialize)]
struct MemberStateList {
    items: Vec<MemberStateBody>,
}

async fn list(
    _caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<MemberStateList>, ApiError> {
    let states = state.store.list_member_states().await?;
    Ok(Json(MemberStateList {
        items: states.into_iter().map(MemberStateBody::from).collect(),
    }))
}

/// Parses a code from the path; an unknown but well-formed code is a 404.
fn code_from_path(code: &str) -> Result<MemberStateCode, ApiError> {
    MemberStateCode::parse(code).map_err(|e| ApiError::invalid_parameter("code", e))
}

/// 404 for a well-formed code that names no OAS Member State.
fn unknown_state(code: &MemberStateCode) -> ApiError {
    ApiError::NotFound(format!("{code} is not an OAS Member State"))
}

/// A directory refusal about a state: an unknown one is the path's 404.
fn state_refusal(error: crate::store::directory::DirectoryError) -> ApiError {
    match error {
        crate::store::directory::DirectoryError::UnknownMemberState(code) => unknown_state(&code),
        other => other.into(),
    }
}

async fn show(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<MemberStateBody>, ApiError> {
    let code = code_from_path(&code)?;
    let member_state = state
        .store
        .get_member_state(&code)
        .await?
        .ok_or_else(|| unknown_state(&code))?;
    Ok(Json(member_state.into()))
}

/// Any subset of the fields the Secretariat sets; `null` is refused for both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberStatePatch {
    #[serde(default, deserialize_with = "present")]
    participating: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    time_zone: Option<TimeZone>,
    #[serde(default, deserialize_with = "present")]
    working_days: Option<WorkingWeek>,
    #[serde(default, deserialize_with = "present")]
    working_day_ends: Option<DayEnds>,
}

impl From<MemberStatePatch> for MemberStateChanges {
    fn from(patch: MemberStatePatch) -> Self {
        MemberStateChanges {
            participating: patch.participating,
            time_zone: patch.time_zone,
            working_days: patch.working_days,
            working_day_ends: patch.working_day_ends.map(|ends| ends.0),
        }
    }
}

/// The changes to a member state in a JSON body, read exactly as
/// `PATCH /v1/member-states/{code}` reads them.
pub(crate) fn member_state_changes_from(body: &Value) -> Result<MemberStateChanges, ApiError> {
    let bytes = serde_json::to_vec(body).expect("a JSON value serializes");
    super::extract::parse_json::<MemberStatePatch>(&bytes).map(MemberStateChanges::from)
}

async fn update(
    Secretariat(caller): Secretariat,
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    ApiJson(patch): ApiJson<MemberStatePatch>,
) -> Result<Json<MemberStateBody>, ApiError> {
    let code = code_from_path(&code)?;
    let updated = state
        .store
        .update_member_state(
            Actor::Caller(&caller),
            &code,
            &MemberStateChanges::from(patch),
            clock::now(),
        )
        .await
        .map_err(state_refusal)?;
    Ok(Json(updated.into()))
}

#[derive(Debug, Serialize)]
struct HolidayList {
    items: Vec<Holiday>,
}

/// A state's public holidays, by date (any authenticated caller): deadlines in working days
/// skip them.
async fn holidays(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<HolidayList>, ApiError> {
    let code = code_from_path(&code)?;
    let items = state
        .store
        .holidays(&code)
        .await?
        .ok_or_else(|| unknown_state(&code))?;
    Ok(Json(HolidayList { items }))
}

/// `{"holidays": [{"date": "2026-12-25", "name": "Christmas"}, …]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidaysBody {
    holidays: Vec<HolidayEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayEntry {
    date: chrono::NaiveDate,
    name: crate::domain::ShortText,
}

/// Replaces a state's holidays (Secretariat): JSON (`application/json`, as above) or an
/// iCalendar file (`text/calendar`), at most [`crate::calendar::MAX_HOLIDAYS`] dates, each once. Answers
/// the list as kept.
async fn set_holidays(
    Secretariat(caller): Secretariat,
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    request: axum::extract::Request,
) -> Result<Json<HolidayList>, ApiError> {
    let code = code_from_path(&code)?;
    let calendar = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .map(|m| m.essence_str().to_ascii_lowercase())
        .and_then(|essence| match essence.as_str() {
            "text/calendar" => Some(true),
            "application/json" => Some(false),
            _ => None,
        });
    let body = super::pocs_import::read_body(request, state.import_body_limit).await?;
    let holidays = match calendar {
        Some(true) => {
            let text = std::str::from_utf8(&body)
                .map_err(|_| ApiError::MalformedBody("the iCalendar file is not UTF-8".into()))?;
            crate::calendar::holidays_from_ical(text)
                .map_err(|detail| ApiError::invalid_field("holidays", detail))?
        }
        Some(false) => super::extract::parse_json::<HolidaysBody>(&body)?
            .holidays
            .into_iter()
            .map(|entry| Holiday {
                date: entry.date,
                name: entry.name.as_str().to_owned(),
            })
            .collect(),
        None => return Err(ApiError::UnsupportedHolidaysType),
    };
    let holidays = crate::calendar::holiday_set(holidays)
        .map_err(|detail| ApiError::invalid_field("holidays", detail))?;
    state
        .store
        .set_holidays(Actor::Caller(&caller), &code, &holidays, clock::now())
        .await
        .map_err(state_refusal)?;
    Ok(Json(HolidayList { items: holidays }))
}
