//! Interop with the @iden3 JavaScript packages (js-crypto 1.3.2, js-merkletree 1.5.1,
//! js-iden3-core 1.8.0): randomised cases from a seeded generator are written as JSON, the
//! oracle script `interop/iden3/interop.mjs` computes its answers with those packages, and
//! every answer is compared with ours. Set `IDEN3_INTEROP_SEED` to replay another seed.

use std::path::{Path, PathBuf};
use std::process::Command;

use claimd_iden3::babyjubjub::{PrivateKey, PublicKey, Signature};
use claimd_iden3::claim::{Claim, SchemaHash};
use claimd_iden3::id::{DidRegistry, Id};
use claimd_iden3::merkletree::{MemoryStore, MerkleTree, TreeError};
use claimd_iden3::{poseidon, Fr};
use serde_json::{json, Value};

/// Test inputs from a seeded SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        super::splitmix::next(&mut self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let w = self.next().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        out
    }
    fn byte_vec(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// A field element: mostly uniform, sometimes small or at the top of the range.
    fn fr(&mut self) -> Fr {
        match self.below(10) {
            0 => Fr::from_u64(self.below(1000)),
            1 => -Fr::from_u64(1 + self.below(1000)),
            _ => Fr::from_le_bytes_mod_order(&self.bytes::<32>()),
        }
    }
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run_oracle(cases: &Value) -> Value {
    let root = repo_root();
    let modules = root.join("interop/node_modules/@iden3");
    assert!(
        modules.join("js-crypto").is_dir()
            && modules.join("js-merkletree").is_dir()
            && modules.join("js-iden3-core").is_dir(),
        "the @iden3 npm packages are missing: run `npm ci --prefix interop` in the repository root"
    );
    let dir = std::env::temp_dir();
    let stamp = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let input = dir.join(format!("claimd-iden3-interop-{stamp}.in.json"));
    let output = dir.join(format!("claimd-iden3-interop-{stamp}.out.json"));
    std::fs::write(&input, serde_json::to_vec(cases).expect("serialise cases"))
        .expect("write cases");
    let status = Command::new("node")
        .arg(root.join("interop/iden3/interop.mjs"))
        .arg(&input)
        .arg(&output)
        .current_dir(root.join("interop"))
        .status()
        .expect("run node (is Node.js installed?)");
    assert!(status.success(), "oracle script failed: {status}");
    let text = std::fs::read_to_string(&output).expect("read oracle output");
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_file(&output);
    serde_json::from_str(&text).expect("oracle output is JSON")
}

struct Case {
    json: Value,
    mine: Value,
}

const NETWORKS: &[(&str, &str, &str)] = &[
    ("iden3", "readonly", ""),
    ("iden3", "polygon", "amoy"),
    ("iden3", "polygon", "main"),
    ("iden3", "privado", "main"),
    ("iden3", "privado", "test"),
    ("iden3", "eth", "sepolia"),
    ("iden3", "linea", "main"),
    ("iden3", "billions", "test"),
    ("polygonid", "polygon", "amoy"),
    ("polygonid", "polygon", "mumbai"),
    ("polygonid", "polygon", "zkevm"),
    ("polygonid", "base", "sepolia"),
    ("air", "id", "test"),
];

#[test]
fn randomised_cases_match_iden3_js() {
    let seed = std::env::var("IDEN3_INTEROP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x1de3_2026_u64);
    let mut rng = Rng(seed);
    let registry = DidRegistry::default();

    // Poseidon, every width, several times.
    let mut poseidon_cases = Vec::new();
    for i in 0..320 {
        let n = 1 + i % 16;
        let inputs: Vec<Fr> = (0..n).map(|_| rng.fr()).collect();
        let out = poseidon::hash(&inputs).expect("hash");
        poseidon_cases.push(Case {
            json: json!({ "inputs": inputs }),
            mine: json!(out),
        });
    }

    // Byte sponge: lengths around the 31-byte chunk and 16-chunk frame boundaries.
    let mut hb_cases = Vec::new();
    let special = [
        1usize, 30, 31, 32, 61, 62, 63, 465, 496, 497, 526, 527, 528, 992, 1023,
    ];
    for i in 0..160 {
        let len = if i < special.len() {
            special[i]
        } else {
            1 + rng.below(1100) as usize
        };
        let msg = rng.byte_vec(len);
        hb_cases.push(Case {
            json: json!({ "hex": hexs(&msg) }),
            mine: json!(poseidon::hash_bytes(&msg)),
        });
    }

    // Baby Jubjub keys and signatures (js signs and verifies).
    let mut bjj_cases = Vec::new();
    let mut verify_cases = Vec::new();
    for i in 0..120 {
        let key_bytes: [u8; 32] = rng.bytes();
        let key = PrivateKey::from_bytes(key_bytes);
        let msg = rng.fr();
        let pk = key.public_key();
        let sig = key.sign_poseidon(msg);
        bjj_cases.push(Case {
            json: json!({ "key_hex": hexs(&key_bytes), "msg": msg }),
            mine: json!({
                "pub": [pk.x(), pk.y()],
                "pub_compressed_hex": hexs(&pk.compress()),
                "sig_hex": sig.to_hex(),
                "verifies": pk.verify_poseidon(msg, &sig),
                "verifies_other_msg": pk.verify_poseidon(msg + Fr::ONE, &sig),
            }),
        });
        // Our signatures, checked by js; every third one against a different message.
        if i % 2 == 0 {
            let checked_msg = if i % 3 == 0 { msg + Fr::ONE } else { msg };
            verify_cases.push(Case {
                json: json!({
                    "pub_compressed_hex": hexs(&pk.compress()),
                    "sig_hex": sig.to_hex(),
                    "msg": checked_msg,
                }),
                mine: json!(pk.verify_poseidon(checked_msg, &sig)),
            });
        }
    }

    // Sparse Merkle trees: depth limits, duplicates, deep collisions (small keys), proofs of
    // present and absent keys.
    let mut tree_cases = Vec::new();
    for i in 0..40 {
        let depth = [10usize, 16, 40, 64][i % 4];
        let n = 1 + rng.below(if i % 4 == 0 { 40 } else { 120 }) as usize;
        let mut adds: Vec<(Fr, Fr)> = Vec::new();
        for _ in 0..n {
            let k = if rng.below(3) == 0 {
                Fr::from_u64(rng.below(4096))
            } else {
                rng.fr()
            };
            let v = rng.fr();
            adds.push((k, v));
            if rng.below(25) == 0 {
                adds.push((k, rng.fr())); // a duplicate key: must fail on both sides
            }
        }
        let mut tree = MerkleTree::new(MemoryStore::new(), depth).expect("tree");
        let mut add_errors = Vec::new();
        let mut accepted = Vec::new();
        for (k, v) in &adds {
            match tree.add(*k, *v) {
                Ok(()) => {
                    accepted.push((*k, *v));
                    add_errors.push(Value::Null);
                }
                Err(TreeError::KeyAlreadyExists) => {
                    add_errors.push(json!("exists"));
                }
                Err(TreeError::ReachedMaxLevel) => add_errors.push(json!("max level")),
                Err(e) => panic!("unexpected tree error {e}"),
            }
        }
        // The single-pass batch insert of the accepted entries reaches the same root.
        let mut batch = MerkleTree::new(MemoryStore::new(), depth).expect("tree");
        batch
            .add_batch(&accepted)
            .expect("batch of accepted entries");
        assert_eq!(batch.root(), tree.root(), "batch root, tree case {i}");

        let mut queries: Vec<Fr> = accepted.iter().take(15).map(|e| e.0).collect();
        for _ in 0..10 {
            queries.push(if rng.below(2) == 0 {
                Fr::from_u64(rng.below(4096))
            } else {
                rng.fr()
            });
        }
        let mut proofs = Vec::new();
        for q in &queries {
            let (proof, value) = tree.generate_proof(*q).expect("proof");
            let value = value.unwrap_or(Fr::ZERO);
            assert!(proof.verify(tree.root(), *q, value), "own proof verifies");
            // iden3's generateProof returns the auxiliary leaf's value for a non-existence proof
            // that ended at another leaf (we return None); compare in their convention.
            let value = proof.node_aux.map(|a| a.value).unwrap_or(value);
            proofs.push(json!({
                "proof": serde_json::to_value(&proof).expect("proof json"),
                "value": value,
                "verifies": true,
            }));
        }
        tree_cases.push(Case {
            json: json!({
                "depth": depth,
                "adds": adds.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                "queries": queries,
            }),
            mine: json!({
                "root": tree.root(),
                "root_le_hex": tree.root().to_le_hex(),
                "add_errors": add_errors,
                "proofs": proofs,
            }),
        });
    }

    // Core claims with every flag combination.
    let mut claim_cases = Vec::new();
    for _ in 0..150 {
        let schema = SchemaHash(rng.bytes());
        let subject = ["self", "index", "value"][rng.below(3) as usize];
        let merklized = ["none", "index", "value"][rng.below(3) as usize];
        let (m, b, n) = NETWORKS[rng.below(NETWORKS.len() as u64) as usize];
        let typ = registry.id_type(m, b, n).expect("type");
        let subject_id = Id::from_genesis_state(typ, rng.fr());
        let root = rng.fr();
        let expiration = if rng.below(2) == 0 {
            Some(rng.below(8_000_000_000_000))
        } else {
            None
        };
        let nonce = if rng.below(4) == 0 {
            u64::MAX - rng.below(10)
        } else {
            rng.next()
        };
        let version = rng.next() as u32;
        let updatable = rng.below(2) == 0;
        let index_data = [rng.fr(), rng.fr()];
        let value_data = [rng.fr(), rng.fr()];

        let mut c = Claim::new(schema);
        if merklized != "index" {
            c.set_index_data(index_data[0], index_data[1]);
        }
        if merklized != "value" {
            c.set_value_data(value_data[0], value_data[1]);
        }
        match subject {
            "index" => c.set_index_id(&subject_id),
            "value" => c.set_value_id(&subject_id),
            _ => {}
        }
        match merklized {
            "index" => c.set_index_merklized_root(root),
            "value" => c.set_value_merklized_root(root),
            _ => {}
        }
        c.set_expiration(expiration);
        c.set_revocation_nonce(nonce);
        c.set_version(version);
        c.set_updatable(updatable);
        let (hi, hv) = c.hi_hv();
        claim_cases.push(Case {
            json: json!({
                "schema_hex": schema.to_hex(),
                "subject": subject,
                "subject_id": subject_id.to_base58(),
                "merklized": merklized,
                "root": root,
                "expiration": expiration,
                "nonce": nonce.to_string(),
                "version": version,
                "updatable": updatable,
                "index_data": index_data,
                "value_data": value_data,
            }),
            mine: json!({
                "hex": c.to_hex(),
                "hi": hi,
                "hv": hv,
                "core_claim_hash": c.core_claim_hash(),
                "slots": c.to_json_slots(),
            }),
        });
    }

    // IDs and DIDs from genesis states and Ethereum addresses, on every network.
    let mut did_cases = Vec::new();
    for i in 0..156 {
        let (m, b, n) = NETWORKS[i % NETWORKS.len()];
        let typ = registry.id_type(m, b, n).expect("type");
        let (input, id) = if rng.below(2) == 0 {
            let state = rng.fr();
            (
                json!({ "method": m, "blockchain": b, "network": n, "genesis_state": state }),
                Id::from_genesis_state(typ, state),
            )
        } else {
            let addr: [u8; 20] = rng.bytes();
            (
                json!({ "method": m, "blockchain": b, "network": n, "eth_address": hexs(&addr) }),
                Id::from_eth_address(typ, &addr),
            )
        };
        let did = registry.did_from_id(id).expect("did");
        let reparsed = registry.parse(&did.to_string()).expect("parse");
        did_cases.push(Case {
            json: input,
            mine: json!({
                "did": did.to_string(),
                "id_base58": id.to_base58(),
                "id_int": id.to_fr(),
                "reparsed": reparsed.to_string(),
            }),
        });
    }
    let mut unsupported = Vec::new();
    for i in 0..20 {
        let tail: String = (0..1 + rng.below(30))
            .map(|_| char::from(b'a' + rng.below(26) as u8))
            .collect();
        let did = format!("did:other{i}:{tail}");
        let id = registry.id_from_did(&did).expect("synthetic id");
        unsupported.push(Case {
            json: json!(did),
            mine: json!(hexs(id.as_bytes())),
        });
    }

    // did:air DIDs as seen by a tool that has not registered `air` (synthetic IDs).
    let standard = DidRegistry::iden3_standard();
    let air_type = registry.id_type("air", "id", "test").expect("air type");
    let mut air_unregistered = Vec::new();
    for _ in 0..20 {
        let did = registry
            .did_from_id(Id::from_genesis_state(air_type, rng.fr()))
            .expect("did")
            .to_string();
        let id = standard.id_from_did(&did).expect("synthetic id");
        air_unregistered.push(Case {
            json: json!(did),
            mine: json!(hexs(id.as_bytes())),
        });
    }

    let groups: [(&str, &[Case]); 9] = [
        ("poseidon", &poseidon_cases),
        ("hash_bytes", &hb_cases),
        ("bjj", &bjj_cases),
        ("bjj_verify", &verify_cases),
        ("trees", &tree_cases),
        ("claims", &claim_cases),
        ("dids", &did_cases),
        ("unsupported_dids", &unsupported),
        ("air_unregistered", &air_unregistered),
    ];
    let cases: serde_json::Map<String, Value> = groups
        .iter()
        .map(|(name, cs)| {
            (
                (*name).to_owned(),
                Value::Array(cs.iter().map(|c| c.json.clone()).collect()),
            )
        })
        .collect();
    let theirs = run_oracle(&Value::Object(cases));

    let mut total = 0;
    let mut failures = Vec::new();
    for (name, cs) in groups {
        let answers = theirs[name]
            .as_array()
            .unwrap_or_else(|| panic!("oracle has no {name}"));
        assert_eq!(answers.len(), cs.len(), "{name}: answer count");
        for (i, (case, answer)) in cs.iter().zip(answers).enumerate() {
            total += 1;
            let theirs = normalise(name, answer);
            if theirs != case.mine {
                failures.push(format!(
                    "{name}[{i}]: first difference at {}\n  input {}\n  ours   {}\n  theirs {}",
                    first_difference(&case.mine, &theirs),
                    clip(&case.json.to_string(), 300),
                    clip(&case.mine.to_string(), 1500),
                    clip(&theirs.to_string(), 1500)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "seed {seed:#x}: {} of {total} cases differ:\n{}",
        failures.len(),
        failures
            .iter()
            .take(12)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(total > 900, "only {total} cases compared");
    eprintln!("interop seed {seed:#x}: {total} cases identical to @iden3 js");

    // Spot-check that JS-made signatures also parse and verify here.
    let first = &theirs["bjj"][0];
    let pk_bytes: [u8; 32] = hex_arr(first["pub_compressed_hex"].as_str().expect("pk"));
    let pk = PublicKey::decompress(&pk_bytes).expect("js public key");
    let sig = Signature::from_hex(first["sig_hex"].as_str().expect("sig")).expect("js signature");
    let msg: Fr = bjj_cases[0].json["msg"]
        .as_str()
        .expect("msg")
        .parse()
        .expect("msg");
    assert!(pk.verify_poseidon(msg, &sig));
}

/// A JSON-pointer-like path to the first place where `a` and `b` differ, with both values.
fn first_difference(a: &Value, b: &Value) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if w == v => {}
                    Some(w) => return format!("/{k}{}", first_difference(v, w)),
                    None => return format!("/{k} (missing in theirs)"),
                }
            }
            for k in y.keys() {
                if !x.contains_key(k) {
                    return format!("/{k} (missing in ours)");
                }
            }
            String::new()
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if v != w {
                    return format!("/{i}{}", first_difference(v, w));
                }
            }
            format!(" (lengths {} vs {})", x.len(), y.len())
        }
        _ => format!(
            ": {} vs {}",
            clip(&a.to_string(), 200),
            clip(&b.to_string(), 200)
        ),
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.len() <= n {
        s.to_owned()
    } else {
        format!("{}… ({} bytes)", &s[..n], s.len())
    }
}

/// Maps the oracle's error messages to the labels we emit.
fn normalise(group: &str, answer: &Value) -> Value {
    if group != "trees" {
        return answer.clone();
    }
    let mut a = answer.clone();
    if let Some(errors) = a["add_errors"].as_array_mut() {
        for e in errors.iter_mut() {
            if let Some(msg) = e.as_str() {
                *e = if msg.contains("already exists") {
                    json!("exists")
                } else if msg.contains("maximum level") {
                    json!("max level")
                } else {
                    json!(msg)
                };
            }
        }
    }
    a
}

fn hex_arr<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}
