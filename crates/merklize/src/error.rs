//! The crate's error type.

/// Why a document could not be merklized (or a context not registered).
///
/// Every variant corresponds to a case where jsonld.js 8.3.3 (safe mode) or
/// js-jsonld-merklization 1.7.2 also refuses the document, so the service can reject the
/// request instead of issuing a credential wallets cannot verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerklizeError {
    /// A `@context` URL that is neither bundled nor registered. Nothing is ever fetched.
    #[error("unknown JSON-LD context {0}: it is not bundled or registered, and claimd never fetches contexts")]
    UnknownContext(String),
    /// A context document that is not valid JSON (or not a JSON-LD context).
    #[error("invalid JSON-LD context {url}: {reason}")]
    InvalidContext {
        /// URL it was registered (or bundled) under.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A key that the active context does not define (jsonld.js safe mode: "invalid property").
    #[error("undefined JSON-LD term {0:?}")]
    UndefinedTerm(String),
    /// An `@id`, `@type` or IRI value that is not an absolute IRI (safe mode: "relative … reference").
    #[error("relative IRI {0:?}: only absolute IRIs are allowed")]
    RelativeIri(String),
    /// An IRI that the N-Quads parser used by the iden3 merklizer rejects.
    #[error("invalid IRI {0:?}")]
    InvalidIri(String),
    /// Any other JSON-LD expansion or conversion error, with the processor's message.
    #[error("JSON-LD processing failed: {0}")]
    JsonLd(String),
    /// A literal whose lexical form does not fit its datatype (boolean, integer range, dateTime).
    #[error("invalid {datatype} value {value:?}: {reason}")]
    InvalidValue {
        /// Datatype IRI.
        datatype: String,
        /// Lexical form.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The RDF graph has a shape the iden3 merklizer does not support (several parents,
    /// childless blank nodes, no default graph, a path deeper than Poseidon accepts, …).
    #[error("unsupported RDF structure: {0}")]
    Structure(String),
    /// Two entries with the same path key (the JS tree refuses the second one).
    #[error("duplicate merklization path key {0}")]
    DuplicateKey(String),
    /// A document path (`credentialSubject.age`) that cannot be resolved.
    #[error("cannot resolve document path: {0}")]
    Path(String),
    /// The document exceeds one of the [`crate::CanonLimits`] (too many statements or blank
    /// nodes, or canonicalisation could take too long): refused before the work starts.
    #[error("{detail} (limit {limit})")]
    LimitExceeded {
        /// The limit's name: `max_statements`, `max_rdf_blank_nodes` or
        /// `max_normalization_work`.
        limit: &'static str,
        /// What the document has, and what is accepted.
        detail: String,
    },
    /// Poseidon or the sparse Merkle tree refused an input.
    #[error("hashing failed: {0}")]
    Hash(String),
}
