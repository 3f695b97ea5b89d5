//! `POST /v1/credentials/issue-on-behalf` and `GET /v1/credentials/status`, black box: the real
//! binary, a JWKS served over HTTP on loopback, tokens signed with real ES256 and RS256 keys;
//! every row of the seed's error table, duplicates, consent, window, cap, idempotency and
//! concurrency — on SQLite and on PostgreSQL.

mod common;

use claimd_auth::testing::{jwks, TestKey};
use common::fixture::{Fixture, SchemaSpec, Setup};
use common::{Backend, Server};
use serde_json::{json, Value};

/// The shared fixture with a schema of three attribute types and a one-year program.
async fn fixture(backend: Backend) -> Fixture {
    Fixture::setup(Setup {
        schema: SchemaSpec::INTEROP_MEMBERSHIP,
        expiration_days: Some(365),
        ..Setup::new(backend)
    })
    .await
}

fn subject() -> Value {
    json!({"age": 25, "location": "United States", "isMember": true})
}

fn assert_error(got: &(u16, Value), status: u16, message: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], status, "{}", got.1);
    let m = got.1["message"].as_str().unwrap_or_default();
    assert!(
        m.contains(message),
        "message {m:?} should contain {message:?}"
    );
}

async fn issuance(backend: Backend) {
    let f = fixture(backend).await;

    // 200, with the seed's response fields.
    let (status, ok) = f.issue_with("Alice@Example.com", subject()).await;
    assert_eq!(status, 200, "{ok}");
    let hash = ok["coreClaimHash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    assert!(hash
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(ok["credentialId"], json!(f.program));
    let user = ok["userUuid"].as_str().unwrap().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&user).unwrap().to_string(), user);

    // Status, Moca fields.
    let (s, st) = f.status_raw(&f.token("alice@example.com"), &hash).await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["coreClaimHash"], json!(hash));
    assert_eq!(st["vcStatus"], "WAIT_ONCHAIN");
    assert_eq!(st["issuerDid"], json!(f.issuer_did));
    assert_eq!(st["schemeId"], json!(f.schema));
    assert!(st["vcId"].as_str().unwrap().starts_with("urn:"));
    let date = st["issuanceDate"].as_str().unwrap();
    assert_eq!(date.len(), 19, "YYYY-MM-DD HH:mm:ss: {date}");
    assert_eq!(&date[10..11], " ");
    assert!(!st["expirationDate"].as_str().unwrap().is_empty());
    for v in st.as_object().unwrap().values() {
        assert!(v.is_string(), "status fields are strings: {st}");
    }

    // RS256 works too; the same email in another case is the same user.
    let rs_token = f.rs.token(&f.partner, "ALICE@example.COM").build();
    let (s, again) = f.issue_raw(Some(&rs_token), &json!({
        "issuerDid": f.issuer_did, "credentialId": f.program, "credentialSubject": subject(), "onDuplicate": "ignore"
    }), None).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["userUuid"], json!(user));
    assert_eq!(
        again["coreClaimHash"],
        json!(hash),
        "ignore returns the existing credential"
    );

    // revoke (the default): a new credential, the old one WAIT_REMOVE.
    let (s, renewed) = f
        .issue_with(
            "alice@example.com",
            json!({"age": 26, "location": "US", "isMember": false}),
        )
        .await;
    assert_eq!(s, 200, "{renewed}");
    assert_ne!(renewed["coreClaimHash"], json!(hash));
    let (_, old) = f.status_raw(&f.token("alice@example.com"), &hash).await;
    assert_eq!(old["vcStatus"], "WAIT_REMOVE");

    // The seed's error table.
    let body = f.body(subject());
    let expired =
        f.es.token(&f.partner, "a@b.c")
            .times(1_600_000_000, 1_600_000_300)
            .build();
    let stranger = TestKey::es256("es-1").token(&f.partner, "a@b.c").build();
    let valid = f.token("a@b.c");
    let valid = valid.as_str();
    let with = |subject: Value| f.body(subject);
    let cases = [
        (
            Some(valid),
            json!({"credentialId": f.program, "credentialSubject": subject()}),
            400,
            "Missing required field: issuerDid",
        ),
        (
            Some(valid),
            json!({"issuerDid": f.issuer_did, "credentialSubject": subject()}),
            400,
            "Missing required field: credentialId",
        ),
        (
            Some(valid),
            json!({"issuerDid": f.issuer_did, "credentialId": f.program}),
            400,
            "Missing required field: credentialSubject",
        ),
        (None, body.clone(), 401, ""),
        (Some("garbage.token.here"), body.clone(), 401, ""),
        (Some(expired.as_str()), body.clone(), 401, "expired"),
        (Some(stranger.as_str()), body.clone(), 401, ""),
        (
            Some(valid),
            json!({"issuerDid": "did:air:id:test:unknown", "credentialId": f.program, "credentialSubject": subject()}),
            404,
            "Unknown issuer DID or issuance program.",
        ),
        (
            Some(valid),
            json!({"issuerDid": f.issuer_did, "credentialId": "cUnknownProgram000000", "credentialSubject": subject()}),
            404,
            "Unknown issuer DID or issuance program.",
        ),
        // Subject validation names the attribute.
        (
            Some(valid),
            with(json!({"age": "25", "location": "x", "isMember": true})),
            400,
            "credentialSubject.age",
        ),
        (
            Some(valid),
            with(json!({"location": "x", "isMember": true})),
            400,
            "credentialSubject.age",
        ),
        (
            Some(valid),
            with(json!({"age": 1, "location": "x", "isMember": true, "extra": 1})),
            400,
            "credentialSubject.extra",
        ),
    ];
    for (token, body, status, message) in &cases {
        assert_error(&f.issue_raw(*token, body, None).await, *status, message);
    }
    // Unicode survives into the credential.
    let (s, _) = f
        .issue_with(
            "zoë@exämple.com",
            json!({"age": 0, "location": "Zürich \"quoted\" \\ 🎉\n", "isMember": false}),
        )
        .await;
    assert_eq!(s, 200);
    // A token whose recipient is not an email address is not a valid Partner JWT.
    assert_error(&f.issue_with("not-an-email", subject()).await, 401, "email");

    // Consent rejected → 409.
    f.server().admin_ok(&[
        "consent",
        "set",
        "--email",
        "bob@example.com",
        "--partner-id",
        &f.partner,
        "--status",
        "rejected",
    ]);
    assert_error(
        &f.issue_with("Bob@example.com", subject()).await,
        409,
        "Consent rejected by user",
    );
    // Another spelling of one person is the same user, so the refusal holds: NFD instead of
    // NFC, the Unicode domain instead of its ASCII form, full-width letters.
    f.server().admin_ok(&[
        "consent",
        "set",
        "--email",
        "zoë@bücher.de",
        "--partner-id",
        &f.partner,
        "--status",
        "rejected",
    ]);
    for spelling in [
        "zoe\u{0308}@bücher.de",
        "ZOË@xn--bcher-kva.de",
        "zoë@ＢÜＣＨＥＲ.de",
    ] {
        assert_error(
            &f.issue_with(spelling, subject()).await,
            409,
            "Consent rejected by user",
        );
    }
    // Invisible characters do not make a new person either: such an address is refused.
    for spelling in ["bob\u{200b}@example.com", "\u{feff}bob@example.com"] {
        assert_error(&f.issue_with(spelling, subject()).await, 401, "email");
    }

    // Idempotency-Key: same body replays, another body conflicts.
    let token = f.token("carol@example.com");
    let first = f.issue_raw(Some(&token), &body, Some("key-1")).await;
    assert_eq!(first.0, 200);
    let replay = f.issue_raw(Some(&token), &body, Some("key-1")).await;
    assert_eq!(replay, first);
    assert_error(
        &f.issue_raw(
            Some(&token),
            &f.body(json!({"age": 1, "location": "x", "isMember": true})),
            Some("key-1"),
        )
        .await,
        409,
        "Idempotency-Key",
    );
    // The key covers the recipient too: the same body for another person is not a replay.
    assert_error(
        &f.issue_raw(Some(&f.token("dave@example.com")), &body, Some("key-1"))
            .await,
        409,
        "Idempotency-Key",
    );

    // Malformed input never gets a 500.
    for (body, status) in [
        ("{\"issuerDid\": ".to_owned(), 400),
        (format!("{}{}", "[".repeat(5000), "]".repeat(5000)), 400),
        (
            f.body(json!({"age": 1, "location": "x".repeat(300_000), "isMember": true}))
                .to_string(),
            413,
        ),
    ] {
        let r = f
            .http
            .post(format!("{}/v1/credentials/issue-on-behalf", f.url()))
            .header("x-partner-auth", f.token("a@b.c"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status);
    }

    // Status: unknown hash, malformed hash, another partner's hash → 404.
    assert_error(
        &f.status_raw(&f.token("a@b.c"), &"0".repeat(64)).await,
        404,
        "No credential found for the given hash.",
    );
    assert_error(
        &f.status_raw(&f.token("a@b.c"), "xyz").await,
        404,
        "No credential found for the given hash.",
    );
    let other_key = TestKey::es256("other-1");
    let other_jwks = f.server().data_path("other-jwks.json");
    std::fs::write(&other_jwks, jwks(&[&other_key]).to_string()).unwrap();
    let other = f.server().create(
        &[
            "partner",
            "create",
            "--name",
            "Other",
            "--jwks-file",
            &other_jwks.display().to_string(),
            "--feature",
            "issue_on_behalf",
        ],
        "partnerId",
    );
    let other_token = other_key.token(&other, "alice@example.com").build();
    assert_error(
        &f.status_raw(&other_token, renewed["coreClaimHash"].as_str().unwrap())
            .await,
        404,
        "No credential found",
    );
    // Another partner's issuer is "unknown", not "forbidden".
    assert_error(
        &f.issue_raw(Some(&other_token), &body, None).await,
        404,
        "Unknown issuer DID or issuance program.",
    );
    // A partner without the feature: 403.
    let patch = |id: &str, body: Value| {
        let url = format!("{}/admin/v1/partners/{id}", f.server().url);
        let token = f.server().admin_token.clone();
        let http = f.http.clone();
        async move {
            let r = http
                .patch(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    };
    patch(&other, json!({"features": []})).await;
    assert_error(
        &f.issue_raw(Some(&other_token), &body, None).await,
        403,
        "issueOnBehalf is not allowed",
    );
    // A schema outside the partner's allow-list: 403.
    patch(
        &f.partner,
        json!({"allowedSchemaIds": [uuid::Uuid::new_v4().to_string()]}),
    )
    .await;
    assert_error(
        &f.issue_with("dave@example.com", subject()).await,
        403,
        "Schema not allowed",
    );
    patch(&f.partner, json!({"allowedSchemaIds": null})).await;
    assert_eq!(f.issue_with("dave@example.com", subject()).await.0, 200);

    // Program window and cap: 403 saying which.
    let tok = f.token("erin@example.com");
    for (name, window, message) in [
        (
            "Later",
            ["--accessible-from", "2099-01-01T00:00:00Z"],
            "not accessible yet",
        ),
        (
            "Ended",
            ["--accessible-until", "2001-01-01T00:00:00Z"],
            "no longer accessible",
        ),
    ] {
        let program = f.create_program(&f.issuer_did, name, &window);
        let body = json!({"issuerDid": f.issuer_did, "credentialId": program, "credentialSubject": subject()});
        assert_error(&f.issue_raw(Some(&tok), &body, None).await, 403, message);
    }
    let capped = f.create_program(&f.issuer_did, "One", &["--max-issuance", "1"]);
    let capped_body =
        json!({"issuerDid": f.issuer_did, "credentialId": capped, "credentialSubject": subject()});
    assert_eq!(
        f.issue_raw(Some(&f.token("first@example.com")), &capped_body, None)
            .await
            .0,
        200
    );
    assert_error(
        &f.issue_raw(Some(&f.token("second@example.com")), &capped_body, None)
            .await,
        403,
        "maximum issuance",
    );
}

/// The string `field` of every answer of a batch of issuances, each of which must be a 200.
fn all_accepted(answers: &[(u16, Value)], field: &str) -> Vec<String> {
    answers
        .iter()
        .map(|(s, v)| {
            assert_eq!(*s, 200, "{v}");
            v[field].as_str().unwrap().to_owned()
        })
        .collect()
}

/// N parallel `revoke` requests for one (program, user) end with exactly one live credential;
/// parallel requests for different users all succeed.
async fn concurrency(backend: Backend) {
    let f = fixture(backend).await;
    let token = f.token("race@example.com");
    let body = f.body(subject());
    let results =
        futures::future::join_all((0..8).map(|_| f.issue_raw(Some(&token), &body, None))).await;
    let hashes = all_accepted(&results, "coreClaimHash");
    let mut live = 0;
    for h in &hashes {
        let (_, st) = f.status_raw(&token, h).await;
        match st["vcStatus"].as_str().unwrap() {
            "WAIT_ONCHAIN" => live += 1,
            "WAIT_REMOVE" => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(live, 1, "exactly one live credential");

    let fr = &f;
    let many = futures::future::join_all((0..16).map(|i| async move {
        fr.issue_with(&format!("user{i}@example.com"), subject())
            .await
    }))
    .await;
    let users: std::collections::HashSet<String> =
        all_accepted(&many, "userUuid").into_iter().collect();
    assert_eq!(users.len(), 16);
}

claimd_testkit::on_each_backend!(concurrency, issuance, crash_after_acknowledgement);

/// Every 200 is durable: kill -9 right after the answers, restart on the same data, and every
/// acknowledged credential is there.
async fn crash_after_acknowledgement(backend: Backend) {
    let mut f = fixture(backend).await;
    let fr = &f;
    let answers = futures::future::join_all((0..24).map(|i| async move {
        fr.issue_with(&format!("durable{i}@example.com"), subject())
            .await
    }))
    .await;
    let hashes = all_accepted(&answers, "coreClaimHash");
    let (tmp, data_dir, pg) = f.server.take().unwrap().stop(); // SIGKILL
    f.server = Some(Server::start_in(tmp, data_dir, pg));
    for (i, hash) in hashes.iter().enumerate() {
        let token = f.token(&format!("durable{i}@example.com"));
        let (status, _) = f.status_raw(&token, hash).await;
        assert_eq!(status, 200, "credential {i} lost after kill -9");
    }
}
