//! `signature` and `issuer_state`: the `BJJSignature2021` proof.
//!
//! `signature` is what the document proves by itself (the signature verifies with the auth key
//! the issuer data names, and that key's claim is in the state the proof names);
//! `issuer_state` ties that state to the issuer on chain, without which anyone could sign
//! with a key of their own and name a state of their own.

use super::context::VerifyContext;
use super::credential::{Credential, BJJ_SIGNATURE, SMT_PROOF, SMT_PROOF_OLD};
use super::proof::{self, StateRoots};
use super::state::{published, Published};
use super::{Check, VerifyError, ISSUER_STATE, SIGNATURE};
use claimd_iden3::babyjubjub::{Point, PublicKey, Signature};
use claimd_iden3::claim::SchemaHash;
use serde_json::{Map, Value};

pub fn check(c: &Credential<'_>) -> Check {
    let proofs = c.proofs_of_type(&[BJJ_SIGNATURE]);
    if proofs.is_empty() {
        return absent(c, SIGNATURE);
    }
    let mut states = Vec::new();
    for p in &proofs {
        match verify_one(p) {
            Ok(state) => states.push(state.value.to_le_hex()),
            Err(e) => return Check::fail(SIGNATURE, e),
        }
    }
    Check::pass(
        SIGNATURE,
        format!(
            "BJJ signature over the core claim hash verifies with issuerData.authCoreClaim's key; \
             the auth claim is in the claims tree of state {}",
            states.join(", ")
        ),
    )
}

/// No signature proof: fine when the Merkle tree proof stands in for it, a failure otherwise
/// (nothing would prove the credential).
fn absent(c: &Credential<'_>, name: &str) -> Check {
    if c.proofs_of_type(&[SMT_PROOF, SMT_PROOF_OLD]).is_empty() {
        Check::fail(
            name,
            format!("no {BJJ_SIGNATURE} proof (and no {SMT_PROOF} either)"),
        )
    } else {
        Check::skipped(name, format!("no {BJJ_SIGNATURE} proof"))
    }
}

fn verify_one(p: &Map<String, Value>) -> Result<StateRoots, String> {
    let what = format!("{BJJ_SIGNATURE} proof");
    let data = proof::issuer_data(p, BJJ_SIGNATURE)?;
    let auth = proof::claim(data, "authCoreClaim", &format!("{what} issuerData"))?;
    if auth.schema_hash() != SchemaHash::AUTH_BJJ {
        return Err("issuerData.authCoreClaim is not an AuthBJJCredential claim".into());
    }
    let [_, _, x, y] = auth.index();
    let key = Point::new(x, y)
        .map(PublicKey::from_point)
        .map_err(|e| format!("issuerData.authCoreClaim key: {e}"))?;
    let claim = proof::claim(p, "coreClaim", &what)?;
    let sig_hex = p
        .get("signature")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{what} has no signature"))?;
    let sig = Signature::from_hex(sig_hex).map_err(|e| format!("{what} signature: {e}"))?;
    if !key.verify_poseidon(claim.core_claim_hash(), &sig) {
        return Err(
            "the signature does not verify over the core claim hash with the issuer's auth key"
                .into(),
        );
    }
    let state = StateRoots::of_issuer_data(data)?;
    let mtp = proof::merkle_proof(data, "mtp", &format!("{what} issuerData"))?;
    state.check_proves(&mtp, &auth, "issuerData.mtp", "auth claim")?;
    Ok(state)
}

pub async fn check_issuer_state(
    c: &Credential<'_>,
    ctx: &dyn VerifyContext,
) -> Result<Check, VerifyError> {
    let proofs = c.proofs_of_type(&[BJJ_SIGNATURE]);
    if proofs.is_empty() {
        return Ok(absent(c, ISSUER_STATE));
    }
    let mut found = Vec::new();
    for p in proofs {
        let (id, state) = match proof::issuer_data(p, BJJ_SIGNATURE).and_then(|data| {
            let id = proof::issuer_id(data, c.issuer, BJJ_SIGNATURE)?;
            let state = StateRoots::of_issuer_data(data)?;
            Ok((id, state.value))
        }) {
            Ok(v) => v,
            Err(e) => return Ok(Check::fail(ISSUER_STATE, e)),
        };
        let status = published(ctx.states(), &id, state).await?;
        if let Published::Unknown = status {
            return Ok(Check::fail(
                ISSUER_STATE,
                format!(
                    "issuerData.{} for issuer {}",
                    status.describe(state),
                    c.issuer
                ),
            ));
        }
        found.push(status.describe(state));
    }
    Ok(Check::pass(
        ISSUER_STATE,
        format!("issuer {}: {}", c.issuer, found.join("; ")),
    ))
}
