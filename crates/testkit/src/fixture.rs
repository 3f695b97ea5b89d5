//! The one set of test data: a schema, one partner whose ES256 and RS256 keys are served as a
//! JWKS over loopback HTTP, one issuer and one program — on the real binary ([`Fixture`]) —
//! plus the calls tests make (issue, status, wait, document, public endpoints) and the Node
//! interop runner ([`node_check`]).

use crate::db::Backend;
use crate::server::{Binary, Server};
use claimd_auth::testing::{jwks, JwksServer, TestKey};
use claimd_iden3::Fr;
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The schema a fixture creates: `--attr` arguments of `claimd admin schema create`.
#[derive(Debug, Clone)]
pub struct SchemaSpec {
    pub title: &'static str,
    pub type_name: &'static str,
    pub attrs: &'static [&'static str],
}

impl SchemaSpec {
    /// `Membership`, one required integer `age`: what most tests need.
    pub const MEMBERSHIP: SchemaSpec = SchemaSpec {
        title: "Membership",
        type_name: "Membership",
        attrs: &["age:integer:required"],
    };
    /// `InteropMembership`: an integer, a string and a boolean.
    pub const INTEROP_MEMBERSHIP: SchemaSpec = SchemaSpec {
        title: "Interop membership",
        type_name: "InteropMembership",
        attrs: &[
            "age:integer:required",
            "location:string:required",
            "isMember:boolean:required",
        ],
    };
}

/// What a [`Fixture`] sets up.
#[derive(Debug, Clone)]
pub struct Setup {
    pub backend: Backend,
    /// Extra environment of the server (kept across restarts).
    pub env: Vec<(String, String)>,
    pub schema: SchemaSpec,
    /// The program's `--expiration-days`, if any.
    pub expiration_days: Option<u32>,
}

impl Setup {
    pub fn new(backend: Backend) -> Setup {
        Setup {
            backend,
            env: Vec::new(),
            schema: SchemaSpec::MEMBERSHIP,
            expiration_days: None,
        }
    }
}

/// A ready-to-issue server.
pub struct Fixture<B: Binary> {
    pub server: Option<Server<B>>,
    jwks: JwksServer,
    pub http: reqwest::Client,
    /// The partner's ES256 key (tokens of [`Fixture::token`]).
    pub es: TestKey,
    /// The partner's RS256 key, in the same JWKS.
    pub rs: TestKey,
    pub partner: String,
    pub issuer_did: String,
    pub program: String,
    pub schema: String,
}

impl<B: Binary> Fixture<B> {
    pub async fn new(backend: Backend) -> Self {
        Self::setup(Setup::new(backend)).await
    }

    /// With extra environment for the server (kept across restarts).
    pub async fn with_env(backend: Backend, env: Vec<(String, String)>) -> Self {
        Self::setup(Setup {
            env,
            ..Setup::new(backend)
        })
        .await
    }

    pub async fn setup(setup: Setup) -> Self {
        let server = Server::<B>::start_with(setup.backend, setup.env).await;
        let es = TestKey::es256("es-1");
        let rs = TestKey::rs256("rs-1");
        let jwks_server = JwksServer::start(jwks(&[&es, &rs])).await;
        let days = setup.expiration_days.map(|d| d.to_string());
        let mut program_args = Vec::new();
        if let Some(days) = &days {
            program_args.extend(["--expiration-days", days.as_str()]);
        }
        let Provisioned {
            schema,
            partner,
            issuer_did,
            program,
        } = provision(&server, &jwks_server.url(), &setup.schema, &program_args);
        Fixture {
            server: Some(server),
            jwks: jwks_server,
            // Fresh connections: after a 413 the server closes the connection without reading
            // the body, and a pooled connection could be reused just as it closes.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            es,
            rs,
            partner,
            issuer_did,
            program,
            schema,
        }
    }

    pub fn server(&self) -> &Server<B> {
        self.server.as_ref().unwrap()
    }

