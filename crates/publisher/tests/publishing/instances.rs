//! Two publisher instances on one PostgreSQL database and one chain: each issuer is
//! published by one of them at a time, every transition exactly once, no doomed double
//! sends; an issuer that cannot pay holds nobody else back; when an instance dies the other
//! takes its issuers over.

use crate::common::*;
use claimd_core::credential::CredentialStatus;
use claimd_core::store::TransitionStatus;
use claimd_publisher::{Funding, Publisher};
use std::sync::Arc;
use std::time::Duration;

async fn spawn(
    p: Publisher,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move { p.run(stopped).await });
    (stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_publish_each_transition_exactly_once() {
    let net = Net::start().await;
    let (db, master_key, issuing) = issuing_on(Backend::Postgres).await;
    let mut issuers = Vec::new();
    for name in ["acme", "globex", "initech", "umbrella"] {
        let i = issuing.issuer(name).await;
        net.fund(i.address).await;
        issuers.push(i);
    }
    // This one has no funds: its transactions cannot be sent.
    let poor = issuing.issuer("poor").await;

    let instance = |owner: &'static str| {
        let mut c = config(owner);
        // Funding from one dev key by two instances would race on its nonce: funded above.
        c.funding = Funding::Off;
        c.lease_ttl = Duration::from_secs(2);
        c
    };
    // Each instance has its own connection pool, as separate processes would.
    let a = net
        .publisher(db.open().await, &master_key, instance("instance-a"))
        .await;
    let b = net
        .publisher(db.open().await, &master_key, instance("instance-b"))
        .await;
    let (stop_a, task_a) = spawn(a).await;
    let (stop_b, task_b) = spawn(b).await;

    // Work arrives in waves, on every issuer.
    let mut credentials: Vec<(usize, String)> = Vec::new();
    for wave in 0..3 {
        for (n, i) in issuers.iter().enumerate() {
            for k in 0..2 {
                let email = format!("w{wave}-{k}@{n}.example.com");
                credentials.push((n, issuing.issue(i, &email, 18 + wave).await));
            }
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let stuck = issuing.issue(&poor, "someone@example.com", 99).await;
    let hashes: Vec<String> = credentials.iter().map(|(_, h)| h.clone()).collect();
    wait_onchain(&issuing, &hashes, Duration::from_secs(90)).await;
    assert_eq!(
        issuing.credential(&stuck).await.status,
        CredentialStatus::WaitOnchain,
        "nobody can pay for it"
    );

    // Instance A dies; B takes over its issuers once the leases expire, and the poor issuer
    // publishes once funded.
    let _ = stop_a.send(true);
    task_a.await.unwrap();
    let late: Vec<(usize, String)> = {
        let mut v = Vec::new();
        for (n, i) in issuers.iter().enumerate() {
            v.push((
                n,
                issuing.issue(i, &format!("late@{n}.example.com"), 70).await,
            ));
        }
        v
    };
    net.fund(poor.address).await;
    let mut all: Vec<String> = late.iter().map(|(_, h)| h.clone()).collect();
    all.push(stuck.clone());
    wait_onchain(&issuing, &all, Duration::from_secs(90)).await;
    let _ = stop_b.send(true);
    task_b.await.unwrap();

    credentials.extend(late);
    for (n, i) in issuers.iter().enumerate() {
        let mine: Vec<String> = credentials
            .iter()
            .filter(|(m, _)| *m == n)
            .map(|(_, h)| h.clone())
            .collect();
        let history = issuing.transitions(i).await;
        assert!(
            history
                .iter()
                .all(|t| t.status == TransitionStatus::Confirmed && t.txs.len() == 1),
            "{}: {history:?}",
            i.issuer.name
        );
        check_published(&net, &issuing, i, &mine).await;
    }
    let history = issuing.transitions(&poor).await;
    assert!(history
        .iter()
        .all(|t| t.status == TransitionStatus::Confirmed));
    assert!(!history.is_empty());
    let _ = Arc::strong_count(&issuing.store);
}
