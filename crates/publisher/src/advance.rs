//! Driving an in-flight transition: sign, send, replace when stuck, confirm.
//!
//! Every transaction is recorded before it is sent, so after a crash the next step finds
//! whichever attempt was mined by its hash; a step never waits for the chain.

use crate::fees::{self, Replacement};
use crate::reconcile::Refusal;
use crate::{hash_hex, metrics, u256, Finality, IssuerCtx, Outcome, PublishError, Publisher};
use alloy_primitives::{Address, B256, U256};
use claimd_chain::{ChainError, NonceKind, Receipt, SignedTx, Transition, TxParams};
use claimd_core::store::{Confirmation, InFlightTransition, StoreError, TransitionTx};
use std::time::Duration;

/// Replacements tried in one step when the pool keeps calling them underpriced.
const REPLACEMENT_TRIES: usize = 4;

/// The `transitStateGeneric` call of an in-flight transition.
pub(crate) fn chain_transition(ctx: &IssuerCtx, t: &InFlightTransition) -> Transition {
    match t.old {
        None => Transition::genesis(ctx.id, u256(t.new.state)),
        Some(old) => Transition::next(ctx.id, u256(old.state), u256(t.new.state)),
    }
}

fn tx_hash(tx: &TransitionTx) -> Result<B256, PublishError> {
    tx.tx_hash.parse().map_err(|_| {
        StoreError::Internal(format!("bad tx hash {:?} in the store", tx.tx_hash)).into()
    })
}

impl Publisher {
    pub(crate) async fn advance(
        &self,
        ctx: &IssuerCtx,
        t: InFlightTransition,
    ) -> Result<Outcome, PublishError> {
        let transition = chain_transition(ctx, &t);
        let Some(latest) = t.latest_tx().cloned() else {
            return self.sign_first(ctx, &t, &transition).await;
        };
        let from = ctx.signer.address();
        // While the account's nonce has not passed ours, none of the attempts is mined: one
        // cheap call instead of a receipt per attempt.
        let mined_nonce = self.chain.nonce(from, NonceKind::Latest).await?;
        if mined_nonce > latest.nonce {
            if let Some(r) = self.mined_attempt(&t).await? {
                return self.on_receipt(ctx, &t, r).await;
            }
            if let Some(o) = self.already_on_chain(ctx, &t).await? {
                return Ok(o);
            }
            let refusal = Refusal::NonceUsed {
                nonce: latest.nonce,
            };
            return self.reconcile(ctx, &t, refusal).await;
        }
        let age = (self.config.clock.now() - latest.recorded_at)
            .to_std()
            .unwrap_or(Duration::ZERO);
        if age >= self.config.replace_after {
            return self.replace(ctx, &t, &transition, &latest).await;
        }
        self.resend(ctx, &t, &transition, &latest).await
    }

