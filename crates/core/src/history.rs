//! A credential's status history: its acceptance, then every change the outbox recorded
//! (`webhook_events` is written for every credential, in the transaction of each change, so
//! it is the history whether or not the partner has webhook endpoints).

use crate::credential::{CredentialRecord, OnchainRef};
use crate::webhook::{EventType, WebhookEvent};
use chrono::SecondsFormat;
use serde::Serialize;

/// The most changes read for one credential. A credential changes at most four times
/// (on chain, revocation requested, removed, expired); the bound keeps a read bounded anyway.
pub const MAX_CHANGES: u32 = 100;

/// One change of a credential, oldest first in a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// When it happened (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// `accepted`, `onchain`, `revocation_requested`, `removed` or `expired`.
    pub change: &'static str,
    /// The `vcStatus` it left the credential in.
    pub vc_status: String,
    /// The transaction that made the change and its block (on chain and removed only).
    #[serde(flatten)]
    pub onchain: OnchainRef,
    /// The webhook event id of the change (none for `accepted`, which makes no event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

fn change_name(t: EventType) -> &'static str {
    match t {
        EventType::Onchain => "onchain",
        EventType::Removed => "removed",
        EventType::Expired => "expired",
        EventType::RevocationRequested => "revocation_requested",
    }
}

/// The history of `record` from its events (the credential's own, oldest first).
pub fn history(record: &CredentialRecord, events: &[WebhookEvent]) -> Vec<HistoryEntry> {
    let mut out = vec![HistoryEntry {
        at: record
            .issuance_date
            .to_rfc3339_opts(SecondsFormat::Millis, true),
        change: "accepted",
        vc_status: "WAIT_ONCHAIN".into(),
        onchain: OnchainRef::default(),
        event_id: None,
    }];
    for e in events {
        // An event copies the credential's chain facts as they were; only a confirmation's
        // are the transaction of this change (a revocation request names the earlier one).
        let by_transaction = matches!(e.event_type, EventType::Onchain | EventType::Removed);
        out.push(HistoryEntry {
            at: e.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            change: change_name(e.event_type),
            vc_status: e.data.vc_status.clone(),
            onchain: if by_transaction {
                OnchainRef::new(e.data.tx_hash.clone(), e.data.block_number)
            } else {
                OnchainRef::default()
            },
            event_id: Some(e.event_id.clone()),
        });
    }
    out
}
