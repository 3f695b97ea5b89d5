//! iden3's sparse Merkle tree (go-merkletree-sql / js-merkletree semantics).
//!
//! * Leaf hash `Poseidon(key, value, 1)`, middle hash `Poseidon(left, right)`, empty = 0.
//! * The path of a key is its bits, least significant first: bit `n` chooses the child at
//!   level `n` (0 = left, 1 = right).
//! * Compression: a leaf sits at the shallowest level where it is alone in its subtree (no
//!   chain of single-child middle nodes down to the full depth).
//! * `max_depth` ("maxLevels"; 40 for iden3 claims, revocation and roots trees) bounds the
//!   level of a leaf to `max_depth − 1`: adding a key that would need to go deeper fails with
//!   [`TreeError::ReachedMaxLevel`], as in Go and JS.
//! * Nodes are content-addressed in a [`NodeStore`]; nothing is ever deleted, so proofs at any
//!   historical root remain available ([`MerkleTree::generate_proof_at`]).
//!
//! ```
//! use claimd_iden3::merkletree::{MemoryStore, MerkleTree};
//! use claimd_iden3::Fr;
//!
//! let mut tree = MerkleTree::new(MemoryStore::new(), 40)?;
//! tree.add(Fr::from_u64(1), Fr::from_u64(2))?;
//! tree.add(Fr::from_u64(33), Fr::from_u64(44))?;
//! let (proof, value) = tree.generate_proof(Fr::from_u64(33))?;
//! assert_eq!(value, Some(Fr::from_u64(44)));
//! assert!(proof.verify(tree.root(), Fr::from_u64(33), Fr::from_u64(44)));
//! # Ok::<(), claimd_iden3::merkletree::TreeError>(())
//! ```

mod proof;
mod store;

pub use proof::{NodeAux, Proof, ProofError};
pub use store::{leaf_hash, MemoryStore, Node, NodeReader, NodeStore, PendingNodes};

use crate::field::Fr;

/// Depth (maxLevels) of the iden3 identity trees: claims, revocation, roots.
pub const IDEN3_DEPTH: usize = 40;

/// Largest supported `max_depth` (a key has at most 254 significant bits; 256 is accepted as
/// an upper bound).
pub const MAX_DEPTH: usize = 256;

/// Errors of tree operations.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// `add` of a key that is already present (go-merkletree `ErrEntryIndexAlreadyExists`).
    #[error("key already exists in the tree")]
    KeyAlreadyExists,
    /// `update` of an absent key.
    #[error("key not found in the tree")]
    KeyNotFound,
    /// The key would have to go below the tree's maximum depth.
    #[error("reached maximum tree depth")]
    ReachedMaxLevel,
    /// The depth must be in `1..=256`.
    #[error("invalid tree depth {0} (must be 1..=256)")]
    InvalidDepth(usize),
    /// A node referenced by the tree is missing from the store.
    #[error("node {0} referenced by the tree is missing from the store")]
    MissingNode(Fr),
    /// The node store failed.
    #[error("node store: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn store_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> TreeError {
    TreeError::Store(Box::new(e))
}

/// A sparse Merkle tree over a [`NodeStore`], positioned at one root.
#[derive(Debug, Clone)]
pub struct MerkleTree<S> {
    store: S,
    root: Fr,
    max_depth: usize,
}

impl<S: NodeStore> MerkleTree<S> {
    /// An empty tree (root 0).
    pub fn new(store: S, max_depth: usize) -> Result<MerkleTree<S>, TreeError> {
        MerkleTree::with_root(store, Fr::ZERO, max_depth)
    }

    /// A tree at an existing root whose nodes are in `store`.
    pub fn with_root(store: S, root: Fr, max_depth: usize) -> Result<MerkleTree<S>, TreeError> {
        if max_depth == 0 || max_depth > MAX_DEPTH {
            return Err(TreeError::InvalidDepth(max_depth));
        }
        Ok(MerkleTree {
            store,
            root,
            max_depth,
        })
    }

    /// The current root.
    pub fn root(&self) -> Fr {
        self.root
    }

    /// The maximum depth ("maxLevels").
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// The node store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The node store, mutably (e.g. to drain collected nodes).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Consumes the tree, returning its store.
    pub fn into_store(self) -> S {
        self.store
    }

    fn node(&self, hash: Fr) -> Result<Option<Node>, TreeError> {
        if hash.is_zero() {
            return Ok(None);
        }
        match self.store.get(&hash).map_err(store_err)? {
            Some(n) => Ok(Some(n)),
            None => Err(TreeError::MissingNode(hash)),
        }
    }

