//! Canonical quads → merklization entries (path + typed value), as js-jsonld-merklization 1.7.2
//! does it (`Relationship`, `RDFEntry.fromDataSet`).
//!
//! * Every quad is one entry, except quads whose object is a blank node that serves as a
//!   parent (its children carry the data).
//! * The **path** of a quad is the chain of predicates from a root subject down to it. A quad's
//!   parent is the unique quad (same graph) whose object is the quad's subject; two such
//!   quads are an error. Where a parent `(subject, predicate)` has several distinct children,
//!   the child's position (in order of first appearance) is inserted into the path before
//!   the child's predicate.
//! * If several quads share `(graph, subject, predicate)`, each gets its position among them
//!   (canonical order) appended to the path, i.e. the value is treated as an array element.

use std::collections::HashMap;

use claimd_iden3::Fr;

use crate::error::MerklizeError;
use crate::rdf::{CanonicalQuads, Quad, Term};
use crate::value::{literal_value, MtValue};

/// One element of a merklization path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathPart {
    /// A predicate IRI, hashed with the byte sponge.
    Iri(String),
    /// An array or child index, used as the integer itself.
    Index(u32),
}

/// A merklized leaf before hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// Path from the root.
    pub path: Vec<PathPart>,
    /// The typed value.
    pub value: MtValue,
    /// Literal datatype IRI (`""` for IRI objects), as the JS `RDFEntry.dataType`.
    pub datatype: String,
}

/// Reference to a node: the value n3 and the JS code compare (type + lexical value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum NodeRef<'a> {
    Iri(&'a str),
    Blank(&'a str),
}

fn node_ref(t: &Term) -> Option<NodeRef<'_>> {
    match t {
        Term::Iri(i) => Some(NodeRef::Iri(i)),
        Term::Blank(b) => Some(NodeRef::Blank(b)),
        Term::Literal { .. } => None,
    }
}

/// `(graph, subject, predicate)`: the JS `QuadArrKey`.
type ArrKey<'a> = (&'a str, NodeRef<'a>, &'a str);

/// Name of a quad's graph as the JS code uses it.
fn graph_name(q: &Quad) -> Result<&str, MerklizeError> {
    match &q.graph {
        None => Ok("@default"),
        Some(Term::Blank(b)) => Ok(b),
        Some(_) => Err(MerklizeError::Structure(
            "graph name is not a blank node".into(),
        )),
    }
}

fn arr_key(q: &Quad) -> Result<ArrKey<'_>, MerklizeError> {
    let subject = node_ref(&q.subject)
        .ok_or_else(|| MerklizeError::Structure("invalid subject type".into()))?;
    Ok((graph_name(q)?, subject, q.predicate.as_str()))
}

