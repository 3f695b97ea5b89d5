//! [`Authenticator`]: the verification pipeline.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cache::{KeyCache, KeyState, LoadFailure};
use crate::config::AuthConfig;
use crate::error::{AuthError, AuthErrorKind, ConfigError};
use crate::fetch::Fetcher;
use crate::jwks::{self, CachedKey, Lookup};
use crate::source::{PartnerKeyConfig, PartnerKeySource};
use crate::token::{self, Algorithm, Claims};

/// A partner whose token verified: who it is and whom the request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedPartner {
    /// The `partnerId` claim: a registered partner that owns the signing key.
    pub partner_id: String,
    /// The `email` claim (the recipient), as sent: the service normalises it.
    pub email: String,
    /// The `scope` claim, one of the accepted scopes.
    pub scope: String,
    /// The header's `kid`.
    pub kid: String,
    /// The header's `alg`.
    pub alg: Algorithm,
    /// `exp`, Unix seconds.
    pub expires_at: i64,
    /// `iat`, Unix seconds, if present.
    pub issued_at: Option<i64>,
    /// `nbf`, Unix seconds, if present.
    pub not_before: Option<i64>,
    /// `jti`, if present (for replay rules the service may add).
    pub jti: Option<String>,
}

/// A snapshot of what is cached for one partner (diagnostics, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CachedPartner {
    /// The `kid`s of the usable keys.
    pub kids: Vec<String>,
    /// The cache lifetime chosen for this load (after clamping).
    pub ttl: Duration,
    /// Time left before the keys expire (zero when expired).
    pub expires_in: Duration,
}

/// Verifies partner JWTs. Cheap to clone (one `Arc`); share one per process.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    config: AuthConfig,
    scope_message: String,
    source: Arc<dyn PartnerKeySource>,
    fetcher: Fetcher,
    cache: KeyCache,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Outcome of the lock-free attempt.
enum Fast {
    Done(VerifiedPartner),
    /// The cache cannot answer: load the partner's keys (owned copies of the routing data).
    Load {
        partner_id: String,
        kid: String,
    },
}

/// A token split, decoded and parsed, borrowing from the token and local buffers.
struct Parsed<'a> {
    alg: Algorithm,
    kid: Cow<'a, str>,
    claims: Claims<'a>,
    signing_input: &'a [u8],
    signature: &'a [u8],
}

/// Longest encoded signature: 1024 bytes (RSA-8192) in base64url.
const MAX_SIGNATURE_B64: usize = 1366;
/// Decoded payloads up to this size are decoded on the stack.
const PAYLOAD_STACK: usize = 1536;

