//! Every known-answer vector of `tests/vectors/iden3.json` (a copy of the shared
//! `vectors/iden3.json`: go-iden3-crypto, go-merkletree-sql and go-iden3-core test suites).

use claimd_iden3::{poseidon, Fr};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/iden3.json");
    let text = std::fs::read_to_string(path).expect("read vectors file");
    serde_json::from_str(&text).expect("vectors file is JSON")
}

/// The vector cases under `key`, which must be `count` of them.
fn cases(key: &str, count: usize) -> Vec<Value> {
    let cases = vectors()[key].as_array().expect(key).clone();
    assert_eq!(cases.len(), count, "{key}");
    cases
}

/// `claim`'s index and value hashes, core claim hash and its big-endian hex are those of
/// `expected` under `keys` (four names, in that order, separated by spaces).
fn assert_hashes(claim: &claimd_iden3::claim::Claim, expected: &Value, keys: &str) {
    let keys: Vec<&str> = keys.split(' ').collect();
    let [h_index, h_value, hash, hex] = keys[..] else {
        panic!("four keys: {keys:?}")
    };
    assert_eq!(claim.hi(), fr(&expected[h_index]));
    assert_eq!(claim.hv(), fr(&expected[h_value]));
    assert_eq!(claim.core_claim_hash(), fr(&expected[hash]));
    assert_eq!(
        claim.core_claim_hash_hex(),
        expected[hex].as_str().expect("hex")
    );
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
    for case in cases("hash_bytes_be_hex", 4) {
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
    for case in cases("smt", 6) {
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

#[test]
fn claim_raw_slots_vector() {
    use claimd_iden3::claim::Claim;
    let v = vectors();
    let case = &v["claim"]["raw_slots_updatable_only"];
    let mut slots = frs(&case["index"]);
    slots.extend(frs(&case["value"]));
    let slots: [Fr; 8] = slots.try_into().expect("8 slots");
    let claim = Claim::from_slots(slots);
    assert!(claim.updatable());
    let keys = "h_index h_value core_claim_hash core_claim_hash_be_hex";
    assert_hashes(&claim, case, keys);
    // The same claim built through the API.
    let mut built = Claim::new(Default::default());
    built.set_updatable(true);
    assert_eq!(built, claim);
}

#[test]
fn auth_schema_hash_vector() {
    use claimd_iden3::claim::SchemaHash;
    let v = vectors();
    assert_eq!(
        SchemaHash::AUTH_BJJ.to_hex(),
        v["claim"]["auth_schema_hash_hex"].as_str().expect("hex")
    );
}

/// Kaleido sample: BJJ auth claim → claims tree (depth 40) with only that claim → genesis
/// state `Poseidon(ctr, 0, 0)`.
#[test]
fn auth_claim_genesis_state_vector() {
    use claimd_iden3::claim::Claim;
    use claimd_iden3::id::identity_state;
    use claimd_iden3::merkletree::{MemoryStore, MerkleTree, IDEN3_DEPTH};
    let v = vectors();
    let case = &v["claim"]["auth_claim_genesis"];
    let slots: [Fr; 8] = frs(&case["slots"]).try_into().expect("8 slots");
    let claim = Claim::from_slots(slots);
    // The sample predates the current AuthBJJCredential schema hash, so only the key slots and
    // the nonce match what `Claim::auth_bjj` builds today.
    let rebuilt = Claim::auth_bjj(slots[2], slots[3], 1);
    assert_eq!(rebuilt.index()[2..], claim.index()[2..]);
    assert_eq!(rebuilt.revocation_nonce(), claim.revocation_nonce());
    let mut tree = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH).expect("tree");
    let (hi, hv) = claim.hi_hv();
    tree.add(hi, hv).expect("add");
    let state = identity_state(tree.root(), Fr::ZERO, Fr::ZERO);
    assert_eq!(state, fr(&case["genesis_state"]));
}

#[test]
fn did_vectors() {
    use claimd_iden3::id::{DidRegistry, Id};
    let registry = DidRegistry::default();
    for case in cases("did", 6) {
        if let Some(state) = case.get("genesis_state") {
            let did_str = case["did"].as_str().expect("did");
            let parsed = registry.parse(did_str).expect("parse");
            let typ = registry
                .id_type(parsed.method(), parsed.blockchain(), parsed.network())
                .expect("type");
            let id = Id::from_genesis_state(typ, fr(state));
            assert_eq!(parsed.id(), id);
            assert!(id.is_genesis_state(fr(state)));
            assert_eq!(registry.did_from_id(id).expect("did").to_string(), did_str);
        } else if let Some(addr) = case.get("eth_address") {
            let addr: [u8; 20] = hex(addr.as_str().expect("addr"))
                .try_into()
                .expect("20 bytes");
            let (method, blockchain, network) = match case.get("did") {
                Some(d) => {
                    let d = registry.parse(d.as_str().expect("did")).expect("parse");
                    (
                        d.method().to_owned(),
                        d.blockchain().to_owned(),
                        d.network().to_owned(),
                    )
                }
                None => (
                    case["method"].as_str().expect("m").to_owned(),
                    case["blockchain"].as_str().expect("b").to_owned(),
                    case["network"].as_str().expect("n").to_owned(),
                ),
            };
            let typ = registry
                .id_type(&method, &blockchain, &network)
                .expect("type");
            let id = Id::from_eth_address(typ, &addr);
            assert_eq!(id.eth_address(), Some(addr));
            if let Some(b58) = case.get("id_base58") {
                assert_eq!(id.to_base58(), b58.as_str().expect("b58"));
            }
            if let Some(d) = case.get("did") {
                let did = registry
                    .did(&method, &blockchain, &network, id)
                    .expect("did");
                assert_eq!(did.to_string(), d.as_str().expect("did"));
            }
        } else {
            let did = case["unregistered_method_did"].as_str().expect("did");
            let id = registry.id_from_did(did).expect("synthetic id");
            assert_eq!(id, Id::from_unsupported_did(did));
            let expected = hex(case["id_hex"].as_str().expect("hex"));
            assert_eq!(id.as_bytes().as_slice(), expected.as_slice());
        }
    }
}

/// A sample credential produced by js-sdk 1.45.0: rebuilding its core
/// claim from the documented fields and the merklized root gives the same hIndex, hValue,
/// coreClaimHash and hex as js-sdk computed.
#[test]
fn js_sdk_sample_credential_core_claim() {
    use claimd_iden3::claim::{Claim, SchemaHash};
    use claimd_iden3::id::DidRegistry;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/");
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}js-sdk-vc.meta.json")).expect("meta"),
    )
    .expect("json");
    let vc: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}js-sdk-vc.json")).expect("vc"))
            .expect("json");

    let registry = DidRegistry::default();
    let subject = registry
        .id_from_did(vc["credentialSubject"]["id"].as_str().expect("subject"))
        .expect("subject id");
    let schema =
        SchemaHash::from_hex(meta["schemaHash_hex"].as_str().expect("schema")).expect("schema");
    let mut claim = Claim::new(schema);
    claim.set_index_id(&subject);
    claim.set_index_merklized_root(fr(&meta["merklizedRoot"]));
    claim.set_revocation_nonce(
        vc["credentialStatus"]["revocationNonce"]
            .as_u64()
            .expect("nonce"),
    );
    // expirationDate 2030-01-01T00:00:00.000Z
    claim.set_expiration(Some(1_893_456_000));

    let keys = "hIndex hValue coreClaimHash_decimal coreClaimHash_be_hex";
    assert_hashes(&claim, &meta, keys);
    let proof_claim = vc["proof"][0]["coreClaim"].as_str().expect("coreClaim");
    assert_eq!(claim.to_hex(), proof_claim);
    assert_eq!(Claim::from_hex(proof_claim).expect("parse"), claim);

    // The issuer's auth claim in the same sample.
    let auth = &meta["issuer_auth_credential"];
    let x = fr(&auth["credentialSubject"]["x"]);
    let y = fr(&auth["credentialSubject"]["y"]);
    let auth_claim = Claim::auth_bjj(x, y, 0);
    assert_eq!(
        auth_claim.to_hex(),
        auth["proof"][0]["coreClaim"].as_str().expect("hex")
    );
    // Its claims tree root and genesis state as the sample's proof states them (LE hex).
    use claimd_iden3::id::identity_state;
    use claimd_iden3::merkletree::{MemoryStore, MerkleTree, IDEN3_DEPTH};
    let mut tree = MerkleTree::new(MemoryStore::new(), IDEN3_DEPTH).expect("tree");
    let (hi, hv) = auth_claim.hi_hv();
    tree.add(hi, hv).expect("add");
    let state = &auth["proof"][0]["issuerData"]["state"];
    assert_eq!(
        tree.root().to_le_hex(),
        state["claimsTreeRoot"].as_str().expect("ctr")
    );
    let genesis = identity_state(tree.root(), Fr::ZERO, Fr::ZERO);
    assert_eq!(genesis.to_le_hex(), state["value"].as_str().expect("state"));
    let issuer = registry
        .parse(vc["issuer"].as_str().expect("issuer"))
        .expect("issuer did");
    assert!(issuer.id().is_genesis_state(genesis));

    // The BJJSignature2021 over the core claim hash verifies with the auth claim's key.
    use claimd_iden3::babyjubjub::{Point, PublicKey, Signature};
    let pk = PublicKey::from_point(Point::new(x, y).expect("on curve"));
    let sig_hex = vc["proof"][0]["signature"].as_str().expect("sig");
    let sig = Signature::from_hex(sig_hex).expect("sig");
    assert_eq!(sig.to_hex(), sig_hex);
    assert!(pk.verify_poseidon(claim.core_claim_hash(), &sig));
    assert!(!pk.verify_poseidon(claim.hi(), &sig));

    // The Iden3SparseMerkleTreeProof js-sdk attached after publishing: its MTP proves
    // (hIndex, hValue) under the claims root of the published state, and that state is
    // Poseidon(claimsRoot, revocationRoot, rootOfRoots).
    use claimd_iden3::merkletree::Proof;
    let smt_proof = &vc["proof"][1];
    assert_eq!(
        smt_proof["coreClaim"].as_str(),
        Some(claim.to_hex().as_str())
    );
    let mtp: Proof = serde_json::from_value(smt_proof["mtp"].clone()).expect("mtp");
    let st = &smt_proof["issuerData"]["state"];
    let le = |k: &str| Fr::from_le_hex(st[k].as_str().expect("hex")).expect("root");
    let (ctr, rtr, ror) = (
        le("claimsTreeRoot"),
        le("revocationTreeRoot"),
        le("rootOfRoots"),
    );
    assert!(mtp.existence);
    assert!(mtp.verify(ctr, claim.hi(), claim.hv()));
    assert!(!mtp.verify(ctr, claim.hi(), claim.hi()));
    assert_eq!(identity_state(ctr, rtr, ror), le("value"));
    // Re-serialised, the proof is the same JSON js-sdk wrote.
    assert_eq!(serde_json::to_value(&mtp).expect("json"), smt_proof["mtp"]);
}

