//! Text parsers of untrusted input: field elements, DIDs, IDs, claim / signature / key hex,
//! proof JSON. None may panic; whatever parses must print back to the same text.
#![no_main]

use claimd_iden3::babyjubjub::{PublicKey, Signature};
use claimd_iden3::claim::{Claim, SchemaHash};
use claimd_iden3::id::{DidRegistry, Id};
use claimd_iden3::merkletree::Proof;
use claimd_iden3::Fr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(x) = s.parse::<Fr>() {
        assert_eq!(x.to_string(), s);
    }
    if let Ok(x) = Fr::from_le_hex(s) {
        assert_eq!(x.to_le_hex(), s.to_lowercase());
    }
    let registry = DidRegistry::default();
    if let Ok(d) = registry.parse(s) {
        assert_eq!(d.to_string(), s);
    }
    let _ = registry.id_from_did(s);
    if let Ok(id) = s.parse::<Id>() {
        assert_eq!(id.to_string(), s);
    }
    if let Ok(c) = Claim::from_hex(s) {
        assert_eq!(c.to_hex(), s.to_lowercase());
        let _ = (c.id(), c.merklized_root(), c.hi_hv());
    }
    if let Ok(sig) = Signature::from_hex(s) {
        assert_eq!(sig.to_hex(), s.to_lowercase());
    }
    if let Ok(pk) = PublicKey::from_hex(s) {
        assert_eq!(pk.to_hex(), s.to_lowercase());
    }
    let _ = SchemaHash::from_hex(s);
    if let Ok(p) = serde_json::from_str::<Proof>(s) {
        let _ = p.root(Fr::ONE, Fr::ZERO);
    }
    if let Ok(c) = serde_json::from_str::<Claim>(s) {
        let _ = c.subject_position();
    }
});
