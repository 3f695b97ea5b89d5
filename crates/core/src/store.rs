//! Storage ports. Each method names a business operation, so each backend (SQLite, PostgreSQL)
//! implements it in its best form; `claimd-store-sqlite` and `claimd-store-postgres` hold the
//! implementations and run one shared contract suite.

use crate::issuer::{Issuer, SealedIssuerKeys};
use crate::page::{Page, PageRequest};
use crate::partner::{Partner, PartnerChanges, PartnerDraft};
use crate::program::{Program, ProgramDraft};
use crate::schema::{Schema, SchemaDraft};
use crate::user::{Consent, ConsentDraft, Email, User};
use crate::{IssuerId, PartnerId, ProgramId, SchemaId};
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row the operation refers to does not exist (e.g. the partner of a new issuer).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was hit.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or is shutting down; retryable.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corruption, logged and answered as a 500.
    #[error("database error: {0}")]
    Internal(String),
}

/// A new issuer as it will be stored: identity and sealed keys are made by the domain.
#[derive(Debug, Clone)]
pub struct IssuerRecord {
    pub issuer_id: IssuerId,
    pub partner_id: PartnerId,
    pub name: String,
    pub issuer_did: String,
    pub eth_address: String,
    pub keys: SealedIssuerKeys,
}

/// What operators register: partners, schemas, issuers and programs.
#[async_trait]
pub trait Registry: Send + Sync {
    async fn create_partner(&self, draft: PartnerDraft) -> Result<Partner, StoreError>;
    /// `Ok(None)` when no partner has that id.
    async fn update_partner(
        &self,
        id: PartnerId,
        changes: PartnerChanges,
    ) -> Result<Option<Partner>, StoreError>;
    async fn partner(&self, id: PartnerId) -> Result<Option<Partner>, StoreError>;
    async fn list_partners(&self, page: PageRequest) -> Result<Page<Partner>, StoreError>;

    async fn create_schema(&self, draft: SchemaDraft) -> Result<Schema, StoreError>;
    async fn schema(&self, id: SchemaId) -> Result<Option<Schema>, StoreError>;
    async fn list_schemas(&self, page: PageRequest) -> Result<Page<Schema>, StoreError>;

    /// Fails with `NotFound("partner")` when the partner does not exist.
    async fn create_issuer(&self, record: IssuerRecord) -> Result<Issuer, StoreError>;
    async fn issuer(&self, id: IssuerId) -> Result<Option<Issuer>, StoreError>;
    async fn issuer_by_did(&self, did: &str) -> Result<Option<Issuer>, StoreError>;
    async fn issuer_keys(&self, id: IssuerId) -> Result<Option<SealedIssuerKeys>, StoreError>;
    async fn list_issuers(&self, page: PageRequest) -> Result<Page<Issuer>, StoreError>;

    /// The issuer (by DID) and schema must exist: `NotFound("issuer")` / `NotFound("schema")`.
    async fn create_program(
        &self,
        id: ProgramId,
        draft: ProgramDraft,
    ) -> Result<Program, StoreError>;
    async fn program(&self, id: &ProgramId) -> Result<Option<Program>, StoreError>;
    async fn list_programs(&self, page: PageRequest) -> Result<Page<Program>, StoreError>;
}

/// Users and their consent records.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Records consent, creating the user when the email is new.
    async fn set_consent(&self, draft: ConsentDraft) -> Result<Consent, StoreError>;
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;
    /// The user's recorded consent for a partner, if any.
    async fn consent_status(
        &self,
        user: crate::UserId,
        partner: PartnerId,
    ) -> Result<Option<crate::user::ConsentStatus>, StoreError>;
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>, StoreError>;
    async fn list_consents(&self, page: PageRequest) -> Result<Page<Consent>, StoreError>;
}

/// Everything the service needs from a database.
#[async_trait]
pub trait Store: Registry + UserStore + CredentialStore {
    /// Cheap round trip, for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;
    /// `"sqlite"` or `"postgres"`, for logs and metrics.
    fn backend(&self) -> &'static str;
}

/// A user to create in the issuance transaction when the email is new.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub user_id: crate::UserId,
    pub email: Email,
    pub holder_did: String,
    /// The holder's Baby Jubjub seed, sealed under the master key.
    pub holder_key: Vec<u8>,
}

/// What to do when the (program, user) already has a live credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDuplicate {
    Ignore,
    Revoke,
}

/// Everything one issue-on-behalf request changes, committed in one transaction.
#[derive(Debug, Clone)]
pub struct IssueCommit {
    /// The user the credential was built for. Created when its email is new; when the email
    /// already belongs to a user with another id, the commit answers
    /// [`IssueOutcome::UserChanged`] and the caller rebuilds for that user.
    pub user: NewUser,
    pub on_duplicate: OnDuplicate,
    /// `(Idempotency-Key, hash of the request)`.
    pub idempotency: Option<(String, String)>,
    pub credential: crate::credential::CredentialRecord,
    /// The JSON answer, kept for idempotent replays.
    pub response: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IssueOutcome {
    /// The credential is stored as `WAIT_ONCHAIN` (a live duplicate, if any, is `WAIT_REMOVE`).
    Issued,
    /// `onDuplicate: ignore` and a live credential exists: nothing changed.
    Existing { core_claim_hash: String },
    /// The user rejected on-behalf issuance from this partner.
    ConsentRejected,
    /// The program reached its maximum issuance.
    CapReached,
    /// Same idempotency key and body as an earlier request: its answer.
    Replay { response: String },
    /// Same idempotency key, different body.
    IdempotencyConflict,
    /// The email belongs to an existing user other than `user.user_id`.
    UserChanged(User),
    /// The revocation nonce is taken for this issuer: draw another.
    NonceTaken,
}

/// Issuance and the credentials it produces.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Commits one issuance atomically; see [`IssueCommit`] and [`IssueOutcome`].
    async fn commit_issuance(&self, commit: IssueCommit) -> Result<IssueOutcome, StoreError>;
    /// The live credential of a (program, user), if any.
    async fn live_credential(
        &self,
        program: &ProgramId,
        user: crate::UserId,
    ) -> Result<Option<crate::credential::CredentialRecord>, StoreError>;
    /// A credential by `coreClaimHash`, only if `partner` issued it.
    async fn credential_for_partner(
        &self,
        core_claim_hash: &str,
        partner: PartnerId,
    ) -> Result<Option<crate::credential::CredentialRecord>, StoreError>;
}
