//! Partner ids: one accepted spelling, one key.
//!
//! The service's partner ids are UUIDs. A UUID parser would also read `0B6D…`, `{…}`,
//! `urn:uuid:…` or the unhyphenated form as the same id, so a token could spell one partner in
//! millions of ways; keyed by the raw text, each spelling would get its own cache entry and its
//! own JWKS fetches. Only the canonical form (lower-case hex, hyphenated 8-4-4-4-12, as the
//! service prints ids) is accepted, and everything is keyed by its 128-bit value.

use std::fmt;

/// The value of a canonical partner id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PartnerKey(u128);

impl PartnerKey {
    /// Parses the canonical form only; `None` for any other spelling.
    pub(crate) fn parse_canonical(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 36 {
            return None;
        }
        let mut v: u128 = 0;
        for (i, &c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return None;
                }
                continue;
            }
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => return None,
            };
            v = (v << 4) | u128::from(d);
        }
        Some(PartnerKey(v))
    }
}

impl fmt::Display for PartnerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = format!("{:032x}", self.0);
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b";

    #[test]
    fn only_the_canonical_spelling_parses_and_it_round_trips() {
        let k = PartnerKey::parse_canonical(ID).unwrap();
        assert_eq!(k.to_string(), ID);
        for other in [
            "0B6D8F0E-3C1A-4F5E-9A7B-1C2D3E4F5A6B",
            "0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6B",
            "0b6d8f0e3c1a4f5e9a7b1c2d3e4f5a6b",
            "{0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b}",
            "urn:uuid:0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b",
            "0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6g",
            "0b6d8f0e-3c1a-4f5e-9a7b+1c2d3e4f5a6b",
            " 0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6",
            "",
        ] {
            assert!(PartnerKey::parse_canonical(other).is_none(), "{other}");
        }
        let zero = "00000000-0000-0000-0000-000000000000";
        assert_eq!(PartnerKey::parse_canonical(zero).unwrap().to_string(), zero);
    }
}
