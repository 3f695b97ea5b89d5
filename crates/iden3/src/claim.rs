//! iden3 core claims (go-iden3-core `Claim`): 4 index slots and 4 value slots.
//!
//! | slot | content |
//! |---|---|
//! | `i_0` | bytes 0..16 schema hash, byte 16 flags, bytes 20..24 version (u32 LE) |
//! | `i_1` | subject ID (31 bytes) when the subject position is *index* |
//! | `i_2`, `i_3` | index data; `i_2` holds the merklized root when its position is *index* |
//! | `v_0` | bytes 0..8 revocation nonce (u64 LE), bytes 8..16 expiration (u64 LE, Unix s) |
//! | `v_1` | subject ID when the subject position is *value* |
//! | `v_2`, `v_3` | value data; `v_2` holds the merklized root when its position is *value* |
//!
//! Flags byte: bits 0–2 subject (`000` self, `010` index, `011` value), bit 3 expiration,
//! bit 4 updatable, bits 5–7 merklized root (`000` none, `001` index, `010` value).
//!
//! `hIndex = Poseidon(i_0..i_3)`, `hValue = Poseidon(v_0..v_3)`, and the core claim hash (the
//! message of a `BJJSignature2021`, Moca's `coreClaimHash`) is `Poseidon(hIndex, hValue)`.

use std::fmt;

use serde::{Deserialize, Serialize};
use tiny_keccak::{Hasher, Keccak};

use crate::field::{FieldError, Fr};
use crate::id::{Id, IdError};
use crate::poseidon;

/// Errors decoding or reading a claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// The hex form must be 512 hex digits.
    #[error("claim hex must be 512 hex digits (8 slots of 32 bytes)")]
    InvalidHex,
    /// A slot is not a field element.
    #[error("claim slot {slot}: {source}")]
    InvalidSlot {
        /// Slot number, 0..8 (index slots first).
        slot: usize,
        /// Why.
        #[source]
        source: FieldError,
    },
    /// The JSON form must be an array of 8 decimal strings.
    #[error("claim JSON must have 8 slots, got {0}")]
    InvalidSlotCount(usize),
    /// The subject bits of the flags are not self / index / value.
    #[error("invalid subject position flags {0:#05b}")]
    InvalidSubjectPosition(u8),
    /// The merklized bits of the flags are not none / index / value.
    #[error("invalid merklized root position flags {0:#05b}")]
    InvalidMerklizedPosition(u8),
    /// The subject slot does not hold a valid ID.
    #[error("subject ID: {0}")]
    InvalidId(#[from] IdError),
    /// A schema hash must be 16 bytes (32 hex digits).
    #[error("schema hash must be 16 bytes / 32 hex digits")]
    InvalidSchemaHash,
}

/// The 16-byte schema hash in `i_0[0..16]` (serde: 32 hex digits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SchemaHash(pub [u8; 16]);

impl SchemaHash {
    /// The schema hash of `AuthBJJCredential` (`core.AuthSchemaHash`).
    pub const AUTH_BJJ: SchemaHash = SchemaHash([
        0xcc, 0xa3, 0x37, 0x1a, 0x6c, 0xb1, 0xb7, 0x15, 0x00, 0x44, 0x07, 0xe3, 0x25, 0xbd, 0x99,
        0x3c,
    ]);

    /// `keccak256(iri)[16..32]` for the credential's **expanded** JSON-LD type IRI, e.g.
    /// `https://schema.iden3.io/core/jsonld/auth.jsonld#AuthBJJCredential`, or the type's
    /// `@id` such as `urn:uuid:…` (go-schema-processor `CreateSchemaHash`).
    pub fn from_type_iri(iri: &str) -> SchemaHash {
        let mut k = Keccak::v256();
        k.update(iri.as_bytes());
        let mut out = [0u8; 32];
        k.finalize(&mut out);
        let mut h = [0u8; 16];
        h.copy_from_slice(&out[16..]);
        SchemaHash(h)
    }

    /// 32 lowercase hex digits (the issuer-node's `schema_hash` column).
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0)
    }

    /// Parses 32 hex digits.
    pub fn from_hex(s: &str) -> Result<SchemaHash, ClaimError> {
        let mut h = [0u8; 16];
        crate::hex::decode_into(s, &mut h).map_err(|_| ClaimError::InvalidSchemaHash)?;
        Ok(SchemaHash(h))
    }
}

