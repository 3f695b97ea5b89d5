//! The chain's RPC unreachable for 30 s while work keeps arriving: publishing resumes by
//! itself once it is back, nothing is lost, abandoned or published twice.

use crate::common::*;
use claimd_chain::{Chain, JsonRpcChain};
use claimd_core::credential::CredentialStatus;
use claimd_core::store::TransitionStatus;
use claimd_publisher::metrics as names;
use std::sync::Arc;
use std::time::Duration;

const OUTAGE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_survives_a_30_second_rpc_outage() {
    let transport_errors = metric_sum(names::CHAIN_ERRORS, Some("transport"));
    let net = Net::start().await;
    let proxy = Proxy::start(net.anvil_url()).await;
    let (_db, master_key, issuing) = issuing_on(Backend::Sqlite).await;
    let acme = issuing.issuer("acme").await;
    let globex = issuing.issuer("globex").await;

    // The publisher reaches anvil only through the proxy.
    let via_proxy: Arc<dyn Chain> =
        Arc::new(JsonRpcChain::new(&proxy.url, Duration::from_secs(5)).unwrap());
    let publisher = Arc::new(
        net.publisher_via(via_proxy, issuing.store.clone(), &master_key, config("one"))
            .await,
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn({
        let p = publisher.clone();
        async move { p.run(stopped).await }
    });

    let mut issued = Vec::new();
    for (i, to) in [&acme, &globex].into_iter().enumerate() {
        issued.push(
            issuing
                .issue(to, &format!("before{i}@example.com"), 20)
                .await,
        );
    }
    wait_onchain(&issuing, &issued, Duration::from_secs(60)).await;

    // Cut: work keeps arriving, at the start, in the middle and near the end of the outage.
    proxy.cut();
    let mut during = Vec::new();
    for round in 0..3 {
        for (i, to) in [&acme, &globex].into_iter().enumerate() {
            during.push(
                issuing
                    .issue(to, &format!("during{round}-{i}@example.com"), 30)
                    .await,
            );
        }
        tokio::time::sleep(OUTAGE / 3).await;
    }
    // Nothing can have been published, and nothing was given up.
    for h in &during {
        assert_eq!(
            issuing.credential(h).await.status,
            CredentialStatus::WaitOnchain
        );
    }
    for to in [&acme, &globex] {
        let history = issuing.transitions(to).await;
        assert!(
            history
                .iter()
                .all(|t| t.status != TransitionStatus::Abandoned),
            "abandoned during the outage: {history:?}"
        );
    }
    assert!(metric_sum(names::CHAIN_ERRORS, Some("transport")) > transport_errors);

    proxy.restore();
    wait_onchain(&issuing, &during, Duration::from_secs(60)).await;
    let _ = stop.send(true);
    running.await.unwrap();

    for (to, name) in [(&acme, "acme"), (&globex, "globex")] {
        let history = issuing.transitions(to).await;
        assert!(
            history
                .iter()
                .all(|t| t.status == TransitionStatus::Confirmed),
            "{name}: {history:?}"
        );
        let mine: Vec<String> = {
            let mut v = Vec::new();
            for h in issued.iter().chain(&during) {
                if issuing.credential(h).await.issuer_id == to.issuer.issuer_id {
                    v.push(h.clone());
                }
            }
            v
        };
        assert_eq!(mine.len(), 4);
        check_published(&net, &issuing, to, &mine).await;
    }
}
