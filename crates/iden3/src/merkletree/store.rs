//! Content-addressed node storage behind the sparse Merkle tree.

use std::collections::HashMap;
use std::convert::Infallible;

use crate::field::Fr;
use crate::poseidon;

/// A stored tree node. The empty node (hash 0) is implicit and never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    /// A leaf holding one entry; hash `Poseidon(key, value, 1)`.
    Leaf {
        /// Entry key (for claims: `hIndex`).
        key: Fr,
        /// Entry value (for claims: `hValue`).
        value: Fr,
    },
    /// An inner node; hash `Poseidon(left, right)` (0 stands for an empty child).
    Middle {
        /// Hash of the left child (path bit 0).
        left: Fr,
        /// Hash of the right child (path bit 1).
        right: Fr,
    },
}

impl Node {
    /// The node's hash, i.e. its address in a [`NodeStore`].
    pub fn hash(&self) -> Fr {
        match *self {
            Node::Leaf { key, value } => leaf_hash(key, value),
            Node::Middle { left, right } => poseidon::hash2(left, right),
        }
    }

    /// The node as the field elements iden3 hashes: `[k, v, 1]` for a leaf, `[l, r]` for a
    /// middle node (the shape of the Reverse Hash Service / `IdentityTreeStore.saveNodes`).
    pub fn children(&self) -> Vec<Fr> {
        match *self {
            Node::Leaf { key, value } => vec![key, value, Fr::ONE],
            Node::Middle { left, right } => vec![left, right],
        }
    }
}

/// `Poseidon(key, value, 1)`: the hash of a leaf.
pub fn leaf_hash(key: Fr, value: Fr) -> Fr {
    poseidon::hash3(key, value, Fr::ONE)
}

/// Read access to nodes by hash.
///
/// Implement this for a database snapshot; combine it with [`PendingNodes`] to collect the
/// nodes a batch creates and persist them yourself.
pub trait NodeReader {
    /// Storage error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// The node with this hash, `None` if unknown. Never called with hash 0 (the empty node).
    fn get(&self, hash: &Fr) -> Result<Option<Node>, Self::Error>;
}

/// Read-write node storage. `put` is called once per newly created node, with `hash ==
/// node.hash()`; storing the same pair twice must be harmless (content addressing).
pub trait NodeStore: NodeReader {
    /// Stores a node under its hash.
    fn put(&mut self, hash: Fr, node: Node) -> Result<(), Self::Error>;
}

impl<R: NodeReader + ?Sized> NodeReader for &R {
    type Error = R::Error;
    fn get(&self, hash: &Fr) -> Result<Option<Node>, Self::Error> {
        (**self).get(hash)
    }
}

/// An in-memory [`NodeStore`] (a hash map); nodes are never removed.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    nodes: HashMap<Fr, Node>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Number of stored nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// `true` if nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// All stored `(hash, node)` pairs, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Fr, &Node)> {
        self.nodes.iter()
    }
}

impl NodeReader for MemoryStore {
    type Error = Infallible;
    fn get(&self, hash: &Fr) -> Result<Option<Node>, Infallible> {
        Ok(self.nodes.get(hash).copied())
    }
}

impl NodeStore for MemoryStore {
    fn put(&mut self, hash: Fr, node: Node) -> Result<(), Infallible> {
        self.nodes.insert(hash, node);
        Ok(())
    }
}

impl Extend<(Fr, Node)> for MemoryStore {
    fn extend<I: IntoIterator<Item = (Fr, Node)>>(&mut self, iter: I) {
        self.nodes.extend(iter);
    }
}

/// A write overlay over a read-only base: reads see new nodes first, then the base; writes
/// stay in memory until taken with [`PendingNodes::into_new_nodes`].
///
/// This is how a service applies a batch to a persisted tree: build a
/// [`MerkleTree`](super::MerkleTree) over `PendingNodes::new(&db_snapshot)`, insert, then
/// write the returned nodes and the new root in one database transaction.
#[derive(Debug)]
pub struct PendingNodes<R> {
    base: R,
    new: HashMap<Fr, Node>,
    order: Vec<Fr>,
}

impl<R: NodeReader> PendingNodes<R> {
    /// An empty overlay over `base`.
    pub fn new(base: R) -> PendingNodes<R> {
        PendingNodes {
            base,
            new: HashMap::new(),
            order: Vec::new(),
        }
    }

    /// Number of distinct new nodes so far.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// `true` if no node was written.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The new nodes in creation order (children before parents), each once.
    pub fn new_nodes(&self) -> impl Iterator<Item = (Fr, Node)> + '_ {
        self.order
            .iter()
            .filter_map(|h| self.new.get(h).map(|n| (*h, *n)))
    }

    /// Consumes the overlay, returning the new nodes in creation order.
    pub fn into_new_nodes(self) -> Vec<(Fr, Node)> {
        let mut new = self.new;
        self.order
            .into_iter()
            .filter_map(|h| new.remove(&h).map(|n| (h, n)))
            .collect()
    }
}

impl<R: NodeReader> NodeReader for PendingNodes<R> {
    type Error = R::Error;
    fn get(&self, hash: &Fr) -> Result<Option<Node>, R::Error> {
        match self.new.get(hash) {
            Some(n) => Ok(Some(*n)),
            None => self.base.get(hash),
        }
    }
}

impl<R: NodeReader> NodeStore for PendingNodes<R> {
    fn put(&mut self, hash: Fr, node: Node) -> Result<(), R::Error> {
        if self.new.insert(hash, node).is_none() {
            self.order.push(hash);
        }
        Ok(())
    }
}
