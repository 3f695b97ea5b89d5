//! The operator's per-partner rules (disabled, audience, issuer, `jti` replay), the maximum
//! token lifetime, and the generic caller-facing message.

use std::time::Duration;

use claimd_auth::testing::{now_unix, TestKey};
use claimd_auth::{AuthErrorKind, PartnerPolicy, GENERIC_MESSAGE};

use crate::common::*;

#[tokio::test]
async fn a_disabled_partner_is_refused_whatever_it_sends() {
    let f = fixture().await;
    assert!(f.verify(&f.es.token(PARTNER, EMAIL).build()).await.is_ok());
    f.partners
        .set_policy(PARTNER, PartnerPolicy::default().enabled(false));
    f.auth.invalidate(PARTNER);
    for token in [
        f.es.token(PARTNER, EMAIL).build(),
        f.rs.token(PARTNER, EMAIL).build(),
        f.es.token(PARTNER, EMAIL).header("kid", "unknown").build(),
    ] {
        let err = rejected(f.verify(&token).await, &token);
        assert_eq!(err.kind(), AuthErrorKind::PartnerDisabled);
        assert_eq!(err.public_message(), GENERIC_MESSAGE);
    }
    // Enabled again: accepted.
    f.partners.set_policy(PARTNER, PartnerPolicy::default());
    f.auth.invalidate(PARTNER);
    assert!(f.verify(&f.es.token(PARTNER, EMAIL).build()).await.is_ok());
}

#[tokio::test]
async fn a_disabled_partner_is_refused_after_the_cache_lifetime_without_invalidation() {
    // Another instance changed the partner: this one learns it at the next reload.
    let f = fixture().await;
    f.server.set_cache_control(Some("max-age=60"));
    assert!(f.verify(&f.es.token(PARTNER, EMAIL).build()).await.is_ok());
    f.partners
        .set_policy(PARTNER, PartnerPolicy::default().enabled(false));
    f.clock.advance(Duration::from_secs(60));
    let token = f.es.token(PARTNER, EMAIL).build();
    assert_eq!(f.kind(&token).await, AuthErrorKind::PartnerDisabled);
}

#[tokio::test]
async fn audience_and_issuer_bindings_are_enforced_when_set() {
    let f = fixture().await;
    let token = |aud: Option<serde_json::Value>, iss: Option<&str>| {
        let mut b = f.es.token(PARTNER, EMAIL);
        if let Some(a) = aud {
            b = b.claim("aud", a);
        }
        if let Some(i) = iss {
            b = b.claim("iss", i);
        }
        b.build()
    };
    // Not bound: aud and iss are ignored.
    assert!(f
        .verify(&token(Some("anything".into()), Some("whoever")))
        .await
        .is_ok());

    f.partners.set_policy(
        PARTNER,
        PartnerPolicy::new(Some("https://claimd.example".into()), None, false),
    );
    f.auth.invalidate(PARTNER);
    for bad in [
        None,
        Some(serde_json::json!("https://other.example")),
        Some(serde_json::json!(["a", "b"])),
        Some(serde_json::json!("HTTPS://CLAIMD.EXAMPLE")),
    ] {
        let t = token(bad.clone(), None);
        let err = rejected(f.verify(&t).await, &t);
        assert_eq!(err.kind(), AuthErrorKind::WrongAudience, "{bad:?}");
        assert_eq!(err.public_message(), GENERIC_MESSAGE);
    }
    assert!(f
        .verify(&token(Some("https://claimd.example".into()), None))
        .await
        .is_ok());
    assert!(f
        .verify(&token(
            Some(serde_json::json!(["x", "https://claimd.example"])),
            None
        ))
        .await
        .is_ok());

    f.partners.set_policy(
        PARTNER,
        PartnerPolicy::new(None, Some("acme-backend".into()), false),
    );
    f.auth.invalidate(PARTNER);
    for bad in [None, Some("acme"), Some("acme-backend ")] {
        let t = token(None, bad);
        assert_eq!(f.kind(&t).await, AuthErrorKind::WrongIssuer, "{bad:?}");
    }
    assert!(f.verify(&token(None, Some("acme-backend"))).await.is_ok());
}

