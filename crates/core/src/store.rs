//! Storage ports. Each method names a business operation, so each backend (SQLite, PostgreSQL)
//! implements it in its best form; `claimd-store-sqlite` and `claimd-store-postgres` hold the
//! implementations and run one shared contract suite. Operations whose rules decide something
//! inside a transaction (issuance, consent, revocation) apply the rules of [`crate::commit`]
//! over the adapter's [`crate::commit::StoreTx`].

use crate::issuer::{Issuer, SealedIssuerKeys};
use crate::page::{Page, PageRequest};
use crate::partner::{Partner, PartnerChanges, PartnerDraft};
use crate::program::{Program, ProgramDraft};
use crate::schema::{Schema, SchemaDraft};
use crate::user::{Consent, ConsentDraft, Email, EmailConflict, User};
use crate::{IssuerId, PartnerId, ProgramId, SchemaId};
use async_trait::async_trait;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A row the operation refers to does not exist (e.g. the partner of a new issuer).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was hit.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached, is shutting down, or cannot write now (its disk is
    /// full); retryable.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The transaction lost a race with a concurrent one (PostgreSQL's deadlock detection or a
    /// serialization failure) and was rolled back whole: running the same operation again is
    /// safe and usually succeeds at once.
    #[error("database contention: {0}")]
    Contended(String),
    /// A value the database cannot hold: PostgreSQL's text and `jsonb` have no NUL character
    /// (U+0000). The request's fault, answered as a 400; the API refuses NUL in JSON bodies
    /// before they reach storage, so this is the net under paths and queries.
    #[error("unstorable text: {0}")]
    Unstorable(String),
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
    /// The schema `program` issues. Every program references its schema, so none is corrupt
    /// data: an internal error.
    async fn program_schema(&self, program: &Program) -> Result<Schema, StoreError> {
        self.schema(program.draft.schema_id)
            .await?
            .ok_or_else(|| StoreError::Internal("program without schema".into()))
    }
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
    /// Records consent at `at`, creating the user when the email is new: the adapter applies
    /// [`crate::commit::set_consent`] on one transaction.
    async fn set_consent(
        &self,
        draft: ConsentDraft,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Consent, StoreError>;
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;
    /// The user's recorded consent for a partner, if any.
    async fn consent_status(
        &self,
        user: crate::UserId,
        partner: PartnerId,
    ) -> Result<Option<crate::user::ConsentStatus>, StoreError>;
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>, StoreError>;
    async fn list_consents(&self, page: PageRequest) -> Result<Page<Consent>, StoreError>;
    /// Brings stored addresses to the current [`Email::parse`] form, once per database: applies
    /// [`crate::user::plan_email_renormalisation`] to every user (oldest first) in one
    /// transaction, records each conflict, and marks the step done. Returns the conflicts
    /// found by this call (none when the step was already done).
    async fn renormalise_emails(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<EmailConflict>, StoreError>;
    /// Every conflict ever recorded by [`UserStore::renormalise_emails`], oldest user first.
    async fn email_conflicts(&self) -> Result<Vec<EmailConflict>, StoreError>;
}

/// Name of the data step that re-normalised stored addresses to the rules of [`Email::parse`].
pub const EMAIL_RENORMALISATION_STEP: &str = "email-normalisation-1";

/// Everything the service needs from a database.
#[async_trait]
pub trait Store:
    Registry
    + UserStore
    + CredentialStore
    + PublishStore
    + PublicationView
    + crate::catalog::CatalogRegistry
    + crate::catalog::CatalogView
    + crate::bulk::BulkStore
    + crate::webhook::WebhookStore
{
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
    /// When the issuance happens (the service's clock): rows are stamped with it and
    /// idempotency keys are judged by it.
    pub at: chrono::DateTime<chrono::Utc>,
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
    /// Commits one issuance atomically; see [`IssueCommit`] and [`IssueOutcome`]. The adapter
    /// opens the transaction and applies [`crate::commit::issue`] on it.
    async fn commit_issuance(&self, commit: IssueCommit) -> Result<IssueOutcome, StoreError>;
    /// The live credential (see [`crate::credential::CredentialStatus::LIVE`]) of a
    /// (program, user), if any.
    async fn live_credential(
        &self,
        program: &ProgramId,
        user: crate::UserId,
    ) -> Result<Option<crate::credential::CredentialRecord>, StoreError>;
    /// A credential by `coreClaimHash`, whoever issued it (operators, public proofs).
    async fn credential(
        &self,
        core_claim_hash: &str,
    ) -> Result<Option<crate::credential::CredentialRecord>, StoreError>;
    /// Sets the credential's status to `to` if it is one of `from`, in one statement (atomic
    /// against concurrent changes): `true` if it changed. When it changed and `to` has an
    /// event ([`crate::webhook::EventType::for_status`]), the event is written in the same
    /// transaction. Revocation ([`crate::commit::revoke`])
    /// is built on it.
    async fn change_credential_status(
        &self,
        core_claim_hash: &str,
        from: &[crate::credential::CredentialStatus],
        to: crate::credential::CredentialStatus,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError>;
    /// A credential by `coreClaimHash`, only if `partner` issued it.
    async fn credential_for_partner(
        &self,
        core_claim_hash: &str,
        partner: PartnerId,
    ) -> Result<Option<crate::credential::CredentialRecord>, StoreError>;

    /// How many credentials are in each status, over all issuers (the dashboard's overview).
    async fn credential_counts(&self) -> Result<CredentialCounts, StoreError>;

    /// The credentials `filter` selects, newest first, one page of them. Every filter is
    /// served by an index, so a page costs the same with a million credentials.
    async fn list_credentials(
        &self,
        filter: &CredentialFilter,
        page: crate::page::PageRequest,
    ) -> Result<crate::page::Page<crate::credential::CredentialRecord>, StoreError>;

    /// Credentials created since `since`, per minute: `(unix minute, count)` in order,
    /// minutes without any left out (the overview's issuance-rate chart).
    async fn issued_per_minute(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(i64, u64)>, StoreError>;

    /// Transitions confirmed since `since`, oldest first, at most 1,000: `(unix seconds of
    /// the confirmation, seconds from computation to confirmation)` (the publish-lag chart).
    async fn publish_lags(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(i64, f64)>, StoreError>;
}

/// Which credentials an operator listing shows: every field set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialFilter {
    pub program_id: Option<crate::ProgramId>,
    pub user_id: Option<crate::UserId>,
}

/// Credentials by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialCounts {
    pub wait_onchain: u64,
    pub onchain: u64,
    pub wait_remove: u64,
    pub remove: u64,
}

impl CredentialCounts {
    /// Adds `n` credentials of the stored status `status` (unknown statuses are ignored).
    pub fn add(&mut self, status: &str, n: u64) {
        use crate::credential::CredentialStatus as S;
        match S::parse(status) {
            Some(S::WaitOnchain) => self.wait_onchain += n,
            Some(S::Onchain) => self.onchain += n,
            Some(S::WaitRemove) => self.wait_remove += n,
            Some(S::Remove) => self.remove += n,
            None => {}
        }
    }

    /// Every credential ever issued, whatever became of it.
    pub fn issued(&self) -> u64 {
        self.wait_onchain + self.onchain + self.wait_remove + self.remove
    }
}

/// The identity state of an issuer and the roots of its three trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityRoots {
    pub claims_root: claimd_iden3::Fr,
    pub revocation_root: claimd_iden3::Fr,
    pub roots_root: claimd_iden3::Fr,
    /// `Poseidon(claims root, revocation root, roots root)`.
    pub state: claimd_iden3::Fr,
}

/// A credential whose claim is not yet in any computed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingClaim {
    pub core_claim_hash: String,
    /// The core claim, 512 hex digits (see [`crate::credential::CredentialRecord::core_claim`]).
    pub core_claim: String,
}

/// A revoked credential whose nonce is not yet in any computed revocation tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRevocation {
    pub core_claim_hash: String,
    pub revocation_nonce: u64,
}

