//! Multi-step operations built on [`Chain`] + [`TxSigner`]: waiting for receipts, deploying the
//! contract, funding an account. Used by the service in dev mode and by the tests.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, TxHash, U256};

use crate::chain::{Chain, NonceKind, Receipt};
use crate::error::{ChainError, Result};
use crate::signer::{SignedTx, TxParams, TxSigner, DEFAULT_DEPLOY_GAS_LIMIT, TRANSFER_GAS_LIMIT};

/// Polls [`Chain::receipt`] every `poll` until the transaction is mined or `timeout` elapses.
///
/// # Errors
/// [`ChainError::Timeout`] if no receipt appeared in time; errors of the chain.
pub async fn wait_for_receipt(
    chain: &dyn Chain,
    hash: TxHash,
    timeout: Duration,
    poll: Duration,
) -> Result<Receipt> {
    let start = Instant::now();
    loop {
        if let Some(r) = chain.receipt(hash).await? {
            return Ok(r);
        }
        if start.elapsed() >= timeout {
            return Err(ChainError::Timeout(timeout));
        }
        tokio::time::sleep(poll).await;
    }
}

/// Receipt wait used by [`deploy_state_contract`] and [`transfer`].
const OP_TIMEOUT: Duration = Duration::from_secs(60);
const OP_POLL: Duration = Duration::from_millis(100);

/// Deploys `IdentityState` (the committed artifact) from `deployer` with its pending nonce and the
/// chain's suggested fees, waits for the receipt and checks the runtime code.
///
/// # Errors
/// [`ChainError::Reverted`] if the creation failed, [`ChainError::Contract`] if the code at the
/// new address is not the artifact's, send/transport errors.
pub async fn deploy_state_contract(
    chain: &dyn Chain,
    deployer: &TxSigner,
) -> Result<(Address, Receipt)> {
    let receipt = send_and_wait(
        chain,
        deployer,
        |params| deployer.sign_deploy(params),
        DEFAULT_DEPLOY_GAS_LIMIT,
    )
    .await?;
    let address = receipt
        .contract_address
        .ok_or_else(|| ChainError::Contract("creation receipt has no contract address".into()))?;
    if chain.code(address).await? != crate::abi::artifact()?.deployed_bytecode {
        return Err(ChainError::Contract(format!(
            "code at {address} is not the IdentityState artifact"
        )));
    }
    Ok((address, receipt))
}

/// Sends `amount` wei from `funder` to `to` and waits for the receipt.
///
/// # Errors
/// Send/transport errors; [`ChainError::Reverted`] if the transfer failed.
pub async fn transfer(
    chain: &dyn Chain,
    funder: &TxSigner,
    to: Address,
    amount: U256,
) -> Result<Receipt> {
    send_and_wait(
        chain,
        funder,
        |params| funder.sign_transfer(to, amount, params),
        TRANSFER_GAS_LIMIT,
    )
    .await
}

/// Signs (with `from`'s pending nonce and the chain's fees), sends and waits for the receipt
/// of a transaction `sign` makes; [`ChainError::Reverted`] if it failed.
async fn send_and_wait(
    chain: &dyn Chain,
    from: &TxSigner,
    sign: impl FnOnce(TxParams) -> Result<SignedTx>,
    gas_limit: u64,
) -> Result<Receipt> {
    let nonce = chain.nonce(from.address(), NonceKind::Pending).await?;
    let fees = chain.fees().await?;
    let tx = sign(TxParams::new(nonce, gas_limit, fees))?;
    chain.send_raw(tx.raw).await?;
    let receipt = wait_for_receipt(chain, tx.hash, OP_TIMEOUT, OP_POLL).await?;
    if !receipt.status {
        return Err(ChainError::Reverted {
            reason: receipt.revert_reason.clone(),
            data: Default::default(),
        });
    }
    Ok(receipt)
}
