//! # claimd-auth
//!
//! Partner JWT authentication (`x-partner-auth`, DESIGN.md §2 "Partner JWT"): verifies a
//! partner's ES256 or RS256 token against the JWKS the partner registered, with a hardened
//! JWKS fetcher and a per-partner key cache. It knows nothing of the rest of claimd: the
//! service supplies partner lookups through [`PartnerKeySource`], and the API wraps
//! [`Authenticator`] in an extractor that maps [`AuthError`] to
//! `401 {"error":401,"message":<AuthError as Display>}`.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use claimd_auth::*;
//! # async fn demo(store: Arc<dyn PartnerKeySource>, header_value: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Authenticator::new(AuthConfig::default(), store)?;
//! match auth.verify_now(header_value).await {
//!     Ok(partner) => println!("{} for {}", partner.partner_id, partner.email),
//!     Err(e) => println!("401 {} ({})", e, e.kind().code()),
//! }
//! # Ok(()) }
//! ```
//!
//! ## Public API
//! - [`Authenticator`]: `new(AuthConfig, Arc<dyn PartnerKeySource>)`,
//!   `verify(token, now) -> Result<VerifiedPartner, AuthError>`, `verify_now(token)`,
//!   `invalidate(partner_id)` (call it when a partner's `jwksUrl`/JWKS changes),
//!   `cached_partner(partner_id)` (diagnostics).
//! - [`AuthConfig`]: scopes, leeway, maximum lifetime, dev switches, fetch and cache bounds;
//!   `Deserialize` with defaults, [`AuthConfig::dev`] for `CLAIMD_DEV`.
//! - [`PartnerKeySource`] / [`PartnerKeyConfig`] / [`LookupError`]: the port the service
//!   implements over its partner store (`JwksUrl(String)` or inline `Jwks(Value)`).
//! - [`VerifiedPartner`]: `partner_id`, `email`, `scope`, `kid`, `alg`, `expires_at`,
//!   `issued_at`, `not_before`, `jti`.
//! - [`AuthError`] with [`AuthErrorKind`] (`kind().code()` is a stable `snake_case` string);
//!   `Display` is the partner-facing message. [`AuthError::missing_token`] is the error for an
//!   absent header. [`AuthError::is_server_side`] marks partner-store failures.
//! - [`testing`] (feature `testing`): [`testing::TestKey`], [`testing::TokenBuilder`],
//!   [`testing::FakePartners`], [`testing::JwksServer`] for black-box tests.
//!
//! ## What is checked, in order
//! 1. Shape and size before any decoding: at most `max_token_bytes` (8 KiB), exactly three
//!    non-empty dot-separated parts, header at most 1 KiB encoded, strict base64url (no
//!    padding, no non-canonical bits).
//! 2. Header, as strict JSON (duplicate keys at any depth are refused): `alg` is `ES256` or
//!    `RS256` (so `none`, `HS256`, … are refused before any key is touched), `typ` is `JWT`,
//!    `kid` is present, `crit` is absent. `jku`/`jwk`/`x5u`/`x5c` are ignored: keys come only
//!    from the partner's registered JWKS.
//! 3. Claims, as strict JSON: `partnerId`, `scope`, `email` (strings) and `exp` (NumericDate)
//!    required; `nbf`, `iat` NumericDates if present; `jti` a string if present.
//! 4. The key: the JWKS of the partner named by `partnerId` (unknown partner → 401), the entry
//!    with the token's `kid`, whose type must fit `alg` (EC P-256 for ES256, RSA ≥ 2048 bits
//!    for RS256, and the JWK's own `alg`, if any, must agree). A token naming another
//!    partner's `kid` finds no such key in its own partner's JWKS (or one that does not verify).
//! 5. The signature (AWS-LC; ES256 must be the 64-byte `r || s` form).
//! 6. `scope` is one of `accepted_scopes`; `exp` > now − leeway; `nbf` ≤ now + leeway;
//!    `iat` ≤ now + leeway; `exp − iat` ≤ `max_lifetime` and `exp − now` ≤ `max_lifetime` +
//!    leeway.
//!
//! Unverified data decides only routing (which partner, which key): nothing else is trusted
//! before step 5. Nothing here panics on input; malformed tokens are plain errors.
//!
//! ## JWKS fetching (SSRF rules)
//! `https` only; `http` only to loopback with `allow_http_loopback_jwks`. Names are resolved by
//! our resolver, which drops loopback, private, link-local (169.254/16, fe80::/10),
//! unique-local, CGNAT, documentation, reserved, multicast, unspecified and IPv4-mapped
//! addresses (unless `allow_private_jwks_hosts`), and the client connects only to the
//! addresses it returned. Redirects are followed by hand, each hop checked again, at most
//! `max_redirects`. No proxies. One timeout (`fetch_timeout`) covers the whole fetch; the body
//! is capped at `max_jwks_bytes`. Private keys published in a JWKS are refused.
//!
//! ## Cache
//! Per partner; lock-free reads on the hot path (an `ArcSwap` map of entries, each with an
//! `ArcSwap` of parsed keys). Lifetime = `Cache-Control: max-age` clamped into
//! `[cache_min_ttl, cache_max_ttl]` (`no-cache`/`no-store` → the minimum; none →
//! `cache_default_ttl`). An unknown `kid` causes one reload, at most once per
//! `refetch_min_interval` per partner, so key rotation works without a restart. Loads are
//! single-flight: N concurrent requests for a cold partner cause one lookup and one fetch,
//! and a failing JWKS is not retried within `refetch_min_interval` (requests get the failure
//! from memory meanwhile). Expired keys stay usable for `stale_if_error` while reloading
//! fails. The partner's key configuration is looked up again at each reload, so a changed
//! `jwksUrl` applies within one cache lifetime, or at once after
//! [`Authenticator::invalidate`].
//!
//! ## Layout
//! - `authenticator`: the pipeline above; `token`: shape, base64url, header and claims;
//!   `json`: strict duplicate-refusing JSON reading; `jwks`: JWK → cached AWS-LC keys;
//!   `fetch`: the hardened fetcher; `netpolicy`: address classes; `cache`: the key cache;
//!   `source`: the partner port; `config`, `error`; `testing` (feature).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod authenticator;
mod cache;
mod config;
mod error;
mod fetch;
mod json;
mod jwks;
mod netpolicy;
mod source;
mod token;

#[cfg(feature = "testing")]
pub mod testing;

pub use authenticator::{Authenticator, CachedPartner, VerifiedPartner};
pub use config::AuthConfig;
pub use error::{AuthError, AuthErrorKind, ConfigError, LookupError};
pub use source::{PartnerKeyConfig, PartnerKeySource};
pub use token::Algorithm;

/// `Result` with [`AuthError`].
pub type Result<T, E = AuthError> = std::result::Result<T, E>;
