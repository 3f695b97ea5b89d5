//! A ready-to-issue server: one schema (`Membership`, `age: integer`), one partner whose
//! ES256 key is served as a JWKS over HTTP, one issuer and one program; plus the calls the
//! publishing tests make (issue, status, wait, document, public endpoints) and the Node
//! interop runner.

use super::{Backend, Server};
use claimd_auth::testing::{jwks, JwksServer, TestKey};
use claimd_iden3::Fr;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Fixture {
    pub server: Option<Server>,
    _jwks: JwksServer,
    pub http: reqwest::Client,
    key: TestKey,
    pub partner: String,
    pub issuer_did: String,
    pub program: String,
    pub schema: String,
}

impl Fixture {
    pub async fn new(backend: Backend) -> Fixture {
        Fixture::with_env(backend, Vec::new()).await
    }

    /// With extra environment for the server (kept across restarts).
    pub async fn with_env(backend: Backend, env: Vec<(String, String)>) -> Fixture {
        let server = Server::start_with(backend, env).await;
        let key = TestKey::es256("es-1");
        let jwks_server = JwksServer::start(jwks(&[&key])).await;
        let schema = server.admin_ok(&[
            "schema",
            "create",
            "--title",
            "Membership",
            "--type",
            "Membership",
            "--attr",
            "age:integer:required",
        ])["schemaId"]
            .as_str()
            .unwrap()
            .to_owned();
        let partner = server.admin_ok(&[
            "partner",
            "create",
            "--name",
            "Acme",
            "--jwks-url",
            &jwks_server.url(),
            "--feature",
            "issue_on_behalf",
        ])["partnerId"]
            .as_str()
            .unwrap()
            .to_owned();
        let issuer_did = server.admin_ok(&[
            "issuer",
            "create",
            "--partner-id",
            &partner,
            "--name",
            "Acme issuer",
        ])["issuerDid"]
            .as_str()
            .unwrap()
            .to_owned();
        let program = server.admin_ok(&[
            "program",
            "create",
            "--issuer-did",
            &issuer_did,
            "--schema-id",
            &schema,
            "--name",
            "Members",
        ])["credentialId"]
            .as_str()
            .unwrap()
            .to_owned();
        Fixture {
            server: Some(server),
            _jwks: jwks_server,
            // Fresh connections: see the black-box notes in tests/issue.rs.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            key,
            partner,
            issuer_did,
            program,
            schema,
        }
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    pub fn url(&self) -> &str {
        &self.server().url
    }

    pub fn token(&self, email: &str) -> String {
        self.key.token(&self.partner, email).build()
    }

    /// The partner's signing key (to mint tokens with other claims).
    pub fn key(&self) -> &TestKey {
        &self.key
    }

    /// How often the partner's JWKS was fetched.
    pub fn jwks_requests(&self) -> usize {
        self._jwks.requests()
    }

    /// Issues (`onDuplicate: revoke`) and returns the `coreClaimHash`.
    pub async fn issue(&self, email: &str, age: u32) -> String {
        self.issue_to(&self.issuer_did, &self.program, email, age)
            .await
    }

    /// Issues from another issuer and program of the same partner and schema.
    pub async fn issue_to(&self, issuer_did: &str, program: &str, email: &str, age: u32) -> String {
        let r = self
            .http
            .post(format!("{}/v1/credentials/issue-on-behalf", self.url()))
            .header("x-partner-auth", self.token(email))
            .json(&json!({
                "issuerDid": issuer_did,
                "credentialId": program,
                "credentialSubject": {"age": age},
                "onDuplicate": "revoke",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        body["coreClaimHash"].as_str().unwrap().to_owned()
    }

    pub async fn status(&self, email: &str, hash: &str) -> Value {
        let r = self
            .http
            .get(format!(
                "{}/v1/credentials/status?coreClaimHash={hash}",
                self.url()
            ))
            .header("x-partner-auth", self.token(email))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// The W3C VC with its proofs (`GET /v1/credentials/{hash}`).
    pub async fn document(&self, email: &str, hash: &str) -> Value {
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

    /// A public GET: (status, JSON body).
    pub async fn get_public(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url()))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Polls until the credential reads `want` (`limit` at most) and checks the chain facts.
    pub async fn wait_for_within(
        &self,
        email: &str,
        hash: &str,
        want: &str,
        limit: Duration,
    ) -> Value {
        let start = Instant::now();
        loop {
            let st = self.status(email, hash).await;
            if st["vcStatus"] == want {
                let tx = st["txHash"].as_str().unwrap();
                assert!(tx.starts_with("0x") && tx.len() == 66, "{st}");
                st["blockNumber"].as_str().unwrap().parse::<u64>().unwrap();
                Fr::from_le_hex(st["identityState"].as_str().unwrap()).unwrap();
                return st;
            }
            assert!(
                start.elapsed() < limit,
                "{hash} did not reach {want} within {limit:?}: {st}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn wait_for(&self, email: &str, hash: &str, want: &str) -> Value {
        self.wait_for_within(email, hash, want, Duration::from_secs(60))
            .await
    }

    /// A second issuer of the fixture's partner and a program of it on the same schema:
    /// `(issuer DID, Ethereum address, program id)`.
    pub fn another_issuer(&self, name: &str) -> (String, String, String) {
        let issuer = self.server().admin_ok(&[
            "issuer",
            "create",
            "--partner-id",
            &self.partner,
            "--name",
            name,
        ]);
        let did = issuer["issuerDid"].as_str().unwrap().to_owned();
        let program = self.server().admin_ok(&[
            "program",
            "create",
            "--issuer-did",
            &did,
            "--schema-id",
            &self.schema,
            "--name",
            name,
        ])["credentialId"]
            .as_str()
            .unwrap()
            .to_owned();
        (
            did,
            issuer["ethAddress"].as_str().unwrap().to_owned(),
            program,
        )
    }

    /// SIGKILL and restart on the same data, database and environment.
    pub fn restart(&mut self) {
        let server = self.server.take().unwrap();
        self.server = Some(server.restart());
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `interop/credentials/check.mjs` (the @iden3 / js-sdk oracle) on `input` and returns
/// its report, after checking that its exit status agrees with it. Fails (never skips) when
/// Node or the npm packages are missing.
pub fn node_check(input: &Value) -> Value {
    let modules = repo_root().join("interop/node_modules/@0xpolygonid/js-sdk");
    assert!(
        modules.exists(),
        "{} is missing: run scripts/setup-test-deps",
        modules.display()
    );
    let mut child = Command::new("node")
        .arg(repo_root().join("interop/credentials/check.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run `node`: install Node.js (>= 18) to run the interop tests");
    let mut stdin = child.stdin.take().unwrap();
    let body = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(body.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check.mjs printed no report ({e}); exit {:?}; stderr:\n{stderr}",
            out.status.code()
        )
    });
    let all_ok = report["ok"].as_bool().expect("report.ok");
    assert_eq!(
        out.status.code(),
        Some(if all_ok { 0 } else { 1 }),
        "check.mjs exit status disagrees with its report; stderr:\n{stderr}"
    );
    report
}
