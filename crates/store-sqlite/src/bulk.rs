//! [`BulkStore`] on SQLite. Multi-statement writes take the write lock up front
//! (`BEGIN IMMEDIATE`), like every other writer here.

use crate::rows::{decode_all, decode_opt, map_err, ms, opt_time, time, total, uuid};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_core::bulk::store::NewJob;
use claimd_core::bulk::{
    BulkJob, BulkStore, Format, JobId, JobState, NewRow, PendingRow, RowCounts, RowRecord,
    RowResult, RowStatus,
};
use claimd_core::page::{Page, PageRequest};
use claimd_core::store::{OnDuplicate, StoreError};
use claimd_core::ProgramId;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

const JOB_COLS: &str = "id, program_id, format, validate_only, state, paused, chunks, \
     upload_bytes, total_rows, validated, invalid, issued, skipped, failed, error, created_at, \
     started_at, finished_at";

fn job(r: &SqliteRow) -> Result<BulkJob, StoreError> {
    let bad = |what: &str| StoreError::Internal(format!("bad bulk job {what} in database"));
    let n = |c: &str| total(r.get::<i64, _>(c));
    Ok(BulkJob {
        job_id: JobId(uuid(r.get("id"))?),
        program_id: ProgramId(r.get("program_id")),
        format: Format::parse(r.get("format")).ok_or_else(|| bad("format"))?,
        validate_only: r.get::<i64, _>("validate_only") != 0,
        state: JobState::parse(r.get("state")).ok_or_else(|| bad("state"))?,
        paused: r.get::<i64, _>("paused") != 0,
        chunks: r.get::<i64, _>("chunks") as u32,
        upload_bytes: n("upload_bytes"),
        counts: RowCounts {
            total: n("total_rows"),
            validated: n("validated"),
            invalid: n("invalid"),
            issued: n("issued"),
            skipped_duplicate: n("skipped"),
            failed: n("failed"),
        },
        error: r.get("error"),
        created_at: time(r.get("created_at"))?,
        started_at: opt_time(r.get("started_at"))?,
        finished_at: opt_time(r.get("finished_at"))?,
    })
}

fn on_duplicate(s: &str) -> OnDuplicate {
    if s == "ignore" {
        OnDuplicate::Ignore
    } else {
        OnDuplicate::Revoke
    }
}

fn on_duplicate_str(d: OnDuplicate) -> &'static str {
    match d {
        OnDuplicate::Ignore => "ignore",
        OnDuplicate::Revoke => "revoke",
    }
}

fn pending_row(r: &SqliteRow) -> Result<PendingRow, StoreError> {
    let subject: String = r.get("subject");
    Ok(PendingRow {
        row_no: total(r.get("row_no")),
        email_key: r.get("email_key"),
        subject: crate::rows::json(&subject)?,
        on_duplicate: on_duplicate(r.get("on_duplicate")),
    })
}

fn row_record(r: &SqliteRow) -> Result<RowRecord, StoreError> {
    Ok(RowRecord {
        row_no: total(r.get("row_no")),
        email: r.get("email"),
        status: RowStatus::parse(r.get("status"))
            .ok_or_else(|| StoreError::Internal("bad bulk row status in database".into()))?,
        core_claim_hash: r.get("core_claim_hash"),
        error: r.get("error"),
    })
}

