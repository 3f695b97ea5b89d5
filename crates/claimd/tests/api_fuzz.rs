//! Property-based fuzzing of the whole API from its own `/openapi.json`, by schemathesis
//! (PyPI, pinned in `interop/schemathesis/requirements.txt`, installed into `interop/.venv` by
//! `scripts/setup-test-deps`), against the real binary with a provisioned partner, issuer and
//! program, a real Partner JWT and the admin token.
//!
//! Every phase (examples, coverage, fuzzing, stateful: the document's links take the fuzzer
//! from a created resource to its reads and changes) and every check (schemathesis runs all
//! of them unless told otherwise; `interop/schemathesis/schemathesis.toml` lists the few
//! rules OpenAPI cannot state, where one check is off for one operation): no 5xx, every status,
//! content type, header and body as documented, documented-valid input accepted and
//! documented-invalid input refused. The run fails on any failure and when fewer cases than
//! `CLAIMD_FUZZ_MIN_CASES` (default 1000) were generated.
//!
//! Knobs: `CLAIMD_FUZZ_MAX_EXAMPLES` (per operation and phase, default 25),
//! `CLAIMD_FUZZ_BACKENDS` (`sqlite`, `postgres` or both, comma-separated; default `sqlite`).
//! The long run documented in docs/RELIABILITY.md raises both.

mod common;

use claimd_testkit::repo_root;
use common::fixture::Fixture;
use common::Backend;
use std::process::Command;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The schemathesis CLI of the project's virtualenv.
fn schemathesis() -> std::path::PathBuf {
    let st = repo_root().join("interop/.venv/bin/st");
    assert!(
        st.exists(),
        "{} is missing: run scripts/setup-test-deps",
        st.display()
    );
    st
}

/// How many test cases schemathesis says it generated: the summary's `  N generated, …` line.
fn generated(output: &str) -> Option<u64> {
    output.lines().find_map(|l| {
        let (n, rest) = l.trim().split_once(' ')?;
        rest.starts_with("generated").then(|| n.parse().ok())?
    })
}

async fn fuzz(backend: Backend) {
    // Tokens live as long as the run: the server's default of five minutes is shorter.
    let f = Fixture::with_env(
        backend,
        vec![("CLAIMD_AUTH_MAX_TOKEN_LIFETIME_SECS".into(), "7200".into())],
    )
    .await;
    let now = chrono::Utc::now().timestamp();
    let token = f
        .key()
        .token(&f.partner, "fuzz@claimd.example")
        .claim("iat", now)
        .claim("exp", now + 7000)
        .build();
    let max_examples = env_or("CLAIMD_FUZZ_MAX_EXAMPLES", "25");
    let min_cases: u64 = env_or("CLAIMD_FUZZ_MIN_CASES", "1000").parse().unwrap();
    let config = repo_root().join("interop/schemathesis/schemathesis.toml");
    let out = Command::new(schemathesis())
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{}/openapi.json", f.url()))
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", &max_examples])
        .args(["--workers", "1"])
        .args(["--request-timeout", "30"])
        .args(["--generation-deterministic"])
        .args(["--suppress-health-check", "all"])
        .args(["-H", &format!("x-partner-auth: {token}")])
        .args([
            "-H",
            &format!("Authorization: Bearer {}", f.server().admin_token),
        ])
        // schemathesis keeps a cache in its working directory: not in the source tree.
        .current_dir(std::env::temp_dir())
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .expect("schemathesis runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(
        out.status.success(),
        "schemathesis found failures on {backend:?} (output above)"
    );
    let cases = generated(&text).expect("schemathesis reports the cases it generated");
    assert!(
        cases >= min_cases,
        "only {cases} cases generated on {backend:?}, fewer than {min_cases}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_holds_its_document_under_fuzzing() {
    for name in env_or("CLAIMD_FUZZ_BACKENDS", "sqlite").split(',') {
        let backend = match name.trim() {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => panic!("CLAIMD_FUZZ_BACKENDS: unknown backend {other:?}"),
        };
        fuzz(backend).await;
    }
}
