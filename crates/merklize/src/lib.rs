//! claimd-merklize: iden3 JSON-LD merklization of W3C verifiable credentials, bit-for-bit equal
//! to `@iden3/js-jsonld-merklization` 1.7.2 (jsonld.js 8.3.3 canonization in safe mode) and
//! go-schema-processor's `merklize`.
//!
//! Pure library: no I/O, no async runtime, no network. JSON-LD contexts come from the bundled
//! set (`contexts/`) or are registered by the service.
//!
//! # Pipeline
//! 1. The credential (without `proof`) is turned into canonical N-Quads (URDNA2015), exactly as
//!    `jsonld.canonize` does it, including its safe-mode refusals (undefined terms, relative
//!    IRIs).
//! 2. Each quad becomes an entry: a **path** (predicate IRIs from the root, plus array/child
//!    indexes) hashed to a key `Poseidon(parts)`, and a **value** typed by its XSD datatype
//!    (see [`MtValue`]).
//! 3. The entries go into a depth-40 sparse Merkle tree; its root is the claim's merklized root.
//!
//! Two implementations of step 1 exist. The **generic** one runs full JSON-LD 1.1 with the
//! `json-ld` crate (~3 ms). The **fast** one (see `fast`) handles the fixed credential shapes an
//! issuer produces with cached, pre-processed contexts and falls back to the generic one for
//! anything it does not provably handle. [`Merklizer::merklize`] uses fast-then-generic.
//!
//! # API
//! * [`Merklizer::new`] — bundled contexts; [`Merklizer::register_context`]`(url, json)` adds
//!   (or replaces) a context the service generated, e.g. `<public url>/v1/schemas/<id>.jsonld`.
//! * [`Merklizer::merklize`]`(&vc) -> Result<`[`Merklized`]`, `[`MerklizeError`]`>` — fast path,
//!   falling back to the generic pipeline ([`Merklizer::merklize_credential`] drops `proof`
//!   first; [`Merklizer::stats`] counts fast/generic/disabled); [`Merklizer::merklize_generic`] and
//!   [`Merklizer::merklize_fast`] run one pipeline only (tests, benchmarks);
//!   [`Merklizer::canonize`] returns the canonical N-Quads.
//! * [`Merklized::root`] (claim slot value), [`Merklized::credential_type_iri`] (input of the
//!   schema hash), [`Merklized::entries`], [`Merklized::proof`] (selective disclosure),
//!   [`Merklized::canonical_nquads`]; [`Merklizer::resolve_path`] turns
//!   `credentialSubject.age` into the path a proof is asked for.
//!
//! ```no_run
//! use claimd_merklize::Merklizer;
//! let mz = Merklizer::new();
//! mz.register_context("https://issuer.example/v1/schemas/1.jsonld", r#"{"@context": {}}"#)?;
//! let vc: serde_json::Value = serde_json::from_str("{}").unwrap();
//! let m = mz.merklize(&vc)?;
//! println!("root {} type {:?}", m.root(), m.credential_type_iri());
//! # Ok::<(), claimd_merklize::MerklizeError>(())
//! ```
//!
//! [`Merklizer`] is `Send + Sync`; share one behind an `Arc`. Its caches (processed contexts,
//! path keys, string hashes, per-shape common tree leaves) are internally synchronised and
//! bounded.
//!
//! # Known differences from the JS stack (all refusals, never a different root)
//! * A property holding two *different* JSON values that give the same typed literal
//!   (`[18, "18"]` on an `xsd:integer` term) is refused; jsonld.js keeps both quads.
//! * `xsd:dateTime` accepts the RFC 3339 forms listed in `datetime`; exotic forms that
//!   `Date.parse` and `Temporal` both happen to accept (extended `±YYYYYY` years) are refused.
//! * Contexts are never fetched: an unknown URL is [`MerklizeError::UnknownContext`].
//!
//! # Work limits
//! URDNA2015 is factorial in blank nodes that cannot be told apart by their own statements,
//! and the canonicaliser (`ssi-rdf`) cannot be interrupted. So the generic pipeline checks its
//! input against [`CanonLimits`] first — statements, blank nodes, and an upper bound of the
//! canonicalisation's steps computed from the graph's shape (see `budget`) — and refuses with
//! [`MerklizeError::LimitExceeded`] before any of that work starts. With the defaults the
//! worst accepted document canonicalises in milliseconds; ordinary credentials are far below.

mod budget;
mod contexts;
mod datetime;
mod entries;
mod error;
mod fast;
mod generic;
mod jsnum;
mod path;
mod rdf;
mod tree;
mod value;

#[cfg(feature = "testing")]
pub mod testing;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

pub use claimd_iden3::merkletree::Proof;
pub use claimd_iden3::Fr;

