//! Every known-answer vector of `tests/vectors/iden3.json` (a copy of the shared
//! `vectors/iden3.json`: go-iden3-crypto, go-merkletree-sql and go-iden3-core test suites).

use claimd_iden3::{poseidon, Fr};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/iden3.json");
    let text = std::fs::read_to_string(path).expect("read vectors file");
    serde_json::from_str(&text).expect("vectors file is JSON")
}

fn fr(v: &Value) -> Fr {
    let s = v.as_str().expect("field element as string");
    s.parse()
        .unwrap_or_else(|e| panic!("bad field element {s}: {e}"))
}

fn frs(v: &Value) -> Vec<Fr> {
    v.as_array().expect("array").iter().map(fr).collect()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn poseidon_vectors() {
    let v = vectors();
    let cases = v["poseidon"].as_array().expect("poseidon cases");
    assert!(cases.len() >= 14);
    for case in cases {
        let inputs = frs(&case["inputs"]);
        assert_eq!(
            poseidon::hash(&inputs).expect("hash"),
            fr(&case["out"]),
            "inputs {inputs:?}"
        );
    }
}

#[test]
fn poseidon_with_initial_state_vectors() {
    let v = vectors();
    for case in v["poseidon_with_initial_state"].as_array().expect("cases") {
        let out = poseidon::hash_with_state(fr(&case["init"]), &frs(&case["inputs"]));
        assert_eq!(out, Ok(fr(&case["out"])));
    }
}

#[test]
fn hash_bytes_vectors() {
    let v = vectors();
    let cases = v["hash_bytes_be_hex"].as_array().expect("cases");
    assert_eq!(cases.len(), 4);
    for case in cases {
        if let Some(input) = case["in_hex"].as_str() {
            let out = poseidon::hash_bytes(&hex(input));
            assert_eq!(out.to_be_hex(), case["out_hex"].as_str().expect("out_hex"));
        } else {
            let input = case["in_utf8"].as_str().expect("in_utf8");
            assert_eq!(poseidon::hash_bytes(input.as_bytes()), fr(&case["out"]));
        }
    }
}
