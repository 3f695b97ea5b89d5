//! The attack suite: each hostile token is refused with a 401-kind error that says why.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use claimd_auth::testing::{authenticator, jwks, now_unix, FakePartners, TestKey, TokenBuilder};
use claimd_auth::{Algorithm, AuthConfig, AuthErrorKind, PartnerKeyConfig};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn good_es256_and_rs256_tokens_verify() {
    let f = fixture().await;
    for key in [&f.es, &f.rs] {
        let token = key.token(PARTNER, EMAIL).claim("jti", "j-1").build();
        let v = f.verify(&token).await.expect("valid token");
        assert_eq!(v.partner_id, PARTNER);
        assert_eq!(v.email, EMAIL);
        assert_eq!(v.scope, "issue on-behalf");
        assert_eq!(v.kid, key.kid());
        assert_eq!(v.alg, key.alg());
        assert_eq!(v.jti.as_deref(), Some("j-1"));
        assert!(v.expires_at > now_unix());
    }
    // The legacy scope "issue" is accepted by default too.
    let token = f.es.token(PARTNER, EMAIL).claim("scope", "issue").build();
    assert_eq!(f.verify(&token).await.unwrap().scope, "issue");
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let f = fixture().await;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let unsigned =
            f.es.token(PARTNER, EMAIL)
                .header("alg", alg)
                .unsigned()
                .build();
        assert!(unsigned.ends_with('.'));
        let err = rejected(f.verify(&unsigned).await, &unsigned);
        assert!(
            matches!(
                err.kind(),
                AuthErrorKind::UnsupportedAlgorithm | AuthErrorKind::MalformedToken
            ),
            "{alg}: {err:?}"
        );
        // Even with a perfectly good ES256 signature attached, `none` is refused.
        let signed = f.es.token(PARTNER, EMAIL).header("alg", alg).build();
        let err = rejected(f.verify(&signed).await, &signed);
        assert_eq!(err.kind(), AuthErrorKind::UnsupportedAlgorithm);
        assert!(err.to_string().contains("ES256 and RS256"));
    }
    // No alg at all.
    let token = f.es.token(PARTNER, EMAIL).remove_header("alg").build();
    assert_eq!(f.kind(&token).await, AuthErrorKind::UnsupportedAlgorithm);
    assert_eq!(
        f.server.requests(),
        0,
        "no JWKS fetch for a token refused on its header"
    );
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_rejected() {
    let f = fixture().await;
    for key in [&f.es, &f.rs] {
        let secrets = [
            key.public_key_bytes(),
            key.jwk().to_string().into_bytes(),
            key.jwks().to_string().into_bytes(),
        ];
        for secret in secrets {
            for alg in ["HS256", "HS384", "HS512"] {
                let token = key
                    .token(PARTNER, EMAIL)
                    .header("alg", alg)
                    .sign_hs256(&secret)
                    .build();
                let err = rejected(f.verify(&token).await, &token);
                assert_eq!(err.kind(), AuthErrorKind::UnsupportedAlgorithm, "{alg}");
            }
        }
    }
    // Other algorithm families are refused as well.
    for alg in [
        "ES384", "ES512", "PS256", "RS384", "RS512", "EdDSA", "ES256K", "es256", "ES256 ",
    ] {
        let token = f.es.token(PARTNER, EMAIL).header("alg", alg).build();
        assert_eq!(
            f.kind(&token).await,
            AuthErrorKind::UnsupportedAlgorithm,
            "{alg}"
        );
    }
}

