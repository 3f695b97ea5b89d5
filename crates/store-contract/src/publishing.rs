//! The [`PublishStore`](claimd_core::store::PublishStore) contract: tree nodes, the transition
//! pipeline of an issuer, credential statuses on confirmation, and publisher leases.

use super::{confirmation, issue, issuer_with_program, published_at, record, roots};
use chrono::{DateTime, Utc};
use claimd_core::credential::CredentialStatus;
use claimd_core::store::{
    OnDuplicate, PublishBacklog, Store, StoreError, TransitionDraft, TransitionStatus, TransitionTx,
};
use claimd_core::UserId;
use claimd_iden3::merkletree::Node;
use claimd_iden3::Fr;
use std::time::Duration;

/// Nodes are content-addressed; transitions move credentials through their statuses; an
/// abandoned transition gives its work back; one transition in flight per issuer; leases.
pub async fn publishing(store: &dyn Store) {
    let (p, issuer, program) = issuer_with_program(store, 7).await;
    let id = issuer.issuer_id;

    // Nothing to do yet.
    assert!(store.issuers_to_publish().await.unwrap().is_empty());
    assert_eq!(
        store.publish_backlog().await.unwrap(),
        PublishBacklog::default()
    );
    assert!(store.transitions(id, 10).await.unwrap().is_empty());
    assert!(store.published_state(id).await.unwrap().is_none());
    assert!(store.in_flight_transition(id).await.unwrap().is_none());
    assert!(store.pending_work(id, 10).await.unwrap().is_empty());

    // Tree nodes: absent, then stored once and read back (a duplicate insert is harmless).
    let leaf = Node::Leaf {
        key: Fr::from_u64(5),
        value: Fr::from_u64(6),
    };
    let middle = Node::Middle {
        left: leaf.hash(),
        right: Fr::ZERO,
    };
    assert_eq!(store.tree_node(leaf.hash()).await.unwrap(), None);

    // First transition (genesis): only nodes, no credential.
    let first = store
        .begin_transition(TransitionDraft {
            issuer_id: id,
            old: None,
            new: roots(10),
            claims: vec![],
            revocations: vec![],
            nodes: vec![(leaf.hash(), leaf), (middle.hash(), middle)],
        })
        .await
        .unwrap();
    assert_eq!(store.tree_node(leaf.hash()).await.unwrap(), Some(leaf));
    assert_eq!(store.tree_node(middle.hash()).await.unwrap(), Some(middle));
    assert_eq!(store.issuers_to_publish().await.unwrap(), vec![id]);
    let flight = store.in_flight_transition(id).await.unwrap().unwrap();
    assert_eq!(
        (flight.id, flight.old, flight.new, flight.txs.clone()),
        (first, None, roots(10), vec![])
    );
    let age = Utc::now() - flight.computed_at;
    assert!(
        age.num_seconds().abs() < 60,
        "computed_at {}",
        flight.computed_at
    );
    // A second transition while one is in flight is refused.
    match store
        .begin_transition(TransitionDraft {
            issuer_id: id,
            old: None,
            new: roots(20),
            claims: vec![],
            revocations: vec![],
            nodes: vec![(leaf.hash(), leaf)],
        })
        .await
    {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("second transition in flight: {other:?}"),
    }
    // Signing is fenced by the publisher lease.
    let signed = attempt(3, "0xabc", 1);
    let ttl = Duration::from_secs(60);
    match store
        .record_transition_tx(first, signed.clone(), "one")
        .await
    {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("recorded without the lease: {other:?}"),
    }
    assert!(store.acquire_publisher_lease(id, "one", ttl).await.unwrap());
    match store
        .record_transition_tx(first, signed.clone(), "two")
        .await
    {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("recorded under another's lease: {other:?}"),
    }
    store
        .record_transition_tx(first, signed.clone(), "one")
        .await
        .unwrap();
    // The same bytes again change nothing; a replacement is appended; another nonce is refused.
    store
        .record_transition_tx(first, signed.clone(), "one")
        .await
        .unwrap();
    let replacement = attempt(3, "0xabd", 2);
    store
        .record_transition_tx(first, replacement.clone(), "one")
        .await
        .unwrap();
    match store
        .record_transition_tx(first, attempt(4, "0xabe", 3), "one")
        .await
    {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("another nonce: {other:?}"),
    }
    let flight = store.in_flight_transition(id).await.unwrap().unwrap();
    assert_eq!(flight.txs, vec![signed.clone(), replacement.clone()]);
    assert_eq!(flight.latest_tx(), Some(&replacement));
    assert_eq!(
        store.publish_backlog().await.unwrap(),
        PublishBacklog {
            in_flight: 1,
            ..PublishBacklog::default()
        }
    );
    // Confirmed with the attempt that was mined: the first one.
    assert_eq!(
        store
            .confirm_transition(first, &confirmation("0xabc", 12))
            .await
            .unwrap(),
        0
    );
    let history = store.transitions(id, 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status, TransitionStatus::Confirmed);
    // The confirmation is on the publish-lag chart.
    let lags = store
        .publish_lags(chrono::Utc::now() - chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(lags.len(), 1);
    assert!(lags[0].1 >= 0.0 && lags[0].1 < 300.0, "{lags:?}");
    assert!(store
        .publish_lags(chrono::Utc::now() + chrono::Duration::minutes(5))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(history[0].txs, vec![signed.clone(), replacement]);
    assert_eq!(
        history[0].confirmation,
        Some(confirmation("0xabc", 12)),
        "the mined attempt's hash"
    );
    assert_eq!(
        store
            .transition_by_new_state(id, roots(10).state)
            .await
            .unwrap(),
        Some(history[0].clone())
    );
    assert_eq!(
        store
            .transition_by_new_state(id, roots(11).state)
            .await
            .unwrap(),
        None
    );
    let published = store.published_state(id).await.unwrap().unwrap();
    assert_eq!(
        published_at(&published),
        (roots(10), "0xabc", 12, 1_700_000_012)
    );
    assert!(store.in_flight_transition(id).await.unwrap().is_none());
    assert!(matches!(
        store
            .confirm_transition(first, &confirmation("0xabc", 12))
            .await,
        Err(StoreError::NotFound(_))
    ));

    // Two credentials; then a revoke-duplicate of the first before anything is published.
    let (alice, bob) = (UserId::new_random(), UserId::new_random());
    let a1 = record(p, &issuer, &program, alice, 101);
    let b1 = record(p, &issuer, &program, bob, 102);
    for (email, user, c) in [("a@x.io", alice, &a1), ("b@x.io", bob, &b1)] {
        issue(store, email, user, c.clone(), OnDuplicate::Revoke, None).await;
    }
    let a2 = record(p, &issuer, &program, alice, 103);
    issue(
        store,
        "a@x.io",
        alice,
        a2.clone(),
        OnDuplicate::Revoke,
        None,
    )
    .await;
    assert_eq!(store.issuers_to_publish().await.unwrap(), vec![id]);
    let work = store.pending_work(id, 10).await.unwrap();
    let claims: Vec<_> = work
        .claims
        .iter()
        .map(|c| c.core_claim_hash.clone())
        .collect();
    assert_eq!(claims.len(), 3);
    for c in [&a1, &b1, &a2] {
        assert!(claims.contains(&c.core_claim_hash));
    }
    assert!(work.claims.iter().all(|c| c.core_claim == "00".repeat(256)));
    assert_eq!(work.revocations.len(), 1);
    assert_eq!(work.revocations[0].core_claim_hash, a1.core_claim_hash);
    assert_eq!(work.revocations[0].revocation_nonce, 101);
    let backlog = store.publish_backlog().await.unwrap();
    assert_eq!(
        (
            backlog.pending_claims,
            backlog.pending_revocations,
            backlog.in_flight
        ),
        (3, 1, 0)
    );
    assert!(backlog.oldest_pending.is_some());
    // The cap applies to each list.
    assert_eq!(store.pending_work(id, 2).await.unwrap().claims.len(), 2);

    // A transition taking everything; then abandoned: the work is pending again.
    let draft = TransitionDraft {
        issuer_id: id,
        old: Some(roots(10)),
        new: roots(30),
        claims: claims.clone(),
        revocations: vec![a1.core_claim_hash.clone()],
        nodes: vec![],
    };
    let second = store.begin_transition(draft.clone()).await.unwrap();
    assert!(store.pending_work(id, 10).await.unwrap().is_empty());
    let flight = store.in_flight_transition(id).await.unwrap().unwrap();
    assert_eq!((flight.old, flight.new), (Some(roots(10)), roots(30)));
    store
        .abandon_transition(second, "reverted: test")
        .await
        .unwrap();
    assert!(store.in_flight_transition(id).await.unwrap().is_none());
    assert_eq!(store.pending_work(id, 10).await.unwrap(), work);
    assert_eq!(
        store.published_state(id).await.unwrap().unwrap().roots,
        roots(10)
    );

    // Taking a credential that is no longer pending is a conflict and writes nothing.
    let third = store.begin_transition(draft.clone()).await.unwrap();
    store.abandon_transition(third, "again").await.unwrap();
    let mut stale = draft.clone();
    stale.claims.push("f".repeat(64));
    assert!(matches!(
        store.begin_transition(stale).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.in_flight_transition(id).await.unwrap().is_none());
    assert_eq!(store.pending_work(id, 10).await.unwrap(), work);

    // The chain recorded an abandoned transition after all (the third): adopting it
    // supersedes the one in flight and confirms exactly the abandoned one's credentials.
    let abandoned = store
        .transition_by_new_state(id, roots(30).state)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(abandoned.id, third, "the newest with that state");
    assert_eq!(abandoned.status, TransitionStatus::Abandoned);
    assert_eq!((abandoned.claims, abandoned.revocations), (3, 1));
    assert_eq!(abandoned.failure.as_deref(), Some("again"));
    let partial = store
        .begin_transition(TransitionDraft {
            claims: vec![b1.core_claim_hash.clone()],
            revocations: vec![],
            new: roots(40),
            ..draft.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .transition_by_new_state(id, roots(40).state)
            .await
            .unwrap()
            .map(|t| (t.id, t.status, t.claims)),
        Some((partial, TransitionStatus::Computed, 1))
    );
    // Published at last: ONCHAIN for live ones, REMOVE for the revoked one.
    assert_eq!(
        store
            .adopt_transition(third, &confirmation("0xdef", 15))
            .await
            .unwrap(),
        4,
        "three claims and one revocation"
    );
    let history = store.transitions(id, 10).await.unwrap();
    let statuses: Vec<_> = history.iter().map(|t| (t.id, t.status)).collect();
    assert_eq!(
        statuses,
        vec![
            (partial, TransitionStatus::Abandoned),
            (third, TransitionStatus::Confirmed),
            (second, TransitionStatus::Abandoned),
            (first, TransitionStatus::Confirmed),
        ]
    );
    assert!(history[0]
        .failure
        .as_deref()
        .unwrap()
        .contains("superseded"));
    assert_eq!(history[1].failure, None);
    assert_eq!(history[1].confirmation, Some(confirmation("0xdef", 15)));
    assert!(store.in_flight_transition(id).await.unwrap().is_none());
    // Already confirmed: nothing to adopt. Not from the latest confirmed state: refused.
    assert!(matches!(
        store
            .adopt_transition(third, &confirmation("0xdef", 15))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .adopt_transition(second, &confirmation("0xdef", 15))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let state = roots(30).state.to_le_hex();
    for (c, status) in [
        (&a1, CredentialStatus::Remove),
        (&b1, CredentialStatus::Onchain),
        (&a2, CredentialStatus::Onchain),
    ] {
        let got = store
            .credential_for_partner(&c.core_claim_hash, p)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.status, status, "{}", c.core_claim_hash);
        assert_eq!(got.tx_hash.as_deref(), Some("0xdef"));
        assert_eq!(got.block_number, Some(15));
        assert_eq!(got.identity_state.as_deref(), Some(state.as_str()));
    }
    assert!(store.issuers_to_publish().await.unwrap().is_empty());
    assert_eq!(
        store.published_state(id).await.unwrap().unwrap().roots,
        roots(30)
    );

    // Leases: one owner at a time, renewable by its owner, taken over once expired.
    let ttl = Duration::from_secs(60);
    assert!(store.acquire_publisher_lease(id, "one", ttl).await.unwrap());
    assert!(store.acquire_publisher_lease(id, "one", ttl).await.unwrap());
    assert!(!store.acquire_publisher_lease(id, "two", ttl).await.unwrap());
    assert!(store
        .acquire_publisher_lease(id, "one", Duration::from_millis(1))
        .await
        .unwrap());
    // A blocking sleep: this crate has no runtime of its own, and 20 ms does not matter.
    std::thread::sleep(Duration::from_millis(20));
    assert!(store.acquire_publisher_lease(id, "two", ttl).await.unwrap());
    assert!(!store.acquire_publisher_lease(id, "one", ttl).await.unwrap());
}

fn attempt(nonce: u64, tx_hash: &str, n: u8) -> TransitionTx {
    TransitionTx {
        nonce,
        tx_hash: tx_hash.into(),
        raw: vec![1, 2, n],
        // Whole milliseconds: both backends keep that precision.
        recorded_at: DateTime::<Utc>::from_timestamp_millis(1_700_000_000_000 + i64::from(n))
            .unwrap(),
    }
}
