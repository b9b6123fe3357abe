//! Extractors that answer bad input in our problem shape, naming the offending field.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::AppState;
use super::problem::ApiError;
use crate::clock;
use crate::domain::{Caller, Principal};
use crate::protocol::Inquiry;

/// The request-body limit: 64 KiB, ample for any directory record or inquiry.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// A JSON body, deserialized with the path of the first bad field reported.
///
/// An empty body reads as `{}`, so a missing body is reported as the first missing
/// required field, and endpoints whose fields are all optional accept no body at all.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        JsonWithBytes::from_request(request, state)
            .await
            .map(|JsonWithBytes(value, _)| ApiJson(value))
    }
}

/// [`ApiJson`] that also keeps the body's bytes (to fingerprint an idempotent request).
pub struct JsonWithBytes<T>(pub T, pub Bytes);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonWithBytes<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declares_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == mime::APPLICATION
                    && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
            });
        let has_content_type = request.headers().contains_key(header::CONTENT_TYPE);
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(_)
                        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
                    {
                        ApiError::PayloadTooLarge {
                            limit: BODY_LIMIT_BYTES,
                        }
                    }
                    other => ApiError::MalformedBody(other.body_text()),
                })?;
        if bytes.is_empty() {
            return parse_json(b"{}").map(|value| JsonWithBytes(value, bytes));
        }
        if has_content_type && !declares_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        parse_json(&bytes).map(|value| JsonWithBytes(value, bytes))
    }
}

/// Deserializes `bytes`, reporting syntax errors as 400 and content errors as 422 with the
/// field's path (`indicators[2].type`).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body is an object; serde would read an array into a struct's fields by
    // position (`[null, null]` as a body of two optional fields).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::invalid_field(
            "",
            "invalid type: an array, expected a JSON object",
        ));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                let (field, detail) = name_field(&path, &message);
                ApiError::invalid_field(field, detail)
            }
            _ => ApiError::MalformedBody(format!("the body is not valid JSON: {inner}")),
        }
    })
}

/// A query string, deserialized with unknown parameters refused and bad ones named.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|error| {
                let path = error.path().to_string();
                let (field, detail) = name_field(&path, &error.into_inner().to_string());
                ApiError::invalid_parameter(field, detail)
            })
    }
}

/// serde_json appends " at line L column C" to content errors; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The field an error is about. serde reports missing and unknown fields at the level of
/// the enclosing object, naming the field only in the message ("missing field `name`");
/// that name is appended to the path.
fn name_field(path: &str, message: &str) -> (String, String) {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    // serde_path_to_error already ends the path with an unknown field's name, not with a
    // missing one's.
    let field = match (named, path) {
        (Some(name), "." | "") => name.to_owned(),
        (Some(name), path) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_owned()
        }
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, ".") => String::new(),
        (None, path) => path.to_owned(),
    };
    let detail = match named {
        Some(_) if message.starts_with("unknown") => match message.find(", expected") {
            Some(i) => format!("is not a known field{}", &message[i..]),
            None => "is not a known field".to_owned(),
        },
        Some(_) => "is required".to_owned(),
        None => message.to_owned(),
    };
    (field, detail)
}

/// A path parameter; a malformed path (bad percent-encoding) is answered in our shape.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection| {
                let field = match &rejection {
                    PathRejection::FailedToDeserializePathParams(error) => match error.kind() {
                        ErrorKind::ParseErrorAtKey { key, .. }
                        | ErrorKind::InvalidUtf8InPathParam { key }
                        | ErrorKind::DeserializeError { key, .. } => key.clone(),
                        _ => "path".to_owned(),
                    },
                    _ => "path".to_owned(),
                };
                let detail = match &rejection {
                    PathRejection::FailedToDeserializePathParams(error) => error.body_text(),
                    other => other.body_text(),
                };
                ApiError::invalid_parameter(field, detail)
            })
    }
}

/// A caller that is the Secretariat. Anyone else gets 403 before the body is read, so a
/// POC learns nothing about a request it may not make.
pub struct Secretariat(pub Caller);

impl FromRequestParts<AppState> for Secretariat {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.is_secretariat() {
            Ok(Secretariat(caller))
        } else {
            Err(ApiError::Forbidden(format!(
                "only the Secretariat may {} {}",
                parts.method,
                parts.uri.path()
            )))
        }
    }
}

