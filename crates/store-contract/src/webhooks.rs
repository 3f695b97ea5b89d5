//! The [`WebhookStore`](claimd_core::webhook::WebhookStore) contract and the outbox: events are
//! written by the transactions that change a credential's status, fanned out to the partner's
//! subscribed endpoints, leased in per-credential order under a per-endpoint cap, and retried,
//! delivered, dead-lettered and replayed.

use super::{
    issue, issue_to_new_users, issuer_with_program, partner_draft, publish, record,
    transition_draft,
};
use chrono::{TimeDelta, Utc};
use claimd_core::credential::CredentialStatus;
use claimd_core::store::OnDuplicate::Revoke;
use claimd_core::store::{Confirmation, IssueOutcome, Store, StoreError, TransitionDraft};
use claimd_core::webhook::{
    AttemptOutcome as Outcome, AttemptRecord, DeliveryState, EndpointChanges, EndpointRecord,
    EventType, Replay,
};
use claimd_core::{PartnerId, UserId, WebhookEndpointId};
use std::time::Duration;

fn endpoint(partner: PartnerId, url: &str, types: &[EventType], enabled: bool) -> EndpointRecord {
    EndpointRecord {
        endpoint_id: WebhookEndpointId::new_random(),
        partner_id: partner,
        url: url.into(),
        event_types: types.to_vec(),
        enabled,
        secret: vec![1, 2, 3],
        at: Utc::now(),
    }
}

fn attempt(status: Option<u16>) -> AttemptRecord {
    AttemptRecord {
        at: Utc::now(),
        status_code: status,
        error: status.is_none().then(|| "timed out".to_owned()),
        response: status.map(|s| format!("answer {s}")),
        duration_ms: 12,
    }
}

/// An event's type, credential, status, transaction and block.
type Seen<'a> = (EventType, &'a str, &'a str, Option<&'a str>, Option<u64>);

