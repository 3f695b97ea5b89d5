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

#[tokio::test]
async fn the_webhook_api_answers_as_documented() {
    let app = TestApp::new().await;
    let doc = app.get("/openapi.json").await.json();
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
        let r = app.admin(Method::POST, &base, Some(&body)).await;
        documented(&doc, list_path, "post", &r, 400);
        assert!(
            r.json()["message"].as_str().unwrap().contains(field),
            "{}",
            r.text()
        );
    }
    let unknown = format!("/admin/v1/partners/{}/webhooks", uuid::Uuid::new_v4());
    let r = app
        .admin(
            Method::POST,
            &unknown,
            Some(&json!({"url": "https://x.example/"})),
        )
        .await;
    documented(&doc, list_path, "post", &r, 404);
    let r = app.admin(Method::GET, &unknown, None).await;
    documented(&doc, list_path, "get", &r, 404);
    let r = app
        .admin(Method::GET, "/admin/v1/partners/not-a-uuid/webhooks", None)
        .await;
    documented(&doc, list_path, "get", &r, 404);
    let r = app
        .send(
            Method::GET,
            &base,
            &[("authorization", "Bearer wrong")],
            None,
        )
        .await;
    documented(&doc, list_path, "get", &r, 401);

    let r = app
        .admin(
            Method::POST,
            &base,
            Some(&json!({"url": "https://hooks.example/claimd", "eventTypes": ["credential.onchain"]})),
        )
        .await;
    documented(&doc, list_path, "post", &r, 201);
    let created = r.json();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(created["eventTypes"], json!(["credential.onchain"]));
    let id = created["endpointId"].as_str().unwrap().to_owned();
    let one = format!("{base}/{id}");

    let r = app.admin(Method::GET, &base, None).await;
    documented(&doc, list_path, "get", &r, 200);
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    assert!(r.json()["items"][0].get("secret").is_none());
    let r = app.admin(Method::GET, &one, None).await;
    documented(&doc, one_path, "get", &r, 200);
    let r = app
        .admin(
            Method::GET,
            &format!("{base}/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    documented(&doc, one_path, "get", &r, 404);

    let r = app
        .admin(
            Method::PATCH,
            &one,
            Some(&json!({"enabled": false, "eventTypes": ["credential.removed"]})),
        )
        .await;
    documented(&doc, one_path, "patch", &r, 200);
    assert_eq!(
        (r.json()["enabled"].clone(), r.json()["eventTypes"].clone()),
        (json!(false), json!(["credential.removed"]))
    );
    let r = app
        .admin(Method::PATCH, &one, Some(&json!({"url": "nope"})))
        .await;
    documented(&doc, one_path, "patch", &r, 400);

    let rotate = format!("{one}/rotate");
    let r = app
        .admin(
            Method::POST,
            &rotate,
            Some(&json!({"overlapSeconds": 604801})),
        )
        .await;
    documented(
        &doc,
        "/admin/v1/partners/{partnerId}/webhooks/{endpointId}/rotate",
        "post",
        &r,
        400,
    );
    let r = app
        .admin(Method::POST, &rotate, Some(&json!({"overlapSeconds": 60})))
        .await;
    documented(
        &doc,
        "/admin/v1/partners/{partnerId}/webhooks/{endpointId}/rotate",
        "post",
        &r,
        200,
    );
    assert_ne!(r.json()["secret"], created["secret"]);
    assert!(r.json()["previousSecretExpiresAt"].is_string());

    let deliveries = "/admin/v1/partners/{partnerId}/webhooks/{endpointId}/deliveries";
    for q in ["?state=LOST", "?limit=0", "?limit=501", "?limit=x"] {
        let r = app
            .admin(Method::GET, &format!("{one}/deliveries{q}"), None)
            .await;
        documented(&doc, deliveries, "get", &r, 400);
    }
    let r = app
        .admin(
            Method::GET,
            &format!("{one}/deliveries?state=DEAD&limit=5"),
            None,
        )
        .await;
    documented(&doc, deliveries, "get", &r, 200);
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
        let r = app
            .admin(Method::POST, &format!("{one}/replay"), Some(&body))
            .await;
        documented(&doc, replay, "post", &r, status);
        if status == 202 {
            assert_eq!(r.json()["queued"], 0, "no event to queue yet");
        }
    }

    let r = app.admin(Method::DELETE, &one, None).await;
    documented(&doc, one_path, "delete", &r, 204);
    let r = app.admin(Method::DELETE, &one, None).await;
    documented(&doc, one_path, "delete", &r, 404);

    // The partner's feed needs its JWT.
    let r = app.get("/v1/events").await;
    documented(&doc, "/events", "get", &r, 401);
}
