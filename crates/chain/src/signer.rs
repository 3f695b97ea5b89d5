//! Building and signing EIP-1559 transactions with a local key.
//!
//! claimd signs its own transactions (its own key, its own nonce bookkeeping) and hands the
//! raw bytes to [`crate::Chain::send_raw`], so the same bytes reach the embedded chain and a real
//! node. No wallet filler is involved: the caller chooses nonce, gas limit and fees.

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, Bytes, TxHash, TxKind, B256, U256};
use alloy::signers::local::PrivateKeySigner;

use crate::chain::FeeSuggestion;
use crate::error::{ChainError, Result};
use crate::state::Transition;

/// Gas limit that comfortably covers a `transitStateGeneric` (≈186k for a genesis transition,
/// ≈122k afterwards on Cancun).
pub const DEFAULT_TRANSIT_GAS_LIMIT: u64 = 300_000;

/// Gas limit that covers deploying `IdentityState` (≈700k).
pub const DEFAULT_DEPLOY_GAS_LIMIT: u64 = 1_500_000;

/// Gas of a plain value transfer.
pub const TRANSFER_GAS_LIMIT: u64 = 21_000;

/// Nonce, gas limit and fees of one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxParams {
    /// Sender nonce.
    pub nonce: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// `maxFeePerGas` in wei.
    pub max_fee_per_gas: u128,
    /// `maxPriorityFeePerGas` in wei.
    pub max_priority_fee_per_gas: u128,
}

impl TxParams {
    /// Params with the fees of a [`FeeSuggestion`].
    pub fn new(nonce: u64, gas_limit: u64, fees: FeeSuggestion) -> Self {
        Self {
            nonce,
            gas_limit,
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
        }
    }

    /// The same transaction with both fees raised by `percent` (at least +1 wei each), e.g. 13
    /// for a replacement that geth (+10%) and most pools accept.
    pub fn bumped(self, percent: u32) -> Self {
        self.bumped_permille(percent.saturating_mul(10))
    }

    /// The same transaction with both fees raised by `permille` thousandths, rounded up (at
    /// least +1 wei each): 125 is the +12.5% a replacement needs on most pools (geth: +10%).
    pub fn bumped_permille(self, permille: u32) -> Self {
        let bump = |v: u128| {
            let extra = v.saturating_mul(u128::from(permille)).div_ceil(1000).max(1);
            v.saturating_add(extra)
        };
        Self {
            max_fee_per_gas: bump(self.max_fee_per_gas),
            max_priority_fee_per_gas: bump(self.max_priority_fee_per_gas),
            ..self
        }
    }
}

impl TxParams {
    /// Nonce, gas limit and fees of a signed EIP-2718 transaction (a legacy or EIP-2930 one
    /// reads its gas price as both fees), e.g. to replace it with higher fees.
    ///
    /// # Errors
    /// [`ChainError::Decode`] if the bytes are not a transaction.
    pub fn of_raw(raw: &[u8]) -> Result<Self> {
        use alloy::consensus::Transaction as _;
        use alloy::eips::eip2718::Decodable2718;
        let mut buf = raw;
        let env = TxEnvelope::decode_2718(&mut buf)
            .map_err(|e| ChainError::decode("signed transaction", e))?;
        Ok(Self {
            nonce: env.nonce(),
            gas_limit: env.gas_limit(),
            max_fee_per_gas: env.max_fee_per_gas(),
            max_priority_fee_per_gas: env
                .max_priority_fee_per_gas()
                .unwrap_or_else(|| env.max_fee_per_gas()),
        })
    }
}

/// A signed transaction, ready for [`crate::Chain::send_raw`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    /// Transaction hash (what the chain returns and indexes receipts by).
    pub hash: TxHash,
    /// EIP-2718 encoding.
    pub raw: Bytes,
    /// Sender.
    pub from: Address,
    /// Nonce used.
    pub nonce: u64,
}

/// Signs EIP-1559 transactions for one chain with one secp256k1 key.
#[derive(Clone)]
pub struct TxSigner {
    signer: PrivateKeySigner,
    chain_id: u64,
}

impl std::fmt::Debug for TxSigner {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxSigner")
            .field("address", &self.address())
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
}

impl TxSigner {
    /// A signer for `chain_id` from an alloy local signer.
    pub fn new(signer: PrivateKeySigner, chain_id: u64) -> Self {
        Self { signer, chain_id }
    }

    /// A signer from a raw 32-byte private key.
    ///
    /// # Errors
    /// [`ChainError::Signer`] if the bytes are not a valid secp256k1 scalar.
    pub fn from_private_key(key: &B256, chain_id: u64) -> Result<Self> {
        let signer =
            PrivateKeySigner::from_bytes(key).map_err(|e| ChainError::Signer(e.to_string()))?;
        Ok(Self::new(signer, chain_id))
    }

