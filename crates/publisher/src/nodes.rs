//! A bounded in-memory cache of tree nodes in front of the store.
//!
//! Tree nodes are content-addressed and never change, so a cached node can never be stale and
//! nothing is ever invalidated. Computing a transition walks, for every added leaf, the path
//! from the root down (about twenty nodes deep at a hundred thousand leaves); the upper levels
//! are shared by every path and the nodes written by one transition are the ones the next one
//! reads, so without the cache most of a transition's time is spent on one-row queries.
//!
//! Bounded by two generations: lookups hit the young one or promote from the old one; when the
//! young one is full it becomes the old one and the previous old one is dropped. Memory stays
//! under two generations' worth whatever the tree size; recently used nodes survive.

use claimd_iden3::merkletree::Node;
use claimd_iden3::Fr;
use std::collections::HashMap;
use std::sync::Mutex;

/// Nodes per generation: two generations of this many are at most ~60 MB.
pub(crate) const GENERATION: usize = 200_000;

#[derive(Default)]
struct Generations {
    young: HashMap<Fr, Node>,
    old: HashMap<Fr, Node>,
}

pub(crate) struct NodeCache {
    generation: usize,
    inner: Mutex<Generations>,
}

impl NodeCache {
    pub(crate) fn new(generation: usize) -> NodeCache {
        NodeCache {
            generation: generation.max(1),
            inner: Mutex::new(Generations::default()),
        }
    }

    pub(crate) fn get(&self, hash: &Fr) -> Option<Node> {
        let mut g = self.lock();
        if let Some(node) = g.young.get(hash) {
            return Some(*node);
        }
        let node = g.old.remove(hash)?;
        self.put_locked(&mut g, *hash, node);
        Some(node)
    }

    pub(crate) fn insert(&self, hash: Fr, node: Node) {
        let mut g = self.lock();
        self.put_locked(&mut g, hash, node);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let g = self.lock();
        g.young.len() + g.old.len()
    }

    fn put_locked(&self, g: &mut Generations, hash: Fr, node: Node) {
        if g.young.len() >= self.generation {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(hash, node);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        // A panic while holding the lock cannot leave a wrong node behind (inserts are whole
        // entries of immutable data), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u64) -> (Fr, Node) {
        let node = Node::Leaf {
            key: Fr::from_u64(i),
            value: Fr::ZERO,
        };
        (node.hash(), node)
    }

    #[test]
    fn stays_within_two_generations_and_keeps_what_is_used() {
        let cache = NodeCache::new(4);
        let (hot, hot_node) = leaf(0);
        cache.insert(hot, hot_node);
        for i in 1..100 {
            let (h, n) = leaf(i);
            cache.insert(h, n);
            // Used all along: promoted back into the young generation each time it ages.
            assert_eq!(cache.get(&hot), Some(hot_node), "after {i} inserts");
            assert!(cache.len() <= 8, "{} nodes cached", cache.len());
        }
        let (cold, _) = leaf(1);
        assert_eq!(cache.get(&cold), None, "an unused old node was dropped");
    }
}
