//! Verification, black box: a credential issued over HTTP and published verifies
//! (`POST /v1/credentials/verify` and `claimd verify`), every check passing; tampered, it does
//! not, and the report names the check; once revoked (revoke-duplicate) and published, its
//! revocation check fails; bodies that are not credentials are 400, oversized ones 413 — on
//! SQLite and PostgreSQL with the embedded chain, and on anvil over JSON-RPC.

mod common;

use claimd_chain::testing::Anvil;
use common::fixture::Fixture;
use common::Backend;
use serde_json::{json, Value};
use std::process::Command;

/// `POST /v1/credentials/verify` with any body: (status, JSON answer).
async fn verify_raw(f: &Fixture, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let reply = f.verify_raw(body).await;
    (reply.status, reply.json)
}

/// A 200 report.
async fn verify(f: &Fixture, vc: &Value) -> Value {
    let (status, report) = verify_raw(f, vc.to_string()).await;
    assert_eq!(status, 200, "{report}");
    assert!(report["valid"].is_boolean(), "{report}");
    report
}

/// `claimd verify <file> [--json]`: exit code, stdout, stderr.
fn cli(f: &Fixture, file_content: &str, json_out: bool) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credential.json");
    std::fs::write(&path, file_content).unwrap();
    let mut cmd = Command::new(common::claimd_bin());
    cmd.arg("verify").arg(&path).args(["--url", f.url()]);
    if json_out {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report}"))
}

fn status<'a>(report: &'a Value, name: &str) -> &'a str {
    check(report, name)["status"].as_str().unwrap()
}

/// Valid, every check passing: after `ONCHAIN` the credential carries its Merkle tree proof
/// too, so nothing is skipped.
/// The string `field` of every element of the array `list`.
fn each<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    let items = list.as_array().unwrap().iter();
    items.map(|item| item[field].as_str().unwrap()).collect()
}

/// The detail of `report`'s check `name` mentions `needle`.
fn assert_detail(report: &Value, name: &str, needle: &str) {
    let detail = check(report, name)["detail"].as_str().unwrap();
    assert!(detail.contains(needle), "{report:#}");
}

fn assert_valid(report: &Value, vc: &Value) {
    assert_eq!(report["valid"], true, "{report:#}");
    let names = each(&report["checks"], "name");
    assert_eq!(
        names,
        [
            "core_claim",
            "signature",
            "issuer_state",
            "mtp",
            "revocation",
            "expiration",
            "issuer_record"
        ]
    );
    let types = each(&vc["proof"], "type");
    assert_eq!(types, ["BJJSignature2021", "Iden3SparseMerkleTreeProof"]);
    for name in names {
        assert_eq!(status(report, name), "pass", "{name}: {report:#}");
    }
}

fn assert_fails(report: &Value, name: &str, why: &str) {
    assert_eq!(report["valid"], false, "{why}: {report:#}");
    assert_eq!(status(report, name), "fail", "{why}: {report:#}");
}

/// One change to a credential.
type Tamper = fn(&mut Value);

