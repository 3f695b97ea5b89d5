//! Operators' view of credentials: read one by `coreClaimHash` and revoke it.

use crate::error::ApiError;
use crate::extract::Admin;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use claimd_core::credential::{is_core_claim_hash, CredentialRecord, StatusView};

fn not_found() -> ApiError {
    ApiError::not_found("No credential found for the given hash.")
}

/// A `coreClaimHash` is 64 hex digits; anything else cannot name a credential.
fn hash(raw: &str) -> Result<String, ApiError> {
    let h = raw.trim().to_ascii_lowercase();
    if is_core_claim_hash(&h) {
        Ok(h)
    } else {
        Err(not_found())
    }
}

/// The status view of the credential found, as of now.
fn view(record: Option<CredentialRecord>) -> Result<Json<StatusView>, ApiError> {
    let record = record.ok_or_else(not_found)?;
    Ok(Json(record.status_view(chrono::Utc::now())))
}

/// `GET /admin/v1/credentials/{coreClaimHash}`: the status view, whoever issued it.
pub async fn get(
    _: Admin,
    State(s): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<StatusView>, ApiError> {
    view(s.store.credential(&hash(&raw)?).await?)
}

/// `POST /admin/v1/credentials/{coreClaimHash}/revoke`: a live credential becomes
/// `WAIT_REMOVE` and its nonce goes into the issuer's next transition; revoking a revoked one
/// changes nothing. Answers the status view.
pub async fn revoke(
    _: Admin,
    State(s): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<StatusView>, ApiError> {
    let record = s.operator.revoke_credential(&hash(&raw)?).await?;
    if let Some(r) = &record {
        tracing::info!(core_claim_hash = %r.core_claim_hash, status = r.status.as_str(), "credential revoked by the operator");
    }
    view(record)
}
