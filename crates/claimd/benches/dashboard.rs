//! The operator dashboard at size (issue #18): the installation of `seeded/mod.rs` (1,000,000
//! credentials, 250,000 users, 10,000 issuance programs by default), an operator signed in to
//! `/dashboard/` over HTTP (sign-in form, its CSRF token and cookie, then the session cookie),
//! and every page timed `BENCH_DASHBOARD_N` times (default 50) one after another: overview,
//! partners, schemas, issuers, an issuer, programs, credentials (newest, by hash, by email, by
//! program), a credential, consent. On SQLite and PostgreSQL in the same run, against a
//! running `claimd serve --dev` (release build, publisher on). The bar: every page
//! under 200 ms.
//!
//! `cargo bench -p claimd --bench dashboard` (env: `BENCH_DASHBOARD_N`;
//! `BENCH_DASHBOARD_BACKENDS`, default `sqlite,postgres`; the `BENCH_SEED_*` sizes;
//! `CLAIMD_TEST_POSTGRES_URL`). Writes `bench/results/dashboard.json`.

#[path = "../tests/common/mod.rs"]
mod common;
mod seeded;
mod support;

use serde_json::{json, Value};

/// The CSRF token in a page's form.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a CSRF field") + 20;
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

/// `name=value` of each `Set-Cookie` of an answer.
fn cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_owned)
        .collect()
}

/// Signs in with the admin token as a browser does; the session's `Cookie` header.
async fn sign_in(base: &str, admin_token: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = http
        .get(format!("{base}/dashboard/login"))
        .send()
        .await
        .unwrap();
    let login_cookie = cookies(&form).join("; ");
    let csrf = csrf_of(&form.text().await.unwrap());
    let body =
        serde_urlencoded::to_string([("_csrf", csrf.as_str()), ("token", admin_token)]).unwrap();
    let r = http
        .post(format!("{base}/dashboard/login"))
        .header("cookie", login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "sign-in: {}", r.status());
    let session: Vec<String> = cookies(&r)
        .into_iter()
        .filter(|c| c.starts_with("claimd_dashboard=") && c.len() > "claimd_dashboard=".len())
        .collect();
    assert_eq!(session.len(), 1, "a session cookie");
    // The cookie opens the overview.
    let page = http
        .get(format!("{base}/dashboard/"))
        .header("cookie", &session[0])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "signed in");
    session[0].clone()
}

fn pages(w: &seeded::World) -> Vec<(String, String)> {
    let (did, _, hash) = &w.issuers[0];
    let program = &w.programs[w.programs.len() / 2];
    let schema = &w.schemas[w.schemas.len() / 2];
    // A seeded user with several credentials (user k holds credentials k, k + users, …).
    let email = "seed1234-00005eed@seed.example";
    let enc = |s: &str| serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_owned();
    vec![
        ("overview".into(), "/dashboard/".into()),
        ("partners".into(), "/dashboard/partners".into()),
        ("schemas".into(), "/dashboard/schemas".into()),
        (
            "schema detail".into(),
            format!("/dashboard/schemas/{schema}"),
        ),
        ("issuers".into(), "/dashboard/issuers".into()),
        (
            "issuer detail".into(),
            format!("/dashboard/issuers/{}", enc(did)),
        ),
        ("programs".into(), "/dashboard/programs".into()),
        (
            "program detail".into(),
            format!("/dashboard/programs/{program}"),
        ),
        (
            "credentials (newest)".into(),
            "/dashboard/credentials".into(),
        ),
        (
            "credentials, page 20".into(),
            "/dashboard/credentials?page=20".into(),
        ),
        (
            "credentials by hash (303 to the credential, followed)".into(),
            format!("/dashboard/credentials?hash={hash}"),
        ),
        (
            "credentials by email".into(),
            format!("/dashboard/credentials?email={}", enc(email)),
        ),
        (
            "credentials by program".into(),
            format!("/dashboard/credentials?programId={program}"),
        ),
        (
            "credentials by program, page 2".into(),
            format!("/dashboard/credentials?programId={program}&page=2"),
        ),
        (
            "credential detail".into(),
            format!("/dashboard/credentials/{hash}"),
        ),
        ("consent".into(), "/dashboard/consent".into()),
    ]
}

#[tokio::main]
async fn main() {
    let n = support::env_usize("BENCH_DASHBOARD_N", 50);
    let sizes = seeded::Sizes::from_env();
    let results = seeded::on_each_backend("BENCH_DASHBOARD_BACKENDS", sizes, move |w| async move {
        let name = support::backend_name(w.backend);
        let server = w.f.server();
        let cookie = sign_in(&server.url, &server.admin_token).await;
        let http = reqwest::Client::new();
        let load_before = support::load_average();
        let mut rows = seeded::time_gets(
            &http,
            &server.url,
            &pages(&w),
            n,
            &[("cookie", cookie.clone())],
        )
        .await;
        let load_after = support::load_average();
        for r in &mut rows {
            let p99 = r["p99_ms"].as_f64().unwrap_or(f64::INFINITY);
            r["under_200_ms"] = json!(p99 < 200.0);
        }
        let missed: Vec<Value> = rows
            .iter()
            .filter(|r| r["under_200_ms"] == false)
            .map(|r| r["request"].clone())
            .collect();
        json!({
            "backend": name,
            "setup": w.setup,
            "pages": rows,
            "pages_over_200_ms_at_p99": missed,
            "memory": support::memory_mib(server),
            "load_average": {"before": load_before, "after": load_after},
        })
    })
    .await;
    let out = support::report(
        "operator dashboard pages over HTTP at size (server with its publisher and the client on the same machine)",
        "dashboard",
        json!({
            "sizes": sizes.to_json(),
            "requests_each": n,
            "bar_ms": 200,
            "setup": "claimd serve --dev, embedded chain, publisher on; the catalog bench's installation (seeded/mod.rs); signed in through the sign-in form; each page timed sequentially on one keep-alive connection after one untimed request; the credential shown is one issued through the API (in its issuer's tree)",
            "results": results,
        }),
    );
    support::write_results("dashboard.json", &out);
}
