//! Context processing for the fast path: the subset of JSON-LD 1.1 context processing
//! (§4.1–4.2 of the JSON-LD 1.1 Processing Algorithms) that credential contexts use, with the
//! results memoised.
//!
//! Supported: context arrays, remote contexts (from the [`ContextStore`]), `@version`,
//! `@protected` (identical redefinitions allowed, anything else bails), `@propagate`, absolute
//! `@vocab`, and term definitions with `@id` (absolute or compact IRI, keyword aliases
//! `@id`/`@type`), `@type` (`@id`, `@vocab` or a datatype IRI), `@context` (scoped contexts,
//! kept raw and processed on use) and `@container: @set`.
//!
//! Anything else **bails**: the caller falls back to the generic processor, which either
//! handles it or reports the proper error. Term-level features that only matter when the term
//! is used (`@nest`, `@list`, `@language`, other containers, …) mark the term unsupported
//! instead, so a context that merely defines such a term (iden3proofs.jsonld does) stays usable.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::contexts::ContextStore;
use crate::fast::Bail;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// A raw scoped (`@context` inside a term definition) context, with an identity for memoising.
#[derive(Debug)]
pub(crate) struct Scoped {
    pub id: u64,
    pub value: Value,
}

/// How a term coerces string values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Coercion {
    None,
    Id,
    Vocab,
    Datatype(String),
}

/// A processed term definition.
#[derive(Debug)]
pub(crate) struct TermDef {
    /// Expanded IRI, or `@id` / `@type` for keyword aliases.
    pub iri: String,
    pub coercion: Coercion,
    pub scoped: Option<Arc<Scoped>>,
    pub protected: bool,
    /// Usable as the prefix of a compact IRI.
    pub prefix: bool,
    /// Declared `@container: @set` (same expansion as none, but a different definition for
    /// the protected-term check).
    pub set_container: bool,
    /// Uses a feature the fast path does not implement; using the term bails.
    pub unsupported: bool,
}

impl TermDef {
    /// Equality as JSON-LD's protected-term check sees it (everything but `protected`).
    fn same_as(&self, other: &TermDef) -> bool {
        self.iri == other.iri
            && self.coercion == other.coercion
            && self.prefix == other.prefix
            && self.set_container == other.set_container
            && self.unsupported == other.unsupported
            && match (&self.scoped, &other.scoped) {
                (None, None) => true,
                (Some(a), Some(b)) => a.value == b.value,
                _ => false,
            }
    }
}

/// A processed active context.
#[derive(Debug)]
pub(crate) struct ActiveCtx {
    pub id: u64,
    pub terms: HashMap<String, Arc<TermDef>>,
    pub vocab: Option<String>,
    /// Set by a non-propagated (type-scoped) context: what nested nodes revert to.
    pub previous: Option<Arc<ActiveCtx>>,
}

impl ActiveCtx {
    pub fn empty() -> Arc<ActiveCtx> {
        Arc::new(ActiveCtx {
            id: next_id(),
            terms: HashMap::new(),
            vocab: None,
            previous: None,
        })
    }
}

/// jsonld.js `isAbsolute`: `/^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$/`, minus blank nodes.
pub(crate) fn is_absolute_iri(v: &str) -> bool {
    let Some((scheme, rest)) = v.split_once(':') else {
        return false;
    };
    let mut sc = scheme.chars();
    let scheme_ok = match sc.next() {
        Some(c) if c.is_ascii_alphabetic() => {
            sc.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | ',' | '-' | '.'))
        }
        _ => false,
    };
    scheme_ok && !rest.chars().any(is_js_space)
}

/// JavaScript regex `\s`.
fn is_js_space(c: char) -> bool {
    crate::jsnum::is_js_whitespace(c)
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "@base"
            | "@container"
            | "@context"
            | "@default"
            | "@direction"
            | "@embed"
            | "@explicit"
            | "@graph"
            | "@id"
            | "@included"
            | "@index"
            | "@json"
            | "@language"
            | "@list"
            | "@nest"
            | "@none"
            | "@omitDefault"
            | "@prefix"
            | "@preserve"
            | "@protected"
            | "@propagate"
            | "@requireAll"
            | "@reverse"
            | "@set"
            | "@type"
            | "@value"
            | "@version"
            | "@vocab"
            | "@import"
    )
}

/// Looks like a keyword (`@` + letters): JSON-LD ignores such terms with a warning; we bail.
fn looks_like_keyword(s: &str) -> bool {
    s.len() > 1 && s.starts_with('@') && s[1..].chars().all(|c| c.is_ascii_alphabetic())
}

