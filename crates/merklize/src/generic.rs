//! The generic pipeline: full JSON-LD 1.1 expansion → RDF → URDNA2015 with the `json-ld` and
//! `ssi-rdf` crates (measured byte-identical to jsonld.js 8.3.3, see `tests/interop.rs`), plus
//! the safe-mode checks those crates lack.
//!
//! It handles any document the bundled/registered contexts describe, at ~3 ms per credential.
//! The fast path (`crate::fast`) handles the fixed credential shapes claimd issues and falls
//! back here for everything else.

use std::sync::Mutex;

use json_ld::expansion::{Action, Policy};
use json_ld::{ExpandError, JsonLdProcessor, LoadError, Loader, Options, RemoteDocument};
use json_ld::{Iri, IriBuf};
use rdf_types::{Id, LexicalQuad, Literal, LiteralType, Quad as RdfQuad, Term as RdfTerm};

use crate::budget::{self, CanonLimits};
use crate::contexts::ContextStore;
use crate::error::MerklizeError;
use crate::jsnum::{js_canonical_double, js_parse_float};
use crate::rdf::{CanonicalQuads, Quad, Term, RDF_LANGSTRING, XSD_STRING};

const XSD_DOUBLE: &str = "http://www.w3.org/2001/XMLSchema#double";

/// Serves the [`ContextStore`] to the json-ld crate and remembers the first unknown URL, so the
/// caller gets a typed [`MerklizeError::UnknownContext`] instead of an opaque loader error.
struct StoreLoader<'a> {
    store: &'a ContextStore,
    missing: Mutex<Option<String>>,
}

impl Loader for StoreLoader<'_> {
    async fn load(&self, url: &Iri) -> Result<RemoteDocument<IriBuf>, LoadError> {
        match self.store.get(url.as_str()) {
            Ok(doc) => Ok(RemoteDocument::new(
                Some(url.to_owned()),
                None,
                doc.syntax.clone(),
            )),
            Err(e) => {
                let mut missing = self.missing.lock().unwrap_or_else(|p| p.into_inner());
                missing.get_or_insert_with(|| url.as_str().to_owned());
                Err(LoadError::new(url.to_owned(), e))
            }
        }
    }
}

/// Canonical quads of `doc` (the credential without `proof`), in jsonld.js order.
pub(crate) fn canonical_quads(
    store: &ContextStore,
    doc: &serde_json::Value,
    limits: &CanonLimits,
) -> Result<CanonicalQuads, MerklizeError> {
    // serde_json prints every number so that it parses back to the same value; json-syntax
    // keeps the lexical form and json-ld turns it into a JS double, as jsonld.js does.
    let text = serde_json::to_string(doc).map_err(|e| MerklizeError::JsonLd(e.to_string()))?;
    let value = <json_syntax::Value as json_syntax::Parse>::parse_str(&text)
        .map_err(|e| MerklizeError::JsonLd(e.to_string()))?
        .0;
    let input: RemoteDocument<IriBuf> = RemoteDocument::new(None, None, value);
    let loader = StoreLoader {
        store,
        missing: Mutex::new(None),
    };
    let options = Options {
        // Closest to jsonld.js safe mode: undefined terms and invalid IRIs are errors. Relative
        // IRIs still slip through as `Id::Invalid`; they are rejected below.
        expansion_policy: Policy {
            invalid: Action::Reject,
            vocab: Action::Keep,
            allow_undefined: false,
        },
        // Emit quads with blank-node predicates instead of dropping them, so that they can be
        // refused below as jsonld.js safe mode does ("blank node predicate").
        produce_generalized_rdf: true,
        ..Options::default()
    };
    let result = futures_executor::block_on(input.to_rdf_using(
        rdf_types::generator::Blank::new(),
        &loader,
        options,
    ));
    let mut rdf = match result {
        Ok(rdf) => rdf,
        Err(json_ld::ToRdfError::Expand(e)) => {
            if let Some(url) = loader
                .missing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
            {
                return Err(MerklizeError::UnknownContext(url));
            }
            return Err(match e {
                ExpandError::Expansion(json_ld::expansion::Error::KeyExpansionFailed(k)) => {
                    MerklizeError::UndefinedTerm(k)
                }
                other => MerklizeError::JsonLd(other.to_string()),
            });
        }
    };

    // Safe mode: jsonld.js refuses relative @id/@type/IRI values ("relative … reference")
    // where the json-ld crate keeps them as invalid ids and silently drops their quads.
    for fragment in rdf.document().traverse() {
        if let Some(json_ld::Id::Invalid(s)) = fragment.as_id() {
            return Err(MerklizeError::RelativeIri(s.to_string()));
        }
    }

    let mut lexical: Vec<LexicalQuad> = Vec::new();
    for RdfQuad(s, p, o, g) in rdf.cloned_quads() {
        let p = match p {
            Id::Iri(i) => i,
            Id::Blank(_) => {
                return Err(MerklizeError::JsonLd(
                    "blank node predicate (refused in safe mode)".into(),
                ))
            }
        };
        lexical.push(RdfQuad(s, p, o, g));
    }
    // jsonld.js writes every xsd:double value in canonical form, strings included
    // (`"28"` → `"2.8E1"`); the json-ld crate only does it for JSON numbers.
    for RdfQuad(_, _, o, _) in lexical.iter_mut() {
        if let RdfTerm::Literal(Literal {
            value,
            type_: LiteralType::Any(dt),
        }) = o
        {
            if dt.as_str() == XSD_DOUBLE && value != "true" && value != "false" {
                *value = js_canonical_double(js_parse_float(value));
            }
        }
    }
    // URDNA2015 is factorial in blank nodes it cannot tell apart, and cannot be interrupted:
    // refuse what could exceed the budget before it starts.
    budget::check(&lexical, limits)?;
    let normalized = ssi_rdf::urdna2015::normalize(lexical.iter().map(|q| q.as_lexical_quad_ref()));
    let mut quads: Vec<Quad> = normalized.map(convert_quad).collect();
    dedup_like_jsonld_js(&mut quads)?;
    CanonicalQuads::from_quads(quads)
}

