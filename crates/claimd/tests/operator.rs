//! The operator workflow end to end, on the real binary: register a schema, partner, issuer
//! and program with `claimd admin`, read them back over HTTP, and check that bad input gets
//! the documented error shape — on SQLite and on PostgreSQL.

mod common;

use common::{Backend, Server};
use serde_json::{json, Value};

/// A GET answered with JSON, with the operator's bearer token if given.
async fn get_json(http: &reqwest::Client, url: &str, bearer: Option<&str>) -> Value {
    let mut req = http.get(url);
    if let Some(bearer) = bearer {
        req = req.header("authorization", bearer);
    }
    req.send().await.unwrap().json().await.unwrap()
}

/// The JSON body of the answer to `request`, which must have `status`.
async fn answer(request: reqwest::RequestBuilder, status: u16) -> Value {
    let r = request.send().await.unwrap();
    assert_eq!(r.status(), status);
    r.json().await.unwrap()
}

async fn operator_workflow(backend: Backend) {
    let server = Server::start(backend).await;
    // Fresh connections: a pooled keep-alive connection occasionally came back closed
    // (hyper IncompleteMessage) under heavy machine load; see docs/ARCHITECTURE.md notes.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let admin = |path: &str| format!("{}/admin/v1{path}", server.url);
    let token = format!("Bearer {}", server.admin_token);
    // A partner's token rules, as one comparable value.
    let rules = |p: &Value| {
        (
            p["audience"].clone(),
            p["issuer"].clone(),
            p["requireJti"].clone(),
            p["enabled"].clone(),
        )
    };

    let schema = server.admin_ok(&[
        "schema",
        "create",
        "--title",
        "KYC",
        "--type",
        "KycCredential",
        "--attr",
        "age:integer:required",
        "--attr",
        "country:string",
        "--attr",
        "born:date",
    ]);
    let schema_id = schema["schemaId"].as_str().unwrap().to_owned();
    assert_eq!(
        schema["jsonLdContextUrl"],
        json!(format!("{}/v1/schemas/{schema_id}.jsonld", server.url))
    );

    let partner = server.admin_ok(&[
        "partner",
        "create",
        "--name",
        "Acme",
        "--jwks-url",
        "https://acme.example/jwks.json",
        "--feature",
        "issue_on_behalf",
    ]);
    let partner_id = partner["partnerId"].as_str().unwrap().to_owned();
    assert_eq!(partner["features"], json!(["issue_on_behalf"]));
    // Registered without token rules: unbound, no replay cache, enabled.
    assert_eq!(
        rules(&partner),
        (Value::Null, Value::Null, json!(false), json!(true))
    );

    let issuer = server.admin_ok(&[
        "issuer",
        "create",
        "--partner-id",
        &partner_id,
        "--name",
        "Acme issuer",
    ]);
    let did = issuer["issuerDid"].as_str().unwrap().to_owned();
    assert!(did.starts_with("did:air:id:test:"), "{did}");
    assert!(issuer["ethAddress"].as_str().unwrap().starts_with("0x"));
    assert!(
        issuer.get("ethKey").is_none() && issuer.get("bjjKey").is_none(),
        "keys never leave"
    );

    let program = server.admin_ok(&[
        "program",
        "create",
        "--issuer-did",
        &did,
        "--schema-id",
        &schema_id,
        "--name",
        "Members",
        "--expiration-days",
        "365",
        "--max-issuance",
        "1000",
    ]);
    let credential_id = program["credentialId"].as_str().unwrap().to_owned();

    let consent = server.admin_ok(&[
        "consent",
        "set",
        "--email",
        " Bob@Example.com ",
        "--partner-id",
        &partner_id,
        "--status",
        "rejected",
    ]);
    assert_eq!(consent["email"], "bob@example.com");
    assert_eq!(consent["status"], "rejected");

    // Everything the CLI registered is visible through the API.
    let got: Value = get_json(
        &http,
        &admin(&format!("/programs/{credential_id}")),
        Some(&token),
    )
    .await;
    assert_eq!(got["issuerDid"], json!(did));
    assert_eq!(got["schemaId"], json!(schema_id));
    assert_eq!(got["expirationDays"], 365);
    let partners: Value = get_json(&http, &admin("/partners?page=1&limit=10"), Some(&token)).await;
    assert_eq!(partners["total"], 1);
    let by_did = http
        .get(admin(&format!("/issuers/{did}")))
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_did.status(), 200);

    // Public schema documents.
    let schema = |ext: &str| format!("{}/v1/schemas/{schema_id}.{ext}", server.url);
    let ctx: Value = get_json(&http, &schema("jsonld"), None).await;
    assert_eq!(
        ctx["@context"][0]["KycCredential"]["@id"],
        json!(format!("urn:uuid:{schema_id}"))
    );
    assert_eq!(
        ctx["@context"][0]["KycCredential"]["@context"]["born"]["@type"],
        "xsd:dateTime"
    );
    let js: Value = get_json(&http, &schema("json"), None).await;
    assert_eq!(
        js["properties"]["credentialSubject"]["required"],
        json!(["age"])
    );

    // The human-readable CLI output.
    let out = std::process::Command::new(common::claimd_bin())
        .args(["admin", "--url", &server.url, "partner", "get", &partner_id])
        .env("CLAIMD_ADMIN_TOKEN", &server.admin_token)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("partnerId: {partner_id}")), "{text}");

    // Errors: the documented shape, the right status, the field named; never a 500.
    let err = |status: u16, body: Value, needle: &str| {
        assert_eq!(body["error"], status, "{body}");
        let m = body["message"].as_str().unwrap();
        assert!(m.contains(needle), "{m:?} should mention {needle:?}");
    };
    // Token rules: stored as given, defaults for a partner registered without them, invalid
    // values named.
    let body = json!({"name": "Bound", "jwksUrl": "https://bound.example/jwks.json",
        "audience": "https://claimd.example", "issuer": "bound", "requireJti": true, "enabled": false});
    let request = http
        .post(admin("/partners"))
        .header("authorization", &token);
    let bound = answer(request.json(&body), 201).await;
    assert_eq!(
        rules(&bound),
        (
            json!("https://claimd.example"),
            json!("bound"),
            json!(true),
            json!(false)
        )
    );
    let patched = answer(
        http.patch(admin(&format!(
            "/partners/{}",
            bound["partnerId"].as_str().unwrap()
        )))
        .header("authorization", &token)
        .json(&json!({"audience": null, "enabled": true})),
        200,
    )
    .await;
    assert_eq!(
        rules(&patched),
        (Value::Null, json!("bound"), json!(true), json!(true))
    );
    // Each case: method, URL, authorization, body, the status and what its message names.
    enum Body {
        Empty,
        Json(Value),
        Raw(&'static str),
    }
    let (get, post) = (reqwest::Method::GET, reqwest::Method::POST);
    let wrong = "Bearer wrong-token-xxxxxxxx";
    let huge = "x".repeat(200_000);
    let cases = [
        (
            post.clone(),
            admin("/partners"),
            Some(token.as_str()),
            Body::Json(json!({})),
            400,
            Some("name"),
        ),
        (
            post.clone(),
            admin("/partners"),
            Some(&token),
            Body::Json(json!({"name": "x", "jwksUrl": "https://x.example/j", "audience": ""})),
            400,
            Some("audience"),
        ),
        (
            post.clone(),
            admin("/programs"),
            Some(&token),
            Body::Json(
                json!({"issuerDid": "did:air:id:test:nope", "schemaId": schema_id, "name": "x"}),
            ),
            404,
            Some("issuer"),
        ),
        (
            post.clone(),
            admin("/schemas"),
            Some(&token),
            Body::Raw("{not json"),
            400,
            Some("JSON"),
        ),
        (
            post.clone(),
            admin("/schemas"),
            Some(&token),
            Body::Json(json!({"title": 5})),
            400,
            None,
        ),
        (
            get.clone(),
            admin("/partners"),
            Some(wrong),
            Body::Empty,
            401,
            Some("admin token"),
        ),
        (
            get.clone(),
            admin("/partners"),
            None,
            Body::Empty,
            401,
            None,
        ),
        (
            get.clone(),
            admin(&format!("/partners/{}", uuid::Uuid::new_v4())),
            Some(&token),
            Body::Empty,
            404,
            None,
        ),
        (
            get.clone(),
            admin("/partners/not-a-uuid"),
            Some(&token),
            Body::Empty,
            404,
            None,
        ),
        (
            get.clone(),
            admin("/partners?limit=0"),
            Some(&token),
            Body::Empty,
            400,
            Some("limit"),
        ),
        (
            get.clone(),
            admin("/partners?page=x"),
            Some(&token),
            Body::Empty,
            400,
            None,
        ),
        (
            post,
            admin("/partners"),
            Some(&token),
            Body::Json(json!({"name": huge})),
            413,
            Some("too large"),
        ),
        (
            get.clone(),
            format!("{}/v1/schemas/{}.json", server.url, uuid::Uuid::new_v4()),
            None,
            Body::Empty,
            404,
            None,
        ),
        (
            get,
            format!("{}/no/such/route", server.url),
            None,
            Body::Empty,
            404,
            Some("Not found"),
        ),
    ];
    for (method, url, auth, body, status, names) in cases {
        let mut req = http.request(method.clone(), &url);
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        req = match body {
            Body::Empty => req,
            Body::Json(v) => req.json(&v),
            Body::Raw(text) => req.header("content-type", "application/json").body(text),
        };
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), status, "{method} {url}");
        if let Some(needle) = names {
            err(status, r.json().await.unwrap(), needle);
        }
    }
    let (ok, _, stderr) =
        server.admin(&["issuer", "create", "--partner-id", "nope", "--name", "x"]);
    assert!(
        !ok && stderr.contains("400") && stderr.contains("partnerId"),
        "{stderr}"
    );

    // Operations endpoints.
    assert_eq!(
        http.get(format!("{}/healthz", server.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let ready: Value = get_json(&http, &format!("{}/readyz", server.url), None).await;
    assert_eq!(
        ready["database"],
        if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    let metrics = server.get_text("/metrics").await;
    assert!(metrics.contains("claimd_http_requests_total"), "{metrics}");
    let r = http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("x-request-id"));
}

claimd_testkit::on_each_backend!(operator_workflow);

#[tokio::test]
async fn data_survives_restart_and_production_mode_needs_secrets() {
    let server = Server::start(Backend::Sqlite).await;
    let partner = server.admin_ok(&[
        "partner",
        "create",
        "--name",
        "Acme",
        "--jwks-url",
        "https://a.example/j",
    ]);
    let id = partner["partnerId"].as_str().unwrap().to_owned();
    let token = server.admin_token.clone();
    let (tmp, data_dir, pg) = server.stop();
    assert!(data_dir.join("master.key").exists());
    assert!(
        data_dir.join("claimd.db").exists(),
        "SQLite file kept in the data dir"
    );

    // Without --dev and without secrets, serve refuses to start and says what to set.
    let out = std::process::Command::new(common::claimd_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .env_remove("CLAIMD_ADMIN_TOKEN")
        .env_remove("CLAIMD_MASTER_KEY")
        .env_remove("CLAIMD_DEV")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CLAIMD_ADMIN_TOKEN"));

    // Restarted on the same data dir: same secrets, same data.
    let again = Server::start_in(tmp, data_dir, pg);
    assert_eq!(again.admin_token, token);
    let read = again.admin_ok(&["partner", "get", &id]);
    assert_eq!(read["name"], "Acme");
}
