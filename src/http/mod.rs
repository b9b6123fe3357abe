//! The JSON API (axum): one module per resource, each owning its routes.
//!
//! Routes are registered through [`Routes`], which also records each (method, path) so the
//! set can be compared with `openapi.yaml` by a test.

use std::sync::Arc;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, Request, header};
use axum::routing::{MethodRouter, delete, get, patch, post};
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::timeout::TimeoutLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::store::Store;

pub mod attachments;
pub(crate) mod checks;
mod directory_events;
mod docs;
pub mod extract;
mod health;
pub(crate) mod inquiries;
pub mod limits;
mod me;
pub(crate) mod member_states;
mod metrics;
pub mod monitoring;
pub mod pagination;
pub(crate) mod pocs;
pub(crate) mod pocs_import;
pub mod problem;
pub(crate) mod record;
mod server;
mod tokens;
pub(crate) mod un_directory;
mod webhooks;

use limits::{HttpLimits, RateLimiter};
pub use metrics::serve_metrics;
use problem::ApiError;
pub use server::serve;

/// What every handler can reach: cheap clones of shared handles.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    /// Webhooks may point at loopback and private addresses (local setups, tests).
    pub webhook_allow_private: bool,
    /// How many active webhooks one owner may have.
    pub max_webhooks_per_owner: u32,
    /// The largest directory file `POST /v1/pocs/import` reads, in bytes.
    pub import_body_limit: usize,
    /// Per-caller rate limits, checked where the caller is known; `None`: no limits.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// What the web pages need: the public URL, the mailer for sign-in links, cookies.
    pub web: crate::web::WebSettings,
    /// The Secretariat's summary, kept once it is costly to gather.
    pub summary: monitoring::SummaryCache,
    /// The instance's key, which signs inquiry records.
    pub record_key: crate::record::InstanceKey,
    /// What is taken as evidence, and where it is kept.
    pub attachments: Arc<attachments::AttachmentSettings>,
}

/// The router under construction and the table of its routes.
pub struct Routes {
    router: Router<AppState>,
    table: Vec<(Method, String)>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    fn add(mut self, method: Method, path: &str, route: MethodRouter<AppState>) -> Self {
        self.table.push((method, format!("/v1{path}")));
        self.router = self.router.route(path, route);
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.add(Method::GET, path, get(handler))
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.add(Method::POST, path, post(handler))
    }

    /// A POST route whose body may be up to `limit` bytes instead of the API's 64 KiB.
    pub fn post_with_body_limit<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &str,
        handler: H,
        limit: usize,
    ) -> Self {
        self.add(
            Method::POST,
            path,
            post(handler).layer(DefaultBodyLimit::max(limit)),
        )
    }

    /// A PUT route whose body may be up to `limit` bytes instead of the API's 64 KiB.
    pub fn put_with_body_limit<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &str,
        handler: H,
        limit: usize,
    ) -> Self {
        self.add(
            Method::PUT,
            path,
            axum::routing::put(handler).layer(DefaultBodyLimit::max(limit)),
        )
    }

    pub fn patch<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.add(Method::PATCH, path, patch(handler))
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.add(Method::DELETE, path, delete(handler))
    }
}

fn routes() -> Routes {
    let routes = Routes::new();
    let routes = health::routes(routes);
    let routes = member_states::routes(routes);
    let routes = pocs::routes(routes);
    let routes = pocs_import::routes(routes);
    let routes = me::routes(routes);
    let routes = tokens::routes(routes);
    let routes = inquiries::routes(routes);
    let routes = monitoring::routes(routes);
    let routes = checks::routes(routes);
    let routes = webhooks::routes(routes);
    let routes = un_directory::routes(routes);
    let routes = record::routes(routes);
    let routes = attachments::routes(routes);
    directory_events::routes(routes)
}

/// Every (method, path) the API serves, paths as in `openapi.yaml` (`/v1/pocs/{id}`).
pub fn route_table() -> Vec<(Method, String)> {
    routes().table
}

/// A request's path as logs show it: a sign-in link's secret (`/sign-in/{secret}`) is
/// left out, since whoever reads the log could otherwise sign in with it.
fn logged_path(path: &str) -> &str {
    if path.starts_with("/sign-in/") {
        "/sign-in/{secret}"
    } else {
        path
    }
}

/// The answer to a request whose handler panicked: logged at error level with the panic's
/// message (the request's span names the request), 500 problem+json to the caller, which
/// learns nothing of the cause.
fn answer_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked: answered 500");
    axum::response::IntoResponse::into_response(ApiError::Unexpected(
        "a request handler panicked".into(),
    ))
}

/// The whole application: routes under `/v1`, the contract and its page (`/openapi.yaml`,
/// `/docs`), our error shape for unknown routes and methods, the body limit, the request
/// timeout and the bound on requests in flight (both answered 503 problem+json), headers
/// that keep answers out of caches and sniffers, request metrics, request ids and request
/// tracing.
pub fn app(state: AppState, limits: &HttpLimits) -> Router {
    let api = routes()
        .router
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(|| async { ApiError::NotFound("no such resource".into()) });
    Router::new()
        .nest("/v1", api)
        .merge(docs::router())
        // The pages, and the answer to any other path: the 404 page for a browser,
        // problem+json for anything else.
        .merge(crate::web::router(state.clone()))
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT_BYTES))
        .layer(
            // Outermost first: errors of the layers below become problems; a request past
            // the bound is refused at once rather than queued; one being answered is
            // abandoned at the timeout. The bound is global (one semaphore for all routes).
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(ApiError::from_layer))
                .layer(LoadShedLayer::new())
                .layer(GlobalConcurrencyLimitLayer::new(limits.max_in_flight))
                .layer(TimeoutLayer::new(limits.request_timeout)),
        )
        // A handler that panics answers 500 problem+json (and is logged with the request)
        // instead of cutting the connection; the server goes on.
        .layer(CatchPanicLayer::custom(answer_panic))
        // Outside the bound and the timeout, so that their 503s are counted too.
        .layer(axum::middleware::from_fn(metrics::track))
        // Tokens, webhook secrets and inquiry content pass through the API: no cache may
        // keep an answer, and no browser may read one as anything but its declared type.
        // Only the docs' viewer, the same bytes for everyone, says otherwise for itself.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %logged_path(request.uri().path()),
                        request_id,
                        // Who called, once the token is checked: `principal=secretariat`,
                        // or `principal=poc:<uuid> state=CHL`.
                        principal = tracing::field::Empty,
                        state = tracing::field::Empty,
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    #[test]
    fn a_sign_in_secret_never_reaches_the_log() {
        assert_eq!(logged_path("/sign-in/abcDEF123"), "/sign-in/{secret}");
        assert_eq!(logged_path("/sign-in"), "/sign-in");
        assert_eq!(logged_path("/v1/inquiries/1"), "/v1/inquiries/1");
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_problem_json_and_the_router_serves_on() {
        async fn boom() -> &'static str {
            panic!("a bug in a handler")
        }
        let router = Router::new()
            .route("/boom", get(boom))
            .route("/fine", get(|| async { "fine" }))
            .layer(CatchPanicLayer::custom(answer_panic));
        let request = |path: &str| Request::get(path).body(Body::empty()).unwrap();
        let answer = router.clone().oneshot(request("/boom")).await.unwrap();
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            answer.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = axum::body::to_bytes(answer.into_body(), 4096)
            .await
            .unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["status"], 500);
        assert!(
            !problem.to_string().contains("a bug in a handler"),
            "the cause stays in the log: {problem}"
        );
        let answer = router.oneshot(request("/fine")).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
    }
}
