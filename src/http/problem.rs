//! Every error the API returns, as `application/problem+json` (RFC 9457).

use std::time::Duration;

use axum::BoxError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::directory_file::JsonFileError;
use crate::store::StoreError;
use crate::store::directory::DirectoryError;
use crate::store::directory_import::{ImportError, RowProblem, describe_problems};

/// An error answered to a client. 5xx variants carry the cause for the log only; the body
/// never shows it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is not JSON at all (syntax error, truncated).
    #[error("{0}")]
    MalformedBody(String),
    /// A query-string or path parameter is wrong.
    #[error("{field}: {detail}")]
    InvalidParameter { field: String, detail: String },
    /// Well-formed JSON whose content is wrong: unknown, missing, mistyped or invalid field.
    #[error("{field}: {detail}")]
    InvalidField { field: String, detail: String },
    /// Valid input the current state of things refuses (e.g. a deactivated POC).
    #[error("{0}")]
    Conflict(String),
    /// A protocol action not allowed in the inquiry's current status.
    #[error("{detail}")]
    TransitionRefused {
        detail: String,
        current_status: &'static str,
        allowed_actions: Vec<&'static str>,
    },
    /// `If-Match` names a version that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// A directory import whose body is neither CSV nor JSON.
    #[error(
        "the body must be CSV (Content-Type: text/csv; charset=utf-8) or JSON (Content-Type: application/json)"
    )]
    UnsupportedImportType,
    /// Holidays in neither JSON nor iCalendar.
    #[error(
        "the body must be JSON (Content-Type: application/json) or an iCalendar file (Content-Type: text/calendar)"
    )]
    UnsupportedHolidaysType,
    /// A directory import with bad rows: every problem, by line (CSV) or index (JSON) and
    /// field.
    #[error("{}", describe_problems(.0))]
    InvalidRows(Vec<RowProblem>),
    #[error("the request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The caller's rate limit is spent (see `http::limits`).
    #[error("too many requests from this caller: retry in {} s", retry_after_secs(*retry_after))]
    TooManyRequests { retry_after: Duration },
    /// As many requests are being answered as the server takes at once.
    #[error("the server is answering as many requests as it takes at once: retry shortly")]
    Overloaded,
    /// The request was not answered within the request timeout and was abandoned.
    #[error(
        "the request was not answered in time and was abandoned: retry it (an action with the same Idempotency-Key)"
    )]
    TimedOut,
    #[error("the database is unavailable: retry shortly")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] StoreError),
    /// A failure of the serving machinery itself (a layer's error no variant names).
    #[error("internal error")]
    Unexpected(#[source] BoxError),
}

/// How long a client is told to wait when the database is unavailable or a request timed
/// out: long enough for a connection to be re-established.
const RETRY_UNAVAILABLE: Duration = Duration::from_secs(5);
/// How long a client is told to wait when the server sheds load.
const RETRY_OVERLOADED: Duration = Duration::from_secs(1);

/// `Retry-After` is in whole seconds: a wait is rounded up, and is at least one second.
fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

impl ApiError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::MalformedBody(_) | ApiError::InvalidParameter { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::InvalidField { .. } | ApiError::InvalidRows(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Conflict(_) | ApiError::TransitionRefused { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::UnsupportedMediaType
            | ApiError::UnsupportedImportType
            | ApiError::UnsupportedHolidaysType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Overloaded | ApiError::TimedOut | ApiError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) | ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// How long the client should wait before retrying, for errors that pass.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::TooManyRequests { retry_after } => Some(*retry_after),
            ApiError::Overloaded => Some(RETRY_OVERLOADED),
            ApiError::TimedOut | ApiError::Unavailable(_) => Some(RETRY_UNAVAILABLE),
            _ => None,
        }
    }

    /// The answer to an error of the layers around the routes (`app`): the request timeout
    /// and load shedding.
    pub async fn from_layer(error: BoxError) -> Self {
        if error.is::<tower::timeout::error::Elapsed>() {
            ApiError::TimedOut
        } else if error.is::<tower::load_shed::error::Overloaded>() {
            ApiError::Overloaded
        } else {
            ApiError::Unexpected(error)
        }
    }

    /// The problem type's short name; the `type` member is `urn:cbm2:problem:<slug>`.
    fn slug(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::MalformedBody(_) => "malformed-body",
            ApiError::InvalidParameter { .. } => "invalid-parameter",
            ApiError::InvalidField { .. } => "invalid-field",
            ApiError::Conflict(_) => "conflict",
            ApiError::TransitionRefused { .. } => "transition-refused",
            ApiError::PreconditionFailed(_) => "precondition-failed",
            ApiError::UnsupportedMediaType
            | ApiError::UnsupportedImportType
            | ApiError::UnsupportedHolidaysType => "unsupported-media-type",
            ApiError::InvalidRows(_) => "invalid-rows",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::Overloaded => "overloaded",
            ApiError::TimedOut => "timed-out",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) | ApiError::Unexpected(_) => "internal",
        }
    }

    pub fn invalid_field(field: impl Into<String>, detail: impl ToString) -> Self {
        ApiError::InvalidField {
            field: field.into(),
            detail: detail.to_string(),
        }
    }

    pub fn invalid_parameter(field: impl Into<String>, detail: impl ToString) -> Self {
        ApiError::InvalidParameter {
            field: field.into(),
            detail: detail.to_string(),
        }
    }

    /// The body's members beyond `type`, `title`, `status` and `detail`.
    pub(crate) fn extensions(&self) -> Map<String, Value> {
        let mut extensions = Map::new();
        if let ApiError::InvalidField { field, .. } | ApiError::InvalidParameter { field, .. } =
            self
        {
            extensions.insert("field".to_owned(), json!(field));
        }
        if let ApiError::TransitionRefused {
            current_status,
            allowed_actions,
            ..
        } = self
        {
            extensions.insert("current_status".to_owned(), json!(current_status));
            extensions.insert("allowed_actions".to_owned(), json!(allowed_actions));
        }
        if let ApiError::InvalidRows(problems) = self {
            extensions.insert("errors".to_owned(), json!(problems));
        }
        extensions
    }
}

