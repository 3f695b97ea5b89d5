//! The typed `IdentityState` layer over any [`Chain`]: encodes calls, decodes returns,
//! reverts and `StateUpdated` events once, for both backends.

use std::sync::Arc;

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::{SolCall, SolEvent};

use crate::abi::IdentityState;
use crate::chain::{CallRequest, Chain, ChainLog, LogFilter, Receipt};
use crate::error::{ChainError, Result};

/// Revert reason of the getters for an unknown identity (same as iden3's).
pub const REASON_NO_IDENTITY: &str = "Identity does not exist";
/// Revert reason of `getStateInfoByIdAndState` for an unknown state (same as iden3's).
pub const REASON_NO_STATE: &str = "State does not exist";

/// Arguments of one `transitStateGeneric` call (method 1, empty params).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    /// Identity (the 31 ID bytes read little-endian).
    pub id: U256,
    /// The identity's current state (0 for the genesis state of an Ethereum identity).
    pub old_state: U256,
    /// The state to publish; non-zero and never used before by this identity.
    pub new_state: U256,
    /// `true` for the identity's first transition.
    pub is_old_state_genesis: bool,
}

impl Transition {
    /// The first transition of an Ethereum-controlled identity (genesis state 0).
    pub fn genesis(id: U256, new_state: U256) -> Self {
        Self {
            id,
            old_state: U256::ZERO,
            new_state,
            is_old_state_genesis: true,
        }
    }

    /// A transition from the identity's latest published state.
    pub fn next(id: U256, old_state: U256, new_state: U256) -> Self {
        Self {
            id,
            old_state,
            new_state,
            is_old_state_genesis: false,
        }
    }

    /// The ABI-encoded `transitStateGeneric` call (method 1, empty params).
    pub fn calldata(&self) -> Bytes {
        IdentityState::transitStateGenericCall {
            id: self.id,
            oldState: self.old_state,
            newState: self.new_state,
            isOldStateGenesis: self.is_old_state_genesis,
            methodId: U256::from(crate::abi::METHOD_ETH_IDENTITY),
            methodParams: Bytes::new(),
        }
        .abi_encode()
        .into()
    }
}

/// One record of an identity's state history (iden3 `StateInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateInfo {
    /// Identity.
    pub id: U256,
    /// State.
    pub state: U256,
    /// The state that replaced it, 0 if it is the latest.
    pub replaced_by_state: U256,
    /// Timestamp of the block that recorded it (0 for a genesis state).
    pub created_at_timestamp: u64,
    /// Timestamp of the block that replaced it, 0 if it is the latest.
    pub replaced_at_timestamp: u64,
    /// Number of the block that recorded it (0 for a genesis state).
    pub created_at_block: u64,
    /// Number of the block that replaced it, 0 if it is the latest.
    pub replaced_at_block: u64,
}

impl TryFrom<IdentityState::StateInfo> for StateInfo {
    type Error = ChainError;
    fn try_from(s: IdentityState::StateInfo) -> Result<Self> {
        Ok(Self {
            id: s.id,
            state: s.state,
            replaced_by_state: s.replacedByState,
            created_at_timestamp: to_u64(s.createdAtTimestamp, "createdAtTimestamp")?,
            replaced_at_timestamp: to_u64(s.replacedAtTimestamp, "replacedAtTimestamp")?,
            created_at_block: to_u64(s.createdAtBlock, "createdAtBlock")?,
            replaced_at_block: to_u64(s.replacedAtBlock, "replacedAtBlock")?,
        })
    }
}

/// A decoded `StateUpdated(id, blockN, timestamp, state)` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateUpdate {
    /// Identity.
    pub id: U256,
    /// Block number recorded by the contract (0 for the genesis state record).
    pub block_number: u64,
    /// Timestamp recorded by the contract (0 for the genesis state record).
    pub timestamp: u64,
    /// The recorded state.
    pub state: U256,
}

