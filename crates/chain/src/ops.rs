//! Multi-step operations built on [`Chain`] + [`TxSigner`]: waiting for receipts, deploying the
//! contract, funding an account. Used by the service in dev mode and by the tests.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, TxHash, U256};

use crate::chain::{Chain, NonceKind, Receipt};
use crate::error::{ChainError, Result};
use crate::signer::{TxParams, TxSigner, DEFAULT_DEPLOY_GAS_LIMIT, TRANSFER_GAS_LIMIT};

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
    let nonce = chain.nonce(deployer.address(), NonceKind::Pending).await?;
    let fees = chain.fees().await?;
    let tx = deployer.sign_deploy(TxParams::new(nonce, DEFAULT_DEPLOY_GAS_LIMIT, fees))?;
    chain.send_raw(tx.raw).await?;
    let receipt = wait_for_receipt(chain, tx.hash, OP_TIMEOUT, OP_POLL).await?;
    if !receipt.status {
        return Err(ChainError::Reverted {
            reason: receipt.revert_reason.clone(),
            data: Default::default(),
        });
    }
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
    let nonce = chain.nonce(funder.address(), NonceKind::Pending).await?;
    let fees = chain.fees().await?;
    let tx = funder.sign_transfer(to, amount, TxParams::new(nonce, TRANSFER_GAS_LIMIT, fees))?;
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
