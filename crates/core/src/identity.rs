//! Issuer key material and DIDs.
//!
//! Every issuer is an Ethereum-controlled iden3 identity: its ID's genesis is its Ethereum
//! address, and a Baby Jubjub key (whose auth claim enters the claims tree with the first state
//! transition) signs its credentials.

use claimd_iden3::babyjubjub::PrivateKey;
use claimd_iden3::claim::Claim;
use claimd_iden3::id::{identity_state, DidRegistry, Id};
use claimd_iden3::merkletree::{MemoryStore, MerkleTree, IDEN3_DEPTH};
use claimd_iden3::Fr;
use rand::RngCore;
use serde_json::{json, Value};
use sha3::{Digest, Keccak256};
use zeroize::Zeroizing;

/// Which DID method/blockchain/network issuer DIDs are minted under (`did:air:id:test` by
/// default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidSettings {
    pub method: String,
    pub blockchain: String,
    pub network: String,
}

impl Default for DidSettings {
    fn default() -> Self {
        DidSettings {
            method: "air".into(),
            blockchain: "id".into(),
            network: "test".into(),
        }
    }
}

/// Freshly generated private keys of a new issuer. Zeroized on drop.
pub struct IssuerKeys {
    eth: Zeroizing<[u8; 32]>,
    bjj: Zeroizing<[u8; 32]>,
}

impl IssuerKeys {
    pub fn generate() -> Self {
        let eth = k256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let mut bjj = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bjj.as_mut());
        IssuerKeys {
            eth: Zeroizing::new(eth.to_bytes().into()),
            bjj,
        }
    }

    pub fn eth_secret(&self) -> &[u8] {
        self.eth.as_ref()
    }

    /// The 32-byte seed the Baby Jubjub private key is derived from (as iden3 derives it).
    pub fn bjj_seed(&self) -> &[u8] {
        self.bjj.as_ref()
    }

    pub fn eth_address(&self) -> [u8; 20] {
        eth_address_of(&self.eth).expect("a generated key is valid")
    }
}

/// The Ethereum address of a secp256k1 private key: the last 20 bytes of the Keccak-256 of the
/// uncompressed public key without its `0x04` prefix.
pub fn eth_address_of(secret: &[u8; 32]) -> Option<[u8; 20]> {
    let key = k256::ecdsa::SigningKey::from_bytes(secret.into()).ok()?;
    let point = key.verifying_key().to_encoded_point(false);
    let hash = Keccak256::digest(&point.as_bytes()[1..]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    Some(out)
}

/// EIP-55 mixed-case checksum encoding, `0x`-prefixed.
pub fn checksum_address(addr: &[u8; 20]) -> String {
    let lower: String = addr.iter().map(|b| format!("{b:02x}")).collect();
    let hash = Keccak256::digest(lower.as_bytes());
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, c) in lower.chars().enumerate() {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
        if c.is_ascii_alphabetic() && nibble >= 8 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The DID of the Ethereum-controlled identity of `address`: the ID's genesis is the address
/// (iden3 `ID = type ‖ 0⁷ ‖ address ‖ checksum`), under the configured method and network.
pub fn issuer_did(settings: &DidSettings, address: &[u8; 20]) -> Result<String, String> {
    did(settings, |typ| Id::from_eth_address(typ, address))
}

/// The Baby Jubjub private key iden3 derives from a 32-byte seed.
pub fn bjj_key(seed: &[u8]) -> Result<PrivateKey, String> {
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| "a Baby Jubjub seed is 32 bytes".to_owned())?;
    Ok(PrivateKey::from_bytes(seed))
}

/// The auth claim of a Baby Jubjub key (revocation nonce 0, as iden3 identities use).
pub fn auth_claim(key: &PrivateKey) -> Claim {
    let public = key.public_key();
    Claim::auth_bjj(public.x(), public.y(), 0)
}

/// The issuer's first published state: its claims tree holds only the auth claim of its BJJ
/// key, its revocation tree is empty, and its roots tree holds that claims root. The first
/// transition the publisher sends for an issuer must reach exactly this state (and nothing
/// else), because every `BJJSignature2021` proof names it as the state of the auth claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingState {
    pub auth_claim: Claim,
    pub claims_root: Fr,
    pub revocation_root: Fr,
    pub roots_root: Fr,
    pub state: Fr,
}

