//! The contract over HTTP: `GET /openapi.yaml` (the file, as built into the binary) and
//! `GET /docs`, a page that renders it with Redoc, vendored under `assets/` (see its
//! README): nothing is fetched from elsewhere. Outside `/v1`, open to anyone, never rate
//! limited (no `Caller`), and not part of the contract's own paths.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

/// The contract, exactly as `openapi.yaml` at the project root.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// Where the viewer is served: the version is in the name, so the URL can be cached for
/// good and an upgrade gets a new one.
pub const VIEWER_PATH: &str = "/docs/assets/redoc-2.5.2.standalone.js";

const VIEWER_JS: &str = include_str!("assets/redoc-2.5.2.standalone.js");
const DOCS_HTML: &str = include_str!("assets/docs.html");

/// The page's policy: scripts from here only (the viewer; the page has no inline script),
/// the spec fetched from here, nothing framed, posted or based elsewhere. Redoc needs what
/// it cannot do without: inline styles (styled-components), `data:` icons and a `blob:`
/// worker for its search index.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// A year, and never revalidated: the viewer's URL names its version.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The routes of the contract and its page, outside `/v1`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.yaml", get(openapi_yaml))
        .route("/docs", get(docs_page))
        .route(VIEWER_PATH, get(viewer))
}

async fn openapi_yaml() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        )],
        OPENAPI_YAML,
    )
}

async fn docs_page() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DOCS_CSP),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        DOCS_HTML,
    )
}

async fn viewer() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
        ],
        VIEWER_JS,
    )
}
