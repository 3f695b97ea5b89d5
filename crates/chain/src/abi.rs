//! ABI bindings of `contracts/IdentityState.sol` and its compiled artifact.
//!
//! The Solidity interface below is written by hand (so the crate needs no JSON-ABI machinery at
//! compile time); the tests check that every selector and the event topic equal both iden3's
//! published values and what solc put in `contracts/IdentityState.json`.

use std::sync::OnceLock;

use alloy::primitives::{keccak256, Bytes, B256};
use serde::Deserialize;

use crate::error::{ChainError, Result};

alloy::sol! {
    /// claimd's identity state registry, ABI-compatible with iden3's `State` for method 1.
    #[derive(Debug, PartialEq, Eq)]
    interface IdentityState {
        /// iden3 `IState.StateInfo`.
        struct StateInfo {
            uint256 id;
            uint256 state;
            uint256 replacedByState;
            uint256 createdAtTimestamp;
            uint256 replacedAtTimestamp;
            uint256 createdAtBlock;
            uint256 replacedAtBlock;
        }

        /// Emitted for every state recorded for an identity.
        event StateUpdated(uint256 id, uint256 blockN, uint256 timestamp, uint256 state);

        function transitStateGeneric(
            uint256 id,
            uint256 oldState,
            uint256 newState,
            bool isOldStateGenesis,
            uint256 methodId,
            bytes calldata methodParams
        ) external;
        function getStateInfoById(uint256 id) external view returns (StateInfo memory);
        function getStateInfoByIdAndState(uint256 id, uint256 state) external view returns (StateInfo memory);
        function getStateInfoHistoryLengthById(uint256 id) external view returns (uint256);
        function idExists(uint256 id) external view returns (bool);
        function stateExists(uint256 id, uint256 state) external view returns (bool);
        function calcIdFromEthAddress(uint256 id, address caller) external pure returns (uint256);
        function VERSION() external view returns (string memory);
    }
}

/// `transitStateGeneric` method id for Ethereum-controlled identities.
pub const METHOD_ETH_IDENTITY: u64 = 1;

/// The committed artifact (`contracts/IdentityState.json`), embedded at compile time.
pub const ARTIFACT_JSON: &str = include_str!("../../../contracts/IdentityState.json");

/// The parts of the artifact this crate uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Contract name (`IdentityState`).
    pub contract_name: String,
    /// SHA-256 (hex) of the Solidity source it was compiled from.
    pub source_sha256: String,
    /// Creation bytecode (constructor + runtime).
    pub bytecode: Bytes,
    /// Runtime bytecode, as found at the contract's address after deployment.
    pub deployed_bytecode: Bytes,
    /// `signature → selector hex` as reported by solc.
    pub method_identifiers: std::collections::BTreeMap<String, String>,
    /// Compiler name, version and settings.
    pub compiler: serde_json::Value,
}

impl Artifact {
    /// Keccak-256 of the creation bytecode; pinned in the embedded chain's journal header.
    pub fn bytecode_hash(&self) -> B256 {
        keccak256(&self.bytecode)
    }
}

/// The parsed artifact (parsed once).
///
/// # Errors
/// [`ChainError::Decode`] if the embedded JSON is malformed (a build defect, caught by tests).
pub fn artifact() -> Result<&'static Artifact> {
    static ARTIFACT: OnceLock<std::result::Result<Artifact, String>> = OnceLock::new();
    ARTIFACT
        .get_or_init(|| serde_json::from_str(ARTIFACT_JSON).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| ChainError::decode("contract artifact", e))
}

#[cfg(test)]
mod tests {
    use super::IdentityState::*;
    use super::*;
    use alloy::sol_types::{SolCall, SolEvent};

    #[test]
    fn selectors_equal_iden3_state() {
        // iden3.md §7.1 (iden3/contracts State 2.6.x).
        assert_eq!(transitStateGenericCall::SELECTOR, [0x7d, 0x0d, 0xcb, 0xa5]);
        assert_eq!(getStateInfoByIdCall::SELECTOR, [0xb4, 0xbd, 0xea, 0x55]);
        assert_eq!(
            getStateInfoByIdAndStateCall::SELECTOR,
            [0x53, 0xc8, 0x73, 0x12]
        );
        assert_eq!(
            getStateInfoHistoryLengthByIdCall::SELECTOR,
            [0x67, 0x6d, 0x5b, 0x5a]
        );
        assert_eq!(idExistsCall::SELECTOR, [0x0b, 0x8a, 0x29, 0x5a]);
        assert_eq!(stateExistsCall::SELECTOR, [0x23, 0x3a, 0x4d, 0x23]);
        assert_eq!(VERSIONCall::SELECTOR, [0xff, 0xa1, 0xad, 0x74]);
        assert_eq!(
            StateUpdated::SIGNATURE_HASH.to_string(),
            "0x88aef4d78ad30d12a12a98e96007f5b09c1610b5364b2b99960b7d07e00a8838"
        );
    }

    #[test]
    fn bindings_match_the_compiled_artifact() {
        let a = artifact().unwrap();
        assert_eq!(a.contract_name, "IdentityState");
        let ours: Vec<(&str, [u8; 4])> = vec![
            (
                transitStateGenericCall::SIGNATURE,
                transitStateGenericCall::SELECTOR,
            ),
            (
                getStateInfoByIdCall::SIGNATURE,
                getStateInfoByIdCall::SELECTOR,
            ),
            (
                getStateInfoByIdAndStateCall::SIGNATURE,
                getStateInfoByIdAndStateCall::SELECTOR,
            ),
            (
                getStateInfoHistoryLengthByIdCall::SIGNATURE,
                getStateInfoHistoryLengthByIdCall::SELECTOR,
            ),
            (idExistsCall::SIGNATURE, idExistsCall::SELECTOR),
            (stateExistsCall::SIGNATURE, stateExistsCall::SELECTOR),
            (
                calcIdFromEthAddressCall::SIGNATURE,
                calcIdFromEthAddressCall::SELECTOR,
            ),
            (VERSIONCall::SIGNATURE, VERSIONCall::SELECTOR),
        ];
        // Same set of functions, same selectors.
        assert_eq!(ours.len(), a.method_identifiers.len());
        for (sig, sel) in ours {
            let solc = a
                .method_identifiers
                .get(sig)
                .unwrap_or_else(|| panic!("{sig} missing from artifact"));
            assert_eq!(solc, &alloy::primitives::hex::encode(sel), "{sig}");
        }
        assert!(a.deployed_bytecode.len() > 1000);
        assert!(a
            .bytecode
            .ends_with(&a.deployed_bytecode[a.deployed_bytecode.len() - 43..]));
    }
}
