//! What holders and verifiers read about published states: a credential's
//! `Iden3SparseMerkleTreeProof`, the public revocation status of a nonce (the
//! `SparseMerkleTreeProof` credential status), and an issuer's latest confirmed state.
//!
//! Everything is derived from the stored, content-addressed tree nodes (never deleted), so a
//! proof at any confirmed root can be made at any time and is the same every time.

use crate::credential::CredentialRecord;
use crate::identity;
use crate::secrets::MasterKey;
use crate::store::{IdentityRoots, PublishedState, Store, StoreError};
use claimd_iden3::claim::Claim;
use claimd_iden3::merkletree::{MemoryStore, MerkleTree, Node, NodeStore, Proof, IDEN3_DEPTH};
use claimd_iden3::Fr;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored data that cannot be what it claims (a bug or corruption).
    #[error("{0}")]
    Corrupt(String),
}

/// The roots of an identity state, as iden3 prints them (64-hex little-endian).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateRoots {
    pub state: String,
    pub claims_tree_root: String,
    pub revocation_tree_root: String,
    pub root_of_roots: String,
}

impl From<&IdentityRoots> for StateRoots {
    fn from(r: &IdentityRoots) -> Self {
        StateRoots {
            state: r.state.to_le_hex(),
            claims_tree_root: r.claims_root.to_le_hex(),
            revocation_tree_root: r.revocation_root.to_le_hex(),
            root_of_roots: r.roots_root.to_le_hex(),
        }
    }
}

/// The `SparseMerkleTreeProof` revocation status (iden3's `RevocationStatus`): the issuer's
/// latest confirmed state and the proof of the nonce in its revocation tree. `mtp.existence`
/// means revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevocationStatus {
    pub issuer: StateRoots,
    pub mtp: Proof,
}

/// `GET /v1/issuers/{issuerDid}/state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerState {
    pub issuer_did: String,
    #[serde(flatten)]
    pub roots: StateRoots,
    pub tx_hash: String,
    pub block_number: u64,
    pub block_timestamp: u64,
}

pub struct Proofs {
    store: Arc<dyn Store>,
    master_key: MasterKey,
}

impl Proofs {
    /// `master_key` opens issuers' Baby Jubjub keys: before its first transition is
    /// confirmed, an issuer's revocation status names the state its signatures name.
    pub fn new(store: Arc<dyn Store>, master_key: MasterKey) -> Proofs {
        Proofs { store, master_key }
    }

    /// The credential's W3C document with every proof it has: `BJJSignature2021` from the
    /// start, plus `Iden3SparseMerkleTreeProof` once the state holding its claim is confirmed.
    pub async fn document(&self, record: &CredentialRecord) -> Result<Value, ProofError> {
        let mut vc: Value = serde_json::from_str(&record.document)
            .map_err(|e| ProofError::Corrupt(format!("stored document: {e}")))?;
        if let Some(mtp) = self.mtp_proof(record).await? {
            match vc.get_mut("proof") {
                Some(Value::Array(proofs)) => proofs.push(mtp),
                _ => vc["proof"] = json!([mtp]),
            }
        }
        Ok(vc)
    }

    /// The credential's `Iden3SparseMerkleTreeProof`, `None` until its claim is confirmed.
    pub async fn mtp_proof(&self, record: &CredentialRecord) -> Result<Option<Value>, ProofError> {
        let Some(at) = self
            .store
            .claim_publication(&record.core_claim_hash)
            .await?
        else {
            return Ok(None);
        };
        let claim = Claim::from_hex(&record.core_claim)
            .map_err(|e| ProofError::Corrupt(format!("stored core claim: {e}")))?;
        let (hi, hv) = claim.hi_hv();
        let (mtp, value) = self.prove(at.roots.claims_root, hi).await?;
        if !mtp.existence || value != Some(hv) {
            return Err(ProofError::Corrupt(format!(
                "claim of {} is not in the claims tree of the state it was confirmed in",
                record.core_claim_hash
            )));
        }
        Ok(Some(mtp_json(&record.issuer_did, &at, &claim, &mtp)))
    }

