//! Bulk issuance: an operator issues one program to every row of an uploaded file.
//!
//! - [`file`]: the upload formats (CSV, JSON Lines), read incrementally, and each row checked
//!   against the program's schema;
//! - [`store`]: the storage port ([`BulkStore`]): jobs, the uploaded bytes in chunks, the
//!   rows and their results, the job lease;
//! - [`service`]: what the operator API calls (upload, progress, pause/resume/cancel, results);
//! - [`runner`]: the background worker that validates a job's rows, then issues them one by
//!   one through [`crate::issuance::Issuance`] — the path of issue-on-behalf — with the row key
//!   as idempotency key.
//!
//! A job moves `UPLOADING` → `VALIDATING` → `RUNNING` → `COMPLETED` (or `VALIDATED` when it
//! only validates); `CANCELLED` and `FAILED` end it early. `paused` holds a validating or
//! running job where it is.

pub mod file;
pub mod runner;
pub mod service;
pub mod store;

pub use store::BulkStore;

use crate::store::StoreError;
use crate::ProgramId;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Most data rows in one file.
pub const MAX_ROWS: u64 = 1_000_000;
/// Largest upload, in bytes.
pub const MAX_UPLOAD_BYTES: u64 = 512 * 1024 * 1024;
/// Uploaded bytes are stored in chunks of about this size.
pub const CHUNK_BYTES: usize = 1024 * 1024;

crate::ids::uuid_id!(
    /// A bulk issuance job.
    JobId,
    "bulk job"
);

/// The upload's format, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Header `email,<attribute>…[,onDuplicate]`, one row per line (RFC 4180 quoting).
    Csv,
    /// One JSON object per line: `{"email", "credentialSubject", "onDuplicate"?}`.
    Jsonl,
}

impl Format {
    /// `text/csv`, or `application/x-ndjson` / `application/jsonl` / `application/x-jsonlines`
    /// (parameters such as `; charset=utf-8` are ignored).
    pub fn from_content_type(ct: &str) -> Option<Format> {
        let mime = ct.split(';').next()?.trim().to_ascii_lowercase();
        match mime.as_str() {
            "text/csv" => Some(Format::Csv),
            "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines" => {
                Some(Format::Jsonl)
            }
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "jsonl" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    /// The file is being received; invisible to the runner.
    Uploading,
    /// The runner checks every row against the schema.
    Validating,
    /// The runner issues the valid rows.
    Running,
    /// Every valid row was issued (or refused, per row).
    Completed,
    /// A validate-only job whose rows were all checked.
    Validated,
    Cancelled,
    /// The file could not be read after all (see the job's `error`).
    Failed,
}

impl JobState {
    pub const ALL: [JobState; 7] = [
        JobState::Uploading,
        JobState::Validating,
        JobState::Running,
        JobState::Completed,
        JobState::Validated,
        JobState::Cancelled,
        JobState::Failed,
    ];
    /// States the runner works on (unless paused).
    pub const ACTIVE: [JobState; 2] = [JobState::Validating, JobState::Running];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Uploading => "UPLOADING",
            JobState::Validating => "VALIDATING",
            JobState::Running => "RUNNING",
            JobState::Completed => "COMPLETED",
            JobState::Validated => "VALIDATED",
            JobState::Cancelled => "CANCELLED",
            JobState::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Validated | JobState::Cancelled | JobState::Failed
        )
    }
}

/// How many rows are where. `validated` counts every row checked (valid or not); the others
/// partition them: `invalid + pending + issued + skipped + failed = validated`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowCounts {
    pub total: u64,
    pub validated: u64,
    pub invalid: u64,
    pub issued: u64,
    /// `onDuplicate: ignore` found a live credential: its hash is the row's result.
    pub skipped_duplicate: u64,
    pub failed: u64,
}

impl RowCounts {
    /// Valid rows not yet issued or refused.
    pub fn pending(&self) -> u64 {
        self.validated
            .saturating_sub(self.invalid + self.issued + self.skipped_duplicate + self.failed)
    }

