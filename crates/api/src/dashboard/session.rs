//! Dashboard sessions: the admin token is exchanged once for a signed, expiring cookie.
//!
//! A session is `<expires unix s>.<id>.<mac>`: `id` is random, `mac` an HMAC-SHA256 of both
//! under a key derived from the master key, so nothing is stored per session and every
//! instance sharing the master key accepts it. Signing out puts the id on a revocation list
//! kept until the session would have expired anyway (in this process: another instance
//! still accepts the cookie until it expires; the browser has dropped it). The CSRF token of
//! a session is the HMAC of its id under the same key, so a form's token is bound to the
//! session that rendered it (an attacker's own session gives them a token that is worthless
//! in the victim's). Sign-in has its own pre-session token, bound to a short-lived cookie.
//! Time comes from the clock port, so tests move it instead of waiting.

use crate::limits::{Rate, RateLimiter};
use chrono::{DateTime, Duration, Utc};
use claimd_clock::SharedClock;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The session cookie; its path keeps it away from every other route.
pub const COOKIE: &str = "claimd_dashboard";
/// The sign-in form's cookie (the pre-session CSRF binding).
pub const LOGIN_COOKIE: &str = "claimd_dashboard_login";

/// Settings of the dashboard's sessions.
#[derive(Clone)]
pub struct SessionConfig {
    /// Key of the session and CSRF MACs (derive it from the master key).
    pub key: Zeroizing<[u8; 32]>,
    /// How long a session lasts from sign-in (absolute, not sliding).
    pub ttl: Duration,
    /// `Secure` cookies: everywhere but dev mode (plain http on loopback).
    pub secure_cookies: bool,
    /// Sign-in attempts per client address: sustained rate and burst.
    pub sign_in_rate: Rate,
    pub clock: SharedClock,
}

impl SessionConfig {
    /// 8-hour sessions, 10 sign-in attempts then one per 30 s per address.
    pub fn new(key: Zeroizing<[u8; 32]>, secure_cookies: bool, clock: SharedClock) -> Self {
        SessionConfig {
            key,
            ttl: Duration::hours(8),
            secure_cookies,
            sign_in_rate: Rate {
                per_second: 1.0 / 30.0,
                burst: 10.0,
            },
            clock,
        }
    }
}

impl SessionConfig {
    /// Sessions lasting `ttl` (`dashboard_session_secs`).
    pub fn with_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.ttl = Duration::from_std(ttl).unwrap_or(self.ttl);
        self
    }
}

/// A signed-in operator's session.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub expires: DateTime<Utc>,
    /// The token every form of this session carries.
    pub csrf: String,
}

/// Why a request has no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSession {
    Missing,
    /// Malformed or not signed by us.
    Invalid,
    Expired,
    SignedOut,
}

pub struct Sessions {
    config: SessionConfig,
    revoked: Mutex<HashMap<String, DateTime<Utc>>>,
    sign_in: RateLimiter<IpAddr>,
}

impl Sessions {
    pub fn new(config: SessionConfig) -> Self {
        let sign_in = RateLimiter::new(config.sign_in_rate, 10_000, config.clock.clone());
        Sessions {
            config,
            revoked: Mutex::new(HashMap::new()),
            sign_in,
        }
    }

