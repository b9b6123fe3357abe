//! The UN Global POC Directory: a POC's consent to have its details sent there
//! (`POST`/`DELETE /v1/pocs/{id}/share-with-un`), the Secretariat's export of the consenting
//! POCs (`GET /v1/directory/export`), and the comparison of a file with that export
//! (`POST /v1/directory/compare`), which writes nothing. The layout is
//! [`crate::un_directory`]'s.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::extract::{ApiJson, ApiPath, ApiQuery, Secretariat};
use super::pocs::PocBody;
use super::pocs_import::{Layout, layout, read_body};
use super::problem::ApiError;
use super::{AppState, Routes};
use crate::clock;
use crate::domain::{Caller, PocId, Reason};
use crate::store::StoreError;
use crate::store::directory::{Actor, UnConsent};
use crate::un_directory::{self, UnEntry, UnFile};

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .post("/pocs/{id}/share-with-un", give)
        .delete("/pocs/{id}/share-with-un", withdraw)
        .get("/directory/export", export)
        // The body is read by the handler, up to the server's `--import-body-limit`.
        .post_with_body_limit("/directory/compare", compare, usize::MAX)
}

/// A consent: the POC gives its own with an empty body; the Secretariat notes one given
/// outside cbm2, saying when and how.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GiveConsent {
    #[serde(default)]
    consented_at: Option<DateTime<Utc>>,
    #[serde(default)]
    how: Option<Reason>,
}

/// Only the POC itself or the Secretariat speaks for a POC's consent.
pub(crate) fn may_speak_for(caller: &Caller, id: uuid::Uuid) -> Result<(), ApiError> {
    if caller.is_secretariat() || caller.poc_id() == Some(PocId(id)) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the point of contact itself or the Secretariat records its consent to the UN directory"
                .into(),
        ))
    }
}

/// A consent from a JSON body, read exactly as `POST /v1/pocs/{id}/share-with-un` reads it
/// (the web UI's form builds the same body).
pub(crate) fn un_consent_from(
    caller: &Caller,
    body: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<UnConsent, ApiError> {
    let bytes = serde_json::to_vec(body).expect("a JSON value serializes");
    consent_of(
        caller,
        super::extract::parse_json::<GiveConsent>(&bytes)?,
        now,
    )
}

/// The POC gives its own consent now; the Secretariat notes one given elsewhere, saying
/// when (not in the future) and how.
fn consent_of(
    caller: &Caller,
    GiveConsent { consented_at, how }: GiveConsent,
    now: DateTime<Utc>,
) -> Result<UnConsent, ApiError> {
    if !caller.is_secretariat() {
        if consented_at.is_some() || how.is_some() {
            let field = if consented_at.is_some() {
                "consented_at"
            } else {
                "how"
            };
            return Err(ApiError::Forbidden(format!(
                "{field}: a point of contact gives its consent now, in cbm2; only the Secretariat notes one given elsewhere"
            )));
        }
        return Ok(UnConsent::ByPoc);
    }
    let at = consented_at.ok_or_else(|| {
        ApiError::invalid_field(
            "consented_at",
            "the Secretariat records a consent given outside cbm2: say when it was given",
        )
    })?;
    if at > now {
        return Err(ApiError::invalid_field(
            "consented_at",
            format!("{at} is in the future"),
        ));
    }
    let how = how.ok_or_else(|| {
        ApiError::invalid_field(
            "how",
            "say how the consent was given (a letter, a meeting, an e-mail of a date)",
        )
    })?;
    Ok(UnConsent::NotedBySecretariat {
        at,
        how: how.as_str().to_owned(),
    })
}

async fn give(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(body): ApiJson<GiveConsent>,
) -> Result<Json<PocBody>, ApiError> {
    may_speak_for(&caller, id)?;
    let now = clock::now();
    let consent = consent_of(&caller, body, now)?;
    let record = state
        .store
        .set_un_consent(Actor::Caller(&caller), id, Some(consent), now)
        .await?;
    Ok(Json(PocBody::new(record, now)))
}

async fn withdraw(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<PocBody>, ApiError> {
    may_speak_for(&caller, id)?;
    let now = clock::now();
    let record = state
        .store
        .set_un_consent(Actor::Caller(&caller), id, None, now)
        .await?;
    Ok(Json(PocBody::new(record, now)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    #[serde(default)]
    format: ExportFormat,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ExportFormat {
    #[default]
    Json,
    Csv,
}

/// The active POCs that consent, in the UN layout, as a download.
async fn export(
    Secretariat(_): Secretariat,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    Ok(export_download(&state, query.format).await?)
}

/// The export as a download (`Content-Disposition: attachment`, dated), for the API and the
/// Secretariat's page.
pub(crate) async fn export_download(
    state: &AppState,
    format: ExportFormat,
) -> Result<Response, StoreError> {
    let now = clock::now();
    let entries = exported(state).await?;
    let date = now.format("%Y-%m-%d");
    let (content_type, extension, body) = match format {
        ExportFormat::Json => {
            let file = UnFile {
                generated_at: Some(now),
                pocs: entries,
            };
            let body = serde_json::to_vec_pretty(&file).expect("the export serializes");
            ("application/json", "json", body)
        }
        ExportFormat::Csv => {
            let mut body = Vec::new();
            un_directory::write_csv(&entries, &mut body)
                .expect("a CSV of strings is written to memory without failing");
            ("text/csv; charset=utf-8", "csv", body)
        }
    };
    let disposition = format!("attachment; filename=\"cbm2-un-directory-{date}.{extension}\"");
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Bytes::from(body),
    )
        .into_response())
}

/// What the export lists: one entry a contact (a POC that is both the policy and the
/// foreign-ministry contact of its state, with the same details, is one diplomatic entry).
pub(crate) async fn exported(state: &AppState) -> Result<Vec<UnEntry>, StoreError> {
    let mut entries: Vec<UnEntry> = state
        .store
        .un_directory()
        .await?
        .iter()
        .map(UnEntry::of)
        .collect();
    entries.dedup();
    Ok(entries)
}

/// How a file (CSV or JSON, by its `Content-Type`, in the export's layout) differs from
/// the export: missing, changed, extra. Writes nothing.
async fn compare(
    Secretariat(_): Secretariat,
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<un_directory::Comparison>, ApiError> {
    let layout = layout(request.headers())?;
    let body = read_body(request, state.import_body_limit).await?;
    let theirs = read_file(&layout, &body)?;
    let ours = exported(&state).await?;
    Ok(Json(un_directory::compare(&ours, &theirs)))
}

/// A file in the export's layout, as CSV or JSON; every problem in it otherwise.
pub(crate) fn read_file(layout: &Layout, body: &[u8]) -> Result<Vec<UnEntry>, ApiError> {
    match layout {
        Layout::Csv => un_directory::read_csv(body).map_err(ApiError::InvalidRows),
        Layout::Json => {
            // An empty body reads as `{}`, as everywhere in the API: "pocs is required".
            let json: &[u8] = if body.is_empty() { b"{}" } else { body };
            Ok(un_directory::read_json(json)?)
        }
    }
}
