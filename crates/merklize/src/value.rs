//! Leaf values: how the iden3 merklizer types and hashes a quad's object.
//!
//! The switch follows js-jsonld-merklization 1.7.2 (`convertStringToXsdValue`, `MtValue`):
//! * `xsd:boolean`: `true`/`1` → `Poseidon([1])`, `false`/`0` → `Poseidon([0])`, else an error;
//! * `xsd:integer` and its four sign-restricted subtypes: `BigInt(lexical)` with the XSD range
//!   checked against the field (`integer` is `[-(Q-1)/2, (Q-1)/2]`), negatives stored as `Q + v`;
//! * `xsd:dateTime`: Unix time in **nanoseconds** (negatives as `Q + v`); a bare `YYYY-MM-DD`
//!   means UTC midnight;
//! * `xsd:double`: the canonical double string of `parseFloat(lexical)`, hashed as a string;
//! * everything else (strings, `xsd:number`, language strings, IRIs): `hash_bytes(utf8)`.

use std::fmt;

use claimd_iden3::poseidon;
use claimd_iden3::Fr;

use crate::error::MerklizeError;
use crate::jsnum::{is_js_whitespace, js_canonical_double, js_parse_float};

const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

/// The typed value of a merklized leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MtValue {
    /// Hashed with the byte sponge (strings, IRIs, doubles in canonical form, other datatypes).
    String(String),
    /// An integer already mapped into the field (negatives as `Q + v`).
    Integer(Fr),
    /// A boolean.
    Bool(bool),
    /// A point in time, in nanoseconds since the Unix epoch.
    Time(i128),
}

impl MtValue {
    /// The field element stored as the leaf value.
    pub fn hash(&self) -> Result<Fr, MerklizeError> {
        Ok(match self {
            MtValue::String(s) => poseidon::hash_bytes(s.as_bytes()),
            MtValue::Integer(f) => *f,
            MtValue::Bool(b) => bool_hash(*b)?,
            MtValue::Time(ns) => int_to_field(*ns),
        })
    }
}

impl fmt::Display for MtValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MtValue::String(s) => f.write_str(s),
            MtValue::Integer(v) => write!(f, "{v}"),
            MtValue::Bool(b) => write!(f, "{b}"),
            MtValue::Time(ns) => write!(f, "{ns}ns"),
        }
    }
}

/// `Poseidon([0])` / `Poseidon([1])`, computed once.
fn bool_hash(b: bool) -> Result<Fr, MerklizeError> {
    static HASHES: std::sync::OnceLock<Result<[Fr; 2], String>> = std::sync::OnceLock::new();
    let hashes = HASHES.get_or_init(|| {
        let h = |v: u64| poseidon::hash(&[Fr::from_u64(v)]).map_err(|e| e.to_string());
        Ok([h(0)?, h(1)?])
    });
    match hashes {
        Ok(h) => Ok(h[usize::from(b)]),
        Err(e) => Err(MerklizeError::Hash(e.clone())),
    }
}

/// A signed integer into the field the way `mkValueInt` does it (`Q + v` for negatives).
/// Nanosecond timestamps are far below `Q`, so no range error is possible here.
fn int_to_field(v: i128) -> Fr {
    let mag = Fr::from_u128(v.unsigned_abs());
    if v < 0 {
        -mag
    } else {
        mag
    }
}