#[tokio::test]
async fn a_jti_is_accepted_once_while_its_token_lives() {
    let f = fixture().await;
    f.partners
        .set_policy(PARTNER, PartnerPolicy::new(None, None, true));
    let now = now_unix();
    let without = f.es.token(PARTNER, EMAIL).build();
    let err = rejected(f.verify(&without).await, &without);
    assert_eq!(err.kind(), AuthErrorKind::MissingClaim);

    let once = f.es.token(PARTNER, EMAIL).claim("jti", "j-1").build();
    assert!(f.verify(&once).await.is_ok());
    let err = rejected(f.verify(&once).await, &once);
    assert_eq!(err.kind(), AuthErrorKind::Replayed);
    assert_eq!(err.public_message(), GENERIC_MESSAGE);
    // Another token (other key, other times) with the same jti is a replay too.
    let again =
        f.rs.token(PARTNER, EMAIL)
            .times(now, now + 100)
            .claim("jti", "j-1")
            .build();
    assert_eq!(f.kind(&again).await, AuthErrorKind::Replayed);

    // A token refused for another reason does not use its jti up.
    let wrong_scope =
        f.es.token(PARTNER, EMAIL)
            .claim("scope", "verify")
            .claim("jti", "j-2")
            .build();
    assert_eq!(f.kind(&wrong_scope).await, AuthErrorKind::WrongScope);
    let stranger = TestKey::es256(f.es.kid());
    let forged = stranger.token(PARTNER, EMAIL).claim("jti", "j-2").build();
    assert_eq!(f.kind(&forged).await, AuthErrorKind::BadSignature);
    let good = f.es.token(PARTNER, EMAIL).claim("jti", "j-2").build();
    assert!(f.verify(&good).await.is_ok());

    // Once the first token expired (exp + leeway), its jti may come back in a new token.
    let later = f.after_expiry_with_jti("j-1");
    assert!(f.verify(&later).await.is_ok());
}

#[tokio::test]
async fn a_full_replay_cache_refuses_until_entries_expire() {
    let f = fixture_with(claimd_auth::AuthConfig {
        jti_cache_size: 3,
        ..loopback_config()
    })
    .await;
    f.partners
        .set_policy(PARTNER, PartnerPolicy::new(None, None, true));
    for i in 0..3 {
        let t =
            f.es.token(PARTNER, EMAIL)
                .claim("jti", format!("j{i}"))
                .build();
        assert!(f.verify(&t).await.is_ok());
    }
    let t = f.es.token(PARTNER, EMAIL).claim("jti", "j3").build();
    assert_eq!(f.kind(&t).await, AuthErrorKind::ReplayCacheFull);
    let t = f.after_expiry_with_jti("j3");
    assert!(f.verify(&t).await.is_ok());
}

#[tokio::test]
async fn unknown_partner_unknown_kid_and_bad_signature_read_the_same() {
    let f = fixture().await;
    let unknown_partner =
        f.es.token("5e5e5e5e-0000-4000-8000-00000000000f", EMAIL)
            .build();
    let unknown_kid = f.es.token(PARTNER, EMAIL).header("kid", "nope").build();
    let bad_signature = TestKey::es256(f.es.kid()).token(PARTNER, EMAIL).build();
    let upper = f.es.token(&PARTNER.to_uppercase(), EMAIL).build();
    let mut kinds = Vec::new();
    for t in [&unknown_partner, &unknown_kid, &bad_signature, &upper] {
        let err = rejected(f.verify(t).await, t);
        assert_eq!(err.public_message(), GENERIC_MESSAGE);
        kinds.push(err.kind());
    }
    assert_eq!(
        kinds,
        [
            AuthErrorKind::UnknownPartner,
            AuthErrorKind::UnknownKid,
            AuthErrorKind::BadSignature,
            AuthErrorKind::InvalidPartnerId
        ]
    );
    // Errors in the token's own form and times still say what is wrong.
    let expired =
        f.es.token(PARTNER, EMAIL)
            .times(now_unix() - 400, now_unix() - 100)
            .build();
    let err = rejected(f.verify(&expired).await, &expired);
    assert_eq!(err.public_message(), "token expired");
}

#[tokio::test]
async fn a_token_without_iat_is_judged_by_exp_minus_now() {
    let f = fixture().await;
    // The clock moves on: a token without iat whose exp is 6 minutes after the clock's now
    // is too long-lived, one whose exp is 5 minutes after it is fine.
    f.clock.advance(Duration::from_secs(1000));
    let now = f.clock_now();
    let long =
        f.es.token(PARTNER, EMAIL)
            .without_iat(now + 300 + 60 + 1)
            .build();
    assert_eq!(f.kind(&long).await, AuthErrorKind::LifetimeTooLong);
    let fine = f.es.token(PARTNER, EMAIL).without_iat(now + 300).build();
    assert!(f.verify(&fine).await.is_ok());
}
