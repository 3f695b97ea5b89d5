//! The low-level [`Chain`] port: raw bytes in, raw bytes and logs out.
//!
//! Both backends ([`crate::EmbeddedChain`], [`crate::JsonRpcChain`]) receive exactly the same
//! signed EIP-2718 transactions, so nonce handling, signing and retries are exercised the same
//! way in the zero-setup embedded mode as against a real chain.

use alloy::primitives::{Address, Bytes, Log, TxHash, B256, U256};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Which nonce to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonceKind {
    /// Transactions mined so far (`eth_getTransactionCount(addr, "latest")`).
    Latest,
    /// Including transactions waiting in the node's pool (`"pending"`): the next nonce to use.
    #[default]
    Pending,
}

/// Fee parameters suggested by the chain for an EIP-1559 transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeSuggestion {
    /// Base fee of the latest block.
    pub base_fee_per_gas: u128,
    /// Suggested `maxPriorityFeePerGas` (tip).
    pub max_priority_fee_per_gas: u128,
    /// Suggested `maxFeePerGas`: `2 * base fee + tip`, room for base-fee growth over a few blocks.
    pub max_fee_per_gas: u128,
}

impl FeeSuggestion {
    /// `max_fee = 2 * base + tip`, the usual wallet default.
    pub fn from_base_and_tip(base_fee_per_gas: u128, max_priority_fee_per_gas: u128) -> Self {
        Self {
            base_fee_per_gas,
            max_priority_fee_per_gas,
            max_fee_per_gas: base_fee_per_gas
                .saturating_mul(2)
                .saturating_add(max_priority_fee_per_gas),
        }
    }
}

/// A mined transaction's receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Transaction hash.
    pub tx_hash: TxHash,
    /// `true` if execution succeeded (status 1), `false` if it reverted or halted (status 0).
    pub status: bool,
    /// Number of the block that includes it.
    pub block_number: u64,
    /// Hash of that block. The embedded chain derives a synthetic, deterministic hash.
    pub block_hash: Option<B256>,
    /// Timestamp of that block (Unix seconds).
    pub timestamp: u64,
    /// Index of the transaction in its block.
    pub transaction_index: u64,
    /// Sender.
    pub from: Address,
    /// Recipient (`None` for contract creation).
    pub to: Option<Address>,
    /// Address of the created contract, for a creation.
    pub contract_address: Option<Address>,
    /// Gas used by this transaction.
    pub gas_used: u64,
    /// Price actually paid per gas (base fee + effective tip).
    pub effective_gas_price: u128,
    /// Logs emitted, in order.
    pub logs: Vec<Log>,
    /// Revert reason of a failed transaction when known: the embedded chain records it;
    /// [`crate::JsonRpcChain`] re-runs the call on the parent block's state (best effort, since
    /// nodes do not put reasons in receipts).
    pub revert_reason: Option<String>,
}

/// A log with its position on the chain, as returned by [`Chain::logs`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLog {
    /// The log (emitting address, topics, data).
    pub log: Log,
    /// Block that contains it.
    pub block_number: u64,
    /// Transaction that emitted it.
    pub tx_hash: TxHash,
    /// Index of the log in its block.
    pub log_index: u64,
}

/// Which logs [`Chain::logs`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    /// Emitting contract.
    pub address: Address,
    /// First topic (the event signature hash), or any event if `None`.
    pub topic0: Option<B256>,
    /// First block, inclusive.
    pub from_block: u64,
    /// Last block, inclusive (`None` = latest).
    pub to_block: Option<u64>,
}

/// A read-only call (`eth_call`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallRequest {
    /// `msg.sender` of the call (matters for ownership checks); zero address if `None`.
    pub from: Option<Address>,
    /// Contract called; `None` simulates a contract creation with `data` as init code.
    pub to: Option<Address>,
    /// Calldata.
    pub data: Bytes,
    /// Value sent with the call.
    pub value: U256,
}

/// An EVM chain as claimd needs it: read accounts and contracts, submit signed transactions,
/// fetch receipts and logs.
///
/// Object safe (`Arc<dyn Chain>`), `Send + Sync`. Every method speaks `alloy-primitives` types.
/// A reverted `call`/`estimate_gas` is [`crate::ChainError::Reverted`] with the decoded reason.
#[async_trait]
pub trait Chain: Send + Sync + std::fmt::Debug {
    /// The chain id (EIP-155).
    async fn chain_id(&self) -> Result<u64>;

    /// Number of the latest block.
    async fn block_number(&self) -> Result<u64>;

    /// Number of the newest block the chain calls `finalized` (it can no longer be reorganised
    /// away), or `None` when the chain has no such tag (pre-merge or tag-less L2 nodes): the
    /// caller then falls back to counting confirmations. The embedded chain mines its own
    /// blocks and never reorganises: its finalized block is its head.
    async fn finalized_block(&self) -> Result<Option<u64>>;

    /// Hash of the canonical block at `number`, `None` past the head. Compared with a
    /// receipt's `block_hash`, it tells whether that receipt's block is still on the chain.
    async fn block_hash(&self, number: u64) -> Result<Option<B256>>;

    /// The account's nonce.
    async fn nonce(&self, address: Address, kind: NonceKind) -> Result<u64>;

    /// The account's balance in wei.
    async fn balance(&self, address: Address) -> Result<U256>;

    /// The code deployed at `address` (empty if none).
    async fn code(&self, address: Address) -> Result<Bytes>;

    /// Suggested EIP-1559 fees.
    async fn fees(&self) -> Result<FeeSuggestion>;

    /// Gas the transaction would use if sent now (no safety margin added: add your own).
    async fn estimate_gas(&self, request: &CallRequest) -> Result<u64>;

    /// Executes a call against the latest state without committing anything.
    async fn call(&self, request: &CallRequest) -> Result<Bytes>;

    /// Submits a signed EIP-2718 transaction and returns its hash.
    ///
    /// On the embedded chain the transaction is mined (its own block) and persisted before
    /// this returns; on JSON-RPC it is only accepted into the node's pool.
    async fn send_raw(&self, raw: Bytes) -> Result<TxHash>;

    /// The receipt of a mined transaction, `None` if it is not (yet) mined or unknown.
    async fn receipt(&self, hash: TxHash) -> Result<Option<Receipt>>;

    /// Logs matching `filter`, oldest first.
    async fn logs(&self, filter: &LogFilter) -> Result<Vec<ChainLog>>;
}
