//! Interop: claimd-merklize against the reference iden3 stack (@iden3/js-jsonld-merklization
//! 1.7.2 on jsonld.js 8.3.3), run through `node interop/merklize/merklize.mjs`.
//!
//! Needs the npm packages in `interop/node_modules` (`npm ci --prefix interop`).

mod common;

use std::path::PathBuf;
use std::process::Command;

use claimd_merklize::{MerklizeError, Merklizer, PathPart};
use common::gen;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the JS oracle on `docs` (with extra `contexts`), one result object per document.
fn run_js(docs: &[Value], contexts: Value) -> Vec<Value> {
    run_js_with_paths(docs, contexts, &[])
}

/// [`run_js`], also resolving document `paths` with `Path.fromDocument`.
fn run_js_with_paths(docs: &[Value], contexts: Value, paths: &[&str]) -> Vec<Value> {
    let root = repo_root();
    assert!(
        root.join("interop/node_modules/@iden3/js-jsonld-merklization")
            .is_dir(),
        "interop/node_modules is missing: run `npm ci --prefix interop` in the repository root"
    );
    let input = json!({ "docs": docs, "contexts": contexts, "paths": paths });
    let path = std::env::temp_dir().join(format!(
        "claimd-merklize-interop-{}-{}.json",
        std::process::id(),
        docs.len()
    ));
    std::fs::write(&path, serde_json::to_vec(&input).unwrap()).unwrap();
    let out = Command::new("node")
        .arg(root.join("interop/merklize/merklize.mjs"))
        .arg(&path)
        .output()
        .expect("failed to run node (is Node.js installed?)");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("oracle output");
    assert_eq!(results.len(), docs.len());
    results
}

fn sample_vc() -> Value {
    let mut vc: Value =
        serde_json::from_str(include_str!("data/js-sdk-vc.json")).expect("sample VC");
    vc.as_object_mut().unwrap().remove("proof");
    vc
}

