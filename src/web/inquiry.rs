//! One inquiry as a page: its record as the reader may see it, its timeline, and a form for
//! each action the reader may take now (from `protocol/forms.toml`); and a new inquiry.
//! The requesting steps (look up the POC, invoke, describe, request information) are the
//! forms a draft offers one after the other: the wizard is the protocol itself.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::forms::{self, FieldKind, FormError, form_of};
use super::page::Page;
use super::render::{At, Failure, WebError, html};
use super::session::{SignedIn, random_token};
use crate::clock;
use crate::domain::Principal;
use crate::http::AppState;
use crate::http::inquiries::{InquiryView, action_request};
use crate::http::problem::ApiError;
use crate::protocol::{ActionName, Inquiry, Party, Role};
use crate::store::directory::PocFilter;
use crate::store::inquiries::{
    Command, CommandError, CreateError, Executed, IdempotencyKey, IssuedBy, party_of,
};

/// The most events the timeline shows (an inquiry has far fewer).
const TIMELINE_LIMIT: u32 = 500;

/// One entry of the timeline.
pub struct Entry {
    pub seq: i64,
    pub event_type: String,
    /// Who acted, as words.
    pub who: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The text the event carries (a message, an answer), for the two states only.
    pub text: Option<String>,
    pub hash: Option<String>,
}

/// A choice in a select or a set of checkboxes.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One field of an action's form, ready to show.
pub struct FieldView {
    /// `<action>-<field>`: unique in the page, for ids.
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    pub value: String,
    /// Parts of a compound field (duration: days, hours; contact: name, email, phone).
    pub parts: Vec<(String, String)>,
    pub choices: Vec<Choice>,
    pub error: Option<String>,
}

/// An action's form.
pub struct ActionForm {
    pub action: &'static str,
    pub title: String,
    pub submit: String,
    pub fields: Vec<FieldView>,
    /// The action's refusal or the form's error, shown above its fields.
    pub error: Option<String>,
    /// Sends the inquiry to the other state: shown with the invocation for review.
    pub sends: bool,
}

#[derive(Template)]
#[template(path = "inquiry.html", config = "src/web/askama.toml")]
struct InquiryPage<'a> {
    page: &'a Page,
    view: InquiryView,
    participant: bool,
    timeline: Vec<Entry>,
    forms: Vec<ActionForm>,
    form_key: String,
    done: Option<String>,
    /// A refusal of an action the page offers no form for (any more): shown at the top.
    refusal: Option<String>,
    /// The wizard's steps while preparing: (title, done, current).
    steps: Vec<(String, bool, bool)>,
    /// The running deadline in each state's local time, one line a state.
    due_local: Vec<String>,
    /// Whether the reader may attach a file now, and what the server takes.
    can_attach: bool,
    /// What the server takes: its size limit and types.
    attachment_hint: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

/// The inquiry, or the one 404 page when it does not exist or is not the reader's to see.
async fn visible(
    state: &AppState,
    signed_in: &SignedIn,
    id: Uuid,
) -> Result<(Inquiry, Party), Failure> {
    let inquiry = state.store.get_inquiry(id).await.at(&signed_in.page)?;
    inquiry
        .and_then(|inquiry| party_of(&signed_in.caller().principal, &inquiry).map(|p| (inquiry, p)))
        .ok_or_else(|| Failure(signed_in.page.clone(), WebError::NotFound))
}