/// A JSON file that could not be read: not JSON (400), or JSON with bad rows (422).
impl From<JsonFileError> for ApiError {
    fn from(error: JsonFileError) -> Self {
        match error {
            JsonFileError::Malformed(detail) => ApiError::MalformedBody(detail),
            JsonFileError::Invalid(problems) => ApiError::InvalidRows(problems),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match &error {
            StoreError::Database(database) if database_unavailable(database) => {
                ApiError::Unavailable(error)
            }
            StoreError::Batch(database) if database_unavailable(database) => {
                ApiError::Unavailable(error)
            }
            StoreError::WriterStopped => ApiError::Unavailable(error),
            _ => ApiError::Internal(error),
        }
    }
}

/// Whether an error says the database cannot be reached or used for now (retrying later
/// may succeed) rather than that something is wrong: no connection to be had, a connection
/// lost, the server shutting down or refusing connections, SQLite's lock still held after
/// the busy timeout.
fn database_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database) => {
            let code = database.code().unwrap_or_default();
            if database
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                // SQLSTATE classes 08 (connection exception), 53 (insufficient resources:
                // too many connections, out of memory or disk) and 57P (the server shutting
                // down, crashed, or not yet accepting connections).
                code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
            } else {
                // SQLite's SQLITE_BUSY (5) and its extended codes (5 + 256 n), as sqlx or
                // the SQLite writer's rusqlite (`store::direct`) reports them.
                let sqlite = database
                    .try_downcast_ref::<sqlx::sqlite::SqliteError>()
                    .is_some()
                    || database
                        .try_downcast_ref::<crate::store::direct::DirectError>()
                        .is_some();
                sqlite && code.parse::<i32>().is_ok_and(|code| code & 0xff == 5)
            }
        }
        _ => false,
    }
}

impl From<DirectoryError> for ApiError {
    fn from(error: DirectoryError) -> Self {
        match error {
            DirectoryError::UnknownMemberState(code) => ApiError::invalid_field(
                "member_state",
                format!("{code} is not an OAS Member State"),
            ),
            DirectoryError::PocNotFound(_) => ApiError::NotFound(error.to_string()),
            DirectoryError::PocDeactivated(_) => ApiError::Conflict(error.to_string()),
            DirectoryError::Store(error) => error.into(),
        }
    }
}

impl From<ImportError> for ApiError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::InvalidRows(problems) => ApiError::InvalidRows(problems),
            ImportError::Store(error) => error.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        if status.is_server_error() {
            // The one place a server error is logged, inside the request's span.
            tracing::error!(error = ?self, "request failed");
        }
        let title = status.canonical_reason().unwrap_or("Error");
        let mut body = Map::new();
        body.insert(
            "type".into(),
            json!(format!("urn:cbm2:problem:{}", self.slug())),
        );
        body.insert("title".into(), json!(title));
        body.insert("status".into(), json!(status.as_u16()));
        body.insert("detail".into(), json!(self.to_string()));
        body.extend(self.extensions());
        let mut response = (status, axum::Json(Value::Object(body))).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(wait) = self.retry_after() {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(wait)),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"cbm2\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(error: ApiError) -> (u16, Option<String>) {
        let response = error.into_response();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), retry_after)
    }

    #[test]
    fn a_database_out_of_reach_is_503_with_retry_after_and_other_failures_500() {
        let unreachable = [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()),
        ];
        for error in unreachable {
            let (status, retry_after) = answer(StoreError::Database(error).into());
            assert_eq!((status, retry_after.as_deref()), (503, Some("5")));
        }
        let broken = StoreError::Database(sqlx::Error::RowNotFound);
        assert_eq!(answer(broken.into()), (500, None));
    }

    #[test]
    fn sqlite_busy_through_the_writers_rusqlite_is_503_and_a_broken_rule_500() {
        let sqlite = |code| {
            let error = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
            let error = std::sync::Arc::new(crate::store::direct::sqlx_error(error));
            answer(StoreError::Batch(error).into())
        };
        // SQLITE_BUSY, and SQLITE_BUSY_SNAPSHOT (5 + 2 * 256).
        assert_eq!(sqlite(5), (503, Some("5".into())));
        assert_eq!(sqlite(517), (503, Some("5".into())));
        // SQLITE_CONSTRAINT_UNIQUE.
        assert_eq!(sqlite(2067), (500, None));
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
        let wait = |millis| {
            answer(ApiError::TooManyRequests {
                retry_after: Duration::from_millis(millis),
            })
        };
        assert_eq!(wait(0), (429, Some("1".into())));
        assert_eq!(wait(200), (429, Some("1".into())));
        assert_eq!(wait(1000), (429, Some("1".into())));
        assert_eq!(wait(1001), (429, Some("2".into())));
        assert_eq!(answer(ApiError::Overloaded), (503, Some("1".into())));
    }
}