use claimd_iden3::merkletree::{MemoryStore, MerkleTree};

pub use budget::CanonLimits;
pub use entries::PathPart;
pub use error::MerklizeError;
pub use rdf::{Quad, Term};
pub use value::MtValue;

use contexts::ContextStore;
use rdf::{CanonicalQuads, RDF_TYPE};

/// `cred:credentialSubject`.
const CREDENTIAL_SUBJECT: &str = "https://www.w3.org/2018/credentials#credentialSubject";
/// `cred:VerifiableCredential`.
const VERIFIABLE_CREDENTIAL: &str = "https://www.w3.org/2018/credentials#VerifiableCredential";

/// Bound on the path-key cache; a full cache is simply cleared (keys are cheap to recompute).
const KEY_CACHE_LIMIT: usize = 1 << 16;
/// Bound on the string-hash cache (cleared when full).
const STRING_CACHE_LIMIT: usize = 1 << 14;
/// Longer strings are not memoised.
const STRING_CACHE_MAX_LEN: usize = 512;

/// Merklizes credentials. Create once, share across threads.
#[derive(Debug)]
pub struct Merklizer {
    store: ContextStore,
    fast: fast::FastPath,
    /// Path → tree key. Paths repeat across every credential of a schema.
    key_cache: RwLock<HashMap<Vec<PathPart>, Fr>>,
    /// How documents were handled, for operations.
    fast_count: AtomicU64,
    generic_count: AtomicU64,
    disabled_count: AtomicU64,
    /// String value → its byte-sponge hash. Type, issuer and schema IRIs (and many attribute
    /// values) repeat across credentials, and the 16-wide sponge is the costliest hash here.
    string_cache: RwLock<HashMap<String, Fr>>,
    /// Bounds on what the generic pipeline canonicalises.
    limits: CanonLimits,
}

impl Default for Merklizer {
    fn default() -> Self {
        Self::new()
    }
}

/// See [`Merklizer::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MerklizeStats {
    /// Documents handled by the fast path.
    pub fast: u64,
    /// Documents handled by the generic pipeline (outside the fast path's subset).
    pub generic: u64,
    /// Context sets where the fast path's first result differed from the generic one.
    pub fast_path_disabled: u64,
}

/// One merklized leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path from the document root (predicate IRIs and indexes).
    pub path: Vec<PathPart>,
    /// Typed value.
    pub value: MtValue,
    /// Datatype IRI of a literal object; empty for IRI objects.
    pub datatype: String,
    /// Tree key: `Poseidon(hash_bytes(iri) | index, …)`.
    pub key: Fr,
    /// Tree value.
    pub value_hash: Fr,
}

/// The result of merklizing one document.
#[derive(Debug, Clone)]
pub struct Merklized {
    quads: CanonicalQuads,
    entries: Vec<Entry>,
    tree: MerkleTree<MemoryStore>,
}

impl Merklized {
    /// Root of the depth-40 tree: the value that goes into the claim's index/value slot.
    pub fn root(&self) -> Fr {
        self.tree.root()
    }

    /// Proof that `path` holds its entry's value (or that nothing is stored there), for
    /// selective disclosure. Returns the proof and the entry, if any.
    pub fn proof(&self, path: &[PathPart]) -> Result<(Proof, Option<&Entry>), MerklizeError> {
        let key = entries::path_key(path)?;
        let (proof, _) = self
            .tree
            .generate_proof(key)
            .map_err(|e| MerklizeError::Hash(e.to_string()))?;
        Ok((proof, self.entries.iter().find(|e| e.key == key)))
    }

    /// The entries, in the order the JS merklizer inserts them.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The canonical N-Quads document (what `jsonld.canonize` returns).
    pub fn canonical_nquads(&self) -> String {
        self.quads.to_nquads()
    }

    /// The entry stored at `path`, if any.
    pub fn entry(&self, path: &[PathPart]) -> Option<&Entry> {
        self.entries.iter().find(|e| e.path == path)
    }