    fn put(&mut self, node: Node) -> Result<Fr, TreeError> {
        let h = node.hash();
        self.store.put(h, node).map_err(store_err)?;
        Ok(h)
    }

    /// Adds an entry. Fails with [`TreeError::KeyAlreadyExists`] if the key is present; the
    /// root is unchanged on any error.
    pub fn add(&mut self, key: Fr, value: Fr) -> Result<(), TreeError> {
        self.add_batch(&[(key, value)])
    }

    /// Adds many entries at once. The resulting root equals adding them one by one in any
    /// order, but every new node is computed and stored exactly once (intermediate roots are
    /// never materialised). All-or-nothing: on error (duplicate key within the batch or with
    /// the tree, depth exceeded) the root is unchanged. Nodes already written to the store by a
    /// failed batch are unreferenced and harmless.
    pub fn add_batch(&mut self, entries: &[(Fr, Fr)]) -> Result<(), TreeError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut sorted: Vec<(Fr, Fr)> = entries.to_vec();
        sorted.sort_unstable_by_key(|e| e.0);
        if sorted.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(TreeError::KeyAlreadyExists);
        }
        let mut leaves: Vec<Pending> = sorted
            .into_iter()
            .map(|(key, value)| Pending {
                key,
                value,
                hash: None,
            })
            .collect();
        let root = self.insert(self.root, 0, &mut leaves)?;
        self.root = root;
        Ok(())
    }

    /// Inserts `leaves` (all sharing the path prefix leading to `at`) below node `at` sitting
    /// at level `lvl`; returns the new hash of that subtree.
    fn insert(&mut self, at: Fr, lvl: usize, leaves: &mut [Pending]) -> Result<Fr, TreeError> {
        if leaves.is_empty() {
            return Ok(at);
        }
        if lvl >= self.max_depth {
            return Err(TreeError::ReachedMaxLevel);
        }
        match self.node(at)? {
            None => self.build(lvl, leaves, None),
            Some(Node::Leaf { key, value }) => {
                if leaves.iter().any(|l| l.key == key) {
                    return Err(TreeError::KeyAlreadyExists);
                }
                // The old leaf is pushed down together with the new ones; it is already
                // stored, so it is carried with its hash and not written again.
                self.build(lvl, leaves, Some((key, value, at)))
            }
            Some(Node::Middle { left, right }) => {
                let split = partition(leaves, lvl);
                let (l, r) = leaves.split_at_mut(split);
                let new_left = self.insert(left, lvl + 1, l)?;
                let new_right = self.insert(right, lvl + 1, r)?;
                self.put(Node::Middle {
                    left: new_left,
                    right: new_right,
                })
            }
        }
    }

    /// Builds a fresh subtree at level `lvl` from new leaves plus, optionally, one existing
    /// leaf `(key, value, hash)` that was the subtree's only content.
    fn build(
        &mut self,
        lvl: usize,
        leaves: &mut [Pending],
        old: Option<(Fr, Fr, Fr)>,
    ) -> Result<Fr, TreeError> {
        let count = leaves.len() + usize::from(old.is_some());
        if count == 0 {
            return Ok(Fr::ZERO);
        }
        if count == 1 {
            if let Some((_, _, h)) = old {
                return Ok(h);
            }
            // A single new leaf lands here; it may be placed at any level < max_depth.
            if lvl >= self.max_depth {
                return Err(TreeError::ReachedMaxLevel);
            }
            let leaf = &mut leaves[0];
            if let Some(h) = leaf.hash {
                return Ok(h);
            }
            let h = self.put(Node::Leaf {
                key: leaf.key,
                value: leaf.value,
            })?;
            leaf.hash = Some(h);
            return Ok(h);
        }
        // Two or more leaves: a middle node here, children one level down.
        if lvl + 1 >= self.max_depth {
            return Err(TreeError::ReachedMaxLevel);
        }
        let split = partition(leaves, lvl);
        let (l, r) = leaves.split_at_mut(split);
        let (old_l, old_r) = match old {
            Some(o) if o.0.bit(lvl) => (None, Some(o)),
            Some(o) => (Some(o), None),
            None => (None, None),
        };
        let left = self.build(lvl + 1, l, old_l)?;
        let right = self.build(lvl + 1, r, old_r)?;
        self.put(Node::Middle { left, right })
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, key: Fr) -> Result<Option<Fr>, TreeError> {
        let (proof, value) = self.generate_proof(key)?;
        Ok(if proof.existence { value } else { None })
    }

    /// Replaces the value of an existing key (go-merkletree `Update`); returns the old value.
    pub fn update(&mut self, key: Fr, value: Fr) -> Result<Fr, TreeError> {
        let mut path = Vec::new();
        let mut at = self.root;
        let mut lvl = 0;
        let old_value = loop {
            match self.node(at)? {
                None => return Err(TreeError::KeyNotFound),
                Some(Node::Leaf { key: k, value: v }) => {
                    if k != key {
                        return Err(TreeError::KeyNotFound);
                    }
                    break v;
                }
                Some(Node::Middle { left, right }) => {
                    if lvl >= self.max_depth {
                        return Err(TreeError::ReachedMaxLevel);
                    }
                    if key.bit(lvl) {
                        path.push(left);
                        at = right;
                    } else {
                        path.push(right);
                        at = left;
                    }
                    lvl += 1;
                }
            }
        };
        let mut acc = self.put(Node::Leaf { key, value })?;
        for (lvl, sibling) in path.iter().enumerate().rev() {
            let node = if key.bit(lvl) {
                Node::Middle {
                    left: *sibling,
                    right: acc,
                }
            } else {
                Node::Middle {
                    left: acc,
                    right: *sibling,
                }
            };
            acc = self.put(node)?;
        }
        self.root = acc;
        Ok(old_value)
    }

    /// A proof of (non-)inclusion of `key` at the current root, with the value if present.
    pub fn generate_proof(&self, key: Fr) -> Result<(Proof, Option<Fr>), TreeError> {
        self.generate_proof_at(key, self.root)
    }

    /// A proof of (non-)inclusion of `key` at any root whose nodes are in the store.
    pub fn generate_proof_at(&self, key: Fr, root: Fr) -> Result<(Proof, Option<Fr>), TreeError> {
        let mut siblings = Vec::new();
        let mut at = root;
        for lvl in 0..self.max_depth {
            match self.node(at)? {
                None => {
                    return Ok((
                        Proof {
                            existence: false,
                            siblings,
                            node_aux: None,
                        },
                        None,
                    ))
                }
                Some(Node::Leaf { key: k, value: v }) => {
                    if k == key {
                        let proof = Proof {
                            existence: true,
                            siblings,
                            node_aux: None,
                        };
                        return Ok((proof, Some(v)));
                    }
                    let proof = Proof {
                        existence: false,
                        siblings,
                        node_aux: Some(NodeAux { key: k, value: v }),
                    };
                    return Ok((proof, None));
                }
                Some(Node::Middle { left, right }) => {
                    if key.bit(lvl) {
                        siblings.push(left);
                        at = right;
                    } else {
                        siblings.push(right);
                        at = left;
                    }
                }
            }
        }
        Err(TreeError::ReachedMaxLevel)
    }
}