    fn mac(&self, parts: &[&str]) -> String {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.config.key[..])
            .expect("HMAC takes a key of any length");
        for p in parts {
            m.update(p.as_bytes());
            m.update(b"\0");
        }
        hex(&m.finalize().into_bytes())
    }

    /// Takes a sign-in attempt from `ip`; `Err(wait)` past the rate.
    pub fn admit_sign_in(&self, ip: Option<IpAddr>) -> Result<(), std::time::Duration> {
        // Without a known peer (a router driven in process) all attempts share one bucket.
        self.sign_in
            .check(&ip.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)))
    }

    /// Whether `given` is the admin token, in constant time.
    pub fn is_admin_token(expected: &str, given: &str) -> bool {
        !expected.is_empty() && bool::from(given.trim().as_bytes().ct_eq(expected.as_bytes()))
    }

    /// A new session and its cookie value.
    pub fn start(&self) -> (Session, String) {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let expires = self.config.clock.now() + self.config.ttl;
        let secs = expires.timestamp().to_string();
        let cookie = format!("{secs}.{id}.{}", self.mac(&["session", &secs, &id]));
        (self.session(id, expires), cookie)
    }

    fn session(&self, id: String, expires: DateTime<Utc>) -> Session {
        Session {
            csrf: self.mac(&["csrf", &id]),
            id,
            expires,
        }
    }

    /// The session a cookie value names, if it is ours, unexpired and not signed out.
    pub fn open(&self, cookie: Option<&str>) -> Result<Session, NoSession> {
        let value = cookie.ok_or(NoSession::Missing)?;
        let mut parts = value.splitn(3, '.');
        let (Some(secs), Some(id), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoSession::Invalid);
        };
        let expected = self.mac(&["session", secs, id]);
        if !bool::from(mac.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(NoSession::Invalid);
        }
        let expires = secs
            .parse::<i64>()
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .ok_or(NoSession::Invalid)?;
        if self.config.clock.now() >= expires {
            return Err(NoSession::Expired);
        }
        if self.revoked().contains_key(id) {
            return Err(NoSession::SignedOut);
        }
        Ok(self.session(id.to_owned(), expires))
    }

    /// Whether a form's token is this session's, in constant time.
    pub fn csrf_ok(session: &Session, given: Option<&str>) -> bool {
        given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(session.csrf.as_bytes())))
    }

    /// Signs `session` out: refused from now on, remembered until it would have expired.
    pub fn end(&self, session: &Session) {
        let now = self.config.clock.now();
        let mut revoked = self.revoked();
        revoked.retain(|_, expires| *expires > now);
        revoked.insert(session.id.clone(), session.expires);
    }

    fn revoked(&self) -> std::sync::MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        self.revoked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh pre-session nonce for the sign-in form: (cookie value, form token).
    pub fn login_nonce(&self) -> (String, String) {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let token = self.mac(&["login", &nonce]);
        (nonce, token)
    }

    /// Whether the sign-in form's token belongs to the nonce in its cookie.
    pub fn login_token_ok(&self, cookie: Option<&str>, given: Option<&str>) -> bool {
        match (cookie, given) {
            (Some(nonce), Some(given)) => {
                let expected = self.mac(&["login", nonce]);
                bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
            }
            _ => false,
        }
    }

    /// `Set-Cookie` value of `name=value` for the dashboard's path, living `max_age` seconds
    /// (0 deletes it).
    pub fn cookie(&self, name: &str, value: &str, max_age: i64) -> String {
        let secure = if self.config.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        format!(
            "{name}={value}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            max_age.max(0)
        )
    }

    /// The session cookie's `Max-Age`: a day beyond the session, so that after expiry the
    /// browser still sends it and the sign-in page can say the session expired (the value
    /// itself is refused from its expiry on: that is signed into it).
    pub fn cookie_secs(&self, session: &Session) -> i64 {
        (session.expires - self.config.clock.now()).num_seconds() + 24 * 3600
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use claimd_clock::ManualClock;

    fn sessions(clock: &ManualClock, key: u8) -> Sessions {
        Sessions::new(SessionConfig::new(
            Zeroizing::new([key; 32]),
            true,
            clock.shared(),
        ))
    }

    #[test]
    fn a_session_opens_until_it_expires_or_is_ended() {
        let clock = ManualClock::new();
        let s = sessions(&clock, 1);
        let (session, cookie) = s.start();
        let opened = s.open(Some(&cookie)).unwrap();
        assert_eq!(opened.id, session.id);
        assert_eq!(opened.csrf, session.csrf);
        clock.advance(std::time::Duration::from_secs(8 * 3600 - 1));
        assert!(s.open(Some(&cookie)).is_ok());
        clock.advance(std::time::Duration::from_secs(1));
        assert_eq!(s.open(Some(&cookie)).unwrap_err(), NoSession::Expired);

        let (session, cookie) = s.start();
        s.end(&session);
        assert_eq!(s.open(Some(&cookie)).unwrap_err(), NoSession::SignedOut);
    }

    #[test]
    fn forged_or_foreign_cookies_are_refused() {
        let clock = ManualClock::new();
        let s = sessions(&clock, 1);
        let (_, cookie) = s.start();
        // Another key (another master key) signed it.
        assert_eq!(
            sessions(&clock, 2).open(Some(&cookie)).unwrap_err(),
            NoSession::Invalid
        );
        // A later expiry with the old MAC.
        let (secs, rest) = cookie.split_once('.').unwrap();
        let later = format!("{}.{rest}", secs.parse::<i64>().unwrap() + 3600);
        assert_eq!(s.open(Some(&later)).unwrap_err(), NoSession::Invalid);
        for bad in ["", "x", "1.2", "a.b.c", "..", "9999999999999999999.x.y"] {
            assert_eq!(s.open(Some(bad)).unwrap_err(), NoSession::Invalid, "{bad}");
        }
        assert_eq!(s.open(None).unwrap_err(), NoSession::Missing);
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let clock = ManualClock::new();
        let s = sessions(&clock, 1);
        let (a, _) = s.start();
        let (b, _) = s.start();
        assert!(Sessions::csrf_ok(&a, Some(&a.csrf)));
        assert!(!Sessions::csrf_ok(&a, Some(&b.csrf)));
        assert!(!Sessions::csrf_ok(&a, None));
        assert!(!Sessions::csrf_ok(&a, Some("")));
        let (nonce, token) = s.login_nonce();
        assert!(s.login_token_ok(Some(&nonce), Some(&token)));
        assert!(!s.login_token_ok(Some("other"), Some(&token)));
        assert!(!s.login_token_ok(None, Some(&token)));
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_outside_dev() {
        let clock = ManualClock::new();
        let s = sessions(&clock, 1);
        let c = s.cookie(COOKIE, "v", 60);
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/dashboard",
            "Secure",
            "Max-Age=60",
        ] {
            assert!(c.contains(part), "{c}");
        }
        let dev = Sessions::new(SessionConfig::new(
            Zeroizing::new([1; 32]),
            false,
            clock.shared(),
        ));
        assert!(!dev.cookie(COOKIE, "v", 60).contains("Secure"));
        assert_eq!(
            cookie_value(Some("a=1; claimd_dashboard=xyz; b=2"), COOKIE),
            Some("xyz")
        );
        assert_eq!(cookie_value(Some("claimd_dashboard_login=n"), COOKIE), None);
    }
}
