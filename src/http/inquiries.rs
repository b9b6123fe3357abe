//! `/v1/inquiries`: the CBM #2 inquiry, its actions and its audit trail; `/v1/audit/verify`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, CallerAndInquiry, JsonWithBytes, Secretariat};
use super::pagination::{CursorKey, Page, PageQuery, decode_cursor, into_page, page_limit};
use super::problem::ApiError;
use super::{AppState, Routes};
use crate::clock;
use crate::domain::{
    Caller, ContactDetails, Indicator, IsoDuration, Language, LongText, MemberStateCode, Nature,
    Reason, ShortText, TimeSensitivity,
};
use crate::protocol::inquiry::{
    Attachment, ContactChannel, Incident, LoggedContact, PocSnapshot, Requester, SharedWith,
    WorkingDays,
};
use crate::protocol::{Action, ActionName, Inquiry, Party, Refusal, Role, Status};
use crate::store::StateZones;
use crate::store::chain::{ChainHead, ChainReport};
use crate::store::inquiries::{
    ActionRequest, Command, CommandError, CreateError, Executed, IdempotencyKey, InquiryCursor,
    InquiryFilter, IssuedBy, party_of,
};

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .post("/inquiries", create)
        .get("/inquiries", list)
        .get("/inquiries/{id}", show)
        .get("/inquiries/{id}/events", events)
        .get("/inquiries/{id}/indicators.stix", indicators_stix)
        .post("/inquiries/{id}/lookup-poc", lookup_poc)
        .post("/inquiries/{id}/invoke", invoke)
        .post("/inquiries/{id}/describe", describe)
        .post("/inquiries/{id}/request-info", request_info)
        .post("/inquiries/{id}/acknowledge", acknowledge)
        .post("/inquiries/{id}/update", update)
        .post("/inquiries/{id}/respond", respond)
        .post("/inquiries/{id}/follow-up", follow_up)
        .post("/inquiries/{id}/close", close)
        .post("/inquiries/{id}/withdraw", withdraw)
        .post("/inquiries/{id}/remind", remind)
        .post("/inquiries/{id}/message", message)
        .post("/inquiries/{id}/log-contact", log_contact)
        .post("/inquiries/{id}/share", share)
        .post("/inquiries/{id}/unshare", unshare)
        .get("/audit/verify", verify)
}

/// An inquiry as a caller may see it: metadata for everyone who may see it at all, and
/// the content (the "content fields" of api.md) for the two states' POCs only.
#[derive(Debug, Serialize)]
pub struct InquiryView {
    pub id: Uuid,
    pub status: Status,
    pub version: i64,
    pub protocol_version: String,
    pub exercise: bool,
    /// Shown to the requesting state only: to anyone else it would reveal that an inquiry
    /// with a third state exists, and when (UUIDv7).
    pub related_inquiry_id: Option<Uuid>,
    pub requesting_state: String,
    pub responding_state: Option<String>,
    pub time_sensitivity: Option<TimeSensitivity>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ack_due_at: Option<DateTime<Utc>>,
    pub response_due_at: Option<DateTime<Utc>>,
    /// The running deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// The running deadline in each state's local time (its time zone's offset then).
    pub due_at_local: Option<LocalTimes>,
    pub overdue: bool,
    /// What this caller may do now, named as the actions of `protocol/`.
    pub allowed_actions: Vec<ActionName>,
    /// Contacts made outside cbm2: which side logged one, by which channel, when. Their
    /// summaries are in the `log_contact` events, which only the two states read.
    pub logged_contacts: Vec<LoggedContact>,
    /// How many files are attached as evidence (their names, types and bytes are the two
    /// states' only).
    pub attachment_count: usize,
    /// The caller's standing: `acting` (a policy POC, the Secretariat), `shared` (a POC
    /// the inquiry is shared with), `not_participating` (its state does not take part now).
    pub standing: crate::protocol::Standing,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentView>,
}

