//! The checks on credentials built the way issuance builds them, against an in-memory chain
//! and revocation tree: a genuine credential passes every check, and each tampering with a
//! field makes it invalid, naming the check that caught it. Plus js-sdk's own credential.

use super::*;
use crate::identity::{self, DidSettings, HolderIdentity, OnboardingState};
use crate::issuance::{credential_document, iso_millis, CredentialFields};
use crate::schema::{json_schema_url, jsonld_context_url, Attribute, AttributeType, Schema};
use crate::SchemaId;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use claimd_iden3::babyjubjub::PrivateKey;
use claimd_iden3::claim::{Claim, SchemaHash};
use claimd_iden3::id::{identity_state, DidRegistry, Id};
use claimd_iden3::merkletree::{MemoryStore, MerkleTree, IDEN3_DEPTH};
use claimd_iden3::Fr;
use claimd_merklize::testing::all_referencing;
use claimd_merklize::Merklizer;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

const PUBLIC_URL: &str = "https://issuer.test";

/// The test contexts never wait, so one poll runs a verification to the end.
fn run<F: Future>(f: F) -> F::Output {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a test context never waits"),
    }
}

/// The chain's state records, by (id, state).
#[derive(Default, Clone)]
struct FakeStates {
    records: HashMap<(Id, Fr), ChainState>,
    latest: HashMap<Id, ChainState>,
    down: bool,
    /// Every `state` look-up that reached the chain.
    asked: Arc<Mutex<Vec<(Id, Fr)>>>,
}

impl FakeStates {
    /// Records `state` as the latest of `id`, replacing the previous latest.
    fn publish(&mut self, id: Id, state: Fr, block: u64, timestamp: u64) {
        if let Some(prev) = self.latest.get(&id).copied() {
            let replaced = ChainState {
                replaced_by: Some(state),
                replaced_at_timestamp: timestamp,
                ..prev
            };
            self.records.insert((id, prev.state), replaced);
        }
        let record = ChainState {
            state,
            replaced_by: None,
            created_at_block: block,
            created_at_timestamp: timestamp,
            replaced_at_timestamp: 0,
        };
        self.records.insert((id, state), record);
        self.latest.insert(id, record);
    }
}

#[async_trait]
impl IdentityStates for FakeStates {
    async fn state(&self, id: &Id, state: Fr) -> Result<Option<ChainState>, LookupError> {
        if self.down {
            return Err(LookupError::Unavailable("chain unreachable".into()));
        }
        self.asked.lock().unwrap().push((*id, state));
        Ok(self.records.get(&(*id, state)).copied())
    }

    async fn latest(&self, id: &Id) -> Result<Option<ChainState>, LookupError> {
        if self.down {
            return Err(LookupError::Unavailable("chain unreachable".into()));
        }
        Ok(self.latest.get(id).copied())
    }
}

/// An issuer's trees as the publisher keeps them.
#[derive(Clone)]
struct Trees {
    claims: MerkleTree<MemoryStore>,
    revocations: MerkleTree<MemoryStore>,
    roots: MerkleTree<MemoryStore>,
}

impl Trees {
    fn new() -> Trees {
        let tree = || MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH).unwrap();
        Trees {
            claims: tree(),
            revocations: tree(),
            roots: tree(),
        }
    }

    /// Adds claims and revoked nonces, then the new claims root to the roots tree; the state.
    fn transition(&mut self, claims: &[Claim], revoked: &[u64]) -> Fr {
        for c in claims {
            let (hi, hv) = c.hi_hv();
            self.claims.add(hi, hv).unwrap();
        }
        for n in revoked {
            self.revocations.add(Fr::from_u64(*n), Fr::ZERO).unwrap();
        }
        if self.roots.get(self.claims.root()).unwrap().is_none() {
            self.roots.add(self.claims.root(), Fr::ZERO).unwrap();
        }
        self.state()
    }

    fn state(&self) -> Fr {
        identity_state(
            self.claims.root(),
            self.revocations.root(),
            self.roots.root(),
        )
    }

    fn roots_json(&self, value_key: &str) -> Value {
        json!({
            "claimsTreeRoot": self.claims.root().to_le_hex(),
            "revocationTreeRoot": self.revocations.root().to_le_hex(),
            "rootOfRoots": self.roots.root().to_le_hex(),
            value_key: self.state().to_le_hex(),
        })
    }

    /// The revocation status of `nonce` at the current state (js-sdk `RevocationStatus`).
    fn revocation_status(&self, nonce: u64) -> Value {
        let (mtp, _) = self
            .revocations
            .generate_proof(Fr::from_u64(nonce))
            .unwrap();
        json!({"issuer": self.roots_json("state"), "mtp": mtp})
    }
}

