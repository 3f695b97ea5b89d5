//! The operator dashboard through the real router: sign-in, sessions, CSRF, expiry, security
//! headers, and pages whose actions land in the operator API. (The browser test is
//! `dashboard_e2e.rs`.)

use axum::body::Body;
use axum::http::{Method, Request};
use claimd_api::dashboard::explorer::TxExplorer;
use claimd_core::bulk::runner::{BulkRunner, RunnerConfig, Step};
use claimd_testkit::app::AppSettings;
use claimd_testkit::{Backend, TestApp, TestResponse};
use serde_json::{json, Value};
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
        let body = form.map(|fields| {
            (
                "application/x-www-form-urlencoded".to_owned(),
                serde_urlencoded::to_string(fields).unwrap().into_bytes(),
            )
        });
        self.send_body(method, path, body).await
    }

    /// Sends `body` (content type, bytes) with the cookies kept so far.
    async fn send_body(
        &mut self,
        method: Method,
        path: &str,
        body: Option<(String, Vec<u8>)>,
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
        let body = match body {
            Some((ct, bytes)) => {
                req = req.header("content-type", ct);
                Body::from(bytes)
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

    /// Posts a form that creates something: the answer is a redirect to what it created.
    async fn create(&mut self, path: &str, form: &[(&str, &str)]) -> TestResponse {
        let res = self.post(path, form).await;
        assert_eq!(res.status, 303, "{}", res.text());
        res
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

/// The first item of an operator API listing (newest first, or the only one).
async fn first_listed(app: &TestApp, listing: &str) -> Value {
    app.admin(Method::GET, listing, None).await.json()["items"][0].clone()
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
    b.create("/dashboard/partners", &fields).await;
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
    let created = b.create("/dashboard/schemas", &f).await;
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
    b.create(
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
    let partner = first_listed(&app, "/admin/v1/partners").await;
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
        .create(
            "/dashboard/issuers",
            &[
                ("_csrf", &csrf),
                ("partnerId", &partner_id),
                ("name", "Acme issuer"),
            ],
        )
        .await;
    let issuer = first_listed(&app, "/admin/v1/issuers").await;
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
        .create(
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
    let program = first_listed(&app, "/admin/v1/programs").await;
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

/// A TestApp on `backend` (with the dashboard's explorer set to `explorer`), a schema (`age`
/// integer required, `city`), a partner, an issuer and a program: `(app, program, issuer)`.
async fn catalog_app(backend: Backend, explorer: Option<&str>) -> (TestApp, String, Value) {
    let p = TestApp::provisioned(AppSettings {
        backend,
        explorer: explorer.map(|e| TxExplorer::parse(e).unwrap()),
        ..AppSettings::default()
    })
    .await;
    (p.app, p.program, p.issuer)
}

/// Runs the bulk runner until it has no more work.
async fn drain(app: &TestApp) {
    let runner = BulkRunner::new(
        app.state.store.clone(),
        app.state.issuance.clone(),
        app.clock.shared(),
        "dashboard-test".into(),
        RunnerConfig::default(),
    );
    let mut steps = 0;
    while runner.run_once().await.unwrap() != Step::Idle {
        steps += 1;
        assert!(steps < 10_000, "the runner never ran out of work");
    }
}

/// A multipart form body with its content type; `file` is `(name, content type, bytes)`.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----claimdTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, ct, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: {ct}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn jobs_total(app: &TestApp) -> u64 {
    app.admin(Method::GET, "/admin/v1/bulk-issuances", None)
        .await
        .json()["total"]
        .as_u64()
        .unwrap()
}

/// A file uploaded through the dashboard's multipart form lands in the operator API's bulk
/// upload: refused without the session's CSRF token or a program, then a job whose page and
/// progress fragment follow it to the end, and whose results download as CSV.
async fn bulk_jobs_from_the_browser(backend: Backend) {
    let (app, program, _) = catalog_app(backend, None).await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&app.admin_token).await.status, 303);
    let csrf = b.csrf("/dashboard/bulk").await;
    let csv = b"email,age,city\nann@example.org,30,Paris\nbob@example.org,41,Lyon\nnot-an-email,20,Rome\n";
    let file = Some(("members.csv", "text/csv", &csv[..]));

    let forged = multipart(
        &[("_csrf", &"0".repeat(64)), ("credentialId", &program)],
        file,
    );
    let res = b
        .send_body(Method::POST, "/dashboard/bulk", Some(forged))
        .await;
    assert_eq!(res.status, 403, "{}", res.text());
    let unnamed = multipart(&[("_csrf", &csrf), ("credentialId", "")], file);
    let res = b
        .send_body(Method::POST, "/dashboard/bulk", Some(unnamed))
        .await;
    assert_eq!(res.status, 422);
    assert!(res.text().contains("Choose the program to issue."));
    let unknown = multipart(&[("_csrf", &csrf), ("credentialId", "nope")], file);
    let res = b
        .send_body(Method::POST, "/dashboard/bulk", Some(unknown))
        .await;
    assert_eq!(res.status, 422);
    assert!(
        res.text().contains("Unknown issuance program"),
        "the API's refusal in words: {}",
        res.text()
    );
    let text = multipart(
        &[("_csrf", &csrf), ("credentialId", &program)],
        Some(("notes.txt", "text/plain", b"hello")),
    );
    let res = b
        .send_body(Method::POST, "/dashboard/bulk", Some(text))
        .await;
    assert_eq!(res.status, 422);
    assert!(res.text().contains("CSV (.csv) or JSON Lines"));
    assert_eq!(jobs_total(&app).await, 0, "nothing refused made a job");

    let upload = multipart(&[("_csrf", &csrf), ("credentialId", &program)], file);
    let res = b
        .send_body(Method::POST, "/dashboard/bulk", Some(upload))
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let jobs = app
        .admin(Method::GET, "/admin/v1/bulk-issuances", None)
        .await
        .json();
    assert_eq!(jobs["total"], 1);
    let job = jobs["items"][0]["jobId"].as_str().unwrap().to_owned();
    assert_eq!(jobs["items"][0]["validateOnly"], false);
    assert_eq!(location(&res), format!("/dashboard/bulk/{job}"));

    let page = b.get(&format!("/dashboard/bulk/{job}")).await;
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains("data-final=\"false\""), "{text}");
    assert!(
        text.contains("<span data-count=\"total\">3</span>"),
        "{text}"
    );
    assert!(text.contains("Cancel job"));
    let listed = b.get("/dashboard/bulk").await.text();
    assert!(listed.contains(&job) && listed.contains("Bulk issuance jobs"));

    drain(&app).await;
    let fragment = b.get(&format!("/dashboard/bulk/{job}/progress")).await;
    assert_eq!(fragment.status, 200);
    let text = fragment.text();
    assert!(!text.contains("<html"), "a fragment, not a page");
    assert!(text.contains("data-final=\"true\""), "{text}");
    assert!(text.contains("id=\"job-state\">COMPLETED<"), "{text}");
    for (count, n) in [("issued", 2), ("invalid", 1), ("failed", 0), ("pending", 0)] {
        assert!(
            text.contains(&format!("<span data-count=\"{count}\">{n}</span>")),
            "{count} = {n} in {text}"
        );
    }
    let page = b.get(&format!("/dashboard/bulk/{job}")).await.text();
    assert!(
        !page.contains("Cancel job"),
        "a finished job has no controls"
    );

    let results = b.get(&format!("/dashboard/bulk/{job}/results")).await;
    assert_eq!(results.status, 200);
    assert_eq!(
        results.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert!(results
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));
    let csv = results.text();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "row,email,status,coreClaimHash,error");
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[1].starts_with("1,ann@example.org,ISSUED,"), "{csv}");

    // Validate only, from the checkbox; a cancelled job can be cancelled no more.
    let upload = multipart(
        &[
            ("_csrf", &csrf),
            ("credentialId", &program),
            ("validateOnly", "true"),
        ],
        file,
    );
    let res = b
        .send_body(Method::POST, "/dashboard/bulk", Some(upload))
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let second = location(&res).rsplit('/').next().unwrap().to_owned();
    let view = app
        .admin(
            Method::GET,
            &format!("/admin/v1/bulk-issuances/{second}"),
            None,
        )
        .await
        .json();
    assert_eq!(view["validateOnly"], true);
    let path = format!("/dashboard/bulk/{second}");
    let csrf = b.csrf(&path).await;
    let cancelled = b.post(&format!("{path}/cancel"), &[("_csrf", &csrf)]).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text());
    assert!(cancelled
        .text()
        .contains("Cancelled. The job is CANCELLED."));
    let again = b.post(&format!("{path}/cancel"), &[("_csrf", &csrf)]).await;
    assert_eq!(again.status, 422, "the API's refusal: {}", again.text());
    assert!(again.text().contains("Refused:"));
    let missing = b.get("/dashboard/bulk/not-a-job").await;
    assert_eq!(missing.status, 422);
}

