//! Where verifications run: on tokio's blocking pool, at most `concurrency` at a time, each
//! within a deadline. Verification is CPU work (merklization, Poseidon, BabyJubJub) a public
//! caller can ask for at will; run on the async workers it would stall every other request,
//! issue-on-behalf included. Here a full pool makes new verifications wait a short, bounded
//! time and then answer "busy" (503 with `Retry-After`), instead of queueing without end.
//!
//! A permit is held until the verification really ends, not until its caller gives up, so
//! work that outlives its deadline (or a caller that disconnected) still counts against the
//! concurrency. The deadline cancels the verification at its next await (a chain or database
//! read); the CPU steps between awaits are bounded by the work limits (see
//! `claimd_core::verify`).

use claimd_core::verify::{verify, VerificationReport, VerifyContext, VerifyError};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Settings of the pool; see [`VerifyPoolConfig::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyPoolConfig {
    /// Verifications running at once (default: half the cores, at least one). Anyone can ask
    /// for a verification, so it must never be able to take the whole machine from issuance
    /// and the publisher.
    pub concurrency: usize,
    /// How long a verification waits for a free slot before the answer is "busy".
    pub queue_wait: Duration,
    /// How long one verification may take.
    pub deadline: Duration,
    /// The `Retry-After` (seconds) of a "busy" answer.
    pub retry_after_secs: u64,
}

impl Default for VerifyPoolConfig {
    fn default() -> Self {
        VerifyPoolConfig {
            concurrency: std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            queue_wait: Duration::from_millis(500),
            deadline: Duration::from_secs(10),
            retry_after_secs: 1,
        }
    }
}

/// Why the pool did not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// Every slot stayed taken for `queue_wait`.
    #[error("every verification slot is busy")]
    Busy { retry_after_secs: u64 },
    /// The verification ran past its deadline.
    #[error("the verification did not finish within {0:?}")]
    Deadline(Duration),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The verification panicked (a bug): a 500.
    #[error("verification task failed: {0}")]
    Crashed(String),
}

pub struct VerifyPool {
    permits: Arc<Semaphore>,
    config: VerifyPoolConfig,
}

impl VerifyPool {
    pub fn new(config: VerifyPoolConfig) -> VerifyPool {
        VerifyPool {
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
        }
    }

    pub fn config(&self) -> VerifyPoolConfig {
        self.config
    }

    /// Verifies `vc` against `ctx` on the blocking pool.
    pub async fn verify(
        &self,
        vc: Value,
        ctx: Arc<dyn VerifyContext>,
    ) -> Result<VerificationReport, PoolError> {
        let busy = PoolError::Busy {
            retry_after_secs: self.config.retry_after_secs,
        };
        let permit = match tokio::time::timeout(
            self.config.queue_wait,
            self.permits.clone().acquire_owned(),
        )
        .await
        {
            Ok(Ok(permit)) => permit,
            // Timed out, or the semaphore was closed (never, but not a panic).
            _ => return Err(busy),
        };
        let deadline = self.config.deadline;
        let runtime = tokio::runtime::Handle::current();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            runtime.block_on(tokio::time::timeout(deadline, verify(&vc, ctx.as_ref())))
        });
        match tokio::time::timeout(deadline, task).await {
            Ok(Ok(Ok(report))) => Ok(report?),
            Ok(Ok(Err(_))) | Err(_) => Err(PoolError::Deadline(deadline)),
            Ok(Err(join)) => Err(PoolError::Crashed(join.to_string())),
        }
    }
}
