//! The offline document loader: bundled contexts plus contexts registered at run time.
//!
//! claimd never fetches a JSON-LD context. The standard ones (W3C credentials v1, iden3 proofs,
//! auth, display method) are compiled into the binary from `contexts/` (each file's origin is
//! listed in `contexts/index.json`), and the service registers the
//! context it generates for each schema (`<public url>/v1/schemas/<id>.jsonld`). Any other URL is
//! [`MerklizeError::UnknownContext`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::error::MerklizeError;

/// `(url, file text)` of every bundled document, mirroring `contexts/index.json`.
pub(crate) const BUNDLED: &[(&str, &str)] = &[
    (
        "https://www.w3.org/2018/credentials/v1",
        include_str!("../contexts/w3c/credentials-v1.jsonld"),
    ),
    (
        "https://schema.iden3.io/core/jsonld/iden3proofs.jsonld",
        include_str!("../contexts/iden3/iden3proofs.jsonld"),
    ),
    (
        "https://schema.iden3.io/core/jsonld/displayMethod.jsonld",
        include_str!("../contexts/iden3/displayMethod.jsonld"),
    ),
    (
        "https://schema.iden3.io/core/jsonld/auth.jsonld",
        include_str!("../contexts/iden3/auth.jsonld"),
    ),
    (
        "https://schema.iden3.io/core/json/auth.json",
        include_str!("../contexts/iden3/auth.json"),
    ),
    (
        "https://schemas.claimd.example/interop/InteropMembership-v1.jsonld",
        include_str!("../contexts/claimd-interop/InteropMembership-v1.jsonld"),
    ),
    (
        "https://schemas.claimd.example/interop/InteropMembership-v1.json",
        include_str!("../contexts/claimd-interop/InteropMembership-v1.json"),
    ),
];

/// A loaded context document, parsed once for both pipelines.
#[derive(Debug)]
pub(crate) struct ContextDoc {
    /// Parsed with serde_json, for the fast path.
    pub json: serde_json::Value,
    /// Parsed with json-syntax, for the generic (json-ld crate) path.
    pub syntax: json_syntax::Value,
}

impl ContextDoc {
    fn parse(url: &str, text: &str) -> Result<ContextDoc, MerklizeError> {
        let invalid = |reason: String| MerklizeError::InvalidContext {
            url: url.to_owned(),
            reason,
        };
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if !json.is_object() {
            return Err(invalid("a context document must be a JSON object".into()));
        }
        let syntax = <json_syntax::Value as json_syntax::Parse>::parse_str(text)
            .map_err(|e| invalid(e.to_string()))?
            .0;
        Ok(ContextDoc { json, syntax })
    }
}

/// URL → document, shared by every merklization. Registration is rare; reads are lock-light.
#[derive(Debug)]
pub(crate) struct ContextStore {
    docs: RwLock<HashMap<String, Arc<ContextDoc>>>,
}

impl ContextStore {
    /// A store holding the bundled documents.
    pub fn bundled() -> ContextStore {
        let mut docs = HashMap::new();
        for (url, text) in BUNDLED {
            // The bundled files are checked by this crate's tests; a broken one is a build bug.
            if let Ok(doc) = ContextDoc::parse(url, text) {
                docs.insert((*url).to_owned(), Arc::new(doc));
            }
        }
        ContextStore {
            docs: RwLock::new(docs),
        }
    }

    /// Adds or replaces the document served for `url`.
    pub fn register(&self, url: &str, json: &str) -> Result<(), MerklizeError> {
        if url.is_empty() || !url.contains(':') {
            return Err(MerklizeError::InvalidContext {
                url: url.to_owned(),
                reason: "the URL must be absolute".into(),
            });
        }
        let doc = Arc::new(ContextDoc::parse(url, json)?);
        let mut docs = self.docs.write().unwrap_or_else(|p| p.into_inner());
        docs.insert(url.to_owned(), doc);
        Ok(())
    }

    /// The document for `url`, or [`MerklizeError::UnknownContext`].
    pub fn get(&self, url: &str) -> Result<Arc<ContextDoc>, MerklizeError> {
        let docs = self.docs.read().unwrap_or_else(|p| p.into_inner());
        docs.get(url)
            .cloned()
            .ok_or_else(|| MerklizeError::UnknownContext(url.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_list_matches_index_json() {
        let index: serde_json::Value =
            serde_json::from_str(include_str!("../contexts/index.json")).unwrap();
        let docs = index["documents"].as_object().unwrap();
        assert_eq!(docs.len(), BUNDLED.len());
        for (url, _) in BUNDLED {
            assert!(docs.contains_key(*url), "{url} not in index.json");
        }
        let store = ContextStore::bundled();
        for (url, _) in BUNDLED {
            store.get(url).unwrap();
        }
    }

    #[test]
    fn unknown_and_registered() {
        let store = ContextStore::bundled();
        assert_eq!(
            store.get("https://example.com/x").unwrap_err(),
            MerklizeError::UnknownContext("https://example.com/x".into())
        );
        store
            .register("https://example.com/x", r#"{"@context":{}}"#)
            .unwrap();
        store.get("https://example.com/x").unwrap();
        assert!(matches!(
            store.register("https://example.com/y", "{"),
            Err(MerklizeError::InvalidContext { .. })
        ));
    }
}
