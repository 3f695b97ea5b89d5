//! The crate's error type.
//!
//! The variants are chosen so that a publisher can decide what to do without parsing strings:
//! retry later ([`ChainError::is_transient`]), give up on a transition the contract rejects
//! ([`ChainError::Reverted`]), or reconcile its nonce ([`ChainError::NonceTooLow`],
//! [`ChainError::ReplacementUnderpriced`], [`ChainError::AlreadyKnown`]).

use std::path::PathBuf;

use alloy::primitives::Bytes;

/// Result alias of this crate.
pub type Result<T, E = ChainError> = std::result::Result<T, E>;

/// What can go wrong talking to a chain, embedded or over JSON-RPC.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The node could not be reached or the request failed below JSON-RPC (connection refused,
    /// DNS, TLS, HTTP status, broken response). Transient: retry later.
    #[error("chain unreachable: {0}")]
    Transport(String),

    /// The request did not complete within the configured timeout. Transient: retry later.
    #[error("chain request timed out after {0:?}")]
    Timeout(std::time::Duration),

    /// Execution reverted (from `eth_call`/`eth_estimateGas`, or a mined transaction whose
    /// receipt status is 0 when the caller asks for it as an error).
    /// `reason` is the decoded `Error(string)`/`Panic(uint256)` message when there is one.
    #[error("execution reverted{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Reverted {
        /// Decoded revert reason, e.g. `"msg.sender is not owner of the identity"`.
        reason: Option<String>,
        /// Raw revert data as returned by the EVM.
        data: Bytes,
    },

    /// The transaction's nonce is below the account's nonce: a transaction with this nonce
    /// was already mined. Reconcile (look for the earlier transaction's receipt) before resending.
    #[error("nonce too low{}", fmt_nonces(*tx, *state))]
    NonceTooLow {
        /// The transaction's nonce, when the node reports it.
        tx: Option<u64>,
        /// The account's current nonce, when the node reports it.
        state: Option<u64>,
    },

    /// The transaction's nonce is above the account's nonce (the embedded chain has no pool,
    /// so it cannot queue a transaction behind a gap).
    #[error("nonce too high{}", fmt_nonces(*tx, *state))]
    NonceTooHigh {
        /// The transaction's nonce, when known.
        tx: Option<u64>,
        /// The account's current nonce, when known.
        state: Option<u64>,
    },

    /// A different transaction with the same nonce is pending and this one does not pay enough
    /// more to replace it. Bump both fees (geth needs +10%) and resend.
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,

    /// The node already has exactly this transaction in its pool. Not a failure: wait for
    /// the receipt of the same hash.
    #[error("transaction already known")]
    AlreadyKnown,

    /// The transaction's fee is below what the node accepts (`maxFeePerGas` below the base fee,
    /// or below the pool's minimum tip).
    #[error("transaction fee too low: {0}")]
    FeeTooLow(String),

    /// The sender cannot pay `gas_limit * max_fee + value`.
    #[error("insufficient funds for gas * price + value: {0}")]
    InsufficientFunds(String),

    /// The gas limit is below the intrinsic cost or above the block gas limit.
    #[error("bad gas limit: {0}")]
    GasLimit(String),

    /// Any other reason the node refused the transaction (bad signature, wrong chain id,
    /// undecodable bytes, unsupported type).
    #[error("invalid transaction: {0}")]
    InvalidTransaction(String),

    /// A JSON-RPC error response this crate does not classify further.
    #[error("JSON-RPC error {code}: {message}")]
    Rpc {
        /// JSON-RPC error code.
        code: i64,
        /// Error message from the node.
        message: String,
    },

    /// A response (RPC result, ABI return data, event) could not be decoded.
    #[error("cannot decode {what}: {detail}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        detail: String,
    },

    /// The contract answered with something that breaks its own invariants, or is missing.
    #[error("contract error: {0}")]
    Contract(String),

    /// Signing failed.
    #[error("signing failed: {0}")]
    Signer(String),

    /// Reading or writing the embedded chain's directory failed.
    #[error("embedded chain storage {}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The embedded chain's journal does not belong to this configuration (other chain id,
    /// spec, genesis or contract bytecode), or it is damaged in the middle.
    #[error("embedded chain journal {}: {detail}", path.display())]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// What does not match.
        detail: String,
    },
}

fn fmt_nonces(tx: Option<u64>, state: Option<u64>) -> String {
    match (tx, state) {
        (Some(t), Some(s)) => format!(" (tx nonce {t}, account nonce {s})"),
        (Some(t), None) => format!(" (tx nonce {t})"),
        (None, Some(s)) => format!(" (account nonce {s})"),
        (None, None) => String::new(),
    }
}