struct TestCtx {
    merklizer: Merklizer,
    states: FakeStates,
    /// The issuer's trees the revocation status is served from.
    trees: Trees,
    /// What the issuer's records say.
    issued: IssuedRecord,
    now: DateTime<Utc>,
    limits: VerifyLimits,
}

#[async_trait]
impl VerifyContext for TestCtx {
    async fn merklize(&self, document: &Value) -> Result<MerklizedCredential, LookupError> {
        super::service::merklize_with(&self.merklizer, document)
    }

    fn states(&self) -> &dyn IdentityStates {
        &self.states
    }

    async fn revocation_status(&self, _issuer: &str, nonce: u64) -> Result<Value, LookupError> {
        Ok(self.trees.revocation_status(nonce))
    }

    async fn issued(&self, _issuer: &str, hash: &str) -> Result<IssuedRecord, LookupError> {
        Ok(match &self.issued {
            IssuedRecord::Document(d) => {
                let claim = Claim::from_hex(d["proof"][0]["coreClaim"].as_str().unwrap()).unwrap();
                if claim.core_claim_hash_hex() == hash {
                    IssuedRecord::Document(d.clone())
                } else {
                    IssuedRecord::Unknown
                }
            }
            other => other.clone(),
        })
    }

    fn now(&self) -> DateTime<Utc> {
        self.now
    }

    fn limits(&self) -> VerifyLimits {
        self.limits
    }
}

fn schema() -> Schema {
    let attr = |name: &str, kind| Attribute {
        name: name.into(),
        kind,
        title: None,
        description: None,
        required: true,
    };
    Schema {
        schema_id: SchemaId(uuid::Uuid::parse_str("5d6c0c55-3f3c-4f59-9a43-6b1b2a0f4e11").unwrap()),
        title: "Membership".into(),
        type_name: "Membership".into(),
        version: "1.0".into(),
        description: String::new(),
        attributes: vec![
            attr("age", AttributeType::Integer),
            attr("name", AttributeType::String),
        ],
        visibility: Default::default(),
        created_at: Utc::now(),
    }
}

struct Issuer {
    key: PrivateKey,
    did: String,
    id: Id,
    onboarding: OnboardingState,
}

impl Issuer {
    fn new(seed: u8) -> Issuer {
        let key = identity::bjj_key(&[seed; 32]).unwrap();
        let did = identity::issuer_did(&DidSettings::default(), &[seed; 20]).unwrap();
        let id = DidRegistry::default().parse(&did).unwrap().id();
        let onboarding = identity::onboarding_state(&key).unwrap();
        Issuer {
            key,
            did,
            id,
            onboarding,
        }
    }
}

/// A credential as issuance builds it, then published as the publisher does: the issuer's
/// onboarding state (auth claim only), then a state with the credential's claim (and
/// `revoked` nonces), with the Merkle tree proof appended.
struct Fixture {
    issuer: Issuer,
    nonce: u64,
    /// Without the Merkle tree proof.
    signed: Value,
    /// With both proofs.
    published: Value,
    ctx: TestCtx,
}

const NOW: i64 = 1_800_000_000;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW, 0).unwrap()
}

