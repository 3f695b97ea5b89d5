//! `POST /v1/credentials/verify` (public): the body is a credential, the answer its
//! verification report. A credential that does not hold is a 200 with `valid: false`; only a
//! body that is not a credential is a 400, one over a work limit a 422 naming the limit, and a
//! busy verifier a 503 with `Retry-After`.
//!
//! With `?programId=<verification program>`, the report also judges the credential against
//! that listed program (`program`: Compliant or Non-Compliant, each condition) and a
//! compliant verification is counted in the catalog ([`claimd_core::compliance`]). A malformed
//! id is a 400 naming the parameter; an unknown or hidden program a 404, as in the catalog.

use super::Served;
use crate::error::ApiError;
use crate::extract::PeerIp;
use crate::state::AppState;
use crate::verify_pool::PoolError;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use claimd_core::compliance::{self, ProgramReport};
use claimd_core::verification::VerificationProgram;
use claimd_core::verify::limits::check_raw_depth;
use serde::Deserialize;
use serde_json::Value;

pub fn routes(state: AppState) -> Served {
    let (router, table) = served! { "/v1/credentials/verify" => post(verify_credential) };
    (
        router.route_layer(axum::middleware::from_fn_with_state(state, admit_verifier)),
        table,
    )
}

/// The per-address verification rate, checked before the body is read: a refused request
/// costs its headers and nothing more, however large the credential it carries.
async fn admit_verifier(
    State(s): State<AppState>,
    PeerIp(peer): PeerIp,
    req: Request,
    next: Next,
) -> Response {
    if let (Some(limiter), Some(ip)) = (&s.admission.verify_per_ip, peer) {
        if let Err(wait) = limiter.check(&ip) {
            metrics::counter!("claimd_http_refused_total", "reason" => "verify_ip_rate")
                .increment(1);
            return ApiError::too_many_requests("verifications per client address", wait)
                .into_response();
        }
    }
    next.run(req).await
}

/// The query string. Other parameters are ignored, as they always were.
#[derive(Deserialize)]
struct VerifyParams {
    #[serde(rename = "programId")]
    program_id: Option<String>,
}

/// The program named by `?programId=`, if any: read before the credential, so a bad or
/// unknown id costs no verification.
async fn program_param(
    s: &AppState,
    query: Result<Query<VerifyParams>, QueryRejection>,
) -> Result<Option<VerificationProgram>, ApiError> {
    let Query(params) = query
        .map_err(|e| ApiError::bad_request(format!("Invalid query string: {}", e.body_text())))?;
    let Some(raw) = params.program_id else {
        return Ok(None);
    };
    let id = compliance::parse_program_id(&raw).map_err(ApiError::invalid_parameter)?;
    compliance::listed_program(&*s.store, &id)
        .await?
        .map(Some)
        .ok_or_else(|| ApiError::not_found("Program not found"))
}

async fn verify_credential(
    State(s): State<AppState>,
    query: Result<Query<VerifyParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let program = program_param(&s, query).await?;
    // Read as bytes, not `Json`: a missing or wrong Content-Type should not stop a verifier
    // that posts a credential file as it is.
    let body = body.map_err(crate::extract::bytes_rejection)?;
    // Before parsing: the parser's own recursion limit would answer a bare syntax error.
    check_raw_depth(&body, s.verifier.limits().max_depth)?;
    let vc: Value = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request("Request body is not valid JSON"))?;
    // The pool takes the credential; judging it against the program needs it afterwards, on
    // this task (its reads and the count are database work, kept off the pool's threads).
    let presented = program.as_ref().map(|_| vc.clone());
    match s.verify_pool.verify(vc, s.verifier.clone()).await {
        Ok(report) => match (program, presented) {
            (Some(program), Some(vc)) => {
                let judged = compliance::judge(&*s.store, &program, &vc, &report).await?;
                Ok(Json(ProgramReport {
                    report,
                    program: judged,
                })
                .into_response())
            }
            _ => Ok(Json(report).into_response()),
        },
        Err(PoolError::Verify(e)) => Err(e.into()),
        Err(PoolError::Busy { retry_after_secs }) => Ok(retry_later(
            retry_after_secs,
            format!("Verification is busy: every slot is taken. Retry after {retry_after_secs} s."),
        )),
        Err(PoolError::Deadline(d)) => {
            tracing::warn!(deadline = ?d, "verification ran past its deadline");
            Ok(retry_later(
                s.verify_pool.config().retry_after_secs,
                format!(
                    "Verification did not finish within its deadline ({} ms). Retry later.",
                    d.as_millis()
                ),
            ))
        }
        Err(e @ PoolError::Crashed(_)) => Err(ApiError::internal(&e)),
    }
}

/// 503 in the error shape, with `Retry-After`.
fn retry_later(secs: u64, message: String) -> Response {
    let mut resp = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message).into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}