/// One instant in the two states' local times.
#[derive(Debug, Serialize)]
pub struct LocalTimes {
    pub requesting_state: DateTime<chrono::FixedOffset>,
    pub responding_state: Option<DateTime<chrono::FixedOffset>>,
}

impl LocalTimes {
    /// `at` in the zones of `inquiry`'s two states (a state whose zone is unknown: none).
    pub fn of(at: DateTime<Utc>, inquiry: &Inquiry, zones: &StateZones) -> Option<Self> {
        let local = |code: &MemberStateCode| {
            zones
                .get(code.as_str())
                .map(|zone| at.with_timezone(zone).fixed_offset())
        };
        Some(Self {
            requesting_state: local(&inquiry.requesting_state)?,
            responding_state: inquiry.responding_state.as_ref().and_then(local),
        })
    }
}

/// What only the two states' POCs see.
#[derive(Debug, Serialize)]
pub struct ContentView {
    pub requester: Requester,
    pub responding_pocs: Vec<PocSnapshot>,
    pub language: Option<Language>,
    /// Every language of the invocation, in order, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<Language>,
    pub invocation_text: Option<String>,
    pub nature: Option<String>,
    pub category: Option<String>,
    pub sectors: Option<Vec<String>>,
    pub observed_from: Option<DateTime<Utc>>,
    pub observed_to: Option<DateTime<Utc>>,
    pub indicators: Option<Vec<Indicator>>,
    pub questions: Option<String>,
    pub contact: Option<ContactDetails>,
    /// When the requester gave its contact details in a message.
    pub contact_provided_at: Option<DateTime<Utc>>,
    pub message: Option<String>,
    pub contact_requested: Option<bool>,
    pub estimated_timeframe: Option<IsoDuration>,
    /// The timeframe in working days of the responding state, when given so.
    pub estimated_working_days: Option<u32>,
    pub information: Option<String>,
    pub third_states: Vec<MemberStateCode>,
    pub resolution: Option<String>,
    pub withdrawal_reason: Option<String>,
    /// The POCs of the caller's own state the inquiry is shared with.
    pub shares: Vec<SharedWith>,
    /// The files attached as evidence, oldest first.
    pub attachments: Vec<Attachment>,
}

impl InquiryView {
    pub fn new(inquiry: &Inquiry, party: Party, now: DateTime<Utc>, zones: &StateZones) -> Self {
        let role = party.role;
        let content = party.is_participant().then(|| {
            let incident: Option<&Incident> = inquiry.incident.as_ref();
            ContentView {
                requester: inquiry.requester.clone(),
                responding_pocs: inquiry.responding_pocs.clone(),
                language: inquiry.language,
                languages: inquiry.languages.clone(),
                invocation_text: inquiry.invocation_text.clone(),
                nature: incident.map(|i| i.nature.clone()),
                category: incident.map(|i| i.category.clone()),
                sectors: incident.map(|i| i.sectors.clone()),
                observed_from: incident.and_then(|i| i.observed_from),
                observed_to: incident.and_then(|i| i.observed_to),
                indicators: incident.map(|i| i.indicators.clone()),
                questions: inquiry.questions.clone(),
                contact: inquiry.contact.clone(),
                contact_provided_at: inquiry.contact_provided_at,
                message: inquiry.message.clone(),
                contact_requested: inquiry.contact_requested,
                estimated_timeframe: inquiry.estimated_timeframe,
                estimated_working_days: inquiry.estimated_working_days,
                information: inquiry.information.clone(),
                third_states: inquiry.third_states.clone(),
                resolution: inquiry.resolution.clone(),
                withdrawal_reason: inquiry.withdrawal_reason.clone(),
                shares: inquiry
                    .shares
                    .iter()
                    .filter(|share| share.side == role)
                    .cloned()
                    .collect(),
                attachments: inquiry.attachments.clone(),
            }
        });
        Self {
            id: inquiry.id,
            status: inquiry.status,
            version: inquiry.version,
            protocol_version: inquiry.protocol_version.clone(),
            exercise: inquiry.exercise,
            related_inquiry_id: inquiry
                .related_inquiry_id
                .filter(|_| role == Role::Requester),
            requesting_state: inquiry.requesting_state.to_string(),
            responding_state: inquiry.responding_state.as_ref().map(ToString::to_string),
            time_sensitivity: inquiry.time_sensitivity,
            created_at: inquiry.created_at,
            updated_at: inquiry.updated_at,
            sent_at: inquiry.sent_at,
            acknowledged_at: inquiry.acknowledged_at,
            responded_at: inquiry.responded_at,
            ended_at: inquiry.ended_at,
            ack_due_at: inquiry.ack_due_at,
            response_due_at: inquiry.response_due_at,
            due_at: inquiry.due_at(),
            due_at_local: inquiry
                .due_at()
                .and_then(|due| LocalTimes::of(due, inquiry, zones)),
            overdue: inquiry.overdue(now),
            allowed_actions: inquiry.allowed_actions(party, now),
            logged_contacts: inquiry.logged_contacts.clone(),
            attachment_count: inquiry.attachments.len(),
            standing: party.standing,
            content,
        }
    }
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("a quoted integer is a header value")
}