impl TryFrom<&IdentityState::StateUpdated> for StateUpdate {
    type Error = ChainError;
    fn try_from(e: &IdentityState::StateUpdated) -> Result<Self> {
        Ok(Self {
            id: e.id,
            block_number: to_u64(e.blockN, "blockN")?,
            timestamp: to_u64(e.timestamp, "timestamp")?,
            state: e.state,
        })
    }
}

fn to_u64(v: U256, what: &'static str) -> Result<u64> {
    u64::try_from(v).map_err(|_| ChainError::decode(what, format!("{v} does not fit in u64")))
}

/// The `IdentityState` contract at `address` on `chain`.
#[derive(Debug, Clone)]
pub struct StateContract {
    chain: Arc<dyn Chain>,
    address: Address,
}

impl StateContract {
    /// The contract deployed at `address`.
    pub fn new(chain: Arc<dyn Chain>, address: Address) -> Self {
        Self { chain, address }
    }

    /// The contract's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The chain it lives on.
    pub fn chain(&self) -> &Arc<dyn Chain> {
        &self.chain
    }

    async fn view<C: SolCall>(&self, call: C) -> Result<C::Return> {
        let out = self
            .chain
            .call(&CallRequest {
                to: Some(self.address),
                data: call.abi_encode().into(),
                ..Default::default()
            })
            .await?;
        C::abi_decode_returns(&out).map_err(|e| ChainError::decode(C::SIGNATURE, e))
    }

    /// Whether the code at the address is exactly the committed artifact's runtime bytecode.
    ///
    /// # Errors
    /// Transport errors of the chain.
    pub async fn is_deployed(&self) -> Result<bool> {
        let code = self.chain.code(self.address).await?;
        Ok(code == crate::abi::artifact()?.deployed_bytecode)
    }

