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
//!    simulating the call; the raw transaction, its nonce (the chain's pending nonce) and hash
//!    are persisted *before* sending;
//! 3. **send / resend** the same bytes until a receipt appears;
//! 4. **confirm** once the receipt has enough confirmations: credentials become `ONCHAIN` /
//!    `REMOVE` with the tx hash, block and state.
//!
//! After a crash the next call resumes at the persisted step. If the chain already holds the
//! new state the transition is confirmed; if the chain refuses it (revert, or its nonce used
//! by another transaction) it is abandoned and its work recomputed from the last confirmed
//! state. A lease in the store gives each issuer one publisher across instances.
//!
//! [`Publisher::run`] loops over issuers with work until shut down; it never sleeps inside a
//! step.

mod tree;

pub use tree::TreeError;

use alloy_primitives::{Address, B256, U256};
use claimd_chain::{
    Chain, ChainError, EmbeddedChain, NonceKind, StateContract, Transition, TxParams, TxSigner,
    DEFAULT_TRANSIT_GAS_LIMIT,
};
use claimd_core::identity;
use claimd_core::operator::{bjj_key_label, eth_key_label};
use claimd_core::secrets::MasterKey;
use claimd_core::store::{
    Confirmation, InFlightTransition, PendingWork, Store, StoreError, TransitionDraft, TransitionTx,
};
use claimd_core::IssuerId;
use claimd_iden3::id::Id;
use claimd_iden3::Fr;
use std::sync::Arc;
use std::time::Duration;
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
}

/// How dev mode pays for issuers' transactions.
#[derive(Debug, Clone)]
pub enum Funding {
    /// Issuers are funded by the operator.
    Off,
    /// From the embedded chain's dev account.
    Embedded(EmbeddedChain),
    /// A transfer from a funded dev key (anvil).
    DevKey(TxSigner),
}

#[derive(Debug, Clone)]
pub struct PublisherConfig {
    /// Most claims and most revocations in one transition.
    pub batch_cap: u32,
    /// Blocks after the one that includes the transaction before it counts as confirmed.
    pub confirmations: u64,
    /// Pause between rounds when nothing progressed.
    pub poll_interval: Duration,
    /// How long a publisher keeps an issuer after its last step.
    pub lease_ttl: Duration,
    /// Who this publisher is, for leases. Stable across restarts of one instance, so a
    /// restarted process takes its issuers back at once.
    pub owner: String,
    pub gas_limit: u64,
    pub funding: Funding,
    /// Amount sent when an issuer's balance cannot pay one transaction (dev mode).
    pub funding_amount: U256,
}

