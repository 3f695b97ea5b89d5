//! Request → `ONCHAIN`, end to end: N credentials issued over HTTP to a running `claimd serve
//! --dev` (release build, publisher in the same process) until every one reads `ONCHAIN`, on
//! SQLite and PostgreSQL, on the embedded chain and on anvil (JSON-RPC, a block every second),
//! in the same run. Writes credentials per second end to end, the drain (last confirmation
//! after the last acceptance), transactions used, the time from each credential's acceptance
//! to its confirmation (p50/p99) and the server's resident memory to
//! `bench/results/onchain.json`.
//!
//! A second kind of row measures the publisher alone: a backlog issued with the publisher off
//! (`CLAIMD_NO_PUBLISHER`), then the same server restarted with it on and timed until the
//! backlog is on chain (claims per second into confirmed transitions).
//!
//! `cargo bench -p claimd --bench onchain` (env: `BENCH_ONCHAIN_N`, comma-separated counts,
//! default `10000,100000`; `BENCH_ONCHAIN_CHAINS`, default `embedded,anvil`;
//! `BENCH_ONCHAIN_BACKENDS`, default `sqlite,postgres`; `BENCH_DRAIN_N`, the backlog of the
//! publisher-alone rows, default 20000, 0 to skip them; `BENCH_CONCURRENCY`, default 32;
//! `BENCH_OUT`, the results file under `bench/results/`, default `onchain.json`).

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use claimd_chain::testing::Anvil;
use common::fixture::Fixture;
use common::Backend;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn unix_ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64() * 1000.0
}

/// Issues `n` credentials (one new user each) at `concurrency`; returns each accepted
/// credential's hash with the wall-clock time its 200 arrived.
async fn issue_all(f: &Fixture, n: usize, concurrency: usize) -> Vec<(String, f64)> {
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..n)
            .map(|i| f.token(&format!("user{i}@onchain.example")))
            .collect(),
    );
    let body = Arc::new(
        json!({"issuerDid": f.issuer_did, "credentialId": f.program,
               "credentialSubject": {"age": 30}})
        .to_string(),
    );
    let url = Arc::new(format!("{}/v1/credentials/issue-on-behalf", f.url()));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let count = tokens.len();
    support::clients(
        concurrency,
        0,
        move |i| i < count,
        move |i| {
            let (http, url, body, tokens) =
                (http.clone(), url.clone(), body.clone(), tokens.clone());
            async move {
                let r = support::post_json(&http, &url, &tokens[i], &body)
                    .await
                    .ok()?;
                if r.status() != 200 {
                    return None;
                }
                let at = unix_ms(SystemTime::now());
                let v: Value = r.json().await.unwrap_or(Value::Null);
                Some((v["coreClaimHash"].as_str()?.to_owned(), at))
            }
        },
    )
    .await
    .into_iter()
    .flatten()
    .collect()
}

/// The operator's publishing view of the fixture's issuer, with up to `limit` transitions.
async fn publishing(f: &Fixture, limit: usize) -> Value {
    let server = f.server();
    f.http
        .get(format!(
            "{}/admin/v1/issuers/{}/publishing?limit={limit}",
            server.url, f.issuer_did
        ))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn parse_ms(rfc3339: &str) -> f64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis() as f64
}

/// A credential's status, read as a well-behaved client does: a 429 (the per-address and
/// per-partner limits, 2,000 requests a second by default, which reading 100,000 statuses one
/// after another exceeds) is retried after a pause.
async fn status_within_limits(f: &Fixture, email: &str, hash: &str) -> Value {
    let token = f.token(email);
    loop {
        match f.status_raw(&token, hash).await {
            (200, body) => return body,
            (429, _) => tokio::time::sleep(Duration::from_millis(200)).await,
            (status, body) => panic!("status of {hash}: {status} {body}"),
        }
    }
}

