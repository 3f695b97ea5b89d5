//! Black-box harness: starts the real `claimd` binary on a random loopback port against a
//! fresh SQLite file or a fresh PostgreSQL database, and stops it (and drops the database)
//! when the test ends.

#![allow(dead_code)]

pub mod fixture;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn postgres_admin_url() -> String {
    std::env::var("CLAIMD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh PostgreSQL database, dropped on drop.
pub struct PgDb {
    pub name: String,
    pub url: String,
}

impl PgDb {
    pub async fn create() -> PgDb {
        use sqlx::Connection;
        let admin = postgres_admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin} is not reachable ({e}); run scripts/test, which starts one")
        });
        let name = format!("claimd_bb_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        PgDb {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // Best effort, synchronous: psql may be absent, the server may already be gone.
        let admin = postgres_admin_url();
        let _ = Command::new("psql")
            .args([
                &admin,
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A running `claimd serve --dev` process.
pub struct Server {
    child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    pub admin_token: String,
    /// Extra environment (e.g. the chain settings), kept for restarts.
    pub env: Vec<(String, String)>,
    _tmp: tempfile::TempDir,
    _pg: Option<PgDb>,
}

pub fn claimd_bin() -> &'static str {
    env!("CARGO_BIN_EXE_claimd")
}

impl Server {
    pub async fn start(backend: Backend) -> Server {
        Server::start_with(backend, Vec::new()).await
    }

    /// Like [`Server::start`], with extra environment variables. The port is chosen here and
    /// kept in the environment, so a restart serves at the same URL (documents carry it).
    pub async fn start_with(backend: Backend, mut env: Vec<(String, String)>) -> Server {
        if !env.iter().any(|(k, _)| k == "CLAIMD_LISTEN") {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .unwrap()
                .port();
            env.push(("CLAIMD_LISTEN".into(), format!("127.0.0.1:{port}")));
        }
        let tmp = tempfile::tempdir().unwrap();
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDb::create().await),
        };
        let data_dir = tmp.path().join("data");
        Server::start_in_with(tmp, data_dir, pg, env)
    }

    /// Starts on an existing data dir (a restart), keeping `tmp` alive as long as the server.
    pub fn start_in(tmp: tempfile::TempDir, data_dir: PathBuf, pg: Option<PgDb>) -> Server {
        Server::start_in_with(tmp, data_dir, pg, Vec::new())
    }

    pub fn start_in_with(
        tmp: tempfile::TempDir,
        data_dir: PathBuf,
        pg: Option<PgDb>,
        env: Vec<(String, String)>,
    ) -> Server {
        let mut cmd = Command::new(claimd_bin());
        cmd.args(["serve", "--dev", "--data-dir"]).arg(&data_dir);
        if !env.iter().any(|(k, _)| k == "CLAIMD_LISTEN") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
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
            _tmp: tmp,
            _pg: pg,
        }
    }

    /// Runs `claimd admin --json …` against this server; returns (success, parsed stdout or stderr).
    pub fn admin(&self, args: &[&str]) -> (bool, serde_json::Value, String) {
        let out = Command::new(claimd_bin())
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

    /// The PostgreSQL database's URL, for a PostgreSQL server.
    pub fn database_url(&self) -> Option<&str> {
        self._pg.as_ref().map(|p| p.url.as_str())
    }

    pub fn data_path(&self, name: &str) -> PathBuf {
        self.data_dir.join(name)
    }

    pub fn path_exists(p: &Path) -> bool {
        p.exists()
    }
}

impl Server {
    /// Stops the process and hands back what a restart needs.
    pub fn stop(mut self) -> (tempfile::TempDir, PathBuf, Option<PgDb>) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let tmp = std::mem::replace(&mut self._tmp, tempfile::tempdir().unwrap());
        (tmp, self.data_dir.clone(), self._pg.take())
    }

    /// SIGKILL and start again on the same data dir, database and environment.
    pub fn restart(self) -> Server {
        let env = self.env.clone();
        let (tmp, dir, pg) = self.stop();
        Server::start_in_with(tmp, dir, pg, env)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
