//! claimd's webhook delivery worker (`claimd serve` starts it).
//!
//! Events and their deliveries are rows written by the storage adapters in the transaction of
//! the credential change that causes them (the outbox, `claimd_core::webhook`). This crate only
//! moves those rows forward: [`Worker`] leases due deliveries, signs each attempt as Standard
//! Webhooks 1.0 defines ([`signature`]), POSTs it through [`sender::Sender`] (the JWKS
//! fetcher's address policy, after DNS resolution; 10 s timeout) and records the attempt and
//! what follows: delivered, a retry after an exponential, jittered delay, or a dead letter once
//! the retry window (24 h by default) has passed.
//!
//! - `signature`: `webhook-signature` values (`v1,<base64 HMAC-SHA256>`).
//! - `sender`: the HTTP POST under the address policy.
//! - `worker`: leasing, concurrency (bounded per endpoint and overall), outcomes.
//! - `metrics`: deliveries by outcome, lag, dead letters, backlog.

pub mod metrics;
pub mod sender;
pub mod signature;
mod worker;

pub use worker::{Worker, WorkerConfig};
