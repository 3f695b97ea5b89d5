//! claimd's chain layer: the `IdentityState` contract, and two interchangeable backends to
//! publish identity states on — an EVM reached over JSON-RPC, or an embedded in-process EVM.
//!
//! # Layout
//! - [`abi`] — `alloy::sol!` bindings of `contracts/IdentityState.sol` (ABI-compatible with
//!   iden3's `State` for `transitStateGeneric` method 1 and the state getters) and the committed
//!   compiled artifact ([`abi::artifact`]).
//! - [`Chain`] — the low-level async port (object safe, `Send + Sync`): chain id, block number,
//!   nonce, balance, code, fee suggestion, `eth_call`, gas estimate, `send_raw` of a signed
//!   EIP-2718 transaction, receipt, logs. It speaks `alloy-primitives` types only.
//! - [`StateContract`] — the typed contract layer over any `Arc<dyn Chain>`:
//!   [`state_info`](StateContract::state_info), [`state_info_by_state`](StateContract::state_info_by_state),
//!   [`id_exists`](StateContract::id_exists), [`state_exists`](StateContract::state_exists),
//!   [`history_length`](StateContract::history_length),
//!   [`simulate_transit`](StateContract::simulate_transit) (revert reason before sending),
//!   [`estimate_transit`](StateContract::estimate_transit),
//!   [`state_updates`](StateContract::state_updates) (decode `StateUpdated` from a receipt),
//!   [`state_tx`](StateContract::state_tx) (the transaction that recorded a state).
//! - [`TxSigner`] — builds and signs EIP-1559 transactions with a local key for a given nonce
//!   and fees: [`sign_transit`](TxSigner::sign_transit), [`sign_deploy`](TxSigner::sign_deploy),
//!   [`sign_transfer`](TxSigner::sign_transfer); [`TxParams::bumped_permille`] for replacements,
//!   [`TxParams::of_raw`] to read a signed transaction's nonce and fees back.
//! - [`EmbeddedChain`] — revm (spec [`embedded::SPEC`], pinned) executing the same signed
//!   transactions; one block per transaction, mined on demand; deploys the contract from
//!   [`embedded::DEV_PRIVATE_KEY`] at first start; [`EmbeddedChain::fund`] for dev mode;
//!   persisted as an fsync'd, replayed journal in a directory.
//! - [`JsonRpcChain`] — alloy HTTP provider without wallet fillers, with a request timeout.
//! - [`ops`] — [`deploy_state_contract`], [`transfer`], [`wait_for_receipt`].
//! - [`ChainError`] — typed errors: [`Reverted`](ChainError::Reverted) (with reason) vs
//!   [`Transport`](ChainError::Transport)/[`Timeout`](ChainError::Timeout) (transient) vs
//!   [`NonceTooLow`](ChainError::NonceTooLow)/[`ReplacementUnderpriced`](ChainError::ReplacementUnderpriced)/
//!   [`AlreadyKnown`](ChainError::AlreadyKnown) (reconcile), and more; [`ChainError::kind`] names
//!   the variant for metrics.
//!
//! # Conventions
//! - An identity's `uint256 id` is its 31 ID bytes read **little-endian**
//!   (`U256::from_le_slice(claimd_iden3::id::Id::as_bytes())`); a state is the field element's
//!   integer value (`U256::from_be_bytes(fr.to_be_bytes())`). Only Ethereum-controlled
//!   identities (genesis = the address, method 1) can transit; their genesis state is 0.
//! - A genesis transition records two states (the genesis state 0 with block/timestamp 0, then
//!   the new one) and emits two `StateUpdated` events, exactly like iden3's `State`.
//! - Errors are [`ChainError`]. A contract refusal is [`ChainError::Reverted`] from
//!   `call`/`estimate_gas`/[`StateContract::simulate_transit`]; a refused transaction that is
//!   mined anyway has a receipt with `status == false` and [`Receipt::revert_reason`] (the
//!   embedded chain records it; [`JsonRpcChain`] re-runs the call on the parent block's state,
//!   best effort).
//!
//! # Publishing a state transition
//! ```no_run
//! # async fn demo(key: alloy::primitives::B256, id: alloy::primitives::U256,
//! #               new_state: alloy::primitives::U256) -> claimd_chain::Result<()> {
//! use std::sync::Arc;
//! use claimd_chain::*;
//!
//! let chain = EmbeddedChain::open("data/chain", EmbeddedConfig::default())?;
//! let contract = StateContract::new(Arc::new(chain.clone()), chain.contract_address());
//! // The identity's own key signs (Ethereum-controlled identity, method 1).
//! let signer = TxSigner::from_private_key(&key, chain.chain_id().await?)?;
//! chain.fund(signer.address(), alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(18u64))).await?;
//!
//! let t = Transition::genesis(id, new_state);
//! contract.simulate_transit(signer.address(), &t).await?; // Err(Reverted{reason}) if refused
//! let nonce = chain.nonce(signer.address(), NonceKind::Pending).await?;
//! let tx = signer.sign_transit(contract.address(), &t,
//!     TxParams::new(nonce, DEFAULT_TRANSIT_GAS_LIMIT, chain.fees().await?))?;
//! // Persist (tx.hash, nonce, tx.raw) before sending, so a crash can reconcile.
//! chain.send_raw(tx.raw.clone()).await?;
//! let receipt = chain.receipt(tx.hash).await?.expect("embedded chain mines at once");
//! let updates = contract.state_updates(&receipt)?; // genesis: [genesis record, new state]
//! assert_eq!(updates.last().map(|u| u.state), Some(new_state));
//! # Ok(()) }
//! ```

pub mod abi;
mod chain;
pub mod embedded;
mod error;
mod jsonrpc;
pub mod ops;
mod signer;
mod state;
#[cfg(feature = "testing")]
pub mod testing;
pub mod words;

pub use chain::{CallRequest, Chain, ChainLog, FeeSuggestion, LogFilter, NonceKind, Receipt};
pub use embedded::{BlockClock, EmbeddedChain, EmbeddedConfig};
pub use error::{decode_revert, ChainError, Result};
pub use jsonrpc::{JsonRpcChain, DEFAULT_RPC_TIMEOUT};
pub use ops::{deploy_state_contract, transfer, wait_for_receipt};
pub use signer::{
    SignedTx, TxParams, TxSigner, DEFAULT_DEPLOY_GAS_LIMIT, DEFAULT_TRANSIT_GAS_LIMIT,
    TRANSFER_GAS_LIMIT,
};
pub use state::{
    StateContract, StateInfo, StateUpdate, Transition, REASON_NO_IDENTITY, REASON_NO_STATE,
};