/// A leaf being inserted; `hash` is filled once it has been stored.
struct Pending {
    key: Fr,
    value: Fr,
    hash: Option<Fr>,
}

/// Reorders `leaves` so those going left at `lvl` come first; returns how many go left.
fn partition(leaves: &mut [Pending], lvl: usize) -> usize {
    // Stable order is not needed: node hashes depend only on the set of leaves.
    let mut i = 0;
    for j in 0..leaves.len() {
        if !leaves[j].key.bit(lvl) {
            leaves.swap(i, j);
            i += 1;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fr(v: u64) -> Fr {
        Fr::from_u64(v)
    }

    #[test]
    fn empty_tree_has_zero_root_and_non_existence_proofs() -> Result<(), TreeError> {
        let tree = MerkleTree::new(MemoryStore::new(), 40)?;
        assert_eq!(tree.root(), Fr::ZERO);
        let (p, v) = tree.generate_proof(fr(5))?;
        assert!(!p.existence && p.siblings.is_empty() && p.node_aux.is_none() && v.is_none());
        assert!(p.verify(Fr::ZERO, fr(5), Fr::ZERO));
        Ok(())
    }

    #[test]
    fn single_leaf_root_is_leaf_hash() -> Result<(), TreeError> {
        let mut tree = MerkleTree::new(MemoryStore::new(), 40)?;
        tree.add(fr(100), fr(200))?;
        assert_eq!(tree.root(), leaf_hash(fr(100), fr(200)));
        Ok(())
    }

    #[test]
    fn duplicate_keys_are_rejected_and_root_kept() -> Result<(), TreeError> {
        let mut tree = MerkleTree::new(MemoryStore::new(), 40)?;
        tree.add(fr(1), fr(2))?;
        let root = tree.root();
        assert!(matches!(
            tree.add(fr(1), fr(3)),
            Err(TreeError::KeyAlreadyExists)
        ));
        assert!(matches!(
            tree.add_batch(&[(fr(7), fr(0)), (fr(7), fr(1))]),
            Err(TreeError::KeyAlreadyExists)
        ));
        assert!(matches!(
            tree.add_batch(&[(fr(9), fr(0)), (fr(1), fr(1))]),
            Err(TreeError::KeyAlreadyExists)
        ));
        assert_eq!(tree.root(), root);
        Ok(())
    }

    #[test]
    fn max_depth_is_enforced_like_go() -> Result<(), TreeError> {
        // Keys 0 and 2 first differ at bit 1: leaves at level 2, allowed with maxLevels 3 ...
        let mut tree = MerkleTree::new(MemoryStore::new(), 3)?;
        tree.add(fr(0), fr(0))?;
        tree.add(fr(2), fr(0))?;
        // ... but 4 first differs from 0 at bit 2: it would need level 3.
        assert!(matches!(
            tree.add(fr(4), fr(0)),
            Err(TreeError::ReachedMaxLevel)
        ));
        assert!(matches!(
            MerkleTree::new(MemoryStore::new(), 0),
            Err(TreeError::InvalidDepth(0))
        ));
        Ok(())
    }

    #[test]
    fn update_changes_value_and_proofs_follow() -> Result<(), TreeError> {
        let mut tree = MerkleTree::new(MemoryStore::new(), 40)?;
        tree.add_batch(&[(fr(1), fr(2)), (fr(33), fr(44)), (fr(1234), fr(9876))])?;
        let old = tree.update(fr(33), fr(45))?;
        assert_eq!(old, fr(44));
        let mut fresh = MerkleTree::new(MemoryStore::new(), 40)?;
        fresh.add_batch(&[(fr(1), fr(2)), (fr(33), fr(45)), (fr(1234), fr(9876))])?;
        assert_eq!(tree.root(), fresh.root());
        assert!(matches!(
            tree.update(fr(2), fr(0)),
            Err(TreeError::KeyNotFound)
        ));
        assert_eq!(tree.get(fr(33))?, Some(fr(45)));
        assert_eq!(tree.get(fr(34))?, None);
        Ok(())
    }

    #[test]
    fn non_existence_proof_with_aux_leaf() -> Result<(), TreeError> {
        let mut tree = MerkleTree::new(MemoryStore::new(), 40)?;
        tree.add(fr(1), fr(2))?;
        tree.add(fr(2), fr(3))?;
        // 5 = 0b101 follows bit 0 = 1 to the subtree holding only key 1.
        let (p, v) = tree.generate_proof(fr(5))?;
        assert!(!p.existence && v.is_none());
        assert_eq!(
            p.node_aux,
            Some(NodeAux {
                key: fr(1),
                value: fr(2)
            })
        );
        assert!(p.verify(tree.root(), fr(5), Fr::ZERO));
        assert!(!p.verify(tree.root(), fr(1), fr(2)));
        Ok(())
    }

    #[test]
    fn historical_roots_stay_provable() -> Result<(), TreeError> {
        let mut tree = MerkleTree::new(MemoryStore::new(), 40)?;
        tree.add(fr(1), fr(2))?;
        let r1 = tree.root();
        tree.add(fr(3), fr(4))?;
        let (p, _) = tree.generate_proof_at(fr(3), r1)?;
        assert!(!p.existence);
        assert!(p.verify(r1, fr(3), Fr::ZERO));
        Ok(())
    }

    #[test]
    fn pending_nodes_collect_exactly_the_new_nodes() -> Result<(), TreeError> {
        let mut base = MerkleTree::new(MemoryStore::new(), 40)?;
        base.add_batch(&[(fr(1), fr(2)), (fr(33), fr(44))])?;
        let root = base.root();
        let db = base.into_store();
        let before = db.len();

        let mut tree = MerkleTree::with_root(PendingNodes::new(&db), root, 40)?;
        tree.add_batch(&[(fr(1234), fr(9876)), (fr(5), fr(6))])?;
        let new_root = tree.root();
        let new_nodes = tree.into_store().into_new_nodes();
        assert!(new_nodes.iter().all(|(h, n)| n.hash() == *h));
        assert_eq!(new_nodes.last().map(|x| x.0), Some(new_root));

        let mut db2 = db.clone();
        db2.extend(new_nodes.iter().copied());
        assert_eq!(db2.len(), before + new_nodes.len());
        let persisted = MerkleTree::with_root(db2, new_root, 40)?;
        let (p, v) = persisted.generate_proof(fr(5))?;
        assert!(p.existence && v == Some(fr(6)));
        Ok(())
    }
}
