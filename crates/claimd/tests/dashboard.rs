//! The operator dashboard through the real router: sign-in, sessions, CSRF, expiry, security
//! headers, and pages whose actions land in the operator API. (The browser test is
//! `dashboard_e2e.rs`.)

use axum::body::Body;
use axum::http::{Method, Request};
use claimd_testkit::{TestApp, TestResponse};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

/// A client that keeps cookies the way a browser does for `/dashboard`.
struct Browser<'a> {
    app: &'a TestApp,
    cookies: HashMap<String, String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookies: HashMap::new(),
        }
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> TestResponse {
        let mut req = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", c.join("; "));
        }
        let body = match form {
            Some(fields) => {
                req = req.header("content-type", "application/x-www-form-urlencoded");
                Body::from(serde_urlencoded::to_string(fields).unwrap())
            }
            None => Body::empty(),
        };
        let res = self.app.request(req.body(body).unwrap()).await;
        for v in res.headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (kv, attrs) = v.split_once(';').unwrap();
            let (k, val) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.into(), val.into());
            }
        }
        res
    }

    async fn get(&mut self, path: &str) -> TestResponse {
        self.send(Method::GET, path, None).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> TestResponse {
        self.send(Method::POST, path, Some(form)).await
    }

    /// Signs in with `token`; the sign-in answer.
    async fn sign_in(&mut self, token: &str) -> TestResponse {
        let form = self.get("/dashboard/login").await;
        let csrf = csrf_of(&form.text());
        self.post("/dashboard/login", &[("_csrf", &csrf), ("token", token)])
            .await
    }

    /// The CSRF token of the page at `path`.
    async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{}", page.text());
        csrf_of(&page.text())
    }
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a CSRF field") + 20;
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

fn location(res: &TestResponse) -> &str {
    res.header("location").unwrap_or("")
}

#[tokio::test]
async fn pages_need_a_session_and_every_answer_carries_the_security_headers() {
    let app = TestApp::new().await;
    let mut b = Browser::new(&app);
    for path in [
        "/dashboard/",
        "/dashboard/partners",
        "/dashboard/credentials/abc",
    ] {
        let res = b.get(path).await;
        assert_eq!(res.status, 303, "{path}");
        assert_eq!(location(&res), "/dashboard/login");
    }
    let login = b.get("/dashboard/login").await;
    assert_eq!(login.status, 200);
    let csp = login.header("content-security-policy").unwrap();
    for rule in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(rule), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(login.header("x-frame-options"), Some("DENY"));
    assert_eq!(login.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(login.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(login.header("cache-control"), Some("no-store"));
    // No inline script or style anywhere: the CSP would block them.
    let html = login.text();
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "{html}"
    );

    let js = b.get("/dashboard/assets/dashboard.js").await;
    assert_eq!(js.status, 200);
    assert!(js
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    let css = b.get("/dashboard/assets/dashboard.css").await;
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(b.get("/dashboard/nothing-here").await.status, 404);
}

#[tokio::test]
async fn the_admin_token_opens_a_session_and_signing_out_ends_it() {
    let app = TestApp::new().await;
    let mut b = Browser::new(&app);
    let wrong = b.sign_in("not-the-token-at-all").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text().contains("not the admin token"));
    assert!(!b.cookies.contains_key("claimd_dashboard"));

    let ok = b.sign_in(&app.admin_token).await;
    assert_eq!(ok.status, 303, "{}", ok.text());
    assert_eq!(location(&ok), "/dashboard/");
    let cookie = ok
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("claimd_dashboard="))
        .unwrap();
    for attr in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/dashboard",
        "Secure",
        "Max-Age=115200",
    ] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let overview = b.get("/dashboard/").await;
    assert_eq!(overview.status, 200);
    assert!(overview.text().contains("Overview"));
    let session = b.cookies["claimd_dashboard"].clone();

    let csrf = csrf_of(&overview.text());
    let out = b.post("/dashboard/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(location(&out), "/dashboard/login?reason=signed-out");
    assert!(
        !b.cookies.contains_key("claimd_dashboard"),
        "the cookie is deleted"
    );
    // The old cookie, replayed, is refused too.
    b.cookies.insert("claimd_dashboard".into(), session);
    let replay = b.get("/dashboard/").await;
    assert_eq!(replay.status, 303);
    assert_eq!(location(&replay), "/dashboard/login?reason=signed-out");
}

#[tokio::test]
async fn sessions_expire_on_the_clock() {
    let app = TestApp::new().await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&app.admin_token).await.status, 303);
    app.clock.advance(Duration::from_secs(8 * 3600 - 1));
    assert_eq!(b.get("/dashboard/").await.status, 200);
    app.clock.advance(Duration::from_secs(1));
    let expired = b.get("/dashboard/").await;
    assert_eq!(expired.status, 303);
    assert_eq!(location(&expired), "/dashboard/login?reason=expired");
    let login = b.get(location(&expired).to_owned().as_str()).await;
    assert!(login.text().contains("Your session expired"));
}

