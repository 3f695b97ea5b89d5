//! [`CredentialStore`] on SQLite. Issuance runs in one `BEGIN IMMEDIATE` transaction: SQLite
//! has one writer at a time, so taking the write lock up front avoids lock-upgrade deadlocks and
//! makes the duplicate, cap and consent checks race-free. The checks themselves are core's
//! ([`commit::issue`]); this module runs them on its transaction through [`crate::tx`].

use crate::rows::{decode_opt, map_err, ms, opt_time, time, uuid};
use crate::tx::{begin_write, placeholders, SqliteTx};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_core::commit;
use claimd_core::credential::{CredentialRecord, CredentialStatus};
use claimd_core::store::{CredentialStore, IssueCommit, IssueOutcome, StoreError};
use claimd_core::webhook::EventType;
use claimd_core::{IssuerId, PartnerId, ProgramId, SchemaId, UserId};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

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

/// One issuance inside the writer's open transaction: the rules of [`commit::issue`] on this
/// connection. Any outcome but `Issued` must leave nothing behind: the caller rolls back to the
/// savepoint taken before it.
fn issue_in_tx<'a>(
    conn: &'a mut SqliteConnection,
    c: &'a IssueCommit,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<IssueOutcome, StoreError>> + Send + 'a>,
> {
    // Boxed: the spawned group committer needs a future whose Send-ness does not depend on
    // higher-ranked lifetimes of sqlx's Executor impls.
    Box::pin(async move { commit::issue(&mut SqliteTx(conn), c).await })
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
        let mut tx = crate::tx::begin_write(&self.pool).await.map_err(map_err)?;
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
        let mut tx = match begin_write(pool).await {
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
