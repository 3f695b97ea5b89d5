//! Issuance programs: what a partner issues (a schema, from one of its issuers), with an
//! optional window, cap and credential lifetime. Moca calls a program's id `credentialId`.

use crate::fields::validate_name;
use crate::{DomainError, ProgramId, SchemaId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Program {
    pub credential_id: ProgramId,
    /// What the operator set when creating it.
    #[serde(flatten)]
    pub draft: ProgramDraft,
    /// Whether the public catalog lists it (see [`crate::verification::Visibility`]).
    #[serde(flatten)]
    pub visibility: crate::verification::Visibility,
    pub created_at: DateTime<Utc>,
}

/// Why a program cannot issue right now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgramClosed {
    #[error("Issuance program is not accessible yet")]
    NotYetOpen,
    #[error("Issuance program is no longer accessible")]
    Ended,
    #[error("Issuance program has reached its maximum issuance")]
    CapReached,
}

impl Program {
    /// Checks the optional window at `now`.
    pub fn check_window(&self, now: DateTime<Utc>) -> Result<(), ProgramClosed> {
        if self.draft.accessible_from.is_some_and(|from| now < from) {
            return Err(ProgramClosed::NotYetOpen);
        }
        if self
            .draft
            .accessible_until
            .is_some_and(|until| now >= until)
        {
            return Err(ProgramClosed::Ended);
        }
        Ok(())
    }

    /// When a credential issued at `issued_at` expires, if the program sets a lifetime.
    pub fn expiration_for(&self, issued_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.draft
            .expiration_days
            .map(|d| issued_at + chrono::Duration::days(i64::from(d)))
    }
}

/// `POST /admin/v1/programs` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewProgram {
    pub issuer_did: Option<String>,
    pub schema_id: Option<String>,
    pub name: Option<String>,
    pub accessible_from: Option<DateTime<Utc>>,
    pub accessible_until: Option<DateTime<Utc>>,
    pub max_issuance: Option<u64>,
    pub expiration_days: Option<u32>,
}

/// A validated program, before it has an id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramDraft {
    pub issuer_did: String,
    pub schema_id: SchemaId,
    pub name: String,
    pub accessible_from: Option<DateTime<Utc>>,
    pub accessible_until: Option<DateTime<Utc>>,
    pub max_issuance: Option<u64>,
    pub expiration_days: Option<u32>,
}

/// Longest credential lifetime a program may set (100 years): keeps expiration dates far from
/// the limits of the 64-bit claim slot and of every date library a verifier may use.
pub const MAX_EXPIRATION_DAYS: u32 = 36_500;

impl NewProgram {
    pub fn validate(self) -> Result<ProgramDraft, DomainError> {
        let issuer_did = self
            .issuer_did
            .filter(|d| !d.trim().is_empty())
            .ok_or_else(|| DomainError::invalid("issuerDid", "is required"))?;
        let schema_id = SchemaId::required(self.schema_id.as_deref(), "schemaId")?;
        if let (Some(from), Some(until)) = (self.accessible_from, self.accessible_until) {
            if until <= from {
                return Err(DomainError::invalid(
                    "accessibleUntil",
                    "must be after accessibleFrom",
                ));
            }
        }
        if self.max_issuance == Some(0) || self.max_issuance.is_some_and(|m| m > i64::MAX as u64) {
            return Err(DomainError::invalid(
                "maxIssuance",
                "must be a positive integer",
            ));
        }
        if let Some(days) = self.expiration_days {
            if days == 0 || days > MAX_EXPIRATION_DAYS {
                return Err(DomainError::invalid(
                    "expirationDays",
                    format!("must be between 1 and {MAX_EXPIRATION_DAYS}"),
                ));
            }
        }
        Ok(ProgramDraft {
            issuer_did: issuer_did.trim().to_owned(),
            schema_id,
            name: validate_name(self.name.as_deref(), "name")?,
            accessible_from: self.accessible_from,
            accessible_until: self.accessible_until,
            max_issuance: self.max_issuance,
            expiration_days: self.expiration_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn program(from: Option<i64>, until: Option<i64>) -> Program {
        Program {
            credential_id: ProgramId::new_random(),
            draft: ProgramDraft {
                issuer_did: "did:x".into(),
                schema_id: SchemaId::new_random(),
                name: "p".into(),
                accessible_from: from.map(|s| Utc.timestamp_opt(s, 0).unwrap()),
                accessible_until: until.map(|s| Utc.timestamp_opt(s, 0).unwrap()),
                max_issuance: None,
                expiration_days: Some(30),
            },
            visibility: Default::default(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn window_is_half_open() {
        let p = program(Some(100), Some(200));
        let at = |s| Utc.timestamp_opt(s, 0).unwrap();
        assert_eq!(p.check_window(at(99)), Err(ProgramClosed::NotYetOpen));
        assert_eq!(p.check_window(at(100)), Ok(()));
        assert_eq!(p.check_window(at(199)), Ok(()));
        assert_eq!(p.check_window(at(200)), Err(ProgramClosed::Ended));
        assert_eq!(program(None, None).check_window(at(0)), Ok(()));
    }

    #[test]
    fn validation_names_fields() {
        let v = serde_json::json!({"issuerDid": "did:a", "schemaId": "x", "name": "n"});
        let e = serde_json::from_value::<NewProgram>(v)
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(e.to_string().starts_with("schemaId"));
        let v = serde_json::json!({"issuerDid": "did:a", "schemaId": SchemaId::new_random(), "name": "n",
            "accessibleFrom": "2030-01-01T00:00:00Z", "accessibleUntil": "2029-01-01T00:00:00Z"});
        let e = serde_json::from_value::<NewProgram>(v)
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(e.to_string().starts_with("accessibleUntil"));
    }
}
