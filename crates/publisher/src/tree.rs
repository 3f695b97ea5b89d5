//! Computing the next identity state of an issuer from its persisted trees.
//!
//! The trees live in the database as content-addressed nodes. `iden3`'s Merkle tree is
//! synchronous, so the computation runs on a blocking thread and reads nodes through
//! [`DbNodes`], which asks the publisher's [`NodeCache`] first and otherwise waits on the async
//! store; new nodes stay in a [`PendingNodes`] overlay until they are persisted with the
//! transition.

use crate::nodes::NodeCache;
use claimd_core::store::{IdentityRoots, PendingWork, Store, StoreError};
use claimd_iden3::claim::Claim;
use claimd_iden3::id::identity_state;
use claimd_iden3::merkletree::{MerkleTree, Node, NodeReader, PendingNodes, IDEN3_DEPTH};
use claimd_iden3::Fr;
use std::collections::HashSet;
use std::sync::Arc;

/// Why a state could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("tree: {0}")]
    Tree(#[from] claimd_iden3::merkletree::TreeError),
    #[error("credential {hash}: bad core claim: {detail}")]
    BadClaim { hash: String, detail: String },
}

/// Nodes read through the cache from the store, from a thread outside the async runtime.
struct DbNodes<'a> {
    store: Arc<dyn Store>,
    runtime: tokio::runtime::Handle,
    cache: &'a NodeCache,
}

impl NodeReader for DbNodes<'_> {
    type Error = StoreError;
    fn get(&self, hash: &Fr) -> Result<Option<Node>, StoreError> {
        if let Some(node) = self.cache.get(hash) {
            return Ok(Some(node));
        }
        let node = self.runtime.block_on(self.store.tree_node(*hash))?;
        if let Some(node) = node {
            self.cache.insert(*hash, node);
        }
        Ok(node)
    }
}

/// The new roots and the nodes to persist for them.
pub struct Computed {
    pub new: IdentityRoots,
    pub nodes: Vec<(Fr, Node)>,
}

/// What a transition adds: the auth claim alone for the first one, then credentials' claims
/// and revocation nonces.
pub enum Additions<'a> {
    Onboarding { auth_claim: Box<Claim> },
    Work(&'a PendingWork),
}

/// Applies `additions` on top of `old` (empty trees for the first transition). Blocking: call
/// it from `spawn_blocking`. The new nodes go into `cache` too: the next transition starts from
/// them.
pub fn compute(
    store: Arc<dyn Store>,
    runtime: tokio::runtime::Handle,
    cache: &NodeCache,
    old: Option<IdentityRoots>,
    additions: Additions<'_>,
) -> Result<Computed, TreeError> {
    let db = DbNodes {
        store,
        runtime,
        cache,
    };
    let (claims_root, revocation_root, roots_root) = old
        .map(|o| (o.claims_root, o.revocation_root, o.roots_root))
        .unwrap_or((Fr::ZERO, Fr::ZERO, Fr::ZERO));

    let mut claim_entries = Vec::new();
    let mut revoked = Vec::new();
    match additions {
        Additions::Onboarding { auth_claim } => claim_entries.push(auth_claim.hi_hv()),
        Additions::Work(work) => {
            for c in &work.claims {
                let claim = Claim::from_hex(&c.core_claim).map_err(|e| TreeError::BadClaim {
                    hash: c.core_claim_hash.clone(),
                    detail: e.to_string(),
                })?;
                claim_entries.push(claim.hi_hv());
            }
            for r in &work.revocations {
                // iden3: the revocation tree maps a nonce to the claim version, always 0 here.
                revoked.push((Fr::from_u64(r.revocation_nonce), Fr::ZERO));
            }
        }
    }

    let mut claims = MerkleTree::with_root(PendingNodes::new(&db), claims_root, IDEN3_DEPTH)?;
    claims.add_batch(&claim_entries)?;
    let mut revocations =
        MerkleTree::with_root(PendingNodes::new(&db), revocation_root, IDEN3_DEPTH)?;
    revocations.add_batch(&revoked)?;
    let mut roots = MerkleTree::with_root(PendingNodes::new(&db), roots_root, IDEN3_DEPTH)?;
    // iden3 records every claims root the identity ever had in its roots tree.
    if claims.root() != claims_root {
        roots.add(claims.root(), Fr::ZERO)?;
    }

    let new = IdentityRoots {
        claims_root: claims.root(),
        revocation_root: revocations.root(),
        roots_root: roots.root(),
        state: identity_state(claims.root(), revocations.root(), roots.root()),
    };
    // The three trees can share a node (the same leaf or subtree in two of them): write it once.
    let mut seen = HashSet::new();
    let nodes: Vec<(Fr, Node)> = [claims, revocations, roots]
        .into_iter()
        .flat_map(|tree| tree.into_store().into_new_nodes())
        .filter(|(hash, _)| seen.insert(*hash))
        .collect();
    for (hash, node) in &nodes {
        cache.insert(*hash, *node);
    }
    Ok(Computed { new, nodes })
}
