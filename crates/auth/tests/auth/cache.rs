//! The key cache: warm hits, single-flight loads, rotation, rate limits, Cache-Control bounds,
//! staleness, one entry per partner however its id is spelled, the size bound.
//!
//! Cache lifetimes and rate limits run on the fixture's `ManualClock`: tests advance it
//! instead of sleeping, so they use the real default intervals (10 s, 30 s, minutes) and take
//! no time.

use std::sync::Arc;
use std::time::Duration;

use claimd_auth::testing::{
    authenticator, jwks, random_spelling, Behavior, FakePartners, JwksServer, TestKey,
};
use claimd_auth::{AuthConfig, AuthErrorKind, Authenticator, PartnerKeyConfig, GENERIC_MESSAGE};

use crate::common::*;

#[tokio::test]
async fn a_warm_cache_needs_no_fetch_or_lookup() {
    let f = fixture().await;
    for _ in 0..50 {
        for key in [&f.es, &f.rs] {
            f.verify(&key.token(PARTNER, EMAIL).build()).await.unwrap();
        }
    }
    assert_eq!(f.server.requests(), 1);
    assert_eq!(f.partners.lookups(), 1);
    let cached = f.auth.cached_partner(PARTNER).unwrap();
    let mut kids = cached.kids.clone();
    kids.sort();
    assert_eq!(kids, ["es-key-1", "rs-key-1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_a_cold_partner_cause_one_fetch() {
    let f = fixture().await;
    // Widen the window in which every request finds the partner cold.
    f.server
        .set_behavior(Behavior::Delay(Duration::from_millis(300)));
    let token = Arc::new(f.es.token(PARTNER, EMAIL).build());
    let auth = f.auth.clone();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let auth = auth.clone();
            let token = Arc::clone(&token);
            tokio::spawn(async move { auth.verify_now(&token).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().expect("verified");
    }
    assert_eq!(
        f.server.requests(),
        1,
        "one JWKS fetch for 64 concurrent requests"
    );
    assert_eq!(f.partners.lookups(), 1, "one partner lookup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_failing_fetch_and_then_back_off() {
    let f = fixture().await; // refetch_min_interval: 10 s
    f.server.set_behavior(Behavior::Status(500));
    let token = Arc::new(f.rs.token(PARTNER, EMAIL).build());
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let auth = f.auth.clone();
            let token = Arc::clone(&token);
            tokio::spawn(async move { auth.verify_now(&token).await })
        })
        .collect();
    for t in tasks {
        let err = t.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::JwksUnavailable);
        assert!(err.to_string().contains("HTTP 500"), "{err}");
    }
    assert_eq!(f.server.requests(), 1);
    // Within the back-off the failure is answered from memory.
    f.server.set_behavior(Behavior::Normal);
    f.clock.advance(Duration::from_millis(9_900));
    let err = f.verify(&token).await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::JwksUnavailable);
    assert_eq!(f.server.requests(), 1);
    // After it, the recovered endpoint is fetched again.
    f.clock.advance(Duration::from_millis(100));
    assert!(f.verify(&token).await.is_ok());
    assert_eq!(f.server.requests(), 2);
}

#[tokio::test]
async fn key_rotation_works_without_restart() {
    let f = fixture().await;
    assert!(f.verify(&f.es.token(PARTNER, EMAIL).build()).await.is_ok());

    // The partner publishes a new key, then starts signing with it.
    let new_key = TestKey::es256("es-key-2");
    f.server.set_jwks(jwks(&[&f.es, &f.rs, &new_key]));
    f.clock.advance(Duration::from_secs(10));
    let v = f
        .verify(&new_key.token(PARTNER, EMAIL).build())
        .await
        .unwrap();
    assert_eq!(v.kid, "es-key-2");
    assert_eq!(f.server.requests(), 2, "one refetch for the unknown kid");

    // The old key is retired; it keeps working until the cache expires (bounded by the TTL).
    f.server.set_jwks(jwks(&[&new_key]));
    assert!(f.verify(&f.es.token(PARTNER, EMAIL).build()).await.is_ok());
    assert!(f
        .verify(&new_key.token(PARTNER, EMAIL).build())
        .await
        .is_ok());
    assert_eq!(f.server.requests(), 2);
}

