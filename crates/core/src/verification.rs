//! Verification programs: what a verifier asks of holders. A program names its verifier (name
//! and DID), the issuance programs whose credentials it accepts, each with conditions on the
//! credential's attributes (`age >= 18`, `location in ["US","CA"]`, `isMember == true`), and a
//! pricing model. The public catalog lists them as `programs`.
//!
//! Conditions are checked against the accepted credential's schema when a program is created
//! or changed: the attribute must exist and the value must have its type, so a program can
//! never ask for something no credential of that program can show.

use crate::fields::{check_list_len, validate_description, validate_name};
use crate::schema::{Attribute, AttributeType};
use crate::{DomainError, ProgramId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::fmt;

/// Whether an entry appears in the public catalog: both must be true. New entries are enabled
/// and not discoverable, so nothing is published before its operator says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Visibility {
    pub discoverable: bool,
    pub enabled: bool,
}

impl Default for Visibility {
    fn default() -> Self {
        Visibility {
            discoverable: false,
            enabled: true,
        }
    }
}

impl Visibility {
    pub fn listed(self) -> bool {
        self.discoverable && self.enabled
    }

    pub fn apply(&mut self, change: VisibilityChange) {
        if let Some(d) = change.discoverable {
            self.discoverable = d;
        }
        if let Some(e) = change.enabled {
            self.enabled = e;
        }
    }
}

/// `PATCH` body of a schema or issuance program: either flag, or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VisibilityChange {
    pub discoverable: Option<bool>,
    pub enabled: Option<bool>,
}

impl VisibilityChange {
    pub fn validate(self) -> Result<Self, DomainError> {
        if self.discoverable.is_none() && self.enabled.is_none() {
            return Err(DomainError::invalid(
                "discoverable",
                "give discoverable, enabled or both",
            ));
        }
        Ok(self)
    }
}

/// A verification program's id, e.g. `prg_4kT9…` (letters, digits, `-`, `_`; at most 64).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VerificationProgramId(pub String);

impl VerificationProgramId {
    pub fn new_random() -> Self {
        // Same alphabet and length of randomness as issuance program ids, another prefix.
        let random = ProgramId::new_random();
        VerificationProgramId(format!("prg_{}", &random.0[1..]))
    }

    pub fn parse(s: &str) -> Option<Self> {
        ProgramId::parse(s).map(|p| VerificationProgramId(p.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VerificationProgramId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a verifier pays for verifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PricingModel {
    PerVerification,
    Free,
}

impl PricingModel {
    pub fn as_str(self) -> &'static str {
        match self {
            PricingModel::PerVerification => "per-verification",
            PricingModel::Free => "free",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "per-verification" => Some(PricingModel::PerVerification),
            "free" => Some(PricingModel::Free),
            _ => None,
        }
    }
}

/// An issuance program a verification program accepts, with its conditions in canonical text
/// form (see [`Condition`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedCredential {
    pub credential_id: ProgramId,
    pub conditions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationProgram {
    pub program_id: VerificationProgramId,
    pub name: String,
    pub description: String,
    pub verifier_name: String,
    pub verifier_did: String,
    pub accepted_credentials: Vec<AcceptedCredential>,
    pub pricing_model: PricingModel,
    pub verification_count: u64,
    #[serde(flatten)]
    pub visibility: Visibility,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Most accepted credentials per program, conditions per credential, values in an `in` list,
/// and characters per condition: a program is read whole on every catalog detail request.
pub const MAX_ACCEPTED: usize = 50;
pub const MAX_CONDITIONS: usize = 20;
pub const MAX_LIST_VALUES: usize = 100;
pub const MAX_CONDITION_CHARS: usize = 500;

/// A comparison operator of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "in",
            Op::NotIn => "not in",
        }
    }
}

/// One condition: `<attribute> <op> <value>`, the value a JSON literal (number, string,
/// boolean, or for `in` / `not in` a non-empty list of them).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub attribute: String,
    /// The attribute's type in the schema: it decides how values compare (dates as instants,
    /// numbers as numbers).
    pub kind: AttributeType,
    pub op: Op,
    pub value: Value,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.attribute, self.op.as_str(), self.value)
    }
}

