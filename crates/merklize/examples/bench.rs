//! Merklization throughput: generic vs fast path, µs per credential.
//!
//! ```text
//! cargo run --release -p claimd-merklize --example bench -- [--n 2000] [--threads 2] [--write]
//! ```
//! `--write` stores the figures in `bench/results/merklize.json` (repository root);
//! `--profile-fast` runs only the fast path (for `perf record`).

#[path = "../tests/common/gen.rs"]
mod gen;

#[path = "../../../bench/host.rs"]
#[allow(dead_code)] // only its CPU clock is used here
mod host;

use host::thread_cpu_ns;
use std::sync::Arc;
use std::time::Instant;

use claimd_merklize::Merklizer;
use serde_json::{json, Value};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Mean (wall, CPU) µs per credential over `docs`, single thread.
fn time_per_doc(docs: &[Value], f: impl Fn(&Value)) -> (f64, f64) {
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    for d in docs {
        f(d);
    }
    let wall = start.elapsed().as_secs_f64() * 1e6 / docs.len() as f64;
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e3 / docs.len() as f64,
        _ => f64::NAN,
    };
    (wall, cpu)
}

/// Credentials per second with `threads` threads sharing one merklizer (fast path).
fn throughput(mz: &Arc<Merklizer>, docs: &Arc<Vec<Value>>, threads: usize) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let mz = mz.clone();
            let docs = docs.clone();
            std::thread::spawn(move || {
                for d in docs.iter().skip(t).step_by(threads) {
                    mz.merklize(d).expect("merklize");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    docs.len() as f64 / start.elapsed().as_secs_f64()
}

/// Mean µs of `f` over `n` calls.
fn micro(n: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let n = arg("--n", 2000);
    let threads = arg("--threads", 2);
    let write = std::env::args().any(|a| a == "--write");

    // A fresh set of credentials for every measurement, so that no phase profits from values
    // (DIDs, status IRIs) memoised by an earlier one.
    let mut r = gen::Rng::new(42);
    let mut fresh = |k: usize| -> Vec<Value> { (0..k).map(|_| gen::interop_vc(&mut r)).collect() };
    let mz = Arc::new(Merklizer::new());

    // Warm up (context memo, path-key cache, first-use cross-check, shape base tree).
    for d in fresh(20).iter() {
        mz.merklize(d).expect("merklize");
    }
    if std::env::args().any(|a| a == "--profile-fast") {
        // For `perf record`: the fast path only, nothing else.
        let (fast, fast_cpu) = time_per_doc(&fresh(n), |d| {
            mz.merklize_fast(d)
                .expect("fast")
                .expect("fast path applies");
        });
        println!("fast    : {fast:9.1} µs/credential wall, {fast_cpu:9.1} µs CPU");
        return;
    }
    let generic_n = (n / 10).clamp(50, n.max(50));
    let (generic, generic_cpu) = time_per_doc(&fresh(generic_n), |d| {
        mz.merklize_generic(d).expect("generic");
    });
    let (fast, fast_cpu) = time_per_doc(&fresh(n), |d| {
        mz.merklize_fast(d)
            .expect("fast")
            .expect("fast path applies");
    });
    let (combined, combined_cpu) = time_per_doc(&fresh(n), |d| {
        mz.merklize(d).expect("merklize");
    });
    let docs = Arc::new(fresh(n));
    let per_sec = throughput(&mz, &docs, threads);

    // The hashes that dominate: the 16-wide byte sponge (strings, IRIs) and the tree nodes.
    use claimd_iden3::poseidon;
    use claimd_merklize::Fr;
    let did = b"did:iden3:polygon:amoy:xHCsNX5bia6TDjg1VmPNLbubDKDL9MgC4BeCM7X7k";
    let sponge = micro(2000, || {
        std::hint::black_box(poseidon::hash_bytes(std::hint::black_box(did)));
    });
    let (a, b) = (Fr::from_u64(7), Fr::from_u64(9));
    let h2 = micro(5000, || {
        std::hint::black_box(poseidon::hash2(std::hint::black_box(a), b));
    });
    let h3 = micro(5000, || {
        std::hint::black_box(poseidon::hash3(std::hint::black_box(a), b, a));
    });

    println!("documents: {n} (generic timed on {generic_n})");
    println!("generic : {generic:9.1} µs/credential wall, {generic_cpu:9.1} µs CPU");
    println!("fast    : {fast:9.1} µs/credential wall, {fast_cpu:9.1} µs CPU");
    println!("merklize: {combined:9.1} µs/credential wall, {combined_cpu:9.1} µs CPU");
    println!("parallel: {per_sec:9.0} credentials/s on {threads} threads");
    println!("poseidon: hash_bytes(64 B) {sponge:.1} µs, hash2 {h2:.1} µs, hash3 {h3:.1} µs");

    if write {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_owned())
            })
            .unwrap_or_default();
        let out = json!({
            "benchmark": "claimd-merklize: merklized root of an InteropMembership credential (15 quads)",
            "command": format!("cargo run --release -p claimd-merklize --example bench -- --n {n} --threads {threads} --write"),
            "date": std::process::Command::new("date").arg("-u").arg("+%Y-%m-%dT%H:%M:%SZ").output().ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default(),
            "machine": {
                "cpu": cpu,
                "logical_cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
                "load_average_1_5_15_min": std::fs::read_to_string("/proc/loadavg").ok()
                    .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default(),
                "note": "shared 2-core machine: other engineers' builds run concurrently, so wall times are inflated; CPU times (thread schedstat) are the better figure",
            },
            "documents": n,
            "generic_us_per_credential": {"wall": (generic * 10.0).round() / 10.0, "cpu": (generic_cpu * 10.0).round() / 10.0},
            "fast_us_per_credential": {"wall": (fast * 10.0).round() / 10.0, "cpu": (fast_cpu * 10.0).round() / 10.0},
            "merklize_us_per_credential": {"wall": (combined * 10.0).round() / 10.0, "cpu": (combined_cpu * 10.0).round() / 10.0},
            "parallel_credentials_per_second": per_sec.round(),
            "threads": threads,
            "poseidon_us": {
                "hash_bytes_64_bytes": (sponge * 10.0).round() / 10.0,
                "hash2": (h2 * 10.0).round() / 10.0,
                "hash3": (h3 * 10.0).round() / 10.0,
            },
        });
        let dir = root.join("bench/results");
        std::fs::create_dir_all(&dir).expect("bench/results");
        std::fs::write(
            dir.join("merklize.json"),
            serde_json::to_string_pretty(&out).expect("json") + "\n",
        )
        .expect("write bench/results/merklize.json");
        println!("wrote bench/results/merklize.json");
    }
}
