//! # claimd-auth
//!
//! Partner JWT authentication (`x-partner-auth`, DESIGN.md §2 "Partner JWT"): verifies a
//! partner's ES256 or RS256 token against the JWKS the partner registered, with a hardened
//! JWKS fetcher and a per-partner key cache. It knows nothing of the rest of claimd: the
//! service supplies partner lookups through [`PartnerKeySource`], and the API wraps
//! [`Authenticator`] in an extractor that maps [`AuthError`] to
//! `401 {"error":401,"message":<AuthError::public_message>}` (generic for every failure that
//! depends on what is registered; the precise kind is for the log and the failure metric).
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use claimd_auth::*;
//! # async fn demo(store: Arc<dyn PartnerKeySource>, header_value: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Authenticator::new(AuthConfig::default(), store, claimd_clock::SystemClock::shared())?;
//! match auth.verify_now(header_value).await {
//!     Ok(partner) => println!("{} for {}", partner.partner_id, partner.email),
//!     Err(e) => println!("401 {} ({})", e.public_message(), e.kind().code()),
//! }
//! # Ok(()) }
//! ```
//!
//! ## Public API
//! - [`Authenticator`]: `new(AuthConfig, Arc<dyn PartnerKeySource>, SharedClock)`,
//!   `verify(token, now) -> Result<VerifiedPartner, AuthError>`, `verify_now(token)` (at the
//!   clock's time), `invalidate(partner_id)` (call it when a partner's keys or rules change),
//!   `cached_partner(partner_id)`, `cached_partners()` (diagnostics).
//! - [`AuthConfig`]: scopes, leeway, maximum lifetime, dev switches, fetch and cache bounds
//!   (`key_cache_size`, `jti_cache_size`); `Deserialize` with defaults, [`AuthConfig::dev`]
//!   for `CLAIMD_DEV`.
//! - [`PartnerKeySource`] / [`PartnerAuthConfig`] / [`PartnerKeyConfig`] / [`PartnerPolicy`] /
//!   [`LookupError`]: the port the service implements over its partner store (`JwksUrl` or
//!   inline `Jwks`, plus the operator's `audience`, `issuer`, `require_jti`, `enabled`).
//! - [`VerifiedPartner`]: `partner_id`, `email`, `scope`, `kid`, `alg`, `expires_at`,
//!   `issued_at`, `not_before`, `jti`.
//! - [`AuthError`] with [`AuthErrorKind`] (`kind().code()` is a stable `snake_case` string);
//!   `Display` is the precise message (for logs), [`AuthError::public_message`] the one for
//!   the caller ([`GENERIC_MESSAGE`] where the precise one would reveal what is registered).
//!   [`AuthError::missing_token`] is the error for an
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
//!    required; `partnerId` must be a UUID in canonical form (lower-case, hyphenated
//!    8-4-4-4-12), any other spelling is refused before any lookup; `nbf`, `iat` NumericDates
//!    if present; `jti`, `iss` strings and `aud` a string or array of strings if present.
//! 4. The key: the JWKS of the partner named by `partnerId` (unknown or disabled partner →
//!    401), the entry
//!    with the token's `kid`, whose type must fit `alg` (EC P-256 for ES256, RSA ≥ 2048 bits
//!    for RS256, and the JWK's own `alg`, if any, must agree). A token naming another
//!    partner's `kid` finds no such key in its own partner's JWKS (or one that does not verify).
//! 5. The signature (AWS-LC; ES256 must be the 64-byte `r || s` form).
//! 6. `scope` is one of `accepted_scopes`; `exp` > now − leeway; `nbf` ≤ now + leeway;
//!    `iat` ≤ now + leeway; `exp − iat` ≤ `max_lifetime` (default 5 min) and `exp − now` ≤
//!    `max_lifetime` + leeway (which alone bounds a token without `iat`).
//! 7. The partner's rules, when the operator set them: `aud` must name its audience, `iss`
//!    must be its issuer, and with `require_jti` the `jti` must be present and not used by an
//!    earlier token that has not expired (a per-partner cache, bounded by `jti_cache_size`,
//!    each entry kept until its token's `exp` + leeway; in memory, so per instance).
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
//! Per partner, keyed by the parsed id; an LRU map of at most `key_cache_size` partners
//! behind one short mutex (O(1) per hit and per insert), each entry with an `ArcSwap` of
//! parsed keys and the partner's policy. Evicting a partner also forgets its `jti`s. Lifetime = `Cache-Control: max-age` clamped into
//! `[cache_min_ttl, cache_max_ttl]` (`no-cache`/`no-store` → the minimum; none →
//! `cache_default_ttl`). An unknown `kid` causes one reload, at most once per
//! `refetch_min_interval` per partner, so key rotation works without a restart. Loads are
//! single-flight: N concurrent requests for a cold partner cause one lookup and one fetch,
//! and a failing JWKS is not retried within `refetch_min_interval` (requests get the failure
//! from memory meanwhile). Expired keys stay usable for `stale_if_error` while reloading
//! fails. The partner's key configuration and policy are looked up again at each reload, so a
//! changed `jwksUrl` or rule applies within one cache lifetime, or at once after
//! [`Authenticator::invalidate`]. Cache times come from the injected clock's monotonic
//! reading.
//!
//! ## Layout
//! - `authenticator`: the pipeline above; `token`: shape, base64url, header and claims;
//!   `json`: strict duplicate-refusing JSON reading; `jwks`: JWK → cached AWS-LC keys;
//!   `fetch`: the hardened fetcher; `netpolicy`: address classes; `cache`: the key cache and
//!   replay cache; `partner_id`: the canonical partner id;
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
pub mod netpolicy;
mod partner_id;
mod source;
mod token;

#[cfg(feature = "testing")]
pub mod testing;

pub use authenticator::{Authenticator, CachedPartner, VerifiedPartner};
pub use config::AuthConfig;
pub use error::{AuthError, AuthErrorKind, ConfigError, LookupError, GENERIC_MESSAGE};
pub use source::{PartnerAuthConfig, PartnerKeyConfig, PartnerKeySource, PartnerPolicy};
pub use token::Algorithm;

/// `Result` with [`AuthError`].
pub type Result<T, E = AuthError> = std::result::Result<T, E>;
