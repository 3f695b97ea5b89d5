//! Verification work limits, black box: hostile bodies sent over HTTP to the real binary —
//! blank nodes that all reference each other (8 of them took 16 s of CPU before the limits),
//! more blank nodes than accepted, deep nesting, too many proofs, too many values — are
//! answered 422 in the error shape, naming the limit, within a bounded time; a genuine
//! credential still verifies beside them; and a saturated verifier answers 503 with
//! `Retry-After` instead of queueing without end.
//!
//! The bound asserted here (2 s) is loose on purpose: debug build, shared machine. The real
//! figure (milliseconds) is measured by `cargo bench -p claimd --bench issue`.

mod common;

use claimd_merklize::testing::all_referencing;
use claimd_testkit::fixture::{post_json_body, Reply};
use claimd_testkit::server::config_env;
use common::fixture::Fixture;
use common::Backend;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(2);

/// `POST /v1/credentials/verify`: (status, `Retry-After`, JSON answer, time taken).
async fn post(f: &Fixture, body: String) -> (u16, Option<String>, Value, Duration) {
    let started = Instant::now();
    let reply = f.verify_raw(body).await;
    (
        reply.status,
        reply.retry_after,
        reply.json,
        started.elapsed(),
    )
}

/// `n` verifications of `body` at once, each in its own task.
fn flood(f: &Fixture, body: &str, n: usize) -> Vec<tokio::task::JoinHandle<Reply>> {
    let url = format!("{}/v1/credentials/verify", f.url());
    (0..n)
        .map(|_| {
            let (http, url, body) = (f.http.clone(), url.clone(), body.to_owned());
            tokio::spawn(async move { post_json_body(&http, &url, body).await })
        })
        .collect()
}

fn nested(vc: &Value, depth: usize) -> Value {
    let mut vc = vc.clone();
    vc["credentialSubject"]["deep"] = (0..depth).fold(
        json!("bottom"),
        |inner, _| json!({ "https://example.org/d": inner }),
    );
    vc
}

fn proofs(vc: &Value, n: usize) -> Value {
    let mut vc = vc.clone();
    let one = vc["proof"][0].clone();
    vc["proof"] = Value::Array(vec![one; n]);
    vc
}

/// Refused with 422 in the error shape, naming `limit`, within the bound.
async fn assert_refused(f: &Fixture, what: &str, body: String, limit: &str) -> Duration {
    let size = body.len();
    let (status, _, answer, took) = post(f, body).await;
    assert_eq!(status, 422, "{what}: {answer}");
    assert_eq!(answer["error"], 422, "{what}: {answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("Verification limit {limit} exceeded")),
        "{what}: {message}"
    );
    assert!(took < BOUND, "{what} ({size} bytes) took {took:?}");
    eprintln!("{what}: {size} bytes, 422 {limit} in {took:?}");
    took
}

async fn genuine(f: &Fixture) -> Value {
    let hash = f.issue("alice@x.io", 20).await;
    f.wait_for("alice@x.io", &hash, "ONCHAIN").await;
    f.document("alice@x.io", &hash).await
}

async fn assert_valid(f: &Fixture, vc: &Value) {
    let (status, _, report, _) = post(f, vc.to_string()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["valid"], true, "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_bodies_are_refused_quickly_naming_the_limit() {
    // Dozens of verifications from one address in a second: past the per-address rate they
    // would be 429s (tested in limits.rs); here each body must reach its work limit.
    let (_config, env) = config_env("rate_limit_verify_ip_per_sec = 0\n");
    let f = Fixture::with_env(Backend::Sqlite, env).await;
    let vc = genuine(&f).await;
    assert_valid(&f, &vc).await;

    // The reported attack: 8 blank nodes referencing each other (16.6 s of CPU unbounded),
    // and larger ones. Within the pre-scan's blank-node limit they reach the merklizer,
    // whose work bound refuses them before canonicalisation.
    for n in [8, 12, 30] {
        let body = all_referencing(&vc, n).to_string();
        assert_refused(
            &f,
            &format!("{n} mutually referencing blank nodes"),
            body,
            "max_normalization_work",
        )
        .await;
    }
    // Beyond it, the JSON pre-scan refuses them without expanding anything.
    for n in [40, 200] {
        let body = all_referencing(&vc, n).to_string();
        if body.len() > 64 * 1024 {
            continue;
        }
        assert_refused(&f, &format!("{n} blank nodes"), body, "max_blank_nodes").await;
    }
    let mut many_objects = vc.clone();
    many_objects["evidence"] = (0..100)
        .map(|i| json!({"https://example.org/v": i}))
        .collect();
    assert_refused(
        &f,
        "100 objects without an id",
        many_objects.to_string(),
        "max_blank_nodes",
    )
    .await;

    // Nesting: over the limit, and far beyond what the JSON parser itself accepts.
    assert_refused(
        &f,
        "nesting 20 deep",
        nested(&vc, 20).to_string(),
        "max_depth",
    )
    .await;
    let deep = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    assert_refused(&f, "nesting 20 000 deep", deep, "max_depth").await;

    // Proofs and values.
    assert_refused(&f, "5 proofs", proofs(&vc, 5).to_string(), "max_proofs").await;
    let mut many_proofs = proofs(&vc, 1);
    many_proofs["proof"] = Value::Array(vec![json!({}); 10_000]);
    assert_refused(&f, "10 000 proofs", many_proofs.to_string(), "max_proofs").await;
    let mut many_values = vc.clone();
    many_values["credentialSubject"]["list"] = json!(vec![1; 5000]);
    assert_refused(&f, "5000 values", many_values.to_string(), "max_values").await;

    // Several hostile verifications at once leave the genuine credential verifiable.
    let hostile = all_referencing(&vc, 9).to_string();
    let calls = flood(&f, &hostile, 16);
    assert_valid(&f, &vc).await;
    for r in calls {
        assert_eq!(r.await.unwrap().status, 422);
    }
    assert_valid(&f, &vc).await;
    // Still a 400, first, for what is not a credential at all.
    let mut not_vc = all_referencing(&vc, 8);
    not_vc.as_object_mut().unwrap().remove("proof");
    let (status, _, answer, _) = post(&f, not_vc.to_string()).await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saturated_verifier_answers_busy_with_retry_after() {
    // One verification at a time, and no waiting for a slot; configured in claimd.toml.
    let (_config, env) = config_env(
        "rate_limit_verify_ip_per_sec = 0\n[verify]\nconcurrency = 1\nqueue_wait_ms = 1\n",
    );
    let f = Fixture::with_env(Backend::Sqlite, env).await;
    let vc = genuine(&f).await;
    assert_valid(&f, &vc).await;

    let body = vc.to_string();
    let mut busy = 0;
    for _round in 0..5 {
        for c in flood(&f, &body, 24) {
            let Reply {
                status,
                retry_after: retry,
                json: answer,
            } = c.await.unwrap();
            match status {
                200 => assert_eq!(answer["valid"], true, "{answer}"),
                503 => {
                    busy += 1;
                    assert_eq!(retry.as_deref(), Some("1"), "{answer}");
                    assert_eq!(answer["error"], 503);
                    assert!(
                        answer["message"].as_str().unwrap().contains("busy"),
                        "{answer}"
                    );
                }
                other => panic!("unexpected {other}: {answer}"),
            }
        }
        if busy > 0 {
            break;
        }
    }
    assert!(
        busy > 0,
        "24 concurrent verifications on one slot: some must be busy"
    );
    // Once the burst is over, the slot is free again.
    assert_valid(&f, &vc).await;
}