#[tokio::test]
async fn forms_without_their_sessions_csrf_token_change_nothing() {
    let app = TestApp::new().await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&app.admin_token).await.status, 303);
    let mine = b.csrf("/dashboard/partners").await;
    let mut other = Browser::new(&app);
    assert_eq!(other.sign_in(&app.admin_token).await.status, 303);
    let theirs = other.csrf("/dashboard/partners").await;
    assert_ne!(mine, theirs);

    let partner = |csrf: Option<&str>| {
        let mut f = vec![
            ("name", "Acme"),
            ("jwksUrl", "https://acme.example/jwks.json"),
            ("feature", "issue_on_behalf"),
            ("allSchemas", "yes"),
            ("enabled", "yes"),
        ];
        if let Some(c) = csrf {
            f.push(("_csrf", c));
        }
        f.into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect::<Vec<_>>()
    };
    for (csrf, why) in [
        (None, "no token"),
        (Some(theirs.as_str()), "another session's"),
        (Some(""), "empty"),
    ] {
        let fields = partner(csrf);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = b.post("/dashboard/partners", &fields).await;
        assert_eq!(res.status, 403, "{why}");
        assert!(res.text().contains("CSRF"), "{why}");
    }
    let listed = app.admin(Method::GET, "/admin/v1/partners", None).await;
    assert_eq!(listed.json()["total"], 0, "nothing was created");
    // Sign-out is a form too.
    assert_eq!(
        b.post("/dashboard/logout", &[("_csrf", &theirs)])
            .await
            .status,
        403
    );
    assert_eq!(b.get("/dashboard/").await.status, 200, "still signed in");

    let fields = partner(Some(&mine));
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = b.post("/dashboard/partners", &fields).await;
    assert_eq!(created.status, 303, "{}", created.text());
    assert_eq!(
        app.admin(Method::GET, "/admin/v1/partners", None)
            .await
            .json()["total"],
        1
    );

    // The sign-in form has its own token, bound to its cookie.
    let mut fresh = Browser::new(&app);
    let form = fresh.get("/dashboard/login").await;
    let token = csrf_of(&form.text());
    fresh.cookies.clear();
    let res = fresh
        .post(
            "/dashboard/login",
            &[("_csrf", &token), ("token", &app.admin_token)],
        )
        .await;
    assert_eq!(res.status, 403);
    assert!(!fresh.cookies.contains_key("claimd_dashboard"));
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited_per_address() {
    let app = TestApp::new().await;
    let mut b = Browser::new(&app);
    for _ in 0..10 {
        assert_eq!(b.sign_in("wrong-token-wrong-token").await.status, 401);
    }
    let limited = b.sign_in(&app.admin_token).await;
    assert_eq!(limited.status, 429);
    assert!(limited.text().contains("Too many sign-in attempts"));
    app.clock.advance(Duration::from_secs(30));
    assert_eq!(b.sign_in(&app.admin_token).await.status, 303);
}