/// Types a literal by its datatype IRI (`convertStringToXsdValue`).
pub fn literal_value(datatype: &str, lexical: &str) -> Result<MtValue, MerklizeError> {
    let Some(local) = datatype.strip_prefix(XSD) else {
        return Ok(MtValue::String(lexical.to_owned()));
    };
    let bad = |reason: &str| MerklizeError::InvalidValue {
        datatype: datatype.to_owned(),
        value: lexical.to_owned(),
        reason: reason.to_owned(),
    };
    match local {
        "boolean" => match lexical {
            "true" | "1" => Ok(MtValue::Bool(true)),
            "false" | "0" => Ok(MtValue::Bool(false)),
            _ => Err(bad("not a boolean")),
        },
        "integer" | "nonNegativeInteger" | "nonPositiveInteger" | "negativeInteger"
        | "positiveInteger" => {
            let (neg, mag) = js_bigint(lexical).ok_or_else(|| bad("not an integer"))?;
            integer_in_range(local, neg, mag)
                .map(MtValue::Integer)
                .ok_or_else(|| bad("integer out of range for the datatype"))
        }
        "dateTime" => crate::datetime::parse_epoch_nanos(lexical)
            .map(MtValue::Time)
            .ok_or_else(|| bad("not a date-time")),
        "double" => Ok(MtValue::String(js_canonical_double(js_parse_float(
            lexical,
        )))),
        _ => Ok(MtValue::String(lexical.to_owned())),
    }
}

/// A little-endian 320-bit unsigned integer, wide enough to detect anything ≥ Q.
type U320 = [u64; 5];

/// JavaScript `BigInt(string)`: white space trimmed, empty means 0, `0x`/`0o`/`0b` prefixes
/// (unsigned), otherwise an optional sign and decimal digits. Returns `(negative, magnitude)`;
/// a magnitude that does not fit 320 bits is returned saturated (it is out of range anyway).
fn js_bigint(s: &str) -> Option<(bool, U320)> {
    let t = s.trim_matches(is_js_whitespace);
    if t.is_empty() {
        return Some((false, [0; 5]));
    }
    let lower = t.get(..2).map(str::to_ascii_lowercase);
    let (neg, radix, digits) = match lower.as_deref() {
        Some("0x") => (false, 16, &t[2..]),
        Some("0o") => (false, 8, &t[2..]),
        Some("0b") => (false, 2, &t[2..]),
        _ => match t.as_bytes()[0] {
            b'-' => (true, 10, &t[1..]),
            b'+' => (false, 10, &t[1..]),
            _ => (false, 10, t),
        },
    };
    if digits.is_empty() {
        return None;
    }
    let mut acc: U320 = [0; 5];
    let mut saturated = false;
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        if !saturated && !mul_add(&mut acc, u64::from(radix), u64::from(d)) {
            saturated = true;
        }
    }
    if saturated {
        acc = [u64::MAX; 5];
    }
    Some((neg, acc))
}

/// `acc = acc * m + a`; false on overflow.
fn mul_add(acc: &mut U320, m: u64, a: u64) -> bool {
    let mut carry = u128::from(a);
    for limb in acc.iter_mut() {
        let v = u128::from(*limb) * u128::from(m) + carry;
        *limb = v as u64;
        carry = v >> 64;
    }
    carry == 0
}

fn cmp_u320(a: &U320, b: &U320) -> std::cmp::Ordering {
    for i in (0..5).rev() {
        match a[i].cmp(&b[i]) {
            std::cmp::Ordering::Equal => continue,
            o => return o,
        }
    }
    std::cmp::Ordering::Equal
}

fn modulus() -> U320 {
    let be = Fr::MODULUS_BE;
    let mut out = [0u64; 5];
    for (i, limb) in out.iter_mut().take(4).enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&be[32 - 8 * (i + 1)..32 - 8 * i]);
        *limb = u64::from_be_bytes(bytes);
    }
    out
}

/// `(Q - 1) / 2`, the largest `xsd:integer` (`minMaxFromPrime`: max = Q/2, min = max - Q + 1).
fn half_modulus() -> U320 {
    let mut q = modulus();
    // Q is odd: (Q - 1) / 2 == Q >> 1.
    let mut carry = 0u64;
    for limb in q.iter_mut().rev() {
        let next = *limb & 1;
        *limb = (*limb >> 1) | (carry << 63);
        carry = next;
    }
    q
}

