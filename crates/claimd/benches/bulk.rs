//! Bulk issuance (issue #17): one CSV of `BENCH_BULK_ROWS` rows (default 1,000,000, the most a
//! job takes) written to disk a line at a time, uploaded to a running `claimd serve --dev`
//! (release build, publisher in the same process, embedded chain) through
//! `POST /admin/v1/programs/{credentialId}/bulk-issuances`, then followed with
//! `GET /admin/v1/bulk-issuances/{jobId}` until the job is `COMPLETED` and every issued row's
//! credential is `ONCHAIN`. On SQLite and PostgreSQL in the same run.
//!
//! Per backend it writes: the upload time (request start → 202, the whole file stored and its
//! shape checked), the validation time (→ every row checked), rows issued per second (the
//! server's `startedAt` → `finishedAt`), the time from the upload's start to every row
//! `ONCHAIN`, and the server's peak resident memory (`VmHWM`) after the job.
//!
//! A second kind of row, taken side by side after the job on the same server: issue-on-behalf
//! at `BENCH_CONCURRENCY` connections (default 32) for `BENCH_SECONDS` (default 20) with no
//! job running, then the same load while a second job of `BENCH_BULK_BESIDE_ROWS` rows
//! (default 100,000) issues; p50/p99 of both and the rows the job issued meanwhile. The second
//! job is cancelled afterwards.
//!
//! The server's `bulk_rows_per_second` (default 200 a second per instance) is raised through
//! its `claimd.toml` to `BENCH_BULK_RATE` (default 0: no limit), recorded in the results.
//!
//! `cargo bench -p claimd --bench bulk` (env: `BENCH_BULK_ROWS`; `BENCH_BULK_BACKENDS`, default
//! `sqlite,postgres`; `BENCH_BULK_RATE`; `BENCH_BULK_BESIDE_ROWS`, 0 to skip the load rows;
//! `BENCH_CONCURRENCY`; `BENCH_SECONDS`; `CLAIMD_TEST_POSTGRES_URL`). Writes
//! `bench/results/bulk.json` (`BENCH_BULK_OUT` names another file there).

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use claimd_testkit::fixture::Setup;
use common::fixture::Fixture;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Writes `email,age` and `rows` rows to `path` through a small buffer: the file is never
/// whole in memory. Returns its size in bytes.
fn write_csv(path: &Path, prefix: &str, rows: usize) -> u64 {
    let mut w = std::io::BufWriter::with_capacity(
        64 * 1024,
        std::fs::File::create(path).expect("create the CSV"),
    );
    w.write_all(b"email,age\n").unwrap();
    for i in 0..rows {
        writeln!(w, "{prefix}{i}@bulk.example,{}", 18 + i % 80).unwrap();
    }
    w.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// Uploads the file at `path` as the body of one HTTP/1.1 request, copied from disk to the
/// socket as it is read (the dev-dependency `reqwest` has no streaming bodies). Returns the
/// status and the JSON answer.
async fn upload(f: &Fixture, program: &str, path: &Path) -> (u16, Value) {
    let server = f.server();
    let addr = server
        .url
        .strip_prefix("http://")
        .expect("an http:// server URL");
    let len = std::fs::metadata(path).unwrap().len();
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /admin/v1/programs/{program}/bulk-issuances HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {}\r\nContent-Type: text/csv\r\nContent-Length: {len}\r\n\
         Connection: close\r\n\r\n",
        server.admin_token
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let mut file = tokio::fs::File::open(path).await.unwrap();
    tokio::io::copy(&mut file, &mut sock).await.unwrap();
    sock.flush().await.unwrap();
    let mut answer = Vec::new();
    sock.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn admin(f: &Fixture, method: reqwest::Method, path: &str) -> Value {
    let server = f.server();
    let r = f
        .http
        .request(method, format!("{}/admin/v1{path}", server.url))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

async fn job(f: &Fixture, id: &str) -> Value {
    admin(f, reqwest::Method::GET, &format!("/bulk-issuances/{id}")).await
}

fn parse_ms(v: &Value) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|t| t.timestamp_millis() as f64)
}

/// The whole-file row: upload, validation, issuance and ONCHAIN of `rows` rows.
/// `progress` gets the job's state every 30 s (a run cut short still leaves how far it got).
async fn bulk_run(f: &Fixture, dir: &Path, rows: usize, progress: &dyn Fn(Value)) -> Value {
    let path = dir.join("bulk.csv");
    let t = Instant::now();
    let bytes = write_csv(&path, "row", rows);
    let generate_seconds = t.elapsed().as_secs_f64();
    let load_before = support::load_average();

    let started = Instant::now();
    let (status, created) = upload(f, &f.program, &path).await;
    let upload_seconds = started.elapsed().as_secs_f64();
    assert_eq!(status, 202, "the upload: {created}");
    let id = created["jobId"].as_str().unwrap().to_owned();
    println!("uploaded {bytes} bytes in {upload_seconds:.1} s: job {id}");

    // Polled every half second, each moment below known to within that; above 100,000 rows
    // every 5 s: a job that long is timed in minutes, and the poll should not be what loads
    // the server it measures.
    let poll = if rows > 100_000 {
        Duration::from_secs(5)
    } else {
        Duration::from_millis(500)
    };
    let mut validated_at = None;
    let mut completed_at = None;
    let mut peak_seen = 0u64;
    let mut last_print = Instant::now();
    let end = loop {
        let j = job(f, &id).await;
        if let Some((_, peak)) = f.server().memory() {
            peak_seen = peak_seen.max(peak);
        }
        let c = &j["rows"];
        let now = started.elapsed().as_secs_f64();
        if validated_at.is_none() && c["validated"] == c["total"] && c["total"].as_u64() > Some(0) {
            validated_at = Some(now);
        }
        let state = j["state"].as_str().unwrap_or("").to_owned();
        if completed_at.is_none() && state == "COMPLETED" {
            completed_at = Some(now);
        }
        if last_print.elapsed() >= Duration::from_secs(30) {
            println!("  {now:.0} s: {state} {c}");
            progress(json!({
                "rows": rows,
                "finished": false,
                "seconds_since_upload": now,
                "upload_to_validated_seconds": validated_at,
                "state": state,
                "counts": c,
                "peak_rss_mib_seen": support::mib(peak_seen),
                "load_average": {"before": load_before, "now": support::load_average()},
            }));
            last_print = Instant::now();
        }
        if matches!(state.as_str(), "FAILED" | "CANCELLED") {
            panic!("the job ended {state}: {j}");
        }
        if state == "COMPLETED" && c["onChain"] == c["issued"] {
            break j;
        }
        tokio::time::sleep(poll).await;
    };
    let onchain_seconds = started.elapsed().as_secs_f64();
    let load_after = support::load_average();
    let c = &end["rows"];
    let issued = c["issued"].as_u64().unwrap_or(0);
    let issuing_seconds = match (parse_ms(&end["startedAt"]), parse_ms(&end["finishedAt"])) {
        (Some(a), Some(b)) => (b - a) / 1000.0,
        _ => f64::NAN,
    };
    json!({
        "rows": rows,
        "file_bytes": bytes,
        "generate_seconds": generate_seconds,
        "upload_seconds": upload_seconds,
        "upload_to_validated_seconds": validated_at,
        "upload_to_completed_seconds": completed_at,
        "upload_to_all_onchain_seconds": onchain_seconds,
        "issuing_seconds": issuing_seconds,
        "poll_seconds": poll.as_secs_f64(),
        "rows_issued_per_second": issued as f64 / issuing_seconds,
        "server_rate_per_second": end["ratePerSecond"],
        "counts": c,
        "memory_after_job": support::memory_mib(f.server()),
        "peak_rss_mib_seen": support::mib(peak_seen),
        "load_average": {"before": load_before, "after": load_after},
    })
}

/// Issue-on-behalf from `concurrency` connections for `duration`, one new user per request;
/// latencies of every answered request and the accepted count.
async fn load(f: &Fixture, tag: &str, concurrency: usize, duration: Duration) -> Value {
    let url = Arc::new(format!("{}/v1/credentials/issue-on-behalf", f.url()));
    let body = Arc::new(
        json!({"issuerDid": f.issuer_did, "credentialId": f.program,
               "credentialSubject": {"age": 30}})
        .to_string(),
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    // Tokens are minted as requests go, as a partner's backend does.
    let es = f.es.clone();
    let partner = f.partner.clone();
    let tag = tag.to_owned();
    let mint = Arc::new(move |i: usize| {
        es.token(&partner, &format!("{tag}{i}@load.example"))
            .build()
    });
    let next = Arc::new(AtomicUsize::new(0));
    let load_before = support::load_average();
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, body, mint, next) = (
                http.clone(),
                url.clone(),
                body.clone(),
                mint.clone(),
                next.clone(),
            );
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut ok = 0usize;
                while started.elapsed() < duration {
                    let token = mint(next.fetch_add(1, Ordering::Relaxed));
                    let t0 = Instant::now();
                    let r = http
                        .post(url.as_str())
                        .header("x-partner-auth", token)
                        .header("content-type", "application/json")
                        .body(body.as_str().to_owned())
                        .send()
                        .await;
                    if matches!(&r, Ok(r) if r.status() == 200) {
                        ok += 1;
                    }
                    lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                }
                (ok, lat)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut accepted = 0;
    for w in workers {
        let (ok, l) = w.await.unwrap();
        accepted += ok;
        lat.extend(l);
    }
    let seconds = started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    json!({
        "requests": lat.len(),
        "accepted": accepted,
        "seconds": seconds,
        "accepted_per_second": accepted as f64 / seconds,
        "latency_ms": {
            "p50": support::quantile(&lat, 0.50),
            "p90": support::quantile(&lat, 0.90),
            "p99": support::quantile(&lat, 0.99),
            "max": lat.last().copied().unwrap_or(f64::NAN),
        },
        "load_average": {"before": load_before, "after": support::load_average()},
    })
}

/// The two load rows, side by side: without a job, then beside a running one.
async fn load_rows(
    f: &Fixture,
    dir: &Path,
    beside_rows: usize,
    concurrency: usize,
    duration: Duration,
) -> Value {
    let alone = load(f, "alone", concurrency, duration).await;
    println!("  issue-on-behalf alone: {alone}");
    let path = dir.join("beside.csv");
    write_csv(&path, "beside", beside_rows);
    let (status, created) = upload(f, &f.program, &path).await;
    assert_eq!(status, 202, "the upload: {created}");
    let id = created["jobId"].as_str().unwrap().to_owned();
    // The load starts once the job issues.
    let before = loop {
        let j = job(f, &id).await;
        if j["state"] == "RUNNING" && j["rows"]["issued"].as_u64() > Some(0) {
            break j;
        }
        assert!(
            !j["state"]
                .as_str()
                .is_some_and(|s| s != "VALIDATING" && s != "RUNNING"),
            "{j}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut beside = load(f, "beside", concurrency, duration).await;
    let after = job(f, &id).await;
    let job_issued = after["rows"]["issued"].as_u64().unwrap_or(0)
        - before["rows"]["issued"].as_u64().unwrap_or(0);
    let still_running = after["state"] == "RUNNING";
    beside["bulk_job"] = json!({
        "rows": beside_rows,
        "issued_during_load": job_issued,
        "issued_per_second_during_load": job_issued as f64 / beside["seconds"].as_f64().unwrap_or(f64::NAN),
        "still_running_at_end": still_running,
    });
    println!("  issue-on-behalf beside a bulk job: {beside}");
    if after["state"] != "COMPLETED" {
        admin(
            f,
            reqwest::Method::POST,
            &format!("/bulk-issuances/{id}/cancel"),
        )
        .await;
    }
    json!({"without_job": alone, "with_job": beside})
}

#[tokio::main]
async fn main() {
    let rows = support::env_usize("BENCH_BULK_ROWS", 1_000_000);
    let rate = support::env_usize("BENCH_BULK_RATE", 0);
    let beside_rows = support::env_usize("BENCH_BULK_BESIDE_ROWS", 100_000);
    let concurrency = support::env_usize("BENCH_CONCURRENCY", 32);
    let duration = Duration::from_secs(support::env_usize("BENCH_SECONDS", 20) as u64);
    let mut results = Vec::new();
    for backend in support::backends("BENCH_BULK_BACKENDS") {
        let (config_dir, env) =
            claimd_testkit::server::config_env(&format!("bulk_rows_per_second = {rate}\n"));
        let f = Fixture::setup(Setup {
            env,
            ..Setup::new(backend)
        })
        .await;
        f.issue("warmup@bulk.example", 30).await;
        let dir = tempfile::tempdir().unwrap();
        println!("{}: {rows} rows", support::backend_name(backend));
        // The load rows first: they take a minute, and a million-row job may outlast the time
        // a run has.
        let issue_on_behalf = if beside_rows > 0 {
            Some(load_rows(&f, dir.path(), beside_rows, concurrency, duration).await)
        } else {
            None
        };
        let name = support::backend_name(backend);
        let progress = |mut partial: Value| {
            partial["backend"] = json!(name);
            partial["issue_on_behalf"] = json!(issue_on_behalf);
            let mut so_far = results.clone();
            so_far.push(partial);
            write(&so_far, rate, concurrency, duration);
        };
        let mut row = bulk_run(&f, dir.path(), rows, &progress).await;
        println!("  {row}");
        row["backend"] = json!(name);
        row["finished"] = json!(true);
        if let Some(load) = issue_on_behalf {
            row["issue_on_behalf"] = load;
        }
        row["memory_at_end"] = support::memory_mib(f.server());
        results.push(row);
        drop(f);
        drop(config_dir);
        // Written after each backend too: a long run cut short keeps the backends it finished.
        write(&results, rate, concurrency, duration);
    }
}

fn write(results: &[Value], rate: usize, concurrency: usize, duration: Duration) {
    let out = support::report(
        "bulk issuance of one CSV file to ONCHAIN, and issue-on-behalf beside a bulk job (server, publisher, chain and load generator on the same machine)",
        "bulk",
        json!({
            "bulk_rows_per_second": rate,
            "concurrency": concurrency,
            "load_seconds": duration.as_secs(),
            "setup": "claimd serve --dev, embedded chain, publisher in process; schema Membership (age integer), CSV `email,age`, one new user per row; job polled every 0.5 s (every 5 s above 100,000 rows)",
            "results": results,
        }),
    );
    // Another name lets two runs (one per backend) go side by side without overwriting each other.
    let name = std::env::var("BENCH_BULK_OUT").unwrap_or_else(|_| "bulk.json".into());
    support::write_results(&name, &out);
}
