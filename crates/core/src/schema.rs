//! Credential schemas: the attributes an operator declares, and the JSON Schema and JSON-LD
//! context generated from them (served under `/v1/schemas/`).
//!
//! The JSON-LD context follows the shape of the iden3/Privado schema builder: the credential
//! type and every attribute get IRIs under a vocabulary `urn:uuid:<schema id>#`, and the type
//! itself gets `@id` `urn:uuid:<schema id>`, which is what the claim's schema hash is taken of.

use crate::fields::{check_list_len, validate_description, validate_name};
use crate::{DomainError, SchemaId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The types an attribute may have, with their JSON Schema and XSD counterparts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributeType {
    String,
    Integer,
    Number,
    Boolean,
    /// A calendar date or date-time string (`2024-05-01` or RFC 3339), typed `xsd:dateTime`.
    Date,
}

impl AttributeType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => AttributeType::String,
            "integer" => AttributeType::Integer,
            "number" => AttributeType::Number,
            "boolean" => AttributeType::Boolean,
            "date" => AttributeType::Date,
            _ => return None,
        })
    }

    fn xsd(self) -> &'static str {
        match self {
            AttributeType::String => "xsd:string",
            AttributeType::Integer => "xsd:integer",
            AttributeType::Number => "xsd:double",
            AttributeType::Boolean => "xsd:boolean",
            AttributeType::Date => "xsd:dateTime",
        }
    }

    fn json_schema(self) -> Value {
        match self {
            AttributeType::String => json!({"type": "string"}),
            AttributeType::Integer => json!({"type": "integer"}),
            AttributeType::Number => json!({"type": "number"}),
            AttributeType::Boolean => json!({"type": "boolean"}),
            AttributeType::Date => json!({"type": "string", "format": "date"}),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AttributeType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    pub schema_id: SchemaId,
    pub title: String,
    /// The PascalCase JSON-LD type of credentials of this schema.
    #[serde(rename = "type")]
    pub type_name: String,
    pub version: String,
    pub description: String,
    pub attributes: Vec<Attribute>,
    /// Whether the public catalog lists it (see [`crate::verification::Visibility`]).
    #[serde(flatten)]
    pub visibility: crate::verification::Visibility,
    pub created_at: DateTime<Utc>,
}

/// `POST /admin/v1/schemas` body, as received.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSchema {
    pub title: Option<String>,
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    pub attributes: Option<Vec<NewAttribute>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewAttribute {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
}

/// A validated schema, before it has an id.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaDraft {
    pub title: String,
    pub type_name: String,
    pub version: String,
    pub description: String,
    pub attributes: Vec<Attribute>,
}

/// Attribute names that would collide with what claimd writes into `credentialSubject`.
const RESERVED: &[&str] = &["id", "type"];
pub const MAX_ATTRIBUTES: usize = 100;

impl NewSchema {
    pub fn validate(self) -> Result<SchemaDraft, DomainError> {
        let title = validate_name(self.title.as_deref(), "title")?;
        let type_name = self
            .type_name
            .ok_or_else(|| DomainError::invalid("type", "is required"))?;
        let pascal = type_name.len() <= 100
            && type_name.starts_with(|c: char| c.is_ascii_uppercase())
            && type_name.chars().all(|c| c.is_ascii_alphanumeric());
        if !pascal {
            return Err(DomainError::invalid(
                "type",
                "must be a PascalCase name of ASCII letters and digits (e.g. KycCredential)",
            ));
        }
        let version = self.version.unwrap_or_else(|| "1.0".to_owned());
        let version_ok = !version.is_empty()
            && version.len() <= 32
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if !version_ok {
            return Err(DomainError::invalid(
                "version",
                "must be 1-32 characters of letters, digits, '.' and '-'",
            ));
        }
        let description = validate_description(self.description)?;
        let raw = self
            .attributes
            .ok_or_else(|| DomainError::invalid("attributes", "is required"))?;
        check_list_len("attributes", &raw, MAX_ATTRIBUTES, "attributes")?;
        let mut attributes: Vec<Attribute> = Vec::with_capacity(raw.len());
        for (i, a) in raw.into_iter().enumerate() {
            let field = format!("attributes[{i}]");
            let name = a
                .name
                .ok_or_else(|| DomainError::invalid(format!("{field}.name"), "is required"))?;
            let name_ok = name.len() <= 64
                && name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !name_ok {
                return Err(DomainError::invalid(
                    format!("{field}.name"),
                    "must start with a letter and hold only ASCII letters, digits and '_' (at most 64)",
                ));
            }
            if RESERVED.contains(&name.as_str()) {
                return Err(DomainError::invalid(
                    format!("{field}.name"),
                    format!("{name:?} is reserved"),
                ));
            }
            if attributes.iter().any(|x| x.name == name) {
                return Err(DomainError::invalid(
                    format!("{field}.name"),
                    format!("duplicate attribute {name:?}"),
                ));
            }
            let kind_raw = a
                .kind
                .ok_or_else(|| DomainError::invalid(format!("{field}.type"), "is required"))?;
            let kind = AttributeType::parse(&kind_raw).ok_or_else(|| {
                DomainError::invalid(
                    format!("{field}.type"),
                    "must be one of string, integer, number, boolean, date",
                )
            })?;
            // Bounded like the schema's own title and description (a title is one line).
            let text = |value: Option<String>, name: &str, max: usize, one_line: bool| {
                let field = format!("{field}.{name}");
                if let Some(v) = &value {
                    crate::text::check_storable(&field, v)?;
                }
                match value {
                    Some(v) if v.chars().count() > max => Err(DomainError::invalid(
                        field,
                        format!("must be at most {max} characters"),
                    )),
                    Some(v) if one_line && v.chars().any(char::is_control) => Err(
                        DomainError::invalid(field, "must not contain control characters"),
                    ),
                    v => Ok(v),
                }
            };
            attributes.push(Attribute {
                name,
                kind,
                title: text(a.title, "title", 200, true)?,
                description: text(a.description, "description", 2000, false)?,
                required: a.required,
            });
        }
        Ok(SchemaDraft {
            title,
            type_name,
            version,
            description,
            attributes,
        })
    }
}