impl Condition {
    /// Parses `text` and checks it against the schema's `attributes`; the error says what is
    /// wrong in words an operator can act on.
    pub fn parse(text: &str, attributes: &[Attribute]) -> Result<Condition, String> {
        if text.chars().count() > MAX_CONDITION_CHARS {
            return Err(format!("must be at most {MAX_CONDITION_CHARS} characters"));
        }
        if text.contains('\0') {
            // Not storable on every backend (crate::text).
            return Err("must not contain the NUL character (U+0000)".into());
        }
        let text = text.trim();
        let name_end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        let (attribute, rest) = text.split_at(name_end);
        if attribute.is_empty() {
            return Err("must start with an attribute name, e.g. age >= 18".into());
        }
        let attr = attributes
            .iter()
            .find(|a| a.name == attribute)
            .ok_or_else(|| format!("the schema has no attribute {attribute:?}"))?;
        let rest = rest.trim_start();
        // Longest operators first, so `>=` is not read as `>`.
        let ops = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("<", Op::Lt),
            (">", Op::Gt),
            ("not in ", Op::NotIn),
            ("in ", Op::In),
        ];
        let (op, literal) = ops
            .iter()
            .find_map(|(s, op)| rest.strip_prefix(s).map(|l| (*op, l)))
            .ok_or("expected an operator: ==, !=, <, <=, >, >=, in, not in")?;
        let value: Value = serde_json::from_str(literal.trim())
            .map_err(|_| "the value must be a number, a \"string\", true/false or a [list]")?;
        check_type(attr, op, &value)?;
        Ok(Condition {
            attribute: attribute.to_owned(),
            kind: attr.kind,
            op,
            value,
        })
    }

    /// Whether a credential whose `credentialSubject` is `subject` satisfies the condition.
    ///
    /// An attribute the subject does not show (absent or `null`), or shows with a value not of
    /// its schema type, satisfies nothing, not even `!=` or `not in`: a verifier asks a
    /// credential to show something, and a credential that shows nothing proves nothing.
    pub fn holds(&self, subject: &Map<String, Value>) -> bool {
        let Some(actual) = subject.get(&self.attribute).filter(|v| !v.is_null()) else {
            return false;
        };
        let ord = |expected: &Value| self.compare(actual, expected);
        let listed = || self.value.as_array().map(Vec::as_slice).unwrap_or_default();
        match self.op {
            Op::Eq => ord(&self.value) == Some(Ordering::Equal),
            Op::Ne => ord(&self.value).is_some_and(Ordering::is_ne),
            Op::Lt => ord(&self.value).is_some_and(Ordering::is_lt),
            Op::Le => ord(&self.value).is_some_and(Ordering::is_le),
            Op::Gt => ord(&self.value).is_some_and(Ordering::is_gt),
            Op::Ge => ord(&self.value).is_some_and(Ordering::is_ge),
            Op::In => listed().iter().any(|v| ord(v) == Some(Ordering::Equal)),
            // The parser never lets an empty list through; should one appear anyway, the
            // actual value must still be of the attribute's type.
            Op::NotIn => {
                ord(actual).is_some()
                    && listed().iter().all(|v| ord(v).is_some_and(Ordering::is_ne))
            }
        }
    }

    /// `actual` against `expected` as the attribute's type orders them; `None` when either is
    /// not a value of that type. Strings and booleans only meet `==`, `!=`, `in` and `not in`
    /// (the parser refuses ordering on them), so their order here only decides equality.
    fn compare(&self, actual: &Value, expected: &Value) -> Option<Ordering> {
        match self.kind {
            AttributeType::String => Some(actual.as_str()?.cmp(expected.as_str()?)),
            AttributeType::Boolean => Some(actual.as_bool()?.cmp(&expected.as_bool()?)),
            AttributeType::Integer | AttributeType::Number => {
                compare_numbers(actual.as_number()?, expected.as_number()?)
            }
            AttributeType::Date => {
                Some(instant(actual.as_str()?)?.cmp(&instant(expected.as_str()?)?))
            }
        }
    }
}

