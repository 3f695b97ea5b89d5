//! Test harness: a throwaway anvil with the contract deployed, a real store (SQLite file or
//! PostgreSQL database), real issuers and credentials made by `Operator` and `Issuance`, a
//! loopback TCP proxy that can cut the RPC, and checks of what the chain and the trees say.

#![allow(dead_code)]

use alloy::providers::Provider;
use alloy_primitives::{Address, U256};
use claimd_chain::testing::Anvil;
use claimd_chain::{
    deploy_state_contract, Chain, JsonRpcChain, NonceKind, StateContract, TxSigner,
};
use claimd_core::credential::{CredentialRecord, CredentialStatus};
use claimd_core::identity::DidSettings;
use claimd_core::issuance::{Issuance, IssueRequest};
use claimd_core::issuer::{Issuer, NewIssuer};
use claimd_core::operator::Operator;
use claimd_core::partner::NewPartner;
use claimd_core::program::NewProgram;
use claimd_core::schema::{NewAttribute, NewSchema};
use claimd_core::secrets::MasterKey;
use claimd_core::store::{OnDuplicate, Store, TransitionStatus};
use claimd_core::{IssuerId, PartnerId, ProgramId};
use claimd_iden3::claim::Claim;
use claimd_iden3::id::{identity_state, Id};
use claimd_iden3::merkletree::{MemoryStore, MerkleTree, NodeStore, IDEN3_DEPTH};
use claimd_iden3::Fr;
use claimd_publisher::{Outcome, Publisher, PublisherConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CHAIN_ID: u64 = 31_337;

pub use claimd_testkit::app::metric_sum;
pub use claimd_testkit::{Backend, Db};

/// A fresh database of `backend` with issuance over it under a new master key.
pub async fn issuing_on(backend: Backend) -> (Db, MasterKey, Issuing) {
    let db = Db::create(backend).await;
    let master_key = MasterKey::generate();
    let issuing = Issuing::new(db.open().await, master_key.clone()).await;
    (db, master_key, issuing)
}

/// The dev account of anvil (and of the embedded chain).
pub fn dev_signer() -> TxSigner {
    TxSigner::from_private_key(&claimd_chain::embedded::DEV_PRIVATE_KEY, CHAIN_ID).unwrap()
}

pub fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

/// A partner, a schema and the issuance use cases over one store.
pub struct Issuing {
    pub store: Arc<dyn Store>,
    pub master_key: MasterKey,
    pub operator: Operator,
    pub issuance: Issuance,
    pub partner: PartnerId,
    pub schema: String,
}

/// An issuer with its program.
#[derive(Debug, Clone)]
pub struct TestIssuer {
    pub issuer: Issuer,
    pub program: ProgramId,
    /// The identity as the contract's integer.
    pub id: U256,
    pub address: Address,
}

impl Issuing {
    pub async fn new(store: Arc<dyn Store>, master_key: MasterKey) -> Issuing {
        let did = DidSettings::default();
        let operator = Operator::new(store.clone(), master_key.clone(), did.clone());
        let issuance = Issuance::new(
            store.clone(),
            master_key.clone(),
            did,
            "https://issuer.example".into(),
            Arc::new(claimd_merklize::Merklizer::new()),
        );
        let partner = operator
            .create_partner(NewPartner {
                name: Some("Acme".into()),
                jwks_url: Some("https://partner.example/.well-known/jwks.json".into()),
                jwks: None,
                features: vec!["issue_on_behalf".into()],
                ..NewPartner::default()
            })
            .await
            .unwrap();
        let schema = operator
            .create_schema(NewSchema {
                title: Some("Membership".into()),
                type_name: Some("Membership".into()),
                version: Some("1.0".into()),
                description: Some("A member".into()),
                attributes: Some(vec![NewAttribute {
                    name: Some("age".into()),
                    kind: Some("integer".into()),
                    title: None,
                    description: None,
                    required: true,
                }]),
            })
            .await
            .unwrap();
        Issuing {
            store,
            master_key,
            operator,
            issuance,
            partner: partner.partner_id,
            schema: schema.schema_id.to_string(),
        }
    }

    /// The same use cases over another pool (another instance, or a reopened database)
    /// where the partner and schema exist.
    pub fn reopen(
        store: Arc<dyn Store>,
        master_key: MasterKey,
        partner: PartnerId,
        schema: String,
    ) -> Issuing {
        let did = DidSettings::default();
        Issuing {
            operator: Operator::new(store.clone(), master_key.clone(), did.clone()),
            issuance: Issuance::new(
                store.clone(),
                master_key.clone(),
                did,
                "https://issuer.example".into(),
                Arc::new(claimd_merklize::Merklizer::new()),
            ),
            store,
            master_key,
            partner,
            schema,
        }
    }

    pub async fn issuer(&self, name: &str) -> TestIssuer {
        let issuer = self
            .operator
            .create_issuer(NewIssuer {
                partner_id: Some(self.partner.to_string()),
                name: Some(name.into()),
            })
            .await
            .unwrap();
        let program = self
            .operator
            .create_program(NewProgram {
                issuer_did: Some(issuer.issuer_did.clone()),
                schema_id: Some(self.schema.clone()),
                name: Some(format!("{name} members")),
                accessible_from: None,
                accessible_until: None,
                max_issuance: None,
                expiration_days: None,
            })
            .await
            .unwrap();
        let id = Id::from_base58(issuer.issuer_did.rsplit(':').next().unwrap()).unwrap();
        TestIssuer {
            address: issuer.eth_address.parse().unwrap(),
            id: U256::from_le_slice(id.as_bytes()),
            program: program.credential_id,
            issuer,
        }
    }

    /// Issues a credential for `email`; a live one of the same user and program is revoked.
    pub async fn issue(&self, to: &TestIssuer, email: &str, age: u64) -> String {
        let subject = serde_json::json!({ "age": age });
        self.issuance
            .issue(
                self.partner,
                email,
                IssueRequest {
                    issuer_did: to.issuer.issuer_did.clone(),
                    credential_id: to.program.clone(),
                    credential_subject: subject.as_object().unwrap().clone(),
                    on_duplicate: OnDuplicate::Revoke,
                },
                None,
            )
            .await
            .unwrap()
            .core_claim_hash
    }

    /// The issuer's transitions, at most 100, newest first.
    pub async fn transitions(&self, of: &TestIssuer) -> Vec<claimd_core::store::TransitionRecord> {
        let id = of.issuer.issuer_id;
        self.store.transitions(id, 100).await.unwrap()
    }

    pub async fn credential(&self, hash: &str) -> CredentialRecord {
        self.store
            .credential_for_partner(hash, self.partner)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("credential {hash}"))
    }
}

