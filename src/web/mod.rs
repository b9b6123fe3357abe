//! The web UI: server-rendered pages for the POCs and the Secretariat's staff, on the same
//! server as the API, outside `/v1`. Pages work without JavaScript (htmx, vendored, only
//! makes navigation quicker); their words come from `locales/`, in English, Spanish,
//! French and Portuguese.
//!
//! Like the API, a page handler authenticates (a browser session instead of a token),
//! calls the store's commands and the same authorization (`store::inquiries::party_of`,
//! the protocol's `decide`), and never writes SQL.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::delivery::email::Mailer;
use crate::http::AppState;

mod account;
mod charts;
mod checks;
mod dashboard;
mod directory;
pub(crate) mod forms;
pub mod i18n;
mod inbox;
mod inquiry;
mod page;
mod render;
mod session;
mod sign_in;
mod words;

/// What the pages need beyond the store.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// The base of the links cbm2 sends (`CBM2_PUBLIC_URL`).
    pub public_url: String,
    /// Where sign-in e-mails go out; `None`: `cbm2 login-link` instead.
    pub mailer: Option<Mailer>,
    /// Cookies carry `Secure`, unless the public URL is plain http on loopback (a local
    /// trial), where a browser would drop them.
    pub secure_cookies: bool,
}

impl WebSettings {
    pub fn new(public_url: &str, mailer: Option<Mailer>) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            mailer,
            secure_cookies: !plain_http_on_loopback(public_url),
        }
    }
}

fn plain_http_on_loopback(public_url: &str) -> bool {
    let Ok(url) = url::Url::parse(public_url) else {
        return false;
    };
    url.scheme() == "http"
        && match url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

/// The pages' policy: everything from here, no inline script or style, no frames, forms
/// post here only.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The pages and their assets.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(sign_in::landing))
        .route("/sign-in", get(sign_in::form).post(sign_in::send_link))
        .route(
            "/sign-in/{secret}",
            get(sign_in::confirm).post(sign_in::redeem),
        )
        .route("/sign-out", post(sign_in::sign_out))
        .route("/language", post(sign_in::choose_language))
        .route("/inbox", get(inbox::inbox))
        .route(
            "/inquiries/new",
            get(inquiry::new_form).post(inquiry::create),
        )
        .route("/inquiries/{id}", get(inquiry::show))
        .route(
            "/inquiries/{id}/indicators.stix",
            get(inquiry::indicators_stix),
        )
        .route("/inquiries/{id}/record.json", get(inquiry::signed_record))
        .route(
            "/inquiries/{id}/attachments",
            // A file, up to the server's `--attachment-limit`, in a multipart form.
            post(inquiry::attach).layer(axum::extract::DefaultBodyLimit::max(
                state.attachments.limit.saturating_add(64 * 1024),
            )),
        )
        .route(
            "/inquiries/{id}/attachments/{attachment_id}",
            get(inquiry::attachment),
        )
        .route("/inquiries/{id}/actions/{action}", post(inquiry::act))
        .route("/dashboard", get(dashboard::dashboard))
        .route("/checks", get(checks::list).post(checks::start))
        .route("/checks/{id}", get(checks::show))
        .route("/checks/{id}/reply", post(checks::reply))
        .route("/directory", get(directory::directory))
        .route(
            "/directory/{code}",
            get(directory::member_state).post(directory::update_member_state),
        )
        .route(
            "/directory/{code}/holidays",
            // An iCalendar file, up to the server's `--import-body-limit`.
            post(directory::upload_holidays).layer(axum::extract::DefaultBodyLimit::max(
                state.import_body_limit.saturating_add(64 * 1024),
            )),
        )
        .route("/directory/pocs", post(directory::create_poc))
        .route("/directory/pocs/new", get(directory::new_poc_form))
        .route(
            "/directory/pocs/{id}",
            get(directory::poc).post(directory::update_poc),
        )
        .route("/directory/pocs/{id}/confirm", post(directory::confirm_poc))
        .route(
            "/directory/pocs/{id}/share-with-un",
            post(directory::give_un_consent),
        )
        .route(
            "/directory/pocs/{id}/share-with-un/withdraw",
            post(directory::withdraw_un_consent),
        )
        .route("/directory/un", get(directory::un_directory))
        .route("/directory/un/export.csv", get(directory::un_export_csv))
        .route("/directory/un/export.json", get(directory::un_export_json))
        .route(
            "/directory/un/compare",
            // A file, up to the server's `--import-body-limit`, in a multipart form.
            post(directory::un_directory_compare).layer(axum::extract::DefaultBodyLimit::max(
                state.import_body_limit.saturating_add(64 * 1024),
            )),
        )
        .route(
            "/directory/pocs/{id}/deactivate",
            post(directory::deactivate_poc),
        )
        .route("/staff", get(directory::staff).post(directory::add_staff))
        .route("/staff/{id}/remove", post(directory::remove_staff))
        .route("/account", get(account::account))
        .route("/account/sessions/{id}/end", post(account::end_session))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state,
            session::visitor_token,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .route("/assets/{file}", get(asset))
}

/// Any path that is neither a page nor the API: the one 404 page for a browser (which
/// asks for HTML), the API's problem+json for anything else.
async fn not_found(headers: axum::http::HeaderMap, visitor: session::Visitor) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html {
        render::Failure(visitor.page, render::WebError::NotFound).into_response()
    } else {
        crate::http::problem::ApiError::NotFound("no such resource".into()).into_response()
    }
}

const STYLESHEET: &str = include_str!("assets/cbm2.css");
const HTMX: &str = include_str!("assets/htmx.min.js");

/// The stylesheet and htmx, cached for a day (their names carry no version).
async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "cbm2.css" => (STYLESHEET, "text/css; charset=utf-8"),
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_secure_except_for_plain_http_on_loopback() {
        assert!(!WebSettings::new("http://127.0.0.1:8080", None).secure_cookies);
        assert!(!WebSettings::new("http://localhost:8080/", None).secure_cookies);
        assert!(!WebSettings::new("http://[::1]:8080", None).secure_cookies);
        assert!(WebSettings::new("https://cbm2.example.org", None).secure_cookies);
        assert!(WebSettings::new("http://cbm2.example.org", None).secure_cookies);
        assert!(WebSettings::new("http://10.0.0.5", None).secure_cookies);
    }
}