/// The partner's feed once `done` holds for it (at most 5 s). The feed shows an event once
/// every transaction older than it has ended, cluster-wide on PostgreSQL (other tests'
/// databases included), so a test reads what it just committed by waiting for it, briefly.
async fn feed_when(
    store: &dyn Store,
    partner: PartnerId,
    done: impl Fn(&[claimd_core::webhook::WebhookEvent]) -> bool,
) -> Vec<claimd_core::webhook::WebhookEvent> {
    let mut events = Vec::new();
    for _ in 0..100 {
        events = store
            .partner_events(partner, None, 10)
            .await
            .unwrap()
            .unwrap();
        if done(&events) {
            break;
        }
        // A blocking sleep: this crate has no runtime of its own (as in publishing.rs).
        std::thread::sleep(Duration::from_millis(50));
    }
    events
}
pub async fn webhooks(store: &dyn Store) {
    let (partner, issuer, program) = issuer_with_program(store, 9).await;
    let other = store.create_partner(partner_draft("Other")).await.unwrap();

    // Endpoints: create, scoped reads, list, change, rotate, delete.
    match store
        .create_webhook_endpoint(endpoint(
            PartnerId::new_random(),
            "https://x",
            &EventType::ALL,
            true,
        ))
        .await
    {
        Err(StoreError::NotFound("partner")) => {}
        other => panic!("endpoint of an unknown partner: {other:?}"),
    }
    let all = store
        .create_webhook_endpoint(endpoint(
            partner,
            "https://a.example/hook",
            &EventType::ALL,
            true,
        ))
        .await
        .unwrap();
    assert_eq!(all.event_types, EventType::ALL.to_vec());
    assert!(all.enabled && all.previous_secret_expires_at.is_none());
    let onchain = store
        .create_webhook_endpoint(endpoint(
            partner,
            "https://b.example/hook",
            &[EventType::Onchain],
            true,
        ))
        .await
        .unwrap();
    let off = store
        .create_webhook_endpoint(endpoint(
            partner,
            "https://c.example/hook",
            &EventType::ALL,
            false,
        ))
        .await
        .unwrap();
    let gone = store
        .create_webhook_endpoint(endpoint(
            partner,
            "https://d.example/hook",
            &EventType::ALL,
            true,
        ))
        .await
        .unwrap();
    assert_eq!(
        store
            .webhook_endpoint(partner, all.endpoint_id)
            .await
            .unwrap(),
        Some(all.clone())
    );
    assert_eq!(
        store
            .webhook_endpoint(other.partner_id, all.endpoint_id)
            .await
            .unwrap(),
        None,
        "another partner's endpoint"
    );
    assert_eq!(
        store.list_webhook_endpoints(partner).await.unwrap().len(),
        4
    );
    assert!(store
        .list_webhook_endpoints(other.partner_id)
        .await
        .unwrap()
        .is_empty());
    let changed = store
        .update_webhook_endpoint(
            partner,
            gone.endpoint_id,
            &EndpointChanges {
                url: Some("https://e.example/x".into()),
                event_types: Some(vec![EventType::Removed]),
                enabled: None,
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            changed.url.as_str(),
            changed.event_types.clone(),
            changed.enabled
        ),
        ("https://e.example/x", vec![EventType::Removed], true)
    );
    assert!(store
        .update_webhook_endpoint(
            other.partner_id,
            gone.endpoint_id,
            &EndpointChanges::default(),
            Utc::now()
        )
        .await
        .unwrap()
        .is_none());
    assert!(!store
        .delete_webhook_endpoint(other.partner_id, gone.endpoint_id)
        .await
        .unwrap());
    assert!(store
        .delete_webhook_endpoint(partner, gone.endpoint_id)
        .await
        .unwrap());
    assert!(store
        .webhook_endpoint(partner, gone.endpoint_id)
        .await
        .unwrap()
        .is_none());
    let until = Utc::now() + TimeDelta::hours(1);
    let rotated = store
        .rotate_webhook_secret(partner, all.endpoint_id, vec![9, 9], until, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rotated
            .previous_secret_expires_at
            .map(|t| t.timestamp_millis()),
        Some(until.timestamp_millis())
    );

    // Issuance makes no event; revoke-on-duplicate makes `revocation_requested` in its
    // transaction; a confirmation makes `onchain` and `removed` in its.
    let user = UserId::new_random();
    let first = record(partner, &issuer, &program, user, 1);
    let out = issue(store, "w@example.com", user, first.clone(), Revoke, None).await;
    assert_eq!(out, IssueOutcome::Issued);
    assert_eq!(
        store.partner_events(partner, None, 10).await.unwrap(),
        Some(vec![])
    );
    let second = record(partner, &issuer, &program, user, 2);
    let out = issue(store, "w@example.com", user, second.clone(), Revoke, None).await;
    assert_eq!(out, IssueOutcome::Issued);
    let events = feed_when(store, partner, |e| !e.is_empty()).await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (
            e.event_type,
            e.data.core_claim_hash.as_str(),
            e.data.vc_status.as_str(),
            e.partner_id
        ),
        (
            EventType::RevocationRequested,
            first.core_claim_hash.as_str(),
            "WAIT_REMOVE",
            partner
        )
    );
    assert_eq!(
        (
            e.data.credential_id.as_str(),
            e.data.issuer_did.as_str(),
            e.data.user_uuid
        ),
        (
            program.credential_id.as_str(),
            issuer.issuer_did.as_str(),
            user
        )
    );
    assert!(e.event_id.starts_with("evt_") && e.event_id.len() == 36);

    let draft = TransitionDraft {
        claims: vec![second.core_claim_hash.clone()],
        revocations: vec![first.core_claim_hash.clone()],
        ..transition_draft(issuer.issuer_id, None, 40)
    };
    let confirmation = Confirmation {
        tx_hash: "0xfeed".into(),
        block_number: 77,
        block_timestamp: 1_700_000_000,
    };
    publish(store, draft, &confirmation).await;
    let events = feed_when(store, partner, |e| e.len() >= 3).await;
    let seen: Vec<Seen> = events
        .iter()
        .map(|e| {
            (
                e.event_type,
                e.data.core_claim_hash.as_str(),
                e.data.vc_status.as_str(),
                e.data.tx_hash.as_deref(),
                e.data.block_number,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                EventType::RevocationRequested,
                first.core_claim_hash.as_str(),
                "WAIT_REMOVE",
                None,
                None
            ),
            (
                EventType::Onchain,
                second.core_claim_hash.as_str(),
                "ONCHAIN",
                Some("0xfeed"),
                Some(77)
            ),
            (
                EventType::Removed,
                first.core_claim_hash.as_str(),
                "REMOVE",
                Some("0xfeed"),
                Some(77)
            ),
        ]
    );
    // An operator's revocation (compare-and-set) writes its event too; a no-op (the same
    // change again) does not.
    for changes in [true, false] {
        let changed = store
            .change_credential_status(
                &second.core_claim_hash,
                &CredentialStatus::LIVE,
                CredentialStatus::WaitRemove,
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(changed, changes);
    }
    let events = feed_when(store, partner, |e| e.len() >= 4).await;
    assert_eq!(events.len(), 4);
    assert_eq!(
        (
            events[3].event_type,
            events[3].data.core_claim_hash.as_str()
        ),
        (
            EventType::RevocationRequested,
            second.core_claim_hash.as_str()
        )
    );

    // The cursor: after an event, the ones that follow; another partner sees none of them and
    // cannot use them as a cursor.
    let page = store
        .partner_events(partner, Some(&events[0].event_id), 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page, events[1..3].to_vec());
    assert_eq!(
        store
            .partner_events(partner, Some(&events[3].event_id), 2)
            .await
            .unwrap(),
        Some(vec![])
    );
    assert_eq!(
        store
            .partner_events(other.partner_id, Some(&events[0].event_id), 2)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .partner_events(other.partner_id, None, 10)
            .await
            .unwrap(),
        Some(vec![])
    );

    // Fan-out: every event to the all-types endpoint, only `onchain` to the other, nothing to
    // the disabled one.
    let pending = |e: WebhookEndpointId| async move {
        store
            .webhook_deliveries(partner, e, Some(DeliveryState::Pending), 100)
            .await
            .unwrap()
    };
    assert_eq!(pending(all.endpoint_id).await.len(), 4);
    assert_eq!(pending(onchain.endpoint_id).await.len(), 1);
    assert!(pending(off.endpoint_id).await.is_empty());
    let backlog = store.webhook_backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.dead), (5, 0));

    // Leasing: per credential in order (the first credential's `removed` waits for its
    // `revocation_requested`; the second's revocation waits for its `onchain`), at most
    // `per_endpoint` per endpoint.
    let ttl = Duration::from_secs(60);
    let now = Utc::now();
    // `owner` leases what is due at `at`, with room for every delivery of this test.
    let lease = async |owner: &str, at: chrono::DateTime<Utc>| {
        store
            .lease_webhook_deliveries(owner, at, ttl, 10, 100)
            .await
            .unwrap()
    };
    let leased = lease("w1", now).await;
    let mut got: Vec<(WebhookEndpointId, EventType)> = leased
        .iter()
        .map(|d| (d.endpoint_id, d.event.event_type))
        .collect();
    got.sort_by_key(|(e, t)| (e.to_string(), t.as_str()));
    let mut want = vec![
        (all.endpoint_id, EventType::RevocationRequested),
        (all.endpoint_id, EventType::Onchain),
        (onchain.endpoint_id, EventType::Onchain),
    ];
    want.sort_by_key(|(e, t)| (e.to_string(), t.as_str()));
    assert_eq!(got, want);
    let to_all: Vec<_> = leased
        .iter()
        .filter(|d| d.endpoint_id == all.endpoint_id)
        .collect();
    assert_eq!(to_all[0].secret, vec![9, 9], "the rotated secret signs");
    assert_eq!(
        to_all[0].previous_secret.as_ref().map(|(k, _)| k.clone()),
        Some(vec![1, 2, 3])
    );
    assert_eq!(to_all[0].attempts, 0);
    // Leased ones are not leased again, and nothing else is due.
    assert!(lease("w2", now).await.is_empty());

    // A retry: recorded, not due before its time, due after; only the lease holder records.
    let revocation = to_all
        .iter()
        .find(|d| d.event.event_type == EventType::RevocationRequested)
        .unwrap();
    // `owner` ends its attempt of `delivery` (answered `status`, see `attempt`) with `outcome`:
    // whether it still held the lease.
    let finish = async |delivery: i64, owner: &str, status: Option<u16>, outcome: Outcome| {
        store
            .finish_webhook_attempt(delivery, owner, &attempt(status), outcome)
            .await
            .unwrap()
    };
    assert!(!finish(revocation.delivery_id, "w2", Some(500), Outcome::Dead).await);
    let later = now + TimeDelta::seconds(30);
    assert!(
        finish(
            revocation.delivery_id,
            "w1",
            Some(500),
            Outcome::Retry { at: later }
        )
        .await
    );
    assert!(lease("w2", now).await.is_empty());
    let again = lease("w2", later).await;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].delivery_id, again[0].attempts),
        (revocation.delivery_id, 1)
    );
    assert!(finish(revocation.delivery_id, "w2", Some(204), Outcome::Delivered).await);
    // Delivered: the credential's next event is due now.
    let next = lease("w2", later).await;
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].event.event_type, EventType::Removed);
    assert!(finish(next[0].delivery_id, "w2", None, Outcome::Dead).await);

    // A lease that expires (its worker died) is taken by another worker.
    let expired = later + TimeDelta::seconds(61);
    let retaken = store
        .lease_webhook_deliveries("w3", expired, ttl, 1, 100)
        .await
        .unwrap();
    assert_eq!(retaken.len(), 2, "one per endpoint with per_endpoint = 1");
    for d in &retaken {
        assert!(finish(d.delivery_id, "w3", Some(200), Outcome::Delivered).await);
    }
    assert!(
        !finish(retaken[0].delivery_id, "w1", Some(200), Outcome::Delivered).await,
        "the first worker lost its lease"
    );

    // The listing: newest first, with attempts.
    let listed = store
        .webhook_deliveries(partner, all.endpoint_id, None, 100)
        .await
        .unwrap();
    assert_eq!(listed.len(), 4);
    let first_delivery = listed
        .iter()
        .find(|d| d.delivery_id == revocation.delivery_id)
        .unwrap();
    assert_eq!(first_delivery.state, DeliveryState::Delivered);
    assert_eq!(
        first_delivery
            .attempts
            .iter()
            .map(|a| a.status_code)
            .collect::<Vec<_>>(),
        vec![Some(500), Some(204)]
    );
    assert_eq!(
        first_delivery.attempts[0].response.as_deref(),
        Some("answer 500")
    );
    let dead = store
        .webhook_deliveries(partner, all.endpoint_id, Some(DeliveryState::Dead), 100)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts[0].error.as_deref(), Some("timed out"));
    assert!(store
        .webhook_deliveries(other.partner_id, all.endpoint_id, None, 100)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.webhook_backlog().await.unwrap().dead, 1);

    // Replay: one event again with the same id, or every event since a time.
    let n = store
        .replay_webhook_events(
            partner,
            all.endpoint_id,
            &Replay::Event(dead[0].event_id.clone()),
            expired,
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        store
            .replay_webhook_events(
                partner,
                all.endpoint_id,
                &Replay::Event("evt_unknown".into()),
                expired
            )
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .replay_webhook_events(
                other.partner_id,
                all.endpoint_id,
                &Replay::Event(dead[0].event_id.clone()),
                expired
            )
            .await
            .unwrap(),
        0,
        "another partner's endpoint"
    );
    let replayed = pending(all.endpoint_id).await;
    assert!(replayed.iter().any(|d| d.event_id == dead[0].event_id));
    let since = events[0].occurred_at;
    assert_eq!(
        store
            .replay_webhook_events(partner, onchain.endpoint_id, &Replay::Since(since), expired)
            .await
            .unwrap(),
        4
    );
    // Deleting an endpoint takes its deliveries with it.
    assert!(store
        .delete_webhook_endpoint(partner, onchain.endpoint_id)
        .await
        .unwrap());
    assert!(store
        .webhook_deliveries(partner, onchain.endpoint_id, None, 100)
        .await
        .unwrap()
        .is_empty());
}