#[tokio::test]
async fn rs_es_mismatch_is_rejected() {
    let f = fixture().await;
    // Header says RS256 but the kid names the EC key (signed with the RSA key).
    let token = f.rs.token(PARTNER, EMAIL).header("kid", f.es.kid()).build();
    let err = rejected(f.verify(&token).await, &token);
    assert_eq!(err.kind(), AuthErrorKind::KeyMismatch);
    assert!(err.to_string().contains("RS256"), "{err}");

    // Header says ES256 but the kid names the RSA key.
    let token = f.es.token(PARTNER, EMAIL).header("kid", f.rs.kid()).build();
    let err = rejected(f.verify(&token).await, &token);
    assert_eq!(err.kind(), AuthErrorKind::KeyMismatch);

    // Header says RS256 with an ES256 signature under the RSA kid: wrong signature length.
    let token =
        f.es.token(PARTNER, EMAIL)
            .header("alg", "RS256")
            .header("kid", f.rs.kid())
            .build();
    assert_eq!(f.kind(&token).await, AuthErrorKind::BadSignature);
}

#[tokio::test]
async fn a_jwk_whose_alg_contradicts_its_kty_is_not_used() {
    let es = TestKey::es256("k");
    let mut jwk = es.jwk();
    jwk["alg"] = json!("RS256");
    let partners = FakePartners::inline(PARTNER, json!({"keys": [jwk]}));
    let auth = authenticator(AuthConfig::default(), partners);
    let token = es.token(PARTNER, EMAIL).build();
    let err = rejected(auth.verify_now(&token).await, &token);
    assert_eq!(err.kind(), AuthErrorKind::JwksUnavailable);
    assert!(err.to_string().contains("no usable"), "{err}");
}

#[tokio::test]
async fn unknown_kid_is_rejected() {
    let f = fixture().await;
    let token =
        f.es.token(PARTNER, EMAIL)
            .header("kid", "no-such-kid")
            .build();
    let err = rejected(f.verify(&token).await, &token);
    assert_eq!(err.kind(), AuthErrorKind::UnknownKid);
    assert!(err.to_string().contains("unknown kid"), "{err}");
    // A key that is not in the JWKS at all, with its own kid.
    let stranger = TestKey::es256("stranger");
    let token = stranger.token(PARTNER, EMAIL).build();
    assert_eq!(f.kind(&token).await, AuthErrorKind::UnknownKid);
}

#[tokio::test]
async fn a_kid_of_another_partner_is_rejected() {
    let f = fixture().await;
    let other_key = TestKey::es256("other-partner-key");
    f.partners
        .insert(OTHER_PARTNER, PartnerKeyConfig::Jwks(other_key.jwks()));
    // The other partner's own token is fine.
    let token = other_key.token(OTHER_PARTNER, EMAIL).build();
    assert_eq!(f.verify(&token).await.unwrap().partner_id, OTHER_PARTNER);
    // Its key, its kid, but claiming to be PARTNER: PARTNER's JWKS has no such kid.
    let token = other_key.token(PARTNER, EMAIL).build();
    assert_eq!(f.kind(&token).await, AuthErrorKind::UnknownKid);

    // Both partners use the same kid string: the key of the partner named in the token is
    // used, and the other partner's signature does not verify under it.
    let shared_other = TestKey::es256("shared");
    let shared_mine = TestKey::es256("shared");
    f.partners
        .insert(OTHER_PARTNER, PartnerKeyConfig::Jwks(shared_other.jwks()));
    f.auth.invalidate(OTHER_PARTNER);
    let third = "3a3a3a3a-0000-4000-8000-000000000003";
    f.partners
        .insert(third, PartnerKeyConfig::Jwks(shared_mine.jwks()));
    let token = shared_other.token(third, EMAIL).build();
    let err = rejected(f.verify(&token).await, &token);
    assert_eq!(err.kind(), AuthErrorKind::BadSignature);
    assert!(f
        .verify(&shared_mine.token(third, EMAIL).build())
        .await
        .is_ok());
}

const UNREGISTERED: &str = "5e5e5e5e-0000-4000-8000-00000000000f";