#[tokio::test]
async fn refetch_on_unknown_kid_is_rate_limited() {
    let f = fixture().await; // refetch_min_interval: 10 s
    assert!(f.verify(&f.es.token(PARTNER, EMAIL).build()).await.is_ok());
    assert_eq!(f.server.requests(), 1);
    // Right after the load, unknown kids do not refetch.
    for i in 0..20 {
        let token =
            f.es.token(PARTNER, EMAIL)
                .header("kid", format!("random-{i}"))
                .build();
        assert_eq!(f.kind(&token).await, AuthErrorKind::UnknownKid);
    }
    assert_eq!(
        f.server.requests(),
        1,
        "rate limit holds right after a load"
    );
    f.clock.advance(Duration::from_millis(9_999));
    let token = f.es.token(PARTNER, EMAIL).header("kid", "late").build();
    assert_eq!(f.kind(&token).await, AuthErrorKind::UnknownKid);
    assert_eq!(f.server.requests(), 1, "still within the interval");
    f.clock.advance(Duration::from_millis(1));
    // Once the interval passed: exactly one refetch, however many unknown kids follow.
    for i in 0..20 {
        let token =
            f.es.token(PARTNER, EMAIL)
                .header("kid", format!("again-{i}"))
                .build();
        assert_eq!(f.kind(&token).await, AuthErrorKind::UnknownKid);
    }
    assert_eq!(f.server.requests(), 2);
    // Known kids stay on the lock-free path meanwhile.
    assert!(f.verify(&f.rs.token(PARTNER, EMAIL).build()).await.is_ok());
    assert_eq!(f.server.requests(), 2);
}

#[tokio::test]
async fn cache_control_is_honoured_within_bounds() {
    let f = fixture().await; // min 30 s, max 1 h, default 5 min
    let token = f.es.token(PARTNER, EMAIL).build();
    for (cache_control, expected) in [
        (Some("public, max-age=120"), 120),
        (Some("max-age=5"), 30),
        (Some("max-age=99999999"), 3600),
        (Some("no-store"), 30),
        (Some("no-cache, max-age=600"), 30),
        (Some("public"), 300),
        (None, 300),
    ] {
        f.server.set_cache_control(cache_control);
        f.auth.invalidate(PARTNER);
        assert!(f.verify(&token).await.is_ok());
        let cached = f.auth.cached_partner(PARTNER).unwrap();
        assert_eq!(
            cached.ttl,
            Duration::from_secs(expected),
            "{cache_control:?}"
        );
        assert!(cached.expires_in <= cached.ttl);
    }
}

#[tokio::test]
async fn expired_keys_are_refetched() {
    let f = fixture().await;
    f.server.set_cache_control(Some("max-age=60"));
    let token = f.es.token(PARTNER, EMAIL).build();
    assert!(f.verify(&token).await.is_ok());
    f.clock.advance(Duration::from_millis(59_999));
    assert!(f.verify(&token).await.is_ok());
    assert_eq!(f.server.requests(), 1, "fresh until max-age");
    f.clock.advance(Duration::from_millis(1));
    assert!(f.verify(&token).await.is_ok());
    assert_eq!(f.server.requests(), 2);
    assert_eq!(
        f.partners.lookups(),
        2,
        "the partner's key config is looked up at each reload"
    );
}

#[tokio::test]
async fn expired_keys_serve_within_stale_if_error_only() {
    for stale in [Duration::from_secs(60), Duration::ZERO] {
        let f = fixture_with(AuthConfig {
            stale_if_error: stale,
            ..loopback_config()
        })
        .await;
        f.server.set_cache_control(Some("max-age=60"));
        let token = f.es.token(PARTNER, EMAIL).build();
        assert!(f.verify(&token).await.is_ok());
        f.server.set_behavior(Behavior::Status(503));
        f.clock.advance(Duration::from_secs(61));
        let result = f.verify(&token).await;
        if stale.is_zero() {
            assert_eq!(result.unwrap_err().kind(), AuthErrorKind::JwksUnavailable);
        } else {
            assert!(result.is_ok(), "stale keys are used while the JWKS is down");
        }
        assert_eq!(f.server.requests(), 2);
        if !stale.is_zero() {
            // Past expiry + stale_if_error (and past the refetch back-off) the stale keys
            // are no longer used.
            f.clock.advance(stale);
            let token = f.es.token(PARTNER, EMAIL).build();
            assert_eq!(f.kind(&token).await, AuthErrorKind::JwksUnavailable);
            assert_eq!(f.server.requests(), 3);
        }
    }
}

#[tokio::test]
async fn invalidate_applies_a_changed_partner_config() {
    let f = fixture().await;
    assert!(f.verify(&f.es.token(PARTNER, EMAIL).build()).await.is_ok());
    let replacement = TestKey::rs256("replacement");
    f.partners
        .insert(PARTNER, PartnerKeyConfig::Jwks(replacement.jwks()));
    // Still cached: the old keys answer.
    assert!(f.verify(&f.es.token(PARTNER, EMAIL).build()).await.is_ok());
    f.auth.invalidate(PARTNER);
    assert_eq!(
        f.kind(&f.es.token(PARTNER, EMAIL).build()).await,
        AuthErrorKind::UnknownKid
    );
    assert!(f
        .verify(&replacement.token(PARTNER, EMAIL).build())
        .await
        .is_ok());
}

