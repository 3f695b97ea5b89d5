//! iden3 identifiers ([`Id`]), identity states and DIDs ([`Did`], [`DidRegistry`]).
//!
//! An `Id` is 31 bytes: `type[2] ‖ genesis[27] ‖ checksum[2]`, where `type[0]` is the DID
//! method byte, `type[1]` the blockchain/network flag, and the checksum is the 16-bit sum of
//! the first 29 bytes stored little-endian. Its string form is Base58 (Bitcoin alphabet); its
//! integer form (the `uint256 id` of the State contract) is the 31 bytes read little-endian.
//! Serde uses the Base58 string.

mod did;

pub use did::{
    Did, DidError, DidMethodNetwork, DidRegistry, RegistryError, AIR_BLOCKCHAIN, AIR_CHAIN_ID,
    AIR_METHOD, AIR_METHOD_BYTE, AIR_NETWORK, AIR_NETWORK_FLAG,
};

use sha2::{Digest, Sha256};

use crate::field::Fr;
use crate::poseidon;

/// Length of an ID in bytes.
pub const ID_LEN: usize = 31;
/// Length of the genesis part.
pub const GENESIS_LEN: usize = 27;

/// Errors decoding an [`Id`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not 31 bytes.
    #[error("an ID has 31 bytes, got {0}")]
    InvalidLength(usize),
    /// The checksum does not match.
    #[error("ID checksum mismatch")]
    InvalidChecksum,
    /// Not valid Base58.
    #[error("invalid base58 ID")]
    InvalidBase58,
    /// The integer does not fit in 31 bytes.
    #[error("integer does not fit in an ID (31 bytes)")]
    TooLarge,
}

/// An iden3 identifier.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id([u8; ID_LEN]);

/// The 16-bit wrapping sum of `type ‖ genesis`, little-endian.
fn checksum(typ: [u8; 2], genesis: &[u8; GENESIS_LEN]) -> [u8; 2] {
    let sum = typ
        .iter()
        .chain(genesis.iter())
        .fold(0u16, |acc, b| acc.wrapping_add(u16::from(*b)));
    sum.to_le_bytes()
}

impl Id {
    /// Builds an ID from its type and genesis, computing the checksum.
    pub fn new(typ: [u8; 2], genesis: &[u8; GENESIS_LEN]) -> Id {
        let mut b = [0u8; ID_LEN];
        b[..2].copy_from_slice(&typ);
        b[2..29].copy_from_slice(genesis);
        b[29..].copy_from_slice(&checksum(typ, genesis));
        Id(b)
    }

    /// Decodes 31 bytes, checking the checksum.
    pub fn from_bytes(bytes: &[u8]) -> Result<Id, IdError> {
        let b: [u8; ID_LEN] = bytes
            .try_into()
            .map_err(|_| IdError::InvalidLength(bytes.len()))?;
        let id = Id(b);
        if checksum(id.id_type(), &id.genesis()) != [b[29], b[30]] {
            return Err(IdError::InvalidChecksum);
        }
        Ok(id)
    }

