//! claimd's publisher: makes issued credentials reach the chain.
//!
//! For each issuer with pending work, [`Publisher::run_once`] advances its one in-flight state
//! transition by exactly one durable step, or starts the next one:
//!
//! 1. **compute** — the issuer's first transition holds only its BJJ auth claim (the state
//!    every `BJJSignature2021` proof names); later ones add every pending credential claim
//!    (claims tree) and revocation nonce (revocation tree, value 0), up to a cap, and the new
//!    claims root (roots tree). Nodes and the transition are persisted together and the
//!    credentials assigned to it;
//! 2. **sign** — with the issuer's own Ethereum key (method 1 of `transitStateGeneric`), after
//!    estimating the call (which also simulates it); the raw transaction, its nonce (the
//!    chain's pending nonce) and hash are persisted, fenced by the issuer's lease;
//! 3. **send** the recorded bytes, and again whenever the node's pool lost them; a transaction
//!    not mined within [`PublisherConfig::replace_after`] is **replaced**: signed again with
//!    the same nonce and fees raised by at least [`PublisherConfig::fee_bump_permille`] (up to
//!    [`PublisherConfig::max_fee_per_gas`]), recorded before it is sent. Every attempt is kept;
//!    whichever gets mined is the one confirmed;
//! 4. **confirm** once the mined receipt's block is final: `confirmations` blocks deep and, with
//!    [`Finality::Finalized`] on a chain that has the tag, at or below the `finalized` block,
//!    and still the canonical block at its height. Credentials become `ONCHAIN` / `REMOVE`
//!    with the mined transaction's hash, block and state. Until then a reorg that drops the
//!    transaction is harmless: its receipt disappears, the account's nonce falls back, and
//!    step 3 sends the recorded bytes again.
//!
//! After a crash the next call resumes at the persisted step. Errors reaching the chain are
//! retried, never a reason to give a transition up.
//!
//! # Reconciliation
//! When the chain refuses a transition (its simulation reverts, its transaction reverts, or
//! its nonce is used by another transaction) the publisher compares the issuer's latest state
//! on chain with the store's:
//! - the chain holds the transition's own new state: confirmed, with the transaction found by
//!   its `StateUpdated` event when none of the recorded ones was mined;
//! - the chain holds the store's state: the refusal is about the transition itself. A mined
//!   revert or a lost nonce abandons it (its work is recomputed and signed afresh); a
//!   simulation that reverts is [`PublishError::Refused`] — recomputing would give the same
//!   transition, so nothing is abandoned, nothing is sent, and the issuer backs off;
//! - the chain moved past the store's state to states of transitions the store knows
//!   (abandoned, or in flight; e.g. restored from a backup): they are **adopted** in order and
//!   whatever was in flight on the stale base is abandoned and recomputed on the chain's state;
//! - the chain holds a state the store does not know: [`PublishError::Diverged`], reported
//!   and retried with backoff, with no transaction sent.
//!
//! A lease in the store gives each issuer one publisher across instances.
//!
//! [`Publisher::run`] loops over issuers with work until shut down, driving up to
//! [`PublisherConfig::parallel_issuers`] of them at once (each issuer's steps stay strictly
//! one after another); it never sleeps inside a step. Tree computations, the publisher's CPU
//! work, run on blocking threads, at most [`PublisherConfig::tree_threads`] at a time.
//! Metrics are listed in [`metrics`].
//!
//! # Layout
//! - [`config`] — [`PublisherConfig`], [`Finality`], [`Funding`];
//! - `fees` — the fee policy of first transactions and replacements (pure);
//! - `advance` — signing, sending, replacing and confirming an in-flight transition;
//! - `reconcile` — comparing a refused transition with the chain, adopting the chain's state;
//! - `tree` — computing the next identity state from the stored trees;
//! - `nodes` — the bounded cache of tree nodes in front of the store;
//! - [`metrics`] — metric names.

mod advance;
pub mod config;
mod fees;
pub mod metrics;
mod nodes;
mod reconcile;
mod tree;

pub use config::{Finality, Funding, PublisherConfig, GWEI};
pub use tree::TreeError;