#[tokio::test]
async fn unknown_partner_is_rejected() {
    let f = fixture().await;
    let token = f.es.token(UNREGISTERED, EMAIL).build();
    let err = rejected(f.verify(&token).await, &token);
    assert_eq!(err.kind(), AuthErrorKind::UnknownPartner);
    assert!(f.auth.cached_partner(UNREGISTERED).is_none());
    // Registered afterwards: accepted at once (no negative caching).
    f.partners
        .insert(UNREGISTERED, PartnerKeyConfig::Jwks(f.es.jwks()));
    assert!(f.verify(&token).await.is_ok());
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_rejected_with_leeway() {
    let f = fixture().await;
    let now = now_unix();
    let expired =
        f.es.token(PARTNER, EMAIL)
            .times(now - 600, now - 61)
            .build();
    let err = rejected(f.verify(&expired).await, &expired);
    assert_eq!(err.kind(), AuthErrorKind::Expired);
    assert_eq!(err.to_string(), "token expired");
    // Within the 60 s leeway.
    let just =
        f.es.token(PARTNER, EMAIL)
            .times(now - 200, now - 30)
            .build();
    assert!(f.verify(&just).await.is_ok());

    let future = f.es.token(PARTNER, EMAIL).claim("nbf", now + 120).build();
    let err = rejected(f.verify(&future).await, &future);
    assert_eq!(err.kind(), AuthErrorKind::NotYetValid);
    let soon = f.es.token(PARTNER, EMAIL).claim("nbf", now + 30).build();
    assert!(f.verify(&soon).await.is_ok());

    let iat_future =
        f.es.token(PARTNER, EMAIL)
            .times(now + 120, now + 300)
            .build();
    assert_eq!(f.kind(&iat_future).await, AuthErrorKind::IssuedInFuture);

    // A fixed clock: the same token is valid at one instant and expired at another.
    let fixed =
        f.rs.token(PARTNER, EMAIL)
            .times(1_700_000_000, 1_700_000_300)
            .build();
    let at = claimd_auth::testing::at_unix;
    assert!(f.auth.verify(&fixed, at(1_700_000_100)).await.is_ok());
    assert_eq!(
        Fixture::expect_err(f.auth.verify(&fixed, at(1_700_000_361)).await).kind(),
        AuthErrorKind::Expired
    );
    assert_eq!(
        Fixture::expect_err(f.auth.verify(&fixed, at(1_699_999_000)).await).kind(),
        AuthErrorKind::IssuedInFuture
    );
}

#[tokio::test]
async fn far_future_lifetimes_are_rejected() {
    let f = fixture().await;
    let now = now_unix();
    let long = f.es.token(PARTNER, EMAIL).times(now, now + 301).build();
    let err = rejected(f.verify(&long).await, &long);
    assert_eq!(err.kind(), AuthErrorKind::LifetimeTooLong);
    assert!(err.to_string().contains("300"), "{err}");
    // Without iat, exp is bounded from now.
    let no_iat =
        f.es.token(PARTNER, EMAIL)
            .without_iat(now + 300 + 60 + 5)
            .build();
    assert_eq!(f.kind(&no_iat).await, AuthErrorKind::LifetimeTooLong);
    let no_iat_ok = f.es.token(PARTNER, EMAIL).without_iat(now + 300).build();
    assert!(f.verify(&no_iat_ok).await.is_ok());
    // Backdated iat cannot stretch the window: exp - iat counts.
    let backdated =
        f.es.token(PARTNER, EMAIL)
            .times(now - 600, now + 100)
            .build();
    assert_eq!(f.kind(&backdated).await, AuthErrorKind::LifetimeTooLong);
    // Exactly the maximum (the default, 5 minutes) is fine.
    let max = f.es.token(PARTNER, EMAIL).times(now, now + 300).build();
    assert!(f.verify(&max).await.is_ok());
    // Absurd values are claim errors.
    for exp in [
        json!(1e300),
        json!(-5),
        json!("tomorrow"),
        json!(null),
        json!([now + 60]),
    ] {
        let t = f.es.token(PARTNER, EMAIL).claim("exp", exp.clone()).build();
        let kind = f.kind(&t).await;
        assert!(
            matches!(
                kind,
                AuthErrorKind::InvalidClaim
                    | AuthErrorKind::MalformedToken
                    | AuthErrorKind::MissingClaim
            ),
            "{exp}: {kind:?}"
        );
    }
}

#[tokio::test]
async fn tampered_tokens_are_rejected() {
    let f = fixture().await;
    for key in [&f.es, &f.rs] {
        let token = key.token(PARTNER, EMAIL).build();
        let parts: Vec<&str> = token.split('.').collect();

        // Payload swapped for another (valid JSON, other email), signature kept.
        let evil = key.token(PARTNER, "mallory@example.com").signing_input();
        let evil_payload = evil.split('.').nth(1).unwrap();
        let tampered = format!("{}.{}.{}", parts[0], evil_payload, parts[2]);
        let err = rejected(f.verify(&tampered).await, &tampered);
        assert_eq!(err.kind(), AuthErrorKind::BadSignature, "{:?}", key.alg());

        // Header re-encoded with an extra member.
        let header = json!({"alg": key.alg().as_str(), "kid": key.kid(), "typ": "JWT", "x": 1});
        let tampered = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            parts[1],
            parts[2]
        );
        assert_eq!(f.kind(&tampered).await, AuthErrorKind::BadSignature);

        // One signature bit flipped.
        let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        sig[10] ^= 1;
        let tampered = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&sig));
        assert_eq!(f.kind(&tampered).await, AuthErrorKind::BadSignature);

        // Signature of another token.
        let other = key.token(PARTNER, "bob@example.com").build();
        let other_sig = other.split('.').nth(2).unwrap();
        let tampered = format!("{}.{}.{}", parts[0], parts[1], other_sig);
        assert_eq!(f.kind(&tampered).await, AuthErrorKind::BadSignature);
    }
    // ES256 signatures in DER form (as OpenSSL emits) are not JOSE signatures.
    let mut der = vec![0x30, 0x44, 0x02, 0x20];
    der.extend([1u8; 32]);
    der.extend([0x02, 0x20]);
    der.extend([2u8; 32]);
    let token = f.es.token(PARTNER, EMAIL).signature_bytes(der).build();
    assert_eq!(f.kind(&token).await, AuthErrorKind::BadSignature);
    // An all-zero ES256 signature of the right length.
    let token =
        f.es.token(PARTNER, EMAIL)
            .signature_bytes(vec![0; 64])
            .build();
    assert_eq!(f.kind(&token).await, AuthErrorKind::BadSignature);
}