/// Integers exactly (any mix of signed and unsigned 64-bit), anything else as `f64`.
fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    let int = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// A date attribute's value as an instant: `YYYY-MM-DD` is that day's start in UTC, RFC 3339
/// its own instant, so `2008-01-01` and `2008-01-01T00:00:00Z` are equal.
fn instant(s: &str) -> Option<DateTime<Utc>> {
    if s.len() == 10 {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Some(d.and_time(chrono::NaiveTime::MIN).and_utc());
        }
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// One condition of an accepted credential, judged on a presented credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionResult {
    /// The condition in its canonical spelling, as the catalog lists it.
    pub condition: String,
    pub satisfied: bool,
}

/// Judges each of `accepted`'s conditions on `subject` (a credential's `credentialSubject`),
/// reading them against the schema's `attributes`. A stored condition that no longer reads
/// against the schema cannot be satisfied.
pub fn evaluate_conditions(
    accepted: &AcceptedCredential,
    attributes: &[Attribute],
    subject: &Map<String, Value>,
) -> Vec<ConditionResult> {
    accepted
        .conditions
        .iter()
        .map(|text| ConditionResult {
            condition: text.clone(),
            satisfied: Condition::parse(text, attributes).is_ok_and(|c| c.holds(subject)),
        })
        .collect()
}

fn check_type(attr: &Attribute, op: Op, value: &Value) -> Result<(), String> {
    let kind = attr.kind;
    let ordered = matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
    if ordered && matches!(kind, AttributeType::Boolean | AttributeType::String) {
        return Err(format!(
            "{} is a {kind:?} attribute: only ==, !=, in and not in apply",
            attr.name
        )
        .to_lowercase());
    }
    if matches!(op, Op::In | Op::NotIn) {
        let list = value
            .as_array()
            .filter(|l| !l.is_empty() && l.len() <= MAX_LIST_VALUES)
            .ok_or_else(|| format!("in and not in take a list of 1 to {MAX_LIST_VALUES} values"))?;
        return list.iter().try_for_each(|v| scalar_fits(attr, v));
    }
    scalar_fits(attr, value)
}

fn scalar_fits(attr: &Attribute, v: &Value) -> Result<(), String> {
    let ok = match attr.kind {
        AttributeType::String => v.is_string(),
        AttributeType::Integer => v.is_i64() || v.is_u64(),
        AttributeType::Number => v.is_number(),
        AttributeType::Boolean => v.is_boolean(),
        AttributeType::Date => v.as_str().is_some_and(crate::schema::is_date),
    };
    if ok {
        Ok(())
    } else {
        let want = match attr.kind {
            AttributeType::String => "a string",
            AttributeType::Integer => "an integer",
            AttributeType::Number => "a number",
            AttributeType::Boolean => "true or false",
            AttributeType::Date => "a date string (YYYY-MM-DD or RFC 3339)",
        };
        Err(format!("{} takes {want}, not {v}", attr.name))
    }
}

/// `POST /admin/v1/verification-programs` body, as received.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewVerificationProgram {
    pub name: Option<String>,
    pub description: Option<String>,
    pub verifier_name: Option<String>,
    pub verifier_did: Option<String>,
    pub accepted_credentials: Option<Vec<AcceptedCredentialRequest>>,
    pub pricing_model: Option<String>,
    pub discoverable: Option<bool>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedCredentialRequest {
    pub credential_id: Option<String>,
    #[serde(default)]
    pub conditions: Vec<String>,
}

/// `PATCH /admin/v1/verification-programs/{id}` body: what is present changes;
/// `acceptedCredentials` replaces the whole list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationProgramPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub verifier_name: Option<String>,
    pub verifier_did: Option<String>,
    pub accepted_credentials: Option<Vec<AcceptedCredentialRequest>>,
    pub pricing_model: Option<String>,
    pub discoverable: Option<bool>,
    pub enabled: Option<bool>,
}