/// Issues two credentials (bulk, through the operator API), confirms a transition with both
/// and revokes the first: its `coreClaimHash`.
async fn credential_with_a_past(app: &TestApp, program: &str, issuer: &Value) -> String {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/admin/v1/programs/{program}/bulk-issuances"))
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", "text/csv")
        .body(Body::from(
            "email,age\nann@example.org,30\nbob@example.org,40\n",
        ))
        .unwrap();
    assert_eq!(app.request(req).await.status, 202);
    drain(app).await;
    let listed = app
        .admin(Method::GET, "/admin/v1/credentials", None)
        .await
        .json();
    let hashes: Vec<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["coreClaimHash"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(hashes.len(), 2);
    let roots = |n: u64| claimd_core::store::IdentityRoots {
        claims_root: claimd_iden3::Fr::from_u64(n),
        revocation_root: claimd_iden3::Fr::from_u64(n + 1),
        roots_root: claimd_iden3::Fr::from_u64(n + 2),
        state: claimd_iden3::Fr::from_u64(n + 3),
    };
    let store = &app.state.store;
    let issuer_id = claimd_core::IssuerId::parse(issuer["issuerId"].as_str().unwrap()).unwrap();
    let id = store
        .begin_transition(claimd_core::store::TransitionDraft {
            issuer_id,
            old: None,
            new: roots(10),
            claims: hashes.clone(),
            revocations: vec![],
            nodes: vec![],
        })
        .await
        .unwrap();
    store
        .confirm_transition(
            id,
            &claimd_core::store::Confirmation {
                tx_hash: "0xfeed01".into(),
                block_number: 42,
                block_timestamp: 1_700_000_000,
            },
        )
        .await
        .unwrap();
    let revoked = app
        .admin(
            Method::POST,
            &format!("/admin/v1/credentials/{}/revoke", hashes[0]),
            None,
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    hashes[0].clone()
}

/// The credential page's status history is the operator API's: accepted, on chain with its
/// transaction and block, revocation requested; transactions link to the explorer.
async fn credential_history_with_explorer_links(backend: Backend) {
    let (app, program, issuer) =
        catalog_app(backend, Some("https://explorer.example/tx/{txHash}")).await;
    let hash = credential_with_a_past(&app, &program, &issuer).await;

    let history = app
        .admin(
            Method::GET,
            &format!("/admin/v1/credentials/{}/history", hash.to_uppercase()),
            None,
        )
        .await;
    assert_eq!(history.status, 200, "{}", history.text());
    let h = history.json();
    assert_eq!(
        (h["coreClaimHash"].as_str(), h["vcStatus"].as_str()),
        (Some(hash.as_str()), Some("WAIT_REMOVE"))
    );
    let items = h["items"].as_array().unwrap();
    let seen: Vec<(&str, &str, Option<&str>, Option<&str>)> = items
        .iter()
        .map(|e| {
            (
                e["change"].as_str().unwrap(),
                e["vcStatus"].as_str().unwrap(),
                e["txHash"].as_str(),
                e["blockNumber"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("accepted", "WAIT_ONCHAIN", None, None),
            ("onchain", "ONCHAIN", Some("0xfeed01"), Some("42")),
            ("revocation_requested", "WAIT_REMOVE", None, None),
        ]
    );
    assert!(
        items[0]["eventId"].is_null() && items[1]["eventId"].as_str().unwrap().starts_with("evt_")
    );
    // The answer is what /openapi.json documents.
    let doc = app.get("/openapi.json").await.json();
    assert!(doc["paths"]["/admin/v1/credentials/{coreClaimHash}/history"]["get"].is_object());
    let schema = &doc["components"]["schemas"]["CredentialHistory"];
    for key in h.as_object().unwrap().keys() {
        assert!(schema["properties"][key].is_object(), "{key} is documented");
    }
    let entry = &schema["properties"]["items"]["items"];
    for item in items {
        for key in item.as_object().unwrap().keys() {
            assert!(entry["properties"][key].is_object(), "{key} is documented");
        }
        assert!(entry["properties"]["change"]["enum"]
            .as_array()
            .unwrap()
            .contains(&item["change"]));
    }
    for bad in ["zz", &"0".repeat(64)] {
        let r = app
            .admin(
                Method::GET,
                &format!("/admin/v1/credentials/{bad}/history"),
                None,
            )
            .await;
        assert_eq!(r.status, 404);
        assert_eq!(
            r.json()["message"],
            "No credential found for the given hash."
        );
    }

    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&app.admin_token).await.status, 303);
    let page = b.get(&format!("/dashboard/credentials/{hash}")).await;
    assert_eq!(page.status, 200);
    let text = page.text();
    let link = "<a class=\"tx\" href=\"https://explorer.example/tx/0xfeed01\" rel=\"noopener noreferrer\" \
                target=\"_blank\"><code>0xfeed01</code></a>";
    for want in [
        "Accepted (issued)",
        "On chain",
        "Revocation requested",
        &format!("{link} in block 42"),
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    let issuer_page = b
        .get(&format!(
            "/dashboard/issuers/{}",
            issuer["issuerDid"].as_str().unwrap().replace(':', "%3A")
        ))
        .await
        .text();
    assert!(issuer_page.contains(link), "{issuer_page}");
}

/// Without an explorer, transaction hashes are plain text.
async fn transaction_hashes_are_text_without_an_explorer(backend: Backend) {
    let (app, program, issuer) = catalog_app(backend, None).await;
    let hash = credential_with_a_past(&app, &program, &issuer).await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&app.admin_token).await.status, 303);
    let text = b
        .get(&format!("/dashboard/credentials/{hash}"))
        .await
        .text();
    assert!(text.contains("<code>0xfeed01</code> in block 42"), "{text}");
    assert!(!text.contains("class=\"tx\""), "{text}");
}

/// A partner's webhook endpoints from the dashboard: added (the secret shown once, as the API
/// answered), disabled, rotated, its deliveries listed with the events and replayed, deleted;
/// each step is what the operator API then holds.
async fn webhook_endpoints_and_deliveries(backend: Backend) {
    let (app, program, issuer) = catalog_app(backend, None).await;
    let partner = issuer["partnerId"].as_str().unwrap().to_owned();
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in(&app.admin_token).await.status, 303);
    let listed = b.get("/dashboard/webhooks").await.text();
    assert!(listed.contains(&format!("/dashboard/partners/{partner}/webhooks")));
    let here = format!("/dashboard/partners/{partner}/webhooks");
    let csrf = b.csrf(&here).await;
    let bad = b
        .post(
            &here,
            &[
                ("_csrf", &csrf),
                ("url", "ftp://x.example/h"),
                ("enabled", "yes"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.text().contains("Invalid field url"), "{}", bad.text());
    let added = b
        .post(
            &here,
            &[
                ("_csrf", &csrf),
                ("url", "https://hooks.example/claimd"),
                ("eventType", "credential.onchain"),
                ("eventType", "credential.revocation_requested"),
                ("enabled", "yes"),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text());
    let text = added.text();
    assert!(text.contains("Endpoint added."));
    let endpoints = app
        .admin(
            Method::GET,
            &format!("/admin/v1/partners/{partner}/webhooks"),
            None,
        )
        .await
        .json();
    let e = &endpoints["items"][0];
    assert_eq!(
        e["eventTypes"],
        json!(["credential.onchain", "credential.revocation_requested"])
    );
    let endpoint = e["endpointId"].as_str().unwrap().to_owned();
    let at = text.find("id=\"f-secret\"").expect("the secret is shown");
    assert!(text[at..].contains("value=\"whsec_"), "{text}");
    let again = b.get(&here).await.text();
    assert!(!again.contains("whsec_"), "the secret is shown once");

    let path = format!("{here}/{endpoint}");
    let disabled = b
        .post(&format!("{path}/disable"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text());
    let api_path = format!("/admin/v1/partners/{partner}/webhooks/{endpoint}");
    assert_eq!(
        app.admin(Method::GET, &api_path, None).await.json()["enabled"],
        false
    );
    let enabled = b.post(&format!("{path}/enable"), &[("_csrf", &csrf)]).await;
    assert!(enabled.text().contains("Endpoint enabled."));
    assert_eq!(
        app.admin(Method::GET, &api_path, None).await.json()["enabled"],
        true
    );
    let rotated = b.post(&format!("{path}/rotate"), &[("_csrf", &csrf)]).await;
    assert!(rotated.text().contains("Secret rotated") && rotated.text().contains("value=\"whsec_"));
    assert!(
        !app.admin(Method::GET, &api_path, None).await.json()["previousSecretExpiresAt"].is_null()
    );

    // Events after the endpoint: on chain (twice) and a revocation request, all subscribed.
    credential_with_a_past(&app, &program, &issuer).await;
    let page = b.get(&path).await;
    assert_eq!(page.status, 200);
    let text = page.text();
    assert_eq!(
        text.matches("<code>credential.onchain</code><br>").count(),
        2,
        "{text}"
    );
    assert_eq!(
        text.matches("<code>credential.revocation_requested</code><br>")
            .count(),
        1
    );
    let only_dead = b.get(&format!("{path}?state=DEAD&limit=100")).await.text();
    assert!(only_dead.contains("none yet"), "{only_dead}");
    let deliveries = app
        .admin(Method::GET, &format!("{api_path}/deliveries"), None)
        .await
        .json();
    let event = deliveries["items"][0]["eventId"]
        .as_str()
        .unwrap()
        .to_owned();
    let replayed = b
        .post(
            &format!("{path}/replay"),
            &[("_csrf", &csrf), ("eventId", &event)],
        )
        .await;
    assert_eq!(replayed.status, 200, "{}", replayed.text());
    assert!(replayed
        .text()
        .contains("Queued 1 event for delivery again."));
    let after = app
        .admin(Method::GET, &format!("{api_path}/deliveries"), None)
        .await
        .json();
    assert_eq!(
        after["items"].as_array().unwrap().len(),
        4,
        "the replay is a new delivery"
    );
    let unknown = b
        .post(
            &format!("{path}/replay"),
            &[("_csrf", &csrf), ("eventId", "evt_nope")],
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.text().contains("Refused:"), "{}", unknown.text());

    let deleted = b.post(&format!("{path}/delete"), &[("_csrf", &csrf)]).await;
    assert!(
        deleted.text().contains("Endpoint deleted"),
        "{}",
        deleted.text()
    );
    assert_eq!(app.admin(Method::GET, &api_path, None).await.status, 404);
    let gone = b.get(&path).await;
    assert_eq!(gone.status, 422);
    assert!(gone.text().contains("Unknown webhook endpoint"));
}

claimd_testkit::on_each_backend!(
    bulk_jobs_from_the_browser,
    credential_history_with_explorer_links,
    transaction_hashes_are_text_without_an_explorer,
    webhook_endpoints_and_deliveries
);
