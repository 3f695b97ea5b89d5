//! Small charts as server-rendered SVG (no script, no inline style: presentation attributes
//! only, which the CSP allows). Each has a text alternative for screen readers.

use super::html::esc;
use std::fmt::Write;

const W: f64 = 600.0;
const H: f64 = 160.0;
const PAD: f64 = 28.0;

fn frame(label: &str, summary: &str, body: &str, y_max: f64, unit: &str) -> String {
    format!(
        "<figure class=\"chart\"><figcaption>{label}</figcaption>\
         <svg viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" aria-label=\"{summary}\">\
         <line x1=\"{PAD}\" y1=\"{base}\" x2=\"{W}\" y2=\"{base}\" stroke=\"#6b747e\"/>\
         <line x1=\"{PAD}\" y1=\"4\" x2=\"{PAD}\" y2=\"{base}\" stroke=\"#6b747e\"/>\
         <text x=\"2\" y=\"14\" font-size=\"11\" fill=\"#4a525c\">{top}</text>\
         <text x=\"{PAD}\" y=\"{H}\" font-size=\"11\" fill=\"#4a525c\">−60 min</text>\
         <text x=\"{now_x}\" y=\"{H}\" font-size=\"11\" fill=\"#4a525c\">now</text>{body}</svg></figure>",
        label = esc(label),
        summary = esc(summary),
        base = H - 16.0,
        top = esc(&format!("{}{unit}", fmt(y_max))),
        now_x = W - 24.0,
    )
}

fn fmt(v: f64) -> String {
    if v >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// x of a time `t` (unix seconds) in the hour from `since`.
fn x(since: i64, t: i64) -> f64 {
    PAD + (W - PAD - 4.0) * ((t - since) as f64 / 3600.0).clamp(0.0, 1.0)
}

fn y(v: f64, max: f64) -> f64 {
    let base = H - 16.0;
    base - (base - 8.0) * (v / max).clamp(0.0, 1.0)
}

/// Credentials issued per minute over the hour from `since`, as bars.
pub fn issuance(since: i64, per_minute: &[(i64, u64)]) -> String {
    let max = per_minute.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let total: u64 = per_minute.iter().map(|(_, n)| n).sum();
    let bar_w = (W - PAD - 4.0) / 60.0;
    let mut body = String::new();
    for (minute, n) in per_minute {
        let x0 = x(since, minute * 60);
        let top = y(*n as f64, max);
        let _ = write!(
            body,
            "<rect x=\"{x0:.1}\" y=\"{top:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"#0b5cad\"><title>{n}</title></rect>",
            w = (bar_w - 1.0).max(1.0),
            h = (H - 16.0 - top).max(0.0),
        );
    }
    frame(
        "Credentials issued per minute, last hour",
        &format!("{total} credentials issued in the last hour; at most {max} in a minute"),
        &body,
        max,
        "/min",
    )
}

/// Publish lag (computation → confirmation) of each transition confirmed in the hour.
pub fn lags(since: i64, lags: &[(i64, f64)]) -> String {
    let max = lags.iter().map(|(_, l)| *l).fold(1.0_f64, f64::max);
    let mut body = String::new();
    for (t, lag) in lags {
        let _ = write!(
            body,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#116329\"><title>{:.1} s</title></circle>",
            x(since, *t),
            y(*lag, max),
            lag
        );
    }
    let summary = if lags.is_empty() {
        "no transition confirmed in the last hour".to_owned()
    } else {
        let mean = lags.iter().map(|(_, l)| l).sum::<f64>() / lags.len() as f64;
        format!(
            "{} transitions confirmed in the last hour; mean lag {mean:.1} s, longest {max:.1} s",
            lags.len()
        )
    };
    frame(
        "Publish lag per confirmed transition, last hour",
        &summary,
        &body,
        max,
        " s",
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn charts_place_their_marks_and_describe_them() {
        let since = 1_000_000_020;
        let svg = super::issuance(since, &[(since / 60 + 1, 5), (since / 60 + 59, 10)]);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("15 credentials issued in the last hour"));
        let svg = super::lags(since, &[(since + 1800, 2.5)]);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(svg.contains("mean lag 2.5 s"));
        assert!(!svg.contains("style="));
        assert!(super::lags(since, &[]).contains("no transition confirmed"));
    }
}
