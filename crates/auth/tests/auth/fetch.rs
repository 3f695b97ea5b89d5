//! The JWKS endpoint misbehaving: slow, down, erroring, junk, huge, redirecting (SSRF).

use std::time::{Duration, Instant};

use claimd_auth::testing::{authenticator, Behavior, FakePartners, JwksServer, TestKey};
use claimd_auth::{AuthConfig, AuthErrorKind, Authenticator, PartnerKeyConfig};
use serde_json::json;

use crate::common::*;

fn fast_config() -> AuthConfig {
    AuthConfig {
        fetch_timeout: Duration::from_millis(400),
        ..loopback_config()
    }
}

/// An authenticator for one partner whose JWKS URL is `url`.
fn auth_for(url: &str, config: AuthConfig) -> (Authenticator, std::sync::Arc<FakePartners>) {
    let partners = FakePartners::new();
    partners.insert(PARTNER, PartnerKeyConfig::JwksUrl(url.to_owned()));
    (authenticator(config, partners.clone()), partners)
}

async fn jwks_error(auth: &Authenticator, key: &TestKey) -> String {
    let token = key.token(PARTNER, EMAIL).build();
    let err = rejected(auth.verify_now(&token).await, &token);
    assert_eq!(err.kind(), AuthErrorKind::JwksUnavailable, "{err:?}");
    err.to_string()
}

/// The JWKS error a fresh authenticator for `url` (with `config`) reports for `key`'s token.
async fn jwks_error_at(url: &str, config: AuthConfig, key: &TestKey) -> String {
    let (auth, _) = auth_for(url, config);
    jwks_error(&auth, key).await
}

#[tokio::test]
async fn jwks_over_http_on_loopback_works_with_the_dev_switch() {
    let f = fixture().await;
    let token = f.rs.token(PARTNER, EMAIL).build();
    assert!(f.verify(&token).await.is_ok());
    assert_eq!(f.server.requests(), 1);
    // `localhost` resolves to loopback and is accepted as well.
    let key = TestKey::es256("k");
    let server = JwksServer::start(key.jwks()).await;
    let url = format!("http://localhost:{}/jwks", server.addr().port());
    let (auth, _) = auth_for(&url, loopback_config());
    assert!(auth
        .verify_now(&key.token(PARTNER, EMAIL).build())
        .await
        .is_ok());
}

#[tokio::test]
async fn jwks_endpoint_down_gives_a_clear_401() {
    // A port on which nothing listens.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let msg = jwks_error_at(
        &format!("http://127.0.0.1:{port}/jwks.json"),
        fast_config(),
        &TestKey::es256("k"),
    )
    .await;
    assert!(msg.starts_with("JWKS unreachable"), "{msg}");
}

#[tokio::test]
async fn jwks_endpoint_errors_give_a_clear_401() {
    let key = TestKey::es256("k");
    let server = JwksServer::start(key.jwks()).await;
    for status in [500u16, 503, 404, 403, 204] {
        server.set_behavior(Behavior::Status(status));
        let msg = jwks_error_at(&server.url(), fast_config(), &key).await;
        if status == 204 {
            // An empty 200-class body is not a JWKS.
            assert!(msg.contains("not valid JSON"), "{msg}");
        } else {
            assert!(msg.contains(&format!("HTTP {status}")), "{msg}");
        }
    }
}