/// Applies `minMaxByXSDType` and maps into the field.
fn integer_in_range(local: &str, neg: bool, mag: U320) -> Option<Fr> {
    use std::cmp::Ordering::*;
    let zero = mag.iter().all(|l| *l == 0);
    let q = modulus();
    let half = half_modulus();
    // Magnitude bounds for each sign: positives up to Q-1 (or (Q-1)/2 for xsd:integer),
    // negatives down to -(Q-1)/2.
    let ok = match (local, neg && !zero) {
        ("integer", false) => cmp_u320(&mag, &half) != Greater,
        ("integer", true) => cmp_u320(&mag, &half) != Greater,
        ("nonNegativeInteger", false) => cmp_u320(&mag, &q) == Less,
        ("nonNegativeInteger", true) => false,
        ("positiveInteger", false) => !zero && cmp_u320(&mag, &q) == Less,
        ("positiveInteger", true) => false,
        ("negativeInteger", false) => false,
        ("negativeInteger", true) => cmp_u320(&mag, &half) != Greater,
        ("nonPositiveInteger", false) => zero,
        ("nonPositiveInteger", true) => cmp_u320(&mag, &half) != Greater,
        _ => false,
    };
    if !ok {
        return None;
    }
    let f = Fr::from_limbs_le([mag[0], mag[1], mag[2], mag[3]])?;
    Some(if neg && !zero { -f } else { f })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(s: &str) -> Result<MtValue, MerklizeError> {
        literal_value("http://www.w3.org/2001/XMLSchema#integer", s)
    }

    #[test]
    fn integers_follow_js_bigint() {
        assert_eq!(int("18").unwrap(), MtValue::Integer(Fr::from_u64(18)));
        assert_eq!(int(" 0x1f ").unwrap(), MtValue::Integer(Fr::from_u64(31)));
        assert_eq!(int("").unwrap(), MtValue::Integer(Fr::ZERO));
        assert_eq!(int("-1").unwrap(), MtValue::Integer(-Fr::ONE));
        assert!(int("1.85E1").is_err());
        assert!(int("-0x1").is_err());
        assert!(int("1_000").is_err());
        let half = "10944121435919637611123202872628637544274182200208017171849102093287904247808";
        assert!(int(half).is_ok());
        assert!(int(&format!("-{half}")).is_ok());
        let over = "10944121435919637611123202872628637544274182200208017171849102093287904247809";
        assert!(int(over).is_err());
        assert!(int(&"9".repeat(200)).is_err());
        let pos = |s| literal_value("http://www.w3.org/2001/XMLSchema#positiveInteger", s);
        assert!(pos("0").is_err());
        assert!(pos(over).is_ok());
    }

    #[test]
    fn booleans_and_doubles() {
        let b = |s| literal_value("http://www.w3.org/2001/XMLSchema#boolean", s);
        assert_eq!(b("1").unwrap(), MtValue::Bool(true));
        assert_eq!(b("false").unwrap(), MtValue::Bool(false));
        assert!(b("True").is_err());
        let d = literal_value("http://www.w3.org/2001/XMLSchema#double", "123").unwrap();
        assert_eq!(d, MtValue::String("1.23E2".into()));
    }

    #[test]
    fn published_value_vectors() {
        // The values of go-schema-processor's TestHashValues_FromDocument.
        let t = |s| {
            literal_value("http://www.w3.org/2001/XMLSchema#dateTime", s)
                .unwrap()
                .hash()
                .unwrap()
                .to_string()
        };
        assert_eq!(t("2019-01-01T00:00:00Z"), "1546300800000000000");
        assert_eq!(t("1997-04-16"), "861148800000000000");
        assert_eq!(
            t("1960-02-20T11:20:33Z"),
            "21888242871839275222246405745257275088548364400416034343697892928208808495617"
        );
        let d = literal_value("http://www.w3.org/2001/XMLSchema#double", "100000.01").unwrap();
        assert_eq!(
            d.hash().unwrap().to_string(),
            "7858939477831965477428998013961435925262790627337131132863073454519451718017"
        );
        assert_eq!(
            MtValue::Bool(false).hash().unwrap().to_string(),
            "19014214495641488759237505126948346942972912379615652741039992445865937985820"
        );
        assert_eq!(
            MtValue::String("SSI Consultant".into())
                .hash()
                .unwrap()
                .to_string(),
            "957410455271905675920624030785024750144198809104092676617070098470852489834"
        );
    }
}
