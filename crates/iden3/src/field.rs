//! BN254 scalar field elements ([`Fr`]) with iden3's canonical encodings.
//!
//! Every iden3 value (Poseidon inputs and outputs, tree keys and roots, claim slots,
//! Baby Jubjub coordinates) is an integer in `[0, Q)` with
//! `Q = 21888242871839275222246405745257275088548364400416034343698204186575808495617`.
//! The parsers here reject anything `≥ Q` with [`FieldError::NotInField`]; nothing is reduced
//! silently. The only reducing constructors carry `mod_order` in their name.

use std::cmp::Ordering;
use std::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use ark_ff::{BigInt, Field, PrimeField};

/// The arkworks type behind [`Fr`] (Montgomery form, 4 × 64-bit limbs).
pub(crate) type Inner = ark_bn254::Fr;

/// Errors from parsing or decoding a field element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// The integer is `≥ Q`; iden3 never reduces such inputs, so neither do we.
    #[error("value is not a BN254 scalar field element (must be < 21888242871839275222246405745257275088548364400416034343698204186575808495617)")]
    NotInField,
    /// The decimal string is empty, has a sign, whitespace, a non-digit or a leading zero.
    #[error("invalid decimal field element: {0}")]
    InvalidDecimal(&'static str),
    /// The hex string does not have exactly 64 hex digits.
    #[error("invalid hex field element: {0}")]
    InvalidHex(&'static str),
    /// A byte slice does not have the expected length.
    #[error("expected {expected} bytes, got {got}")]
    InvalidLength {
        /// Required length.
        expected: usize,
        /// Length given.
        got: usize,
    },
}

/// An element of the BN254 scalar field (`Fr`, "Q" in iden3), the field of every iden3 value.
///
/// * Text: [`Display`](std::fmt::Display) / [`FromStr`](std::str::FromStr) use canonical
///   decimal (no sign, no leading zeros), the form iden3 JSON uses for claim slots and proof
///   siblings.
/// * Bytes: big- and little-endian 32-byte forms and their 64-digit hex strings. iden3's
///   `Hash.Hex()` (tree roots, identity states) is the **little-endian** hex; Moca's
///   `coreClaimHash` is the **big-endian** hex.
/// * Serde: a decimal string.
/// * Ordering compares the canonical integers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Fr(pub(crate) Inner);

impl Fr {
    /// Zero (also the hash of an empty Merkle tree).
    pub const ZERO: Fr = Fr(ark_ff::MontFp!("0"));
    /// One.
    pub const ONE: Fr = Fr(ark_ff::MontFp!("1"));
    /// The modulus `Q` as 32 big-endian bytes.
    pub const MODULUS_BE: [u8; 32] = [
        0x30, 0x64, 0x4e, 0x72, 0xe1, 0x31, 0xa0, 0x29, 0xb8, 0x50, 0x45, 0xb6, 0x81, 0x81, 0x58,
        0x5d, 0x28, 0x33, 0xe8, 0x48, 0x79, 0xb9, 0x70, 0x91, 0x43, 0xe1, 0xf5, 0x93, 0xf0, 0x00,
        0x00, 0x01,
    ];

    /// Wraps an arkworks element.
    pub(crate) const fn from_inner(x: Inner) -> Fr {
        Fr(x)
    }

    /// The element `v`.
    pub fn from_u64(v: u64) -> Fr {
        Fr(Inner::from(v))
    }

    /// The element `v`, negatives as `Q + v` (iden3's encoding of negative integers).
    pub fn from_i64(v: i64) -> Fr {
        if v < 0 {
            -Fr::from_u64(v.unsigned_abs())
        } else {
            Fr::from_u64(v.unsigned_abs())
        }
    }

    /// The element `v` (always `< Q`).
    pub fn from_u128(v: u128) -> Fr {
        Fr(Inner::from(v))
    }

    /// Builds an element from four little-endian 64-bit limbs; `None` if the value is `≥ Q`.
    pub fn from_limbs_le(limbs: [u64; 4]) -> Option<Fr> {
        Inner::from_bigint(BigInt::new(limbs)).map(Fr)
    }

    /// The canonical integer as four little-endian 64-bit limbs.
    pub fn to_limbs_le(&self) -> [u64; 4] {
        self.0.into_bigint().0
    }

    /// Decodes 32 little-endian bytes; values `≥ Q` are rejected.
    pub fn from_le_bytes(bytes: &[u8; 32]) -> Result<Fr, FieldError> {
        let mut limbs = [0u64; 4];
        for (i, limb) in limbs.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            *limb = u64::from_le_bytes(w);
        }
        Fr::from_limbs_le(limbs).ok_or(FieldError::NotInField)
    }

    /// Decodes 32 big-endian bytes; values `≥ Q` are rejected.
    pub fn from_be_bytes(bytes: &[u8; 32]) -> Result<Fr, FieldError> {
        let mut le = *bytes;
        le.reverse();
        Fr::from_le_bytes(&le)
    }

    /// Decodes a little-endian byte slice of exactly 32 bytes.
    pub fn from_le_slice(bytes: &[u8]) -> Result<Fr, FieldError> {
        let arr: &[u8; 32] = bytes.try_into().map_err(|_| FieldError::InvalidLength {
            expected: 32,
            got: bytes.len(),
        })?;
        Fr::from_le_bytes(arr)
    }

    /// Decodes a big-endian byte slice of exactly 32 bytes.
    pub fn from_be_slice(bytes: &[u8]) -> Result<Fr, FieldError> {
        let arr: &[u8; 32] = bytes.try_into().map_err(|_| FieldError::InvalidLength {
            expected: 32,
            got: bytes.len(),
        })?;
        Fr::from_be_bytes(arr)
    }

    /// Reduces an arbitrary little-endian byte string modulo `Q`. Only for places where iden3
    /// itself reduces (e.g. hashing to a scalar); never for parsing user input.
    pub fn from_le_bytes_mod_order(bytes: &[u8]) -> Fr {
        Fr(Inner::from_le_bytes_mod_order(bytes))
    }

    /// The 32-byte little-endian encoding.
    pub fn to_le_bytes(&self) -> [u8; 32] {
        let limbs = self.to_limbs_le();
        let mut out = [0u8; 32];
        for (i, limb) in limbs.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    /// The 32-byte big-endian encoding.
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let mut out = self.to_le_bytes();
        out.reverse();
        out
    }

    /// Parses 64 hex digits (either case) holding the little-endian encoding (iden3 `Hash.Hex()`).
    pub fn from_le_hex(s: &str) -> Result<Fr, FieldError> {
        Fr::from_le_bytes(&decode_hex32(s)?)
    }

    /// Parses 64 hex digits (either case) holding the big-endian encoding.
    pub fn from_be_hex(s: &str) -> Result<Fr, FieldError> {
        Fr::from_be_bytes(&decode_hex32(s)?)
    }

    /// 64 lowercase hex digits of the little-endian encoding (iden3 `Hash.Hex()`: roots, states).
    pub fn to_le_hex(&self) -> String {
        crate::hex::encode(&self.to_le_bytes())
    }

    /// 64 lowercase hex digits of the big-endian encoding (Moca's `coreClaimHash` format).
    pub fn to_be_hex(&self) -> String {
        crate::hex::encode(&self.to_be_bytes())
    }

    /// Parses canonical decimal: digits only, no sign or whitespace, no leading zeros
    /// (except `"0"` itself), value `< Q`.
    pub fn from_dec_str(s: &str) -> Result<Fr, FieldError> {
        let bytes = s.as_bytes();
        if bytes.is_empty() {
            return Err(FieldError::InvalidDecimal("empty string"));
        }
        if bytes.len() > 1 && bytes[0] == b'0' {
            return Err(FieldError::InvalidDecimal("leading zero"));
        }
        // Q has 77 decimal digits; anything longer is out of range (and would overflow below).
        if bytes.len() > 77 {
            if bytes.iter().all(u8::is_ascii_digit) {
                return Err(FieldError::NotInField);
            }
            return Err(FieldError::InvalidDecimal("non-digit character"));
        }
        let mut limbs = [0u64; 4];
        for &c in bytes {
            if !c.is_ascii_digit() {
                return Err(FieldError::InvalidDecimal("non-digit character"));
            }
            // limbs = limbs * 10 + digit, with the carry out of the top limb meaning ≥ 2^256.
            let mut carry = u128::from(c - b'0');
            for limb in limbs.iter_mut() {
                let v = u128::from(*limb) * 10 + carry;
                *limb = v as u64;
                carry = v >> 64;
            }
            if carry != 0 {
                return Err(FieldError::NotInField);
            }
        }
        Fr::from_limbs_le(limbs).ok_or(FieldError::NotInField)
    }

    /// Canonical decimal string.
    pub fn to_dec_string(&self) -> String {
        let mut limbs = self.to_limbs_le();
        if limbs == [0; 4] {
            return "0".to_owned();
        }
        // Repeated division by 10^19 (the largest power of ten in a u64).
        const CHUNK: u64 = 10_000_000_000_000_000_000;
        let mut parts = Vec::with_capacity(5);
        while limbs != [0; 4] {
            let mut rem: u128 = 0;
            for limb in limbs.iter_mut().rev() {
                let cur = (rem << 64) | u128::from(*limb);
                *limb = (cur / u128::from(CHUNK)) as u64;
                rem = cur % u128::from(CHUNK);
            }
            parts.push(rem as u64);
        }
        let mut out = String::with_capacity(78);
        let mut iter = parts.iter().rev();
        if let Some(first) = iter.next() {
            out.push_str(&first.to_string());
        }
        for p in iter {
            out.push_str(&format!("{p:019}"));
        }
        out
    }

    /// `true` for zero.
    pub fn is_zero(&self) -> bool {
        *self == Fr::ZERO
    }

    /// Bit `n` (0 = least significant) of the canonical integer; `false` for `n ≥ 256`.
    pub fn bit(&self, n: usize) -> bool {
        if n >= 256 {
            return false;
        }
        let limbs = self.to_limbs_le();
        (limbs[n / 64] >> (n % 64)) & 1 == 1
    }

    /// `self²`.
    pub fn square(&self) -> Fr {
        Fr(self.0.square())
    }

    /// Multiplicative inverse; `None` for zero.
    pub fn inverse(&self) -> Option<Fr> {
        self.0.inverse().map(Fr)
    }

    /// `self^exp` with the exponent given as little-endian limbs.
    pub fn pow(&self, exp: [u64; 4]) -> Fr {
        Fr(self.0.pow(exp))
    }

    /// A square root if one exists (either of the two).
    pub fn sqrt(&self) -> Option<Fr> {
        self.0.sqrt().map(Fr)
    }
}

