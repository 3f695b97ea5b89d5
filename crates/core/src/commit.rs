//! The rules decided inside one store transaction, written once: an issuance (idempotency →
//! user → consent → duplicate → cap → credential), a consent record, and a revocation.
//!
//! The adapters implement [`StoreTx`], a port of atomic primitives on their open transaction,
//! and keep their own SQL and their own way of making the transaction safe against concurrent
//! ones (SQLite: one writer and a savepoint per issuance; PostgreSQL: advisory locks). What is
//! checked, in which order, how long an idempotency key lives and what a stored status means is
//! decided here only.

use crate::credential::{CredentialRecord, CredentialStatus};
use crate::store::{CredentialStore, IssueCommit, IssueOutcome, OnDuplicate, StoreError};
use crate::user::{Consent, ConsentDraft, ConsentStatus, Email, User};
use crate::{PartnerId, ProgramId, UserId};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

/// How long an idempotency key replays its first answer; after that the key is free again.
pub const IDEMPOTENCY_TTL: TimeDelta = TimeDelta::hours(24);

/// What a revocation makes of a live credential: the publisher puts its nonce in the next
/// transition. Only [`CredentialStatus::LIVE`] credentials can be revoked.
pub const REVOKED: CredentialStatus = CredentialStatus::WaitRemove;

/// An idempotency key's record: the request it was first used with and the answer given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyEntry {
    /// Hash of the request body.
    pub request_hash: String,
    /// The JSON answer, replayed as it is.
    pub response: String,
    pub created_at: DateTime<Utc>,
}

