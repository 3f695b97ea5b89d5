//! The HTTP server's limits and the process's hygiene, on the real binary over loopback:
//! slow-loris connections are closed, a client past its rate gets 429 with `Retry-After` in the
//! error shape, readiness and metrics can leave the public listener, dev mode refuses a network
//! address, secret files others can read are refused, and the data stays private on disk.

mod common;

use common::{claimd_bin, Backend, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn config_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claimd.toml");
    std::fs::write(&path, text).unwrap();
    let p = path.display().to_string();
    (dir, p)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_slow_loris_connection_is_closed_after_the_header_timeout() {
    let (_cfg, path) = config_file("http_header_read_timeout_secs = 1\n");
    let server = Server::start_with(Backend::Sqlite, vec![("CLAIMD_CONFIG".into(), path)]).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let closed_after = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        // One header line every 300 ms, never the blank line that ends the head.
        let mut buf = [0u8; 512];
        for i in 0..40 {
            if s.write_all(format!("X-Slow-{i}: a\r\n").as_bytes())
                .is_err()
            {
                return started.elapsed();
            }
            match s.read(&mut buf) {
                Ok(0) => return started.elapsed(),
                // A 408 before the close is fine too; it must not be a 200.
                Ok(n) => assert!(
                    !String::from_utf8_lossy(&buf[..n]).contains(" 200 "),
                    "a slow head was served"
                ),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return started.elapsed()
                }
                Err(_) => {}
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the connection was still open after 12 s of a never-ending head");
    })
    .await
    .unwrap();
    assert!(
        closed_after >= Duration::from_millis(800) && closed_after < Duration::from_secs(6),
        "closed after {closed_after:?}, not after the 1 s header timeout"
    );
    // The server still serves everyone else.
    let ok = reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn a_client_past_its_rate_gets_429_with_retry_after() {
    let (_cfg, path) = config_file("rate_limit_ip_per_sec = 2\nrate_limit_ip_burst = 5\n");
    let server = Server::start_with(Backend::Sqlite, vec![("CLAIMD_CONFIG".into(), path)]).await;
    let client = reqwest::Client::new();
    let mut limited = None;
    for _ in 0..20 {
        let r = client
            .get(format!("{}/healthz", server.url))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
    }
    let r = limited.expect("20 requests at once from one address were all served");
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], 429);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("per client address"),
        "{body}"
    );
    // The bucket refills.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = client
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Public verification has a per-address rate of its own, far below the general one: past it,
/// 429 naming it, while other requests from the same address are still served.
#[tokio::test]
async fn verifications_past_their_rate_per_address_get_429() {
    let (_cfg, path) =
        config_file("rate_limit_verify_ip_per_sec = 1\nrate_limit_verify_ip_burst = 3\n");
    let server = Server::start_with(Backend::Sqlite, vec![("CLAIMD_CONFIG".into(), path)]).await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..10 {
        let r = client
            .post(format!("{}/v1/credentials/verify", server.url))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 && refused.is_none() {
            refused = Some(r);
        }
    }
    // The burst is served (a body that is not a credential is a 400), the rest refused.
    assert_eq!(&statuses[..3], [400, 400, 400], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    let r = refused.unwrap();
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], 429);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("verifications per client address"),
        "{body}"
    );
    let r = client
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "other requests from the address are still served"
    );
}

#[tokio::test]
async fn readiness_and_metrics_move_to_the_operator_address() {
    let ops = format!("127.0.0.1:{}", free_port());
    let server = Server::start_with(
        Backend::Sqlite,
        vec![("CLAIMD_OPS_LISTEN".into(), ops.clone())],
    )
    .await;
    for path in ["/metrics", "/readyz"] {
        let public = reqwest::get(format!("{}{path}", server.url)).await.unwrap();
        assert_eq!(public.status(), 404, "{path} still on the public listener");
        let private = reqwest::get(format!("http://{ops}{path}")).await.unwrap();
        assert_eq!(private.status(), 200, "{path} on the operator address");
    }
    let live = reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
}

#[tokio::test]
async fn the_data_dir_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start(Backend::Sqlite).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&server.data_dir), 0o700);
    for file in ["claimd.db", "admin-token", "master.key"] {
        assert_eq!(mode(&server.data_path(file)), 0o600, "{file}");
    }
    for derived in ["claimd.db-wal", "claimd.db-shm"] {
        let p = server.data_path(derived);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{derived}");
        }
    }
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = std::process::Command::new(claimd_bin())
        .args(args)
        .env_remove("CLAIMD_ADMIN_TOKEN")
        .env_remove("CLAIMD_MASTER_KEY")
        .env_remove("CLAIMD_DEV")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn dev_mode_refuses_a_network_address() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let (ok, err) = run(
        &[
            "serve",
            "--dev",
            "--data-dir",
            &data,
            "--listen",
            "0.0.0.0:0",
        ],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("loopback only"), "{err}");
}

#[test]
fn a_secret_file_others_can_read_is_refused_outside_dev() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "an-admin-token-long-enough").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let data = dir.path().join("data").display().to_string();
    let token_path = token.display().to_string();
    let (ok, err) = run(
        &["serve", "--data-dir", &data, "--listen", "127.0.0.1:0"],
        &[
            ("CLAIMD_ADMIN_TOKEN_FILE", &token_path),
            (
                "CLAIMD_MASTER_KEY",
                "00000000000000000000000000000000000000000000000000000000000000aa",
            ),
        ],
    );
    assert!(!ok);
    assert!(err.contains("readable by group or others"), "{err}");
}
