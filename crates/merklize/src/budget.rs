//! A work budget for URDNA2015, checked before `ssi-rdf` runs it.
//!
//! URDNA2015 labels blank nodes it can tell apart by their own quads ("first-degree hash") in
//! linear time. Blank nodes it cannot tell apart that way ("ambiguous" nodes: two or more
//! share a first-degree hash) go through "Hash N-Degree Quads", which tries every permutation
//! of the blank nodes related to them and recurses into the related ambiguous ones. That is
//! factorial: eight blank nodes that all reference each other take seconds, nine minutes.
//! `ssi-rdf` 0.1.1 also never prunes a permutation (its `continue` only leaves the inner
//! loop), so every permutation is paid in full.
//!
//! `ssi-rdf` cannot be interrupted, so its input is bounded instead: [`check`] computes an
//! upper bound of the work Hash N-Degree Quads can do on these quads, in "steps" (a quad, or
//! 128 bytes of one, serialised and hashed; a path entry written; a blank node copied), and
//! refuses the document when the bound exceeds [`CanonLimits::max_work`]. The bound follows
//! `ssi_rdf::urdna2015` 0.1.1 (pinned) step by step:
//!
//! * ambiguous nodes are found exactly, with `ssi-rdf`'s own first-degree hash;
//! * a call on an ambiguous node `X` hashes each related node (`base(X)`) and, for each group
//!   of related entries sharing a related hash, tries every permutation. The related hash is
//!   (position, predicate, label or first-degree hash): entries naming the same node always
//!   share it, entries naming different nodes only while both are unlabelled ambiguous ones.
//!   Grouping by (position, predicate) and merging all unlabelled ambiguous members of a group
//!   overcounts (`Σ pᵢ! ≤ (Σ pᵢ)!`);
//! * each permutation walks the group, copies the issuer (at most `B` blank nodes), makes a
//!   leaf call per entry naming a non-ambiguous node (`ssi-rdf` recurses into canonical labels
//!   too, at once), and recurses into each unlabelled ambiguous member, all of which are
//!   labelled before the recursion: with `k` ambiguous nodes unlabelled, a group holding `r`
//!   of them recurses `r` times with at most `k - r` left (see `estimate`);
//! * the algorithm starts one call per ambiguous node with `A - 1` unlabelled ones left, so the
//!   whole is at most `Σ_X C(X, A - 1)` plus the linear first-degree pass.
//!
//! Measured against the real canonicalisation, the tightest case is blank nodes that all
//! reference each other: 5 of them bound at 105 000 steps take 11 ms, 6 at 1.1 M take 76 ms,
//! 7 at 12.7 M take 660 ms (about 60 ns a step; other shapes are bound far more loosely). The
//! default budget of 1 000 000 steps keeps every accepted document under about 60 ms of
//! canonicalisation, and refuses 6 such nodes or more.
//!
//! Every quantity saturates, so the estimate itself is cheap: `O(A · Σ deg²)` at worst, and it
//! stops as soon as the budget is exceeded. Documents without ambiguous blank nodes (every
//! credential claimd issues, and every ordinary one) cost one first-degree pass.

use std::collections::{BTreeMap, HashMap};

use rdf_types::{BlankId, LexicalQuad, LexicalQuadRef};
use ssi_rdf::urdna2015::{
    hash_first_degree_quads, BlankIdPosition, BlankNodeComponents, IdentifierIssuer,
    NormalizationState,
};

use crate::error::MerklizeError;

/// Bounds on the generic pipeline's input to URDNA2015. See the module docs of `budget` for
/// what a step is and how the bound is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanonLimits {
    /// Most RDF quads a document may expand to.
    pub max_statements: usize,
    /// Most distinct blank nodes among those quads.
    pub max_blank_nodes: usize,
    /// Most steps the canonicalisation of ambiguous blank nodes may take, by the upper bound.
    pub max_work: u64,
}

impl CanonLimits {
    /// Defaults: far above any credential (claimd's have no blank node at all, typical
    /// third-party ones a handful, none ambiguous), and small enough that the worst document
    /// within them canonicalises in milliseconds.
    pub const DEFAULT: CanonLimits = CanonLimits {
        max_statements: 10_000,
        max_blank_nodes: 512,
        max_work: 1_000_000,
    };
}

