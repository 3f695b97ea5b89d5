//! Liveness, readiness and Prometheus metrics.

use super::Served;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

/// `/healthz`, `/readyz` and `/metrics`.
pub fn routes() -> Served {
    served! {
        "/healthz" => get(healthz),
        "/readyz" => get(readyz),
        "/metrics" => get(metrics),
    }
}

/// `/healthz` alone: what the public listener keeps when readiness and metrics are served on
/// the operator address instead.
pub fn liveness() -> Served {
    served! { "/healthz" => get(healthz) }
}

/// The process is up and serving HTTP.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// The database answers; a 503 tells load balancers to send traffic elsewhere.
async fn readyz(State(s): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    s.store
        .ping()
        .await
        .map_err(|e| ApiError::unavailable(&e))?;
    Ok(Json(
        json!({"status": "ready", "database": s.store.backend()}),
    ))
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let body = s.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
