//! The one error type of verification, [`AuthError`], and its stable [`AuthErrorKind`].

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// Declares [`AuthErrorKind`] with each kind's stable code beside it, and the list of all kinds.
macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident => $code:literal,)*) => {
        /// What went wrong, as a stable, machine-readable kind.
        ///
        /// Every kind is an authentication failure that the API answers with
        /// `401 {"error":401,"message":<Display of the AuthError>}`. Only
        /// [`AuthErrorKind::PartnerLookupFailed`] is a failure of *our* side (the partner store was
        /// unreachable); the API may prefer a 503 for it, see [`AuthError::is_server_side`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum AuthErrorKind {
            $($(#[$doc])* $kind,)*
        }

        impl AuthErrorKind {
            /// Every kind.
            pub const ALL: &'static [AuthErrorKind] = &[$(Self::$kind,)*];

            /// A stable `snake_case` code for logs, metrics and clients that branch on it.
            pub fn code(self) -> &'static str {
                match self {
                    $(Self::$kind => $code,)*
                }
            }
        }
    };
}

kinds! {
    /// No token was presented (the API uses this when the header is absent or empty).
    MissingToken => "missing_token",
    /// Not a compact JWS: wrong shape, too large, bad base64url, not a JSON object,
    /// duplicate JSON keys.
    MalformedToken => "malformed_token",
    /// `alg` is absent or not one of ES256 / RS256 (this covers `none` and HS*).
    UnsupportedAlgorithm => "unsupported_algorithm",
    /// The header lacks `kid`.
    MissingKid => "missing_kid",
    /// The header is otherwise unacceptable (`typ` not JWT, `crit` present, bad `kid`).
    InvalidHeader => "invalid_header",
    /// A required claim is absent.
    MissingClaim => "missing_claim",
    /// A claim has the wrong type or an unacceptable value.
    InvalidClaim => "invalid_claim",
    /// `scope` is not one of the accepted scopes.
    WrongScope => "wrong_scope",
    /// `exp` is in the past (beyond the leeway).
    Expired => "token_expired",
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid => "token_not_yet_valid",
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture => "token_issued_in_future",
    /// `exp - iat` (or `exp - now`) exceeds the maximum token lifetime.
    LifetimeTooLong => "token_lifetime_too_long",
    /// `partnerId` is not a partner id in its canonical form (lower-case, hyphenated UUID).
    InvalidPartnerId => "invalid_partner_id",
    /// `partnerId` is not a registered partner.
    UnknownPartner => "unknown_partner",
    /// The operator disabled the partner.
    PartnerDisabled => "partner_disabled",
    /// The partner is bound to an audience and `aud` does not name it (or is absent).
    WrongAudience => "wrong_audience",
    /// The partner is bound to an issuer and `iss` is not it (or is absent).
    WrongIssuer => "wrong_issuer",
    /// The partner requires `jti` and this one was accepted before, in a token that has not
    /// expired yet.
    Replayed => "token_replayed",
    /// The partner requires `jti` and its replay cache is full of unexpired ones.
    ReplayCacheFull => "replay_cache_full",
    /// No key with the token's `kid` in the partner's JWKS (after a refetch, if one was allowed).
    UnknownKid => "unknown_kid",
    /// The key with that `kid` is of another type than `alg` needs (RS256 vs EC, ES256 vs RSA),
    /// or the JWK's own `alg` differs.
    KeyMismatch => "key_mismatch",
    /// The signature does not verify.
    BadSignature => "bad_signature",
    /// The partner's JWKS could not be obtained: unreachable, timed out, HTTP error, too large,
    /// not a JWKS, a refused address (SSRF rules), too many redirects.
    JwksUnavailable => "jwks_unavailable",
    /// The service's partner store failed (not the partner's fault).
    PartnerLookupFailed => "partner_lookup_failed",
}

impl fmt::Display for AuthErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The one message every failure that concerns *who* the caller is gets: an unknown or
/// disabled partner, an id in another spelling, an unknown `kid`, a key of the wrong type, a
/// bad signature, an unavailable JWKS, an audience, issuer or replay rule. Telling them apart
/// would let a caller probe which partners exist, which `kid`s they publish and which rules
/// the operator set; the precise kind goes to the log and to the failure metric instead.
pub const GENERIC_MESSAGE: &str = "invalid partner token";