pub async fn show(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, Failure> {
    let Ok(id) = Uuid::parse_str(&id) else {
        return Err(Failure(signed_in.page.clone(), WebError::NotFound));
    };
    let (inquiry, party) = visible(&state, &signed_in, id).await?;
    let done = query
        .done
        .as_deref()
        .and_then(ActionName::parse)
        .map(|action| {
            signed_in.page.t1(
                "inquiry-done",
                "action",
                action_title(&signed_in.page, action),
            )
        });
    let page = render_page(&state, &signed_in, &inquiry, party, None, done).await?;
    Ok(html(&page))
}

/// `GET /inquiries/{id}/indicators.stix`: the inquiry's indicators as the API's STIX 2.1
/// bundle, for the two states' POCs (the Secretariat sees no content: the 404 page).
pub async fn indicators_stix(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let Ok(id) = Uuid::parse_str(&id) else {
        return Err(Failure(signed_in.page.clone(), WebError::NotFound));
    };
    let (inquiry, party) = visible(&state, &signed_in, id).await?;
    if !party.is_participant() {
        return Err(Failure(signed_in.page.clone(), WebError::NotFound));
    }
    Ok(crate::http::inquiries::stix_response(&inquiry))
}

/// `GET /inquiries/{id}/record.json`: the inquiry's record as the reader may see it, signed
/// by the instance, as the API answers it (the Secretariat's without content or hashes).
pub async fn signed_record(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let Ok(id) = Uuid::parse_str(&id) else {
        return Err(Failure(signed_in.page.clone(), WebError::NotFound));
    };
    crate::http::record::signed_record(&state, &signed_in.caller().principal, id)
        .await
        .at(&signed_in.page)?
        .ok_or_else(|| Failure(signed_in.page.clone(), WebError::NotFound))
}

/// `POST /inquiries/{id}/attachments`: the page's upload form (multipart: the CSRF token,
/// the form key, the file), attached as the API attaches it; refused on the page with why.
pub async fn attach(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    multipart: axum::extract::Multipart,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    let Ok(id) = Uuid::parse_str(&id) else {
        return Err(Failure(page.clone(), WebError::NotFound));
    };
    let upload = crate::http::attachments::read_upload(&state.attachments, multipart).await;
    if let Ok(upload) = &upload {
        signed_in.check_form(&upload.fields).at(page)?;
    }
    let (inquiry, party) = visible(&state, &signed_in, id).await?;
    let refuse = |status: StatusCode, message: String| {
        (
            status,
            Refused {
                action: ActionName::Attach,
                values: Vec::new(),
                field: None,
                message,
            },
        )
    };
    let upload = match upload {
        Ok(upload) => upload,
        Err(error) => {
            let (status, refused) = refuse(error.status_code(), error.to_string());
            return answer(&state, &signed_in, &inquiry, party, refused, status).await;
        }
    };
    let Some((meta, bytes)) = upload.file else {
        let (status, refused) = refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            page.t("inquiry-attach-no-file"),
        );
        return answer(&state, &signed_in, &inquiry, party, refused, status).await;
    };
    let mut headers = axum::http::HeaderMap::new();
    if let Some(key) =
        forms::field(&upload.fields, "form_key").filter(|k| !k.is_empty() && k.len() <= 64)
        && let Ok(value) = axum::http::HeaderValue::from_str(&format!("web:{key}"))
    {
        headers.insert("idempotency-key", value);
    }
    match crate::http::attachments::attach(&state, signed_in.caller(), id, &headers, meta, bytes)
        .await
    {
        Ok(_) => {
            tracing::info!(inquiry_id = %id, "a file attached from a page");
            Ok(Redirect::to(&format!("/inquiries/{id}?done=attach")).into_response())
        }
        Err(ApiError::NotFound(_)) => Err(Failure(page.clone(), WebError::NotFound)),
        Err(error) => {
            let (status, refused) = refuse(error.status_code(), error.to_string());
            answer(&state, &signed_in, &inquiry, party, refused, status).await
        }
    }
}

