//! Fault suite: the real `claimd` binary under load while a dependency fails on purpose, then
//! heals. For each fault the suite checks what the API answers during it (documented answers
//! only: 200, or 503 in the error shape with `Retry-After`, or the generic 401 for partner
//! keys that cannot be fetched; never another 5xx, never a dropped connection) and that
//! afterwards the service recovers by itself: every credential answered 200 reaches
//! `ONCHAIN`, the chain's identity state equals the one recomputed from the stored
//! credentials, and each claim is in exactly one confirmed transition (`common::audit`; the
//! JWKS fault checks authentication only).
//!
//! - `chain_rpc_unreachable_then_slow`: claimd publishes to anvil through a TCP proxy that
//!   refuses connections, then delays every call by seconds.
//! - `postgres_restarted_mid_load`: a private PostgreSQL (initdb on a random port; the shared
//!   server is never touched) is stopped with `pg_ctl -m immediate` under load and started
//!   again.
//! - `jwks_host_down_then_slow`: the partners' JWKS host refuses connections, then answers
//!   slower than the fetch timeout.
//! - `sqlite_data_dir_disk_full`: the data dir (SQLite and the embedded chain) is a small
//!   tmpfs, filled to the last byte under load, then freed (needs root, for `mount`).
//!
//! `cargo nextest run -p claimd --test faults --no-capture` (in the default run; the tests of
//! this binary run one at a time, `.config/nextest.toml`). Each prints its figures.

mod common;

use claimd_auth::testing::{jwks, JwksServer, TestKey};
use claimd_testkit::fixture::{create_partner, provision, SchemaSpec};
use claimd_testkit::server::{config_env, free_port};
use common::{Backend, Server};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

// ---------------------------------------------------------------------------------------------
// A TCP proxy whose upstream can be made unreachable or slow.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Bytes flow.
    Open,
    /// The port is closed (connections are refused) and every open connection is cut.
    Down,
    /// Every chunk the client sends waits this long before it goes upstream.
    Slow(Duration),
}

