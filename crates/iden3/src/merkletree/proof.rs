//! Merkle proofs in iden3's form and their verification.

use serde::{Deserialize, Serialize};

use super::store::leaf_hash;
use crate::field::Fr;
use crate::poseidon;

/// The other leaf met on the key's path in a non-existence proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAux {
    /// Its key.
    pub key: Fr,
    /// Its value.
    pub value: Fr,
}

/// An inclusion or non-inclusion proof, as go-merkletree-sql / js-merkletree produce it.
///
/// JSON: `{"existence": bool, "siblings": ["<decimal>", …], "node_aux": {"key", "value"}}`,
/// `siblings` from the root downwards to the depth where the path ended (zeros kept), and
/// `node_aux` only for a non-existence proof that ended at another leaf. Parsing also accepts
/// the older `nodeAux` spelling (as js-merkletree does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// `true`: the key is in the tree (with the value given to [`Proof::verify`]). Absent in
    /// JSON means `false`, as js-merkletree reads it.
    #[serde(default)]
    pub existence: bool,
    /// Sibling hashes, level 0 (just below the root) first.
    pub siblings: Vec<Fr>,
    /// The leaf found on the key's path instead (non-existence only).
    #[serde(default, alias = "nodeAux", skip_serializing_if = "Option::is_none")]
    pub node_aux: Option<NodeAux>,
}

/// Why a proof could not be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// A key has at most 254 significant path bits; deeper proofs are malformed.
    #[error("proof has {0} siblings, more than a key has path bits")]
    TooDeep(usize),
    /// A non-existence proof whose auxiliary leaf has the very key being proven absent.
    #[error("non-existence proof names the queried key as its auxiliary leaf")]
    AuxKeyEqualsKey,
    /// An existence proof must not carry an auxiliary leaf.
    #[error("existence proof carries an auxiliary leaf")]
    AuxInExistenceProof,
    /// The auxiliary leaf could not sit at the end of this key's path.
    #[error("auxiliary leaf does not share the queried key's path")]
    AuxPathMismatch,
}

impl Proof {
    /// Number of levels the proof descends (= `siblings.len()`).
    pub fn depth(&self) -> usize {
        self.siblings.len()
    }

    /// The root this proof implies for `key` (and `value` if it is an existence proof; for a
    /// non-existence proof `value` is ignored). Equivalent to go-merkletree `RootFromProof`.
    pub fn root(&self, key: Fr, value: Fr) -> Result<Fr, ProofError> {
        let depth = self.siblings.len();
        if depth > 256 {
            return Err(ProofError::TooDeep(depth));
        }
        let mut acc = if self.existence {
            if self.node_aux.is_some() {
                return Err(ProofError::AuxInExistenceProof);
            }
            leaf_hash(key, value)
        } else {
            match self.node_aux {
                None => Fr::ZERO,
                Some(aux) => {
                    if aux.key == key {
                        return Err(ProofError::AuxKeyEqualsKey);
                    }
                    // In a well-formed tree the other leaf sits where its own path leads; it
                    // can only end this key's path if both keys agree on the first `depth` bits.
                    if (0..depth).any(|lvl| aux.key.bit(lvl) != key.bit(lvl)) {
                        return Err(ProofError::AuxPathMismatch);
                    }
                    leaf_hash(aux.key, aux.value)
                }
            }
        };
        for (lvl, sibling) in self.siblings.iter().enumerate().rev() {
            acc = if key.bit(lvl) {
                poseidon::hash2(*sibling, acc)
            } else {
                poseidon::hash2(acc, *sibling)
            };
        }
        Ok(acc)
    }

    /// `true` iff the proof is well-formed and implies `root` for this key (and value, for an
    /// existence proof).
    pub fn verify(&self, root: Fr, key: Fr, value: Fr) -> bool {
        self.root(key, value).is_ok_and(|r| r == root)
    }
}