/// The caller behind the bearer token, counted against its rate limit: a request without
/// a valid token against its client address's, one with a valid token against its
/// principal's (writes and reads apart). Past the limit: 429 with `Retry-After`.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(admit(parts, state, None).await?.0)
    }
}

/// The caller, as [`Caller`], and the inquiry the path's `{id}` names, read in the same
/// query: `None` if there is no such inquiry or the path's id is not one (the handler's
/// [`ApiPath`] then says why). Whether the caller may see it is the handler's to check.
pub struct CallerAndInquiry {
    pub caller: Caller,
    pub inquiry: Option<std::sync::Arc<Inquiry>>,
}

impl FromRequestParts<AppState> for CallerAndInquiry {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let id = axum::extract::Path::<Uuid>::from_request_parts(parts, state)
            .await
            .ok()
            .map(|axum::extract::Path(id)| id);
        let (caller, inquiry) = admit(parts, state, id).await?;
        Ok(Self { caller, inquiry })
    }
}

/// The caller (with the inquiry `inquiry_id`, if asked for), counted against its rate
/// limit: see [`Caller`].
async fn admit(
    parts: &Parts,
    state: &AppState,
    inquiry_id: Option<Uuid>,
) -> Result<(Caller, Option<std::sync::Arc<Inquiry>>), ApiError> {
    let limiter = state.rate_limiter.as_deref();
    let (caller, inquiry) = match authenticate(parts, state, inquiry_id).await {
        Ok(found) => found,
        Err(refusal @ ApiError::Unauthorized(_)) => {
            let address = parts.extensions.get::<ConnectInfo<SocketAddr>>();
            if let (Some(limiter), Some(ConnectInfo(address))) = (limiter, address) {
                limiter
                    .check_address(address.ip())
                    .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
            }
            return Err(refusal);
        }
        Err(other) => return Err(other),
    };
    let span = tracing::Span::current();
    span.record("principal", tracing::field::display(&caller.principal));
    if let Principal::Poc { member_state, .. } = &caller.principal {
        span.record("state", tracing::field::display(member_state));
    }
    if let Some(limiter) = limiter {
        let write = !matches!(parts.method, Method::GET | Method::HEAD);
        limiter
            .check_principal(&caller.principal, write)
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    }
    Ok((caller, inquiry))
}

/// The caller behind the `Authorization: Bearer` header (and the inquiry `inquiry_id`,
/// read with its token); 401 without a valid token.
async fn authenticate(
    parts: &Parts,
    state: &AppState,
    inquiry_id: Option<Uuid>,
) -> Result<(Caller, Option<std::sync::Arc<Inquiry>>), ApiError> {
    let header_value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::Unauthorized("an Authorization: Bearer <token> header is required".into())
        })?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not text".into()))?;
    let secret = header_value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "the Authorization header must be of the form \"Bearer <token>\"".into(),
            )
        })?;
    state
        .store
        .authenticate_with(secret, clock::now(), inquiry_id)
        .await?
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "the token is unknown, revoked, or its POC is deactivated".into(),
            )
        })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        kind: u8,
    }

    fn field_of(json: &str) -> (String, u16) {
        match parse_json::<Body>(json.as_bytes()) {
            Err(e @ ApiError::InvalidField { .. }) => (e.extensions()["field"].to_string(), 422),
            Err(e) => (e.to_string(), e.status_code().as_u16()),
            Ok(_) => panic!("{json} was accepted"),
        }
    }

    #[test]
    fn names_missing_unknown_and_mistyped_fields() {
        assert_eq!(field_of(r#"{"items": []}"#), ("\"name\"".into(), 422));
        assert_eq!(
            field_of(r#"{"name": "a", "items": [], "x": 1}"#),
            ("\"x\"".into(), 422)
        );
        assert_eq!(
            field_of(r#"{"name": 5, "items": []}"#),
            ("\"name\"".into(), 422)
        );
        assert_eq!(
            field_of(r#"{"name": "a", "items": [{"kind": 1}, {"kind": "x"}]}"#),
            ("\"items[1].kind\"".into(), 422)
        );
        assert_eq!(
            field_of(r#"{"name": "a", "items": [{"kind": 1, "y": 2}]}"#),
            ("\"items[0].y\"".into(), 422)
        );
    }

    #[test]
    fn syntax_errors_are_400() {
        assert_eq!(field_of(r#"{"name": "#).1, 400);
    }

    #[test]
    fn an_array_is_no_body_even_where_it_would_fill_the_fields() {
        assert_eq!(field_of(r#" ["a", []]"#).1, 422);
    }
}
