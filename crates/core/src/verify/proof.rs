//! Reading the members of iden3 proofs (`issuerData`, `state`, `coreClaim`, `mtp`) into typed
//! values. Every error is a sentence naming the member, used as a failing check's detail.

use claimd_iden3::claim::Claim;
use claimd_iden3::id::{identity_state, DidRegistry, Id};
use claimd_iden3::merkletree::Proof;
use claimd_iden3::Fr;
use serde_json::{Map, Value};

/// An identity state and its three roots, as proofs and revocation statuses carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateRoots {
    pub claims_root: Fr,
    pub revocation_root: Fr,
    pub roots_root: Fr,
    pub value: Fr,
}

impl StateRoots {
    /// Reads `{claimsTreeRoot, revocationTreeRoot, rootOfRoots, <value_key>}` (little-endian
    /// hex). Proofs call the state `value`, revocation statuses call it `state`.
    pub fn parse(v: &Value, what: &str, value_key: &str) -> Result<StateRoots, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("{what} must be an object"))?;
        let root = |key: &str| -> Result<Fr, String> {
            let s = obj
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{what}.{key} is missing"))?;
            Fr::from_le_hex(s).map_err(|e| format!("{what}.{key} {s:?}: {e}"))
        };
        Ok(StateRoots {
            claims_root: root("claimsTreeRoot")?,
            revocation_root: root("revocationTreeRoot")?,
            roots_root: root("rootOfRoots")?,
            value: root(value_key)?,
        })
    }

    /// The state of a proof's `issuerData` (`issuerData.state`).
    pub fn of_issuer_data(data: &Map<String, Value>) -> Result<StateRoots, String> {
        StateRoots::parse(
            data.get("state").unwrap_or(&Value::Null),
            "issuerData.state",
            "value",
        )
    }

    /// What a proof's `issuerData` state must show: `mtp` (the member named `mtp_member`)
    /// proves `claim` (described as `claim_name`) in its claims tree, and it is the
    /// Poseidon of its roots.
    pub fn check_proves(
        &self,
        mtp: &Proof,
        claim: &Claim,
        mtp_member: &str,
        claim_name: &str,
    ) -> Result<(), String> {
        let (hi, hv) = claim.hi_hv();
        if !mtp.existence || !mtp.verify(self.claims_root, hi, hv) {
            return Err(format!(
                "{mtp_member} does not prove the {claim_name} in claimsTreeRoot {}",
                self.claims_root.to_le_hex()
            ));
        }
        self.check_value("issuerData.state.value")
    }

    /// The state is `Poseidon(claims root, revocation root, roots root)`.
    pub fn check_value(&self, what: &str) -> Result<(), String> {
        let expected = identity_state(self.claims_root, self.revocation_root, self.roots_root);
        if expected == self.value {
            Ok(())
        } else {
            Err(format!(
                "{what} {} is not Poseidon of its roots ({})",
                self.value.to_le_hex(),
                expected.to_le_hex()
            ))
        }
    }
}

/// A proof's `issuerData` object.
pub fn issuer_data<'a>(
    proof: &'a Map<String, Value>,
    kind: &str,
) -> Result<&'a Map<String, Value>, String> {
    proof
        .get("issuerData")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{kind} proof has no issuerData"))
}

/// `issuerData.id`, which must be the credential's issuer, as an iden3 ID.
pub fn issuer_id(data: &Map<String, Value>, issuer: &str, kind: &str) -> Result<Id, String> {
    let did = data
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{kind} proof has no issuerData.id"))?;
    if did != issuer {
        return Err(format!(
            "{kind} proof names issuer {did}, the credential's issuer is {issuer}"
        ));
    }
    did_id(did)
}

/// The ID inside an issuer DID. Strict: a DID whose method is unknown has no on-chain state
/// to look up, so it is refused here rather than given iden3's synthetic ID.
pub fn did_id(did: &str) -> Result<Id, String> {
    DidRegistry::default()
        .parse(did)
        .map(|d| d.id())
        .map_err(|e| format!("issuer DID {did}: {e}"))
}

/// A hex-encoded claim member (`coreClaim`, `authCoreClaim`).
pub fn claim(obj: &Map<String, Value>, key: &str, what: &str) -> Result<Claim, String> {
    let hex = obj
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{what} has no {key}"))?;
    Claim::from_hex(hex).map_err(|e| format!("{what} {key}: {e}"))
}

/// A Merkle proof member (`mtp`) in iden3 JSON.
pub fn merkle_proof(obj: &Map<String, Value>, key: &str, what: &str) -> Result<Proof, String> {
    let v = obj.get(key).ok_or_else(|| format!("{what} has no {key}"))?;
    serde_json::from_value(v.clone()).map_err(|e| format!("{what} {key}: {e}"))
}
