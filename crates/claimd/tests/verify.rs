//! Verification, black box: a credential issued over HTTP and published on the embedded chain
//! verifies (`POST /v1/credentials/verify` and `claimd verify`); tampered, it does not, and the
//! report names the check; once revoked (revoke-duplicate) and published, its revocation check
//! fails; bodies that are not credentials are 400, oversized ones 413 — on SQLite and
//! PostgreSQL.

mod common;

use claimd_auth::testing::{jwks, JwksServer, TestKey};
use common::{Backend, Server};
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

struct Fixture {
    server: Server,
    _jwks: JwksServer,
    http: reqwest::Client,
    key: TestKey,
    partner: String,
    issuer_did: String,
    program: String,
}

impl Fixture {
    async fn new(backend: Backend) -> Fixture {
        let server = Server::start(backend).await;
        let key = TestKey::es256("es-1");
        let jwks_server = JwksServer::start(jwks(&[&key])).await;
        let created = |args: &[&str], field: &str| -> String {
            server.admin_ok(args)[field].as_str().unwrap().to_owned()
        };
        let schema = created(
            &[
                "schema",
                "create",
                "--title",
                "Membership",
                "--type",
                "Membership",
                "--attr",
                "age:integer:required",
                "--attr",
                "name:string",
            ],
            "schemaId",
        );
        let partner = created(
            &[
                "partner",
                "create",
                "--name",
                "Acme",
                "--jwks-url",
                &jwks_server.url(),
                "--feature",
                "issue_on_behalf",
            ],
            "partnerId",
        );
        let issuer_did = created(
            &[
                "issuer",
                "create",
                "--partner-id",
                &partner,
                "--name",
                "Acme issuer",
            ],
            "issuerDid",
        );
        let program = created(
            &[
                "program",
                "create",
                "--issuer-did",
                &issuer_did,
                "--schema-id",
                &schema,
                "--name",
                "Members",
                "--expiration-days",
                "365",
            ],
            "credentialId",
        );
        Fixture {
            server,
            _jwks: jwks_server,
            http: reqwest::Client::new(),
            key,
            partner,
            issuer_did,
            program,
        }
    }

    fn url(&self) -> &str {
        &self.server.url
    }

    fn token(&self, email: &str) -> String {
        self.key.token(&self.partner, email).build()
    }

