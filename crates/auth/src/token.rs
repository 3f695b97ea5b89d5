//! Reading a compact JWS: shape and size checks, base64url, strict header and claims.
//!
//! Everything here works on *unverified* data. The only fields used before the signature is
//! checked are `alg` and `kid` (to choose the key) and `partnerId` (to find the partner's
//! JWKS); no decision other than routing is taken on them until the signature verifies.

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::error::{AuthError, AuthErrorKind};
use crate::json::{self, JsonFailure, Key, KeySet, Value};
use crate::partner_id::PartnerKey;

/// The signature algorithms we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256, signature as the 64-byte `r || s`.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, modulus of 2048 to 8192 bits.
    Rs256,
}

impl Algorithm {
    /// The JOSE name, `"ES256"` or `"RS256"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Rs256 => "RS256",
        }
    }

    pub(crate) fn from_jose(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Algorithm::Es256),
            "RS256" => Some(Algorithm::Rs256),
            _ => None,
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest encoded header accepted (a real one is well under 200 bytes).
pub(crate) const MAX_HEADER_B64: usize = 1024;
/// Longest `kid` accepted.
pub(crate) const MAX_KID: usize = 256;
/// Longest decoded signature: RSA-8192.
pub(crate) const MAX_SIGNATURE: usize = 1024;
/// Longest `scope`, `jti`, `email`, `iss` and `aud` values accepted.
const MAX_SCOPE: usize = 256;
const MAX_EMAIL: usize = 320;
const MAX_JTI: usize = 256;
const MAX_ISS: usize = 512;
const MAX_AUD: usize = 512;
/// Most audiences one `aud` array may list.
const MAX_AUDIENCES: usize = 16;
/// 9999-12-31T23:59:59Z: NumericDates beyond are rejected.
const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// The three segments of a compact JWS, still encoded.
pub(crate) struct Parts<'t> {
    /// `header "." payload`, the bytes the signature covers.
    pub signing_input: &'t [u8],
    pub header: &'t [u8],
    pub payload: &'t [u8],
    pub signature: &'t [u8],
}

pub(crate) fn split(token: &str, max_token_bytes: usize) -> Result<Parts<'_>, AuthError> {
    let bytes = token.as_bytes();
    if bytes.is_empty() {
        return Err(AuthError::malformed("token is empty"));
    }
    if bytes.len() > max_token_bytes {
        return Err(AuthError::malformed("token is too large"));
    }
    let mut dots = memchr_dots(bytes);
    let (Some(d1), Some(d2), None) = (dots.next(), dots.next(), dots.next()) else {
        return Err(AuthError::malformed(
            "token is not a JWT: expected three dot-separated parts",
        ));
    };
    let header = &bytes[..d1];
    let payload = &bytes[d1 + 1..d2];
    let signature = &bytes[d2 + 1..];
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(AuthError::malformed("token has an empty part"));
    }
    if header.len() > MAX_HEADER_B64 {
        return Err(AuthError::malformed("token header is too large"));
    }
    Ok(Parts {
        signing_input: &bytes[..d2],
        header,
        payload,
        signature,
    })
}

fn memchr_dots(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter_map(|(i, b)| (*b == b'.').then_some(i))
}

/// Decodes strict base64url without padding into `buf`, returning the decoded slice.
pub(crate) fn b64_decode<'b>(
    input: &[u8],
    buf: &'b mut [u8],
    what: &'static str,
) -> Result<&'b [u8], AuthError> {
    // decode_slice checks the output fits before writing; the estimate is exact enough
    // because callers size `buf` from the input length.
    match URL_SAFE_NO_PAD.decode_slice(input, buf) {
        Ok(n) => Ok(&buf[..n]),
        Err(_) => Err(AuthError::malformed(what)),
    }
}

pub(crate) fn decoded_len(encoded: usize) -> usize {
    encoded / 4 * 3 + 3
}

/// The protected header, as far as we read it.
#[derive(Debug)]
pub(crate) struct Header<'a> {
    pub alg: Algorithm,
    pub kid: Cow<'a, str>,
}

/// The two JSON parts of a token; each names itself in the messages about it.
#[derive(Clone, Copy)]
enum Part {
    Header,
    Payload,
}

