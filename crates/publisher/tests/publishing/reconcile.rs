//! Reconciliation: when the chain refuses a transition, the store is brought back in line
//! with the chain (never a wedged issuer), and a chain the store cannot explain stops the
//! issuer's publishing with a clear error instead of sending doomed transactions.

use crate::common::*;
use claimd_core::credential::CredentialStatus;
use claimd_core::secrets::MasterKey;
use claimd_core::store::Store;
use claimd_core::store::TransitionStatus;
use claimd_publisher::{metrics as names, Outcome, PublishError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A transition that reached the chain but that the store recorded as abandoned (as a
/// publisher would that misread a flaky node): the next transition, computed on the stale
/// base, is refused by the contract's simulation; the publisher adopts the abandoned one from
/// the chain, drops the stale one unsent, and publishes the remaining work on top.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transition_recorded_as_abandoned_but_on_chain_is_adopted() {
    abandoned_but_on_chain(Net::start().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transition_recorded_as_abandoned_but_on_the_embedded_chain_is_adopted() {
    abandoned_but_on_chain(Net::embedded().await).await
}

async fn abandoned_but_on_chain(net: Net) {
    let adopted = metric_sum(names::TRANSITIONS_ADOPTED, None);
    let (_db, master_key, issuing) = issuing_on(Backend::Sqlite).await;
    let acme = issuing.issuer("acme").await;
    let id = acme.issuer.issuer_id;
    let p = net
        .publisher(issuing.store.clone(), &master_key, net.config("one"))
        .await;
    assert!(settle(&p, &acme).await.iter().any(is_confirmed));

    let first = issuing.issue(&acme, "alice@example.com", 30).await;
    let steps = expect_steps(&p, id, &["computed", "signed", "sent"]).await;
    let mined = tx_of(&steps[1]).unwrap().to_owned();
    let Outcome::Computed { transition: lost } = steps[0] else {
        unreachable!()
    };
    // Mined (automine), but the store is told the chain refused it.
    issuing
        .store
        .abandon_transition(lost, "test: misread as refused")
        .await
        .unwrap();
    assert_eq!(
        issuing.credential(&first).await.status,
        CredentialStatus::WaitOnchain
    );
    let second = issuing.issue(&acme, "bob@example.com", 40).await;

    let steps = settle(&p, &acme).await;
    assert_kinds(
        &steps,
        &[
            "computed",
            "adopted",
            "computed",
            "signed",
            "sent",
            "confirmed",
            "idle",
        ],
    );
    let Outcome::Computed { transition: stale } = steps[0] else {
        unreachable!()
    };
    assert_eq!(
        steps[1],
        Outcome::Adopted {
            transition: lost,
            credentials: 1
        }
    );
    let c = issuing.credential(&first).await;
    assert_eq!(c.status, CredentialStatus::Onchain);
    assert_eq!(
        c.tx_hash.as_deref(),
        Some(mined.as_str()),
        "the mined transaction"
    );
    assert_eq!(
        issuing.credential(&second).await.status,
        CredentialStatus::Onchain
    );
    let history = issuing.store.transitions(id, 10).await.unwrap();
    let statuses: Vec<_> = history.iter().map(|t| (t.id, t.status)).collect();
    assert_eq!(
        statuses[1..3],
        [
            (stale, TransitionStatus::Abandoned),
            (lost, TransitionStatus::Confirmed)
        ]
    );
    assert!(
        history[1].txs.is_empty(),
        "the stale transition was never signed"
    );
    assert_eq!(history[0].status, TransitionStatus::Confirmed);
    check_published(&net, &issuing, &acme, &[first, second]).await;
    assert!(metric_sum(names::TRANSITIONS_ADOPTED, None) >= adopted + 1.0);
}

/// The database restored from backups: one taken while a transition was only computed (it
/// then reached the chain) is reconciled by confirming that transition with the transaction
/// the chain recorded; one older than a transition the chain holds cannot be explained, so
/// the issuer stops with `Diverged` and sends nothing, however often it is stepped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_restored_from_a_backup_converges_or_stops_cleanly() {
    let db = Db::create(Backend::Sqlite).await;
    let net = Net::start().await;
    let master_key = MasterKey::generate();
    let (sqlite, store) = open_sqlite(&db).await;
    let issuing = Issuing::new(store.clone(), master_key.clone()).await;
    let (partner, schema) = (issuing.partner, issuing.schema.clone());
    let reopen =
        |store: Arc<dyn Store>| Issuing::reopen(store, master_key.clone(), partner, schema.clone());
    let acme = issuing.issuer("acme").await;
    let id = acme.issuer.issuer_id;
    let p = net
        .publisher(store.clone(), &master_key, config("one"))
        .await;
    assert!(settle(&p, &acme).await.iter().any(is_confirmed));
    let first = issuing.issue(&acme, "alice@example.com", 30).await;
    assert_kinds(&[p.run_once(id).await.unwrap()], &["computed"]);

    // Backup #1: the transition computed, not signed.
    sqlite.close().await;
    let computed_backup = backup_file(&db.dir.path().join("claimd.db"));
    let (sqlite, store) = open_sqlite(&db).await;
    let issuing = reopen(store.clone());
    let p = net
        .publisher(store.clone(), &master_key, config("one"))
        .await;
    assert_kinds(
        &settle(&p, &acme).await,
        &["signed", "sent", "confirmed", "idle"],
    );
    let published = store.published_state(id).await.unwrap().unwrap();
    assert_eq!(
        issuing.credential(&first).await.status,
        CredentialStatus::Onchain
    );

    // Restore #1: the store believes the transition is still to be signed.
    sqlite.close().await;
    let (sqlite, store) = open_sqlite_at(&computed_backup).await;
    let issuing = reopen(store.clone());
    assert!(store.in_flight_transition(id).await.unwrap().is_some());
    let p = net
        .publisher(store.clone(), &master_key, config("one"))
        .await;
    let steps = settle(&p, &acme).await;
    assert_kinds(&steps, &["confirmed", "idle"]);
    let again = store.published_state(id).await.unwrap().unwrap();
    assert_eq!(again, published, "same state, transaction, block and time");
    assert_eq!(
        issuing.credential(&first).await.tx_hash,
        Some(published.tx_hash.clone())
    );
    check_published(&net, &issuing, &acme, std::slice::from_ref(&first)).await;

    // Backup #2 now; then one more transition reaches the chain; then restore #2.
    sqlite.close().await;
    let old_backup = backup_file(&computed_backup);
    let (sqlite, store) = open_sqlite_at(&computed_backup).await;
    let issuing = reopen(store.clone());
    let p = net
        .publisher(store.clone(), &master_key, config("one"))
        .await;
    issuing.issue(&acme, "bob@example.com", 40).await;
    assert!(settle(&p, &acme).await.iter().any(is_confirmed));
    sqlite.close().await;
    let (_sqlite, store) = open_sqlite_at(&old_backup).await;
    let issuing = reopen(store.clone());
    // Its error back-off runs on a clock the test moves.
    let clock = claimd_clock::ManualClock::new();
    let mut cfg = config("one");
    cfg.clock = clock.shared();
    let p = net.publisher(store.clone(), &master_key, cfg).await;

    // New work on the stale base: computed, then refused, then stopped.
    let carol = issuing.issue(&acme, "carol@example.com", 50).await;
    let nonce = net.nonce(acme.address).await;
    let before = metric_sum(names::STEP_ERRORS, Some("diverged"));
    assert_kinds(&[p.run_once(id).await.unwrap()], &["computed"]);
    for _ in 0..3 {
        match p.run_once(id).await {
            Err(PublishError::Diverged {
                chain, store: s, ..
            }) => {
                assert_ne!(chain, s);
                assert_eq!(s, again.roots.state.to_le_hex());
            }
            other => panic!("expected Diverged, got {other:?}"),
        }
    }
    assert_eq!(net.nonce(acme.address).await, nonce, "nothing sent");
    let flight = store.in_flight_transition(id).await.unwrap().unwrap();
    assert!(flight.txs.is_empty(), "nothing signed");
    assert_eq!(
        issuing.credential(&carol).await.status,
        CredentialStatus::WaitOnchain
    );

    // Run as a service, the error is counted and backed off, still without sending.
    let p = Arc::new(p);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn({
        let p = p.clone();
        async move { p.run(stopped).await }
    });
    let diverged = || metric_sum(names::STEP_ERRORS, Some("diverged"));
    wait_until("the first failed step", || diverged() > before).await;
    let failed = diverged();
    // Backed off: while the clock stands still the issuer is not stepped again, however many
    // rounds (100 ms apart) run.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(diverged(), failed, "retried within its back-off");
    // Past the longest back-off (1 s in the test config) it is tried again.
    clock.advance(Duration::from_secs(1));
    wait_until("a retry after the back-off", || diverged() > failed).await;
    let _ = stop.send(true);
    task.await.unwrap();
    assert_eq!(net.nonce(acme.address).await, nonce, "still nothing sent");
}

async fn open_sqlite(db: &Db) -> (claimd_store_sqlite::SqliteStore, Arc<dyn Store>) {
    open_url(&db.url).await
}

async fn open_sqlite_at(path: &Path) -> (claimd_store_sqlite::SqliteStore, Arc<dyn Store>) {
    open_url(&format!("sqlite://{}", path.display())).await
}

async fn open_url(url: &str) -> (claimd_store_sqlite::SqliteStore, Arc<dyn Store>) {
    let s = claimd_store_sqlite::SqliteStore::connect(url)
        .await
        .unwrap();
    s.migrate().await.unwrap();
    (s.clone(), Arc::new(s))
}

fn side_file(path: &Path, ext: &str) -> PathBuf {
    path.with_file_name(format!(
        "{}{ext}",
        path.file_name().unwrap().to_string_lossy()
    ))
}

/// Copies the (closed) SQLite database at `path` aside: a backup. Restoring one opens a store
/// on the copy (a fresh path), so connections of the closed store that sqlx is still shutting
/// down cannot write into it.
fn backup_file(path: &Path) -> PathBuf {
    wait_for_checkpoint(path);
    let copy = path.with_file_name(format!("backup-{}.db", uuid::Uuid::new_v4().simple()));
    std::fs::copy(path, &copy).unwrap();
    for ext in ["-wal", "-shm"] {
        if side_file(path, ext).exists() {
            std::fs::copy(side_file(path, ext), side_file(&copy, ext)).unwrap();
        }
    }
    copy
}

/// sqlx closes SQLite connections on their worker threads after `close()` returns; the last
/// one checkpoints the WAL into the main file and deletes it. Wait for that (2 s at most; a WAL
/// that stays is copied with the file).
fn wait_for_checkpoint(path: &Path) {
    for _ in 0..100 {
        if !side_file(path, "-wal").exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `done` every 20 ms for at most 10 s (the publisher's round is a real task).
async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