#[test]
fn babyjubjub_vectors() {
    use claimd_iden3::babyjubjub::{Point, PrivateKey, PublicKey, Signature};
    let v = vectors();
    let bjj = &v["babyjubjub"];
    let b8 = Point::b8();
    assert_eq!(b8.x(), fr(&bjj["b8"][0]));
    assert_eq!(b8.y(), fr(&bjj["b8"][1]));

    let cases = bjj["sign_poseidon"].as_array().expect("cases");
    assert_eq!(cases.len(), 2);
    for case in cases {
        let key: [u8; 32] = hex(case["private_key_hex"].as_str().expect("key"))
            .try_into()
            .expect("32 bytes");
        let key = PrivateKey::from_bytes(key);
        let msg = match case.get("msg") {
            Some(m) => fr(m),
            None => {
                let mut le = hex(case["msg_le_bytes_hex"].as_str().expect("msg"));
                le.resize(32, 0);
                Fr::from_le_slice(&le).expect("msg")
            }
        };
        let pk = key.public_key();
        assert_eq!(pk.x(), fr(&case["pub"][0]));
        assert_eq!(pk.y(), fr(&case["pub"][1]));
        let sig = key.sign_poseidon(msg);
        if let Some(r8) = case.get("r8") {
            assert_eq!(sig.r8().x(), fr(&r8[0]));
            assert_eq!(sig.r8().y(), fr(&r8[1]));
        } else {
            assert_eq!(sig.r8().x(), fr(&case["r8_x"]));
        }
        assert_eq!(sig.s(), fr(&case["s"]));
        let compressed = case["compressed_hex"].as_str().expect("compressed");
        assert_eq!(sig.to_hex(), compressed);
        let parsed = Signature::from_hex(compressed).expect("parse");
        assert_eq!(parsed, sig);
        assert!(pk.verify_poseidon(msg, &parsed));
        let pk2 = PublicKey::decompress(&pk.compress()).expect("pk");
        assert_eq!(pk2, pk);
    }

    for case in bjj["compress_point"].as_array().expect("cases") {
        let p = Point::new(fr(&case["point"][0]), fr(&case["point"][1])).expect("on curve");
        let expected = case["compressed_hex"].as_str().expect("hex");
        let c = p.compress();
        assert_eq!(hex(expected), c.to_vec());
        assert_eq!(Point::decompress(&c).expect("decompress"), p);
    }
}