fn issue(issuer: Issuer, expiration: Option<DateTime<Utc>>, revoked: &[u64]) -> Fixture {
    let schema = schema();
    let merklizer = Merklizer::new();
    merklizer
        .register_context(
            &jsonld_context_url(PUBLIC_URL, schema.schema_id),
            &schema.jsonld_context().to_string(),
        )
        .unwrap();
    let holder_did = HolderIdentity::generate(&DidSettings::default())
        .unwrap()
        .did;
    let nonce = 4_503_599_627_370_449;
    let mut subject = Map::new();
    subject.insert("age".into(), json!(30));
    subject.insert("name".into(), json!("Alice"));
    let mut vc = credential_document(&CredentialFields {
        vc_id: "urn:5b1c7e0e-8f55-4a43-8d7b-5b8f3f2a9c01",
        context_url: &jsonld_context_url(PUBLIC_URL, schema.schema_id),
        schema_url: &json_schema_url(PUBLIC_URL, schema.schema_id),
        type_name: &schema.type_name,
        issuance_date: now() - Duration::days(1),
        expiration_date: expiration,
        holder_did: &holder_did,
        subject: &subject,
        status_base: &format!("{PUBLIC_URL}/v1/{}/claims/revocation/status", issuer.did),
        nonce,
        issuer_did: &issuer.did,
    });
    let root = merklizer.merklize(&vc).unwrap().root();
    let mut claim = Claim::new(SchemaHash::from_type_iri(&schema.type_iri()));
    claim.set_index_id(&DidRegistry::default().id_from_did(&holder_did).unwrap());
    claim.set_index_merklized_root(root);
    claim.set_expiration(expiration.map(|e| e.timestamp() as u64));
    claim.set_revocation_nonce(nonce);
    let ob = &issuer.onboarding;
    vc["proof"] = json!([ob.signature_proof(PUBLIC_URL, &issuer.did, &claim, &issuer.key)]);
    let signed = vc.clone();

    let mut states = FakeStates::default();
    let mut trees = Trees::new();
    let first = trees.transition(&[ob.auth_claim], &[]);
    assert_eq!(
        first, ob.state,
        "the onboarding state is the first transition"
    );
    states.publish(issuer.id, first, 10, NOW as u64 - 7200);
    // Revocations of other credentials share the transition, so the tree is not empty.
    let second = trees.transition(&[claim], &[77, 4_000_000_001]);
    states.publish(issuer.id, second, 11, NOW as u64 - 3600);
    let (mtp, _) = trees.claims.generate_proof(claim.hi()).unwrap();
    let mut mtp_state = trees.roots_json("value");
    mtp_state["txId"] = json!(format!("0x{}", "ab".repeat(32)));
    mtp_state["blockNumber"] = json!(11);
    mtp_state["blockTimestamp"] = json!(NOW as u64 - 3600);
    vc["proof"].as_array_mut().unwrap().push(json!({
        "type": "Iden3SparseMerkleTreeProof",
        "issuerData": {"id": issuer.did, "state": mtp_state},
        "coreClaim": claim.to_hex(),
        "mtp": mtp,
    }));
    if !revoked.is_empty() {
        trees.transition(&[], revoked);
        states.publish(issuer.id, trees.state(), 12, NOW as u64 - 60);
    }
    Fixture {
        issuer,
        nonce,
        ctx: TestCtx {
            merklizer,
            states,
            trees,
            // On record as issued: with its signature proof only.
            issued: IssuedRecord::Document(signed.clone()),
            now: now(),
            limits: VerifyLimits::DEFAULT,
        },
        signed,
        published: vc,
    }
}

fn fixture() -> Fixture {
    issue(Issuer::new(7), Some(now() + Duration::days(365)), &[])
}

fn statuses(r: &VerificationReport) -> Vec<(String, CheckStatus)> {
    r.checks
        .iter()
        .map(|c| (c.name.clone(), c.status))
        .collect()
}

fn assert_failed(r: &VerificationReport, check: &str, why: &str) {
    assert!(!r.valid, "{why}: still valid: {r:#?}");
    assert_eq!(
        r.check(check).map(|c| c.status),
        Some(CheckStatus::Fail),
        "{why}: {check} should fail: {r:#?}"
    );
}

#[test]
fn a_published_credential_passes_every_check() {
    let f = fixture();
    let r = run(verify(&f.published, &f.ctx)).unwrap();
    assert!(r.valid, "{r:#?}");
    let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, CHECK_NAMES);
    assert!(
        r.checks.iter().all(|c| c.status == CheckStatus::Pass),
        "{r:#?}"
    );
    let revocation = &r.check(REVOCATION).unwrap().detail;
    assert!(revocation.contains("latest state"), "{revocation}");
    assert!(revocation.contains(&f.nonce.to_string()), "{revocation}");
    assert_eq!(
        r.check(EXPIRATION).unwrap().detail,
        format!("valid until {}", iso_millis(now() + Duration::days(365)))
    );
}

#[test]
fn before_publishing_the_merkle_proof_is_skipped_and_the_signature_suffices() {
    let f = fixture();
    let r = run(verify(&f.signed, &f.ctx)).unwrap();
    assert!(r.valid, "{r:#?}");
    let mtp = r.check(MTP).unwrap();
    assert_eq!(mtp.status, CheckStatus::Skipped);
    assert!(mtp.detail.contains("not yet published"), "{}", mtp.detail);
}

#[test]
fn the_merkle_proof_alone_proves_the_credential() {
    let f = fixture();
    let mut vc = f.published.clone();
    vc["proof"].as_array_mut().unwrap().remove(0);
    let r = run(verify(&vc, &f.ctx)).unwrap();
    assert!(r.valid, "{r:#?}");
    assert_eq!(r.check(SIGNATURE).unwrap().status, CheckStatus::Skipped);
    assert_eq!(r.check(ISSUER_STATE).unwrap().status, CheckStatus::Skipped);
    assert_eq!(r.check(MTP).unwrap().status, CheckStatus::Pass);
}

#[test]
fn a_single_proof_object_is_accepted() {
    let f = fixture();
    let mut vc = f.signed.clone();
    vc["proof"] = vc["proof"][0].clone();
    let r = run(verify(&vc, &f.ctx)).unwrap();
    assert!(r.valid, "{r:#?}");
}