/// A chain with the contract deployed: anvil over JSON-RPC, or the embedded chain.
pub struct Net {
    anvil: Option<(Anvil, JsonRpcChain)>,
    embedded: Option<(claimd_chain::EmbeddedChain, tempfile::TempDir)>,
    pub chain: Arc<dyn Chain>,
    pub contract: StateContract,
}

impl Net {
    pub async fn start() -> Net {
        Net::start_with(&[]).await
    }

    /// Anvil with extra arguments (e.g. `--slots-in-an-epoch 1`: finalized = head − 2).
    pub async fn start_with(extra: &'static [&'static str]) -> Net {
        let anvil = tokio::task::spawn_blocking(move || Anvil::start_with(extra))
            .await
            .unwrap();
        let rpc = JsonRpcChain::new(&anvil.url, Duration::from_secs(10)).unwrap();
        let chain: Arc<dyn Chain> = Arc::new(rpc.clone());
        let (address, _) = deploy_state_contract(chain.as_ref(), &dev_signer())
            .await
            .unwrap();
        Net {
            contract: StateContract::new(chain.clone(), address),
            anvil: Some((anvil, rpc)),
            embedded: None,
            chain,
        }
    }

    /// The embedded chain in a temp dir (mines each transaction at once, no pool).
    pub async fn embedded() -> Net {
        let dir = tempfile::tempdir().unwrap();
        let config = claimd_chain::EmbeddedConfig {
            chain_id: CHAIN_ID,
            fsync: false,
            ..Default::default()
        };
        let path = dir.path().to_owned();
        let chain =
            tokio::task::spawn_blocking(move || claimd_chain::EmbeddedChain::open(path, config))
                .await
                .unwrap()
                .unwrap();
        let address = chain.contract_address();
        let dyn_chain: Arc<dyn Chain> = Arc::new(chain.clone());
        Net {
            contract: StateContract::new(dyn_chain.clone(), address),
            anvil: None,
            embedded: Some((chain, dir)),
            chain: dyn_chain,
        }
    }

    pub fn anvil_url(&self) -> &str {
        &self.anvil.as_ref().expect("an anvil").0.url
    }

    /// Test settings: quick polling, funding from the chain's dev account.
    pub fn config(&self, owner: &str) -> PublisherConfig {
        let mut c = config(owner);
        if let Some((chain, _)) = &self.embedded {
            c.funding = claimd_publisher::Funding::Embedded(chain.clone());
        }
        c
    }

    /// An anvil test method (`evm_mine`, `evm_setAutomine`, …).
    pub async fn anvil_rpc(
        &self,
        method: &'static str,
        params: serde_json::Value,
    ) -> serde_json::Value {
        let (_, rpc) = self.anvil.as_ref().expect("anvil methods need anvil");
        rpc.provider()
            .raw_request::<_, serde_json::Value>(method.into(), params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    pub async fn mine(&self) {
        self.anvil_rpc("evm_mine", serde_json::json!([])).await;
    }

    pub async fn set_automine(&self, on: bool) {
        self.anvil_rpc("evm_setAutomine", serde_json::json!([on]))
            .await;
    }

    pub async fn fund(&self, to: Address) {
        match &self.embedded {
            Some((chain, _)) => {
                chain.fund(to, ether(1)).await.unwrap();
            }
            None => {
                claimd_chain::transfer(self.chain.as_ref(), &dev_signer(), to, ether(1))
                    .await
                    .unwrap();
            }
        }
    }

    pub async fn nonce(&self, a: Address) -> u64 {
        self.chain.nonce(a, NonceKind::Latest).await.unwrap()
    }

    /// A publisher over `store` reaching the chain through `chain`.
    pub async fn publisher_via(
        &self,
        chain: Arc<dyn Chain>,
        store: Arc<dyn Store>,
        master_key: &MasterKey,
        config: PublisherConfig,
    ) -> Publisher {
        Publisher::new(
            store,
            chain,
            self.contract.address(),
            master_key.clone(),
            config,
        )
        .await
        .unwrap()
    }

    pub async fn publisher(
        &self,
        store: Arc<dyn Store>,
        master_key: &MasterKey,
        config: PublisherConfig,
    ) -> Publisher {
        self.publisher_via(self.chain.clone(), store, master_key, config)
            .await
    }
}

/// Test settings: quick polling, funding from anvil's dev key, confirmation by depth (0).
///
/// Depth, because anvil's finalized block trails its head by 64 blocks by default: these
/// scenarios are about other things and count their steps. `finality.rs` covers the
/// finalized rule.
pub fn config(owner: &str) -> PublisherConfig {
    let mut c = PublisherConfig::new(owner);
    c.finality = claimd_publisher::Finality::Depth;
    c.poll_interval = Duration::from_millis(100);
    c.max_error_backoff = Duration::from_secs(1);
    c.funding = claimd_publisher::Funding::DevKey(dev_signer());
    c
}

/// Steps `issuer` until a step does not progress; returns every outcome.
pub async fn settle(p: &Publisher, issuer: &TestIssuer) -> Vec<Outcome> {
    let mut seen = Vec::new();
    for _ in 0..64 {
        let o = p.run_once(issuer.issuer.issuer_id).await.unwrap();
        let more = o.progressed();
        seen.push(o);
        if !more {
            return seen;
        }
    }
    panic!("publisher never settled: {seen:?}");
}

/// Polls until every credential is `ONCHAIN`, or panics after `timeout`.
pub async fn wait_onchain(issuing: &Issuing, hashes: &[String], timeout: Duration) {
    let status = CredentialStatus::Onchain;
    let deadline = Instant::now() + timeout;
    loop {
        let mut missing = Vec::new();
        for h in hashes {
            let c = issuing.credential(h).await;
            if c.status != status {
                missing.push((h.clone(), c.status));
            }
        }
        if missing.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not {status:?} after {timeout:?}: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every node under `root`, read through the store (which checks each node's hash).
pub async fn load_tree(store: &dyn Store, root: Fr) -> MemoryStore {
    let mut nodes = MemoryStore::new();
    let mut todo = vec![root];
    while let Some(h) = todo.pop() {
        if h == Fr::ZERO {
            continue;
        }
        let node = store
            .tree_node(h)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("tree node {} missing", h.to_le_hex()));
        if let claimd_iden3::merkletree::Node::Middle { left, right } = node {
            todo.extend([left, right]);
        }
        nodes.put(h, node).unwrap();
    }
    nodes
}

/// What the chain, the store and the trees must agree on for an issuer once everything is
/// published: the chain's state is Poseidon of the published roots; every confirmed
/// transition is on chain exactly once, in order, with its recorded block; none of its
/// transactions is wasted; every credential's claim (and revocation) is proven at the
/// published roots. Returns the confirmed transitions' count.
pub async fn check_published(
    net: &Net,
    issuing: &Issuing,
    issuer: &TestIssuer,
    credentials: &[String],
) -> usize {
    let store = issuing.store.as_ref();
    let id = issuer.issuer.issuer_id;
    let published = store.published_state(id).await.unwrap().expect("published");
    let roots = published.roots;
    assert_eq!(
        identity_state(roots.claims_root, roots.revocation_root, roots.roots_root),
        roots.state
    );
    let info = net
        .contract
        .state_info(issuer.id)
        .await
        .unwrap()
        .expect("on chain");
    assert_eq!(
        info.state,
        U256::from_be_bytes(roots.state.to_be_bytes()),
        "the chain's latest state is the store's published state"
    );
    assert_eq!(info.created_at_block, published.block_number);
    assert_eq!(info.created_at_timestamp, published.block_timestamp);

    let history = store.transitions(id, 1000).await.unwrap();
    assert!(
        history.iter().all(|t| !t.status.in_flight()),
        "nothing left in flight: {history:?}"
    );
    let confirmed: Vec<_> = history
        .iter()
        .rev()
        .filter(|t| t.status == TransitionStatus::Confirmed)
        .collect();
    // Genesis record (state 0) + one record per confirmed transition: nothing twice.
    assert_eq!(
        net.contract.history_length(issuer.id).await.unwrap(),
        confirmed.len() as u64 + 1,
        "one state on chain per confirmed transition"
    );
    for (i, t) in confirmed.iter().enumerate() {
        let state = U256::from_be_bytes(t.new.state.to_be_bytes());
        let on_chain = net
            .contract
            .state_info_by_state(issuer.id, state)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("transition {} not on chain", t.id));
        let at = t.confirmation.as_ref().unwrap();
        assert_eq!(on_chain.created_at_block, at.block_number);
        assert_eq!(on_chain.created_at_timestamp, at.block_timestamp);
        // The confirmation names the transaction that really recorded the state.
        let r = net
            .chain
            .receipt(at.tx_hash.parse().unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no receipt for {}", at.tx_hash));
        assert!(r.status);
        assert_eq!(r.block_number, at.block_number);
        let updates = net.contract.state_updates(&r).unwrap();
        assert_eq!(updates.last().map(|u| u.state), Some(state));
        if i > 0 {
            assert_eq!(t.old.map(|o| o.state), Some(confirmed[i - 1].new.state));
        }
    }
    let claims = MerkleTree::with_root(
        load_tree(store, roots.claims_root).await,
        roots.claims_root,
        IDEN3_DEPTH,
    )
    .unwrap();
    let revocations = MerkleTree::with_root(
        load_tree(store, roots.revocation_root).await,
        roots.revocation_root,
        IDEN3_DEPTH,
    )
    .unwrap();
    let roots_tree = MerkleTree::with_root(
        load_tree(store, roots.roots_root).await,
        roots.roots_root,
        IDEN3_DEPTH,
    )
    .unwrap();
    // iden3: the roots tree holds every claims root.
    let (p, v) = roots_tree.generate_proof(roots.claims_root).unwrap();
    assert!(p.existence && p.verify(roots.roots_root, roots.claims_root, Fr::ZERO));
    assert_eq!(v, Some(Fr::ZERO));
    for h in credentials {
        let c = issuing.credential(h).await;
        assert!(
            matches!(
                c.status,
                CredentialStatus::Onchain | CredentialStatus::Remove
            ),
            "{h}: {:?}",
            c.status
        );
        assert!(confirmed
            .iter()
            .any(|t| Some(&t.confirmation.as_ref().unwrap().tx_hash) == c.tx_hash.as_ref()));
        let claim = Claim::from_hex(&c.core_claim).unwrap();
        let (hi, hv) = claim.hi_hv();
        let (proof, value) = claims.generate_proof(hi).unwrap();
        assert!(proof.existence, "{h}: claim not in the claims tree");
        assert_eq!(value, Some(hv));
        assert!(proof.verify(roots.claims_root, hi, hv), "{h}: claim MTP");
        let nonce = Fr::from_u64(c.revocation_nonce);
        let (proof, value) = revocations.generate_proof(nonce).unwrap();
        if c.status == CredentialStatus::Remove {
            assert!(proof.existence, "{h}: nonce not in the revocation tree");
            assert_eq!(value, Some(Fr::ZERO));
            assert!(proof.verify(roots.revocation_root, nonce, Fr::ZERO));
        } else {
            assert!(!proof.existence, "{h}: live credential's nonce is revoked");
        }
    }
    // Every transaction the issuer ever sent recorded one of these states.
    let sent: usize = net.nonce(issuer.address).await as usize;
    assert_eq!(sent, confirmed.len(), "no wasted or doomed transactions");
    confirmed.len()
}

/// A loopback TCP proxy to `upstream` whose traffic can be cut: while cut, it accepts
/// connections and closes them at once, and it has closed every connection it was carrying.
pub struct Proxy {
    pub url: String,
    cut: Arc<AtomicBool>,
    generation: Arc<tokio::sync::watch::Sender<u64>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let cut = Arc::new(AtomicBool::new(false));
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let generation = Arc::new(generation);
        let task = {
            let cut = cut.clone();
            let generation = generation.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((mut inbound, _)) = listener.accept().await else {
                        continue;
                    };
                    if cut.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let upstream = upstream.clone();
                    let mut cut_signal = generation.subscribe();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await
                        else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cut_signal.changed() => {}
                        }
                    });
                }
            })
        };
        Proxy {
            url,
            cut,
            generation,
            task,
        }
    }

    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An outcome's tx hash, for sequences of steps.
