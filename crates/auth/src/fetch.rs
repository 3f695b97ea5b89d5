//! The hardened JWKS fetcher.
//!
//! Rules, all enforced here:
//! - `https` only; plain `http` only to a loopback host and only with
//!   `allow_http_loopback_jwks`. No credentials in the URL.
//! - Names are resolved by our own resolver, which drops every address the
//!   [`AddressPolicy`] refuses; reqwest connects only to the addresses it returns, so the
//!   checked address is the connected one (no DNS-rebinding window). IP literals are checked
//!   before the request.
//! - Redirects are never followed by the client: each hop's `Location` is checked with the
//!   same rules, at most `max_redirects` hops.
//! - No proxy (an environment proxy would bypass the address checks).
//! - One wall-clock timeout covers connect, redirects, headers and body; the body is read
//!   chunk by chunk and refused past `max_jwks_bytes` (also when `Content-Length` says so).

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, CACHE_CONTROL, LOCATION};
use url::Url;

use crate::config::AuthConfig;
use crate::error::{AuthError, ConfigError};
use crate::netpolicy::{
    check_url, request_failure, AddressPolicy, GuardedResolver, RequestFailure,
};

/// A JWKS body as fetched, with the cache lifetime its response asked for.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub body: Vec<u8>,
    /// `Some(max-age)` from `Cache-Control`, `Some(0)` for `no-cache`/`no-store`, `None`
    /// when the response said nothing.
    pub max_age: Option<Duration>,
}

/// Why a fetch failed. Each maps to a partner-facing message without URLs or addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    InvalidUrl,
    /// The URL or a redirect target breaks the rules; the text says which.
    NotAllowed(&'static str),
    Timeout,
    Connect,
    Status(u16),
    TooLarge,
    TooManyRedirects,
    BadRedirect,
    Transport,
}

impl FetchError {
    pub(crate) fn to_auth_error(&self, max_bytes: usize) -> AuthError {
        match self {
            FetchError::InvalidUrl => {
                AuthError::jwks("JWKS unavailable: the partner's registered JWKS URL is invalid")
            }
            FetchError::NotAllowed(why) => AuthError::jwks(format!(
                "JWKS unavailable: the JWKS URL is not allowed ({why})"
            )),
            FetchError::Timeout => AuthError::jwks("JWKS unreachable: the fetch timed out"),
            FetchError::Connect => {
                AuthError::jwks("JWKS unreachable: cannot resolve or connect to the JWKS host")
            }
            FetchError::Status(s) => {
                AuthError::jwks(format!("JWKS unreachable: the JWKS URL answered HTTP {s}"))
            }
            FetchError::TooLarge => AuthError::jwks(format!(
                "JWKS unavailable: the JWKS is larger than {max_bytes} bytes"
            )),
            FetchError::TooManyRedirects => AuthError::jwks("JWKS unreachable: too many redirects"),
            FetchError::BadRedirect => {
                AuthError::jwks("JWKS unreachable: a redirect without a valid Location")
            }
            FetchError::Transport => {
                AuthError::jwks("JWKS unreachable: the connection failed (TLS or HTTP error)")
            }
        }
    }
}

pub(crate) struct Fetcher {
    client: reqwest::Client,
    policy: AddressPolicy,
    allow_http_loopback: bool,
    timeout: Duration,
    max_bytes: usize,
    max_redirects: u8,
}

impl Fetcher {
    pub(crate) fn new(config: &AuthConfig) -> Result<Self, ConfigError> {
        let policy = AddressPolicy {
            allow_loopback: config.allow_http_loopback_jwks,
            allow_private: config.allow_private_jwks_hosts,
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .connect_timeout(config.fetch_timeout)
            .timeout(config.fetch_timeout)
            .user_agent(concat!("claimd-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ConfigError::HttpClient)?;
        Ok(Self {
            client,
            policy,
            allow_http_loopback: config.allow_http_loopback_jwks,
            timeout: config.fetch_timeout,
            max_bytes: config.max_jwks_bytes,
            max_redirects: config.max_redirects,
        })
    }

    pub(crate) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Fetches a JWKS document, within the timeout.
    pub(crate) async fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        match tokio::time::timeout(self.timeout, self.fetch_inner(url)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout),
        }
    }

    async fn fetch_inner(&self, url: &str) -> Result<Fetched, FetchError> {
        let mut url = Url::parse(url).map_err(|_| FetchError::InvalidUrl)?;
        let mut hops = 0u8;
        loop {
            self.check_url(&url)?;
            let mut resp = self
                .client
                .get(url.clone())
                .header(
                    ACCEPT,
                    HeaderValue::from_static("application/jwk-set+json, application/json"),
                )
                .send()
                .await
                .map_err(|e| classify(&e))?;
            let status = resp.status();
            if status.is_redirection() {
                if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
                    return Err(FetchError::Status(status.as_u16()));
                }
                hops += 1;
                if hops > self.max_redirects {
                    return Err(FetchError::TooManyRedirects);
                }
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| url.join(loc).ok())
                    .ok_or(FetchError::BadRedirect)?;
                tracing::debug!(
                    jwks.redirect.host = next.host_str().unwrap_or(""),
                    "JWKS fetch redirected"
                );
                url = next;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Status(status.as_u16()));
            }
            if resp
                .content_length()
                .is_some_and(|n| n > self.max_bytes as u64)
            {
                return Err(FetchError::TooLarge);
            }
            let max_age = resp
                .headers()
                .get_all(CACHE_CONTROL)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .fold(None, |acc: Option<Duration>, v| {
                    match (acc, parse_cache_control(v)) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    }
                });
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&e))? {
                if body.len() + chunk.len() > self.max_bytes {
                    return Err(FetchError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            return Ok(Fetched { body, max_age });
        }
    }

    /// Scheme, credentials and IP-literal rules for the URL of one hop.
    fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        check_url(url, &self.policy, self.allow_http_loopback).map_err(FetchError::NotAllowed)
    }
}