impl Default for CanonLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The names of the limits, as errors and configuration call them.
pub const MAX_QUADS: &str = "max_statements";
pub const MAX_BLANK_NODES: &str = "max_rdf_blank_nodes";
pub const MAX_WORK: &str = "max_normalization_work";

/// Refuses `quads` when canonicalising them could exceed `limits`.
pub(crate) fn check(quads: &[LexicalQuad], limits: &CanonLimits) -> Result<(), MerklizeError> {
    if quads.len() > limits.max_statements {
        return Err(MerklizeError::LimitExceeded {
            limit: MAX_QUADS,
            detail: format!(
                "the document expands to {} RDF statements, at most {} are accepted",
                quads.len(),
                limits.max_statements
            ),
        });
    }
    let refs: Vec<LexicalQuadRef<'_>> = quads.iter().map(|q| q.as_lexical_quad_ref()).collect();
    // The very map ssi-rdf builds (a quad is listed once per blank component, so twice for a
    // node that is both its subject and object).
    let mut state = NormalizationState {
        blank_node_to_quads: BTreeMap::new(),
        hash_to_blank_nodes: BTreeMap::new(),
        canonical_issuer: IdentifierIssuer::new("_:c14n".to_owned()),
    };
    for q in &refs {
        for b in q.blank_node_components() {
            state.blank_node_to_quads.entry(b).or_default().push(*q);
        }
    }
    let blanks: Vec<&BlankId> = state.blank_node_to_quads.keys().copied().collect();
    if blanks.len() > limits.max_blank_nodes {
        return Err(MerklizeError::LimitExceeded {
            limit: MAX_BLANK_NODES,
            detail: format!(
                "the document has {} blank nodes (JSON objects without an id), at most {} are accepted",
                blanks.len(),
                limits.max_blank_nodes
            ),
        });
    }
    let mut hashes = Vec::with_capacity(blanks.len());
    let mut sharing: HashMap<String, usize> = HashMap::new();
    for b in &blanks {
        let h = hash_first_degree_quads(&mut state, b);
        *sharing.entry(h.clone()).or_default() += 1;
        hashes.push(h);
    }
    let ambiguous: HashMap<&BlankId, usize> = blanks
        .iter()
        .zip(&hashes)
        .filter(|(_, h)| sharing[*h] > 1)
        .enumerate()
        .map(|(i, (b, _))| (*b, i))
        .collect();
    if ambiguous.is_empty() {
        return Ok(());
    }
    let work = estimate(&state, &ambiguous, blanks.len() as u64, limits.max_work);
    if work > limits.max_work {
        return Err(MerklizeError::LimitExceeded {
            limit: MAX_WORK,
            detail: format!(
                "{} blank nodes cannot be told apart by their own statements (e.g. objects \
                 without an id that reference each other); canonicalising them could take \
                 {} steps, at most {} are accepted",
                ambiguous.len(),
                if work == u64::MAX {
                    "more than 10^19".to_owned()
                } else {
                    work.to_string()
                },
                limits.max_work
            ),
        });
    }
    Ok(())
}

/// One (position, predicate) group of an ambiguous node's related entries.
struct Group {
    /// Entries in the group (path steps per permutation).
    entries: u64,
    /// Entries naming a node that is not ambiguous (each a leaf call per permutation).
    leaves: u64,
    /// `Π mult!` over the group's distinct nodes: permutations of entries naming the same node,
    /// paid whatever is labelled.
    duplicates: u64,
    /// The distinct ambiguous members (indexes), with their multiplicities, largest first.
    ambiguous: Vec<(usize, u64)>,
}

/// What one Hash N-Degree Quads call on an ambiguous node costs, recursion aside.
struct Node {
    /// `base(X)`: hashing the node's quads and every related node's.
    base: u64,
    groups: Vec<Group>,
}