    /// The latest state of `id`, `None` if the identity has never published.
    ///
    /// # Errors
    /// Transport errors, or [`ChainError::Decode`] on a malformed answer.
    pub async fn state_info(&self, id: U256) -> Result<Option<StateInfo>> {
        match self.view(IdentityState::getStateInfoByIdCall { id }).await {
            Ok(info) => Ok(Some(info.try_into()?)),
            Err(e) if e.revert_reason() == Some(REASON_NO_IDENTITY) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The latest record of `state` for `id`, `None` if `id` never had that state.
    ///
    /// # Errors
    /// Transport errors, or [`ChainError::Decode`] on a malformed answer.
    pub async fn state_info_by_state(&self, id: U256, state: U256) -> Result<Option<StateInfo>> {
        match self
            .view(IdentityState::getStateInfoByIdAndStateCall { id, state })
            .await
        {
            Ok(info) => Ok(Some(info.try_into()?)),
            Err(e) if e.revert_reason() == Some(REASON_NO_STATE) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Number of state records of `id` (0 if none; a genesis transition records two).
    ///
    /// # Errors
    /// Transport errors, or [`ChainError::Decode`] on a malformed answer.
    pub async fn history_length(&self, id: U256) -> Result<u64> {
        match self
            .view(IdentityState::getStateInfoHistoryLengthByIdCall { id })
            .await
        {
            Ok(n) => to_u64(n, "history length"),
            Err(e) if e.revert_reason() == Some(REASON_NO_IDENTITY) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Whether `id` has any state on chain.
    ///
    /// # Errors
    /// Transport errors, or [`ChainError::Decode`] on a malformed answer.
    pub async fn id_exists(&self, id: U256) -> Result<bool> {
        self.view(IdentityState::idExistsCall { id }).await
    }

    /// Whether `id` ever had `state` on chain.
    ///
    /// # Errors
    /// Transport errors, or [`ChainError::Decode`] on a malformed answer.
    pub async fn state_exists(&self, id: U256, state: U256) -> Result<bool> {
        self.view(IdentityState::stateExistsCall { id, state })
            .await
    }

    /// The ID that `address` controls, with the ID type taken from `id` (the contract's own
    /// ownership rule, for checking an ID before sending).
    ///
    /// # Errors
    /// Transport errors, or [`ChainError::Decode`] on a malformed answer.
    pub async fn id_of_address(&self, id_with_type: U256, address: Address) -> Result<U256> {
        self.view(IdentityState::calcIdFromEthAddressCall {
            id: id_with_type,
            caller: address,
        })
        .await
    }

    /// Runs the transition as an `eth_call` from `from` without sending anything: `Ok(())` if
    /// it would succeed, [`ChainError::Reverted`] with the contract's reason if not.
    ///
    /// # Errors
    /// [`ChainError::Reverted`], transport errors.
    pub async fn simulate_transit(&self, from: Address, transition: &Transition) -> Result<()> {
        self.chain
            .call(&self.transit_request(from, transition))
            .await
            .map(|_| ())
    }

    /// Gas the transition would use if sent now from `from` (no margin added).
    ///
    /// # Errors
    /// [`ChainError::Reverted`] if it would revert, transport errors.
    pub async fn estimate_transit(&self, from: Address, transition: &Transition) -> Result<u64> {
        self.chain
            .estimate_gas(&self.transit_request(from, transition))
            .await
    }

    fn transit_request(&self, from: Address, transition: &Transition) -> CallRequest {
        CallRequest {
            from: Some(from),
            to: Some(self.address),
            data: transition.calldata(),
            value: U256::ZERO,
        }
    }

    /// The `StateUpdated` events this contract emitted in `receipt`, in order. A genesis
    /// transition yields two (the genesis state with block/timestamp 0, then the new state).
    ///
    /// # Errors
    /// [`ChainError::Decode`] if a log with the event's topic does not decode.
    pub fn state_updates(&self, receipt: &Receipt) -> Result<Vec<StateUpdate>> {
        receipt
            .logs
            .iter()
            .filter(|l| {
                l.address == self.address
                    && l.topics().first() == Some(&IdentityState::StateUpdated::SIGNATURE_HASH)
            })
            .map(|l| {
                let ev = IdentityState::StateUpdated::decode_log_data(&l.data)
                    .map_err(|e| ChainError::decode("StateUpdated", e))?;
                StateUpdate::try_from(&ev)
            })
            .collect()
    }

    /// All `StateUpdated` events from `from_block` on, with their position on the chain.
    ///
    /// # Errors
    /// Transport errors, [`ChainError::Decode`].
    pub async fn state_update_logs(&self, from_block: u64) -> Result<Vec<(StateUpdate, ChainLog)>> {
        self.state_update_logs_in(from_block, None).await
    }

    /// The transaction that recorded `state` for `id` in block `block` (as
    /// [`StateInfo::created_at_block`] reports it), found by its `StateUpdated` event: how a
    /// transition that reached the chain without its hash being known is confirmed.
    /// `None` if no such event is in that block.
    ///
    /// # Errors
    /// Transport errors, [`ChainError::Decode`].
    pub async fn state_tx(&self, id: U256, state: U256, block: u64) -> Result<Option<ChainLog>> {
        Ok(self
            .state_update_logs_in(block, Some(block))
            .await?
            .into_iter()
            .find(|(u, _)| u.id == id && u.state == state)
            .map(|(_, log)| log))
    }

    async fn state_update_logs_in(
        &self,
        from_block: u64,
        to_block: Option<u64>,
    ) -> Result<Vec<(StateUpdate, ChainLog)>> {
        let logs = self
            .chain
            .logs(&LogFilter {
                address: self.address,
                topic0: Some(IdentityState::StateUpdated::SIGNATURE_HASH),
                from_block,
                to_block,
            })
            .await?;
        logs.into_iter()
            .map(|cl| {
                let ev = IdentityState::StateUpdated::decode_log_data(&cl.log.data)
                    .map_err(|e| ChainError::decode("StateUpdated", e))?;
                Ok((StateUpdate::try_from(&ev)?, cl))
            })
            .collect()
    }
}