/// IRI expansion (JSON-LD 1.1 §5.2) against a processed context, for values in documents.
/// `vocab`: terms and `@vocab` apply. Returns `Bail` for anything that is not an absolute IRI
/// or keyword, so relative and blank-node references go to the generic path (which errors).
pub(crate) fn expand_iri(ctx: &ActiveCtx, value: &str, vocab: bool) -> Result<String, Bail> {
    if is_keyword(value) {
        return Ok(value.to_owned());
    }
    if looks_like_keyword(value) {
        return Err(Bail);
    }
    if vocab {
        if let Some(t) = ctx.terms.get(value) {
            if t.unsupported {
                return Err(Bail);
            }
            return Ok(t.iri.clone());
        }
    }
    if let Some(pos) = value.find(':').filter(|p| *p > 0) {
        let (prefix, suffix) = (&value[..pos], &value[pos + 1..]);
        if prefix == "_" {
            return Err(Bail);
        }
        if !suffix.starts_with("//") {
            if let Some(t) = ctx.terms.get(prefix) {
                if t.unsupported {
                    return Err(Bail);
                }
                if t.prefix {
                    return Ok(format!("{}{}", t.iri, suffix));
                }
            }
        }
        if is_absolute_iri(value) {
            return Ok(value.to_owned());
        }
    }
    if vocab {
        if let Some(v) = &ctx.vocab {
            return Ok(format!("{v}{value}"));
        }
    }
    Err(Bail)
}

/// A local context being processed (§4.1): its map, which of its terms are defined (`false`
/// while one is being defined, so a cycle is seen), and the protection rules for them. Term
/// definition and IRI expansion inside it share this one state.
struct Local<'a> {
    map: &'a Map<String, Value>,
    defined: HashMap<&'a str, bool>,
    default_protected: bool,
    override_protected: bool,
}

/// Memoising context processor. Results depend only on the inputs and on the documents in the
/// store, so the owner clears it whenever a context is registered.
#[derive(Debug, Default)]
pub(crate) struct Processor {
    /// `(active ctx id, scoped ctx id, override protected)` → result.
    scoped: HashMap<(u64, u64, bool), Arc<ActiveCtx>>,
    /// Remote URL → its processed `@context` value, wrapped as a `Scoped` for memoising.
    remote: HashMap<String, Arc<Scoped>>,
}

/// Bound on memoised entries; past it the memo is dropped (shapes are few in practice).
const MEMO_LIMIT: usize = 4096;

impl Processor {
    fn memo_key(
        active: &ActiveCtx,
        local: &Scoped,
        override_protected: bool,
        propagate_default: bool,
    ) -> (u64, u64, bool) {
        // Context ids come from a counter far below 2^63: the top bit carries the flag.
        let l = if propagate_default {
            local.id
        } else {
            local.id | (1 << 63)
        };
        (active.id, l, override_protected)
    }

    /// The memoised result of [`Processor::process_scoped`], if any.
    pub fn cached(
        &self,
        active: &ActiveCtx,
        local: &Scoped,
        override_protected: bool,
        propagate_default: bool,
    ) -> Option<Arc<ActiveCtx>> {
        self.scoped
            .get(&Self::memo_key(
                active,
                local,
                override_protected,
                propagate_default,
            ))
            .cloned()
    }

    /// Processes a scoped context (memoised by identity).
    pub fn process_scoped(
        &mut self,
        store: &ContextStore,
        active: &Arc<ActiveCtx>,
        local: &Arc<Scoped>,
        override_protected: bool,
        propagate_default: bool,
    ) -> Result<Arc<ActiveCtx>, Bail> {
        let key = Self::memo_key(active, local, override_protected, propagate_default);
        if let Some(r) = self.scoped.get(&key) {
            return Ok(r.clone());
        }
        let r = self.process(
            store,
            active,
            &local.value,
            override_protected,
            propagate_default,
            0,
        )?;
        if self.scoped.len() >= MEMO_LIMIT {
            self.scoped.clear();
        }
        self.scoped.insert(key, r.clone());
        Ok(r)
    }

    fn remote(&mut self, store: &ContextStore, url: &str) -> Result<Arc<Scoped>, Bail> {
        if let Some(s) = self.remote.get(url) {
            return Ok(s.clone());
        }
        let doc = store.get(url).map_err(|_| Bail)?;
        let ctx = doc.json.get("@context").ok_or(Bail)?.clone();
        let s = Arc::new(Scoped {
            id: next_id(),
            value: ctx,
        });
        if self.remote.len() >= MEMO_LIMIT {
            self.remote.clear();
        }
        self.remote.insert(url.to_owned(), s.clone());
        Ok(s)
    }

