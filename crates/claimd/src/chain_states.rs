//! Identity states for verification, read from the IdentityState contract: the adapter between
//! core's [`IdentityStates`] port and `claimd-chain` (which the domain never depends on).

use alloy_primitives::U256;
use async_trait::async_trait;
use claimd_chain::words::{id_word, state_from_word, state_word};
use claimd_chain::{StateContract, StateInfo};
use claimd_core::verify::{ChainState, IdentityStates, LookupError};
use claimd_iden3::id::Id;
use claimd_iden3::Fr;

pub struct ContractStates(pub StateContract);

fn chain_state(info: StateInfo) -> Result<ChainState, LookupError> {
    let fr = |w: U256| {
        state_from_word(w).map_err(|e| {
            LookupError::Unavailable(format!(
                "chain answered a state that is not a field element: {e}"
            ))
        })
    };
    Ok(ChainState {
        state: fr(info.state)?,
        replaced_by: match info.replaced_by_state {
            U256::ZERO => None,
            w => Some(fr(w)?),
        },
        created_at_block: info.created_at_block,
        created_at_timestamp: info.created_at_timestamp,
        replaced_at_timestamp: info.replaced_at_timestamp,
    })
}

fn unreachable(e: claimd_chain::ChainError) -> LookupError {
    LookupError::Unavailable(format!("chain: {e}"))
}

#[async_trait]
impl IdentityStates for ContractStates {
    async fn state(&self, id: &Id, state: Fr) -> Result<Option<ChainState>, LookupError> {
        self.0
            .state_info_by_state(id_word(id), state_word(state))
            .await
            .map_err(unreachable)?
            .map(chain_state)
            .transpose()
    }

    async fn latest(&self, id: &Id) -> Result<Option<ChainState>, LookupError> {
        self.0
            .state_info(id_word(id))
            .await
            .map_err(unreachable)?
            .map(chain_state)
            .transpose()
    }
}

/// Verification's share of the chain: how long its reads are reused, and how many may be in
/// flight. Separate from the publisher (which calls the chain directly), so hostile verify
/// traffic can use up this budget, never the publisher's RPC capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainBudget {
    /// How long an answer (a state's record, an identity's latest state, or "no such state")
    /// is reused. A verification of a just-published credential may see "not on chain" for
    /// this long if the same state was asked just before; every check reads it the same way.
    pub cache_ttl: std::time::Duration,
    /// Chain reads of verification in flight at once.
    pub concurrency: usize,
    /// How long a read waits for a slot before verification answers "unavailable" (503).
    pub wait: std::time::Duration,
}

impl Default for ChainBudget {
    fn default() -> Self {
        ChainBudget {
            cache_ttl: std::time::Duration::from_secs(5),
            concurrency: 4,
            wait: std::time::Duration::from_secs(2),
        }
    }
}

/// Bound on cached answers; a full cache drops what expired, then everything (re-reading is
/// only a chain call).
const CACHE_LIMIT: usize = 10_000;

type Cache<K> =
    std::sync::Mutex<std::collections::HashMap<K, (std::time::Instant, Option<ChainState>)>>;

/// [`IdentityStates`] for verification: a short TTL cache keyed by (identity, state) and by
/// identity (latest), in front of a bounded number of chain reads.
pub struct BudgetedStates<S> {
    inner: S,
    budget: ChainBudget,
    clock: claimd_clock::SharedClock,
    permits: tokio::sync::Semaphore,
    states: Cache<(Id, Fr)>,
    latest: Cache<Id>,
}

impl<S: IdentityStates> BudgetedStates<S> {
    pub fn new(inner: S, budget: ChainBudget, clock: claimd_clock::SharedClock) -> Self {
        BudgetedStates {
            inner,
            permits: tokio::sync::Semaphore::new(budget.concurrency.max(1)),
            budget,
            clock,
            states: Default::default(),
            latest: Default::default(),
        }
    }

    fn cached<K: Eq + std::hash::Hash>(
        &self,
        cache: &Cache<K>,
        key: &K,
    ) -> Option<Option<ChainState>> {
        let now = self.clock.instant();
        let map = cache.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(at, _)| now.duration_since(*at) < self.budget.cache_ttl)
            .map(|(_, answer)| *answer)
    }

    fn remember<K: Eq + std::hash::Hash>(
        &self,
        cache: &Cache<K>,
        key: K,
        answer: Option<ChainState>,
    ) {
        let now = self.clock.instant();
        let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CACHE_LIMIT {
            map.retain(|_, (at, _)| now.duration_since(*at) < self.budget.cache_ttl);
            if map.len() >= CACHE_LIMIT {
                map.clear();
            }
        }
        map.insert(key, (now, answer));
    }

    async fn read<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, LookupError>>,
    ) -> Result<T, LookupError> {
        let _permit = tokio::time::timeout(self.budget.wait, self.permits.acquire())
            .await
            .map_err(|_| {
                LookupError::Unavailable(format!(
                    "verification's chain budget is in use ({} reads in flight)",
                    self.budget.concurrency
                ))
            })?
            .map_err(|_| {
                LookupError::Unavailable("verification's chain budget is closed".into())
            })?;
        call.await
    }
}