fn classify(err: &reqwest::Error) -> FetchError {
    match request_failure(err) {
        RequestFailure::NotAllowed(why) => FetchError::NotAllowed(why),
        RequestFailure::Timeout => FetchError::Timeout,
        RequestFailure::Connect => FetchError::Connect,
        RequestFailure::Transport => FetchError::Transport,
    }
}

/// Reads the cache lifetime a `Cache-Control` value asks for: `no-store`/`no-cache` → 0,
/// else `max-age`; `None` when it says neither.
pub(crate) fn parse_cache_control(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        let (name, arg) = match directive.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            if let Some(secs) = arg.and_then(|a| a.parse::<u64>().ok()) {
                max_age = Some(Duration::from_secs(secs));
            } else if arg.is_some_and(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit())) {
                // Larger than u64 seconds: as long as possible; the clamp bounds it.
                max_age = Some(Duration::MAX);
            }
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_parsing() {
        let s = Duration::from_secs;
        assert_eq!(parse_cache_control("public, max-age=3600"), Some(s(3600)));
        assert_eq!(parse_cache_control("MAX-AGE = 60"), Some(s(60)));
        assert_eq!(parse_cache_control("max-age=\"120\""), Some(s(120)));
        assert_eq!(parse_cache_control("max-age=0"), Some(s(0)));
        assert_eq!(parse_cache_control("no-store"), Some(s(0)));
        assert_eq!(parse_cache_control("max-age=600, no-cache"), Some(s(0)));
        assert_eq!(
            parse_cache_control("max-age=99999999999999999999999"),
            Some(Duration::MAX)
        );
        assert_eq!(parse_cache_control("max-age=-1"), None);
        assert_eq!(parse_cache_control("max-age=abc"), None);
        assert_eq!(parse_cache_control("public"), None);
        assert_eq!(parse_cache_control(""), None);
    }

    fn fetcher(loopback: bool, private: bool) -> Fetcher {
        Fetcher::new(&AuthConfig {
            allow_http_loopback_jwks: loopback,
            allow_private_jwks_hosts: private,
            ..AuthConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn url_rules() {
        let check = |f: &Fetcher, u: &str| f.check_url(&Url::parse(u).unwrap());
        // (fetcher, accepted, refused)
        let cases = [
            (
                fetcher(false, false),
                &["https://partner.example/jwks.json"][..],
                &[
                    "http://partner.example/jwks.json",
                    "http://127.0.0.1/jwks.json",
                    "https://127.0.0.1/jwks.json",
                    "https://169.254.169.254/latest",
                    "https://[::ffff:a9fe:a9fe]/",
                    "https://0x7f.1/",
                    "https://2130706433/",
                    "https://user:pw@partner.example/",
                    "ftp://partner.example/",
                    "file:///etc/passwd",
                ][..],
            ),
            (
                fetcher(true, false),
                &[
                    "http://127.0.0.1:8080/jwks.json",
                    "http://[::1]:8080/jwks.json",
                    "http://localhost:8080/jwks.json",
                ][..],
                &[
                    "http://169.254.169.254/latest",
                    "https://169.254.169.254/latest",
                    "http://partner.example/",
                ][..],
            ),
            (
                fetcher(true, true),
                &["https://10.0.0.1/"][..],
                &["http://10.0.0.1/"][..],
            ),
        ];
        for (f, accepted, refused) in &cases {
            for u in *accepted {
                assert!(check(f, u).is_ok(), "{u}");
            }
            for u in *refused {
                assert!(check(f, u).is_err(), "{u}");
            }
        }
    }
}