type Tamper = fn(&mut Value, &Fixture);

/// Puts a state root no issuer had into `field` of proof `proof`'s issuer state.
fn forge_state(vc: &mut Value, proof: usize, field: &str) {
    vc["proof"][proof]["issuerData"]["state"][field] = json!(Fr::from_u64(5).to_le_hex());
}

/// Changes proof `proof`'s core claim with `edit`, leaving the rest of the proof as it was.
fn edit_core_claim(vc: &mut Value, proof: usize, edit: impl FnOnce(&mut Claim)) {
    let mut c = Claim::from_hex(vc["proof"][proof]["coreClaim"].as_str().unwrap()).unwrap();
    edit(&mut c);
    vc["proof"][proof]["coreClaim"] = json!(c.to_hex());
}

/// Each row changes one thing a forger would; the report must be invalid and name the check.
#[test]
fn any_tampering_makes_the_credential_invalid() {
    let other = Issuer::new(9);
    let other_auth = other.onboarding.auth_claim.to_hex();
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "subject value",
            |vc, _| vc["credentialSubject"]["age"] = json!(31),
            CORE_CLAIM,
        ),
        (
            "subject string",
            |vc, _| vc["credentialSubject"]["name"] = json!("Mallory"),
            CORE_CLAIM,
        ),
        (
            "subject added attribute",
            |vc, _| vc["credentialSubject"]["age2"] = json!(1),
            CORE_CLAIM,
        ),
        (
            "subject holder",
            |vc, _| {
                vc["credentialSubject"]["id"] = json!(
                    HolderIdentity::generate(&DidSettings::default())
                        .unwrap()
                        .did
                )
            },
            CORE_CLAIM,
        ),
        (
            "issuance date",
            |vc, _| vc["issuanceDate"] = json!("2020-01-01T00:00:00.000Z"),
            CORE_CLAIM,
        ),
        (
            "expiration date",
            |vc, _| {
                let d = vc["expirationDate"]
                    .as_str()
                    .unwrap()
                    .replace(".000Z", ".001Z");
                vc["expirationDate"] = json!(d)
            },
            CORE_CLAIM,
        ),
        (
            "expiration removed",
            |vc, _| {
                vc.as_object_mut().unwrap().remove("expirationDate");
            },
            CORE_CLAIM,
        ),
        (
            "issuer",
            |vc, _| vc["issuer"] = json!(Issuer::new(9).did),
            CORE_CLAIM,
        ),
        (
            "vc id",
            |vc, _| vc["id"] = json!("urn:00000000-0000-4000-8000-000000000000"),
            ISSUER_RECORD,
        ),
        (
            "subject value (record)",
            |vc, _| vc["credentialSubject"]["age"] = json!(31),
            ISSUER_RECORD,
        ),
        (
            "type",
            |vc, _| vc["type"] = json!(["VerifiableCredential"]),
            CORE_CLAIM,
        ),
        (
            "schema url",
            |vc, _| vc["credentialSchema"]["id"] = json!("https://evil.test/s.json"),
            CORE_CLAIM,
        ),
        (
            "unknown context",
            |vc, _| vc["@context"][2] = json!("https://evil.test/ctx.jsonld"),
            CORE_CLAIM,
        ),
        (
            "nonce",
            |vc, f| vc["credentialStatus"]["revocationNonce"] = json!(f.nonce + 1),
            CORE_CLAIM,
        ),
        (
            "status id",
            |vc, _| vc["credentialStatus"]["id"] = json!("https://evil.test/status/1"),
            CORE_CLAIM,
        ),
        (
            "signature",
            |vc, _| {
                let s = vc["proof"][0]["signature"].as_str().unwrap();
                let flipped = if s.ends_with('0') { "1" } else { "0" };
                vc["proof"][0]["signature"] = json!(format!("{}{flipped}", &s[..s.len() - 1]))
            },
            SIGNATURE,
        ),
        (
            "signature coreClaim",
            |vc, _| edit_core_claim(vc, 0, |c| c.set_revocation_nonce(c.revocation_nonce() + 1)),
            CORE_CLAIM,
        ),
        (
            "signature coreClaim (signature)",
            |vc, _| edit_core_claim(vc, 0, |c| c.set_revocation_nonce(c.revocation_nonce() + 1)),
            SIGNATURE,
        ),
        (
            "signature state value",
            |vc, _| forge_state(vc, 0, "value"),
            SIGNATURE,
        ),
        (
            "signature state value (chain)",
            |vc, _| forge_state(vc, 0, "value"),
            ISSUER_STATE,
        ),
        (
            "signature claims root",
            |vc, _| forge_state(vc, 0, "claimsTreeRoot"),
            SIGNATURE,
        ),
        (
            "auth claim mtp",
            |vc, _| vc["proof"][0]["issuerData"]["mtp"]["siblings"] = json!(["1"]),
            SIGNATURE,
        ),
        (
            "signature issuer id",
            |vc, _| vc["proof"][0]["issuerData"]["id"] = json!(Issuer::new(9).did),
            ISSUER_STATE,
        ),
        (
            "mtp siblings",
            |vc, _| vc["proof"][1]["mtp"]["siblings"][0] = json!("12345"),
            MTP,
        ),
        (
            "mtp siblings cut",
            |vc, _| vc["proof"][1]["mtp"]["siblings"] = json!([]),
            MTP,
        ),
        (
            "mtp existence",
            |vc, _| vc["proof"][1]["mtp"]["existence"] = json!(false),
            MTP,
        ),
        ("mtp state value", |vc, _| forge_state(vc, 1, "value"), MTP),
        (
            "mtp claims root",
            |vc, _| forge_state(vc, 1, "claimsTreeRoot"),
            MTP,
        ),
        (
            "mtp block number",
            |vc, _| vc["proof"][1]["issuerData"]["state"]["blockNumber"] = json!(3),
            MTP,
        ),
        (
            "mtp block timestamp",
            |vc, _| vc["proof"][1]["issuerData"]["state"]["blockTimestamp"] = json!(1),
            MTP,
        ),
        (
            "mtp coreClaim",
            |vc, _| edit_core_claim(vc, 1, |c| c.set_expiration(Some(1))),
            CORE_CLAIM,
        ),
        (
            "mtp issuer",
            |vc, _| vc["proof"][1]["issuerData"]["id"] = json!(Issuer::new(9).did),
            MTP,
        ),
        (
            "status type",
            |vc, _| vc["credentialStatus"]["type"] = json!("Iden3commRevocationStatusV1.0"),
            REVOCATION,
        ),
        (
            "no status",
            |vc, _| {
                vc.as_object_mut().unwrap().remove("credentialStatus");
            },
            REVOCATION,
        ),
    ];
    let mut missed = Vec::new();
    for (why, tamper, check) in cases {
        let f = fixture();
        let mut vc = f.published.clone();
        tamper(&mut vc, &f);
        assert_ne!(vc, f.published, "{why}: the row changes nothing");
        let r = run(verify(&vc, &f.ctx)).unwrap_or_else(|e| panic!("{why}: {e}"));
        if r.valid || r.check(check).map(|c| c.status) != Some(CheckStatus::Fail) {
            missed.push(format!("{why} ({check}): {:?}", statuses(&r)));
        }
    }
    assert!(missed.is_empty(), "not caught:\n{}", missed.join("\n"));

    // A key of the forger's own: the signature and its state hold together, but that state is
    // not the issuer's on chain.
    let f = fixture();
    let mut vc = f.signed.clone();
    let claim = Claim::from_hex(vc["proof"][0]["coreClaim"].as_str().unwrap()).unwrap();
    let ob = &other.onboarding;
    vc["proof"][0]["signature"] = json!(other.key.sign_poseidon(claim.core_claim_hash()).to_hex());
    vc["proof"][0]["issuerData"]["authCoreClaim"] = json!(other_auth);
    vc["proof"][0]["issuerData"]["state"] = json!({
        "rootOfRoots": ob.roots_root.to_le_hex(),
        "revocationTreeRoot": ob.revocation_root.to_le_hex(),
        "claimsTreeRoot": ob.claims_root.to_le_hex(),
        "value": ob.state.to_le_hex(),
    });
    let r = run(verify(&vc, &f.ctx)).unwrap();
    assert_eq!(r.check(SIGNATURE).unwrap().status, CheckStatus::Pass);
    assert_failed(&r, ISSUER_STATE, "forger's own key");
}

