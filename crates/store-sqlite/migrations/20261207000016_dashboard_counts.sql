-- Counts the dashboard and the operator API show on every load, kept up to date in the same
-- transaction as the rows they count, so that reading them costs a few rows, not a scan of
-- every credential (0.5 s with a million; `cargo bench -p claimd --bench dashboard`).

-- Credentials per status. SQLite has one writer at a time, so a row per status is never
-- contended.
CREATE TABLE credential_status_counts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
) STRICT;
INSERT INTO credential_status_counts (status, n)
    SELECT status, COUNT(*) FROM credentials GROUP BY status;

CREATE TRIGGER credential_status_counts_insert AFTER INSERT ON credentials
BEGIN
    INSERT INTO credential_status_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER credential_status_counts_update AFTER UPDATE OF status ON credentials
    WHEN OLD.status <> NEW.status
BEGIN
    UPDATE credential_status_counts SET n = n - 1 WHERE status = OLD.status;
    INSERT INTO credential_status_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER credential_status_counts_delete AFTER DELETE ON credentials
BEGIN
    UPDATE credential_status_counts SET n = n - 1 WHERE status = OLD.status;
END;

-- How many claims and revocations a transition carries, fixed when it is computed (what
-- transition_credentials lists), instead of counting them on every read.
ALTER TABLE transitions ADD COLUMN claim_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE transitions ADD COLUMN revocation_count INTEGER NOT NULL DEFAULT 0;
UPDATE transitions SET
    claim_count = (SELECT COUNT(*) FROM transition_credentials c
                   WHERE c.transition_id = transitions.id AND c.kind = 'CLAIM'),
    revocation_count = (SELECT COUNT(*) FROM transition_credentials c
                        WHERE c.transition_id = transitions.id AND c.kind = 'REVOCATION');
