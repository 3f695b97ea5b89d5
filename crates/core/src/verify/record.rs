//! `issuer_record`: what iden3 proofs leave out. The merklized claim covers every statement of
//! the credential, but not the credential's own `id` (the root node's IRI is no entry of the
//! tree), so a changed `id` keeps every proof valid — in js-sdk as here. For issuers this
//! service hosts, the issued document is on record, and the presented one must be it.

use super::context::{IssuedRecord, LookupError, VerifyContext};
use super::credential::Credential;
use super::{proof, Check, VerifyError, ISSUER_RECORD};
use serde_json::Value;

pub async fn check(c: &Credential<'_>, ctx: &dyn VerifyContext) -> Result<Check, VerifyError> {
    let Some(hash) = core_claim_hash(c) else {
        return Ok(Check::skipped(
            ISSUER_RECORD,
            "no proof carries a coreClaim",
        ));
    };
    let record = match ctx.issued(c.issuer, &hash).await {
        Ok(r) => r,
        Err(LookupError::Failed(e)) => return Ok(Check::fail(ISSUER_RECORD, e)),
        Err(LookupError::Unavailable(e)) => return Err(VerifyError::Unavailable(e)),
        Err(LookupError::LimitExceeded { limit, detail }) => {
            return Err(VerifyError::LimitExceeded { limit, detail })
        }
    };
    Ok(match record {
        IssuedRecord::NotHosted => Check::skipped(
            ISSUER_RECORD,
            format!("issuer {} is not hosted by this service", c.issuer),
        ),
        IssuedRecord::Unknown => Check::fail(
            ISSUER_RECORD,
            format!(
                "issuer {} never issued a credential with coreClaimHash {hash}",
                c.issuer
            ),
        ),
        IssuedRecord::Document(issued) => {
            let presented = c.without_proof();
            let differ = differing_members(&presented, &without_proof(issued));
            if differ.is_empty() {
                Check::pass(
                    ISSUER_RECORD,
                    format!("the credential issued with coreClaimHash {hash}"),
                )
            } else {
                Check::fail(
                    ISSUER_RECORD,
                    format!(
                        "differs from the credential issued with coreClaimHash {hash} in {}",
                        differ.join(", ")
                    ),
                )
            }
        }
    })
}

/// The `coreClaimHash` the issuer's records know the credential by: any proof's claim names
/// the record (if they differ, `core_claim` already fails), so the first that has one.
pub(super) fn core_claim_hash(c: &Credential<'_>) -> Option<String> {
    c.proofs()
        .iter()
        .find_map(|p| proof::claim(p, "coreClaim", "proof").ok())
        .map(|claim| claim.core_claim_hash_hex())
}

fn without_proof(mut doc: Value) -> Value {
    if let Some(m) = doc.as_object_mut() {
        m.remove("proof");
    }
    doc
}

/// Top-level members whose values differ (member order is irrelevant).
fn differing_members(a: &Value, b: &Value) -> Vec<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return vec!["its whole body".into()];
    };
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| k.to_owned())
        .collect()
}