/// Reads one JSON part of a token (through the guards of [`json`]): every way it can be
/// malformed has its message here, once for both parts.
fn read_part<'a, T: Deserialize<'a>>(json_bytes: &'a [u8], part: Part) -> Result<T, AuthError> {
    serde_json::from_slice(json_bytes).map_err(|e| {
        AuthError::malformed(match (part, json::classify(&e)) {
            (Part::Header, JsonFailure::DuplicateKey) => "token header has a duplicate JSON key",
            (Part::Header, JsonFailure::TooManyMembers) => "token header has too many members",
            (Part::Header, JsonFailure::NotAnObject) => "token header is not a JSON object",
            (Part::Header, JsonFailure::Invalid) => "token header is not valid JSON",
            (Part::Payload, JsonFailure::DuplicateKey) => "token payload has a duplicate JSON key",
            (Part::Payload, JsonFailure::TooManyMembers) => "token payload has too many members",
            (Part::Payload, JsonFailure::NotAnObject) => "token payload is not a JSON object",
            (Part::Payload, JsonFailure::Invalid) => "token payload is not valid JSON",
        })
    })
}

pub(crate) fn parse_header(json_bytes: &[u8]) -> Result<Header<'_>, AuthError> {
    let raw: RawHeader<'_> = read_part(json_bytes, Part::Header)?;
    let alg = match raw.alg {
        None => {
            return Err(AuthError::new(
                AuthErrorKind::UnsupportedAlgorithm,
                "token header has no alg",
            ))
        }
        Some(Value::Str(name)) => Algorithm::from_jose(&name).ok_or_else(|| {
            AuthError::new(
                AuthErrorKind::UnsupportedAlgorithm,
                "unsupported alg: only ES256 and RS256 are accepted",
            )
        })?,
        Some(_) => {
            return Err(AuthError::new(
                AuthErrorKind::UnsupportedAlgorithm,
                "unsupported alg: only ES256 and RS256 are accepted",
            ))
        }
    };
    if raw.crit {
        return Err(AuthError::new(
            AuthErrorKind::InvalidHeader,
            "token header has crit, which is not supported",
        ));
    }
    match raw.typ {
        // Media-type names compare case-insensitively, and "JWT" abbreviates
        // "application/JWT" (RFC 7515 §4.1.9).
        Some(Value::Str(t))
            if t.eq_ignore_ascii_case("JWT") || t.eq_ignore_ascii_case("application/jwt") => {}
        None => {
            return Err(AuthError::new(
                AuthErrorKind::InvalidHeader,
                "token header has no typ: it must be JWT",
            ))
        }
        Some(_) => {
            return Err(AuthError::new(
                AuthErrorKind::InvalidHeader,
                "token header typ must be JWT",
            ))
        }
    }
    let kid = match raw.kid {
        None => {
            return Err(AuthError::new(
                AuthErrorKind::MissingKid,
                "token header has no kid",
            ))
        }
        Some(Value::Str(k)) if !k.is_empty() && k.len() <= MAX_KID => k,
        Some(_) => {
            return Err(AuthError::new(
                AuthErrorKind::InvalidHeader,
                "token header kid must be a non-empty string of at most 256 bytes",
            ))
        }
    };
    Ok(Header { alg, kid })
}

#[derive(Default)]
struct RawHeader<'a> {
    alg: Option<Value<'a>>,
    kid: Option<Value<'a>>,
    typ: Option<Value<'a>>,
    crit: bool,
}

impl<'de> Members<'de> for RawHeader<'de> {
    fn member<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        let value = map.next_value::<Value<'de>>()?;
        match key {
            "alg" => self.alg = Some(value),
            "kid" => self.kid = Some(value),
            "typ" => self.typ = Some(value),
            "crit" => self.crit = true,
            // jku, jwk, x5u, x5c … are ignored: keys come only from the
            // partner's registered JWKS.
            _ => {}
        }
        Ok(false)
    }
}

impl<'de> Deserialize<'de> for RawHeader<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_members(d)
    }
}

/// A token's JSON object (header or claims), read member by member.
trait Members<'de>: Default {
    /// Reads the value of the member `key` from `map`. `true`: a member this type keeps and
    /// refuses twice itself; `false`: [`KeySet`] counts it and refuses a repeat.
    fn member<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error>;
}

