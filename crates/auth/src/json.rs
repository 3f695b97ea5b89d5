//! Strict JSON reading for token headers and payloads.
//!
//! `serde_json` silently keeps the last of duplicate object keys; RFC 7515 §5.2 lets a
//! verifier either do that or reject, and we reject (a duplicate `alg` or `partnerId` is the
//! classic way to make two parsers disagree). [`Value`] reads any JSON value, borrowing strings
//! from the input where it can, and fails on a duplicate key at any depth or on an object with
//! more than [`MAX_MEMBERS`] members. Nesting depth is bounded by `serde_json`'s own limit.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Most members one object may have (headers and claim sets are small).
pub(crate) const MAX_MEMBERS: usize = 64;
/// Most elements one array may have.
pub(crate) const MAX_ELEMENTS: usize = 256;

/// Marker text of our own data errors, so the caller can tell them from syntax errors.
pub(crate) const DUPLICATE_KEY: &str = "duplicate key";
pub(crate) const TOO_MANY: &str = "too many members";

/// An object key, borrowed when it has no escapes.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any JSON value, as much as claim checking needs: strings and numbers are kept, objects and
/// arrays are walked (checking nested objects for duplicate keys) and dropped.
#[derive(Debug)]
pub(crate) enum Value<'de> {
    Str(Cow<'de, str>),
    /// An integer that fits `i64`.
    Int(i64),
    /// Any other number (fractional, or an integer beyond `i64`).
    Float(f64),
    Bool,
    Null,
    Object,
    Array,
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

pub(crate) struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value<'de>, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value<'de>, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            // Precision loss is irrelevant: such a value fails every range check.
            #[allow(clippy::cast_precision_loss)]
            Err(_) => Value::Float(v as f64),
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value<'de>, E> {
        Ok(Value::Float(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value<'de>, E> {
        Ok(Value::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut n = 0usize;
        while seq.next_element::<Value<'de>>()?.is_some() {
            n += 1;
            if n > MAX_ELEMENTS {
                return Err(de::Error::custom(TOO_MANY));
            }
        }
        Ok(Value::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let mut seen = KeySet::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            seen.insert::<A::Error>(key.0)?;
            map.next_value::<Value<'de>>()?;
        }
        Ok(Value::Object)
    }
}

/// The keys met so far in one object; rejects a repeat. Allocates only on first insert.
#[derive(Default)]
pub(crate) struct KeySet<'de> {
    keys: Vec<Cow<'de, str>>,
}

impl<'de> KeySet<'de> {
    pub(crate) fn insert<E: de::Error>(&mut self, key: Cow<'de, str>) -> Result<(), E> {
        if self.keys.len() >= MAX_MEMBERS {
            return Err(E::custom(TOO_MANY));
        }
        if self.keys.contains(&key) {
            return Err(E::custom(DUPLICATE_KEY));
        }
        self.keys.push(key);
        Ok(())
    }
}

/// How a strict parse failed, for the partner-facing message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonFailure {
    DuplicateKey,
    TooManyMembers,
    NotAnObject,
    Invalid,
}

pub(crate) fn classify(err: &serde_json::Error) -> JsonFailure {
    if err.is_data() {
        // Only our own custom errors and type mismatches are data errors; to_string on the
        // error path is fine.
        let text = err.to_string();
        if text.starts_with(DUPLICATE_KEY) {
            return JsonFailure::DuplicateKey;
        }
        if text.starts_with(TOO_MANY) {
            return JsonFailure::TooManyMembers;
        }
        return JsonFailure::NotAnObject;
    }
    JsonFailure::Invalid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Value<'_>, JsonFailure> {
        serde_json::from_str::<Value<'_>>(s).map_err(|e| classify(&e))
    }

    #[test]
    fn duplicates_are_found_at_any_depth_and_through_escapes() {
        assert_eq!(
            parse(r#"{"a":1,"a":2}"#).unwrap_err(),
            JsonFailure::DuplicateKey
        );
        assert_eq!(
            parse(r#"{"a":1,"\u0061":2}"#).unwrap_err(),
            JsonFailure::DuplicateKey
        );
        assert_eq!(
            parse(r#"{"x":[{"b":1,"b":1}]}"#).unwrap_err(),
            JsonFailure::DuplicateKey
        );
        assert!(parse(r#"{"a":{"a":{"a":1}},"b":[1,"x",null,true,1.5]}"#).is_ok());
    }

    #[test]
    fn syntax_errors_and_limits() {
        assert_eq!(parse(r#"{"a":1"#).unwrap_err(), JsonFailure::Invalid);
        assert_eq!(parse(r#"{"a":1} x"#).unwrap_err(), JsonFailure::Invalid);
        let many: String = (0..=MAX_MEMBERS)
            .map(|i| format!("\"k{i}\":0"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            parse(&format!("{{{many}}}")).unwrap_err(),
            JsonFailure::TooManyMembers
        );
        let deep = "[".repeat(10_000);
        assert_eq!(parse(&deep).unwrap_err(), JsonFailure::Invalid);
    }
}
