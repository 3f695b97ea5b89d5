//! Publishing, black box, on the embedded chain: credentials issued over HTTP reach `ONCHAIN`,
//! a revoked one (duplicate or by the operator) reaches `REMOVE`, a restart (SIGKILL) loses
//! and repeats nothing, documents gain an `Iden3SparseMerkleTreeProof` that verifies against
//! the state on chain, and the public revocation status and issuer state agree with the chain
//! — on SQLite and PostgreSQL, and on anvil over JSON-RPC (contract deployed by `serve --dev`,
//! the iden3 reference stack reading the states from the contract).

mod common;

use alloy_primitives::U256;
use claimd_chain::testing::Anvil;
use claimd_chain::{Chain, EmbeddedChain, EmbeddedConfig, StateContract};
use claimd_iden3::claim::Claim;
use claimd_iden3::id::{identity_state, Id};
use claimd_iden3::merkletree::Proof;
use claimd_iden3::Fr;
use common::fixture::{node_check, Fixture};
use common::{Backend, Server};
use serde_json::{json, Value};
use std::sync::Arc;

/// Where the server publishes.
enum OnChain {
    Embedded,
    Anvil(Anvil),
}

impl OnChain {
    fn env(&self) -> Vec<(String, String)> {
        match self {
            OnChain::Embedded => vec![],
            OnChain::Anvil(a) => vec![("CLAIMD_CHAIN_RPC_URL".into(), a.url.clone())],
        }
    }
}

/// anvil runs as the chain of `did:air:id:test` (222888), as Moca testnet would: iden3 tools
/// pick the chain to read an issuer's state from by the chain id its DID names.
const DID_CHAIN_ID: u64 = 222_888;