/// Where a schema's documents are served, given the service's public base URL.
pub fn json_schema_url(public_url: &str, id: SchemaId) -> String {
    format!("{}/v1/schemas/{id}.json", public_url.trim_end_matches('/'))
}

pub fn jsonld_context_url(public_url: &str, id: SchemaId) -> String {
    format!(
        "{}/v1/schemas/{id}.jsonld",
        public_url.trim_end_matches('/')
    )
}

impl Schema {
    /// The IRI that the JSON-LD context gives the credential type; its Keccak-256 is the
    /// claim's schema hash.
    pub fn type_iri(&self) -> String {
        format!("urn:uuid:{}", self.schema_id)
    }

    /// The JSON-LD context document (`.jsonld`) of this schema.
    pub fn jsonld_context(&self) -> Value {
        let mut terms = Map::new();
        terms.insert("@propagate".into(), json!(true));
        terms.insert("@protected".into(), json!(true));
        terms.insert(
            "claimd-vocab".into(),
            json!(format!("urn:uuid:{}#", self.schema_id)),
        );
        terms.insert("xsd".into(), json!("http://www.w3.org/2001/XMLSchema#"));
        for a in &self.attributes {
            terms.insert(
                a.name.clone(),
                json!({"@id": format!("claimd-vocab:{}", a.name), "@type": a.kind.xsd()}),
            );
        }
        let mut ctx = Map::new();
        ctx.insert("@protected".into(), json!(true));
        ctx.insert("@version".into(), json!(1.1));
        ctx.insert("id".into(), json!("@id"));
        ctx.insert("type".into(), json!("@type"));
        ctx.insert(
            self.type_name.clone(),
            json!({"@context": Value::Object(terms), "@id": self.type_iri()}),
        );
        json!({ "@context": [Value::Object(ctx)] })
    }

