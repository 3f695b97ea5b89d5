//! [`CredentialStore`] on PostgreSQL. An issuance is core's rules ([`commit::issue`]) on one
//! transaction, through [`crate::tx::PgTx`], whose primitives take the locks that make
//! concurrent instances safe.

use crate::rows::{decode_opt, map_err};
use crate::tx::{placeholders, PgTx};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_core::commit;
use claimd_core::credential::{CredentialRecord, CredentialStatus};
use claimd_core::store::{CredentialStore, IssueCommit, IssueOutcome, StoreError};
use claimd_core::webhook::EventType;
use claimd_core::{IssuerId, PartnerId, ProgramId, SchemaId, UserId};
use sqlx::postgres::PgRow;
use sqlx::Row;

const CREDENTIAL_SELECT: &str = "SELECT c.core_claim_hash, c.vc_id, c.partner_id, c.issuer_id, \
     i.did AS issuer_did, c.program_id, c.schema_id, c.user_id, c.revocation_nonce, c.status, \
     c.issuance_date, c.expiration_date, c.core_claim, c.document, c.tx_hash, c.block_number, \
     c.identity_state FROM credentials c JOIN issuers i ON i.id = c.issuer_id";

pub(crate) fn credential(r: &PgRow) -> Result<CredentialRecord, StoreError> {
    let status: String = r.get("status");
    let nonce: i64 = r.get("revocation_nonce");
    let block: Option<i64> = r.get("block_number");
    Ok(CredentialRecord {
        core_claim_hash: r.get("core_claim_hash"),
        vc_id: r.get("vc_id"),
        partner_id: PartnerId(r.get("partner_id")),
        issuer_id: IssuerId(r.get("issuer_id")),
        issuer_did: r.get("issuer_did"),
        program_id: ProgramId(r.get("program_id")),
        schema_id: SchemaId(r.get("schema_id")),
        user_id: UserId(r.get("user_id")),
        revocation_nonce: nonce as u64,
        status: CredentialStatus::from_stored(&status)?,
        issuance_date: r.get("issuance_date"),
        expiration_date: r.get("expiration_date"),
        core_claim: r.get("core_claim"),
        document: r.get("document"),
        tx_hash: r.get("tx_hash"),
        block_number: block.map(|b| b as u64),
        identity_state: r.get("identity_state"),
    })
}

#[async_trait]
impl CredentialStore for PgStore {
    async fn commit_issuance(&self, c: IssueCommit) -> Result<IssueOutcome, StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let outcome = commit::issue(&mut PgTx(&mut tx), &c).await?;
        // Any other outcome is rolled back (dropping the transaction): it must leave nothing.
        if outcome == IssueOutcome::Issued {
            tx.commit().await.map_err(map_err)?;
        }
        Ok(outcome)
    }

    async fn live_credential(
        &self,
        program: &ProgramId,
        user: UserId,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        let [live1, live2] = CredentialStatus::LIVE;
        decode_opt(
            sqlx::query(&format!(
                "{CREDENTIAL_SELECT} WHERE c.program_id = $1 AND c.user_id = $2 AND c.status IN ($3, $4)"
            ))
            .bind(program.as_str())
            .bind(user.0)
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
            &format!("{CREDENTIAL_SELECT} WHERE c.core_claim_hash = $1"),
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
            "UPDATE credentials SET status = $1, updated_at = $2 WHERE core_claim_hash = $3 AND status IN ({})",
            placeholders(4, from.len())
        );
        let mut q = sqlx::query(&sql)
            .bind(to.as_str())
            .bind(at)
            .bind(core_claim_hash);
        for s in from {
            q = q.bind(s.as_str());
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let changed = q.execute(&mut *tx).await.map_err(map_err)?.rows_affected() > 0;
        if let Some(event) = EventType::for_status(to).filter(|_| changed) {
            crate::webhooks::record_events(&mut tx, &[core_claim_hash.to_owned()], event, at)
                .await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(changed)
    }

    async fn credential_for_partner(
        &self,
        core_claim_hash: &str,
        partner: PartnerId,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        decode_opt(
            sqlx::query(&format!(
                "{CREDENTIAL_SELECT} WHERE c.core_claim_hash = $1 AND c.partner_id = $2"
            ))
            .bind(core_claim_hash)
            .bind(partner.0)
            .fetch_optional(&self.pool)
            .await,
            credential,
        )
    }
}
