//! The end-of-run audit of an issuer, shared by the crash and fault suites: the identity state
//! on chain must be the one recomputed here, from the stored credentials alone, by replaying
//! the issuer's confirmed transitions with the iden3 trees.
//!
//! The replay does not trust the roots the publisher stored: it rebuilds the claims tree from
//! each credential's `core_claim`, the revocation tree from the nonces of `REMOVE` credentials
//! and the roots tree from the claims roots it computes, transition by transition, and then
//! asks the chain for every state it got. The store is only used to know which transition
//! carries which claim (`claim_publication`) and which revocation (the `REMOVE` credential's
//! `identity_state`).

use claimd_chain::words::{id_word, state_word};
use claimd_chain::StateContract;
use claimd_core::credential::{CredentialRecord, CredentialStatus};
use claimd_core::page::PageRequest;
use claimd_core::store::{CredentialFilter, Store, TransitionStatus};
use claimd_iden3::claim::Claim;
use claimd_iden3::id::{identity_state, Id};
use claimd_iden3::merkletree::{MemoryStore, MerkleTree, IDEN3_DEPTH};
use claimd_iden3::Fr;
use serde_json::Value;
use std::collections::HashMap;

/// What an audit saw, for the run's figures.
#[derive(Debug)]
pub struct Audit {
    /// Credentials of the issuer in the store (acknowledged or not).
    pub credentials: usize,
    pub onchain: usize,
    pub removed: usize,
    /// Confirmed transitions, the onboarding one included.
    pub transitions: usize,
    /// Transitions given up (their work went to later ones).
    pub abandoned: usize,
    /// The latest state, recomputed and on chain (little-endian hex, as the API writes it).
    pub state: String,
}

/// Every credential of the issuer `did`, newest first.
pub async fn issuer_credentials(store: &dyn Store, did: &str) -> Vec<CredentialRecord> {
    let mut all = Vec::new();
    for page in 1.. {
        let got = store
            .list_credentials(
                &CredentialFilter::default(),
                PageRequest { page, limit: 500 },
            )
            .await
            .unwrap();
        let n = got.items.len();
        all.extend(got.items.into_iter().filter(|c| c.issuer_did == did));
        if n < 500 {
            break;
        }
    }
    all
}

fn fr(hex: &str) -> Fr {
    Fr::from_le_hex(hex).unwrap_or_else(|e| panic!("{hex} is not a state: {e:?}"))
}