#[tokio::test]
async fn actions_go_through_the_operator_api_and_its_errors_are_shown_in_words() {
    let app = TestApp::new().await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&app.admin_token).await.status, 303);

    // Schema: preview (nothing created), then create.
    let csrf = b.csrf("/dashboard/schemas").await;
    let schema_form = |intent: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("title", "Membership".into()),
            ("type", "Membership".into()),
            ("attr-0-name", "age".into()),
            ("attr-0-type", "integer".into()),
            ("attr-0-required", "yes".into()),
            ("attr-1-name", "".into()),
            ("attr-1-type", "string".into()),
            ("intent", intent.into()),
        ]
    };
    let f = schema_form("preview");
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let preview = b.post("/dashboard/schemas", &f).await;
    assert_eq!(preview.status, 200);
    let text = preview.text();
    assert!(text.contains("JSON Schema") && text.contains("JSON-LD context"));
    assert!(
        text.contains("&quot;age&quot;"),
        "the attribute is in the documents"
    );
    assert_eq!(
        app.admin(Method::GET, "/admin/v1/schemas", None)
            .await
            .json()["total"],
        0
    );
    let f = schema_form("create");
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = b.post("/dashboard/schemas", &f).await;
    assert_eq!(created.status, 303, "{}", created.text());
    let schemas = app
        .admin(Method::GET, "/admin/v1/schemas", None)
        .await
        .json();
    let schema_id = schemas["items"][0]["schemaId"].as_str().unwrap().to_owned();
    assert_eq!(
        location(&created),
        format!("/dashboard/schemas/{schema_id}")
    );
    let page = b.get(location(&created).to_owned().as_str()).await;
    assert!(
        page.text().contains("urn:uuid:"),
        "the generated context is shown"
    );

    // A refusal of the operator API, in its words, with the entered values kept.
    let csrf = b.csrf("/dashboard/partners").await;
    let refused = b
        .post(
            "/dashboard/partners",
            &[
                ("_csrf", &csrf),
                ("name", "<script>alert(1)</script>"),
                ("enabled", "yes"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    let text = refused.text();
    let api = app
        .admin(
            Method::POST,
            "/admin/v1/partners",
            Some(&json!({"name": "<script>alert(1)</script>", "enabled": true})),
        )
        .await;
    assert_eq!(api.status, 400);
    let message = api.json()["message"].as_str().unwrap().to_owned();
    assert!(
        text.contains(&message.replace('"', "&quot;")),
        "{message} in {text}"
    );
    assert!(
        !text.contains("<script>alert(1)</script>"),
        "entered text is escaped"
    );
    assert!(text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    // Partner, issuer, program: each form lands in the operator API.
    let created = b
        .post(
            "/dashboard/partners",
            &[
                ("_csrf", &csrf),
                ("name", "Acme"),
                ("jwksUrl", "https://acme.example/jwks.json"),
                ("feature", "issue_on_behalf"),
                ("schema", &schema_id),
                ("enabled", "yes"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.text());
    let partner = &app
        .admin(Method::GET, "/admin/v1/partners", None)
        .await
        .json()["items"][0];
    assert_eq!(partner["allowedSchemaIds"], json!([schema_id]));
    assert_eq!(partner["features"], json!(["issue_on_behalf"]));
    let partner_id = partner["partnerId"].as_str().unwrap().to_owned();

    // Edit: inline JWKS instead of the URL, every schema, disabled.
    let path = format!("/dashboard/partners/{partner_id}");
    let csrf = b.csrf(&path).await;
    let jwks = r#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "x": "x", "y": "y"}]}"#;
    let edited = b
        .post(
            &path,
            &[
                ("_csrf", &csrf),
                ("name", "Acme Ltd"),
                ("jwks", jwks),
                ("allSchemas", "yes"),
            ],
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text());
    assert!(edited.text().contains("Saved."));
    let partner = app
        .admin(
            Method::GET,
            &format!("/admin/v1/partners/{partner_id}"),
            None,
        )
        .await
        .json();
    assert_eq!(partner["name"], "Acme Ltd");
    assert_eq!(partner["jwks"]["keys"][0]["kid"], "k1");
    assert!(partner["jwksUrl"].is_null());
    assert!(partner["allowedSchemaIds"].is_null());
    assert_eq!(partner["enabled"], false);

    let csrf = b.csrf("/dashboard/issuers").await;
    let created = b
        .post(
            "/dashboard/issuers",
            &[
                ("_csrf", &csrf),
                ("partnerId", &partner_id),
                ("name", "Acme issuer"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.text());
    let issuer = &app
        .admin(Method::GET, "/admin/v1/issuers", None)
        .await
        .json()["items"][0];
    let did = issuer["issuerDid"].as_str().unwrap().to_owned();
    let page = b.get(location(&created).to_owned().as_str()).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains(issuer["ethAddress"].as_str().unwrap()));
    assert!(page.text().contains("No state published yet"));

    let csrf = b.csrf("/dashboard/programs").await;
    let bad = b
        .post(
            "/dashboard/programs",
            &[
                ("_csrf", &csrf),
                ("issuerDid", &did),
                ("schemaId", &schema_id),
                ("name", "Members"),
                ("maxIssuance", "many"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.text().contains("maxIssuance"));
    let created = b
        .post(
            "/dashboard/programs",
            &[
                ("_csrf", &csrf),
                ("issuerDid", &did),
                ("schemaId", &schema_id),
                ("name", "Members"),
                ("accessibleFrom", "2026-01-01T00:00"),
                ("maxIssuance", "100"),
                ("expirationDays", "365"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.text());
    let program = &app
        .admin(Method::GET, "/admin/v1/programs", None)
        .await
        .json()["items"][0];
    assert_eq!(program["maxIssuance"], 100);
    assert_eq!(program["accessibleFrom"], "2026-01-01T00:00:00Z");
    let page = b.get(location(&created).to_owned().as_str()).await;
    assert!(page.text().contains("Credentials issued"));

    // Consent, and a search that finds nothing.
    let csrf = b.csrf("/dashboard/consent").await;
    let set = b
        .post(
            "/dashboard/consent",
            &[
                ("_csrf", &csrf),
                ("email", "Alice@Example.org"),
                ("partnerId", &partner_id),
                ("status", "rejected"),
            ],
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text());
    assert!(set
        .text()
        .contains("Recorded: rejected for alice@example.org"));
    let found = b
        .get("/dashboard/credentials?email=nobody%40example.org")
        .await;
    assert_eq!(found.status, 200);
    assert!(found.text().contains("none yet"));
    // A search no program can match finds nothing (the operator API's listing says so).
    let nothing = b.get("/dashboard/credentials?programId=%3Cx%3E").await;
    assert_eq!(nothing.status, 200);
    assert!(nothing.text().contains("none yet"));
    let unknown = b
        .get(&format!("/dashboard/credentials/{}", "ab".repeat(32)))
        .await;
    assert!(unknown
        .text()
        .contains("No credential found for the given hash."));
}
