//! Issue-on-behalf throughput: fires requests with valid ES256 tokens at a running `claimd`
//! (release build, dev mode, fresh data) at a fixed concurrency, on SQLite and on PostgreSQL in
//! the same run, and writes accepted requests per second and latency percentiles to
//! `bench/results/issue-on-behalf.json`.
//!
//! Each backend is measured alone, then with hostile verify traffic beside it: one row per rate
//! in `BENCH_HOSTILE_RATES` (total requests per second of `BENCH_HOSTILE_WORKERS` clients,
//! default 4; `flood` for clients that send one request after another as fast as answers
//! come). Each hostile request posts to `POST /v1/credentials/verify` a genuine credential
//! whose `evidence` holds 8 blank nodes that all reference each other — 16.6 s of CPU each
//! before the verify limits. Every figure goes to the results file, with the hostile answers'
//! statuses and latencies and the machine's load average before and after each row.
//!
//! The default hostile rate, 400/s, is twenty times what one address may verify: it shows what
//! the refusals cost the server. A flood from the same two cores mostly measures the load
//! generator taking CPU from the server, which an attacker on the network would not do; it is
//! a separate row when asked for.
//!
//! A row lasts `BENCH_REQUESTS` requests (default 20,000) or `BENCH_SECONDS` (default 20),
//! whichever ends first, so that it measures steady state with the publisher at work rather
//! than the first seconds before its first large transition.
//!
//! Each backend is also measured with the publisher off (`CLAIMD_NO_PUBLISHER`), right after
//! its publisher row, so that what the publisher costs the request path is a side-by-side
//! figure; every row records the server's resident memory at its end.
//!
//! Last, the peer: js-sdk's own issuer building and signing the same credentials
//! (`interop/peer/issue.mjs`, one Node.js process per core), so that the ratio is taken in the
//! same run on the same machine.
//!
//! `cargo bench -p claimd --bench issue` (env: `BENCH_REQUESTS`; `BENCH_SECONDS`;
//! `BENCH_CONCURRENCY`, default 32; `BENCH_BACKENDS`, default `sqlite,postgres`;
//! `BENCH_HOSTILE_WORKERS`; `BENCH_HOSTILE_RATES`, default `400`, e.g. `400,flood`, `none` for
//! no hostile rows; `BENCH_OUT`, the results file under `bench/results/`, default
//! `issue-on-behalf.json`; `BENCH_PEER=none` skips the js-sdk peer; `CLAIMD_TEST_BINARY`;
//! `CLAIMD_TEST_POSTGRES_URL`).

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use claimd_auth::testing::{jwks, JwksServer, TestKey};
use claimd_testkit::fixture::{provision, Provisioned, SchemaSpec};
use common::{Backend, Server};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Outcome {
    backend: &'static str,
    publisher: bool,
    /// Resident memory at the end of the row and at its peak, MiB.
    memory_mib: Option<(f64, f64)>,
    /// CPU milliseconds per accepted request: the server's, the load generator's.
    cpu_ms: (Option<f64>, Option<f64>),
    requests: usize,
    accepted: usize,
    seconds: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// The hostile verify traffic that ran beside, if any.
    hostile: Option<Hostile>,
    /// Load averages before and after the row.
    load_before: serde_json::Value,
    load_after: serde_json::Value,
}

/// How fast the hostile clients send.
#[derive(Clone, Copy)]
enum HostileRate {
    /// Requests per second, all clients together.
    Paced(f64),
    /// Each client sends its next request as soon as the previous is answered.
    Flood,
}

impl HostileRate {
    fn parse(s: &str) -> HostileRate {
        match s.trim() {
            "flood" => HostileRate::Flood,
            n => HostileRate::Paced(n.parse().expect("BENCH_HOSTILE_RATES: numbers or `flood`")),
        }
    }

    fn label(self) -> serde_json::Value {
        match self {
            HostileRate::Paced(r) => json!(r),
            HostileRate::Flood => json!("flood"),
        }
    }
}