/// What is waiting to be published for one issuer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingWork {
    pub claims: Vec<PendingClaim>,
    pub revocations: Vec<PendingRevocation>,
}

impl PendingWork {
    pub fn is_empty(&self) -> bool {
        self.claims.is_empty() && self.revocations.is_empty()
    }
}

/// A computed state transition, persisted before anything is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionDraft {
    pub issuer_id: IssuerId,
    /// The confirmed state it starts from; `None` for the issuer's first transition (genesis
    /// state 0).
    pub old: Option<IdentityRoots>,
    pub new: IdentityRoots,
    /// Credentials whose claims it adds (`core_claim_hash`).
    pub claims: Vec<String>,
    /// Credentials whose nonces it revokes (`core_claim_hash`).
    pub revocations: Vec<String>,
    /// Tree nodes the new roots need that may not be stored yet (content-addressed).
    pub nodes: Vec<(claimd_iden3::Fr, claimd_iden3::merkletree::Node)>,
}

/// A signed transaction of a transition, recorded before it is sent. A transition may have
/// several: the first and its replacements, all with the same nonce and rising fees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionTx {
    pub nonce: u64,
    /// `0x`-prefixed hex.
    pub tx_hash: String,
    /// The EIP-2718 bytes, resent as they are after a crash. Fees are read back from them.
    pub raw: Vec<u8>,
    /// When it was signed and recorded (the publisher's clock); a replacement is due once the
    /// newest attempt has waited long enough.
    pub recorded_at: chrono::DateTime<chrono::Utc>,
}

