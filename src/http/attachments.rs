//! Evidence: `POST /v1/inquiries/{id}/attachments` (a file, multipart, by either party once
//! the inquiry is sent) and `GET /v1/inquiries/{id}/attachments/{attachment_id}` (its
//! bytes, to the two states only). The file's SHA-256, size, name and type go into an
//! `attachment_added` event; its bytes into the database, or into the attachments
//! directory when the server has one, in a file named by the attachment's id.

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::extract::State;
use axum::extract::multipart::{Field, Multipart, MultipartRejection};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::extract::ApiPath;
use super::inquiries::run;
use super::problem::ApiError;
use super::{AppState, Routes};
use crate::domain::{Caller, Principal};
use crate::protocol::inquiry::AttachmentMeta;
use crate::store::StoreError;
use crate::store::inquiries::{ActionRequest, party_of};

/// The largest file taken by default: 10 MiB.
pub const DEFAULT_LIMIT: usize = 10 * 1024 * 1024;
/// The bounds of `--attachment-limit`.
pub const LIMIT_RANGE: std::ops::RangeInclusive<usize> = 1024..=(256 * 1024 * 1024);
/// The content types taken by default: documents, images, captures, archives and e-mails a
/// CSIRT hands over as evidence; nothing a browser would run.
pub const DEFAULT_TYPES: [&str; 11] = [
    "application/gzip",
    "application/json",
    "application/pdf",
    "application/vnd.tcpdump.pcap",
    "application/zip",
    "image/jpeg",
    "image/png",
    "message/rfc822",
    "text/csv",
    "text/plain",
    "application/stix+json",
];
/// The longest file name kept, in bytes.
const NAME_LIMIT: usize = 255;

/// What the server takes as evidence and where it keeps it.
#[derive(Debug, Clone)]
pub struct AttachmentSettings {
    /// The largest file, in bytes (413 past it).
    pub limit: usize,
    /// The content types taken (`type/subtype`, lowercase); any other is refused.
    pub types: Vec<String>,
    /// Where the bytes go instead of the database, each in a file named by the
    /// attachment's id; `None`: the database.
    pub dir: Option<PathBuf>,
}

impl Default for AttachmentSettings {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            types: DEFAULT_TYPES.iter().map(|t| (*t).to_owned()).collect(),
            dir: None,
        }
    }
}

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        // The limit is the server's setting, enforced while the file is read.
        .post_with_body_limit("/inquiries/{id}/attachments", upload, usize::MAX)
        .get("/inquiries/{id}/attachments/{attachment_id}", download)
}

/// A file read from a multipart form: its part named `file`, and the form's other fields.
pub(crate) struct Upload {
    pub file: Option<(AttachmentMeta, Vec<u8>)>,
    pub fields: Vec<(String, String)>,
}

/// Reads a multipart form: the part named `file` (its name, type and bytes checked, at
/// most `settings.limit` bytes read) and the other parts as text fields.
pub(crate) async fn read_upload(
    settings: &AttachmentSettings,
    mut multipart: Multipart,
) -> Result<Upload, ApiError> {
    let malformed = |error: axum::extract::multipart::MultipartError| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: settings.limit,
            }
        } else {
            ApiError::MalformedBody(format!("the multipart body could not be read: {error}"))
        }
    };
    let mut upload = Upload {
        file: None,
        fields: Vec::new(),
    };
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name != "file" {
            let text = field.text().await.map_err(malformed)?;
            if text.len() > 1024 || upload.fields.len() >= 16 {
                return Err(ApiError::invalid_field(name, "not a field of this form"));
            }
            upload.fields.push((name, text));
            continue;
        }
        if upload.file.is_some() {
            return Err(ApiError::invalid_field("file", "one file a request"));
        }
        upload.file = Some(read_file(settings, field, &malformed).await?);
    }
    Ok(upload)
}

