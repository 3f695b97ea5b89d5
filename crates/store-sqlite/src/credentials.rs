//! [`CredentialStore`] on SQLite. Issuance runs in one `BEGIN IMMEDIATE` transaction: SQLite
//! has one writer at a time, so taking the write lock up front avoids lock-upgrade deadlocks and
//! makes the duplicate, cap and consent checks race-free. The checks themselves are core's
//! ([`commit::issue`]); this module runs them on its transaction through [`crate::tx`].

use crate::rows::{decode_opt, map_direct_err, map_err, ms, opt_time, time, uuid};
use crate::tx::{placeholders, DirectTx, Writer};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_core::commit;
use claimd_core::credential::{CredentialRecord, CredentialStatus};
use claimd_core::group::{self, GroupTx, Job};
use claimd_core::page::{Page, PageRequest};
use claimd_core::store::{
    CredentialCounts, CredentialFilter, CredentialStore, IssueCommit, IssueOutcome, StoreError,
};
use claimd_core::webhook::EventType;
use claimd_core::{IssuerId, PartnerId, ProgramId, SchemaId, UserId};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use tokio::sync::mpsc;

const CREDENTIAL_SELECT: &str = "SELECT c.core_claim_hash, c.vc_id, c.partner_id, c.issuer_id, \
     i.did AS issuer_did, c.program_id, c.schema_id, c.user_id, c.revocation_nonce, c.status, \
     c.issuance_date, c.expiration_date, c.core_claim, c.document, c.tx_hash, c.block_number, \
     c.identity_state FROM credentials c JOIN issuers i ON i.id = c.issuer_id";

const PROGRAM_COND: &str = "c.program_id = ?";
const USER_COND: &str = "c.user_id = ?";

/// `WHERE a AND b` of the listing's conditions, and how many placeholders they use.
fn numbered(conds: &[&str]) -> (String, usize) {
    if conds.is_empty() {
        (String::new(), 0)
    } else {
        (format!("WHERE {}", conds.join(" AND ")), conds.len())
    }
}

fn limit_offset(_: usize) -> String {
    "LIMIT ? OFFSET ?".to_owned()
}

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
        group::submit(&self.issuances, c).await
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
        let mut tx = self.writes.begin().await.map_err(map_err)?;
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

    async fn credential_counts(&self) -> Result<CredentialCounts, StoreError> {
        // Kept by triggers (migration 20261207000016): counting the rows themselves took
        // 0.5 s with a million credentials.
        let rows = sqlx::query("SELECT status, n FROM credential_status_counts")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let mut counts = CredentialCounts::default();
        for r in &rows {
            counts.add(
                r.get::<&str, _>("status"),
                r.get::<i64, _>("n").max(0) as u64,
            );
        }
        Ok(counts)
    }

    async fn issued_per_minute(&self, since: DateTime<Utc>) -> Result<Vec<(i64, u64)>, StoreError> {
        // A range of the created_at index.
        self.find_all(
            "SELECT created_at / 60000 AS m, COUNT(*) AS n FROM credentials \
             WHERE created_at >= ? GROUP BY m ORDER BY m",
            ms(since),
            |r| Ok((r.get("m"), r.get::<i64, _>("n").max(0) as u64)),
        )
        .await
    }

    async fn publish_lags(&self, since: DateTime<Utc>) -> Result<Vec<(i64, f64)>, StoreError> {
        self.find_all(
            "SELECT updated_at, updated_at - created_at AS lag FROM transitions \
             WHERE status = 'CONFIRMED' AND updated_at >= ? ORDER BY updated_at LIMIT 1000",
            ms(since),
            |r| {
                Ok((
                    r.get::<i64, _>("updated_at") / 1000,
                    r.get::<i64, _>("lag") as f64 / 1000.0,
                ))
            },
        )
        .await
    }

    async fn list_credentials(
        &self,
        filter: &CredentialFilter,
        page: PageRequest,
    ) -> Result<Page<CredentialRecord>, StoreError> {
        // Each combination has its index (migration 20261207000011): by program, by user, or
        // all of them by creation time.
        let mut conds = Vec::new();
        if filter.program_id.is_some() {
            conds.push(PROGRAM_COND);
        }
        if filter.user_id.is_some() {
            conds.push(USER_COND);
        }
        let (cond, n) = numbered(&conds);
        let list_sql = format!(
            "{CREDENTIAL_SELECT} {cond} ORDER BY c.created_at DESC, c.core_claim_hash DESC {}",
            limit_offset(n)
        );
        let count_sql = format!("SELECT COUNT(*) FROM credentials c {cond}");
        let mut list = sqlx::query(&list_sql);
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        if let Some(p) = &filter.program_id {
            list = list.bind(p.as_str());
            count = count.bind(p.as_str());
        }
        if let Some(u) = &filter.user_id {
            list = list.bind(u.to_string());
            count = count.bind(u.to_string());
        }
        let rows = list
            .bind(i64::from(page.limit))
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        // Unfiltered, the total is every credential: the kept counts, not a count of the rows.
        let total = if conds.is_empty() {
            self.credential_counts().await?.issued()
        } else {
            count.fetch_one(&self.pool).await.map_err(map_err)?.max(0) as u64
        };
        Ok(Page {
            items: rows.iter().map(credential).collect::<Result<_, _>>()?,
            page: page.page,
            limit: page.limit,
            total,
        })
    }
}

/// Most issuances committed by one transaction.
const MAX_GROUP: usize = 256;

/// The group committer ([`group`]): SQLite allows one writer at a time and every commit costs
/// an fsync, so issuances queue here and each batch waiting is committed by ONE `BEGIN
/// IMMEDIATE` transaction (one fsync) on the store's write connection, each issuance inside
/// its own savepoint.
pub(crate) async fn committer(writer: Writer, mut rx: mpsc::Receiver<Job>) {
    while let Some(batch) = group::next_batch(&mut rx, MAX_GROUP).await {
        // Every job is answered inside (or dropped with the thread, which its caller reports).
        let _ = writer
            .blocking(move |conn, run| {
                let begun = conn
                    .execute_batch("BEGIN IMMEDIATE")
                    .map_err(map_direct_err)
                    .map(|()| Group(conn));
                run.block_on(group::commit_group(begun, batch));
                Ok(())
            })
            .await;
    }
}

/// The committer's open transaction.
struct Group<'c>(&'c mut rusqlite::Connection);

#[async_trait]
impl GroupTx for Group<'_> {
    async fn issue_in_savepoint(&mut self, c: &IssueCommit) -> Result<IssueOutcome, StoreError> {
        // SQLite ends a transaction on its own after some failures (a full disk): what would
        // follow must not run, and commit, one statement at a time.
        if self.0.is_autocommit() {
            return Err(StoreError::Unavailable(
                "SQLite rolled the issuance transaction back".into(),
            ));
        }
        self.0
            .execute_batch("SAVEPOINT issuance")
            .map_err(map_direct_err)?;
        let outcome = commit::issue(&mut DirectTx(self.0), c).await;
        let end = if matches!(outcome, Ok(IssueOutcome::Issued)) {
            "RELEASE issuance"
        } else {
            "ROLLBACK TO issuance; RELEASE issuance"
        };
        match self.0.execute_batch(end) {
            Ok(()) => outcome,
            Err(e) if self.0.is_autocommit() => outcome.and(Err(map_direct_err(e))),
            Err(e) => Err(map_direct_err(e)),
        }
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.0.execute_batch("COMMIT").map_err(map_direct_err)
    }
}