    /// The JSON Schema document (`.json`) of credentials of this schema.
    pub fn json_schema(&self, public_url: &str) -> Value {
        let mut props = Map::new();
        props.insert(
            "id".into(),
            json!({"type": "string", "format": "uri", "title": "Credential subject ID"}),
        );
        props.insert("type".into(), json!({"type": "string"}));
        let mut required = Vec::new();
        for a in &self.attributes {
            let mut p = a.kind.json_schema();
            if let Some(t) = &a.title {
                p["title"] = json!(t);
            }
            if let Some(d) = &a.description {
                p["description"] = json!(d);
            }
            props.insert(a.name.clone(), p);
            if a.required {
                required.push(json!(a.name));
            }
        }
        json!({
            "$metadata": {
                "uris": {"jsonLdContext": jsonld_context_url(public_url, self.schema_id)},
                "version": self.version,
                "type": self.type_name,
            },
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": json_schema_url(public_url, self.schema_id),
            "title": self.title,
            "description": self.description,
            "type": "object",
            "required": ["@context", "id", "issuanceDate", "issuer", "type", "credentialSubject", "credentialSchema"],
            "properties": {
                "@context": {"type": ["string", "array", "object"]},
                "id": {"type": "string"},
                "type": {"type": ["string", "array"], "items": {"type": "string"}},
                "issuer": {
                    "type": ["string", "object"],
                    "format": "uri",
                    "properties": {"id": {"type": "string", "format": "uri"}},
                    "required": ["id"]
                },
                "issuanceDate": {"type": "string", "format": "date-time"},
                "expirationDate": {"type": "string", "format": "date-time"},
                "credentialSchema": {
                    "type": "object",
                    "properties": {"id": {"type": "string", "format": "uri"}, "type": {"type": "string"}},
                    "required": ["id", "type"]
                },
                "credentialStatus": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "type": {"type": "string"},
                        "revocationNonce": {"type": "integer"}
                    },
                    "required": ["id", "type"]
                },
                "credentialSubject": {
                    "type": "object",
                    "title": "Credential subject",
                    "properties": Value::Object(props),
                    "required": required,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(v: Value) -> Result<SchemaDraft, DomainError> {
        serde_json::from_value::<NewSchema>(v).unwrap().validate()
    }

    fn interop_schema() -> Schema {
        let d = draft(json!({
            "title": "Interop membership", "type": "InteropMembership", "version": "1.0",
            "description": "claimd interop test schema: a small merklized credential (age, location, isMember)",
            "attributes": [
                {"name": "age", "type": "integer", "required": true},
                {"name": "location", "type": "string", "required": true},
                {"name": "isMember", "type": "boolean", "required": true}
            ]
        }))
        .unwrap();
        Schema {
            schema_id: SchemaId(
                uuid::Uuid::parse_str("a3b866eb-db67-472a-8fe4-5f796aff4d4b").unwrap(),
            ),
            title: d.title,
            type_name: d.type_name,
            version: d.version,
            description: d.description,
            attributes: d.attributes,
            visibility: Default::default(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn context_matches_the_bundled_fixture_shape() {
        // The fixture (bundled by claimd-merklize) was written in the shape of the iden3 schema builder;
        // ours must be the same document for the same schema id and attributes.
        let fixture: Value = serde_json::from_str(include_str!(
            "../../merklize/contexts/claimd-interop/InteropMembership-v1.jsonld"
        ))
        .unwrap();
        assert_eq!(interop_schema().jsonld_context(), fixture);
        assert_eq!(
            interop_schema().type_iri(),
            "urn:uuid:a3b866eb-db67-472a-8fe4-5f796aff4d4b"
        );
    }

    #[test]
    fn rejects_bad_attributes_naming_the_field() {
        let e = draft(
            json!({"title": "t", "type": "T", "attributes": [{"name": "id", "type": "string"}]}),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("attributes[0].name"), "{e}");
        let e = draft(
            json!({"title": "t", "type": "T", "attributes": [{"name": "a", "type": "float"}]}),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("attributes[0].type"), "{e}");
        let e = draft(
            json!({"title": "t", "type": "lower", "attributes": [{"name": "a", "type": "string"}]}),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("type"), "{e}");
        let e = draft(json!({"title": "t", "type": "T", "attributes": [
            {"name": "a", "type": "string"}, {"name": "a", "type": "integer"}]}))
        .unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
    }
}

/// The largest integer a credential attribute may hold: 2^53 − 1, so JavaScript wallets and
/// verifiers (which read JSON numbers as doubles) see exactly the value that was merklized.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;
/// Longest string attribute, in characters.
pub const MAX_STRING_CHARS: usize = 4096;

impl Schema {
    /// Checks a partner's `credentialSubject` against this schema: every key is an attribute,
    /// every required attribute is present, every value has the attribute's type. The error
    /// names the attribute (`credentialSubject.<name>`).
    pub fn validate_subject(&self, subject: &Map<String, Value>) -> Result<(), DomainError> {
        for (key, value) in subject {
            let field = || format!("credentialSubject.{key}");
            let attr = self
                .attributes
                .iter()
                .find(|a| &a.name == key)
                .ok_or_else(|| {
                    DomainError::invalid(
                        field(),
                        format!("is not an attribute of schema {}", self.type_name),
                    )
                })?;
            check_value(attr.kind, value).map_err(|m| DomainError::invalid(field(), m))?;
        }
        if let Some(missing) = self
            .attributes
            .iter()
            .find(|a| a.required && !subject.contains_key(&a.name))
        {
            return Err(DomainError::invalid(
                format!("credentialSubject.{}", missing.name),
                "is required",
            ));
        }
        Ok(())
    }
}

fn check_value(kind: AttributeType, v: &Value) -> Result<(), String> {
    match (kind, v) {
        (AttributeType::String, Value::String(s)) => {
            if s.is_empty() {
                // iden3 merklization (Go and JS alike) cannot represent an empty string.
                return Err("must not be empty".into());
            }
            if s.chars().count() > MAX_STRING_CHARS {
                return Err(format!("must be at most {MAX_STRING_CHARS} characters"));
            }
            Ok(())
        }
        (AttributeType::Integer, Value::Number(n)) => match n.as_i64() {
            Some(i) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) => Ok(()),
            Some(_) => Err(format!(
                "must be an integer between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}"
            )),
            None if n.as_u64().is_some() => Err(format!(
                "must be an integer between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}"
            )),
            None => Err("must be an integer".into()),
        },
        (AttributeType::Number, Value::Number(n)) => {
            if n.as_f64().is_some_and(f64::is_finite) {
                Ok(())
            } else {
                Err("must be a finite number".into())
            }
        }
        (AttributeType::Boolean, Value::Bool(_)) => Ok(()),
        (AttributeType::Date, Value::String(s)) => {
            if is_date(s) {
                Ok(())
            } else {
                Err("must be a date (YYYY-MM-DD) or an RFC 3339 date-time".into())
            }
        }
        (kind, _) => Err(format!("must be of type {}", kind_name(kind))),
    }
}

fn kind_name(kind: AttributeType) -> &'static str {
    match kind {
        AttributeType::String => "string",
        AttributeType::Integer => "integer",
        AttributeType::Number => "number",
        AttributeType::Boolean => "boolean",
        AttributeType::Date => "date (string)",
    }
}

pub(crate) fn is_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok_and(|_| s.len() == 10)
        || chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

#[cfg(test)]
mod subject_tests {
    use super::*;

    fn schema() -> Schema {
        Schema {
            schema_id: SchemaId::new_random(),
            title: "t".into(),
            type_name: "Membership".into(),
            version: "1".into(),
            description: String::new(),
            attributes: vec![
                Attribute {
                    name: "age".into(),
                    kind: AttributeType::Integer,
                    title: None,
                    description: None,
                    required: true,
                },
                Attribute {
                    name: "score".into(),
                    kind: AttributeType::Number,
                    title: None,
                    description: None,
                    required: false,
                },
                Attribute {
                    name: "name".into(),
                    kind: AttributeType::String,
                    title: None,
                    description: None,
                    required: false,
                },
                Attribute {
                    name: "ok".into(),
                    kind: AttributeType::Boolean,
                    title: None,
                    description: None,
                    required: false,
                },
                Attribute {
                    name: "born".into(),
                    kind: AttributeType::Date,
                    title: None,
                    description: None,
                    required: false,
                },
            ],
            visibility: Default::default(),
            created_at: Utc::now(),
        }
    }

    fn check(v: Value) -> Result<(), String> {
        schema()
            .validate_subject(v.as_object().unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_matching_subjects() {
        check(json!({"age": 25})).unwrap();
        check(
            json!({"age": -3, "score": 1.5, "name": "Zoë 🎉", "ok": false, "born": "2001-02-03"}),
        )
        .unwrap();
        check(json!({"age": 0, "born": "2001-02-03T04:05:06Z"})).unwrap();
        check(json!({"age": MAX_SAFE_INTEGER})).unwrap();
    }

    #[test]
    fn names_the_offending_attribute() {
        for (subject, needle) in [
            (json!({}), "credentialSubject.age: is required"),
            (
                json!({"age": "25"}),
                "credentialSubject.age: must be of type integer",
            ),
            (
                json!({"age": 2.5}),
                "credentialSubject.age: must be an integer",
            ),
            (
                json!({"age": MAX_SAFE_INTEGER + 1}),
                "credentialSubject.age: must be an integer between",
            ),
            (
                json!({"age": u64::MAX}),
                "credentialSubject.age: must be an integer between",
            ),
            (
                json!({"age": 1, "extra": 1}),
                "credentialSubject.extra: is not an attribute",
            ),
            (
                json!({"age": 1, "id": "did:x"}),
                "credentialSubject.id: is not an attribute",
            ),
            (
                json!({"age": 1, "ok": "true"}),
                "credentialSubject.ok: must be of type boolean",
            ),
            (
                json!({"age": 1, "born": "03/02/2001"}),
                "credentialSubject.born: must be a date",
            ),
            (
                json!({"age": 1, "name": {"a": 1}}),
                "credentialSubject.name: must be of type string",
            ),
            (
                json!({"age": null}),
                "credentialSubject.age: must be of type integer",
            ),
        ] {
            let e = check(subject.clone()).unwrap_err();
            assert!(e.starts_with(needle), "{subject}: {e}");
        }
        let long = "x".repeat(MAX_STRING_CHARS + 1);
        assert!(check(json!({"age": 1, "name": long})).is_err());
    }
}
