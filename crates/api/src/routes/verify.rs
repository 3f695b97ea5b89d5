//! `POST /v1/credentials/verify` (public): the body is a credential, the answer its
//! verification report. A credential that does not hold is a 200 with `valid: false`; only a
//! body that is not a credential is a 400.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use claimd_core::verify::{verify, VerificationReport};
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/credentials/verify", post(verify_credential))
}

async fn verify_credential(
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<VerificationReport>, ApiError> {
    // Read as bytes, not `Json`: a missing or wrong Content-Type should not stop a verifier
    // that posts a credential file as it is.
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large")
        } else {
            ApiError::bad_request("Cannot read the request body")
        }
    })?;
    let vc: Value = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request("Request body is not valid JSON"))?;
    Ok(Json(verify(&vc, s.verifier.as_ref()).await?))
}
