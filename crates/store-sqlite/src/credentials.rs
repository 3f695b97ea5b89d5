//! [`CredentialStore`] on SQLite. Issuance runs in one `BEGIN IMMEDIATE` transaction: SQLite
//! has one writer at a time, so taking the write lock up front avoids lock-upgrade deadlocks and
//! makes the duplicate, cap and consent checks race-free.

use crate::rows::{map_err, ms, opt_time, time, uuid};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::Utc;
use claimd_core::credential::{CredentialRecord, CredentialStatus};
use claimd_core::store::{CredentialStore, IssueCommit, IssueOutcome, OnDuplicate, StoreError};
use claimd_core::user::{Email, User};
use claimd_core::{IssuerId, PartnerId, ProgramId, SchemaId, UserId};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

/// How long an idempotency key replays its first answer.
const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;

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
        status: CredentialStatus::parse(&status)
            .ok_or_else(|| StoreError::Internal(format!("bad credential status {status:?}")))?,
        issuance_date: time(r.get("issuance_date"))?,
        expiration_date: opt_time(r.get("expiration_date"))?,
        core_claim: r.get("core_claim"),
        document: r.get("document"),
        tx_hash: r.get("tx_hash"),
        block_number: block.map(|b| b as u64),
        identity_state: r.get("identity_state"),
    })
}

/// One issuance inside the writer's open transaction. Any outcome but `Issued` must leave
/// nothing behind: the caller rolls back to the savepoint taken before it.
fn issue_in_tx<'a>(
    conn: &'a mut SqliteConnection,
    c: &'a IssueCommit,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<IssueOutcome, StoreError>> + Send + 'a>,
> {
    // Boxed: the spawned group committer needs a future whose Send-ness does not depend on
    // higher-ranked lifetimes of sqlx's Executor impls.
    Box::pin(async move {
        let now = ms(Utc::now());
        let cred = &c.credential;
        let partner = cred.partner_id.to_string();

        if let Some((key, hash)) = &c.idempotency {
            let row = sqlx::query(
                "SELECT request_hash, response, created_at FROM idempotency_keys WHERE partner_id = ? AND key = ?",
            )
            .bind(&partner)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
            if let Some(row) = row {
                let created: i64 = row.get("created_at");
                if now - created < IDEMPOTENCY_TTL_MS {
                    let stored: String = row.get("request_hash");
                    return Ok(if &stored == hash {
                        IssueOutcome::Replay {
                            response: row.get("response"),
                        }
                    } else {
                        IssueOutcome::IdempotencyConflict
                    });
                }
                sqlx::query("DELETE FROM idempotency_keys WHERE partner_id = ? AND key = ?")
                    .bind(&partner)
                    .bind(key)
                    .execute(&mut *conn)
                    .await
                    .map_err(map_err)?;
            }
        }

        let user_id = c.user.user_id.to_string();
        let existing =
            sqlx::query("SELECT id, email, holder_did, created_at FROM users WHERE email = ?")
                .bind(c.user.email.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
        match existing {
            None => {
                sqlx::query(
                    "INSERT INTO users (id, email, holder_did, holder_key, created_at) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(&user_id)
                .bind(c.user.email.as_str())
                .bind(&c.user.holder_did)
                .bind(&c.user.holder_key)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
            }
            Some(row) => {
                let id: String = row.get("id");
                let holder: Option<String> = row.get("holder_did");
                if id != user_id || holder.as_deref().is_some_and(|h| h != c.user.holder_did) {
                    return Ok(IssueOutcome::UserChanged(User {
                        user_uuid: UserId(uuid(&id)?),
                        email: Email::from_stored(row.get("email")),
                        holder_did: holder,
                        created_at: time(row.get("created_at"))?,
                    }));
                }
                if holder.is_none() {
                    // Known from a consent record, first credential: give it its holder identity.
                    sqlx::query("UPDATE users SET holder_did = ?, holder_key = ? WHERE id = ?")
                        .bind(&c.user.holder_did)
                        .bind(&c.user.holder_key)
                        .bind(&user_id)
                        .execute(&mut *conn)
                        .await
                        .map_err(map_err)?;
                }
            }
        }

        let consent: Option<String> =
            sqlx::query_scalar("SELECT status FROM consents WHERE user_id = ? AND partner_id = ?")
                .bind(&user_id)
                .bind(&partner)
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
        if consent.as_deref() == Some("rejected") {
            return Ok(IssueOutcome::ConsentRejected);
        }

        let live: Option<String> = sqlx::query_scalar(
            "SELECT core_claim_hash FROM credentials WHERE program_id = ? AND user_id = ? \
             AND status IN ('WAIT_ONCHAIN', 'ONCHAIN')",
        )
        .bind(cred.program_id.as_str())
        .bind(&user_id)
        .fetch_optional(&mut *conn)
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
                        "UPDATE credentials SET status = 'WAIT_REMOVE', updated_at = ? WHERE core_claim_hash = ?",
                    )
                    .bind(now)
                    .bind(&hash)
                    .execute(&mut *conn)
                    .await
                    .map_err(map_err)?;
                }
            }
        }

        let counted = sqlx::query(
            "UPDATE programs SET issued_count = issued_count + 1 \
             WHERE id = ? AND (max_issuance IS NULL OR issued_count < max_issuance)",
        )
        .bind(cred.program_id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
        if counted.rows_affected() == 0 {
            return Ok(IssueOutcome::CapReached);
        }

        let inserted = sqlx::query(
            "INSERT INTO credentials (core_claim_hash, vc_id, partner_id, issuer_id, program_id, schema_id, \
             user_id, revocation_nonce, status, issuance_date, expiration_date, core_claim, document, \
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&cred.core_claim_hash)
        .bind(&cred.vc_id)
        .bind(&partner)
        .bind(cred.issuer_id.to_string())
        .bind(cred.program_id.as_str())
        .bind(cred.schema_id.to_string())
        .bind(&user_id)
        .bind(cred.revocation_nonce as i64)
        .bind(CredentialStatus::WaitOnchain.as_str())
        .bind(ms(cred.issuance_date))
        .bind(cred.expiration_date.map(ms))
        .bind(&cred.core_claim)
        .bind(&cred.document)
        .bind(now)
        .bind(now)
        .execute(&mut *conn)
        .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(db))
                if db.is_unique_violation() && db.message().contains("revocation_nonce") =>
            {
                return Ok(IssueOutcome::NonceTaken);
            }
            Err(e) => return Err(map_err(e)),
        }

        if let Some((key, hash)) = &c.idempotency {
            sqlx::query(
                "INSERT INTO idempotency_keys (partner_id, key, request_hash, response, created_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&partner)
            .bind(key)
            .bind(hash)
            .bind(&c.response)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        }
        Ok(IssueOutcome::Issued)
    })
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn commit_issuance(&self, c: IssueCommit) -> Result<IssueOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send((c, reply))
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Internal("the SQLite writer dropped a request".into()))?
    }

    async fn live_credential(
        &self,
        program: &ProgramId,
        user: UserId,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        sqlx::query(&format!(
            "{CREDENTIAL_SELECT} WHERE c.program_id = ? AND c.user_id = ? AND c.status IN ('WAIT_ONCHAIN', 'ONCHAIN')"
        ))
        .bind(program.as_str())
        .bind(user.to_string())
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
        sqlx::query(&format!("{CREDENTIAL_SELECT} WHERE c.core_claim_hash = ?"))
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
            "UPDATE credentials SET status = 'WAIT_REMOVE', updated_at = ? \
             WHERE core_claim_hash = ? AND status IN ('WAIT_ONCHAIN', 'ONCHAIN')",
        )
        .bind(ms(Utc::now()))
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
            "{CREDENTIAL_SELECT} WHERE c.core_claim_hash = ? AND c.partner_id = ?"
        ))
        .bind(core_claim_hash)
        .bind(partner.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .as_ref()
        .map(credential)
        .transpose()
    }
}