#[tokio::test]
async fn slow_jwks_endpoint_times_out_instead_of_hanging() {
    let key = TestKey::es256("k");
    let server = JwksServer::start(key.jwks()).await;
    server.set_behavior(Behavior::Delay(Duration::from_secs(5)));
    let (auth, _) = auth_for(&server.url(), fast_config());
    let started = Instant::now();
    let msg = jwks_error(&auth, &key).await;
    assert!(msg.contains("timed out"), "{msg}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Headers arrive, the body never completes: the same bound applies.
    server.set_behavior(Behavior::StallBody);
    let (auth, _) = auth_for(&server.url(), fast_config());
    let started = Instant::now();
    let msg = jwks_error(&auth, &key).await;
    assert!(msg.contains("timed out"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn junk_and_non_jwks_bodies_are_refused() {
    let key = TestKey::es256("k");
    let server = JwksServer::start(key.jwks()).await;
    server.set_behavior(Behavior::Junk);
    let msg = jwks_error_at(&server.url(), fast_config(), &key).await;
    assert!(msg.contains("not valid JSON"), "{msg}");

    for doc in [
        json!({"foo": 1}),
        json!([]),
        json!({"keys": "x"}),
        json!(null),
    ] {
        server.set_behavior(Behavior::Normal);
        server.set_jwks(doc.clone());
        let msg = jwks_error_at(&server.url(), fast_config(), &key).await;
        assert!(msg.contains("not a JWKS"), "{doc}: {msg}");
    }
    // A JWKS whose keys are all unusable.
    server.set_jwks(json!({"keys": [{"kty": "oct", "kid": "k", "k": "AAAA"}]}));
    let msg = jwks_error_at(&server.url(), fast_config(), &key).await;
    assert!(msg.contains("no usable"), "{msg}");
}

#[tokio::test]
async fn oversized_jwks_is_refused() {
    let key = TestKey::es256("k");
    let server = JwksServer::start(key.jwks()).await;
    let config = AuthConfig {
        max_jwks_bytes: 16 * 1024,
        ..fast_config()
    };
    for behavior in [
        Behavior::Huge(10 * 1024 * 1024),
        Behavior::HugeDeclared(64 * 1024),
    ] {
        server.set_behavior(behavior.clone());
        let msg = jwks_error_at(&server.url(), config.clone(), &key).await;
        assert!(
            msg.contains("larger than 16384 bytes"),
            "{behavior:?}: {msg}"
        );
    }
}

#[tokio::test]
async fn redirect_to_the_metadata_service_is_refused() {
    let key = TestKey::es256("k");
    let server = JwksServer::start(key.jwks()).await;
    // Loopback http is on (as in dev), private hosts are not: the redirect target is checked
    // before any connection is attempted.
    for target in [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:169.254.169.254]/",
        "https://[fd00:ec2::254]/",
        "https://10.0.0.1/jwks.json",
        "https://192.168.1.1/jwks.json",
        "https://100.64.0.1/jwks.json",
        "https://0.0.0.0/jwks.json",
        "https://2852039166/", // 169.254.169.254 as one integer
        "gopher://169.254.169.254/",
        "file:///etc/passwd",
    ] {
        server.set_behavior(Behavior::Redirect(target.to_owned()));
        let msg = jwks_error_at(&server.url(), fast_config(), &key).await;
        assert!(msg.contains("not allowed"), "{target}: {msg}");
    }
}

#[tokio::test]
async fn redirects_are_followed_within_bounds_and_each_hop_checked() {
    let key = TestKey::es256("k");
    let target = JwksServer::start(key.jwks()).await;
    let hop = JwksServer::start(json!({})).await;
    hop.set_behavior(Behavior::Redirect(target.url()));
    let (auth, _) = auth_for(&hop.url(), fast_config());
    assert!(auth
        .verify_now(&key.token(PARTNER, EMAIL).build())
        .await
        .is_ok());
    assert_eq!((hop.requests(), target.requests()), (1, 1));

    // A redirect loop stops at max_redirects.
    let looping = JwksServer::start(json!({})).await;
    looping.set_behavior(Behavior::Redirect(looping.url()));
    let msg = jwks_error_at(&looping.url(), fast_config(), &key).await;
    assert!(msg.contains("too many redirects"), "{msg}");
    assert_eq!(looping.requests(), 4, "the first request and 3 redirects");

    // A redirect without Location.
    hop.set_behavior(Behavior::Status(302));
    let msg = jwks_error_at(&hop.url(), fast_config(), &key).await;
    assert!(msg.contains("Location"), "{msg}");
}

#[tokio::test]
async fn production_mode_refuses_http_and_non_public_hosts_without_connecting() {
    let key = TestKey::es256("k");
    let server = JwksServer::start(key.jwks()).await;
    let port = server.addr().port();
    let prod = AuthConfig {
        fetch_timeout: Duration::from_millis(400),
        ..AuthConfig::default()
    };
    for (url, expect) in [
        (
            format!("http://127.0.0.1:{port}/jwks.json"),
            "https is required",
        ),
        (format!("https://127.0.0.1:{port}/jwks.json"), "not public"),
        (format!("https://[::1]:{port}/jwks.json"), "not public"),
        (format!("https://localhost:{port}/jwks.json"), "non-public"),
        (format!("https://127.1:{port}/jwks.json"), "not public"),
        (
            "https://169.254.169.254/latest/meta-data/".to_owned(),
            "not public",
        ),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "https is required",
        ),
        ("https://user:pw@jwks.example/".to_owned(), "credentials"),
    ] {
        let msg = jwks_error_at(&url, prod.clone(), &key).await;
        assert!(
            msg.contains("not allowed") && msg.contains(expect),
            "{url}: {msg}"
        );
    }
    assert_eq!(server.requests(), 0, "nothing was fetched");

    let msg = jwks_error_at("not a url", prod.clone(), &key).await;
    assert!(msg.contains("URL is invalid"), "{msg}");
}