    pub fn url(&self) -> &str {
        &self.server().url
    }

    /// A valid ES256 token of the partner for `email`.
    pub fn token(&self, email: &str) -> String {
        self.es.token(&self.partner, email).build()
    }

    /// The partner's signing key (to mint tokens with other claims).
    pub fn key(&self) -> &TestKey {
        &self.es
    }

    /// How often the partner's JWKS was fetched.
    pub fn jwks_requests(&self) -> usize {
        self.jwks.requests()
    }

    /// An issue-on-behalf body for the fixture's issuer and program.
    pub fn body(&self, subject: Value) -> Value {
        json!({"issuerDid": self.issuer_did, "credentialId": self.program, "credentialSubject": subject})
    }

    /// `POST /v1/credentials/issue-on-behalf` with any token, body and idempotency key:
    /// (status, JSON body or null).
    pub async fn issue_raw(
        &self,
        token: Option<&str>,
        body: &Value,
        idem: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/v1/credentials/issue-on-behalf", self.url()))
            .json(body);
        if let Some(t) = token {
            req = req.header("x-partner-auth", t);
        }
        if let Some(k) = idem {
            req = req.header("idempotency-key", k);
        }
        answer(req).await
    }

    /// Issues `subject` to `email` with the fixture's program: (status, body).
    pub async fn issue_with(&self, email: &str, subject: Value) -> (u16, Value) {
        self.issue_raw(Some(&self.token(email)), &self.body(subject), None)
            .await
    }

    /// Issues (`onDuplicate: revoke`) and returns the `coreClaimHash`.
    pub async fn issue(&self, email: &str, age: u32) -> String {
        self.issue_to(&self.issuer_did, &self.program, email, age)
            .await
    }

    /// Issues from another issuer and program of the same partner and schema.
    pub async fn issue_to(&self, issuer_did: &str, program: &str, email: &str, age: u32) -> String {
        let body = json!({
            "issuerDid": issuer_did,
            "credentialId": program,
            "credentialSubject": {"age": age},
            "onDuplicate": "revoke",
        });
        let (status, body) = self.issue_raw(Some(&self.token(email)), &body, None).await;
        assert_eq!(status, 200, "{body}");
        body["coreClaimHash"].as_str().unwrap().to_owned()
    }

    /// A GET with the partner token `token`: (status, JSON body or null).
    pub async fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        answer(
            self.http
                .get(format!("{}{path}", self.url()))
                .header("x-partner-auth", token),
        )
        .await
    }

    /// `GET /v1/credentials/status` with any token: (status, body).
    pub async fn status_raw(&self, token: &str, hash: &str) -> (u16, Value) {
        self.get_as(
            token,
            &format!("/v1/credentials/status?coreClaimHash={hash}"),
        )
        .await
    }

    /// The status as `email`'s partner token sees it; must be a 200.
    pub async fn status(&self, email: &str, hash: &str) -> Value {
        let (status, body) = self.status_raw(&self.token(email), hash).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The W3C VC with its proofs (`GET /v1/credentials/{hash}`); must be a 200.
    pub async fn document(&self, email: &str, hash: &str) -> Value {
        let (status, body) = self
            .get_as(&self.token(email), &format!("/v1/credentials/{hash}"))
            .await;
        assert_eq!(status, 200, "GET /v1/credentials/{hash}: {body}");
        body
    }

    /// `POST /v1/credentials/verify` with any body: its answer (status, `Retry-After`, JSON).
    pub async fn verify_raw(&self, body: impl Into<reqwest::Body>) -> Reply {
        post_json_body(
            &self.http,
            &format!("{}/v1/credentials/verify", self.url()),
            body,
        )
        .await
    }

    /// A public GET: (status, JSON body or null).
    pub async fn get_public(&self, path: &str) -> (u16, Value) {
        answer(self.http.get(format!("{}{path}", self.url()))).await
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
            // A real process publishing on a real chain: its clock is the system's.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn wait_for(&self, email: &str, hash: &str, want: &str) -> Value {
        self.wait_for_within(email, hash, want, Duration::from_secs(60))
            .await
    }

    /// A program of `issuer_did` on the fixture's schema, with `claimd admin program create`'s
    /// `extra` arguments; its id.
    pub fn create_program(&self, issuer_did: &str, name: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "program",
            "create",
            "--issuer-did",
            issuer_did,
            "--schema-id",
            &self.schema,
            "--name",
            name,
        ];
        args.extend_from_slice(extra);
        self.server().create(&args, "credentialId")
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
        let program = self.create_program(&did, name, &[]);
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

    /// SIGKILL and restart with one environment variable set (or replaced), e.g. to run the
    /// same data without the publisher and then with it.
    pub fn restart_with(&mut self, name: &str, value: &str) {
        let mut server = self.server.take().unwrap();
        server.env.retain(|(k, _)| k != name);
        server.env.push((name.to_owned(), value.to_owned()));
        self.server = Some(server.restart());
    }
}