    /// The expanded IRI of the credential's type, as js-sdk's `findCredentialType` picks it:
    /// the single `@type` of `credentialSubject`, else the top-level type that is not
    /// `VerifiableCredential` (when there are exactly two). This is the input of the claim's
    /// schema hash.
    pub fn credential_type_iri(&self) -> Option<&str> {
        let quads: Vec<&Quad> = self.quads.quads().collect();
        let is_object = |t: &Term| quads.iter().any(|q| &q.object == t);
        let roots: Vec<&Term> = quads
            .iter()
            .filter(|q| q.graph.is_none() && !is_object(&q.subject))
            .map(|q| &q.subject)
            .collect();
        let types_of = |s: &Term| -> Vec<&str> {
            quads
                .iter()
                .filter(|q| q.graph.is_none() && &q.subject == s && q.predicate == RDF_TYPE)
                .filter_map(|q| match &q.object {
                    Term::Iri(i) => Some(i.as_str()),
                    _ => None,
                })
                .collect()
        };
        let subjects: Vec<&Term> = quads
            .iter()
            .filter(|q| {
                q.graph.is_none()
                    && q.predicate == CREDENTIAL_SUBJECT
                    && roots.contains(&&q.subject)
            })
            .map(|q| &q.object)
            .collect();
        if let [subject] = subjects.as_slice() {
            if let [t] = types_of(subject).as_slice() {
                return Some(t);
            }
        }
        let root = subjects
            .first()
            .and_then(|s| quads.iter().find(|q| &q.object == *s))
            .map(|q| &q.subject)
            .or(roots.first().copied())?;
        match types_of(root).as_slice() {
            [a, b] if *a == VERIFIABLE_CREDENTIAL => Some(b),
            [a, b] if *b == VERIFIABLE_CREDENTIAL => Some(a),
            _ => None,
        }
    }
}

impl Merklizer {
    /// A merklizer serving the bundled contexts (W3C credentials v1, iden3 proofs, auth,
    /// display method, the interop fixture).
    pub fn new() -> Self {
        Merklizer {
            store: ContextStore::bundled(),
            fast: fast::FastPath::default(),
            key_cache: RwLock::new(HashMap::new()),
            string_cache: RwLock::new(HashMap::new()),
            fast_count: AtomicU64::new(0),
            generic_count: AtomicU64::new(0),
            disabled_count: AtomicU64::new(0),
            limits: CanonLimits::DEFAULT,
        }
    }

    /// Like [`Merklizer::new`], with other bounds on canonicalisation (a public verifier may
    /// want tighter ones than issuance).
    pub fn with_limits(limits: CanonLimits) -> Self {
        Merklizer {
            limits,
            ..Self::new()
        }
    }

    /// The bounds on canonicalisation this merklizer enforces.
    pub fn limits(&self) -> CanonLimits {
        self.limits
    }

    /// Serves `json` (a JSON-LD context document) for `url` from now on, replacing any
    /// previous document for that URL.
    pub fn register_context(&self, url: &str, json: &str) -> Result<(), MerklizeError> {
        self.store.register(url, json)?;
        // Memoised contexts may depend on the replaced document.
        self.fast.clear();
        Ok(())
    }

    /// Merklizes a credential (pass it **without** `proof`): the fast path when it applies,
    /// else the generic pipeline. Both give identical results.
    pub fn merklize(&self, doc: &serde_json::Value) -> Result<Merklized, MerklizeError> {
        match self.fast.canonical_quads(&self.store, doc) {
            Ok((quads, trust)) => {
                if !trust.is_confirmed() {
                    // First document of this context set: cross-check with the generic path.
                    let generic = generic::canonical_quads(&self.store, doc, &self.limits);
                    // Over the limits says nothing about the fast path's correctness: refuse
                    // the document, as the generic pipeline would, and keep the trust pending.
                    if let Err(e @ MerklizeError::LimitExceeded { .. }) = generic {
                        return Err(e);
                    }
                    let equal = matches!(&generic, Ok(g) if g.to_nquads() == quads.to_nquads());
                    trust.record(equal);
                    if !equal {
                        self.disabled_count.fetch_add(1, Ordering::Relaxed);
                        self.generic_count.fetch_add(1, Ordering::Relaxed);
                        return self.finish(generic?, None);
                    }
                }
                self.fast_count.fetch_add(1, Ordering::Relaxed);
                self.finish(quads, Some(&trust.base))
            }
            Err(fast::Bail) => {
                self.generic_count.fetch_add(1, Ordering::Relaxed);
                self.merklize_generic(doc)
            }
        }
    }

    /// Merklizes a whole credential: like [`Merklizer::merklize`] on the credential without its
    /// `proof` member (what js-sdk's `W3CCredential.merklize` hashes).
    pub fn merklize_credential(
        &self,
        credential: &serde_json::Value,
    ) -> Result<Merklized, MerklizeError> {
        match credential {
            serde_json::Value::Object(m) if m.contains_key("proof") => {
                let mut without = m.clone();
                without.remove("proof");
                self.merklize(&serde_json::Value::Object(without))
            }
            other => self.merklize(other),
        }
    }

    /// Counters since creation: documents merklized by the fast path, by the generic
    /// pipeline, and context sets on which the fast path disagreed with the generic pipeline
    /// and was switched off (expected to stay 0; worth an alert otherwise).
    pub fn stats(&self) -> MerklizeStats {
        MerklizeStats {
            fast: self.fast_count.load(Ordering::Relaxed),
            generic: self.generic_count.load(Ordering::Relaxed),
            fast_path_disabled: self.disabled_count.load(Ordering::Relaxed),
        }
    }

