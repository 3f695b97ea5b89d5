//! `revocation`: the credential's `SparseMerkleTreeProof` status, resolved through the context
//! (never over the network by the service), and checked rather than trusted: its state must be
//! `Poseidon(roots)`, the issuer's on chain and current, and the nonce's proof must hold
//! against its revocation root. The issuer's auth key (the auth claim of the signature proof)
//! is checked the same way, as iden3 verifiers do.

use super::context::{LookupError, VerifyContext};
use super::credential::{Credential, BJJ_SIGNATURE, SMT_STATUS};
use super::proof::{self, StateRoots};
use super::state::{published, unavailable, Published};
use super::{Check, VerifyError, REVOCATION};
use chrono::{DateTime, Utc};
use claimd_iden3::id::Id;
use claimd_iden3::Fr;
use serde_json::Value;

/// How long a replaced state still counts as current for revocation: a status read just
/// before the issuer published again is not stale. One hour, js-sdk's default for proofs
/// (`DEFAULT_PROOF_VERIFY_DELAY`, the accepted state transition delay).
pub const STATE_MAX_AGE_SECS: i64 = 3600;

pub async fn check(
    c: &Credential<'_>,
    ctx: &dyn VerifyContext,
    now: DateTime<Utc>,
) -> Result<Check, VerifyError> {
    let fail = |d: String| Ok(Check::fail(REVOCATION, d));
    let Some(status) = c.status() else {
        return fail("the credential has no credentialStatus".into());
    };
    match status.get("type").and_then(Value::as_str) {
        Some(SMT_STATUS) => {}
        Some(other) => {
            return fail(format!(
                "credentialStatus type {other} is not supported (only {SMT_STATUS})"
            ))
        }
        None => return fail("credentialStatus has no type".into()),
    }
    let nonce = match c.revocation_nonce() {
        Ok(n) => n,
        Err(e) => return fail(e),
    };
    let id = match proof::did_id(c.issuer) {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    let detail = match not_revoked(ctx, c.issuer, &id, nonce, now).await? {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    // The auth keys of the signature proofs: a revoked key signs nothing valid.
    let mut keys = Vec::new();
    for p in c.proofs_of_type(&[BJJ_SIGNATURE]) {
        let auth = p
            .get("issuerData")
            .and_then(Value::as_object)
            .map(|d| proof::claim(d, "authCoreClaim", "issuerData"));
        // A malformed auth claim already fails `signature`.
        if let Some(Ok(auth)) = auth {
            keys.push(auth.revocation_nonce());
        }
    }
    // One look-up per key, however many proofs name it.
    let keys: std::collections::BTreeSet<u64> = keys.into_iter().collect();
    for key_nonce in &keys {
        if let Err(e) = not_revoked(ctx, c.issuer, &id, *key_nonce, now).await? {
            return fail(format!("issuer's auth key (nonce {key_nonce}): {e}"));
        }
    }
    let keys = if keys.is_empty() {
        String::new()
    } else {
        "; the issuer's auth key is not revoked".to_owned()
    };
    Ok(Check::pass(REVOCATION, format!("{detail}{keys}")))
}

/// `Ok(Ok(detail))` when `nonce` is provably not revoked at a current on-chain state,
/// `Ok(Err(why))` otherwise.
async fn not_revoked(
    ctx: &dyn VerifyContext,
    issuer: &str,
    id: &Id,
    nonce: u64,
    now: DateTime<Utc>,
) -> Result<Result<String, String>, VerifyError> {
    let status = match ctx.revocation_status(issuer, nonce).await {
        Ok(s) => s,
        Err(LookupError::Failed(e)) => return Ok(Err(format!("no revocation status: {e}"))),
        Err(LookupError::Unavailable(e)) => return Err(VerifyError::Unavailable(e)),
        Err(LookupError::LimitExceeded { limit, detail }) => {
            return Err(VerifyError::LimitExceeded { limit, detail })
        }
    };
    let roots = match read_status(&status) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let current = match published(ctx.states(), id, roots.value).await? {
        Published::OnChain(record) => match record.replaced_by {
            None => "the issuer's latest state".to_owned(),
            Some(_) if now.timestamp() - record.replaced_at_timestamp as i64 <= STATE_MAX_AGE_SECS => {
                "a state of the issuer replaced less than an hour ago".to_owned()
            }
            Some(newer) => {
                return Ok(Err(format!(
                    "the revocation status is at state {}, replaced by {} more than an hour ago",
                    roots.value.to_le_hex(),
                    newer.to_le_hex()
                )))
            }
        },
        // A genesis status is current only while the identity has published nothing.
        Published::Genesis => match ctx.states().latest(id).await.map_err(unavailable)? {
            None => "the issuer's genesis state".to_owned(),
            Some(latest) => {
                return Ok(Err(format!(
                    "the revocation status is at the issuer's genesis state, but its latest state is {}",
                    latest.state.to_le_hex()
                )))
            }
        },
        unknown @ Published::Unknown => {
            return Ok(Err(format!(
                "the revocation status's {}",
                unknown.describe(roots.value)
            )))
        }
    };
    let mtp = match status
        .as_object()
        .map(|o| proof::merkle_proof(o, "mtp", "revocation status"))
    {
        Some(Ok(p)) => p,
        Some(Err(e)) => return Ok(Err(e)),
        None => return Ok(Err("the revocation status is not an object".into())),
    };
    // The revocation tree maps nonce → 0 (the version), so an existence proof is for value 0.
    let key = Fr::from_u64(nonce);
    match mtp.root(key, Fr::ZERO) {
        Ok(root) if root == roots.revocation_root => {}
        Ok(_) | Err(_) => {
            return Ok(Err(format!(
                "the revocation status's proof for nonce {nonce} does not lead to its revocationTreeRoot {}",
                roots.revocation_root.to_le_hex()
            )))
        }
    }
    if mtp.existence {
        return Ok(Err(format!(
            "revoked: nonce {nonce} is in the issuer's revocation tree at state {}",
            roots.value.to_le_hex()
        )));
    }
    Ok(Ok(format!(
        "nonce {nonce} is not in the revocation tree of state {} ({current})",
        roots.value.to_le_hex()
    )))
}

fn read_status(status: &Value) -> Result<StateRoots, String> {
    let roots = StateRoots::parse(
        status.get("issuer").unwrap_or(&Value::Null),
        "revocation status issuer",
        "state",
    )?;
    roots.check_value("revocation status issuer.state")?;
    Ok(roots)
}
