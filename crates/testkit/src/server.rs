//! The real binary for black-box tests: `claimd serve --dev` on a random loopback port against
//! a fresh SQLite file or a fresh PostgreSQL database, stopped (and the database dropped) when
//! the test ends. Only for what needs a process — kill -9, restarts, the CLI, connection-level
//! limits, the files on disk; everything else runs in process on [`crate::TestApp`].

use crate::db::{Backend, PgDb};
use std::io::{BufRead, BufReader};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Names the binary to run. Its path is known only where Cargo builds it for the test
/// (`env!("CARGO_BIN_EXE_claimd")` exists only in claimd's own tests and benches), so the
/// caller supplies it:
///
/// ```ignore
/// pub struct Claimd;
/// impl claimd_testkit::Binary for Claimd {
///     const PATH: &'static str = env!("CARGO_BIN_EXE_claimd");
/// }
/// pub type Server = claimd_testkit::Server<Claimd>;
/// ```
pub trait Binary {
    const PATH: &'static str;
}

/// The binary to run: `B::PATH`, or `CLAIMD_TEST_BINARY` when set, so that a benchmark can
/// run an earlier build side by side with this one (see `docs/BENCHMARKS.md`).
fn program<B: Binary>() -> String {
    std::env::var("CLAIMD_TEST_BINARY").unwrap_or_else(|_| B::PATH.to_owned())
}

/// A running `claimd serve --dev` process.
pub struct Server<B: Binary> {
    child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    pub admin_token: String,
    /// Extra environment (e.g. the chain settings), kept for restarts.
    pub env: Vec<(String, String)>,
    tmp: tempfile::TempDir,
    pg: Option<PgDb>,
    binary: PhantomData<B>,
}

/// A `claimd.toml` holding `text` in a temp dir (kept alive by the returned value) and the
/// environment that points the binary at it.
pub fn config_env(text: &str) -> (tempfile::TempDir, Vec<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claimd.toml");
    std::fs::write(&path, text).unwrap();
    let env = vec![("CLAIMD_CONFIG".to_owned(), path.display().to_string())];
    (dir, env)
}

/// A free loopback port (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

impl<B: Binary> Server<B> {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, Vec::new()).await
    }

    /// Like [`Server::start`], with extra environment variables. The port is chosen here and
    /// kept in the environment, so a restart serves at the same URL (documents carry it).
    pub async fn start_with(backend: Backend, mut env: Vec<(String, String)>) -> Self {
        if !env.iter().any(|(k, _)| k == "CLAIMD_LISTEN") {
            env.push(("CLAIMD_LISTEN".into(), format!("127.0.0.1:{}", free_port())));
        }
        let tmp = tempfile::tempdir().unwrap();
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDb::create().await),
        };
        let data_dir = tmp.path().join("data");
        Self::start_in_with(tmp, data_dir, pg, env)
    }

    /// Starts on an existing data dir (a restart), keeping `tmp` alive as long as the server.
    pub fn start_in(tmp: tempfile::TempDir, data_dir: PathBuf, pg: Option<PgDb>) -> Self {
        Self::start_in_with(tmp, data_dir, pg, Vec::new())
    }

    pub fn start_in_with(
        tmp: tempfile::TempDir,
        data_dir: PathBuf,
        pg: Option<PgDb>,
        env: Vec<(String, String)>,
    ) -> Self {
        let mut cmd = Command::new(program::<B>());
        cmd.args(["serve", "--dev", "--data-dir"]).arg(&data_dir);
        if !env.iter().any(|(k, _)| k == "CLAIMD_LISTEN") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        // The developer's own settings must not leak into a test.
        cmd.env_remove("CLAIMD_ADMIN_TOKEN")
            .env_remove("CLAIMD_MASTER_KEY")
            .env_remove("CLAIMD_DATABASE_URL")
            .env_remove("CLAIMD_CHAIN_RPC_URL")
            .env_remove("CLAIMD_CHAIN_CONTRACT")
            .env_remove("CLAIMD_CHAIN_FINALITY")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(pg) = &pg {
            cmd.args(["--database-url", &pg.url]);
        }
        let mut child = cmd.spawn().expect("start claimd");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("claimd did not report its address within 60 s");
        let admin_token = std::fs::read_to_string(data_dir.join("admin-token"))
            .unwrap()
            .trim()
            .to_owned();
        Server {
            child,
            url,
            data_dir,
            admin_token,
            env,
            tmp,
            pg,
            binary: PhantomData,
        }
    }

    /// Runs `claimd admin --json …` against this server; returns (success, parsed stdout, stderr).
    pub fn admin(&self, args: &[&str]) -> (bool, serde_json::Value, String) {
        let out = Command::new(program::<B>())
            .args(["admin", "--url", &self.url, "--json"])
            .args(args)
            .env("CLAIMD_ADMIN_TOKEN", &self.admin_token)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
        (out.status.success(), json, stderr)
    }

    pub fn admin_ok(&self, args: &[&str]) -> serde_json::Value {
        let (ok, json, stderr) = self.admin(args);
        assert!(ok, "claimd admin {args:?} failed: {stderr}");
        json
    }

    /// `claimd admin … create` and the string field `field` of its answer.
    pub fn create(&self, args: &[&str], field: &str) -> String {
        self.admin_ok(args)[field]
            .as_str()
            .unwrap_or_else(|| panic!("claimd admin {args:?} answered no {field}"))
            .to_owned()
    }

    /// A GET of `path` that must succeed; the body as text (e.g. `/metrics`).
    pub async fn get_text(&self, path: &str) -> String {
        let r = reqwest::get(format!("{}{path}", self.url)).await.unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.text().await.unwrap()
    }

    /// The PostgreSQL database's URL, for a PostgreSQL server.
    pub fn database_url(&self) -> Option<&str> {
        self.pg.as_ref().map(|p| p.url.as_str())
    }

    pub fn data_path(&self, name: &str) -> PathBuf {
        self.data_dir.join(name)
    }

    pub fn path_exists(p: &Path) -> bool {
        p.exists()
    }

    /// The process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory now and at its peak, in bytes (`/proc/<pid>/status`
    /// `VmRSS`, `VmHWM`); `None` off Linux.
    pub fn memory(&self) -> Option<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let kb = |field: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(field))?;
            line.split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
                .map(|k| k * 1024)
        };
        Some((kb("VmRSS:")?, kb("VmHWM:")?))
    }

    /// Stops the process and hands back what a restart needs.
    pub fn stop(mut self) -> (tempfile::TempDir, PathBuf, Option<PgDb>) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let tmp = std::mem::replace(&mut self.tmp, tempfile::tempdir().unwrap());
        (tmp, self.data_dir.clone(), self.pg.take())
    }

    /// SIGKILL and start again on the same data dir, database and environment.
    pub fn restart(self) -> Self {
        let env = self.env.clone();
        let (tmp, dir, pg) = self.stop();
        Self::start_in_with(tmp, dir, pg, env)
    }
}

impl<B: Binary> Drop for Server<B> {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
