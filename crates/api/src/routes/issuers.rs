//! Public issuer endpoints for holders and verifiers: the revocation status a credential's
//! `credentialStatus.id` points at (`SparseMerkleTreeProof`), and the issuer's latest
//! confirmed state.

use super::Served;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use claimd_core::proofs::{IssuerState, RevocationStatus};

pub fn routes() -> Served {
    served! {
        "/v1/{issuer_did}/claims/revocation/status/{nonce}" => get(revocation_status),
        "/v1/issuers/{issuer_did}/state" => get(state),
    }
}

const UNKNOWN_ISSUER: &str = "No issuer found for the given DID.";

/// Revocation status of `nonce` at the issuer's latest confirmed state (iden3's
/// `RevocationStatus`: `{issuer: {state, claimsTreeRoot, revocationTreeRoot, rootOfRoots},
/// mtp}`; `mtp.existence` means revoked).
async fn revocation_status(
    State(s): State<AppState>,
    Path((issuer_did, nonce)): Path<(String, String)>,
) -> Result<Json<RevocationStatus>, ApiError> {
    let nonce: u64 = nonce.parse().map_err(|_| {
        ApiError::bad_request("Invalid revocation nonce: must be a non-negative integer")
    })?;
    s.proofs
        .revocation_status(&issuer_did, nonce)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(UNKNOWN_ISSUER))
}

/// The issuer's latest confirmed state: roots, transaction and block.
async fn state(
    State(s): State<AppState>,
    Path(issuer_did): Path<String>,
) -> Result<Json<IssuerState>, ApiError> {
    match s.proofs.issuer_state(&issuer_did).await? {
        None => Err(ApiError::not_found(UNKNOWN_ISSUER)),
        Some(None) => Err(ApiError::not_found(
            "The issuer has no confirmed state on chain yet.",
        )),
        Some(Some(state)) => Ok(Json(state)),
    }
}