/// The State contract the server publishes to. Dev mode on anvil deploys it and keeps its
/// address in the data dir.
fn anvil_contract(f: &Fixture, anvil: &Anvil) -> StateContract {
    let file = f
        .server()
        .data_dir
        .join(format!("chain-contract-{DID_CHAIN_ID}"));
    let address = std::fs::read_to_string(&file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    StateContract::new(Arc::new(anvil.chain()), address)
}

/// The issuer's latest state on chain, and whether each of `states` is recorded. The embedded
/// chain is locked by the server's process, so the server is stopped to read it and started
/// again.
async fn chain_states(f: &mut Fixture, on: &OnChain, states: &[Fr]) -> (U256, Vec<bool>) {
    match on {
        OnChain::Anvil(anvil) => {
            let contract = anvil_contract(f, anvil);
            read_states(&contract, &f.issuer_did, states).await
        }
        OnChain::Embedded => {
            let env = f.server().env.clone();
            let (tmp, dir, pg) = f.server.take().unwrap().stop();
            let config = EmbeddedConfig {
                chain_id: 222_888,
                ..EmbeddedConfig::default()
            };
            let chain = EmbeddedChain::open(dir.join("chain"), config).unwrap();
            let contract = StateContract::new(Arc::new(chain.clone()), chain.contract_address());
            let found = read_states(&contract, &f.issuer_did, states).await;
            drop((contract, chain));
            f.server = Some(Server::start_in_with(tmp, dir, pg, env));
            found
        }
    }
}

async fn read_states(
    contract: &StateContract,
    issuer_did: &str,
    states: &[Fr],
) -> (U256, Vec<bool>) {
    let id = issuer_id(issuer_did);
    let latest = contract
        .state_info(id)
        .await
        .unwrap()
        .expect("the issuer has a state on chain")
        .state;
    let mut known = Vec::new();
    for s in states {
        known.push(
            contract
                .state_info_by_state(id, u256(*s))
                .await
                .unwrap()
                .is_some(),
        );
    }
    (latest, known)
}

pub fn issuer_id(did: &str) -> U256 {
    let id = Id::from_base58(did.rsplit(':').next().unwrap()).unwrap();
    U256::from_le_slice(id.as_bytes())
}

fn u256(f: Fr) -> U256 {
    U256::from_be_bytes(f.to_be_bytes())
}

fn state_of(status: &Value) -> Fr {
    Fr::from_le_hex(status["identityState"].as_str().unwrap()).unwrap()
}

fn hex_fr(v: &Value) -> Fr {
    Fr::from_le_hex(v.as_str().unwrap()).unwrap()
}

/// Checks a document's `Iden3SparseMerkleTreeProof` with claimd-iden3: the claim's MTP leads
/// to the claims root, the roots hash to the state. Returns the state.
fn check_mtp(doc: &Value, status: &Value) -> Fr {
    let proofs = doc["proof"].as_array().unwrap();
    assert_eq!(proofs[0]["type"], "BJJSignature2021");
    let mtp = proofs
        .iter()
        .find(|p| p["type"] == "Iden3SparseMerkleTreeProof")
        .unwrap_or_else(|| panic!("no MTP proof in {doc}"));
    let st = &mtp["issuerData"]["state"];
    let roots = [
        hex_fr(&st["claimsTreeRoot"]),
        hex_fr(&st["revocationTreeRoot"]),
        hex_fr(&st["rootOfRoots"]),
    ];
    let state = hex_fr(&st["value"]);
    assert_eq!(identity_state(roots[0], roots[1], roots[2]), state);
    assert_eq!(mtp["coreClaim"], proofs[0]["coreClaim"]);
    assert_eq!(mtp["issuerData"]["id"], doc["issuer"]);
    let claim = Claim::from_hex(mtp["coreClaim"].as_str().unwrap()).unwrap();
    let (hi, hv) = claim.hi_hv();
    let proof: Proof = serde_json::from_value(mtp["mtp"].clone()).unwrap();
    assert!(proof.existence && proof.verify(roots[0], hi, hv), "{mtp}");
    // The chain facts are those of the transition that published the claim.
    assert_eq!(st["txId"], status["txHash"]);
    assert_eq!(
        st["blockNumber"].as_u64().unwrap().to_string(),
        status["blockNumber"].as_str().unwrap()
    );
    assert!(st["blockTimestamp"].as_u64().unwrap() > 1_600_000_000);
    state
}

async fn publishing(backend: Backend, on: OnChain) {
    let mut f = Fixture::with_env(backend, on.env()).await;

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

    // Documents carry the MTP at the state that published them.
    let mut mtp_states = Vec::new();
    for (email, hash, st) in [
        ("alice@x.io", &a1, &a1_on),
        ("alice@x.io", &a2, &a2_on),
        ("bob@x.io", &b1, &b1_on),
        ("carol@x.io", &c1, &c1_on),
    ] {
        let doc = f.document(email, hash).await;
        mtp_states.push(check_mtp(&doc, st));
    }
    assert_eq!(mtp_states[3], state_of(&c1_on));

    // The operator revokes Bob's: WAIT_REMOVE at once, then REMOVE; the document keeps its
    // MTP (the claim was published); revoking again changes nothing; unknown → 404.
    let revoked = f.server().admin_ok(&["credential", "revoke", &b1]);
    assert_eq!(revoked["vcStatus"], "WAIT_REMOVE");
    let b1_removed = f.wait_for("bob@x.io", &b1, "REMOVE").await;
    assert_eq!(
        f.server().admin_ok(&["credential", "revoke", &b1])["vcStatus"],
        "REMOVE"
    );
    let (ok, _, err) = f
        .server()
        .admin(&["credential", "revoke", &"ab".repeat(32)]);
    assert!(!ok && err.contains("404"), "{err}");

    // Public issuer state = the latest state every credential reports.
    let (code, state) = f
        .get_public(&format!("/v1/issuers/{}/state", f.issuer_did))
        .await;
    assert_eq!(code, 200, "{state}");
    let latest = state_of(&b1_removed);
    assert_eq!(hex_fr(&state["state"]), latest);
    assert_eq!(state["txHash"], b1_removed["txHash"]);
    assert_eq!(
        state["blockNumber"].as_u64().unwrap().to_string(),
        b1_removed["blockNumber"].as_str().unwrap()
    );
    assert_eq!(
        identity_state(
            hex_fr(&state["claimsTreeRoot"]),
            hex_fr(&state["revocationTreeRoot"]),
            hex_fr(&state["rootOfRoots"])
        ),
        latest
    );

    // Every credential so far, and whether it is revoked.
    let credentials = [
        ("alice@x.io", &a1, true),
        ("alice@x.io", &a2, false),
        ("bob@x.io", &b1, true),
        ("carol@x.io", &c1, false),
    ];
    // Public revocation status: revoked nonces are in the revocation tree of that state.
    for (email, hash, revoked) in credentials {
        let doc = f.document(email, hash).await;
        let status_url = doc["credentialStatus"]["id"].as_str().unwrap();
        let path = status_url.strip_prefix(f.url()).unwrap();
        let (code, rs) = f.get_public(path).await;
        assert_eq!(code, 200, "{rs}");
        assert_eq!(hex_fr(&rs["issuer"]["state"]), latest);
        let proof: Proof = serde_json::from_value(rs["mtp"].clone()).unwrap();
        let nonce = Fr::from_u64(doc["credentialStatus"]["revocationNonce"].as_u64().unwrap());
        assert_eq!(proof.existence, revoked, "{hash}: {rs}");
        assert!(proof.verify(hex_fr(&rs["issuer"]["revocationTreeRoot"]), nonce, Fr::ZERO));
    }
    // Errors in the documented shape.
    let (code, body) = f
        .get_public(&format!("/v1/{}/claims/revocation/status/x", f.issuer_did))
        .await;
    assert_eq!((code, body["error"].as_u64()), (400, Some(400)));
    let (code, _) = f
        .get_public("/v1/did:air:id:test:nobody/claims/revocation/status/1")
        .await;
    assert_eq!(code, 404);
    let (code, _) = f
        .get_public("/v1/issuers/did:air:id:test:nobody/state")
        .await;
    assert_eq!(code, 404);

    // The operator's publishing view: confirmed state, nothing pending, the transitions.
    let view = f
        .server()
        .admin_ok(&["issuer", "publishing", &f.issuer_did]);
    assert_eq!(hex_fr(&view["published"]["state"]), latest);
    assert_eq!(view["pending"], json!({"claims": 0, "revocations": 0}));
    assert!(view["inFlight"].is_null());
    let transitions = view["transitions"].as_array().unwrap();
    assert!(transitions.len() >= 4, "{view}");
    assert_eq!(transitions[0]["status"], "CONFIRMED");

    // The iden3 reference stack agrees: MTPs and revocation statuses (resolved over HTTP by
    // js-sdk's IssuerResolver).
    let mut entries = Vec::new();
    for (email, hash, revoked) in credentials {
        let doc = f.document(email, hash).await;
        entries.push(
            json!({"vc": doc, "coreClaimHash": hash, "expectMtp": true, "expectRevoked": revoked}),
        );
    }
    let contexts = schema_contexts(&f, &entries).await;
    let mut input = json!({"credentials": entries, "schemaContexts": contexts});
    if let OnChain::Anvil(anvil) = &on {
        // With the chain: js-sdk's EthStateStorage reads every state from the contract.
        let contract = anvil_contract(&f, anvil);
        let chain_id = anvil.chain().chain_id().await.unwrap();
        input["chain"] = json!({
            "rpcUrl": anvil.url,
            "contractAddress": contract.address().to_string(),
            "chainId": chain_id,
        });
    }
    let report = node_check(&input);
    assert_eq!(report["ok"], true, "{report:#}");
    if matches!(on, OnChain::Anvil(_)) {
        for c in report["credentials"].as_array().unwrap() {
            for check in ["mtpStateOnChain", "signatureStateOnChain", "revocation"] {
                assert_eq!(c["checks"][check]["ok"], true, "{check}: {c}");
            }
        }
    }

    // The chain holds exactly the latest state, and every MTP's state.
    let (on_chain, known) = chain_states(&mut f, &on, &mtp_states).await;
    assert_eq!(on_chain, u256(latest));
    assert!(known.iter().all(|k| *k), "{known:?}");
    assert_eq!(f.status("carol@x.io", &c1).await, c1_on);
}

/// The schema contexts the VCs name, as served by claimd (the Node loader is offline).
pub async fn schema_contexts(f: &Fixture, entries: &[Value]) -> serde_json::Map<String, Value> {
    let mut contexts = serde_json::Map::new();
    for e in entries {
        let url = e["vc"]["@context"][2].as_str().unwrap().to_owned();
        if !contexts.contains_key(&url) {
            let path = url.strip_prefix(f.url()).unwrap().to_owned();
            let (code, doc) = f.get_public(&path).await;
            assert_eq!(code, 200);
            contexts.insert(url, doc);
        }
    }
    contexts
}

#[tokio::test(flavor = "multi_thread")]
async fn publishing_on_sqlite() {
    publishing(Backend::Sqlite, OnChain::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn publishing_on_postgres() {
    publishing(Backend::Postgres, OnChain::Embedded).await;
}

/// A block a second; finalized = head − 2 (anvil's default is head − 64).
const ANVIL_ARGS: &[&str] = &["--block-time", "1", "--slots-in-an-epoch", "1"];

/// anvil mines a block every second and, with one slot per epoch, finalizes two blocks behind
/// its head: the default rule (finalized and one confirmation) is met within seconds.
async fn anvil() -> OnChain {
    let a = tokio::task::spawn_blocking(|| Anvil::start_on_chain(DID_CHAIN_ID, ANVIL_ARGS))
        .await
        .unwrap();
    OnChain::Anvil(a)
}

#[tokio::test(flavor = "multi_thread")]
async fn publishing_on_anvil_with_sqlite() {
    publishing(Backend::Sqlite, anvil().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn publishing_on_anvil_with_postgres() {
    publishing(Backend::Postgres, anvil().await).await;
}

/// A `claimd publisher` process in production mode (its own data dir; secrets from the
/// environment; no dev funding), killed on drop.
struct PublisherProcess(std::process::Child);

impl PublisherProcess {
    fn start(data_dir: &std::path::Path, env: &[(&str, String)]) -> PublisherProcess {
        let child = std::process::Command::new(common::claimd_bin())
            .args(["publisher", "--data-dir"])
            .arg(data_dir)
            .env_remove("CLAIMD_DEV")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start claimd publisher");
        PublisherProcess(child)
    }
}

impl Drop for PublisherProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Scale-out: the API runs without its publisher (`serve --no-publisher`) and two `claimd
/// publisher` processes share its PostgreSQL database and the chain (anvil, contract deployed
/// and issuers funded by the operator). Two issuers publish; every credential reaches the
/// chain, and each transition is sent and recorded exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn api_and_two_publisher_processes_share_postgres_and_anvil() {
    use claimd_chain::{deploy_state_contract, embedded::DEV_PRIVATE_KEY, transfer, TxSigner};
    let anvil = tokio::task::spawn_blocking(|| Anvil::start_on_chain(DID_CHAIN_ID, ANVIL_ARGS))
        .await
        .unwrap();
    let rpc = anvil.chain();
    let dev = TxSigner::from_private_key(&DEV_PRIVATE_KEY, rpc.chain_id().await.unwrap()).unwrap();
    let (contract, _) = deploy_state_contract(&rpc, &dev).await.unwrap();
    let f = Fixture::with_env(
        Backend::Postgres,
        vec![
            ("CLAIMD_CHAIN_RPC_URL".into(), anvil.url.clone()),
            ("CLAIMD_CHAIN_CONTRACT".into(), contract.to_string()),
            ("CLAIMD_NO_PUBLISHER".into(), "true".into()),
        ],
    )
    .await;
    let (did2, eth2, program2) = f.another_issuer("Second issuer");
    let eth1 = f.server().admin_ok(&["issuer", "get", &f.issuer_did])["ethAddress"]
        .as_str()
        .unwrap()
        .to_owned();
    // Production publishers do not fund issuers: the operator does.
    let ether = U256::from(10u64).pow(U256::from(18u64));
    for eth in [&eth1, &eth2] {
        transfer(&rpc, &dev, eth.parse().unwrap(), ether)
            .await
            .unwrap();
    }

    // Issued before any publisher runs: accepted, waiting.
    // Users `user{i}@x.io`, alternately to the fixture's issuer and the second one.
    let issue_range = |range: std::ops::Range<u32>| {
        let (f, did2, program2) = (&f, &did2, &program2);
        async move {
            let mut issued = Vec::new();
            for i in range {
                let (did, program) = if i % 2 == 0 {
                    (f.issuer_did.as_str(), f.program.as_str())
                } else {
                    (did2.as_str(), program2.as_str())
                };
                let email = format!("user{i}@x.io");
                issued.push((
                    email.clone(),
                    f.issue_to(did, program, &email, 20 + i).await,
                ));
            }
            issued
        }
    };
    let mut issued = issue_range(0..6).await;
    assert_eq!(
        f.status(&issued[0].0, &issued[0].1).await["vcStatus"],
        "WAIT_ONCHAIN"
    );

    let server = f.server();
    let env = vec![
        (
            "CLAIMD_DATABASE_URL",
            server.database_url().unwrap().to_owned(),
        ),
        ("CLAIMD_CHAIN_RPC_URL", anvil.url.clone()),
        ("CLAIMD_CHAIN_CONTRACT", contract.to_string()),
        (
            "CLAIMD_MASTER_KEY",
            std::fs::read_to_string(server.data_path("master.key"))
                .unwrap()
                .trim()
                .to_owned(),
        ),
        ("CLAIMD_ADMIN_TOKEN", server.admin_token.clone()),
    ];
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let _publishers: Vec<_> = dirs
        .iter()
        .map(|d| PublisherProcess::start(d.path(), &env))
        .collect();

    // More work while both run.
    issued.extend(issue_range(6..12).await);
    for (email, hash) in &issued {
        f.wait_for_within(email, hash, "ONCHAIN", std::time::Duration::from_secs(120))
            .await;
    }

    // Per issuer: every transition confirmed once, none abandoned, and the contract recorded
    // exactly those states (plus the genesis state 0).
    let state = StateContract::new(Arc::new(rpc.clone()), contract);
    for did in [&f.issuer_did, &did2] {
        let view = f.server().admin_ok(&["issuer", "publishing", did]);
        let transitions = view["transitions"].as_array().unwrap();
        assert!(
            transitions.iter().all(|t| t["status"] == "CONFIRMED"),
            "{view:#}"
        );
        let history = state.history_length(issuer_id(did)).await.unwrap();
        assert_eq!(history, transitions.len() as u64 + 1, "{view:#}");
        let latest = state
            .state_info(issuer_id(did))
            .await
            .unwrap()
            .unwrap()
            .state;
        assert_eq!(latest, u256(hex_fr(&view["published"]["state"])));
    }
}
