//! Stuck transactions on anvil with automining off: replaced with the same nonce and higher
//! fees, and confirmed with whichever attempt gets mined.
//!
//! The publisher's clock is a `ManualClock`: "waited long enough to be replaced" is a clock
//! advance, not a sleep, so the real default (60 s) is used and the boundary is exact.

use crate::common::*;
use claimd_chain::TxParams;
use claimd_clock::ManualClock;
use claimd_core::credential::CredentialStatus;
use claimd_core::store::TransitionStatus;
use claimd_publisher::{metrics as names, Outcome, Publisher, PublisherConfig};
use std::time::Duration;

const REPLACE_AFTER: Duration = Duration::from_secs(60);

/// The issuer `acme`, funded up front (with mining paused a dev-mode top-up would never be
/// mined), and a publisher configuration on a manual clock with funding off.
async fn funded_acme(
    net: &Net,
    issuing: &Issuing,
) -> (
    TestIssuer,
    claimd_core::IssuerId,
    ManualClock,
    PublisherConfig,
) {
    let acme = issuing.issuer("acme").await;
    let id = acme.issuer.issuer_id;
    net.fund(acme.address).await;
    let clock = manual_clock();
    let mut cfg = config("one");
    cfg.funding = claimd_publisher::Funding::Off;
    (acme, id, clock, cfg)
}

struct Stuck {
    net: Net,
    // Kept for the test's life: the store lives in it.
    _db: Db,
    issuing: Issuing,
    acme: TestIssuer,
    publisher: Publisher,
    credential: String,
    first: String,
    second: String,
}

