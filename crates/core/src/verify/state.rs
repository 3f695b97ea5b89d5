//! Whether a state a proof names is really the issuer's: on chain, or (iden3's rule) the
//! identity's genesis state, which its ID is derived from and so cannot be forged.

use super::context::{ChainState, IdentityStates, LookupError};
use super::VerifyError;
use claimd_iden3::id::Id;
use claimd_iden3::Fr;

pub enum Published {
    OnChain(ChainState),
    /// The ID derives from this state (it need not be on chain).
    Genesis,
    Unknown,
}

impl Published {
    /// A phrase for a check's detail.
    pub fn describe(&self, state: Fr) -> String {
        match self {
            Published::OnChain(s) => format!(
                "state {} on chain since block {}",
                state.to_le_hex(),
                s.created_at_block
            ),
            Published::Genesis => format!("genesis state {}", state.to_le_hex()),
            Published::Unknown => format!("state {} is not on chain", state.to_le_hex()),
        }
    }
}

pub async fn published(
    states: &dyn IdentityStates,
    id: &Id,
    state: Fr,
) -> Result<Published, VerifyError> {
    if let Some(record) = states.state(id, state).await.map_err(unavailable)? {
        return Ok(Published::OnChain(record));
    }
    if id.is_genesis_state(state) {
        return Ok(Published::Genesis);
    }
    Ok(Published::Unknown)
}

/// A chain lookup that failed outright cannot be reported as "not on chain".
pub fn unavailable(e: LookupError) -> VerifyError {
    VerifyError::Unavailable(e.to_string())
}