    /// Context Processing (§4.1) for the supported subset.
    pub fn process(
        &mut self,
        store: &ContextStore,
        active: &Arc<ActiveCtx>,
        local: &Value,
        override_protected: bool,
        propagate_default: bool,
        depth: usize,
    ) -> Result<Arc<ActiveCtx>, Bail> {
        let mut propagate = propagate_default;
        if let Value::Object(m) = local {
            if let Some(p) = m.get("@propagate") {
                propagate = p.as_bool().ok_or(Bail)?;
            }
        }
        let mut result = ActiveCtx {
            id: next_id(),
            terms: active.terms.clone(),
            vocab: active.vocab.clone(),
            previous: active.previous.clone(),
        };
        if !propagate && result.previous.is_none() {
            result.previous = Some(active.clone());
        }
        self.process_into(store, &mut result, local, override_protected, depth)?;
        Ok(Arc::new(result))
    }

    /// Applies `local` to `result` in place (the loop of §4.1 step 5).
    fn process_into(
        &mut self,
        store: &ContextStore,
        result: &mut ActiveCtx,
        local: &Value,
        override_protected: bool,
        depth: usize,
    ) -> Result<(), Bail> {
        if depth > 16 {
            return Err(Bail);
        }
        let items: Vec<&Value> = match local {
            Value::Array(a) => a.iter().collect(),
            v => vec![v],
        };
        for item in items {
            match item {
                Value::String(url) => {
                    if !is_absolute_iri(url) {
                        return Err(Bail);
                    }
                    let remote = self.remote(store, url)?;
                    // A remote context is processed with propagation on and without override;
                    // a remote `@propagate` would change that: not handled.
                    if remote.value.get("@propagate").is_some() {
                        return Err(Bail);
                    }
                    self.process_into(store, result, &remote.value, false, depth + 1)?;
                }
                Value::Object(m) => {
                    self.process_object(result, m, override_protected)?;
                }
                // null (context reset) and anything else: not handled here.
                _ => return Err(Bail),
            }
        }
        Ok(())
    }

    fn process_object(
        &mut self,
        result: &mut ActiveCtx,
        m: &Map<String, Value>,
        override_protected: bool,
    ) -> Result<(), Bail> {
        for (k, v) in m {
            match k.as_str() {
                "@version" if v.as_f64() != Some(1.1) => return Err(Bail),
                "@version" => {}
                "@protected" | "@propagate" if !v.is_boolean() => return Err(Bail),
                "@protected" | "@propagate" => {}
                "@vocab" => match v {
                    Value::Null => result.vocab = None,
                    Value::String(s) if is_absolute_iri(s) && !s.starts_with("_:") => {
                        // A vocab that is a compact IRI would need expansion: bail.
                        let prefix = s.split(':').next().unwrap_or_default();
                        if m.contains_key(prefix) || result.terms.contains_key(prefix) {
                            return Err(Bail);
                        }
                        result.vocab = Some(s.clone());
                    }
                    _ => return Err(Bail),
                },
                k if k.starts_with('@') => return Err(Bail),
                _ => {}
            }
        }
        let mut local = Local {
            map: m,
            defined: HashMap::new(),
            default_protected: m.get("@protected").and_then(Value::as_bool) == Some(true),
            override_protected,
        };
        for term in m.keys() {
            if term.starts_with('@') {
                continue;
            }
            self.define(result, &mut local, term)?;
        }
        Ok(())
    }

