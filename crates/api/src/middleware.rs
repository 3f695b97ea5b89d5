//! Cross-cutting layers: request ids, tracing spans, admission (per-IP rate limit, concurrency
//! limit, request timeout; see [`crate::limits`]), body size limit, panic → 500 in our error
//! shape, and per-route request metrics.

use crate::error::ApiError;
use crate::limits::Admission;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::Arc;
use std::time::Instant;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn wrap(app: Router, state: &AppState) -> Router {
    app.layer(axum::middleware::from_fn(record_metrics))
        .layer(axum::extract::DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(CatchPanicLayer::custom(|_panic| {
            ApiError::internal(&"handler panicked").into_response()
        }))
        .layer(axum::middleware::from_fn_with_state(
            state.admission.clone(),
            admit,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Per-IP rate limit, then a slot among the requests handled at once, then the request
/// timeout. Refusals are counted by reason.
async fn admit(
    axum::extract::State(admission): axum::extract::State<Arc<Admission>>,
    req: Request,
    next: Next,
) -> Response {
    if let (Some(limiter), Some(peer)) = (&admission.per_ip, crate::server::peer(req.extensions()))
    {
        if let Err(wait) = limiter.check(&peer.ip()) {
            metrics::counter!("claimd_http_refused_total", "reason" => "ip_rate").increment(1);
            return ApiError::too_many_requests("per client address", wait).into_response();
        }
    }
    let Ok(_slot) = admission.in_flight.try_acquire() else {
        metrics::counter!("claimd_http_refused_total", "reason" => "concurrency").increment(1);
        return ApiError::busy(format!(
            "Server busy: more than {} requests in progress",
            admission.limits.max_concurrent_requests
        ))
        .into_response();
    };
    let timeout = admission.limits.request_timeout;
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            metrics::counter!("claimd_http_refused_total", "reason" => "timeout").increment(1);
            ApiError::busy(format!(
                "Request took longer than {} s and was abandoned",
                timeout.as_secs_f64()
            ))
            .into_response()
        }
    }
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("claimd_http_requests_total", &labels).increment(1);
    metrics::histogram!("claimd_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    resp
}
