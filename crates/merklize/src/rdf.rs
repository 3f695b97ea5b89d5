//! The small RDF model both pipelines produce: quads in jsonld.js's canonical N-Quads order.
//!
//! iden3's merklizer does not look at JSON-LD at all once the document is canonized: it parses
//! jsonld.js's canonical N-Quads text back (with n3) and walks the quads **in that order**.
//! Array indexes and child indexes are derived from the order, so the order must be exactly
//! jsonld.js's: lines serialized the way rdf-canonize 3.4 does and sorted with JavaScript's
//! default `Array.prototype.sort`, i.e. by UTF-16 code units (not by UTF-8 bytes).

use std::cmp::Ordering;
use std::fmt::Write as _;

use crate::error::MerklizeError;

/// `http://www.w3.org/2001/XMLSchema#string`: plain literals carry it implicitly.
pub const XSD_STRING: &str = "http://www.w3.org/2001/XMLSchema#string";
/// `rdf:langString`, the datatype of language-tagged literals.
pub const RDF_LANGSTRING: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString";
/// `rdf:type`.
pub const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

/// A subject, object or graph name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Term {
    /// An absolute IRI.
    Iri(String),
    /// A blank node label without the `_:` prefix (canonical labels are `c14n<N>`).
    Blank(String),
    /// A literal with its lexical form, datatype IRI and optional language tag.
    Literal {
        /// Lexical form, unescaped.
        value: String,
        /// Datatype IRI (`xsd:string` for plain literals, `rdf:langString` with a language).
        datatype: String,
        /// Language tag for `rdf:langString` literals.
        language: Option<String>,
    },
}

/// One RDF quad. `graph == None` is the default graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Quad {
    /// Subject: IRI or blank node.
    pub subject: Term,
    /// Predicate IRI.
    pub predicate: String,
    /// Object.
    pub object: Term,
    /// Graph name: IRI or blank node; `None` for the default graph.
    pub graph: Option<Term>,
}

impl Quad {
    /// The N-Quads line rdf-canonize 3.4 writes for this quad, including `" .\n"`.
    pub fn to_nquads_line(&self) -> String {
        let mut out = String::with_capacity(128);
        write_node(&mut out, &self.subject);
        out.push_str(" <");
        out.push_str(&self.predicate);
        out.push_str("> ");
        match &self.object {
            Term::Literal {
                value,
                datatype,
                language,
            } => {
                out.push('"');
                escape_literal(&mut out, value);
                out.push('"');
                if datatype == RDF_LANGSTRING {
                    if let Some(lang) = language {
                        out.push('@');
                        out.push_str(lang);
                    }
                } else if datatype != XSD_STRING {
                    let _ = write!(out, "^^<{datatype}>");
                }
            }
            node => write_node(&mut out, node),
        }
        if let Some(g) = &self.graph {
            out.push(' ');
            write_node(&mut out, g);
        }
        out.push_str(" .\n");
        out
    }
}

fn write_node(out: &mut String, t: &Term) {
    match t {
        Term::Iri(i) => {
            out.push('<');
            out.push_str(i);
            out.push('>');
        }
        Term::Blank(b) => {
            out.push_str("_:");
            out.push_str(b);
        }
        // Literals never appear in these positions; the builders guarantee it.
        Term::Literal { value, .. } => {
            out.push('"');
            escape_literal(out, value);
            out.push('"');
        }
    }
}

/// rdf-canonize 3.4 (URDNA2015) escapes only `"`, `\`, LF and CR; TAB and other control
/// characters are written raw (RDFC-1.0 would escape them, jsonld.js 8.3.3 does not).
fn escape_literal(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Compares two strings the way JavaScript's default sort does: by UTF-16 code units.
///
/// It differs from byte order only when the first difference is between a character
/// ≥ U+10000 (a surrogate pair, 0xD800..) and one in U+E000..U+FFFF.
pub fn cmp_utf16(a: &str, b: &str) -> Ordering {
    // Fast path: identical prefixes compare the same in both encodings; find the first
    // differing char and decide there.
    let mut ai = a.chars();
    let mut bi = b.chars();
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x == y => continue,
            (Some(x), Some(y)) => return utf16_first_unit(x).cmp(&utf16_first_unit(y)),
        }
    }
}

