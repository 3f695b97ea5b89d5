//! The request boundary: what makes a JSON body a credential at all (else 400), and typed
//! access to the members the checks read. Members that are present but wrong (a date that
//! does not parse, a nonce that is not a number) are not a 400: they make a check fail, so the
//! report says which.

use super::VerifyError;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Proof types, as js-sdk names them.
pub const BJJ_SIGNATURE: &str = "BJJSignature2021";
pub const SMT_PROOF: &str = "Iden3SparseMerkleTreeProof";
/// The deprecated name of [`SMT_PROOF`], still accepted by iden3 verifiers.
pub const SMT_PROOF_OLD: &str = "Iden3SparseMerkleProof";
/// The only `credentialStatus` type claimd resolves.
pub const SMT_STATUS: &str = "SparseMerkleTreeProof";

pub struct Credential<'a> {
    doc: &'a Map<String, Value>,
    pub issuer: &'a str,
    proofs: Vec<&'a Map<String, Value>>,
}

impl<'a> Credential<'a> {
    /// Accepts any JSON object with the members every W3C credential with iden3 proofs has:
    /// `@context`, `type`, `credentialSubject` (an object), `issuer` (a DID string) and
    /// `proof` (an object or a non-empty array of objects).
    /// More than `max_proofs` proofs is [`VerifyError::LimitExceeded`]: each proof costs
    /// chain look-ups.
    pub fn parse(vc: &'a Value, max_proofs: usize) -> Result<Credential<'a>, VerifyError> {
        let bad =
            |m: &str| VerifyError::NotACredential(format!("Not a verifiable credential: {m}"));
        let doc = vc
            .as_object()
            .ok_or_else(|| bad("the body must be a JSON object"))?;
        for member in ["@context", "type", "credentialSubject", "issuer", "proof"] {
            if doc.get(member).is_none_or(Value::is_null) {
                return Err(bad(&format!("missing {member}")));
            }
        }
        if !doc["credentialSubject"].is_object() {
            return Err(bad("credentialSubject must be an object"));
        }
        let issuer = doc["issuer"]
            .as_str()
            .ok_or_else(|| bad("issuer must be a DID string"))?;
        if let Value::Array(items) = &doc["proof"] {
            if items.len() > max_proofs {
                return Err(super::limits::exceeded(
                    super::limits::MAX_PROOFS,
                    format!(
                        "the credential has {} proofs, at most {max_proofs} are accepted",
                        items.len()
                    ),
                ));
            }
        }
        let proofs: Vec<&Map<String, Value>> = match &doc["proof"] {
            Value::Object(p) => vec![p],
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|p| {
                    p.as_object()
                        .ok_or_else(|| bad("every proof must be an object"))
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(bad(
                    "proof must be an object or a non-empty array of objects",
                ))
            }
        };
        Ok(Credential {
            doc,
            issuer,
            proofs,
        })
    }

    /// The document the core claim is built from: the credential without `proof`.
    pub fn without_proof(&self) -> Value {
        let mut m = self.doc.clone();
        m.remove("proof");
        Value::Object(m)
    }

    /// Every proof object, in document order.
    pub fn proofs(&self) -> &[&'a Map<String, Value>] {
        &self.proofs
    }

    /// The proofs whose `type` is one of `types`.
    pub fn proofs_of_type(&self, types: &[&str]) -> Vec<&'a Map<String, Value>> {
        self.proofs
            .iter()
            .copied()
            .filter(|p| {
                p.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| types.contains(&t))
            })
            .collect()
    }

    /// `credentialSubject.id`, when the subject is an identity.
    pub fn subject_did(&self) -> Result<Option<&'a str>, String> {
        match self.doc["credentialSubject"].get("id") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err("credentialSubject.id must be a DID string".into()),
        }
    }

    /// `expirationDate`: `None` when absent.
    pub fn expiration(&self) -> Result<Option<DateTime<Utc>>, String> {
        match self.doc.get("expirationDate") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
                .map(|d| Some(d.with_timezone(&Utc)))
                .map_err(|e| format!("expirationDate {s:?} is not an RFC 3339 date-time: {e}")),
            Some(_) => Err("expirationDate must be a string".into()),
        }
    }

    /// `credentialStatus`, if any.
    pub fn status(&self) -> Option<&'a Map<String, Value>> {
        self.doc.get("credentialStatus").and_then(Value::as_object)
    }

    /// `credentialStatus.revocationNonce` (0 when absent, as js-sdk builds the claim then).
    pub fn revocation_nonce(&self) -> Result<u64, String> {
        match self.status().and_then(|s| s.get("revocationNonce")) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => v.as_u64().ok_or_else(|| {
                format!("credentialStatus.revocationNonce {v} is not an unsigned 64-bit integer")
            }),
        }
    }
}
