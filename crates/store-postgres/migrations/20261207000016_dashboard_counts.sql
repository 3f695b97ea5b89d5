-- Counts the dashboard and the operator API show on every load, kept up to date in the same
-- transaction as the rows they count, so that reading them costs a few rows, not a scan of
-- every credential (0.5 s with a million; `cargo bench -p claimd --bench dashboard`).

-- Credentials per status. A single counter row per status would be locked by every
-- concurrent issuance until it commits, and two transactions touching two statuses in
-- opposite orders (an issuance that revokes, a publisher confirming) would deadlock. So each
-- statement appends its net change to credential_status_deltas, which never conflicts, and
-- the store folds the deltas into credential_status_counts now and then
-- (`credentials::fold_status_deltas`); a reader sums both in one snapshot.
CREATE TABLE credential_status_counts (
    status TEXT PRIMARY KEY,
    n      BIGINT NOT NULL
);
CREATE TABLE credential_status_deltas (
    id     BIGSERIAL PRIMARY KEY,
    status TEXT NOT NULL,
    n      BIGINT NOT NULL
);
INSERT INTO credential_status_counts (status, n)
    SELECT status, COUNT(*) FROM credentials GROUP BY status;

CREATE FUNCTION credential_status_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO credential_status_deltas (status, n)
        SELECT status, COUNT(*) FROM inserted GROUP BY status;
    RETURN NULL;
END $$;
CREATE TRIGGER credential_status_inserted AFTER INSERT ON credentials
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION credential_status_inserted();

-- Transition tables cannot be combined with a column list, so this runs after every update
-- of credentials; rows whose status did not change cancel out and append nothing.
CREATE FUNCTION credential_status_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO credential_status_deltas (status, n)
        SELECT status, SUM(n) FROM (
            SELECT status, 1 AS n FROM after_rows
            UNION ALL
            SELECT status, -1 AS n FROM before_rows
        ) d GROUP BY status HAVING SUM(n) <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER credential_status_updated AFTER UPDATE ON credentials
    REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
    FOR EACH STATEMENT EXECUTE FUNCTION credential_status_updated();

CREATE FUNCTION credential_status_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO credential_status_deltas (status, n)
        SELECT status, -COUNT(*) FROM deleted GROUP BY status;
    RETURN NULL;
END $$;
CREATE TRIGGER credential_status_deleted AFTER DELETE ON credentials
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION credential_status_deleted();

-- How many claims and revocations a transition carries, fixed when it is computed (what
-- transition_credentials lists), instead of counting them on every read.
ALTER TABLE transitions ADD COLUMN claim_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE transitions ADD COLUMN revocation_count BIGINT NOT NULL DEFAULT 0;
UPDATE transitions t SET
    claim_count = (SELECT COUNT(*) FROM transition_credentials c
                   WHERE c.transition_id = t.id AND c.kind = 'CLAIM'),
    revocation_count = (SELECT COUNT(*) FROM transition_credentials c
                        WHERE c.transition_id = t.id AND c.kind = 'REVOCATION');