    /// Create Term Definition (§4.2).
    fn define<'a>(
        &mut self,
        result: &mut ActiveCtx,
        local: &mut Local<'a>,
        term: &'a str,
    ) -> Result<(), Bail> {
        match local.defined.get(term) {
            Some(true) => return Ok(()),
            Some(false) => return Err(Bail), // cyclic definition
            None => {}
        }
        local.defined.insert(term, false);
        if is_keyword(term) || looks_like_keyword(term) || term.is_empty() {
            return Err(Bail);
        }
        // Terms that look like IRIs need extra consistency checks; not supported.
        if term.contains(':') || term.contains('/') {
            return Err(Bail);
        }
        let value = local.map.get(term).ok_or(Bail)?;
        let simple = value.is_string();
        let owned;
        let def: &Map<String, Value> = match value {
            Value::String(s) => {
                let mut mm = Map::new();
                mm.insert("@id".into(), Value::String(s.clone()));
                owned = mm;
                &owned
            }
            Value::Object(o) => o,
            _ => return Err(Bail),
        };
        let protected = match def.get("@protected") {
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(Bail),
            None => local.default_protected,
        };
        let mut unsupported = false;
        for k in def.keys() {
            match k.as_str() {
                "@id" | "@type" | "@context" | "@protected" | "@container" => {}
                "@reverse" => return Err(Bail),
                "@nest" | "@language" | "@direction" | "@index" | "@prefix" => unsupported = true,
                _ => return Err(Bail),
            }
        }

        let coercion = match def.get("@type") {
            None => Coercion::None,
            Some(Value::String(t)) => {
                let e = self.expand_in_definition(result, local, t)?;
                match e.as_str() {
                    "@id" => Coercion::Id,
                    "@vocab" => Coercion::Vocab,
                    "@json" | "@none" => {
                        unsupported = true;
                        Coercion::None
                    }
                    s if s.starts_with('@') => return Err(Bail),
                    s if is_absolute_iri(s) && !s.starts_with("_:") => Coercion::Datatype(e),
                    _ => return Err(Bail),
                }
            }
            Some(_) => return Err(Bail),
        };

        let iri = match def.get("@id") {
            Some(Value::String(id)) if id != term => {
                if is_keyword(id) {
                    match id.as_str() {
                        "@id" | "@type" => {
                            if def.len() > 1 && !(def.len() == 2 && def.contains_key("@protected"))
                            {
                                return Err(Bail);
                            }
                            id.clone()
                        }
                        _ => {
                            unsupported = true;
                            id.clone()
                        }
                    }
                } else if looks_like_keyword(id) {
                    return Err(Bail);
                } else {
                    let e = self.expand_in_definition(result, local, id)?;
                    if !is_absolute_iri(&e) || e.starts_with("_:") {
                        return Err(Bail);
                    }
                    e
                }
            }
            // `@id` absent or equal to the term itself: the vocabulary mapping (jsonld.js).
            Some(Value::String(_)) | None => match &result.vocab {
                Some(v) => format!("{v}{term}"),
                None => return Err(Bail),
            },
            Some(_) => return Err(Bail),
        };

        let set_container = match def.get("@container") {
            None => false,
            Some(Value::String(c)) if c == "@set" => true,
            Some(Value::Array(a)) if a.len() == 1 && a[0] == "@set" => true,
            Some(_) => {
                unsupported = true;
                false
            }
        };

        let scoped = def.get("@context").map(|c| {
            Arc::new(Scoped {
                id: next_id(),
                value: c.clone(),
            })
        });

        // JSON-LD 1.1 §4.2.2 step 14.2.5 / 26: prefix flag for simple terms ending in a
        // gen-delim character.
        let prefix =
            simple && !iri.starts_with('@') && iri.ends_with([':', '/', '?', '#', '[', ']', '@']);

        let new_def = TermDef {
            iri,
            coercion,
            scoped,
            protected,
            prefix,
            set_container,
            unsupported,
        };
        if let Some(prev) = result.terms.get(term) {
            if prev.protected && !local.override_protected {
                // Redefining a protected term is an error unless the definition is identical,
                // in which case the previous (protected) definition stays.
                if !prev.same_as(&new_def) {
                    return Err(Bail);
                }
                local.defined.insert(term, true);
                return Ok(());
            }
        }
        result.terms.insert(term.to_owned(), Arc::new(new_def));
        local.defined.insert(term, true);
        Ok(())
    }

    /// IRI expansion inside a context being processed (§5.2 with `local context`/`defined`):
    /// terms of the same context are defined on demand — the value itself, and otherwise the
    /// prefix of a compact IRI — then the expansion is [`expand_iri`]'s (with `vocab`), so the
    /// rules live in one place.
    fn expand_in_definition(
        &mut self,
        result: &mut ActiveCtx,
        local: &mut Local<'_>,
        value: &str,
    ) -> Result<String, Bail> {
        if is_keyword(value) {
            return Ok(value.to_owned());
        }
        if looks_like_keyword(value) {
            return Err(Bail);
        }
        let mut pending = vec![value];
        // The prefix matters only when the value is no term of its own (§5.2 step 6).
        if let Some(pos) = value.find(':').filter(|p| *p > 0) {
            let (prefix, suffix) = (&value[..pos], &value[pos + 1..]);
            if prefix != "_" && !suffix.starts_with("//") {
                pending.push(prefix);
            }
        }
        for (i, name) in pending.into_iter().enumerate() {
            if i > 0 && result.terms.contains_key(value) {
                break;
            }
            // The map outlives `local`'s borrow: take the key from the map.
            let map = local.map;
            if let Some((k, _)) = map.get_key_value(name) {
                if local.defined.get(name) != Some(&true) {
                    self.define(result, local, k)?;
                }
            }
        }
        expand_iri(result, value, true)
    }
}
