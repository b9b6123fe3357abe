//! Who is reading a page: the browser session (a cookie naming a server-side session, see
//! `store::accounts`), the visitor's form token, the language; and the checks every form
//! post passes (the form token, and a session for anything but signing in).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use super::i18n;
use super::page::{Page, Reader};
use super::render::{self, Failure, WebError};
use crate::clock;
use crate::domain::{Caller, Language, Principal};
use crate::http::AppState;
use crate::store::accounts::SessionCaller;

/// The session cookie: the session's secret, nothing else.
pub const SESSION_COOKIE: &str = "cbm2_session";
/// The visitor's form token before signing in (double-submit: cookie and form field).
pub const VISITOR_COOKIE: &str = "cbm2_visitor";
/// A visitor's chosen language before signing in.
pub const LANGUAGE_COOKIE: &str = "cbm2_lang";
/// The hidden field every form carries.
pub const CSRF_FIELD: &str = "csrf";

/// The visitor's form token, put into the request by [`visitor_token`].
#[derive(Debug, Clone)]
struct VisitorToken(String);

/// Gives every browser a form token of its own (a cookie, set on the first answer), so
/// that the forms shown before signing in carry a token a third-party site cannot know.
pub async fn visitor_token(
    State(settings): State<AppState>,
    jar: CookieJar,
    mut request: Request,
    next: Next,
) -> Response {
    let existing = jar
        .get(VISITOR_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|value| value.len() == 43);
    let (token, fresh) = match existing {
        Some(token) => (token, false),
        None => (random_token(), true),
    };
    request.extensions_mut().insert(VisitorToken(token.clone()));
    let response = next.run(request).await;
    if fresh {
        let cookie = cookie(VISITOR_COOKIE, token, settings.web.secure_cookies);
        (CookieJar::new().add(cookie), response).into_response()
    } else {
        response
    }
}

/// 256 random bits, URL-safe base64 (43 characters): the store's secrets, for a form's
/// token or key.
pub fn random_token() -> String {
    crate::store::tokens::random_secret().expect("the operating system's random source works")
}

/// A cookie as cbm2 sets them: the whole site, `HttpOnly`, `SameSite=Lax`, `Secure` unless
/// the public URL is plain http on loopback (a browser drops a `Secure` cookie there).
pub fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build()
}

/// The reader of a page: signed in or not.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub session: Option<SessionCaller>,
    pub page: Page,
}

impl Visitor {
    /// The caller for store commands, when signed in.
    pub fn caller(&self) -> Option<&Caller> {
        self.session.as_ref().map(|s| &s.caller)
    }

    /// Refuses a form whose token is not this visitor's (another site's form, or a page
    /// from an ended session).
    pub fn check_form(&self, fields: &[(String, String)]) -> Result<(), WebError> {
        let sent = super::forms::field(fields, CSRF_FIELD).map(str::as_bytes);
        let expected = self.page.csrf.as_bytes();
        let same = sent.is_some_and(|sent| {
            sent.len() == expected.len()
                && sent
                    .iter()
                    .zip(expected)
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        });
        if same {
            Ok(())
        } else {
            Err(WebError::StaleForm)
        }
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let here = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
        let visitor_token = parts
            .extensions
            .get::<VisitorToken>()
            .map(|token| token.0.clone())
            .unwrap_or_default();
        let now = clock::now();
        let session = match jar.get(SESSION_COOKIE) {
            Some(cookie) => state
                .store
                .authenticate_session(cookie.value(), now)
                .await
                .map_err(|error| {
                    tracing::error!(%error, "a session could not be read");
                    render::plain_error(Language::En)
                })?,
            None => None,
        };
        let lang = session
            .as_ref()
            .and_then(|s| s.language)
            .or_else(|| {
                jar.get(LANGUAGE_COOKIE)
                    .and_then(|c| i18n::parse_language(c.value()))
            })
            .unwrap_or_else(|| accept_language(&parts.headers));
        let zone = match session.as_ref().and_then(|s| s.member_state.as_ref()) {
            Some(code) => state
                .store
                .get_member_state(code)
                .await
                .ok()
                .flatten()
                .map_or(chrono_tz::UTC, |m| m.time_zone.tz()),
            None => chrono_tz::UTC,
        };
        // The same budgets as the API's: a person's by principal, anyone else's by address.
        if let Some(limiter) = state.rate_limiter.as_deref() {
            let write = !matches!(
                parts.method,
                axum::http::Method::GET | axum::http::Method::HEAD
            );
            let checked = match &session {
                Some(session) => limiter.check_principal(&session.caller.principal, write),
                None => match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
                    Some(ConnectInfo(address)) => limiter.check_address(address.ip()),
                    None => Ok(()),
                },
            };
            if let Err(retry_after) = checked {
                let page = Page {
                    lang,
                    reader: None,
                    csrf: String::new(),
                    here: here.clone(),
                    zone: chrono_tz::UTC,
                };
                return Err(Failure(page, WebError::TooManyRequests(retry_after)).into_response());
            }
        }
        if let Some(session) = &session {
            let span = tracing::Span::current();
            span.record(
                "principal",
                tracing::field::display(&session.caller.principal),
            );
            if let Principal::Poc { member_state, .. } = &session.caller.principal {
                span.record("state", tracing::field::display(member_state));
            }
        }
        let reader = session.as_ref().map(|s| Reader {
            name: s.name.clone(),
            member_state: s.member_state.as_ref().map(ToString::to_string),
            secretariat: s.caller.is_secretariat(),
        });
        let csrf = session
            .as_ref()
            .map_or(visitor_token, |s| s.csrf_token.clone());
        Ok(Visitor {
            session,
            page: Page {
                lang,
                reader,
                csrf,
                here,
                zone,
            },
        })
    }
}

fn accept_language(headers: &HeaderMap) -> Language {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Language::En, i18n::from_accept_language)
}

/// A signed-in reader; anyone else is sent to sign in, and brought back here after.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: SessionCaller,
    pub page: Page,
}

impl SignedIn {
    pub fn caller(&self) -> &Caller {
        &self.session.caller
    }

    pub fn check_form(&self, fields: &[(String, String)]) -> Result<(), WebError> {
        Visitor {
            session: Some(self.session.clone()),
            page: self.page.clone(),
        }
        .check_form(fields)
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        match visitor.session {
            Some(session) => Ok(SignedIn {
                session,
                page: visitor.page,
            }),
            None => {
                // Only a page is worth coming back to; a form post starts again from its page.
                let next = if parts.method == axum::http::Method::GET {
                    visitor.page.here.clone()
                } else {
                    "/".to_owned()
                };
                let target = format!(
                    "/sign-in?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

/// `next` as a place to go after signing in: a path on this site, never another site
/// (`//evil.example`, `/\evil.example`, `https://…`).
pub fn local_path(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && next.len() <= 512;
    safe.then(|| next.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_path_on_this_site_is_a_place_to_come_back_to() {
        assert_eq!(
            local_path(Some("/inquiries/1?x=2")).as_deref(),
            Some("/inquiries/1?x=2")
        );
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "/a\nb",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(local_path(None), None);
    }

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
