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

#[test]
fn smt_vectors() {
    use claimd_iden3::merkletree::{MemoryStore, MerkleTree};
    let v = vectors();
    let cases = v["smt"].as_array().expect("smt cases");
    assert_eq!(cases.len(), 6);
    for case in cases {
        let depth = case["depth"].as_u64().expect("depth") as usize;
        let mut one_by_one = MerkleTree::new(MemoryStore::new(), depth).expect("tree");
        let entries: Vec<(Fr, Fr)> = if case["adds_keys_0_to_15_value_0"] == Value::Bool(true) {
            (0..16).map(|k| (Fr::from_u64(k), Fr::ZERO)).collect()
        } else {
            case["adds"]
                .as_array()
                .expect("adds")
                .iter()
                .map(|kv| (fr(&kv[0]), fr(&kv[1])))
                .collect()
        };
        for (k, v) in &entries {
            one_by_one.add(*k, *v).expect("add");
        }
        let mut batch = MerkleTree::new(MemoryStore::new(), depth).expect("tree");
        batch.add_batch(&entries).expect("batch");
        let expected = match case["root"].as_str() {
            Some(dec) => dec.parse::<Fr>().expect("root"),
            None => Fr::from_le_hex(case["root_le_hex"].as_str().expect("root hex")).expect("root"),
        };
        assert_eq!(
            one_by_one.root(),
            expected,
            "depth {depth}, {} adds",
            entries.len()
        );
        assert_eq!(batch.root(), expected);
        for (k, v) in &entries {
            let (proof, value) = batch.generate_proof(*k).expect("proof");
            assert!(proof.existence && value == Some(*v));
            assert!(proof.verify(expected, *k, *v));
        }
    }
}

/// go-merkletree-sql `TestSiblingsFromProof`: depth 140, keys 0..63 with value 0; the proof for
/// key 4 has exactly these six siblings (little-endian hex).
#[test]
fn smt_siblings_of_key_4_in_64_leaf_tree() {
    use claimd_iden3::merkletree::{MemoryStore, MerkleTree};
    let mut tree = MerkleTree::new(MemoryStore::new(), 140).expect("tree");
    for k in 0..64 {
        tree.add(Fr::from_u64(k), Fr::ZERO).expect("add");
    }
    let (proof, _) = tree.generate_proof(Fr::from_u64(4)).expect("proof");
    let prefixes = [
        "d6e368bd", "9dbd03b1", "de866af9", "5f418221", "77639098", "943ee501",
    ];
    let suffixes = ["e3c60b", "df9c16", "896e27", "b7a317", "89a122", "0e3c07"];
    assert_eq!(proof.siblings.len(), 6);
    for ((s, p), x) in proof.siblings.iter().zip(prefixes).zip(suffixes) {
        let hex = s.to_le_hex();
        assert!(hex.starts_with(p) && hex.ends_with(x), "{hex}");
    }
}
