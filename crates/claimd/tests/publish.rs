//! Publishing, black box: credentials issued over HTTP reach `ONCHAIN` on the embedded chain,
//! a revoked one reaches `REMOVE`, a restart (SIGKILL) loses and repeats nothing, and the
//! issuer's state on chain is the one the credentials report — on SQLite and PostgreSQL.

mod common;

use alloy_primitives::U256;
use claimd_auth::testing::{jwks, JwksServer, TestKey};
use claimd_chain::{EmbeddedChain, EmbeddedConfig, StateContract};
use claimd_iden3::id::Id;
use claimd_iden3::Fr;
use common::{Backend, Server};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Fixture {
    server: Option<Server>,
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
            http: reqwest::Client::new(),
            key,
            partner,
            issuer_did,
            program,
        }
    }

    fn url(&self) -> &str {
        &self.server.as_ref().unwrap().url
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

    async fn status(&self, email: &str, hash: &str) -> Value {
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

    /// Polls until the credential reads `want` (60 s at most) and checks the chain facts.
    async fn wait_for(&self, email: &str, hash: &str, want: &str) -> Value {
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
                start.elapsed() < Duration::from_secs(60),
                "{hash} did not reach {want} within 60 s: {st}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn restart(&mut self) {
        let (tmp, dir, pg) = self.server.take().unwrap().stop();
        self.server = Some(Server::start_in(tmp, dir, pg));
    }

    /// The issuer's latest state on the embedded chain (the server must be stopped: the chain
    /// is locked by its process while it runs).
    async fn state_on_chain(&self, data_dir: &std::path::Path) -> U256 {
        let config = EmbeddedConfig {
            chain_id: 222_888,
            ..EmbeddedConfig::default()
        };
        let chain = EmbeddedChain::open(data_dir.join("chain"), config).unwrap();
        let contract = StateContract::new(Arc::new(chain.clone()), chain.contract_address());
        let id = Id::from_base58(self.issuer_did.rsplit(':').next().unwrap()).unwrap();
        let info = contract
            .state_info(U256::from_le_slice(id.as_bytes()))
            .await
            .unwrap()
            .expect("the issuer has a state on chain");
        info.state
    }
}

fn state_of(status: &Value) -> U256 {
    let fr = Fr::from_le_hex(status["identityState"].as_str().unwrap()).unwrap();
    U256::from_be_bytes(fr.to_be_bytes())
}

async fn publishing(backend: Backend) {
    let mut f = Fixture::new(backend).await;

    let a1 = f.issue("alice@x.io", 20).await;
    let b1 = f.issue("bob@x.io", 30).await;
    let a1_on = f.wait_for("alice@x.io", &a1, "ONCHAIN").await;
    let b1_on = f.wait_for("bob@x.io", &b1, "ONCHAIN").await;

    // Alice again, revoke-duplicate: the old one is removed, the new one published.
    let a2 = f.issue("alice@x.io", 21).await;
    let a1_removed = f.wait_for("alice@x.io", &a1, "REMOVE").await;
    let a2_on = f.wait_for("alice@x.io", &a2, "ONCHAIN").await;
    let b1_block: u64 = b1_on["blockNumber"].as_str().unwrap().parse().unwrap();
    let removed_block: u64 = a1_removed["blockNumber"].as_str().unwrap().parse().unwrap();
    assert!(removed_block > b1_block || a1_on["blockNumber"] == b1_on["blockNumber"]);

    // Kill right after an issuance, restart on the same data dir: it still gets published,
    // and nothing published before changes.
    let c1 = f.issue("carol@x.io", 40).await;
    f.restart();
    let c1_on = f.wait_for("carol@x.io", &c1, "ONCHAIN").await;
    assert_eq!(f.status("alice@x.io", &a1).await, a1_removed);
    assert_eq!(f.status("alice@x.io", &a2).await, a2_on);
    assert_eq!(f.status("bob@x.io", &b1).await, b1_on);

    // The chain holds exactly the latest state the credentials report.
    let (tmp, dir, pg) = f.server.take().unwrap().stop();
    assert_eq!(f.state_on_chain(&dir).await, state_of(&c1_on));
    f.server = Some(Server::start_in(tmp, dir, pg));
    assert_eq!(f.status("carol@x.io", &c1).await, c1_on);
}

#[tokio::test(flavor = "multi_thread")]
async fn publishing_on_sqlite() {
    publishing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn publishing_on_postgres() {
    publishing(Backend::Postgres).await;
}
