//! A bounded in-memory map for values that never change once stored: content-addressed tree
//! nodes (the publisher), and the registry records issuance reads that have no update
//! (issuers, programs' drafts, schemas' attributes).
//!
//! Because such a value cannot change, a remembered one is never stale and nothing is ever
//! invalidated; only what exists is remembered, so a record created later is still found.
//!
//! Bounded by two generations: lookups hit the young one or promote from the old one; when the
//! young one is full it becomes the old one and the previous old one is dropped. Memory stays
//! under two generations' worth whatever the number of keys; recently used entries survive.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

struct Generations<K, V> {
    young: HashMap<K, V>,
    old: HashMap<K, V>,
}

/// See the module docs.
pub struct ImmutableCache<K, V> {
    generation: usize,
    inner: Mutex<Generations<K, V>>,
}

impl<K: Eq + Hash, V: Clone> ImmutableCache<K, V> {
    /// A cache of at most two generations of `generation` entries each.
    pub fn new(generation: usize) -> Self {
        ImmutableCache {
            generation: generation.max(1),
            inner: Mutex::new(Generations {
                young: HashMap::new(),
                old: HashMap::new(),
            }),
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let mut g = self.lock();
        if let Some(v) = g.young.get(key) {
            return Some(v.clone());
        }
        let (key, v) = g.old.remove_entry(key)?;
        self.put_locked(&mut g, key, v.clone());
        Some(v)
    }

    pub fn insert(&self, key: K, value: V) {
        let mut g = self.lock();
        self.put_locked(&mut g, key, value);
    }

    /// The value of `key`, remembered or else fetched (and remembered when it exists).
    pub async fn get_or_fetch<Q, E, F, Fut>(&self, key: &Q, fetch: F) -> Result<Option<V>, E>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ToOwned<Owned = K> + ?Sized,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<V>, E>>,
    {
        if let Some(v) = self.get(key) {
            return Ok(Some(v));
        }
        let found = fetch().await?;
        if let Some(v) = &found {
            self.insert(key.to_owned(), v.clone());
        }
        Ok(found)
    }

    /// Entries held, both generations.
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.young.len() + g.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn put_locked(&self, g: &mut Generations<K, V>, key: K, value: V) {
        if g.young.len() >= self.generation {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(key, value);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations<K, V>> {
        // A panic while holding the lock cannot leave a wrong value behind (inserts are whole
        // entries of immutable data), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_two_generations_and_keeps_what_is_used() {
        let cache = ImmutableCache::new(4);
        cache.insert(0u64, "hot");
        for i in 1..100u64 {
            cache.insert(i, "cold");
            // Used all along: promoted back into the young generation each time it ages.
            assert_eq!(cache.get(&0), Some("hot"), "after {i} inserts");
            assert!(cache.len() <= 8, "{} entries cached", cache.len());
        }
        assert_eq!(cache.get(&1), None, "an unused old entry was dropped");
        assert_eq!(cache.get(&99), Some("cold"));
    }

    #[tokio::test]
    async fn fetches_once_and_never_remembers_an_absence() {
        let cache: ImmutableCache<String, u32> = ImmutableCache::new(8);
        let fetches = std::cell::Cell::new(0);
        let fetch = |found: Option<u32>| {
            fetches.set(fetches.get() + 1);
            async move { Ok::<_, ()>(found) }
        };
        // Not there yet: asked again next time, and found once it exists.
        assert_eq!(cache.get_or_fetch("k", || fetch(None)).await, Ok(None));
        assert_eq!(
            cache.get_or_fetch("k", || fetch(Some(7))).await,
            Ok(Some(7))
        );
        assert_eq!(fetches.get(), 2);
        // Remembered: the store is not asked again.
        assert_eq!(
            cache.get_or_fetch("k", || fetch(Some(8))).await,
            Ok(Some(7))
        );
        assert_eq!(fetches.get(), 2);
        // An error is passed on and not remembered either.
        let failed = cache
            .get_or_fetch("e", || async { Err::<Option<u32>, _>("down") })
            .await;
        assert_eq!(failed, Err("down"));
        assert!(cache.get("e").is_none());
    }
}
