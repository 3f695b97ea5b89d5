//! [`AuthConfig`]: every knob of verification, the JWKS fetcher and the key cache.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Configuration of an [`crate::Authenticator`].
///
/// Deserialises from the `auth` section of the service's settings; every field has a
/// default, durations are written as seconds (`60`) or with a unit (`"500ms"`, `"60s"`,
/// `"5m"`, `"1h"`). The dev switches (`allow_http_loopback_jwks`, `allow_private_jwks_hosts`)
/// are what `CLAIMD_DEV` turns on; see [`AuthConfig::dev`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Accepted values of the `scope` claim, compared as whole strings.
    /// Default `["issue on-behalf", "issue"]`.
    pub accepted_scopes: Vec<String>,
    /// Clock leeway applied to `exp`, `nbf` and `iat`. Default 60 s, at most 5 min.
    #[serde(with = "duration_serde")]
    pub leeway: Duration,
    /// Maximum token lifetime: `exp - iat` may be at most this; a token without `iat` is
    /// judged by `exp - now` (plus the leeway). A stolen token is useful for no longer.
    /// Default 5 min.
    #[serde(with = "duration_serde")]
    pub max_lifetime: Duration,
    /// Allow JWKS URLs with plain `http` to loopback hosts (`127.0.0.0/8`, `::1`,
    /// `localhost`), and loopback addresses for `https` URLs. Dev only. Default false.
    pub allow_http_loopback_jwks: bool,
    /// Allow JWKS hosts that resolve to non-public addresses (private, link-local, unique
    /// local, CGNAT, loopback, …). Dev only. Default false.
    pub allow_private_jwks_hosts: bool,
    /// Wall-clock bound on one JWKS fetch, redirects and body included. Default 5 s.
    #[serde(with = "duration_serde")]
    pub fetch_timeout: Duration,
    /// Largest JWKS body accepted, in bytes. Default 64 KiB.
    pub max_jwks_bytes: usize,
    /// Largest number of redirects followed (each hop is checked against the address
    /// rules). Default 3.
    pub max_redirects: u8,
    /// Cache lifetime of a fetched JWKS without `Cache-Control: max-age`, and of an inline
    /// JWKS. Default 5 min.
    #[serde(with = "duration_serde")]
    pub cache_default_ttl: Duration,
    /// Lower bound on a JWKS cache lifetime (also used for `no-cache`/`no-store`).
    /// Default 30 s.
    #[serde(with = "duration_serde")]
    pub cache_min_ttl: Duration,
    /// Upper bound on a JWKS cache lifetime, whatever `max-age` says. Default 1 h.
    #[serde(with = "duration_serde")]
    pub cache_max_ttl: Duration,
    /// Per partner, the least time between two loads of its keys caused by an unknown `kid`
    /// or following a failed fetch. Default 10 s.
    #[serde(with = "duration_serde")]
    pub refetch_min_interval: Duration,
    /// How long past its expiry a cached JWKS may still be used while refetching it fails.
    /// Default 5 min; zero turns it off.
    #[serde(with = "duration_serde")]
    pub stale_if_error: Duration,
    /// Largest token accepted, in bytes, checked before any decoding. Default 8 KiB.
    pub max_token_bytes: usize,
    /// Most partners whose keys are cached; loading one more evicts the least recently used.
    /// Default 1000.
    pub key_cache_size: usize,
    /// Per partner that requires `jti`, most unexpired `jti`s remembered; when full, new
    /// tokens are refused until old ones expire (forgetting one would allow its replay).
    /// Default 100 000.
    pub jti_cache_size: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            accepted_scopes: vec!["issue on-behalf".to_owned(), "issue".to_owned()],
            leeway: Duration::from_secs(60),
            max_lifetime: Duration::from_secs(300),
            allow_http_loopback_jwks: false,
            allow_private_jwks_hosts: false,
            fetch_timeout: Duration::from_secs(5),
            max_jwks_bytes: 64 * 1024,
            max_redirects: 3,
            cache_default_ttl: Duration::from_secs(300),
            cache_min_ttl: Duration::from_secs(30),
            cache_max_ttl: Duration::from_secs(3600),
            refetch_min_interval: Duration::from_secs(10),
            stale_if_error: Duration::from_secs(300),
            max_token_bytes: 8 * 1024,
            key_cache_size: 1000,
            jti_cache_size: 100_000,
        }
    }
}

/// Absolute caps that no configuration may exceed.
pub(crate) const MAX_LEEWAY: Duration = Duration::from_secs(300);
pub(crate) const MAX_MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);
pub(crate) const MAX_TOKEN_BYTES_CAP: usize = 64 * 1024;
pub(crate) const MAX_JWKS_BYTES_CAP: usize = 4 * 1024 * 1024;

impl AuthConfig {
    /// The defaults with the dev switches on (loopback http and private hosts allowed), as
    /// `CLAIMD_DEV` wants.
    pub fn dev() -> Self {
        Self {
            allow_http_loopback_jwks: true,
            allow_private_jwks_hosts: true,
            ..Self::default()
        }
    }