#[async_trait]
impl<S: IdentityStates> IdentityStates for BudgetedStates<S> {
    async fn state(&self, id: &Id, state: Fr) -> Result<Option<ChainState>, LookupError> {
        if let Some(answer) = self.cached(&self.states, &(*id, state)) {
            return Ok(answer);
        }
        let answer = self.read(self.inner.state(id, state)).await?;
        self.remember(&self.states, (*id, state), answer);
        Ok(answer)
    }

    async fn latest(&self, id: &Id) -> Result<Option<ChainState>, LookupError> {
        if let Some(answer) = self.cached(&self.latest, id) {
            return Ok(answer);
        }
        let answer = self.read(self.inner.latest(id)).await?;
        self.remember(&self.latest, *id, answer);
        Ok(answer)
    }
}

/// What the dashboard shows of the chain (head block, issuer balances): the adapter between
/// `claimd_api::dashboard::ChainProbe` and `claimd-chain`. Errors never carry the RPC URL.
pub struct ChainFacts(pub std::sync::Arc<dyn claimd_chain::Chain>);

#[async_trait]
impl claimd_api::dashboard::ChainProbe for ChainFacts {
    async fn head(&self) -> Result<u64, String> {
        self.0.block_number().await.map_err(|e| e.to_string())
    }

    async fn balance(&self, address: &str) -> Result<String, String> {
        let address: alloy_primitives::Address = address
            .parse()
            .map_err(|_| "not an Ethereum address".to_owned())?;
        self.0
            .balance(address)
            .await
            .map(|wei| wei.to_string())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use claimd_chain::{EmbeddedChain, EmbeddedConfig};
    use claimd_clock::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// The real contract on the embedded chain, counting the reads that reach it; `hold`
    /// keeps a read in flight until released.
    struct Counted {
        inner: ContractStates,
        reads: Arc<AtomicUsize>,
        hold: Option<Arc<tokio::sync::Semaphore>>,
    }

    #[async_trait]
    impl IdentityStates for Counted {
        async fn state(&self, id: &Id, state: Fr) -> Result<Option<ChainState>, LookupError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if let Some(h) = &self.hold {
                let _ = h.acquire().await;
            }
            self.inner.state(id, state).await
        }

        async fn latest(&self, id: &Id) -> Result<Option<ChainState>, LookupError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.latest(id).await
        }
    }

    fn chain(dir: &std::path::Path) -> ContractStates {
        let chain = EmbeddedChain::open(dir, EmbeddedConfig::default()).unwrap();
        let contract = chain.contract_address();
        ContractStates(StateContract::new(Arc::new(chain), contract))
    }

    fn some_id(n: u8) -> Id {
        Id::new([0x01, 0x02], &[n; 27])
    }

    #[tokio::test]
    async fn answers_are_reused_for_the_ttl_and_read_again_after() {
        let dir = tempfile::tempdir().unwrap();
        let reads = Arc::new(AtomicUsize::new(0));
        let clock = ManualClock::new();
        let budget = ChainBudget::default();
        let states = BudgetedStates::new(
            Counted {
                inner: chain(dir.path()),
                reads: reads.clone(),
                hold: None,
            },
            budget,
            clock.shared(),
        );
        let (id, other) = (some_id(1), some_id(2));
        for _ in 0..3 {
            assert_eq!(states.state(&id, Fr::from_u64(7)).await.unwrap(), None);
            assert_eq!(states.latest(&id).await.unwrap(), None);
        }
        assert_eq!(reads.load(Ordering::SeqCst), 2, "one read per key");
        // Keyed by (identity, state): another state or identity is another read.
        states.state(&id, Fr::from_u64(8)).await.unwrap();
        states.state(&other, Fr::from_u64(7)).await.unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 4);
        clock.advance(budget.cache_ttl - Duration::from_millis(1));
        states.state(&id, Fr::from_u64(7)).await.unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 4, "still fresh");
        clock.advance(Duration::from_millis(1));
        states.state(&id, Fr::from_u64(7)).await.unwrap();
        states.latest(&id).await.unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 6, "expired: read again");
    }

    #[tokio::test]
    async fn reads_beyond_the_budget_are_unavailable_not_queued_forever() {
        let dir = tempfile::tempdir().unwrap();
        let hold = Arc::new(tokio::sync::Semaphore::new(0));
        let budget = ChainBudget {
            cache_ttl: Duration::from_secs(5),
            concurrency: 1,
            wait: Duration::from_millis(50),
        };
        let states = Arc::new(BudgetedStates::new(
            Counted {
                inner: chain(dir.path()),
                reads: Arc::new(AtomicUsize::new(0)),
                hold: Some(hold.clone()),
            },
            budget,
            claimd_clock::SystemClock::shared(),
        ));
        let first = {
            let states = states.clone();
            tokio::spawn(async move { states.state(&some_id(1), Fr::from_u64(1)).await })
        };
        // Let the first read take the only slot.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = std::time::Instant::now();
        let e = states
            .state(&some_id(2), Fr::from_u64(2))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, LookupError::Unavailable(m) if m.contains("chain budget")),
            "{e}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        hold.add_permits(1);
        assert_eq!(first.await.unwrap().unwrap(), None);
        // The slot is free again.
        hold.add_permits(1);
        states.state(&some_id(2), Fr::from_u64(2)).await.unwrap();
    }
}