    /// The receipt of whichever attempt was mined, newest first.
    async fn mined_attempt(&self, t: &InFlightTransition) -> Result<Option<Receipt>, PublishError> {
        for tx in t.txs.iter().rev() {
            if let Some(r) = self.chain.receipt(tx_hash(tx)?).await? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    async fn on_receipt(
        &self,
        ctx: &IssuerCtx,
        t: &InFlightTransition,
        r: Receipt,
    ) -> Result<Outcome, PublishError> {
        if !r.status {
            let refusal = Refusal::Reverted {
                tx_hash: hash_hex(r.tx_hash),
                reason: r.revert_reason.clone(),
            };
            return self.reconcile(ctx, t, refusal).await;
        }
        if !self.is_final(r.block_number).await? {
            return Ok(Outcome::Waiting { transition: t.id });
        }
        // The receipt was read before the finality checks: a reorg since may have replaced its
        // block. Confirm only if that block is still the canonical one at its height; else the
        // next step reads the receipt afresh (or finds the transaction gone and resends it).
        if let Some(hash) = r.block_hash {
            let canonical = self.chain.block_hash(r.block_number).await?;
            if canonical != Some(hash) {
                tracing::warn!(
                    issuer = %t.issuer_id,
                    transition = t.id,
                    tx.hash = %r.tx_hash,
                    block_number = r.block_number,
                    "the block of the receipt was reorganised away; not confirming"
                );
                return Ok(Outcome::Waiting { transition: t.id });
            }
        }
        let at = Confirmation {
            tx_hash: hash_hex(r.tx_hash),
            block_number: r.block_number,
            block_timestamp: r.timestamp,
        };
        self.confirm(t, at).await
    }

    /// Whether a transition mined in `block` may be confirmed: `confirmations` blocks deep
    /// and, in [`Finality::Finalized`] mode, at or below the chain's `finalized` block. A
    /// chain without that tag leaves depth as the only rule: there is nothing better to ask.
    pub(crate) async fn is_final(&self, block: u64) -> Result<bool, PublishError> {
        let head = self.chain.block_number().await?;
        if head < block.saturating_add(self.config.confirmations) {
            return Ok(false);
        }
        match self.config.finality {
            Finality::Depth => Ok(true),
            Finality::Finalized => match self.chain.finalized_block().await? {
                Some(finalized) => Ok(block <= finalized),
                None => Ok(true),
            },
        }
    }

    pub(crate) async fn confirm(
        &self,
        t: &InFlightTransition,
        at: Confirmation,
    ) -> Result<Outcome, PublishError> {
        let credentials = self.store.confirm_transition(t.id, &at).await?;
        let lag = (self.config.clock.now() - t.computed_at)
            .to_std()
            .unwrap_or(Duration::ZERO);
        metrics::confirmed(lag);
        let block_number = at.block_number;
        tracing::info!(
            issuer = %t.issuer_id,
            transition = t.id,
            tx.hash = at.tx_hash,
            block_number,
            credentials,
            lag_ms = lag.as_millis() as u64,
            "state published"
        );
        Ok(Outcome::Confirmed {
            transition: t.id,
            block_number,
            credentials,
        })
    }

    /// Step 2: estimate (which simulates), sign and record the first transaction.
    async fn sign_first(
        &self,
        ctx: &IssuerCtx,
        t: &InFlightTransition,
        transition: &Transition,
    ) -> Result<Outcome, PublishError> {
        let from = ctx.signer.address();
        let estimate = match self.contract.estimate_transit(from, transition).await {
            Ok(gas) => gas,
            Err(e @ ChainError::Reverted { .. }) => {
                metrics::chain_error(&e);
                let reason = e.revert_reason().map(str::to_owned);
                return self.reconcile(ctx, t, Refusal::Simulation { reason }).await;
            }
            Err(e) => return Err(e.into()),
        };
        // The estimate plus a margin, so a transaction never runs out of gas and gets
        // refused again and again.
        let gas_limit = self.config.gas_limit.max(estimate.saturating_mul(6) / 5);
        let nonce = self.chain.nonce(from, NonceKind::Pending).await?;
        let params = fees::first(
            nonce,
            gas_limit,
            self.chain.fees().await?,
            self.config.max_fee_per_gas,
        );
        let Some(signed) = self.sign_and_record(ctx, t, transition, params).await? else {
            return Ok(Outcome::Busy);
        };
        Ok(Outcome::Signed {
            transition: t.id,
            tx_hash: hash_hex(signed.hash),
        })
    }

    /// Signs with `params` and records the transaction under the lease; `None` if the lease
    /// was lost meanwhile (nothing recorded, nothing to send).
    async fn sign_and_record(
        &self,
        ctx: &IssuerCtx,
        t: &InFlightTransition,
        transition: &Transition,
        params: TxParams,
    ) -> Result<Option<SignedTx>, PublishError> {
        self.ensure_funds(ctx.signer.address(), &params).await?;
        let signed = ctx
            .signer
            .sign_transit(self.contract.address(), transition, params)?;
        let record = TransitionTx {
            nonce: signed.nonce,
            tx_hash: hash_hex(signed.hash),
            raw: signed.raw.to_vec(),
            recorded_at: self.config.clock.now(),
        };
        match self
            .store
            .record_transition_tx(t.id, record, &self.config.owner)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(detail)) => {
                tracing::warn!(issuer = %t.issuer_id, transition = t.id, %detail, "not signing");
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        }
        metrics::counter!(metrics::TRANSACTIONS_SIGNED).increment(1);
        Ok(Some(signed))
    }

    /// Step 3: make sure the node has the newest attempt. A pool that holds a transaction
    /// with our nonce (the pending nonce is past it) has ours: nothing to send.
    async fn resend(
        &self,
        ctx: &IssuerCtx,
        t: &InFlightTransition,
        transition: &Transition,
        latest: &TransitionTx,
    ) -> Result<Outcome, PublishError> {
        if self.pooled(ctx, latest).await? {
            return Ok(Outcome::Waiting { transition: t.id });
        }
        match self.chain.send_raw(latest.raw.clone().into()).await {
            Ok(_) => Ok(Outcome::Sent {
                transition: t.id,
                tx_hash: latest.tx_hash.clone(),
            }),
            Err(e @ ChainError::AlreadyKnown) | Err(e @ ChainError::NonceTooLow { .. }) => {
                // In the pool already, or mined meanwhile: the next step sees which.
                metrics::chain_error(&e);
                Ok(Outcome::Waiting { transition: t.id })
            }
            Err(e @ ChainError::FeeTooLow(_)) => {
                // The node will not even queue it (the base fee rose past its fee cap):
                // waiting cannot help, replace it now.
                metrics::chain_error(&e);
                tracing::info!(issuer = %t.issuer_id, transition = t.id, error = %e, "replacing an unsendable transaction");
                self.replace(ctx, t, transition, latest).await
            }
            Err(e @ ChainError::ReplacementUnderpriced) => {
                // Another transaction with our nonce pays more: it gets mined or dropped,
                // and the nonce check of a later step tells.
                metrics::chain_error(&e);
                Ok(Outcome::Waiting { transition: t.id })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A stuck transaction: sign the same call with the same nonce and higher fees, record it,
    /// send it. The earlier attempts stay recorded: any of them may still be mined.
    async fn replace(
        &self,
        ctx: &IssuerCtx,
        t: &InFlightTransition,
        transition: &Transition,
        latest: &TransitionTx,
    ) -> Result<Outcome, PublishError> {
        let mut previous = TxParams::of_raw(&latest.raw)?;
        let suggested = self.chain.fees().await?;
        for _ in 0..REPLACEMENT_TRIES {
            let params = match fees::replacement(
                previous,
                suggested,
                self.config.fee_bump_permille,
                self.config.max_fee_per_gas,
            ) {
                Replacement::Bump(p) => p,
                Replacement::AtCeiling => {
                    metrics::counter!(metrics::FEE_CEILING_REACHED).increment(1);
                    tracing::warn!(
                        issuer = %t.issuer_id,
                        transition = t.id,
                        max_fee_per_gas = previous.max_fee_per_gas,
                        "transaction stuck at the fee ceiling; waiting"
                    );
                    return self.resend_unless_pooled(ctx, t, latest).await;
                }
            };
            let Some(signed) = self.sign_and_record(ctx, t, transition, params).await? else {
                return Ok(Outcome::Busy);
            };
            metrics::counter!(metrics::REPLACEMENTS).increment(1);
            let tx_hash = hash_hex(signed.hash);
            tracing::info!(
                issuer = %t.issuer_id,
                transition = t.id,
                tx.hash = tx_hash,
                replaces = latest.tx_hash,
                nonce = params.nonce,
                max_fee_per_gas = params.max_fee_per_gas,
                max_priority_fee_per_gas = params.max_priority_fee_per_gas,
                "replacing a stuck transaction"
            );
            match self.chain.send_raw(signed.raw).await {
                Ok(_) => {}
                Err(e @ (ChainError::ReplacementUnderpriced | ChainError::FeeTooLow(_))) => {
                    // The pool wants more than our bump: raise again from this attempt.
                    metrics::chain_error(&e);
                    previous = params;
                    continue;
                }
                Err(e) if e.is_transient() => {
                    // Recorded: a later step resends it or finds it mined.
                    metrics::chain_error(&e);
                }
                Err(e @ (ChainError::AlreadyKnown | ChainError::NonceTooLow { .. })) => {
                    metrics::chain_error(&e);
                }
                Err(e) => return Err(e.into()),
            }
            return Ok(Outcome::Replaced {
                transition: t.id,
                tx_hash,
            });
        }
        Ok(Outcome::Waiting { transition: t.id })
    }

    /// Whether the node's pool holds a transaction with `latest`'s nonce: its pending nonce
    /// is past it.
    async fn pooled(&self, ctx: &IssuerCtx, latest: &TransitionTx) -> Result<bool, PublishError> {
        let pending = self
            .chain
            .nonce(ctx.signer.address(), NonceKind::Pending)
            .await?;
        Ok(pending > latest.nonce)
    }

    async fn resend_unless_pooled(
        &self,
        ctx: &IssuerCtx,
        t: &InFlightTransition,
        latest: &TransitionTx,
    ) -> Result<Outcome, PublishError> {
        if !self.pooled(ctx, latest).await? {
            if let Err(e) = self.chain.send_raw(latest.raw.clone().into()).await {
                metrics::chain_error(&e);
                if e.is_transient() {
                    return Err(e.into());
                }
            }
        }
        Ok(Outcome::Waiting { transition: t.id })
    }

    /// Dev mode: tops up an issuer that cannot pay for one transaction.
    async fn ensure_funds(&self, from: Address, params: &TxParams) -> Result<(), PublishError> {
        let need = U256::from(params.gas_limit) * U256::from(params.max_fee_per_gas);
        if matches!(self.config.funding, crate::Funding::Off) {
            return Ok(());
        }
        let _turn = self.funding.lock().await;
        if self.chain.balance(from).await? >= need {
            return Ok(());
        }
        let amount = self.config.funding_amount.max(need);
        match &self.config.funding {
            crate::Funding::Off => {}
            crate::Funding::Embedded(chain) => {
                chain.fund(from, amount).await?;
            }
            crate::Funding::DevKey(dev) => {
                claimd_chain::transfer(self.chain.as_ref(), dev, from, amount).await?;
            }
        }
        tracing::info!(address = %from, %amount, "funded issuer (dev mode)");
        Ok(())
    }
}