fn states(from: &[JobState]) -> String {
    from.iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SqliteStore {
    async fn job_row(&self, id: JobId) -> Result<Option<BulkJob>, StoreError> {
        decode_opt(
            sqlx::query(&format!("SELECT {JOB_COLS} FROM bulk_jobs WHERE id = ?"))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await,
            job,
        )
    }
}

/// The job a runner `?` may take at `?`: running or validating, not paused, its lease free,
/// its own or expired; the oldest first.
const CLAIMABLE_JOB: &str = "SELECT id FROM bulk_jobs WHERE state IN ('VALIDATING', 'RUNNING') \
     AND paused = 0 AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?) \
     ORDER BY created_at, id LIMIT 1";

#[async_trait]
impl BulkStore for SqliteStore {
    async fn create_bulk_job(&self, j: NewJob) -> Result<BulkJob, StoreError> {
        let done = sqlx::query(
            "INSERT INTO bulk_jobs (id, program_id, format, validate_only, state, created_at, \
             updated_at) SELECT ?, id, ?, ?, 'UPLOADING', ?, ? FROM programs WHERE id = ?",
        )
        .bind(j.job_id.to_string())
        .bind(j.format.as_str())
        .bind(j.validate_only)
        .bind(ms(j.at))
        .bind(ms(j.at))
        .bind(&j.program_id.0)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("program"));
        }
        self.job_row(j.job_id)
            .await?
            .ok_or_else(|| StoreError::Internal("the job just written is not there".into()))
    }

    async fn append_bulk_chunk(&self, id: JobId, seq: u32, data: &[u8]) -> Result<(), StoreError> {
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let n = sqlx::query(
            "UPDATE bulk_jobs SET chunks = ? WHERE id = ? AND state = 'UPLOADING' AND chunks = ?",
        )
        .bind(i64::from(seq) + 1)
        .bind(id.to_string())
        .bind(i64::from(seq))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if n.rows_affected() == 0 {
            return Err(StoreError::Conflict("the job is not uploading".into()));
        }
        sqlx::query("INSERT INTO bulk_chunks (job_id, seq, data) VALUES (?, ?, ?)")
            .bind(id.to_string())
            .bind(i64::from(seq))
            .bind(data)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn finish_bulk_upload(
        &self,
        id: JobId,
        total_rows: u64,
        bytes: u64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE bulk_jobs SET state = 'VALIDATING', total_rows = ?, upload_bytes = ?, \
             updated_at = ? WHERE id = ? AND state = 'UPLOADING'",
        )
        .bind(total_rows as i64)
        .bind(bytes as i64)
        .bind(ms(at))
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if n.rows_affected() == 0 {
            return Err(StoreError::Conflict("the job is not uploading".into()));
        }
        Ok(())
    }

    async fn delete_bulk_job(&self, id: JobId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM bulk_jobs WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn bulk_chunk(&self, id: JobId, seq: u32) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar("SELECT data FROM bulk_chunks WHERE job_id = ? AND seq = ?")
            .bind(id.to_string())
            .bind(i64::from(seq))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn bulk_job(&self, id: JobId) -> Result<Option<BulkJob>, StoreError> {
        self.job_row(id).await
    }

    async fn list_bulk_jobs(&self, page: PageRequest) -> Result<Page<BulkJob>, StoreError> {
        self.page(
            &format!(
                "SELECT {JOB_COLS} FROM bulk_jobs ORDER BY created_at DESC, id LIMIT ? OFFSET ?"
            ),
            "SELECT COUNT(*) FROM bulk_jobs",
            page,
            job,
        )
        .await
    }

    async fn claim_bulk_job(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> Result<Option<BulkJob>, StoreError> {
        // Idle runners ask often, and an UPDATE takes SQLite's one write lock even when it
        // changes nothing: it would wait in the busy handler behind issuance groups, seconds
        // under load, and then hold them up in turn. So look first, and write only when there
        // is a job to take (in the writers' turn; the UPDATE checks again).
        let claimable: Option<String> = sqlx::query_scalar(CLAIMABLE_JOB)
            .bind(owner)
            .bind(ms(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        if claimable.is_none() {
            return Ok(None);
        }
        let until = ms(now) + ttl.as_millis() as i64;
        let claim = format!(
            "UPDATE bulk_jobs SET lease_owner = ?, lease_until = ? WHERE id = ({CLAIMABLE_JOB}) \
             RETURNING id"
        );
        let id: Option<String> = {
            let _turn = self.writes.turn().await;
            sqlx::query_scalar(&claim)
                .bind(owner)
                .bind(until)
                .bind(owner)
                .bind(ms(now))
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?
        };
        match id {
            Some(id) => self.job_row(JobId(uuid(&id)?)).await,
            None => Ok(None),
        }
    }

    async fn renew_bulk_lease(
        &self,
        id: JobId,
        owner: &str,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> Result<Option<BulkJob>, StoreError> {
        let n = sqlx::query(
            "UPDATE bulk_jobs SET lease_owner = ?, lease_until = ? WHERE id = ? \
             AND state IN ('VALIDATING', 'RUNNING') AND paused = 0 \
             AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)",
        )
        .bind(owner)
        .bind(ms(now) + ttl.as_millis() as i64)
        .bind(id.to_string())
        .bind(owner)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if n.rows_affected() == 0 {
            return Ok(None);
        }
        self.job_row(id).await
    }

    async fn bulk_rows_by_email(
        &self,
        id: JobId,
        keys: &[String],
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let mut found = Vec::new();
        // Bounded binds per statement (SQLite's variable limit).
        for part in keys.chunks(500) {
            let sql = format!(
                "SELECT email_key, row_no FROM bulk_rows WHERE job_id = ? AND email_key IN ({})",
                crate::tx::placeholders(part.len())
            );
            let mut q = sqlx::query(&sql).bind(id.to_string());
            for k in part {
                q = q.bind(k);
            }
            let rows = q.fetch_all(&self.pool).await.map_err(map_err)?;
            found.extend(
                rows.iter()
                    .map(|r| (r.get::<String, _>(0), total(r.get::<i64, _>(1)))),
            );
        }
        Ok(found)
    }

    async fn add_bulk_rows(&self, id: JobId, rows: &[NewRow]) -> Result<(), StoreError> {
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let (mut added, mut invalid) = (0i64, 0i64);
        for r in rows {
            let subject = r
                .subject
                .as_ref()
                .map(|s| serde_json::Value::Object(s.clone()).to_string());
            let status = if r.error.is_some() {
                RowStatus::Invalid
            } else {
                RowStatus::Pending
            };
            let n = sqlx::query(
                "INSERT INTO bulk_rows (job_id, row_no, email, email_key, subject, on_duplicate, \
                 status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (job_id, row_no) DO NOTHING",
            )
            .bind(id.to_string())
            .bind(r.row_no as i64)
            .bind(&r.email)
            .bind(&r.email_key)
            .bind(subject)
            .bind(on_duplicate_str(r.on_duplicate))
            .bind(status.as_str())
            .bind(&r.error)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected() as i64;
            added += n;
            if status == RowStatus::Invalid {
                invalid += n;
            }
        }
        sqlx::query(
            "UPDATE bulk_jobs SET validated = validated + ?, invalid = invalid + ? WHERE id = ?",
        )
        .bind(added)
        .bind(invalid)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn finish_bulk_validation(
        &self,
        id: JobId,
        to: JobState,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let finished = to.is_final().then_some(ms(at));
        let n = sqlx::query(
            "UPDATE bulk_jobs SET state = ?, started_at = ?, finished_at = ?, updated_at = ? \
             WHERE id = ? AND state = 'VALIDATING'",
        )
        .bind(to.as_str())
        .bind(ms(at))
        .bind(finished)
        .bind(ms(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if n.rows_affected() == 0 {
            return Err(StoreError::Conflict("the job is not validating".into()));
        }
        sqlx::query("DELETE FROM bulk_chunks WHERE job_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn pending_bulk_rows(
        &self,
        id: JobId,
        limit: u32,
    ) -> Result<Vec<PendingRow>, StoreError> {
        decode_all(
            sqlx::query(
                "SELECT row_no, email_key, subject, on_duplicate FROM bulk_rows \
                 WHERE job_id = ? AND status = 'PENDING' ORDER BY row_no LIMIT ?",
            )
            .bind(id.to_string())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await,
            pending_row,
        )
    }

    async fn record_bulk_results(
        &self,
        id: JobId,
        results: &[RowResult],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let (mut issued, mut skipped, mut failed) = (0i64, 0i64, 0i64);
        for r in results {
            let n = sqlx::query(
                "UPDATE bulk_rows SET status = ?, core_claim_hash = ?, error = ? \
                 WHERE job_id = ? AND row_no = ? AND status = 'PENDING'",
            )
            .bind(r.status.as_str())
            .bind(&r.core_claim_hash)
            .bind(&r.error)
            .bind(id.to_string())
            .bind(r.row_no as i64)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected() as i64;
            match r.status {
                RowStatus::Issued => issued += n,
                RowStatus::SkippedDuplicate => skipped += n,
                _ => failed += n,
            }
        }
        sqlx::query(
            "UPDATE bulk_jobs SET issued = issued + ?, skipped = skipped + ?, \
             failed = failed + ?, updated_at = ? WHERE id = ?",
        )
        .bind(issued)
        .bind(skipped)
        .bind(failed)
        .bind(ms(at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn change_bulk_job(
        &self,
        id: JobId,
        from: &[JobState],
        state: Option<JobState>,
        paused: Option<bool>,
        at: DateTime<Utc>,
    ) -> Result<Option<BulkJob>, StoreError> {
        let finished = state.filter(|s| s.is_final()).map(|_| ms(at));
        let n = sqlx::query(&format!(
            "UPDATE bulk_jobs SET state = COALESCE(?, state), paused = COALESCE(?, paused), \
             finished_at = COALESCE(?, finished_at), updated_at = ? \
             WHERE id = ? AND state IN ({})",
            states(from)
        ))
        .bind(state.map(JobState::as_str))
        .bind(paused)
        .bind(finished)
        .bind(ms(at))
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if n.rows_affected() > 0 && state.is_some_and(JobState::is_final) {
            // A job that ended keeps its rows, not the file they came from.
            sqlx::query("DELETE FROM bulk_chunks WHERE job_id = ?")
                .bind(id.to_string())
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        }
        let now = self.job_row(id).await?;
        match (&now, n.rows_affected()) {
            (Some(j), 0) => Err(StoreError::Conflict(j.state.as_str().into())),
            _ => Ok(now),
        }
    }

    async fn fail_bulk_job(
        &self,
        id: JobId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE bulk_jobs SET state = 'FAILED', error = ?, finished_at = ?, updated_at = ? \
             WHERE id = ? AND state IN ('UPLOADING', 'VALIDATING', 'RUNNING')",
        )
        .bind(error)
        .bind(ms(at))
        .bind(ms(at))
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn bulk_rows(
        &self,
        id: JobId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<RowRecord>, StoreError> {
        decode_all(
            sqlx::query(
                "SELECT row_no, email, status, core_claim_hash, error FROM bulk_rows \
                 WHERE job_id = ? AND row_no > ? ORDER BY row_no LIMIT ?",
            )
            .bind(id.to_string())
            .bind(after as i64)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await,
            row_record,
        )
    }

    async fn bulk_rows_on_chain(&self, id: JobId) -> Result<u64, StoreError> {
        // The marked rows are counted on the job; only the unmarked ones are joined.
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT j.on_chain + (SELECT COUNT(*) FROM bulk_rows r JOIN credentials c \
               ON c.core_claim_hash = r.core_claim_hash \
               WHERE r.job_id = j.id AND r.core_claim_hash IS NOT NULL AND r.on_chain = 0 \
                 AND c.status = 'ONCHAIN') \
             FROM bulk_jobs j WHERE j.id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(total(n.unwrap_or(0)))
    }

    async fn mark_bulk_rows_on_chain(&self, id: JobId, limit: u32) -> Result<u64, StoreError> {
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let n = sqlx::query(
            "UPDATE bulk_rows SET on_chain = 1 WHERE job_id = ?1 AND row_no IN ( \
               SELECT r.row_no FROM bulk_rows r JOIN credentials c \
                 ON c.core_claim_hash = r.core_claim_hash \
               WHERE r.job_id = ?1 AND r.core_claim_hash IS NOT NULL AND r.on_chain = 0 \
                 AND c.status = 'ONCHAIN' \
               ORDER BY r.row_no LIMIT ?2)",
        )
        .bind(id.to_string())
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if n > 0 {
            sqlx::query("UPDATE bulk_jobs SET on_chain = on_chain + ? WHERE id = ?")
                .bind(n as i64)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(n)
    }
}
