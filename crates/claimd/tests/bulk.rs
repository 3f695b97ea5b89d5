//! Bulk issuance. In process ([`TestApp`] on each backend, the runner stepped by the test): a
//! file with bad rows of every kind, validate-only, pause/resume/cancel, refused files, exact
//! counts and results. On the real binary: the CLI end to end, and kill -9 in the middle of a
//! job, after which every row is issued exactly once.

mod common;

use axum::body::Body;
use axum::http::{Method, Request};
use claimd_core::bulk::runner::{BulkRunner, RunnerConfig, Step};
use claimd_testkit::app::{AppSettings, TestApp, TestResponse};
use claimd_testkit::Backend;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// A TestApp with a schema (`age` integer required, `city` string), a partner, an issuer and
/// a program: `(app, program, partner)`.
async fn app(backend: Backend) -> (TestApp, String, String) {
    let p = TestApp::provisioned(AppSettings {
        backend,
        ..AppSettings::default()
    })
    .await;
    (p.app, p.program, p.partner_id)
}

fn runner(app: &TestApp) -> BulkRunner {
    runner_with(
        app,
        RunnerConfig {
            batch: 50,
            concurrency: 4,
            // The tests count rows per step: no step may stop early on a slow machine.
            step_time: Duration::from_secs(600),
            ..RunnerConfig::default()
        },
    )
}

/// A runner `test-runner` of the app's store and issuance, on its clock.
fn runner_with(app: &TestApp, config: RunnerConfig) -> BulkRunner {
    BulkRunner::new(
        app.state.store.clone(),
        app.state.issuance.clone(),
        app.clock.shared(),
        "test-runner".into(),
        config,
    )
}

/// Runs steps until there is no more work; how many steps worked.
async fn drain(r: &BulkRunner) -> usize {
    let mut steps = 0;
    while r.run_once().await.unwrap() != Step::Idle {
        steps += 1;
        assert!(steps < 100_000, "the runner never ran out of work");
    }
    steps
}

async fn upload(
    app: &TestApp,
    program: &str,
    query: &str,
    ct: &str,
    body: Vec<u8>,
) -> TestResponse {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!(
            "/admin/v1/programs/{program}/bulk-issuances{query}"
        ))
        .header("authorization", format!("Bearer {}", app.admin_token))
        .header("content-type", ct)
        .body(Body::from(body))
        .unwrap();
    app.request(req).await
}

/// Uploads a file the API must accept (202): the job as its answer describes it.
async fn accepted(app: &TestApp, program: &str, query: &str, ct: &str, body: Vec<u8>) -> Value {
    let answer = upload(app, program, query, ct, body).await;
    assert_eq!(answer.status, 202, "{}", answer.text());
    answer.json()
}

