//! [`CredentialStore`] on PostgreSQL. Several claimd instances may issue at once, so the
//! issuance transaction serialises exactly what must be serialised with transaction-scoped
//! advisory locks: one per (program, user) — the duplicate rule — and one per idempotency key.
//! Requests for different users never wait for each other; the unique indexes stay the final
//! guard.

use crate::rows::map_err;
use crate::PgStore;
use async_trait::async_trait;
use chrono::Utc;
use claimd_core::credential::{CredentialRecord, CredentialStatus};
use claimd_core::store::{CredentialStore, IssueCommit, IssueOutcome, OnDuplicate, StoreError};
use claimd_core::user::{Email, User};
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
        status: CredentialStatus::parse(&status)
            .ok_or_else(|| StoreError::Internal(format!("bad credential status {status:?}")))?,
        issuance_date: r.get("issuance_date"),
        expiration_date: r.get("expiration_date"),
        core_claim: r.get("core_claim"),
        document: r.get("document"),
        tx_hash: r.get("tx_hash"),
        block_number: block.map(|b| b as u64),
        identity_state: r.get("identity_state"),
    })
}

/// Takes a transaction-scoped advisory lock on a text key.
async fn lock(tx: &mut sqlx::PgConnection, key: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key)
        .execute(tx)
        .await
        .map(|_| ())
        .map_err(map_err)
}