#[tokio::test]
async fn a_removed_partner_is_refused_after_reload() {
    let f = fixture().await;
    f.server.set_cache_control(Some("max-age=60"));
    let token = f.es.token(PARTNER, EMAIL).build();
    assert!(f.verify(&token).await.is_ok());
    f.partners.remove(PARTNER);
    f.clock.advance(Duration::from_secs(60));
    assert_eq!(f.kind(&token).await, AuthErrorKind::UnknownPartner);
    assert!(f.auth.cached_partner(PARTNER).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_partners_load_independently() {
    let partners = FakePartners::new();
    let mut servers = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..8 {
        let key = TestKey::es256(format!("k{i}"));
        let server = JwksServer::start(key.jwks()).await;
        server.set_behavior(Behavior::Delay(Duration::from_millis(100)));
        let id = format!("00000000-0000-4000-8000-00000000000{i}");
        partners.insert(&id, PartnerKeyConfig::JwksUrl(server.url()));
        tokens.push(Arc::new(key.token(&id, EMAIL).build()));
        servers.push(server);
    }
    let auth = authenticator(loopback_config(), partners.clone());
    let mut tasks = Vec::new();
    for _ in 0..4 {
        for token in &tokens {
            let auth = auth.clone();
            let token = Arc::clone(token);
            tasks.push(tokio::spawn(async move { auth.verify_now(&token).await }));
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    for s in &servers {
        assert_eq!(s.requests(), 1);
    }
    assert_eq!(partners.lookups(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_spellings_of_a_partner_id_are_refused_before_any_lookup_or_fetch() {
    let f = fixture().await;
    let mut seed = 0x5eed;
    let tokens: Vec<_> = (0..200)
        .map(|_| {
            Arc::new(
                f.es.token(&random_spelling(PARTNER, &mut seed), EMAIL)
                    .build(),
            )
        })
        .collect();
    let tasks: Vec<_> = tokens
        .iter()
        .map(|token| {
            let auth = f.auth.clone();
            let token = Arc::clone(token);
            tokio::spawn(async move { auth.verify_now(&token).await })
        })
        .collect();
    for t in tasks {
        let err = t.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::InvalidPartnerId);
        assert_eq!(err.public_message(), GENERIC_MESSAGE);
    }
    assert!(
        f.server.requests() <= 1,
        "{} JWKS fetches",
        f.server.requests()
    );
    assert_eq!(f.server.requests(), 0);
    assert_eq!(f.partners.lookups(), 0);
    assert_eq!(f.auth.cached_partners(), 0);
    // The canonical spelling: one lookup, one fetch, one entry.
    assert!(f.verify(&f.es.token(PARTNER, EMAIL).build()).await.is_ok());
    assert_eq!(f.server.requests(), 1);
    assert_eq!(f.auth.cached_partners(), 1);
}

#[tokio::test]
async fn the_cache_holds_at_most_key_cache_size_partners_evicting_the_least_recently_used() {
    let key = TestKey::es256("k");
    let server = JwksServer::start(key.jwks()).await;
    let partners = FakePartners::new();
    let ids: Vec<String> = (0..8)
        .map(|i| format!("00000000-0000-4000-8000-00000000000{i}"))
        .collect();
    for id in &ids {
        partners.insert(id, PartnerKeyConfig::JwksUrl(server.url()));
    }
    let auth = Authenticator::new(
        AuthConfig {
            key_cache_size: 3,
            ..loopback_config()
        },
        partners.clone(),
        claimd_clock::ManualClock::new().shared(),
    )
    .unwrap();
    let verify = |id: &str| {
        let token = key.token(id, EMAIL).build();
        let auth = auth.clone();
        async move { auth.verify_now(&token).await }
    };
    for (n, id) in ids.iter().take(5).enumerate() {
        assert!(verify(id).await.is_ok());
        assert_eq!(auth.cached_partners(), (n + 1).min(3));
    }
    assert_eq!(server.requests(), 5);
    // Partners 2, 3, 4 are cached. Using 2 makes 3 the least recently used.
    assert!(verify(&ids[2]).await.is_ok());
    assert_eq!(server.requests(), 5, "a hit");
    assert!(verify(&ids[5]).await.is_ok());
    assert_eq!(auth.cached_partners(), 3);
    assert!(auth.cached_partner(&ids[3]).is_none(), "evicted");
    for id in [&ids[2], &ids[4], &ids[5]] {
        assert!(auth.cached_partner(id).is_some());
    }
    // An evicted partner still authenticates: it is loaded again.
    assert!(verify(&ids[0]).await.is_ok());
    assert_eq!(server.requests(), 7);
    assert_eq!(auth.cached_partners(), 3);
    // Unknown partners never take a place.
    let stranger = "00000000-0000-4000-8000-0000000000ff";
    assert_eq!(
        verify(stranger).await.unwrap_err().kind(),
        AuthErrorKind::UnknownPartner
    );
    assert_eq!(auth.cached_partners(), 3);
    assert!(auth.cached_partner(&ids[0]).is_some());
}
