-- A bulk job's "on chain" count was a join of every row of the job with its credential, run on
-- every look at the job: at a million rows, seconds of work per progress poll. The runner now
-- marks a row once its credential is on chain and counts it on the job, so a look joins only
-- the rows not yet marked (those still on their way to the chain).
ALTER TABLE bulk_rows ADD COLUMN on_chain BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE bulk_jobs ADD COLUMN on_chain BIGINT NOT NULL DEFAULT 0;

UPDATE bulk_rows r SET on_chain = TRUE
  FROM credentials c
 WHERE r.core_claim_hash IS NOT NULL
   AND c.core_claim_hash = r.core_claim_hash AND c.status = 'ONCHAIN';
UPDATE bulk_jobs j SET on_chain = (SELECT COUNT(*) FROM bulk_rows r
                                    WHERE r.job_id = j.id AND r.on_chain);

CREATE INDEX bulk_rows_unmarked ON bulk_rows (job_id, row_no)
 WHERE core_claim_hash IS NOT NULL AND NOT on_chain;
