//! The Moca-compatible credential endpoints: `POST /v1/credentials/issue-on-behalf` (exactly
//! as the seed OpenAPI) and `GET /v1/credentials/status`.

use super::Served;
use crate::error::ApiError;
use crate::partner_auth::PartnerAuth;
use crate::state::AppState;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use bytes::Bytes;
use claimd_core::credential::{is_core_claim_hash, CredentialRecord, StatusView};
use claimd_core::issuance::{IssueError, IssueRequest, IssueResponse};
use claimd_core::store::OnDuplicate;
use claimd_core::ProgramId;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub fn routes() -> Served {
    served! {
        "/v1/credentials/issue-on-behalf" => post(issue_on_behalf),
        "/v1/credentials/status" => get(status),
        "/v1/credentials/{hash}" => get(document),
    }
}

const IDEMPOTENCY_HEADER: &str = "idempotency-key";

async fn issue_on_behalf(
    State(s): State<AppState>,
    partner: PartnerAuth,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IssueResponse>, ApiError> {
    let body = body.map_err(crate::extract::bytes_rejection)?;
    let req = parse_issue_request(&body)?;
    let idempotency =
        idempotency_key(&headers)?.map(|k| (k, request_fingerprint(&partner.email, &body)));
    s.issuance
        .issue(partner.partner_id, &partner.email, req, idempotency)
        .await
        .map(Json)
        .map_err(issue_error)
}

/// What an idempotency key is bound to: the recipient (the token's `email`, normalised as the
/// domain normalises it) and the body. A key reused for another recipient with the same body
/// is another request, not a replay: replaying would hand one user's `coreClaimHash` to
/// another.
fn request_fingerprint(email: &str, body: &[u8]) -> String {
    let email = claimd_core::user::Email::parse(email)
        .map(|e| e.as_str().to_owned())
        .unwrap_or_else(|_| email.to_owned());
    let mut h = Sha256::new();
    // Length-prefixed, so no (email, body) pair can collide with another by moving bytes.
    h.update((email.len() as u64).to_be_bytes());
    h.update(email.as_bytes());
    h.update(body);
    hex(&h.finalize())
}

/// Parses the body with the seed's messages (`Missing required field: issuerDid`); unknown
/// fields are ignored.
fn parse_issue_request(body: &[u8]) -> Result<IssueRequest, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request("Request body is not valid JSON"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::bad_request("Request body must be a JSON object"))?;
    let field = |name: &str| obj.get(name).filter(|v| !v.is_null());
    let missing = |name: &str| ApiError::bad_request(format!("Missing required field: {name}"));
    let string = |name: &str| -> Result<String, ApiError> {
        match field(name) {
            None => Err(missing(name)),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Some(Value::String(_)) => Err(missing(name)),
            Some(_) => Err(ApiError::bad_request(format!(
                "Invalid field {name}: must be a string"
            ))),
        }
    };
    let issuer_did = string("issuerDid")?;
    let credential_id = string("credentialId")?;
    let credential_subject = match field("credentialSubject") {
        None => return Err(missing("credentialSubject")),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(ApiError::bad_request(
                "Invalid field credentialSubject: must be an object",
            ))
        }
    };
    // Absent is the default; `null` is not one of the two values.
    let on_duplicate = match obj.get("onDuplicate") {
        None => OnDuplicate::Revoke,
        Some(Value::String(s)) if s == "ignore" => OnDuplicate::Ignore,
        Some(Value::String(s)) if s == "revoke" => OnDuplicate::Revoke,
        Some(_) => {
            return Err(ApiError::bad_request(
                "Invalid field onDuplicate: must be one of ignore, revoke",
            ))
        }
    };
    // An id that cannot exist is simply unknown (404), like any other unknown program.
    let credential_id = ProgramId::parse(&credential_id)
        .ok_or_else(|| ApiError::not_found(claimd_core::issuance::NOT_FOUND))?;
    Ok(IssueRequest {
        issuer_did,
        credential_id,
        credential_subject,
        on_duplicate,
    })
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = v.to_str().unwrap_or("").trim();
    let ok = !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| (0x21..0x7f).contains(&b));
    if !ok {
        return Err(ApiError::bad_request(
            "Invalid header Idempotency-Key: 1-255 printable ASCII characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

fn issue_error(e: IssueError) -> ApiError {
    match e {
        IssueError::Invalid(d) => d.into(),
        IssueError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
        IssueError::NotFound(m) => ApiError::not_found(m),
        IssueError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
        IssueError::Store(s) => s.into(),
        IssueError::Internal(_) => ApiError::internal(&e),
    }
}

async fn status(
    State(s): State<AppState>,
    partner: PartnerAuth,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<StatusView>, ApiError> {
    let hash = q
        .get("coreClaimHash")
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ApiError::bad_request("Missing required field: coreClaimHash"))?;
    let record = partners_credential(&s, &partner, &hash).await?;
    Ok(Json(record.status_view(s.operator.now())))
}

fn not_found() -> ApiError {
    ApiError::not_found("No credential found for the given hash.")
}

/// The credential the partner issued under `hash` (lower case); one it did not issue, or a
/// string that cannot be a `coreClaimHash`, is not found.
async fn partners_credential(
    s: &AppState,
    partner: &PartnerAuth,
    hash: &str,
) -> Result<CredentialRecord, ApiError> {
    if !is_core_claim_hash(hash) {
        return Err(not_found());
    }
    s.store
        .credential_for_partner(hash, partner.partner_id)
        .await?
        .ok_or_else(not_found)
}

/// `GET /v1/credentials/{coreClaimHash}`: the W3C VC with its proofs (the
/// `Iden3SparseMerkleTreeProof` once its state is confirmed), for the partner that issued it
/// and the token's recipient only.
async fn document(
    State(s): State<AppState>,
    partner: PartnerAuth,
    axum::extract::Path(hash): axum::extract::Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = partners_credential(&s, &partner, &hash.to_ascii_lowercase()).await?;
    let email = claimd_core::user::Email::parse(&partner.email)?;
    let user = s.store.user_by_email(&email).await?;
    if user.map(|u| u.user_uuid) != Some(record.user_id) {
        return Err(not_found());
    }
    // Keys keep the order they were issued in (serde_json preserve_order).
    Ok(Json(s.proofs.document(&record).await?))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &str) -> String {
        parse_issue_request(body.as_bytes()).err().unwrap().message
    }

    #[test]
    fn seed_messages() {
        assert_eq!(msg("{}"), "Missing required field: issuerDid");
        assert_eq!(
            msg(r#"{"issuerDid":"d"}"#),
            "Missing required field: credentialId"
        );
        assert_eq!(
            msg(r#"{"issuerDid":"d","credentialId":"c"}"#),
            "Missing required field: credentialSubject"
        );
        assert_eq!(
            msg(r#"{"issuerDid":1}"#),
            "Invalid field issuerDid: must be a string"
        );
        assert_eq!(
            msg(r#"{"issuerDid":"d","credentialId":"c","credentialSubject":[]}"#),
            "Invalid field credentialSubject: must be an object"
        );
        assert_eq!(
            msg(r#"{"issuerDid":"d","credentialId":"c","credentialSubject":{},"onDuplicate":"x"}"#),
            "Invalid field onDuplicate: must be one of ignore, revoke"
        );
        assert_eq!(msg("nope"), "Request body is not valid JSON");
        assert_eq!(msg("[1]"), "Request body must be a JSON object");
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(msg(&deep), "Request body is not valid JSON");
        let ok = parse_issue_request(
            br#"{"issuerDid":"d","credentialId":"c1","credentialSubject":{"a":1},"extra":true}"#,
        )
        .unwrap();
        assert_eq!(ok.on_duplicate, OnDuplicate::Revoke);
    }
}
