//! The per-partner key cache.
//!
//! Layout: a least-recently-used map from partner id to [`PartnerEntry`], behind one short
//! std mutex that is never held across an await (a hit is a hash lookup and a move to the
//! back of a list: O(1), no copy of the map); each entry holds its current [`KeyState`] in an
//! `ArcSwapOption` (read without locks) and a `tokio` mutex that serialises *loads* of that
//! partner's keys only.
//!
//! Guarantees:
//! - **Keyed by the parsed id.** Entries are keyed by [`PartnerKey`], the 128-bit value of a
//!   canonical partner id, so one partner has one entry and one refetch limiter however its
//!   id could be spelled (and tokens spelling it any other way never get here).
//! - **Single flight.** Concurrent requests that need a load of the same partner wait on its
//!   load mutex; the first one loads, the others find the new state (or the shared failure)
//!   when they get the lock, so N concurrent cold requests cause one lookup and one fetch.
//! - **Rate-limited refetch.** A fresh state that lacks a `kid` is reloaded only if the last
//!   load attempt of that partner is at least `refetch_min_interval` old; a failed fetch is not
//!   retried within that interval either (the failure is answered from memory meanwhile).
//! - **Bounded staleness.** A state is used until its expiry (the clamped `Cache-Control`
//!   lifetime); past it, and only while reloading fails, it is used for at most
//!   `stale_if_error` more.
//! - **Bounded memory.** At most `capacity` partners are kept; loading one more evicts the
//!   least recently used. Only partners the source knows get a lasting entry: an entry for an
//!   unknown id lives in a side table just while it is being looked up.
//!
//! Time comes from the injected clock (monotonic readings), so tests advance it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use claimd_clock::SharedClock;
use hashlink::LruCache;

use crate::error::AuthError;
use crate::jwks::KeySet;
use crate::partner_id::PartnerKey;
use crate::source::PartnerPolicy;

/// One loaded set of keys of one partner, with the operator's rules for its tokens (they are
/// looked up together, so a changed policy applies at the same moment as changed keys).
#[derive(Debug)]
pub(crate) struct KeyState {
    pub keys: KeySet,
    pub policy: PartnerPolicy,
    pub expires_at: Instant,
    pub ttl: Duration,
}

impl KeyState {
    pub(crate) fn new(keys: KeySet, policy: PartnerPolicy, ttl: Duration, now: Instant) -> Self {
        Self {
            keys,
            policy,
            expires_at: now + ttl,
            ttl,
        }
    }

    pub(crate) fn is_fresh(&self, now: Instant) -> bool {
        now < self.expires_at
    }
}

/// How a load failed: the error for the partner, and whether later loads back off.
pub(crate) struct LoadFailure {
    pub error: AuthError,
    /// JWKS failures back off for `refetch_min_interval`; partner-store failures do not.
    pub backoff: bool,
}

#[derive(Default)]
pub(crate) struct PartnerEntry {
    pub(crate) state: ArcSwapOption<KeyState>,
    load: tokio::sync::Mutex<LoadStatus>,
    /// The `jti`s this partner's accepted tokens carried, for partners that require one.
    replay: Mutex<ReplayCache>,
}

impl PartnerEntry {
    /// Records `jti` (its digest) as used until `until` (Unix seconds); see [`Replay`].
    pub(crate) fn use_jti(&self, jti: [u8; 16], until: i64, now: i64, capacity: usize) -> Replay {
        self.replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .use_once(jti, until, now, capacity)
    }
}

#[derive(Default)]
struct LoadStatus {
    last_attempt: Option<Instant>,
    failure: Option<(Instant, AuthError, bool)>,
}

/// The outcome of presenting a `jti`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Not seen while it could still be valid: recorded now.
    Fresh,
    /// Seen before, and that token has not expired yet.
    Replayed,
    /// The partner's cache is full of unexpired `jti`s: refused rather than forgotten, since
    /// forgetting one would let it be replayed.
    Full,
}

/// The `jti`s of one partner, each kept until the token that carried it expires.
#[derive(Default)]
struct ReplayCache {
    seen: HashMap<[u8; 16], i64>,
    by_expiry: BinaryHeap<Reverse<(i64, [u8; 16])>>,
}

