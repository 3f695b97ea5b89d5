//! Benchmark of the iden3 primitives, side by side with @iden3/js-crypto and
//! @iden3/js-merkletree measured in the same run.
//!
//! Run: `cargo bench -p claimd-iden3 --bench primitives` (from the repository root).
//! Prints ns/op per operation and writes `bench/results/iden3-primitives.json` with machine
//! info, date, command, and both sets of figures. Set `IDEN3_BENCH_NO_JS=1` to skip Node,
//! `IDEN3_BENCH_OUT` to write elsewhere.

#[path = "../../../bench/host.rs"]
mod host;

#[path = "../tests/it/splitmix.rs"]
mod splitmix;

use host::{command_output, thread_cpu_ns};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use claimd_iden3::babyjubjub::PrivateKey;
use claimd_iden3::merkletree::{MemoryStore, MerkleTree, IDEN3_DEPTH};
use claimd_iden3::{poseidon, Fr};
use serde_json::{json, Map, Value};

/// Deterministic pseudo-random field elements (SplitMix64 → 32 bytes → reduce).
struct Gen(u64);
impl Gen {
    fn next(&mut self) -> u64 {
        splitmix::next(&mut self.0)
    }
    fn fr(&mut self) -> Fr {
        let mut b = [0u8; 32];
        for c in b.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        Fr::from_le_bytes_mod_order(&b)
    }
}