/// iden3 proofs leave the credential's own `id` out of the claim (js-sdk accepts a changed one
/// too); only the issuer's record catches it, so for an issuer hosted elsewhere it passes.
#[test]
fn the_credential_id_is_bound_only_by_the_issuers_record() {
    let mut f = fixture();
    let mut vc = f.published.clone();
    vc["id"] = json!("urn:00000000-0000-4000-8000-000000000000");
    assert_failed(&run(verify(&vc, &f.ctx)).unwrap(), ISSUER_RECORD, "hosted");
    f.ctx.issued = IssuedRecord::NotHosted;
    let r = run(verify(&vc, &f.ctx)).unwrap();
    assert!(r.valid, "{r:#?}");
    assert_eq!(r.check(ISSUER_RECORD).unwrap().status, CheckStatus::Skipped);
    // A hosted issuer that never issued this claim: a forgery, even if everything else held.
    f.ctx.issued = IssuedRecord::Unknown;
    assert_failed(
        &run(verify(&f.published, &f.ctx)).unwrap(),
        ISSUER_RECORD,
        "unknown",
    );
}

#[test]
fn a_revoked_credential_fails_revocation() {
    let f = issue(Issuer::new(7), None, &[4_503_599_627_370_449]);
    let r = run(verify(&f.published, &f.ctx)).unwrap();
    assert_failed(&r, REVOCATION, "revoked");
    let detail = &r.check(REVOCATION).unwrap().detail;
    assert!(detail.starts_with("revoked"), "{detail}");
    // Everything else still holds: the credential was genuine.
    assert!(statuses(&r)
        .iter()
        .all(|(n, s)| n == REVOCATION || *s == CheckStatus::Pass));
    assert_eq!(r.check(EXPIRATION).unwrap().detail, "no expiration");
}