async fn job(app: &TestApp, id: &str) -> Value {
    let r = app
        .admin(Method::GET, &format!("/admin/v1/bulk-issuances/{id}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// `POST /admin/v1/bulk-issuances/{id}/{action}` (pause, resume, cancel): the answer.
async fn control(app: &TestApp, id: &str, action: &str) -> TestResponse {
    let path = format!("/admin/v1/bulk-issuances/{id}/{action}");
    app.admin(Method::POST, &path, None).await
}

/// The results file, parsed: row number → (email, status, hash, error).
async fn results(app: &TestApp, id: &str) -> Vec<(u64, String, String, String, String)> {
    let r = app
        .admin(
            Method::GET,
            &format!("/admin/v1/bulk-issuances/{id}/results"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = r.text();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("row,email,status,coreClaimHash,error"));
    lines
        .map(|l| {
            // The error is the last cell and may be quoted with commas inside.
            let mut cells = l.splitn(5, ',');
            let mut next = || cells.next().unwrap_or("").to_owned();
            let (row, email, status, hash) = (next(), next(), next(), next());
            let error = next().trim_matches('"').replace("\"\"", "\"");
            (row.parse().unwrap(), email, status, hash, error)
        })
        .collect()
}

fn counts(job: &Value) -> [u64; 7] {
    let r = &job["rows"];
    let n = |k: &str| r[k].as_u64().unwrap();
    [
        n("total"),
        n("validated"),
        n("invalid"),
        n("pending"),
        n("issued"),
        n("skippedDuplicate"),
        n("failed"),
    ]
}

/// `rows` good rows (`user<i>@example.org`, age i) plus, after them, one bad row of each kind.
fn csv_with_bad_rows(rows: usize) -> (String, usize) {
    let mut csv = String::from("email,age,city,onDuplicate\n");
    for i in 0..rows {
        csv.push_str(&format!("user{i}@example.org,{},Paris,\n", i % 100));
    }
    let bad = [
        "wrong-type@example.org,forty,Paris,\n", // wrong type
        "missing@example.org,,Paris,\n",         // required attribute missing
        "not-an-email,30,Paris,\n",              // bad email
        "USER0@Example.org,31,Lyon,\n",          // duplicate (another spelling) of row 1
        "odd@example.org,30,Paris,sometimes\n",  // bad onDuplicate
        "short@example.org,30\n",                // wrong number of fields
    ];
    for b in bad {
        csv.push_str(b);
    }
    (csv, bad.len())
}

/// A file with good and bad rows, issued to the end: exact counts, each row's result in the
/// API's words, a consent refusal and an `ignore` duplicate among them.
async fn a_file_with_bad_rows_is_issued_row_by_row(backend: Backend) {
    let (app, program, partner) = app(backend).await;
    // One user refused consent; one already holds a credential of the program.
    let consent = app
        .admin(
            Method::PUT,
            "/admin/v1/users/consent",
            Some(
                &json!({"email": "user1@example.org", "partnerId": partner, "status": "rejected"}),
            ),
        )
        .await;
    assert_eq!(consent.status, 200, "{}", consent.text());
    let good = 300;
    let (mut csv, bad) = csv_with_bad_rows(good);
    // Last, a row for a user who already holds a credential of the program, with `ignore`.
    csv.push_str("again@example.org,5,,ignore\n");
    let first = accepted(
        &app,
        &program,
        "",
        "text/csv",
        b"email,age\nagain@example.org,4\n".to_vec(),
    )
    .await;
    let r = runner(&app);
    drain(&r).await;
    let before = results(&app, first["jobId"].as_str().unwrap()).await;
    assert_eq!(before[0].2, "ISSUED");

    app.clock.advance(Duration::from_secs(1));
    let created = accepted(
        &app,
        &program,
        "",
        "text/csv; charset=utf-8",
        csv.into_bytes(),
    )
    .await;
    assert_eq!(created["state"], "VALIDATING");
    let total = (good + bad + 1) as u64;
    assert_eq!(created["rows"]["total"], total);
    let id = created["jobId"].as_str().unwrap().to_owned();

    // Validation first: every row checked, nothing issued yet.
    r.run_once().await.unwrap();
    let validated = job(&app, &id).await;
    assert_eq!(validated["state"], "RUNNING");
    assert_eq!(
        counts(&validated),
        [total, total, bad as u64, total - bad as u64, 0, 0, 0]
    );
    drain(&r).await;

    let done = job(&app, &id).await;
    assert_eq!(done["state"], "COMPLETED");
    // 300 good rows, one of them refused (consent); the `ignore` row found the live one.
    assert_eq!(
        counts(&done),
        [total, total, bad as u64, 0, good as u64 - 1, 1, 1],
        "{done}"
    );
    assert_eq!(done["etaSeconds"], Value::Null);
    assert!(done["finishedAt"].is_string());

    let rows = results(&app, &id).await;
    assert_eq!(rows.len() as u64, total);
    let by_row: HashMap<u64, _> = rows.iter().map(|r| (r.0, r.clone())).collect();
    let status = |n: u64| by_row[&n].2.as_str();
    let error = |n: u64| by_row[&n].4.as_str();
    let g = good as u64;
    assert_eq!(status(1), "ISSUED");
    assert_eq!(status(2), "FAILED");
    assert_eq!(error(2), "Consent rejected by user");
    assert_eq!(
        error(g + 1),
        "Invalid field credentialSubject.age: must be of type integer"
    );
    assert_eq!(
        error(g + 2),
        "Invalid field credentialSubject.age: is required"
    );
    assert_eq!(error(g + 3), "Invalid field email: is not an email address");
    assert_eq!(
        error(g + 4),
        "Invalid field email: the same address as row 1"
    );
    assert_eq!(
        error(g + 5),
        "Invalid field onDuplicate: must be one of ignore, revoke"
    );
    assert_eq!(
        error(g + 6),
        "Invalid field row: has 2 fields, the header 4"
    );
    for n in g + 1..=g + 6 {
        assert_eq!(status(n), "INVALID", "row {n}");
        assert_eq!(by_row[&n].3, "", "row {n} has no hash");
    }
    assert_eq!(status(total), "SKIPPED_DUPLICATE");
    assert_eq!(
        by_row[&total].3, before[0].3,
        "ignore answers the live credential"
    );
    assert_eq!(by_row[&(g + 3)].1, "not-an-email", "the address as written");

    // Every issued row's credential exists, is the row's user's, and hashes are distinct.
    let mut hashes = std::collections::HashSet::new();
    for row in rows.iter().filter(|r| r.2 == "ISSUED") {
        assert!(hashes.insert(row.3.clone()), "hash {} twice", row.3);
        let c = app
            .admin(
                Method::GET,
                &format!("/admin/v1/credentials/{}", row.3),
                None,
            )
            .await;
        assert_eq!(c.status, 200);
        assert_eq!(c.json()["vcStatus"], "WAIT_ONCHAIN");
    }
    assert_eq!(hashes.len(), good - 1);

    // Running again changes nothing: every row has its one result.
    assert_eq!(drain(&r).await, 0);
    assert_eq!(counts(&job(&app, &id).await), counts(&done));
    let listed = app
        .admin(Method::GET, "/admin/v1/bulk-issuances", None)
        .await
        .json();
    assert_eq!(listed["total"], 2);
    assert_eq!(listed["items"][0]["jobId"], id.as_str(), "newest first");
}

/// Validate-only: the rows are checked and listed, nothing is issued.
async fn validate_only_issues_nothing(backend: Backend) {
    let (app, program, _) = app(backend).await;
    let (csv, bad) = csv_with_bad_rows(40);
    let answer = accepted(
        &app,
        &program,
        "?validateOnly=true",
        "text/csv",
        csv.into_bytes(),
    )
    .await;
    let id = answer["jobId"].as_str().unwrap().to_owned();
    assert_eq!(answer["validateOnly"], true);
    let r = runner(&app);
    drain(&r).await;
    let done = job(&app, &id).await;
    assert_eq!(done["state"], "VALIDATED");
    let total = 40 + bad as u64;
    assert_eq!(counts(&done), [total, total, bad as u64, 40, 0, 0, 0]);
    let rows = results(&app, &id).await;
    assert_eq!(rows.iter().filter(|r| r.2 == "VALID").count(), 40);
    assert_eq!(rows.iter().filter(|r| r.2 == "INVALID").count(), bad);
    assert!(
        rows.iter().all(|r| r.3.is_empty()),
        "no hash: nothing issued"
    );
    let users = app.admin(Method::GET, "/admin/v1/users", None).await.json();
    assert_eq!(users["total"], 0, "no user created");
    // A finished job cannot be paused.
    let p = control(&app, &id, "pause").await;
    assert_eq!(p.status, 409);
    assert_eq!(p.json()["message"], "Cannot pause a job that is VALIDATED");
}

/// Pause holds the job where it is, resume goes on from there, cancel ends it: exact counts
/// at each point, the rows never reached read NOT_ISSUED. JSON Lines on the way.
async fn pause_resume_cancel(backend: Backend) {
    let (app, program, _) = app(backend).await;
    let mut file = String::new();
    for i in 0..200 {
        file.push_str(&format!(
            "{}\n",
            json!({"email": format!("p{i}@example.org"), "credentialSubject": {"age": i}})
        ));
    }
    let answer = accepted(
        &app,
        &program,
        "",
        "application/x-ndjson",
        file.into_bytes(),
    )
    .await;
    let id = answer["jobId"].as_str().unwrap().to_owned();
    // The action must be taken: its job.
    let act = async |action: &str| {
        let r = control(&app, &id, action).await;
        assert_eq!(r.status, 200, "{action}: {}", r.text());
        r.json()
    };
    let r = runner(&app);
    r.run_once().await.unwrap(); // validation
    r.run_once().await.unwrap(); // one batch of 50
    assert_eq!(job(&app, &id).await["rows"]["issued"], 50);

    let paused = act("pause").await;
    assert_eq!(paused["state"], "PAUSED");
    assert_eq!(paused["etaSeconds"], Value::Null);
    assert_eq!(
        r.run_once().await.unwrap(),
        Step::Idle,
        "a paused job is not run"
    );
    assert_eq!(job(&app, &id).await["rows"]["issued"], 50);
    assert_eq!(
        act("pause").await["state"],
        "PAUSED",
        "pausing twice is harmless"
    );

    assert_eq!(act("resume").await["state"], "RUNNING");
    app.clock.advance(Duration::from_secs(2));
    r.run_once().await.unwrap();
    let running = job(&app, &id).await;
    assert_eq!(running["rows"]["issued"], 100);
    assert!(
        running["ratePerSecond"].as_f64().unwrap() > 0.0,
        "{running}"
    );
    assert!(running["etaSeconds"].as_u64().is_some(), "{running}");

    let cancelled = act("cancel").await;
    assert_eq!(cancelled["state"], "CANCELLED");
    assert_eq!(r.run_once().await.unwrap(), Step::Idle);
    let end = job(&app, &id).await;
    assert_eq!(counts(&end), [200, 200, 0, 100, 100, 0, 0]);
    let rows = results(&app, &id).await;
    assert!(rows[..100]
        .iter()
        .all(|r| r.2 == "ISSUED" && r.3.len() == 64));
    assert!(rows[100..].iter().all(|r| r.2 == "NOT_ISSUED"));
    for action in ["pause", "resume", "cancel"] {
        let again = control(&app, &id, action).await;
        assert_eq!(again.status, 409, "{action} after cancel");
    }
}

/// Files that cannot be used are refused at once, in the error shape, and leave no job.
async fn bad_files_are_refused(backend: Backend) {
    let (app, program, _) = app(backend).await;
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "",
            "application/json",
            b"{}".to_vec(),
            415,
            "Expected Content-Type: text/csv",
        ),
        ("", "text/csv", b"".to_vec(), 400, "The file is empty"),
        (
            "",
            "text/csv",
            b"email,age\n".to_vec(),
            400,
            "The file has no rows",
        ),
        (
            "",
            "text/csv",
            b"age,city\n1,P\n".to_vec(),
            400,
            "CSV header: no email column",
        ),
        (
            "",
            "text/csv",
            b"email,city\na@x.org,P\n".to_vec(),
            400,
            "no column for the required attribute \"age\"",
        ),
        (
            "",
            "text/csv",
            b"email,age,shoe\n".to_vec(),
            400,
            "column \"shoe\" is not an attribute of schema Membership",
        ),
        (
            "",
            "text/csv",
            b"email,age\na@x.org,\xff\n".to_vec(),
            400,
            "Line 2 is not UTF-8",
        ),
        (
            "",
            "text/csv",
            b"email,age\n\"a@x.org,1\n".to_vec(),
            400,
            "quoted CSV field",
        ),
        (
            "?validateOnly=maybe",
            "text/csv",
            b"email,age\na@x.org,1\n".to_vec(),
            400,
            "validateOnly must be true or false",
        ),
    ];
    for (query, ct, body, status, message) in cases {
        let r = upload(&app, &program, query, ct, body).await;
        assert_eq!(r.status, status, "{ct} {}", r.text());
        assert_eq!(r.json()["error"], status);
        let m = r.json()["message"].as_str().unwrap().to_owned();
        assert!(m.contains(message), "{m:?} names {message:?}");
    }
    let unknown = upload(
        &app,
        "nope",
        "",
        "text/csv",
        b"email,age\na@x.org,1\n".to_vec(),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["message"], "Unknown issuance program");
    // One row too many.
    let mut big = String::with_capacity(20_000_000);
    big.push_str("email,age\n");
    for i in 0..=claimd_core::bulk::MAX_ROWS {
        big.push_str(&format!("u{i}@x.org,1\n"));
    }
    let r = upload(&app, &program, "", "text/csv", big.into_bytes()).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.json()["message"], "The file has more than 1000000 rows");
    let listed = app
        .admin(Method::GET, "/admin/v1/bulk-issuances", None)
        .await
        .json();
    assert_eq!(listed["total"], 0, "refused uploads leave no job: {listed}");
    // Unknown jobs, malformed ids, and no token.
    for path in [
        "/admin/v1/bulk-issuances/00000000-0000-0000-0000-000000000000",
        "/admin/v1/bulk-issuances/nope",
        "/admin/v1/bulk-issuances/nope/results",
    ] {
        let r = app.admin(Method::GET, path, None).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json()["message"], "Unknown bulk issuance job");
    }
    let anonymous = app.get("/admin/v1/bulk-issuances").await;
    assert_eq!(anonymous.status, 401);
}

