//! The clock port. Every component that decides something by time (the issuance window, the
//! publisher's replacement and lag, the auth cache's TTLs and refetch limiter) reads it from a
//! [`Clock`] it was given, never from `Utc::now()` or `Instant::now()` directly. Production
//! passes [`SystemClock`]; tests pass a [`ManualClock`] and [`ManualClock::advance`] it, so a
//! test of "after 60 s the transaction is replaced" takes no 60 s and cannot race.
//!
//! The two readings are kept apart on purpose: wall time ([`Clock::now`]) is what gets stored
//! and compared with stored times; monotonic time ([`Clock::instant`]) is for durations inside
//! one process (TTLs, back-off), where a wall-clock step must not expire or revive anything.

use chrono::{DateTime, Utc};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A source of wall and monotonic time.
pub trait Clock: Send + Sync + Debug {
    /// Wall time, UTC: stored in records and compared with stored times.
    fn now(&self) -> DateTime<Utc>;
    /// Monotonic time, for durations within this process.
    fn instant(&self) -> Instant;
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The real clock as a shared handle.
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to. Both readings move together: advancing by `d` moves
/// [`Clock::now`] and [`Clock::instant`] by exactly `d`.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<Manual>>,
}

#[derive(Debug)]
struct Manual {
    wall: DateTime<Utc>,
    base: Instant,
    offset: Duration,
}

impl ManualClock {
    /// Starts at the real current time.
    pub fn new() -> Self {
        Self::at(Utc::now())
    }

    /// Starts at a given wall time.
    pub fn at(wall: DateTime<Utc>) -> Self {
        ManualClock {
            inner: Arc::new(Mutex::new(Manual {
                wall,
                base: Instant::now(),
                offset: Duration::ZERO,
            })),
        }
    }

    /// Moves both readings forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut m = self.lock();
        m.offset += by;
        m.wall += chrono::Duration::from_std(by).expect("advance fits chrono's range");
    }

    /// Sets the wall time (monotonic time is left alone: it never goes back).
    pub fn set_wall(&self, wall: DateTime<Utc>) {
        self.lock().wall = wall;
    }

    /// This clock as a shared handle (the same clock: advancing one advances the other).
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Manual> {
        // A panic while holding this lock cannot leave the three fields inconsistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.lock().wall
    }

    fn instant(&self) -> Instant {
        let m = self.lock();
        m.base + m.offset
    }
}

/// Seconds from `then` to `now`, to the millisecond, as an age or lag gauge reports them: 0,
/// never negative, when `then` is ahead of `now` (the time came from another process's clock,
/// or from a store whose clock was ahead).
pub fn seconds_since(then: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    (now - then).num_milliseconds().max(0) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced_and_both_readings_together() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ManualClock::at(start);
        let shared = clock.shared();
        let i0 = shared.instant();
        assert_eq!(shared.now(), start);
        assert_eq!(shared.instant(), i0);

        clock.advance(Duration::from_secs(90));
        assert_eq!(shared.now(), start + chrono::Duration::seconds(90));
        assert_eq!(shared.instant() - i0, Duration::from_secs(90));
    }

    #[test]
    fn setting_the_wall_time_never_moves_monotonic_time_back() {
        let clock = ManualClock::new();
        let i0 = clock.instant();
        clock.set_wall(Utc::now() - chrono::Duration::days(1));
        assert_eq!(clock.instant(), i0);
    }

    #[test]
    fn seconds_since_counts_milliseconds_and_never_goes_negative() {
        let t = Utc::now();
        assert_eq!(
            seconds_since(t, t + chrono::Duration::milliseconds(1500)),
            1.5
        );
        assert_eq!(seconds_since(t, t), 0.0);
        assert_eq!(seconds_since(t + chrono::Duration::seconds(3), t), 0.0);
    }

    #[test]
    fn system_clock_reads_real_time() {
        let before = Utc::now();
        let now = SystemClock.now();
        assert!(now >= before && now - before < chrono::Duration::seconds(5));
    }
}
