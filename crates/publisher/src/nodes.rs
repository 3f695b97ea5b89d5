//! The bounded in-memory cache of tree nodes in front of the store.
//!
//! Tree nodes are content-addressed and never change, so a cached node can never be stale and
//! nothing is ever invalidated ([`ImmutableCache`]). Computing a transition walks, for every
//! added leaf, the path from the root down (about twenty nodes deep at a hundred thousand
//! leaves); the upper levels are shared by every path and the nodes written by one transition
//! are the ones the next one reads, so without the cache most of a transition's time is spent
//! on one-row queries.

use claimd_core::immutable::ImmutableCache;
use claimd_iden3::merkletree::Node;
use claimd_iden3::Fr;

/// Nodes per generation: two generations of this many are at most ~60 MB.
pub(crate) const GENERATION: usize = 200_000;

pub(crate) type NodeCache = ImmutableCache<Fr, Node>;
