//! The operator dashboard in a real browser: `claimd serve --dev` (the real binary) driven by
//! Debian's chromium through playwright-core (`interop/dashboard/e2e.mjs`). Between the
//! script's two phases this test issues a credential through the partner API, with a Partner
//! JWT signed by the key whose JWKS the browser registered. It takes a screenshot of every
//! page: into a temporary directory, or into `docs/screenshots/` (the committed ones the
//! README links) with `CLAIMD_UPDATE_SCREENSHOTS=1`. Fails (never skips) when chromium or the npm packages are missing:
//! `scripts/setup-test-deps` installs them.

mod common;

use claimd_auth::testing::TestKey;
use common::{Backend, Server};
use serde_json::{json, Value};
use std::process::Command;

const SESSION_SECS: u64 = 40;

/// The block explorer the dashboard links transaction hashes to in this test.
const EXPLORER: &str = "https://explorer.example/tx/{txHash}";

/// Runs one phase of the script; its last stdout line as JSON.
fn browser(phase: &str, server: &Server, env: &[(&str, &str)]) -> Value {
    let root = claimd_testkit::repo_root();
    assert!(
        root.join("interop/node_modules/playwright-core").exists(),
        "interop/node_modules/playwright-core is missing: run scripts/setup-test-deps"
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: run scripts/setup-test-deps"
    );
    let tmp = tempfile::tempdir().unwrap();
    let shots = if std::env::var_os("CLAIMD_UPDATE_SCREENSHOTS").is_some() {
        root.join("docs/screenshots")
    } else {
        tmp.path().to_owned()
    };
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(root.join("interop/dashboard/e2e.mjs"))
        .arg(phase)
        .env("CLAIMD_URL", &server.url)
        .env("ADMIN_TOKEN", &server.admin_token)
        .env("SCREENSHOTS", &shots)
        .env("SESSION_SECS", SESSION_SECS.to_string())
        .envs(env.iter().copied())
        .output()
        .expect("cannot run `node`");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "e2e.mjs {phase} failed ({:?}):\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("e2e.mjs {phase} printed no JSON ({e}):\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_runs_claimd_from_the_browser() {
    let (_config, env) = claimd_testkit::server::config_env(&format!(
        "dashboard_session_secs = {SESSION_SECS}\nchain_explorer_tx_url = \"{EXPLORER}\"\n"
    ));
    let server = Server::start_with(Backend::Sqlite, env).await;
    let key = TestKey::es256("dash-1");
    let jwks = key.jwks().to_string();
    let created = tokio::task::block_in_place(|| {
        browser("setup", &server, &[("PARTNER_JWKS", jwks.as_str())])
    });
    let partner = created["partnerId"].as_str().unwrap();

    // The partner's backend issues through the public API.
    let email = "holder@example.org";
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/credentials/issue-on-behalf", server.url))
        .header("x-partner-auth", key.token(partner, email).build())
        .json(&json!({
            "issuerDid": created["issuerDid"],
            "credentialId": created["programId"],
            "credentialSubject": {"age": 30, "isMember": true},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    let hash = body["coreClaimHash"].as_str().unwrap().to_owned();

    let watched = tokio::task::block_in_place(|| {
        browser(
            "watch",
            &server,
            &[
                ("HASH", hash.as_str()),
                ("EMAIL", email),
                ("PROGRAM", created["programId"].as_str().unwrap()),
                ("EXPLORER", EXPLORER),
            ],
        )
    });
    assert_eq!(watched["ok"], true);

    // What the browser did is what the operator API holds.
    let (ok, credential, _) = server.admin(&["credential", "get", &hash]);
    assert!(ok);
    assert_eq!(credential["vcStatus"], "REMOVE");
}