/// What the hostile verify clients saw.
struct Hostile {
    rate: HostileRate,
    workers: usize,
    requests: usize,
    /// HTTP status → count.
    statuses: std::collections::BTreeMap<u16, usize>,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// A genuine credential with `n` blank nodes in `evidence`, each referencing all the others.
fn hostile_body(vc: &serde_json::Value, n: usize) -> String {
    claimd_merklize::testing::all_referencing(vc, n).to_string()
}

/// Posts `body` to the verify endpoint from `workers` clients at `rate` until `stop`.
fn start_hostile(
    base: &str,
    body: String,
    workers: usize,
    rate: HostileRate,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<(u16, Duration)>>> {
    // The attacker is not the partner: its requests come from another loopback address
    // (127.0.0.2), so the per-address limits judge the two apart, as they would on a network.
    let http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let body = Arc::new(body);
    (0..workers)
        .map(|_| {
            let (http, url, body, stop) = (
                http.clone(),
                format!("{base}/v1/credentials/verify"),
                body.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut seen = Vec::new();
                // Each client sends its share of the rate; a late answer skips ticks rather
                // than bunching requests up afterwards.
                let mut tick = match rate {
                    HostileRate::Paced(r) => {
                        let mut t = tokio::time::interval(Duration::from_secs_f64(
                            workers as f64 / r.max(f64::MIN_POSITIVE),
                        ));
                        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                        Some(t)
                    }
                    HostileRate::Flood => None,
                };
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Some(t) = &mut tick {
                        t.tick().await;
                    }
                    let t0 = Instant::now();
                    let status = match http
                        .post(url.as_str())
                        .header("content-type", "application/json")
                        .body(body.as_str().to_owned())
                        .send()
                        .await
                    {
                        Ok(r) => r.status().as_u16(),
                        Err(_) => 0,
                    };
                    seen.push((status, t0.elapsed()));
                }
                seen
            })
        })
        .collect()
}

async fn run(
    backend: Backend,
    requests: usize,
    duration: Duration,
    concurrency: usize,
    hostile: Option<(usize, HostileRate)>,
    publisher: bool,
) -> Outcome {
    let env = if publisher {
        Vec::new()
    } else {
        vec![("CLAIMD_NO_PUBLISHER".to_owned(), "true".to_owned())]
    };
    let server = Server::start_with(backend, env).await;
    let key = TestKey::es256("bench-1");
    let jwks_server = JwksServer::start(jwks(&[&key])).await;
    let Provisioned {
        partner,
        issuer_did: did,
        program,
        ..
    } = provision(
        &server,
        &jwks_server.url(),
        // An integer, a string and a boolean, as the issued subjects have.
        &SchemaSpec::INTEROP_MEMBERSHIP,
        &["--expiration-days", "365"],
    );

    // Tokens are minted as requests go, as a partner's backend does: minted up front, the last
    // ones of a long run would outlive the token lifetime. Signing costs the load generator
    // tens of microseconds per request, on the same cores as the server.
    let mint = {
        let partner = partner.clone();
        Arc::new(move |i: usize| {
            key.token(&partner, &format!("user{i}@bench.example"))
                .build()
        })
    };
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
    let mut first_hash = None;
    for i in 0..5 {
        if let Ok(r) = support::post_json(&http, &url, &mint(i), &body).await {
            if let Ok(v) = r.json::<serde_json::Value>().await {
                first_hash = first_hash.or(v["coreClaimHash"].as_str().map(str::to_owned));
            }
        }
    }
    // The hostile traffic starts before the measured load and stops after it.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load_before = support::load_average();
    let cpu_before = (
        support::cpu_seconds(server.pid()),
        support::cpu_seconds(std::process::id()),
    );
    let hostile = if let Some((hostile_workers, rate)) = hostile {
        let hash = first_hash.expect("the warm-up issued a credential");
        let vc: serde_json::Value = http
            .get(format!("{}/v1/credentials/{hash}", server.url))
            .header("x-partner-auth", mint(0))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(vc["proof"].is_array(), "a credential: {vc}");
        Some((
            rate,
            start_hostile(
                &server.url,
                hostile_body(&vc, 8),
                hostile_workers,
                rate,
                stop.clone(),
            ),
        ))
    } else {
        None
    };
    let started = Instant::now();
    // Request numbers go on after the warm-up's five; a row ends at `requests` requests or at
    // `duration`, whichever comes first.
    let answers = support::clients(
        concurrency,
        5,
        move |i| i < requests + 5 && started.elapsed() < duration,
        move |i| {
            let (http, url, body, mint) = (http.clone(), url.clone(), body.clone(), mint.clone());
            async move {
                let token = mint(i);
                let t0 = Instant::now();
                let r = support::post_json(&http, &url, &token, &body).await;
                (matches!(&r, Ok(r) if r.status() == 200), t0.elapsed())
            }
        },
    )
    .await;
    let accepted = answers.iter().filter(|(ok, _)| *ok).count();
    let mut lat: Vec<Duration> = answers.into_iter().map(|(_, took)| took).collect();
    let seconds = started.elapsed().as_secs_f64();
    let load_after = support::load_average();
    // CPU used during the row, per accepted request: the server's, and the load generator's
    // (this process), which runs on the same cores.
    let cpu_ms_per_request = |before: Option<f64>, pid: u32| {
        let used = support::cpu_seconds(pid)? - before?;
        Some(used * 1000.0 / (accepted.max(1) as f64))
    };
    let cpu_ms = (
        cpu_ms_per_request(cpu_before.0, server.pid()),
        cpu_ms_per_request(cpu_before.1, std::process::id()),
    );
    let memory_mib = server
        .memory()
        .map(|(now, peak)| (support::mib(now), support::mib(peak)));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let hostile = match hostile {
        None => None,
        Some((rate, workers)) => {
            let n = workers.len();
            let mut seen = Vec::new();
            for w in workers {
                seen.extend(w.await.unwrap());
            }
            let mut statuses = std::collections::BTreeMap::new();
            for (status, _) in &seen {
                *statuses.entry(*status).or_insert(0) += 1;
            }
            let mut ms: Vec<f64> = seen.iter().map(|(_, d)| d.as_secs_f64() * 1000.0).collect();
            ms.sort_by(f64::total_cmp);
            Some(Hostile {
                rate,
                workers: n,
                requests: seen.len(),
                statuses,
                p50_ms: support::quantile(&ms, 0.50),
                p99_ms: support::quantile(&ms, 0.99),
                max_ms: ms.last().copied().unwrap_or(f64::NAN),
            })
        }
    };
    lat.sort();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    Outcome {
        backend: support::backend_name(backend),
        publisher,
        memory_mib,
        cpu_ms,
        requests: lat.len(),
        accepted,
        seconds,
        p50_ms: pct(0.50),
        p90_ms: pct(0.90),
        p99_ms: pct(0.99),
        max_ms: lat.last().unwrap().as_secs_f64() * 1000.0,
        hostile,
        load_before,
        load_after,
    }
}

