//! iden3 primitives, bit-for-bit compatible with go-iden3-crypto, go-merkletree-sql,
//! go-iden3-core and their JavaScript counterparts (@iden3/js-crypto, js-merkletree,
//! js-iden3-core). Pure Rust: no I/O, no async, no global state.
//!
//! Every result is checked against iden3's published test vectors (`tests/vectors/`) and
//! against the @iden3 npm packages on randomised inputs (`tests/it/interop.rs`).
//!
//! # Layout
//!
//! | module | what | main items |
//! |---|---|---|
//! | [`field`] | BN254 scalar field elements | [`Fr`], [`FieldError`] |
//! | [`poseidon`] | Poseidon (circomlib parameters, 1–16 inputs) and the byte sponge | [`poseidon::hash`], [`poseidon::hash_with_state`], [`poseidon::hash_bytes`], [`poseidon::hash2`]/[`hash3`](poseidon::hash3)/[`hash4`](poseidon::hash4) |
//! | [`merkletree`] | sparse Merkle tree, proofs, node stores | [`merkletree::MerkleTree`], [`merkletree::Proof`], [`merkletree::NodeStore`], [`merkletree::MemoryStore`], [`merkletree::PendingNodes`] |
//! | [`claim`] | core claims | [`claim::Claim`], [`claim::SchemaHash`] |
//! | [`babyjubjub`] | Baby Jubjub, EdDSA-Poseidon | [`babyjubjub::PrivateKey`], [`babyjubjub::PublicKey`], [`babyjubjub::Signature`], [`babyjubjub::Point`] |
//! | [`id`] | IDs, DIDs, identity state | [`id::Id`], [`id::Did`], [`id::DidRegistry`], [`id::identity_state`] |
//!
//! # Conventions
//!
//! * Field elements are never reduced silently: every parser rejects values `≥ Q` with a
//!   typed error. Only functions named `…_mod_order` reduce.
//! * Text forms: decimal for claim slots, proof siblings and JSON ([`Fr`]'s `Display`,
//!   `FromStr` and serde); **little-endian** hex ([`Fr::to_le_hex`]) for tree roots and
//!   identity states (iden3's `Hash.Hex()`); **big-endian** hex ([`Fr::to_be_hex`]) for
//!   Moca's `coreClaimHash` ([`claim::Claim::core_claim_hash_hex`]).
//! * Errors are `thiserror` enums per module; nothing panics on bad input.
//! * DID methods live in a [`id::DidRegistry`] value, not in global state.
//!   [`id::DidRegistry::default`] knows `iden3`, `polygonid` and claimd's `did:air:id:test`
//!   (method byte `0x04`, network flag `0xF3`). Caution for claim subjects: an iden3 tool
//!   that has **not** registered `air` maps a `did:air:…` subject to the synthetic ID
//!   [`id::Id::from_unsupported_did`] (what [`id::DidRegistry::iden3_standard`] computes),
//!   not to the ID inside the DID; both choices are available, and the interop test checks
//!   each against js-iden3-core.
//!
//! # Examples
//!
//! Hashing (what JSON-LD merklization needs):
//!
//! ```
//! use claimd_iden3::{poseidon, Fr};
//!
//! let h = poseidon::hash(&[Fr::from_u64(1), Fr::from_u64(2)])?;
//! assert_eq!(
//!     h.to_string(),
//!     "7853200120776062878684798364095072458815029376092732009249414926327459813530"
//! );
//! // Strings and predicate IRIs go through the 31-byte-chunk sponge.
//! let s = poseidon::hash_bytes("SSI Consultant".as_bytes());
//! assert_eq!(
//!     s.to_string(),
//!     "957410455271905675920624030785024750144198809104092676617070098470852489834"
//! );
//! # Ok::<(), poseidon::PoseidonError>(())
//! ```
//!
//! Issuing a merklized credential's core claim and signing it, as the iden3 stack does:
//!
//! ```
//! use claimd_iden3::babyjubjub::PrivateKey;
//! use claimd_iden3::claim::{Claim, SchemaHash};
//! use claimd_iden3::id::{DidRegistry, Id};
//! use claimd_iden3::Fr;
//!
//! let registry = DidRegistry::default(); // iden3, polygonid and did:air:id:test
//! let holder = registry.id_from_did("did:iden3:polygon:amoy:xHCsNX5bia6TDjg1VmPNLbubDKDL9MgC4BeCM7X7k")?;
//!
//! let merklized_root = Fr::from_u64(12345); // from claimd-merklize in real use
//! let mut claim = Claim::new(SchemaHash::from_type_iri("urn:uuid:a3b866eb-0000-4000-8000-000000000000"));
//! claim.set_index_id(&holder);
//! claim.set_index_merklized_root(merklized_root);
//! claim.set_revocation_nonce(3_283_992_893);
//! claim.set_expiration(Some(1_893_456_000)); // Unix seconds
//!
//! let (h_index, h_value) = claim.hi_hv(); // claims-tree key and value
//! let core_claim_hash = claim.core_claim_hash_hex(); // Moca's coreClaimHash (64 hex, BE)
//! assert_eq!(core_claim_hash.len(), 64);
//!
//! let issuer_key = PrivateKey::from_bytes([7u8; 32]); // 32 random bytes in real use
//! let signature = issuer_key.sign_poseidon(claim.core_claim_hash());
//! assert!(issuer_key.public_key().verify_poseidon(claim.core_claim_hash(), &signature));
//! let proof_signature_hex = signature.to_hex(); // BJJSignature2021.signature
//! let core_claim_hex = claim.to_hex(); // BJJSignature2021.coreClaim
//! # let _ = (h_index, h_value, proof_signature_hex, core_claim_hex);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! An issuer identity (Ethereum-controlled, as claimd's issuers are) and its first state:
//!
//! ```
//! use claimd_iden3::babyjubjub::PrivateKey;
//! use claimd_iden3::claim::Claim;
//! use claimd_iden3::id::{identity_state, DidRegistry, Id};
//! use claimd_iden3::merkletree::{MemoryStore, MerkleTree, IDEN3_DEPTH};
//! use claimd_iden3::Fr;
//!
//! let registry = DidRegistry::default();
//! let id_type = registry.id_type("air", "id", "test")?;
//! let issuer = Id::from_eth_address(id_type, &[0x11; 20]);
//! let did = registry.did_from_id(issuer)?; // did:air:id:test:…
//! assert!(did.to_string().starts_with("did:air:id:test:"));
//!
//! // The BJJ auth claim goes into the claims tree with the first transition.
//! let bjj = PrivateKey::from_bytes([9u8; 32]).public_key();
//! let auth = Claim::auth_bjj(bjj.x(), bjj.y(), 0);
//! let mut claims = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH)?;
//! claims.add(auth.hi(), auth.hv())?;
//! let revocations = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH)?;
//! let mut roots = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH)?;
//! roots.add(claims.root(), Fr::ZERO)?;
//! let state = identity_state(claims.root(), revocations.root(), roots.root());
//! let state_hex = state.to_le_hex(); // the iden3 JSON/DB form
//! # let _ = state_hex;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Persisting a batch of tree inserts (the service's publisher): wrap a read-only view of the
//! stored nodes in [`merkletree::PendingNodes`], insert, and write back exactly the new nodes:
//!
//! ```
//! use claimd_iden3::merkletree::{MemoryStore, MerkleTree, PendingNodes, IDEN3_DEPTH};
//! use claimd_iden3::Fr;
//!
//! let db = MemoryStore::new(); // stands for the database's node table
//! let old_root = Fr::ZERO;
//! let mut tree = MerkleTree::with_root(PendingNodes::new(&db), old_root, IDEN3_DEPTH)?;
//! let batch: Vec<(Fr, Fr)> = (1..=100).map(|i| (Fr::from_u64(i), Fr::from_u64(i * 7))).collect();
//! tree.add_batch(&batch)?; // each new node computed once; all-or-nothing
//! let new_root = tree.root();
//! let new_nodes = tree.into_store().into_new_nodes(); // Vec<(hash, Node)>, children first
//! // INSERT new_nodes and UPDATE the root in one transaction.
//! # assert!(!new_nodes.is_empty() && !new_root.is_zero());
//! # Ok::<(), claimd_iden3::merkletree::TreeError>(())
//! ```
//!
//! # Performance
//!
//! `cargo bench -p claimd-iden3 --bench primitives` measures every primitive next to
//! @iden3/js-crypto / js-merkletree in the same run and writes
//! `bench/results/iden3-primitives.json`. CPU time per operation on the 2-core development
//! machine (AMD EPYC, shared): Poseidon t=3 ≈ 8 µs, t=5 ≈ 13 µs, t=17 ≈ 60 µs; BJJ sign
//! ≈ 31 µs, verify ≈ 78 µs; one depth-40 insert into a 10,000-leaf tree ≈ 0.15 ms; a
//! 10,000-leaf [`merkletree::MerkleTree::add_batch`] ≈ 0.26 s (5× faster than 10,000 single
//! adds). That is 20–1000× the speed of @iden3/js-crypto / js-merkletree measured in the same
//! run. Field arithmetic is arkworks' Montgomery multiplication; Poseidon uses the optimised
//! sparse-matrix form with lazily reduced sums of products. Building with
//! `-C target-feature=+bmi2,+adx` (arkworks' assembly) changed little in measurements here.
//!
//! Tips for callers on the hot path:
//! * [`poseidon::hash_bytes`] (a width-17 permutation per 16 chunks) is the most expensive
//!   call: cache the hashes of strings that repeat, such as JSON-LD predicate IRIs.
//! * Insert many leaves with [`merkletree::MerkleTree::add_batch`], and build a tree on top of
//!   an existing one with [`merkletree::PendingNodes`] instead of cloning its store.
//! * The first signature or verification builds a 96 KiB table of multiples of `B8` (once per
//!   process); [`babyjubjub::PrivateKey::from_bytes`] derives the scalar and public key once,
//!   so keep the key object rather than re-creating it per signature.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used)]

/// Serialises `$t` as the string `$to` writes and deserialises it with `$from`: in JSON each
/// primitive is its one text form (decimal, hex or base58), as iden3's libraries write it.
macro_rules! serde_as_text {
    ($t:ident, $to:ident, $from:ident) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.$to())
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $t::$from(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// The text form everywhere: `Display`, `Debug` (`Name(text)`), `FromStr` and serde.
macro_rules! text_form {
    ($t:ident, $to:ident, $from:ident, $err:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.$to())
            }
        }

        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($t), "({})"), self.$to())
            }
        }

        impl std::str::FromStr for $t {
            type Err = $err;
            fn from_str(s: &str) -> Result<$t, $err> {
                $t::$from(s)
            }
        }

        serde_as_text!($t, $to, $from);
    };
}

pub mod babyjubjub;
pub mod claim;
pub mod field;
mod hex;
pub mod id;
pub mod merkletree;
pub mod poseidon;

pub use field::{FieldError, Fr};
