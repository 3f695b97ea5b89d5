//! Third-party interop of issued credentials: the real binary issues credentials with randomised
//! attribute values, the VCs are fetched through `GET /v1/credentials/{coreClaimHash}`, and the
//! iden3 reference stack (`interop/credentials/check.mjs`: js-sdk, js-jsonld-merklization,
//! js-iden3-core, js-crypto) recomputes the merklized root, schema hash, core claim and
//! `coreClaimHash`, verifies the BJJ signature and checks the DIDs. Tampered copies must fail.
//!
//! The random seed is printed; set `CLAIMD_INTEROP_SEED=<n>` to replay a run, and
//! `CLAIMD_INTEROP_COUNT=<n>` to issue more (or fewer) randomised credentials per backend.

mod common;

use common::fixture::{Fixture, SchemaSpec, Setup};
use common::Backend;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What check.mjs verifies of the claim: merklized root, schema hash, core claim (js-sdk and
/// field by field), subject DID, coreClaimHash, BJJ signature, the signature proof's issuer data
/// (state, the auth claim's MTP, the auth status nonce), issuer DID, and js-sdk's own
/// verifier-side "proof generated for this credential" check.
const CLAIM_CHECKS: [&str; 10] = [
    "merklizedRoot",
    "schemaHash",
    "coreClaimJsSdk",
    "coreClaimManual",
    "subjectDid",
    "coreClaimHash",
    "signature",
    "issuerState",
    "issuerDid",
    "jsSdkCoreClaimMatch",
];
/// Whether js-sdk as a wallet loads the VC with its proofs (`W3CCredential.fromJSON`).
const WALLET_CHECK: &str = "jsSdkLoadsProof";

fn all_checks() -> impl Iterator<Item = &'static str> {
    CLAIM_CHECKS.into_iter().chain([WALLET_CHECK])
}

/// Runs check.mjs on `{credentials, schemaContexts}`; returns its report. Fails (never skips)
/// when Node or the npm packages are missing.
fn run_check(credentials: &[(Value, String)], schema_contexts: &Map<String, Value>) -> Value {
    let input = json!({
        "credentials": credentials
            .iter()
            .map(|(vc, hash)| json!({"vc": vc, "coreClaimHash": hash}))
            .collect::<Vec<_>>(),
        "schemaContexts": schema_contexts,
    });
    let report = common::node_check(&input);
    let results = report["credentials"]
        .as_array()
        .expect("report.credentials");
    assert_eq!(results.len(), credentials.len());
    for r in results {
        for name in all_checks() {
            assert!(
                r["checks"][name]["ok"].is_boolean(),
                "check {name} missing from {r}"
            );
        }
        assert_eq!(
            r["ok"].as_bool().unwrap(),
            all_checks().all(|c| r["checks"][c]["ok"] == json!(true))
        );
    }
    // Only the bundled contexts and the schema contexts handed over were ever requested.
    for url in report["documentsLoaded"].as_array().unwrap() {
        let url = url.as_str().unwrap();
        assert!(
            url.starts_with("https://www.w3.org/")
                || url.starts_with("https://schema.iden3.io/")
                || schema_contexts.contains_key(url),
            "check.mjs loaded {url}"
        );
    }
    report
}

/// The names of the claim checks that failed, per credential.
fn failures(report: &Value) -> Vec<Vec<String>> {
    report["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            CLAIM_CHECKS
                .iter()
                .filter(|c| r["checks"][**c]["ok"] != json!(true))
                .map(|c| c.to_string())
                .collect()
        })
        .collect()
}

