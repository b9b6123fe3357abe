//! The JSON API (axum): one module per resource, each owning its routes.
//!
//! Routes are registered through [`Routes`], which also records each (method, path) so the
//! set can be compared with `openapi.yaml` by a test.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{Method, Request};
use axum::routing::{MethodRouter, delete, get, patch, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::store::Store;

mod checks;
mod directory_events;
pub mod extract;
mod health;
mod inquiries;
mod member_states;
pub mod monitoring;
pub mod pagination;
mod pocs;
pub mod problem;
mod tokens;
mod webhooks;

use problem::ApiError;

/// What every handler can reach: cheap clones of shared handles.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    /// Webhooks may point at loopback and private addresses (local setups, tests).
    pub webhook_allow_private: bool,
    /// How many active webhooks one owner may have.
    pub max_webhooks_per_owner: u32,
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
    let routes = tokens::routes(routes);
    let routes = inquiries::routes(routes);
    let routes = monitoring::routes(routes);
    let routes = checks::routes(routes);
    let routes = webhooks::routes(routes);
    directory_events::routes(routes)
}

/// Every (method, path) the API serves, paths as in `openapi.yaml` (`/v1/pocs/{id}`).
pub fn route_table() -> Vec<(Method, String)> {
    routes().table
}

/// The whole application: routes under `/v1`, our error shape for unknown routes and
/// methods, the body limit, request ids and request tracing.
pub fn app(state: AppState) -> Router {
    let api = routes()
        .router
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    Router::new()
        .nest("/v1", api)
        .fallback(|| async { ApiError::NotFound("no such resource".into()) })
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT_BYTES))
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
                        path = %request.uri().path(),
                        request_id,
                        caller = tracing::field::Empty,
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}
