//! The ports verification needs: merklization (which contexts resolve), identity states on
//! chain, and the issuer's revocation status.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_iden3::id::Id;
use claimd_iden3::Fr;

/// What merklizing a credential (without its proof) gives the core claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerklizedCredential {
    pub root: Fr,
    /// The expanded IRI of the credential type (input of the schema hash), if one is found.
    pub type_iri: Option<String>,
}

/// One record of an identity's state on chain (the `StateInfo` of the State contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainState {
    pub state: Fr,
    /// The state that replaced it; `None` while it is the latest.
    pub replaced_by: Option<Fr>,
    pub created_at_block: u64,
    /// Unix seconds of the block that recorded it.
    pub created_at_timestamp: u64,
    /// Unix seconds of the block that replaced it (0 while it is the latest).
    pub replaced_at_timestamp: u64,
}

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The source answered, and the answer is that there is nothing usable (an unknown
    /// context, an issuer this service does not know): the check fails with this text.
    #[error("{0}")]
    Failed(String),
    /// The source could not be asked (database or chain down): verification cannot conclude.
    #[error("{0}")]
    Unavailable(String),
    /// The document is over a work limit of the source (the merklizer's): refused unread.
    #[error("{detail}")]
    LimitExceeded { limit: &'static str, detail: String },
}

/// What the issuer's own records say about a credential (for issuers this service hosts).
#[derive(Debug, Clone, PartialEq)]
pub enum IssuedRecord {
    /// The issuer is not one of this service's: nothing to compare with.
    NotHosted,
    /// The issuer is hosted here, and never issued a credential with that core claim hash.
    Unknown,
    /// The credential as issued (its proofs may differ: they are added as it is published).
    Document(serde_json::Value),
}

/// Identity states as the State contract records them.
#[async_trait]
pub trait IdentityStates: Send + Sync {
    /// The record of `state` for `id`, `None` if `id` never had that state on chain.
    async fn state(&self, id: &Id, state: Fr) -> Result<Option<ChainState>, LookupError>;
    /// The latest state of `id`, `None` if it never published one.
    async fn latest(&self, id: &Id) -> Result<Option<ChainState>, LookupError>;
}

/// Everything [`super::verify`] asks the outside world.
#[async_trait]
pub trait VerifyContext: Send + Sync {
    /// Merklizes `document` (a credential without `proof`). Contexts it names that cannot be
    /// resolved (nothing is fetched from the network) are a [`LookupError::Failed`].
    async fn merklize(
        &self,
        document: &serde_json::Value,
    ) -> Result<MerklizedCredential, LookupError>;

    /// The chain's identity states.
    fn states(&self) -> &dyn IdentityStates;

    /// The revocation status of `nonce` for the issuer `issuer_did`, in the shape of js-sdk's
    /// `RevocationStatus` (what `credentialStatus.id` of type `SparseMerkleTreeProof` serves):
    /// `{"issuer": {"state", "claimsTreeRoot", "revocationTreeRoot", "rootOfRoots"},
    ///   "mtp": {"existence", "siblings", "node_aux"?}}`, roots and state as little-endian hex.
    async fn revocation_status(
        &self,
        issuer_did: &str,
        nonce: u64,
    ) -> Result<serde_json::Value, LookupError>;

    /// The issuer's record of the credential whose `coreClaimHash` (big-endian hex) is
    /// `core_claim_hash`.
    async fn issued(
        &self,
        issuer_did: &str,
        core_claim_hash: &str,
    ) -> Result<IssuedRecord, LookupError>;

    /// The work limits verification enforces before merklizing.
    fn limits(&self) -> super::VerifyLimits {
        super::VerifyLimits::DEFAULT
    }

    /// The time expiration and state freshness are judged at (the service's clock).
    fn now(&self) -> DateTime<Utc>;
}
