//! Finality: credentials become `ONCHAIN` only once their transition's block is at or below
//! the chain's `finalized` block (anvil with `--slots-in-an-epoch 1`: finalized = head − 2),
//! and a reorg that drops the mined transaction before then makes the publisher send it again.
//! A chain without the tag falls back to depth; a receipt whose block is no longer canonical
//! is not confirmed.

use crate::common::*;
use alloy_primitives::{Address, Bytes, TxHash, B256, U256};
use async_trait::async_trait;
use claimd_chain::{CallRequest, Chain, ChainLog, FeeSuggestion, LogFilter, NonceKind, Receipt};
use claimd_clock::ManualClock;
use claimd_core::credential::CredentialStatus;
use claimd_publisher::{Finality, Funding, Outcome, Publisher, PublisherConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Anvil finalizes two blocks behind its head with one slot per epoch.
const ONE_SLOT_EPOCHS: &[&str] = &["--slots-in-an-epoch", "1"];

/// Settings of these tests: pre-funded issuers (a dev top-up would add blocks of its own), a
/// clock that stands still (nothing is ever old enough to be replaced: a lost transaction
/// can only come back through a resend).
fn finality_config(finality: Finality, confirmations: u64) -> PublisherConfig {
    let mut cfg = config("one");
    cfg.funding = Funding::Off;
    cfg.finality = finality;
    cfg.confirmations = confirmations;
    cfg.clock = {
        use chrono::SubsecRound as _;
        ManualClock::at(chrono::Utc::now().trunc_subsecs(0)).shared()
    };
    cfg
}

/// The receipt of `tx` once anvil's automine has mined it (it mines right after accepting).
async fn mined(net: &Net, tx: &str) -> Receipt {
    claimd_chain::wait_for_receipt(
        net.chain.as_ref(),
        tx.parse().unwrap(),
        Duration::from_secs(10),
        Duration::from_millis(10),
    )
    .await
    .unwrap()
}

async fn head(net: &Net) -> u64 {
    net.chain.block_number().await.unwrap()
}

async fn step(p: &Publisher, issuer: &TestIssuer) -> Outcome {
    p.run_once(issuer.issuer.issuer_id).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_before_finality_resends_the_transition_and_confirms_it_once_finalized() {
    let net = Net::start_with(ONE_SLOT_EPOCHS).await;
    let (_db, master_key, issuing) = issuing_on(Backend::Sqlite).await;
    let acme = issuing.issuer("acme").await;
    net.fund(acme.address).await;
    let publisher = net
        .publisher(
            issuing.store.clone(),
            &master_key,
            finality_config(Finality::Finalized, 0),
        )
        .await;

    // Onboarding: mined at once (automine), confirmed only two blocks later.
    let steps = settle(&publisher, &acme).await;
    assert_kinds(&steps, &["computed", "signed", "sent", "waiting"]);
    mined(&net, tx_of(&steps[1]).unwrap()).await;
    net.mine().await;
    assert_kinds(&[step(&publisher, &acme).await], &["waiting"]);
    net.mine().await;
    assert_kinds(&settle(&publisher, &acme).await, &["confirmed", "idle"]);

    let alice = issuing.issue(&acme, "alice@example.com", 30).await;
    let signed = [step(&publisher, &acme).await, step(&publisher, &acme).await];
    assert_kinds(&signed, &["computed", "signed"]);
    let tx: TxHash = tx_of(&signed[1]).unwrap().parse().unwrap();
    let nonce = net.nonce(acme.address).await;

    // The chain as it is before the transaction: the reorg goes back here.
    let snapshot = net.anvil_rpc("evm_snapshot", serde_json::json!([])).await;
    assert_kinds(&[step(&publisher, &acme).await], &["sent"]);
    let first = mined(&net, &format!("{tx}")).await;
    assert!(first.status);
    net.mine().await;
    // One block deep, above the finalized block: mined but not confirmed.
    assert_eq!(head(&net).await, first.block_number + 1);
    assert_kinds(&[step(&publisher, &acme).await], &["waiting"]);
    assert_eq!(
        issuing.credential(&alice).await.status,
        CredentialStatus::WaitOnchain
    );

    // The reorg: the blocks since the snapshot, and the transaction with them, are gone; the
    // new chain grows past the old height without it.
    let reverted = net
        .anvil_rpc("evm_revert", serde_json::json!([snapshot]))
        .await;
    assert_eq!(reverted, serde_json::json!(true));
    assert_eq!(net.chain.receipt(tx).await.unwrap(), None);
    assert_eq!(net.nonce(acme.address).await, nonce, "the nonce fell back");
    for _ in 0..3 {
        net.mine().await;
    }
    assert!(head(&net).await > first.block_number);
    assert_eq!(net.chain.receipt(tx).await.unwrap(), None);

    // The publisher sends the recorded transaction again; it is mined in a new block.
    let resent = step(&publisher, &acme).await;
    assert_eq!(tx_of(&resent), Some(format!("{tx}").as_str()), "{resent:?}");
    assert!(matches!(resent, Outcome::Sent { .. }), "{resent:?}");
    let remined = mined(&net, &format!("{tx}")).await;
    assert!(remined.status);
    assert!(remined.block_number > first.block_number);
    assert_ne!(remined.block_hash, first.block_hash);

    // Confirmed exactly when its new block is finalized (head − 2), not before.
    assert_kinds(&[step(&publisher, &acme).await], &["waiting"]);
    net.mine().await;
    assert_kinds(&[step(&publisher, &acme).await], &["waiting"]);
    assert_eq!(
        issuing.credential(&alice).await.status,
        CredentialStatus::WaitOnchain
    );
    net.mine().await;
    let finalized = net.chain.finalized_block().await.unwrap();
    assert_eq!(finalized, Some(remined.block_number));
    let confirmed = step(&publisher, &acme).await;
    let Outcome::Confirmed {
        block_number,
        credentials,
        ..
    } = confirmed
    else {
        panic!("{confirmed:?}")
    };
    assert_eq!((block_number, credentials), (remined.block_number, 1));
    assert_kinds(&settle(&publisher, &acme).await, &["idle"]);

    let c = issuing.credential(&alice).await;
    assert_eq!(c.status, CredentialStatus::Onchain);
    assert_eq!(c.tx_hash.as_deref(), Some(format!("{tx}").as_str()));
    // Two transitions, each on chain exactly once, no transaction wasted.
    assert_eq!(check_published(&net, &issuing, &acme, &[alice]).await, 2);
}

/// A chain seen through a lens: without a finalized tag, or with receipts that name a block
/// hash the chain no longer has at that height (as if read just before a reorg).
#[derive(Debug)]
struct Lens {
    inner: Arc<dyn Chain>,
    without_finalized_tag: bool,
    stale_receipts: AtomicBool,
}

impl Lens {
    fn new(inner: Arc<dyn Chain>, without_finalized_tag: bool) -> Arc<Lens> {
        Arc::new(Lens {
            inner,
            without_finalized_tag,
            stale_receipts: AtomicBool::new(false),
        })
    }
}

#[async_trait]
impl Chain for Lens {
    async fn chain_id(&self) -> claimd_chain::Result<u64> {
        self.inner.chain_id().await
    }
    async fn block_number(&self) -> claimd_chain::Result<u64> {
        self.inner.block_number().await
    }
    async fn finalized_block(&self) -> claimd_chain::Result<Option<u64>> {
        if self.without_finalized_tag {
            return Ok(None);
        }
        self.inner.finalized_block().await
    }
    async fn block_hash(&self, number: u64) -> claimd_chain::Result<Option<B256>> {
        self.inner.block_hash(number).await
    }
    async fn nonce(&self, address: Address, kind: NonceKind) -> claimd_chain::Result<u64> {
        self.inner.nonce(address, kind).await
    }
    async fn balance(&self, address: Address) -> claimd_chain::Result<U256> {
        self.inner.balance(address).await
    }
    async fn code(&self, address: Address) -> claimd_chain::Result<Bytes> {
        self.inner.code(address).await
    }
    async fn fees(&self) -> claimd_chain::Result<FeeSuggestion> {
        self.inner.fees().await
    }
    async fn estimate_gas(&self, request: &CallRequest) -> claimd_chain::Result<u64> {
        self.inner.estimate_gas(request).await
    }
    async fn call(&self, request: &CallRequest) -> claimd_chain::Result<Bytes> {
        self.inner.call(request).await
    }
    async fn send_raw(&self, raw: Bytes) -> claimd_chain::Result<TxHash> {
        self.inner.send_raw(raw).await
    }
    async fn receipt(&self, hash: TxHash) -> claimd_chain::Result<Option<Receipt>> {
        let mut r = self.inner.receipt(hash).await?;
        if self.stale_receipts.load(Ordering::SeqCst) {
            if let Some(r) = &mut r {
                r.block_hash = Some(B256::repeat_byte(0xee));
            }
        }
        Ok(r)
    }
    async fn logs(&self, filter: &LogFilter) -> claimd_chain::Result<Vec<ChainLog>> {
        self.inner.logs(filter).await
    }
}

/// Acme's first credential, published through `lens` until its transaction is sent and waits
/// for its block: where both lens tests start. Holds the database for as long as it lives.
struct Sent {
    _db: Db,
    publisher: Publisher,
    acme: TestIssuer,
    tx: String,
}

async fn sent_through(net: &Net, lens: &Arc<Lens>, config: PublisherConfig) -> Sent {
    let (db, master_key, issuing) = issuing_on(Backend::Sqlite).await;
    let acme = issuing.issuer("acme").await;
    net.fund(acme.address).await;
    let publisher = net
        .publisher_via(lens.clone(), issuing.store.clone(), &master_key, config)
        .await;
    let steps = settle(&publisher, &acme).await;
    assert_kinds(&steps, &["computed", "signed", "sent", "waiting"]);
    let tx = tx_of(&steps[1]).unwrap().to_owned();
    Sent {
        _db: db,
        publisher,
        acme,
        tx,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_finalized_tag_the_confirmation_depth_decides() {
    // Default anvil: its finalized block is 64 behind the head, i.e. block 0 here; the lens
    // hides the tag, so only the depth can confirm anything.
    let net = Net::start().await;
    let lens = Lens::new(net.chain.clone(), true);
    assert_eq!(lens.finalized_block().await.unwrap(), None);
    let sent = sent_through(&net, &lens, finality_config(Finality::Finalized, 2)).await;
    let (publisher, acme) = (&sent.publisher, &sent.acme);
    let block = mined(&net, &sent.tx).await.block_number;
    net.mine().await;
    assert_kinds(&[step(publisher, acme).await], &["waiting"]);
    net.mine().await;
    // Two blocks on top of it: confirmed, although the chain's real finalized block is 0.
    assert_eq!(net.chain.finalized_block().await.unwrap(), Some(0));
    let confirmed = step(publisher, acme).await;
    assert!(
        matches!(confirmed, Outcome::Confirmed { block_number, .. } if block_number == block),
        "{confirmed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_from_a_block_no_longer_canonical_is_not_confirmed() {
    let net = Net::start().await;
    let lens = Lens::new(net.chain.clone(), false);
    let sent = sent_through(&net, &lens, finality_config(Finality::Depth, 1)).await;
    let (publisher, acme) = (&sent.publisher, &sent.acme);
    mined(&net, &sent.tx).await;
    net.mine().await;
    // Deep enough, but the receipt names a block the chain does not have at that height.
    lens.stale_receipts.store(true, Ordering::SeqCst);
    assert_kinds(&[step(publisher, acme).await], &["waiting"]);
    assert_kinds(&[step(publisher, acme).await], &["waiting"]);
    // Read again from the canonical chain, it confirms.
    lens.stale_receipts.store(false, Ordering::SeqCst);
    assert_kinds(&settle(publisher, acme).await, &["confirmed", "idle"]);
}
