//! The port through which the service tells us where a partner's keys are, and which per-partner
//! rules the operator set for its tokens.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::LookupError;

/// Where a registered partner's verification keys come from.
#[derive(Debug, Clone, PartialEq)]
pub enum PartnerKeyConfig {
    /// The partner's registered `jwksUrl`: fetched (https; loopback http only in dev), cached
    /// per `Cache-Control` within bounds, refetched on an unknown `kid` at most once per
    /// `refetch_min_interval`.
    JwksUrl(String),
    /// An inline JWKS (`{"keys":[…]}`) stored with the partner.
    Jwks(serde_json::Value),
}

/// Per-partner token rules set by the operator. The default is what a partner registered
/// before these rules existed gets: enabled, no audience or issuer binding, no replay cache.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartnerPolicy {
    /// When set, the token's `aud` (a string, or an array of strings) must contain it.
    pub audience: Option<String>,
    /// When set, the token's `iss` must equal it.
    pub issuer: Option<String>,
    /// When true, every token must carry a `jti` that was not accepted before (while the
    /// earlier token could still be valid).
    pub require_jti: bool,
    /// When false, every token of the partner is refused.
    pub enabled: bool,
}

impl Default for PartnerPolicy {
    fn default() -> Self {
        Self {
            audience: None,
            issuer: None,
            require_jti: false,
            enabled: true,
        }
    }
}

impl PartnerPolicy {
    /// An enabled partner with the given bindings.
    pub fn new(audience: Option<String>, issuer: Option<String>, require_jti: bool) -> Self {
        Self {
            audience,
            issuer,
            require_jti,
            enabled: true,
        }
    }

    /// The same rules, enabled or disabled.
    #[must_use]
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }
}

/// What the authenticator needs to know of one registered partner.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerAuthConfig {
    /// Where its keys come from.
    pub keys: PartnerKeyConfig,
    /// The operator's rules for its tokens.
    pub policy: PartnerPolicy,
}

impl From<PartnerKeyConfig> for PartnerAuthConfig {
    /// Keys with the default policy (enabled, no bindings).
    fn from(keys: PartnerKeyConfig) -> Self {
        Self {
            keys,
            policy: PartnerPolicy::default(),
        }
    }
}

/// Looks partners up for the authenticator; the service implements it over its store.
///
/// Called when a partner's keys are not cached yet, when its cache entry expires, and when a
/// token names an unknown `kid` (rate-limited), so a changed `jwksUrl`, inline JWKS or policy
/// takes effect within one cache lifetime, or at once after
/// [`crate::Authenticator::invalidate`]. `partner_id` is always a canonical UUID (lower-case,
/// hyphenated): tokens naming a partner any other way are refused before any lookup.
#[async_trait]
pub trait PartnerKeySource: Send + Sync {
    /// `Ok(None)` when no partner has this id (the token is refused as `unknown_partner`).
    ///
    /// # Errors
    /// [`LookupError`] when the store cannot answer; the token is then refused with
    /// `partner_lookup_failed` and the error kept only as the source, for logs.
    async fn partner_keys(
        &self,
        partner_id: &str,
    ) -> Result<Option<PartnerAuthConfig>, LookupError>;
}

#[async_trait]
impl<T: PartnerKeySource + ?Sized> PartnerKeySource for Arc<T> {
    async fn partner_keys(
        &self,
        partner_id: &str,
    ) -> Result<Option<PartnerAuthConfig>, LookupError> {
        (**self).partner_keys(partner_id).await
    }
}
