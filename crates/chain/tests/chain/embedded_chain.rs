//! Behaviour specific to the embedded chain: persistence, funding, configuration pinning.

use alloy::primitives::{Address, U256};
use claimd_chain::*;

use crate::common::*;
use crate::{embedded_config, send_transit, Backend};

fn backend_at(dir: &std::path::Path, config: EmbeddedConfig) -> (EmbeddedChain, Backend) {
    let chain = EmbeddedChain::open(dir, config).unwrap();
    let arc: std::sync::Arc<dyn Chain> = std::sync::Arc::new(chain.clone());
    let b = Backend {
        contract: StateContract::new(arc.clone(), chain.contract_address()),
        chain: arc,
        dev: chain.dev_signer().clone(),
        kind: "embedded",
        _anvil: None,
        _dir: None,
    };
    (chain, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_chain_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, b) = backend_at(dir.path(), embedded_config());
    // Same deployer and nonce as a fresh anvil: same address.
    assert_eq!(
        chain.contract_address(),
        "0x5FbDB2315678afecb367f032d93F642f64180aa3"
            .parse::<Address>()
            .unwrap()
    );
    let owner = signer(7, 31_337);
    let id = eth_id(ID_TYPE, owner.address());
    let funded = chain.fund(owner.address(), ether(2)).await.unwrap();
    assert!(funded.status);
    assert_eq!(b.chain.balance(owner.address()).await.unwrap(), ether(2));
    let r1 = send_transit(&b, &owner, &Transition::genesis(id, U256::from(1u64))).await;
    let r2 = send_transit(
        &b,
        &owner,
        &Transition::next(id, U256::from(1u64), U256::from(2u64)),
    )
    .await;
    // A failed transaction is part of the history too (it spent gas and a nonce).
    let r3 = send_transit(
        &b,
        &owner,
        &Transition::next(id, U256::from(1u64), U256::from(3u64)),
    )
    .await;
    assert!(r1.status && r2.status && !r3.status);

    // Everything a reopened chain must give back exactly: height, state, nonce, balances, logs.
    macro_rules! snapshot {
        ($b:expr) => {
            (
                $b.chain.block_number().await.unwrap(),
                $b.contract.state_info(id).await.unwrap(),
                $b.chain
                    .nonce(owner.address(), NonceKind::Latest)
                    .await
                    .unwrap(),
                $b.chain.balance(owner.address()).await.unwrap(),
                $b.chain.balance($b.dev.address()).await.unwrap(),
                $b.contract.state_update_logs(0).await.unwrap(),
            )
        };
    }
    macro_rules! receipts {
        ($b:expr) => {
            [
                $b.chain.receipt(funded.tx_hash).await.unwrap(),
                $b.chain.receipt(r1.tx_hash).await.unwrap(),
                $b.chain.receipt(r3.tx_hash).await.unwrap(),
            ]
        };
    }
    let before = snapshot!(b);
    let receipts = receipts!(b);
    drop(b);
    drop(chain);

    let (chain, b) = backend_at(dir.path(), embedded_config());
    let after = snapshot!(b);
    assert_eq!(before, after);
    assert_eq!(after.0, 5); // deploy, fund, three transitions
    assert_eq!(receipts, receipts!(b));
    // And it goes on from where it stopped.
    let r4 = send_transit(
        &b,
        &owner,
        &Transition::next(id, U256::from(2u64), U256::from(4u64)),
    )
    .await;
    assert!(r4.status);
    assert_eq!(r4.block_number, 6);
    assert_eq!(r4.timestamp, r3.timestamp + 12);
    drop(chain);
}

#[tokio::test]
async fn a_journal_of_another_configuration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(EmbeddedChain::open(dir.path(), embedded_config()).unwrap());
    let other = EmbeddedConfig {
        chain_id: 222_888,
        ..embedded_config()
    };
    let err = EmbeddedChain::open(dir.path(), other).unwrap_err();
    assert!(matches!(err, ChainError::Journal { .. }), "{err:?}");
    // The clock is not pinned: timestamps are stored per block.
    let system_clock = EmbeddedConfig {
        clock: BlockClock::System,
        ..embedded_config()
    };
    EmbeddedChain::open(dir.path(), system_clock).unwrap();
}

/// What `b`'s chain answers to `signer`'s genesis transition of `id` sent with `params`.
async fn refused_genesis(b: &Backend, signer: &TxSigner, id: U256, params: TxParams) -> ChainError {
    let genesis = Transition::genesis(id, U256::from(1u64));
    let tx = signer
        .sign_transit(b.contract.address(), &genesis, params)
        .unwrap();
    b.chain.send_raw(tx.raw).await.unwrap_err()
}

#[tokio::test]
async fn invalid_transactions_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, b) = backend_at(dir.path(), embedded_config());
    let poor = signer(8, 31_337);
    let id = eth_id(ID_TYPE, poor.address());
    let fees = b.chain.fees().await.unwrap();
    let head = b.chain.block_number().await.unwrap();
    let gas = DEFAULT_TRANSIT_GAS_LIMIT;

    // No funds.
    let err = refused_genesis(&b, &poor, id, TxParams::new(0, gas, fees)).await;
    assert!(matches!(err, ChainError::InsufficientFunds(_)), "{err:?}");

    chain.fund(poor.address(), ether(1)).await.unwrap();
    let head = head + 1;
    let foreign = TxSigner::from_private_key(&key(8), 1).unwrap();
    let below_base_fee = TxParams {
        max_fee_per_gas: 1,
        max_priority_fee_per_gas: 0,
        ..TxParams::new(0, gas, fees)
    };
    type Expected = fn(&ChainError) -> bool;
    let cases: [(&str, &TxSigner, TxParams, Expected); 3] = [
        (
            "a nonce gap (no pool to queue it in)",
            &poor,
            TxParams::new(5, gas, fees),
            |e| {
                matches!(
                    e,
                    ChainError::NonceTooHigh {
                        tx: Some(5),
                        state: Some(0)
                    }
                )
            },
        ),
        ("a fee below the base fee", &poor, below_base_fee, |e| {
            matches!(e, ChainError::FeeTooLow(_))
        }),
        (
            "another chain id",
            &foreign,
            TxParams::new(0, gas, fees),
            |e| matches!(e, ChainError::InvalidTransaction(_)),
        ),
    ];
    for (case, signer, params, expected) in cases {
        let err = refused_genesis(&b, signer, id, params).await;
        assert!(expected(&err), "{case}: {err:?}");
    }
    // Garbage.
    let err = b.chain.send_raw(vec![0x02, 0xc0].into()).await.unwrap_err();
    assert!(matches!(err, ChainError::InvalidTransaction(_)), "{err:?}");

    assert_eq!(b.chain.block_number().await.unwrap(), head);
    assert_eq!(
        b.chain
            .nonce(poor.address(), NonceKind::Pending)
            .await
            .unwrap(),
        0
    );
    // Nothing of the above reached the journal.
    drop(b);
    drop(chain);
    let (_, b) = backend_at(dir.path(), embedded_config());
    assert_eq!(b.chain.block_number().await.unwrap(), head);
}
