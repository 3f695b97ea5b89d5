//! Request admission: how much work any one caller can make claimd do.
//!
//! - A **concurrency limit** on requests being handled at once: past it a request is refused at
//!   once (503, `Retry-After`) instead of queueing without bound.
//! - A **request timeout**: a request (body upload included) that takes longer is answered 503
//!   and its work dropped.
//! - **Token buckets** per client IP (every request), per partner (after its JWT verified) and
//!   per client IP for public verifications: past the rate, 429 with `Retry-After` saying when
//!   a token is back.
//!
//! The connection-level limits (header-read timeout against slow-loris, connection cap) are in
//! [`crate::server`]. All figures come from [`HttpLimits`], set in `claimd.toml`.

use claimd_clock::SharedClock;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// A sustained rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

/// The admission settings (see the module docs).
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Longest a client may take to send a request's headers; the connection is closed after.
    pub header_read_timeout: Duration,
    /// Longest a request may take, body included.
    pub request_timeout: Duration,
    /// Open connections at most; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Requests handled at once at most; more get a 503.
    pub max_concurrent_requests: usize,
    /// Per client IP; `None`: unlimited.
    pub per_ip: Option<Rate>,
    /// Per authenticated partner; `None`: unlimited.
    pub per_partner: Option<Rate>,
    /// Public verifications per client IP; `None`: unlimited. Far below `per_ip`: anyone can
    /// ask for a verification and each costs milliseconds of CPU, so one address must not be
    /// able to keep the verification pool (and its share of the cores) busy on its own.
    pub verify_per_ip: Option<Rate>,
    /// Most distinct keys (IPs, partners) a rate limiter remembers.
    pub max_tracked_keys: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_concurrent_requests: 1024,
            per_ip: Some(Rate {
                per_second: 2000.0,
                burst: 4000.0,
            }),
            per_partner: Some(Rate {
                per_second: 2000.0,
                burst: 4000.0,
            }),
            verify_per_ip: Some(Rate {
                per_second: 20.0,
                burst: 40.0,
            }),
            max_tracked_keys: 100_000,
        }
    }
}

/// The live admission state shared by every request.
#[derive(Debug)]
pub struct Admission {
    pub limits: HttpLimits,
    pub(crate) in_flight: Semaphore,
    pub(crate) per_ip: Option<RateLimiter<IpAddr>>,
    pub(crate) per_partner: Option<RateLimiter<uuid::Uuid>>,
    pub(crate) verify_per_ip: Option<RateLimiter<IpAddr>>,
}

impl Admission {
    pub fn new(limits: HttpLimits, clock: SharedClock) -> Self {
        Admission {
            in_flight: Semaphore::new(limits.max_concurrent_requests.max(1)),
            per_ip: limits
                .per_ip
                .map(|r| RateLimiter::new(r, limits.max_tracked_keys, clock.clone())),
            per_partner: limits
                .per_partner
                .map(|r| RateLimiter::new(r, limits.max_tracked_keys, clock.clone())),
            verify_per_ip: limits
                .verify_per_ip
                .map(|r| RateLimiter::new(r, limits.max_tracked_keys, clock.clone())),
            limits,
        }
    }
}

/// Token buckets by key. One short mutex per check: a map lookup and a few float operations.
#[derive(Debug)]
pub struct RateLimiter<K> {
    rate: Rate,
    max_keys: usize,
    clock: SharedClock,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(rate: Rate, max_keys: usize, clock: SharedClock) -> Self {
        RateLimiter {
            rate,
            max_keys: max_keys.max(1),
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `Err(wait)` when there is none, with how long until one is
    /// back.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let now = self.clock.instant();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if !buckets.contains_key(key) && buckets.len() >= self.max_keys {
            self.forget_full(&mut buckets, now);
        }
        let fresh = Bucket {
            tokens: self.rate.burst,
            at: now,
        };
        let bucket = if buckets.len() < self.max_keys {
            buckets.entry(key.clone()).or_insert(fresh)
        } else {
            // Every remembered key is busy: judge this one as new without remembering it.
            // The concurrency limit still bounds what such a flood can cost.
            return Ok(());
        };
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate.per_second).min(self.rate.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 - bucket.tokens;
            Err(Duration::from_secs_f64(missing / self.rate.per_second))
        }
    }

    /// Drops buckets that have refilled: a key without a bucket starts full, so forgetting
    /// them changes no answer. Runs only when the map is full, so its cost is spread over at
    /// least as many checks as it frees.
    fn forget_full(&self, buckets: &mut HashMap<K, Bucket>, now: Instant) {
        let refill = self.rate.burst / self.rate.per_second;
        buckets.retain(|_, b| now.saturating_duration_since(b.at).as_secs_f64() < refill);
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Whole seconds for a `Retry-After` header, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use claimd_clock::ManualClock;

    fn limiter(per_second: f64, burst: f64, max_keys: usize) -> (RateLimiter<u32>, ManualClock) {
        let clock = ManualClock::new();
        let rate = Rate { per_second, burst };
        (RateLimiter::new(rate, max_keys, clock.shared()), clock)
    }

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let (l, clock) = limiter(10.0, 5.0, 100);
        for _ in 0..5 {
            l.check(&1).unwrap();
        }
        let wait = l.check(&1).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100));
        // Another key has its own bucket.
        l.check(&2).unwrap();
        clock.advance(Duration::from_millis(100));
        l.check(&1).unwrap();
        assert!(l.check(&1).is_err());
        // A long pause refills to the burst, not beyond.
        clock.advance(Duration::from_secs(60));
        for _ in 0..5 {
            l.check(&1).unwrap();
        }
        assert!(l.check(&1).is_err());
    }

    #[test]
    fn memory_is_bounded_by_max_keys() {
        let (l, clock) = limiter(1.0, 2.0, 100);
        for k in 0..10_000u32 {
            let _ = l.check(&k);
            assert!(l.tracked() <= 100);
        }
        // Idle keys are forgotten to make room once they have refilled.
        clock.advance(Duration::from_secs(3));
        l.check(&50_000).unwrap();
        assert_eq!(l.tracked(), 1);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }
}