async fn verification(f: Fixture) {
    let a1 = f.issue("alice@x.io", 20).await;
    f.wait_for("alice@x.io", &a1, "ONCHAIN").await;
    let vc = f.document("alice@x.io", &a1).await;

    // Genuine: valid.
    let report = verify(&f, &vc).await;
    assert_valid(&report, &vc);
    assert_detail(&report, "revocation", "not in the revocation tree");

    // The OpenAPI document describes the operation and names exactly these checks.
    let (code, openapi) = f.get_public("/openapi.json").await;
    assert_eq!(code, 200);
    let op = &openapi["paths"]["/credentials/verify"]["post"];
    assert_eq!(op["security"], json!([]), "public: {op}");
    for code in ["200", "400", "413", "422", "429", "503"] {
        assert!(op["responses"][code].is_object(), "{code}: {op}");
    }
    let names: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    let documented =
        &openapi["components"]["schemas"]["VerificationCheck"]["properties"]["name"]["enum"];
    assert_eq!(
        documented.as_array().unwrap().iter().collect::<Vec<_>>(),
        names
    );

    // Tampered: invalid, naming the check.
    let tampered: Vec<(&str, Tamper, &str)> = vec![
        (
            "subject value",
            |vc| vc["credentialSubject"]["age"] = json!(21),
            "core_claim",
        ),
        (
            "attribute added",
            |vc| vc["credentialSubject"]["name"] = json!("Eve"),
            "core_claim",
        ),
        (
            "issuance date",
            |vc| vc["issuanceDate"] = json!("2020-01-01T00:00:00.000Z"),
            "core_claim",
        ),
        (
            "nonce",
            |vc| {
                let n = vc["credentialStatus"]["revocationNonce"].as_u64().unwrap();
                vc["credentialStatus"]["revocationNonce"] = json!(n ^ 1)
            },
            "core_claim",
        ),
        (
            "signature",
            |vc| {
                let s = vc["proof"][0]["signature"].as_str().unwrap().to_owned();
                let flipped = if s.starts_with('0') { "1" } else { "0" };
                vc["proof"][0]["signature"] = json!(format!("{flipped}{}", &s[1..]))
            },
            "signature",
        ),
        (
            "mtp siblings",
            |vc| vc["proof"][1]["mtp"]["siblings"][0] = json!("1"),
            "mtp",
        ),
        (
            "mtp block",
            |vc| {
                let b = vc["proof"][1]["issuerData"]["state"]["blockNumber"]
                    .as_u64()
                    .unwrap();
                vc["proof"][1]["issuerData"]["state"]["blockNumber"] = json!(b + 1)
            },
            "mtp",
        ),
        (
            "credential id",
            |vc| vc["id"] = json!("urn:00000000-0000-4000-8000-000000000000"),
            "issuer_record",
        ),
        (
            "signature state",
            |vc| vc["proof"][0]["issuerData"]["state"]["value"] = json!(format!("{:064x}", 7)),
            "signature",
        ),
    ];
    for (why, tamper, name) in tampered {
        let mut bad = vc.clone();
        tamper(&mut bad);
        assert_fails(&verify(&f, &bad).await, name, why);
    }
    // A schema context this server does not have: not fetched, not a 500.
    let mut unknown = vc.clone();
    unknown["@context"][2] = json!(format!(
        "{}/v1/schemas/{}.jsonld",
        f.url(),
        uuid::Uuid::new_v4()
    ));
    let report = verify(&f, &unknown).await;
    assert_fails(&report, "core_claim", "unknown context");
    assert_detail(&report, "core_claim", "unknown JSON-LD context");

    // The CLI: exit 0 and a VALID verdict; --json prints the report.
    let (code, out, err) = cli(&f, &vc.to_string(), false);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.ends_with("VALID\n") && !out.contains("NOT VALID"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("pass") && l.contains("signature")),
        "{out}"
    );
    let (code, out, _) = cli(&f, &vc.to_string(), true);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        verify(&f, &vc).await
    );

    // Revoke-duplicate: once the removal is on chain, the old credential is revoked.
    let a2 = f.issue("alice@x.io", 21).await;
    f.wait_for("alice@x.io", &a1, "REMOVE").await;
    f.wait_for("alice@x.io", &a2, "ONCHAIN").await;
    let report = verify(&f, &vc).await;
    assert_fails(&report, "revocation", "revoked");
    let detail = check(&report, "revocation")["detail"].as_str().unwrap();
    assert!(detail.starts_with("revoked"), "{detail}");
    assert_eq!(status(&report, "core_claim"), "pass");
    assert_eq!(status(&report, "signature"), "pass");
    let vc2 = f.document("alice@x.io", &a2).await;
    assert_valid(&verify(&f, &vc2).await, &vc2);
    // ...and the CLI says so with exit status 1.
    let (code, out, err) = cli(&f, &vc.to_string(), false);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.ends_with("NOT VALID\n"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("fail") && l.contains("revocation")),
        "{out}"
    );

    // Not credentials: 400 in the error shape; the CLI exits 2.
    for body in ["", "nope", "[]", "{}", "{\"proof\": []}", "null", "\"vc\""] {
        let (status, answer) = verify_raw(&f, body.to_owned()).await;
        assert_eq!(status, 400, "{body:?}: {answer}");
        assert_eq!(answer["error"], 400, "{body:?}: {answer}");
        assert!(answer["message"].as_str().unwrap().len() > 5, "{answer}");
    }
    let mut no_proof = vc.clone();
    no_proof.as_object_mut().unwrap().remove("proof");
    let (status, answer) = verify_raw(&f, no_proof.to_string()).await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["message"],
        "Not a verifiable credential: missing proof"
    );
    let (code, _, err) = cli(&f, "{\"not\": \"a credential\"}", false);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("400"), "{err}");

    // Over the body limit (64 KiB by default): 413.
    let mut huge = vc.clone();
    huge["credentialSubject"]["name"] = json!("x".repeat(70_000));
    let (status, answer) = verify_raw(&f, huge.to_string()).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"], 413);
}

#[tokio::test(flavor = "multi_thread")]
async fn verification_on_sqlite() {
    verification(Fixture::new(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verification_on_postgres() {
    verification(Fixture::new(Backend::Postgres).await).await;
}

/// Over JSON-RPC: anvil (a block a second, finalized two blocks behind its head, one
/// confirmation), contract deployed by `serve --dev`; the verifier reads the same contract the
/// publisher writes.
#[tokio::test(flavor = "multi_thread")]
async fn verification_on_anvil() {
    let anvil = tokio::task::spawn_blocking(|| {
        Anvil::start_with(&["--block-time", "1", "--slots-in-an-epoch", "1"])
    })
    .await
    .unwrap();
    let env = vec![("CLAIMD_CHAIN_RPC_URL".to_owned(), anvil.url.clone())];
    verification(Fixture::with_env(Backend::Sqlite, env).await).await;
}
