//! Pool errors a publisher reconciles on, against anvil with mining paused (the embedded chain
//! mines at once and has no pool).

use std::sync::Arc;

use alloy::primitives::U256;
use alloy::providers::Provider;
use claimd_chain::*;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_or_underpriced_replacement_is_typed_and_a_bumped_one_replaces() {
    let anvil = tokio::task::spawn_blocking(|| Anvil::start_with(&["--no-mining"]))
        .await
        .unwrap();
    let rpc = anvil.chain();
    let chain: Arc<dyn Chain> = Arc::new(rpc.clone());
    let mine = || async {
        rpc.provider()
            .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
            .await
            .unwrap();
    };
    let dev = TxSigner::from_private_key(&embedded::DEV_PRIVATE_KEY, 31_337).unwrap();
    let to = signer(30, 31_337).address();
    let params = TxParams {
        nonce: 0,
        gas_limit: TRANSFER_GAS_LIMIT,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
    };

    let first = dev.sign_transfer(to, U256::from(1u64), params).unwrap();
    assert_eq!(chain.send_raw(first.raw.clone()).await.unwrap(), first.hash);
    assert_eq!(chain.receipt(first.hash).await.unwrap(), None);
    assert_eq!(
        chain
            .nonce(dev.address(), NonceKind::Pending)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        chain.nonce(dev.address(), NonceKind::Latest).await.unwrap(),
        0
    );

    // The very same bytes again: already in the pool.
    let err = chain.send_raw(first.raw.clone()).await.unwrap_err();
    assert!(matches!(err, ChainError::AlreadyKnown), "{err:?}");

    // Same nonce, same fees, different content: not enough to replace.
    let same_fees = dev.sign_transfer(to, U256::from(2u64), params).unwrap();
    let err = chain.send_raw(same_fees.raw).await.unwrap_err();
    assert!(matches!(err, ChainError::ReplacementUnderpriced), "{err:?}");

    // Bumped fees replace it.
    let bumped = dev
        .sign_transfer(to, U256::from(3u64), params.bumped(13))
        .unwrap();
    chain.send_raw(bumped.raw).await.unwrap();
    mine().await;
    let r = chain.receipt(bumped.hash).await.unwrap().expect("mined");
    assert!(r.status);
    assert_eq!(chain.receipt(first.hash).await.unwrap(), None);
    assert_eq!(chain.balance(to).await.unwrap(), U256::from(3u64));

    // And the replaced one can no longer be sent.
    let err = chain.send_raw(first.raw).await.unwrap_err();
    assert!(matches!(err, ChainError::NonceTooLow { .. }), "{err:?}");
}
