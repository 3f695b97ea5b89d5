//! Stuck transactions on anvil with automining off: replaced with the same nonce and higher
//! fees, and confirmed with whichever attempt gets mined.
//!
//! The publisher's clock is a `ManualClock`: "waited long enough to be replaced" is a clock
//! advance, not a sleep, so the real default (60 s) is used and the boundary is exact.

use crate::common::*;
use claimd_chain::TxParams;
use claimd_clock::ManualClock;
use claimd_core::credential::CredentialStatus;
use claimd_core::store::{InFlightTransition, TransitionStatus};
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

/// A credential's transition computed, signed and sent while nothing is mined: `acme`
/// onboarded (confirmed) by a publisher that replaces after `replace_after`, then one
/// credential issued with automining off.
struct Sent {
    net: Net,
    // Kept for the test's life: the store lives in it.
    _db: Db,
    master_key: claimd_core::secrets::MasterKey,
    issuing: Issuing,
    acme: TestIssuer,
    id: claimd_core::IssuerId,
    clock: ManualClock,
    publisher: Publisher,
    credential: String,
    /// The hash of the attempt that was sent.
    first: String,
}

impl Sent {
    /// Automining back on, the credential's claim is proven against the state on chain.
    async fn resume_mining_and_check_published(&self) {
        self.net.set_automine(true).await;
        check_published(
            &self.net,
            &self.issuing,
            &self.acme,
            std::slice::from_ref(&self.credential),
        )
        .await;
    }
}

/// The issuer's transition in flight, which every step of these tests has.
async fn in_flight(issuing: &Issuing, id: claimd_core::IssuerId) -> InFlightTransition {
    issuing
        .store
        .in_flight_transition(id)
        .await
        .unwrap()
        .expect("a transition in flight")
}

async fn sent_while_not_mining(replace_after: Duration) -> Sent {
    let net = Net::start().await;
    let (db, master_key, issuing) = issuing_on(Backend::Sqlite).await;
    let (acme, id, clock, mut cfg) = funded_acme(&net, &issuing).await;
    cfg.replace_after = replace_after;
    cfg.clock = clock.shared();
    let publisher = net.publisher(issuing.store.clone(), &master_key, cfg).await;
    assert!(settle(&publisher, &acme).await.iter().any(is_confirmed));

    let credential = issuing.issue(&acme, "alice@example.com", 30).await;
    net.set_automine(false).await;
    let steps = expect_steps(&publisher, id, &["computed", "signed", "sent"]).await;
    let first = tx_of(&steps[1]).unwrap().to_owned();
    Sent {
        net,
        _db: db,
        master_key,
        issuing,
        acme,
        id,
        clock,
        publisher,
        credential,
        first,
    }
}

