//! claimd's domain: the things operators register (partners, schemas, issuers, issuance
//! programs), the users credentials are issued to, consent records, and the storage ports the
//! adapters implement.
//!
//! Nothing here does I/O: validation lives in the `New*` types' `validate` methods, storage is
//! reached only through the traits in [`store`] (the rules decided inside a store transaction
//! are in [`commit`], over the adapters' primitives), time comes from the injected
//! `claimd_clock::SharedClock`, and the HTTP layer maps [`DomainError`] and
//! [`store::StoreError`] to responses once.

pub mod bench_seed;
pub mod bulk;
pub mod catalog;
pub mod commit;
pub mod compliance;
pub mod credential;
pub mod error;
pub(crate) mod fields;
pub mod group;
pub mod history;
pub mod identity;
pub mod ids;
pub mod immutable;
pub mod issuance;
pub mod issuer;
pub mod load;
pub mod operator;
pub mod page;
pub mod partner;
pub mod program;
pub mod proofs;
pub mod schema;
pub mod secrets;
pub mod store;
pub mod text;
pub mod user;
pub mod verification;
pub mod verify;
pub mod webhook;

pub use error::DomainError;
pub use ids::{IssuerId, PartnerId, ProgramId, SchemaId, UserId, WebhookEndpointId};
