//! The same signed transactions give the same results on the embedded chain and on anvil.

use alloy::primitives::{Bytes, U256};
use claimd_chain::*;

use crate::common::*;
use crate::{anvil_backend, embedded_backend, wait, Backend};

/// What must agree between backends for one transaction (timestamps excluded: each backend
/// has its own clock).
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    hash: alloy::primitives::TxHash,
    status: bool,
    block_number: u64,
    gas_used: u64,
    from: alloy::primitives::Address,
    contract_address: Option<alloy::primitives::Address>,
    updates: Vec<(U256, u64, U256)>,
}

async fn run(b: &Backend, txs: &[Bytes]) -> Vec<Outcome> {
    let mut out = Vec::new();
    for raw in txs {
        let hash = b.chain.send_raw(raw.clone()).await.unwrap();
        let r = wait(b, hash).await;
        let updates = b.contract.state_updates(&r).unwrap();
        for u in &updates {
            // Timestamps in events are the block's (or 0 for the genesis record).
            assert!(u.timestamp == r.timestamp || u.timestamp == 0);
        }
        out.push(Outcome {
            hash: r.tx_hash,
            status: r.status,
            block_number: r.block_number,
            gas_used: r.gas_used,
            from: r.from,
            contract_address: r.contract_address,
            updates: updates
                .iter()
                .map(|u| (u.id, u.block_number, u.state))
                .collect(),
        });
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_transactions_give_the_same_results_on_both_backends() {
    let embedded = embedded_backend().await;
    let anvil = anvil_backend().await;
    // Both deployed the artifact from the dev key's nonce 0.
    assert_eq!(embedded.contract.address(), anvil.contract.address());
    assert_eq!(
        embedded
            .chain
            .code(embedded.contract.address())
            .await
            .unwrap(),
        anvil.chain.code(anvil.contract.address()).await.unwrap()
    );

    let contract = embedded.contract.address();
    let fees = TxParams {
        nonce: 0,
        gas_limit: DEFAULT_TRANSIT_GAS_LIMIT,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
    };
    let at = |nonce: u64| TxParams { nonce, ..fees };
    let dev = &embedded.dev;
    let owner = signer(20, 31_337);
    let intruder = signer(21, 31_337);
    let id = eth_id(ID_TYPE, owner.address());
    let (s1, s2, s3) = (U256::from(1u64), U256::from(2u64), U256::from(3u64));
    let transfer = |to, nonce| {
        dev.sign_transfer(
            to,
            ether(1),
            TxParams {
                gas_limit: TRANSFER_GAS_LIMIT,
                ..at(nonce)
            },
        )
        .unwrap()
        .raw
    };
    let transit = |who: &TxSigner, t: Transition, nonce| {
        who.sign_transit(contract, &t, at(nonce)).unwrap().raw
    };
    let txs = vec![
        transfer(owner.address(), 1),
        transfer(intruder.address(), 2),
        transit(&owner, Transition::genesis(id, s1), 0),
        transit(&owner, Transition::next(id, s1, s2), 1),
        transit(&intruder, Transition::next(id, s2, s3), 0), // not the owner: reverts
        transit(&owner, Transition::next(id, s1, s3), 2),    // stale: reverts
        transit(&owner, Transition::next(id, s2, s3), 3),
    ];

    let on_embedded = run(&embedded, &txs).await;
    let on_anvil = run(&anvil, &txs).await;
    assert_eq!(on_embedded, on_anvil);
    let statuses: Vec<bool> = on_embedded.iter().map(|o| o.status).collect();
    assert_eq!(statuses, [true, true, true, true, false, false, true]);

    // Same state afterwards (timestamps aside).
    for s in [U256::ZERO, s1, s2, s3] {
        let mut infos = Vec::new();
        for b in [&embedded, &anvil] {
            let mut i = b
                .contract
                .state_info_by_state(id, s)
                .await
                .unwrap()
                .unwrap();
            i.created_at_timestamp = 0;
            i.replaced_at_timestamp = 0;
            infos.push(i);
        }
        assert_eq!(infos[0], infos[1], "embedded, then anvil");
    }
    for who in [owner.address(), intruder.address(), dev.address()] {
        assert_eq!(
            embedded.chain.nonce(who, NonceKind::Latest).await.unwrap(),
            anvil.chain.nonce(who, NonceKind::Latest).await.unwrap()
        );
    }
}
