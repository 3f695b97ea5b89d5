//! Rules for the text claimd stores, whatever the backend.
//!
//! PostgreSQL's `text` and `jsonb` cannot hold the NUL character (U+0000) while SQLite can; so
//! that both backends answer a request the same way, NUL is refused wherever text enters.

/// Free text `field` as claimd stores it: no NUL character.
pub fn check_storable(field: &str, text: &str) -> Result<(), crate::DomainError> {
    if text.contains('\0') {
        return Err(crate::DomainError::invalid(
            field,
            "must not contain the NUL character (U+0000)",
        ));
    }
    Ok(())
}

/// A JSON value as claimd stores it (e.g. an inline JWKS): no NUL character in any string or
/// key.
pub fn check_storable_json(
    field: &str,
    value: &serde_json::Value,
) -> Result<(), crate::DomainError> {
    if json_has_nul(value.to_string().as_bytes()) {
        return Err(crate::DomainError::invalid(
            field,
            "must not contain the NUL character (U+0000)",
        ));
    }
    Ok(())
}

/// Whether a JSON document holds a NUL character in a string or a key: the escape `\u0000`
/// (a raw NUL byte is not valid JSON inside a string, and JSON has no other way to write it).
/// An escaped backslash followed by `u0000` is text, not the escape: what counts is whether
/// the run of backslashes before the `u` is odd.
pub fn json_has_nul(json: &[u8]) -> bool {
    let needle = b"u0000";
    let mut i = 0;
    while let Some(at) = json[i..]
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
    {
        let u = i + at;
        let backslashes = json[..u].iter().rev().take_while(|&&b| b == b'\\').count();
        if backslashes % 2 == 1 {
            return true;
        }
        i = u + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::json_has_nul;

    #[test]
    fn finds_the_escape_and_only_the_escape() {
        assert!(json_has_nul(br#"{"a":"x\u0000y"}"#));
        assert!(json_has_nul(br#"{"\u0000":1}"#));
        assert!(
            json_has_nul(br#"["\\\u0000"]"#),
            "an escaped backslash, then the escape"
        );
        assert!(
            !json_has_nul(br#"{"a":"\\u0000"}"#),
            "a backslash and the text u0000"
        );
        assert!(!json_has_nul(br#"{"a":"u0000","b":"\u0001"}"#));
        assert!(!json_has_nul(b""));
        // Each string really decodes the way the function says.
        for (text, nul) in [
            (r#""\u0000""#, true),
            (r#""\\u0000""#, false),
            (r#""\\\u0000""#, true),
        ] {
            let s: String = serde_json::from_str(text).unwrap();
            assert_eq!(s.contains('\0'), nul, "{text}");
            assert_eq!(json_has_nul(text.as_bytes()), nul, "{text}");
        }
    }
}