    /// Merklizes with the fast path only; `Ok(None)` when the document is outside what it
    /// handles (then [`Merklizer::merklize`] uses the generic pipeline). For tests and benches.
    pub fn merklize_fast(
        &self,
        doc: &serde_json::Value,
    ) -> Result<Option<Merklized>, MerklizeError> {
        match self.fast.canonical_quads(&self.store, doc) {
            Ok((quads, trust)) => self.finish(quads, Some(&trust.base)).map(Some),
            Err(fast::Bail) => Ok(None),
        }
    }

    /// The merklization path of a dotted document path such as `credentialSubject.age`
    /// (js-jsonld-merklization `Path.fromDocument`), for [`Merklized::proof`] and queries.
    pub fn resolve_path(
        &self,
        doc: &serde_json::Value,
        path: &str,
    ) -> Result<Vec<PathPart>, MerklizeError> {
        self.fast
            .with_processor(|p| path::resolve(p, &self.store, doc, path))
    }

    /// Merklizes with the generic JSON-LD pipeline only (reference for the fast path).
    pub fn merklize_generic(&self, doc: &serde_json::Value) -> Result<Merklized, MerklizeError> {
        let quads = generic::canonical_quads(&self.store, doc, &self.limits)?;
        self.finish(quads, None)
    }

    /// Canonical N-Quads of `doc` from the generic pipeline (what `jsonld.canonize` returns).
    pub fn canonize(&self, doc: &serde_json::Value) -> Result<String, MerklizeError> {
        Ok(generic::canonical_quads(&self.store, doc, &self.limits)?.to_nquads())
    }

    fn finish(
        &self,
        quads: CanonicalQuads,
        base: Option<&tree::BaseSlot>,
    ) -> Result<Merklized, MerklizeError> {
        let raw = entries::entries(&quads)?;
        let mut out = Vec::with_capacity(raw.len());
        let mut leaves = Vec::with_capacity(raw.len());
        for e in raw {
            let key = self.path_key(&e.path)?;
            if e.value == MtValue::String(String::new()) {
                // @iden3/js-crypto's hashBytes returns `undefined` for an empty message, and
                // the tree then refuses the entry.
                return Err(MerklizeError::InvalidValue {
                    datatype: e.datatype,
                    value: String::new(),
                    reason: "an empty string cannot be merklized".into(),
                });
            }
            let value_hash = self.value_hash(&e.value)?;
            leaves.push((key, value_hash));
            out.push(Entry {
                path: e.path,
                value: e.value,
                datatype: e.datatype,
                key,
                value_hash,
            });
        }
        // The JS merklizer inserts one by one; the root of the iden3 tree only depends on the
        // set of leaves, so a batch insert (onto the shape's common leaves, when known) gives
        // the same root with each node hashed once.
        let tree = match base {
            Some(b) => b.build(&leaves)?,
            None => tree::build(&leaves)?,
        };
        Ok(Merklized {
            quads,
            entries: out,
            tree,
        })
    }

    /// Hash of a value; string hashes are memoised (short strings only).
    fn value_hash(&self, v: &MtValue) -> Result<Fr, MerklizeError> {
        let MtValue::String(s) = v else {
            return v.hash();
        };
        if s.len() > STRING_CACHE_MAX_LEN {
            return v.hash();
        }
        memoised(&self.string_cache, STRING_CACHE_LIMIT, s.as_str(), || {
            v.hash()
        })
    }

    fn path_key(&self, path: &[PathPart]) -> Result<Fr, MerklizeError> {
        memoised(&self.key_cache, KEY_CACHE_LIMIT, path, || {
            entries::path_key(path)
        })
    }
}

/// What `cache` holds for `key`, else what `compute` gives, remembered. A cache of `limit`
/// entries is cleared first (its values are cheap enough to recompute), and a poisoned lock is
/// used anyway (no update leaves the map half-written).
fn memoised<K, Q>(
    cache: &RwLock<HashMap<K, Fr>>,
    limit: usize,
    key: &Q,
    compute: impl FnOnce() -> Result<Fr, MerklizeError>,
) -> Result<Fr, MerklizeError>
where
    K: Borrow<Q> + Hash + Eq,
    Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
{
    if let Some(v) = cache.read().unwrap_or_else(|p| p.into_inner()).get(key) {
        return Ok(*v);
    }
    let v = compute()?;
    let mut cache = cache.write().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= limit {
        cache.clear();
    }
    cache.insert(key.to_owned(), v);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merklizer_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Merklizer>();
        check::<Merklized>();
    }
}
