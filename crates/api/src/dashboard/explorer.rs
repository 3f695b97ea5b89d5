//! Links to a block explorer for transaction hashes (`chain_explorer_tx_url`, optional): a
//! template such as `https://explorer.example/tx/{txHash}`, checked once at start.

use super::html::{attr, enc, esc};

/// Where the hash goes in the template.
pub const PLACEHOLDER: &str = "{txHash}";

/// A checked explorer URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxExplorer {
    template: String,
}

impl TxExplorer {
    /// The template, if it is an absolute http(s) URL with a host that contains
    /// [`PLACEHOLDER`]; otherwise why not.
    pub fn parse(raw: &str) -> Result<TxExplorer, String> {
        let template = raw.trim();
        if !template.contains(PLACEHOLDER) {
            return Err(format!(
                "must contain {PLACEHOLDER} where the transaction hash goes (got {template:?})"
            ));
        }
        // The URL a real hash would make must parse as http(s) with a host.
        let sample = template.replace(PLACEHOLDER, "0x00");
        let parsed = url::Url::parse(&sample)
            .map_err(|e| format!("must be an absolute URL ({e}; got {template:?})"))?;
        if !matches!(parsed.scheme(), "http" | "https") || !sample.starts_with(parsed.scheme()) {
            return Err(format!(
                "must be an http:// or https:// URL (got {template:?})"
            ));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(format!("must name a host (got {template:?})"));
        }
        if template
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!("must not contain spaces (got {template:?})"));
        }
        Ok(TxExplorer {
            template: template.to_owned(),
        })
    }

    /// The explorer's URL of transaction `tx` (percent-encoded into the template).
    pub fn url(&self, tx: &str) -> String {
        self.template.replace(PLACEHOLDER, &enc(tx))
    }
}

/// A transaction hash as markup: a link to the explorer when one is configured (opened
/// without an opener or a referrer), else the hash as code.
pub fn tx(explorer: Option<&TxExplorer>, hash: &str) -> String {
    match explorer {
        Some(e) => format!(
            "<a class=\"tx\" href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\"><code>{}</code></a>",
            attr(&e.url(hash)),
            esc(hash)
        ),
        None => format!("<code>{}</code>", esc(hash)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_checked() {
        let ok = TxExplorer::parse(" https://explorer.example/tx/{txHash} ").unwrap();
        assert_eq!(ok.url("0xab\"<"), "https://explorer.example/tx/0xab%22%3C");
        assert!(TxExplorer::parse("http://localhost:8545/tx/{txHash}?x=1").is_ok());
        for bad in [
            "https://explorer.example/tx/",
            "ftp://explorer.example/{txHash}",
            "javascript:alert(1)//{txHash}",
            "/tx/{txHash}",
            "explorer.example/tx/{txHash}",
            "https://explorer.example/tx/{txHash} x",
        ] {
            assert!(TxExplorer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hashes_are_links_only_with_an_explorer() {
        let e = TxExplorer::parse("https://explorer.example/tx/{txHash}").unwrap();
        assert_eq!(
            tx(Some(&e), "0xfeed"),
            "<a class=\"tx\" href=\"https://explorer.example/tx/0xfeed\" rel=\"noopener noreferrer\" \
             target=\"_blank\"><code>0xfeed</code></a>"
        );
        assert_eq!(tx(None, "0xfeed"), "<code>0xfeed</code>");
    }
}