#[tokio::test]
async fn truncated_tokens_are_rejected_without_panicking() {
    let f = fixture().await;
    for key in [&f.es, &f.rs] {
        let token = key.token(PARTNER, EMAIL).build();
        for len in 0..token.len() {
            let truncated = &token[..len];
            let result = f.verify(truncated).await;
            assert!(result.is_err(), "prefix of {len} bytes accepted");
        }
    }
}

#[tokio::test]
async fn garbage_tokens_are_malformed() {
    let f = fixture().await;
    let valid = f.es.token(PARTNER, EMAIL).build();
    let padded = {
        let p: Vec<&str> = valid.split('.').collect();
        format!("{}=.{}.{}", p[0], p[1], p[2])
    };
    let garbage: Vec<String> = vec![
        String::new(),
        " ".into(),
        "Bearer ".into(),
        format!("Bearer {valid}"),
        format!(" {valid}"),
        format!("{valid} "),
        format!("{valid}."),
        format!(".{valid}"),
        padded,
        valid.replace('.', ".."),
        "...".into(),
        "a.b.c".into(),
        "eyJ.eyJ.eyJ".into(),
        "{\"alg\":\"ES256\"}.{}.sig".into(),
        "\u{0}\u{0}.\u{0}.\u{0}".into(),
        "ünïcödé.ünïcödé.ünïcödé".into(),
        "e30.e30.e30".into(),          // {} . {} . {}
        "bnVsbA.bnVsbA.AAAA".into(),   // null . null
        "W10.W10.AAAA".into(),         // [] . []
        "IkpXVCI.IkpXVCI.AAAA".into(), // "JWT" . "JWT"
        valid.replace('-', "+").replace('_', "/") + "+/",
    ];
    for g in &garbage {
        let err = rejected(f.verify(g).await, g);
        assert!(
            matches!(
                err.kind(),
                AuthErrorKind::MalformedToken
                    | AuthErrorKind::UnsupportedAlgorithm
                    | AuthErrorKind::BadSignature
            ),
            "{g:?}: {err:?}"
        );
    }
    assert_eq!(f.server.requests(), 0, "garbage never reaches the JWKS");
}

