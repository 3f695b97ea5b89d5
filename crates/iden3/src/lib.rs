//! iden3 primitives, bit-for-bit (work in progress).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used)]

pub mod babyjubjub;
pub mod claim;
pub mod field;
mod hex;
pub mod id;
pub mod merkletree;
pub mod poseidon;

pub use field::{FieldError, Fr};
