//! The port through which the service tells us where a partner's keys are.

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

/// Looks partners up for the authenticator; the service implements it over its store.
///
/// Called when a partner's keys are not cached yet, when its cache entry expires, and when a
/// token names an unknown `kid` (rate-limited), so a changed `jwksUrl` or inline JWKS takes
/// effect within one cache lifetime, or at once after [`crate::Authenticator::invalidate`].
/// `partner_id` is the token's unverified `partnerId` claim: at most 128 bytes without
/// whitespace or control characters, otherwise arbitrary; treat it as untrusted input.
#[async_trait]
pub trait PartnerKeySource: Send + Sync {
    /// `Ok(None)` when no partner has this id (the token is refused as `unknown_partner`).
    ///
    /// # Errors
    /// [`LookupError`] when the store cannot answer; the token is then refused with
    /// `partner_lookup_failed` and the error kept only as the source, for logs.
    async fn partner_keys(&self, partner_id: &str)
        -> Result<Option<PartnerKeyConfig>, LookupError>;
}

#[async_trait]
impl<T: PartnerKeySource + ?Sized> PartnerKeySource for Arc<T> {
    async fn partner_keys(
        &self,
        partner_id: &str,
    ) -> Result<Option<PartnerKeyConfig>, LookupError> {
        (**self).partner_keys(partner_id).await
    }
}