struct Proxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, rx) = watch::channel(Mode::Open);
        let task = tokio::spawn(accept_loop(Some(listener), addr, upstream, rx));
        Proxy { addr, mode, task }
    }

    fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    mut listener: Option<TcpListener>,
    addr: SocketAddr,
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
) {
    loop {
        if *mode.borrow_and_update() == Mode::Down {
            // Closing the listener makes the port refuse, as a host that is down does.
            listener = None;
            if mode.changed().await.is_err() {
                return;
            }
            continue;
        }
        if listener.is_none() {
            match TcpListener::bind(addr).await {
                Ok(l) => listener = Some(l),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            }
        }
        let l = listener.as_ref().unwrap();
        tokio::select! {
            accepted = l.accept() => {
                if let Ok((inbound, _)) = accepted {
                    tokio::spawn(pipe(inbound, upstream, mode.clone()));
                }
            }
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

async fn pipe(inbound: TcpStream, upstream: SocketAddr, mode: watch::Receiver<Mode>) {
    let Ok(outbound) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut from_client, mut to_client) = inbound.into_split();
    let (mut from_upstream, mut to_upstream) = outbound.into_split();
    let up = {
        let mode = mode.clone();
        async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match from_client.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let current = *mode.borrow();
                if let Mode::Slow(d) = current {
                    tokio::time::sleep(d).await;
                }
                if to_upstream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    };
    let down = async move {
        let _ = tokio::io::copy(&mut from_upstream, &mut to_client).await;
    };
    let mut cut = mode;
    let cut = async move {
        loop {
            if cut.changed().await.is_err() || *cut.borrow() == Mode::Down {
                return;
            }
        }
    };
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        _ = cut => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Provisioning and load.

/// A partner (ES256 key `key`, JWKS at `jwks_url`), an issuer and a program on `server`.
struct Tenant {
    key: TestKey,
    partner: String,
    issuer_did: String,
    program: String,
}

/// The fixture's records (`Membership` schema, partner `Acme`, issuer, program), with the
/// partner's keys at `jwks_url`.
fn tenant(server: &Server, key: TestKey, jwks_url: &str) -> Tenant {
    let p = provision(server, jwks_url, &SchemaSpec::MEMBERSHIP, &[]);
    Tenant {
        key,
        partner: p.partner,
        issuer_did: p.issuer_did,
        program: p.program,
    }
}

/// One answer the load got.
#[derive(Debug, Clone)]
struct Answer {
    phase: &'static str,
    /// 0 when no HTTP answer arrived (connection refused or cut).
    status: u16,
    retry_after: Option<String>,
    body: Value,
    took: Duration,
}

#[derive(Default)]
struct Seen {
    answers: Vec<Answer>,
    /// (email, coreClaimHash) of every 200.
    acked: Vec<(String, String)>,
}

/// Clients issuing to a new user each time, tagging every answer with the current phase.
struct Load {
    stop: Arc<AtomicBool>,
    phase: Arc<Mutex<&'static str>>,
    seen: Arc<Mutex<Seen>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// An issue-on-behalf request of `t` for `email`: (status, `Retry-After`, body).
async fn issue(
    http: &reqwest::Client,
    url: &str,
    t: &Tenant,
    email: &str,
) -> Option<(u16, Option<String>, Value)> {
    let body = json!({
        "issuerDid": t.issuer_did,
        "credentialId": t.program,
        "credentialSubject": {"age": 30},
    });
    let r = http
        .post(format!("{url}/v1/credentials/issue-on-behalf"))
        .header("x-partner-auth", t.key.token(&t.partner, email).build())
        .json(&body)
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let body = r.json().await.unwrap_or(Value::Null);
    Some((status, retry_after, body))
}

impl Load {
    fn start(url: &str, tenant: Arc<Tenant>, clients: usize, pause: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let phase = Arc::new(Mutex::new("before"));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let counter = Arc::new(AtomicUsize::new(0));
        let tasks = (0..clients)
            .map(|_| {
                let (url, tenant, stop, phase, seen, counter) = (
                    url.to_owned(),
                    tenant.clone(),
                    stop.clone(),
                    phase.clone(),
                    seen.clone(),
                    counter.clone(),
                );
                tokio::spawn(async move {
                    let http = reqwest::Client::builder()
                        .timeout(Duration::from_secs(60))
                        .build()
                        .unwrap();
                    while !stop.load(Ordering::Relaxed) {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let email = format!("user{n}@faults.example");
                        let current = *phase.lock().unwrap();
                        let started = Instant::now();
                        let got = issue(&http, &url, &tenant, &email).await;
                        let took = started.elapsed();
                        let (status, retry_after, body) = got.unwrap_or((0, None, Value::Null));
                        {
                            let mut seen = seen.lock().unwrap();
                            if status == 200 {
                                let hash = body["coreClaimHash"].as_str().unwrap().to_owned();
                                seen.acked.push((email, hash));
                            }
                            seen.answers.push(Answer {
                                phase: current,
                                status,
                                retry_after,
                                body,
                                took,
                            });
                        }
                        tokio::time::sleep(pause).await;
                    }
                })
            })
            .collect();
        Load {
            stop,
            phase,
            seen,
            tasks,
        }
    }

    fn phase(&self, name: &'static str) {
        *self.phase.lock().unwrap() = name;
    }

    /// How many answers of `phase` had `status` so far.
    fn count(&self, phase: &str, status: u16) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.answers
            .iter()
            .filter(|a| a.phase == phase && a.status == status)
            .count()
    }

    /// Waits until phase `phase` has lasted `at_least` (from now) and clients have had `n`
    /// answers `status` in it; panics after `limit`.
    async fn hold(
        &self,
        phase: &str,
        at_least: Duration,
        (status, n): (u16, usize),
        limit: Duration,
    ) {
        let from = Instant::now();
        let what = format!("{n} answers {status} in phase {phase}");
        until(limit, &what, || {
            from.elapsed() >= at_least && self.count(phase, status) >= n
        })
        .await;
    }

    /// The credentials acknowledged so far.
    fn acked(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().acked.clone()
    }

    async fn finish(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// Polls `cond` every 100 ms until it holds; panics with `what` after `limit`.
async fn until<F: FnMut() -> bool>(limit: Duration, what: &str, mut cond: F) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Answers per (phase, status).
type Counts = BTreeMap<(&'static str, u16), usize>;
/// The slowest answer per phase.
type Slowest = BTreeMap<&'static str, Duration>;

/// Every answer is a 200, or a 503 in the error shape with `Retry-After`; returns the answers
/// per (phase, status) and the slowest answer per phase.
fn check_answers(seen: &Seen) -> (Counts, Slowest) {
    let mut counts = BTreeMap::new();
    let mut slowest: BTreeMap<&'static str, Duration> = BTreeMap::new();
    for a in &seen.answers {
        *counts.entry((a.phase, a.status)).or_insert(0) += 1;
        let s = slowest.entry(a.phase).or_default();
        *s = (*s).max(a.took);
        match a.status {
            200 => {}
            503 => {
                assert_eq!(a.body["error"], 503, "503 not in the error shape: {a:?}");
                assert!(a.body["message"].is_string(), "{a:?}");
                let secs: u64 = a
                    .retry_after
                    .as_deref()
                    .unwrap_or_else(|| panic!("503 without Retry-After: {a:?}"))
                    .parse()
                    .unwrap();
                assert!(secs >= 1, "{a:?}");
            }
            _ => panic!("undocumented answer during a fault: {a:?}"),
        }
    }
    (counts, slowest)
}

/// Polls the status of every acknowledged credential until all read `ONCHAIN`.
async fn wait_onchain(url: &str, t: &Tenant, acked: &[(String, String)], limit: Duration) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + limit;
    let mut waiting: Vec<&(String, String)> = acked.iter().collect();
    loop {
        let mut still = Vec::new();
        for pair in waiting {
            let (email, hash) = pair;
            let r = http
                .get(format!("{url}/v1/credentials/status?coreClaimHash={hash}"))
                .header("x-partner-auth", t.key.token(&t.partner, email).build())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "acknowledged {hash} lost");
            let st: Value = r.json().await.unwrap();
            match st["vcStatus"].as_str().unwrap() {
                "ONCHAIN" => {}
                "WAIT_ONCHAIN" => still.push(pair),
                other => panic!("{hash} is {other}"),
            }
        }
        if still.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} acknowledged credentials not ONCHAIN within {limit:?}",
            still.len(),
            acked.len()
        );
        waiting = still;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The sum of a counter's samples whose labels contain `label` (e.g. `kind="chain_unreachable"`).
fn metric(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn summary(name: &str, seen: &Seen, started: Instant) {
    let (counts, slowest) = check_answers(seen);
    let fives = seen.answers.iter().filter(|a| a.status >= 500).count();
    println!(
        "fault {name}: {:.0} s; answers per (phase, status) {counts:?}; slowest per phase \
         {slowest:?}; {} acknowledged, lost 0; 5xx: {fives} (all 503 + Retry-After)",
        started.elapsed().as_secs_f64(),
        seen.acked.len(),
    );
}

/// What [`outage`] saw.
struct Healed<T> {
    seen: Seen,
    /// What the fault returned.
    fault: T,
    /// How long the dependency was broken.
    outage: Duration,
    /// How long after healing issuance was answered again.
    recovered_in: Duration,
}

/// A dependency broken under `load`, then healed. After the first answers, phase `down`:
/// `fault` breaks it, and the outage lasts until clients have seen it answered (503s) for a
/// few seconds; `during` checks what must hold while it lasts. Then phase `up`: `heal` repairs
/// it and the load runs until issuance is answered again. Every request must have got an
/// answer (the process stays up) and every acknowledged credential must reach `ONCHAIN`.
async fn outage<T>(
    server_url: &str,
    t: &Tenant,
    load: Load,
    (down, up): (&'static str, &'static str),
    fault: impl AsyncFnOnce() -> T,
    during: impl AsyncFnOnce(),
    heal: impl AsyncFnOnce(),
) -> Healed<T> {
    load.hold("before", Duration::ZERO, (200, 10), Duration::from_secs(30))
        .await;

    load.phase(down);
    let fault = fault().await;
    let down_from = Instant::now();
    load.hold(
        down,
        Duration::from_secs(5),
        (503, 3),
        Duration::from_secs(60),
    )
    .await;
    during().await;
    let outage = down_from.elapsed();

    load.phase(up);
    heal().await;
    let up_from = Instant::now();
    load.hold(up, Duration::ZERO, (200, 10), Duration::from_secs(60))
        .await;
    let recovered_in = up_from.elapsed();
    let seen = load.finish().await;
    assert!(
        !seen.answers.iter().any(|a| a.status == 0),
        "a request got no answer: the process must stay up"
    );
    wait_onchain(server_url, t, &seen.acked, Duration::from_secs(120)).await;
    Healed {
        seen,
        fault,
        outage,
        recovered_in,
    }
}

// ---------------------------------------------------------------------------------------------
// Chain RPC unreachable, then slow.

/// `did:air:id:test` names chain 222888; anvil mines a block a second and finalizes two
/// behind its head, so the default finality rule is met within seconds.
const ANVIL_CHAIN_ID: u64 = 222_888;
const ANVIL_ARGS: &[&str] = &["--block-time", "1", "--slots-in-an-epoch", "1"];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chain_rpc_unreachable_then_slow() {
    use claimd_chain::testing::Anvil;
    use claimd_chain::StateContract;
    let started = Instant::now();
    let anvil = tokio::task::spawn_blocking(|| Anvil::start_on_chain(ANVIL_CHAIN_ID, ANVIL_ARGS))
        .await
        .unwrap();
    let anvil_addr: SocketAddr = anvil.url.trim_start_matches("http://").parse().unwrap();
    let rpc = Proxy::start(anvil_addr).await;
    let key = TestKey::es256("k1");
    let jwks_server = JwksServer::start(jwks(&[&key])).await;
    // Small transitions, so the backlog left by the fault is published in many of them: more
    // chances to publish a claim twice, if that could happen.
    let (_config, mut env) = config_env("publish_batch_cap = 150\n");
    env.push(("CLAIMD_CHAIN_RPC_URL".into(), rpc.url()));
    let server = Server::start_with(Backend::Sqlite, env).await;
    let t = Arc::new(tenant(&server, key, &jwks_server.url()));
    let load = Load::start(&server.url, t.clone(), 2, Duration::from_millis(50));

    // Publishing works through the proxy before the fault.
    load.hold("before", Duration::ZERO, (200, 5), Duration::from_secs(30))
        .await;
    wait_onchain(&server.url, &t, &load.acked(), Duration::from_secs(60)).await;

    // Unreachable: the RPC port refuses; issuance never touches the chain.
    load.phase("rpc down");
    rpc.set(Mode::Down);
    load.hold(
        "rpc down",
        Duration::from_secs(8),
        (200, 10),
        Duration::from_secs(30),
    )
    .await;
    let errors = metric(
        &server.get_text("/metrics").await,
        "claimd_publisher_step_errors_total",
        "kind=\"chain_unreachable\"",
    );
    assert!(errors > 0.0, "the publisher did not notice the outage");

    // Slow: every call waits 3 s at the proxy (under the 15 s RPC timeout).
    load.phase("rpc slow");
    rpc.set(Mode::Slow(Duration::from_secs(3)));
    load.hold(
        "rpc slow",
        Duration::from_secs(12),
        (200, 10),
        Duration::from_secs(40),
    )
    .await;

    load.phase("healed");
    rpc.set(Mode::Open);
    load.hold(
        "healed",
        Duration::from_secs(2),
        (200, 5),
        Duration::from_secs(30),
    )
    .await;
    let seen = load.finish().await;
    for phase in ["rpc down", "rpc slow"] {
        assert_eq!(
            seen.answers
                .iter()
                .filter(|a| a.phase == phase && a.status != 200)
                .count(),
            0,
            "issuance refused while the chain was failing ({phase})"
        );
    }
    // Up to max_error_backoff (30 s) before the publisher tries again, then batches.
    wait_onchain(&server.url, &t, &seen.acked, Duration::from_secs(120)).await;
    summary(
        "chain RPC down 8 s + slow (3 s a call) 12 s",
        &seen,
        started,
    );

    // Published once: the contract (read directly, not through the proxy) holds the state
    // recomputed from the stored credentials, one record per confirmed transition.
    let address = std::fs::read_to_string(
        server
            .data_dir
            .join(format!("chain-contract-{ANVIL_CHAIN_ID}")),
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    let data_dir = server.data_dir.clone();
    let (_tmp, _, _) = server.stop();
    let store = common::audit::open_store(&data_dir, None).await;
    let contract = StateContract::new(Arc::new(anvil.chain()), address);
    let audit = common::audit::check_chain_state(store.as_ref(), &contract, &t.issuer_did).await;
    assert!(audit.credentials >= seen.acked.len());
    println!("fault chain RPC: audit {audit:?}");
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL restarted mid-load.

/// A private PostgreSQL cluster (initdb as the `postgres` user, random port), stopped and
/// removed on drop. The shared server of the other tests is never touched.
struct PrivatePg {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

fn as_postgres(cmd: &str) -> std::process::Output {
    Command::new("su")
        .args(["postgres", "-s", "/bin/sh", "-c", cmd])
        .output()
        .unwrap_or_else(|e| panic!("cannot run su to the postgres user: {e}"))
}

impl PrivatePg {
    fn start() -> PrivatePg {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|d| {
                let mut v: Vec<PathBuf> = d
                    .filter_map(|e| Some(e.ok()?.path().join("bin")))
                    .filter(|p| p.join("initdb").exists())
                    .collect();
                v.sort();
                v.pop()
            })
            .expect(
                "the PostgreSQL fault needs its own server: no initdb under \
                 /usr/lib/postgresql/*/bin (apt-get install postgresql)",
            );
        let dir = tempfile::tempdir().unwrap();
        let chown = Command::new("chown")
            .arg("postgres")
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(chown.success(), "chown postgres {}", dir.path().display());
        let port = free_port();
        let out = as_postgres(&format!(
            "'{}/initdb' -D '{}/data' -A trust -U postgres",
            bin.display(),
            dir.path().display()
        ));
        assert!(
            out.status.success(),
            "initdb of the private PostgreSQL failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pg = PrivatePg { bin, dir, port };
        pg.start_server();
        pg
    }

    fn ctl(&self, args: &str) -> std::process::Output {
        let d = self.dir.path().display();
        as_postgres(&format!(
            "'{}/pg_ctl' -D '{d}/data' -l '{d}/log' {args}",
            self.bin.display()
        ))
    }

    fn start_server(&self) {
        let d = self.dir.path().display();
        let out = self.ctl(&format!(
            "-w -o \"-p {} -k '{d}' -c listen_addresses=127.0.0.1 -c fsync=off\" start",
            self.port
        ));
        assert!(
            out.status.success(),
            "the private PostgreSQL did not start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
    }

    /// `pg_ctl -m immediate stop`: every backend dies at once, as in a crash.
    fn crash(&self) {
        let out = self.ctl("-m immediate -w stop");
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self.ctl("-m immediate -w stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_mid_load() {
    let started = Instant::now();
    let pg = tokio::task::spawn_blocking(PrivatePg::start).await.unwrap();
    let key = TestKey::es256("k1");
    let jwks_server = JwksServer::start(jwks(&[&key])).await;
    let server = Server::start_with(
        Backend::Sqlite,
        vec![("CLAIMD_DATABASE_URL".into(), pg.url())],
    )
    .await;
    let t = Arc::new(tenant(&server, key, &jwks_server.url()));
    let load = Load::start(&server.url, t.clone(), 3, Duration::from_millis(20));
    let healed = outage(
        &server.url,
        &t,
        load,
        ("postgres down", "restarted"),
        async || tokio::task::block_in_place(|| pg.crash()),
        async || {
            let ready = reqwest::get(format!("{}/readyz", server.url))
                .await
                .unwrap();
            assert_eq!(ready.status(), 503, "/readyz while the database is down");
        },
        async || tokio::task::block_in_place(|| pg.start_server()),
    )
    .await;
    let seen = healed.seen;
    summary(
        &format!(
            "PostgreSQL down {:.1} s (immediate stop), back in {:.1} s",
            healed.outage.as_secs_f64(),
            healed.recovered_in.as_secs_f64()
        ),
        &seen,
        started,
    );

    let data_dir = server.data_dir.clone();
    let (_tmp, _, _) = server.stop();
    let audit =
        common::audit::check_embedded(&data_dir, Some(pg.url().as_str()), &t.issuer_did).await;
    assert!(audit.credentials >= seen.acked.len());
    println!("fault PostgreSQL: audit {audit:?}");
}

// ---------------------------------------------------------------------------------------------
// The partners' JWKS host down, then slow.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jwks_host_down_then_slow() {
    let started = Instant::now();
    let k1 = TestKey::es256("k1");
    let k2 = TestKey::es256("k2");
    let jwks_server = JwksServer::start(jwks(&[&k1])).await;
    let host = Proxy::start(jwks_server.addr()).await;
    let jwks_url = format!("{}/.well-known/jwks.json", host.url());
    let server = Server::start(Backend::Sqlite).await;
    let t = tenant(&server, k1.clone(), &jwks_url);
    let http = reqwest::Client::new();
    let mut answers: Vec<(&str, u16, Duration)> = Vec::new();
    let ask = |t: &Tenant, key: &TestKey, email: &str| {
        let http = http.clone();
        let url = server.url.clone();
        let token = key.token(&t.partner, email).build();
        let body = json!({
            "issuerDid": t.issuer_did,
            "credentialId": t.program,
            "credentialSubject": {"age": 30},
        });
        async move {
            let started = Instant::now();
            let r = http
                .post(format!("{url}/v1/credentials/issue-on-behalf"))
                .header("x-partner-auth", token)
                .json(&body)
                .send()
                .await
                .expect("an answer");
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (status, body, started.elapsed())
        }
    };
    let generic_401 = |what: &str, (status, body, took): &(u16, Value, Duration)| {
        assert_eq!(*status, 401, "{what}: {body}");
        assert_eq!(
            *body,
            json!({"error": 401, "message": "invalid partner token"}),
            "{what}"
        );
        // The fetch gives up after its 5 s timeout; nothing waits longer.
        assert!(*took < Duration::from_secs(7), "{what} took {took:?}");
    };

    // Healthy: the partner's keys are fetched and cached.
    let a = ask(&t, &k1, "a0@jwks.example").await;
    assert_eq!(a.0, 200, "{}", a.1);
    answers.push(("healthy", a.0, a.2));

    // Down: cached keys keep working; a partner never fetched, and an unknown key id, get the
    // generic 401 at once.
    host.set(Mode::Down);
    let uncached = create_partner(&server, "Uncached", &jwks_url);
    let u = Tenant {
        key: k1.clone(),
        partner: uncached,
        issuer_did: t.issuer_did.clone(),
        program: t.program.clone(),
    };
    for i in 0..5 {
        let a = ask(&t, &k1, &format!("a-down{i}@jwks.example")).await;
        assert_eq!(a.0, 200, "cached keys while the JWKS host is down: {}", a.1);
        answers.push(("down", a.0, a.2));
    }
    let b = ask(&u, &k1, "b-down@jwks.example").await;
    generic_401("uncached partner, host down", &b);
    answers.push(("down", b.0, b.2));
    let k = ask(&t, &k2, "k2-down@jwks.example").await;
    generic_401("unknown kid, host down", &k);
    answers.push(("down", k.0, k.2));

    // Slow: the host answers after 8 s, past the 5 s fetch timeout.
    host.set(Mode::Slow(Duration::from_secs(8)));
    let slow_partner = create_partner(&server, "Slow", &jwks_url);
    let s = Tenant {
        key: k1.clone(),
        partner: slow_partner,
        issuer_did: t.issuer_did.clone(),
        program: t.program.clone(),
    };
    let (cached, fetching) = tokio::join!(
        ask(&t, &k1, "a-slow@jwks.example"),
        ask(&s, &k1, "s-slow@jwks.example")
    );
    assert_eq!(cached.0, 200, "cached keys while the JWKS host is slow");
    assert!(
        cached.2 < Duration::from_secs(3),
        "a cached partner waited for another's fetch: {:?}",
        cached.2
    );
    answers.push(("slow", cached.0, cached.2));
    generic_401("uncached partner, host slow", &fetching);
    answers.push(("slow", fetching.0, fetching.2));
    let text = server.get_text("/metrics").await;
    assert!(
        metric(
            &text,
            "claimd_auth_failures_total",
            "reason=\"jwks_unavailable\""
        ) >= 2.0,
        "jwks_unavailable not counted"
    );

    // Healed, and the partner rotated in a new key: it is fetched on the next miss (at most
    // one fetch per 10 s per partner, so this may take that long), and the partners that
    // could not be fetched are authenticated: they pass the token check and get the 404 of
    // an issuer that is not theirs (the fixture's issuer belongs to the first partner).
    host.set(Mode::Open);
    jwks_server.set_jwks(jwks(&[&k1, &k2]));
    let healed = Instant::now();
    let deadline = Duration::from_secs(30);
    for (who, tenant, key, want) in [
        ("new-kid", &t, &k2, 200),
        ("uncached", &u, &k1, 404),
        ("slow", &s, &k1, 404),
    ] {
        loop {
            let a = ask(
                tenant,
                key,
                &format!("{who}-healed{}@jwks.example", answers.len()),
            )
            .await;
            answers.push(("healed", a.0, a.2));
            if a.0 != 401 {
                assert_eq!(a.0, want, "{who} after healing: {}", a.1);
                break;
            }
            generic_401(who, &a);
            assert!(
                healed.elapsed() < deadline,
                "{who}: still refused {deadline:?} after healing"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let mut counts: BTreeMap<(&str, u16), usize> = BTreeMap::new();
    let mut slowest: BTreeMap<&str, Duration> = BTreeMap::new();
    for &(phase, status, took) in &answers {
        *counts.entry((phase, status)).or_default() += 1;
        let s = slowest.entry(phase).or_default();
        *s = (*s).max(took);
    }
    println!(
        "fault JWKS host down + slow (8 s, fetch timeout 5 s): {:.0} s; answers per (phase, \
         status) {counts:?}; slowest per phase {slowest:?}; healed in {:.1} s; 5xx: 0",
        started.elapsed().as_secs_f64(),
        healed.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// The SQLite data dir's disk full.

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "the disk-full fault mounts a tmpfs and needs root (or CAP_SYS_ADMIN): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes `path` until the file system refuses: the disk is full. Returns the bytes written.
fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0xa5u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(28), "expected ENOSPC: {e}");
                break;
            }
        }
    }
    let _ = f.sync_all();
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_data_dir_disk_full() {
    let started = Instant::now();
    let disk = Tmpfs::mount("256m");
    let key = TestKey::es256("k1");
    let jwks_server = JwksServer::start(jwks(&[&key])).await;
    let data_dir = disk.path().join("data");
    let listen = (
        "CLAIMD_LISTEN".to_owned(),
        format!("127.0.0.1:{}", free_port()),
    );
    let server = tokio::task::block_in_place(|| {
        Server::start_in_with(
            tempfile::tempdir().unwrap(),
            data_dir.clone(),
            None,
            vec![listen],
        )
    });
    let t = Arc::new(tenant(&server, key, &jwks_server.url()));
    let load = Load::start(&server.url, t.clone(), 2, Duration::from_millis(20));
    let filler = disk.path().join("filler");
    let healed = outage(
        &server.url,
        &t,
        load,
        ("disk full", "freed"),
        async || {
            let filler = filler.clone();
            tokio::task::spawn_blocking(move || fill(&filler))
                .await
                .unwrap()
        },
        async || {},
        async || std::fs::remove_file(&filler).unwrap(),
    )
    .await;
    let seen = healed.seen;
    summary(
        &format!(
            "disk full ({} MiB filler) for {:.1} s, issuing again {:.1} s after freeing",
            healed.fault >> 20,
            healed.outage.as_secs_f64(),
            healed.recovered_in.as_secs_f64()
        ),
        &seen,
        started,
    );

    // The embedded chain and the database reopen (nothing torn by the failed writes) and
    // agree.
    let (_tmp, _, _) = server.stop();
    let audit = common::audit::check_embedded(&data_dir, None, &t.issuer_did).await;
    assert!(audit.credentials >= seen.acked.len());
    println!("fault disk full: audit {audit:?}");
    drop(disk);
}
