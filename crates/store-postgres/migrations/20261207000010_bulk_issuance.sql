-- Bulk issuance: jobs, the uploaded file in chunks (until validated), and one row per data row
-- of the file with its result. Counters on the job change in the transaction that changes the
-- rows they count.
CREATE TABLE bulk_jobs (
    id            UUID PRIMARY KEY,
    program_id    TEXT NOT NULL REFERENCES programs(id),
    format        TEXT NOT NULL CHECK (format IN ('csv', 'jsonl')),
    validate_only BOOLEAN NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('UPLOADING', 'VALIDATING', 'RUNNING', 'COMPLETED',
                                                 'VALIDATED', 'CANCELLED', 'FAILED')),
    paused        BOOLEAN NOT NULL DEFAULT FALSE,
    chunks        INTEGER NOT NULL DEFAULT 0,
    upload_bytes  BIGINT NOT NULL DEFAULT 0,
    total_rows    BIGINT NOT NULL DEFAULT 0,
    validated     BIGINT NOT NULL DEFAULT 0,
    invalid       BIGINT NOT NULL DEFAULT 0,
    issued        BIGINT NOT NULL DEFAULT 0,
    skipped       BIGINT NOT NULL DEFAULT 0,
    failed        BIGINT NOT NULL DEFAULT 0,
    error         TEXT,
    lease_owner   TEXT,
    lease_until   TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    started_at    TIMESTAMPTZ,
    finished_at   TIMESTAMPTZ
);
CREATE INDEX bulk_jobs_active ON bulk_jobs (state, created_at);

CREATE TABLE bulk_chunks (
    job_id UUID NOT NULL REFERENCES bulk_jobs(id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE bulk_rows (
    job_id          UUID NOT NULL REFERENCES bulk_jobs(id) ON DELETE CASCADE,
    row_no          BIGINT NOT NULL,
    email           TEXT NOT NULL,
    email_key       TEXT,
    subject         JSONB,
    on_duplicate    TEXT NOT NULL CHECK (on_duplicate IN ('ignore', 'revoke')),
    status          TEXT NOT NULL CHECK (status IN ('PENDING', 'INVALID', 'ISSUED',
                                                    'SKIPPED_DUPLICATE', 'FAILED')),
    core_claim_hash TEXT,
    error           TEXT,
    PRIMARY KEY (job_id, row_no)
);
-- One valid row per address in a job; duplicates are stored invalid, without a key.
CREATE UNIQUE INDEX bulk_rows_email ON bulk_rows (job_id, email_key) WHERE email_key IS NOT NULL;
CREATE INDEX bulk_rows_pending ON bulk_rows (job_id, row_no) WHERE status = 'PENDING';
