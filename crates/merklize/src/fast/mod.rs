//! The fast path: JSON-LD expansion + toRdf for the fixed credential shapes claimd issues,
//! without re-running the generic algorithms per document.
//!
//! Everything that is constant for a set of contexts is computed once and memoised: the
//! processed top-level context, every type- and property-scoped context applied on top of it,
//! and therefore every term's expanded IRI and datatype coercion. Per document, only the JSON
//! is walked: keys are looked up in the processed context, values turned into RDF terms, and
//! the quads sorted into canonical order. With no blank nodes (every node has an `id`), URDNA2015
//! relabels nothing, so the sorted quads *are* the canonical form.
//!
//! The walk implements JSON-LD 1.1 expansion (§5.1) restricted to: node objects with an
//! absolute `@id`; `@type` values (with type-scoped contexts, `@propagate`, reverting to the
//! previous context in nested nodes); properties that are defined terms (or `@vocab`-mapped
//! names) holding strings, numbers, booleans, `null`, nested node objects and flat arrays of
//! those; `@id`/`@vocab`/datatype coercion; property-scoped contexts. Anything else — blank
//! nodes, value objects, lists, `@graph`, `@nest`, language maps, compact-IRI keys, relative
//! IRIs, nodes described twice, duplicate quads — makes it [`Bail`], and the caller uses the
//! generic pipeline, which either handles the document or reports the proper error.

pub(crate) mod context;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use crate::contexts::ContextStore;
use crate::jsnum::{js_canonical_double, js_is_double, js_parse_float, js_to_fixed0};
use crate::rdf::{cmp_utf16, CanonicalQuads, Quad, Term, RDF_TYPE, XSD_STRING};
use crate::tree::BaseSlot;
use context::{expand_iri, is_absolute_iri, ActiveCtx, Coercion, Processor, Scoped, TermDef};

const XSD_DOUBLE: &str = "http://www.w3.org/2001/XMLSchema#double";
const XSD_INTEGER: &str = "http://www.w3.org/2001/XMLSchema#integer";
const XSD_BOOLEAN: &str = "http://www.w3.org/2001/XMLSchema#boolean";

/// "Not handled here": use the generic pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bail;

/// Bound on the number of distinct top-level `@context` values memoised.
const TOP_LIMIT: usize = 1024;

/// Memoised state of the fast path. Cleared whenever a context is (re)registered.
#[derive(Debug, Default)]
pub(crate) struct FastPath {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    processor: Processor,
    /// Serialized top-level `@context` → processed context and trust status.
    top: HashMap<String, (Arc<ActiveCtx>, Arc<Trust>)>,
}

/// Whether the fast path's output for a top-level context has been checked against the
/// generic pipeline. The first document of every context set is merklized both ways; a
/// mismatch disables the fast path for that context set for good (defence in depth: the
/// randomised tests are the primary proof of equality).
#[derive(Debug)]
pub(crate) struct Trust {
    state: AtomicU8,
    /// The tree leaves common to this context set's credentials (see `crate::tree`).
    pub base: BaseSlot,
}

impl Default for Trust {
    fn default() -> Self {
        Trust {
            state: AtomicU8::new(UNCHECKED),
            base: BaseSlot::default(),
        }
    }
}

const UNCHECKED: u8 = 0;
const CONFIRMED: u8 = 1;
const DISABLED: u8 = 2;

impl Trust {
    /// Has a document with this context set been confirmed equal to the generic output?
    pub fn is_confirmed(&self) -> bool {
        self.state.load(Ordering::Acquire) == CONFIRMED
    }

    /// Records the outcome of a comparison with the generic pipeline.
    pub fn record(&self, equal: bool) {
        self.state
            .store(if equal { CONFIRMED } else { DISABLED }, Ordering::Release);
    }

    fn is_disabled(&self) -> bool {
        self.state.load(Ordering::Acquire) == DISABLED
    }
}

impl FastPath {
    /// Runs `f` with the memoising context processor (exclusive access).
    pub fn with_processor<R>(&self, f: impl FnOnce(&mut Processor) -> R) -> R {
        let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
        f(&mut st.processor)
    }

    /// Forgets everything (a context document changed).
    pub fn clear(&self) {
        let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
        *st = State::default();
    }

    /// Canonical quads of `doc`, or [`Bail`] if the document is outside what this path handles.
    pub fn canonical_quads(
        &self,
        store: &ContextStore,
        doc: &Value,
    ) -> Result<(CanonicalQuads, Arc<Trust>), Bail> {
        let Value::Object(obj) = doc else {
            return Err(Bail);
        };
        let ctx_value = obj.get("@context").ok_or(Bail)?;
        let (ctx, trust) = self.top_context(store, ctx_value)?;
        if trust.is_disabled() {
            return Err(Bail);
        }
        let mut walk = Walk {
            fp: self,
            store,
            quads: Vec::with_capacity(32),
            described: HashSet::new(),
        };
        walk.node(&ctx, obj, None, true)?;
        let quads = walk.quads;
        // Duplicate quads: the node map would merge or keep them in ways not modelled here.
        let mut seen = HashSet::with_capacity(quads.len());
        for q in &quads {
            if !seen.insert(q) {
                return Err(Bail);
            }
        }
        let canonical = CanonicalQuads::from_quads(quads).map_err(|_| Bail)?;
        Ok((canonical, trust))
    }