/// An onboarded issuer whose next transition is signed and sent while nothing is mined, then
/// replaced once it waited `REPLACE_AFTER`.
async fn stuck_then_replaced() -> Stuck {
    let net = Net::start().await;
    let (db, master_key, issuing) = issuing_on(Backend::Sqlite).await;
    let (acme, id, clock, mut cfg) = funded_acme(&net, &issuing).await;
    cfg.replace_after = REPLACE_AFTER;
    cfg.clock = clock.shared();
    let publisher = net.publisher(issuing.store.clone(), &master_key, cfg).await;
    assert!(settle(&publisher, &acme).await.iter().any(is_confirmed));

    let credential = issuing.issue(&acme, "alice@example.com", 30).await;
    net.set_automine(false).await;
    let steps = [
        publisher.run_once(id).await.unwrap(),
        publisher.run_once(id).await.unwrap(),
        publisher.run_once(id).await.unwrap(),
        publisher.run_once(id).await.unwrap(),
    ];
    assert_kinds(&steps, &["computed", "signed", "sent", "waiting"]);
    let first = tx_of(&steps[1]).unwrap().to_owned();
    // Not mined, not yet due for replacement: the pool has it, nothing is sent again.
    assert_kinds(&[publisher.run_once(id).await.unwrap()], &["waiting"]);
    clock.advance(REPLACE_AFTER - Duration::from_millis(1));
    assert_kinds(&[publisher.run_once(id).await.unwrap()], &["waiting"]);

    clock.advance(Duration::from_millis(1));
    let replaced = publisher.run_once(id).await.unwrap();
    let Outcome::Replaced { tx_hash, .. } = &replaced else {
        panic!("{replaced:?}")
    };
    let second = tx_hash.clone();
    assert_ne!(first, second);

    // Both attempts recorded, same nonce, fees up by at least 12.5%.
    let flight = issuing
        .store
        .in_flight_transition(id)
        .await
        .unwrap()
        .unwrap();
    let hashes: Vec<_> = flight.txs.iter().map(|t| t.tx_hash.clone()).collect();
    assert_eq!(hashes, vec![first.clone(), second.clone()]);
    let a = TxParams::of_raw(&flight.txs[0].raw).unwrap();
    let b = TxParams::of_raw(&flight.txs[1].raw).unwrap();
    assert_eq!(a.nonce, b.nonce);
    assert!(
        b.max_fee_per_gas * 1000 >= a.max_fee_per_gas * 1125,
        "{a:?} -> {b:?}"
    );
    assert!(
        b.max_priority_fee_per_gas * 1000 >= a.max_priority_fee_per_gas * 1125,
        "{a:?} -> {b:?}"
    );
    // The node replaced the first in its pool.
    let pool: serde_json::Value = net
        .anvil_rpc("eth_getTransactionByHash", serde_json::json!([second]))
        .await;
    assert!(!pool.is_null(), "the replacement is in the pool");
    let gone: serde_json::Value = net
        .anvil_rpc("eth_getTransactionByHash", serde_json::json!([first]))
        .await;
    assert!(gone.is_null(), "the first left the pool: {gone}");
    Stuck {
        net,
        _db: db,
        issuing,
        acme,
        publisher,
        credential,
        first,
        second,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_transaction_is_replaced_and_the_mined_replacement_confirms() {
    let replacements = metric_sum(names::REPLACEMENTS, None);
    let s = stuck_then_replaced().await;
    let id = s.acme.issuer.issuer_id;

    s.net.mine().await;
    let steps = settle(&s.publisher, &s.acme).await;
    assert_kinds(&steps, &["confirmed", "idle"]);
    let history = s.issuing.store.transitions(id, 1).await.unwrap();
    assert_eq!(history[0].status, TransitionStatus::Confirmed);
    assert_eq!(history[0].confirmation.as_ref().unwrap().tx_hash, s.second);
    let c = s.issuing.credential(&s.credential).await;
    assert_eq!(c.status, CredentialStatus::Onchain);
    assert_eq!(c.tx_hash.as_deref(), Some(s.second.as_str()));
    assert!(s
        .net
        .chain
        .receipt(s.first.parse().unwrap())
        .await
        .unwrap()
        .is_none());
    s.net.set_automine(true).await;
    check_published(
        &s.net,
        &s.issuing,
        &s.acme,
        std::slice::from_ref(&s.credential),
    )
    .await;
    assert!(metric_sum(names::REPLACEMENTS, None) >= replacements + 1.0);
    assert!(metric_sum(names::TRANSITIONS_CONFIRMED, None) >= 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_mined_after_its_replacement_was_recorded_confirms() {
    let s = stuck_then_replaced().await;
    let id = s.acme.issuer.issuer_id;

    // The first attempt wins after all (as when another node had it): the pool drops the
    // replacement, the first is broadcast again and mined.
    s.net
        .anvil_rpc("anvil_dropTransaction", serde_json::json!([s.second]))
        .await;
    let raw = s
        .issuing
        .store
        .in_flight_transition(id)
        .await
        .unwrap()
        .unwrap()
        .txs[0]
        .raw
        .clone();
    s.net.chain.send_raw(raw.into()).await.unwrap();
    s.net.mine().await;

    let steps = settle(&s.publisher, &s.acme).await;
    assert_kinds(&steps, &["confirmed", "idle"]);
    let history = s.issuing.store.transitions(id, 1).await.unwrap();
    assert_eq!(history[0].txs.len(), 2, "no third attempt");
    assert_eq!(history[0].confirmation.as_ref().unwrap().tx_hash, s.first);
    let c = s.issuing.credential(&s.credential).await;
    assert_eq!(c.tx_hash.as_deref(), Some(s.first.as_str()));
    s.net.set_automine(true).await;
    check_published(
        &s.net,
        &s.issuing,
        &s.acme,
        std::slice::from_ref(&s.credential),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacements_stop_at_the_fee_ceiling() {
    let net = Net::start().await;
    let (_db, master_key, issuing) = issuing_on(Backend::Sqlite).await;
    let acme = issuing.issuer("acme").await;
    let id = acme.issuer.issuer_id;
    net.fund(acme.address).await;
    let fees = net.chain.fees().await.unwrap();
    let clock = manual_clock();
    let mut cfg = config("one");
    cfg.funding = claimd_publisher::Funding::Off;
    cfg.clock = clock.shared();
    // Room for exactly one replacement.
    cfg.max_fee_per_gas = fees.max_fee_per_gas + fees.max_fee_per_gas / 5;
    let publisher = net.publisher(issuing.store.clone(), &master_key, cfg).await;
    net.set_automine(false).await;
    let ceiling = metric_sum(names::FEE_CEILING_REACHED, None);
    let mut replaced = 0;
    for _ in 0..12 {
        let o = publisher.run_once(id).await.unwrap();
        if matches!(o, Outcome::Replaced { .. }) {
            replaced += 1;
        }
        clock.advance(cfg_replace_after());
    }
    assert_eq!(replaced, 1);
    let flight = issuing
        .store
        .in_flight_transition(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(flight.txs.len(), 2);
    assert!(metric_sum(names::FEE_CEILING_REACHED, None) > ceiling);
    // Mined at last, the onboarding confirms with the replacement.
    net.mine().await;
    assert!(settle(&publisher, &acme).await.iter().any(is_confirmed));
    let published = issuing.store.published_state(id).await.unwrap().unwrap();
    assert_eq!(published.tx_hash, flight.txs[1].tx_hash);
}

/// Another transaction of the issuer's key takes the nonce with far higher fees (an operator
/// using the key by hand): replacements are refused as underpriced and raised again, and once
/// the other transaction is mined the transition is abandoned and its work signed afresh with
/// the next nonce.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_taken_by_another_transaction_is_reconciled() {
    let underpriced = metric_sum(names::CHAIN_ERRORS, Some("replacement_underpriced"));
    let net = Net::start().await;
    let (_db, master_key, issuing) = issuing_on(Backend::Sqlite).await;
    let (acme, id, clock, mut cfg) = funded_acme(&net, &issuing).await;
    cfg.clock = clock.shared();
    let publisher = net.publisher(issuing.store.clone(), &master_key, cfg).await;
    assert!(settle(&publisher, &acme).await.iter().any(is_confirmed));

    let credential = issuing.issue(&acme, "alice@example.com", 30).await;
    net.set_automine(false).await;
    let steps = [
        publisher.run_once(id).await.unwrap(),
        publisher.run_once(id).await.unwrap(),
        publisher.run_once(id).await.unwrap(),
    ];
    assert_kinds(&steps, &["computed", "signed", "sent"]);
    let ours = issuing
        .store
        .in_flight_transition(id)
        .await
        .unwrap()
        .unwrap();
    let params = TxParams::of_raw(&ours.txs[0].raw).unwrap();

    // The same key, the same nonce, ten times the fees.
    let sealed = issuing.store.issuer_keys(id).await.unwrap().unwrap();
    let key = master_key
        .open(&claimd_core::operator::eth_key_label(id), &sealed.eth_key)
        .unwrap();
    let key = alloy_primitives::B256::from_slice(&key);
    let hand = claimd_chain::TxSigner::from_private_key(&key, CHAIN_ID).unwrap();
    let foreign = hand
        .sign_transfer(
            acme.address,
            alloy_primitives::U256::ZERO,
            TxParams {
                gas_limit: claimd_chain::TRANSFER_GAS_LIMIT,
                max_fee_per_gas: params.max_fee_per_gas * 10,
                max_priority_fee_per_gas: params.max_priority_fee_per_gas * 10,
                ..params
            },
        )
        .unwrap();
    net.chain.send_raw(foreign.raw.clone()).await.unwrap();

    clock.advance(cfg_replace_after());
    let o = publisher.run_once(id).await.unwrap();
    assert!(matches!(o, Outcome::Waiting { .. }), "{o:?}");
    let flight = issuing
        .store
        .in_flight_transition(id)
        .await
        .unwrap()
        .unwrap();
    assert!(flight.txs.len() > 2, "raised again after each refusal");
    let fees: Vec<u128> = flight
        .txs
        .iter()
        .map(|t| TxParams::of_raw(&t.raw).unwrap().max_fee_per_gas)
        .collect();
    assert!(fees.windows(2).all(|w| w[1] > w[0]), "{fees:?}");
    assert!(metric_sum(names::CHAIN_ERRORS, Some("replacement_underpriced")) > underpriced);

    // The other transaction is mined: our nonce is gone.
    net.mine().await;
    assert!(net
        .chain
        .receipt(foreign.hash)
        .await
        .unwrap()
        .is_some_and(|r| r.status));
    net.set_automine(true).await;
    let steps = settle(&publisher, &acme).await;
    assert_kinds(
        &steps,
        &[
            "abandoned",
            "computed",
            "signed",
            "sent",
            "confirmed",
            "idle",
        ],
    );
    let history = issuing.store.transitions(id, 10).await.unwrap();
    assert_eq!(history[1].status, TransitionStatus::Abandoned);
    assert!(
        history[1].failure.as_deref().unwrap().contains("nonce"),
        "{:?}",
        history[1].failure
    );
    assert_eq!(
        TxParams::of_raw(&history[0].txs[0].raw).unwrap().nonce,
        params.nonce + 1
    );
    assert_eq!(
        issuing.credential(&credential).await.status,
        CredentialStatus::Onchain
    );
}

/// A clock at the current time, on a whole second: stored times (milliseconds) then equal
/// the clock's readings exactly, so a boundary one millisecond away is exact.
fn manual_clock() -> ManualClock {
    use chrono::SubsecRound as _;
    ManualClock::at(chrono::Utc::now().trunc_subsecs(0))
}

/// The default `replace_after` (60 s): the tests advance by it rather than shorten it.
fn cfg_replace_after() -> Duration {
    config("one").replace_after
}
