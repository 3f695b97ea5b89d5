//! [`CredentialStore`] on SQLite. Issuance runs in one `BEGIN IMMEDIATE` transaction: SQLite
//! has one writer at a time, so taking the write lock up front avoids lock-upgrade deadlocks and
//! makes the duplicate, cap and consent checks race-free. The checks themselves are core's
//! ([`commit::issue`]); this module runs them on its transaction through [`crate::tx`].

use crate::rows::{decode_opt, map_err, ms, opt_time, time, uuid};
use crate::tx::{placeholders, SqliteTx, WriteTx, Writes};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_core::commit;
use claimd_core::group::{self, GroupTx, Job};
use claimd_core::credential::{CredentialRecord, CredentialStatus};
use claimd_core::store::{CredentialStore, IssueCommit, IssueOutcome, StoreError};
use claimd_core::{IssuerId, PartnerId, ProgramId, SchemaId, UserId};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use tokio::sync::mpsc;

const CREDENTIAL_SELECT: &str = "SELECT c.core_claim_hash, c.vc_id, c.partner_id, c.issuer_id, \
     i.did AS issuer_did, c.program_id, c.schema_id, c.user_id, c.revocation_nonce, c.status, \
     c.issuance_date, c.expiration_date, c.core_claim, c.document, c.tx_hash, c.block_number, \
     c.identity_state FROM credentials c JOIN issuers i ON i.id = c.issuer_id";

pub(crate) fn credential(r: &SqliteRow) -> Result<CredentialRecord, StoreError> {
    let status: String = r.get("status");
    let nonce: i64 = r.get("revocation_nonce");
    let block: Option<i64> = r.get("block_number");
    Ok(CredentialRecord {
        core_claim_hash: r.get("core_claim_hash"),
        vc_id: r.get("vc_id"),
        partner_id: PartnerId(uuid(r.get("partner_id"))?),
        issuer_id: IssuerId(uuid(r.get("issuer_id"))?),
        issuer_did: r.get("issuer_did"),
        program_id: ProgramId(r.get("program_id")),
        schema_id: SchemaId(uuid(r.get("schema_id"))?),
        user_id: UserId(uuid(r.get("user_id"))?),
        revocation_nonce: nonce as u64,
        status: CredentialStatus::from_stored(&status)?,
        issuance_date: time(r.get("issuance_date"))?,
        expiration_date: opt_time(r.get("expiration_date"))?,
        core_claim: r.get("core_claim"),
        document: r.get("document"),
        tx_hash: r.get("tx_hash"),
        block_number: block.map(|b| b as u64),
        identity_state: r.get("identity_state"),
    })
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn commit_issuance(&self, c: IssueCommit) -> Result<IssueOutcome, StoreError> {
        group::submit(&self.writer, c).await
    }

    async fn live_credential(
        &self,
        program: &ProgramId,
        user: UserId,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        let [live1, live2] = CredentialStatus::LIVE;
        decode_opt(
            sqlx::query(&format!(
                "{CREDENTIAL_SELECT} WHERE c.program_id = ? AND c.user_id = ? AND c.status IN (?, ?)"
            ))
            .bind(program.as_str())
            .bind(user.to_string())
            .bind(live1.as_str())
            .bind(live2.as_str())
            .fetch_optional(&self.pool)
            .await,
            credential,
        )
    }

    async fn credential(
        &self,
        core_claim_hash: &str,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        self.find(
            &format!("{CREDENTIAL_SELECT} WHERE c.core_claim_hash = ?"),
            core_claim_hash,
            credential,
        )
        .await
    }

    async fn change_credential_status(
        &self,
        core_claim_hash: &str,
        from: &[CredentialStatus],
        to: CredentialStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE credentials SET status = ?, updated_at = ? WHERE core_claim_hash = ? AND status IN ({})",
            placeholders(from.len())
        );
        let mut q = sqlx::query(&sql)
            .bind(to.as_str())
            .bind(ms(at))
            .bind(core_claim_hash);
        for s in from {
            q = q.bind(s.as_str());
        }
        let _turn = self.writes.turn().await;
        let done = q.execute(&self.pool).await.map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn credential_for_partner(
        &self,
        core_claim_hash: &str,
        partner: PartnerId,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        decode_opt(
            sqlx::query(&format!(
                "{CREDENTIAL_SELECT} WHERE c.core_claim_hash = ? AND c.partner_id = ?"
            ))
            .bind(core_claim_hash)
            .bind(partner.to_string())
            .fetch_optional(&self.pool)
            .await,
            credential,
        )
    }
}

/// Most issuances committed by one transaction.
const MAX_GROUP: usize = 256;

/// The group committer ([`group`]): SQLite allows one writer at a time and every commit costs
/// an fsync, so issuances queue here and each batch waiting is committed by ONE `BEGIN
/// IMMEDIATE` transaction (one fsync), each issuance inside its own savepoint.
pub(crate) async fn writer(writes: Writes, mut rx: mpsc::Receiver<Job>) {
    while let Some(batch) = group::next_batch(&mut rx, MAX_GROUP).await {
        let begun = writes.begin().await.map_err(map_err).map(GroupWrite);
        group::commit_group(begun, batch).await;
    }
}

/// The committer's open transaction.
struct GroupWrite(WriteTx);

#[async_trait]
impl GroupTx for GroupWrite {
    async fn issue_in_savepoint(&mut self, c: &IssueCommit) -> Result<IssueOutcome, StoreError> {
        // A nested transaction is a savepoint: released if issued, rolled back otherwise.
        let mut savepoint = sqlx::Acquire::begin(&mut *self.0).await.map_err(map_err)?;
        let outcome = commit::issue(&mut SqliteTx(&mut savepoint), c).await;
        if matches!(outcome, Ok(IssueOutcome::Issued)) {
            savepoint.commit().await.map_err(map_err).and(outcome)
        } else {
            let _ = savepoint.rollback().await;
            outcome
        }
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.0.commit().await.map_err(map_err)
    }
}
