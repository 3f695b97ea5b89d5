//! Operators' view of credentials: read one by `coreClaimHash` and revoke it.

use crate::error::ApiError;
use crate::extract::AdminState;
use axum::extract::Path;
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
fn view(
    s: &crate::AppState,
    record: Option<CredentialRecord>,
) -> Result<Json<StatusView>, ApiError> {
    let record = record.ok_or_else(not_found)?;
    Ok(Json(record.status_view(s.operator.now())))
}

/// `GET /admin/v1/credentials/{coreClaimHash}`: the status view, whoever issued it.
pub async fn get(
    AdminState(s): AdminState,
    Path(raw): Path<String>,
) -> Result<Json<StatusView>, ApiError> {
    let record = s.store.credential(&hash(&raw)?).await?;
    view(&s, record)
}

/// `POST /admin/v1/credentials/{coreClaimHash}/revoke`: a live credential becomes
/// `WAIT_REMOVE` and its nonce goes into the issuer's next transition; revoking a revoked one
/// changes nothing. Answers the status view.
pub async fn revoke(
    AdminState(s): AdminState,
    Path(raw): Path<String>,
) -> Result<Json<StatusView>, ApiError> {
    let record = s.operator.revoke_credential(&hash(&raw)?).await?;
    if let Some(r) = &record {
        tracing::info!(core_claim_hash = %r.core_claim_hash, status = r.status.as_str(), "credential revoked by the operator");
    }
    view(&s, record)
}

/// `GET /admin/v1/credentials/{coreClaimHash}/history` answer: the credential's status now
/// and every change of it, oldest first.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    core_claim_hash: String,
    vc_status: String,
    items: Vec<claimd_core::history::HistoryEntry>,
}

/// `GET /admin/v1/credentials/{coreClaimHash}/history`: accepted, then each change the
/// outbox recorded (on chain with its transaction, revocation requested, removed, expired).
pub async fn history(
    AdminState(s): AdminState,
    Path(raw): Path<String>,
) -> Result<Json<History>, ApiError> {
    let hash = hash(&raw)?;
    let record = s.store.credential(&hash).await?.ok_or_else(not_found)?;
    let events = s
        .store
        .credential_events(&hash, claimd_core::history::MAX_CHANGES)
        .await?;
    Ok(Json(History {
        vc_status: record.status_view(s.operator.now()).vc_status,
        items: claimd_core::history::history(&record, &events),
        core_claim_hash: hash,
    }))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    program_id: Option<String>,
    email: Option<String>,
    page: Option<u32>,
    limit: Option<u32>,
}

/// One credential of a listing: its status view and where it belongs.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedCredential {
    #[serde(flatten)]
    status: StatusView,
    program_id: String,
    partner_id: String,
}

/// `GET /admin/v1/credentials[?programId=&email=&page=&limit=]`: credentials newest first,
/// of one program and/or one user (found by the normal form of the address). A filter that
/// nothing can match (an address no user has, or that is not an address; a string that is not
/// a program id) lists nothing: it is a search, not a reference.
pub async fn list(
    AdminState(s): AdminState,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<ListQuery>,
) -> Result<Json<claimd_core::page::Page<ListedCredential>>, ApiError> {
    let page = claimd_core::page::PageRequest::new(q.page, q.limit)?;
    let nothing = || {
        Ok(Json(claimd_core::page::Page {
            items: vec![],
            page: page.page,
            limit: page.limit,
            total: 0,
        }))
    };
    let mut filter = claimd_core::store::CredentialFilter::default();
    if let Some(p) = q
        .program_id
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match claimd_core::ProgramId::parse(p) {
            Some(id) => filter.program_id = Some(id),
            None => return nothing(),
        }
    }
    if let Some(e) = q.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        let Ok(email) = claimd_core::user::Email::parse(e) else {
            return nothing();
        };
        match s.store.user_by_email(&email).await? {
            Some(user) => filter.user_id = Some(user.user_uuid),
            None => return nothing(),
        }
    }
    let now = s.operator.now();
    let found = s.store.list_credentials(&filter, page).await?;
    Ok(Json(found.map(|r| ListedCredential {
        program_id: r.program_id.0.clone(),
        partner_id: r.partner_id.to_string(),
        status: r.status_view(now),
    })))
}

/// `GET /admin/v1/credentials/{coreClaimHash}/document`: the W3C credential with every proof
/// it has now (the signature, and the Merkle proof once its claim is on chain), whoever
/// issued it; what `GET /v1/credentials/{coreClaimHash}` answers its partner.
pub async fn document(
    AdminState(s): AdminState,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let record = s
        .store
        .credential(&hash(&raw)?)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(s.proofs.document(&record).await?))
}