serde_as_text!(SchemaHash, to_hex, from_hex);

impl fmt::Debug for SchemaHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SchemaHash({})", self.to_hex())
    }
}

/// Where the subject ID is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectPosition {
    /// No ID: a claim about the issuer itself.
    SelfSubject,
    /// In index slot `i_1`.
    Index,
    /// In value slot `v_1`.
    Value,
}

/// Where the merklized root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MerklizedRootPosition {
    /// Not merklized.
    None,
    /// In index slot `i_2`.
    Index,
    /// In value slot `v_2`.
    Value,
}

const FLAGS_BYTE: usize = 16;
const SUBJECT_MASK: u8 = 0b0000_0111;
const SUBJECT_INDEX: u8 = 0b010;
const SUBJECT_VALUE: u8 = 0b011;
const EXPIRATION_BIT: u8 = 0b0000_1000;
const UPDATABLE_BIT: u8 = 0b0001_0000;
const MERKLIZED_MASK: u8 = 0b1110_0000;
const MERKLIZED_SHIFT: u8 = 5;
const MERKLIZED_INDEX: u8 = 0b001;
const MERKLIZED_VALUE: u8 = 0b010;

/// A core claim. Every slot is always a valid field element (all setters take [`Fr`] or
/// write only bytes that keep the slot below `Q`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Claim {
    /// Slots 0..4 index, 4..8 value; each 32 bytes little-endian.
    slots: [[u8; 32]; 8],
}

impl fmt::Debug for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Claim").field(&self.to_hex()).finish()
    }
}

impl Claim {
    /// A claim with the given schema and everything else zero (self subject, not merklized,
    /// no expiration, not updatable, version 0, nonce 0).
    pub fn new(schema: SchemaHash) -> Claim {
        let mut c = Claim {
            slots: [[0u8; 32]; 8],
        };
        c.set_schema_hash(schema);
        c
    }

    /// The BJJ auth claim of an identity: `AuthBJJCredential` schema, public key `x` in `i_2`
    /// and `y` in `i_3`, revocation nonce `rev_nonce` (the issuer-node uses 0).
    pub fn auth_bjj(x: Fr, y: Fr, rev_nonce: u64) -> Claim {
        let mut c = Claim::new(SchemaHash::AUTH_BJJ);
        c.set_index_data(x, y);
        c.set_revocation_nonce(rev_nonce);
        c
    }

    /// Builds a claim from its 8 slots, index first (go-iden3-core `NewClaimFromBigInts`).
    pub fn from_slots(slots: [Fr; 8]) -> Claim {
        let mut c = Claim {
            slots: [[0u8; 32]; 8],
        };
        for (dst, src) in c.slots.iter_mut().zip(slots.iter()) {
            *dst = src.to_le_bytes();
        }
        c
    }

    fn slot_fr(&self, i: usize) -> Fr {
        // Invariant: every slot is < Q, so decoding cannot fail; reducing keeps it panic-free.
        Fr::from_le_bytes_mod_order(&self.slots[i])
    }

    /// The 8 slots as field elements, index first.
    pub fn slots(&self) -> [Fr; 8] {
        std::array::from_fn(|i| self.slot_fr(i))
    }

    /// The 4 index slots.
    pub fn index(&self) -> [Fr; 4] {
        std::array::from_fn(|i| self.slot_fr(i))
    }

    /// The 4 value slots.
    pub fn value(&self) -> [Fr; 4] {
        std::array::from_fn(|i| self.slot_fr(4 + i))
    }

    /// `hIndex = Poseidon(i_0, i_1, i_2, i_3)`: the claims-tree key.
    pub fn hi(&self) -> Fr {
        let [a, b, c, d] = self.index();
        poseidon::hash4(a, b, c, d)
    }

    /// `hValue = Poseidon(v_0, v_1, v_2, v_3)`: the claims-tree value.
    pub fn hv(&self) -> Fr {
        let [a, b, c, d] = self.value();
        poseidon::hash4(a, b, c, d)
    }

    /// `(hIndex, hValue)`.
    pub fn hi_hv(&self) -> (Fr, Fr) {
        (self.hi(), self.hv())
    }

    /// `Poseidon(hIndex, hValue)`: the message of a `BJJSignature2021`.
    pub fn core_claim_hash(&self) -> Fr {
        poseidon::hash2(self.hi(), self.hv())
    }

