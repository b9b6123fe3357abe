//! `/v1/pocs`: the directory of points of contact.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, Secretariat};
use super::pagination::{Page, decode_cursor, into_page, page_limit};
use super::problem::ApiError;
use super::{AppState, Routes};
use crate::clock;
use crate::domain::poc::{Languages, STALE_AFTER};
use crate::domain::{
    Affiliation, Caller, EmailAddress, Label, MemberStateCode, PersonName, PhoneNumber, PocId,
    PocRole,
};
use crate::store::directory::{Actor, NewPoc, PocChanges, PocCursor, PocFilter, PocRecord};
use crate::store::tokens::TokenOwner;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .post("/pocs", create)
        .get("/pocs", list)
        .get("/pocs/{id}", show)
        .patch("/pocs/{id}", update)
        .post("/pocs/{id}/deactivate", deactivate)
        .post("/pocs/{id}/confirm", confirm)
        .post("/pocs/{id}/tokens", create_token)
}

/// A POC as the API shows it.
#[derive(Debug, Serialize)]
pub struct PocBody {
    id: Uuid,
    member_state: MemberStateCode,
    name: String,
    affiliation: String,
    role: PocRole,
    email: String,
    phone: Option<String>,
    languages: Vec<String>,
    active: bool,
    last_confirmed_at: DateTime<Utc>,
    /// Not confirmed for 365 days (derived at read time).
    stale: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deactivated_at: Option<DateTime<Utc>>,
    /// Whether the POC consents to the UN Global POC Directory having its details
    /// (`GET /v1/directory/export`).
    share_with_un: bool,
    /// That consent, when there is one.
    un_consent: Option<UnConsentBody>,
    /// Its OpenPGP public key (ASCII-armored), to which e-mails to it are encrypted.
    openpgp_key: Option<String>,
    /// That key's fingerprint, and when it expires; `problem` when it can no longer be
    /// encrypted to (it expired since it was saved): its e-mails then fail, never go in
    /// the clear.
    openpgp: Option<OpenPgpBody>,
}

#[derive(Debug, Serialize)]
struct OpenPgpBody {
    fingerprint: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    problem: Option<String>,
}

/// A consent to the UN Global POC Directory as the API shows it.
#[derive(Debug, Serialize)]
struct UnConsentBody {
    consented_at: DateTime<Utc>,
    /// `poc` (the POC itself) or `secretariat` (noting a consent given outside cbm2).
    recorded_by: String,
    /// How the consent was given, as the Secretariat noted it.
    how: Option<String>,
}

