//! Document paths (`credentialSubject.age`) → merklization paths, as js-jsonld-merklization's
//! `Path.fromDocument` resolves them (used for selective-disclosure proofs and queries).
//!
//! The walk follows the JS algorithm, not full JSON-LD expansion: the document's `@context`,
//! then the type-scoped contexts of the first key that is (an alias of) `@type`, then the
//! term's own scoped context; numeric parts are array indexes (and, like the JS code, the walk
//! then continues into the *first* array element whatever the index).

use std::sync::Arc;

use serde_json::Value;

use crate::contexts::ContextStore;
use crate::entries::PathPart;
use crate::error::MerklizeError;
use crate::fast::context::{ActiveCtx, Processor};
use crate::rdf::cmp_utf16;

fn err(msg: &str) -> MerklizeError {
    MerklizeError::Path(msg.to_owned())
}

fn unsupported() -> MerklizeError {
    err("the context uses JSON-LD features the path resolver does not support")
}

/// Resolves a dotted `path` in `doc`.
pub(crate) fn resolve(
    p: &mut Processor,
    store: &ContextStore,
    doc: &Value,
    path: &str,
) -> Result<Vec<PathPart>, MerklizeError> {
    if path.is_empty() {
        return Err(err("empty path"));
    }
    let parts: Vec<&str> = path.split('.').collect();
    walk(p, store, None, doc, &parts, false)
}

fn walk(
    p: &mut Processor,
    store: &ContextStore,
    ctx: Option<Arc<ActiveCtx>>,
    doc: &Value,
    parts: &[&str],
    accept_array: bool,
) -> Result<Vec<PathPart>, MerklizeError> {
    let Some((term, rest)) = parts.split_first() else {
        return Ok(Vec::new());
    };
    if !term.is_empty() && term.bytes().all(|b| b.is_ascii_digit()) {
        let n: u32 = term.parse().map_err(|_| err("array index too large"))?;
        let mut out = vec![PathPart::Index(n)];
        out.extend(walk(p, store, ctx, doc, rest, true)?);
        return Ok(out);
    }
    let obj = match doc {
        Value::Array(a) if a.is_empty() => {
            return Err(err("can't generate path on zero-sized array"))
        }
        Value::Array(_) if !accept_array => return Err(err("unexpected array element")),
        Value::Array(a) => return walk(p, store, ctx, &a[0], parts, false),
        Value::Object(o) => o,
        _ => return Err(err("expected an object")),
    };
    let mut ctx = ctx;
    if let Some(c) = obj.get("@context") {
        let base = ctx.unwrap_or_else(ActiveCtx::empty);
        ctx = Some(
            p.process(store, &base, c, false, true, 0)
                .map_err(|_| unsupported())?,
        );
    }
    let type_scoped = ctx.clone();
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort_by(|a, b| cmp_utf16(a, b));
    for key in keys {
        let is_type = key == "@type"
            || ctx
                .as_ref()
                .and_then(|c| c.terms.get(key.as_str()))
                .is_some_and(|t| t.iri == "@type");
        if !is_type {
            continue;
        }
        let mut types: Vec<&str> = match &obj[key.as_str()] {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| err("@type values must be strings"))
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(err("unexpected @type value")),
        };
        types.sort_by(|a, b| cmp_utf16(a, b));
        for t in types {
            let scoped = type_scoped
                .as_ref()
                .and_then(|c| c.terms.get(t))
                .and_then(|td| td.scoped.clone());
            if let Some(sc) = scoped {
                let base = ctx.clone().unwrap_or_else(ActiveCtx::empty);
                ctx = Some(
                    p.process_scoped(store, &base, &sc, false, true)
                        .map_err(|_| unsupported())?,
                );
            }
        }
        break;
    }
    let td = ctx
        .as_ref()
        .and_then(|c| c.terms.get(*term))
        .cloned()
        .ok_or_else(|| MerklizeError::UndefinedTerm((*term).to_owned()))?;
    if let Some(sc) = &td.scoped {
        let base = ctx.clone().unwrap_or_else(ActiveCtx::empty);
        ctx = Some(
            p.process_scoped(store, &base, sc, false, true)
                .map_err(|_| unsupported())?,
        );
    }
    let child = obj.get(*term).unwrap_or(&Value::Null);
    let mut out = vec![PathPart::Iri(td.iri.clone())];
    out.extend(walk(p, store, ctx, child, rest, true)?);
    Ok(out)
}