    /// The core claim hash as 64 lowercase hex digits, **big-endian** (Moca's
    /// `coreClaimHash`, unlike iden3's little-endian `Hash.Hex()`).
    pub fn core_claim_hash_hex(&self) -> String {
        self.core_claim_hash().to_be_hex()
    }

    /// The binary form: 8 slots × 32 bytes little-endian, index first (`Claim.MarshalBinary`).
    pub fn to_bytes(&self) -> [u8; 256] {
        let mut out = [0u8; 256];
        for (i, s) in self.slots.iter().enumerate() {
            out[i * 32..(i + 1) * 32].copy_from_slice(s);
        }
        out
    }

    /// Decodes the binary form, checking each slot is `< Q`.
    pub fn from_bytes(bytes: &[u8; 256]) -> Result<Claim, ClaimError> {
        let mut slots = [[0u8; 32]; 8];
        for (i, s) in slots.iter_mut().enumerate() {
            s.copy_from_slice(&bytes[i * 32..(i + 1) * 32]);
            Fr::from_le_bytes(s).map_err(|source| ClaimError::InvalidSlot { slot: i, source })?;
        }
        Ok(Claim { slots })
    }

    /// The hex form (512 lowercase hex digits; `coreClaim` / `authCoreClaim` in proofs).
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.to_bytes())
    }

    /// Parses the hex form (either case).
    pub fn from_hex(s: &str) -> Result<Claim, ClaimError> {
        let mut b = [0u8; 256];
        crate::hex::decode_into(s, &mut b).map_err(|_| ClaimError::InvalidHex)?;
        Claim::from_bytes(&b)
    }

    /// The JSON form: 8 decimal strings, index first (issuer-node `core_claim` column).
    pub fn to_json_slots(&self) -> [String; 8] {
        self.slots().map(|x| x.to_dec_string())
    }

    /// Parses the JSON form.
    pub fn from_json_slots<S: AsRef<str>>(slots: &[S]) -> Result<Claim, ClaimError> {
        if slots.len() != 8 {
            return Err(ClaimError::InvalidSlotCount(slots.len()));
        }
        let mut out = [Fr::ZERO; 8];
        for (i, (dst, s)) in out.iter_mut().zip(slots).enumerate() {
            *dst = Fr::from_dec_str(s.as_ref())
                .map_err(|source| ClaimError::InvalidSlot { slot: i, source })?;
        }
        Ok(Claim::from_slots(out))
    }

    // ---- i_0: schema, flags, version ----

    /// The schema hash.
    pub fn schema_hash(&self) -> SchemaHash {
        let mut h = [0u8; 16];
        h.copy_from_slice(&self.slots[0][..16]);
        SchemaHash(h)
    }

    /// Sets the schema hash.
    pub fn set_schema_hash(&mut self, schema: SchemaHash) {
        self.slots[0][..16].copy_from_slice(&schema.0);
    }

    fn flags(&self) -> u8 {
        self.slots[0][FLAGS_BYTE]
    }

    fn set_flags(&mut self, f: u8) {
        self.slots[0][FLAGS_BYTE] = f;
    }

    /// The version (u32 in `i_0[20..24]`).
    pub fn version(&self) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.slots[0][20..24]);
        u32::from_le_bytes(b)
    }

    /// Sets the version.
    pub fn set_version(&mut self, v: u32) {
        self.slots[0][20..24].copy_from_slice(&v.to_le_bytes());
    }

    /// The updatable flag.
    pub fn updatable(&self) -> bool {
        self.flags() & UPDATABLE_BIT != 0
    }

    /// Sets or clears the updatable flag.
    pub fn set_updatable(&mut self, on: bool) {
        let f = self.flags();
        self.set_flags(if on {
            f | UPDATABLE_BIT
        } else {
            f & !UPDATABLE_BIT
        });
    }

    // ---- subject ----

    /// The subject position from the flags.
    pub fn subject_position(&self) -> Result<SubjectPosition, ClaimError> {
        match self.flags() & SUBJECT_MASK {
            0b000 => Ok(SubjectPosition::SelfSubject),
            SUBJECT_INDEX => Ok(SubjectPosition::Index),
            SUBJECT_VALUE => Ok(SubjectPosition::Value),
            other => Err(ClaimError::InvalidSubjectPosition(other)),
        }
    }

    fn set_subject_bits(&mut self, bits: u8) {
        let f = self.flags();
        self.set_flags((f & !SUBJECT_MASK) | bits);
    }

    /// Puts the subject ID in `i_1` (clearing `v_1`) and sets the subject flag to *index*.
    pub fn set_index_id(&mut self, id: &Id) {
        self.slots[5] = [0u8; 32];
        self.slots[1] = id_slot(id);
        self.set_subject_bits(SUBJECT_INDEX);
    }

    /// Puts the subject ID in `v_1` (clearing `i_1`) and sets the subject flag to *value*.
    pub fn set_value_id(&mut self, id: &Id) {
        self.slots[1] = [0u8; 32];
        self.slots[5] = id_slot(id);
        self.set_subject_bits(SUBJECT_VALUE);
    }

    /// Removes the subject ID (self claim).
    pub fn reset_id(&mut self) {
        self.slots[1] = [0u8; 32];
        self.slots[5] = [0u8; 32];
        self.set_subject_bits(0);
    }

    /// The subject ID, `None` for a self claim.
    pub fn id(&self) -> Result<Option<Id>, ClaimError> {
        let slot = match self.subject_position()? {
            SubjectPosition::SelfSubject => return Ok(None),
            SubjectPosition::Index => &self.slots[1],
            SubjectPosition::Value => &self.slots[5],
        };
        Ok(Some(Id::from_bytes(&slot[..31])?))
    }

    // ---- merklized root ----

    /// The merklized root position from the flags.
    pub fn merklized_position(&self) -> Result<MerklizedRootPosition, ClaimError> {
        match (self.flags() & MERKLIZED_MASK) >> MERKLIZED_SHIFT {
            0b000 => Ok(MerklizedRootPosition::None),
            MERKLIZED_INDEX => Ok(MerklizedRootPosition::Index),
            MERKLIZED_VALUE => Ok(MerklizedRootPosition::Value),
            other => Err(ClaimError::InvalidMerklizedPosition(other)),
        }
    }

    fn set_merklized_bits(&mut self, bits: u8) {
        let f = self.flags();
        self.set_flags((f & !MERKLIZED_MASK) | (bits << MERKLIZED_SHIFT));
    }

    /// Puts the merklized root in `i_2` (clearing `v_2`) and sets the flag to *index*.
    pub fn set_index_merklized_root(&mut self, root: Fr) {
        self.slots[6] = [0u8; 32];
        self.slots[2] = root.to_le_bytes();
        self.set_merklized_bits(MERKLIZED_INDEX);
    }

    /// Puts the merklized root in `v_2` (clearing `i_2`) and sets the flag to *value*.
    pub fn set_value_merklized_root(&mut self, root: Fr) {
        self.slots[2] = [0u8; 32];
        self.slots[6] = root.to_le_bytes();
        self.set_merklized_bits(MERKLIZED_VALUE);
    }

    /// Clears the merklized root and its flag.
    pub fn reset_merklized_root(&mut self) {
        self.slots[2] = [0u8; 32];
        self.slots[6] = [0u8; 32];
        self.set_merklized_bits(0);
    }

    /// The merklized root, `None` if not merklized.
    pub fn merklized_root(&self) -> Result<Option<Fr>, ClaimError> {
        Ok(match self.merklized_position()? {
            MerklizedRootPosition::None => None,
            MerklizedRootPosition::Index => Some(self.slot_fr(2)),
            MerklizedRootPosition::Value => Some(self.slot_fr(6)),
        })
    }

    // ---- data slots ----

    /// Sets index data slots `i_2`, `i_3`.
    pub fn set_index_data(&mut self, a: Fr, b: Fr) {
        self.slots[2] = a.to_le_bytes();
        self.slots[3] = b.to_le_bytes();
    }

    /// Sets value data slots `v_2`, `v_3`.
    pub fn set_value_data(&mut self, a: Fr, b: Fr) {
        self.slots[6] = a.to_le_bytes();
        self.slots[7] = b.to_le_bytes();
    }

    // ---- v_0: nonce, expiration ----

    /// The revocation nonce (`v_0[0..8]`).
    pub fn revocation_nonce(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.slots[4][..8]);
        u64::from_le_bytes(b)
    }

    /// Sets the revocation nonce.
    pub fn set_revocation_nonce(&mut self, nonce: u64) {
        self.slots[4][..8].copy_from_slice(&nonce.to_le_bytes());
    }

    /// The expiration (Unix seconds) if the expiration flag is set.
    pub fn expiration(&self) -> Option<u64> {
        if self.flags() & EXPIRATION_BIT == 0 {
            return None;
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.slots[4][8..16]);
        Some(u64::from_le_bytes(b))
    }

    /// Sets (`Some`, with the flag) or clears (`None`) the expiration, in Unix seconds.
    pub fn set_expiration(&mut self, unix_seconds: Option<u64>) {
        let f = self.flags();
        match unix_seconds {
            Some(t) => {
                self.slots[4][8..16].copy_from_slice(&t.to_le_bytes());
                self.set_flags(f | EXPIRATION_BIT);
            }
            None => {
                self.slots[4][8..16].copy_from_slice(&[0u8; 8]);
                self.set_flags(f & !EXPIRATION_BIT);
            }
        }
    }
}

