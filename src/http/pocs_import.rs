//! `POST /v1/pocs/import`: the directory in bulk, from a CSV or JSON file.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use serde::Deserialize;

use super::extract::{ApiQuery, Secretariat};
use super::problem::ApiError;
use super::{AppState, Routes};
use crate::clock;
use crate::directory_file;
use crate::store::directory::Actor;
use crate::store::directory_import::ImportReport;

pub(super) fn routes(routes: Routes) -> Routes {
    // The body is read by the handler, up to the server's `--import-body-limit`.
    routes.post_with_body_limit("/pocs/import", import, usize::MAX)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    /// Write the changes; without it the import is a dry run.
    #[serde(default)]
    apply: bool,
}

/// The layouts an import body may have.
pub(crate) enum Layout {
    Csv,
    Json,
}

/// The body's layout by its `Content-Type`: `text/csv` (UTF-8), or JSON (also when the
/// header is absent, as everywhere in the API).
pub(super) fn layout(headers: &HeaderMap) -> Result<Layout, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(Layout::Json);
    };
    let mime: mime::Mime = value
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or(ApiError::UnsupportedImportType)?;
    let utf8 = mime
        .get_param(mime::CHARSET)
        .is_none_or(|charset| charset == mime::UTF_8);
    match (mime.type_(), mime.subtype(), mime.suffix()) {
        (mime::TEXT, mime::CSV, _) if utf8 => Ok(Layout::Csv),
        (mime::APPLICATION, mime::JSON, _) | (mime::APPLICATION, _, Some(mime::JSON)) => {
            Ok(Layout::Json)
        }
        _ => Err(ApiError::UnsupportedImportType),
    }
}

/// The body of a file upload, up to `limit` bytes (`--import-body-limit`): 413 past it.
pub(super) async fn read_body(request: Request, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|error| {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if too_large {
                ApiError::PayloadTooLarge { limit }
            } else {
                ApiError::MalformedBody(format!("the body could not be read: {error}"))
            }
        })
}

/// Reports what the file would add, change and deactivate; with `?apply=true`, does it.
async fn import(
    Secretariat(caller): Secretariat,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    request: Request,
) -> Result<Json<ImportReport>, ApiError> {
    let layout = layout(request.headers())?;
    let body = read_body(request, state.import_body_limit).await?;
    let rows = match layout {
        Layout::Csv => directory_file::read_csv(&body).map_err(ApiError::InvalidRows)?,
        Layout::Json => {
            // An empty body reads as `{}`, as everywhere in the API: "pocs is required".
            let json: &[u8] = if body.is_empty() { b"{}" } else { &body };
            directory_file::read_json(json)?
        }
    };
    let report = state
        .store
        .import_pocs(Actor::Caller(&caller), &rows, query.apply, clock::now())
        .await?;
    Ok(Json(report))
}