/// `credential.expired`: once per live credential past its expiration date, written with its
/// deliveries by the sweep, reporting `EXPIRE`; never for a revoked one; bounded batches.
pub async fn webhook_expiry(store: &dyn Store) {
    let (partner, issuer, program) = issuer_with_program(store, 11).await;
    let subscribed = endpoint(
        partner,
        "https://expiry.example",
        &[EventType::Expired],
        true,
    );
    let endpoint_id = subscribed.endpoint_id;
    store.create_webhook_endpoint(subscribed).await.unwrap();
    let mut live = issue_to_new_users(store, partner, &issuer, &program, "expiry", 1..=3).await;
    // A revoked credential past its date reads REMOVE-bound, not expired: no event.
    let revoked = live.pop().unwrap();
    assert!(store
        .change_credential_status(
            &revoked.core_claim_hash,
            &CredentialStatus::LIVE,
            CredentialStatus::WaitRemove,
            Utc::now(),
        )
        .await
        .unwrap());
    let expires = live[0].expiration_date.unwrap();

    assert_eq!(
        store
            .record_expiry_events(expires - TimeDelta::seconds(1), 10)
            .await
            .unwrap(),
        0,
        "nothing is due before the date"
    );
    let after = expires + TimeDelta::days(1);
    assert_eq!(store.record_expiry_events(after, 1).await.unwrap(), 1);
    assert_eq!(store.record_expiry_events(after, 10).await.unwrap(), 1);
    assert_eq!(
        store.record_expiry_events(after, 10).await.unwrap(),
        0,
        "each credential once"
    );

    let mut want: Vec<(&str, &str)> = live
        .iter()
        .map(|r| (r.core_claim_hash.as_str(), "EXPIRE"))
        .collect();
    want.sort();
    let events = feed_when(store, partner, |events| {
        events
            .iter()
            .filter(|e| e.event_type == EventType::Expired)
            .count()
            >= want.len()
    })
    .await;
    let mut expired: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.event_type == EventType::Expired)
        .map(|e| (e.data.core_claim_hash.as_str(), e.data.vc_status.as_str()))
        .collect();
    expired.sort();
    assert_eq!(expired, want);
    let deliveries = store
        .webhook_deliveries(partner, endpoint_id, None, 10)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 2, "one delivery per expired event");
}