impl PocBody {
    pub(super) fn new(record: PocRecord, now: DateTime<Utc>) -> Self {
        Self {
            stale: now - record.last_confirmed_at >= STALE_AFTER,
            id: record.id,
            member_state: record.member_state,
            name: record.name,
            affiliation: record.affiliation,
            role: record.role,
            email: record.email,
            phone: record.phone,
            languages: record.languages.0,
            active: record.active,
            last_confirmed_at: record.last_confirmed_at,
            created_at: record.created_at,
            updated_at: record.updated_at,
            deactivated_at: record.deactivated_at,
            share_with_un: record.un_consent_at.is_some(),
            un_consent: record.un_consent_at.map(|consented_at| UnConsentBody {
                consented_at,
                recorded_by: record.un_consent_by.unwrap_or_default(),
                how: record.un_consent_how,
            }),
            openpgp: record.openpgp_key.as_deref().map(|armored| {
                match crate::openpgp::RecipientKey::read(armored, now) {
                    Ok(key) => OpenPgpBody {
                        fingerprint: Some(key.fingerprint),
                        expires_at: key.expires_at,
                        problem: None,
                    },
                    Err(problem) => OpenPgpBody {
                        fingerprint: None,
                        expires_at: None,
                        problem: Some(format!("the key {problem}")),
                    },
                }
            }),
            openpgp_key: record.openpgp_key,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreatePoc {
    member_state: MemberStateCode,
    name: PersonName,
    affiliation: Affiliation,
    role: PocRole,
    email: EmailAddress,
    #[serde(default)]
    phone: Option<PhoneNumber>,
    #[serde(default)]
    languages: Languages,
}

impl From<CreatePoc> for NewPoc {
    fn from(body: CreatePoc) -> Self {
        NewPoc {
            member_state: body.member_state,
            name: body.name,
            affiliation: body.affiliation,
            role: body.role,
            email: body.email,
            phone: body.phone,
            languages: body.languages,
        }
    }
}

/// A new POC from a JSON body, read exactly as `POST /v1/pocs` reads it (the web UI's
/// form builds the same body, so both refuse the same input, naming the same field).
pub(crate) fn new_poc_from(body: &Value) -> Result<NewPoc, ApiError> {
    let bytes = serde_json::to_vec(body).expect("a JSON value serializes");
    super::extract::parse_json::<CreatePoc>(&bytes).map(NewPoc::from)
}

async fn create(
    Secretariat(caller): Secretariat,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreatePoc>,
) -> Result<Response, ApiError> {
    let poc = NewPoc::from(body);
    let now = clock::now();
    let record = state
        .store
        .create_poc(Actor::Caller(&caller), &poc, now)
        .await?;
    let location = format!("/v1/pocs/{}", record.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(PocBody::new(record, now)),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    member_state: Option<MemberStateCode>,
    role: Option<PocRole>,
    active: Option<bool>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list(
    _caller: Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<PocBody>>, ApiError> {
    let limit = page_limit(query.limit)?;
    let after: Option<PocCursor> = decode_cursor(query.cursor.as_deref())?;
    let filter = PocFilter {
        member_state: query.member_state,
        role: query.role,
        active: query.active,
    };
    let rows = state
        .store
        .list_pocs(&filter, after.as_ref(), limit + 1)
        .await?;
    let now = clock::now();
    Ok(Json(into_page(rows, limit, PocRecord::cursor, |r| {
        PocBody::new(r, now)
    })))
}

async fn show(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<PocBody>, ApiError> {
    let record = state
        .store
        .get_poc(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no point of contact has id {id}")))?;
    Ok(Json(PocBody::new(record, clock::now())))
}

/// Any subset of the fields of [`CreatePoc`]. `null` clears `phone`; it is refused for the
/// others, which are required.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchPoc {
    #[serde(default, deserialize_with = "present")]
    member_state: Option<MemberStateCode>,
    #[serde(default, deserialize_with = "present")]
    name: Option<PersonName>,
    #[serde(default, deserialize_with = "present")]
    affiliation: Option<Affiliation>,
    #[serde(default, deserialize_with = "present")]
    role: Option<PocRole>,
    #[serde(default, deserialize_with = "present")]
    email: Option<EmailAddress>,
    #[serde(default, deserialize_with = "present")]
    phone: Option<Option<PhoneNumber>>,
    #[serde(default, deserialize_with = "present")]
    languages: Option<Languages>,
    /// `null` removes the key.
    #[serde(default, deserialize_with = "present")]
    openpgp_key: Option<Option<crate::openpgp::ArmoredKey>>,
}

/// A field that is present: `Some` of its value (for `Option<T>` fields, `null` is
/// `Some(None)`); an absent field falls back to `None` through `#[serde(default)]`.
pub(super) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The changes `caller` asks of POC `id` in a JSON body, read and allowed exactly as
/// `PATCH /v1/pocs/{id}` reads and allows them.
pub(crate) fn poc_changes_from(
    caller: &Caller,
    id: Uuid,
    body: &Value,
) -> Result<PocChanges, ApiError> {
    let bytes = serde_json::to_vec(body).expect("a JSON value serializes");
    let patch = super::extract::parse_json::<PatchPoc>(&bytes)?;
    allowed_changes(caller, id, patch)
}

/// Who may change what: the Secretariat anything; a POC its own record, but not its state
/// or role.
fn allowed_changes(caller: &Caller, id: Uuid, patch: PatchPoc) -> Result<PocChanges, ApiError> {
    if !caller.is_secretariat() {
        if caller.poc_id() != Some(PocId(id)) {
            return Err(ApiError::Forbidden(
                "a point of contact may change only its own record".into(),
            ));
        }
        for (field, set) in [
            ("member_state", patch.member_state.is_some()),
            ("role", patch.role.is_some()),
        ] {
            if set {
                return Err(ApiError::Forbidden(format!(
                    "{field}: only the Secretariat changes a point of contact's {field}"
                )));
            }
        }
    }
    Ok(PocChanges {
        member_state: patch.member_state,
        name: patch.name,
        affiliation: patch.affiliation,
        role: patch.role,
        email: patch.email,
        phone: patch.phone,
        languages: patch.languages,
        openpgp_key: patch.openpgp_key,
    })
}

async fn update(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<PatchPoc>,
) -> Result<Json<PocBody>, ApiError> {
    let changes = allowed_changes(&caller, id, patch)?;
    let now = clock::now();
    let record = state
        .store
        .update_poc(Actor::Caller(&caller), id, &changes, now)
        .await?;
    Ok(Json(PocBody::new(record, now)))
}

async fn deactivate(
    Secretariat(caller): Secretariat,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<PocBody>, ApiError> {
    let now = clock::now();
    let record = state
        .store
        .deactivate_poc(Actor::Caller(&caller), id, now)
        .await?;
    Ok(Json(PocBody::new(record, now)))
}

async fn confirm(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<PocBody>, ApiError> {
    may_confirm(&caller, id)?;
    let now = clock::now();
    let record = state
        .store
        .confirm_poc(Actor::Caller(&caller), id, now)
        .await?;
    Ok(Json(PocBody::new(record, now)))
}

/// Only the POC itself or the Secretariat confirms a POC's details.
pub(crate) fn may_confirm(caller: &Caller, id: Uuid) -> Result<(), ApiError> {
    if caller.is_secretariat() || caller.poc_id() == Some(PocId(id)) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the point of contact itself or the Secretariat confirms its details".into(),
        ))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateToken {
    #[serde(default)]
    label: Option<Label>,
}

/// A token just issued: the secret appears here and nowhere else, ever.
#[derive(Debug, Serialize)]
pub struct IssuedTokenBody {
    pub id: Uuid,
    pub token: String,
    pub poc_id: Option<Uuid>,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
}

async fn create_token(
    Secretariat(caller): Secretariat,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<Response, ApiError> {
    let issued = state
        .store
        .create_token(
            Actor::Caller(&caller),
            TokenOwner::Poc(PocId(id)),
            body.label.as_ref(),
            clock::now(),
        )
        .await?;
    let location = format!("/v1/tokens/{}", issued.record.id);
    let body = IssuedTokenBody {
        id: issued.record.id,
        token: issued.secret,
        poc_id: issued.record.poc_id,
        label: issued.record.label,
        created_at: issued.record.created_at,
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}