fn utf16_first_unit(c: char) -> u16 {
    let mut buf = [0u16; 2];
    c.encode_utf16(&mut buf)[0]
}

/// A canonical dataset: the quads with their N-Quads lines, in jsonld.js order.
#[derive(Debug, Clone)]
pub struct CanonicalQuads {
    /// `(line, quad)` pairs sorted by [`cmp_utf16`] of the line. Duplicated lines are kept,
    /// as rdf-canonize 3.4 keeps them.
    pub entries: Vec<(String, Quad)>,
}

impl CanonicalQuads {
    /// Serializes and sorts quads whose blank nodes already carry canonical labels.
    pub fn from_quads(quads: Vec<Quad>) -> Result<Self, MerklizeError> {
        let mut entries = Vec::with_capacity(quads.len());
        for q in quads {
            check_parseable(&q)?;
            entries.push((q.to_nquads_line(), q));
        }
        entries.sort_by(|a, b| cmp_utf16(&a.0, &b.0));
        Ok(CanonicalQuads { entries })
    }

    /// The canonical N-Quads document, exactly as `jsonld.canonize` returns it.
    pub fn to_nquads(&self) -> String {
        self.entries.iter().map(|(l, _)| l.as_str()).collect()
    }

    /// The quads in canonical order.
    pub fn quads(&self) -> impl Iterator<Item = &Quad> {
        self.entries.iter().map(|(_, q)| q)
    }
}

/// The iden3 JS merklizer parses the canonical text back with n3, which rejects IRIs holding
/// any of `\x00-\x20 < > \ " { } | ^` `` ` ``. jsonld.js itself only requires "scheme:" and no
/// whitespace, so such IRIs get through canonization and then fail in n3. Fail the same way.
fn check_parseable(q: &Quad) -> Result<(), MerklizeError> {
    fn check_iri(i: &str) -> Result<(), MerklizeError> {
        if i.chars().any(|c| {
            c <= '\u{20}' || matches!(c, '<' | '>' | '\\' | '"' | '{' | '}' | '|' | '^' | '`')
        }) {
            return Err(MerklizeError::InvalidIri(i.to_owned()));
        }
        Ok(())
    }
    fn check_term(t: &Term) -> Result<(), MerklizeError> {
        match t {
            Term::Iri(i) => check_iri(i),
            Term::Blank(_) => Ok(()),
            Term::Literal { datatype, .. } => check_iri(datatype),
        }
    }
    check_term(&q.subject)?;
    check_iri(&q.predicate)?;
    check_term(&q.object)?;
    if let Some(g) = &q.graph {
        check_term(g)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_order_differs_from_bytes_only_above_bmp() {
        // U+FF01 (one unit 0xFF01) vs U+1F600 (units 0xD83D 0xDE00): UTF-16 puts the emoji first.
        assert_eq!(cmp_utf16("a\u{1F600}", "a\u{FF01}"), Ordering::Less);
        assert_eq!("a\u{1F600}".cmp("a\u{FF01}"), Ordering::Greater);
        assert_eq!(cmp_utf16("abc", "abd"), Ordering::Less);
        assert_eq!(cmp_utf16("ab", "abc"), Ordering::Less);
    }

    #[test]
    fn literal_escaping_matches_rdf_canonize() {
        let q = Quad {
            subject: Term::Iri("urn:s".into()),
            predicate: "urn:p".into(),
            object: Term::Literal {
                value: "a\"b\\c\nd\re\tf".into(),
                datatype: XSD_STRING.into(),
                language: None,
            },
            graph: None,
        };
        assert_eq!(
            q.to_nquads_line(),
            "<urn:s> <urn:p> \"a\\\"b\\\\c\\nd\\re\tf\" .\n"
        );
    }
}
