//! API behaviour that needs no JS oracle: fallbacks, registration, caching, proofs, threads.

mod common;

use std::sync::Arc;

use claimd_merklize::{MerklizeError, Merklizer, PathPart};
use common::gen::{self, Rng};
use serde_json::{json, Value};

fn sample_vc() -> Value {
    let mut vc: Value = serde_json::from_str(include_str!("data/js-sdk-vc.json")).unwrap();
    vc.as_object_mut().unwrap().remove("proof");
    vc
}

const SAMPLE_ROOT: &str =
    "7132382568357122359773234253257716200903566529051577018628349571063497896476";

#[test]
fn blank_nodes_fall_back_to_the_generic_pipeline() {
    let mz = Merklizer::new();
    let mut vc = sample_vc();
    vc["credentialSubject"]
        .as_object_mut()
        .unwrap()
        .remove("id");
    assert!(mz.merklize_fast(&vc).unwrap().is_none());
    let m = mz.merklize(&vc).unwrap();
    assert_eq!(m.root(), mz.merklize_generic(&vc).unwrap().root());
    assert!(m.canonical_nquads().contains("_:c14n0"));
}

#[test]
fn unknown_context_is_a_typed_error_on_every_path() {
    let mz = Merklizer::new();
    let mut vc = sample_vc();
    vc["@context"][2] = json!("https://nowhere.example/ctx.jsonld");
    assert!(mz.merklize_fast(&vc).unwrap().is_none());
    let err = MerklizeError::UnknownContext("https://nowhere.example/ctx.jsonld".into());
    assert_eq!(mz.merklize(&vc).unwrap_err(), err);
    assert_eq!(mz.merklize_generic(&vc).unwrap_err(), err);
}

#[test]
fn re_registering_a_context_invalidates_the_fast_path_memo() {
    let mz = Merklizer::new();
    let url = "https://issuer.claimd.example/v1/schemas/x.jsonld";
    let ctx = |vocab: &str| {
        json!({"@context": [{
            "@protected": true, "@version": 1.1, "id": "@id", "type": "@type",
            "X": {"@id": format!("urn:{vocab}"), "@context": {
                "@propagate": true, "@protected": true,
                "v": format!("urn:{vocab}#"),
                "xsd": "http://www.w3.org/2001/XMLSchema#",
                "n": {"@id": "v:n", "@type": "xsd:integer"}
            }}
        }]})
        .to_string()
    };
    let mut vc = sample_vc();
    vc["@context"][2] = json!(url);
    vc["type"] = json!(["VerifiableCredential", "X"]);
    vc["credentialSubject"] = json!({"id": "did:example:1", "n": 5, "type": "X"});

    mz.register_context(url, &ctx("a")).unwrap();
    let a = mz.merklize(&vc).unwrap();
    assert_eq!(a.credential_type_iri(), Some("urn:a"));
    mz.register_context(url, &ctx("b")).unwrap();
    let b = mz.merklize(&vc).unwrap();
    assert_eq!(b.credential_type_iri(), Some("urn:b"));
    assert_ne!(a.root(), b.root());
    assert_eq!(b.root(), mz.merklize_generic(&vc).unwrap().root());
    assert_eq!(
        mz.merklize_fast(&vc).unwrap().unwrap().root(),
        b.root(),
        "fast path sees the new context"
    );
}

#[test]
fn merklize_credential_ignores_the_proof_and_stats_count_paths() {
    let mz = Merklizer::new();
    let with_proof: Value = serde_json::from_str(include_str!("data/js-sdk-vc.json")).unwrap();
    assert_eq!(
        mz.merklize_credential(&with_proof)
            .unwrap()
            .root()
            .to_string(),
        SAMPLE_ROOT
    );
    let mut blank = sample_vc();
    blank["credentialSubject"]
        .as_object_mut()
        .unwrap()
        .remove("id");
    mz.merklize(&blank).unwrap();
    let s = mz.stats();
    assert_eq!((s.fast, s.generic, s.fast_path_disabled), (1, 1, 0));
}

#[test]
fn invalid_registrations_are_refused() {
    let mz = Merklizer::new();
    assert!(matches!(
        mz.register_context("https://x.example/c.jsonld", "not json"),
        Err(MerklizeError::InvalidContext { .. })
    ));
    assert!(matches!(
        mz.register_context("relative.jsonld", "{}"),
        Err(MerklizeError::InvalidContext { .. })
    ));
}

#[test]
fn entry_proofs_verify_against_the_root() {
    let mz = Merklizer::new();
    let m = mz.merklize(&sample_vc()).unwrap();
    assert_eq!(m.root().to_string(), SAMPLE_ROOT);
    assert_eq!(m.entries().len(), 15);
    let age = vec![
        PathPart::Iri("https://www.w3.org/2018/credentials#credentialSubject".into()),
        PathPart::Iri("urn:uuid:a3b866eb-db67-472a-8fe4-5f796aff4d4b#age".into()),
    ];
    let (proof, entry) = m.proof(&age).unwrap();
    let entry = entry.expect("age is merklized");
    assert_eq!(entry.value, claimd_merklize::MtValue::Integer(18u64.into()));
    assert!(proof.existence);
    assert!(proof.verify(m.root(), entry.key, entry.value_hash));
    // Array element: the second top-level type.
    let t1 = vec![
        PathPart::Iri("http://www.w3.org/1999/02/22-rdf-syntax-ns#type".into()),
        PathPart::Index(1),
    ];
    let (proof, entry) = m.proof(&t1).unwrap();
    assert!(proof.verify(m.root(), entry.unwrap().key, entry.unwrap().value_hash));
    let (proof, entry) = m.proof(&[PathPart::Iri("urn:absent".into())]).unwrap();
    assert!(!proof.existence && entry.is_none());
}

#[test]
fn shared_across_threads_gives_identical_results() {
    let mz = Arc::new(Merklizer::new());
    let docs = Arc::new(gen::docs(7, 40, gen::interop_vc));
    let expected: Vec<String> = docs
        .iter()
        .map(|d| mz.merklize_generic(d).unwrap().root().to_string())
        .collect();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let mz = mz.clone();
            let docs = docs.clone();
            std::thread::spawn(move || {
                docs.iter()
                    .map(|d| mz.merklize(d).unwrap().root().to_string())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), expected);
    }
}

/// Random damage to a valid credential (odd strings in ids, types, keys and values, wrong JSON
/// types): nothing panics, and whenever the fast path answers, the generic pipeline agrees.
#[test]
fn mutated_credentials_never_panic_and_fast_agrees_with_generic() {
    let mz = Merklizer::new();
    let mut r = Rng::new(0x0bad_c0de);
    let mut checked = 0;
    for _ in 0..150 {
        let d = gen::mutated_vc(&mut r);
        let combined = mz.merklize(&d);
        if let Ok(Some(f)) = mz.merklize_fast(&d) {
            let g = mz
                .merklize_generic(&d)
                .unwrap_or_else(|e| panic!("fast ok, generic failed: {e}\n{d}"));
            assert_eq!(f.canonical_nquads(), g.canonical_nquads(), "{d}");
            assert_eq!(f.root(), g.root(), "{d}");
            assert_eq!(combined.unwrap().root(), g.root());
            checked += 1;
        } else {
            let g = mz.merklize_generic(&d);
            assert_eq!(combined.map(|m| m.root()), g.map(|m| m.root()), "{d}");
        }
    }
    assert!(checked >= 8, "fast path exercised only {checked} times");
}