/// The peer figure: js-sdk's own issuer (`interop/peer/issue.mjs`) building and signing
/// credentials of the same schema, subject and expiration as the rows, in `processes` Node.js
/// processes side by side (one per core, as claimd uses every core), for `seconds`. The schema
/// documents come from a claimd that provisioned the schema, so both sides hash the same ones.
async fn peer_js_sdk(seconds: u64, processes: usize) -> serde_json::Value {
    let server = Server::start_with(
        Backend::Sqlite,
        vec![("CLAIMD_NO_PUBLISHER".to_owned(), "true".to_owned())],
    )
    .await;
    let key = TestKey::es256("peer-1");
    let jwks_server = JwksServer::start(jwks(&[&key])).await;
    let Provisioned { schema, .. } = provision(
        &server,
        &jwks_server.url(),
        &SchemaSpec::INTEROP_MEMBERSHIP,
        &["--expiration-days", "365"],
    );
    let json_schema: serde_json::Value =
        serde_json::from_str(&server.get_text(&format!("/v1/schemas/{schema}.json")).await)
            .expect("JSON Schema");
    let context: serde_json::Value = serde_json::from_str(
        &server
            .get_text(&format!("/v1/schemas/{schema}.jsonld"))
            .await,
    )
    .expect("JSON-LD context");
    drop(server);
    let context_url = json_schema["$metadata"]["uris"]["jsonLdContext"]
        .as_str()
        .expect("$metadata.uris.jsonLdContext")
        .to_owned();
    let schema_url = format!("{}.json", context_url.trim_end_matches(".jsonld"));
    let base = context_url[..context_url.find("/v1/schemas/").expect("schema path")].to_owned();
    let input = json!({
        "seconds": seconds,
        "schemaUrl": schema_url,
        "documents": {schema_url.clone(): json_schema, context_url: context},
        "type": SchemaSpec::INTEROP_MEMBERSHIP.type_name,
        "subject": {"age": 30, "location": "Lisbon", "isMember": true},
        "expirationDays": 365,
        "statusUrl": format!("{base}/v1/did:air:id:test:peer/claims/revocation/status"),
    })
    .to_string();
    let script = claimd_testkit::repo_root().join("interop/peer/issue.mjs");
    let load_before = support::load_average();
    let children: Vec<_> = (0..processes)
        .map(|_| {
            let mut child = std::process::Command::new("node")
                .arg(&script)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("node (run scripts/setup-test-deps)");
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            child
        })
        .collect();
    // A failed peer is recorded, never a panic: the rows measured before it must be written.
    let each: Vec<serde_json::Value> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            match serde_json::from_slice(&out.stdout) {
                Ok(report) if out.status.success() => report,
                _ => json!({"failed": String::from_utf8_lossy(&out.stderr)}),
            }
        })
        .collect();
    let per_second: f64 = each.iter().filter_map(|r| r["perSecond"].as_f64()).sum();
    json!({
        "what": "@0xpolygonid/js-sdk IdentityWallet.issueCredential, in-memory storage, one issuer, a new holder DID per credential (no holder identity, HTTP, database or token check)",
        "processes": processes,
        "credentials_per_second": per_second,
        "each_process": each,
        "load_average": {"before": load_before, "after": support::load_average()},
    })
}