fn decode_hex32(s: &str) -> Result<[u8; 32], FieldError> {
    if s.len() != 64 {
        return Err(FieldError::InvalidHex("expected 64 hex digits"));
    }
    let mut out = [0u8; 32];
    crate::hex::decode_into(s, &mut out)
        .map_err(|_| FieldError::InvalidHex("non-hex character"))?;
    Ok(out)
}

text_form!(Fr, to_dec_string, from_dec_str, FieldError);

impl From<u64> for Fr {
    fn from(v: u64) -> Fr {
        Fr::from_u64(v)
    }
}

impl PartialOrd for Fr {
    fn partial_cmp(&self, other: &Fr) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Fr {
    fn cmp(&self, other: &Fr) -> Ordering {
        self.0.into_bigint().cmp(&other.0.into_bigint())
    }
}

macro_rules! binop {
    ($tr:ident, $f:ident, $atr:ident, $af:ident, $op:tt) => {
        impl $tr for Fr {
            type Output = Fr;
            #[inline]
            fn $f(self, rhs: Fr) -> Fr {
                Fr(self.0 $op rhs.0)
            }
        }
        impl $tr<&Fr> for Fr {
            type Output = Fr;
            #[inline]
            fn $f(self, rhs: &Fr) -> Fr {
                Fr(self.0 $op rhs.0)
            }
        }
        impl $atr for Fr {
            #[inline]
            fn $af(&mut self, rhs: Fr) {
                self.0 = self.0 $op rhs.0;
            }
        }
    };
}
binop!(Add, add, AddAssign, add_assign, +);
binop!(Sub, sub, SubAssign, sub_assign, -);
binop!(Mul, mul, MulAssign, mul_assign, *);

impl Neg for Fr {
    type Output = Fr;
    fn neg(self) -> Fr {
        Fr(-self.0)
    }
}

/// Consistency check used by tests: arkworks' notion of the modulus equals ours.
#[cfg(test)]
pub(crate) fn ark_modulus_le_bytes() -> Vec<u8> {
    use ark_ff::BigInteger;
    <Inner as PrimeField>::MODULUS.to_bytes_le()
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: &str = "21888242871839275222246405745257275088548364400416034343698204186575808495617";

    #[test]
    fn modulus_constant_matches_arkworks() {
        let mut be = Fr::MODULUS_BE;
        be.reverse();
        assert_eq!(be.to_vec(), ark_modulus_le_bytes());
    }

    #[test]
    fn decimal_round_trip_and_bounds() {
        let max = "21888242871839275222246405745257275088548364400416034343698204186575808495616";
        assert_eq!(
            Fr::from_dec_str(max).map(|x| x.to_string()).as_deref(),
            Ok(max)
        );
        assert_eq!(Fr::from_dec_str(Q), Err(FieldError::NotInField));
        assert_eq!(
            Fr::from_dec_str(&"9".repeat(77)),
            Err(FieldError::NotInField)
        );
        assert_eq!(
            Fr::from_dec_str(&"9".repeat(90)),
            Err(FieldError::NotInField)
        );
        for bad in ["", "01", "-1", " 1", "1a"] {
            assert!(
                matches!(Fr::from_dec_str(bad), Err(FieldError::InvalidDecimal(_))),
                "{bad:?}"
            );
        }
        assert_eq!(Fr::from_dec_str("0"), Ok(Fr::ZERO));
        assert_eq!(Fr::from_dec_str("1"), Ok(Fr::ONE));
        assert_eq!(Fr::from_u64(u64::MAX).to_string(), u64::MAX.to_string());
        assert_eq!(Fr::from_i64(-1).to_string(), max);
        assert_eq!(Fr::from_i64(i64::MIN) + Fr::from_u64(1 << 63), Fr::ZERO);
        assert_eq!(Fr::from_i64(5), Fr::from_u64(5));
        assert_eq!(Fr::from_u128(u128::MAX).to_string(), u128::MAX.to_string());
        assert_eq!(
            Fr::from_dec_str("10000000000000000000")
                .map(|x| x.to_string())
                .as_deref(),
            Ok("10000000000000000000")
        );
    }

    #[test]
    fn byte_and_hex_encodings() {
        let x = Fr::from_u64(0x0102);
        let le = x.to_le_bytes();
        assert_eq!(le[0], 0x02);
        assert_eq!(le[1], 0x01);
        assert_eq!(x.to_be_bytes()[31], 0x02);
        assert_eq!(Fr::from_le_bytes(&le), Ok(x));
        assert_eq!(Fr::from_be_bytes(&x.to_be_bytes()), Ok(x));
        assert_eq!(x.to_le_hex(), format!("0201{}", "0".repeat(60)));
        assert_eq!(x.to_be_hex(), format!("{}0102", "0".repeat(60)));
        assert_eq!(Fr::from_le_hex(&x.to_le_hex()), Ok(x));
        assert_eq!(Fr::from_be_hex(&x.to_be_hex().to_uppercase()), Ok(x));
        assert_eq!(
            Fr::from_be_bytes(&Fr::MODULUS_BE),
            Err(FieldError::NotInField)
        );
        assert_eq!(Fr::from_be_bytes(&[0xff; 32]), Err(FieldError::NotInField));
        assert!(matches!(
            Fr::from_le_hex("00"),
            Err(FieldError::InvalidHex(_))
        ));
        assert!(matches!(
            Fr::from_le_hex(&"g".repeat(64)),
            Err(FieldError::InvalidHex(_))
        ));
        assert!(matches!(
            Fr::from_le_slice(&[0u8; 31]),
            Err(FieldError::InvalidLength {
                expected: 32,
                got: 31
            })
        ));
    }

    #[test]
    fn arithmetic_and_order() {
        let a = Fr::from_u64(7);
        let b = Fr::from_u64(5);
        assert_eq!(a + b, Fr::from_u64(12));
        assert_eq!(a - b, Fr::from_u64(2));
        assert_eq!(a * b, Fr::from_u64(35));
        assert_eq!(b - a + Fr::from_u64(2), Fr::ZERO);
        assert_eq!(a.inverse().map(|i| i * a), Some(Fr::ONE));
        assert!(Fr::ZERO.inverse().is_none());
        assert!(b < a);
        assert!(-Fr::ONE > a);
        assert!(Fr::from_u64(5).bit(0) && !Fr::from_u64(5).bit(1) && Fr::from_u64(5).bit(2));
    }

    #[test]
    fn serde_is_decimal_string() {
        let x = Fr::from_u64(42);
        assert_eq!(serde_json::to_string(&x).ok().as_deref(), Some("\"42\""));
        let y: Result<Fr, _> = serde_json::from_str("\"42\"");
        assert_eq!(y.ok(), Some(x));
        let bad: Result<Fr, _> = serde_json::from_str(&format!("\"{Q}\""));
        assert!(bad.is_err());
    }
}