#[test]
fn a_revoked_auth_key_fails_revocation() {
    // The auth claim's nonce is 0.
    let f = issue(Issuer::new(7), None, &[0]);
    let r = run(verify(&f.published, &f.ctx)).unwrap();
    assert_failed(&r, REVOCATION, "auth key revoked");
    assert!(r.check(REVOCATION).unwrap().detail.contains("auth key"));
}

#[test]
fn a_revocation_status_must_be_current_consistent_and_on_chain() {
    // A status served at a state the chain does not know.
    let mut f = fixture();
    f.ctx.trees.transition(&[], &[555]);
    let r = run(verify(&f.published, &f.ctx)).unwrap();
    assert_failed(&r, REVOCATION, "status state not on chain");

    // A status at a state replaced two hours ago (the issuer revoked since).
    let mut f = fixture();
    let stale = f.ctx.trees.clone();
    f.ctx.trees.transition(&[], &[f.nonce]);
    f.ctx
        .states
        .publish(f.issuer.id, f.ctx.trees.state(), 12, NOW as u64 - 7200);
    f.ctx.trees = stale;
    let r = run(verify(&f.published, &f.ctx)).unwrap();
    assert_failed(&r, REVOCATION, "stale status");
    assert!(r
        .check(REVOCATION)
        .unwrap()
        .detail
        .contains("more than an hour"));

    // ...but one replaced a minute ago still counts.
    let mut f = fixture();
    let recent = f.ctx.trees.clone();
    f.ctx.trees.transition(&[], &[999]);
    f.ctx
        .states
        .publish(f.issuer.id, f.ctx.trees.state(), 12, NOW as u64 - 60);
    f.ctx.trees = recent;
    let r = run(verify(&f.published, &f.ctx)).unwrap();
    assert!(r.valid, "{r:#?}");
}

/// A change to a revocation status.
type Lie = fn(&mut Value);

/// A context whose revocation status lies about the roots.
struct LyingStatus(TestCtx, Lie);

