//! Building the depth-40 tree of a credential with claimd-iden3's sparse Merkle tree, reusing
//! the part that is the same for every credential of a shape.
//!
//! Credentials of one schema have the same paths, hence the same tree keys, and many of their
//! leaves have the same values too (types, issuer, schema, status type). An iden3 tree is
//! canonical for its leaf set, so a tree holding those common leaves can be built once and the
//! remaining leaves batch-inserted into a copy of it: only the nodes on the paths of the
//! differing leaves are hashed again. The root is the same as inserting everything.

use std::sync::{Arc, RwLock};

use claimd_iden3::merkletree::{MemoryStore, MerkleTree, TreeError, IDEN3_DEPTH};
use claimd_iden3::Fr;

use crate::error::MerklizeError;

/// A tree holding the leaves common to the credentials of a shape seen so far.
#[derive(Debug)]
pub(crate) struct BaseTree {
    leaves: Vec<(Fr, Fr)>,
    tree: MerkleTree<MemoryStore>,
}

/// The base tree of one shape; it only ever shrinks to the intersection of the leaf sets seen.
#[derive(Debug, Default)]
pub(crate) struct BaseSlot(RwLock<Option<Arc<BaseTree>>>);

fn tree_err(e: TreeError) -> MerklizeError {
    match e {
        TreeError::KeyAlreadyExists => {
            MerklizeError::DuplicateKey("two entries have the same path".into())
        }
        other => MerklizeError::Hash(other.to_string()),
    }
}

fn empty() -> Result<MerkleTree<MemoryStore>, MerklizeError> {
    MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH).map_err(tree_err)
}

/// The tree of `leaves`, built from scratch.
pub(crate) fn build(leaves: &[(Fr, Fr)]) -> Result<MerkleTree<MemoryStore>, MerklizeError> {
    let mut t = empty()?;
    t.add_batch(leaves).map_err(tree_err)?;
    Ok(t)
}

impl BaseSlot {
    /// The tree of `leaves`, reusing (and maintaining) this shape's base tree.
    pub(crate) fn build(
        &self,
        leaves: &[(Fr, Fr)],
    ) -> Result<MerkleTree<MemoryStore>, MerklizeError> {
        let current = self.0.read().unwrap_or_else(|p| p.into_inner()).clone();
        let base = match current {
            Some(b) if b.leaves.iter().all(|l| leaves.contains(l)) => b,
            Some(b) => {
                // Some common leaf changed: keep only what this credential shares.
                let common: Vec<(Fr, Fr)> = b
                    .leaves
                    .iter()
                    .filter(|l| leaves.contains(l))
                    .copied()
                    .collect();
                self.replace(common)?
            }
            None => {
                // First credential of the shape: a full build, kept whole as the base.
                let t = build(leaves)?;
                let mut slot = self.0.write().unwrap_or_else(|p| p.into_inner());
                if slot.is_none() {
                    *slot = Some(Arc::new(BaseTree {
                        leaves: leaves.to_vec(),
                        tree: t.clone(),
                    }));
                }
                return Ok(t);
            }
        };
        let rest: Vec<(Fr, Fr)> = leaves
            .iter()
            .filter(|l| !base.leaves.contains(l))
            .copied()
            .collect();
        // `leaves` may repeat a key with two values; the batch (or the base) then refuses it,
        // exactly as a full build would.
        let mut t = base.tree.clone();
        t.add_batch(&rest).map_err(tree_err)?;
        Ok(t)
    }

    fn replace(&self, common: Vec<(Fr, Fr)>) -> Result<Arc<BaseTree>, MerklizeError> {
        let tree = build(&common)?;
        let b = Arc::new(BaseTree {
            leaves: common,
            tree,
        });
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Some(b.clone());
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: u64) -> Fr {
        Fr::from_u64(v)
    }

    #[test]
    fn base_reuse_gives_the_full_build_root() {
        let slot = BaseSlot::default();
        let docs: Vec<Vec<(Fr, Fr)>> = vec![
            vec![(f(1), f(10)), (f(2), f(20)), (f(3), f(30)), (f(4), f(40))],
            vec![(f(1), f(10)), (f(2), f(21)), (f(3), f(30)), (f(4), f(41))],
            vec![(f(1), f(10)), (f(2), f(22)), (f(3), f(30)), (f(4), f(42))],
            vec![(f(1), f(11)), (f(2), f(22)), (f(3), f(30)), (f(5), f(42))],
            vec![(f(1), f(10)), (f(3), f(30))],
            vec![(f(3), f(30)), (f(3), f(31))],
        ];
        for d in &docs[..5] {
            assert_eq!(slot.build(d).unwrap().root(), build(d).unwrap().root());
        }
        assert!(matches!(
            slot.build(&docs[5]),
            Err(MerklizeError::DuplicateKey(_))
        ));
        // Published go-merkletree vector through the base path.
        let s = BaseSlot::default();
        let v = [(f(1), f(2)), (f(33), f(44)), (f(1234), f(9876))];
        s.build(&v[..2]).unwrap();
        assert_eq!(
            s.build(&v).unwrap().root().to_string(),
            "14204494359367183802864593755198662203838502594566452929175967972147978322084"
        );
    }
}
