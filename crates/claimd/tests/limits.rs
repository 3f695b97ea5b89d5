//! The HTTP server's limits and the process's hygiene. In process ([`TestApp`], a manual
//! clock): a client past its rate gets 429 with `Retry-After` in the error shape, and the
//! bucket refills. On the real binary over loopback: slow-loris connections are closed, the
//! configured rates apply, readiness and metrics can leave the public listener, dev mode
//! refuses a network address, secret files others can read are refused, and the data stays
//! private on disk.

mod common;

use claimd_api::limits::{HttpLimits, Rate};
use claimd_testkit::app::{AppSettings, TestApp, TestResponse};
use common::{claimd_bin, Backend, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use claimd_testkit::server::{config_env, free_port};

#[tokio::test]
async fn a_slow_loris_connection_is_closed_after_the_header_timeout() {
    let (_cfg, env) = config_env("http_header_read_timeout_secs = 1\n");
    let server = Server::start_with(Backend::Sqlite, env).await;
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

/// A TestApp whose only tight limit is `pick`'s rate: 2/s with a burst of 5 per address, or 1/s
/// with a burst of 3 for public verifications.
async fn app_with(
    pick: fn(&mut HttpLimits) -> &mut Option<Rate>,
    per_second: f64,
    burst: f64,
) -> TestApp {
    let mut limits = HttpLimits::default();
    *pick(&mut limits) = Some(Rate { per_second, burst });
    TestApp::with(AppSettings {
        limits,
        ..AppSettings::default()
    })
    .await
}

/// A 429 in the error shape, with `Retry-After`, whose message contains `names`.
fn assert_limited(r: &TestResponse, names: &str) -> u64 {
    assert_eq!(r.status, 429, "{}", r.text());
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    let body = r.json();
    assert_eq!(body["error"], 429);
    assert!(body["message"].as_str().unwrap().contains(names), "{body}");
    retry
}

#[tokio::test]
async fn a_client_past_its_rate_gets_429_with_retry_after() {
    let app = app_with(|l| &mut l.per_ip, 2.0, 5.0).await;
    let mut limited = None;
    for _ in 0..20 {
        let r = app.get("/healthz").await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, 200);
    }
    let r = limited.expect("20 requests at once from one address were all served");
    let retry = assert_limited(&r, "per client address");
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    // The bucket refills.
    app.clock.advance(Duration::from_millis(1100));
    assert_eq!(app.get("/healthz").await.status, 200);
}

/// Public verification has a per-address rate of its own, far below the general one: past it,
/// 429 naming it, while other requests from the same address are still served.
#[tokio::test]
async fn verifications_past_their_rate_per_address_get_429() {
    let app = app_with(|l| &mut l.verify_per_ip, 1.0, 3.0).await;
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..10 {
        let r = app
            .post_json("/v1/credentials/verify", &serde_json::json!({}))
            .await;
        statuses.push(r.status);
        if r.status == 429 && refused.is_none() {
            refused = Some(r);
        }
    }
    // The burst is served (a body that is not a credential is a 400), the rest refused.
    assert_eq!(&statuses[..3], [400, 400, 400], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_limited(&refused.unwrap(), "verifications per client address");
    assert_eq!(
        app.get("/healthz").await.status,
        200,
        "other requests from the address are still served"
    );
}

/// The configuration file's rate keys reach the running server: past each rate, its 429.
#[tokio::test]
async fn the_configured_rates_apply_to_the_real_server() {
    let client = reqwest::Client::new();
    for (config, path, names) in [
        (
            "rate_limit_ip_per_sec = 2\nrate_limit_ip_burst = 5\n",
            "/healthz",
            "per client address",
        ),
        (
            "rate_limit_verify_ip_per_sec = 1\nrate_limit_verify_ip_burst = 3\n",
            "/v1/credentials/verify",
            "verifications per client address",
        ),
    ] {
        let (_cfg, env) = config_env(config);
        let server = Server::start_with(Backend::Sqlite, env).await;
        let mut last = None;
        for _ in 0..20 {
            let r = client
                .request(
                    if path == "/healthz" {
                        reqwest::Method::GET
                    } else {
                        reqwest::Method::POST
                    },
                    format!("{}{path}", server.url),
                )
                .body("{}")
                .header("content-type", "application/json")
                .send()
                .await
                .unwrap();
            last = Some(r.status().as_u16());
            if last == Some(429) {
                let body: serde_json::Value = r.json().await.unwrap();
                assert!(body["message"].as_str().unwrap().contains(names), "{body}");
                break;
            }
        }
        assert_eq!(
            last,
            Some(429),
            "{config}: 20 requests at once were all served"
        );
    }
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
