//! The canonicalisation budget: documents whose blank nodes would make URDNA2015 factorial are
//! refused before it starts, quickly, naming the limit; ordinary blank nodes still merklize.

use std::time::{Duration, Instant};

use claimd_merklize::{CanonLimits, MerklizeError, Merklizer};
use serde_json::{json, Value};

fn sample_vc() -> Value {
    let mut vc: Value = serde_json::from_str(include_str!("data/js-sdk-vc.json")).unwrap();
    vc.as_object_mut().unwrap().remove("proof");
    vc
}

/// The shared hostile inputs (the `testing` feature's module, compiled into this test).
#[path = "../src/testing.rs"]
mod testing;

fn all_referencing(n: usize) -> Value {
    testing::all_referencing(&sample_vc(), n)
}

/// `n` objects without an id in `evidence`, each with its own value: distinguishable.
fn distinct_blank_nodes(n: usize) -> Value {
    let mut vc = sample_vc();
    vc["evidence"] = (0..n)
        .map(|i| json!({"https://example.org/v": format!("value {i}")}))
        .collect();
    vc
}

fn limit_of(r: Result<claimd_merklize::Merklized, MerklizeError>) -> &'static str {
    match r {
        Err(MerklizeError::LimitExceeded { limit, detail }) => {
            assert!(!detail.is_empty());
            limit
        }
        Err(e) => panic!("expected a limit, got {e}"),
        Ok(_) => panic!("expected a limit, the document was merklized"),
    }
}

/// Far more than the check needs on any machine, far less than the canonicalisation.
fn assert_quick(started: Instant, what: &str) {
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{what} took {:?}",
        started.elapsed()
    );
}

#[test]
fn mutually_referencing_blank_nodes_are_refused_before_canonicalisation() {
    let mz = Merklizer::new();
    for n in [6, 8, 12, 40] {
        let vc = all_referencing(n);
        let started = Instant::now();
        assert_eq!(
            limit_of(mz.merklize(&vc)),
            "max_normalization_work",
            "n = {n}"
        );
        assert_eq!(limit_of(mz.merklize_generic(&vc)), "max_normalization_work");
        assert_quick(started, &format!("refusing {n} nodes"));
        let e = mz.merklize(&vc).unwrap_err().to_string();
        assert!(
            e.contains("max_normalization_work") && e.contains("cannot be told apart"),
            "{e}"
        );
    }
}

#[test]
fn a_few_ambiguous_blank_nodes_are_within_the_budget() {
    let mz = Merklizer::new();
    // Identical objects (ambiguous, but each relates only to its parent): merklized.
    let mut vc = sample_vc();
    vc["evidence"] = (0..50)
        .map(|_| json!({"https://example.org/v": "same"}))
        .collect();
    let started = Instant::now();
    let m = mz.merklize(&vc).unwrap();
    assert_quick(started, "50 identical objects");
    assert!(m.canonical_nquads().contains("_:c14n49"));
    assert_eq!(m.root(), mz.merklize_generic(&vc).unwrap().root());
    // A few nodes referencing each other are canonicalised (within the budget); the iden3
    // merklizer then refuses the cycle, as js-jsonld-merklization does.
    for n in [2, 3, 4, 5] {
        let vc = all_referencing(n);
        let started = Instant::now();
        assert!(mz.canonize(&vc).is_ok(), "n = {n}");
        assert_eq!(
            mz.merklize(&vc).unwrap_err(),
            MerklizeError::Structure("multiple parents found".into())
        );
        assert_quick(started, &format!("{n} nodes"));
    }
}

#[test]
fn long_literals_weigh_on_the_budget() {
    // Five nodes referencing each other are within the budget; the same five each carrying
    // a 40 KB literal are not (every first-degree hash serialises it again).
    let mz = Merklizer::new();
    let mut vc = all_referencing(5);
    mz.canonize(&vc).unwrap();
    for node in vc["evidence"].as_array_mut().unwrap() {
        node["https://example.org/v"] = json!("x".repeat(40_000));
    }
    assert_eq!(limit_of(mz.merklize(&vc)), "max_normalization_work");
}

#[test]
fn blank_node_and_statement_counts_are_capped() {
    let limits = CanonLimits {
        max_statements: 10_000,
        max_blank_nodes: 20,
        max_work: CanonLimits::DEFAULT.max_work,
    };
    let mz = Merklizer::with_limits(limits);
    assert_eq!(mz.limits(), limits);
    mz.merklize(&distinct_blank_nodes(19)).unwrap();
    let started = Instant::now();
    assert_eq!(
        limit_of(mz.merklize(&distinct_blank_nodes(21))),
        "max_rdf_blank_nodes"
    );
    assert_quick(started, "refusing 21 blank nodes");

    let mz = Merklizer::with_limits(CanonLimits {
        max_statements: 40,
        ..CanonLimits::DEFAULT
    });
    let mut vc = sample_vc();
    vc["evidence"] = (0..50)
        .map(|i| json!({"@id": format!("urn:e:{i}")}))
        .collect();
    assert_eq!(limit_of(mz.merklize_generic(&vc)), "max_statements");
    // The fast path handles this document (no blank nodes), and the limit still holds there.
    assert_eq!(limit_of(mz.merklize(&vc)), "max_statements");
    // The default limits accept it, and a refusal did not switch the fast path off.
    mz.merklize(&sample_vc()).unwrap();
    assert_eq!(mz.stats().fast_path_disabled, 0);
    Merklizer::new().merklize(&vc).unwrap();
}

#[test]
fn identical_subtrees_are_refused_when_their_permutations_explode() {
    // Two identical parents, each with ten identical children: each parent's children are
    // permuted (10! orders), recursing into each child.
    let mz = Merklizer::new();
    let parent = || json!({"https://example.org/child": (0..10).map(|_| json!({"https://example.org/v": "x"})).collect::<Vec<_>>()});
    let mut vc = sample_vc();
    vc["evidence"] = json!([parent(), parent()]);
    let started = Instant::now();
    assert_eq!(limit_of(mz.merklize(&vc)), "max_normalization_work");
    assert_quick(started, "refusing identical subtrees");
}
