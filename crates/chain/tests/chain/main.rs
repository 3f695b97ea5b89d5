//! Behaviour of the chain layer on both backends: the embedded revm chain and anvil over
//! JSON-RPC. Every scenario runs on each; `cross_backend` checks that the same signed
//! transactions give the same results on both.

mod common;
mod cross_backend;
mod embedded_chain;
mod mempool;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use claimd_chain::*;
use common::*;

/// One backend under test, with the contract deployed and a funded dev signer.
pub struct Backend {
    pub chain: Arc<dyn Chain>,
    pub contract: StateContract,
    pub dev: TxSigner,
    pub kind: &'static str,
    _anvil: Option<Anvil>,
    _dir: Option<tempfile::TempDir>,
}

pub fn embedded_config() -> EmbeddedConfig {
    EmbeddedConfig {
        clock: BlockClock::Fixed { step: 12 },
        ..EmbeddedConfig::default()
    }
}

pub async fn embedded_backend() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let chain = EmbeddedChain::open(dir.path(), embedded_config()).unwrap();
    let dev = chain.dev_signer().clone();
    let address = chain.contract_address();
    let chain: Arc<dyn Chain> = Arc::new(chain);
    Backend {
        contract: StateContract::new(chain.clone(), address),
        chain,
        dev,
        kind: "embedded",
        _anvil: None,
        _dir: Some(dir),
    }
}

pub async fn anvil_backend() -> Backend {
    let anvil = tokio::task::spawn_blocking(Anvil::start).await.unwrap();
    let chain: Arc<dyn Chain> = Arc::new(anvil.chain());
    let dev = TxSigner::from_private_key(&claimd_chain::embedded::DEV_PRIVATE_KEY, 31_337).unwrap();
    let (address, receipt) = deploy_state_contract(chain.as_ref(), &dev).await.unwrap();
    assert!(receipt.status);
    Backend {
        contract: StateContract::new(chain.clone(), address),
        chain,
        dev,
        kind: "anvil",
        _anvil: Some(anvil),
        _dir: None,
    }
}

/// Signs `t` with `who`'s pending nonce and the suggested fees, sends it, waits for the receipt.
pub async fn send_transit(b: &Backend, who: &TxSigner, t: &Transition) -> Receipt {
    let nonce = b
        .chain
        .nonce(who.address(), NonceKind::Pending)
        .await
        .unwrap();
    let fees = b.chain.fees().await.unwrap();
    let tx = who
        .sign_transit(
            b.contract.address(),
            t,
            TxParams::new(nonce, DEFAULT_TRANSIT_GAS_LIMIT, fees),
        )
        .unwrap();
    let hash = b.chain.send_raw(tx.raw).await.unwrap();
    assert_eq!(hash, tx.hash);
    wait(b, hash).await
}

pub async fn wait(b: &Backend, hash: alloy::primitives::TxHash) -> Receipt {
    wait_for_receipt(
        b.chain.as_ref(),
        hash,
        Duration::from_secs(30),
        Duration::from_millis(10),
    )
    .await
    .unwrap()
}

/// A funded identity key and the iden3 ID its address controls.
pub async fn funded_identity(b: &Backend, n: u8) -> (TxSigner, U256) {
    let chain_id = b.chain.chain_id().await.unwrap();
    let owner = signer(n, chain_id);
    let r = transfer(b.chain.as_ref(), &b.dev, owner.address(), ether(1))
        .await
        .unwrap();
    assert!(r.status);
    (owner.clone(), eth_id(ID_TYPE, owner.address()))
}

macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod on_embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(&super::embedded_backend().await).await
                }
            )*
        }
        mod on_anvil {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(&super::anvil_backend().await).await
                }
            )*
        }
    };
}

on_both_backends!(
    genesis_then_second_transition_are_recorded,
    a_wrong_sender_is_refused_with_the_reason,
    a_stale_or_invalid_old_state_is_refused_with_the_reason,
    a_reused_nonce_is_a_typed_error,
    finalized_block_and_block_hashes,
);