    /// The 31 bytes.
    pub fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }

    /// The two type bytes (method byte, network flag); the State contract's `idType`.
    pub fn id_type(&self) -> [u8; 2] {
        [self.0[0], self.0[1]]
    }

    /// The 27 genesis bytes.
    pub fn genesis(&self) -> [u8; GENESIS_LEN] {
        let mut g = [0u8; GENESIS_LEN];
        g.copy_from_slice(&self.0[2..29]);
        g
    }

    /// Base58 (Bitcoin alphabet) string.
    pub fn to_base58(&self) -> String {
        bs58::encode(&self.0).into_string()
    }

    /// Parses the Base58 form, checking length and checksum.
    pub fn from_base58(s: &str) -> Result<Id, IdError> {
        let bytes = bs58::decode(s)
            .into_vec()
            .map_err(|_| IdError::InvalidBase58)?;
        Id::from_bytes(&bytes)
    }

    /// The integer form (31 bytes little-endian) as a field element; always `< Q`.
    pub fn to_fr(&self) -> Fr {
        let mut le = [0u8; 32];
        le[..ID_LEN].copy_from_slice(&self.0);
        Fr::from_le_bytes_mod_order(&le)
    }

    /// Parses the integer form, checking the checksum.
    pub fn from_fr(x: Fr) -> Result<Id, IdError> {
        let le = x.to_le_bytes();
        if le[31] != 0 {
            return Err(IdError::TooLarge);
        }
        Id::from_bytes(&le[..ID_LEN])
    }

    /// The ID of an identity whose genesis state is `state`: genesis = bytes `5..32` of the
    /// state's 32-byte little-endian encoding (go-iden3-core `NewIDFromIdenState`).
    pub fn from_genesis_state(typ: [u8; 2], state: Fr) -> Id {
        let le = state.to_le_bytes();
        let mut genesis = [0u8; GENESIS_LEN];
        genesis.copy_from_slice(&le[32 - GENESIS_LEN..]);
        Id::new(typ, &genesis)
    }

    /// `true` if this ID was derived from genesis `state` with its own type.
    pub fn is_genesis_state(&self, state: Fr) -> bool {
        Id::from_genesis_state(self.id_type(), state) == *self
    }

    /// The ID of an Ethereum-controlled identity: genesis = 7 zero bytes ‖ 20-byte address.
    pub fn from_eth_address(typ: [u8; 2], address: &[u8; 20]) -> Id {
        let mut genesis = [0u8; GENESIS_LEN];
        genesis[7..].copy_from_slice(address);
        Id::new(typ, &genesis)
    }

    /// The controlling Ethereum address, if the genesis has the 7 leading zero bytes of an
    /// Ethereum-controlled identity.
    pub fn eth_address(&self) -> Option<[u8; 20]> {
        let g = self.genesis();
        if g[..7].iter().any(|b| *b != 0) {
            return None;
        }
        let mut a = [0u8; 20];
        a.copy_from_slice(&g[7..]);
        Some(a)
    }

    /// The synthetic ID iden3 gives a DID whose method it does not know:
    /// `0xFF 0xFF ‖ last 27 bytes of SHA-256(did string) ‖ checksum`
    /// (go-iden3-core `newIDFromUnsupportedDID`, js-iden3-core `idFromUnsupportedDID`).
    pub fn from_unsupported_did(did: &str) -> Id {
        let digest = Sha256::digest(did.as_bytes());
        let mut genesis = [0u8; GENESIS_LEN];
        genesis.copy_from_slice(&digest[32 - GENESIS_LEN..]);
        Id::new([0xff, 0xff], &genesis)
    }
}

text_form!(Id, to_base58, from_base58, IdError);

/// `Poseidon(claimsRoot, revocationRoot, rootsRoot)`: an identity state (go-iden3-core
/// `IdenState`).
pub fn identity_state(claims_root: Fr, revocation_root: Fr, roots_root: Fr) -> Fr {
    poseidon::hash3(claims_root, revocation_root, roots_root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_little_endian_sum() {
        let id = Id::new([0x01, 0x13], &[1u8; 27]);
        let sum: u16 = 0x01 + 0x13 + 27;
        assert_eq!(id.as_bytes()[29..], sum.to_le_bytes());
        assert_eq!(Id::from_bytes(id.as_bytes()), Ok(id));
        let mut bad = *id.as_bytes();
        bad[5] ^= 1;
        assert_eq!(Id::from_bytes(&bad), Err(IdError::InvalidChecksum));
        assert_eq!(Id::from_bytes(&bad[..30]), Err(IdError::InvalidLength(30)));
    }

    #[test]
    fn integer_and_base58_round_trip() {
        // Only the 27 most significant bytes of the state count.
        let state = -Fr::from_u64(123_456);
        let id = Id::from_genesis_state([0x02, 0x13], state);
        assert_eq!(Id::from_fr(id.to_fr()), Ok(id));
        assert_eq!(id.to_base58().parse::<Id>(), Ok(id));
        assert!(id.is_genesis_state(state));
        assert!(!id.is_genesis_state(-Fr::from_u128(1 << 80)));
        assert_eq!("0OIl".parse::<Id>(), Err(IdError::InvalidBase58));
    }

    #[test]
    fn eth_address_round_trip() {
        let addr = [0xab; 20];
        let id = Id::from_eth_address([0x01, 0x13], &addr);
        assert_eq!(id.eth_address(), Some(addr));
        assert_eq!(
            Id::from_genesis_state([1, 0x13], -Fr::ONE).eth_address(),
            None
        );
    }
}