/// A transition sent while nothing is mined ([`sent_while_not_mining`]), then replaced once it
/// waited `REPLACE_AFTER`: the sent state and the replacement's hash.
async fn stuck_then_replaced() -> (Sent, String) {
    let s = sent_while_not_mining(REPLACE_AFTER).await;
    let id = s.id;
    // Not mined, not yet due for replacement: the pool has it, nothing is sent again.
    expect_steps(&s.publisher, id, &["waiting", "waiting"]).await;
    s.clock.advance(REPLACE_AFTER - Duration::from_millis(1));
    assert_kinds(&[s.publisher.run_once(id).await.unwrap()], &["waiting"]);

    s.clock.advance(Duration::from_millis(1));
    let replaced = s.publisher.run_once(id).await.unwrap();
    let Outcome::Replaced { tx_hash, .. } = &replaced else {
        panic!("{replaced:?}")
    };
    let second = tx_hash.clone();
    assert_ne!(s.first, second);

    // Both attempts recorded, same nonce, fees up by at least 12.5%.
    let flight = in_flight(&s.issuing, id).await;
    let hashes: Vec<_> = flight.txs.iter().map(|t| t.tx_hash.clone()).collect();
    assert_eq!(hashes, vec![s.first.clone(), second.clone()]);
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
    let pool: serde_json::Value = s
        .net
        .anvil_rpc("eth_getTransactionByHash", serde_json::json!([second]))
        .await;
    assert!(!pool.is_null(), "the replacement is in the pool");
    let gone: serde_json::Value = s
        .net
        .anvil_rpc("eth_getTransactionByHash", serde_json::json!([s.first]))
        .await;
    assert!(gone.is_null(), "the first left the pool: {gone}");
    (s, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_transaction_is_replaced_and_the_mined_replacement_confirms() {
    let replacements = metric_sum(names::REPLACEMENTS, None);
    let (s, second) = stuck_then_replaced().await;
    let id = s.acme.issuer.issuer_id;

    s.net.mine().await;
    let steps = settle(&s.publisher, &s.acme).await;
    assert_kinds(&steps, &["confirmed", "idle"]);
    let history = s.issuing.store.transitions(id, 1).await.unwrap();
    assert_eq!(history[0].status, TransitionStatus::Confirmed);
    assert_eq!(history[0].confirmation.as_ref().unwrap().tx_hash, second);
    let c = s.issuing.credential(&s.credential).await;
    assert_eq!(c.status, CredentialStatus::Onchain);
    assert_eq!(c.tx_hash.as_deref(), Some(second.as_str()));
    assert!(s
        .net
        .chain
        .receipt(s.first.parse().unwrap())
        .await
        .unwrap()
        .is_none());
    s.resume_mining_and_check_published().await;
    assert!(metric_sum(names::REPLACEMENTS, None) >= replacements + 1.0);
    assert!(metric_sum(names::TRANSITIONS_CONFIRMED, None) >= 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_mined_after_its_replacement_was_recorded_confirms() {
    let (s, second) = stuck_then_replaced().await;
    let id = s.acme.issuer.issuer_id;

    // The first attempt wins after all (as when another node had it): the pool drops the
    // replacement, the first is broadcast again and mined.
    s.net
        .anvil_rpc("anvil_dropTransaction", serde_json::json!([second]))
        .await;
    let raw = in_flight(&s.issuing, id).await.txs[0].raw.clone();
    s.net.chain.send_raw(raw.into()).await.unwrap();
    s.net.mine().await;

    let steps = settle(&s.publisher, &s.acme).await;
    assert_kinds(&steps, &["confirmed", "idle"]);
    let history = s.issuing.store.transitions(id, 1).await.unwrap();
    assert_eq!(history[0].txs.len(), 2, "no third attempt");
    assert_eq!(history[0].confirmation.as_ref().unwrap().tx_hash, s.first);
    let c = s.issuing.credential(&s.credential).await;
    assert_eq!(c.tx_hash.as_deref(), Some(s.first.as_str()));
    s.resume_mining_and_check_published().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacements_stop_at_the_fee_ceiling() {
    let net = Net::start().await;
    let (_db, master_key, issuing) = issuing_on(Backend::Sqlite).await;
    let (acme, id, clock, mut cfg) = funded_acme(&net, &issuing).await;
    cfg.clock = clock.shared();
    let fees = net.chain.fees().await.unwrap();
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
    let flight = in_flight(&issuing, id).await;
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
    let s = sent_while_not_mining(cfg_replace_after()).await;
    let id = s.id;
    let ours = in_flight(&s.issuing, id).await;
    let params = TxParams::of_raw(&ours.txs[0].raw).unwrap();

    // The same key, the same nonce, ten times the fees.
    let sealed = s.issuing.store.issuer_keys(id).await.unwrap().unwrap();
    let key = s
        .master_key
        .open(&claimd_core::operator::eth_key_label(id), &sealed.eth_key)
        .unwrap();
    let key = alloy_primitives::B256::from_slice(&key);
    let hand = claimd_chain::TxSigner::from_private_key(&key, CHAIN_ID).unwrap();
    let foreign = hand
        .sign_transfer(
            s.acme.address,
            alloy_primitives::U256::ZERO,
            TxParams {
                gas_limit: claimd_chain::TRANSFER_GAS_LIMIT,
                max_fee_per_gas: params.max_fee_per_gas * 10,
                max_priority_fee_per_gas: params.max_priority_fee_per_gas * 10,
                ..params
            },
        )
        .unwrap();
    s.net.chain.send_raw(foreign.raw.clone()).await.unwrap();

    s.clock.advance(cfg_replace_after());
    let o = s.publisher.run_once(id).await.unwrap();
    assert!(matches!(o, Outcome::Waiting { .. }), "{o:?}");
    let flight = in_flight(&s.issuing, id).await;
    assert!(flight.txs.len() > 2, "raised again after each refusal");
    let fees: Vec<u128> = flight
        .txs
        .iter()
        .map(|t| TxParams::of_raw(&t.raw).unwrap().max_fee_per_gas)
        .collect();
    assert!(fees.windows(2).all(|w| w[1] > w[0]), "{fees:?}");
    assert!(metric_sum(names::CHAIN_ERRORS, Some("replacement_underpriced")) > underpriced);

    // The other transaction is mined: our nonce is gone.
    s.net.mine().await;
    assert!(s
        .net
        .chain
        .receipt(foreign.hash)
        .await
        .unwrap()
        .is_some_and(|r| r.status));
    s.net.set_automine(true).await;
    let steps = settle(&s.publisher, &s.acme).await;
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
    let history = s.issuing.store.transitions(id, 10).await.unwrap();
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
        s.issuing.credential(&s.credential).await.status,
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