    fn top_context(
        &self,
        store: &ContextStore,
        ctx: &Value,
    ) -> Result<(Arc<ActiveCtx>, Arc<Trust>), Bail> {
        let key = serde_json::to_string(ctx).map_err(|_| Bail)?;
        if let Some(c) = self
            .state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .top
            .get(&key)
        {
            return Ok(c.clone());
        }
        let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
        let empty = ActiveCtx::empty();
        let c = st.processor.process(store, &empty, ctx, false, true, 0)?;
        if st.top.len() >= TOP_LIMIT {
            st.top.clear();
        }
        let entry = (c, Arc::new(Trust::default()));
        st.top.insert(key, entry.clone());
        Ok(entry)
    }

    fn scoped(
        &self,
        store: &ContextStore,
        active: &Arc<ActiveCtx>,
        local: &Arc<Scoped>,
        override_protected: bool,
        propagate_default: bool,
    ) -> Result<Arc<ActiveCtx>, Bail> {
        if let Some(c) = self
            .state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .processor
            .cached(active, local, override_protected, propagate_default)
        {
            return Ok(c);
        }
        let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
        st.processor
            .process_scoped(store, active, local, override_protected, propagate_default)
    }
}

struct Walk<'a> {
    fp: &'a FastPath,
    store: &'a ContextStore,
    quads: Vec<Quad>,
    /// Subjects already described by a node object (a second description would be merged).
    described: HashSet<String>,
}

