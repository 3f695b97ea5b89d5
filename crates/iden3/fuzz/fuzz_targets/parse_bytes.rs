//! Binary decoders of untrusted input: field elements, points, signatures, claims, IDs.
//! None may panic; whatever decodes must encode back to the same bytes.
#![no_main]

use claimd_iden3::babyjubjub::{Point, Signature};
use claimd_iden3::claim::Claim;
use claimd_iden3::id::Id;
use claimd_iden3::Fr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(x) = Fr::from_le_slice(data) {
        assert_eq!(x.to_le_bytes().as_slice(), data);
    }
    if let Ok(b) = <[u8; 32]>::try_from(data) {
        if let Ok(p) = Point::decompress(&b) {
            assert!(p.is_on_curve());
            assert_eq!(p.compress(), b);
        }
    }
    if let Ok(b) = <[u8; 64]>::try_from(data) {
        if let Ok(sig) = Signature::decompress(&b) {
            assert_eq!(sig.compress(), b);
        }
    }
    if let Ok(b) = <[u8; 256]>::try_from(data) {
        if let Ok(c) = Claim::from_bytes(&b) {
            assert_eq!(c.to_bytes(), b);
        }
    }
    if let Ok(id) = Id::from_bytes(data) {
        assert_eq!(id.as_bytes().as_slice(), data);
        assert_eq!(Id::from_fr(id.to_fr()), Ok(id));
    }
});
