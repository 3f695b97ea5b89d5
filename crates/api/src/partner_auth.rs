//! `x-partner-auth`: the Partner JWT extractor, and the adapter that lets the authenticator
//! look partners' keys up in the store.

use crate::error::ApiError;
use crate::state::AppState;
use async_trait::async_trait;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use claimd_auth::{
    AuthError, LookupError, PartnerAuthConfig, PartnerKeyConfig, PartnerKeySource, PartnerPolicy,
};
use claimd_core::partner::KeySource;
use claimd_core::store::Store;
use claimd_core::user::Email;
use claimd_core::{DomainError, PartnerId};
use std::sync::Arc;

pub const HEADER: &str = "x-partner-auth";

/// Refused Partner JWTs, by precise reason (`AuthErrorKind::code`): the caller only gets a
/// generic message for most of them, operators see here what is being tried.
pub const AUTH_FAILURES: &str = "claimd_auth_failures_total";

/// A request whose Partner JWT verified.
pub struct PartnerAuth {
    pub partner_id: PartnerId,
    /// The recipient named by the token, in its normal form ([`Email::parse`]).
    pub email: String,
}

impl FromRequestParts<AppState> for PartnerAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = match parts.headers.get(HEADER).map(|v| v.to_str()) {
            Some(Ok(t)) => t.trim(),
            Some(Err(_)) => return Err(auth_error(AuthError::missing_token())),
            None => return Err(auth_error(AuthError::missing_token())),
        };
        let verified = state.auth.verify_now(token).await.map_err(auth_error)?;
        // The key source only knows UUID partner ids, so a verified id always parses.
        let partner_id = PartnerId::parse(&verified.partner_id)
            .ok_or_else(|| ApiError::unauthorized("Unknown partner"))?;
        // Limited only once the partner is proven: an unverified claim must not spend
        // another partner's budget.
        if let Some(limiter) = &state.admission.per_partner {
            if let Err(wait) = limiter.check(&partner_id.0) {
                metrics::counter!("claimd_http_refused_total", "reason" => "partner_rate")
                    .increment(1);
                return Err(ApiError::too_many_requests("per partner", wait));
            }
        }
        // A token naming a recipient the domain does not accept as an address (invisible
        // characters, a bad domain) is not a valid Partner JWT, like one whose claim is not an
        // address at all: 401, never a 400 about a field the caller did not send.
        let email = Email::parse(&verified.email).map_err(|e| {
            metrics::counter!(AUTH_FAILURES, "reason" => "bad_email").increment(1);
            let DomainError::Invalid { message, .. } = e;
            ApiError::unauthorized(format!(
                "claim email is not a valid email address: {message}"
            ))
        })?;
        Ok(PartnerAuth {
            partner_id,
            email: email.as_str().to_owned(),
        })
    }
}

fn auth_error(e: AuthError) -> ApiError {
    let reason = e.kind().code();
    metrics::counter!(AUTH_FAILURES, "reason" => reason).increment(1);
    if e.is_server_side() {
        return ApiError::unavailable(&e);
    }
    // The precise reason is logged; the caller gets the public message (generic whenever
    // the precise one would tell what is registered).
    tracing::info!(reason, detail = %e, "partner JWT refused");
    ApiError::unauthorized(e.public_message())
}

/// The store, seen by the authenticator as a source of partner keys.
pub struct StoreKeySource(pub Arc<dyn Store>);

#[async_trait]
impl PartnerKeySource for StoreKeySource {
    async fn partner_keys(
        &self,
        partner_id: &str,
    ) -> Result<Option<PartnerAuthConfig>, LookupError> {
        let Some(id) = PartnerId::parse(partner_id) else {
            return Ok(None);
        };
        let Some(partner) = self.0.partner(id).await.map_err(LookupError::new)? else {
            return Ok(None);
        };
        let Some(keys) = partner.key_source() else {
            return Ok(None);
        };
        let rules = partner.token_rules;
        Ok(Some(PartnerAuthConfig {
            keys: match keys {
                KeySource::JwksUrl(u) => PartnerKeyConfig::JwksUrl(u),
                KeySource::Inline(j) => PartnerKeyConfig::Jwks(j),
            },
            policy: PartnerPolicy::new(rules.audience, rules.issuer, rules.require_jti)
                .enabled(rules.enabled),
        }))
    }
}
