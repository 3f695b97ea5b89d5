//! Hostile inputs for the tests and benchmarks of the work bounds (feature `testing`): the
//! merklizer's own limit tests, the verifier's, the HTTP verify limits and the issue benchmark's
//! hostile traffic all send the same shape, so it is written once, here.

use serde_json::{json, Value};

/// The W3C credentials vocabulary's `evidence` property, expanded: every credential context
/// defines it, so the nodes below stay in the graph that is canonicalised.
const EVIDENCE: &str = "https://www.w3.org/2018/credentials#evidence";

/// `vc` with `n` blank nodes in `evidence`, each referencing all the others. They are
/// indistinguishable by their own statements, so URDNA2015 tries every permutation of them:
/// unbounded, n = 8 took 16 s of CPU.
pub fn all_referencing(vc: &Value, n: usize) -> Value {
    let mut vc = vc.clone();
    vc["evidence"] = (0..n)
        .map(|i| {
            let others: Vec<Value> = (0..n)
                .filter(|j| *j != i)
                .map(|j| json!({"@id": format!("_:n{j}")}))
                .collect();
            json!({"@id": format!("_:n{i}"), EVIDENCE: others})
        })
        .collect();
    vc
}