/// A transition that is computed (and maybe signed and sent) but not confirmed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlightTransition {
    pub id: i64,
    pub issuer_id: IssuerId,
    pub old: Option<IdentityRoots>,
    pub new: IdentityRoots,
    /// When the transition was computed (for the publish lag).
    pub computed_at: chrono::DateTime<chrono::Utc>,
    /// Every signed attempt, oldest first; empty until signed. Any of them may be the one
    /// that gets mined.
    pub txs: Vec<TransitionTx>,
}

impl InFlightTransition {
    /// The newest attempt (the one with the highest fees), if signed.
    pub fn latest_tx(&self) -> Option<&TransitionTx> {
        self.txs.last()
    }
}

/// Where a transition is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionStatus {
    /// Computed and persisted, not signed yet.
    Computed,
    /// At least one transaction signed and recorded.
    Signed,
    /// On chain: the issuer's state.
    Confirmed,
    /// Refused or superseded; its credentials went back to pending.
    Abandoned,
}

impl TransitionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionStatus::Computed => "COMPUTED",
            TransitionStatus::Signed => "SIGNED",
            TransitionStatus::Confirmed => "CONFIRMED",
            TransitionStatus::Abandoned => "ABANDONED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "COMPUTED" => TransitionStatus::Computed,
            "SIGNED" => TransitionStatus::Signed,
            "CONFIRMED" => TransitionStatus::Confirmed,
            "ABANDONED" => TransitionStatus::Abandoned,
            _ => return None,
        })
    }

    /// Computed or signed: the issuer's one transition in flight.
    pub fn in_flight(self) -> bool {
        matches!(self, TransitionStatus::Computed | TransitionStatus::Signed)
    }
}

/// Any transition of an issuer, whatever its status (history, reconciliation with the chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionRecord {
    pub id: i64,
    pub issuer_id: IssuerId,
    pub status: TransitionStatus,
    pub old: Option<IdentityRoots>,
    pub new: IdentityRoots,
    pub computed_at: chrono::DateTime<chrono::Utc>,
    /// Every signed attempt, oldest first.
    pub txs: Vec<TransitionTx>,
    /// Set once confirmed.
    pub confirmation: Option<Confirmation>,
    /// Why it was abandoned.
    pub failure: Option<String>,
    /// How many credentials' claims it carries.
    pub claims: u64,
    /// How many credentials' revocations it carries.
    pub revocations: u64,
}

/// What is waiting to be published, over all issuers (for metrics and operators).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishBacklog {
    /// Credentials whose claim is in no transition yet.
    pub pending_claims: u64,
    /// Revoked credentials whose nonce is in no transition yet.
    pub pending_revocations: u64,
    /// Transitions computed or signed, not confirmed.
    pub in_flight: u64,
    /// When the oldest claim or revocation that is in no transition yet was issued or
    /// revoked, if any.
    pub oldest_pending: Option<chrono::DateTime<chrono::Utc>>,
}

/// Where a transition landed on chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// `0x`-prefixed hex of the transaction that recorded the state.
    pub tx_hash: String,
    pub block_number: u64,
    /// The block's timestamp (Unix seconds), as the contract records it.
    pub block_timestamp: u64,
}

/// A confirmed state of an issuer and where it landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedState {
    pub roots: IdentityRoots,
    pub tx_hash: String,
    pub block_number: u64,
    pub block_timestamp: u64,
}

/// Publishing identity states: the content-addressed tree nodes, and the transition pipeline
/// of each issuer (computed → signed → confirmed or abandoned). Each step is its own durable
/// write, so a publisher that dies resumes from the last one.
#[async_trait]
pub trait PublishStore: Send + Sync {
    /// A stored tree node by hash. Nodes are never deleted.
    async fn tree_node(
        &self,
        hash: claimd_iden3::Fr,
    ) -> Result<Option<claimd_iden3::merkletree::Node>, StoreError>;

    /// Issuers with something to do: credentials not yet published or revoked on chain, or a
    /// transition in flight.
    async fn issuers_to_publish(&self) -> Result<Vec<IssuerId>, StoreError>;