use alloy_primitives::{Address, B256, U256};
use claimd_chain::{Chain, ChainError, StateContract, TxSigner};
use claimd_core::identity;
use claimd_core::secrets::MasterKey;
use claimd_core::store::{PendingWork, Store, StoreError, TransitionDraft};
use claimd_core::IssuerId;
use claimd_iden3::id::Id;
use claimd_iden3::Fr;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What can stop a publishing step. Every error leaves the persisted state consistent: the
/// next step retries from it.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error("issuer {0} not found")]
    UnknownIssuer(IssuerId),
    #[error("issuer {issuer}: {detail}")]
    Keys { issuer: IssuerId, detail: String },
    /// The chain agrees with the store on the issuer's state yet refuses the transition on
    /// top of it (e.g. the contract does not accept the identity's type, or the key does not
    /// own the identity). Recomputing would give the same transition: nothing is sent until an
    /// operator fixes the cause.
    #[error("issuer {issuer}: the chain refuses transition {transition}: {reason}")]
    Refused {
        issuer: IssuerId,
        transition: i64,
        reason: String,
    },
    /// The issuer's latest state on chain is neither the store's nor the result of a
    /// transition the store knows (e.g. the database was restored from a backup older than
    /// transitions published since). Nothing is sent until an operator reconciles them.
    #[error(
        "issuer {issuer}: the chain's state {chain} is not one the store knows (store: {store}); \
         not publishing until they are reconciled"
    )]
    Diverged {
        issuer: IssuerId,
        chain: String,
        store: String,
    },
}

impl PublishError {
    /// A short stable name, for the step-errors metric.
    pub fn kind(&self) -> &'static str {
        match self {
            PublishError::Store(StoreError::Unavailable(_)) => "store_unavailable",
            PublishError::Store(StoreError::Contended(_)) => "store_contended",
            PublishError::Store(_) => "store",
            PublishError::Chain(e) if e.is_transient() => "chain_unreachable",
            PublishError::Chain(_) => "chain",
            PublishError::Tree(_) => "tree",
            PublishError::UnknownIssuer(_) => "unknown_issuer",
            PublishError::Keys { .. } => "keys",
            PublishError::Refused { .. } => "refused",
            PublishError::Diverged { .. } => "diverged",
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing pending.
    Idle,
    /// Another publisher holds the issuer.
    Busy,
    /// A transition was computed and persisted.
    Computed { transition: i64 },
    /// Its first transaction was signed and recorded (not sent yet).
    Signed { transition: i64, tx_hash: String },
    /// The recorded transaction was sent (or sent again).
    Sent { transition: i64, tx_hash: String },
    /// The transaction was stuck: a replacement with higher fees was recorded and sent.
    Replaced { transition: i64, tx_hash: String },
    /// Sent; waiting for it to be mined or confirmed.
    Waiting { transition: i64 },
    /// On chain: the credentials moved on.
    Confirmed {
        transition: i64,
        block_number: u64,
        credentials: u64,
    },
    /// The chain had moved on to the new state of a transition the store had abandoned or
    /// left in flight: it was confirmed (`transition` is the newest adopted).
    Adopted { transition: i64, credentials: u64 },
    /// The chain refused it; its work is pending again.
    Abandoned { transition: i64, reason: String },
}

impl Outcome {
    /// Whether calling again right away can do more.
    pub fn progressed(&self) -> bool {
        matches!(
            self,
            Outcome::Computed { .. }
                | Outcome::Signed { .. }
                | Outcome::Sent { .. }
                | Outcome::Replaced { .. }
                | Outcome::Confirmed { .. }
                | Outcome::Adopted { .. }
                | Outcome::Abandoned { .. }
        )
    }
}

/// An issuer's identity and keys, opened for one step.
pub(crate) struct IssuerCtx {
    pub(crate) issuer: IssuerId,
    /// The identity as the contract's `uint256 id`.
    pub(crate) id: U256,
    pub(crate) signer: TxSigner,
    pub(crate) bjj: claimd_iden3::babyjubjub::PrivateKey,
}

pub struct Publisher {
    store: Arc<dyn Store>,
    chain: Arc<dyn Chain>,
    contract: StateContract,
    chain_id: u64,
    master_key: MasterKey,
    config: PublisherConfig,
    /// Tree nodes recently read or written, shared by every issuer's computations.
    nodes: Arc<nodes::NodeCache>,
    /// One permit per tree computation allowed at once ([`PublisherConfig::tree_threads`]).
    tree_slots: tokio::sync::Semaphore,
    /// Held while dev mode tops an issuer up: the transfers of one dev key must not race on
    /// its nonce when several issuers are driven at once.
    funding: tokio::sync::Mutex<()>,
}

/// A state (field element) as the contract's integer.
pub(crate) use claimd_chain::words::state_word as u256;

/// A state from the contract as a field element.
pub(crate) fn fr(v: U256) -> Result<Fr, PublishError> {
    claimd_chain::words::state_from_word(v)
        .map_err(|e| ChainError::Contract(format!("state {v} is not a field element: {e}")).into())
}

pub(crate) fn hash_hex(h: B256) -> String {
    format!("{h:#x}")
}

/// How long until an issuer whose steps keep failing is tried again.
struct Backoff {
    failures: u32,
    until: Instant,
}

/// Steps one issuer takes in a row before the others' turn (a transition is about four).
const STEPS_PER_DRIVE: usize = 16;

/// How often the backlog gauges are refreshed (they count rows).
const BACKLOG_EVERY: Duration = Duration::from_secs(5);

impl Publisher {
    /// A publisher for `contract` on `chain`. Asks the chain its id once.
    pub async fn new(
        store: Arc<dyn Store>,
        chain: Arc<dyn Chain>,
        contract: Address,
        master_key: MasterKey,
        config: PublisherConfig,
    ) -> Result<Publisher, PublishError> {
        metrics::describe();
        let chain_id = chain.chain_id().await.inspect_err(metrics::chain_error)?;
        Ok(Publisher {
            contract: StateContract::new(chain.clone(), contract),
            store,
            chain,
            chain_id,
            master_key,
            nodes: Arc::new(nodes::NodeCache::new(nodes::GENERATION)),
            tree_slots: tokio::sync::Semaphore::new(config.tree_threads.max(1)),
            funding: tokio::sync::Mutex::new(()),
            config,
        })
    }