async fn finalized_block_and_block_hashes(b: &Backend) {
    let (owner, id) = funded_identity(b, 6).await;
    let r = send_transit(b, &owner, &Transition::genesis(id, U256::from(7u64))).await;
    let head = b.chain.block_number().await.unwrap();
    let finalized = b.chain.finalized_block().await.unwrap();
    match b.kind {
        // Mines its own blocks, never reorganises: final at once.
        "embedded" => assert_eq!(finalized, Some(head)),
        // Two epochs of 32 slots behind the head, block 0 until there are that many.
        _ => assert_eq!(finalized, Some(head.saturating_sub(64)), "{}", b.kind),
    }
    // The canonical hash at a receipt's height is the receipt's block hash.
    assert!(r.block_hash.is_some());
    assert_eq!(
        b.chain.block_hash(r.block_number).await.unwrap(),
        r.block_hash,
        "{}",
        b.kind
    );
    assert_ne!(
        b.chain.block_hash(r.block_number - 1).await.unwrap(),
        r.block_hash
    );
    assert!(b.chain.block_hash(0).await.unwrap().is_some(), "{}", b.kind);
    assert_eq!(
        b.chain.block_hash(head + 1).await.unwrap(),
        None,
        "{}",
        b.kind
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anvil_finalizes_two_slots_behind_with_one_slot_epochs() {
    let anvil = tokio::task::spawn_blocking(|| Anvil::start_with(&["--slots-in-an-epoch", "1"]))
        .await
        .unwrap();
    let chain = anvil.chain();
    let provider = chain.provider().clone();
    for _ in 0..5 {
        use alloy::providers::Provider as _;
        provider
            .raw_request::<_, serde_json::Value>("evm_mine".into(), serde_json::json!([]))
            .await
            .unwrap();
    }
    let head = chain.block_number().await.unwrap();
    assert_eq!(head, 5);
    assert_eq!(chain.finalized_block().await.unwrap(), Some(head - 2));
}

async fn genesis_then_second_transition_are_recorded(b: &Backend) {
    assert!(b.contract.is_deployed().await.unwrap(), "{}", b.kind);
    let (owner, id) = funded_identity(b, 1).await;
    // The contract's ownership rule computes the same ID as iden3's.
    assert_eq!(
        b.contract.id_of_address(id, owner.address()).await.unwrap(),
        id
    );
    assert_eq!(b.contract.state_info(id).await.unwrap(), None);
    assert_eq!(b.contract.history_length(id).await.unwrap(), 0);
    assert!(!b.contract.id_exists(id).await.unwrap());

    // Genesis transition by the owner.
    let s1 = U256::from(0x1111u64);
    let t1 = Transition::genesis(id, s1);
    b.contract
        .simulate_transit(owner.address(), &t1)
        .await
        .unwrap();
    let estimate = b
        .contract
        .estimate_transit(owner.address(), &t1)
        .await
        .unwrap();
    let r1 = send_transit(b, &owner, &t1).await;
    assert!(r1.status, "{r1:?}");
    assert!(estimate >= r1.gas_used, "{estimate} < {}", r1.gas_used);
    assert_eq!(
        b.contract.state_updates(&r1).unwrap(),
        vec![
            StateUpdate {
                id,
                block_number: 0,
                timestamp: 0,
                state: U256::ZERO
            },
            StateUpdate {
                id,
                block_number: r1.block_number,
                timestamp: r1.timestamp,
                state: s1
            },
        ]
    );
    assert_eq!(
        b.contract.state_info(id).await.unwrap(),
        Some(StateInfo {
            id,
            state: s1,
            replaced_by_state: U256::ZERO,
            created_at_timestamp: r1.timestamp,
            replaced_at_timestamp: 0,
            created_at_block: r1.block_number,
            replaced_at_block: 0,
        })
    );
    assert!(b.contract.id_exists(id).await.unwrap());
    assert_eq!(b.contract.history_length(id).await.unwrap(), 2);

    // Second transition.
    let s2 = U256::from(0x2222u64);
    let r2 = send_transit(b, &owner, &Transition::next(id, s1, s2)).await;
    assert!(r2.status, "{r2:?}");
    assert!(r2.block_number > r1.block_number);
    let ups = b.contract.state_updates(&r2).unwrap();
    assert_eq!(
        ups,
        vec![StateUpdate {
            id,
            block_number: r2.block_number,
            timestamp: r2.timestamp,
            state: s2
        }]
    );
    let latest = b.contract.state_info(id).await.unwrap().unwrap();
    assert_eq!(
        (latest.state, latest.created_at_block),
        (s2, r2.block_number)
    );
    let first = b
        .contract
        .state_info_by_state(id, s1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.replaced_by_state, s2);
    assert_eq!(first.replaced_at_block, r2.block_number);
    assert_eq!(first.replaced_at_timestamp, r2.timestamp);
    assert_eq!(first.created_at_block, r1.block_number);
    let genesis = b
        .contract
        .state_info_by_state(id, U256::ZERO)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (genesis.created_at_block, genesis.replaced_by_state),
        (0, s1)
    );
    assert!(b.contract.state_exists(id, s1).await.unwrap());
    assert!(!b.contract.state_exists(id, U256::from(9u64)).await.unwrap());
    assert_eq!(
        b.contract
            .state_info_by_state(id, U256::from(9u64))
            .await
            .unwrap(),
        None
    );
    assert_eq!(b.contract.history_length(id).await.unwrap(), 3);

    // The events are also found by a log query.
    let logs = b.contract.state_update_logs(0).await.unwrap();
    let states: Vec<U256> = logs.iter().map(|(u, _)| u.state).collect();
    assert_eq!(states, vec![U256::ZERO, s1, s2]);
    assert_eq!(logs[2].1.tx_hash, r2.tx_hash);
    assert_eq!(logs[2].1.block_number, r2.block_number);
    // And the transaction of a state by the block the contract recorded for it.
    let found = b
        .contract
        .state_tx(id, s2, latest.created_at_block)
        .await
        .unwrap()
        .expect("the StateUpdated event of s2");
    assert_eq!(found.tx_hash, r2.tx_hash);
    assert_eq!(
        b.contract
            .state_tx(id, s1, latest.created_at_block)
            .await
            .unwrap(),
        None
    );
}

async fn a_wrong_sender_is_refused_with_the_reason(b: &Backend) {
    let (owner, id) = funded_identity(b, 2).await;
    let (intruder, _) = funded_identity(b, 3).await;
    let t = Transition::genesis(id, U256::from(5u64));

    // Both the simulation and the estimate give the contract's reason.
    let refusals = [
        b.contract
            .simulate_transit(intruder.address(), &t)
            .await
            .unwrap_err(),
        b.contract
            .estimate_transit(intruder.address(), &t)
            .await
            .unwrap_err(),
    ];
    for err in refusals {
        assert_eq!(
            err.revert_reason(),
            Some("msg.sender is not owner of the identity"),
            "{}: {err:?}",
            b.kind
        );
    }

    // Sent anyway (fixed gas limit, no estimate): mined, failed, nothing recorded.
    let r = send_transit(b, &intruder, &t).await;
    assert!(!r.status, "{r:?}");
    // The embedded chain knows the reason; JsonRpcChain re-runs the call to find it.
    assert_eq!(
        r.revert_reason.as_deref(),
        Some("msg.sender is not owner of the identity"),
        "{}",
        b.kind
    );
    assert!(b.contract.state_updates(&r).unwrap().is_empty());
    assert_eq!(b.contract.state_info(id).await.unwrap(), None);

    // Method ids other than 1 are refused whoever sends them.
    use alloy::sol_types::SolCall;
    let call = abi::IdentityState::transitStateGenericCall {
        id,
        oldState: U256::ZERO,
        newState: U256::from(5u64),
        isOldStateGenesis: true,
        methodId: U256::from(2u64),
        methodParams: Default::default(),
    };
    let err = b
        .chain
        .call(&CallRequest {
            from: Some(owner.address()),
            to: Some(b.contract.address()),
            data: call.abi_encode().into(),
            value: U256::ZERO,
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.revert_reason(),
        Some("Unknown state transition method id")
    );
}

async fn a_stale_or_invalid_old_state_is_refused_with_the_reason(b: &Backend) {
    let (owner, id) = funded_identity(b, 4).await;
    let from = owner.address();
    let s1 = U256::from(10u64);
    let s2 = U256::from(20u64);

    let reason = |t: Transition| async move {
        b.contract
            .simulate_transit(from, &t)
            .await
            .unwrap_err()
            .revert_reason()
            .map(str::to_owned)
    };
    let not_genesis = Transition::next(id, U256::ZERO, s1);
    assert_eq!(
        reason(not_genesis).await.as_deref(),
        Some("Old state is not genesis but identity does not yet exist")
    );
    let mut bad_genesis = Transition::genesis(id, s1);
    bad_genesis.old_state = U256::from(1u64);
    assert_eq!(
        reason(bad_genesis).await.as_deref(),
        Some("Old state should be zero")
    );
    assert_eq!(
        reason(Transition::genesis(id, U256::ZERO)).await.as_deref(),
        Some("New state should not be zero")
    );

    assert!(
        send_transit(b, &owner, &Transition::genesis(id, s1))
            .await
            .status
    );
    assert!(
        send_transit(b, &owner, &Transition::next(id, s1, s2))
            .await
            .status
    );

    let stale = Transition::next(id, s1, U256::from(30u64));
    assert_eq!(
        reason(stale).await.as_deref(),
        Some("Old state does not match the latest state")
    );
    assert_eq!(
        reason(Transition::genesis(id, U256::from(30u64)))
            .await
            .as_deref(),
        Some("Old state is genesis but identity already exists")
    );
    assert_eq!(
        reason(Transition::next(id, s2, s1)).await.as_deref(),
        Some("New state already exists")
    );
    // A stale transition that is sent anyway fails on chain and changes nothing.
    let r = send_transit(b, &owner, &stale).await;
    assert!(!r.status);
    assert_eq!(
        r.revert_reason.as_deref(),
        Some("Old state does not match the latest state"),
        "{}",
        b.kind
    );
    assert_eq!(b.contract.state_info(id).await.unwrap().unwrap().state, s2);
}

async fn a_reused_nonce_is_a_typed_error(b: &Backend) {
    let (owner, id) = funded_identity(b, 5).await;
    let fees = b.chain.fees().await.unwrap();
    let params = TxParams::new(0, DEFAULT_TRANSIT_GAS_LIMIT, fees);
    let first = owner
        .sign_transit(
            b.contract.address(),
            &Transition::genesis(id, U256::from(1u64)),
            params,
        )
        .unwrap();
    b.chain.send_raw(first.raw.clone()).await.unwrap();
    assert!(wait(b, first.hash).await.status);
    assert_eq!(
        b.chain
            .nonce(owner.address(), NonceKind::Latest)
            .await
            .unwrap(),
        1
    );

    // Another transaction with the spent nonce 0.
    let second = owner
        .sign_transit(
            b.contract.address(),
            &Transition::next(id, U256::from(1u64), U256::from(2u64)),
            params,
        )
        .unwrap();
    let err = b.chain.send_raw(second.raw).await.unwrap_err();
    assert!(
        matches!(err, ChainError::NonceTooLow { .. }),
        "{}: {err:?}",
        b.kind
    );
    assert!(!err.is_transient());
    assert_eq!(b.chain.receipt(second.hash).await.unwrap(), None);
}

#[test]
fn eth_ids_match_the_published_iden3_vector() {
    // vectors/iden3.json did[3]: address a51c…91c0 as polygonid:polygon:mumbai (0x02, 0x12).
    let address: Address = "0xa51c1fc2f0d1a1b8494ed1fe312d7c3a78ed91c0"
        .parse()
        .unwrap();
    let id =
        claimd_iden3::id::Id::from_base58("2qCU58EJgrEM9NKvHkvg5NFWUiJPgN3M3LnCr98j3x").unwrap();
    assert_eq!(
        eth_id([0x02, 0x12], address),
        U256::from_le_slice(id.as_bytes())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_derives_the_same_ids_as_iden3() {
    // The contract's ownership rule (calcIdFromEthAddress) against claimd-iden3 for several
    // ID types and addresses, including the largest possible checksum.
    let b = embedded_backend().await;
    for (typ, addr) in [
        ([0x01, 0x13], Address::repeat_byte(0x00)),
        ([0x02, 0x12], Address::repeat_byte(0xff)),
        ([0xff, 0xff], Address::repeat_byte(0xff)),
        (
            [0x01, 0x01],
            "0xa51c1fc2f0d1a1b8494ed1fe312d7c3a78ed91c0"
                .parse()
                .unwrap(),
        ),
    ] {
        let id = eth_id(typ, addr);
        assert_eq!(b.contract.id_of_address(id, addr).await.unwrap(), id);
    }
}

#[test]
fn the_committed_artifact_is_what_the_source_compiles_to() {
    let root = repo_root();
    assert!(
        root.join("interop/node_modules/solc/package.json").exists(),
        "solc-js is missing: run `npm ci --prefix interop`"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("IdentityState.json");
    let status = std::process::Command::new("bash")
        .arg(root.join("scripts/build-contract.sh"))
        .arg("--out")
        .arg(&out)
        .status()
        .expect("run scripts/build-contract.sh (needs node)");
    assert!(status.success(), "scripts/build-contract.sh failed");
    let fresh = std::fs::read_to_string(&out).unwrap();
    let committed = std::fs::read_to_string(root.join("contracts/IdentityState.json")).unwrap();
    assert!(
        fresh == committed,
        "contracts/IdentityState.json is stale: run scripts/build-contract.sh and commit it"
    );
    // The crate embeds the same bytes.
    assert_eq!(abi::ARTIFACT_JSON, committed);
}