    /// Takes or renews the right to publish for `issuer` for `ttl`: `true` if `owner` holds it
    /// now. One publisher per issuer across every instance sharing the database.
    async fn acquire_publisher_lease(
        &self,
        issuer: IssuerId,
        owner: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError>;

    /// The issuer's latest confirmed state, `None` before its first transition.
    async fn published_state(&self, issuer: IssuerId)
        -> Result<Option<PublishedState>, StoreError>;

    /// The issuer's transition in flight, if any (at most one).
    async fn in_flight_transition(
        &self,
        issuer: IssuerId,
    ) -> Result<Option<InFlightTransition>, StoreError>;

    /// Up to `limit` claims and up to `limit` revocations not yet in any transition, oldest
    /// first. A revoked credential whose claim never reached a state appears in both.
    async fn pending_work(&self, issuer: IssuerId, limit: u32) -> Result<PendingWork, StoreError>;

    /// Persists the nodes and the computed transition and assigns the credentials to it, in
    /// one transaction. `Conflict` when a transition is already in flight for the issuer or a
    /// credential was taken meanwhile (nothing is written then).
    async fn begin_transition(&self, draft: TransitionDraft) -> Result<i64, StoreError>;

    /// Records a signed transaction of an in-flight transition before it is sent: the first
    /// one or a replacement (appended; earlier attempts are kept). Fenced by the lease: only
    /// while `owner` holds the issuer's publisher lease, so two instances never sign for one
    /// issuer at once. `Conflict` when the lease is not held or the nonce differs from the
    /// earlier attempts'; `NotFound` when the transition is not in flight.
    async fn record_transition_tx(
        &self,
        id: i64,
        tx: TransitionTx,
        owner: &str,
    ) -> Result<(), StoreError>;

    /// The transition is on chain: it becomes the issuer's latest state, its claims'
    /// credentials `ONCHAIN` (unless revoked meanwhile) and its revocations `REMOVE`, all
    /// with the tx hash, block number and `identity_state` (the state, little-endian hex as
    /// iden3 prints it), and their `credential.onchain` / `credential.removed` events in the
    /// same transaction. Returns how many credentials changed.
    async fn confirm_transition(&self, id: i64, at: &Confirmation) -> Result<u64, StoreError>;

    /// The chain refused the transition: it is closed and its credentials are pending again,
    /// so the next transition is recomputed from the latest confirmed state.
    async fn abandon_transition(&self, id: i64, reason: &str) -> Result<(), StoreError>;

    /// The chain holds the new state of a transition the store had abandoned, or has in
    /// flight: reconcile the store with it. Any other transition in flight for the issuer is
    /// abandoned (its base is stale), then this one is confirmed as by
    /// [`PublishStore::confirm_transition`] with exactly the credentials it was computed with.
    /// `Conflict` if one of them has meanwhile been taken by another transition or its
    /// transition does not start from the issuer's latest confirmed state; `NotFound` if it is
    /// already confirmed or does not exist. Returns how many credentials changed.
    async fn adopt_transition(&self, id: i64, at: &Confirmation) -> Result<u64, StoreError>;

    /// The issuer's newest transition (in flight first) whose new state is `state`, whatever
    /// its status. The same state can be computed again after an abandon.
    async fn transition_by_new_state(
        &self,
        issuer: IssuerId,
        state: claimd_iden3::Fr,
    ) -> Result<Option<TransitionRecord>, StoreError>;

    /// The issuer's last `limit` transitions, newest first.
    async fn transitions(
        &self,
        issuer: IssuerId,
        limit: u32,
    ) -> Result<Vec<TransitionRecord>, StoreError>;

    /// Counts of what waits to be published, over all issuers.
    async fn publish_backlog(&self) -> Result<PublishBacklog, StoreError>;
}

/// One transition as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionSummary {
    pub id: i64,
    /// `COMPUTED`, `SIGNED`, `CONFIRMED` or `ABANDONED`.
    pub status: String,
    pub new_state: claimd_iden3::Fr,
    pub tx_hash: Option<String>,
    pub tx_nonce: Option<u64>,
    pub block_number: Option<u64>,
    /// Why it was abandoned.
    pub failure: Option<String>,
    /// Credentials whose claim it carries, and whose revocation.
    pub claims: u64,
    pub revocations: u64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Where an issuer's publishing stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishingOverview {
    pub published: Option<PublishedState>,
    pub in_flight: Option<TransitionSummary>,
    /// Credentials whose claim is in no transition yet.
    pub pending_claims: u64,
    /// Revoked credentials whose nonce is in no transition yet.
    pub pending_revocations: u64,
    /// The latest transitions, newest first.
    pub recent: Vec<TransitionSummary>,
}

/// Read side of publishing: what proofs and operators need to know about confirmed states.
#[async_trait]
pub trait PublicationView: Send + Sync {
    /// The confirmed state whose claims tree first holds the credential's claim, `None` while
    /// its claim is not confirmed on chain.
    async fn claim_publication(
        &self,
        core_claim_hash: &str,
    ) -> Result<Option<PublishedState>, StoreError>;

    /// The issuer's publishing: latest confirmed state, transition in flight, pending work and
    /// the `recent` latest transitions.
    async fn publishing_overview(
        &self,
        issuer: IssuerId,
        recent: u32,
    ) -> Result<PublishingOverview, StoreError>;
}
