//! Rules for the text claimd stores, whatever the backend.
//!
//! PostgreSQL's `text` and `jsonb` cannot hold the NUL character (U+0000) while SQLite can; so
//! that both backends answer a request the same way, NUL is refused wherever text enters a
//! column that cannot hold it.

use crate::DomainError;
use serde_json::Value;

fn nul(field: &str) -> DomainError {
    DomainError::invalid(field, "must not contain the NUL character (U+0000)")
}

/// Free text `field` as claimd stores it: no NUL character.
pub fn check_storable(field: &str, text: &str) -> Result<(), DomainError> {
    if text.contains('\0') {
        return Err(nul(field));
    }
    Ok(())
}

/// A JSON value as claimd stores it (an inline JWKS, a bulk row's subject): no NUL character
/// in any string or key.
pub fn check_storable_json(field: &str, value: &Value) -> Result<(), DomainError> {
    if has_nul(value) {
        return Err(nul(field));
    }
    Ok(())
}

fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(members) => members.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_anywhere_in_a_value_is_refused() {
        assert!(check_storable_json("x", &json!({"a": ["b", {"c": "d\u{0}"}]})).is_err());
        assert!(check_storable_json("x", &json!({"\u{0}": 1})).is_err());
        assert!(check_storable_json("x", &json!({"a": "\\u0000", "b": [1, null, true]})).is_ok());
        assert!(check_storable("x", "a\u{0}b").is_err());
        assert!(check_storable("x", "a\u{1}b").is_ok());
    }
}