/// The records of a [`Fixture`], as [`provision`] creates them: the ids of the schema, the
/// partner, its issuer and the program.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub schema: String,
    pub partner: String,
    pub issuer_did: String,
    pub program: String,
}

/// `claimd admin partner create`: a partner `name` with `issue_on_behalf`, whose keys are
/// served at `jwks_url`; its id.
pub fn create_partner<B: Binary>(server: &Server<B>, name: &str, jwks_url: &str) -> String {
    server.create(
        &[
            "partner",
            "create",
            "--name",
            name,
            "--jwks-url",
            jwks_url,
            "--feature",
            "issue_on_behalf",
        ],
        "partnerId",
    )
}

/// A fixture's records on `server`, through the CLI: the schema `schema`, the partner `Acme`
/// (keys at `jwks_url`), its issuer `Acme issuer` and the program `Members` of both, created
/// with `program_args` (more `claimd admin program create` arguments).
pub fn provision<B: Binary>(
    server: &Server<B>,
    jwks_url: &str,
    schema: &SchemaSpec,
    program_args: &[&str],
) -> Provisioned {
    let mut schema_args = vec![
        "schema",
        "create",
        "--title",
        schema.title,
        "--type",
        schema.type_name,
    ];
    for attr in schema.attrs {
        schema_args.extend(["--attr", attr]);
    }
    let schema = server.create(&schema_args, "schemaId");
    let partner = create_partner(server, "Acme", jwks_url);
    let issuer_did = server.create(
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
    let mut args = vec![
        "program",
        "create",
        "--issuer-did",
        &issuer_did,
        "--schema-id",
        &schema,
        "--name",
        "Members",
    ];
    args.extend_from_slice(program_args);
    let program = server.create(&args, "credentialId");
    Provisioned {
        schema,
        partner,
        issuer_did,
        program,
    }
}

/// An answer: status, `Retry-After` and the JSON body (null when it is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub json: Value,
}

/// POSTs `body` as JSON text to `url` (a free function so that spawned tasks can call it).
pub async fn post_json_body(
    http: &reqwest::Client,
    url: &str,
    body: impl Into<reqwest::Body>,
) -> Reply {
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    Reply {
        status,
        retry_after,
        json: r.json().await.unwrap_or(Value::Null),
    }
}

/// Sends `req`: (status, JSON body or null).
async fn answer(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Runs `interop/credentials/check.mjs` (the @iden3 / js-sdk oracle) on `input` and returns
/// its report, after checking that its exit status agrees with it. Fails (never skips) when
/// Node or the npm packages are missing.
pub fn node_check(input: &Value) -> Value {
    let root = crate::repo_root();
    let modules = root.join("interop/node_modules/@0xpolygonid/js-sdk");
    assert!(
        modules.exists(),
        "{} is missing: run scripts/setup-test-deps",
        modules.display()
    );
    let mut child = Command::new("node")
        .arg(root.join("interop/credentials/check.mjs"))
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
