#![allow(dead_code)]
//! What the benchmarks share: settings from the environment, the machine description and the
//! date written into every results file.

use claimd_testkit::Backend;
use serde_json::{json, Value};

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| {
        c.lines()
            .find(|l| l.starts_with("model name"))
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
    });
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "os": std::env::consts::OS,
    })
}

/// The 1-, 5- and 15-minute load averages (`/proc/loadavg`), for the results file: figures
/// taken on a busy machine are not comparable with figures taken on a quiet one.
pub fn load_average() -> Value {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let v: Vec<f64> = text
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    json!(v)
}

/// Bytes in MiB, the unit of every memory figure in the results files.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// The server's resident memory now and at its peak in MiB (`null` off Linux).
pub fn memory_mib<B: claimd_testkit::Binary>(server: &claimd_testkit::Server<B>) -> Value {
    json!(server
        .memory()
        .map(|(rss, peak)| json!({"rss_mib": mib(rss), "peak_rss_mib": mib(peak)})))
}

/// UTC now, ISO 8601 to the second.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A results file: what was measured, the command that measures it again (`bench` is the
/// bench's name), when and on which machine, then the bench's own `fields` (an object).
pub fn report(benchmark: &str, bench: &str, fields: Value) -> Value {
    let mut out = json!({
        "benchmark": benchmark,
        "command": format!("cargo bench -p claimd --bench {bench}"),
        "date": now(),
        "machine": machine(),
    });
    if let (Some(out), Value::Object(fields)) = (out.as_object_mut(), fields) {
        out.extend(fields);
    }
    out
}

/// Writes `out` to `bench/results/<name>`.
pub fn write_results(name: &str, out: &Value) {
    let path = format!("{}/../../bench/results/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::write(&path, serde_json::to_string_pretty(out).unwrap() + "\n").unwrap();
    println!("wrote {path}");
}

/// The `q`-quantile of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

/// `POST url` of a JSON `body` with the partner token `token` (`x-partner-auth`), as a
/// partner's backend sends an issuance.
pub async fn post_json(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(url)
        .header("x-partner-auth", token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
}

/// A load generator: `concurrency` clients share the request numbers from `first` on; each
/// takes the next number `i` while `more(i)` holds and awaits `request(i)`. Every client's
/// results, in no particular order.
pub async fn clients<R, More, Req, Fut>(
    concurrency: usize,
    first: usize,
    more: More,
    request: Req,
) -> Vec<R>
where
    R: Send + 'static,
    More: Fn(usize) -> bool + Send + Sync + 'static,
    Req: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = R> + Send,
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let next = Arc::new(AtomicUsize::new(first));
    let (more, request) = (Arc::new(more), Arc::new(request));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, more, request) = (next.clone(), more.clone(), request.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if !more(i) {
                        break;
                    }
                    out.push(request(i).await);
                }
                out
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    all
}

/// CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat`; `None` off
/// Linux. Clock ticks are taken as 100 a second, the value on every Linux the benches run on.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are space-separated.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The backends named in `var` (comma-separated `sqlite`, `postgres`; both when unset).
pub fn backends(var: &str) -> Vec<Backend> {
    std::env::var(var)
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .split(',')
        .map(|s| match s.trim() {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => panic!("{var}: unknown backend {other:?}"),
        })
        .collect()
}

/// The backend's name in results files.
pub fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}