async fn read_file(
    settings: &AttachmentSettings,
    mut field: Field<'_>,
    malformed: &impl Fn(axum::extract::multipart::MultipartError) -> ApiError,
) -> Result<(AttachmentMeta, Vec<u8>), ApiError> {
    let name = file_name(field.file_name())?;
    let content_type = content_type(settings, field.content_type())?;
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
        if bytes.len() + chunk.len() > settings.limit {
            return Err(ApiError::PayloadTooLarge {
                limit: settings.limit,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        return Err(ApiError::invalid_field("file", "the file is empty"));
    }
    let meta = AttachmentMeta {
        id: Uuid::new_v4(),
        sha256: hex::encode(Sha256::digest(&bytes)),
        size: bytes.len() as u64,
        name,
        content_type,
    };
    Ok((meta, bytes))
}

/// The file's name as the sender's system gave it, without its folders: 1 to 255 bytes,
/// no control or invisible formatting character (a right-to-left override could make
/// `report\u{202E}fdp.exe` read as `report.exe.pdf`).
fn file_name(given: Option<&str>) -> Result<String, ApiError> {
    let given = given.unwrap_or_default();
    let name = given.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let refuse = |why: &str| ApiError::invalid_field("file.name", why);
    if name.is_empty() || name == "." || name == ".." {
        return Err(refuse(
            "the file has no name (give one in the part's Content-Disposition filename)",
        ));
    }
    if name.len() > NAME_LIMIT {
        return Err(refuse(&format!("longer than {NAME_LIMIT} bytes")));
    }
    if let Some(c) = name.chars().find(|c| {
        use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
        matches!(
            c.general_category(),
            GeneralCategory::Control | GeneralCategory::Format
        )
    }) {
        return Err(refuse(&format!(
            "holds the control or formatting character U+{:04X}",
            u32::from(c)
        )));
    }
    Ok(name.to_owned())
}

/// The part's declared type, without parameters, if the server takes it.
fn content_type(settings: &AttachmentSettings, given: Option<&str>) -> Result<String, ApiError> {
    let taken = || settings.types.join(", ");
    let essence = given
        .and_then(|text| text.parse::<mime::Mime>().ok())
        .map(|mime| mime.essence_str().to_ascii_lowercase())
        .ok_or_else(|| {
            ApiError::invalid_field(
                "file.content_type",
                format!("the file has no content type; give one of {}", taken()),
            )
        })?;
    if !settings.types.contains(&essence) {
        return Err(ApiError::invalid_field(
            "file.content_type",
            format!("{essence} is not taken; the server takes {}", taken()),
        ));
    }
    Ok(essence)
}

/// Attaches `upload`'s file to inquiry `id` as `caller`: its bytes written first to the
/// attachments directory when there is one (removed again if the inquiry refuses it),
/// then the event and, without a directory, the bytes, in one transaction.
pub(crate) async fn attach(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    headers: &HeaderMap,
    meta: AttachmentMeta,
    bytes: Vec<u8>,
) -> Result<Response, ApiError> {
    let path = format!("/v1/inquiries/{id}/attachments");
    // A retry with the same Idempotency-Key is the same file under the same name and type.
    let digest = format!("{}\n{}\n{}", meta.sha256, meta.name, meta.content_type);
    let kept = match &state.attachments.dir {
        Some(dir) => Some(keep_in(dir, meta.id, &bytes).map_err(|error| {
            tracing::error!(%error, dir = %dir.display(), "cannot write to the attachments directory");
            ApiError::Internal(StoreError::CorruptRow(format!(
                "the attachments directory {}: {error}",
                dir.display()
            )))
        })?),
        None => None,
    };
    let content = kept.is_none().then_some(bytes);
    let request = ActionRequest::Attach { meta, content };
    let answer = run(
        state,
        caller,
        id,
        headers,
        &path,
        digest.as_bytes(),
        request,
    )
    .await;
    let replayed = answer
        .as_ref()
        .is_ok_and(|response| response.headers().contains_key("idempotent-replayed"));
    if let Some(file) = kept
        && (answer.is_err() || replayed)
    {
        // Refused, or recorded before under another id: this copy is nobody's.
        let _ = std::fs::remove_file(file);
    }
    answer
}

/// Writes `bytes` to `dir/<id>`, durably: a temporary file synced, renamed into place, the
/// directory synced.
fn keep_in(dir: &Path, id: Uuid, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let target = dir.join(id.to_string());
    let partial = dir.join(format!(".{id}.partial"));
    let mut file = std::fs::File::create(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&partial, &target)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(target)
}

async fn upload(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    // Who may attach is known before a byte of the file is read: a third state (404) or
    // the Secretariat (403) never has the server read its upload.
    let not_found = || ApiError::NotFound(format!("no inquiry with id {id}"));
    let inquiry = state.store.get_inquiry(id).await?.ok_or_else(not_found)?;
    let party = party_of(&caller.principal, &inquiry).ok_or_else(not_found)?;
    if !party.is_participant() {
        return Err(ApiError::Forbidden(
            "the Secretariat attaches no evidence: the two states do".into(),
        ));
    }
    let multipart = multipart.map_err(|rejection| {
        ApiError::MalformedBody(format!(
            "the body must be multipart/form-data with the file in a part named `file`: {}",
            rejection.body_text()
        ))
    })?;
    let upload = read_upload(&state.attachments, multipart).await?;
    if let Some((name, _)) = upload.fields.first() {
        return Err(ApiError::invalid_field(
            name.clone(),
            "not a field of this form: it takes one part, `file`",
        ));
    }
    let (meta, bytes) = upload
        .file
        .ok_or_else(|| ApiError::invalid_field("file", "is required: the part named `file`"))?;
    attach(&state, &caller, id, &headers, meta, bytes).await
}

async fn download(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath((id, attachment_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    attachment_download(&state, &caller.principal, id, attachment_id).await
}

/// The bytes of attachment `attachment_id` of inquiry `id`, as a download (never shown in
/// the browser): to the two states' POCs who see the inquiry; the Secretariat 403 (it sees
/// that a file exists, never its name or bytes); anyone else 404. The bytes are checked
/// against their recorded SHA-256 before they are sent.
pub(crate) async fn attachment_download(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    attachment_id: Uuid,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound(format!("no attachment {attachment_id} on inquiry {id}"));
    let inquiry = state.store.get_inquiry(id).await?.ok_or_else(not_found)?;
    let party = party_of(principal, &inquiry).ok_or_else(not_found)?;
    if !party.is_participant() {
        return Err(ApiError::Forbidden(
            "the Secretariat sees that a file is attached, never its name or its bytes".into(),
        ));
    }
    let attachment = inquiry
        .attachments
        .iter()
        .find(|a| a.id == attachment_id)
        .ok_or_else(not_found)?;
    let (sha256, content) = state
        .store
        .attachment_content(id, attachment_id)
        .await?
        .ok_or_else(|| {
            ApiError::Internal(StoreError::CorruptRow(format!(
                "attachment {attachment_id} has an event but no row in inquiry_attachments"
            )))
        })?;
    let bytes = match content {
        Some(bytes) => bytes,
        None => read_kept(state, attachment_id)?,
    };
    if hex::encode(Sha256::digest(&bytes)) != sha256 || sha256 != attachment.sha256 {
        tracing::error!(%id, %attachment_id, "an attachment's bytes no longer match their recorded SHA-256");
        return Err(ApiError::Internal(StoreError::CorruptRow(format!(
            "attachment {attachment_id}: the kept bytes do not match their recorded SHA-256"
        ))));
    }
    let disposition = content_disposition(&attachment.name);
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&attachment.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Opened anyway (a proxy dropping the disposition): no script, no form, no plugin.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(response)
}

/// The bytes kept in the attachments directory.
fn read_kept(state: &AppState, attachment_id: Uuid) -> Result<Vec<u8>, ApiError> {
    let dir = state.attachments.dir.as_ref().ok_or_else(|| {
        ApiError::Internal(StoreError::CorruptRow(format!(
            "attachment {attachment_id} is kept in an attachments directory and this server \
             has none (--attachments-dir)"
        )))
    })?;
    std::fs::read(dir.join(attachment_id.to_string())).map_err(|error| {
        ApiError::Internal(StoreError::CorruptRow(format!(
            "attachment {attachment_id} in {}: {error}",
            dir.display()
        )))
    })
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII stand-in for old
/// clients, the exact name for the others.
fn content_disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_loses_its_folders_and_refuses_invisible_characters() {
        assert_eq!(file_name(Some("C:\\logs\\fw.log")).unwrap(), "fw.log");
        assert_eq!(
            file_name(Some("/tmp/capture 1.pcap")).unwrap(),
            "capture 1.pcap"
        );
        assert!(file_name(Some("report\u{202E}fdp.exe")).is_err());
        assert!(file_name(Some("a\u{0}b")).is_err());
        assert!(file_name(Some("zero\u{200B}width")).is_err());
        assert!(file_name(Some("   ")).is_err());
        assert!(file_name(None).is_err());
        assert!(file_name(Some("..")).is_err());
        assert!(file_name(Some(&"a".repeat(256))).is_err());
    }

    #[test]
    fn only_listed_types_are_taken_whatever_their_parameters() {
        let settings = AttachmentSettings::default();
        assert_eq!(
            content_type(&settings, Some("Text/Plain; charset=utf-8")).unwrap(),
            "text/plain"
        );
        assert!(content_type(&settings, Some("text/html")).is_err());
        assert!(content_type(&settings, Some("image/svg+xml")).is_err());
        assert!(content_type(&settings, None).is_err());
        assert!(content_type(&settings, Some("not a type")).is_err());
    }

    #[test]
    fn the_disposition_keeps_an_exact_name_and_an_ascii_stand_in() {
        let value = content_disposition("informe \"final\" ñ.pdf");
        assert_eq!(
            value.to_str().unwrap(),
            "attachment; filename=\"informe _final_ _.pdf\"; filename*=UTF-8''informe%20%22final%22%20%C3%B1.pdf"
        );
    }
}