    async fn issue(&self, email: &str, age: u32) -> String {
        let r = self
            .http
            .post(format!("{}/v1/credentials/issue-on-behalf", self.url()))
            .header("x-partner-auth", self.token(email))
            .json(&json!({
                "issuerDid": self.issuer_did,
                "credentialId": self.program,
                "credentialSubject": {"age": age, "name": "Ada"},
                "onDuplicate": "revoke",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        body["coreClaimHash"].as_str().unwrap().to_owned()
    }

    /// Polls the status until it reads `want` (60 s at most).
    async fn wait_for(&self, email: &str, hash: &str, want: &str) {
        let start = Instant::now();
        loop {
            let st: Value = self
                .http
                .get(format!(
                    "{}/v1/credentials/status?coreClaimHash={hash}",
                    self.url()
                ))
                .header("x-partner-auth", self.token(email))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if st["vcStatus"] == want {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{hash} did not reach {want} within 60 s: {st}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The credential as its holder's partner fetches it.
    async fn credential(&self, email: &str, hash: &str) -> Value {
        let r = self
            .http
            .get(format!("{}/v1/credentials/{hash}", self.url()))
            .header("x-partner-auth", self.token(email))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    async fn verify_raw(&self, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/credentials/verify", self.url()))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A 200 report.
    async fn verify(&self, vc: &Value) -> Value {
        let (status, report) = self.verify_raw(vc.to_string()).await;
        assert_eq!(status, 200, "{report}");
        assert!(report["valid"].is_boolean(), "{report}");
        report
    }

    /// `claimd verify <file>`: exit code and stdout.
    fn cli(&self, file_content: &str, json_out: bool) -> (i32, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credential.json");
        std::fs::write(&path, file_content).unwrap();
        let mut cmd = Command::new(common::claimd_bin());
        cmd.arg("verify").arg(&path).args(["--url", self.url()]);
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

/// Valid, every check passing — except `mtp`, skipped exactly when the credential carries no
/// Merkle tree proof yet.
fn assert_valid(report: &Value, vc: &Value) {
    assert_eq!(report["valid"], true, "{report:#}");
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
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
    let has_mtp = vc["proof"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["type"] == "Iden3SparseMerkleTreeProof");
    for name in names {
        let want = if name == "mtp" && !has_mtp {
            "skipped"
        } else {
            "pass"
        };
        assert_eq!(status(report, name), want, "{name}: {report:#}");
    }
}

fn assert_fails(report: &Value, name: &str, why: &str) {
    assert_eq!(report["valid"], false, "{why}: {report:#}");
    assert_eq!(status(report, name), "fail", "{why}: {report:#}");
}

/// One change to a credential.
type Tamper = fn(&mut Value);

async fn verification(backend: Backend) {
    let f = Fixture::new(backend).await;
    let a1 = f.issue("alice@x.io", 20).await;
    f.wait_for("alice@x.io", &a1, "ONCHAIN").await;
    let vc = f.credential("alice@x.io", &a1).await;

    // Genuine: valid.
    let report = f.verify(&vc).await;
    assert_valid(&report, &vc);
    assert!(
        check(&report, "revocation")["detail"]
            .as_str()
            .unwrap()
            .contains("not in the revocation tree"),
        "{report:#}"
    );

    // Tampered: invalid, naming the check.
    let tampered: Vec<(&str, Tamper, &str)> = vec![
        (
            "subject value",
            |vc| vc["credentialSubject"]["age"] = json!(21),
            "core_claim",
        ),
        (
            "subject string",
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
        assert_fails(&f.verify(&bad).await, name, why);
    }
    // A schema context this server does not have: not fetched, not a 500.
    let mut unknown = vc.clone();
    unknown["@context"][2] = json!(format!(
        "{}/v1/schemas/{}.jsonld",
        f.url(),
        uuid::Uuid::new_v4()
    ));
    let report = f.verify(&unknown).await;
    assert_fails(&report, "core_claim", "unknown context");
    assert!(
        check(&report, "core_claim")["detail"]
            .as_str()
            .unwrap()
            .contains("unknown JSON-LD context"),
        "{report:#}"
    );

    // The CLI: exit 0 and a VALID verdict; --json prints the report.
    let (code, out, err) = f.cli(&vc.to_string(), false);
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
    let (code, out, _) = f.cli(&vc.to_string(), true);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        report_of(&f, &vc).await
    );

    // Revoke-duplicate: once the removal is on chain, the old credential is revoked.
    let a2 = f.issue("alice@x.io", 21).await;
    f.wait_for("alice@x.io", &a1, "REMOVE").await;
    f.wait_for("alice@x.io", &a2, "ONCHAIN").await;
    let report = f.verify(&vc).await;
    assert_fails(&report, "revocation", "revoked");
    let detail = check(&report, "revocation")["detail"].as_str().unwrap();
    assert!(detail.starts_with("revoked"), "{detail}");
    assert_eq!(status(&report, "core_claim"), "pass");
    assert_eq!(status(&report, "signature"), "pass");
    let vc2 = f.credential("alice@x.io", &a2).await;
    assert_valid(&f.verify(&vc2).await, &vc2);
    // ...and the CLI says so with exit status 1.
    let (code, out, err) = f.cli(&vc.to_string(), false);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.ends_with("NOT VALID\n"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("fail") && l.contains("revocation")),
        "{out}"
    );

    // Not credentials: 400 in the error shape; the CLI exits 2.
    for body in ["", "nope", "[]", "{}", "{\"proof\": []}", "null", "\"vc\""] {
        let (status, answer) = f.verify_raw(body.to_owned()).await;
        assert_eq!(status, 400, "{body:?}: {answer}");
        assert_eq!(answer["error"], 400, "{body:?}: {answer}");
        assert!(answer["message"].as_str().unwrap().len() > 5, "{answer}");
    }
    let mut no_proof = vc.clone();
    no_proof.as_object_mut().unwrap().remove("proof");
    let (status, answer) = f.verify_raw(no_proof.to_string()).await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["message"],
        "Not a verifiable credential: missing proof"
    );
    let (code, _, err) = f.cli("{\"not\": \"a credential\"}", false);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("400"), "{err}");

    // Over the body limit (64 KiB by default): 413.
    let mut huge = vc.clone();
    huge["credentialSubject"]["name"] = json!("x".repeat(70_000));
    let (status, answer) = f.verify_raw(huge.to_string()).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"], 413);
}

async fn report_of(f: &Fixture, vc: &Value) -> Value {
    f.verify(vc).await
}

#[tokio::test(flavor = "multi_thread")]
async fn verification_on_sqlite() {
    verification(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verification_on_postgres() {
    verification(Backend::Postgres).await;
}