/// Accepted credentials whose shape is valid, before their conditions are checked against
/// the schemas (which needs the store: [`crate::operator::Operator`] does it).
#[derive(Debug, Clone, PartialEq)]
pub struct UncheckedAccepted {
    pub credential_id: ProgramId,
    pub conditions: Vec<String>,
}

/// A validated program, before it has an id.
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationDraft {
    pub name: String,
    pub description: String,
    pub verifier_name: String,
    pub verifier_did: String,
    pub accepted_credentials: Vec<AcceptedCredential>,
    pub pricing_model: PricingModel,
    pub visibility: Visibility,
}

/// Validated changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerificationChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub verifier_name: Option<String>,
    pub verifier_did: Option<String>,
    pub accepted_credentials: Option<Vec<AcceptedCredential>>,
    pub pricing_model: Option<PricingModel>,
    pub visibility: VisibilityChange,
}

impl VerificationChanges {
    pub fn apply(self, p: &mut VerificationProgram) {
        if let Some(v) = self.name {
            p.name = v;
        }
        if let Some(v) = self.description {
            p.description = v;
        }
        if let Some(v) = self.verifier_name {
            p.verifier_name = v;
        }
        if let Some(v) = self.verifier_did {
            p.verifier_did = v;
        }
        if let Some(v) = self.accepted_credentials {
            p.accepted_credentials = v;
        }
        if let Some(v) = self.pricing_model {
            p.pricing_model = v;
        }
        p.visibility.apply(self.visibility);
    }
}

fn validate_did(d: Option<&str>) -> Result<String, DomainError> {
    let d = d
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| DomainError::invalid("verifierDid", "is required"))?;
    let ok = d.starts_with("did:")
        && d.len() <= 200
        && d.chars().all(|c| c.is_ascii_graphic())
        && d[4..].contains(':');
    if !ok {
        return Err(DomainError::invalid(
            "verifierDid",
            "must be a DID (did:<method>:<id>, printable ASCII, at most 200 characters)",
        ));
    }
    Ok(d.to_owned())
}

fn validate_pricing(p: Option<&str>) -> Result<PricingModel, DomainError> {
    let p = p.unwrap_or("per-verification");
    PricingModel::parse(p)
        .ok_or_else(|| DomainError::invalid("pricingModel", "must be per-verification or free"))
}

fn validate_accepted(
    raw: Vec<AcceptedCredentialRequest>,
) -> Result<Vec<UncheckedAccepted>, DomainError> {
    check_list_len(
        "acceptedCredentials",
        &raw,
        MAX_ACCEPTED,
        "issuance programs",
    )?;
    let mut out: Vec<UncheckedAccepted> = Vec::with_capacity(raw.len());
    for (i, a) in raw.into_iter().enumerate() {
        let field = format!("acceptedCredentials[{i}]");
        let id = a
            .credential_id
            .as_deref()
            .and_then(ProgramId::parse)
            .ok_or_else(|| {
                DomainError::invalid(
                    format!("{field}.credentialId"),
                    "is required: an issuance program id",
                )
            })?;
        if out.iter().any(|o| o.credential_id == id) {
            return Err(DomainError::invalid(
                format!("{field}.credentialId"),
                format!("{id} is listed twice"),
            ));
        }
        if a.conditions.len() > MAX_CONDITIONS {
            return Err(DomainError::invalid(
                format!("{field}.conditions"),
                format!("at most {MAX_CONDITIONS} conditions"),
            ));
        }
        out.push(UncheckedAccepted {
            credential_id: id,
            conditions: a.conditions,
        });
    }
    Ok(out)
}