#[async_trait]
impl CredentialStore for PgStore {
    async fn commit_issuance(&self, c: IssueCommit) -> Result<IssueOutcome, StoreError> {
        let now = Utc::now();
        let cred = &c.credential;
        let partner = cred.partner_id.0;
        let mut tx = self.pool.begin().await.map_err(map_err)?;

        if let Some((key, hash)) = &c.idempotency {
            lock(&mut tx, &format!("idem:{partner}:{key}")).await?;
            let row = sqlx::query(
                "SELECT request_hash, response, created_at FROM idempotency_keys WHERE partner_id = $1 AND key = $2",
            )
            .bind(partner)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
            if let Some(row) = row {
                let created: chrono::DateTime<Utc> = row.get("created_at");
                if now - created < chrono::Duration::hours(24) {
                    let stored: String = row.get("request_hash");
                    return Ok(if &stored == hash {
                        IssueOutcome::Replay {
                            response: row.get("response"),
                        }
                    } else {
                        IssueOutcome::IdempotencyConflict
                    });
                }
                sqlx::query("DELETE FROM idempotency_keys WHERE partner_id = $1 AND key = $2")
                    .bind(partner)
                    .bind(key)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
        }

        // Serialise requests for the same (program, user); the user is keyed by email because
        // its id may not exist yet.
        lock(
            &mut tx,
            &format!("dup:{}:{}", cred.program_id, c.user.email.as_str()),
        )
        .await?;

        sqlx::query(
            "INSERT INTO users (id, email, holder_did, holder_key, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(c.user.user_id.0)
        .bind(c.user.email.as_str())
        .bind(&c.user.holder_did)
        .bind(&c.user.holder_key)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let row = sqlx::query(
            "SELECT id, email, holder_did, created_at FROM users WHERE email = $1 FOR UPDATE",
        )
        .bind(c.user.email.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        let id: uuid::Uuid = row.get("id");
        let holder: Option<String> = row.get("holder_did");
        if id != c.user.user_id.0 || holder.as_deref().is_some_and(|h| h != c.user.holder_did) {
            return Ok(IssueOutcome::UserChanged(User {
                user_uuid: UserId(id),
                email: Email::from_stored(row.get("email")),
                holder_did: holder,
                created_at: row.get("created_at"),
            }));
        }
        if holder.is_none() {
            sqlx::query("UPDATE users SET holder_did = $1, holder_key = $2 WHERE id = $3")
                .bind(&c.user.holder_did)
                .bind(&c.user.holder_key)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }

        let consent: Option<String> = sqlx::query_scalar(
            "SELECT status FROM consents WHERE user_id = $1 AND partner_id = $2",
        )
        .bind(id)
        .bind(partner)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if consent.as_deref() == Some("rejected") {
            return Ok(IssueOutcome::ConsentRejected);
        }

        let live: Option<String> = sqlx::query_scalar(
            "SELECT core_claim_hash FROM credentials WHERE program_id = $1 AND user_id = $2 \
             AND status IN ('WAIT_ONCHAIN', 'ONCHAIN') FOR UPDATE",
        )
        .bind(cred.program_id.as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if let Some(hash) = live {
            match c.on_duplicate {
                OnDuplicate::Ignore => {
                    return Ok(IssueOutcome::Existing {
                        core_claim_hash: hash,
                    })
                }
                OnDuplicate::Revoke => {
                    sqlx::query(
                        "UPDATE credentials SET status = 'WAIT_REMOVE', updated_at = $1 WHERE core_claim_hash = $2",
                    )
                    .bind(now)
                    .bind(&hash)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
            }
        }

        // The row lock on the program serialises the counter across instances.
        let counted = sqlx::query(
            "UPDATE programs SET issued_count = issued_count + 1 \
             WHERE id = $1 AND (max_issuance IS NULL OR issued_count < max_issuance)",
        )
        .bind(cred.program_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if counted.rows_affected() == 0 {
            return Ok(IssueOutcome::CapReached);
        }

        let inserted = sqlx::query(
            "INSERT INTO credentials (core_claim_hash, vc_id, partner_id, issuer_id, program_id, schema_id, \
             user_id, revocation_nonce, status, issuance_date, expiration_date, core_claim, document, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&cred.core_claim_hash)
        .bind(&cred.vc_id)
        .bind(partner)
        .bind(cred.issuer_id.0)
        .bind(cred.program_id.as_str())
        .bind(cred.schema_id.0)
        .bind(id)
        .bind(cred.revocation_nonce as i64)
        .bind(CredentialStatus::WaitOnchain.as_str())
        .bind(cred.issuance_date)
        .bind(cred.expiration_date)
        .bind(&cred.core_claim)
        .bind(&cred.document)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(db))
                if db.is_unique_violation()
                    && db
                        .constraint()
                        .is_some_and(|k| k.contains("revocation_nonce")) =>
            {
                return Ok(IssueOutcome::NonceTaken);
            }
            Err(e) => return Err(map_err(e)),
        }

        if let Some((key, hash)) = &c.idempotency {
            sqlx::query(
                "INSERT INTO idempotency_keys (partner_id, key, request_hash, response, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(partner)
            .bind(key)
            .bind(hash)
            .bind(&c.response)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(IssueOutcome::Issued)
    }

    async fn live_credential(
        &self,
        program: &ProgramId,
        user: UserId,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        sqlx::query(&format!(
            "{CREDENTIAL_SELECT} WHERE c.program_id = $1 AND c.user_id = $2 AND c.status IN ('WAIT_ONCHAIN', 'ONCHAIN')"
        ))
        .bind(program.as_str())
        .bind(user.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(credential)
        .transpose()
    }

    async fn credential(
        &self,
        core_claim_hash: &str,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        sqlx::query(&format!("{CREDENTIAL_SELECT} WHERE c.core_claim_hash = $1"))
            .bind(core_claim_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(credential)
            .transpose()
    }

    async fn revoke_credential(
        &self,
        core_claim_hash: &str,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        // One statement: atomic against a concurrent revoke-duplicate or confirmation.
        sqlx::query(
            "UPDATE credentials SET status = 'WAIT_REMOVE', updated_at = $1 \
             WHERE core_claim_hash = $2 AND status IN ('WAIT_ONCHAIN', 'ONCHAIN')",
        )
        .bind(Utc::now())
        .bind(core_claim_hash)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        self.credential(core_claim_hash).await
    }

    async fn credential_for_partner(
        &self,
        core_claim_hash: &str,
        partner: PartnerId,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        sqlx::query(&format!(
            "{CREDENTIAL_SELECT} WHERE c.core_claim_hash = $1 AND c.partner_id = $2"
        ))
        .bind(core_claim_hash)
        .bind(partner.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(credential)
        .transpose()
    }
}