fn deserialize_members<'de, D: Deserializer<'de>, T: Members<'de>>(d: D) -> Result<T, D::Error> {
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Members<'de>> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
            let mut out = T::default();
            let mut seen = KeySet::default();
            while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                if !out.member(&key, &mut map)? {
                    seen.insert::<A::Error>(key)?;
                }
            }
            Ok(out)
        }
    }
    d.deserialize_map(V(std::marker::PhantomData))
}

/// The claims, checked for presence and type, not yet for time or scope.
#[derive(Debug)]
pub(crate) struct Claims<'a> {
    /// The canonical id as sent (it is its own canonical spelling).
    pub partner_id: Cow<'a, str>,
    /// Its parsed value, the key of everything cached per partner.
    pub partner: PartnerKey,
    pub scope: Cow<'a, str>,
    pub email: Cow<'a, str>,
    pub exp: i64,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
    pub jti: Option<Cow<'a, str>>,
    pub iss: Option<Cow<'a, str>>,
    /// `aud` as a list (a single string is a list of one); empty when absent.
    pub aud: Vec<Cow<'a, str>>,
}

#[derive(Default)]
struct RawClaims<'a> {
    iss: Option<Value<'a>>,
    aud: Option<Audience<'a>>,
    partner_id: Option<Value<'a>>,
    scope: Option<Value<'a>>,
    email: Option<Value<'a>>,
    exp: Option<Value<'a>>,
    nbf: Option<Value<'a>>,
    iat: Option<Value<'a>>,
    jti: Option<Value<'a>>,
}

impl<'de> Members<'de> for RawClaims<'de> {
    fn member<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        if key == "aud" {
            if self.aud.is_some() {
                return Err(de::Error::custom(json::DUPLICATE_KEY));
            }
            self.aud = Some(map.next_value::<Audience<'de>>()?);
            return Ok(true);
        }
        let value = map.next_value::<Value<'de>>()?;
        let slot = match key {
            "iss" => &mut self.iss,
            "partnerId" => &mut self.partner_id,
            "scope" => &mut self.scope,
            "email" => &mut self.email,
            "exp" => &mut self.exp,
            "nbf" => &mut self.nbf,
            "iat" => &mut self.iat,
            "jti" => &mut self.jti,
            _ => return Ok(false),
        };
        if slot.is_some() {
            return Err(de::Error::custom(json::DUPLICATE_KEY));
        }
        *slot = Some(value);
        Ok(true)
    }
}

impl<'de> Deserialize<'de> for RawClaims<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_members(d)
    }
}

/// An optional claim that, when present, must be a string of at most `max` bytes.
fn optional_str<'a>(
    v: Option<Value<'a>>,
    max: usize,
    message: &'static str,
) -> Result<Option<Cow<'a, str>>, AuthError> {
    match v {
        None => Ok(None),
        Some(Value::Str(s)) if s.len() <= max => Ok(Some(s)),
        Some(_) => Err(AuthError::invalid_claim(message)),
    }
}

pub(crate) fn parse_claims(json_bytes: &[u8]) -> Result<Claims<'_>, AuthError> {
    let raw: RawClaims<'_> = read_part(json_bytes, Part::Payload)?;

    let partner_id = required_str(
        raw.partner_id,
        "partnerId",
        "claim partnerId must be a string",
    )?;
    let Some(partner) = PartnerKey::parse_canonical(&partner_id) else {
        return Err(AuthError::new(
            AuthErrorKind::InvalidPartnerId,
            "claim partnerId is not a partner id in canonical form (lower-case hyphenated UUID)",
        ));
    };
    let scope = required_str(raw.scope, "scope", "claim scope must be a string")?;
    if scope.len() > MAX_SCOPE {
        return Err(AuthError::new(
            AuthErrorKind::WrongScope,
            "scope is not accepted",
        ));
    }
    let email = required_str(raw.email, "email", "claim email must be a string")?;
    if email.len() > MAX_EMAIL
        || !email.contains('@')
        || email.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(AuthError::invalid_claim(
            "claim email is not a valid email address",
        ));
    }
    let exp = match raw.exp {
        None => return Err(AuthError::missing_claim("exp")),
        Some(v) => numeric_date(&v, Rounding::Down, "claim exp must be a NumericDate")?,
    };
    let nbf = raw
        .nbf
        .map(|v| numeric_date(&v, Rounding::Up, "claim nbf must be a NumericDate"))
        .transpose()?;
    let iat = raw
        .iat
        .map(|v| numeric_date(&v, Rounding::Up, "claim iat must be a NumericDate"))
        .transpose()?;
    let jti = optional_str(
        raw.jti,
        MAX_JTI,
        "claim jti must be a string of at most 256 bytes",
    )?;
    let iss = optional_str(
        raw.iss,
        MAX_ISS,
        "claim iss must be a string of at most 512 bytes",
    )?;
    let aud = match raw.aud {
        None => Vec::new(),
        Some(Audience::List(list)) => list,
        Some(Audience::Invalid) => {
            return Err(AuthError::invalid_claim(
                "claim aud must be a string or an array of at most 16 strings",
            ))
        }
    };
    Ok(Claims {
        partner_id,
        partner,
        scope,
        email,
        exp,
        nbf,
        iat,
        jti,
        iss,
        aud,
    })
}

