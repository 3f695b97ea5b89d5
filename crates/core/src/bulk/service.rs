//! What the operator API does with bulk jobs: receive an upload, show progress, pause, resume,
//! cancel, and page through the results.

use super::file::FileReader;
use super::store::NewJob;
use super::{
    BulkError, BulkJob, Control, Format, JobId, JobState, JobView, RowRecord, RowStatus,
    CHUNK_BYTES, MAX_UPLOAD_BYTES, UNKNOWN_JOB, UNKNOWN_PROGRAM,
};
use crate::page::{Page, PageRequest};
use crate::store::{Store, StoreError};
use crate::ProgramId;
use claimd_clock::SharedClock;
use std::sync::Arc;

pub struct Bulk {
    store: Arc<dyn Store>,
    clock: SharedClock,
}

/// An upload in progress: bytes are checked as they come and stored in chunks.
pub struct Upload {
    store: Arc<dyn Store>,
    clock: SharedClock,
    job: BulkJob,
    reader: FileReader,
    buf: Vec<u8>,
    seq: u32,
    bytes: u64,
}

impl Bulk {
    pub fn new(store: Arc<dyn Store>, clock: SharedClock) -> Self {
        Bulk { store, clock }
    }

    /// Starts a job for `program` (a 404 if it does not exist).
    pub async fn start_upload(
        &self,
        program: &str,
        format: Format,
        validate_only: bool,
    ) -> Result<Upload, BulkError> {
        let id = ProgramId::parse(program).ok_or(BulkError::NotFound(UNKNOWN_PROGRAM))?;
        let program = self
            .store
            .program(&id)
            .await?
            .ok_or(BulkError::NotFound(UNKNOWN_PROGRAM))?;
        let schema = self.store.program_schema(&program).await?;
        let job = self
            .store
            .create_bulk_job(NewJob {
                job_id: JobId::new_random(),
                program_id: program.credential_id,
                format,
                validate_only,
                at: self.clock.now(),
            })
            .await?;
        Ok(Upload {
            store: self.store.clone(),
            clock: self.clock.clone(),
            reader: FileReader::new(format, schema, false),
            job,
            buf: Vec::with_capacity(CHUNK_BYTES),
            seq: 0,
            bytes: 0,
        })
    }

    pub async fn job(&self, raw: &str) -> Result<JobView, BulkError> {
        let job = self.find(raw).await?;
        self.view(job).await
    }

    pub async fn list(&self, page: PageRequest) -> Result<Page<JobView>, BulkError> {
        let jobs = self.store.list_bulk_jobs(page).await?;
        let now = self.clock.now();
        // The list leaves the on-chain count out: it is a count over each job's rows.
        Ok(jobs.map(|j| j.view(now, None)))
    }