/// One line per failed check among `checks`, with what the JS stack computed: the test's
/// failure message.
fn describe_failures(report: &Value, credentials: &[(Value, String)], checks: &[&str]) -> String {
    let mut s = String::new();
    for (r, (vc, _)) in report["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .zip(credentials)
    {
        for c in checks {
            if r["checks"][c]["ok"] != json!(true) {
                s.push_str(&format!(
                    "credential {} ({}), subject {}: {c} failed: {}\n",
                    r["index"], vc["id"], vc["credentialSubject"], r["checks"][c]["detail"]
                ));
            }
        }
    }
    s
}

/// A schema with every attribute type.
const ATTRIBUTES: SchemaSpec = SchemaSpec {
    title: "Interop attributes",
    type_name: "InteropAttributes",
    attrs: &[
        "count:integer:required",
        "label:string:required",
        "active:boolean:required",
        "score:number:required",
        "since:date:required",
        "note:string",
    ],
};

/// A server with one partner, one (Ethereum-controlled) issuer and one one-year program of
/// [`ATTRIBUTES`].
async fn fixture(backend: Backend) -> Fixture {
    Fixture::setup(Setup {
        schema: ATTRIBUTES,
        expiration_days: Some(365),
        ..Setup::new(backend)
    })
    .await
}

/// What these tests do with the shared fixture.
trait Interop {
    async fn issue_and_fetch(&self, email: &str, subject: &Map<String, Value>) -> (Value, String);
    async fn try_issue_and_fetch(
        &self,
        email: &str,
        subject: &Map<String, Value>,
    ) -> Result<(Value, String), (u16, Value)>;
    async fn issue_random(&self, prefix: &str, n: usize) -> Vec<(Value, String)>;
    async fn schema_contexts(&self, vc: &Value) -> Map<String, Value>;
}

impl Interop for Fixture {
    /// Issues for `email` and fetches the VC as its recipient sees it.
    async fn issue_and_fetch(&self, email: &str, subject: &Map<String, Value>) -> (Value, String) {
        match self.try_issue_and_fetch(email, subject).await {
            Ok(issued) => issued,
            Err((status, body)) => panic!("issuing {subject:?}: {status} {body}"),
        }
    }

    /// As `issue_and_fetch`, but a refusal is returned as (status, body).
    async fn try_issue_and_fetch(
        &self,
        email: &str,
        subject: &Map<String, Value>,
    ) -> Result<(Value, String), (u16, Value)> {
        let token = self.token(email);
        let (status, body) = self
            .issue_raw(
                Some(&token),
                &self.body(Value::Object(subject.clone())),
                None,
            )
            .await;
        if status != 200 {
            return Err((status, body));
        }
        let hash = body["coreClaimHash"].as_str().unwrap().to_owned();
        let (status, vc) = self
            .get_as(&token, &format!("/v1/credentials/{hash}"))
            .await;
        assert_eq!(status, 200, "GET /v1/credentials/{hash}");
        // The attributes arrive as sent: what JS checks is what the partner asked for.
        for (k, v) in subject {
            assert_eq!(&vc["credentialSubject"][k], v, "attribute {k} of {hash}");
        }
        Ok((vc, hash))
    }

    /// `n` credentials of random subjects (from the run's seed), issued to
    /// `{prefix}{i}@interop.example` and fetched.
    async fn issue_random(&self, prefix: &str, n: usize) -> Vec<(Value, String)> {
        let mut rng = seeded_rng();
        let mut issued = Vec::new();
        for i in 0..n {
            let subject = random_subject(&mut rng);
            issued.push(
                self.issue_and_fetch(&format!("{prefix}{i}@interop.example"), &subject)
                    .await,
            );
        }
        issued
    }

    /// The schema's JSON-LD context, fetched from the running server, keyed by the URL the VCs
    /// name (their third `@context` entry).
    async fn schema_contexts(&self, vc: &Value) -> Map<String, Value> {
        let url = vc["@context"][2].as_str().unwrap().to_owned();
        let path = format!("/v1/schemas/{}.jsonld", self.schema);
        assert!(url.ends_with(&path), "schema context URL {url}");
        let (status, doc) = self.get_public(&path).await;
        assert_eq!(status, 200);
        let mut m = Map::new();
        m.insert(url, doc);
        m
    }
}

fn seeded_rng() -> StdRng {
    let seed = std::env::var("CLAIMD_INTEROP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    eprintln!("interop_credentials seed: CLAIMD_INTEROP_SEED={seed}");
    StdRng::seed_from_u64(seed)
}

const MAX_SAFE: i64 = (1 << 53) - 1;

fn random_integer(rng: &mut StdRng) -> i64 {
    match rng.gen_range(0..8) {
        0 => 0,
        1 => [
            1,
            -1,
            MAX_SAFE,
            -MAX_SAFE,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
        ][rng.gen_range(0..6)],
        2 => rng.gen_range(-MAX_SAFE..=MAX_SAFE),
        3 => rng.gen_range(-1000..0),
        _ => rng.gen_range(-1_000_000..1_000_000),
    }
}

/// Pieces that stress JSON escaping, UTF-8 and normalization: quotes, backslashes, newlines,
/// tabs, control characters, emoji (astral plane), combining marks, right-to-left text.
const STRING_PIECES: [&str; 24] = [
    "\"",
    "\\",
    "\n",
    "\r\n",
    "\t",
    "\u{7}",
    "\u{1f}",
    "🎉",
    "👩‍👩‍👧",
    "𝔘𝔫𝔦",
    "e\u{301}",
    "é",
    "Zürich",
    "東京",
    "مرحبا",
    "Ωμέγα",
    " ",
    "  ",
    "{}[]",
    "<b>&amp;</b>",
    "\\n",
    "'",
    "@id",
    "_:b0",
];

fn random_string(rng: &mut StdRng) -> String {
    // Never empty: an empty string cannot be merklized (js-crypto's hashBytes refuses it, and
    // claimd answers 400), so partners cannot send one.
    let n = rng.gen_range(1..8);
    let mut s = String::new();
    for _ in 0..n {
        if rng.gen_bool(0.4) {
            let len = rng.gen_range(1..10);
            s.extend((0..len).map(|_| rng.gen_range(b'a'..=b'z') as char));
        } else {
            s.push_str(STRING_PIECES[rng.gen_range(0..STRING_PIECES.len())]);
        }
    }
    s
}

/// Decimals as partners send them: a few digits after the point, both signs, and full-range
/// doubles (the shortest round-trip form of a random finite f64).
fn random_number(rng: &mut StdRng) -> f64 {
    match rng.gen_range(0..4) {
        0 => (rng.gen_range(-1_000_000.0..1_000_000.0_f64) * 100.0).round() / 100.0 + 0.01,
        1 => rng.gen_range(-1.0..1.0),
        2 => loop {
            let f = f64::from_bits(rng.gen());
            if f.is_finite() && f != 0.0 {
                break f;
            }
        },
        _ => [0.5, -0.25, 2.71, 1e-7, 123456789.125, 1.5e300, -2.5e-300][rng.gen_range(0..7)],
    }
}

/// A calendar date or an RFC 3339 date-time (UTC or with an offset, with or without
/// milliseconds), between 1970 and 2199.
fn random_date(rng: &mut StdRng) -> String {
    let y = rng.gen_range(1970..2200);
    let m = rng.gen_range(1..=12);
    let d = rng.gen_range(1..=28);
    let (hh, mm, ss) = (
        rng.gen_range(0..24),
        rng.gen_range(0..60),
        rng.gen_range(0..60),
    );
    match rng.gen_range(0..4) {
        0 => format!("{y:04}-{m:02}-{d:02}"),
        1 => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"),
        2 => format!(
            "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:03}Z",
            rng.gen_range(0..1000)
        ),
        _ => {
            let sign = if rng.gen_bool(0.5) { '+' } else { '-' };
            format!(
                "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}{sign}{:02}:{:02}",
                rng.gen_range(0..14),
                [0, 30, 45][rng.gen_range(0..3)]
            )
        }
    }
}

fn random_subject(rng: &mut StdRng) -> Map<String, Value> {
    let mut s = Map::new();
    s.insert("count".into(), json!(random_integer(rng)));
    s.insert("label".into(), json!(random_string(rng)));
    s.insert("active".into(), json!(rng.gen_bool(0.5)));
    s.insert("score".into(), json!(random_number(rng)));
    s.insert("since".into(), json!(random_date(rng)));
    if rng.gen_bool(0.5) {
        s.insert("note".into(), json!(random_string(rng)));
    }
    s
}

/// Issues `n` credentials (or `CLAIMD_INTEROP_COUNT`) with random subjects and has the JS stack
/// check them all.
async fn agree_with_iden3_js(backend: Backend, n: usize) {
    let n = std::env::var("CLAIMD_INTEROP_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(n);
    let f = fixture(backend).await;
    let issued = f.issue_random("holder", n).await;
    let contexts = f.schema_contexts(&issued[0].0).await;
    let report = run_check(&issued, &contexts);
    assert!(
        failures(&report).iter().all(Vec::is_empty),
        "the iden3 JS stack disagrees with claimd:\n{}",
        describe_failures(&report, &issued, &CLAIM_CHECKS)
    );
    // Spot checks of what passed: claimd's DIDs, the schema's type IRI.
    let first = &report["credentials"][0]["checks"];
    assert_eq!(first["issuerDid"]["detail"]["ethereumControlled"], true);
    assert_eq!(first["issuerDid"]["detail"]["idType"], "04f3");
    assert_eq!(
        first["schemaHash"]["detail"]["typeIri"],
        json!(format!("urn:uuid:{}", f.schema))
    );
}

#[tokio::test]
async fn credentials_agree_with_iden3_js_sqlite() {
    agree_with_iden3_js(Backend::Sqlite, 50).await;
}

#[tokio::test]
async fn credentials_agree_with_iden3_js_postgres() {
    agree_with_iden3_js(Backend::Postgres, 20).await;
}

/// Values at the edges of what the schema validation accepts, each in its own credential so a
/// disagreement names the value.
#[tokio::test]
async fn edge_values_agree_with_iden3_js() {
    let f = fixture(Backend::Sqlite).await;
    let base = |count: Value, label: Value, score: Value, since: Value| {
        let mut s = Map::new();
        s.insert("count".into(), count);
        s.insert("label".into(), label);
        s.insert("active".into(), json!(false));
        s.insert("score".into(), score);
        s.insert("since".into(), since);
        s
    };
    let d = json!("2024-02-29");
    let subjects = vec![
        base(json!(MAX_SAFE), json!(" "), json!(0.0), d.clone()),
        base(json!(-MAX_SAFE), json!("\u{0}"), json!(-0.0), d.clone()),
        base(
            json!(0),
            json!("a\u{2028}b\u{2029}c\u{feff}"),
            json!(2.0),
            d.clone(),
        ),
        base(json!(1), json!("x"), json!(1e21), d.clone()),
        base(json!(1), json!("x"), json!(5e-324), d.clone()),
        base(json!(1), json!("x"), json!(f64::MAX), d.clone()),
        base(
            json!(1),
            json!("x"),
            json!(0.1),
            json!("1969-12-31T23:59:59Z"),
        ),
        base(json!(1), json!("x"), json!(0.1), json!("1900-01-01")),
        base(
            json!(1),
            json!("x"),
            json!(0.1),
            json!("2024-05-01T12:34:56.123456789Z"),
        ),
        base(
            json!(1),
            json!("x"),
            json!(0.1),
            json!("2024-05-01T23:30:00-14:00"),
        ),
        base(json!(1), json!("x"), json!(0.1), json!("9999-12-31")),
        // Integers in a number attribute: JSON integers, not doubles, on claimd's side.
        base(json!(1), json!("x"), json!(5), d.clone()),
        base(json!(1), json!("x"), json!(-7), d.clone()),
        base(
            json!(1),
            json!("x"),
            json!(9_007_199_254_740_993_u64),
            d.clone(),
        ),
        base(json!(1), json!("x"), json!(u64::MAX), d.clone()),
        base(json!(1), json!("x"), json!(i64::MIN), d.clone()),
    ];
    let mut issued = Vec::new();
    for (i, s) in subjects.iter().enumerate() {
        issued.push(
            f.issue_and_fetch(&format!("edge{i}@interop.example"), s)
                .await,
        );
    }
    // Date spellings RFC 3339 parsers disagree on: claimd may refuse them (400), but what it
    // accepts must merklize as the JS stack does.
    let probes = [
        "2024-05-01t12:00:00z",
        "2024-05-01 12:00:00Z",
        "2024-05-01T12:00:00+00:00",
        "2024-05-01T12:00:00-00:00",
        "2016-12-31T23:59:60Z",
        "2024-05-01T12:00:00,5Z",
        "2024-05-01T12:00Z",
        "0001-01-01",
        "2024-05-01T12:00:00.1Z",
    ];
    let mut refused = Vec::new();
    for (i, p) in probes.iter().enumerate() {
        let s = base(json!(1), json!("x"), json!(0.1), json!(p));
        match f
            .try_issue_and_fetch(&format!("probe{i}@interop.example"), &s)
            .await
        {
            Ok(issued_probe) => issued.push(issued_probe),
            Err((400, body)) => refused.push((*p, body["message"].clone())),
            Err((status, body)) => panic!("date {p:?}: {status} {body}"),
        }
    }
    eprintln!("date spellings claimd refuses: {refused:#?}");
    let contexts = f.schema_contexts(&issued[0].0).await;
    let report = run_check(&issued, &contexts);
    assert!(
        failures(&report).iter().all(Vec::is_empty),
        "the iden3 JS stack disagrees with claimd on edge values:\n{}",
        describe_failures(&report, &issued, &CLAIM_CHECKS)
    );
}

/// Every tampered copy of a valid credential is refused, by the checks that should refuse it;
/// the untouched originals, checked in the same run, pass.
#[tokio::test]
async fn tampered_credentials_fail() {
    let f = fixture(Backend::Sqlite).await;
    let originals = f.issue_random("tamper", 3).await;
    let (vc, hash) = originals[0].clone();
    let other = &originals[1].0;

    // What changes → the checks that must fail because of it.
    let claim_checks = [
        "coreClaimJsSdk",
        "coreClaimManual",
        "jsSdkCoreClaimMatch",
        "coreClaimHash",
        "signature",
    ];
    let mut cases: Vec<(&str, Value, Vec<&str>)> = Vec::new();
    let mut edit = |name: &'static str, f: &dyn Fn(&mut Value), expect: &[&'static str]| {
        let mut copy = vc.clone();
        f(&mut copy);
        assert_ne!(copy, vc, "tamper case {name} changed nothing");
        cases.push((name, copy, expect.to_vec()));
    };
    let mut data_checks = vec!["merklizedRoot"];
    data_checks.extend(claim_checks);
    edit(
        "integer attribute",
        &|v| {
            let c = v["credentialSubject"]["count"].as_i64().unwrap();
            v["credentialSubject"]["count"] = json!(if c == 0 { 1 } else { -c });
        },
        &data_checks,
    );
    edit(
        "string attribute",
        &|v| {
            let s = v["credentialSubject"]["label"].as_str().unwrap().to_owned();
            v["credentialSubject"]["label"] = json!(format!("{s} "));
        },
        &data_checks,
    );
    edit(
        "boolean attribute",
        &|v| {
            let b = v["credentialSubject"]["active"].as_bool().unwrap();
            v["credentialSubject"]["active"] = json!(!b);
        },
        &data_checks,
    );
    edit(
        "number attribute",
        &|v| {
            let x = v["credentialSubject"]["score"].as_f64().unwrap();
            v["credentialSubject"]["score"] = json!(if x == 1.0 { 2.0 } else { 1.0 });
        },
        &data_checks,
    );
    edit(
        "date attribute",
        &|v| v["credentialSubject"]["since"] = json!("2001-02-03"),
        &data_checks,
    );
    edit(
        "issuanceDate",
        &|v| {
            let t = v["issuanceDate"].as_str().unwrap();
            let t = other_millisecond(t);
            v["issuanceDate"] = json!(t);
        },
        &data_checks,
    );
    edit(
        "revocation nonce",
        &|v| {
            let n = v["credentialStatus"]["revocationNonce"].as_u64().unwrap();
            v["credentialStatus"]["revocationNonce"] = json!(n ^ 1);
        },
        &data_checks,
    );
    let other_subject = other["credentialSubject"]["id"].clone();
    edit(
        "subject id",
        &|v| v["credentialSubject"]["id"] = other_subject.clone(),
        &data_checks,
    );
    edit(
        "expirationDate",
        &|v| v["expirationDate"] = json!("2099-01-01T00:00:00.000Z"),
        &data_checks,
    );
    let other_signature = other["proof"][0]["signature"].clone();
    edit(
        "signature of another credential",
        &|v| v["proof"][0]["signature"] = other_signature.clone(),
        &["signature"],
    );
    edit(
        "signature bit flip",
        &|v| {
            let s = v["proof"][0]["signature"].as_str().unwrap().to_owned();
            // Last byte of S (little-endian: its most significant byte), lowest bit.
            let last = u8::from_str_radix(&s[126..128], 16).unwrap() ^ 1;
            v["proof"][0]["signature"] = json!(format!("{}{last:02x}", &s[..126]));
        },
        &["signature"],
    );

    edit(
        "issuer state value",
        &|v| {
            let s = v["proof"][0]["issuerData"]["state"]["value"]
                .as_str()
                .unwrap()
                .to_owned();
            let flipped = if s.starts_with('0') { "1" } else { "0" };
            v["proof"][0]["issuerData"]["state"]["value"] = json!(format!("{flipped}{}", &s[1..]));
        },
        &["issuerState"],
    );
    edit(
        "issuer claims tree root",
        &|v| {
            let s = v["proof"][0]["issuerData"]["state"]["claimsTreeRoot"]
                .as_str()
                .unwrap()
                .to_owned();
            let flipped = if s.starts_with('0') { "1" } else { "0" };
            v["proof"][0]["issuerData"]["state"]["claimsTreeRoot"] =
                json!(format!("{flipped}{}", &s[1..]));
        },
        &["issuerState"],
    );

    // A context that is not bundled: the offline loader refuses it (and check.mjs reports the
    // URL) instead of fetching it.
    edit(
        "unknown context",
        &|v| v["@context"][2] = json!("https://contexts.invalid/unknown.jsonld"),
        &["merklizedRoot", "coreClaimJsSdk", "jsSdkCoreClaimMatch"],
    );

    let mut batch: Vec<(Value, String)> = originals.clone();
    batch.extend(cases.iter().map(|(_, v, _)| (v.clone(), hash.clone())));
    let contexts = f.schema_contexts(&vc).await;
    let report = run_check(&batch, &contexts);
    let failed = failures(&report);
    for (i, (vc, _)) in originals.iter().enumerate() {
        assert!(
            failed[i].is_empty(),
            "untampered credential {} fails {:?}:\n{}",
            vc["id"],
            failed[i],
            describe_failures(&report, &batch, &CLAIM_CHECKS)
        );
    }
    let mut summary = BTreeMap::new();
    for (k, (name, _, expect)) in cases.iter().enumerate() {
        let got = &failed[originals.len() + k];
        assert!(!got.is_empty(), "tampered {name}: every check passed");
        for e in expect {
            assert!(
                got.iter().any(|g| g == e),
                "tampered {name}: check {e} should fail, failed: {got:?}"
            );
        }
        summary.insert(*name, got.clone());
    }
    assert_eq!(
        report["documentsRefused"],
        json!(["https://contexts.invalid/unknown.jsonld"])
    );
    eprintln!("tampered copies and their failed checks: {summary:#?}");
}

/// The same ISO timestamp with a different millisecond (one later, or one earlier at .999):
/// the smallest change to `issuanceDate` that keeps it a valid date.
fn other_millisecond(t: &str) -> String {
    let (head, frac) = t.rsplit_once('.').expect("milliseconds");
    let ms: u32 = frac.trim_end_matches('Z').parse().unwrap();
    if ms < 999 {
        format!("{head}.{:03}Z", ms + 1)
    } else {
        format!("{head}.{:03}Z", ms - 1)
    }
}

/// The checks accept what js-sdk itself issued: its sample credential passes every claim, hash
/// and signature check; only the DID checks fail, since its DIDs are did:iden3 and its issuer a
/// Baby Jubjub identity.
#[test]
fn js_sdk_sample_passes_the_claim_checks() {
    let dir = claimd_testkit::repo_root().join("interop/credentials/samples");
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    let vc = read("js-sdk-vc.json");
    let meta = read("js-sdk-vc.meta.json");
    let mut contexts = Map::new();
    contexts.insert(
        "https://schemas.claimd.example/interop/InteropMembership-v1.jsonld".into(),
        read("InteropMembership-v1.jsonld"),
    );
    let hash = meta["coreClaimHash_be_hex"].as_str().unwrap().to_owned();
    let mut wrong_hash = hash.clone();
    wrong_hash.replace_range(63.., if hash.ends_with('0') { "1" } else { "0" });
    let report = run_check(&[(vc.clone(), hash), (vc, wrong_hash)], &contexts);
    let failed = failures(&report);
    assert_eq!(failed[0], ["subjectDid", "issuerDid"], "{report}");
    assert_eq!(
        failed[1],
        ["subjectDid", "coreClaimHash", "issuerDid"],
        "{report}"
    );
    let checks = &report["credentials"][0]["checks"];
    assert_eq!(
        checks["merklizedRoot"]["detail"]["js"],
        meta["merklizedRoot"]
    );
    assert_eq!(checks["schemaHash"]["detail"]["js"], meta["schemaHash_hex"]);
    // The wallet check accepts js-sdk's own proof shape.
    assert_eq!(checks[WALLET_CHECK]["ok"], true, "{report}");
}

/// A js-sdk wallet must be able to load what `GET /v1/credentials/{hash}` returns:
/// `W3CCredential.fromJSON` parses the `BJJSignature2021` proof, and js-sdk 1.45.0
/// (`BJJSignatureProof2021.fromJSON`) reads `issuerData.state` and `issuerData.mtp`
/// unconditionally, as the reference stack always emits them (credential-shape.md).
#[tokio::test]
async fn js_sdk_wallet_loads_issued_credentials() {
    let f = fixture(Backend::Sqlite).await;
    let issued = f.issue_random("wallet", 3).await;
    let contexts = f.schema_contexts(&issued[0].0).await;
    let report = run_check(&issued, &contexts);
    assert!(
        report["ok"] == json!(true),
        "js-sdk cannot load claimd's credentials:\n{}",
        describe_failures(&report, &issued, &[WALLET_CHECK])
    );
}
