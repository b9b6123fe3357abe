//! The HTTP side of the metrics: what every request records, and the separate listener
//! that serves `GET /metrics` (Prometheus' text format) when `--metrics-bind` is set.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::metrics::{HTTP_REQUEST_DURATION, HTTP_REQUESTS};
use crate::store::Store;

/// How often histograms are folded, so that memory stays bounded between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Counts and times each request by its route template (never the raw path: ids and
/// unknown paths would make a series each), method and status.
pub(super) async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}

/// The method as a label: a method the API does not know is `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    store: Store,
}

/// `GET /metrics`: the gauges read at scrape time (outbox depth, pool connections) are
/// refreshed, then everything is rendered.
async fn scrape(State(scrape): State<Scrape>) -> Response {
    let (size, idle) = scrape.store.pool_connections();
    crate::metrics::pool_connections(size, idle);
    match scrape.store.outbox_depth().await {
        Ok((to_fan_out, pending)) => crate::metrics::outbox_depth(to_fan_out, pending),
        // The last values read stay; the failure is the database's, logged here.
        Err(error) => tracing::warn!(%error, "reading the outbox depth for the metrics failed"),
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        scrape.handle.render(),
    )
        .into_response()
}

/// Serves `GET /metrics` on `listener` until `shutdown` completes, folding histograms
/// every few seconds meanwhile.
pub async fn serve_metrics(
    listener: TcpListener,
    handle: PrometheusHandle,
    store: Store,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let upkeep = {
        let handle = handle.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(UPKEEP_EVERY);
            loop {
                ticker.tick().await;
                handle.run_upkeep();
            }
        })
    };
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape { handle, store });
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    upkeep.abort();
    served
}
