//! Issued credentials as claimd stores them, their lifecycle, and the Moca status view.

use crate::{IssuerId, PartnerId, ProgramId, SchemaId, UserId};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Lifecycle of a credential (Moca's `vcStatus`). `EXPIRE` is not stored: it is what a live
/// credential reads once past its expiration date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialStatus {
    /// Accepted and durable; waiting for the state transition that contains its claim.
    WaitOnchain,
    /// Its claim is in a state confirmed on chain.
    Onchain,
    /// Revoked; waiting for the transition that puts its nonce in the revocation tree.
    WaitRemove,
    /// Revocation confirmed on chain.
    Remove,
}

impl CredentialStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialStatus::WaitOnchain => "WAIT_ONCHAIN",
            CredentialStatus::Onchain => "ONCHAIN",
            CredentialStatus::WaitRemove => "WAIT_REMOVE",
            CredentialStatus::Remove => "REMOVE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "WAIT_ONCHAIN" => CredentialStatus::WaitOnchain,
            "ONCHAIN" => CredentialStatus::Onchain,
            "WAIT_REMOVE" => CredentialStatus::WaitRemove,
            "REMOVE" => CredentialStatus::Remove,
            _ => return None,
        })
    }

    /// A status read back from a store; anything else there is corruption.
    pub fn from_stored(s: &str) -> Result<Self, crate::store::StoreError> {
        Self::parse(s).ok_or_else(|| {
            crate::store::StoreError::Internal(format!("bad credential status {s:?}"))
        })
    }

    /// The live statuses: a live credential counts as a duplicate of a new one for the same
    /// (program, user), and can be revoked. Adapters select and update by exactly these.
    pub const LIVE: [CredentialStatus; 2] =
        [CredentialStatus::WaitOnchain, CredentialStatus::Onchain];

    /// Live credentials count as duplicates and can be revoked.
    pub fn is_live(self) -> bool {
        Self::LIVE.contains(&self)
    }
}

/// A credential as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRecord {
    /// 64 lowercase hex digits, big-endian (Moca's `coreClaimHash`).
    pub core_claim_hash: String,
    /// The VC's `id`, `urn:<uuid>`.
    pub vc_id: String,
    pub partner_id: PartnerId,
    pub issuer_id: IssuerId,
    pub issuer_did: String,
    pub program_id: ProgramId,
    pub schema_id: SchemaId,
    pub user_id: UserId,
    pub revocation_nonce: u64,
    pub status: CredentialStatus,
    pub issuance_date: DateTime<Utc>,
    pub expiration_date: Option<DateTime<Utc>>,
    /// The core claim: 8 slots × 32 bytes little-endian, in hex.
    pub core_claim: String,
    /// The W3C VC as JSON text, with the proofs it has so far.
    pub document: String,
    pub tx_hash: Option<String>,
    pub block_number: Option<u64>,
    pub identity_state: Option<String>,
}

/// `GET /v1/credentials/status` answer: Moca's fields (all strings), plus chain facts once known.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    pub core_claim_hash: String,
    pub issuance_date: String,
    pub expiration_date: String,
    pub issuer_did: String,
    pub issuer_id: String,
    pub scheme_id: String,
    pub vc_id: String,
    pub vc_dstorage_id: String,
    pub vc_status: String,
    #[serde(flatten)]
    pub onchain: OnchainRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_state: Option<String>,
}

/// The transaction that put a credential's change on chain and its block, as the status view
/// and the history print them: each left out until known, the block number a string like
/// Moca's other numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnchainRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "number_as_string"
    )]
    pub block_number: Option<u64>,
}

impl OnchainRef {
    pub fn new(tx_hash: Option<String>, block_number: Option<u64>) -> Self {
        OnchainRef {
            tx_hash,
            block_number,
        }
    }
}

/// A block number as Moca prints numbers: `Some(n)` as the decimal string of `n`, `None` as
/// null.
pub(crate) fn number_as_string<S: serde::Serializer>(
    n: &Option<u64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    n.map(|n| n.to_string()).serialize(s)
}

/// Whether `hash` can be a credential's `coreClaimHash` as stored: 64 hex digits (callers
/// lower-case what they are given first).
pub fn is_core_claim_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Moca prints dates as `YYYY-MM-DD HH:mm:ss` in UTC.
pub fn moca_date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

impl CredentialRecord {
    /// The status a reader sees at `now`: a live credential past its expiration reads `EXPIRE`.
    pub fn vc_status_at(&self, now: DateTime<Utc>) -> &'static str {
        match self.expiration_date {
            Some(exp) if self.status.is_live() && now >= exp => "EXPIRE",
            _ => self.status.as_str(),
        }
    }

    pub fn status_view(&self, now: DateTime<Utc>) -> StatusView {
        StatusView {
            core_claim_hash: self.core_claim_hash.clone(),
            issuance_date: moca_date(self.issuance_date),
            expiration_date: self.expiration_date.map(moca_date).unwrap_or_default(),
            issuer_did: self.issuer_did.clone(),
            issuer_id: self.issuer_id.to_string(),
            scheme_id: self.schema_id.to_string(),
            vc_id: self.vc_id.clone(),
            // claimd keeps documents in its own database; there is no separate storage id.
            vc_dstorage_id: String::new(),
            vc_status: self.vc_status_at(now).to_owned(),
            onchain: OnchainRef::new(self.tx_hash.clone(), self.block_number),
            identity_state: self.identity_state.clone(),
        }
    }
}

#[cfg(test)]
impl CredentialRecord {
    /// A credential of `program` in `status` with no chain facts yet, for the crate's unit
    /// tests.
    pub(crate) fn sample(program: &str, status: CredentialStatus) -> CredentialRecord {
        CredentialRecord {
            core_claim_hash: "00".repeat(32),
            vc_id: "urn:x".into(),
            partner_id: PartnerId::new_random(),
            issuer_id: IssuerId::new_random(),
            issuer_did: "did:x".into(),
            program_id: ProgramId(program.into()),
            schema_id: SchemaId::new_random(),
            user_id: UserId::new_random(),
            revocation_nonce: 1,
            status,
            issuance_date: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            expiration_date: None,
            core_claim: String::new(),
            document: String::new(),
            tx_hash: None,
            block_number: None,
            identity_state: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_status_view_prints_chain_facts_only_once_known() {
        let mut record = CredentialRecord::sample("c1", CredentialStatus::WaitOnchain);
        let at = record.issuance_date;
        let view = serde_json::to_value(record.status_view(at)).unwrap();
        for absent in ["txHash", "blockNumber", "identityState"] {
            assert!(view.get(absent).is_none(), "{view}");
        }
        record.status = CredentialStatus::Onchain;
        record.tx_hash = Some("0x01".into());
        record.block_number = Some(42);
        let view = serde_json::to_value(record.status_view(at)).unwrap();
        assert_eq!(view["vcStatus"], "ONCHAIN");
        assert_eq!(view["txHash"], "0x01");
        assert_eq!(view["blockNumber"], "42");
    }

    #[test]
    fn statuses_roundtrip_and_expire() {
        for s in [
            CredentialStatus::WaitOnchain,
            CredentialStatus::Onchain,
            CredentialStatus::WaitRemove,
            CredentialStatus::Remove,
        ] {
            assert_eq!(CredentialStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(
            moca_date(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()),
            "2026-01-02 03:04:05"
        );
    }
}
