//! The background worker of bulk issuance. Each step takes (or renews) the lease of one job
//! and advances it by one durable piece of work:
//!
//! - `VALIDATING`: reads the stored chunks, checks every row, stores the rows in batches with
//!   their errors (duplicate addresses within the file included), then moves the job to
//!   `RUNNING` (or `VALIDATED`) and drops the chunks. After a crash it reads the file again and
//!   stores only the rows after those already stored.
//! - `RUNNING`: issues a small batch of pending rows through [`Issuance::issue_detailed`] — the
//!   very path of issue-on-behalf, with its rules — then records their results. Each row is
//!   issued under the idempotency key `bulk-<job>-<row>`, so a row whose credential was
//!   committed just before a crash gets that same credential back when it is run again, never a
//!   second one.
//!
//! Speed comes from keeping many rows in flight (`concurrency`): their commits wait together in
//! the store's group committer and share its transactions, so a durable write covers dozens of
//! rows instead of one, and the results of a whole step are recorded by one more write.
//!
//! Interactive traffic comes first: before it starts each row, a step asks whether an
//! interactive issuance is running or ended within `quiet` ([`crate::load`]); while one is, it
//! keeps at most `busy_concurrency` rows in flight, so partners' requests neither wait behind
//! a queue of bulk commits nor share the CPU with dozens of rows being built and signed. A step
//! takes at most `batch` rows and starts none after `step_time`, so it ends well within its
//! lease and a pause or cancel is seen within seconds. [`BulkRunner::run`] paces steps to at
//! most `rows_per_second`.

use super::file::FileReader;
use super::{BulkError, BulkJob, JobState, NewRow, PendingRow, RowResult, RowStatus};
use crate::issuance::{Issuance, IssueError, IssueKind, IssueRequest};
use crate::store::{Store, StoreError};
use claimd_clock::SharedClock;
use sha3::{Digest, Sha3_256};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Most rows a step takes (fewer with a `rows_per_second` limit below it).
    pub batch: u32,
    /// Rows in flight at once while no interactive issuance is running.
    pub concurrency: usize,
    /// Rows in flight at once while interactive issuance is running (at least 1).
    pub busy_concurrency: usize,
    /// How long after the last interactive issuance ended the runner still counts as busy.
    pub quiet: Duration,
    /// A step starts no row after this long (rows already started finish).
    pub step_time: Duration,
    /// Most rows issued per second by this instance (0: no limit).
    pub rows_per_second: u32,
    /// How long a job's lease lasts without renewal.
    pub lease_ttl: Duration,
    /// Wait between looks for work when there is none.
    pub poll_interval: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            // Enough in flight to fill the committers' groups (SQLite: one committer of up to
            // 256; PostgreSQL: four of up to 64) while the CPU builds the next ones.
            batch: 2048,
            concurrency: 64,
            busy_concurrency: 2,
            quiet: Duration::from_millis(500),
            step_time: Duration::from_secs(3),
            rows_per_second: 200,
            lease_ttl: Duration::from_secs(15),
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// Rows stored per transaction while validating.
const VALIDATE_BATCH: usize = 1000;

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// No job to work on.
    Idle,
    /// Rows validated or issued (0 when a job only changed state).
    Worked(u64),
}

pub struct BulkRunner {
    store: Arc<dyn Store>,
    issuance: Arc<Issuance>,
    clock: SharedClock,
    owner: String,
    config: RunnerConfig,
}

/// The idempotency key of a row: unique to the job and the row.
pub fn row_key(job: super::JobId, row_no: u64) -> String {
    format!("bulk-{job}-{row_no}")
}

impl BulkRunner {
    /// `owner` names this instance in leases (unique per process).
    pub fn new(
        store: Arc<dyn Store>,
        issuance: Arc<Issuance>,
        clock: SharedClock,
        owner: String,
        config: RunnerConfig,
    ) -> Self {
        BulkRunner {
            store,
            issuance,
            clock,
            owner,
            config,
        }
    }

