//! Issuers: iden3 identities owned by a partner, with an Ethereum key (whose address is the
//! genesis of the identity's ID) and a Baby Jubjub key (whose auth claim signs credentials).

use crate::fields::validate_name;
use crate::operator::{bjj_key_label, eth_key_label};
use crate::secrets::MasterKey;
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

impl SealedIssuerKeys {
    /// Opens the Baby Jubjub key of `issuer` (the one that signs credentials and whose auth
    /// claim is in every state). The error says which key failed and why.
    pub fn open_bjj(
        &self,
        master: &MasterKey,
        issuer: IssuerId,
    ) -> Result<claimd_iden3::babyjubjub::PrivateKey, String> {
        let seed = master
            .open(&bjj_key_label(issuer), &self.bjj_key)
            .map_err(|e| format!("cannot open the Baby Jubjub key of issuer {issuer}: {e}"))?;
        crate::identity::bjj_key(&seed)
    }

    /// Opens the Ethereum private key of `issuer` (the one that signs state transitions).
    pub fn open_eth(&self, master: &MasterKey, issuer: IssuerId) -> Result<[u8; 32], String> {
        let key = master
            .open(&eth_key_label(issuer), &self.eth_key)
            .map_err(|e| format!("cannot open the Ethereum key of issuer {issuer}: {e}"))?;
        key.as_slice()
            .try_into()
            .map_err(|_| format!("the Ethereum key of issuer {issuer} is not 32 bytes"))
    }
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
        let partner_id = PartnerId::required(self.partner_id.as_deref(), "partnerId")?;
        Ok(IssuerDraft {
            partner_id,
            name: validate_name(self.name.as_deref(), "name")?,
        })
    }
}
