//! `core_claim`: the claim the proofs sign or prove must be the one the document describes.
//!
//! As js-sdk's `verifyCoreClaimMatch` does, the claim's layout options (subject and merklized
//! root positions, version, updatable) are read from the proof's claim, and everything else
//! is recomputed from the document: merklized root, schema hash of the expanded type, subject
//! ID, expiration and revocation nonce. Any difference fails, naming the slot.

use super::context::{LookupError, VerifyContext};
use super::credential::Credential;
use super::{proof, Check, VerifyError, CORE_CLAIM};
use claimd_iden3::claim::{Claim, MerklizedRootPosition, SchemaHash, SubjectPosition};
use claimd_iden3::id::DidRegistry;
use serde_json::Value;

pub async fn check(c: &Credential<'_>, ctx: &dyn VerifyContext) -> Result<Check, VerifyError> {
    let fail = |d: String| Ok(Check::fail(CORE_CLAIM, d));
    // Every proof that carries a claim must carry this one.
    let mut claims = Vec::new();
    for p in c.proofs() {
        if p.contains_key("coreClaim") {
            let kind = p.get("type").and_then(Value::as_str).unwrap_or("untyped");
            match proof::claim(p, "coreClaim", &format!("{kind} proof")) {
                Ok(claim) => claims.push((kind, claim)),
                Err(e) => return fail(e),
            }
        }
    }
    if claims.is_empty() {
        return fail("no proof carries a coreClaim".into());
    }
    // The members read directly come first: merklizing is the expensive step, and a
    // credential whose subject, expiration or nonce is unreadable fails without it.
    let subject = match c.subject_did() {
        Ok(Some(did)) => match DidRegistry::default().id_from_did(did) {
            Ok(id) => Some(id),
            Err(e) => return fail(format!("credentialSubject.id {did}: {e}")),
        },
        Ok(None) => None,
        Err(e) => return fail(e),
    };
    let expiration = match c.expiration() {
        // The claim holds Unix seconds; a date before 1970 cannot be in one.
        Ok(Some(t)) if t.timestamp() < 0 => return fail("expirationDate is before 1970".into()),
        Ok(t) => t.map(|t| t.timestamp() as u64),
        Err(e) => return fail(e),
    };
    let nonce = match c.revocation_nonce() {
        Ok(n) => n,
        Err(e) => return fail(e),
    };
    let merklized = match ctx.merklize(&c.without_proof()).await {
        Ok(m) => m,
        Err(LookupError::Failed(e)) => return fail(format!("cannot merklize the credential: {e}")),
        Err(LookupError::Unavailable(e)) => return Err(VerifyError::Unavailable(e)),
        Err(LookupError::LimitExceeded { limit, detail }) => {
            return Err(VerifyError::LimitExceeded { limit, detail })
        }
    };
    let Some(type_iri) = merklized.type_iri else {
        return fail("the credential's type has no expanded IRI (no schema hash)".into());
    };
    let schema = SchemaHash::from_type_iri(&type_iri);

    for (kind, claimed) in &claims {
        let mut rebuilt = Claim::new(schema);
        rebuilt.set_version(claimed.version());
        rebuilt.set_updatable(claimed.updatable());
        match (claimed.subject_position(), &subject) {
            (Ok(SubjectPosition::Index), Some(id)) => rebuilt.set_index_id(id),
            (Ok(SubjectPosition::Value), Some(id)) => rebuilt.set_value_id(id),
            (Ok(SubjectPosition::SelfSubject), None) => {}
            (Ok(_), _) => {
                return fail(format!(
                    "{kind} coreClaim: subject position does not fit credentialSubject.id"
                ))
            }
            (Err(e), _) => return fail(format!("{kind} coreClaim: {e}")),
        }
        match claimed.merklized_position() {
            Ok(MerklizedRootPosition::Index) => rebuilt.set_index_merklized_root(merklized.root),
            Ok(MerklizedRootPosition::Value) => rebuilt.set_value_merklized_root(merklized.root),
            // Slot-serialized (iden3_serialization) claims need the schema's slot mapping,
            // which claimd never issues.
            Ok(MerklizedRootPosition::None) => {
                return fail(format!(
                    "{kind} coreClaim is not merklized; only merklized claims are supported"
                ))
            }
            Err(e) => return fail(format!("{kind} coreClaim: {e}")),
        }
        rebuilt.set_expiration(expiration);
        rebuilt.set_revocation_nonce(nonce);
        if rebuilt != *claimed {
            return fail(format!(
                "{kind} coreClaim does not match the credential: {}",
                differences(claimed, &rebuilt).join(", ")
            ));
        }
    }
    let kinds: Vec<&str> = claims.iter().map(|(k, _)| *k).collect();
    Ok(Check::pass(
        CORE_CLAIM,
        format!(
            "rebuilt from the credential (schema hash {}, merklized root {}); equals the coreClaim of {}",
            schema.to_hex(),
            merklized.root,
            kinds.join(", ")
        ),
    ))
}

/// Which parts of two claims differ, in words.
fn differences(claimed: &Claim, rebuilt: &Claim) -> Vec<String> {
    let mut out = Vec::new();
    if claimed.schema_hash() != rebuilt.schema_hash() {
        out.push(format!(
            "schema hash {} (credential type gives {})",
            claimed.schema_hash().to_hex(),
            rebuilt.schema_hash().to_hex()
        ));
    }
    if claimed.id().ok() != rebuilt.id().ok() {
        out.push("subject id".into());
    }
    if claimed.merklized_root().ok() != rebuilt.merklized_root().ok() {
        out.push("merklized root (the credential's content differs)".into());
    }
    if claimed.expiration() != rebuilt.expiration() {
        out.push("expiration".into());
    }
    if claimed.revocation_nonce() != rebuilt.revocation_nonce() {
        out.push("revocation nonce".into());
    }
    if out.is_empty() {
        out.push("other slots".into());
    }
    out
}