/// A failed verification.
///
/// `Display` is the precise message, for the service's log: it says what was wrong and never
/// contains the token, key material, URLs or internal error text. What the caller is told is
/// [`AuthError::public_message`]. The internal cause, when there is one
/// (an I/O error of the JWKS fetch, the partner store's error), is kept as
/// [`std::error::Error::source`] for the service's logs only.
#[derive(Clone)]
pub struct AuthError {
    kind: AuthErrorKind,
    message: Cow<'static, str>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl AuthError {
    /// An error of `kind` whose partner-facing message is `message`.
    pub fn new(kind: AuthErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The error the API should give when the `x-partner-auth` header is absent.
    pub fn missing_token() -> Self {
        Self::new(
            AuthErrorKind::MissingToken,
            "missing partner token (x-partner-auth header)",
        )
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    pub(crate) fn malformed(message: &'static str) -> Self {
        Self::new(AuthErrorKind::MalformedToken, message)
    }

    pub(crate) fn missing_claim(name: &'static str) -> Self {
        Self::new(
            AuthErrorKind::MissingClaim,
            match name {
                "partnerId" => "missing claim: partnerId",
                "scope" => "missing claim: scope",
                "email" => "missing claim: email",
                "exp" => "missing claim: exp",
                "jti" => "missing claim: jti",
                _ => "missing claim",
            },
        )
    }

    pub(crate) fn invalid_claim(message: &'static str) -> Self {
        Self::new(AuthErrorKind::InvalidClaim, message)
    }

    pub(crate) fn jwks(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(AuthErrorKind::JwksUnavailable, message)
    }

    /// The stable kind of this error.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// The precise message (the same text as `Display`), for logs.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message for the caller. Failures of the token's form and time (malformed, missing
    /// or invalid claims, scope, expiry, lifetime) say what was wrong: they reveal nothing
    /// the caller did not send. Everything that depends on what is registered reads
    /// [`GENERIC_MESSAGE`].
    pub fn public_message(&self) -> &str {
        use AuthErrorKind::*;
        match self.kind {
            MissingToken | MalformedToken | UnsupportedAlgorithm | MissingKid | InvalidHeader
            | MissingClaim | InvalidClaim | WrongScope | Expired | NotYetValid | IssuedInFuture
            | LifetimeTooLong | PartnerLookupFailed => &self.message,
            InvalidPartnerId | UnknownPartner | PartnerDisabled | WrongAudience | WrongIssuer
            | Replayed | ReplayCacheFull | UnknownKid | KeyMismatch | BadSignature
            | JwksUnavailable => GENERIC_MESSAGE,
        }
    }

    /// True when the failure is on the service's side (the partner store failed), not the
    /// token's; the API may answer 503 for these instead of 401.
    pub fn is_server_side(&self) -> bool {
        self.kind == AuthErrorKind::PartnerLookupFailed
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("AuthError");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(source) = &self.source {
            d.field("source", &format_args!("{source}"));
        }
        d.finish()
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The error a [`crate::PartnerKeySource`] returns when the partner store cannot answer.
///
/// Its text is never shown to partners; the resulting [`AuthError`] says only
/// "partner lookup failed" and keeps this as its `source`.
#[derive(Debug)]
pub struct LookupError(Box<dyn std::error::Error + Send + Sync>);

impl LookupError {
    /// Wraps any error of the partner store.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(error.into())
    }
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "partner key lookup failed: {}", self.0)
    }
}

impl std::error::Error for LookupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// The error of [`crate::Authenticator::new`]: the configuration is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A setting is out of range; the text names it.
    #[error("invalid auth configuration: {0}")]
    Invalid(String),
    /// The HTTP client for JWKS fetches could not be built.
    #[error("cannot build the JWKS HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct() {
        let all = AuthErrorKind::ALL;
        let codes: std::collections::HashSet<_> = all.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), all.len());
    }

    #[test]
    fn display_is_the_message_and_hides_the_source() {
        let err = AuthError::new(AuthErrorKind::PartnerLookupFailed, "partner lookup failed")
            .with_source(LookupError::new("password=hunter2 connection refused"));
        assert_eq!(err.to_string(), "partner lookup failed");
        assert!(std::error::Error::source(&err).is_some());
        assert!(err.is_server_side());
    }
}