/// `GET /inquiries/{id}/attachments/{attachment_id}`: the file, as the API answers it, to
/// the two states; the 404 page to anyone else (the Secretariat too).
pub async fn attachment(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path((id, attachment_id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    let (Ok(id), Ok(attachment_id)) = (Uuid::parse_str(&id), Uuid::parse_str(&attachment_id))
    else {
        return Err(Failure(page.clone(), WebError::NotFound));
    };
    match crate::http::attachments::attachment_download(
        &state,
        &signed_in.caller().principal,
        id,
        attachment_id,
    )
    .await
    {
        Ok(response) => Ok(response),
        Err(ApiError::NotFound(_) | ApiError::Forbidden(_)) => {
            Err(Failure(page.clone(), WebError::NotFound))
        }
        Err(ApiError::Internal(error)) => Err(Failure(page.clone(), WebError::Store(error))),
        Err(other) => Err(Failure(
            page.clone(),
            WebError::Unexpected(other.to_string()),
        )),
    }
}

/// A form sent back with what was typed and why it was refused.
struct Refused {
    action: ActionName,
    values: Vec<(String, String)>,
    field: Option<String>,
    message: String,
}

async fn render_page<'a>(
    state: &AppState,
    signed_in: &'a SignedIn,
    inquiry: &Inquiry,
    party: Party,
    refused: Option<Refused>,
    done: Option<String>,
) -> Result<InquiryPage<'a>, Failure> {
    let page = &signed_in.page;
    let now = clock::now();
    let zones = state.store.zones().await.at(page)?;
    let view = InquiryView::new(inquiry, party, now, &zones);
    let participant = party.is_participant();
    let events = state
        .store
        .inquiry_events_page(inquiry.id, party.role, None, TIMELINE_LIMIT)
        .await
        .at(page)?;
    let timeline = events
        .into_iter()
        .map(|event| {
            let payload: Value = serde_json::from_str(&event.payload).unwrap_or(Value::Null);
            Entry {
                seq: event.seq,
                who: who(page, &event.actor_kind, event.actor_state.as_deref()),
                text: participant.then(|| event_text(&payload)).flatten(),
                hash: participant.then_some(event.hash),
                event_type: event.event_type,
                at: event.at,
            }
        })
        .collect();
    let mut action_forms = Vec::new();
    for action in &view.allowed_actions {
        let Some(definition) = form_of(*action) else {
            continue;
        };
        let refused_here = refused.as_ref().filter(|r| r.action == *action);
        let mut fields = Vec::new();
        for field in &definition.fields {
            fields.push(field_view(state, signed_in, inquiry, *action, field, refused_here).await?);
        }
        action_forms.push(ActionForm {
            action: action.as_str(),
            title: action_title(page, *action),
            submit: page.t(&format!("action-{}-submit", action.as_str())),
            fields,
            error: refused_here
                .filter(|r| r.field.is_none())
                .map(|r| r.message.clone()),
            sends: *action == ActionName::RequestInfo,
        });
    }
    let steps = if view.sent_at.is_none() && party.role == Role::Requester {
        let order = [
            "draft",
            "poc_identified",
            "cbm2_invoked",
            "incident_described",
        ];
        let at = order
            .iter()
            .position(|s| *s == view.status.as_str())
            .unwrap_or(0);
        ["lookup_poc", "invoke", "describe", "request_info"]
            .iter()
            .enumerate()
            .map(|(i, action)| (page.t(&format!("action-{action}-title")), i < at, i == at))
            .collect()
    } else {
        Vec::new()
    };
    let refusal = refused
        .filter(|r| !view.allowed_actions.contains(&r.action) || form_of(r.action).is_none())
        .map(|r| r.message);
    Ok(InquiryPage {
        page,
        refusal,
        participant,
        timeline,
        forms: action_forms,
        form_key: random_token(),
        done,
        steps,
        due_local: view
            .due_at_local
            .as_ref()
            .map(|local| {
                [
                    Some((view.requesting_state.as_str(), local.requesting_state)),
                    view.responding_state.as_deref().zip(local.responding_state),
                ]
                .into_iter()
                .flatten()
                .map(|(code, at)| {
                    page.t2(
                        "inquiry-due-local",
                        ("state", &page.state_name(code)),
                        ("time", &at.format("%Y-%m-%d %H:%M (UTC%:z)")),
                    )
                })
                .collect()
            })
            .unwrap_or_default(),
        can_attach: view.allowed_actions.contains(&ActionName::Attach),
        attachment_hint: page.t2(
            "inquiry-evidence-hint",
            (
                "limit",
                &format!("{} MiB", state.attachments.limit as f64 / 1_048_576.0),
            ),
            ("types", &state.attachments.types.join(", ")),
        ),
        view,
    })
}

fn action_title(page: &Page, action: ActionName) -> String {
    page.t(&format!("action-{}-title", action.as_str()))
}

/// Who took an action, as the timeline names them.
fn who(page: &Page, actor_kind: &str, state: Option<&str>) -> String {
    match (actor_kind, state) {
        ("secretariat", _) => page.t("actor-secretariat"),
        ("engine", _) => page.t("actor-engine"),
        (_, Some(code)) => page.state_name(code),
        _ => page.t("actor-unknown"),
    }
}

