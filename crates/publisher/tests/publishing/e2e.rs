//! End to end: real issuance, the publisher's steps one by one with a restart (a new
//! `Publisher`) after each kind of step, revocation, and what the chain and trees then say.

use crate::common::*;
use claimd_core::credential::CredentialStatus;
use claimd_core::store::TransitionStatus;
use claimd_publisher::Outcome;

async fn issue_publish_revoke_with_restarts(backend: Backend, net: Net) {
    let (db, master_key, issuing) = issuing_on(backend).await;
    let acme = issuing.issuer("acme").await;
    let id = acme.issuer.issuer_id;
    let restart = || async {
        // A new publisher over a new pool: nothing survives but the database and the chain.
        net.publisher(db.open().await, &master_key, net.config("one"))
            .await
    };

    // Credentials issued before the issuer ever published wait for its onboarding.
    let alice = issuing.issue(&acme, "alice@example.com", 30).await;
    let bob = issuing.issue(&acme, "bob@example.com", 40).await;

    // Onboarding transition, one durable step per call, a restart after each kind of step.
    let p = restart().await;
    let computed = p.run_once(id).await.unwrap();
    assert!(matches!(computed, Outcome::Computed { .. }), "{computed:?}");
    drop(p); // after compute
    let p = restart().await;
    let signed = p.run_once(id).await.unwrap();
    let Outcome::Signed { tx_hash, .. } = &signed else {
        panic!("{signed:?}")
    };
    let onboarding_tx = tx_hash.clone();
    assert_eq!(net.nonce(acme.address).await, 0, "recorded, not sent");
    drop(p); // after sign, before send
    let p = restart().await;
    let sent = p.run_once(id).await.unwrap();
    assert_eq!(tx_of(&sent), Some(onboarding_tx.as_str()), "{sent:?}");
    drop(p); // after send
    let p = restart().await;
    let confirmed = p.run_once(id).await.unwrap();
    assert!(
        matches!(confirmed, Outcome::Confirmed { credentials: 0, .. }),
        "{confirmed:?}"
    );
    let onboarding = issuing.store.published_state(id).await.unwrap().unwrap();
    assert_eq!(onboarding.tx_hash, onboarding_tx);

    // The credentials' transition, then a third credential and a revocation in one more.
    assert_kinds(
        &settle(&p, &acme).await,
        &["computed", "signed", "sent", "confirmed", "idle"],
    );
    let both = [alice.clone(), bob.clone()];
    wait_onchain(&issuing, &both, std::time::Duration::ZERO).await;
    let carol = issuing.issue(&acme, "carol@example.com", 50).await;
    // Alice again: her first credential is revoked (onDuplicate: revoke).
    let alice2 = issuing.issue(&acme, "alice@example.com", 31).await;
    assert_eq!(
        issuing.credential(&alice).await.status,
        CredentialStatus::WaitRemove
    );
    drop(p);
    let p = restart().await;
    let steps = settle(&p, &acme).await;
    assert_kinds(&steps, &["computed", "signed", "sent", "confirmed", "idle"]);
    assert!(
        matches!(steps[3], Outcome::Confirmed { credentials: 3, .. }),
        "two claims, one revocation: {steps:?}"
    );
    assert_eq!(
        issuing.credential(&alice).await.status,
        CredentialStatus::Remove
    );
    for c in [&bob, &carol, &alice2] {
        assert_eq!(
            issuing.credential(c).await.status,
            CredentialStatus::Onchain
        );
    }

    let all = [alice, bob, carol, alice2];
    let confirmed = check_published(&net, &issuing, &acme, &all).await;
    assert_eq!(confirmed, 3, "onboarding + two batches");
    let history = issuing.store.transitions(id, 10).await.unwrap();
    assert!(history
        .iter()
        .all(|t| t.status == TransitionStatus::Confirmed && t.txs.len() == 1));
    // A restarted publisher finds nothing to do.
    let p = restart().await;
    assert_kinds(&settle(&p, &acme).await, &["idle"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_publish_revoke_with_restarts_on_sqlite() {
    issue_publish_revoke_with_restarts(Backend::Sqlite, Net::start().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_publish_revoke_with_restarts_on_postgres() {
    issue_publish_revoke_with_restarts(Backend::Postgres, Net::start().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_publish_revoke_with_restarts_on_the_embedded_chain() {
    issue_publish_revoke_with_restarts(Backend::Sqlite, Net::embedded().await).await
}