#[tokio::test]
async fn huge_headers_and_tokens_are_rejected_before_decoding() {
    let f = fixture().await;
    let huge_header =
        f.es.token(PARTNER, EMAIL)
            .header("pad", "x".repeat(100_000))
            .build();
    let started = Instant::now();
    let err = rejected(f.verify(&huge_header).await, &huge_header);
    assert_eq!(err.kind(), AuthErrorKind::MalformedToken);
    assert!(err.to_string().contains("too large"), "{err}");
    // A header just over the 1 KiB cap inside a token under the total cap.
    let big_header =
        f.es.token(PARTNER, EMAIL)
            .header("pad", "x".repeat(1000))
            .build();
    let err = rejected(f.verify(&big_header).await, &big_header);
    assert!(err.to_string().contains("header is too large"), "{err}");
    let huge_payload =
        f.es.token(PARTNER, EMAIL)
            .claim("pad", "x".repeat(10 * 1024 * 1024))
            .build();
    assert_eq!(f.kind(&huge_payload).await, AuthErrorKind::MalformedToken);
    assert!(started.elapsed() < Duration::from_secs(2));
    // A payload bigger than the stack buffer but under the cap still verifies.
    let big_ok =
        f.es.token(PARTNER, EMAIL)
            .claim("pad", "y".repeat(4000))
            .build();
    assert!(f.verify(&big_ok).await.is_ok());
    // Deep nesting is refused by the JSON reader's depth limit, not the stack.
    let deep = format!("{}1{}", "[".repeat(2000), "]".repeat(2000));
    let token = f.es.token(PARTNER, EMAIL).raw_payload(format!(
        "{{\"partnerId\":\"{PARTNER}\",\"scope\":\"issue\",\"email\":\"{EMAIL}\",\"exp\":{},\"x\":{deep}}}",
        now_unix() + 60
    )).build();
    assert_eq!(f.kind(&token).await, AuthErrorKind::MalformedToken);
}

#[tokio::test]
async fn duplicate_json_keys_are_rejected() {
    let f = fixture().await;
    let kid = f.es.kid().to_owned();
    let now = now_unix();
    let headers = [
        format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"JWT","alg":"none"}}"#),
        format!(r#"{{"alg":"none","alg":"ES256","kid":"{kid}","typ":"JWT"}}"#),
        format!(r#"{{"alg":"ES256","kid":"{kid}","kid":"other","typ":"JWT"}}"#),
        format!(r#"{{"alg":"ES256","\u006bid":"{kid}","kid":"{kid}","typ":"JWT"}}"#),
        format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"JWT","x5u":1,"x5u":2}}"#),
    ];
    for h in headers {
        let token = f.es.token(PARTNER, EMAIL).raw_header(h.clone()).build();
        let err = rejected(f.verify(&token).await, &token);
        assert_eq!(err.kind(), AuthErrorKind::MalformedToken, "{h}");
        assert!(err.to_string().contains("duplicate"), "{h}: {err}");
    }
    let payloads = [
        format!(
            r#"{{"partnerId":"{PARTNER}","partnerId":"{OTHER_PARTNER}","scope":"issue","email":"{EMAIL}","exp":{}}}"#,
            now + 60
        ),
        format!(
            r#"{{"partnerId":"{PARTNER}","scope":"issue","email":"{EMAIL}","email":"mallory@example.com","exp":{}}}"#,
            now + 60
        ),
        format!(
            r#"{{"partnerId":"{PARTNER}","scope":"verify","scope":"issue","email":"{EMAIL}","exp":{}}}"#,
            now + 60
        ),
        format!(
            r#"{{"partnerId":"{PARTNER}","scope":"issue","email":"{EMAIL}","exp":{},"exp":{}}}"#,
            now + 60,
            now + 99_999
        ),
        format!(
            r#"{{"partnerId":"{PARTNER}","scope":"issue","email":"{EMAIL}","exp":{},"ctx":{{"a":1,"a":2}}}}"#,
            now + 60
        ),
        format!(
            r#"{{"partnerId":"{PARTNER}","scope":"issue","\u0065mail":"{EMAIL}","email":"x@y.z","exp":{}}}"#,
            now + 60
        ),
    ];
    for p in payloads {
        // Signed properly, so only the duplicate can be the reason.
        let token = f.es.token(PARTNER, EMAIL).raw_payload(p.clone()).build();
        let err = rejected(f.verify(&token).await, &token);
        assert_eq!(err.kind(), AuthErrorKind::MalformedToken, "{p}");
        assert!(err.to_string().contains("duplicate"), "{p}: {err}");
    }
}