/// A credential's history is its events, oldest first, whether or not its partner has a
/// webhook endpoint: on chain with the transaction and block, revocation requested, removed
/// with the revoking transaction; another credential's events are not in it.
pub async fn credential_history(store: &dyn Store) {
    let (partner, issuer, program) = issuer_with_program(store, 12).await;
    assert!(store
        .list_webhook_endpoints(partner)
        .await
        .unwrap()
        .is_empty());
    let issued = issue_to_new_users(store, partner, &issuer, &program, "history", 1..=2).await;
    let (a, b) = (&issued[0].core_claim_hash, &issued[1].core_claim_hash);
    assert!(store.credential_events(a, 10).await.unwrap().is_empty());

    let confirm = |tx: &str, block: u64| Confirmation {
        tx_hash: tx.into(),
        block_number: block,
        block_timestamp: 1_700_000_000,
    };
    let first = TransitionDraft {
        claims: vec![a.clone(), b.clone()],
        ..transition_draft(issuer.issuer_id, None, 50)
    };
    publish(store, first, &confirm("0xa1", 10)).await;
    assert!(store
        .change_credential_status(
            a,
            &CredentialStatus::LIVE,
            CredentialStatus::WaitRemove,
            Utc::now(),
        )
        .await
        .unwrap());
    let second = TransitionDraft {
        revocations: vec![a.clone()],
        ..transition_draft(issuer.issuer_id, Some(50), 60)
    };
    publish(store, second, &confirm("0xb2", 11)).await;

    let seen = |events: &[claimd_core::webhook::WebhookEvent]| -> Vec<(EventType, String, Option<String>, Option<u64>)> {
        events
            .iter()
            .map(|e| (e.event_type, e.data.vc_status.clone(), e.data.tx_hash.clone(), e.data.block_number))
            .collect()
    };
    let history = store.credential_events(a, 10).await.unwrap();
    assert!(history.iter().all(|e| &e.data.core_claim_hash == a));
    assert!(history
        .windows(2)
        .all(|w| w[0].occurred_at <= w[1].occurred_at));
    assert_eq!(
        seen(&history),
        vec![
            (
                EventType::Onchain,
                "ONCHAIN".into(),
                Some("0xa1".into()),
                Some(10)
            ),
            (
                EventType::RevocationRequested,
                "WAIT_REMOVE".into(),
                Some("0xa1".into()),
                Some(10)
            ),
            (
                EventType::Removed,
                "REMOVE".into(),
                Some("0xb2".into()),
                Some(11)
            ),
        ]
    );
    assert_eq!(
        seen(&store.credential_events(b, 10).await.unwrap()),
        vec![(
            EventType::Onchain,
            "ONCHAIN".into(),
            Some("0xa1".into()),
            Some(10)
        )]
    );
    assert_eq!(
        store.credential_events(a, 2).await.unwrap().len(),
        2,
        "at most `limit`"
    );
    assert!(store
        .credential_events(&"0".repeat(64), 10)
        .await
        .unwrap()
        .is_empty());
}
