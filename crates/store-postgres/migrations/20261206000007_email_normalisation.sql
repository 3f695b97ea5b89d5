-- Addresses are normalised more strictly from now on (NFC, IDNA domains, no invisible
-- characters). Existing rows are rewritten once by the store's `renormalise_emails` step, which
-- records here any row it could not rewrite without merging two users; such rows are kept as
-- they are for an operator to decide.
CREATE TABLE email_conflicts (
    user_id          UUID PRIMARY KEY REFERENCES users(id),
    stored_email     TEXT NOT NULL,
    normalised_email TEXT,
    other_user_id    UUID REFERENCES users(id),
    reason           TEXT NOT NULL,
    detected_at      TIMESTAMPTZ NOT NULL
);

-- One-off data steps done in Rust after the SQL migrations, by name.
CREATE TABLE data_steps (
    name    TEXT PRIMARY KEY,
    done_at TIMESTAMPTZ NOT NULL
);