impl Walk<'_> {
    /// Expands one node object and emits its quads; returns its `@id`.
    fn node(
        &mut self,
        parent_ctx: &Arc<ActiveCtx>,
        obj: &Map<String, Value>,
        property: Option<&TermDef>,
        top: bool,
    ) -> Result<String, Bail> {
        let mut ctx = parent_ctx.clone();
        // §5.1.2 step 7: a non-propagated context does not apply to new node objects, unless
        // the object is only a reference (`{"id": …}`).
        if let Some(prev) = &ctx.previous {
            let only_id = obj.len() == 1
                && obj
                    .keys()
                    .next()
                    .is_some_and(|k| expand_iri(&ctx, k, true).as_deref() == Ok("@id"));
            if !only_id {
                ctx = prev.clone();
            }
        }
        // Step 8: property-scoped context, overriding protected terms.
        if let Some(scoped) = property.and_then(|p| p.scoped.as_ref()) {
            ctx = self.fp.scoped(self.store, &ctx, scoped, true, true)?;
        }
        // Step 9: embedded context (only the document's own, at the top).
        if obj.contains_key("@context") && !top {
            return Err(Bail);
        }
        let type_scoped = ctx.clone();

        // Step 11: type-scoped contexts, keys and values in lexicographic order.
        let mut keys: Vec<&String> = obj.keys().collect();
        keys.sort_by(|a, b| cmp_utf16(a, b));
        let mut type_values: Vec<&str> = Vec::new();
        for k in &keys {
            if k.as_str() == "@context" {
                continue;
            }
            // Keys the type-scoped context does not define (yet) are simply not @type here.
            if expand_iri(&type_scoped, k, true).ok().as_deref() == Some("@type") {
                let mut vals: Vec<&str> = match &obj[k.as_str()] {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a
                        .iter()
                        .map(|v| v.as_str().ok_or(Bail))
                        .collect::<Result<_, _>>()?,
                    _ => return Err(Bail),
                };
                vals.sort_by(|a, b| cmp_utf16(a, b));
                for v in &vals {
                    if let Some(td) = type_scoped.terms.get(*v) {
                        if let Some(scoped) = &td.scoped {
                            ctx = self.fp.scoped(self.store, &ctx, scoped, false, false)?;
                        }
                    }
                }
                type_values.extend(vals);
            }
        }

        // Step 13: every entry.
        let mut subject: Option<String> = None;
        let mut types: Vec<String> = Vec::new();
        let mut props: Vec<(String, &TermDef, &Value)> = Vec::new();
        let mut vocab_defs: Vec<(String, &Value)> = Vec::new();
        let mut seen_type_key = false;
        for k in &keys {
            let v = &obj[k.as_str()];
            if k.as_str() == "@context" {
                continue;
            }
            let expanded = expand_iri(&ctx, k, true)?;
            match expanded.as_str() {
                "@id" => {
                    let Value::String(s) = v else {
                        return Err(Bail);
                    };
                    if subject.is_some() {
                        return Err(Bail);
                    }
                    let iri = expand_iri(&ctx, s, false)?;
                    if !is_absolute_iri(&iri) || iri.starts_with("_:") {
                        return Err(Bail);
                    }
                    subject = Some(iri);
                }
                "@type" => {
                    if seen_type_key {
                        return Err(Bail);
                    }
                    seen_type_key = true;
                    for t in &type_values {
                        let iri = expand_iri(&type_scoped, t, true)?;
                        if !is_absolute_iri(&iri) || iri.starts_with("_:") {
                            return Err(Bail);
                        }
                        types.push(iri);
                    }
                }
                e if e.starts_with('@') => return Err(Bail),
                e => {
                    if !is_absolute_iri(e) || e.starts_with("_:") {
                        return Err(Bail);
                    }
                    match ctx.terms.get(k.as_str()) {
                        Some(td) => {
                            if td.unsupported {
                                return Err(Bail);
                            }
                            props.push((expanded.clone(), td.as_ref(), v));
                        }
                        // Not a term: only a plain name mapped through `@vocab` is handled.
                        None if !k.contains(':') && ctx.vocab.is_some() => {
                            vocab_defs.push((expanded.clone(), v));
                        }
                        None => return Err(Bail),
                    }
                }
            }
        }
        let subject = subject.ok_or(Bail)?;
        if top && props.is_empty() && vocab_defs.is_empty() && types.is_empty() {
            // jsonld.js drops (and safe mode refuses) a top-level object with only @id.
            return Err(Bail);
        }
        if (!props.is_empty() || !vocab_defs.is_empty() || !types.is_empty())
            && !self.described.insert(subject.clone())
        {
            return Err(Bail);
        }

        for t in types {
            self.quads.push(Quad {
                subject: Term::Iri(subject.clone()),
                predicate: RDF_TYPE.to_owned(),
                object: Term::Iri(t),
                graph: None,
            });
        }
        // Keep the (ctx, def) pairs alive while values are expanded.
        let plain = TermDef {
            iri: String::new(),
            coercion: Coercion::None,
            scoped: None,
            protected: false,
            prefix: false,
            set_container: false,
            unsupported: false,
        };
        let ctx_for_values = ctx.clone();
        for (p, td, v) in props {
            self.property(&ctx_for_values, &subject, &p, td, v)?;
        }
        for (p, v) in vocab_defs {
            self.property(&ctx_for_values, &subject, &p, &plain, v)?;
        }
        Ok(subject)
    }

    fn property(
        &mut self,
        ctx: &Arc<ActiveCtx>,
        subject: &str,
        predicate: &str,
        td: &TermDef,
        v: &Value,
    ) -> Result<(), Bail> {
        let items: Vec<&Value> = match v {
            Value::Array(a) => {
                if a.iter().any(Value::is_array) {
                    return Err(Bail);
                }
                a.iter().collect()
            }
            v => vec![v],
        };
        for item in items {
            let object = match item {
                Value::Null => continue,
                Value::Object(o) => Term::Iri(self.node(ctx, o, Some(td), false)?),
                Value::String(s) => match &td.coercion {
                    Coercion::Id | Coercion::Vocab => {
                        let iri = expand_iri(ctx, s, td.coercion == Coercion::Vocab)?;
                        if !is_absolute_iri(&iri) || iri.starts_with("_:") {
                            return Err(Bail);
                        }
                        Term::Iri(iri)
                    }
                    Coercion::Datatype(dt) if dt == XSD_DOUBLE => {
                        literal(js_canonical_double(js_parse_float(s)), dt)
                    }
                    Coercion::Datatype(dt) => literal(s.clone(), dt),
                    Coercion::None => literal(s.clone(), XSD_STRING),
                },
                Value::Number(n) => {
                    let f = n.as_f64().ok_or(Bail)?;
                    match &td.coercion {
                        Coercion::Id | Coercion::Vocab => return Err(Bail),
                        Coercion::Datatype(dt) => {
                            if js_is_double(f) || dt == XSD_DOUBLE {
                                literal(js_canonical_double(f), dt)
                            } else {
                                literal(js_to_fixed0(f), dt)
                            }
                        }
                        Coercion::None => {
                            if js_is_double(f) {
                                literal(js_canonical_double(f), XSD_DOUBLE)
                            } else {
                                literal(js_to_fixed0(f), XSD_INTEGER)
                            }
                        }
                    }
                }
                Value::Bool(b) => {
                    let s = if *b { "true" } else { "false" };
                    match &td.coercion {
                        Coercion::Id | Coercion::Vocab => return Err(Bail),
                        Coercion::Datatype(dt) => literal(s.to_owned(), dt),
                        Coercion::None => literal(s.to_owned(), XSD_BOOLEAN),
                    }
                }
                Value::Array(_) => return Err(Bail),
            };
            self.quads.push(Quad {
                subject: Term::Iri(subject.to_owned()),
                predicate: predicate.to_owned(),
                object,
                graph: None,
            });
        }
        Ok(())
    }
}

fn literal(value: String, datatype: &str) -> Term {
    Term::Literal {
        value,
        datatype: datatype.to_owned(),
        language: None,
    }
}