/// The `aud` claim: a string or an array of strings (RFC 7519 §4.1.3); anything else, or too
/// many or too long entries, is `Invalid` (refused as an invalid claim, not as bad JSON).
enum Audience<'a> {
    List(Vec<Cow<'a, str>>),
    Invalid,
}

impl<'de> Deserialize<'de> for Audience<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Audience<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Audience<'de>, A::Error> {
                let mut list = Vec::new();
                let mut ok = true;
                while let Some(v) = seq.next_element::<Value<'de>>()? {
                    match v {
                        Value::Str(s) if s.len() <= MAX_AUD && list.len() < MAX_AUDIENCES => {
                            list.push(s);
                        }
                        _ => ok = false,
                    }
                }
                Ok(if ok {
                    Audience::List(list)
                } else {
                    Audience::Invalid
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Audience<'de>, A::Error> {
                // Walked for duplicate keys like any other value, then refused.
                json::ValueVisitor.visit_map(map).map(|_| Audience::Invalid)
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Audience<'de>, E> {
                Ok(one(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience<'de>, E> {
                Ok(one(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Audience<'de>, E> {
                Ok(one(Cow::Owned(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Audience<'de>, E> {
                Ok(Audience::Invalid)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Audience<'de>, E> {
                Ok(Audience::Invalid)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Audience<'de>, E> {
                Ok(Audience::Invalid)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Audience<'de>, E> {
                Ok(Audience::Invalid)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Audience<'de>, E> {
                Ok(Audience::Invalid)
            }
        }
        fn one(s: Cow<'_, str>) -> Audience<'_> {
            if s.len() <= MAX_AUD {
                Audience::List(vec![s])
            } else {
                Audience::Invalid
            }
        }
        d.deserialize_any(V)
    }
}

fn required_str<'a>(
    v: Option<Value<'a>>,
    name: &'static str,
    wrong_type: &'static str,
) -> Result<Cow<'a, str>, AuthError> {
    match v {
        None | Some(Value::Null) => Err(AuthError::missing_claim(name)),
        Some(Value::Str(s)) => Ok(s),
        Some(_) => Err(AuthError::invalid_claim(wrong_type)),
    }
}

#[derive(Clone, Copy)]
enum Rounding {
    /// For `exp`: a fractional expiry is rounded towards the past.
    Down,
    /// For `nbf`/`iat`: rounded towards the future.
    Up,
}

fn numeric_date(v: &Value<'_>, rounding: Rounding, msg: &'static str) -> Result<i64, AuthError> {
    let secs = match *v {
        Value::Int(i) => i,
        Value::Float(f) if f.is_finite() => {
            let r = match rounding {
                Rounding::Down => f.floor(),
                Rounding::Up => f.ceil(),
            };
            // Range-checked just below; out-of-range floats saturate, which also fails it.
            #[allow(clippy::cast_possible_truncation)]
            let i = r as i64;
            i
        }
        _ => return Err(AuthError::invalid_claim(msg)),
    };
    if !(0..=MAX_NUMERIC_DATE).contains(&secs) {
        return Err(AuthError::invalid_claim(msg));
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_checks_shape() {
        assert!(split("a.b.c", 100).is_ok());
        for bad in [
            "", "abc", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b.", "..", "....",
        ] {
            let e = split(bad, 100).err().unwrap();
            assert_eq!(e.kind(), AuthErrorKind::MalformedToken, "{bad:?}");
        }
        assert!(split(&"a".repeat(101), 100).is_err());
        let big_header = format!("{}.b.c", "a".repeat(MAX_HEADER_B64 + 1));
        assert!(split(&big_header, 10_000).is_err());
    }

    #[test]
    fn base64_is_strict() {
        let mut buf = [0u8; 16];
        assert_eq!(b64_decode(b"YWJj", &mut buf, "x").unwrap(), b"abc");
        for bad in [&b"YWJj="[..], b"YW Jj", b"YW+j", b"YW/j", b"Y", b"YWJ\xff"] {
            assert!(b64_decode(bad, &mut buf, "x").is_err(), "{bad:?}");
        }
        // Non-canonical trailing bits.
        assert!(b64_decode(b"YWK", &mut buf, "x").is_err());
    }

    #[test]
    fn header_rules() {
        let ok = parse_header(br#"{"alg":"ES256","kid":"k","typ":"JWT"}"#).unwrap();
        assert_eq!(ok.alg, Algorithm::Es256);
        assert_eq!(ok.kid, "k");
        assert!(parse_header(br#"{"alg":"RS256","kid":"k","typ":"jwt","x5u":"http://x"}"#).is_ok());
        assert!(parse_header(br#"{"alg":"RS256","kid":"k","typ":"application/JWT"}"#).is_ok());
        let kind = |s: &str| parse_header(s.as_bytes()).unwrap_err().kind();
        assert_eq!(
            kind(r#"{"alg":"none","kid":"k","typ":"JWT"}"#),
            AuthErrorKind::UnsupportedAlgorithm
        );
        assert_eq!(
            kind(r#"{"alg":"HS256","kid":"k","typ":"JWT"}"#),
            AuthErrorKind::UnsupportedAlgorithm
        );
        assert_eq!(
            kind(r#"{"alg":"es256","kid":"k","typ":"JWT"}"#),
            AuthErrorKind::UnsupportedAlgorithm
        );
        assert_eq!(
            kind(r#"{"kid":"k","typ":"JWT"}"#),
            AuthErrorKind::UnsupportedAlgorithm
        );
        assert_eq!(
            kind(r#"{"alg":"ES256","typ":"JWT"}"#),
            AuthErrorKind::MissingKid
        );
        assert_eq!(
            kind(r#"{"alg":"ES256","kid":"","typ":"JWT"}"#),
            AuthErrorKind::InvalidHeader
        );
        assert_eq!(
            kind(r#"{"alg":"ES256","kid":7,"typ":"JWT"}"#),
            AuthErrorKind::InvalidHeader
        );
        assert_eq!(
            kind(r#"{"alg":"ES256","kid":"k"}"#),
            AuthErrorKind::InvalidHeader
        );
        assert_eq!(
            kind(r#"{"alg":"ES256","kid":"k","typ":"at+jwt"}"#),
            AuthErrorKind::InvalidHeader
        );
        assert_eq!(
            kind(r#"{"alg":"ES256","kid":"k","typ":"JWT","crit":["exp"]}"#),
            AuthErrorKind::InvalidHeader
        );
        assert_eq!(
            kind(r#"{"alg":"ES256","kid":"k","typ":"JWT","alg":"none"}"#),
            AuthErrorKind::MalformedToken
        );
        assert_eq!(kind(r#"["ES256"]"#), AuthErrorKind::MalformedToken);
        assert_eq!(kind("null"), AuthErrorKind::MalformedToken);
    }

    #[test]
    fn claims_rules() {
        let c = parse_claims(
            br#"{"partnerId":"0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b","scope":"issue","email":"a@b.c","exp":10.9,"iat":1.1,"aud":["x"]}"#,
        )
        .unwrap();
        assert_eq!((c.exp, c.iat, c.nbf), (10, Some(2), None));
        assert_eq!(c.aud, ["x"]);
        assert_eq!(c.partner.to_string(), c.partner_id);
        let err = |s: &str| parse_claims(s.as_bytes()).unwrap_err();
        let e = err(r#"{"scope":"issue","email":"a@b.c","exp":1}"#);
        assert_eq!(
            (e.kind(), e.message()),
            (AuthErrorKind::MissingClaim, "missing claim: partnerId")
        );
        let e =
            err(r#"{"partnerId":"0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b","email":"a@b.c","exp":1}"#);
        assert_eq!(e.message(), "missing claim: scope");
        let e =
            err(r#"{"partnerId":"0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b","scope":"issue","exp":1}"#);
        assert_eq!(e.message(), "missing claim: email");
        let e = err(
            r#"{"partnerId":"0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b","scope":"issue","email":"a@b.c"}"#,
        );
        assert_eq!(e.message(), "missing claim: exp");
        let e = err(
            r#"{"partnerId":"0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b","scope":"issue","email":"a@b.c","exp":"1"}"#,
        );
        assert_eq!(e.kind(), AuthErrorKind::InvalidClaim);
        let e = err(
            r#"{"partnerId":"0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b","scope":"issue","email":"a@b.c","exp":-1}"#,
        );
        assert_eq!(e.kind(), AuthErrorKind::InvalidClaim);
        let e = err(
            r#"{"partnerId":"0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b","scope":"issue","email":"a@b.c","exp":1e300}"#,
        );
        assert_eq!(e.kind(), AuthErrorKind::InvalidClaim);
        let e = err(
            r#"{"partnerId":"0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b","scope":"issue","email":"nope","exp":1}"#,
        );
        assert_eq!(e.kind(), AuthErrorKind::InvalidClaim);
        let e = err(r#"{"partnerId":["p"],"scope":"issue","email":"a@b.c","exp":1}"#);
        assert_eq!(e.kind(), AuthErrorKind::InvalidClaim);
        let e = err(
            r#"{"partnerId":"0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b","partnerId":"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a","scope":"issue","email":"a@b.c","exp":1}"#,
        );
        assert_eq!(e.kind(), AuthErrorKind::MalformedToken);
        let e = err(
            r#"{"partnerId":"0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b","scope":"issue","email":"a@b.c","exp":1,"x":1,"x":2}"#,
        );
        assert_eq!(e.kind(), AuthErrorKind::MalformedToken);
    }

    #[test]
    fn partner_id_must_be_canonical_and_aud_iss_are_read() {
        const OK: &str = "0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b";
        let claims = |extra: &str, id: &str| {
            format!(r#"{{"partnerId":"{id}","scope":"issue","email":"a@b.c","exp":1{extra}}}"#)
        };
        for id in [
            "0B6D8F0E-3C1A-4F5E-9A7B-1C2D3E4F5A6B",
            "0b6d8f0e3c1a4f5e9a7b1c2d3e4f5a6b",
            "partner-1",
        ] {
            let e = parse_claims(claims("", id).as_bytes()).unwrap_err();
            assert_eq!(e.kind(), AuthErrorKind::InvalidPartnerId, "{id}");
        }
        let text = claims(r#","aud":"a","iss":"i""#, OK);
        let c = parse_claims(text.as_bytes()).unwrap();
        assert_eq!(
            (c.aud, c.iss.as_deref()),
            (vec![Cow::Borrowed("a")], Some("i"))
        );
        let text = claims("", OK);
        let c = parse_claims(text.as_bytes()).unwrap();
        assert!(c.aud.is_empty() && c.iss.is_none());
        for bad in [
            r#","aud":1"#,
            r#","aud":[1]"#,
            r#","aud":{"a":1}"#,
            r#","iss":["i"]"#,
        ] {
            let e = parse_claims(claims(bad, OK).as_bytes()).unwrap_err();
            assert_eq!(e.kind(), AuthErrorKind::InvalidClaim, "{bad}");
        }
        let many = format!(r#","aud":[{}]"#, vec![r#""a""#; 17].join(","));
        assert!(parse_claims(claims(&many, OK).as_bytes()).is_err());
        let dup = parse_claims(claims(r#","aud":"a","aud":"b""#, OK).as_bytes()).unwrap_err();
        assert_eq!(dup.kind(), AuthErrorKind::MalformedToken);
    }
}
