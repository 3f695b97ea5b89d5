//! Users (credential holders known by email) and their consent to on-behalf issuance.

use crate::{DomainError, PartnerId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An email address normalised the way claimd keys users: trimmed and lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

pub const MAX_EMAIL_LEN: usize = 254;

impl Email {
    /// Trims, lowercases and checks the shape `local@domain` (one `@`, non-empty parts, no
    /// whitespace or control characters, at most 254 bytes). Unicode is allowed (EAI), so
    /// `ÄLICE@EXAMPLE.COM` and `älice@example.com` are the same user.
    pub fn parse(raw: &str) -> Result<Email, DomainError> {
        let e = raw.trim().to_lowercase();
        let bad = |m: &str| Err(DomainError::invalid("email", m));
        if e.is_empty() {
            return bad("is required");
        }
        if e.len() > MAX_EMAIL_LEN {
            return bad("is longer than 254 bytes");
        }
        if e.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        {
            return bad("must not contain spaces, control characters or angle brackets");
        }
        match e.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..") =>
            {
                Ok(Email(e))
            }
            _ => bad("is not an email address"),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For storage adapters reading back a value they stored from [`Email::parse`].
    pub fn from_stored(s: String) -> Email {
        Email(s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub user_uuid: UserId,
    pub email: Email,
    /// The DID of the user's custodial holder identity, once it has one.
    pub holder_did: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentStatus {
    Granted,
    Rejected,
}

impl ConsentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::Granted => "granted",
            ConsentStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "granted" => Some(ConsentStatus::Granted),
            "rejected" => Some(ConsentStatus::Rejected),
            _ => None,
        }
    }

    /// A status read back from a store; anything else there is corruption.
    pub fn from_stored(s: &str) -> Result<Self, crate::store::StoreError> {
        Self::parse(s)
            .ok_or_else(|| crate::store::StoreError::Internal(format!("bad consent status {s:?}")))
    }

    /// Whether a partner may issue on the user's behalf. No record means it may: consent is
    /// recorded to refuse, or to undo a refusal.
    pub fn allows_issuance(status: Option<ConsentStatus>) -> bool {
        status != Some(ConsentStatus::Rejected)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    pub user_uuid: UserId,
    pub email: Email,
    pub partner_id: PartnerId,
    pub status: ConsentStatus,
    pub updated_at: DateTime<Utc>,
}

/// `PUT /admin/v1/users/consent` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentRequest {
    pub email: Option<String>,
    pub partner_id: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsentDraft {
    pub email: Email,
    pub partner_id: PartnerId,
    pub status: ConsentStatus,
}

impl ConsentRequest {
    pub fn validate(self) -> Result<ConsentDraft, DomainError> {
        let email = Email::parse(self.email.as_deref().unwrap_or(""))?;
        let partner_id = self
            .partner_id
            .ok_or_else(|| DomainError::invalid("partnerId", "is required"))?;
        let partner_id = PartnerId::parse(&partner_id)
            .ok_or_else(|| DomainError::invalid("partnerId", "is not a partner id (UUID)"))?;
        let status = self
            .status
            .as_deref()
            .and_then(ConsentStatus::parse)
            .ok_or_else(|| DomainError::invalid("status", "must be granted or rejected"))?;
        Ok(ConsentDraft {
            email,
            partner_id,
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_normalise() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
        assert_eq!(
            Email::parse("ÄLICE@BÜCHER.de").unwrap().as_str(),
            "älice@bücher.de"
        );
        for bad in [
            "", "a", "a@", "@b", "a@b@c", "a b@c", "a@b..c", "a@.b", "a\u{0}@b",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@b.c", "a".repeat(260))).is_err());
    }
}