/// 200 (or `status`) with the view and its `ETag`.
fn inquiry_response(
    status: StatusCode,
    inquiry: &Inquiry,
    party: Party,
    zones: &StateZones,
) -> Response {
    let view = InquiryView::new(inquiry, party, clock::now(), zones);
    let mut response = (status, Json(view)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(inquiry.version));
    response
}

/// An inquiry's answer already rendered (`body`), with the ETag of its `version`.
fn json_response(status: StatusCode, body: String, version: i64) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    response.headers_mut().insert(header::ETAG, etag(version));
    response
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no inquiry with id {id}"))
}

impl From<CommandError> for ApiError {
    fn from(error: CommandError) -> Self {
        match error {
            CommandError::NotFound(id) => not_found(id),
            CommandError::VersionMismatch { .. } => ApiError::PreconditionFailed(format!(
                "If-Match: {error}; fetch the inquiry again and retry"
            )),
            CommandError::IdempotencyKeyReused => ApiError::invalid_field("Idempotency-Key", error),
            CommandError::Refused(refusal) => refusal.into(),
            CommandError::Store(error) => error.into(),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::WrongRole { .. } | Refusal::Forbidden { .. } => {
                ApiError::Forbidden(refusal.to_string())
            }
            Refusal::NotInVersion {
                current_status,
                ref allowed_actions,
                ..
            } => ApiError::TransitionRefused {
                detail: refusal.to_string(),
                current_status: current_status.as_str(),
                allowed_actions: allowed_actions.iter().map(|a| a.as_str()).collect(),
            },
            Refusal::NotAllowed {
                current_status,
                ref allowed_actions,
                ..
            } => ApiError::TransitionRefused {
                detail: refusal.to_string(),
                current_status: current_status.as_str(),
                allowed_actions: allowed_actions.iter().map(|a| a.as_str()).collect(),
            },
            Refusal::Invalid { field, detail } => ApiError::InvalidField { field, detail },
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateInquiry {
    #[serde(default)]
    related_inquiry_id: Option<Uuid>,
    #[serde(default)]
    exercise: bool,
}

async fn create(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateInquiry>,
) -> Result<Response, ApiError> {
    let inquiry = state
        .store
        .create_inquiry(
            &caller,
            body.exercise,
            body.related_inquiry_id,
            clock::now(),
        )
        .await
        .map_err(|e| match e {
            CreateError::NotAPoc | CreateError::NotPolicy | CreateError::NotParticipating(_) => {
                ApiError::Forbidden(e.to_string())
            }
            CreateError::UnknownRelatedInquiry(_) => ApiError::invalid_field(
                "related_inquiry_id",
                "no inquiry of your state has this id",
            ),
            CreateError::Store(error) => error.into(),
        })?;
    let zones = state.store.zones().await?;
    let mut response = inquiry_response(
        StatusCode::CREATED,
        &inquiry,
        Party::acting(Role::Requester),
        &zones,
    );
    let location = format!("/v1/inquiries/{}", inquiry.id);
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("a path is a header value"),
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<Status>,
    overdue: Option<bool>,
    role: Option<SideQuery>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SideQuery {
    Requester,
    Responder,
}

async fn list(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<InquiryView>>, ApiError> {
    let limit = page_limit(query.limit)?;
    let after: Option<InquiryCursor> = decode_cursor(query.cursor.as_deref())?;
    // A well-formed request the Secretariat may not make: it plays no part in any inquiry.
    if query.role.is_some() && caller.is_secretariat() {
        return Err(ApiError::Forbidden(
            "role: applies to a point of contact's own state; the Secretariat sees every inquiry"
                .into(),
        ));
    }
    let zones = state.store.zones().await?;
    let filter = InquiryFilter {
        status: query.status,
        overdue: query.overdue,
        role: query.role.map(|side| match side {
            SideQuery::Requester => Role::Requester,
            SideQuery::Responder => Role::Responder,
        }),
    };
    let now = clock::now();
    let rows = state
        .store
        .list_inquiries(&caller.principal, &filter, after.as_ref(), limit + 1, now)
        .await?;
    let page = into_page(
        rows,
        limit,
        |row| InquiryCursor {
            created_at: row.created_at,
            id: row.id,
        },
        |row| {
            // A row that cannot be decoded is logged by the store and left out: one bad
            // row never fails the page.
            let inquiry = row.inquiry?;
            let party = party_of(&caller.principal, &inquiry)?;
            Some(InquiryView::new(&inquiry, party, now, &zones))
        },
    );
    Ok(Json(Page {
        items: page.items.into_iter().flatten().collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Loads an inquiry the caller may see, with the caller's part in it; 404 otherwise.
async fn visible(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<(Inquiry, Party), ApiError> {
    seen_by(caller, state.store.get_inquiry(id).await?, id)
}

/// The inquiry `id`, if there is one and the caller may see it, with the caller's part in
/// it; 404 otherwise (a third state learns nothing of it, not even that it exists).
/// `inquiry` is owned when read alone, shared when read with the caller's token
/// ([`crate::store::decoded`]).
fn seen_by<I: std::borrow::Borrow<Inquiry>>(
    caller: &Caller,
    inquiry: Option<I>,
    id: Uuid,
) -> Result<(I, Party), ApiError> {
    let inquiry = inquiry.ok_or_else(|| not_found(id))?;
    let party = party_of(&caller.principal, inquiry.borrow()).ok_or_else(|| not_found(id))?;
    Ok((inquiry, party))
}

/// The inquiry is read with the caller's token, in one query: the most frequent read.
async fn show(
    seen: CallerAndInquiry,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let (inquiry, party) = seen_by(&seen.caller, seen.inquiry, id)?;
    let zones = state.store.zones().await?;
    Ok(inquiry_response(StatusCode::OK, &inquiry, party, &zones))
}

/// The inquiry's indicators as a STIX 2.1 bundle, marked TLP:AMBER+STRICT
/// ([`crate::stix`]): for the two states' POCs; the Secretariat sees no content.
async fn indicators_stix(
    seen: CallerAndInquiry,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let (inquiry, party) = seen_by(&seen.caller, seen.inquiry, id)?;
    if !matches!(party.role, Role::Requester | Role::Responder) {
        return Err(ApiError::Forbidden(
            "the Secretariat sees an inquiry's metadata, never its indicators".into(),
        ));
    }
    Ok(stix_response(&inquiry))
}

/// The bundle of `inquiry`'s indicators, as a download in STIX's media type.
pub(crate) fn stix_response(inquiry: &Inquiry) -> Response {
    let incident = inquiry.incident.as_ref();
    let source = crate::stix::Source {
        inquiry_id: inquiry.id,
        state_code: inquiry.requesting_state.as_str(),
        state_name: &inquiry.requesting_state_name.en,
        reported_at: inquiry.sent_at.unwrap_or(inquiry.created_at),
        observed_from: incident.and_then(|i| i.observed_from),
    };
    let bundle = crate::stix::bundle(&source, incident.map_or(&[][..], |i| &i.indicators));
    let body = serde_json::to_vec_pretty(&bundle).expect("a bundle serializes");
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, crate::stix::MEDIA_TYPE.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"inquiry-{}-indicators.stix.json\"",
                    inquiry.id
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

#[derive(Debug, Serialize)]
struct EventView {
    seq: i64,
    #[serde(rename = "type")]
    event_type: String,
    actor: ActorView,
    at: DateTime<Utc>,
    /// Participants only: with every other input of the hash known, the Secretariat could
    /// recover low-entropy content by guessing (`/v1/audit/verify` answers for integrity).
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Value>,
}

#[derive(Debug, Serialize)]
struct ActorView {
    /// requester, responder, secretariat or engine.
    role: String,
    poc_id: Option<Uuid>,
    member_state: Option<String>,
}

/// Where a page of events starts: just after this `seq`.
#[derive(Debug, Serialize, Deserialize)]
struct EventCursor {
    seq: i64,
}

/// Any sequence number compares.
impl CursorKey for EventCursor {
    fn is_plausible(&self) -> bool {
        true
    }
}

/// The audit trail, oldest first, a page at a time. The Secretariat sees no payloads and
/// no hashes; the responding state's trail starts at the sending (`request_info`).
async fn events(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<EventView>>, ApiError> {
    let limit = page_limit(query.limit)?;
    let after: Option<EventCursor> = decode_cursor(query.cursor.as_deref())?;
    let (_, party) = visible(&state, &caller, id).await?;
    let role = party.role;
    let participant = party.is_participant();
    let rows = state
        .store
        .inquiry_events_page(id, role, after.map(|c| c.seq), limit + 1)
        .await?;
    let page = into_page(
        rows,
        limit,
        |event| EventCursor { seq: event.seq },
        |event| EventView {
            seq: event.seq,
            event_type: event.event_type,
            actor: ActorView {
                role: event.actor_kind,
                poc_id: event.actor_poc_id,
                member_state: event.actor_state,
            },
            at: event.at,
            hash: participant.then_some(event.hash),
            payload: participant
                .then(|| serde_json::from_str(&event.payload).unwrap_or(Value::Null)),
        },
    );
    Ok(Json(page))
}

/// `If-Match: "<version>"` (a weak tag and `*` are accepted; `*` matches any version).
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad =
        || ApiError::invalid_parameter("If-Match", "must be an ETag of this API, such as \"3\"");
    let text = value.to_str().map_err(|_| bad())?.trim();
    if text == "*" {
        return Ok(None);
    }
    let tag = text.strip_prefix("W/").unwrap_or(text);
    let digits = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(bad)?;
    // A tag of digits is well formed even when it is too large for any version: it
    // matches none (412), as the contract's pattern says.
    Ok(Some(digits.parse::<i64>().unwrap_or(i64::MAX)))
}

/// `Idempotency-Key`: 1 to 200 visible ASCII characters.
fn idempotency_key(
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200 && k.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::invalid_parameter(
                "Idempotency-Key",
                "must be 1 to 200 visible ASCII characters",
            )
        })?;
    Ok(Some(IdempotencyKey::new(
        key.to_owned(),
        "POST",
        path,
        body,
    )))
}

/// Runs one action through the store and answers as api.md says. `body` is what an
/// `Idempotency-Key` is bound to.
pub(super) async fn run(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
    action: ActionRequest,
) -> Result<Response, ApiError> {
    let now = clock::now();
    let zones = state.store.zones().await?;
    let command = Command {
        inquiry_id: id,
        by: IssuedBy::Caller(caller),
        action,
        if_match: if_match(headers)?,
        idempotency: idempotency_key(headers, path, body)?,
        now,
    };
    let render_zones = zones.clone();
    let render = move |inquiry: &Inquiry, party: Party| {
        serde_json::to_string(&InquiryView::new(inquiry, party, now, &render_zones))
            .expect("views serialize")
    };
    match state.store.execute(command, render).await? {
        Executed::Applied(inquiry, party, kept) => {
            tracing::info!(inquiry_id = %inquiry.id, version = inquiry.version, status = inquiry.status.as_str(), "action recorded");
            Ok(match kept {
                // Rendered once, as kept under the key: the same body a retry gets back.
                Some(body) => json_response(StatusCode::OK, body, inquiry.version),
                None => inquiry_response(StatusCode::OK, &inquiry, party, &zones),
            })
        }
        Executed::Replayed { body } => {
            let version = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v["version"].as_i64())
                .unwrap_or_default();
            // Only applied actions are remembered, and an applied action answers 200.
            let mut response = json_response(StatusCode::OK, body, version);
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
    }
}

/// An action's API body, turned into the store's request once parsed.
trait IntoAction: serde::de::DeserializeOwned {
    fn into_action(self) -> Result<ActionRequest, ApiError>;
}

/// Implements [`IntoAction`] for `$body` with `$build`, and defines the handler `$name`
/// that parses `$body` and runs the action.
macro_rules! action_handler {
    ($name:ident, $path:literal, $body:ty, |$parsed:ident| $build:expr) => {
        impl IntoAction for $body {
            fn into_action(self) -> Result<ActionRequest, ApiError> {
                let $parsed = self;
                Ok($build)
            }
        }
        action_handler!($name, $path, $body);
    };
    ($name:ident, $path:literal, $body:ty) => {
        async fn $name(
            caller: Caller,
            State(state): State<AppState>,
            ApiPath(id): ApiPath<Uuid>,
            headers: HeaderMap,
            JsonWithBytes(parsed, bytes): JsonWithBytes<$body>,
        ) -> Result<Response, ApiError> {
            let path = format!("/v1/inquiries/{id}/{}", $path);
            let action = parsed.into_action()?;
            run(&state, &caller, id, &headers, &path, &bytes, action).await
        }
    };
}

/// The request for `action` from its JSON `body`, parsed and checked exactly as the API's
/// own endpoint parses it (a bad field is named the same way): the web UI's forms come
/// through here. `None` for an action nobody takes through the API.
pub(crate) fn action_request(
    action: ActionName,
    body: &Value,
) -> Option<Result<ActionRequest, ApiError>> {
    fn parse<T: IntoAction>(body: &Value) -> Result<ActionRequest, ApiError> {
        let bytes = serde_json::to_vec(body).expect("a JSON value serializes");
        super::extract::parse_json::<T>(&bytes)?.into_action()
    }
    Some(match action {
        ActionName::LookupPoc => parse::<LookupPocBody>(body),
        ActionName::Invoke => parse::<InvokeBody>(body),
        ActionName::Describe => parse::<DescribeBody>(body),
        ActionName::RequestInfo => parse::<RequestInfoBody>(body),
        ActionName::Acknowledge => parse::<AcknowledgeBody>(body),
        ActionName::Update => parse::<UpdateBody>(body),
        ActionName::Respond => parse::<RespondBody>(body),
        ActionName::FollowUp => parse::<FollowUpBody>(body),
        ActionName::Close => parse::<CloseBody>(body),
        ActionName::Withdraw => parse::<WithdrawBody>(body),
        ActionName::Remind => parse::<RemindBody>(body),
        ActionName::Message => parse::<MessageBody>(body),
        ActionName::LogContact => parse::<LogContactBody>(body),
        ActionName::Share => parse::<ShareBody>(body),
        ActionName::Unshare => parse::<UnshareBody>(body),
        // Deadlines are the engine's; a file comes as multipart (`POST …/attachments`).
        ActionName::DeadlineReminder | ActionName::DeadlineMissed | ActionName::Attach => {
            return None;
        }
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupPocBody {
    member_state: MemberStateCode,
}
action_handler!(lookup_poc, "lookup-poc", LookupPocBody, |body| {
    ActionRequest::LookupPoc(body.member_state)
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvokeBody {
    /// One language.
    #[serde(default)]
    language: Option<Language>,
    /// Several, rendered one after the other (protocol 1.1).
    #[serde(default)]
    languages: Option<Vec<Language>>,
}

impl IntoAction for InvokeBody {
    fn into_action(self) -> Result<ActionRequest, ApiError> {
        let languages = match (self.language, self.languages) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid_field(
                    "languages",
                    "give language or languages, not both",
                ));
            }
            (Some(language), None) => vec![language],
            (None, Some(languages)) if languages.is_empty() || languages.len() > 4 => {
                return Err(ApiError::invalid_field(
                    "languages",
                    "must list one to four of en, es, fr, pt",
                ));
            }
            (None, Some(languages)) => languages,
            // The responding POCs' first language (the protocol decides).
            (None, None) => Vec::new(),
        };
        Ok(ActionRequest::Ready(Action::Invoke { languages }))
    }
}
action_handler!(invoke, "invoke", InvokeBody);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DescribeBody {
    nature: Nature,
    category: ShortText,
    sectors: Vec<ShortText>,
    #[serde(default)]
    observed_from: Option<DateTime<Utc>>,
    #[serde(default)]
    observed_to: Option<DateTime<Utc>>,
    #[serde(default)]
    indicators: Vec<Indicator>,
    /// More indicators, as a STIX 2.1 bundle (`crate::stix`): added after `indicators`.
    #[serde(default)]
    indicators_stix: Option<Value>,
}

impl IntoAction for DescribeBody {
    fn into_action(self) -> Result<ActionRequest, ApiError> {
        let mut indicators = self.indicators;
        if let Some(bundle) = &self.indicators_stix {
            let found = crate::stix::indicators_of(bundle).map_err(|problem| {
                ApiError::invalid_field(format!("indicators_stix.{}", problem.path), problem.detail)
            })?;
            for (path, raw) in found {
                let indicator = serde_json::from_value::<Indicator>(raw).map_err(|error| {
                    ApiError::invalid_field(format!("indicators_stix.{path}"), error)
                })?;
                indicators.push(indicator);
            }
        }
        Ok(ActionRequest::Ready(Action::Describe {
            nature: self.nature,
            category: self.category,
            sectors: self.sectors,
            observed_from: self.observed_from,
            observed_to: self.observed_to,
            indicators,
        }))
    }
}
action_handler!(describe, "describe", DescribeBody);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestInfoBody {
    questions: LongText,
    contact: ContactDetails,
    time_sensitivity: TimeSensitivity,
    #[serde(default)]
    respond_by: Option<DateTime<Utc>>,
}
action_handler!(request_info, "request-info", RequestInfoBody, |body| {
    ActionRequest::Ready(Action::RequestInfo {
        questions: body.questions,
        contact: body.contact,
        time_sensitivity: body.time_sensitivity,
        respond_by: body.respond_by,
    })
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcknowledgeBody {
    #[serde(default)]
    estimated_timeframe: Option<IsoDuration>,
    #[serde(default, deserialize_with = "whole_number")]
    estimated_working_days: Option<u32>,
    #[serde(default)]
    respond_by: Option<DateTime<Utc>>,
    #[serde(default)]
    message: Option<LongText>,
    #[serde(default)]
    contact_requested: bool,
}
action_handler!(acknowledge, "acknowledge", AcknowledgeBody, |body| {
    ActionRequest::Ready(Action::Acknowledge {
        estimated_timeframe: body.estimated_timeframe,
        estimated_working_days: body.estimated_working_days.map(|days| WorkingDays {
            days,
            calendar: None,
        }),
        respond_by: body.respond_by,
        message: body.message,
        contact_requested: body.contact_requested,
    })
});

/// A whole number, as JSON may write one (`3` or `3.0`: JSON Schema's integers both);
/// `null` is none.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let Some(number) = Option::<f64>::deserialize(d)? else {
        return Ok(None);
    };
    if number.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&number) {
        return Err(serde::de::Error::custom(format!(
            "must be a whole number of days, got {number}"
        )));
    }
    Ok(Some(number as u32))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    message: LongText,
    #[serde(default)]
    estimated_timeframe: Option<IsoDuration>,
    #[serde(default)]
    respond_by: Option<DateTime<Utc>>,
    #[serde(default)]
    reason: Option<Reason>,
}
action_handler!(update, "update", UpdateBody, |body| ActionRequest::Ready(
    Action::Update {
        message: body.message,
        estimated_timeframe: body.estimated_timeframe,
        respond_by: body.respond_by,
        reason: body.reason,
    }
));

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RespondBody {
    information: LongText,
    #[serde(default)]
    third_states: Vec<MemberStateCode>,
}
action_handler!(
    respond,
    "respond",
    RespondBody,
    |body| ActionRequest::Ready(Action::Respond {
        information: body.information,
        third_states: body.third_states,
    })
);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FollowUpBody {
    questions: LongText,
    #[serde(default)]
    time_sensitivity: Option<TimeSensitivity>,
    #[serde(default)]
    respond_by: Option<DateTime<Utc>>,
}
action_handler!(follow_up, "follow-up", FollowUpBody, |body| {
    ActionRequest::Ready(Action::FollowUp {
        questions: body.questions,
        time_sensitivity: body.time_sensitivity,
        respond_by: body.respond_by,
    })
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    #[serde(default)]
    resolution: Option<LongText>,
}
action_handler!(close, "close", CloseBody, |body| ActionRequest::Ready(
    Action::Close {
        resolution: body.resolution
    }
));

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawBody {
    reason: Reason,
}
action_handler!(withdraw, "withdraw", WithdrawBody, |body| {
    ActionRequest::Ready(Action::Withdraw {
        reason: body.reason,
    })
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemindBody {}
action_handler!(remind, "remind", RemindBody, |_body| ActionRequest::Ready(
    Action::Remind
));

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    text: LongText,
    #[serde(default)]
    contact: Option<ContactDetails>,
}
action_handler!(message, "message", MessageBody, |body| {
    ActionRequest::Ready(Action::Message {
        text: body.text,
        contact: body.contact,
    })
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogContactBody {
    channel: ContactChannel,
    at: DateTime<Utc>,
    summary: LongText,
}
action_handler!(log_contact, "log-contact", LogContactBody, |body| {
    ActionRequest::Ready(Action::LogContact {
        channel: body.channel,
        at: body.at,
        summary: body.summary,
    })
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    poc_id: Uuid,
}
action_handler!(share, "share", ShareBody, |body| ActionRequest::Share(
    body.poc_id
));
/// The same body as `share`, its own type so each action has one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnshareBody {
    poc_id: Uuid,
}
action_handler!(unshare, "unshare", UnshareBody, |body| {
    ActionRequest::Ready(Action::Unshare {
        poc_id: body.poc_id,
    })
});

/// `?expect_head=SEQ:HASH`: a head the caller kept, which the chain must still pass through.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyQuery {
    expect_head: Option<String>,
}

/// The audit: `{"valid": true, "events": N, "inquiries": M, "head": {…}}`, or the first
/// thing found wrong.
async fn verify(
    _secretariat: Secretariat,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<VerifyQuery>,
) -> Result<Json<Value>, ApiError> {
    let expect_head = query
        .expect_head
        .map(|text| text.parse::<ChainHead>())
        .transpose()
        .map_err(|error| ApiError::invalid_parameter("expect_head", error))?;
    Ok(Json(
        match state.store.verify_chain(expect_head.as_ref()).await? {
            ChainReport::Valid {
                events,
                inquiries,
                head,
            } => serde_json::json!({
                "valid": true, "events": events, "inquiries": inquiries, "head": head,
            }),
            ChainReport::Broken(found) => serde_json::json!({
                "valid": false, "inquiry_id": found.inquiry_id, "seq": found.seq,
                "column": found.column, "reason": found.reason,
            }),
        },
    ))
}