    pub fn config(&self) -> &PublisherConfig {
        &self.config
    }

    /// Runs rounds over every issuer with work until `shutdown` turns `true`. Errors are
    /// logged, counted and retried with a per-issuer backoff.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff: HashMap<IssuerId, Backoff> = HashMap::new();
        let mut backlog_at: Option<Instant> = None;
        loop {
            // Whether some issuer stopped only because its turn ended: then the next round
            // starts at once instead of after `poll_interval`.
            let mut busy = false;
            if *shutdown.borrow() {
                return;
            }
            let clock = &self.config.clock;
            if backlog_at
                .is_none_or(|t| clock.instant().saturating_duration_since(t) >= BACKLOG_EVERY)
            {
                match self.store.publish_backlog().await {
                    Ok(b) => metrics::backlog(&b, clock.now()),
                    Err(e) => tracing::warn!(error = %e, "publisher: cannot count the backlog"),
                }
                backlog_at = Some(clock.instant());
            }
            match self.store.issuers_to_publish().await {
                Ok(issuers) => {
                    backoff.retain(|i, _| issuers.contains(i));
                    let now = clock.instant();
                    let due: Vec<IssuerId> = issuers
                        .into_iter()
                        .filter(|i| backoff.get(i).is_none_or(|b| b.until <= now))
                        .collect();
                    let shutdown = &shutdown;
                    let mut driven = futures::stream::iter(due)
                        .map(|issuer| async move {
                            // Once shutting down, no issuer is started; those in a step finish it.
                            if *shutdown.borrow() {
                                return (issuer, Ok(false));
                            }
                            (issuer, self.drive(issuer).await)
                        })
                        .buffer_unordered(self.config.parallel_issuers.max(1));
                    while let Some((issuer, result)) = driven.next().await {
                        match result {
                            Ok(more) => {
                                backoff.remove(&issuer);
                                busy |= more;
                            }
                            Err(()) => {
                                let failures = backoff.get(&issuer).map_or(0, |b| b.failures) + 1;
                                let pause = self
                                    .config
                                    .poll_interval
                                    .saturating_mul(1 << failures.min(16))
                                    .min(self.config.max_error_backoff);
                                backoff.insert(
                                    issuer,
                                    Backoff {
                                        failures,
                                        until: clock.instant() + pause,
                                    },
                                );
                            }
                        }
                    }
                    if *shutdown.borrow() {
                        return;
                    }
                }
                Err(e) => {
                    metrics::counter!(metrics::STEP_ERRORS, "kind" => "store").increment(1);
                    tracing::warn!(error = %e, "publisher: cannot list issuers");
                }
            }
            metrics::gauge!(metrics::ISSUERS_FAILING).set(backoff.len() as f64);
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Steps one issuer while steps make progress (bounded, so one issuer cannot starve
    /// the others). `Ok(true)` when the bound cut it short: it has more to do right away.
    /// `Err` when a step failed.
    async fn drive(&self, issuer: IssuerId) -> Result<bool, ()> {
        for _ in 0..STEPS_PER_DRIVE {
            match self.run_once(issuer).await {
                Ok(outcome) => {
                    tracing::debug!(%issuer, ?outcome, "publisher step");
                    if !outcome.progressed() {
                        return Ok(false);
                    }
                }
                Err(e) => {
                    metrics::counter!(metrics::STEP_ERRORS, "kind" => e.kind()).increment(1);
                    if let PublishError::Chain(c) = &e {
                        metrics::chain_error(c);
                    }
                    match &e {
                        PublishError::Refused { .. } | PublishError::Diverged { .. } => {
                            tracing::error!(%issuer, error = %e, "publishing stalled for issuer")
                        }
                        _ => {
                            tracing::warn!(%issuer, error = %e, "publisher step failed; will retry")
                        }
                    }
                    return Err(());
                }
            }
        }
        Ok(true)
    }

    /// One durable step for `issuer` (see the crate docs).
    ///
    /// # Errors
    /// Store and chain errors (retry later), [`PublishError::Refused`] and
    /// [`PublishError::Diverged`] (an operator must look), key errors.
    pub async fn run_once(&self, issuer: IssuerId) -> Result<Outcome, PublishError> {
        let lease = self
            .store
            .acquire_publisher_lease(issuer, &self.config.owner, self.config.lease_ttl)
            .await?;
        if !lease {
            return Ok(Outcome::Busy);
        }
        let ctx = self.issuer(issuer).await?;
        if let Some(t) = self.store.in_flight_transition(issuer).await? {
            return self.advance(&ctx, t).await;
        }
        self.compute(&ctx).await
    }

    /// Computes and persists the issuer's next transition from its latest confirmed state.
    async fn compute(&self, ctx: &IssuerCtx) -> Result<Outcome, PublishError> {
        let issuer = ctx.issuer;
        let published = self.store.published_state(issuer).await?;
        let work = match &published {
            Some(_) => {
                let work = self
                    .store
                    .pending_work(issuer, self.config.batch_cap)
                    .await?;
                if work.is_empty() {
                    return Ok(Outcome::Idle);
                }
                work
            }
            None => PendingWork::default(),
        };
        let old = published.map(|p| p.roots);
        let store = self.store.clone();
        let runtime = tokio::runtime::Handle::current();
        let auth_claim = identity::auth_claim(&ctx.bjj);
        let onboarding = old.is_none();
        let work_for_tree = work.clone();
        let cache = self.nodes.clone();
        let slot = self
            .tree_slots
            .acquire()
            .await
            .map_err(|e| StoreError::Internal(format!("tree slots closed: {e}")))?;
        let computed = tokio::task::spawn_blocking(move || {
            let additions = if onboarding {
                tree::Additions::Onboarding {
                    auth_claim: Box::new(auth_claim),
                }
            } else {
                tree::Additions::Work(&work_for_tree)
            };
            tree::compute(store, runtime, &cache, old, additions)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("tree computation panicked: {e}")))??;
        drop(slot);
        let draft = TransitionDraft {
            issuer_id: issuer,
            old,
            new: computed.new,
            claims: work
                .claims
                .iter()
                .map(|c| c.core_claim_hash.clone())
                .collect(),
            revocations: work
                .revocations
                .iter()
                .map(|r| r.core_claim_hash.clone())
                .collect(),
            nodes: computed.nodes,
        };
        match self.store.begin_transition(draft).await {
            Ok(transition) => Ok(Outcome::Computed { transition }),
            // Someone else took the issuer or its work meanwhile: nothing was written.
            Err(StoreError::Conflict(_)) => Ok(Outcome::Busy),
            Err(e) => Err(e.into()),
        }
    }

    async fn issuer(&self, issuer: IssuerId) -> Result<IssuerCtx, PublishError> {
        let keys_err = |detail: String| PublishError::Keys { issuer, detail };
        let record = self
            .store
            .issuer(issuer)
            .await?
            .ok_or(PublishError::UnknownIssuer(issuer))?;
        let sealed = self
            .store
            .issuer_keys(issuer)
            .await?
            .ok_or(PublishError::UnknownIssuer(issuer))?;
        let eth = sealed
            .open_eth(&self.master_key, issuer)
            .map_err(keys_err)?;
        let signer = TxSigner::from_private_key(&B256::from(eth), self.chain_id)?;
        let bjj = sealed
            .open_bjj(&self.master_key, issuer)
            .map_err(keys_err)?;
        // The DID's last segment is the base58 ID; it must be the Ethereum identity of the key
        // that signs, or the contract would refuse every transition.
        let id = record
            .issuer_did
            .rsplit(':')
            .next()
            .and_then(|s| Id::from_base58(s).ok())
            .ok_or_else(|| keys_err(format!("bad DID {}", record.issuer_did)))?;
        if id.eth_address() != Some(signer.address().into_array()) {
            return Err(keys_err(
                "the DID is not the Ethereum identity of the issuer's key".into(),
            ));
        }
        Ok(IssuerCtx {
            issuer,
            id: claimd_chain::words::id_word(&id),
            signer,
            bjj,
        })
    }
}