/// Checks one accepted credential's conditions against its schema's attributes: the
/// canonical form of each, or the error naming the condition (`index` is its place in the
/// request's list).
pub fn check_conditions(
    index: usize,
    accepted: UncheckedAccepted,
    attributes: &[Attribute],
) -> Result<AcceptedCredential, DomainError> {
    let conditions = accepted
        .conditions
        .iter()
        .enumerate()
        .map(|(j, text)| {
            Condition::parse(text, attributes)
                .map(|c| c.to_string())
                .map_err(|m| {
                    DomainError::invalid(format!("acceptedCredentials[{index}].conditions[{j}]"), m)
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(AcceptedCredential {
        credential_id: accepted.credential_id,
        conditions,
    })
}

/// A program's fields whose checks need no store, and its accepted credentials still to be
/// checked against their schemas.
pub struct ValidatedNew {
    pub draft: VerificationDraft,
    pub accepted: Vec<UncheckedAccepted>,
}

impl NewVerificationProgram {
    pub fn validate(self) -> Result<ValidatedNew, DomainError> {
        let name = validate_name(self.name.as_deref(), "name")?;
        let verifier_name = validate_name(self.verifier_name.as_deref(), "verifierName")?;
        let verifier_did = validate_did(self.verifier_did.as_deref())?;
        let accepted = validate_accepted(
            self.accepted_credentials
                .ok_or_else(|| DomainError::invalid("acceptedCredentials", "is required"))?,
        )?;
        let mut visibility = Visibility::default();
        visibility.apply(VisibilityChange {
            discoverable: self.discoverable,
            enabled: self.enabled,
        });
        Ok(ValidatedNew {
            draft: VerificationDraft {
                name,
                description: validate_description(self.description)?,
                verifier_name,
                verifier_did,
                accepted_credentials: vec![],
                pricing_model: validate_pricing(self.pricing_model.as_deref())?,
                visibility,
            },
            accepted,
        })
    }
}

/// Changes whose checks need no store, and the new accepted list (if any) still to be checked.
pub struct ValidatedPatch {
    pub changes: VerificationChanges,
    pub accepted: Option<Vec<UncheckedAccepted>>,
}

impl VerificationProgramPatch {
    pub fn validate(self) -> Result<ValidatedPatch, DomainError> {
        let changes = VerificationChanges {
            name: self
                .name
                .map(|n| validate_name(Some(&n), "name"))
                .transpose()?,
            description: self
                .description
                .map(|d| validate_description(Some(d)))
                .transpose()?,
            verifier_name: self
                .verifier_name
                .map(|n| validate_name(Some(&n), "verifierName"))
                .transpose()?,
            verifier_did: self
                .verifier_did
                .map(|d| validate_did(Some(&d)))
                .transpose()?,
            accepted_credentials: None,
            pricing_model: self
                .pricing_model
                .map(|p| validate_pricing(Some(&p)))
                .transpose()?,
            visibility: VisibilityChange {
                discoverable: self.discoverable,
                enabled: self.enabled,
            },
        };
        let accepted = self
            .accepted_credentials
            .map(validate_accepted)
            .transpose()?;
        Ok(ValidatedPatch { changes, accepted })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> Vec<Attribute> {
        let a = |name: &str, kind| Attribute {
            name: name.into(),
            kind,
            title: None,
            description: None,
            required: false,
        };
        vec![
            a("age", AttributeType::Integer),
            a("score", AttributeType::Number),
            a("location", AttributeType::String),
            a("isMember", AttributeType::Boolean),
            a("birthday", AttributeType::Date),
        ]
    }

    #[test]
    fn conditions_parse_to_a_canonical_form() {
        let ok = [
            ("age >= 18", "age >= 18"),
            ("age>=18", "age >= 18"),
            ("  score < 2.5 ", "score < 2.5"),
            (r#"location in ["US", "CA"]"#, r#"location in ["US","CA"]"#),
            (r#"location not in ["RU"]"#, r#"location not in ["RU"]"#),
            ("isMember == true", "isMember == true"),
            (r#"location != "FR""#, r#"location != "FR""#),
            (r#"birthday <= "2008-01-01""#, r#"birthday <= "2008-01-01""#),
        ];
        for (text, canonical) in ok {
            let c = Condition::parse(text, &attrs()).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(c.to_string(), canonical);
            // The canonical form reads back as itself.
            assert_eq!(Condition::parse(canonical, &attrs()).unwrap(), c);
        }
    }

    #[test]
    fn conditions_are_checked_against_the_schema() {
        let bad = [
            ("height > 3", "no attribute"),
            ("age >= \"18\"", "integer"),
            ("age >= 18.5", "integer"),
            ("isMember > true", "only =="),
            ("location < \"M\"", "only =="),
            ("isMember == 1", "true or false"),
            ("location in []", "list of 1"),
            ("location in \"US\"", "list of 1"),
            ("location in [1]", "a string"),
            ("age => 18", "operator"),
            ("age >= ", "value"),
            ("age >= 18 OR 1", "value"),
            (">= 18", "attribute name"),
            ("birthday < \"yesterday\"", "date"),
        ];
        for (text, want) in bad {
            let e = Condition::parse(text, &attrs()).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        let long = format!("location == \"{}\"", "x".repeat(600));
        assert!(Condition::parse(&long, &attrs()).is_err());
    }

    /// Whether `text`, read against [`attrs`], holds for `subject`.
    fn holds(text: &str, subject: &serde_json::Value) -> bool {
        Condition::parse(text, &attrs())
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .holds(subject.as_object().unwrap())
    }

    #[test]
    fn every_operator_on_every_type() {
        let subject = serde_json::json!({"age": 18, "score": 2.5, "location": "US",
            "isMember": true, "birthday": "2008-01-01"});
        // (condition, holds for `subject`)
        let cases = [
            // integer
            ("age == 18", true),
            ("age == 19", false),
            ("age != 19", true),
            ("age != 18", false),
            ("age < 19", true),
            ("age < 18", false),
            ("age <= 18", true),
            ("age <= 17", false),
            ("age > 17", true),
            ("age > 18", false),
            ("age >= 18", true),
            ("age >= 19", false),
            ("age in [1, 18]", true),
            ("age in [1, 2]", false),
            ("age not in [1, 2]", true),
            ("age not in [18]", false),
            // number, against integers and decimals
            ("score == 2.5", true),
            ("score != 2.5", false),
            ("score < 3", true),
            ("score < 2.5", false),
            ("score <= 2.5", true),
            ("score <= 2.4", false),
            ("score > 2", true),
            ("score > 2.5", false),
            ("score >= 2.5", true),
            ("score >= 2.6", false),
            ("score in [1, 2.5]", true),
            ("score in [2]", false),
            ("score not in [2]", true),
            ("score not in [2.5, 7]", false),
            // string
            (r#"location == "US""#, true),
            (r#"location == "us""#, false),
            (r#"location != "CA""#, true),
            (r#"location != "US""#, false),
            (r#"location in ["CA", "US"]"#, true),
            (r#"location in ["CA"]"#, false),
            (r#"location not in ["RU"]"#, true),
            (r#"location not in ["RU", "US"]"#, false),
            // boolean
            ("isMember == true", true),
            ("isMember == false", false),
            ("isMember != false", true),
            ("isMember != true", false),
            ("isMember in [true]", true),
            ("isMember in [false]", false),
            ("isMember not in [false]", true),
            ("isMember not in [true, false]", false),
            // date: a day is its start in UTC, so the two spellings meet
            (r#"birthday == "2008-01-01""#, true),
            (r#"birthday == "2008-01-01T00:00:00Z""#, true),
            (r#"birthday == "2008-01-02""#, false),
            (r#"birthday != "2008-01-02""#, true),
            (r#"birthday != "2008-01-01T01:00:00+01:00""#, false),
            (r#"birthday < "2008-01-01T00:00:01Z""#, true),
            (r#"birthday < "2008-01-01""#, false),
            (r#"birthday <= "2008-01-01""#, true),
            (r#"birthday <= "2007-12-31""#, false),
            (r#"birthday > "2007-12-31T23:59:59Z""#, true),
            (r#"birthday > "2008-01-01""#, false),
            (r#"birthday >= "2008-01-01""#, true),
            (r#"birthday >= "2010-06-30""#, false),
            (r#"birthday in ["1999-01-01", "2008-01-01"]"#, true),
            (r#"birthday in ["1999-01-01"]"#, false),
            (r#"birthday not in ["1999-01-01"]"#, true),
            (r#"birthday not in ["2008-01-01T00:00:00Z"]"#, false),
        ];
        for (text, want) in cases {
            assert_eq!(holds(text, &subject), want, "{text}");
        }
    }

    #[test]
    fn large_integers_compare_exactly() {
        let big = serde_json::json!({"age": u64::MAX});
        assert!(holds("age > 9223372036854775807", &big));
        assert!(holds(&format!("age == {}", u64::MAX), &big));
        assert!(!holds(&format!("age < {}", u64::MAX), &big));
        let negative = serde_json::json!({"age": -5});
        assert!(holds("age < 18446744073709551615", &negative));
        assert!(holds("age >= -5", &negative));
    }

    #[test]
    fn nothing_holds_on_what_the_credential_does_not_show() {
        let ops = [
            "age == 18",
            "age != 18",
            "age < 18",
            "age >= 18",
            "age in [18]",
            "age not in [18]",
        ];
        for subject in [
            serde_json::json!({}),
            serde_json::json!({"age": null}),
            serde_json::json!({"age": "18"}),
            serde_json::json!({"age": true}),
        ] {
            for text in ops {
                assert!(!holds(text, &subject), "{text} on {subject}");
            }
        }
        // A date that is not one, a string that is a number: of the wrong type.
        assert!(!holds(
            r#"birthday != "2008-01-01""#,
            &serde_json::json!({"birthday": "soon"})
        ));
        assert!(!holds(
            r#"location not in ["CA"]"#,
            &serde_json::json!({"location": 1})
        ));
    }

    #[test]
    fn conditions_are_evaluated_in_their_stored_order() {
        let accepted = AcceptedCredential {
            credential_id: ProgramId("c1".into()),
            conditions: vec![
                "age >= 18".into(),
                r#"location in ["CA"]"#.into(),
                // Not readable against the schema any more: never satisfied.
                "height > 2".into(),
            ],
        };
        let subject = serde_json::json!({"age": 30, "location": "US"});
        let got = evaluate_conditions(&accepted, &attrs(), subject.as_object().unwrap());
        let got: Vec<(&str, bool)> = got
            .iter()
            .map(|r| (r.condition.as_str(), r.satisfied))
            .collect();
        assert_eq!(
            got,
            [
                ("age >= 18", true),
                (r#"location in ["CA"]"#, false),
                ("height > 2", false)
            ]
        );
    }

    #[test]
    fn new_programs_name_the_bad_field() {
        let body = |v: serde_json::Value| {
            serde_json::from_value::<NewVerificationProgram>(v)
                .unwrap()
                .validate()
                .err()
                .map(|e| e.to_string())
        };
        let good = serde_json::json!({"name": "Adults", "verifierName": "Bar", "verifierDid": "did:web:bar.example",
            "acceptedCredentials": [{"credentialId": "c1", "conditions": ["age >= 18"]}]});
        assert_eq!(body(good.clone()), None);
        let mut v = good.clone();
        v["verifierDid"] = "bar".into();
        assert!(body(v).unwrap().starts_with("verifierDid"));
        let mut v = good.clone();
        v["acceptedCredentials"] = serde_json::json!([]);
        assert!(body(v).unwrap().starts_with("acceptedCredentials"));
        let mut v = good.clone();
        v["acceptedCredentials"] =
            serde_json::json!([{"credentialId": "c1"}, {"credentialId": "c1"}]);
        assert!(body(v)
            .unwrap()
            .starts_with("acceptedCredentials[1].credentialId"));
        let mut v = good;
        v["pricingModel"] = "gratis".into();
        assert!(body(v).unwrap().starts_with("pricingModel"));
    }
}
