//! How busy interactive issuance is, so that background work (bulk issuance) can give way to
//! it. Interactive requests and bulk rows share the CPU (building and signing a credential)
//! and the group committer's queue; a bulk job that kept many rows in flight while partners
//! wait would lengthen their answers by the whole backlog.
//!
//! [`crate::issuance::Issuance::issue`] holds an [`Interactive`] guard for every request; the
//! bulk runner asks [`InteractiveLoad::busy`] before it starts each row.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts interactive issuances in flight and remembers when the last one ended.
#[derive(Debug)]
pub struct InteractiveLoad {
    in_flight: AtomicUsize,
    /// Milliseconds from `origin` to the end of the latest request (0: none yet).
    last_end_ms: AtomicU64,
    origin: Instant,
}

impl Default for InteractiveLoad {
    fn default() -> Self {
        InteractiveLoad {
            in_flight: AtomicUsize::new(0),
            last_end_ms: AtomicU64::new(0),
            origin: Instant::now(),
        }
    }
}

/// Held while one interactive issuance runs.
#[derive(Debug)]
pub struct Interactive(Arc<InteractiveLoad>);

impl Drop for Interactive {
    fn drop(&mut self) {
        let load = &self.0;
        // At least 1, so that "ended at the origin's first millisecond" is not "never".
        let now = (load.origin.elapsed().as_millis() as u64).max(1);
        load.last_end_ms.fetch_max(now, Ordering::Relaxed);
        load.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl InteractiveLoad {
    /// Marks one interactive issuance as running until the guard is dropped.
    pub fn enter(self: &Arc<Self>) -> Interactive {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Interactive(self.clone())
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Whether an interactive issuance is running or ended less than `quiet` ago. The quiet
    /// period matters for clients that send one request after another: between two of their
    /// requests nothing is in flight, yet they are not done.
    pub fn busy(&self, quiet: Duration) -> bool {
        if self.in_flight() > 0 {
            return true;
        }
        match self.last_end_ms.load(Ordering::Relaxed) {
            0 => false,
            end => {
                let now = self.origin.elapsed().as_millis() as u64;
                now.saturating_sub(end) < quiet.as_millis() as u64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_until_a_request_then_busy_for_the_quiet_period() {
        let load = Arc::new(InteractiveLoad::default());
        assert!(!load.busy(Duration::from_secs(60)), "no request yet");
        let guard = load.enter();
        assert_eq!(load.in_flight(), 1);
        assert!(load.busy(Duration::ZERO), "a request in flight");
        drop(guard);
        assert_eq!(load.in_flight(), 0);
        assert!(
            load.busy(Duration::from_secs(60)),
            "within the quiet period"
        );
        assert!(
            !load.busy(Duration::ZERO),
            "no quiet period: idle once it ended"
        );
    }

    #[test]
    fn quiet_period_expires() {
        let load = Arc::new(InteractiveLoad::default());
        drop(load.enter());
        std::thread::sleep(Duration::from_millis(30));
        assert!(!load.busy(Duration::from_millis(10)));
    }
}