/// The text an event carries, where it carries one people wrote.
fn event_text(payload: &Value) -> Option<String> {
    [
        "text",
        "message",
        "information",
        "questions",
        "summary",
        "resolution",
        "reason",
    ]
    .iter()
    .find_map(|key| payload[*key].as_str().map(str::to_owned))
}

async fn field_view(
    state: &AppState,
    signed_in: &SignedIn,
    inquiry: &Inquiry,
    action: ActionName,
    field: &forms::FieldDefinition,
    refused: Option<&Refused>,
) -> Result<FieldView, Failure> {
    let page = &signed_in.page;
    let key = format!("field-{}-{}", action.as_str(), field.name);
    let typed = |name: &str| {
        refused.and_then(|r| {
            r.values
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    };
    let chosen = |name: &str| -> Vec<String> {
        refused
            .map(|r| {
                r.values
                    .iter()
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let hint_key = format!("{key}-hint");
    let hint = super::i18n::has(page.lang, &hint_key).then(|| page.t(&hint_key));
    let mut parts = Vec::new();
    let mut choices = Vec::new();
    let own_state = match &signed_in.caller().principal {
        Principal::Poc { member_state, .. } => Some(member_state.clone()),
        Principal::Secretariat => None,
    };
    match field.kind {
        FieldKind::Duration => {
            for part in ["days", "hours"] {
                parts.push((
                    part.to_owned(),
                    typed(&format!("{}.{part}", field.name)).unwrap_or_default(),
                ));
            }
        }
        FieldKind::Contact => {
            // Pre-filled from the reader's own directory record.
            let record = match signed_in.caller().poc_id() {
                Some(poc_id) => state.store.get_poc(poc_id.0).await.at(page)?,
                None => None,
            };
            let from_directory = |part: &str| match (&record, part) {
                (Some(r), "name") => r.name.clone(),
                (Some(r), "email") => r.email.clone(),
                (Some(r), "phone") => r.phone.clone().unwrap_or_default(),
                _ => String::new(),
            };
            for part in ["name", "email", "phone"] {
                let value = match refused {
                    Some(_) => typed(&format!("{}.{part}", field.name)).unwrap_or_default(),
                    None if action == ActionName::Message => String::new(),
                    None => from_directory(part),
                };
                parts.push((part.to_owned(), value));
            }
        }
        FieldKind::MemberState | FieldKind::MemberStates => {
            let picked = chosen(&field.name);
            let states = state.store.list_member_states().await.at(page)?;
            let mut listed: Vec<Choice> = states
                .into_iter()
                .filter(|m| Some(&m.code) != own_state.as_ref() && m.participating)
                .map(|m| Choice {
                    selected: picked.iter().any(|p| p == m.code.as_str()),
                    label: page.state_name(m.code.as_str()),
                    value: m.code.to_string(),
                })
                .collect();
            listed.sort_by(|a, b| a.label.cmp(&b.label));
            choices = listed;
        }
        FieldKind::Languages => {
            let picked = chosen(&field.name);
            choices = crate::domain::Language::ALL
                .into_iter()
                .map(|l| Choice {
                    selected: picked.iter().any(|p| p == l.as_str()),
                    label: page.t(&format!("language-{}", l.as_str())),
                    value: l.as_str().to_owned(),
                })
                .collect();
        }
        FieldKind::TimeSensitivity | FieldKind::ContactChannel => {
            let (words, prefix): (&[&str], &str) = if field.kind == FieldKind::TimeSensitivity {
                (&["routine", "urgent", "critical"], "sensitivity")
            } else {
                (&["phone", "email", "meeting", "other"], "channel")
            };
            let picked = typed(&field.name).unwrap_or_default();
            choices = words
                .iter()
                .map(|w| Choice {
                    selected: picked == *w,
                    label: page.t(&format!("{prefix}-{w}")),
                    value: (*w).to_owned(),
                })
                .collect();
        }
        FieldKind::Poc => {
            let picked = typed(&field.name).unwrap_or_default();
            let pocs = match &own_state {
                Some(code) => state
                    .store
                    .list_pocs(
                        &PocFilter {
                            member_state: Some(code.clone()),
                            role: None,
                            active: Some(true),
                        },
                        None,
                        200,
                    )
                    .await
                    .at(page)?,
                None => Vec::new(),
            };
            choices = pocs
                .into_iter()
                .filter(|p| Some(crate::domain::PocId(p.id)) != signed_in.caller().poc_id())
                .filter(|p| inquiry.share_of(p.id).is_none())
                .map(|p| Choice {
                    selected: picked == p.id.to_string(),
                    label: format!(
                        "{} ({}, {})",
                        p.name,
                        p.affiliation,
                        page.t(&format!("poc-role-{}", p.role.as_str()))
                    ),
                    value: p.id.to_string(),
                })
                .collect();
        }
        FieldKind::SharedPoc => {
            let picked = typed(&field.name).unwrap_or_default();
            let side = own_side(signed_in, inquiry);
            choices = inquiry
                .shares
                .iter()
                .filter(|s| Some(s.side) == side)
                .map(|s| Choice {
                    selected: picked == s.poc_id.to_string(),
                    label: s.name.clone(),
                    value: s.poc_id.to_string(),
                })
                .collect();
        }
        _ => {}
    }
    Ok(FieldView {
        id: format!("{}-{}", action.as_str(), field.name),
        name: field.name.clone(),
        kind: kind_name(field.kind),
        label: page.t(&key),
        hint,
        required: field.required,
        value: typed(&field.name).unwrap_or_default(),
        parts,
        choices,
        error: refused
            .filter(|r| r.field.as_deref() == Some(field.name.as_str()))
            .map(|r| r.message.clone()),
    })
}

fn own_side(signed_in: &SignedIn, inquiry: &Inquiry) -> Option<Role> {
    party_of(&signed_in.caller().principal, inquiry).map(|p| p.role)
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "text",
        FieldKind::LongText => "long_text",
        FieldKind::Boolean => "boolean",
        FieldKind::Count => "count",
        FieldKind::Duration => "duration",
        FieldKind::Datetime => "datetime",
        FieldKind::Lines => "long_text",
        FieldKind::Indicators | FieldKind::Stix => "long_text",
        FieldKind::MemberState
        | FieldKind::TimeSensitivity
        | FieldKind::ContactChannel
        | FieldKind::Poc
        | FieldKind::SharedPoc => "select",
        FieldKind::MemberStates | FieldKind::Languages => "checkboxes",
        FieldKind::Contact => "contact",
    }
}

/// Takes an action from its form: the same parsing, authorization and protocol as the API.
pub async fn act(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Form(values): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    signed_in.check_form(&values).at(page)?;
    let (Ok(id), Some(action)) = (Uuid::parse_str(&id), ActionName::parse(&action)) else {
        return Err(Failure(page.clone(), WebError::NotFound));
    };
    let (inquiry, party) = visible(&state, &signed_in, id).await?;
    let Some(definition) = form_of(action) else {
        return Err(Failure(page.clone(), WebError::NotFound));
    };
    let value = |name: &str| forms::field(&values, name);
    let refuse = |status: StatusCode, field: Option<String>, message: String| {
        Refused {
            action,
            values: values.clone(),
            field,
            message,
        }
        .with_status(status)
    };
    let body = match forms::to_body(definition, &values, page.zone) {
        Ok(body) => body,
        Err(FormError { field, reason }) => {
            let (status, refused) = refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(field),
                page.t(reason),
            );
            return answer(&state, &signed_in, &inquiry, party, refused, status).await;
        }
    };
    let request = match action_request(action, &body) {
        Some(Ok(request)) => request,
        Some(Err(error)) => {
            let (status, refused) = refused_by_api(error, refuse);
            return answer(&state, &signed_in, &inquiry, party, refused, status).await;
        }
        None => return Err(Failure(page.clone(), WebError::NotFound)),
    };
    let body_bytes = serde_json::to_vec(&body).expect("a JSON value serializes");
    let path = format!("/v1/inquiries/{id}/{}", action.as_str().replace('_', "-"));
    let idempotency = value("form_key")
        .filter(|key| !key.is_empty() && key.len() <= 64)
        .map(|key| IdempotencyKey::new(format!("web:{key}"), "POST", &path, &body_bytes));
    let if_match = value("version").and_then(|v| v.parse::<i64>().ok());
    let now = clock::now();
    let command = Command {
        inquiry_id: id,
        by: IssuedBy::Caller(signed_in.caller()),
        action: request,
        if_match,
        idempotency,
        now,
    };
    let zones = state.store.zones().await.at(page)?;
    let render = move |inquiry: &Inquiry, party: Party| {
        serde_json::to_string(&InquiryView::new(inquiry, party, now, &zones))
            .expect("views serialize")
    };
    match state.store.execute(command, render).await {
        Ok(Executed::Applied(inquiry, ..)) => {
            tracing::info!(inquiry_id = %inquiry.id, version = inquiry.version, status = inquiry.status.as_str(), "action recorded from a page");
            Ok(Redirect::to(&format!("/inquiries/{id}?done={}", action.as_str())).into_response())
        }
        // The same form sent twice: it was recorded the first time.
        Ok(Executed::Replayed { .. }) => {
            Ok(Redirect::to(&format!("/inquiries/{id}?done={}", action.as_str())).into_response())
        }
        Err(CommandError::NotFound(_)) => Err(Failure(page.clone(), WebError::NotFound)),
        Err(CommandError::VersionMismatch { .. }) => {
            let (status, refused) = refuse(StatusCode::CONFLICT, None, page.t("inquiry-changed"));
            answer(&state, &signed_in, &inquiry, party, refused, status).await
        }
        Err(error) => {
            let (status, refused) = refused_by_api(ApiError::from(error), refuse);
            answer(&state, &signed_in, &inquiry, party, refused, status).await
        }
    }
}

impl Refused {
    fn with_status(self, status: StatusCode) -> (StatusCode, Refused) {
        (status, self)
    }
}

/// The API's refusal as the form shows it: next to its field when it names one.
fn refused_by_api(
    error: ApiError,
    refuse: impl Fn(StatusCode, Option<String>, String) -> (StatusCode, Refused),
) -> (StatusCode, Refused) {
    let status = error.status_code();
    match error {
        ApiError::InvalidField { field, detail } => {
            let name = forms::field_of(&field).to_owned();
            refuse(status, Some(name), format!("{field}: {detail}"))
        }
        other => refuse(status, None, other.to_string()),
    }
}

/// The page again, with the refused form filled in as it was sent.
async fn answer(
    state: &AppState,
    signed_in: &SignedIn,
    inquiry: &Inquiry,
    party: Party,
    refused: Refused,
    status: StatusCode,
) -> Result<Response, Failure> {
    // The inquiry as it is now (it may have changed since the page was shown).
    let (inquiry, party) = match state
        .store
        .get_inquiry(inquiry.id)
        .await
        .at(&signed_in.page)?
    {
        Some(now) => {
            let party = party_of(&signed_in.caller().principal, &now).unwrap_or(party);
            (now, party)
        }
        None => (inquiry.clone(), party),
    };
    let page = render_page(state, signed_in, &inquiry, party, Some(refused), None).await?;
    Ok((status, html(&page)).into_response())
}

#[derive(Template)]
#[template(path = "new_inquiry.html", config = "src/web/askama.toml")]
struct NewInquiryPage<'a> {
    page: &'a Page,
    error: Option<String>,
    may_create: bool,
}

/// The first step of a new inquiry: a draft of the reader's state.
pub async fn new_form(signed_in: SignedIn) -> Response {
    let may_create = matches!(
        &signed_in.caller().principal,
        Principal::Poc {
            role: crate::domain::PocRole::Policy,
            participating: true,
            ..
        }
    );
    html(&NewInquiryPage {
        page: &signed_in.page,
        error: None,
        may_create,
    })
}

pub async fn create(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Form(values): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    signed_in.check_form(&values).at(page)?;
    let exercise = values.iter().any(|(k, _)| k == "exercise");
    match state
        .store
        .create_inquiry(signed_in.caller(), exercise, None, clock::now())
        .await
    {
        Ok(inquiry) => {
            tracing::info!(inquiry_id = %inquiry.id, "inquiry created from a page");
            Ok(Redirect::to(&format!("/inquiries/{}", inquiry.id)).into_response())
        }
        Err(CreateError::Store(error)) => Err(Failure(page.clone(), error.into())),
        Err(error) => {
            let body = NewInquiryPage {
                page,
                error: Some(error.to_string()),
                may_create: false,
            };
            Ok((StatusCode::FORBIDDEN, html(&body)).into_response())
        }
    }
}