impl ChainError {
    /// Whether retrying the same request later may succeed without changing it
    /// (unreachable node, timeout).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transport(_) | Self::Timeout(_))
    }

    /// A short stable name of the variant, for metrics labels and logs (`"transport"`,
    /// `"timeout"`, `"reverted"`, `"nonce_too_low"`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Transport(_) => "transport",
            Self::Timeout(_) => "timeout",
            Self::Reverted { .. } => "reverted",
            Self::NonceTooLow { .. } => "nonce_too_low",
            Self::NonceTooHigh { .. } => "nonce_too_high",
            Self::ReplacementUnderpriced => "replacement_underpriced",
            Self::AlreadyKnown => "already_known",
            Self::FeeTooLow(_) => "fee_too_low",
            Self::InsufficientFunds(_) => "insufficient_funds",
            Self::GasLimit(_) => "gas_limit",
            Self::InvalidTransaction(_) => "invalid_transaction",
            Self::Rpc { .. } => "rpc",
            Self::Decode { .. } => "decode",
            Self::Contract(_) => "contract",
            Self::Signer(_) => "signer",
            Self::Io { .. } => "io",
            Self::Journal { .. } => "journal",
        }
    }

    /// The revert reason, if this is a revert with a decoded reason.
    pub fn revert_reason(&self) -> Option<&str> {
        match self {
            Self::Reverted { reason, .. } => reason.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn decode(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Decode {
            what,
            detail: detail.to_string(),
        }
    }

    /// Builds [`ChainError::Reverted`] from raw revert data, decoding `Error(string)` and
    /// `Panic(uint256)`.
    pub fn reverted(data: Bytes) -> Self {
        let reason = decode_revert(&data);
        Self::Reverted { reason, data }
    }
}

/// Decodes revert data into a human-readable reason (`Error(string)` → the string,
/// `Panic(uint256)` → `"panic: …"`); `None` for empty or custom-error data.
pub fn decode_revert(data: &[u8]) -> Option<String> {
    use alloy::sol_types::{GenericContractError, GenericRevertReason, SolInterface};
    if data.is_empty() {
        return None;
    }
    match GenericContractError::abi_decode(data) {
        Ok(GenericContractError::Revert(r)) => Some(r.reason),
        Ok(GenericContractError::Panic(p)) => Some(p.to_string()),
        Err(_) => GenericRevertReason::decode(data).and_then(|r| match r {
            GenericRevertReason::RawString(s) => Some(s),
            _ => None,
        }),
    }
}

/// Classifies a node's error message the way geth, anvil/reth and erigon word them.
/// Used for JSON-RPC error responses; `None` means "not a known transaction rejection".
pub(crate) fn classify_rejection(message: &str) -> Option<ChainError> {
    let m = message.to_ascii_lowercase();
    let err = if m.contains("nonce too low") || m.contains("nonce is too low") {
        ChainError::NonceTooLow {
            tx: None,
            state: None,
        }
    } else if m.contains("nonce too high") || m.contains("nonce is too high") {
        ChainError::NonceTooHigh {
            tx: None,
            state: None,
        }
    } else if m.contains("replacement transaction underpriced")
        || m.contains("replacement underpriced")
        || m.contains("insufficient gas price to replace")
    {
        ChainError::ReplacementUnderpriced
    } else if m.contains("already known") || m.contains("already imported") {
        ChainError::AlreadyKnown
    } else if m.contains("insufficient funds") || m.contains("lack of funds") {
        ChainError::InsufficientFunds(message.to_owned())
    } else if m.contains("underpriced")
        || m.contains("less than block base fee")
        || m.contains("max fee per gas less than")
        || m.contains("fee cap less than")
        || m.contains("gas price less than")
    {
        ChainError::FeeTooLow(message.to_owned())
    } else if m.contains("intrinsic gas too low")
        || m.contains("exceeds block gas limit")
        || m.contains("gas limit reached")
        || m.contains("out of gas")
    {
        ChainError::GasLimit(message.to_owned())
    } else if m.contains("invalid chain id")
        || m.contains("invalid sender")
        || m.contains("invalid signature")
        || m.contains("chain id mismatch")
    {
        ChainError::InvalidTransaction(message.to_owned())
    } else {
        return None;
    };
    Some(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_messages_are_classified() {
        let cases = [
            ("nonce too low: next nonce 5, tx nonce 3", "NonceTooLow"),
            (
                "replacement transaction underpriced",
                "ReplacementUnderpriced",
            ),
            ("already known", "AlreadyKnown"),
            (
                "insufficient funds for gas * price + value: balance 0",
                "InsufficientFunds",
            ),
            ("max fee per gas less than block base fee", "FeeTooLow"),
            ("transaction underpriced", "FeeTooLow"),
            ("intrinsic gas too low", "GasLimit"),
        ];
        for (msg, want) in cases {
            let got = classify_rejection(msg).expect(msg);
            assert!(format!("{got:?}").starts_with(want), "{msg} -> {got:?}");
        }
        assert!(classify_rejection("method not found").is_none());
        assert_eq!(
            ChainError::ReplacementUnderpriced.kind(),
            "replacement_underpriced"
        );
        assert_eq!(ChainError::Transport("x".into()).kind(), "transport");
    }

    #[test]
    fn revert_reason_is_decoded() {
        use alloy::sol_types::{Revert, SolError};
        let data = Revert::from("Old state does not match the latest state").abi_encode();
        let e = ChainError::reverted(data.into());
        assert_eq!(
            e.revert_reason(),
            Some("Old state does not match the latest state")
        );
        assert_eq!(
            e.to_string(),
            "execution reverted: Old state does not match the latest state"
        );
        assert_eq!(decode_revert(&[]), None);
    }
}