#[tokio::main]
async fn main() {
    let requests = support::env_usize("BENCH_REQUESTS", 20_000);
    let duration = Duration::from_secs(support::env_usize("BENCH_SECONDS", 20) as u64);
    let concurrency = support::env_usize("BENCH_CONCURRENCY", 32);
    let hostile_workers = support::env_usize("BENCH_HOSTILE_WORKERS", 4);
    let rates: Vec<HostileRate> = match std::env::var("BENCH_HOSTILE_RATES") {
        Ok(v) if v.trim() == "none" => Vec::new(),
        v => v
            .unwrap_or_else(|_| "400".into())
            .split(',')
            .map(HostileRate::parse)
            .collect(),
    };
    let backends = support::backends("BENCH_BACKENDS");
    let mut results = Vec::new();
    let mut beside_hostile = Vec::new();
    for backend in backends {
        // The publisher row, the same load with the publisher off, then the hostile rows.
        let rows = [(None, true), (None, false)]
            .into_iter()
            .chain(rates.iter().map(|r| (Some((hostile_workers, *r)), true)));
        for (hostile, publisher) in rows {
            let o = run(backend, requests, duration, concurrency, hostile, publisher).await;
            println!(
                "{:<8} publisher {:<5} {} requests, {} accepted in {:.2} s: {:.0} accepted/s, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms, memory {:?} MiB, CPU ms/request server {:?} load generator {:?}",
                o.backend, o.publisher, o.requests, o.accepted, o.seconds, o.accepted as f64 / o.seconds, o.p50_ms, o.p90_ms, o.p99_ms, o.max_ms, o.memory_mib, o.cpu_ms.0, o.cpu_ms.1
            );
            let mut row = json!({
                "backend": o.backend, "publisher": o.publisher,
                "resident_mib": o.memory_mib.map(|m| m.0), "peak_resident_mib": o.memory_mib.map(|m| m.1),
                "cpu_ms_per_request": {"server": o.cpu_ms.0, "load_generator": o.cpu_ms.1},
                "requests": o.requests, "accepted": o.accepted, "seconds": o.seconds,
                "accepted_per_second": o.accepted as f64 / o.seconds,
                "latency_ms": {"p50": o.p50_ms, "p90": o.p90_ms, "p99": o.p99_ms, "max": o.max_ms},
                "load_average": {"before": o.load_before, "after": o.load_after},
            });
            match &o.hostile {
                None => results.push(row),
                Some(h) => {
                    println!(
                        "         beside {} hostile verify clients at {}/s: {} verify requests ({:?}), p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                        h.workers, h.rate.label(), h.requests, h.statuses, h.p50_ms, h.p99_ms, h.max_ms
                    );
                    row["hostile_verify"] = json!({
                        "rate_per_second": h.rate.label(),
                        "workers": h.workers,
                        "body": "genuine credential + 8 mutually referencing blank nodes in evidence",
                        "requests": h.requests,
                        "statuses": h.statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
                        "latency_ms": {"p50": h.p50_ms, "p99": h.p99_ms, "max": h.max_ms},
                    });
                    beside_hostile.push(row);
                }
            }
        }
    }
    // The peer in the same run, on the same cores, after the rows (it needs none of them).
    let peer = if std::env::var("BENCH_PEER").as_deref() == Ok("none") {
        serde_json::Value::Null
    } else {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let p = peer_js_sdk(duration.as_secs().max(5), cores).await;
        let best = results
            .iter()
            .filter(|r| r["publisher"] == true)
            .filter_map(|r| r["accepted_per_second"].as_f64())
            .fold(0.0, f64::max);
        let peer_rate = p["credentials_per_second"].as_f64().unwrap_or(0.0);
        println!(
            "js-sdk peer: {peer_rate:.1} credentials/s in {cores} processes; best claimd row with the publisher {best:.0}/s ({:.0}x)",
            best / peer_rate
        );
        p
    };
    let out = support::report(
        "issue-on-behalf throughput (server and load generator on the same machine)",
        "issue",
        json!({
            "concurrency": concurrency,
            "token": "ES256, one distinct user per request (each request creates a user and holder identity)",
            "results": results,
            "with_hostile_verify": beside_hostile,
            "peer_js_sdk": peer,
        }),
    );
    let file = std::env::var("BENCH_OUT").unwrap_or_else(|_| "issue-on-behalf.json".into());
    support::write_results(&file, &out);
}
