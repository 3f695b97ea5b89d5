//! Parsing a JWKS (RFC 7517) into verification keys that are parsed once and cached.

use std::fmt;

use aws_lc_rs::signature::{
    ParsedPublicKey, RsaPublicKeyComponents, ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;

use crate::token::Algorithm;

/// Most keys kept from one JWKS.
pub(crate) const MAX_KEYS: usize = 64;

/// One usable verification key of a partner.
pub(crate) struct CachedKey {
    pub kid: Box<str>,
    pub alg: Algorithm,
    key: ParsedPublicKey,
}

impl CachedKey {
    /// Verifies `signature` over `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }
}

impl fmt::Debug for CachedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The usable keys of one partner.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    keys: Vec<CachedKey>,
}

/// The result of looking a `kid` up for an `alg`.
pub(crate) enum Lookup<'a> {
    Found(&'a CachedKey),
    /// A key with this kid exists, but for the other algorithm.
    WrongType(Algorithm),
    Missing,
}

impl KeySet {
    pub(crate) fn find(&self, kid: &str, alg: Algorithm) -> Lookup<'_> {
        let mut other = None;
        for k in &self.keys {
            if &*k.kid == kid {
                if k.alg == alg {
                    return Lookup::Found(k);
                }
                other = Some(k.alg);
            }
        }
        match other {
            Some(a) => Lookup::WrongType(a),
            None => Lookup::Missing,
        }
    }

    pub(crate) fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| &*k.kid == kid)
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The kids held, for diagnostics.
    pub(crate) fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| &*k.kid)
    }
}

/// Why a whole JWKS document was refused (single unusable keys are skipped, not fatal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwksError {
    NotJson,
    NotAJwks,
    TooManyKeys,
}

impl JwksError {
    pub(crate) fn message(self) -> &'static str {
        match self {
            JwksError::NotJson => "JWKS unavailable: the JWKS is not valid JSON",
            JwksError::NotAJwks => {
                "JWKS unavailable: the document is not a JWKS (an object with a keys array)"
            }
            JwksError::TooManyKeys => "JWKS unavailable: the JWKS has too many keys",
        }
    }
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
    // Private key members: a JWK that carries one is refused outright (a partner who
    // published a private key must rotate, not be silently accepted).
    d: Option<serde_json::Value>,
    p: Option<serde_json::Value>,
    q: Option<serde_json::Value>,
}

/// Parses JWKS bytes (from a fetch).
pub(crate) fn parse_bytes(bytes: &[u8]) -> Result<KeySet, JwksError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| JwksError::NotJson)?;
    parse_value(&value)
}

/// Parses a JWKS JSON value (inline, or fetched). Unusable keys are skipped with a debug log.
pub(crate) fn parse_value(value: &serde_json::Value) -> Result<KeySet, JwksError> {
    let raw = RawJwks::deserialize(value).map_err(|_| JwksError::NotAJwks)?;
    if raw.keys.len() > MAX_KEYS {
        return Err(JwksError::TooManyKeys);
    }
    let mut set = KeySet::default();
    for (index, jwk) in raw.keys.iter().enumerate() {
        match parse_jwk(jwk) {
            Ok(key) => {
                if set
                    .keys
                    .iter()
                    .any(|k| k.kid == key.kid && k.alg == key.alg)
                {
                    tracing::debug!(
                        jwk.index = index,
                        "JWKS: duplicate kid for one key type, first kept"
                    );
                    continue;
                }
                set.keys.push(key);
            }
            Err(reason) => tracing::debug!(jwk.index = index, reason, "JWKS: key skipped"),
        }
    }
    Ok(set)
}

