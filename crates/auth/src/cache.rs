//! The per-partner key cache.
//!
//! Layout: an [`ArcSwap`]ped map from partner id to [`PartnerEntry`], read without locks on
//! the hot path; each entry holds its current [`KeyState`] in an `ArcSwapOption` (also read
//! without locks) and a `tokio` mutex that serialises *loads* of that partner's keys only.
//!
//! Guarantees:
//! - **Single flight.** Concurrent requests that need a load of the same partner wait on its
//!   load mutex; the first one loads, the others find the new state (or the shared failure)
//!   when they get the lock, so N concurrent cold requests cause one lookup and one fetch.
//! - **Rate-limited refetch.** A fresh state that lacks a `kid` is reloaded only if the last
//!   load attempt of that partner is at least `refetch_min_interval` old; a failed fetch is not
//!   retried within that interval either (the failure is answered from memory meanwhile).
//! - **Bounded staleness.** A state is used until its expiry (the clamped `Cache-Control`
//!   lifetime); past it, and only while reloading fails, it is used for at most
//!   `stale_if_error` more.
//! - **Bounded memory.** Only partners the source knows get a lasting entry: an entry for an
//!   unknown id lives in a side table just while it is being looked up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::error::AuthError;
use crate::jwks::KeySet;

/// One loaded set of keys of one partner.
#[derive(Debug)]
pub(crate) struct KeyState {
    pub keys: KeySet,
    pub expires_at: Instant,
    pub ttl: Duration,
}

impl KeyState {
    pub(crate) fn new(keys: KeySet, ttl: Duration) -> Self {
        Self {
            keys,
            expires_at: Instant::now() + ttl,
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
}

#[derive(Default)]
struct LoadStatus {
    last_attempt: Option<Instant>,
    failure: Option<(Instant, AuthError, bool)>,
}

type PartnerMap = HashMap<Box<str>, Arc<PartnerEntry>>;

pub(crate) struct KeyCache {
    map: ArcSwap<PartnerMap>,
    /// Entries of partners whose first load is under way or failed; guarded by a short
    /// std mutex, never held across an await.
    pending: Mutex<PartnerMap>,
    refetch_min_interval: Duration,
    stale_if_error: Duration,
}

impl KeyCache {
    pub(crate) fn new(refetch_min_interval: Duration, stale_if_error: Duration) -> Self {
        Self {
            map: ArcSwap::from_pointee(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            refetch_min_interval,
            stale_if_error,
        }
    }

    /// Lock-free read of a partner's current state: `f` runs with a borrowed state.
    pub(crate) fn with_state<R>(
        &self,
        partner_id: &str,
        f: impl FnOnce(&KeyState) -> R,
    ) -> Option<R> {
        let map = self.map.load();
        let entry = map.get(partner_id)?;
        let state = entry.state.load();
        state.as_deref().map(f)
    }

    /// Drops everything cached for the partner; its next token reloads.
    pub(crate) fn invalidate(&self, partner_id: &str) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.remove(partner_id);
        if self.map.load().contains_key(partner_id) {
            self.map.rcu(|m| {
                let mut m = PartnerMap::clone(m);
                m.remove(partner_id);
                m
            });
        }
    }

    fn entry(&self, partner_id: &str) -> Arc<PartnerEntry> {
        if let Some(e) = self.map.load().get(partner_id) {
            return Arc::clone(e);
        }
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        // Re-check under the pending lock: promotion happens under it too.
        if let Some(e) = self.map.load().get(partner_id) {
            return Arc::clone(e);
        }
        Arc::clone(pending.entry(partner_id.into()).or_default())
    }

    /// Moves a pending entry that loaded successfully into the main map.
    fn promote(&self, partner_id: &str, entry: &Arc<PartnerEntry>) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if self
            .map
            .load()
            .get(partner_id)
            .is_some_and(|e| Arc::ptr_eq(e, entry))
        {
            return;
        }
        self.map.rcu(|m| {
            let mut m = PartnerMap::clone(m);
            m.insert(partner_id.into(), Arc::clone(entry));
            m
        });
        if pending
            .get(partner_id)
            .is_some_and(|e| Arc::ptr_eq(e, entry))
        {
            pending.remove(partner_id);
        }
    }

    /// Forgets an entry (partner unknown, or its first lookup failed).
    fn forget(&self, partner_id: &str, entry: &Arc<PartnerEntry>) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending
            .get(partner_id)
            .is_some_and(|e| Arc::ptr_eq(e, entry))
        {
            pending.remove(partner_id);
        }
        if self
            .map
            .load()
            .get(partner_id)
            .is_some_and(|e| Arc::ptr_eq(e, entry))
        {
            self.map.rcu(|m| {
                let mut m = PartnerMap::clone(m);
                if m.get(partner_id).is_some_and(|e| Arc::ptr_eq(e, entry)) {
                    m.remove(partner_id);
                }
                m
            });
        }
    }

    /// Returns a state to look `kid` up in, loading the partner's keys if the cached state is
    /// absent, expired, or lacks `kid` (subject to the rate limit and backoff).
    ///
    /// `load` returns `Ok(None)` for an unknown partner.
    pub(crate) async fn resolve<F, Fut>(
        &self,
        partner_id: &str,
        kid: &str,
        unknown_partner: AuthError,
        load: F,
    ) -> Result<Arc<KeyState>, AuthError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<KeyState>, LoadFailure>>,
    {
        let entry = self.entry(partner_id);
        let started = Instant::now();
        let observed = entry.state.load_full();
        if let Some(st) = &observed {
            if st.is_fresh(started) && st.keys.contains_kid(kid) {
                return Ok(Arc::clone(st));
            }
        }

        let mut status = entry.load.lock().await;
        let now = Instant::now();
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
                self.promote(partner_id, &entry);
                Ok(state)
            }
            Ok(None) => {
                entry.state.store(None);
                status.failure = Some((Instant::now(), unknown_partner.clone(), false));
                drop(status);
                self.forget(partner_id, &entry);
                Err(unknown_partner)
            }
            Err(LoadFailure { error, backoff }) => {
                status.failure = Some((Instant::now(), error.clone(), backoff));
                if current.is_none() && !backoff {
                    // A first lookup that failed in the partner store: keep no entry, so
                    // unknown ids cannot pile up while the store is down.
                    drop(status);
                    self.forget(partner_id, &entry);
                    return Err(error);
                }
                self.stale_or(current, error, Instant::now())
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