    /// Rows the runner has finished with (issued, skipped or refused).
    pub fn done(&self) -> u64 {
        self.issued + self.skipped_duplicate + self.failed
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkJob {
    pub job_id: JobId,
    pub program_id: ProgramId,
    pub format: Format,
    pub validate_only: bool,
    pub state: JobState,
    pub paused: bool,
    /// Stored chunks of the upload (deleted once validated).
    pub chunks: u32,
    pub upload_bytes: u64,
    pub counts: RowCounts,
    /// Why the job failed.
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When issuing started (for the rate and the ETA).
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What a row became.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RowStatus {
    /// Valid, waiting to be issued.
    Pending,
    /// Refused by validation; not issued.
    Invalid,
    Issued,
    /// `onDuplicate: ignore` and a live credential: that one is the result.
    SkippedDuplicate,
    /// Refused by issuance (consent, cap, window, …).
    Failed,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Pending => "PENDING",
            RowStatus::Invalid => "INVALID",
            RowStatus::Issued => "ISSUED",
            RowStatus::SkippedDuplicate => "SKIPPED_DUPLICATE",
            RowStatus::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<RowStatus> {
        [
            RowStatus::Pending,
            RowStatus::Invalid,
            RowStatus::Issued,
            RowStatus::SkippedDuplicate,
            RowStatus::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// A checked row, as stored before issuance.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRow {
    /// 1-based number among the file's data rows (the header and blank lines do not count).
    pub row_no: u64,
    /// The address as written (for the results file), at most 320 characters.
    pub email: String,
    /// The normalised address of a valid row (unique among a job's valid rows).
    pub email_key: Option<String>,
    /// The typed `credentialSubject` of a valid row.
    pub subject: Option<serde_json::Map<String, serde_json::Value>>,
    pub on_duplicate: crate::store::OnDuplicate,
    /// Why the row is invalid, in the API's words.
    pub error: Option<String>,
}

/// A valid row waiting for issuance.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRow {
    pub row_no: u64,
    pub email_key: String,
    pub subject: serde_json::Map<String, serde_json::Value>,
    pub on_duplicate: crate::store::OnDuplicate,
}

/// What issuing a row gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    pub row_no: u64,
    /// `Issued`, `SkippedDuplicate` or `Failed`.
    pub status: RowStatus,
    pub core_claim_hash: Option<String>,
    pub error: Option<String>,
}

/// A row in the results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRecord {
    pub row_no: u64,
    pub email: String,
    pub status: RowStatus,
    pub core_claim_hash: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    /// 400: the file (or the request) cannot be used; the message names the problem.
    #[error("{0}")]
    BadFile(String),
    /// 413: more bytes or rows than a job takes.
    #[error("{0}")]
    TooLarge(String),
    /// 404.
    #[error("{0}")]
    NotFound(&'static str),
    /// 409: the job's state does not allow it.
    #[error("{0}")]
    State(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or corrupted data: logged, a 500.
    #[error("{0}")]
    Internal(String),
}

pub const UNKNOWN_JOB: &str = "Unknown bulk issuance job";
pub const UNKNOWN_PROGRAM: &str = "Unknown issuance program";

/// The operator's view of a job: its state (`PAUSED` while paused), the row counts and, while
/// it issues, the rate and the time left at that rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub job_id: JobId,
    pub credential_id: ProgramId,
    pub format: Format,
    pub validate_only: bool,
    pub state: &'static str,
    pub rows: RowView,
    /// Rows finished per second since issuing started.
    pub rate_per_second: Option<f64>,
    /// Seconds until every pending row is finished at that rate.
    pub eta_seconds: Option<u64>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowView {
    #[serde(flatten)]
    pub counts: RowCounts,
    pub pending: u64,
    /// Rows whose credential (issued or the existing one) is `ONCHAIN` now.
    pub on_chain: Option<u64>,
}

impl BulkJob {
    /// The state operators see.
    pub fn shown_state(&self) -> &'static str {
        if self.paused && !self.state.is_final() {
            "PAUSED"
        } else {
            self.state.as_str()
        }
    }

    /// The view at `now`; `on_chain` is counted by the caller (it reads credentials).
    pub fn view(&self, now: DateTime<Utc>, on_chain: Option<u64>) -> JobView {
        let done = self.counts.done();
        let rate = self.started_at.and_then(|start| {
            let end = self.finished_at.unwrap_or(now);
            let secs = (end - start).num_milliseconds() as f64 / 1000.0;
            (secs > 0.0 && done > 0).then(|| done as f64 / secs)
        });
        let pending = self.counts.pending();
        let eta = match (self.state, rate) {
            (JobState::Running, Some(r)) if !self.paused => {
                Some((pending as f64 / r).ceil() as u64)
            }
            _ => None,
        };
        JobView {
            job_id: self.job_id,
            credential_id: self.program_id.clone(),
            format: self.format,
            validate_only: self.validate_only,
            state: self.shown_state(),
            rows: RowView {
                counts: self.counts,
                pending,
                on_chain,
            },
            rate_per_second: rate.map(|r| (r * 10.0).round() / 10.0),
            eta_seconds: eta,
            error: self.error.clone(),
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        }
    }
}

/// What an operator asks of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Pause,
    Resume,
    Cancel,
}

impl Control {
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Pause => "pause",
            Control::Resume => "resume",
            Control::Cancel => "cancel",
        }
    }

    /// The states it applies to and what it changes: `(from, new state, new paused)`.
    /// Pausing a paused job or resuming a running one changes nothing and is allowed.
    pub fn change(self) -> (&'static [JobState], Option<JobState>, Option<bool>) {
        const LIVE: &[JobState] = &[JobState::Validating, JobState::Running];
        const CANCELLABLE: &[JobState] =
            &[JobState::Uploading, JobState::Validating, JobState::Running];
        match self {
            Control::Pause => (LIVE, None, Some(true)),
            Control::Resume => (LIVE, None, Some(false)),
            Control::Cancel => (CANCELLABLE, Some(JobState::Cancelled), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(Format::from_content_type("text/csv"), Some(Format::Csv));
        assert_eq!(
            Format::from_content_type("Text/CSV; charset=utf-8"),
            Some(Format::Csv)
        );
        assert_eq!(
            Format::from_content_type("application/x-ndjson"),
            Some(Format::Jsonl)
        );
        assert_eq!(Format::from_content_type("application/json"), None);
    }

    #[test]
    fn states_round_trip() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
    }
}
