//! [`CredentialStore`] on PostgreSQL. An issuance is core's rules ([`commit::issue`]) on one
//! transaction, through [`crate::tx::PgTx`], whose primitives take the locks that make
//! concurrent instances safe.

use crate::rows::{decode_opt, map_err};
use crate::tx::{placeholders, PgTx, SlotLedger};
use crate::PgStore;
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
use sqlx::postgres::PgRow;
use sqlx::Row;
use sqlx::{PgPool, Postgres, Transaction};
use std::sync::Arc;
use tokio::sync::{mpsc, Mutex};

const CREDENTIAL_SELECT: &str = "SELECT c.core_claim_hash, c.vc_id, c.partner_id, c.issuer_id, \
     i.did AS issuer_did, c.program_id, c.schema_id, c.user_id, c.revocation_nonce, c.status, \
     c.issuance_date, c.expiration_date, c.core_claim, c.document, c.tx_hash, c.block_number, \
     c.identity_state FROM credentials c JOIN issuers i ON i.id = c.issuer_id";

const PROGRAM_COND: &str = "c.program_id = $";
const USER_COND: &str = "c.user_id = $";

/// `WHERE a AND b` of the listing's conditions with their placeholders numbered, and how many
/// placeholders they use.
fn numbered(conds: &[&str]) -> (String, usize) {
    if conds.is_empty() {
        return (String::new(), 0);
    }
    let parts: Vec<String> = conds
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c}{}", i + 1))
        .collect();
    (format!("WHERE {}", parts.join(" AND ")), conds.len())
}

fn limit_offset(used: usize) -> String {
    format!("LIMIT ${} OFFSET ${}", used + 1, used + 2)
}

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
        group::submit(&self.committer, c).await
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

    async fn credential_counts(&self) -> Result<CredentialCounts, StoreError> {
        // Kept by triggers (migration 20261207000016): the folded counts plus the deltas not
        // yet folded, in one snapshot. Counting the rows themselves took 0.5 s with a million.
        let rows = sqlx::query(
            "SELECT status, SUM(n)::bigint AS n FROM (\
             SELECT status, n FROM credential_status_counts \
             UNION ALL SELECT status, n FROM credential_status_deltas) s GROUP BY status",
        )
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
            "SELECT floor(extract(epoch FROM created_at) / 60)::bigint AS m, COUNT(*) AS n \
             FROM credentials WHERE created_at >= $1 GROUP BY m ORDER BY m",
            since,
            |r| Ok((r.get("m"), r.get::<i64, _>("n").max(0) as u64)),
        )
        .await
    }

    async fn publish_lags(&self, since: DateTime<Utc>) -> Result<Vec<(i64, f64)>, StoreError> {
        self.find_all(
            "SELECT floor(extract(epoch FROM updated_at))::bigint AS at, \
             extract(epoch FROM updated_at - created_at)::float8 AS lag FROM transitions \
             WHERE status = 'CONFIRMED' AND updated_at >= $1 ORDER BY updated_at LIMIT 1000",
            since,
            |r| Ok((r.get("at"), r.get("lag"))),
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
            list = list.bind(u.0);
            count = count.bind(u.0);
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

/// Group committers running at once: each holds one connection and one transaction. More
/// than one, because a group can wait on another instance's locks (the advisory locks of
/// `PgTx`); few, because each group already carries many issuances.
const COMMITTERS: usize = 4;

/// Most issuances committed by one transaction.
const MAX_GROUP: usize = 64;

/// How often [`fold_status_deltas`] runs.
const FOLD_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Folds the per-status deltas the credentials triggers append (migration 20261207000016) into
/// their counts every [`FOLD_EVERY`], for as long as a handle on the store (`alive`) exists, so
/// that the deltas a reader sums stay few. A failed fold changes nothing (readers sum the
/// deltas anyway) and is tried again at the next tick. Other instances sharing the database
/// fold too: each delta row is deleted by one of them only, and the counts are updated in
/// status order, so two folds never deadlock.
pub(crate) fn start_folding(pool: &PgPool, alive: mpsc::WeakSender<Job>) {
    let pool = pool.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(FOLD_EVERY).await;
            if alive.upgrade().is_none() || pool.is_closed() {
                return;
            }
            let _ = fold_status_deltas(&pool).await;
        }
    });
}

/// Moves every committed delta into `credential_status_counts`, in one statement.
pub(crate) async fn fold_status_deltas(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::query(
        "WITH moved AS (DELETE FROM credential_status_deltas RETURNING status, n) \
         INSERT INTO credential_status_counts (status, n) \
         SELECT status, SUM(n) FROM moved GROUP BY status ORDER BY status \
         ON CONFLICT (status) DO UPDATE SET n = credential_status_counts.n + excluded.n",
    )
    .execute(pool)
    .await
    .map(|_| ())
    .map_err(map_err)
}

/// Starts the group committers ([`group`]) and returns their queue. Issuances that wait
/// together share one transaction and one WAL flush, each in its own savepoint; the advisory
/// locks of the issuances in a group are held until the group commits, which is what keeps
/// them safe against other groups and other instances.
pub(crate) fn start_committers(pool: &PgPool) -> mpsc::Sender<Job> {
    let (queue, jobs) = mpsc::channel(4096);
    let jobs = Arc::new(Mutex::new(jobs));
    for _ in 0..COMMITTERS {
        let (pool, jobs) = (pool.clone(), jobs.clone());
        tokio::spawn(async move {
            loop {
                // One committer at a time collects a group; the others commit theirs meanwhile.
                let batch = { group::next_batch(&mut *jobs.lock().await, MAX_GROUP).await };
                let Some(batch) = batch else { return };
                let begun = pool.begin().await.map_err(map_err).map(|tx| GroupWrite {
                    tx,
                    slots: SlotLedger::default(),
                });
                group::commit_group(begun, batch).await;
            }
        });
    }
    queue
}

/// A committer's open transaction, and the slots of uncapped programs its issuances took.
struct GroupWrite {
    tx: Transaction<'static, Postgres>,
    slots: SlotLedger,
}

#[async_trait]
impl GroupTx for GroupWrite {
    async fn issue_in_savepoint(&mut self, c: &IssueCommit) -> Result<IssueOutcome, StoreError> {
        // A savepoint also ends a deadlock or serialization failure of this issuance alone:
        // rolling back to it releases what it locked and the group goes on.
        let mut savepoint = sqlx::Acquire::begin(&mut *self.tx).await.map_err(map_err)?;
        let outcome = commit::issue(&mut PgTx::deferring(&mut savepoint, &mut self.slots), c).await;
        if matches!(outcome, Ok(IssueOutcome::Issued)) {
            let released = savepoint.commit().await.map_err(map_err);
            match released {
                Ok(()) => self.slots.keep_pending(),
                Err(_) => self.slots.drop_pending(),
            }
            released.and(outcome)
        } else {
            self.slots.drop_pending();
            let _ = savepoint.rollback().await;
            outcome
        }
    }

    async fn commit(mut self) -> Result<(), StoreError> {
        self.slots.apply(&mut self.tx).await?;
        self.tx.commit().await.map_err(map_err)
    }
}