/// A request to the group committer and where to send its outcome.
pub(crate) type Job = (
    IssueCommit,
    oneshot::Sender<Result<IssueOutcome, StoreError>>,
);

/// Most issuances committed by one transaction.
const MAX_GROUP: usize = 256;

/// The group committer: SQLite allows one writer at a time and every commit costs an fsync,
/// so issuances queue here and each batch waiting is committed by ONE transaction (one
/// fsync), each issuance inside its own savepoint so one failure or refusal undoes only
/// itself. Nobody gets an answer before the transaction holding their credential is durable.
pub(crate) async fn writer(pool: sqlx::SqlitePool, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_group(&pool, batch).await;
    }
}

fn commit_group(
    pool: &sqlx::SqlitePool,
    batch: Vec<Job>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
    Box::pin(async move {
        let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
            Ok(tx) => tx,
            Err(e) => {
                let e = map_err(e);
                for (_, reply) in batch {
                    let _ = reply.send(Err(StoreError::Unavailable(e.to_string())));
                }
                return;
            }
        };
        let mut answers = Vec::with_capacity(batch.len());
        for (commit, reply) in batch {
            // A nested transaction is a savepoint: released if issued, rolled back otherwise.
            let outcome = match sqlx::Acquire::begin(&mut *tx).await {
                Ok(mut savepoint) => {
                    let outcome = issue_in_tx(&mut savepoint, &commit).await;
                    if matches!(outcome, Ok(IssueOutcome::Issued)) {
                        savepoint.commit().await.map_err(map_err).and(outcome)
                    } else {
                        let _ = savepoint.rollback().await;
                        outcome
                    }
                }
                Err(e) => Err(map_err(e)),
            };
            answers.push((outcome, reply));
        }
        match tx.commit().await {
            Ok(()) => {
                for (outcome, reply) in answers {
                    let _ = reply.send(outcome);
                }
            }
            Err(e) => {
                let e = map_err(e);
                for (_, reply) in answers {
                    let _ = reply.send(Err(StoreError::Unavailable(e.to_string())));
                }
            }
        }
    })
}