/// Polls the issuer's publishing view until nothing is pending or in flight.
async fn drained(f: &Fixture, limit: usize) -> Value {
    loop {
        let v = publishing(f, limit).await;
        if v["pending"]["claims"] == 0 && v["inFlight"].is_null() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The publisher alone: `n` credentials issued with the publisher off, then the server
/// restarted with it on; claims per second from the restart to the last confirmation.
async fn drain(backend: Backend, n: usize, concurrency: usize) -> Value {
    let mut f = Fixture::new(backend).await;
    f.issue("warmup@onchain.example", 1).await;
    let before = drained(&f, 10).await["transitions"]
        .as_array()
        .unwrap()
        .len();
    f.restart_with("CLAIMD_NO_PUBLISHER", "true");
    let accepted = issue_all(&f, n, concurrency).await;
    let load_before = support::load_average();
    let started = Instant::now();
    f.restart_with("CLAIMD_NO_PUBLISHER", "false");
    let restarted = started.elapsed().as_secs_f64();
    let view = drained(&f, 10_000).await;
    let seconds = started.elapsed().as_secs_f64();
    let transitions = view["transitions"].as_array().unwrap();
    let used = transitions[..transitions.len() - before]
        .iter()
        .filter(|t| t["status"] == "CONFIRMED")
        .count();
    let out = json!({
        "row": "publisher alone, draining a backlog (embedded chain)",
        "backend": support::backend_name(backend),
        "backlog": accepted.len(),
        "seconds": seconds,
        "restart_seconds": restarted,
        "claims_per_second": accepted.len() as f64 / seconds,
        "transactions": used,
        "memory": support::memory_mib(f.server()),
        "load_average": { "before": load_before, "after": support::load_average() },
    });
    println!("{out}");
    out
}

async fn run(chain: &str, backend: Backend, n: usize, concurrency: usize) -> Value {
    let anvil = (chain == "anvil").then(|| Anvil::start_with(&["--block-time", "1"]));
    let env = anvil
        .as_ref()
        .map(|a| {
            vec![
                ("CLAIMD_CHAIN_RPC_URL".to_owned(), a.url.clone()),
                // anvil's finalized block trails its head by 64 blocks; the benchmark measures
                // publishing, with the one-confirmation rule its recorded results used.
                ("CLAIMD_CHAIN_FINALITY".to_owned(), "depth".to_owned()),
            ]
        })
        .unwrap_or_default();
    let f = Fixture::with_env(backend, env).await;
    // The issuer's first transition (its auth claim) is not part of the measurement.
    f.issue("warmup@onchain.example", 1).await;
    let before = loop {
        let v = publishing(&f, 10).await;
        if v["pending"]["claims"] == 0 && v["inFlight"].is_null() && !v["published"].is_null() {
            break v["transitions"].as_array().unwrap().len();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let load_before = support::load_average();
    let started = Instant::now();
    let t0 = unix_ms(SystemTime::now());
    let accepted = issue_all(&f, n, concurrency).await;
    let issue_seconds = started.elapsed().as_secs_f64();
    let view = drained(&f, 10_000).await;
    let total_seconds = started.elapsed().as_secs_f64();
    let load_after = support::load_average();

    // Each credential's confirmation time is that of the transition holding its claim.
    let transitions: Vec<&Value> = view["transitions"].as_array().unwrap().iter().collect();
    let confirmed: HashMap<String, f64> = transitions
        .iter()
        .filter(|t| t["status"] == "CONFIRMED")
        .map(|t| {
            (
                t["txHash"].as_str().unwrap().to_owned(),
                parse_ms(t["updatedAt"].as_str().unwrap()),
            )
        })
        .collect();
    let measured: Vec<&Value> = transitions[..transitions.len() - before].to_vec();
    let used = measured
        .iter()
        .filter(|t| t["status"] == "CONFIRMED")
        .count();
    let abandoned = measured
        .iter()
        .filter(|t| t["status"] == "ABANDONED")
        .count();
    let last_confirmed = measured
        .iter()
        .filter(|t| t["status"] == "CONFIRMED")
        .map(|t| parse_ms(t["updatedAt"].as_str().unwrap()))
        .fold(t0, f64::max);

    // Statuses tell which transaction published each credential.
    let mut latencies = Vec::with_capacity(accepted.len());
    let mut onchain = 0usize;
    for (i, (hash, at)) in accepted.iter().enumerate() {
        let st = status_within_limits(&f, &format!("user{i}@onchain.example"), hash).await;
        if st["vcStatus"] == "ONCHAIN" {
            onchain += 1;
        }
        if let Some(c) = st["txHash"].as_str().and_then(|h| confirmed.get(h)) {
            latencies.push((c - at).max(0.0) / 1000.0);
        }
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let end_to_end = (last_confirmed - t0) / 1000.0;
    let last_accepted = accepted.iter().map(|(_, at)| *at).fold(t0, f64::max);
    let out = json!({
        "chain": chain,
        "backend": support::backend_name(backend),
        "credentials": n,
        "accepted": accepted.len(),
        "onchain": onchain,
        "issue_seconds": issue_seconds,
        "accepted_per_second": accepted.len() as f64 / issue_seconds,
        "end_to_end_seconds": end_to_end,
        "onchain_per_second": onchain as f64 / end_to_end,
        "observed_seconds": total_seconds,
        "drain_seconds": ((last_confirmed - last_accepted) / 1000.0).max(0.0),
        "transactions": used,
        "abandoned_transitions": abandoned,
        "credentials_per_transaction": onchain as f64 / used.max(1) as f64,
        "acceptance_to_onchain_seconds": {
            "p50": support::quantile(&latencies, 0.50),
            "p90": support::quantile(&latencies, 0.90),
            "p99": support::quantile(&latencies, 0.99),
            "max": latencies.last().copied().unwrap_or(f64::NAN),
        },
        "memory": support::memory_mib(f.server()),
        "load_average": { "before": load_before, "after": load_after },
    });
    println!("{out}");
    drop(f);
    drop(anvil);
    out
}

#[tokio::main]
async fn main() {
    let counts: Vec<usize> = std::env::var("BENCH_ONCHAIN_N")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        // Empty: no end-to-end rows (the publisher-alone rows only).
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .expect("BENCH_ONCHAIN_N: comma-separated counts")
        })
        .collect();
    let chains: Vec<String> = std::env::var("BENCH_ONCHAIN_CHAINS")
        .unwrap_or_else(|_| "embedded,anvil".into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let backends = support::backends("BENCH_ONCHAIN_BACKENDS");
    let concurrency = support::env_usize("BENCH_CONCURRENCY", 32);
    let drain_n = support::env_usize("BENCH_DRAIN_N", 20_000);
    let mut results = Vec::new();
    if drain_n > 0 {
        for &backend in &backends {
            results.push(drain(backend, drain_n, concurrency).await);
        }
    }
    for &n in &counts {
        for &backend in &backends {
            for chain in &chains {
                results.push(run(chain, backend, n, concurrency).await);
            }
        }
    }
    let out = support::report(
        "issue-on-behalf to ONCHAIN, end to end (server, publisher, chain and load generator on the same machine)",
        "onchain",
        json!({
            "concurrency": concurrency,
            "setup": "claimd serve --dev, SQLite or PostgreSQL, publisher in process (batch cap 1000 per transition); anvil with --block-time 1 and 1 confirmation (chain_finality depth); embedded chain mines on demand (0 confirmations); one new user per credential",
            "results": results,
        }),
    );
    let file = std::env::var("BENCH_OUT").unwrap_or_else(|_| "onchain.json".into());
    support::write_results(&file, &out);
}
