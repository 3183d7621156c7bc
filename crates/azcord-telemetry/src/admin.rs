//! The admin HTTP server: liveness, readiness and metrics.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::Metrics;

/// The content type of `/metrics`: prometheus-client writes OpenMetrics text.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the admin routes read.
#[derive(Clone)]
pub struct AdminState {
    /// Served on `/metrics`.
    pub metrics: Metrics,
    /// Answers `/readyz`: true once the bot can take interactions.
    pub readiness: Arc<dyn Fn() -> bool + Send + Sync>,
}

/// Serves the admin routes on `listener` until `shutdown` completes.
///
/// `GET /healthz` → 200 "ok"; `GET /readyz` → 200 "ready" or 503 "not ready";
/// `GET /metrics` → the metrics as OpenMetrics text.
pub async fn serve_admin(
    listener: tokio::net::TcpListener,
    state: AdminState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, admin_router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The admin routes, for embedding in another server.
pub fn admin_router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

impl AdminState {
    /// State with the given metrics and readiness probe.
    pub fn new(metrics: Metrics, readiness: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Self {
            metrics,
            readiness: Arc::new(readiness),
        }
    }
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AdminState>) -> (StatusCode, &'static str) {
    if (state.readiness)() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

async fn metrics(State(state): State<AdminState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        state.metrics.encode(),
    )
}