pub fn tx_of(o: &Outcome) -> Option<&str> {
    match o {
        Outcome::Signed { tx_hash, .. }
        | Outcome::Sent { tx_hash, .. }
        | Outcome::Replaced { tx_hash, .. } => Some(tx_hash),
        _ => None,
    }
}

pub fn is_confirmed(o: &Outcome) -> bool {
    matches!(o, Outcome::Confirmed { .. } | Outcome::Adopted { .. })
}

/// Runs one step of `p` for `issuer` per entry of `want` and asserts their kinds (after all
/// ran, so a failure shows the whole sequence): the outcomes, in order.
pub async fn expect_steps(p: &Publisher, issuer: IssuerId, want: &[&str]) -> Vec<Outcome> {
    let mut steps = Vec::with_capacity(want.len());
    for _ in want {
        steps.push(p.run_once(issuer).await.unwrap());
    }
    assert_kinds(&steps, want);
    steps
}

#[track_caller]
pub fn assert_kinds(outcomes: &[Outcome], want: &[&str]) {
    let got: Vec<&str> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Idle => "idle",
            Outcome::Busy => "busy",
            Outcome::Computed { .. } => "computed",
            Outcome::Signed { .. } => "signed",
            Outcome::Sent { .. } => "sent",
            Outcome::Replaced { .. } => "replaced",
            Outcome::Waiting { .. } => "waiting",
            Outcome::Confirmed { .. } => "confirmed",
            Outcome::Adopted { .. } => "adopted",
            Outcome::Abandoned { .. } => "abandoned",
        })
        .collect();
    assert_eq!(got, want, "{outcomes:?}");
}
