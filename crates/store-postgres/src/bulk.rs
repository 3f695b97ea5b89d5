//! [`BulkStore`] on PostgreSQL. The job lease is taken with `FOR UPDATE SKIP LOCKED`, so
//! instances looking for work at the same moment take different jobs.

use crate::rows::{decode_all, decode_opt, map_err, total};
use crate::PgStore;
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
use sqlx::postgres::PgRow;
use sqlx::Row;

const JOB_COLS: &str = "id, program_id, format, validate_only, state, paused, chunks, \
     upload_bytes, total_rows, validated, invalid, issued, skipped, failed, error, created_at, \
     started_at, finished_at";

fn job(r: &PgRow) -> Result<BulkJob, StoreError> {
    let bad = |what: &str| StoreError::Internal(format!("bad bulk job {what} in database"));
    let n = |c: &str| total(r.get::<i64, _>(c));
    Ok(BulkJob {
        job_id: JobId(r.get("id")),
        program_id: ProgramId(r.get("program_id")),
        format: Format::parse(r.get("format")).ok_or_else(|| bad("format"))?,
        validate_only: r.get("validate_only"),
        state: JobState::parse(r.get("state")).ok_or_else(|| bad("state"))?,
        paused: r.get("paused"),
        chunks: r.get::<i32, _>("chunks") as u32,
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
        created_at: r.get("created_at"),
        started_at: r.get("started_at"),
        finished_at: r.get("finished_at"),
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

fn pending_row(r: &PgRow) -> Result<PendingRow, StoreError> {
    Ok(PendingRow {
        row_no: total(r.get("row_no")),
        email_key: r.get("email_key"),
        subject: crate::rows::json(r.get("subject"))?,
        on_duplicate: on_duplicate(r.get("on_duplicate")),
    })
}

fn row_record(r: &PgRow) -> Result<RowRecord, StoreError> {
    Ok(RowRecord {
        row_no: total(r.get("row_no")),
        email: r.get("email"),
        status: RowStatus::parse(r.get("status"))
            .ok_or_else(|| StoreError::Internal("bad bulk row status in database".into()))?,
        core_claim_hash: r.get("core_claim_hash"),
        error: r.get("error"),
    })
}

fn state_names(from: &[JobState]) -> Vec<String> {
    from.iter().map(|s| s.as_str().to_owned()).collect()
}

fn lease_until(now: DateTime<Utc>, ttl: std::time::Duration) -> DateTime<Utc> {
    now + chrono::TimeDelta::from_std(ttl).unwrap_or(chrono::TimeDelta::seconds(30))
}

impl PgStore {
    async fn job_row(&self, id: JobId) -> Result<Option<BulkJob>, StoreError> {
        decode_opt(
            sqlx::query(&format!("SELECT {JOB_COLS} FROM bulk_jobs WHERE id = $1"))
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await,
            job,
        )
    }
}

#[async_trait]
impl BulkStore for PgStore {
    async fn create_bulk_job(&self, j: NewJob) -> Result<BulkJob, StoreError> {
        let done = sqlx::query(
            "INSERT INTO bulk_jobs (id, program_id, format, validate_only, state, created_at, \
             updated_at) SELECT $1, id, $2, $3, 'UPLOADING', $4, $4 FROM programs WHERE id = $5",
        )
        .bind(j.job_id.0)
        .bind(j.format.as_str())
        .bind(j.validate_only)
        .bind(j.at)
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
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let n = sqlx::query(
            "UPDATE bulk_jobs SET chunks = $1 WHERE id = $2 AND state = 'UPLOADING' AND chunks = $3",
        )
        .bind(seq as i32 + 1)
        .bind(id.0)
        .bind(seq as i32)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if n.rows_affected() == 0 {
            return Err(StoreError::Conflict("the job is not uploading".into()));
        }
        sqlx::query("INSERT INTO bulk_chunks (job_id, seq, data) VALUES ($1, $2, $3)")
            .bind(id.0)
            .bind(seq as i32)
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
            "UPDATE bulk_jobs SET state = 'VALIDATING', total_rows = $1, upload_bytes = $2, \
             updated_at = $3 WHERE id = $4 AND state = 'UPLOADING'",
        )
        .bind(total_rows as i64)
        .bind(bytes as i64)
        .bind(at)
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if n.rows_affected() == 0 {
            return Err(StoreError::Conflict("the job is not uploading".into()));
        }
        Ok(())
    }

    async fn delete_bulk_job(&self, id: JobId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM bulk_jobs WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn bulk_chunk(&self, id: JobId, seq: u32) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar("SELECT data FROM bulk_chunks WHERE job_id = $1 AND seq = $2")
            .bind(id.0)
            .bind(seq as i32)
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
                "SELECT {JOB_COLS} FROM bulk_jobs ORDER BY created_at DESC, id LIMIT $1 OFFSET $2"
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
        let id: Option<uuid::Uuid> = sqlx::query_scalar(
            "UPDATE bulk_jobs SET lease_owner = $1, lease_until = $2 WHERE id = (\
               SELECT id FROM bulk_jobs WHERE state IN ('VALIDATING', 'RUNNING') AND NOT paused \
               AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until < $3) \
               ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id",
        )
        .bind(owner)
        .bind(lease_until(now, ttl))
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        match id {
            Some(id) => self.job_row(JobId(id)).await,
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
            "UPDATE bulk_jobs SET lease_owner = $1, lease_until = $2 WHERE id = $3 \
             AND state IN ('VALIDATING', 'RUNNING') AND NOT paused \
             AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until < $4)",
        )
        .bind(owner)
        .bind(lease_until(now, ttl))
        .bind(id.0)
        .bind(now)
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
        let rows = sqlx::query(
            "SELECT email_key, row_no FROM bulk_rows WHERE job_id = $1 AND email_key = ANY($2)",
        )
        .bind(id.0)
        .bind(keys)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<String, _>(0), total(r.get::<i64, _>(1))))
            .collect())
    }

    async fn add_bulk_rows(&self, id: JobId, rows: &[NewRow]) -> Result<(), StoreError> {
        // One statement for the batch: arrays unnested into rows.
        let mut nos = Vec::with_capacity(rows.len());
        let mut emails = Vec::with_capacity(rows.len());
        let mut keys = Vec::with_capacity(rows.len());
        let mut subjects = Vec::with_capacity(rows.len());
        let mut dups = Vec::with_capacity(rows.len());
        let mut statuses = Vec::with_capacity(rows.len());
        let mut errors = Vec::with_capacity(rows.len());
        for r in rows {
            nos.push(r.row_no as i64);
            emails.push(r.email.clone());
            keys.push(r.email_key.clone());
            subjects.push(
                r.subject
                    .as_ref()
                    .map(|s| serde_json::Value::Object(s.clone())),
            );
            dups.push(on_duplicate_str(r.on_duplicate));
            statuses.push(if r.error.is_some() {
                RowStatus::Invalid.as_str()
            } else {
                RowStatus::Pending.as_str()
            });
            errors.push(r.error.clone());
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let inserted: Vec<String> = sqlx::query_scalar(
            "INSERT INTO bulk_rows (job_id, row_no, email, email_key, subject, on_duplicate, \
             status, error) \
             SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::jsonb[], \
             $6::text[], $7::text[], $8::text[]) \
             ON CONFLICT (job_id, row_no) DO NOTHING RETURNING status",
        )
        .bind(id.0)
        .bind(&nos)
        .bind(&emails)
        .bind(&keys)
        .bind(&subjects)
        .bind(&dups)
        .bind(&statuses)
        .bind(&errors)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let invalid = inserted
            .iter()
            .filter(|s| *s == RowStatus::Invalid.as_str())
            .count() as i64;
        sqlx::query(
            "UPDATE bulk_jobs SET validated = validated + $1, invalid = invalid + $2 WHERE id = $3",
        )
        .bind(inserted.len() as i64)
        .bind(invalid)
        .bind(id.0)
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
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let finished = to.is_final().then_some(at);
        let n = sqlx::query(
            "UPDATE bulk_jobs SET state = $1, started_at = $2, finished_at = $3, updated_at = $2 \
             WHERE id = $4 AND state = 'VALIDATING'",
        )
        .bind(to.as_str())
        .bind(at)
        .bind(finished)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if n.rows_affected() == 0 {
            return Err(StoreError::Conflict("the job is not validating".into()));
        }
        sqlx::query("DELETE FROM bulk_chunks WHERE job_id = $1")
            .bind(id.0)
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
                 WHERE job_id = $1 AND status = 'PENDING' ORDER BY row_no LIMIT $2",
            )
            .bind(id.0)
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
        let nos: Vec<i64> = results.iter().map(|r| r.row_no as i64).collect();
        let statuses: Vec<&str> = results.iter().map(|r| r.status.as_str()).collect();
        let hashes: Vec<Option<String>> =
            results.iter().map(|r| r.core_claim_hash.clone()).collect();
        let errors: Vec<Option<String>> = results.iter().map(|r| r.error.clone()).collect();
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let changed: Vec<String> = sqlx::query_scalar(
            "UPDATE bulk_rows r SET status = u.status, core_claim_hash = u.hash, error = u.error \
             FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[]) \
               AS u(row_no, status, hash, error) \
             WHERE r.job_id = $1 AND r.row_no = u.row_no AND r.status = 'PENDING' \
             RETURNING r.status",
        )
        .bind(id.0)
        .bind(&nos)
        .bind(&statuses)
        .bind(&hashes)
        .bind(&errors)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let count = |s: RowStatus| changed.iter().filter(|c| *c == s.as_str()).count() as i64;
        sqlx::query(
            "UPDATE bulk_jobs SET issued = issued + $1, skipped = skipped + $2, \
             failed = failed + $3, updated_at = $4 WHERE id = $5",
        )
        .bind(count(RowStatus::Issued))
        .bind(count(RowStatus::SkippedDuplicate))
        .bind(count(RowStatus::Failed))
        .bind(at)
        .bind(id.0)
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
        let finished = state.filter(|s| s.is_final()).map(|_| at);
        let n = sqlx::query(
            "UPDATE bulk_jobs SET state = COALESCE($1, state), paused = COALESCE($2, paused), \
             finished_at = COALESCE($3, finished_at), updated_at = $4 \
             WHERE id = $5 AND state = ANY($6)",
        )
        .bind(state.map(JobState::as_str))
        .bind(paused)
        .bind(finished)
        .bind(at)
        .bind(id.0)
        .bind(state_names(from))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if n.rows_affected() > 0 && state.is_some_and(JobState::is_final) {
            // A job that ended keeps its rows, not the file they came from.
            sqlx::query("DELETE FROM bulk_chunks WHERE job_id = $1")
                .bind(id.0)
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
            "UPDATE bulk_jobs SET state = 'FAILED', error = $1, finished_at = $2, updated_at = $2 \
             WHERE id = $3 AND state IN ('UPLOADING', 'VALIDATING', 'RUNNING')",
        )
        .bind(error)
        .bind(at)
        .bind(id.0)
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
                 WHERE job_id = $1 AND row_no > $2 ORDER BY row_no LIMIT $3",
            )
            .bind(id.0)
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
               WHERE r.job_id = j.id AND r.core_claim_hash IS NOT NULL AND NOT r.on_chain \
                 AND c.status = 'ONCHAIN') \
             FROM bulk_jobs j WHERE j.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(total(n.unwrap_or(0)))
    }

    async fn mark_bulk_rows_on_chain(&self, id: JobId, limit: u32) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let n = sqlx::query(
            "UPDATE bulk_rows SET on_chain = TRUE WHERE job_id = $1 AND row_no IN ( \
               SELECT r.row_no FROM bulk_rows r JOIN credentials c \
                 ON c.core_claim_hash = r.core_claim_hash \
               WHERE r.job_id = $1 AND r.core_claim_hash IS NOT NULL AND NOT r.on_chain \
                 AND c.status = 'ONCHAIN' \
               ORDER BY r.row_no LIMIT $2) \
             AND NOT on_chain",
        )
        .bind(id.0)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if n > 0 {
            sqlx::query("UPDATE bulk_jobs SET on_chain = on_chain + $1 WHERE id = $2")
                .bind(n as i64)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(n)
    }
}