fn parse_jwk(jwk: &serde_json::Value) -> Result<CachedKey, &'static str> {
    let raw = RawJwk::deserialize(jwk).map_err(|_| "not a JWK object")?;
    if raw.d.is_some() || raw.p.is_some() || raw.q.is_some() {
        return Err("contains private key material");
    }
    let kid = match raw.kid {
        Some(k) if !k.is_empty() && k.len() <= crate::token::MAX_KID => k,
        _ => return Err("no usable kid"),
    };
    if raw.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err("use is not sig");
    }
    if raw
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
    {
        return Err("key_ops lacks verify");
    }
    let (alg, key) = match raw.kty.as_deref() {
        Some("EC") => {
            if raw.crv.as_deref() != Some("P-256") {
                return Err("EC key not on P-256");
            }
            let (Some(x), Some(y)) = (raw.x, raw.y) else {
                return Err("EC key lacks x or y");
            };
            let x = decode_exact(&x, 32).ok_or("EC x is not 32 bytes of base64url")?;
            let y = decode_exact(&y, 32).ok_or("EC y is not 32 bytes of base64url")?;
            let mut point = [0u8; 65];
            point[0] = 4;
            point[1..33].copy_from_slice(&x);
            point[33..].copy_from_slice(&y);
            let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .map_err(|_| "EC point not on the curve")?;
            (Algorithm::Es256, key)
        }
        Some("RSA") => {
            let (Some(n), Some(e)) = (raw.n, raw.e) else {
                return Err("RSA key lacks n or e");
            };
            let n = decode_unsigned(&n).ok_or("RSA n is not base64url")?;
            let e = decode_unsigned(&e).ok_or("RSA e is not base64url")?;
            // 2048..=8192 bits: the top byte of a 2048-bit modulus is non-zero at index 0
            // of 256 bytes.
            if n.len() < 256 || n.len() > 1024 {
                return Err("RSA modulus not between 2048 and 8192 bits");
            }
            if e.is_empty() || e.len() > 4 || e[e.len() - 1] & 1 == 0 {
                return Err("RSA exponent unusable");
            }
            let key = RsaPublicKeyComponents {
                n: &n[..],
                e: &e[..],
            }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .map_err(|_| "RSA key rejected")?;
            (Algorithm::Rs256, key)
        }
        _ => return Err("kty is neither EC nor RSA"),
    };
    if let Some(jwk_alg) = raw.alg.as_deref() {
        if Algorithm::from_jose(jwk_alg) != Some(alg) {
            return Err("JWK alg does not fit its kty");
        }
    }
    Ok(CachedKey {
        kid: kid.into_boxed_str(),
        alg,
        key,
    })
}

fn decode_exact(s: &str, len: usize) -> Option<Vec<u8>> {
    let v = URL_SAFE_NO_PAD.decode(s).ok()?;
    (v.len() == len).then_some(v)
}

/// Decodes a base64url big-endian unsigned integer, dropping leading zero bytes (some JWKS
/// publishers keep the ASN.1 sign byte).
fn decode_unsigned(s: &str) -> Option<Vec<u8>> {
    let v = URL_SAFE_NO_PAD.decode(s).ok()?;
    let first = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    Some(v[first..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refuses_documents_that_are_not_jwks() {
        assert_eq!(parse_bytes(b"<html>").unwrap_err(), JwksError::NotJson);
        assert_eq!(
            parse_bytes(b"{\"keys\":{}}").unwrap_err(),
            JwksError::NotAJwks
        );
        assert_eq!(parse_bytes(b"[]").unwrap_err(), JwksError::NotAJwks);
        let many = json!({"keys": vec![json!({}); MAX_KEYS + 1]});
        assert_eq!(parse_value(&many).unwrap_err(), JwksError::TooManyKeys);
        assert!(parse_bytes(b"{\"keys\":[]}").unwrap().is_empty());
    }

    #[test]
    fn skips_unusable_keys() {
        let set = parse_value(&json!({"keys": [
            {"kty": "oct", "kid": "a", "k": "AAAA"},
            {"kty": "EC", "kid": "b", "crv": "P-384", "x": "AA", "y": "AA"},
            {"kty": "EC", "kid": "c", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "d", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
            "not an object",
        ]}))
        .unwrap();
        assert!(set.is_empty());
    }
}
