//! Test helpers: an anvil process per test, iden3 IDs of Ethereum addresses, keys.

use std::path::PathBuf;

use alloy::primitives::{Address, B256, U256};
pub use claimd_chain::testing::Anvil;
use claimd_chain::TxSigner;

/// Repository root, from this crate's manifest directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// iden3 ID type bytes for `did:iden3:polygon:amoy` (method 0x01, network flag 0x13).
pub const ID_TYPE: [u8; 2] = [0x01, 0x13];

/// The iden3 ID an Ethereum address controls (`claimd-iden3`), as the contract's integer.
pub fn eth_id(id_type: [u8; 2], address: Address) -> U256 {
    let id = claimd_iden3::id::Id::from_eth_address(id_type, &address.0 .0);
    // The contract's `uint256 id` is the 31 ID bytes read little-endian.
    U256::from_le_slice(id.as_bytes())
}

/// A deterministic test key (never 0).
pub fn key(n: u8) -> B256 {
    let mut k = B256::repeat_byte(0x42);
    k.0[31] = n;
    k
}

pub fn signer(n: u8, chain_id: u64) -> TxSigner {
    TxSigner::from_private_key(&key(n), chain_id).expect("valid key")
}

pub fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}
