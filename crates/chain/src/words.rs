//! iden3 values as the IdentityState contract's 256-bit words, in one place: an identity is its
//! 31 ID bytes read little-endian, a state is the field element's integer value.

use alloy::primitives::U256;
use claimd_iden3::id::Id;
use claimd_iden3::{FieldError, Fr};

/// An identity as the contract's `id`.
pub fn id_word(id: &Id) -> U256 {
    U256::from_le_slice(id.as_bytes())
}

/// A state (field element) as the contract's integer.
pub fn state_word(state: Fr) -> U256 {
    U256::from_be_bytes(state.to_be_bytes())
}

/// A state from the contract as a field element; a word not below the field's modulus is an
/// error (the contract never holds one for an iden3 identity).
pub fn state_from_word(word: U256) -> Result<Fr, FieldError> {
    Fr::from_be_bytes(&word.to_be_bytes::<32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_goes_to_a_word_and_back() {
        let f = Fr::from_u64(0x1234_5678_9abc);
        assert_eq!(state_word(f), U256::from(0x1234_5678_9abcu64));
        assert_eq!(state_from_word(state_word(f)).unwrap(), f);
        assert!(state_from_word(U256::MAX).is_err());
    }
}