    pub async fn control(&self, raw: &str, control: Control) -> Result<JobView, BulkError> {
        let job = self.find(raw).await?;
        let (from, state, paused) = control.change();
        match self
            .store
            .change_bulk_job(job.job_id, from, state, paused, self.clock.now())
            .await
        {
            Ok(Some(job)) => self.view(job).await,
            Ok(None) => Err(BulkError::NotFound(UNKNOWN_JOB)),
            Err(StoreError::Conflict(_)) => Err(BulkError::State(format!(
                "Cannot {} a job that is {}",
                control.as_str(),
                job.shown_state()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The job (for the results' header) and a reader of its rows in order.
    pub async fn results(&self, raw: &str) -> Result<(BulkJob, Results), BulkError> {
        let job = self.find(raw).await?;
        if job.state == JobState::Uploading {
            return Err(BulkError::State(
                "The job's file is still being uploaded".into(),
            ));
        }
        Ok((
            job.clone(),
            Results {
                store: self.store.clone(),
                job,
                after: 0,
            },
        ))
    }

    async fn find(&self, raw: &str) -> Result<BulkJob, BulkError> {
        let id = JobId::parse(raw).ok_or(BulkError::NotFound(UNKNOWN_JOB))?;
        self.store
            .bulk_job(id)
            .await?
            .ok_or(BulkError::NotFound(UNKNOWN_JOB))
    }

    async fn view(&self, job: BulkJob) -> Result<JobView, BulkError> {
        let on_chain = self.store.bulk_rows_on_chain(job.job_id).await?;
        Ok(job.view(self.clock.now(), Some(on_chain)))
    }
}

impl Upload {
    pub fn job_id(&self) -> JobId {
        self.job.job_id
    }

    /// The next bytes of the file.
    pub async fn push(&mut self, data: &[u8]) -> Result<(), BulkError> {
        self.bytes += data.len() as u64;
        if self.bytes > MAX_UPLOAD_BYTES {
            return Err(BulkError::TooLarge(format!(
                "The file is larger than {} MiB",
                MAX_UPLOAD_BYTES / (1024 * 1024)
            )));
        }
        self.reader.push(data)?;
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), BulkError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let stored = self
            .store
            .append_bulk_chunk(self.job.job_id, self.seq, &self.buf)
            .await;
        cancelled_during_upload(stored)?;
        self.seq += 1;
        self.buf.clear();
        Ok(())
    }

    /// The whole file was received: the job goes to validation. Answers its view.
    pub async fn finish(&mut self) -> Result<JobView, BulkError> {
        self.reader.finish()?;
        let rows = self.reader.rows();
        self.flush().await?;
        let finished = self
            .store
            .finish_bulk_upload(self.job.job_id, rows, self.bytes, self.clock.now())
            .await;
        cancelled_during_upload(finished)?;
        let job = self
            .store
            .bulk_job(self.job.job_id)
            .await?
            .ok_or(BulkError::NotFound(UNKNOWN_JOB))?;
        Ok(job.view(self.clock.now(), Some(0)))
    }

    /// The upload failed: nothing of it is kept.
    pub async fn abort(self) -> Result<(), StoreError> {
        self.store.delete_bulk_job(self.job.job_id).await
    }
}

/// The result of a store write made for an upload. The store refuses (`Conflict`) a write to
/// a job that is no longer uploading, which means an operator cancelled it meanwhile: a 409
/// that says so rather than a store error.
fn cancelled_during_upload(written: Result<(), StoreError>) -> Result<(), BulkError> {
    written.map_err(|e| match e {
        StoreError::Conflict(_) => {
            BulkError::State("The job was cancelled during the upload".into())
        }
        e => e.into(),
    })
}

/// The rows of a job in order, a page at a time.
pub struct Results {
    store: Arc<dyn Store>,
    job: BulkJob,
    after: u64,
}

/// Rows read per page of the results.
const RESULTS_PAGE: u32 = 5000;

impl Results {
    /// The next rows (empty at the end).
    pub async fn next_page(&mut self) -> Result<Vec<RowRecord>, StoreError> {
        let rows = self
            .store
            .bulk_rows(self.job.job_id, self.after, RESULTS_PAGE)
            .await?;
        if let Some(last) = rows.last() {
            self.after = last.row_no;
        }
        Ok(rows)
    }

    /// The results file's header line.
    pub const HEADER: &'static str = "row,email,status,coreClaimHash,error\n";

    /// One row of the results file. A row still pending reads `VALID` in a validate-only job,
    /// `NOT_ISSUED` in a cancelled or failed one.
    pub fn csv_line(&self, r: &RowRecord) -> String {
        let status = match (r.status, self.job.state) {
            (RowStatus::Pending, JobState::Validated) => "VALID",
            (RowStatus::Pending, JobState::Cancelled | JobState::Failed) => "NOT_ISSUED",
            (s, _) => s.as_str(),
        };
        format!(
            "{},{},{},{},{}\n",
            r.row_no,
            csv_cell(&r.email),
            status,
            r.core_claim_hash.as_deref().unwrap_or(""),
            csv_cell(r.error.as_deref().unwrap_or(""))
        )
    }
}

/// A CSV cell: quoted when it holds a separator, a quote or a line break; a leading `=`, `+`,
/// `-` or `@` gets a `'` so spreadsheets do not run it as a formula.
fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells() {
        assert_eq!(super::csv_cell("a@x.org"), "a@x.org");
        assert_eq!(super::csv_cell("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(super::csv_cell("=cmd()"), "'=cmd()");
    }
}