fn id_slot(id: &Id) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..31].copy_from_slice(id.as_bytes());
    s
}

impl Serialize for Claim {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json_slots().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Claim {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Claim, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        Claim::from_json_slots(&v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_schema_hash_is_keccak_of_type_iri() {
        let h = SchemaHash::from_type_iri(
            "https://schema.iden3.io/core/jsonld/auth.jsonld#AuthBJJCredential",
        );
        assert_eq!(h, SchemaHash::AUTH_BJJ);
        assert_eq!(h.to_hex(), "cca3371a6cb1b715004407e325bd993c");
        assert_eq!(SchemaHash::from_hex(&h.to_hex()), Ok(h));
    }

    #[test]
    fn flags_and_fields_round_trip() -> Result<(), ClaimError> {
        let mut c = Claim::new(SchemaHash([7; 16]));
        let id = Id::from_genesis_state([0x01, 0x13], Fr::from_u64(5));
        c.set_index_id(&id);
        c.set_expiration(Some(1_893_456_000));
        c.set_index_merklized_root(Fr::from_u64(77));
        c.set_revocation_nonce(u64::MAX);
        c.set_version(3);
        assert_eq!(c.to_bytes()[16], 0x2a);
        assert_eq!(c.subject_position()?, SubjectPosition::Index);
        assert_eq!(c.id()?, Some(id));
        assert_eq!(c.merklized_root()?, Some(Fr::from_u64(77)));
        assert_eq!(c.expiration(), Some(1_893_456_000));
        assert_eq!(c.revocation_nonce(), u64::MAX);
        assert_eq!(c.version(), 3);
        assert!(!c.updatable());

        c.set_value_id(&id);
        c.set_value_merklized_root(Fr::from_u64(78));
        c.set_updatable(true);
        assert_eq!(c.index()[1], Fr::ZERO);
        assert_eq!(c.index()[2], Fr::ZERO);
        assert_eq!(c.subject_position()?, SubjectPosition::Value);
        assert_eq!(c.merklized_position()?, MerklizedRootPosition::Value);
        assert_eq!(c.merklized_root()?, Some(Fr::from_u64(78)));
        assert!(c.updatable());
        c.set_expiration(None);
        c.reset_id();
        c.reset_merklized_root();
        assert_eq!(c.expiration(), None);
        assert_eq!(c.id()?, None);
        assert_eq!(c.merklized_root()?, None);
        assert_eq!(c.schema_hash(), SchemaHash([7; 16]));

        assert_eq!(Claim::from_hex(&c.to_hex())?, c);
        assert_eq!(Claim::from_json_slots(&c.to_json_slots())?, c);
        Ok(())
    }

    #[test]
    fn invalid_encodings_are_rejected() {
        assert_eq!(Claim::from_hex("00"), Err(ClaimError::InvalidHex));
        let mut bytes = [0u8; 256];
        bytes[32..64].copy_from_slice(&[0xff; 32]);
        assert!(matches!(
            Claim::from_bytes(&bytes),
            Err(ClaimError::InvalidSlot { slot: 1, .. })
        ));
        assert_eq!(
            Claim::from_json_slots(&["0"; 7][..]),
            Err(ClaimError::InvalidSlotCount(7))
        );
        let mut c = Claim::new(SchemaHash::default());
        c.slots[0][FLAGS_BYTE] = 0b001;
        assert_eq!(
            c.subject_position(),
            Err(ClaimError::InvalidSubjectPosition(1))
        );
        c.slots[0][FLAGS_BYTE] = 0b1110_0000;
        assert_eq!(
            c.merklized_position(),
            Err(ClaimError::InvalidMerklizedPosition(0b111))
        );
    }
}
