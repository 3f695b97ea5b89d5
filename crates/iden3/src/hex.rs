//! Minimal lowercase hex encoding/decoding (no allocation on decode).

/// A string was not valid hex of the expected length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HexError;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

fn nibble(c: u8) -> Result<u8, HexError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(HexError),
    }
}

/// Decodes `s` (either case, no prefix) into `out`; `s` must be exactly `2 * out.len()` digits.
pub(crate) fn decode_into(s: &str, out: &mut [u8]) -> Result<(), HexError> {
    let b = s.as_bytes();
    if b.len() != out.len() * 2 {
        return Err(HexError);
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = (nibble(b[2 * i])? << 4) | nibble(b[2 * i + 1])?;
    }
    Ok(())
}