    /// The sender address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The chain id signed into every transaction.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Signs an EIP-1559 transaction.
    ///
    /// # Errors
    /// [`ChainError::Signer`] if signing fails.
    pub fn sign(
        &self,
        to: TxKind,
        value: U256,
        input: Bytes,
        params: TxParams,
    ) -> Result<SignedTx> {
        let mut tx = TxEip1559 {
            chain_id: self.chain_id,
            nonce: params.nonce,
            gas_limit: params.gas_limit,
            max_fee_per_gas: params.max_fee_per_gas,
            max_priority_fee_per_gas: params.max_priority_fee_per_gas,
            to,
            value,
            access_list: Default::default(),
            input,
        };
        let signature = self
            .signer
            .sign_transaction_sync(&mut tx)
            .map_err(|e| ChainError::Signer(e.to_string()))?;
        let envelope = TxEnvelope::from(tx.into_signed(signature));
        Ok(SignedTx {
            hash: *envelope.tx_hash(),
            raw: envelope.encoded_2718().into(),
            from: self.address(),
            nonce: params.nonce,
        })
    }

    /// Signs `transitStateGeneric(id, old, new, genesis, 1, "")` to `contract`: the state
    /// transition of the Ethereum-controlled identity whose address is this signer's.
    ///
    /// # Errors
    /// [`ChainError::Signer`] if signing fails.
    pub fn sign_transit(
        &self,
        contract: Address,
        transition: &Transition,
        params: TxParams,
    ) -> Result<SignedTx> {
        self.sign(
            TxKind::Call(contract),
            U256::ZERO,
            transition.calldata(),
            params,
        )
    }

    /// Signs the deployment of the `IdentityState` bytecode from the committed artifact.
    ///
    /// # Errors
    /// [`ChainError::Signer`], or [`ChainError::Decode`] if the embedded artifact is broken.
    pub fn sign_deploy(&self, params: TxParams) -> Result<SignedTx> {
        let code = crate::abi::artifact()?.bytecode.clone();
        self.sign(TxKind::Create, U256::ZERO, code, params)
    }

    /// Signs a plain value transfer (funding another account).
    ///
    /// # Errors
    /// [`ChainError::Signer`] if signing fails.
    pub fn sign_transfer(&self, to: Address, value: U256, params: TxParams) -> Result<SignedTx> {
        self.sign(TxKind::Call(to), value, Bytes::new(), params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::consensus::transaction::SignerRecoverable;
    use alloy::consensus::Transaction as _;
    use alloy::eips::eip2718::Decodable2718;

    #[test]
    fn signed_transit_decodes_and_recovers_to_the_signer() {
        let key = B256::repeat_byte(0x11);
        let signer = TxSigner::from_private_key(&key, 222_888).unwrap();
        let contract = Address::repeat_byte(0xaa);
        let t = Transition {
            id: U256::from(7u64),
            old_state: U256::ZERO,
            new_state: U256::from(9u64),
            is_old_state_genesis: true,
        };
        let params = TxParams {
            nonce: 3,
            gas_limit: DEFAULT_TRANSIT_GAS_LIMIT,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
        };
        let signed = signer.sign_transit(contract, &t, params).unwrap();
        assert_eq!(TxParams::of_raw(&signed.raw).unwrap(), params);
        assert!(TxParams::of_raw(&[1, 2, 3]).is_err());
        let env = TxEnvelope::decode_2718(&mut signed.raw.as_ref()).unwrap();
        assert_eq!(*env.tx_hash(), signed.hash);
        assert_eq!(env.recover_signer().unwrap(), signer.address());
        assert_eq!(env.chain_id(), Some(222_888));
        assert_eq!(env.nonce(), 3);
        assert_eq!(env.to(), Some(contract));
        assert_eq!(env.input(), &t.calldata());
        assert_eq!(&env.input()[..4], &[0x7d, 0x0d, 0xcb, 0xa5]);
        assert!(!format!("{signer:?}").contains("1111"));
    }

    #[test]
    fn bump_raises_both_fees() {
        let p = TxParams {
            nonce: 0,
            gas_limit: 1,
            max_fee_per_gas: 100,
            max_priority_fee_per_gas: 0,
        };
        let b = p.bumped(12);
        assert_eq!(b.max_fee_per_gas, 112);
        assert_eq!(b.max_priority_fee_per_gas, 1);
        assert_eq!(b.nonce, 0);
        // 12.5%, rounded up.
        let p = TxParams {
            max_fee_per_gas: 1_000_000_001,
            max_priority_fee_per_gas: 8,
            ..p
        };
        let b = p.bumped_permille(125);
        assert_eq!(b.max_fee_per_gas, 1_125_000_002);
        assert_eq!(b.max_priority_fee_per_gas, 9);
    }
}