impl ReplayCache {
    fn use_once(&mut self, jti: [u8; 16], until: i64, now: i64, capacity: usize) -> Replay {
        while let Some(&Reverse((at, key))) = self.by_expiry.peek() {
            if at > now {
                break;
            }
            self.by_expiry.pop();
            if self.seen.get(&key) == Some(&at) {
                self.seen.remove(&key);
            }
        }
        if self.seen.contains_key(&jti) {
            return Replay::Replayed;
        }
        if self.seen.len() >= capacity {
            return Replay::Full;
        }
        self.seen.insert(jti, until);
        self.by_expiry.push(Reverse((until, jti)));
        Replay::Fresh
    }
}

struct Entries {
    lru: LruCache<PartnerKey, Arc<PartnerEntry>>,
    /// Entries of partners whose first load is under way or failed.
    pending: HashMap<PartnerKey, Arc<PartnerEntry>>,
}

pub(crate) struct KeyCache {
    entries: Mutex<Entries>,
    refetch_min_interval: Duration,
    stale_if_error: Duration,
    clock: SharedClock,
}

impl KeyCache {
    pub(crate) fn new(
        capacity: usize,
        refetch_min_interval: Duration,
        stale_if_error: Duration,
        clock: SharedClock,
    ) -> Self {
        Self {
            entries: Mutex::new(Entries {
                lru: LruCache::new(capacity),
                pending: HashMap::new(),
            }),
            refetch_min_interval,
            stale_if_error,
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // Every critical section leaves both maps consistent, so a poisoned lock is usable.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The partner's entry, if it is cached (marking it as recently used).
    pub(crate) fn get(&self, partner: PartnerKey) -> Option<Arc<PartnerEntry>> {
        self.lock().lru.get(&partner).cloned()
    }

    /// The partner's entry, if it is cached, without marking it as used (diagnostics).
    pub(crate) fn peek(&self, partner: PartnerKey) -> Option<Arc<PartnerEntry>> {
        self.lock().lru.peek(&partner).cloned()
    }

    /// How many partners are cached.
    pub(crate) fn len(&self) -> usize {
        self.lock().lru.len()
    }

    /// Drops everything cached for the partner; its next token reloads.
    pub(crate) fn invalidate(&self, partner: PartnerKey) {
        let mut e = self.lock();
        e.pending.remove(&partner);
        e.lru.remove(&partner);
    }

    fn entry(&self, partner: PartnerKey) -> Arc<PartnerEntry> {
        let mut e = self.lock();
        if let Some(entry) = e.lru.get(&partner) {
            return Arc::clone(entry);
        }
        Arc::clone(e.pending.entry(partner).or_default())
    }

    /// Moves a pending entry that loaded successfully into the LRU map (which may evict the
    /// least recently used partner).
    fn promote(&self, partner: PartnerKey, entry: &Arc<PartnerEntry>) {
        let mut e = self.lock();
        if e.lru.peek(&partner).is_some_and(|x| Arc::ptr_eq(x, entry)) {
            return;
        }
        e.lru.insert(partner, Arc::clone(entry));
        if e.pending
            .get(&partner)
            .is_some_and(|x| Arc::ptr_eq(x, entry))
        {
            e.pending.remove(&partner);
        }
    }

    /// Forgets an entry (partner unknown, or its first lookup failed).
    fn forget(&self, partner: PartnerKey, entry: &Arc<PartnerEntry>) {
        let mut e = self.lock();
        if e.pending
            .get(&partner)
            .is_some_and(|x| Arc::ptr_eq(x, entry))
        {
            e.pending.remove(&partner);
        }
        if e.lru.peek(&partner).is_some_and(|x| Arc::ptr_eq(x, entry)) {
            e.lru.remove(&partner);
        }
    }

    /// Returns a state to look `kid` up in, loading the partner's keys if the cached state is
    /// absent, expired, or lacks `kid` (subject to the rate limit and backoff).
    ///
    /// `load` returns `Ok(None)` for an unknown partner.
    pub(crate) async fn resolve<F, Fut>(
        &self,
        partner: PartnerKey,
        kid: &str,
        unknown_partner: AuthError,
        load: F,
    ) -> Result<(Arc<PartnerEntry>, Arc<KeyState>), AuthError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<KeyState>, LoadFailure>>,
    {
        let entry = self.entry(partner);
        let state = self
            .resolve_entry(&entry, partner, kid, unknown_partner, load)
            .await?;
        Ok((entry, state))
    }

    async fn resolve_entry<F, Fut>(
        &self,
        entry: &Arc<PartnerEntry>,
        partner: PartnerKey,
        kid: &str,
        unknown_partner: AuthError,
        load: F,
    ) -> Result<Arc<KeyState>, AuthError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<KeyState>, LoadFailure>>,
    {
        let started = self.clock.instant();
        let observed = entry.state.load_full();
        if let Some(st) = &observed {
            if st.is_fresh(started) && st.keys.contains_kid(kid) {
                return Ok(Arc::clone(st));
            }
        }

        let mut status = entry.load.lock().await;
        let now = self.clock.instant();
        let current = entry.state.load_full();
        let changed = match (&observed, &current) {
            (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
            (None, None) => false,
            _ => true,
        };
        if changed {
            // Someone loaded while we waited: use that, whether or not it has our kid.
            if let Some(st) = current.as_ref().filter(|st| st.is_fresh(now)) {
                return Ok(Arc::clone(st));
            }
        }
        if let Some((at, err, _)) = &status.failure {
            if *at >= started {
                // A load that ended while we waited failed: share its outcome.
                return self.stale_or(current, err.clone(), now);
            }
        }
        let recently = |t: Instant| now.saturating_duration_since(t) < self.refetch_min_interval;
        match &current {
            Some(st) if st.is_fresh(now) => {
                if status.last_attempt.is_some_and(recently) {
                    // Unknown kid, but the rate limit says no refetch yet.
                    return Ok(Arc::clone(st));
                }
            }
            _ => {
                if let Some((at, err, true)) = &status.failure {
                    if recently(*at) {
                        // Cold or expired, and the last fetch failed just now: back off.
                        return self.stale_or(current.clone(), err.clone(), now);
                    }
                }
            }
        }

        status.last_attempt = Some(now);
        match load().await {
            Ok(Some(state)) => {
                let state = Arc::new(state);
                entry.state.store(Some(Arc::clone(&state)));
                status.failure = None;
                drop(status);
                self.promote(partner, entry);
                Ok(state)
            }
            Ok(None) => {
                entry.state.store(None);
                status.failure = Some((self.clock.instant(), unknown_partner.clone(), false));
                drop(status);
                self.forget(partner, entry);
                Err(unknown_partner)
            }
            Err(LoadFailure { error, backoff }) => {
                status.failure = Some((self.clock.instant(), error.clone(), backoff));
                if current.is_none() && !backoff {
                    // A first lookup that failed in the partner store: keep no entry, so
                    // unknown ids cannot pile up while the store is down.
                    drop(status);
                    self.forget(partner, entry);
                    return Err(error);
                }
                self.stale_or(current, error, self.clock.instant())
            }
        }
    }

    fn stale_or(
        &self,
        current: Option<Arc<KeyState>>,
        error: AuthError,
        now: Instant,
    ) -> Result<Arc<KeyState>, AuthError> {
        match current {
            Some(st) if now < st.expires_at + self.stale_if_error => {
                if !st.is_fresh(now) {
                    tracing::warn!(
                        auth.error = error.kind().code(),
                        "JWKS reload failed; using the expired keys within stale_if_error"
                    );
                }
                Ok(st)
            }
            _ => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_refused_until_its_token_expires_and_the_cache_is_bounded() {
        let mut c = ReplayCache::default();
        assert_eq!(c.use_once([1; 16], 100, 0, 2), Replay::Fresh);
        assert_eq!(c.use_once([1; 16], 100, 50, 2), Replay::Replayed);
        assert_eq!(c.use_once([2; 16], 200, 50, 2), Replay::Fresh);
        // Full of unexpired ids: a new one is refused, not let in by forgetting an old one.
        assert_eq!(c.use_once([3; 16], 200, 60, 2), Replay::Full);
        // At 100 the first expired: it may be used again, and there is room.
        assert_eq!(c.use_once([1; 16], 300, 100, 2), Replay::Fresh);
        assert_eq!(c.use_once([2; 16], 300, 150, 2), Replay::Replayed);
    }
}
