//! [`Authenticator`]: the verification pipeline.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use claimd_clock::SharedClock;

use crate::cache::{KeyCache, KeyState, LoadFailure, PartnerEntry, Replay};
use crate::config::AuthConfig;
use crate::error::{AuthError, AuthErrorKind, ConfigError};
use crate::fetch::Fetcher;
use crate::jwks::{self, CachedKey, Lookup};
use crate::partner_id::PartnerKey;
use crate::source::{PartnerKeyConfig, PartnerKeySource};
use crate::token::{self, Algorithm, Claims};

/// A partner whose token verified: who it is and whom the request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedPartner {
    /// The `partnerId` claim (a canonical UUID): a registered partner that owns the signing
    /// key.
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
    /// `jti`, if present (unique among the partner's unexpired tokens when it requires one).
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
    clock: SharedClock,
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
        partner: PartnerKey,
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
    /// Builds an authenticator over the service's partner store, reading time from `clock`
    /// (token times from its wall reading, cache lifetimes and rate limits from its monotonic
    /// one).
    ///
    /// # Errors
    /// [`ConfigError`] when the configuration is invalid or the HTTP client cannot be built.
    pub fn new(
        config: AuthConfig,
        source: Arc<dyn PartnerKeySource>,
        clock: SharedClock,
    ) -> Result<Self, ConfigError> {
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
        let cache = KeyCache::new(
            config.key_cache_size,
            config.refetch_min_interval,
            config.stale_if_error,
            clock.clone(),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                scope_message,
                source,
                fetcher,
                cache,
                clock,
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
        self.verify_at(token, unix_seconds(now)).await
    }

    async fn verify_at(&self, token: &str, now: i64) -> Result<VerifiedPartner, AuthError> {
        let (partner, kid) = match self.with_parsed(token, |p| self.try_cached(p, now))? {
            Fast::Done(v) => return Ok(v),
            Fast::Load { partner, kid } => (partner, kid),
        };
        let unknown_partner = AuthError::new(
            AuthErrorKind::UnknownPartner,
            "unknown partner: partnerId is not a registered partner",
        );
        let (entry, state) = self
            .inner
            .cache
            .resolve(partner, &kid, unknown_partner, || self.load_keys(partner))
            .await?;
        self.with_parsed(token, |p| self.verify_with_state(p, &entry, &state, now))
    }

    /// [`Authenticator::verify`] at the clock's current time.
    ///
    /// # Errors
    /// As [`Authenticator::verify`].
    pub async fn verify_now(&self, token: &str) -> Result<VerifiedPartner, AuthError> {
        self.verify_at(token, self.inner.clock.now().timestamp())
            .await
    }

    /// Forgets the cached keys and policy of a partner, e.g. after its `jwksUrl`, inline
    /// JWKS or token rules changed; its next token loads them again. An id that is not in
    /// canonical form names nothing cached.
    pub fn invalidate(&self, partner_id: &str) {
        if let Some(partner) = PartnerKey::parse_canonical(partner_id) {
            self.inner.cache.invalidate(partner);
        }
    }

    /// What is cached for a partner, if anything.
    pub fn cached_partner(&self, partner_id: &str) -> Option<CachedPartner> {
        let now = self.inner.clock.instant();
        let entry = self
            .inner
            .cache
            .peek(PartnerKey::parse_canonical(partner_id)?)?;
        let state = entry.state.load();
        state.as_deref().map(|st| CachedPartner {
            kids: st.keys.kids().map(str::to_owned).collect(),
            ttl: st.ttl,
            expires_in: st.expires_at.saturating_duration_since(now),
        })
    }

    /// How many partners have cached keys (at most `key_cache_size`).
    pub fn cached_partners(&self) -> usize {
        self.inner.cache.len()
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
        let t = self.inner.clock.instant();
        if let Some(entry) = self.inner.cache.get(p.claims.partner) {
            let state = entry.state.load();
            if let Some(st) = state.as_deref().filter(|st| st.is_fresh(t)) {
                if !st.policy.enabled {
                    return Err(disabled());
                }
                match st.keys.find(&p.kid, p.alg) {
                    Lookup::Found(key) => {
                        return self.check(&p, &entry, st, key, now).map(Fast::Done)
                    }
                    Lookup::WrongType(key_alg) => return Err(key_mismatch(p.alg, key_alg)),
                    Lookup::Missing => {}
                }
            }
        }
        Ok(Fast::Load {
            partner: p.claims.partner,
            kid: p.kid.into_owned(),
        })
    }

    /// After a load: verifies against `state`, which is final (no further refetch).
    fn verify_with_state(
        &self,
        p: Parsed<'_>,
        entry: &PartnerEntry,
        state: &KeyState,
        now: i64,
    ) -> Result<VerifiedPartner, AuthError> {
        if !state.policy.enabled {
            return Err(disabled());
        }
        if state.keys.is_empty() {
            return Err(AuthError::jwks(
                "JWKS unavailable: the partner's JWKS has no usable ES256 or RS256 key",
            ));
        }
        match state.keys.find(&p.kid, p.alg) {
            Lookup::Found(key) => self.check(&p, entry, state, key, now),
            Lookup::WrongType(key_alg) => Err(key_mismatch(p.alg, key_alg)),
            Lookup::Missing => Err(AuthError::new(
                AuthErrorKind::UnknownKid,
                "unknown kid: the partner's JWKS has no key with this kid",
            )),
        }
    }

    /// Signature, then scope and time claims, then the partner's own rules (audience, issuer,
    /// replay), the replay cache last so that only an otherwise valid token uses up its `jti`.
    fn check(
        &self,
        p: &Parsed<'_>,
        entry: &PartnerEntry,
        state: &KeyState,
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
        let policy = &state.policy;
        if let Some(aud) = &policy.audience {
            if !c.aud.iter().any(|a| a == aud) {
                return Err(AuthError::new(
                    AuthErrorKind::WrongAudience,
                    "aud does not name the audience the partner is bound to",
                ));
            }
        }
        if let Some(iss) = &policy.issuer {
            if c.iss.as_deref() != Some(iss.as_str()) {
                return Err(AuthError::new(
                    AuthErrorKind::WrongIssuer,
                    "iss is not the issuer the partner is bound to",
                ));
            }
        }
        if policy.require_jti {
            let Some(jti) = &c.jti else {
                return Err(AuthError::missing_claim("jti"));
            };
            // The token is accepted until exp + leeway: remember its jti that long.
            let until = c.exp.saturating_add(leeway);
            match entry.use_jti(jti_digest(jti), until, now, config.jti_cache_size) {
                Replay::Fresh => {}
                Replay::Replayed => {
                    return Err(AuthError::new(
                        AuthErrorKind::Replayed,
                        "token replayed: its jti was already used",
                    ))
                }
                Replay::Full => {
                    tracing::warn!(
                        partner.id = %c.partner,
                        "jti replay cache full; refusing tokens until old ones expire"
                    );
                    return Err(AuthError::new(
                        AuthErrorKind::ReplayCacheFull,
                        "replay cache full for this partner",
                    ));
                }
            }
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
    async fn load_keys(&self, partner: PartnerKey) -> Result<Option<KeyState>, LoadFailure> {
        let inner = &self.inner;
        let partner_id = &*partner.to_string();
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
        let policy = config.policy;
        let (keys, ttl) = match config.keys {
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
                let started = inner.clock.instant();
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
                    duration_ms = inner
                        .clock
                        .instant()
                        .saturating_duration_since(started)
                        .as_millis() as u64,
                    "JWKS fetched"
                );
                (keys, ttl)
            }
        };
        Ok(Some(KeyState::new(
            keys,
            policy,
            ttl,
            inner.clock.instant(),
        )))
    }
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// The replay cache keeps 16 bytes of SHA-256 per `jti` rather than the `jti` (up to 256
/// bytes): a collision would need 2^64 tokens.
fn jti_digest(jti: &str) -> [u8; 16] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, jti.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&d.as_ref()[..16]);
    out
}

fn disabled() -> AuthError {
    AuthError::new(
        AuthErrorKind::PartnerDisabled,
        "partner disabled by the operator",
    )
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
