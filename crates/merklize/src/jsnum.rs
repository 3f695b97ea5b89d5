//! JavaScript number semantics that leak into merklization.
//!
//! jsonld.js writes JSON numbers into RDF with `Number.prototype.toFixed(0)` (integers) or the
//! "canonical double" `toExponential(15)` form, and the iden3 merklizer re-parses `xsd:double`
//! literals with `parseFloat`. These helpers reproduce those exactly for IEEE doubles.

/// JSON numbers are JS doubles: `types.isDouble` in jsonld.js is
/// `String(v).includes('.') || Math.abs(v) >= 1e21`, i.e. "has a fraction or is huge".
pub fn js_is_double(v: f64) -> bool {
    !v.is_finite() || v.fract() != 0.0 || v.abs() >= 1e21
}

/// `v.toFixed(0)` for an integral double below 1e21 (exact decimal; `-0` prints as `0`).
pub fn js_to_fixed0(v: f64) -> String {
    if v == 0.0 {
        return "0".to_owned();
    }
    format!("{v:.0}")
}

/// `v.toExponential(15).replace(/(\d)0*e\+?/, '$1E')`: jsonld.js's canonical `xsd:double`
/// lexical form and js-jsonld-merklization's `canonicalDouble`.
pub fn js_canonical_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let (digits, exp) = to_exponential_digits(v.abs(), 16);
    let mut out = String::with_capacity(24);
    if v.is_sign_negative() && v != 0.0 {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    out.push('.');
    // Strip trailing zeros of the fraction but keep one digit: "1.850…0" → "1.85",
    // "1.000…0" → "1.0" (the regex keeps the first fraction digit via `(\d)`).
    let frac = digits[1..].trim_end_matches('0');
    if frac.is_empty() {
        out.push('0');
    } else {
        out.push_str(frac);
    }
    out.push('E');
    out.push_str(&exp.to_string());
    out
}

/// The `n` significant digits and decimal exponent of `x ≥ 0` as `Number.prototype.toExponential`
/// picks them: the closest, and on an exact tie the **larger** (Rust's own formatting would
/// round ties to even).
fn to_exponential_digits(x: f64, n: usize) -> (String, i32) {
    if x == 0.0 {
        return ("0".repeat(n), 0);
    }
    // 767 significant digits always hold the exact binary value of a double.
    let exact = format!("{x:.766e}");
    let (mant, exp) = exact.split_once('e').unwrap_or((exact.as_str(), "0"));
    let mut exp: i32 = exp.parse().unwrap_or(0);
    let all: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    let mut head: Vec<u8> = all[..n].to_vec();
    let rest = &all[n..];
    // Round half up on the exact expansion.
    if rest.first().is_some_and(|d| *d >= b'5') {
        let mut i = n;
        loop {
            if i == 0 {
                head.insert(0, b'1');
                head.truncate(n);
                exp += 1;
                break;
            }
            i -= 1;
            if head[i] == b'9' {
                head[i] = b'0';
            } else {
                head[i] += 1;
                break;
            }
        }
    }
    (String::from_utf8(head).unwrap_or_default(), exp)
}

/// JavaScript `parseFloat`: the longest prefix (after leading white space) that is a decimal
/// literal or `Infinity`; `NaN` when there is none.
pub fn js_parse_float(s: &str) -> f64 {
    let t = s.trim_start_matches(is_js_whitespace);
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if t[i..].starts_with("Infinity") {
        return if b.first() == Some(&b'-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut had_digits = i > int_start;
    if i < b.len() && b[i] == b'.' {
        let frac_start = i + 1;
        let mut j = frac_start;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > frac_start || had_digits {
            had_digits = had_digits || j > frac_start;
            i = j;
        }
    }
    if !had_digits {
        return f64::NAN;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start {
            i = j;
        }
    }
    // Rust's parser is correctly rounded, like JS's; it does not accept a bare trailing '.'.
    let lit = t[..i].trim_end_matches('.');
    lit.parse::<f64>().unwrap_or(f64::NAN)
}

/// ECMAScript `WhiteSpace` and `LineTerminator` (what `trim`, `parseFloat` and `BigInt` skip).
pub fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}'
            | '\u{A}'
            | '\u{B}'
            | '\u{C}'
            | '\u{D}'
            | '\u{20}'
            | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_double_matches_js() {
        assert_eq!(js_canonical_double(18.5), "1.85E1");
        assert_eq!(js_canonical_double(123.0), "1.23E2");
        assert_eq!(js_canonical_double(0.0), "0.0E0");
        assert_eq!(js_canonical_double(1e21), "1.0E21");
        assert_eq!(js_canonical_double(-1.5e-7), "-1.5E-7");
        assert_eq!(js_canonical_double(100000.01), "1.0000001E5");
        assert_eq!(js_canonical_double(0.1), "1.0E-1");
        // Exact tie at the 16th digit: JS rounds up, Rust's formatter would round to even.
        assert_eq!(
            js_canonical_double(1234567890123456.5),
            "1.234567890123457E15"
        );
        assert_eq!(js_canonical_double(f64::NAN), "NaN");
    }

    #[test]
    fn parse_float_matches_js() {
        assert_eq!(js_parse_float("1.85E1"), 18.5);
        assert_eq!(js_parse_float("  12abc"), 12.0);
        assert_eq!(js_parse_float("-.5"), -0.5);
        assert_eq!(js_parse_float("5."), 5.0);
        assert_eq!(js_parse_float("1e"), 1.0);
        assert!(js_parse_float("abc").is_nan());
        assert!(js_parse_float(".").is_nan());
        assert_eq!(js_parse_float("-Infinityx"), f64::NEG_INFINITY);
    }

    #[test]
    fn to_fixed0() {
        assert_eq!(js_to_fixed0(-0.0), "0");
        assert_eq!(js_to_fixed0(9007199254740992.0), "9007199254740992");
        assert_eq!(js_to_fixed0(-42.0), "-42");
        assert_eq!(js_to_fixed0(1e20), "100000000000000000000");
    }
}
