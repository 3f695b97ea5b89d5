//! Issuers: iden3 identities owned by a partner, with an Ethereum key (whose address is the
//! genesis of the identity's ID) and a Baby Jubjub key (whose auth claim signs credentials).

use crate::partner::validate_name;
use crate::{DomainError, IssuerId, PartnerId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Issuer {
    pub issuer_id: IssuerId,
    pub partner_id: PartnerId,
    pub name: String,
    pub issuer_did: String,
    /// `0x`-prefixed, EIP-55 checksummed.
    pub eth_address: String,
    pub created_at: DateTime<Utc>,
}

/// The issuer's private keys, sealed with the master key (see [`crate::secrets`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedIssuerKeys {
    pub eth_key: Vec<u8>,
    pub bjj_key: Vec<u8>,
}

/// `POST /admin/v1/issuers` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewIssuer {
    pub partner_id: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IssuerDraft {
    pub partner_id: PartnerId,
    pub name: String,
}

impl NewIssuer {
    pub fn validate(self) -> Result<IssuerDraft, DomainError> {
        let partner_id = self
            .partner_id
            .ok_or_else(|| DomainError::invalid("partnerId", "is required"))?;
        let partner_id = PartnerId::parse(&partner_id)
            .ok_or_else(|| DomainError::invalid("partnerId", "is not a partner id (UUID)"))?;
        Ok(IssuerDraft {
            partner_id,
            name: validate_name(self.name.as_deref(), "name")?,
        })
    }
}
