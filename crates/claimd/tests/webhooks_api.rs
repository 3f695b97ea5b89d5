//! The operator's webhook API on the real router (in process): every answer it gives, bad
//! input included, is in the documented error shape and described by `/openapi.json`.

use axum::http::Method;
use claimd_testkit::{TestApp, TestResponse};
use serde_json::{json, Value};

/// Checks that `/openapi.json` describes `status` for `method` on `path` (a documented
/// template) and that an error answer has the error shape.
fn documented(doc: &Value, path: &str, method: &str, r: &TestResponse, status: u16) {
    assert_eq!(r.status, status, "{method} {path}: {}", r.text());
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not in /openapi.json");
    assert!(
        op["responses"][status.to_string()].is_object(),
        "{method} {path} answers {status}, not documented"
    );
    if status >= 400 {
        let body = r.json();
        assert_eq!(body["error"], status, "{}", r.text());
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

/// The operator API on a [`TestApp`], every answer checked against its `/openapi.json`.
struct Documented<'a> {
    app: &'a TestApp,
    doc: Value,
}

impl Documented<'_> {
    /// `method uri` with `body`; the answer must be `status` and documented for `path` (the
    /// template `uri` matches).
    async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<&Value>,
        path: &str,
        status: u16,
    ) -> TestResponse {
        let name = method.as_str().to_ascii_lowercase();
        let r = self.app.admin(method, uri, body).await;
        documented(&self.doc, path, &name, &r, status);
        r
    }
}

#[tokio::test]
async fn the_webhook_api_answers_as_documented() {
    let app = TestApp::new().await;
    let doc = app.get("/openapi.json").await.json();
    let api = Documented {
        app: &app,
        doc: doc.clone(),
    };
    let partner = app
        .admin(
            Method::POST,
            "/admin/v1/partners",
            Some(&json!({"name": "Acme", "jwksUrl": "https://partner.example/jwks.json", "features": ["issue_on_behalf"]})),
        )
        .await
        .json()["partnerId"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = format!("/admin/v1/partners/{partner}/webhooks");
    let list_path = "/admin/v1/partners/{partnerId}/webhooks";
    let one_path = "/admin/v1/partners/{partnerId}/webhooks/{endpointId}";

    // Create: bad input names the field; unknown partners are 404.
    for (body, field) in [
        (json!({}), "url"),
        (json!({"url": "ftp://x.example/"}), "url"),
        (json!({"url": "https://u:p@x.example/"}), "url"),
        (
            json!({"url": "https://x.example/", "eventTypes": []}),
            "eventTypes",
        ),
        (
            json!({"url": "https://x.example/", "eventTypes": ["credential.nope"]}),
            "eventTypes",
        ),
        (json!({"url": 5}), "url"),
    ] {
        let r = api
            .call(Method::POST, &base, Some(&body), list_path, 400)
            .await;
        assert!(
            r.json()["message"].as_str().unwrap().contains(field),
            "{}",
            r.text()
        );
    }
    let unknown = format!("/admin/v1/partners/{}/webhooks", uuid::Uuid::new_v4());
    api.call(
        Method::POST,
        &unknown,
        Some(&json!({"url": "https://x.example/"})),
        list_path,
        404,
    )
    .await;
    api.call(Method::GET, &unknown, None, list_path, 404).await;
    api.call(
        Method::GET,
        "/admin/v1/partners/not-a-uuid/webhooks",
        None,
        list_path,
        404,
    )
    .await;
    let r = app
        .send(
            Method::GET,
            &base,
            &[("authorization", "Bearer wrong")],
            None,
        )
        .await;
    documented(&doc, list_path, "get", &r, 401);

    let r = api.call(Method::POST, &base, Some(&json!({"url": "https://hooks.example/claimd", "eventTypes": ["credential.onchain"]})), list_path, 201).await;
    let created = r.json();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(created["eventTypes"], json!(["credential.onchain"]));
    let id = created["endpointId"].as_str().unwrap().to_owned();
    let one = format!("{base}/{id}");

    let r = api.call(Method::GET, &base, None, list_path, 200).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    assert!(r.json()["items"][0].get("secret").is_none());
    api.call(Method::GET, &one, None, one_path, 200).await;
    api.call(
        Method::GET,
        &format!("{base}/{}", uuid::Uuid::new_v4()),
        None,
        one_path,
        404,
    )
    .await;

    let r = api
        .call(
            Method::PATCH,
            &one,
            Some(&json!({"enabled": false, "eventTypes": ["credential.removed"]})),
            one_path,
            200,
        )
        .await;
    assert_eq!(
        (r.json()["enabled"].clone(), r.json()["eventTypes"].clone()),
        (json!(false), json!(["credential.removed"]))
    );
    api.call(
        Method::PATCH,
        &one,
        Some(&json!({"url": "nope"})),
        one_path,
        400,
    )
    .await;

    let rotate = format!("{one}/rotate");
    api.call(
        Method::POST,
        &rotate,
        Some(&json!({"overlapSeconds": 604801})),
        "/admin/v1/partners/{partnerId}/webhooks/{endpointId}/rotate",
        400,
    )
    .await;
    let r = api
        .call(
            Method::POST,
            &rotate,
            Some(&json!({"overlapSeconds": 60})),
            "/admin/v1/partners/{partnerId}/webhooks/{endpointId}/rotate",
            200,
        )
        .await;
    assert_ne!(r.json()["secret"], created["secret"]);
    assert!(r.json()["previousSecretExpiresAt"].is_string());

    let deliveries = "/admin/v1/partners/{partnerId}/webhooks/{endpointId}/deliveries";
    for q in ["?state=LOST", "?limit=0", "?limit=501", "?limit=x"] {
        api.call(
            Method::GET,
            &format!("{one}/deliveries{q}"),
            None,
            deliveries,
            400,
        )
        .await;
    }
    let r = api
        .call(
            Method::GET,
            &format!("{one}/deliveries?state=DEAD&limit=5"),
            None,
            deliveries,
            200,
        )
        .await;
    assert_eq!(r.json()["items"], json!([]));

    let replay = "/admin/v1/partners/{partnerId}/webhooks/{endpointId}/replay";
    for (body, status) in [
        (json!({}), 400),
        (
            json!({"eventId": "evt_x", "since": "2026-01-01T00:00:00Z"}),
            400,
        ),
        (json!({"since": "yesterday"}), 400),
        (json!({"eventId": "evt_0"}), 404),
        (json!({"since": "2026-01-01T00:00:00Z"}), 202),
    ] {
        let r = api
            .call(
                Method::POST,
                &format!("{one}/replay"),
                Some(&body),
                replay,
                status,
            )
            .await;
        if status == 202 {
            assert_eq!(r.json()["queued"], 0, "no event to queue yet");
        }
    }

    api.call(Method::DELETE, &one, None, one_path, 204).await;
    api.call(Method::DELETE, &one, None, one_path, 404).await;

    // The partner's feed needs its JWT.
    let r = app.get("/v1/events").await;
    documented(&doc, "/events", "get", &r, 401);
}