#[tokio::test]
async fn header_rules_typ_kid_crit() {
    let f = fixture().await;
    let no_kid = f.es.token(PARTNER, EMAIL).remove_header("kid").build();
    let err = rejected(f.verify(&no_kid).await, &no_kid);
    assert_eq!(err.kind(), AuthErrorKind::MissingKid);
    assert_eq!(err.to_string(), "token header has no kid");
    let no_typ = f.es.token(PARTNER, EMAIL).remove_header("typ").build();
    assert_eq!(f.kind(&no_typ).await, AuthErrorKind::InvalidHeader);
    let bad_typ = f.es.token(PARTNER, EMAIL).header("typ", "JWS").build();
    assert_eq!(f.kind(&bad_typ).await, AuthErrorKind::InvalidHeader);
    let crit =
        f.es.token(PARTNER, EMAIL)
            .header("crit", json!(["b64"]))
            .header("b64", false)
            .build();
    assert_eq!(f.kind(&crit).await, AuthErrorKind::InvalidHeader);
    // An embedded jwk / jku never supplies the key.
    let attacker = TestKey::es256(f.es.kid());
    let token = attacker
        .token(PARTNER, EMAIL)
        .header("jwk", attacker.jwk())
        .header("jku", "https://attacker.example/jwks.json")
        .build();
    assert_eq!(f.kind(&token).await, AuthErrorKind::BadSignature);
}

#[tokio::test]
async fn claims_are_required_and_typed() {
    let f = fixture().await;
    for (claim, message) in [
        ("partnerId", "missing claim: partnerId"),
        ("scope", "missing claim: scope"),
        ("email", "missing claim: email"),
        ("exp", "missing claim: exp"),
    ] {
        let token = f.es.token(PARTNER, EMAIL).remove_claim(claim).build();
        let err = rejected(f.verify(&token).await, &token);
        assert_eq!(err.kind(), AuthErrorKind::MissingClaim, "{claim}");
        assert_eq!(err.to_string(), message);
    }
    for (claim, value) in [
        ("partnerId", json!(42)),
        ("partnerId", json!("")),
        ("partnerId", json!("has space")),
        ("partnerId", json!("x".repeat(200))),
        ("email", json!(["a@b.c"])),
        ("email", json!("no-at-sign")),
        ("email", json!("a@b.c\n")),
        ("scope", json!(["issue"])),
        ("nbf", json!("now")),
        ("iat", json!(true)),
        ("jti", json!(5)),
    ] {
        let token =
            f.es.token(PARTNER, EMAIL)
                .claim(claim, value.clone())
                .build();
        let kind = f.kind(&token).await;
        assert!(
            matches!(
                kind,
                AuthErrorKind::InvalidClaim | AuthErrorKind::InvalidPartnerId
            ),
            "{claim}={value}: {kind:?}"
        );
    }
}