impl Authenticator {
    /// Builds an authenticator over the service's partner store.
    ///
    /// # Errors
    /// [`ConfigError`] when the configuration is invalid or the HTTP client cannot be built.
    pub fn new(config: AuthConfig, source: Arc<dyn PartnerKeySource>) -> Result<Self, ConfigError> {
        config.validate()?;
        let fetcher = Fetcher::new(&config)?;
        let scope_message = format!(
            "scope is not accepted: expected {}",
            config
                .accepted_scopes
                .iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(" or ")
        );
        let cache = KeyCache::new(config.refetch_min_interval, config.stale_if_error);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                scope_message,
                source,
                fetcher,
                cache,
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// Verifies a partner token (the raw value of the `x-partner-auth` header) at time `now`.
    ///
    /// With the partner's keys cached this runs synchronously: no lock, no I/O, no key
    /// parsing, a handful of small allocations for the result. Otherwise it loads the keys
    /// (one load per partner at a time, see the crate docs) and then verifies.
    ///
    /// # Errors
    /// [`AuthError`] saying what was wrong; every kind is a 401 for the API.
    pub async fn verify(&self, token: &str, now: SystemTime) -> Result<VerifiedPartner, AuthError> {
        let now = unix_seconds(now);
        let (partner_id, kid) = match self.with_parsed(token, |p| self.try_cached(p, now))? {
            Fast::Done(v) => return Ok(v),
            Fast::Load { partner_id, kid } => (partner_id, kid),
        };
        let unknown_partner = AuthError::new(
            AuthErrorKind::UnknownPartner,
            "unknown partner: partnerId is not a registered partner",
        );
        let state = self
            .inner
            .cache
            .resolve(&partner_id, &kid, unknown_partner, || {
                self.load_keys(&partner_id)
            })
            .await?;
        self.with_parsed(token, |p| self.verify_with_state(p, &state, now))
    }

    /// [`Authenticator::verify`] at the current system time.
    ///
    /// # Errors
    /// As [`Authenticator::verify`].
    pub async fn verify_now(&self, token: &str) -> Result<VerifiedPartner, AuthError> {
        self.verify(token, SystemTime::now()).await
    }

    /// Forgets the cached keys of a partner, e.g. after its `jwksUrl` or inline JWKS changed;
    /// its next token loads them again.
    pub fn invalidate(&self, partner_id: &str) {
        self.inner.cache.invalidate(partner_id);
    }

    /// What is cached for a partner, if anything.
    pub fn cached_partner(&self, partner_id: &str) -> Option<CachedPartner> {
        let now = Instant::now();
        self.inner.cache.with_state(partner_id, |st| CachedPartner {
            kids: st.keys.kids().map(str::to_owned).collect(),
            ttl: st.ttl,
            expires_in: st.expires_at.saturating_duration_since(now),
        })
    }

    /// Splits and decodes `token` into stack buffers and runs `f` on the parsed form.
    fn with_parsed<R>(
        &self,
        token: &str,
        f: impl FnOnce(Parsed<'_>) -> Result<R, AuthError>,
    ) -> Result<R, AuthError> {
        let parts = token::split(token, self.inner.config.max_token_bytes)?;

        let mut header_buf = [0u8; token::MAX_HEADER_B64 / 4 * 3 + 3];
        let header_json = token::b64_decode(
            parts.header,
            &mut header_buf,
            "token header is not valid base64url",
        )?;
        let header = token::parse_header(header_json)?;

        let mut payload_stack = [0u8; PAYLOAD_STACK];
        let mut payload_heap;
        let need = token::decoded_len(parts.payload.len());
        let payload_buf: &mut [u8] = if need <= PAYLOAD_STACK {
            &mut payload_stack
        } else {
            payload_heap = vec![0u8; need];
            &mut payload_heap
        };
        let payload_json = token::b64_decode(
            parts.payload,
            payload_buf,
            "token payload is not valid base64url",
        )?;
        let claims = token::parse_claims(payload_json)?;

        if parts.signature.len() > MAX_SIGNATURE_B64 {
            return Err(bad_signature_length(header.alg));
        }
        let mut sig_buf = [0u8; MAX_SIGNATURE_B64 / 4 * 3 + 3];
        let signature = token::b64_decode(
            parts.signature,
            &mut sig_buf,
            "token signature is not valid base64url",
        )?;
        let length_ok = match header.alg {
            Algorithm::Es256 => signature.len() == 64,
            Algorithm::Rs256 => (256..=token::MAX_SIGNATURE).contains(&signature.len()),
        };
        if !length_ok {
            return Err(bad_signature_length(header.alg));
        }

        f(Parsed {
            alg: header.alg,
            kid: header.kid,
            claims,
            signing_input: parts.signing_input,
            signature,
        })
    }

    /// The lock-free path: answers when the partner's keys are cached, fresh and hold `kid`.
    fn try_cached(&self, p: Parsed<'_>, now: i64) -> Result<Fast, AuthError> {
        let t = Instant::now();
        let hit = self.inner.cache.with_state(&p.claims.partner_id, |st| {
            if !st.is_fresh(t) {
                return None;
            }
            match st.keys.find(&p.kid, p.alg) {
                Lookup::Found(key) => Some(self.check(&p, key, now)),
                Lookup::WrongType(key_alg) => Some(Err(key_mismatch(p.alg, key_alg))),
                Lookup::Missing => None,
            }
        });
        match hit.flatten() {
            Some(result) => result.map(Fast::Done),
            None => Ok(Fast::Load {
                partner_id: p.claims.partner_id.into_owned(),
                kid: p.kid.into_owned(),
            }),
        }
    }

    /// After a load: verifies against `state`, which is final (no further refetch).
    fn verify_with_state(
        &self,
        p: Parsed<'_>,
        state: &KeyState,
        now: i64,
    ) -> Result<VerifiedPartner, AuthError> {
        if state.keys.is_empty() {
            return Err(AuthError::jwks(
                "JWKS unavailable: the partner's JWKS has no usable ES256 or RS256 key",
            ));
        }
        match state.keys.find(&p.kid, p.alg) {
            Lookup::Found(key) => self.check(&p, key, now),
            Lookup::WrongType(key_alg) => Err(key_mismatch(p.alg, key_alg)),
            Lookup::Missing => Err(AuthError::new(
                AuthErrorKind::UnknownKid,
                "unknown kid: the partner's JWKS has no key with this kid",
            )),
        }
    }

    /// Signature, then scope and time claims.
    fn check(
        &self,
        p: &Parsed<'_>,
        key: &CachedKey,
        now: i64,
    ) -> Result<VerifiedPartner, AuthError> {
        if !key.verify(p.signing_input, p.signature) {
            return Err(AuthError::new(
                AuthErrorKind::BadSignature,
                "bad signature: the token is not signed by the key with this kid",
            ));
        }
        let config = &self.inner.config;
        let c = &p.claims;
        if !config.accepted_scopes.iter().any(|s| *s == *c.scope) {
            return Err(AuthError::new(
                AuthErrorKind::WrongScope,
                self.inner.scope_message.clone(),
            ));
        }
        let leeway = secs_i64(config.leeway);
        let max_lifetime = secs_i64(config.max_lifetime);
        if now >= c.exp.saturating_add(leeway) {
            return Err(AuthError::new(AuthErrorKind::Expired, "token expired"));
        }
        if let Some(nbf) = c.nbf {
            if nbf > now.saturating_add(leeway) {
                return Err(AuthError::new(
                    AuthErrorKind::NotYetValid,
                    "token not yet valid (nbf is in the future)",
                ));
            }
        }
        if let Some(iat) = c.iat {
            if iat > now.saturating_add(leeway) {
                return Err(AuthError::new(
                    AuthErrorKind::IssuedInFuture,
                    "token issued in the future (iat is later than now)",
                ));
            }
            if iat > c.exp {
                return Err(AuthError::invalid_claim("claim iat is later than exp"));
            }
            if c.exp - iat > max_lifetime {
                return Err(lifetime_too_long(max_lifetime));
            }
        }
        if c.exp.saturating_sub(now) > max_lifetime.saturating_add(leeway) {
            return Err(lifetime_too_long(max_lifetime));
        }
        Ok(VerifiedPartner {
            partner_id: c.partner_id.clone().into_owned(),
            email: c.email.clone().into_owned(),
            scope: c.scope.clone().into_owned(),
            kid: p.kid.clone().into_owned(),
            alg: p.alg,
            expires_at: c.exp,
            issued_at: c.iat,
            not_before: c.nbf,
            jti: c.jti.as_ref().map(|j| j.clone().into_owned()),
        })
    }

    /// Looks the partner up and loads its keys (fetching a JWKS URL).
    async fn load_keys(&self, partner_id: &str) -> Result<Option<KeyState>, LoadFailure> {
        let inner = &self.inner;
        let config = match inner.source.partner_keys(partner_id).await {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::warn!(partner.id = partner_id, error = %e, "partner key lookup failed");
                return Err(LoadFailure {
                    error: AuthError::new(
                        AuthErrorKind::PartnerLookupFailed,
                        "partner lookup failed",
                    )
                    .with_source(e),
                    backoff: false,
                });
            }
        };
        let jwks_failure = |error: AuthError| LoadFailure {
            error,
            backoff: true,
        };
        let (keys, ttl) = match config {
            PartnerKeyConfig::Jwks(value) => {
                let keys = jwks::parse_value(&value).map_err(|e| {
                    tracing::warn!(
                        partner.id = partner_id,
                        reason = e.message(),
                        "inline JWKS refused"
                    );
                    jwks_failure(AuthError::jwks(
                        "JWKS unavailable: the partner's inline JWKS is invalid",
                    ))
                })?;
                (keys, inner.config.clamp_ttl(inner.config.cache_default_ttl))
            }
            PartnerKeyConfig::JwksUrl(url) => {
                let started = Instant::now();
                let fetched = inner.fetcher.fetch(&url).await.map_err(|e| {
                    tracing::warn!(partner.id = partner_id, error = ?e, "JWKS fetch failed");
                    jwks_failure(e.to_auth_error(inner.fetcher.max_bytes()))
                })?;
                let keys = jwks::parse_bytes(&fetched.body).map_err(|e| {
                    tracing::warn!(
                        partner.id = partner_id,
                        reason = e.message(),
                        "fetched JWKS refused"
                    );
                    jwks_failure(AuthError::jwks(e.message()))
                })?;
                let ttl = inner
                    .config
                    .clamp_ttl(fetched.max_age.unwrap_or(inner.config.cache_default_ttl));
                tracing::debug!(
                    partner.id = partner_id,
                    jwks.keys = keys.len(),
                    jwks.ttl_s = ttl.as_secs(),
                    duration_ms = started.elapsed().as_millis() as u64,
                    "JWKS fetched"
                );
                (keys, ttl)
            }
        };
        Ok(Some(KeyState::new(keys, ttl)))
    }
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

fn secs_i64(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn bad_signature_length(alg: Algorithm) -> AuthError {
    AuthError::new(
        AuthErrorKind::BadSignature,
        match alg {
            Algorithm::Es256 => "bad signature: an ES256 signature must be 64 bytes (r || s)",
            Algorithm::Rs256 => "bad signature: wrong length for an RS256 signature",
        },
    )
}

fn key_mismatch(alg: Algorithm, key_alg: Algorithm) -> AuthError {
    AuthError::new(
        AuthErrorKind::KeyMismatch,
        match (alg, key_alg) {
            (Algorithm::Rs256, _) => {
                "alg RS256 does not match the key with this kid (an EC P-256 key)"
            }
            (Algorithm::Es256, _) => "alg ES256 does not match the key with this kid (an RSA key)",
        },
    )
}

fn lifetime_too_long(max: i64) -> AuthError {
    AuthError::new(
        AuthErrorKind::LifetimeTooLong,
        format!("token lifetime too long: exp may be at most {max} s after iat (and now)"),
    )
}