impl OnboardingState {
    /// The `BJJSignature2021` proof of `claim`, signed with `key` (the issuer's BJJ key, whose
    /// onboarding state this is), as a credential of `issuer_did` served at `public_url`
    /// carries it.
    pub fn signature_proof(
        &self,
        public_url: &str,
        issuer_did: &str,
        claim: &Claim,
        key: &PrivateKey,
    ) -> Value {
        let signature = key.sign_poseidon(claim.core_claim_hash());
        json!({
            "issuerData": {
                "id": issuer_did,
                // The auth claim is the only claim of the issuer's first published state
                // (`onboarding_state`): its proof there is the tree's root leaf.
                "state": {
                    "rootOfRoots": self.roots_root.to_le_hex(),
                    "revocationTreeRoot": self.revocation_root.to_le_hex(),
                    "claimsTreeRoot": self.claims_root.to_le_hex(),
                    "value": self.state.to_le_hex(),
                },
                "mtp": {"existence": true, "siblings": []},
                "authCoreClaim": self.auth_claim.to_hex(),
                "credentialStatus": {
                    "id": format!("{public_url}/v1/{issuer_did}/claims/revocation/status/0"),
                    "type": "SparseMerkleTreeProof",
                    "revocationNonce": 0
                }
            },
            "type": "BJJSignature2021",
            "coreClaim": claim.to_hex(),
            "signature": signature.to_hex(),
        })
    }
}

pub fn onboarding_state(key: &PrivateKey) -> Result<OnboardingState, String> {
    let auth_claim = auth_claim(key);
    let (hi, hv) = auth_claim.hi_hv();
    let mut claims = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH).map_err(|e| e.to_string())?;
    claims.add(hi, hv).map_err(|e| e.to_string())?;
    let mut roots = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH).map_err(|e| e.to_string())?;
    roots
        .add(claims.root(), Fr::ZERO)
        .map_err(|e| e.to_string())?;
    Ok(OnboardingState {
        state: identity_state(claims.root(), Fr::ZERO, roots.root()),
        claims_root: claims.root(),
        revocation_root: Fr::ZERO,
        roots_root: roots.root(),
        auth_claim,
    })
}

/// A user's custodial holder identity: a Baby Jubjub key whose auth claim is the only leaf of
/// the genesis claims tree; the ID is derived from that genesis state (never published).
pub struct HolderIdentity {
    pub did: String,
    seed: Zeroizing<[u8; 32]>,
}

impl HolderIdentity {
    pub fn generate(settings: &DidSettings) -> Result<HolderIdentity, String> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(seed.as_mut());
        let did = holder_did(settings, seed.as_ref())?;
        Ok(HolderIdentity { did, seed })
    }

    pub fn seed(&self) -> &[u8] {
        self.seed.as_ref()
    }
}

/// The DID, under the configured method and network, of the id `make` builds for that
/// network's id type.
fn did(settings: &DidSettings, make: impl FnOnce([u8; 2]) -> Id) -> Result<String, String> {
    let registry = DidRegistry::default();
    let typ = registry
        .id_type(&settings.method, &settings.blockchain, &settings.network)
        .map_err(|e| e.to_string())?;
    registry
        .did(
            &settings.method,
            &settings.blockchain,
            &settings.network,
            make(typ),
        )
        .map(|d| d.to_string())
        .map_err(|e| e.to_string())
}

/// The DID of the BJJ identity whose key derives from `seed`.
pub fn holder_did(settings: &DidSettings, seed: &[u8]) -> Result<String, String> {
    let claim = auth_claim(&bjj_key(seed)?);
    let (hi, hv) = claim.hi_hv();
    let mut tree = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH).map_err(|e| e.to_string())?;
    tree.add(hi, hv).map_err(|e| e.to_string())?;
    let state = identity_state(tree.root(), Fr::ZERO, Fr::ZERO);
    did(settings, |typ| Id::from_genesis_state(typ, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eth_address_and_checksum_known_answer() {
        // Anvil's first dev account.
        let sk: [u8; 32] = [
            0xac, 0x09, 0x74, 0xbe, 0xc3, 0x9a, 0x17, 0xe3, 0x6b, 0xa4, 0xa6, 0xb4, 0xd2, 0x38,
            0xff, 0x94, 0x4b, 0xac, 0xb4, 0x78, 0xcb, 0xed, 0x5e, 0xfc, 0xae, 0x78, 0x4d, 0x7b,
            0xf4, 0xf2, 0xff, 0x80,
        ];
        let addr = eth_address_of(&sk).unwrap();
        assert_eq!(
            checksum_address(&addr),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        let did = issuer_did(&DidSettings::default(), &addr).unwrap();
        assert!(did.starts_with("did:air:id:test:"), "{did}");
        let id = DidRegistry::default().id_from_did(&did).unwrap();
        assert_eq!(id.eth_address(), Some(addr));
    }

    #[test]
    fn holder_dids_are_genesis_ids_of_their_auth_claim() {
        let h = HolderIdentity::generate(&DidSettings::default()).unwrap();
        assert!(h.did.starts_with("did:air:id:test:"), "{}", h.did);
        assert_eq!(
            holder_did(&DidSettings::default(), h.seed()).unwrap(),
            h.did
        );
        let other = HolderIdentity::generate(&DidSettings::default()).unwrap();
        assert_ne!(other.did, h.did);
    }
}
