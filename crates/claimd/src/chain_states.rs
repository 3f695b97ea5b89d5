//! Identity states for verification, read from the IdentityState contract: the adapter between
//! core's [`IdentityStates`] port and `claimd-chain` (which the domain never depends on).

use alloy_primitives::U256;
use async_trait::async_trait;
use claimd_chain::words::{id_word, state_from_word, state_word};
use claimd_chain::{StateContract, StateInfo};
use claimd_core::verify::{ChainState, IdentityStates, LookupError};
use claimd_iden3::id::Id;
use claimd_iden3::Fr;

pub struct ContractStates(pub StateContract);

fn chain_state(info: StateInfo) -> Result<ChainState, LookupError> {
    let fr = |w: U256| {
        state_from_word(w).map_err(|e| {
            LookupError::Unavailable(format!(
                "chain answered a state that is not a field element: {e}"
            ))
        })
    };
    Ok(ChainState {
        state: fr(info.state)?,
        replaced_by: match info.replaced_by_state {
            U256::ZERO => None,
            w => Some(fr(w)?),
        },
        created_at_block: info.created_at_block,
        created_at_timestamp: info.created_at_timestamp,
        replaced_at_timestamp: info.replaced_at_timestamp,
    })
}

fn unreachable(e: claimd_chain::ChainError) -> LookupError {
    LookupError::Unavailable(format!("chain: {e}"))
}

#[async_trait]
impl IdentityStates for ContractStates {
    async fn state(&self, id: &Id, state: Fr) -> Result<Option<ChainState>, LookupError> {
        self.0
            .state_info_by_state(id_word(id), state_word(state))
            .await
            .map_err(unreachable)?
            .map(chain_state)
            .transpose()
    }

    async fn latest(&self, id: &Id) -> Result<Option<ChainState>, LookupError> {
        self.0
            .state_info(id_word(id))
            .await
            .map_err(unreachable)?
            .map(chain_state)
            .transpose()
    }
}
