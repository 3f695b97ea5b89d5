//! Hostile and operator-restricted Partner JWTs, sent for real over HTTP to the real binary:
//! other spellings of a partner id, disabled partners, audience/issuer bindings, replayed
//! `jti`s. Each is refused with a 401 whose message tells nothing about what is registered,
//! costs no extra JWKS fetch, and is counted in `claimd_auth_failures_total{reason}`.

mod common;

use claimd_auth::testing::random_spelling;
use claimd_testkit::app::metric_sum_in;
use common::fixture::Fixture;
use common::Backend;
use serde_json::{json, Value};

const GENERIC: &str = "invalid partner token";

/// `GET /v1/credentials/status` of an unknown hash: 404 when the token is accepted, 401 when
/// it is refused; (status, message).
async fn call(f: &Fixture, token: &str) -> (u16, String) {
    let r = f
        .http
        .get(format!(
            "{}/v1/credentials/status?coreClaimHash=0x00",
            f.url()
        ))
        .header("x-partner-auth", token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (
        status,
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn accepted(f: &Fixture, token: &str) -> bool {
    match call(f, token).await {
        (401, _) => false,
        (s, m) => {
            assert_ne!(s, 503, "{m}");
            true
        }
    }
}

#[track_caller]
fn assert_refused_generically(got: (u16, String)) {
    assert_eq!(got, (401, GENERIC.to_owned()));
}

async fn failures(f: &Fixture, reason: &str) -> f64 {
    let text = f.server().get_text("/metrics").await;
    metric_sum_in(
        &text,
        "claimd_auth_failures_total",
        Some(&format!("reason=\"{reason}\"")),
    )
}

#[tokio::test]
async fn hostile_and_restricted_partner_tokens_over_http() {
    let f = Fixture::new(Backend::Sqlite).await;
    let key = f.key().clone();
    let email = "alice@example.com";

    // 200 upper-cased spellings of the partner's id: all refused, at most one JWKS fetch.
    let fetches = f.jwks_requests();
    let mut seed = 7;
    let fr = &f;
    let calls: Vec<_> = (0..200)
        .map(|_| {
            let token = key
                .token(&random_spelling(&fr.partner, &mut seed), email)
                .build();
            async move { call(fr, &token).await }
        })
        .collect();
    for got in futures::future::join_all(calls).await {
        assert_refused_generically(got);
    }
    assert!(
        f.jwks_requests() - fetches <= 1,
        "{} fetches",
        f.jwks_requests() - fetches
    );
    assert!(failures(&f, "invalid_partner_id").await >= 200.0);

    // Unknown partner, unknown kid and bad signature read the same.
    let stranger = claimd_auth::testing::TestKey::es256(key.kid());
    for token in [
        key.token("0b6d8f0e-3c1a-4f5e-9a7b-1c2d3e4f5a6b", email)
            .build(),
        key.token(&f.partner, email).header("kid", "nope").build(),
        stranger.token(&f.partner, email).build(),
    ] {
        assert_refused_generically(call(&f, &token).await);
    }
    assert!(failures(&f, "unknown_partner").await >= 1.0);
    assert!(failures(&f, "bad_signature").await >= 1.0);
    assert!(accepted(&f, &f.token(email)).await);

    // A token living longer than the maximum (5 minutes by default) is refused.
    let now = chrono::Utc::now().timestamp();
    let long = key.token(&f.partner, email).times(now, now + 301).build();
    assert_eq!(call(&f, &long).await.0, 401);

    // Disabled by the operator: every call refused; enabled again: accepted.
    let p = f
        .server()
        .admin_ok(&["partner", "update", &f.partner, "--enabled=false"]);
    assert_eq!(p["enabled"], json!(false));
    assert_refused_generically(call(&f, &f.token(email)).await);
    assert!(failures(&f, "partner_disabled").await >= 1.0);
    f.server()
        .admin_ok(&["partner", "update", &f.partner, "--enabled"]);
    assert!(accepted(&f, &f.token(email)).await);

    // Bound to an audience and an issuer: tokens without them are refused.
    let p = f.server().admin_ok(&[
        "partner",
        "update",
        &f.partner,
        "--audience",
        "https://claimd.example",
        "--token-issuer",
        "acme-backend",
    ]);
    assert_eq!(
        (&p["audience"], &p["issuer"]),
        (&json!("https://claimd.example"), &json!("acme-backend"))
    );
    assert_refused_generically(call(&f, &f.token(email)).await);
    let only_aud = key
        .token(&f.partner, email)
        .claim("aud", "https://claimd.example")
        .build();
    assert_refused_generically(call(&f, &only_aud).await);
    let both = key
        .token(&f.partner, email)
        .claim("aud", json!(["other", "https://claimd.example"]))
        .claim("iss", "acme-backend")
        .build();
    assert!(accepted(&f, &both).await);
    assert!(failures(&f, "wrong_audience").await >= 1.0);
    assert!(failures(&f, "wrong_issuer").await >= 1.0);
    f.server().admin_ok(&[
        "partner",
        "update",
        &f.partner,
        "--no-audience",
        "--no-token-issuer",
    ]);
    assert!(accepted(&f, &f.token(email)).await);

    // Replay protection: a jti is accepted once.
    f.server()
        .admin_ok(&["partner", "update", &f.partner, "--require-jti"]);
    assert_eq!(call(&f, &f.token(email)).await.0, 401, "a jti is required");
    let once = key.token(&f.partner, email).claim("jti", "call-1").build();
    assert!(accepted(&f, &once).await);
    assert_refused_generically(call(&f, &once).await);
    assert!(failures(&f, "token_replayed").await >= 1.0);
    let p = f.server().admin_ok(&["partner", "get", &f.partner]);
    assert_eq!(p["requireJti"], json!(true));
}