/// GET (or POST without body) on the real server's operator API.
async fn admin_http(f: &Fixture, method: reqwest::Method, path: &str) -> Value {
    let r = f
        .http
        .request(method, format!("{}/admin/v1{path}", f.url()))
        .bearer_auth(&f.server().admin_token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

/// Polls the job until `done` holds for it (at most `within`).
async fn wait_job(f: &Fixture, id: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let start = std::time::Instant::now();
    loop {
        let j = admin_http(f, reqwest::Method::GET, &format!("/bulk-issuances/{id}")).await;
        if done(&j) {
            return j;
        }
        assert!(start.elapsed() < within, "job still at {j}");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

/// The job's results file from the real server.
async fn results_csv(f: &Fixture, id: &str) -> String {
    f.http
        .get(format!("{}/admin/v1/bulk-issuances/{id}/results", f.url()))
        .bearer_auth(&f.server().admin_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Uploads `csv` for `program` on the real server, waits until `issued` rows are issued, checks
/// the job is still running, and kills the process with SIGKILL and starts it again on the
/// same data: the job's id.
async fn upload_then_kill(f: &mut Fixture, program: &str, csv: String, issued: u64) -> String {
    let answer = f
        .http
        .post(format!(
            "{}/admin/v1/programs/{program}/bulk-issuances",
            f.url()
        ))
        .bearer_auth(&f.server().admin_token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    let id = answer.json::<Value>().await.unwrap()["jobId"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = wait_job(f, &id, Duration::from_secs(300), |j| {
        j["rows"]["issued"].as_u64() >= Some(issued)
    })
    .await;
    assert_eq!(before["state"], "RUNNING", "killed in the middle: {before}");
    f.restart();
    id
}

/// kill -9 of the real process while it issues a job: after the restart the job goes on, and
/// every row is issued exactly once. The program's cap is the number of rows, so a row issued
/// twice would take a second slot and leave the last row refused; every answered hash is
/// still live, so none was replaced by a second issuance of its row.
async fn a_job_survives_kill_9_and_issues_each_row_once(backend: Backend) {
    // Paced to 60 rows a second (steps of 60 rows), so the kill lands while rows are in flight
    // rather than after the whole file went through in one step. Kept across the restart.
    let (_config, env) = claimd_testkit::server::config_env("bulk_rows_per_second = 60\n");
    let mut f = Fixture::with_env(backend, env).await;
    let rows = 600;
    let program = f.create_program(&f.issuer_did, "Capped", &["--max-issuance", "600"]);
    let mut csv = String::from("email,age\n");
    for i in 0..rows {
        csv.push_str(&format!("k{i}@example.org,{i}\n"));
    }
    let id = upload_then_kill(&mut f, &program, csv, 40).await;
    let end = wait_job(&f, &id, Duration::from_secs(240), |j| {
        j["state"] == "COMPLETED"
    })
    .await;
    assert_eq!(
        counts(&end),
        [rows, rows, 0, 0, rows, 0, 0],
        "every row issued once: {end}"
    );
    let text = results_csv(&f, &id).await;
    let hashes: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            assert_eq!(cells[2], "ISSUED", "{l}");
            cells[3]
        })
        .collect();
    assert_eq!(hashes.len() as u64, rows);
    let distinct: std::collections::HashSet<_> = hashes.iter().collect();
    assert_eq!(distinct.len() as u64, rows);
    for h in hashes {
        let c = admin_http(&f, reqwest::Method::GET, &format!("/credentials/{h}")).await;
        assert!(
            matches!(c["vcStatus"].as_str(), Some("WAIT_ONCHAIN" | "ONCHAIN")),
            "{h} is {c}"
        );
    }
}

/// `claimd admin bulk issue` uploads, follows the job with plain progress lines (stderr is not
/// a terminal here) until every row is on chain, and writes the results; the other bulk
/// commands read and control jobs.
async fn the_cli_issues_a_file_and_writes_the_results(backend: Backend) {
    let f = Fixture::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.csv");
    let mut csv = String::from("email,age\n");
    for i in 0..30 {
        csv.push_str(&format!("c{i}@example.org,{i}\n"));
    }
    csv.push_str("bad@example.org,old\n");
    std::fs::write(&file, csv).unwrap();
    let out = dir.path().join("out.csv");
    let (ok, end, stderr) = f.server().admin(&[
        "bulk",
        "issue",
        "--program",
        &f.program,
        file.to_str().unwrap(),
        "--results",
        out.to_str().unwrap(),
        "--wait-onchain",
        "--interval",
        "0.2",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(end["state"], "COMPLETED", "{end}");
    assert_eq!(counts(&end), [31, 31, 1, 0, 30, 0, 0]);
    assert_eq!(end["rows"]["onChain"], 30, "followed until on chain");
    assert!(
        stderr.contains("RUNNING") || stderr.contains("COMPLETED"),
        "{stderr}"
    );
    assert!(
        stderr.lines().any(|l| l.contains("on chain 30")),
        "{stderr}"
    );
    assert!(!stderr.contains('\r'), "no redrawing without a terminal");
    let results = std::fs::read_to_string(&out).unwrap();
    assert_eq!(results.lines().count(), 32);
    assert!(results.contains(
        "31,bad@example.org,INVALID,,Invalid field credentialSubject.age: must be of type integer"
    ));
    let id = end["jobId"].as_str().unwrap();
    assert_eq!(
        f.server().admin_ok(&["bulk", "status", id])["state"],
        "COMPLETED"
    );
    assert_eq!(f.server().admin_ok(&["bulk", "list"])["total"], 1);
    let again = dir.path().join("again.csv");
    f.server()
        .admin_ok(&["bulk", "results", id, "--output", again.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&again).unwrap(), results);
    let (ok, _, stderr) = f.server().admin(&["bulk", "pause", id]);
    assert!(!ok);
    assert!(
        stderr.contains("409 Cannot pause a job that is COMPLETED"),
        "{stderr}"
    );
}

/// While an interactive issuance runs, a step keeps only `busy_concurrency` rows in flight and
/// `concurrency` otherwise. With `step_time` zero a step starts only its first fill of rows,
/// which shows the limit it chose.
async fn a_step_gives_way_to_interactive_issuance(backend: Backend) {
    let (app, program, _) = app(backend).await;
    let (csv, _) = csv_with_bad_rows(30);
    let answer = accepted(&app, &program, "", "text/csv", csv.into_bytes()).await;
    let id = answer["jobId"].as_str().unwrap().to_owned();
    let r = runner_with(
        &app,
        RunnerConfig {
            batch: 50,
            concurrency: 8,
            busy_concurrency: 1,
            quiet: Duration::ZERO,
            step_time: Duration::ZERO,
            ..RunnerConfig::default()
        },
    );
    r.run_once().await.unwrap(); // validation
    let interactive = app.state.issuance.interactive().enter();
    assert_eq!(r.run_once().await.unwrap(), Step::Worked(1));
    assert_eq!(job(&app, &id).await["rows"]["issued"], 1);
    drop(interactive);
    assert_eq!(r.run_once().await.unwrap(), Step::Worked(8));
    assert_eq!(job(&app, &id).await["rows"]["issued"], 9);
    drain(&r).await;
    let end = job(&app, &id).await;
    assert_eq!(end["state"], "COMPLETED");
    assert_eq!(end["rows"]["issued"], 30, "{end}");
}

type Fixture = common::fixture::Fixture;

claimd_testkit::on_each_backend!(
    a_file_with_bad_rows_is_issued_row_by_row,
    validate_only_issues_nothing,
    pause_resume_cancel,
    a_step_gives_way_to_interactive_issuance,
    bad_files_are_refused,
    a_job_survives_kill_9_and_issues_each_row_once,
    the_cli_issues_a_file_and_writes_the_results,
    ten_thousand_rows_survive_kill_9_pause_and_resume,
);

/// `/openapi.json` describes every bulk route with the answers it gives.
#[tokio::test]
async fn openapi_describes_the_bulk_routes() {
    let app = TestApp::new().await;
    let doc = app.get("/openapi.json").await.json();
    let mut ops: Vec<(String, &str, &[&str])> = vec![
        (
            "/programs/{credentialId}/bulk-issuances".into(),
            "post",
            &["202", "400", "401", "404", "413", "415", "429", "503"],
        ),
        ("/bulk-issuances".into(), "get", &["200", "400", "401"]),
        (
            "/bulk-issuances/{jobId}".into(),
            "get",
            &["200", "401", "404"],
        ),
    ];
    for (action, method) in [
        ("pause", "post"),
        ("resume", "post"),
        ("cancel", "post"),
        ("results", "get"),
    ] {
        let path = format!("/bulk-issuances/{{jobId}}/{action}");
        ops.push((path, method, &["200", "404", "409"]));
    }
    for (path, method, codes) in &ops {
        // Operator paths are listed under their full path, on the root server.
        let path = &format!("/admin/v1{path}");
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is described");
        for code in *codes {
            assert!(
                op["responses"][code].is_object(),
                "{method} {path} answers {code}"
            );
        }
    }
    let post = &doc["paths"]["/admin/v1/programs/{credentialId}/bulk-issuances"]["post"];
    assert!(post["requestBody"]["content"]["text/csv"].is_object());
    assert!(post["requestBody"]["content"]["application/x-ndjson"].is_object());
    assert!(post["responses"].get("200").is_none(), "202, not 200");
    let job = &doc["components"]["schemas"]["BulkJob"]["properties"];
    for field in ["jobId", "state", "rows", "ratePerSecond", "etaSeconds"] {
        assert!(job[field].is_object(), "BulkJob.{field}");
    }
}

/// The issue's size on the real binary: 10,000 good rows and a bad one of each kind, kill -9
/// while the job issues, a pause and a resume after the restart, then exact counts, one
/// credential per good row, each bad row's error in the API's words, and every credential on
/// chain.
async fn ten_thousand_rows_survive_kill_9_pause_and_resume(backend: Backend) {
    let (_config, env) = claimd_testkit::server::config_env("bulk_rows_per_second = 0\n");
    let mut f = Fixture::with_env(backend, env).await;
    let good = 10_000u64;
    let mut csv = String::from("email,age,onDuplicate\n");
    for i in 0..good {
        csv.push_str(&format!("t{i}@example.org,{},\n", i % 90));
    }
    let bad = [
        (
            "wrong-type@example.org,forty,",
            "Invalid field credentialSubject.age: must be of type integer",
        ),
        (
            "missing@example.org,,",
            "Invalid field credentialSubject.age: is required",
        ),
        (
            "not-an-email,30,",
            "Invalid field email: is not an email address",
        ),
        (
            "T0@Example.org,31,",
            "Invalid field email: the same address as row 1",
        ),
        (
            "odd@example.org,30,sometimes",
            "Invalid field onDuplicate: must be one of ignore, revoke",
        ),
        (
            "short@example.org,30",
            "Invalid field row: has 2 fields, the header 3",
        ),
    ];
    for (line, _) in bad {
        csv.push_str(line);
        csv.push('\n');
    }
    let total = good + bad.len() as u64;
    let program = f.program.clone();
    let id = upload_then_kill(&mut f, &program, csv, 1_500).await;

    let control = |action: &'static str| {
        let path = format!("/bulk-issuances/{id}/{action}");
        let f = &f;
        async move { admin_http(f, reqwest::Method::POST, &path).await }
    };
    assert_eq!(control("pause").await["state"], "PAUSED");
    // A step that was running when the pause came ends within its step time.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let paused = wait_job(&f, &id, Duration::from_secs(10), |_| true).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let still = wait_job(&f, &id, Duration::from_secs(10), |_| true).await;
    assert_eq!(
        paused["rows"]["issued"], still["rows"]["issued"],
        "nothing is issued while paused"
    );
    assert!(
        still["rows"]["issued"].as_u64() < Some(good),
        "paused in the middle: {still}"
    );
    assert_eq!(control("resume").await["state"], "RUNNING");

    let end = wait_job(&f, &id, Duration::from_secs(600), |j| {
        j["state"] == "COMPLETED" && j["rows"]["onChain"] == j["rows"]["issued"]
    })
    .await;
    assert_eq!(
        counts(&end),
        [total, total, bad.len() as u64, 0, good, 0, 0],
        "every row issued once: {end}"
    );
    let text = results_csv(&f, &id).await;
    let mut hashes = std::collections::HashSet::new();
    let mut errors = Vec::new();
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.splitn(5, ',').collect();
        match cells[2] {
            "ISSUED" => assert!(hashes.insert(cells[3].to_owned()), "{line}"),
            "INVALID" => errors.push((cells[0].parse::<u64>().unwrap(), cells[4].to_owned())),
            other => panic!("row {line}: {other}"),
        }
    }
    assert_eq!(hashes.len() as u64, good, "one credential per good row");
    assert_eq!(errors.len(), bad.len());
    for ((row, error), (_, expected)) in errors.iter().zip(bad) {
        assert!(*row > good, "the bad rows come last: {row}");
        assert_eq!(error.trim_matches('"'), expected, "row {row}");
    }
}
