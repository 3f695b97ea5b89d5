//! HTML building for the dashboard. Pages are plain strings assembled here; the one rule is
//! that every value that did not come from this crate's source goes through [`esc`] (or
//! [`attr`], the same function) before it is put in markup, and through [`enc`] before it is
//! put in a URL.

use std::fmt::Write;

/// `s` as HTML text or attribute content: `& < > " '` become character references.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The same escaping, named for attribute values (`value="{attr(x)}"`).
pub fn attr(s: &str) -> String {
    esc(s)
}

/// `s` as one URL path segment or query value: everything but unreserved characters is
/// percent-encoded.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// What a page says about the last action: an error from the operator API in words, or
/// what was done.
pub enum Notice {
    Error(String),
    Done(String),
}

impl Notice {
    fn render(&self) -> String {
        match self {
            Notice::Error(m) => format!(
                "<div class=\"notice error\" role=\"alert\"><strong>Refused:</strong> {}</div>",
                esc(m)
            ),
            Notice::Done(m) => format!(
                "<div class=\"notice done\" role=\"status\">{}</div>",
                esc(m)
            ),
        }
    }
}

/// A whole signed-in page: header with navigation and sign-out, the notice, the body
/// (already markup). `active` is the navigation entry to mark.
pub fn page(title: &str, active: &str, csrf: &str, notice: Option<&Notice>, body: &str) -> String {
    let mut nav = String::new();
    for (path, label) in super::NAV {
        let current = if *path == active {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            nav,
            "<li><a href=\"/dashboard/{path}\"{current}>{label}</a></li>"
        );
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · claimd</title>\
         <link rel=\"stylesheet\" href=\"/dashboard/assets/dashboard.css\">\
         <script src=\"/dashboard/assets/dashboard.js\" defer></script></head>\
         <body><a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header><span class=\"brand\">claimd</span><nav aria-label=\"Main\"><ul>{nav}</ul></nav>\
         <form method=\"post\" action=\"/dashboard/logout\" class=\"signout\">{csrf_field}\
         <button type=\"submit\">Sign out</button></form></header>\
         <main id=\"main\"><h1>{title}</h1>{notice}{body}</main></body></html>",
        title = esc(title),
        csrf_field = csrf_field(csrf),
        notice = notice.map(Notice::render).unwrap_or_default(),
    )
}

/// A page outside the session (sign-in, refusals): no navigation.
pub fn bare(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · claimd</title>\
         <link rel=\"stylesheet\" href=\"/dashboard/assets/dashboard.css\"></head>\
         <body><main id=\"main\" class=\"narrow\"><h1>{title}</h1>{body}</main></body></html>",
        title = esc(title),
    )
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"_csrf\" value=\"{}\">",
        attr(token)
    )
}

/// A labelled text input. `kind` is the input type (`text`, `url`, `number`, …).
pub fn input(name: &str, label: &str, kind: &str, value: &str, extra: &str) -> String {
    format!(
        "<p class=\"field\"><label for=\"f-{name}\">{label}</label>\
         <input id=\"f-{name}\" name=\"{name}\" type=\"{kind}\" value=\"{value}\" {extra}></p>",
        name = attr(name),
        label = esc(label),
        kind = attr(kind),
        value = attr(value),
    )
}

/// A labelled textarea.
pub fn textarea(name: &str, label: &str, value: &str, hint: &str) -> String {
    format!(
        "<p class=\"field\"><label for=\"f-{name}\">{label}</label>\
         <textarea id=\"f-{name}\" name=\"{name}\" rows=\"5\" aria-describedby=\"h-{name}\">{value}</textarea>\
         <small id=\"h-{name}\">{hint}</small></p>",
        name = attr(name),
        label = esc(label),
        value = esc(value),
        hint = esc(hint),
    )
}

/// A labelled checkbox.
pub fn checkbox(name: &str, value: &str, label: &str, checked: bool) -> String {
    let id = format!("f-{name}-{value}");
    format!(
        "<p class=\"check\"><input type=\"checkbox\" id=\"{id}\" name=\"{name}\" value=\"{value}\"{c}>\
         <label for=\"{id}\">{label}</label></p>",
        id = attr(&id),
        name = attr(name),
        value = attr(value),
        label = esc(label),
        c = if checked { " checked" } else { "" },
    )
}

/// A labelled select of `(value, text)` options.
pub fn select(name: &str, label: &str, options: &[(String, String)], selected: &str) -> String {
    let mut opts = String::new();
    for (v, t) in options {
        let s = if v == selected { " selected" } else { "" };
        let _ = write!(opts, "<option value=\"{}\"{s}>{}</option>", attr(v), esc(t));
    }
    format!(
        "<p class=\"field\"><label for=\"f-{name}\">{label}</label>\
         <select id=\"f-{name}\" name=\"{name}\">{opts}</select></p>",
        name = attr(name),
        label = esc(label),
    )
}

/// A table with a caption; `rows` cells are markup (escape what goes in them).
pub fn table(caption: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return format!("<p class=\"empty\">{}: none yet.</p>", esc(caption));
    }
    let mut out = format!(
        "<div class=\"scroll\"><table><caption>{}</caption><thead><tr>",
        esc(caption)
    );
    for h in headers {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// "Page n of m" with previous/next links; `base` is the path and query without `page`
/// (it ends with `?` or `&`).
pub fn pager(base: &str, page: u64, limit: u64, total: u64) -> String {
    let pages = total.div_ceil(limit.max(1)).max(1);
    let mut out = format!(
        "<nav class=\"pager\" aria-label=\"Pages\"><span>Page {page} of {pages} ({total} in all)</span>"
    );
    if page > 1 {
        let _ = write!(
            out,
            " <a href=\"{}page={}\" rel=\"prev\">Previous</a>",
            attr(base),
            page - 1
        );
    }
    if page < pages {
        let _ = write!(
            out,
            " <a href=\"{}page={}\" rel=\"next\">Next</a>",
            attr(base),
            page + 1
        );
    }
    out.push_str("</nav>");
    out
}

/// A `<dl>` of label → markup pairs.
pub fn facts(items: &[(&str, String)]) -> String {
    let mut out = String::from("<dl class=\"facts\">");
    for (k, v) in items {
        let _ = write!(out, "<dt>{}</dt><dd>{v}</dd>", esc(k));
    }
    out.push_str("</dl>");
    out
}

/// `v` as pretty-printed JSON in a `<pre>`.
pub fn json_block(label: &str, v: &serde_json::Value) -> String {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    format!(
        "<figure><figcaption>{}</figcaption><pre tabindex=\"0\">{}</pre></figure>",
        esc(label),
        esc(&text)
    )
}

/// Text in `<code>`.
pub fn code(s: &str) -> String {
    format!("<code>{}</code>", esc(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_attribute_delimiters() {
        assert_eq!(
            esc("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(enc("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn values_in_fields_and_tables_are_escaped() {
        let evil = "\"><script>alert(1)</script>";
        for html in [
            input("name", "Name", "text", evil, ""),
            textarea("jwks", "JWKS", evil, evil),
            select("p", "P", &[(evil.into(), evil.into())], evil),
            table("t", &["h"], &[vec![esc(evil)]]),
            code(evil),
        ] {
            assert!(!html.contains("<script>"), "{html}");
        }
    }
}