    /// Checks cross-field rules and caps.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the offending setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.accepted_scopes.is_empty() || self.accepted_scopes.iter().any(|s| s.is_empty()) {
            return bad("accepted_scopes must be a non-empty list of non-empty strings");
        }
        if self.leeway > MAX_LEEWAY {
            return bad("leeway must be at most 300 s");
        }
        if self.max_lifetime.is_zero() || self.max_lifetime > MAX_MAX_LIFETIME {
            return bad("max_lifetime must be between 1 s and 24 h");
        }
        if self.fetch_timeout.is_zero() || self.fetch_timeout > Duration::from_secs(60) {
            return bad("fetch_timeout must be between 1 ms and 60 s");
        }
        if self.max_jwks_bytes < 256 || self.max_jwks_bytes > MAX_JWKS_BYTES_CAP {
            return bad("max_jwks_bytes must be between 256 B and 4 MiB");
        }
        if self.max_redirects > 10 {
            return bad("max_redirects must be at most 10");
        }
        if self.cache_min_ttl > self.cache_max_ttl {
            return bad("cache_min_ttl must not exceed cache_max_ttl");
        }
        if self.cache_max_ttl > Duration::from_secs(7 * 24 * 3600) {
            return bad("cache_max_ttl must be at most 7 days");
        }
        if self.max_token_bytes < 256 || self.max_token_bytes > MAX_TOKEN_BYTES_CAP {
            return bad("max_token_bytes must be between 256 B and 64 KiB");
        }
        if self.key_cache_size == 0 || self.key_cache_size > 1_000_000 {
            return bad("key_cache_size must be between 1 and 1000000");
        }
        if self.jti_cache_size == 0 || self.jti_cache_size > 10_000_000 {
            return bad("jti_cache_size must be between 1 and 10000000");
        }
        Ok(())
    }

    /// Clamps a cache lifetime into `[cache_min_ttl, cache_max_ttl]`.
    pub(crate) fn clamp_ttl(&self, ttl: Duration) -> Duration {
        ttl.clamp(self.cache_min_ttl, self.cache_max_ttl)
    }
}

/// Serde for durations as seconds or `"<n><unit>"`.
mod duration_serde {
    use std::time::Duration;

    use serde::de::{self, Deserializer, Visitor};
    use serde::Serializer;

    /// Writes whole seconds as `"60s"`, anything finer as `"1500ms"`.
    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        if d.subsec_millis() == 0 {
            s.serialize_str(&format!("{}s", d.as_secs()))
        } else {
            s.serialize_str(&format!("{}ms", d.as_millis()))
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a duration: seconds, or a string like \"500ms\", \"60s\", \"5m\", \"1h\"",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration::from_secs(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v)
                    .map(Duration::from_secs)
                    .map_err(|_| E::custom("a duration must not be negative"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                Duration::try_from_secs_f64(v).map_err(|_| E::custom("invalid duration"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                super::parse_duration(v).ok_or_else(|| E::custom("invalid duration"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses `"<n>"` (seconds) or `"<n>ms|s|m|h"`.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let secs = |k: u64| n.checked_mul(k).map(Duration::from_secs);
    match unit.trim() {
        "" | "s" => secs(1),
        "ms" => Some(Duration::from_millis(n)),
        "m" | "min" => secs(60),
        "h" => secs(3600),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let c = AuthConfig::default();
        c.validate().unwrap();
        assert_eq!(c.accepted_scopes, ["issue on-behalf", "issue"]);
        assert_eq!(c.leeway, Duration::from_secs(60));
        assert_eq!(c.max_lifetime, Duration::from_secs(300));
        assert_eq!(c.key_cache_size, 1000);
        assert!(!c.allow_http_loopback_jwks && !c.allow_private_jwks_hosts);
        AuthConfig::dev().validate().unwrap();
    }

    #[test]
    fn deserialises_durations_in_several_forms() {
        let c: AuthConfig = serde_json::from_str(
            r#"{"leeway": 30, "fetch_timeout": "1500ms", "cache_max_ttl": "2h", "max_lifetime": 900.0,
                "accepted_scopes": ["issue"]}"#,
        )
        .unwrap();
        assert_eq!(c.leeway, Duration::from_secs(30));
        assert_eq!(c.fetch_timeout, Duration::from_millis(1500));
        assert_eq!(c.cache_max_ttl, Duration::from_secs(7200));
        assert_eq!(c.max_lifetime, Duration::from_secs(900));
        assert_eq!(c.accepted_scopes, ["issue"]);
        assert!(serde_json::from_str::<AuthConfig>(r#"{"nope": 1}"#).is_err());
        let round_trip: AuthConfig =
            serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(round_trip, c);
        assert!(serde_json::from_str::<AuthConfig>(r#"{"leeway": "5 parsecs"}"#).is_err());
    }

    #[test]
    fn validation_rejects_out_of_range_settings() {
        let mut c = AuthConfig {
            leeway: Duration::from_secs(3600),
            ..AuthConfig::default()
        };
        assert!(c.validate().is_err());
        c = AuthConfig {
            accepted_scopes: vec![],
            ..AuthConfig::default()
        };
        assert!(c.validate().is_err());
        c = AuthConfig {
            cache_min_ttl: Duration::from_secs(10_000),
            ..AuthConfig::default()
        };
        assert!(c.validate().is_err());
        c = AuthConfig {
            key_cache_size: 0,
            ..AuthConfig::default()
        };
        assert!(c.validate().is_err());
    }
}