    /// The revocation status of `nonce` for the issuer with this DID; `None` for an unknown
    /// issuer. A nonce never issued is simply not revoked.
    pub async fn revocation_status(
        &self,
        issuer_did: &str,
        nonce: u64,
    ) -> Result<Option<RevocationStatus>, ProofError> {
        let Some(issuer) = self.store.issuer_by_did(issuer_did).await? else {
            return Ok(None);
        };
        let roots = match self.store.published_state(issuer.issuer_id).await? {
            Some(p) => p.roots,
            None => self.onboarding_roots(issuer.issuer_id).await?,
        };
        let (mtp, _) = self
            .prove(roots.revocation_root, Fr::from_u64(nonce))
            .await?;
        Ok(Some(RevocationStatus {
            issuer: StateRoots::from(&roots),
            mtp,
        }))
    }

    /// The issuer's latest confirmed state; `None` for an unknown issuer, `Some(None)` before
    /// its first transition is confirmed.
    pub async fn issuer_state(
        &self,
        issuer_did: &str,
    ) -> Result<Option<Option<IssuerState>>, ProofError> {
        let Some(issuer) = self.store.issuer_by_did(issuer_did).await? else {
            return Ok(None);
        };
        let published = self.store.published_state(issuer.issuer_id).await?;
        Ok(Some(published.map(|p| IssuerState {
            issuer_did: issuer.issuer_did,
            roots: StateRoots::from(&p.roots),
            tx_hash: p.tx_hash,
            block_number: p.block_number,
            block_timestamp: p.block_timestamp,
        })))
    }

    /// The state the issuer's first transition publishes (see
    /// [`identity::onboarding_state`]).
    async fn onboarding_roots(&self, issuer: crate::IssuerId) -> Result<IdentityRoots, ProofError> {
        let sealed = self
            .store
            .issuer_keys(issuer)
            .await?
            .ok_or(StoreError::NotFound("issuer keys"))?;
        let key = sealed
            .open_bjj(&self.master_key, issuer)
            .map_err(ProofError::Corrupt)?;
        let ob = identity::onboarding_state(&key).map_err(ProofError::Corrupt)?;
        Ok(IdentityRoots {
            claims_root: ob.claims_root,
            revocation_root: ob.revocation_root,
            roots_root: ob.roots_root,
            state: ob.state,
        })
    }

    /// A proof for `key` at `root`: the nodes on the key's path are read from the store, then
    /// the iden3 tree makes the proof from them.
    async fn prove(&self, root: Fr, key: Fr) -> Result<(Proof, Option<Fr>), ProofError> {
        let mut path = MemoryStore::new();
        let mut at = root;
        for lvl in 0..IDEN3_DEPTH {
            if at == Fr::ZERO {
                break;
            }
            let node = self.store.tree_node(at).await?.ok_or_else(|| {
                ProofError::Corrupt(format!("tree node {} missing", at.to_le_hex()))
            })?;
            let _ = path.put(at, node);
            match node {
                Node::Leaf { .. } => break,
                Node::Middle { left, right } => at = if key.bit(lvl) { right } else { left },
            }
        }
        let tree = MerkleTree::with_root(path, root, IDEN3_DEPTH)
            .map_err(|e| ProofError::Corrupt(e.to_string()))?;
        tree.generate_proof(key)
            .map_err(|e| ProofError::Corrupt(e.to_string()))
    }
}

/// iden3's `Iden3SparseMerkleTreeProof`, in the key order js-sdk emits
/// (reference/credential-shape.md).
fn mtp_json(issuer_did: &str, at: &PublishedState, claim: &Claim, mtp: &Proof) -> Value {
    let roots = StateRoots::from(&at.roots);
    json!({
        "issuerData": {
            "id": issuer_did,
            "state": {
                "claimsTreeRoot": roots.claims_tree_root,
                "revocationTreeRoot": roots.revocation_tree_root,
                "rootOfRoots": roots.root_of_roots,
                "value": roots.state,
                "txId": at.tx_hash,
                "blockNumber": at.block_number,
                "blockTimestamp": at.block_timestamp,
            }
        },
        "type": "Iden3SparseMerkleTreeProof",
        "coreClaim": claim.to_hex(),
        "mtp": mtp,
    })
}
