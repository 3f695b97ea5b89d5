//! `xsd:dateTime` → Unix nanoseconds, as js-jsonld-merklization does it.
//!
//! The JS code first requires `Date.parse(s)` to succeed, then uses
//! `Temporal.Instant.from(s)` (or, for a bare `YYYY-MM-DD`, UTC midnight of that day). An
//! `Instant` needs an explicit offset, so a date-time without `Z`/`±HH:MM` is an error there.
//!
//! Accepted here, the RFC 3339 profile both JS parsers agree on:
//! `YYYY-MM-DD` (day 1–31, rolling over like `Date`) or
//! `YYYY-MM-DD(T|t| )HH:MM[:SS[.fraction]](Z|z|±HH:MM|±HHMM)` with 1–9 fraction digits and a
//! valid calendar date (checked against node 20: `Date.parse` + `Temporal.Instant.from`).
//! Rarer forms both JS parsers happen to accept (extended `±YYYYYY` years) are rejected.

/// Nanoseconds since 1970-01-01T00:00:00Z, or `None` if the lexical form is not accepted.
pub fn parse_epoch_nanos(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let (y, m, d, rest) = parse_date(b)?;
    if rest.is_empty() {
        // `new Date("YYYY-MM-DD")`: V8 takes any day 1..=31 and rolls over (Feb 30 → Mar 2).
        return Some(i128::from(days_from_civil(y, m, d)) * 86_400 * 1_000_000_000);
    }
    // Temporal (which decides the value of a date-time) wants a real calendar day.
    if d > days_in_month(y, m) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    let rest = match rest.split_first() {
        Some((b'T' | b't' | b' ', tail)) => tail,
        _ => return None,
    };
    let hh = two_digits(rest, 0)?;
    if rest.get(2) != Some(&b':') {
        return None;
    }
    let mm = two_digits(rest, 3)?;
    let mut i = 5;
    let mut ss = 0;
    let mut nanos: i64 = 0;
    if rest.get(i) == Some(&b':') {
        ss = two_digits(rest, i + 1)?;
        i += 3;
        if rest.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < rest.len() && rest[i].is_ascii_digit() {
                i += 1;
            }
            let n = i - start;
            if n == 0 || n > 9 {
                return None;
            }
            let frac: i64 = std::str::from_utf8(&rest[start..i]).ok()?.parse().ok()?;
            nanos = frac * 10i64.pow(9 - n as u32);
        }
    }
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let offset_secs: i64 = match &rest[i..] {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), tail @ ..]
            if (tail.len() == 5 && tail[2] == b':') || tail.len() == 4 =>
        {
            let oh = two_digits(tail, 0)?;
            let om = two_digits(tail, tail.len() - 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = i64::from(oh) * 3600 + i64::from(om) * 60;
            if *sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let secs =
        days * 86_400 + i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss) - offset_secs;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(nanos))
}

fn two_digits(b: &[u8], at: usize) -> Option<u32> {
    let d0 = *b.get(at)?;
    let d1 = *b.get(at + 1)?;
    if !d0.is_ascii_digit() || !d1.is_ascii_digit() {
        return None;
    }
    Some(u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'))
}

/// Parses `YYYY-MM-DD` at the start (day 1..=31); returns year, month, day and the rest.
fn parse_date(b: &[u8]) -> Option<(i64, u32, u32, &[u8])> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i64::from(two_digits(b, 0)? * 100 + two_digits(b, 2)?);
    let month = two_digits(b, 5)?;
    let day = two_digits(b, 8)?;
    if !(1..=12).contains(&month) || day == 0 || day > 31 {
        return None;
    }
    Some((year, month, day, &b[10..]))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_epoch_nanos as p;

    #[test]
    fn accepted_forms() {
        for (s, nanos) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2019-01-01T00:00:00Z", 1_546_300_800_000_000_000),
            ("1997-04-16", 861_148_800_000_000_000),
            ("2030-01-01T00:00:00.000Z", 1_893_456_000_000_000_000),
            ("1970-01-01T01:00+01:00", 0),
            ("1970-01-01T00:00:00.123456789Z", 123_456_789),
            ("1969-12-31T23:59:59.5Z", -500_000_000),
            ("2024-02-29", 1_709_164_800_000_000_000),
            // Checked against node 20 (see the module doc).
            ("2021-02-30", 1_614_643_200_000_000_000),
            ("2026-11-25 22:27:25z", 1_795_645_645_000_000_000),
            ("2026-11-25t22:27:25+0100", 1_795_642_045_000_000_000),
        ] {
            assert_eq!(p(s), Some(nanos), "{s}");
        }
    }

    #[test]
    fn rejected_forms() {
        for s in [
            "2023-02-29T00:00:00Z",
            "2021-02-32",
            "2020-01-01T00:00:00",
            "2020-01-01T00:00:00+01",
            "2020-13-01",
            "2020-01-01T24:00:00Z",
            "2020-01-01T00:00:60Z",
            "2020-01-01T00:00:00.Z",
            "2020-01-01T00:00:00.1234567890Z",
            "2020-1-01",
            "",
            "x",
        ] {
            assert_eq!(p(s), None, "{s}");
        }
    }
}
