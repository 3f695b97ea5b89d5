//! Reconciling a refused transition with the chain, so an issuer is never left wedged.
//!
//! The contract accepts a transition only from the identity's latest state. When it refuses
//! one, the question is whose view of that latest state is wrong, and the chain is the
//! authority: see the crate docs (Reconciliation) for the cases.

use crate::{fr, hash_hex, metrics, u256, IssuerCtx, Outcome, PublishError, Publisher};
use alloy_primitives::U256;
use claimd_chain::{ChainError, StateInfo};
use claimd_core::store::{
    Confirmation, InFlightTransition, StoreError, TransitionRecord, TransitionStatus, TransitionTx,
};
use std::time::Duration;

/// Most transitions adopted in one reconciliation (the chain being further ahead of the store
/// than this is not something the store can explain).
const MAX_ADOPTED: usize = 64;

/// How the chain refused a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its simulation (gas estimate) reverted: nothing was sent.
    Simulation { reason: Option<String> },
    /// A transaction of it was mined and reverted.
    Reverted {
        tx_hash: String,
        reason: Option<String>,
    },
    /// Its nonce was used by a transaction that is none of its attempts.
    NonceUsed { nonce: u64 },
}

impl Refusal {
    fn describe(&self) -> String {
        let reason = |r: &Option<String>| r.clone().unwrap_or_else(|| "no reason".into());
        match self {
            Refusal::Simulation { reason: r } => {
                format!("the contract refuses the transition: {}", reason(r))
            }
            Refusal::Reverted { tx_hash, reason: r } => {
                format!("transaction {tx_hash} reverted: {}", reason(r))
            }
            Refusal::NonceUsed { nonce } => {
                format!("nonce {nonce} was used by another transaction; no attempt was mined")
            }
        }
    }

    /// The abandon reason label of the metric.
    fn label(&self) -> &'static str {
        match self {
            Refusal::Simulation { .. } => "simulation",
            Refusal::Reverted { .. } => "reverted",
            Refusal::NonceUsed { .. } => "nonce_used",
        }
    }
}

/// A state for messages: iden3's little-endian hex, or `none` before any.
fn state_hex(state: Option<U256>) -> String {
    match state.map(fr) {
        Some(Ok(f)) => f.to_le_hex(),
        Some(Err(_)) => format!("{:#x}", state.unwrap_or_default()),
        None => "none".into(),
    }
}

impl Publisher {
    /// The chain refused transition `t`: decide from the issuer's state on chain.
    pub(crate) async fn reconcile(
        &self,
        ctx: &IssuerCtx,
        t: &InFlightTransition,
        refusal: Refusal,
    ) -> Result<Outcome, PublishError> {
        if let Some(o) = self.already_on_chain(ctx, t).await? {
            return Ok(o);
        }
        let chain = self.contract.state_info(ctx.id).await?;
        let chain_state = chain.map(|i| i.state);
        let store_state = t.old.map(|o| u256(o.state));
        if chain_state == store_state {
            // Same base on both sides: the transition itself is refused.
            return match refusal {
                Refusal::Simulation { .. } => Err(PublishError::Refused {
                    issuer: ctx.issuer,
                    transition: t.id,
                    reason: refusal.describe(),
                }),
                // A mined revert (the estimate was wrong, or the state moved between
                // estimate and mining) or a lost nonce: sign afresh; the next simulation
                // tells whether that can work before anything is sent.
                Refusal::Reverted { .. } | Refusal::NonceUsed { .. } => {
                    self.abandon(t, refusal.describe(), refusal.label()).await
                }
            };
        }
        tracing::warn!(
            issuer = %ctx.issuer,
            transition = t.id,
            chain_state = state_hex(chain_state),
            store_state = state_hex(store_state),
            refusal = refusal.describe(),
            "the chain's state of the issuer is not the store's; reconciling"
        );
        if let Some(info) = chain {
            if let Some(o) = self.adopt(ctx, t, info.state).await? {
                return Ok(o);
            }
        }
        Err(PublishError::Diverged {
            issuer: ctx.issuer,
            chain: state_hex(chain_state),
            store: state_hex(store_state),
        })
    }

    async fn abandon(
        &self,
        t: &InFlightTransition,
        reason: String,
        label: &'static str,
    ) -> Result<Outcome, PublishError> {
        self.store.abandon_transition(t.id, &reason).await?;
        metrics::counter!(metrics::TRANSITIONS_ABANDONED, "reason" => label).increment(1);
        tracing::warn!(issuer = %t.issuer_id, transition = t.id, %reason, "transition abandoned; recomputing");
        Ok(Outcome::Abandoned {
            transition: t.id,
            reason,
        })
    }

