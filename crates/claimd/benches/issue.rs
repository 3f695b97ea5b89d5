//! Issue-on-behalf throughput: fires requests with valid ES256 tokens at a running `claimd`
//! (release build, dev mode, fresh data) at a fixed concurrency, on SQLite and on PostgreSQL in
//! the same run, and writes accepted requests per second and latency percentiles to
//! `bench/results/issue-on-behalf.json`.
//!
//! `cargo bench -p claimd --bench issue` (env: `BENCH_REQUESTS`, default 3000;
//! `BENCH_CONCURRENCY`, default 32; `CLAIMD_TEST_POSTGRES_URL`).

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use claimd_auth::testing::{jwks, JwksServer, TestKey};
use common::{Backend, Server};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Outcome {
    backend: &'static str,
    requests: usize,
    accepted: usize,
    seconds: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

async fn run(backend: Backend, requests: usize, concurrency: usize) -> Outcome {
    let server = Server::start(backend).await;
    let key = TestKey::es256("bench-1");
    let jwks_server = JwksServer::start(jwks(&[&key])).await;
    let schema = server.admin_ok(&[
        "schema",
        "create",
        "--title",
        "Bench",
        "--type",
        "BenchMembership",
        "--attr",
        "age:integer:required",
        "--attr",
        "location:string:required",
        "--attr",
        "isMember:boolean:required",
    ])["schemaId"]
        .as_str()
        .unwrap()
        .to_owned();
    let partner = server.admin_ok(&[
        "partner",
        "create",
        "--name",
        "Bench",
        "--jwks-url",
        &jwks_server.url(),
        "--feature",
        "issue_on_behalf",
    ])["partnerId"]
        .as_str()
        .unwrap()
        .to_owned();
    let did = server.admin_ok(&[
        "issuer",
        "create",
        "--partner-id",
        &partner,
        "--name",
        "Bench issuer",
    ])["issuerDid"]
        .as_str()
        .unwrap()
        .to_owned();
    let program = server.admin_ok(&[
        "program",
        "create",
        "--issuer-did",
        &did,
        "--schema-id",
        &schema,
        "--name",
        "Bench",
        "--expiration-days",
        "365",
    ])["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();

    // Tokens are minted up front: the benchmark measures the server, not the client.
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..requests)
            .map(|i| {
                key.token(&partner, &format!("user{i}@bench.example"))
                    .build()
            })
            .collect(),
    );
    let body = Arc::new(
        json!({"issuerDid": did, "credentialId": program,
        "credentialSubject": {"age": 30, "location": "Lisbon", "isMember": true}})
        .to_string(),
    );
    let url = Arc::new(format!("{}/v1/credentials/issue-on-behalf", server.url));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();

    // Warm up: first use of the schema context, issuer key, connection pools.
    for t in tokens.iter().take(5) {
        let _ = http
            .post(url.as_str())
            .header("x-partner-auth", t)
            .header("content-type", "application/json")
            .body(body.as_str().to_owned())
            .send()
            .await;
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(5));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, body, tokens, next) = (
                http.clone(),
                url.clone(),
                body.clone(),
                tokens.clone(),
                next.clone(),
            );
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut ok = 0usize;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= tokens.len() {
                        break;
                    }
                    let t0 = Instant::now();
                    let r = http
                        .post(url.as_str())
                        .header("x-partner-auth", &tokens[i])
                        .header("content-type", "application/json")
                        .body(body.as_str().to_owned())
                        .send()
                        .await;
                    if matches!(&r, Ok(r) if r.status() == 200) {
                        ok += 1;
                    }
                    lat.push(t0.elapsed());
                }
                (ok, lat)
            })
        })
        .collect();
    let mut lat: Vec<Duration> = Vec::new();
    let mut accepted = 0;
    for w in workers {
        let (ok, l) = w.await.unwrap();
        accepted += ok;
        lat.extend(l);
    }
    let seconds = started.elapsed().as_secs_f64();
    lat.sort();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    Outcome {
        backend: if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        },
        requests: lat.len(),
        accepted,
        seconds,
        p50_ms: pct(0.50),
        p90_ms: pct(0.90),
        p99_ms: pct(0.99),
        max_ms: lat.last().unwrap().as_secs_f64() * 1000.0,
    }
}

#[tokio::main]
async fn main() {
    let requests = support::env_usize("BENCH_REQUESTS", 3000);
    let concurrency = support::env_usize("BENCH_CONCURRENCY", 32);
    let mut results = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let o = run(backend, requests, concurrency).await;
        println!(
            "{:<8} {} requests, {} accepted in {:.2} s: {:.0} accepted/s, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            o.backend, o.requests, o.accepted, o.seconds, o.accepted as f64 / o.seconds, o.p50_ms, o.p90_ms, o.p99_ms, o.max_ms
        );
        results.push(json!({
            "backend": o.backend, "requests": o.requests, "accepted": o.accepted, "seconds": o.seconds,
            "accepted_per_second": o.accepted as f64 / o.seconds,
            "latency_ms": {"p50": o.p50_ms, "p90": o.p90_ms, "p99": o.p99_ms, "max": o.max_ms},
        }));
    }
    let out = json!({
        "benchmark": "issue-on-behalf throughput (server and load generator on the same machine)",
        "command": "cargo bench -p claimd --bench issue",
        "date": support::now(),
        "machine": support::machine(),
        "concurrency": concurrency,
        "token": "ES256, one distinct user per request (each request creates a user and holder identity)",
        "results": results,
    });
    support::write_results("issue-on-behalf.json", &out);
}
