//! One delivery attempt over HTTP, under the same outbound rules as the JWKS fetcher
//! (`claimd_auth::netpolicy`): https (plain http only to loopback, in dev mode), no credentials
//! in the URL, IP literals and every resolved address checked against the address policy, no
//! redirects followed (a 3xx is a failed attempt), no proxy, one timeout for the whole exchange.

use claimd_auth::netpolicy::{
    check_url, request_failure, AddressPolicy, GuardedResolver, RequestFailure,
};
use claimd_core::webhook::RESPONSE_EXCERPT;
use std::sync::Arc;
use std::time::Duration;

/// What the receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The start of the body (at most `RESPONSE_EXCERPT` bytes, lossy UTF-8).
    pub excerpt: String,
}

/// Why there is no answer. The text is stored with the attempt and shown to operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The URL or its addresses break the outbound rules (SSRF guard).
    NotAllowed(&'static str),
    InvalidUrl,
    Timeout,
    Connect,
    Transport,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::NotAllowed(why) => write!(f, "not allowed: {why}"),
            SendError::InvalidUrl => f.write_str("the endpoint URL is invalid"),
            SendError::Timeout => f.write_str("timed out"),
            SendError::Connect => f.write_str("cannot resolve or connect to the endpoint"),
            SendError::Transport => f.write_str("the connection failed (TLS or HTTP error)"),
        }
    }
}

/// The signed request of one attempt.
#[derive(Debug, Clone)]
pub struct SignedRequest<'a> {
    pub url: &'a str,
    pub msg_id: &'a str,
    pub timestamp: i64,
    pub signature: &'a str,
    pub body: Vec<u8>,
}

pub struct Sender {
    client: reqwest::Client,
    policy: AddressPolicy,
    allow_http_loopback: bool,
    timeout: Duration,
}

impl Sender {
    /// `dev`: loopback allowed, over plain http too (a receiver on the developer's machine).
    /// Private, link-local and other non-public addresses stay refused even then.
    pub fn new(timeout: Duration, dev: bool) -> Result<Self, reqwest::Error> {
        let policy = AddressPolicy {
            allow_loopback: dev,
            allow_private: false,
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("claimd-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sender {
            client,
            policy,
            allow_http_loopback: dev,
            timeout,
        })
    }

    pub async fn send(&self, req: SignedRequest<'_>) -> Result<Answer, SendError> {
        match tokio::time::timeout(self.timeout, self.send_inner(req)).await {
            Ok(r) => r,
            Err(_) => Err(SendError::Timeout),
        }
    }

    async fn send_inner(&self, req: SignedRequest<'_>) -> Result<Answer, SendError> {
        let url = url::Url::parse(req.url).map_err(|_| SendError::InvalidUrl)?;
        check_url(&url, &self.policy, self.allow_http_loopback).map_err(SendError::NotAllowed)?;
        let mut resp = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", req.msg_id)
            .header("webhook-timestamp", req.timestamp.to_string())
            .header("webhook-signature", req.signature)
            .body(req.body)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let status = resp.status().as_u16();
        // Only the start of the answer is kept; the rest is not read.
        let mut excerpt = Vec::new();
        while excerpt.len() < RESPONSE_EXCERPT {
            match resp.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        excerpt.truncate(RESPONSE_EXCERPT);
        Ok(Answer {
            status,
            excerpt: String::from_utf8_lossy(&excerpt).into_owned(),
        })
    }
}

fn classify(err: &reqwest::Error) -> SendError {
    match request_failure(err) {
        RequestFailure::NotAllowed(why) => SendError::NotAllowed(why),
        RequestFailure::Timeout => SendError::Timeout,
        RequestFailure::Connect => SendError::Connect,
        RequestFailure::Transport => SendError::Transport,
    }
}