/// Replays the issuer's confirmed transitions from its stored credentials and checks the
/// chain: every recomputed state is recorded on chain at the confirmed block, the chain's
/// latest state is the last one, and the chain holds no other state of the issuer. Also
/// checks that each credential is settled (`ONCHAIN` or `REMOVE`), that each claim and each
/// revocation is carried by exactly one confirmed transition (nothing published twice) and
/// that no transition is left in flight.
pub async fn check_chain_state(store: &dyn Store, contract: &StateContract, did: &str) -> Audit {
    let issuer = store.issuer_by_did(did).await.unwrap().expect("the issuer");
    let id = Id::from_base58(did.rsplit(':').next().unwrap()).unwrap();
    let credentials = issuer_credentials(store, did).await;
    assert!(!credentials.is_empty(), "{did} issued nothing");

    let history = store
        .transitions(issuer.issuer_id, 1_000_000)
        .await
        .unwrap();
    assert!(
        history.iter().all(|t| !t.status.in_flight()),
        "a transition of {did} is still in flight"
    );
    let mut confirmed: Vec<_> = history
        .iter()
        .filter(|t| t.status == TransitionStatus::Confirmed)
        .collect();
    confirmed.sort_by_key(|t| t.id);
    let abandoned = history
        .iter()
        .filter(|t| t.status == TransitionStatus::Abandoned)
        .count();

    // Which confirmed state first holds each claim, and which revokes each nonce.
    let mut claims_of: HashMap<Fr, Vec<(Fr, Fr)>> = HashMap::new();
    let mut revocations_of: HashMap<Fr, Vec<(Fr, Fr)>> = HashMap::new();
    let (mut onchain, mut removed) = (0, 0);
    for c in &credentials {
        let hash = &c.core_claim_hash;
        let at = store
            .claim_publication(hash)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{hash} ({:?}): claim in no confirmed state", c.status));
        let claim = Claim::from_hex(&c.core_claim).unwrap();
        claims_of
            .entry(at.roots.state)
            .or_default()
            .push(claim.hi_hv());
        match c.status {
            CredentialStatus::Onchain => onchain += 1,
            CredentialStatus::Remove => {
                removed += 1;
                let state = fr(c.identity_state.as_deref().expect("a REMOVE has its state"));
                revocations_of
                    .entry(state)
                    .or_default()
                    .push((Fr::from_u64(c.revocation_nonce), Fr::ZERO));
            }
            other => panic!("{hash} is {other:?}, not settled"),
        }
    }

    // The onboarding transition adds the issuer's auth claim alone; every credential names
    // that claim in its signature proof.
    let doc: Value = serde_json::from_str(&credentials[0].document).unwrap();
    let auth_claim = Claim::from_hex(
        doc["proof"][0]["issuerData"]["authCoreClaim"]
            .as_str()
            .expect("authCoreClaim in the signature proof"),
    )
    .unwrap();

    let mut claims = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH).unwrap();
    let mut revocations = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH).unwrap();
    let mut roots = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH).unwrap();
    let (mut carried_claims, mut carried_revocations) = (0usize, 0usize);
    let mut state = Fr::ZERO;
    for (i, t) in confirmed.iter().enumerate() {
        let before = claims.root();
        let mut added = claims_of.remove(&t.new.state).unwrap_or_default();
        let revoked = revocations_of.remove(&t.new.state).unwrap_or_default();
        carried_claims += added.len();
        carried_revocations += revoked.len();
        if i == 0 {
            assert!(
                added.is_empty() && revoked.is_empty(),
                "the onboarding transition carried credentials"
            );
            added.push(auth_claim.hi_hv());
        }
        // A claim or nonce added twice is an error of the tree: published twice.
        claims.add_batch(&added).unwrap();
        revocations.add_batch(&revoked).unwrap();
        if claims.root() != before {
            roots.add(claims.root(), Fr::ZERO).unwrap();
        }
        state = identity_state(claims.root(), revocations.root(), roots.root());
        assert_eq!(
            state, t.new.state,
            "transition {} of {did}: recomputed state differs from the stored one",
            t.id
        );
        let on_chain = contract
            .state_info_by_state(id_word(&id), state_word(state))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("transition {} of {did}: state not on chain", t.id));
        let at = t.confirmation.as_ref().expect("confirmed");
        assert_eq!(on_chain.created_at_block, at.block_number);
    }
    assert!(
        claims_of.is_empty() && revocations_of.is_empty(),
        "credentials name states that are no confirmed transition of {did}"
    );
    assert_eq!(carried_claims, credentials.len());
    assert_eq!(carried_revocations, removed);
    // The transitions' own counts agree: no claim or revocation in two confirmed transitions.
    let counted: (u64, u64) = confirmed
        .iter()
        .fold((0, 0), |(c, r), t| (c + t.claims, r + t.revocations));
    assert_eq!(
        counted,
        (credentials.len() as u64, removed as u64),
        "confirmed transitions of {did} carry a claim or a revocation twice"
    );

    let latest = contract
        .state_info(id_word(&id))
        .await
        .unwrap()
        .expect("the issuer has a state on chain");
    assert_eq!(
        latest.state,
        state_word(state),
        "the chain's state of {did} is not the recomputed one"
    );
    // The genesis record plus one per confirmed transition: no other state was ever recorded.
    assert_eq!(
        contract.history_length(id_word(&id)).await.unwrap(),
        confirmed.len() as u64 + 1,
        "the chain recorded states of {did} that no confirmed transition has"
    );
    Audit {
        credentials: credentials.len(),
        onchain,
        removed,
        transitions: confirmed.len(),
        abandoned,
        state: state.to_le_hex(),
    }
}

/// The store of a stopped server: its SQLite file in `data_dir`, or the PostgreSQL database at
/// `database_url`.
pub async fn open_store(data_dir: &std::path::Path, database_url: Option<&str>) -> Box<dyn Store> {
    match database_url {
        Some(url) => Box::new(
            claimd_store_postgres::PgStore::connect(url, 2)
                .await
                .unwrap(),
        ),
        None => Box::new(
            claimd_store_sqlite::SqliteStore::connect(&format!(
                "sqlite://{}",
                data_dir.join("claimd.db").display()
            ))
            .await
            .unwrap(),
        ),
    }
}

/// [`check_chain_state`] on a stopped `serve --dev` data dir publishing on its embedded chain
/// (the chain's files are locked by a running server).
pub async fn check_embedded(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    did: &str,
) -> Audit {
    use claimd_chain::{EmbeddedChain, EmbeddedConfig};
    let store = open_store(data_dir, database_url).await;
    let config = EmbeddedConfig {
        chain_id: 222_888,
        ..EmbeddedConfig::default()
    };
    let chain = EmbeddedChain::open(data_dir.join("chain"), config).unwrap();
    let contract = StateContract::new(std::sync::Arc::new(chain.clone()), chain.contract_address());
    check_chain_state(store.as_ref(), &contract, did).await
}
