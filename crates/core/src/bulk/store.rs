//! The storage port of bulk issuance. Counters live on the job row and change in the same
//! transaction as the rows they count, so a job's counts are exact after any crash.

use super::{BulkJob, Format, JobId, JobState, NewRow, PendingRow, RowRecord, RowResult};
use crate::page::{Page, PageRequest};
use crate::store::StoreError;
use crate::ProgramId;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A job as created by an upload.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub job_id: JobId,
    pub program_id: ProgramId,
    pub format: Format,
    pub validate_only: bool,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait BulkStore: Send + Sync {
    /// A new job in `UPLOADING`. `NotFound("program")` if the program does not exist.
    async fn create_bulk_job(&self, job: NewJob) -> Result<BulkJob, StoreError>;
    /// Stores chunk `seq` (0, 1, …) of the upload; `Conflict` if the job is no longer
    /// `UPLOADING` (cancelled meanwhile).
    async fn append_bulk_chunk(&self, job: JobId, seq: u32, data: &[u8]) -> Result<(), StoreError>;
    /// The upload is complete: `UPLOADING` → `VALIDATING` with its row total and size.
    /// `Conflict` if the job is no longer `UPLOADING`.
    async fn finish_bulk_upload(
        &self,
        job: JobId,
        total_rows: u64,
        bytes: u64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Deletes a job and everything of it (an upload that failed).
    async fn delete_bulk_job(&self, job: JobId) -> Result<(), StoreError>;
    /// Chunk `seq` of a job's upload.
    async fn bulk_chunk(&self, job: JobId, seq: u32) -> Result<Option<Vec<u8>>, StoreError>;

    async fn bulk_job(&self, job: JobId) -> Result<Option<BulkJob>, StoreError>;
    /// Newest first.
    async fn list_bulk_jobs(&self, page: PageRequest) -> Result<Page<BulkJob>, StoreError>;

    /// Takes the lease of the oldest active, unpaused job whose lease is free, expired or
    /// `owner`'s already, until `now + ttl`. One runner per job across every instance.
    async fn claim_bulk_job(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> Result<Option<BulkJob>, StoreError>;
    /// Renews `owner`'s lease of `job`: the job if it is still held by `owner` (or free), active
    /// and unpaused, `None` otherwise (the runner stops working on it).
    async fn renew_bulk_lease(
        &self,
        job: JobId,
        owner: &str,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> Result<Option<BulkJob>, StoreError>;

    /// Of `email_keys`, those a stored row of the job has, with that row's number.
    async fn bulk_rows_by_email(
        &self,
        job: JobId,
        email_keys: &[String],
    ) -> Result<Vec<(String, u64)>, StoreError>;
    /// Stores checked rows (a row already stored is left alone) and adds them to the job's
    /// `validated` and `invalid` counters, in one transaction.
    async fn add_bulk_rows(&self, job: JobId, rows: &[NewRow]) -> Result<(), StoreError>;
    /// Validation is over: `VALIDATING` → `to` (`RUNNING` or `VALIDATED`), chunks deleted,
    /// `started_at`/`finished_at` set. `Conflict` if it was no longer `VALIDATING`.
    async fn finish_bulk_validation(
        &self,
        job: JobId,
        to: JobState,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Up to `limit` valid rows not yet issued, lowest row number first.
    async fn pending_bulk_rows(
        &self,
        job: JobId,
        limit: u32,
    ) -> Result<Vec<PendingRow>, StoreError>;
    /// Records results of pending rows (a row no longer pending is left alone) and adds them
    /// to the job's counters, in one transaction.
    async fn record_bulk_results(
        &self,
        job: JobId,
        results: &[RowResult],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Sets the job's state and/or paused flag if its state is one of `from`: the job as it is
    /// now, or `None` if it does not exist. `Conflict` carries the state it was in.
    async fn change_bulk_job(
        &self,
        job: JobId,
        from: &[JobState],
        state: Option<JobState>,
        paused: Option<bool>,
        at: DateTime<Utc>,
    ) -> Result<Option<BulkJob>, StoreError>;
    /// Ends a job that could not be read: `FAILED` with `error`, from any state but a final one.
    async fn fail_bulk_job(
        &self,
        job: JobId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Up to `limit` rows with a number above `after`, in order (the results file).
    async fn bulk_rows(
        &self,
        job: JobId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<RowRecord>, StoreError>;
    /// Rows whose credential has reached the chain: those marked by
    /// [`BulkStore::mark_bulk_rows_on_chain`], plus the unmarked ones whose credential is
    /// `ONCHAIN` now. Work grows with the unmarked rows only, not with the job.
    async fn bulk_rows_on_chain(&self, job: JobId) -> Result<u64, StoreError>;
    /// Marks up to `limit` unmarked rows whose credential is `ONCHAIN` (lowest row number
    /// first) and adds them to the job's count, in one transaction; returns how many. A marked
    /// row stays counted even if its credential is later revoked.
    async fn mark_bulk_rows_on_chain(&self, job: JobId, limit: u32) -> Result<u64, StoreError>;
}