/// jsonld.js merges equal values of a property in its node map (`["a", "a"]` gives one quad)
/// where the json-ld crate keeps both. Equal *JSON* values give equal quads, so dropping
/// duplicate quads matches it — except when two different JSON values produce the same quad
/// (`[18, "18"]` on an `xsd:integer` term): jsonld.js keeps both then. The quads cannot tell the
/// two cases apart for typed literals, so such a duplicate is refused rather than guessed.
fn dedup_like_jsonld_js(quads: &mut Vec<Quad>) -> Result<(), MerklizeError> {
    let mut seen = std::collections::HashSet::with_capacity(quads.len());
    let mut out = Vec::with_capacity(quads.len());
    for q in quads.drain(..) {
        if seen.contains(&q) {
            if let Term::Literal { datatype, .. } = &q.object {
                if datatype != XSD_STRING && datatype != RDF_LANGSTRING {
                    return Err(MerklizeError::JsonLd(format!(
                        "ambiguous duplicate value {} for <{}>",
                        q.to_nquads_line().trim_end(),
                        q.predicate
                    )));
                }
            }
            continue;
        }
        seen.insert(q.clone());
        out.push(q);
    }
    *quads = out;
    Ok(())
}

fn convert_id(id: &Id) -> Term {
    match id {
        Id::Iri(i) => Term::Iri(i.as_str().to_owned()),
        Id::Blank(b) => Term::Blank(b.suffix().to_owned()),
    }
}

fn convert_quad(q: LexicalQuad) -> Quad {
    let RdfQuad(s, p, o, g) = q;
    let object = match &o {
        RdfTerm::Id(id) => convert_id(id),
        RdfTerm::Literal(Literal { value, type_ }) => match type_ {
            LiteralType::Any(dt) => Term::Literal {
                value: value.clone(),
                datatype: dt.as_str().to_owned(),
                language: None,
            },
            LiteralType::LangString(tag) => Term::Literal {
                value: value.clone(),
                datatype: RDF_LANGSTRING.to_owned(),
                language: Some(tag.as_str().to_owned()),
            },
        },
    };
    Quad {
        subject: convert_id(&s),
        predicate: p.as_str().to_owned(),
        object,
        graph: g.as_ref().map(convert_id),
    }
}