impl PublisherConfig {
    pub fn new(owner: impl Into<String>) -> Self {
        PublisherConfig {
            batch_cap: 1000,
            confirmations: 0,
            poll_interval: Duration::from_millis(500),
            lease_ttl: Duration::from_secs(30),
            owner: owner.into(),
            gas_limit: DEFAULT_TRANSIT_GAS_LIMIT,
            funding: Funding::Off,
            funding_amount: U256::from(10u64).pow(U256::from(18u64)),
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
    /// Its transaction was signed, recorded and sent (or resent).
    Sent { transition: i64, tx_hash: String },
    /// Sent; waiting for it to be mined or confirmed.
    Waiting { transition: i64 },
    /// On chain: the credentials moved on.
    Confirmed {
        transition: i64,
        block_number: u64,
        credentials: u64,
    },
    /// The chain refused it; its work is pending again.
    Abandoned { transition: i64, reason: String },
}

impl Outcome {
    /// Whether calling again right away can do more.
    pub fn progressed(&self) -> bool {
        matches!(
            self,
            Outcome::Computed { .. }
                | Outcome::Sent { .. }
                | Outcome::Confirmed { .. }
                | Outcome::Abandoned { .. }
        )
    }
}

/// An issuer's identity and keys, opened for one step.
struct IssuerCtx {
    id: U256,
    signer: TxSigner,
    bjj: claimd_iden3::babyjubjub::PrivateKey,
}

pub struct Publisher {
    store: Arc<dyn Store>,
    chain: Arc<dyn Chain>,
    contract: StateContract,
    chain_id: u64,
    master_key: MasterKey,
    config: PublisherConfig,
}

fn u256(f: Fr) -> U256 {
    U256::from_be_bytes(f.to_be_bytes())
}

fn hash_hex(h: B256) -> String {
    format!("{h:#x}")
}

impl Publisher {
    /// A publisher for `contract` on `chain`. Asks the chain its id once.
    pub async fn new(
        store: Arc<dyn Store>,
        chain: Arc<dyn Chain>,
        contract: Address,
        master_key: MasterKey,
        config: PublisherConfig,
    ) -> Result<Publisher, PublishError> {
        let chain_id = chain.chain_id().await?;
        Ok(Publisher {
            contract: StateContract::new(chain.clone(), contract),
            store,
            chain,
            chain_id,
            master_key,
            config,
        })
    }

    /// Runs rounds over every issuer with work until `shutdown` turns `true`. Errors are
    /// logged and retried next round.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.store.issuers_to_publish().await {
                Ok(issuers) => {
                    for issuer in issuers {
                        self.drive(issuer).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "publisher: cannot list issuers"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Steps one issuer while steps make progress (bounded, so one issuer cannot starve
    /// the others).
    async fn drive(&self, issuer: IssuerId) {
        for _ in 0..16 {
            match self.run_once(issuer).await {
                Ok(outcome) => {
                    tracing::debug!(%issuer, ?outcome, "publisher step");
                    if let Outcome::Abandoned { reason, .. } = &outcome {
                        tracing::warn!(%issuer, %reason, "transition abandoned; recomputing");
                    }
                    if !outcome.progressed() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(%issuer, error = %e, "publisher step failed; will retry");
                    return;
                }
            }
        }
    }

    /// One durable step for `issuer` (see the crate docs).
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
        let computed = tokio::task::spawn_blocking(move || {
            let additions = if onboarding {
                tree::Additions::Onboarding {
                    auth_claim: Box::new(auth_claim),
                }
            } else {
                tree::Additions::Work(&work_for_tree)
            };
            tree::compute(store, runtime, old, additions)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("tree computation panicked: {e}")))??;
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
        let eth = self
            .master_key
            .open(&eth_key_label(issuer), &sealed.eth_key)
            .map_err(|e| keys_err(format!("cannot open the Ethereum key: {e}")))?;
        let eth: [u8; 32] = eth
            .as_slice()
            .try_into()
            .map_err(|_| keys_err("the Ethereum key is not 32 bytes".into()))?;
        let signer = TxSigner::from_private_key(&B256::from(eth), self.chain_id)?;
        let seed = self
            .master_key
            .open(&bjj_key_label(issuer), &sealed.bjj_key)
            .map_err(|e| keys_err(format!("cannot open the Baby Jubjub key: {e}")))?;
        let bjj = identity::bjj_key(&seed).map_err(keys_err)?;
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
            id: U256::from_le_slice(id.as_bytes()),
            signer,
            bjj,
        })
    }

    async fn advance(
        &self,
        ctx: &IssuerCtx,
        t: InFlightTransition,
    ) -> Result<Outcome, PublishError> {
        let transition = match t.old {
            None => Transition::genesis(ctx.id, u256(t.new.state)),
            Some(old) => Transition::next(ctx.id, u256(old.state), u256(t.new.state)),
        };
        let Some(tx) = t.tx.clone() else {
            return self.sign_and_send(ctx, t.id, &transition).await;
        };
        let hash: B256 = tx.tx_hash.parse().map_err(|_| {
            StoreError::Internal(format!("bad tx hash {:?} in the store", tx.tx_hash))
        })?;
        match self.chain.receipt(hash).await? {
            Some(r) if r.status => {
                let head = self.chain.block_number().await?;
                if head < r.block_number.saturating_add(self.config.confirmations) {
                    return Ok(Outcome::Waiting { transition: t.id });
                }
                let at = Confirmation {
                    tx_hash: tx.tx_hash.clone(),
                    block_number: r.block_number,
                    block_timestamp: r.timestamp,
                };
                self.confirm(t.id, at).await
            }
            Some(r) => {
                // Mined but refused: unless the state got there another way, start over.
                if let Some(o) = self.already_on_chain(ctx, &t, &tx.tx_hash).await? {
                    return Ok(o);
                }
                let reason = format!(
                    "transaction {} reverted: {}",
                    tx.tx_hash,
                    r.revert_reason.as_deref().unwrap_or("no reason")
                );
                self.store.abandon_transition(t.id, &reason).await?;
                Ok(Outcome::Abandoned {
                    transition: t.id,
                    reason,
                })
            }
            None => {
                if let Some(o) = self.already_on_chain(ctx, &t, &tx.tx_hash).await? {
                    return Ok(o);
                }
                let mined = self
                    .chain
                    .nonce(ctx.signer.address(), NonceKind::Latest)
                    .await?;
                if mined > tx.nonce {
                    // Re-check the receipt: it may have been mined since we asked.
                    if self.chain.receipt(hash).await?.is_some() {
                        return Ok(Outcome::Waiting { transition: t.id });
                    }
                    let reason = format!(
                        "nonce {} was used by another transaction; {} never mined",
                        tx.nonce, tx.tx_hash
                    );
                    self.store.abandon_transition(t.id, &reason).await?;
                    return Ok(Outcome::Abandoned {
                        transition: t.id,
                        reason,
                    });
                }
                // Not mined (a restart, or a node that lost it): the very same bytes again.
                match self.chain.send_raw(tx.raw.clone().into()).await {
                    Ok(_) | Err(ChainError::AlreadyKnown) => {
                        Ok(Outcome::Waiting { transition: t.id })
                    }
                    Err(ChainError::NonceTooLow { .. }) => {
                        Ok(Outcome::Waiting { transition: t.id })
                    }
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// The chain already records the transition's new state (e.g. mined while we crashed):
    /// confirm it with the block the contract recorded.
    async fn already_on_chain(
        &self,
        ctx: &IssuerCtx,
        t: &InFlightTransition,
        tx_hash: &str,
    ) -> Result<Option<Outcome>, PublishError> {
        let Some(info) = self
            .contract
            .state_info_by_state(ctx.id, u256(t.new.state))
            .await?
        else {
            return Ok(None);
        };
        let head = self.chain.block_number().await?;
        if head
            < info
                .created_at_block
                .saturating_add(self.config.confirmations)
        {
            return Ok(Some(Outcome::Waiting { transition: t.id }));
        }
        let at = Confirmation {
            tx_hash: tx_hash.to_owned(),
            block_number: info.created_at_block,
            block_timestamp: info.created_at_timestamp,
        };
        self.confirm(t.id, at).await.map(Some)
    }

    async fn confirm(&self, transition: i64, at: Confirmation) -> Result<Outcome, PublishError> {
        let credentials = self.store.confirm_transition(transition, &at).await?;
        let block_number = at.block_number;
        tracing::info!(
            transition,
            tx_hash = at.tx_hash,
            block_number,
            credentials,
            "state published"
        );
        Ok(Outcome::Confirmed {
            transition,
            block_number,
            credentials,
        })
    }

    async fn sign_and_send(
        &self,
        ctx: &IssuerCtx,
        id: i64,
        transition: &Transition,
    ) -> Result<Outcome, PublishError> {
        let from = ctx.signer.address();
        match self.contract.simulate_transit(from, transition).await {
            Ok(()) => {}
            Err(ChainError::Reverted { reason, .. }) => {
                let reason = format!(
                    "the contract refuses the transition: {}",
                    reason.as_deref().unwrap_or("no reason")
                );
                self.store.abandon_transition(id, &reason).await?;
                return Ok(Outcome::Abandoned {
                    transition: id,
                    reason,
                });
            }
            Err(e) => return Err(e.into()),
        }
        let fees = self.chain.fees().await?;
        let params = TxParams::new(
            self.chain.nonce(from, NonceKind::Pending).await?,
            self.config.gas_limit,
            fees,
        );
        self.ensure_funds(from, &params).await?;
        let signed = ctx
            .signer
            .sign_transit(self.contract.address(), transition, params)?;
        let tx_hash = hash_hex(signed.hash);
        self.store
            .record_transition_tx(
                id,
                TransitionTx {
                    nonce: signed.nonce,
                    tx_hash: tx_hash.clone(),
                    raw: signed.raw.to_vec(),
                },
            )
            .await?;
        match self.chain.send_raw(signed.raw).await {
            Ok(_) | Err(ChainError::AlreadyKnown) => {}
            // Recorded: the next step looks for the receipt, the state or the nonce.
            Err(e) if e.is_transient() => {}
            Err(ChainError::NonceTooLow { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(Outcome::Sent {
            transition: id,
            tx_hash,
        })
    }

    /// Dev mode: tops up an issuer that cannot pay for one transaction.
    async fn ensure_funds(&self, from: Address, params: &TxParams) -> Result<(), PublishError> {
        let need = U256::from(params.gas_limit) * U256::from(params.max_fee_per_gas);
        if matches!(self.config.funding, Funding::Off) || self.chain.balance(from).await? >= need {
            return Ok(());
        }
        let amount = self.config.funding_amount.max(need);
        match &self.config.funding {
            Funding::Off => {}
            Funding::Embedded(chain) => {
                chain.fund(from, amount).await?;
            }
            Funding::DevKey(dev) => {
                claimd_chain::transfer(self.chain.as_ref(), dev, from, amount).await?;
            }
        }
        tracing::info!(address = %from, %amount, "funded issuer (dev mode)");
        Ok(())
    }
}