    /// Works until `stop` turns true; every step is durable, so stopping loses nothing.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut backoff = self.config.poll_interval;
        loop {
            if *stop.borrow() {
                return;
            }
            let started = tokio::time::Instant::now();
            let wait = match self.run_once().await {
                Ok(Step::Idle) => self.config.poll_interval,
                Ok(Step::Worked(rows)) => {
                    backoff = self.config.poll_interval;
                    match self.config.rows_per_second {
                        0 => Duration::ZERO,
                        rate => Duration::from_secs_f64(rows as f64 / f64::from(rate))
                            .saturating_sub(started.elapsed()),
                    }
                }
                Err(_) => {
                    // Transient (the database) or a job-level fault already recorded: wait
                    // longer each time, up to 30 s.
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    backoff
                }
            };
            // Yield between steps even at full speed, so queued requests run first.
            tokio::task::yield_now().await;
            if !wait.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// One step on one job (see the module's documentation).
    pub async fn run_once(&self) -> Result<Step, BulkError> {
        let Some(job) = self
            .store
            .claim_bulk_job(&self.owner, self.clock.now(), self.config.lease_ttl)
            .await?
        else {
            return Ok(Step::Idle);
        };
        match job.state {
            JobState::Validating => self.validate(job).await,
            JobState::Running => self.issue_batch(&job).await,
            _ => Ok(Step::Worked(0)),
        }
    }

    async fn validate(&self, job: BulkJob) -> Result<Step, BulkError> {
        let Some(schema) = self.schema_of(&job).await? else {
            return Ok(Step::Worked(0));
        };
        let stored = job.counts.validated;
        let mut reader = FileReader::new(job.format, schema, true);
        let mut batch: Vec<NewRow> = Vec::with_capacity(VALIDATE_BATCH);
        let mut added = 0;
        for seq in 0..=job.chunks {
            let rows = if seq < job.chunks {
                let chunk = self
                    .store
                    .bulk_chunk(job.job_id, seq)
                    .await?
                    .ok_or_else(|| BulkError::Internal(format!("chunk {seq} is missing")))?;
                reader.push(&chunk)
            } else {
                reader.finish()
            };
            let rows = match rows {
                Ok(rows) => rows,
                Err(e) => {
                    // The upload read the same bytes without fault, so this is not expected.
                    self.store
                        .fail_bulk_job(job.job_id, &e.to_string(), self.clock.now())
                        .await?;
                    return Ok(Step::Worked(0));
                }
            };
            for row in rows.into_iter().filter(|r| r.row_no > stored) {
                batch.push(row);
                if batch.len() >= VALIDATE_BATCH {
                    added += self.store_rows(&job, std::mem::take(&mut batch)).await?;
                }
            }
            // Renewed per chunk: a pause or cancel stops validation here.
            if self
                .store
                .renew_bulk_lease(
                    job.job_id,
                    &self.owner,
                    self.clock.now(),
                    self.config.lease_ttl,
                )
                .await?
                .is_none_or(|j| j.paused || j.state != JobState::Validating)
            {
                return Ok(Step::Worked(added));
            }
        }
        added += self.store_rows(&job, batch).await?;
        let to = if job.validate_only {
            JobState::Validated
        } else {
            JobState::Running
        };
        match self
            .store
            .finish_bulk_validation(job.job_id, to, self.clock.now())
            .await
        {
            // Cancelled meanwhile: nothing more to do.
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(Step::Worked(added)),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores checked rows; a valid row whose address an earlier row of the file has becomes
    /// invalid. Returns how many rows it stored.
    async fn store_rows(&self, job: &BulkJob, mut rows: Vec<NewRow>) -> Result<u64, BulkError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let keys: Vec<String> = rows.iter().filter_map(|r| r.email_key.clone()).collect();
        let mut first: HashMap<String, u64> = self
            .store
            .bulk_rows_by_email(job.job_id, &keys)
            .await?
            .into_iter()
            .collect();
        for row in &mut rows {
            let Some(key) = &row.email_key else { continue };
            match first.get(key) {
                Some(&earlier) if earlier != row.row_no => {
                    row.error = Some(format!(
                        "Invalid field email: the same address as row {earlier}"
                    ));
                    row.email_key = None;
                    row.subject = None;
                }
                _ => {
                    first.insert(key.clone(), row.row_no);
                }
            }
        }
        self.store.add_bulk_rows(job.job_id, &rows).await?;
        Ok(rows.len() as u64)
    }

    async fn schema_of(&self, job: &BulkJob) -> Result<Option<crate::schema::Schema>, BulkError> {
        let schema = match self.store.program(&job.program_id).await? {
            Some(p) => self.store.schema(p.draft.schema_id).await?,
            None => None,
        };
        if schema.is_none() {
            self.store
                .fail_bulk_job(
                    job.job_id,
                    "The program or its schema is gone",
                    self.clock.now(),
                )
                .await?;
        }
        Ok(schema)
    }

    async fn issue_batch(&self, job: &BulkJob) -> Result<Step, BulkError> {
        let rows = self
            .store
            .pending_bulk_rows(job.job_id, self.step_rows())
            .await?;
        if rows.is_empty() {
            match self
                .store
                .change_bulk_job(
                    job.job_id,
                    &[JobState::Running],
                    Some(JobState::Completed),
                    None,
                    self.clock.now(),
                )
                .await
            {
                Ok(_) | Err(StoreError::Conflict(_)) => return Ok(Step::Worked(0)),
                Err(e) => return Err(e.into()),
            }
        }
        let program = self
            .store
            .program(&job.program_id)
            .await?
            .ok_or_else(|| BulkError::Internal("the job's program is gone".into()))?;
        let issuer = self
            .store
            .issuer_by_did(&program.draft.issuer_did)
            .await?
            .ok_or_else(|| BulkError::Internal("the program's issuer is gone".into()))?;
        let results = self.issue_rows(job, &issuer, rows).await;
        let mut done = Vec::with_capacity(results.len());
        let mut transient = None;
        for r in results {
            match r {
                Ok(r) => done.push(r),
                // Left pending: the row is tried again in a later step.
                Err(e) => transient = Some(e),
            }
        }
        self.store
            .record_bulk_results(job.job_id, &done, self.clock.now())
            .await?;
        // Count the rows whose credentials reached the chain since the last step, so a look at
        // the job joins only the rows still on their way (see `bulk_rows_on_chain`). Rows
        // reach the chain about as fast as they are issued; a few steps' worth catches up.
        self.store
            .mark_bulk_rows_on_chain(job.job_id, self.config.batch.saturating_mul(4))
            .await?;
        match transient {
            Some(IssueError::Store(e)) => Err(e.into()),
            Some(e) => Err(BulkError::Internal(e.to_string())),
            None => Ok(Step::Worked(done.len() as u64)),
        }
    }

    /// Rows a step takes: `batch`, or one second's worth under a lower pace, so that a paced
    /// step is no longer than a second of the job.
    fn step_rows(&self) -> u32 {
        match self.config.rows_per_second {
            0 => self.config.batch,
            rate => self.config.batch.min(rate),
        }
        .max(1)
    }

    /// Rows to keep in flight now: few while interactive issuance runs.
    fn in_flight_limit(&self) -> usize {
        if self.issuance.interactive().busy(self.config.quiet) {
            self.config.busy_concurrency
        } else {
            self.config.concurrency
        }
        .max(1)
    }

    /// Issues `rows`, keeping [`Self::in_flight_limit`] of them in flight (asked again before
    /// each row starts) and starting none after `step_time`: rows not started stay pending for
    /// the next step. Each row is its own task, so building and signing use every core rather
    /// than the one running the step; dropping the step aborts them (a row whose commit went
    /// through is replayed by its key). Results come in completion order.
    async fn issue_rows(
        &self,
        job: &BulkJob,
        issuer: &crate::issuer::Issuer,
        rows: Vec<PendingRow>,
    ) -> Vec<Result<RowResult, IssueError>> {
        let started = tokio::time::Instant::now();
        let mut waiting = rows.into_iter();
        let mut running = tokio::task::JoinSet::new();
        let mut results = Vec::with_capacity(waiting.len());
        loop {
            // The first row always starts, so that every step makes progress.
            if started.elapsed() < self.config.step_time || results.is_empty() && running.is_empty()
            {
                let limit = self.in_flight_limit();
                while running.len() < limit {
                    let Some(row) = waiting.next() else { break };
                    let row = RowJob {
                        issuance: self.issuance.clone(),
                        job: job.job_id,
                        program: job.program_id.clone(),
                        issuer_did: issuer.issuer_did.clone(),
                        partner: issuer.partner_id,
                        row,
                    };
                    running.spawn(row.issue());
                }
            }
            match running.join_next().await {
                Some(Ok(r)) => results.push(r),
                // A row that panicked stays pending; the step reports the fault.
                Some(Err(e)) => results.push(Err(IssueError::Internal(format!(
                    "a bulk row's task failed: {e}"
                )))),
                None => return results,
            }
        }
    }
}

/// One row to issue, owning what its task needs.
struct RowJob {
    issuance: Arc<Issuance>,
    job: super::JobId,
    program: crate::ProgramId,
    issuer_did: String,
    partner: crate::PartnerId,
    row: PendingRow,
}

impl RowJob {
    /// Issues the row; `Err` only for a transient failure (the row stays pending).
    async fn issue(self) -> Result<RowResult, IssueError> {
        let RowJob {
            issuance,
            job,
            program,
            issuer_did,
            partner,
            row,
        } = self;
        let req = IssueRequest {
            issuer_did,
            credential_id: program,
            credential_subject: row.subject,
            on_duplicate: row.on_duplicate,
        };
        let fingerprint = fingerprint(&row.email_key, &req);
        let key = row_key(job, row.row_no);
        let outcome = issuance
            .issue_detailed(partner, &row.email_key, req, Some((key, fingerprint)))
            .await;
        let (status, hash, error) = match outcome {
            Ok((resp, IssueKind::Issued)) => (RowStatus::Issued, Some(resp.core_claim_hash), None),
            Ok((resp, IssueKind::Existing)) => (
                RowStatus::SkippedDuplicate,
                Some(resp.core_claim_hash),
                None,
            ),
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => (RowStatus::Failed, None, Some(public_message(&e))),
        };
        Ok(RowResult {
            row_no: row.row_no,
            status,
            core_claim_hash: hash,
            error,
        })
    }
}

/// A refused row's error as issue-on-behalf would answer it.
fn public_message(e: &IssueError) -> String {
    match e {
        IssueError::Invalid(d) => d.message(),
        IssueError::Forbidden(m) | IssueError::NotFound(m) | IssueError::Conflict(m) => m.clone(),
        IssueError::Store(_) | IssueError::Internal(_) => {
            "Server-side failure. Retry with exponential backoff.".into()
        }
    }
}

/// What the row's idempotency key is bound to: recipient, program, subject and duplicate rule.
fn fingerprint(email: &str, req: &IssueRequest) -> String {
    let mut h = Sha3_256::new();
    for part in [
        email,
        &req.credential_id.0,
        &serde_json::Value::Object(req.credential_subject.clone()).to_string(),
        match req.on_duplicate {
            crate::store::OnDuplicate::Ignore => "ignore",
            crate::store::OnDuplicate::Revoke => "revoke",
        },
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
