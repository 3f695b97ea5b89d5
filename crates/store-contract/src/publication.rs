//! The [`PublicationView`](claimd_core::store::PublicationView) contract and operator
//! revocation: where each credential's claim was confirmed, an issuer's publishing overview,
//! and revocation (`claimd_core::commit::revoke` over `change_credential_status`).

use super::{
    confirmation, issue, issuer_with_program, publish, published_at, record, roots,
    transition_draft,
};
use claimd_core::credential::CredentialStatus;
use claimd_core::store::{OnDuplicate, Store};
use claimd_core::UserId;

pub async fn publication(store: &dyn Store) {
    let (p, issuer, program) = issuer_with_program(store, 9).await;
    let id = issuer.issuer_id;

    let empty = store.publishing_overview(id, 10).await.unwrap();
    assert_eq!(
        (empty.published, empty.in_flight, empty.recent.len()),
        (None, None, 0)
    );
    assert_eq!((empty.pending_claims, empty.pending_revocations), (0, 0));

    let (alice, bob) = (UserId::new_random(), UserId::new_random());
    let a = record(p, &issuer, &program, alice, 201);
    let b = record(p, &issuer, &program, bob, 202);
    for (email, user, c) in [("a@x.io", alice, &a), ("b@x.io", bob, &b)] {
        issue(store, email, user, c.clone(), OnDuplicate::Revoke, None).await;
    }
    // Any partner's credential is visible to operators; unknown hashes are not.
    assert_eq!(
        store
            .credential(&a.core_claim_hash)
            .await
            .unwrap()
            .unwrap()
            .vc_id,
        a.vc_id
    );
    assert!(store.credential(&"0".repeat(64)).await.unwrap().is_none());
    assert!(
        claimd_core::commit::revoke(store, &"0".repeat(64), chrono::Utc::now())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .publishing_overview(id, 10)
            .await
            .unwrap()
            .pending_claims,
        2
    );

    // Genesis confirmed, then a transition with both claims in flight.
    let genesis = publish(
        store,
        transition_draft(id, None, 10),
        &confirmation("0x01", 5),
    )
    .await;
    let mut next = transition_draft(id, Some(10), 20);
    next.claims = vec![a.core_claim_hash.clone(), b.core_claim_hash.clone()];
    let second = store.begin_transition(next).await.unwrap();
    assert!(store
        .claim_publication(&a.core_claim_hash)
        .await
        .unwrap()
        .is_none());
    let o = store.publishing_overview(id, 10).await.unwrap();
    assert_eq!(o.published.as_ref().unwrap().roots, roots(10));
    assert_eq!(o.published.as_ref().unwrap().block_timestamp, 1_700_000_005);
    let flight = o.in_flight.unwrap();
    assert_eq!(
        (flight.id, flight.status.as_str(), flight.claims),
        (second, "COMPUTED", 2)
    );
    assert_eq!((o.pending_claims, o.pending_revocations), (0, 0));
    assert_eq!(
        o.recent.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![second, genesis]
    );
    assert_eq!(
        store.publishing_overview(id, 1).await.unwrap().recent.len(),
        1
    );

    // Confirmed: each credential's claim publication is that state.
    store
        .confirm_transition(second, &confirmation("0x02", 9))
        .await
        .unwrap();
    let published = store
        .claim_publication(&b.core_claim_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        published_at(&published),
        (roots(20), "0x02", 9, 1_700_000_009)
    );

    // Operator revocation: live → WAIT_REMOVE, pending until a transition takes it; again
    // changes nothing. The claim stays provable at the state it was published in.
    let revoked = claimd_core::commit::revoke(store, &a.core_claim_hash, chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.status, CredentialStatus::WaitRemove);
    let again = claimd_core::commit::revoke(store, &a.core_claim_hash, chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.status, CredentialStatus::WaitRemove);
    assert!(
        !store
            .change_credential_status(
                &a.core_claim_hash,
                &CredentialStatus::LIVE,
                CredentialStatus::WaitRemove,
                chrono::Utc::now(),
            )
            .await
            .unwrap(),
        "a revoked credential is not live: the compare-and-set changes nothing"
    );
    let o = store.publishing_overview(id, 10).await.unwrap();
    assert_eq!((o.pending_claims, o.pending_revocations), (0, 1));
    let work = store.pending_work(id, 10).await.unwrap();
    assert_eq!(work.revocations.len(), 1);
    assert_eq!(work.revocations[0].revocation_nonce, 201);
    assert_eq!(
        store
            .claim_publication(&a.core_claim_hash)
            .await
            .unwrap()
            .unwrap()
            .roots,
        roots(20)
    );
}