#[tokio::test]
async fn scope_must_be_accepted_and_is_configurable() {
    let f = fixture().await;
    for scope in [
        "verify",
        "issue on-behalf extra",
        "ISSUE",
        "",
        "issue  on-behalf",
    ] {
        let token = f.es.token(PARTNER, EMAIL).claim("scope", scope).build();
        let err = rejected(f.verify(&token).await, &token);
        assert_eq!(err.kind(), AuthErrorKind::WrongScope, "{scope:?}");
        assert_eq!(
            err.to_string(),
            "scope is not accepted: expected \"issue on-behalf\" or \"issue\""
        );
    }
    // Only "issue" configured.
    let auth = authenticator(
        AuthConfig {
            accepted_scopes: vec!["issue".into()],
            ..AuthConfig::default()
        },
        FakePartners::inline(PARTNER, f.es.jwks()),
    );
    let on_behalf = f.es.token(PARTNER, EMAIL).build();
    assert_eq!(
        Fixture::expect_err(auth.verify_now(&on_behalf).await).kind(),
        AuthErrorKind::WrongScope
    );
    let issue = f.es.token(PARTNER, EMAIL).claim("scope", "issue").build();
    assert!(auth.verify_now(&issue).await.is_ok());
}

#[tokio::test]
async fn weak_and_private_keys_in_a_jwks_are_not_used() {
    let rs = TestKey::rs256("rsa");
    let es = TestKey::es256("ec");
    let mut weak = rs.jwk();
    // A 1024-bit modulus.
    weak["n"] = json!(URL_SAFE_NO_PAD.encode([0xC5u8; 128]));
    weak["kid"] = json!("weak");
    let mut private = es.jwk();
    private["d"] = json!(URL_SAFE_NO_PAD.encode([7u8; 32]));
    let partners = FakePartners::inline(
        PARTNER,
        json!({"keys": [weak, private, {"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]}),
    );
    let auth = authenticator(AuthConfig::default(), partners);
    let err = Fixture::expect_err(auth.verify_now(&es.token(PARTNER, EMAIL).build()).await);
    assert_eq!(err.kind(), AuthErrorKind::JwksUnavailable);
    assert!(auth.cached_partner(PARTNER).unwrap().kids.is_empty());
}

#[tokio::test]
async fn larger_rsa_keys_and_inline_jwks_work() {
    let rs4096 = TestKey::rs256_with_size("rsa-4096", 4096);
    let es = TestKey::es256("ec");
    let partners = FakePartners::inline(PARTNER, jwks(&[&rs4096, &es]));
    let auth = authenticator(AuthConfig::default(), partners.clone());
    for key in [&rs4096, &es] {
        let v = auth
            .verify_now(&key.token(PARTNER, EMAIL).build())
            .await
            .unwrap();
        assert_eq!(v.kid, key.kid());
    }
    assert_eq!(partners.lookups(), 1);
    assert_eq!(rs4096.alg(), Algorithm::Rs256);
}

#[tokio::test]
async fn partner_store_failure_is_reported_without_internals() {
    let f = fixture().await;
    f.partners.set_failing(true);
    let token = f.es.token(PARTNER, EMAIL).build();
    let err = rejected(f.verify(&token).await, &token);
    assert_eq!(err.kind(), AuthErrorKind::PartnerLookupFailed);
    assert_eq!(err.to_string(), "partner lookup failed");
    assert!(err.is_server_side());
    assert!(std::error::Error::source(&err).is_some());
    // The store recovers: no backoff for store failures.
    f.partners.set_failing(false);
    assert!(f.verify(&token).await.is_ok());
}

#[test]
fn builder_produces_three_parts() {
    let t = TokenBuilder::new()
        .header("alg", "none")
        .claim("a", 1)
        .build();
    assert_eq!(t.split('.').count(), 3);
}