#[async_trait]
impl VerifyContext for LyingStatus {
    async fn merklize(&self, document: &Value) -> Result<MerklizedCredential, LookupError> {
        self.0.merklize(document).await
    }
    fn states(&self) -> &dyn IdentityStates {
        self.0.states()
    }
    async fn revocation_status(&self, issuer: &str, nonce: u64) -> Result<Value, LookupError> {
        let mut v = self.0.revocation_status(issuer, nonce).await?;
        (self.1)(&mut v);
        Ok(v)
    }
    async fn issued(&self, issuer: &str, hash: &str) -> Result<IssuedRecord, LookupError> {
        self.0.issued(issuer, hash).await
    }
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

#[test]
fn a_revocation_status_is_checked_not_trusted() {
    let lies: Vec<(&str, Lie)> = vec![
        ("state value", |v| {
            v["issuer"]["state"] = json!(Fr::from_u64(3).to_le_hex())
        }),
        ("revocation root", |v| {
            v["issuer"]["revocationTreeRoot"] = json!(Fr::ZERO.to_le_hex())
        }),
        ("siblings", |v| v["mtp"]["siblings"] = json!(["7"])),
        ("not an object", |v| *v = json!("ok")),
    ];
    for (why, lie) in lies {
        let f = fixture();
        let ctx = LyingStatus(f.ctx, lie);
        let r = run(verify(&f.published, &ctx)).unwrap();
        assert_failed(&r, REVOCATION, why);
    }
}

#[test]
fn an_expired_credential_fails_expiration_only() {
    let f = issue(Issuer::new(7), Some(now() - Duration::seconds(1)), &[]);
    let r = run(verify(&f.published, &f.ctx)).unwrap();
    assert_failed(&r, EXPIRATION, "expired");
    assert_eq!(
        r.check(EXPIRATION).unwrap().detail,
        format!("expired at {}", iso_millis(now() - Duration::seconds(1)))
    );
    assert_eq!(r.check(CORE_CLAIM).unwrap().status, CheckStatus::Pass);
}

#[test]
fn an_issuer_state_missing_from_chain_fails() {
    let mut f = fixture();
    f.ctx.states = FakeStates::default();
    let r = run(verify(&f.published, &f.ctx)).unwrap();
    assert_failed(&r, ISSUER_STATE, "nothing on chain");
    assert_failed(&r, MTP, "nothing on chain");
    assert_failed(&r, REVOCATION, "nothing on chain");
    assert_eq!(r.check(SIGNATURE).unwrap().status, CheckStatus::Pass);
}

#[test]
fn an_unreachable_chain_is_an_error_not_a_verdict() {
    let mut f = fixture();
    f.ctx.states.down = true;
    assert!(matches!(
        run(verify(&f.published, &f.ctx)),
        Err(VerifyError::Unavailable(_))
    ));
}

#[test]
fn bodies_that_are_not_credentials_are_refused() {
    let f = fixture();
    let mut cases = vec![
        json!(null),
        json!("vc"),
        json!([f.published.clone()]),
        json!({}),
    ];
    for member in ["@context", "type", "credentialSubject", "issuer", "proof"] {
        let mut vc = f.published.clone();
        vc.as_object_mut().unwrap().remove(member);
        cases.push(vc);
    }
    for (member, value) in [
        ("proof", json!([])),
        ("proof", json!(["x"])),
        ("proof", json!("x")),
        ("issuer", json!({"id": 1})),
        ("credentialSubject", json!("x")),
    ] {
        let mut vc = f.published.clone();
        vc[member] = value;
        cases.push(vc);
    }
    for body in cases {
        match run(verify(&body, &f.ctx)) {
            Err(VerifyError::NotACredential(m)) => {
                assert!(m.starts_with("Not a verifiable credential"), "{m}")
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn malformed_members_fail_checks_without_panicking() {
    let f = fixture();
    let cases: Vec<(&str, Value)> = vec![
        ("expirationDate", json!("tomorrow")),
        ("expirationDate", json!(5)),
        (
            "credentialStatus",
            json!({"type": "SparseMerkleTreeProof", "revocationNonce": -1}),
        ),
        (
            "credentialStatus",
            json!({"type": "SparseMerkleTreeProof", "revocationNonce": "1"}),
        ),
        ("credentialSubject", json!({"id": 5})),
        ("credentialSubject", json!({"id": "did:air:id:test:nope"})),
        ("proof", json!([{"type": "BJJSignature2021"}])),
        (
            "proof",
            json!([{"type": "BJJSignature2021", "coreClaim": "zz", "issuerData": 3}]),
        ),
        (
            "proof",
            json!([{"type": "Iden3SparseMerkleTreeProof", "coreClaim": "00", "mtp": 1}]),
        ),
        ("proof", json!([{"type": "SomethingElse"}])),
        ("@context", json!(42)),
        ("issuer", json!("not a did")),
    ];
    for (member, value) in cases {
        let mut vc = f.published.clone();
        vc[member] = value.clone();
        let r = run(verify(&vc, &f.ctx)).unwrap_or_else(|e| panic!("{member}={value}: {e}"));
        assert!(!r.valid, "{member}={value}: {r:#?}");
    }
}

/// js-sdk's own credential (`iden3/tests/vectors/js-sdk-vc.json`, issued by
/// @0xpolygonid/js-sdk 1.45.0 for a BJJ identity): its claim, signature and Merkle tree proof
/// verify here, with the chain holding the state its Merkle tree proof names.
#[test]
fn a_js_sdk_credential_verifies() {
    let vc: Value =
        serde_json::from_str(include_str!("../../../iden3/tests/vectors/js-sdk-vc.json")).unwrap();
    let issuer = vc["issuer"].as_str().unwrap();
    let id = DidRegistry::default().parse(issuer).unwrap().id();
    let mtp_state = &vc["proof"][1]["issuerData"]["state"];
    let mut states = FakeStates::default();
    states.publish(
        id,
        Fr::from_le_hex(mtp_state["value"].as_str().unwrap()).unwrap(),
        mtp_state["blockNumber"].as_u64().unwrap(),
        mtp_state["blockTimestamp"].as_u64().unwrap(),
    );
    let ctx = TestCtx {
        merklizer: Merklizer::new(),
        states,
        trees: Trees::new(),
        issued: IssuedRecord::NotHosted,
        now: now(),
        limits: VerifyLimits::DEFAULT,
    };
    let r = run(verify(&vc, &ctx)).unwrap();
    for name in [CORE_CLAIM, SIGNATURE, ISSUER_STATE, MTP, EXPIRATION] {
        assert_eq!(
            r.check(name).unwrap().status,
            CheckStatus::Pass,
            "{name}: {r:#?}"
        );
    }
    assert_eq!(r.check(ISSUER_RECORD).unwrap().status, CheckStatus::Skipped);
    // The signature's state is the issuer's genesis state (a BJJ identity), never published.
    assert!(r
        .check(ISSUER_STATE)
        .unwrap()
        .detail
        .contains("genesis state"));
    // Our empty revocation tree is not that issuer's: its revocation status cannot hold.
    assert_eq!(r.check(REVOCATION).unwrap().status, CheckStatus::Fail);
}

#[test]
fn the_report_serialises_in_the_api_shape() {
    let f = fixture();
    let r = run(verify(&f.signed, &f.ctx)).unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["valid"], json!(true));
    assert_eq!(v["checks"][0]["name"], json!("core_claim"));
    assert_eq!(v["checks"][0]["status"], json!("pass"));
    assert_eq!(v["checks"][3]["status"], json!("skipped"));
    assert!(v["checks"][0]["detail"].is_string());
}

fn limit_of(r: Result<VerificationReport, VerifyError>) -> (&'static str, String) {
    match r {
        Err(e @ VerifyError::LimitExceeded { .. }) => {
            let VerifyError::LimitExceeded { limit, .. } = &e else {
                unreachable!()
            };
            (limit, e.to_string())
        }
        other => panic!("expected a limit, got {other:?}"),
    }
}

#[test]
fn bodies_over_a_work_limit_are_refused_naming_it() {
    let f = fixture();
    let started = std::time::Instant::now();
    // Mutually referencing blank nodes: past the JSON pre-scan, refused by the merklizer's
    // work bound before canonicalisation (8 of them took 16 s unbounded).
    let (limit, message) = limit_of(run(verify(&all_referencing(&f.published, 8), &f.ctx)));
    assert_eq!(limit, "max_normalization_work");
    assert!(
        message.starts_with("Verification limit max_normalization_work exceeded: "),
        "{message}"
    );
    // Too many for the pre-scan: refused before merklizing.
    let (limit, _) = limit_of(run(verify(&all_referencing(&f.published, 40), &f.ctx)));
    assert_eq!(limit, limits::MAX_BLANK_NODES);
    let mut deep = f.published.clone();
    deep["credentialSubject"]["deep"] = (0..20).fold(
        json!(1),
        |inner, _| json!({ "https://example.org/d": inner }),
    );
    assert_eq!(limit_of(run(verify(&deep, &f.ctx))).0, limits::MAX_DEPTH);
    let mut proofs = f.published.clone();
    let one = proofs["proof"][0].clone();
    proofs["proof"] = Value::Array(vec![one; 5]);
    assert_eq!(limit_of(run(verify(&proofs, &f.ctx))).0, limits::MAX_PROOFS);
    let mut values = f.published.clone();
    values["credentialSubject"]["list"] = json!(vec![0; 5000]);
    assert_eq!(limit_of(run(verify(&values, &f.ctx))).0, limits::MAX_VALUES);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Not a credential stays a 400, checked first.
    let mut not_vc = all_referencing(&f.published, 8);
    not_vc.as_object_mut().unwrap().remove("proof");
    assert!(matches!(
        run(verify(&not_vc, &f.ctx)),
        Err(VerifyError::NotACredential(_))
    ));
}

#[test]
fn the_context_sets_the_limits() {
    let mut f = fixture();
    // The genuine credential has two proofs.
    run(verify(&f.published, &f.ctx)).unwrap();
    f.ctx.limits.max_proofs = 1;
    let (limit, message) = limit_of(run(verify(&f.published, &f.ctx)));
    assert_eq!(limit, limits::MAX_PROOFS);
    assert!(message.contains("2 proofs, at most 1"), "{message}");
    f.ctx.limits = VerifyLimits {
        max_depth: 4,
        ..VerifyLimits::DEFAULT
    };
    assert_eq!(
        limit_of(run(verify(&f.published, &f.ctx))).0,
        limits::MAX_DEPTH
    );
}

#[test]
fn each_state_is_asked_once_per_verification() {
    let f = fixture();
    let r = run(verify(&f.published, &f.ctx)).unwrap();
    assert!(r.valid, "{r:#?}");
    let asked = f.ctx.states.asked.lock().unwrap().clone();
    // issuer_state, mtp and revocation all read the issuer's state(s).
    assert!(!asked.is_empty());
    let distinct: std::collections::HashSet<_> = asked.iter().collect();
    assert_eq!(distinct.len(), asked.len(), "asked twice: {asked:?}");
}