/// The atomic primitives the rules need, on one open transaction. Nothing here decides: each
/// method is one read or one write. Where the backend runs several writers at once, the
/// methods that say so also lock, until the transaction ends.
#[async_trait]
pub trait StoreTx: Send {
    /// The key's record for this partner, if any. Locks the key.
    async fn idempotency_entry(
        &mut self,
        partner: PartnerId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>, StoreError>;
    async fn forget_idempotency(&mut self, partner: PartnerId, key: &str)
        -> Result<(), StoreError>;
    async fn remember_idempotency(
        &mut self,
        partner: PartnerId,
        key: &str,
        entry: &IdempotencyEntry,
    ) -> Result<(), StoreError>;

    /// Serialises issuances of one program to one email (the duplicate rule). The email, not
    /// the user id: the user may not exist yet.
    async fn lock_holder(&mut self, program: &ProgramId, email: &Email) -> Result<(), StoreError>;

    async fn partner_exists(&mut self, partner: PartnerId) -> Result<bool, StoreError>;
    /// Creates the user unless the email is taken (then nothing changes). `holder` is its
    /// holder DID and sealed key, when it has one.
    async fn insert_user_if_new(
        &mut self,
        user: UserId,
        email: &Email,
        holder: Option<(&str, &[u8])>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The user with this email. Locks the row.
    async fn user_by_email(&mut self, email: &Email) -> Result<Option<User>, StoreError>;
    /// Gives a user known only from a consent record its holder identity.
    async fn give_holder(
        &mut self,
        user: UserId,
        holder_did: &str,
        holder_key: &[u8],
    ) -> Result<(), StoreError>;

    /// The user's consent record for the partner, parsed.
    async fn consent(
        &mut self,
        user: UserId,
        partner: PartnerId,
    ) -> Result<Option<ConsentStatus>, StoreError>;
    /// Writes (or overwrites) the consent record and returns it as stored.
    async fn put_consent(
        &mut self,
        user: UserId,
        partner: PartnerId,
        status: ConsentStatus,
        at: DateTime<Utc>,
    ) -> Result<Consent, StoreError>;

    /// The `coreClaimHash` of the (program, user)'s credential whose status is one of
    /// [`CredentialStatus::LIVE`], if any. Locks the row.
    async fn live_credential(
        &mut self,
        program: &ProgramId,
        user: UserId,
    ) -> Result<Option<String>, StoreError>;
    async fn set_credential_status(
        &mut self,
        core_claim_hash: &str,
        status: CredentialStatus,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Writes the credential's event (its facts as they are now in this transaction) and
    /// queues it for every enabled endpoint of its partner subscribed to `event` (the outbox).
    async fn record_event(
        &mut self,
        core_claim_hash: &str,
        event: crate::webhook::EventType,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Counts one more issuance of the program unless that would pass its maximum: `false`
    /// when the cap is reached (nothing counted).
    async fn take_issuance_slot(&mut self, program: &ProgramId) -> Result<bool, StoreError>;
    /// Stores the credential with `status`: `false` when the issuer already used its
    /// revocation nonce (nothing stored).
    async fn insert_credential(
        &mut self,
        credential: &CredentialRecord,
        status: CredentialStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// Whether an idempotency record made at `created_at` still answers at `now`.
pub fn idempotency_live(created_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - created_at < IDEMPOTENCY_TTL
}

/// What a request does when the (program, user) already has a live credential `existing`:
/// `Some(outcome)` to answer at once, `None` to go on (and revoke it, with
/// [`OnDuplicate::Revoke`]).
pub fn on_live_duplicate(on_duplicate: OnDuplicate, existing: &str) -> Option<IssueOutcome> {
    match on_duplicate {
        OnDuplicate::Ignore => Some(IssueOutcome::Existing {
            core_claim_hash: existing.to_owned(),
        }),
        OnDuplicate::Revoke => None,
    }
}

/// Commits one issuance on `tx` at `commit.at`. Any outcome but [`IssueOutcome::Issued`] may
/// leave writes behind: the caller rolls the transaction (or its savepoint) back.
pub async fn issue(tx: &mut dyn StoreTx, c: &IssueCommit) -> Result<IssueOutcome, StoreError> {
    let now = c.at;
    let cred = &c.credential;
    let partner = cred.partner_id;

    // 1. Idempotency: a live key answers as it did the first time, or refuses another body.
    if let Some((key, hash)) = &c.idempotency {
        if let Some(seen) = tx.idempotency_entry(partner, key).await? {
            if idempotency_live(seen.created_at, now) {
                return Ok(if &seen.request_hash == hash {
                    IssueOutcome::Replay {
                        response: seen.response,
                    }
                } else {
                    IssueOutcome::IdempotencyConflict
                });
            }
            tx.forget_idempotency(partner, key).await?;
        }
    }

    // 2. User: the one the credential was built for, or the caller rebuilds.
    tx.lock_holder(&cred.program_id, &c.user.email).await?;
    tx.insert_user_if_new(
        c.user.user_id,
        &c.user.email,
        Some((&c.user.holder_did, &c.user.holder_key)),
        now,
    )
    .await?;
    let stored = tx
        .user_by_email(&c.user.email)
        .await?
        .ok_or_else(|| StoreError::Internal("the user just written is not there".into()))?;
    if stored.user_uuid != c.user.user_id
        || stored
            .holder_did
            .as_deref()
            .is_some_and(|h| h != c.user.holder_did)
    {
        return Ok(IssueOutcome::UserChanged(stored));
    }
    if stored.holder_did.is_none() {
        // Known from a consent record, first credential: give it its holder identity.
        tx.give_holder(stored.user_uuid, &c.user.holder_did, &c.user.holder_key)
            .await?;
    }
    let user = stored.user_uuid;

    // 3. Consent.
    if !ConsentStatus::allows_issuance(tx.consent(user, partner).await?) {
        return Ok(IssueOutcome::ConsentRejected);
    }

    // 4. Duplicate.
    if let Some(existing) = tx.live_credential(&cred.program_id, user).await? {
        if let Some(outcome) = on_live_duplicate(c.on_duplicate, &existing) {
            return Ok(outcome);
        }
        tx.set_credential_status(&existing, REVOKED, now).await?;
        if let Some(event) = crate::webhook::EventType::for_status(REVOKED) {
            tx.record_event(&existing, event, now).await?;
        }
    }

    // 5. Cap.
    if !tx.take_issuance_slot(&cred.program_id).await? {
        return Ok(IssueOutcome::CapReached);
    }

    // 6. The credential, waiting for the state transition that will contain its claim.
    if !tx
        .insert_credential(cred, CredentialStatus::WaitOnchain, now)
        .await?
    {
        return Ok(IssueOutcome::NonceTaken);
    }
    if let Some((key, hash)) = &c.idempotency {
        let entry = IdempotencyEntry {
            request_hash: hash.clone(),
            response: c.response.clone(),
            created_at: now,
        };
        tx.remember_idempotency(partner, key, &entry).await?;
    }
    Ok(IssueOutcome::Issued)
}

/// Records consent on `tx`, creating the user when the email is new. `NotFound("partner")`
/// when the partner does not exist.
pub async fn set_consent(
    tx: &mut dyn StoreTx,
    d: &ConsentDraft,
    at: DateTime<Utc>,
) -> Result<Consent, StoreError> {
    if !tx.partner_exists(d.partner_id).await? {
        return Err(StoreError::NotFound("partner"));
    }
    tx.insert_user_if_new(UserId::new_random(), &d.email, None, at)
        .await?;
    let user = tx
        .user_by_email(&d.email)
        .await?
        .ok_or_else(|| StoreError::Internal("the user just written is not there".into()))?;
    tx.put_consent(user.user_uuid, d.partner_id, d.status, at)
        .await
}

/// Revokes a live credential (see [`REVOKED`]); a credential already revoked is left as it is.
/// Returns the credential as it is now, `None` if no credential has that hash.
pub async fn revoke<S: CredentialStore + ?Sized>(
    store: &S,
    core_claim_hash: &str,
    at: DateTime<Utc>,
) -> Result<Option<CredentialRecord>, StoreError> {
    // One compare-and-set: atomic against a concurrent revoke-duplicate or confirmation.
    store
        .change_credential_status(core_claim_hash, &CredentialStatus::LIVE, REVOKED, at)
        .await?;
    store.credential(core_claim_hash).await
}