/// Runs `f` in rounds of at least `batch` calls and at least 100 ms (the kernel updates a
/// thread's run time at scheduler ticks, so shorter rounds would read as 0) until `budget`
/// (wall) is spent; returns the median CPU ns/op and the median wall ns/op over the rounds.
fn measure(budget: Duration, batch: u64, mut f: impl FnMut()) -> (f64, f64) {
    let t = Instant::now();
    for _ in 0..batch.min(10) {
        f(); // warm-up, and a first estimate of the cost
    }
    let per_call = t.elapsed().as_nanos() / u128::from(batch.clamp(1, 10));
    let min_round = 100_000_000u128; // 100 ms
    let batch = batch.max(u64::try_from(min_round / per_call.max(1)).unwrap_or(u64::MAX));
    let start = Instant::now();
    let mut cpu = Vec::new();
    let mut wall = Vec::new();
    while start.elapsed() < budget || wall.len() < 3 {
        let c0 = thread_cpu_ns();
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        wall.push(t.elapsed().as_nanos() as f64 / batch as f64);
        if let (Some(c0), Some(c1)) = (c0, thread_cpu_ns()) {
            cpu.push((c1 - c0) as f64 / batch as f64);
        }
    }
    let median = |v: &mut Vec<f64>| {
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    (median(&mut cpu), median(&mut wall))
}

/// CPU and wall ns of one run of a long operation.
fn once(f: impl FnOnce()) -> (f64, f64) {
    let c0 = thread_cpu_ns();
    let t = Instant::now();
    f();
    let wall = t.elapsed().as_nanos() as f64;
    let cpu = match (c0, thread_cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64,
        _ => f64::NAN,
    };
    (cpu, wall)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn main() {
    let load_at_start = loadavg();
    let budget = Duration::from_millis(1500);
    let mut g = Gen(42);
    let mut ours = Map::new();
    let mut ours_wall = Map::new();
    let mut record = |name: &str, (cpu, wall): (f64, f64)| {
        println!("rust  {name:<34} {cpu:>14.0} ns/op cpu {wall:>14.0} ns/op wall");
        ours.insert(name.to_owned(), json!(cpu.round()));
        ours_wall.insert(name.to_owned(), json!(wall.round()));
    };

    let a = g.fr();
    let b = g.fr();
    record(
        "poseidon_t3",
        measure(budget, 1000, || {
            black_box(poseidon::hash2(black_box(a), black_box(b)));
        }),
    );
    let four: Vec<Fr> = (0..4).map(|_| g.fr()).collect();
    record(
        "poseidon_t5",
        measure(budget, 1000, || {
            black_box(poseidon::hash(black_box(&four)).ok());
        }),
    );
    let sixteen: Vec<Fr> = (0..16).map(|_| g.fr()).collect();
    record(
        "poseidon_t17",
        measure(budget, 200, || {
            black_box(poseidon::hash(black_box(&sixteen)).ok());
        }),
    );
    let text = b"https://schema.iden3.io/core/jsonld/iden3proofs.jsonld#issuanceDate";
    record(
        "hash_bytes_67_bytes",
        measure(budget, 200, || {
            black_box(poseidon::hash_bytes(black_box(text)));
        }),
    );

    let key = PrivateKey::from_bytes([7u8; 32]);
    let pk = key.public_key();
    let msg = g.fr();
    let sig = key.sign_poseidon(msg);
    record(
        "bjj_sign_poseidon",
        measure(budget, 20, || {
            black_box(key.sign_poseidon(black_box(msg)));
        }),
    );
    record(
        "bjj_verify_poseidon",
        measure(budget, 20, || {
            black_box(pk.verify_poseidon(black_box(msg), black_box(&sig)));
        }),
    );

    // One insert into a depth-40 tree that already holds 10,000 leaves.
    let mut tree = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH).expect("tree");
    let prefill: Vec<(Fr, Fr)> = (0..10_000).map(|_| (g.fr(), g.fr())).collect();
    tree.add_batch(&prefill).expect("prefill");
    record(
        "smt_add_depth40_10k_leaves",
        measure(budget, 200, || {
            tree.add(g.fr(), g.fr()).expect("add");
        }),
    );

    // 10,000 leaves into an empty depth-40 tree: one at a time, and as one batch.
    let leaves: Vec<(Fr, Fr)> = (0..10_000).map(|_| (g.fr(), g.fr())).collect();
    let seq = once(|| {
        let mut t = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH).expect("tree");
        for (k, v) in &leaves {
            t.add(*k, *v).expect("add");
        }
        black_box(t.root());
    });
    record("smt_10k_sequential_adds_total", seq);
    let batch = once(|| {
        let mut t = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH).expect("tree");
        t.add_batch(&leaves).expect("batch");
        black_box(t.root());
    });
    record("smt_10k_batch_insert_total", batch);

    let js = if std::env::var_os("IDEN3_BENCH_NO_JS").is_some() {
        Value::Null
    } else {
        run_js()
    };

    let mut machine = machine_info();
    // The figures are only comparable within one run: record how busy the machine was.
    machine["loadavg_at_start"] = json!(load_at_start);
    machine["loadavg_at_end"] = json!(loadavg());
    let out = json!({
        "about": "ns/op of claimd-iden3 (Rust, release) and of @iden3/js-crypto 1.3.2 / @iden3/js-merkletree 1.5.1 (Node) on the same inputs' shapes, measured in one run. *_ns_per_op are CPU time (Rust: the thread's /proc schedstat run time; Node: process.cpuUsage), which stays comparable when the shared machine is loaded; *_wall_ns_per_op are wall-clock. *_total entries are ns for the whole 10,000-leaf operation. Median of rounds.",
        "date": now_utc(),
        "command": "cargo bench -p claimd-iden3 --bench primitives",
        "machine": machine,
        "rust_ns_per_op": Value::Object(ours),
        "rust_wall_ns_per_op": Value::Object(ours_wall),
        "js_ns_per_op": js,
    });
    let path = std::env::var_os("IDEN3_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("bench/results/iden3-primitives.json"));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create results dir");
    }
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&out).expect("json") + "\n",
    )
    .expect("write results");
    println!("wrote {}", path.display());
}

fn run_js() -> Value {
    let root = repo_root();
    let out = Command::new("node")
        .arg(root.join("interop/iden3/bench.mjs"))
        .current_dir(root.join("interop"))
        .output()
        .expect("run node (set IDEN3_BENCH_NO_JS=1 to skip)");
    assert!(
        out.status.success(),
        "node bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("node bench prints JSON");
    if let Some(m) = v.get("ns_per_op").and_then(Value::as_object) {
        for (k, ns) in m {
            let wall = v["wall_ns_per_op"][k].as_f64().unwrap_or(f64::NAN);
            println!(
                "js    {k:<34} {:>14.0} ns/op cpu {wall:>14.0} ns/op wall",
                ns.as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    v
}

fn machine_info() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    json!({
        "cpu": cpu,
        "logical_cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory": mem,
        "os": command_output("uname", &["-srm"]),
        "rustc": command_output("rustc", &["--version"]),
        "node": command_output("node", &["--version"]),
    })
}

fn now_utc() -> String {
    command_output("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"])
}
