//! Property tests: codecs round-trip, signatures verify, trees are order-independent and their
//! proofs verify.

use claimd_iden3::babyjubjub::{Point, PrivateKey, PublicKey, Signature};
use claimd_iden3::claim::{Claim, SchemaHash};
use claimd_iden3::id::{DidRegistry, Id};
use claimd_iden3::merkletree::{MemoryStore, MerkleTree, PendingNodes, Proof};
use claimd_iden3::Fr;
use proptest::prelude::*;

fn any_fr() -> impl Strategy<Value = Fr> {
    prop_oneof![
        any::<u64>().prop_map(Fr::from_u64),
        any::<[u8; 32]>().prop_map(|b| Fr::from_le_bytes_mod_order(&b)),
        (0u64..16).prop_map(|x| -Fr::from_u64(x)),
    ]
}

/// Keys that collide on many low bits, to build deep trees.
fn tree_key() -> impl Strategy<Value = Fr> {
    prop_oneof![
        (0u64..256).prop_map(Fr::from_u64),
        (0u64..64).prop_map(|x| Fr::from_u64(x << 20)),
        any_fr(),
    ]
}

fn entries() -> impl Strategy<Value = Vec<(Fr, Fr)>> {
    prop::collection::btree_map(tree_key(), any_fr(), 1..60)
        .prop_map(|m| m.into_iter().collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn fr_codecs_round_trip(x in any_fr()) {
        prop_assert_eq!(x.to_string().parse::<Fr>(), Ok(x));
        prop_assert_eq!(Fr::from_le_bytes(&x.to_le_bytes()), Ok(x));
        prop_assert_eq!(Fr::from_be_bytes(&x.to_be_bytes()), Ok(x));
        prop_assert_eq!(Fr::from_le_hex(&x.to_le_hex()), Ok(x));
        prop_assert_eq!(Fr::from_be_hex(&x.to_be_hex()), Ok(x));
    }

    #[test]
    fn out_of_range_bytes_are_rejected(b in any::<[u8; 32]>()) {
        let reduced = Fr::from_be_slice(&b);
        let as_int_ge_q = b.as_slice() >= Fr::MODULUS_BE.as_slice();
        prop_assert_eq!(reduced.is_err(), as_int_ge_q);
    }

    #[test]
    fn sign_then_verify(key in any::<[u8; 32]>(), msg in any_fr(), other in any_fr()) {
        let k = PrivateKey::from_bytes(key);
        let pk = k.public_key();
        let sig = k.sign_poseidon(msg);
        prop_assert!(pk.verify_poseidon(msg, &sig));
        prop_assert_eq!(sig, k.sign_poseidon(msg)); // deterministic
        if other != msg {
            prop_assert!(!pk.verify_poseidon(other, &sig));
        }
        let parsed = Signature::decompress(&sig.compress());
        prop_assert_eq!(parsed, Ok(sig));
        prop_assert_eq!(PublicKey::decompress(&pk.compress()), Ok(pk));
    }

    #[test]
    fn compress_decompress_points(k in any_fr()) {
        let p = Point::b8().mul_fr(k);
        prop_assert!(p.is_on_curve());
        prop_assert_eq!(Point::decompress(&p.compress()), Ok(p));
    }

    #[test]
    fn root_is_independent_of_insertion_order(mut e in entries(), seed in any::<u64>()) {
        let mut a = MerkleTree::new(MemoryStore::new(), 64).expect("tree");
        for (k, v) in &e {
            a.add(*k, *v).expect("add");
        }
        // A seeded shuffle, then one by one in that order, and as one batch.
        let mut s = seed | 1;
        for i in (1..e.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            e.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let mut b = MerkleTree::new(MemoryStore::new(), 64).expect("tree");
        for (k, v) in &e {
            b.add(*k, *v).expect("add");
        }
        let mut c = MerkleTree::new(MemoryStore::new(), 64).expect("tree");
        c.add_batch(&e).expect("batch");
        prop_assert_eq!(a.root(), b.root());
        prop_assert_eq!(a.root(), c.root());
        // The batch stores no node that is not reachable from the root: it never
        // materialises intermediate roots.
        prop_assert!(c.store().len() <= a.store().len());
    }

    #[test]
    fn proofs_verify_and_survive_json(e in entries(), absent in prop::collection::vec(tree_key(), 1..10)) {
        let mut t = MerkleTree::new(MemoryStore::new(), 64).expect("tree");
        t.add_batch(&e).expect("batch");
        let root = t.root();
        for (k, v) in &e {
            let (p, value) = t.generate_proof(*k).expect("proof");
            prop_assert!(p.existence);
            prop_assert_eq!(value, Some(*v));
            prop_assert!(p.verify(root, *k, *v));
            prop_assert!(!p.verify(root, *k, *v + Fr::ONE));
            let json = serde_json::to_string(&p).expect("json");
            let back: Proof = serde_json::from_str(&json).expect("parse");
            prop_assert_eq!(&back, &p);
        }
        for k in absent {
            if e.iter().any(|(x, _)| *x == k) {
                continue;
            }
            let (p, value) = t.generate_proof(k).expect("proof");
            prop_assert!(!p.existence);
            prop_assert_eq!(value, None);
            prop_assert!(p.verify(root, k, Fr::ZERO));
        }
    }

    #[test]
    fn incremental_batches_collect_only_new_nodes(e in entries(), split in any::<prop::sample::Index>()) {
        let cut = split.index(e.len() + 1);
        let (first, second) = e.split_at(cut);
        let mut base = MerkleTree::new(MemoryStore::new(), 64).expect("tree");
        base.add_batch(first).expect("first batch");
        let root1 = base.root();
        let mut db = base.into_store();
        let mut overlay = MerkleTree::with_root(PendingNodes::new(&db), root1, 64).expect("tree");
        overlay.add_batch(second).expect("second batch");
        let root2 = overlay.root();
        let new_nodes = overlay.into_store().into_new_nodes();
        db.extend(new_nodes);
        let mut whole = MerkleTree::new(MemoryStore::new(), 64).expect("tree");
        whole.add_batch(&e).expect("whole");
        prop_assert_eq!(whole.root(), root2);
        let t = MerkleTree::with_root(db, root2, 64).expect("tree");
        for (k, v) in &e {
            prop_assert_eq!(t.get(*k).expect("get"), Some(*v));
        }
    }

    #[test]
    fn claim_codecs_round_trip(
        schema in any::<[u8; 16]>(),
        slots in prop::array::uniform4(any_fr()),
        nonce in any::<u64>(),
        exp in prop::option::of(any::<u64>()),
        version in any::<u32>(),
        state in any_fr(),
    ) {
        let mut c = Claim::new(SchemaHash(schema));
        c.set_index_data(slots[0], slots[1]);
        c.set_value_data(slots[2], slots[3]);
        c.set_revocation_nonce(nonce);
        c.set_expiration(exp);
        c.set_version(version);
        c.set_index_id(&Id::from_genesis_state([0x04, 0xf3], state));
        prop_assert_eq!(Claim::from_hex(&c.to_hex()), Ok(c));
        prop_assert_eq!(Claim::from_json_slots(&c.to_json_slots()), Ok(c));
        prop_assert_eq!(Claim::from_slots(c.slots()), c);
        prop_assert_eq!(c.revocation_nonce(), nonce);
        prop_assert_eq!(c.expiration(), exp);
        prop_assert_eq!(c.version(), version);
    }

    #[test]
    fn did_round_trip(state in any_fr(), addr in any::<[u8; 20]>(), pick in 0usize..3) {
        let r = DidRegistry::default();
        let (m, b, n) = [("air", "id", "test"), ("iden3", "polygon", "amoy"), ("polygonid", "readonly", "")][pick];
        let typ = r.id_type(m, b, n).expect("type");
        for id in [Id::from_genesis_state(typ, state), Id::from_eth_address(typ, &addr)] {
            let did = r.did_from_id(id).expect("did");
            prop_assert_eq!(r.parse(&did.to_string()), Ok(did.clone()));
            prop_assert_eq!(Id::from_fr(id.to_fr()), Ok(id));
            prop_assert_eq!(r.id_from_did(&did.to_string()), Ok(id));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Parsers of untrusted text return errors, never panic, and accept only what they
    /// print back identically.
    #[test]
    fn parsers_never_panic(s in "\\PC{0,140}", hexish in "[0-9a-fA-F]{0,520}") {
        let r = DidRegistry::default();
        if let Ok(x) = s.parse::<Fr>() {
            prop_assert_eq!(x.to_string(), s.clone());
        }
        if let Ok(d) = r.parse(&s) {
            prop_assert_eq!(d.to_string(), s.clone());
        }
        let _ = r.id_from_did(&s);
        let _ = s.parse::<Id>();
        let _ = Claim::from_hex(&hexish);
        let _ = Signature::from_hex(&hexish);
        let _ = PublicKey::from_hex(&hexish);
        let _ = Fr::from_le_hex(&hexish);
        let _ = SchemaHash::from_hex(&hexish);
        let _ = serde_json::from_str::<Proof>(&s);
        if hexish.len() == 128 {
            if let Ok(sig) = Signature::from_hex(&hexish) {
                prop_assert_eq!(sig.to_hex(), hexish.to_lowercase());
            }
        }
    }

    #[test]
    fn signature_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 64)) {
        let arr: [u8; 64] = b.try_into().expect("64 bytes");
        if let Ok(sig) = Signature::decompress(&arr) {
            prop_assert_eq!(sig.compress(), arr);
        }
    }
}