/// Builds the entries of a canonical dataset, in the order the JS code inserts them.
pub fn entries(ds: &CanonicalQuads) -> Result<Vec<RawEntry>, MerklizeError> {
    // Group quads by graph, keeping canonical order inside each graph.
    let mut graphs: Vec<(&str, Vec<&Quad>)> = Vec::new();
    for q in ds.quads() {
        let g = graph_name(q)?;
        match graphs.iter_mut().find(|(n, _)| *n == g) {
            Some((_, v)) => v.push(q),
            None => graphs.push((g, vec![q])),
        }
    }
    if !graphs.iter().any(|(n, _)| *n == "@default") {
        return Err(MerklizeError::Structure(
            "@default graph not found in dataset".into(),
        ));
    }
    // JS sorts graph names with localeCompare; "@default" sorts before the c14n labels and
    // the labels are plain ASCII, for which byte order agrees with it.
    graphs.sort_by(|a, b| match (a.0 == "@default", b.0 == "@default") {
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.0.cmp(b.0),
    });

    // Flat index: (graph number, index inside graph).
    type Idx = (usize, usize);
    let quad_at = |i: Idx| graphs[i.0].1[i.1];

    // Relationship: parent of each quad and the child numbering of each parent key.
    let mut parents: HashMap<Idx, Idx> = HashMap::new();
    let mut children: HashMap<ArrKey<'_>, HashMap<NodeRef<'_>, u32>> = HashMap::new();
    for (gi, (_, quads)) in graphs.iter().enumerate() {
        for (qi, q) in quads.iter().enumerate() {
            let Some(parent) = find_parent(&graphs, gi, q)? else {
                continue;
            };
            parents.insert((gi, qi), parent);
            let pkey = arr_key(quad_at(parent))?;
            let child = node_ref(&q.subject)
                .ok_or_else(|| MerklizeError::Structure("invalid subject type".into()))?;
            let m = children.entry(pkey).or_default();
            let next = m.len() as u32;
            m.entry(child).or_insert(next);
        }
    }

    let total: usize = graphs.iter().map(|(_, q)| q.len()).sum();
    let mut out = Vec::with_capacity(total);
    for (gi, (_, quads)) in graphs.iter().enumerate() {
        let mut counts: HashMap<ArrKey<'_>, u32> = HashMap::new();
        for q in quads {
            *counts.entry(arr_key(q)?).or_default() += 1;
        }
        let mut seen: HashMap<ArrKey<'_>, u32> = HashMap::new();
        for (qi, q) in quads.iter().enumerate() {
            let key = arr_key(q)?;
            let (value, datatype) = match &q.object {
                Term::Literal {
                    value, datatype, ..
                } => (literal_value(datatype, value)?, datatype.clone()),
                Term::Iri(i) => (MtValue::String(i.clone()), String::new()),
                Term::Blank(_) => {
                    if children.contains_key(&key) {
                        // A parent of other quads: no value of its own.
                        continue;
                    }
                    return Err(MerklizeError::Structure(
                        "a blank node object without children is not supported".into(),
                    ));
                }
            };
            let idx = if counts[&key] > 1 {
                let s = seen.entry(key).or_default();
                let i = *s;
                *s += 1;
                Some(i)
            } else {
                None
            };

            // Path, built leaf-first and reversed, exactly as the JS code does.
            let mut rev: Vec<PathPart> = Vec::with_capacity(6);
            if let Some(i) = idx {
                rev.push(PathPart::Index(i));
            }
            rev.push(PathPart::Iri(q.predicate.clone()));
            let mut next: Idx = (gi, qi);
            let mut hops = 0usize;
            while let Some(&pidx) = parents.get(&next) {
                hops += 1;
                if hops > total {
                    // The JS code would loop forever on a reference cycle.
                    return Err(MerklizeError::Structure(
                        "reference cycle between nodes".into(),
                    ));
                }
                let parent = quad_at(pidx);
                let cm = children
                    .get(&arr_key(parent)?)
                    .ok_or_else(|| MerklizeError::Structure("parent mapping not found".into()))?;
                let child = node_ref(&quad_at(next).subject)
                    .ok_or_else(|| MerklizeError::Structure("invalid subject type".into()))?;
                let ci = *cm.get(&child).ok_or_else(|| {
                    MerklizeError::Structure("child not found in parents mapping".into())
                })?;
                if cm.len() == 1 {
                    rev.push(PathPart::Iri(parent.predicate.clone()));
                } else {
                    rev.push(PathPart::Index(ci));
                    rev.push(PathPart::Iri(parent.predicate.clone()));
                }
                next = pidx;
            }
            rev.reverse();
            out.push(RawEntry {
                path: rev,
                value,
                datatype,
            });
        }
    }
    Ok(out)
}

/// `RDFDataset.findParent`: the unique quad whose object is `q`'s subject (same graph), or for
/// a quad in a named graph, the quad whose object is the graph's blank node.
fn find_parent(
    graphs: &[(&str, Vec<&Quad>)],
    gi: usize,
    q: &Quad,
) -> Result<Option<(usize, usize)>, MerklizeError> {
    let subject = node_ref(&q.subject);
    let mut found = None;
    if subject.is_some() {
        for (i, other) in graphs[gi].1.iter().enumerate() {
            if *other == q {
                continue;
            }
            if node_ref(&other.object).is_some() && node_ref(&other.object) == subject {
                if found.is_some() {
                    return Err(MerklizeError::Structure("multiple parents found".into()));
                }
                found = Some((gi, i));
            }
        }
    }
    if found.is_some() {
        return Ok(found);
    }
    let graph = match &q.graph {
        None => return Ok(None),
        Some(Term::Blank(b)) => NodeRef::Blank(b),
        Some(_) => {
            return Err(MerklizeError::Structure(
                "graph parent can only be a blank node".into(),
            ))
        }
    };
    for (g, (_, quads)) in graphs.iter().enumerate() {
        for (i, other) in quads.iter().enumerate() {
            if *other == q {
                continue;
            }
            if node_ref(&other.object) == Some(graph.clone()) {
                if found.is_some() {
                    return Err(MerklizeError::Structure("multiple parents found".into()));
                }
                found = Some((g, i));
            }
        }
    }
    found
        .map(Some)
        .ok_or_else(|| MerklizeError::Structure("parent not found".into()))
}

/// Hashes a path into its tree key: `Poseidon(parts)`, IRIs through the byte sponge.
pub fn path_key(path: &[PathPart]) -> Result<Fr, MerklizeError> {
    let parts: Vec<Fr> = path
        .iter()
        .map(|p| match p {
            PathPart::Iri(s) => claimd_iden3::poseidon::hash_bytes(s.as_bytes()),
            PathPart::Index(i) => Fr::from_u64(u64::from(*i)),
        })
        .collect();
    claimd_iden3::poseidon::hash(&parts).map_err(|e| MerklizeError::Hash(e.to_string()))
}