/// `Σ_X C(X, A - 1)`, saturating; stops early once it exceeds `budget`.
///
/// At a call on `X` with `k` ambiguous nodes still unlabelled, a group holding `r` of them (as
/// many as `k` allows, and at least as many as do not fit outside the group) is permuted
/// `E(r)! · Π mult!` ways (`E(r)`: their entries; labelled and canonical nodes hash by their
/// own label, so only unlabelled ones can be confused with each other), and each permutation
/// walks the group's entries, copies the issuer (`B`), makes a leaf call per non-ambiguous
/// entry and recurses into each of the `r`, which are labelled first: a call with at most
/// `k - r` left. `C` is made monotone in `k` (a running maximum), so "at most" is safe.
fn estimate(
    state: &NormalizationState<'_>,
    ambiguous: &HashMap<&BlankId, usize>,
    blank_count: u64,
    budget: u64,
) -> u64 {
    // Hashing a node's quads costs one step per quad and per 128 bytes of them (a long
    // literal is serialised again by every first-degree hash that reads it).
    let weights: HashMap<&BlankId, u64> = state
        .blank_node_to_quads
        .iter()
        .map(|(b, quads)| {
            let w = quads
                .iter()
                .map(|q| 1 + q.to_string().len() as u64 / 128)
                .fold(0u64, u64::saturating_add);
            (*b, w)
        })
        .collect();
    let quads_of = |b: &BlankId| weights.get(b).copied().unwrap_or(0);
    let leaf = 1 + blank_count;
    let a = ambiguous.len();
    let mut nodes: Vec<Node> = Vec::new();
    nodes.resize_with(a, || Node {
        base: 0,
        groups: Vec::new(),
    });
    for (&x, &i) in ambiguous {
        let mut base = quads_of(x);
        // (position, predicate) → related node → multiplicity
        let mut groups: BTreeMap<(BlankIdPosition, Option<&str>), BTreeMap<&BlankId, u64>> =
            BTreeMap::new();
        for q in &state.blank_node_to_quads[x] {
            for (related, position) in q.blank_node_components_with_position() {
                if related == x {
                    continue;
                }
                base = base.saturating_add(1 + quads_of(related));
                let predicate =
                    (position != BlankIdPosition::Graph).then(|| q.predicate().as_str());
                *groups
                    .entry((position, predicate))
                    .or_default()
                    .entry(related)
                    .or_default() += 1;
            }
        }
        let groups = groups
            .into_values()
            .map(|members| {
                let mut g = Group {
                    entries: members.values().sum(),
                    leaves: 0,
                    duplicates: 1,
                    ambiguous: Vec::new(),
                };
                for (node, mult) in members {
                    g.duplicates = g.duplicates.saturating_mul(factorial(mult));
                    match ambiguous.get(node) {
                        Some(&m) => g.ambiguous.push((m, mult)),
                        None => g.leaves += mult,
                    }
                }
                g.ambiguous.sort_by_key(|m| std::cmp::Reverse(m.1));
                g
            })
            .collect();
        nodes[i] = Node { base, groups };
    }
    // table[k][Y] = C(Y, k), monotone in k.
    let mut table: Vec<Vec<u64>> = Vec::with_capacity(a);
    for k in 0..a {
        let mut row: Vec<u64> = nodes
            .iter()
            .map(|n| {
                n.groups.iter().fold(n.base, |acc, g| {
                    let members = g.ambiguous.len();
                    let outside = a - 1 - members;
                    let (low, high) = (k.saturating_sub(outside), members.min(k));
                    let worst = (low..=high)
                        .map(|r| {
                            let entries: u64 = g.ambiguous[..r].iter().map(|(_, m)| m).sum();
                            let recursion = if r == 0 {
                                0
                            } else {
                                let deeper = g.ambiguous[..]
                                    .iter()
                                    .map(|(m, _)| table[k - r][*m])
                                    .max()
                                    .unwrap_or(0);
                                (r as u64).saturating_mul(deeper)
                            };
                            let per_permutation = blank_count
                                .saturating_add(g.entries)
                                .saturating_add(g.leaves.saturating_mul(leaf))
                                .saturating_add(recursion);
                            factorial(entries)
                                .saturating_mul(g.duplicates)
                                .saturating_mul(per_permutation)
                        })
                        .max()
                        .unwrap_or(0);
                    acc.saturating_add(worst)
                })
            })
            .collect();
        if let Some(previous) = table.last() {
            for (c, p) in row.iter_mut().zip(previous) {
                *c = (*c).max(*p);
            }
        }
        let total = row.iter().fold(0u64, |t, c| t.saturating_add(*c));
        table.push(row);
        if total > budget {
            return total;
        }
    }
    table
        .last()
        .map_or(0, |row| row.iter().fold(0u64, |t, c| t.saturating_add(*c)))
}

fn factorial(n: u64) -> u64 {
    (2..=n).fold(1u64, |f, i| f.saturating_mul(i))
}