    /// The chain already records `t`'s new state (mined while we crashed, or by an attempt
    /// whose receipt we cannot see): confirm it with the block the contract recorded and the
    /// transaction that emitted its `StateUpdated` event.
    pub(crate) async fn already_on_chain(
        &self,
        ctx: &IssuerCtx,
        t: &InFlightTransition,
    ) -> Result<Option<Outcome>, PublishError> {
        let state = u256(t.new.state);
        let Some(info) = self.contract.state_info_by_state(ctx.id, state).await? else {
            return Ok(None);
        };
        // The same rule as a receipt's (see `is_final`). The contract's record has no block
        // hash to compare: a reorg before finality removes the record itself, and the next
        // step finds the state gone.
        let Some(at) = self.recorded(ctx, state, &info, &t.txs).await? else {
            return Ok(Some(Outcome::Waiting { transition: t.id }));
        };
        self.confirm(t, at).await.map(Some)
    }

    /// The confirmation of `state` as the contract recorded it (`info`), once its block is
    /// final (`None` before).
    async fn recorded(
        &self,
        ctx: &IssuerCtx,
        state: U256,
        info: &StateInfo,
        txs: &[TransitionTx],
    ) -> Result<Option<Confirmation>, PublishError> {
        if !self.is_final(info.created_at_block).await? {
            return Ok(None);
        }
        Ok(Some(Confirmation {
            tx_hash: self
                .state_tx_hash(ctx, state, info.created_at_block, txs)
                .await?,
            block_number: info.created_at_block,
            block_timestamp: info.created_at_timestamp,
        }))
    }

    /// The transaction that recorded `state`: from its event, else the newest attempt.
    async fn state_tx_hash(
        &self,
        ctx: &IssuerCtx,
        state: U256,
        block: u64,
        txs: &[TransitionTx],
    ) -> Result<String, PublishError> {
        if let Some(log) = self.contract.state_tx(ctx.id, state, block).await? {
            return Ok(hash_hex(log.tx_hash));
        }
        txs.last().map(|tx| tx.tx_hash.clone()).ok_or_else(|| {
            ChainError::Contract(format!(
                "no StateUpdated event for state {} in block {block}",
                state_hex(Some(state))
            ))
            .into()
        })
    }

    /// Walks back from the chain's latest state through transitions the store knows until
    /// the store's latest confirmed state, then adopts them oldest first. `None` when the
    /// chain's states cannot be explained by known transitions.
    async fn adopt(
        &self,
        ctx: &IssuerCtx,
        t: &InFlightTransition,
        chain_state: U256,
    ) -> Result<Option<Outcome>, PublishError> {
        let issuer = ctx.issuer;
        let published = self
            .store
            .published_state(issuer)
            .await?
            .map(|p| u256(p.roots.state));
        let mut path: Vec<TransitionRecord> = Vec::new();
        let mut state = Some(chain_state);
        while state != published {
            let Some(s) = state else {
                // Back at genesis without meeting the store's state.
                return Ok(None);
            };
            if path.len() >= MAX_ADOPTED {
                return Ok(None);
            }
            let Some(rec) = self.store.transition_by_new_state(issuer, fr(s)?).await? else {
                return Ok(None);
            };
            if rec.status == TransitionStatus::Confirmed {
                return Ok(None);
            }
            state = rec.old.map(|o| u256(o.state));
            path.push(rec);
        }
        let mut credentials = 0;
        let mut newest = t.id;
        for rec in path.into_iter().rev() {
            let state = u256(rec.new.state);
            let info = self
                .contract
                .state_info_by_state(ctx.id, state)
                .await?
                .ok_or_else(|| {
                    ChainError::Contract(format!(
                        "state {} vanished from the chain",
                        state_hex(Some(state))
                    ))
                })?;
            // Adopted transitions become confirmed too: the same finality rule.
            let Some(at) = self.recorded(ctx, state, &info, &rec.txs).await? else {
                return Ok(Some(Outcome::Waiting { transition: t.id }));
            };
            let changed = match self.store.adopt_transition(rec.id, &at).await {
                Ok(n) => n,
                Err(StoreError::Conflict(detail)) => {
                    tracing::error!(%issuer, transition = rec.id, %detail, "cannot adopt the chain's state");
                    return Ok(None);
                }
                Err(e) => return Err(e.into()),
            };
            metrics::counter!(metrics::TRANSITIONS_ADOPTED).increment(1);
            metrics::confirmed(
                (self.config.clock.now() - rec.computed_at)
                    .to_std()
                    .unwrap_or(Duration::ZERO),
            );
            tracing::warn!(
                %issuer,
                transition = rec.id,
                previous_status = rec.status.as_str(),
                tx.hash = at.tx_hash,
                block_number = at.block_number,
                credentials = changed,
                "adopted a transition the chain recorded"
            );
            credentials += changed;
            newest = rec.id;
        }
        if newest != t.id {
            // The transition in flight was built on the stale base: the store abandoned it.
            metrics::counter!(metrics::TRANSITIONS_ABANDONED, "reason" => "superseded")
                .increment(1);
        }
        Ok(Some(Outcome::Adopted {
            transition: newest,
            credentials,
        }))
    }
}