fn sample_meta() -> Value {
    serde_json::from_str(include_str!("data/js-sdk-vc.meta.json")).expect("sample meta")
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn sample_vc_root_matches_js_sdk_and_js_merklizer() {
    let mz = Merklizer::new();
    let vc = sample_vc();
    let expected = sample_meta()["merklizedRoot"].as_str().unwrap().to_owned();

    let generic = mz.merklize_generic(&vc).unwrap();
    assert_eq!(generic.root().to_string(), expected);
    let fast = mz.merklize_fast(&vc).unwrap().expect("fast path applies");
    assert_eq!(fast.root().to_string(), expected);
    assert_eq!(fast.entries(), generic.entries());
    let both = mz.merklize(&vc).unwrap();
    assert_eq!(both.root().to_string(), expected);
    assert_eq!(
        both.credential_type_iri(),
        Some("urn:uuid:a3b866eb-db67-472a-8fe4-5f796aff4d4b")
    );

    let js = run_js(&[vc], json!({}));
    assert_eq!(js[0]["root"], json!(expected));
    assert_eq!(
        js[0]["nquads"].as_str().unwrap(),
        generic.canonical_nquads()
    );
    assert_eq!(js[0]["typeIri"], json!(both.credential_type_iri()));
}

#[test]
fn golden_nquads_sha256_from_the_spike() {
    // SHA-256 of the canonical N-Quads jsonld.js 8.3.3 produces for the same document.
    let mz = Merklizer::new();
    let vc1 = sample_vc();
    let mut vc2 = vc1.clone();
    vc2["credentialSubject"]["age"] = json!(26);
    vc2["issuanceDate"] = json!("2027-03-14T09:26:53.589Z");
    for (vc, golden) in [
        (
            &vc1,
            "99f485a2c3efb8098f2e5339b7c6546cb8f1a3e5a90f97e3d5299fabdb42f742",
        ),
        (
            &vc2,
            "b0732a2321d942c9711c906374f81d248dd5e72386cef42d301d3387e0db9ed8",
        ),
    ] {
        assert_eq!(sha256_hex(&mz.canonize(vc).unwrap()), golden);
        let fast = mz.merklize_fast(vc).unwrap().expect("fast path applies");
        assert_eq!(sha256_hex(&fast.canonical_nquads()), golden);
    }
}

/// Compares fast, generic, combined and JS on every document; returns how many the fast path
/// handled.
fn compare_all(mz: &Merklizer, docs: &[Value], contexts: Value) -> (usize, usize) {
    let js = run_js(docs, contexts);
    let mut fast_hits = 0;
    let mut js_ok = 0;
    for (i, (doc, js)) in docs.iter().zip(&js).enumerate() {
        let generic = mz.merklize_generic(doc);
        let combined = mz.merklize(doc);
        let fast = mz.merklize_fast(doc);
        match js.get("root").and_then(Value::as_str) {
            Some(root) => {
                js_ok += 1;
                let g = generic.unwrap_or_else(|e| panic!("doc {i}: generic failed: {e}\n{doc}"));
                assert_eq!(
                    g.canonical_nquads(),
                    js["nquads"].as_str().unwrap(),
                    "doc {i}: N-Quads differ\n{doc}"
                );
                assert_eq!(g.root().to_string(), root, "doc {i}: generic root\n{doc}");
                let c = combined.unwrap_or_else(|e| panic!("doc {i}: merklize failed: {e}"));
                assert_eq!(c.root().to_string(), root, "doc {i}: merklize root\n{doc}");
                // js-sdk only yields one IRI for well-formed credentials (for a repeated subject
                // type it returns an array); compare where it does.
                if let Some(t) = js["typeIri"].as_str() {
                    assert_eq!(c.credential_type_iri(), Some(t), "doc {i}: type IRI\n{doc}");
                }
                if let Some(f) = fast.unwrap_or_else(|e| panic!("doc {i}: fast failed: {e}")) {
                    fast_hits += 1;
                    assert_eq!(f.root().to_string(), root, "doc {i}: fast root\n{doc}");
                    assert_eq!(f.entries(), g.entries(), "doc {i}: fast entries\n{doc}");
                }
            }
            None => {
                let msg = js["error"].as_str().unwrap_or_default();
                assert!(
                    generic.is_err(),
                    "doc {i}: JS failed ({msg}) but generic succeeded\n{doc}"
                );
                assert!(
                    combined.is_err(),
                    "doc {i}: JS failed ({msg}) but merklize succeeded\n{doc}"
                );
                assert!(
                    !matches!(fast, Ok(Some(_))),
                    "doc {i}: JS failed ({msg}) but the fast path succeeded\n{doc}"
                );
            }
        }
    }
    (fast_hits, js_ok)
}

/// [`compare_all`] on random credentials the fast path is meant for: at least `min_valid` of
/// them valid, and every valid one handled by the fast path.
fn assert_fast_path_matches_js(mz: &Merklizer, docs: &[Value], contexts: Value, min_valid: usize) {
    let (fast_hits, js_ok) = compare_all(mz, docs, contexts);
    assert!(js_ok >= min_valid, "too few valid documents: {js_ok}");
    assert_eq!(
        fast_hits, js_ok,
        "the fast path must handle every valid document"
    );
}

#[test]
fn randomised_interop_credentials_match_js() {
    let docs = gen::docs(0x00c1_a1d0, 300, gen::interop_vc);
    assert_fast_path_matches_js(&Merklizer::new(), &docs, json!({}), 250);
}

#[test]
fn randomised_registered_schema_credentials_match_js() {
    let mz = Merklizer::new();
    let ctx = gen::kyc_context();
    mz.register_context(gen::KYC_URL, &ctx.to_string()).unwrap();
    let docs = gen::docs(0x6b79_6321, 200, gen::kyc_vc);
    assert_fast_path_matches_js(&mz, &docs, json!({ gen::KYC_URL: ctx }), 150);
}

/// Documents outside the fast path (blank nodes, value objects, odd IRIs, safe-mode errors):
/// the combined API must still agree with JS, through the generic fallback.
#[test]
fn edge_cases_match_js() {
    let mz = Merklizer::new();
    let base = sample_vc();
    let mut docs = Vec::new();
    let mut edit = |f: &dyn Fn(&mut Value)| {
        let mut d = base.clone();
        f(&mut d);
        docs.push(d);
    };
    edit(&|d| {
        d["credentialSubject"].as_object_mut().unwrap().remove("id");
    });
    edit(&|d| d["credentialSubject"]["location"] = json!(""));
    edit(&|d| d["credentialSubject"]["age"] = json!(18.5));
    edit(&|d| d["credentialSubject"]["age"] = json!(25.0));
    edit(&|d| d["credentialSubject"]["age"] = json!("0x1f"));
    edit(&|d| d["credentialSubject"]["age"] = json!("abc"));
    edit(&|d| d["credentialSubject"]["isMember"] = json!("true"));
    edit(&|d| d["credentialSubject"]["isMember"] = json!("yes"));
    edit(&|d| d["credentialSubject"]["undefinedTerm"] = json!(1));
    edit(&|d| d["credentialSchema"]["id"] = json!("InteropMembership-v1.json"));
    edit(&|d| d["id"] = json!("relative-id"));
    edit(&|d| d["issuer"] = json!("did:example:with space"));
    edit(&|d| d["issuer"] = json!("did:example:a|b"));
    edit(&|d| d["issuanceDate"] = json!("2026-11-25T22:27:25"));
    edit(&|d| d["issuanceDate"] = json!("not a date"));
    edit(&|d| {
        d["credentialSubject"]["age"] =
            json!({"@value": 5, "@type": "http://www.w3.org/2001/XMLSchema#integer"})
    });
    edit(&|d| d["credentialSubject"]["location"] = json!(["Lisbon", "Porto", "Faro"]));
    edit(&|d| d["credentialSubject"]["location"] = json!(["same", "same"]));
    // Not here: repeated *typed* values (`[18, "18"]`, `[18, 18.0]` on an xsd:integer term).
    // jsonld.js merges equal JSON values and keeps different ones that give the same quad; the
    // quads cannot tell the two apart, so the generic pipeline refuses such documents (typed
    // error) instead of guessing. Repeated strings and IRIs are merged like jsonld.js does.
    edit(&|d| {
        d["type"] = json!([
            "VerifiableCredential",
            "InteropMembership",
            "InteropMembership"
        ])
    });
    edit(&|d| d["credentialSubject"]["id"] = d["issuer"].clone());
    edit(&|d| d["credentialStatus"]["revocationNonce"] = json!(9007199254740993u64));
    edit(&|d| d["credentialStatus"]["revocationNonce"] = json!(3.283992893e9));
    edit(&|d| d["credentialSubject"]["type"] = json!(["InteropMembership", "InteropMembership"]));
    edit(&|d| d["type"] = json!("VerifiableCredential"));
    edit(&|d| {
        d["credentialSubject"]["type"] = json!("VerifiableCredential");
    });
    edit(&|d| d["@context"][2] = json!("https://unknown.example/ctx.jsonld"));
    edit(&|d| d["credentialStatus"]["id"] = json!("_:b0"));
    edit(&|d| d["issuer"] = json!({"id": "did:example:issuer", "type": "JsonSchema2023"}));
    // The issuer's AuthBJJCredential (auth.jsonld context; its subject has no id, so this is
    // a blank node and goes through the generic pipeline).
    let mut auth = sample_meta()["issuer_auth_credential"].clone();
    auth.as_object_mut().unwrap().remove("proof");
    assert!(mz.merklize_fast(&auth).unwrap().is_none());
    docs.push(auth);
    let (_, js_ok) = compare_all(&mz, &docs, json!({}));
    assert!(js_ok > 5);
}

/// Damaged credentials: JS and Rust must agree on accepting or refusing each, and on the root.
#[test]
fn mutated_credentials_match_js() {
    let docs = gen::docs(0x05af_e0de, 400, gen::mutated_vc);
    let (_, js_ok) = compare_all(&Merklizer::new(), &docs, json!({}));
    assert!(js_ok >= 10, "too few valid documents: {js_ok}");
}

#[test]
fn document_paths_resolve_like_js() {
    let mz = Merklizer::new();
    let mut docs = vec![sample_vc()];
    docs.extend(gen::docs(0x7a7b, 20, gen::interop_vc));
    let paths = [
        "credentialSubject.age",
        "credentialSubject.location",
        "credentialSubject.isMember",
        "credentialSubject.id",
        "credentialSubject.type",
        "credentialSubject.nothing",
        "credentialStatus.revocationNonce",
        "credentialStatus.id",
        "credentialSchema.id",
        "issuanceDate",
        "expirationDate",
        "type",
        "type.1",
        "issuer",
        "displayMethod.id",
        "refreshService.type",
    ];
    let js = run_js_with_paths(&docs, json!({}), &paths);
    let mut resolved = 0;
    for (doc, js) in docs.iter().zip(&js) {
        for p in paths {
            let expected = &js["paths"][p];
            match mz.resolve_path(doc, p) {
                Ok(parts) => {
                    let parts: Vec<Value> = parts
                        .iter()
                        .map(|x| match x {
                            PathPart::Iri(s) => json!(s),
                            PathPart::Index(i) => json!(i),
                        })
                        .collect();
                    assert_eq!(&json!(parts), expected, "{p}\n{doc}");
                    resolved += 1;
                    // Where the value is merklized, the proof verifies against the root.
                    let m = mz.merklize(doc).unwrap();
                    let path = mz.resolve_path(doc, p).unwrap();
                    let (proof, entry) = m.proof(&path).unwrap();
                    if let Some(e) = entry {
                        assert!(proof.verify(m.root(), e.key, e.value_hash));
                    }
                }
                Err(e) => assert!(
                    expected.get("error").is_some(),
                    "{p}: Rust failed ({e}), JS gave {expected}\n{doc}"
                ),
            }
        }
    }
    assert!(resolved > 200, "{resolved}");
}

#[test]
fn safe_mode_errors_are_typed() {
    let mz = Merklizer::new();
    let mut d = sample_vc();
    d["credentialSubject"]["undefinedTerm"] = json!(1);
    assert!(matches!(
        mz.merklize(&d),
        Err(MerklizeError::UndefinedTerm(_))
    ));

    let mut d = sample_vc();
    d["credentialSchema"]["id"] = json!("InteropMembership-v1.json");
    assert!(matches!(
        mz.merklize(&d),
        Err(MerklizeError::RelativeIri(_))
    ));

    let mut d = sample_vc();
    d["@context"][2] = json!("https://unknown.example/ctx.jsonld");
    assert_eq!(
        mz.merklize(&d).unwrap_err(),
        MerklizeError::UnknownContext("https://unknown.example/ctx.jsonld".into())
    );

    let mut d = sample_vc();
    d["credentialSubject"]["isMember"] = json!("yes");
    assert!(matches!(
        mz.merklize(&d),
        Err(MerklizeError::InvalidValue { .. })
    ));
}
