-- Publishing against a real chain: every signed transaction of a transition (the first and
-- its fee-bumped replacements, all with one nonce), and which credentials each transition
-- carries, kept after an abandon so that a transition the chain recorded anyway can be
-- adopted with exactly its credentials.

-- All attempts are kept: after a crash, whichever of them got mined is found by its hash.
-- `transitions.tx_nonce/tx_hash/raw_tx` keep mirroring the newest attempt (and `tx_hash` the
-- mined one once confirmed).
CREATE TABLE transition_txs (
    transition_id INTEGER NOT NULL REFERENCES transitions(id),
    attempt       INTEGER NOT NULL,
    nonce         INTEGER NOT NULL,
    tx_hash       TEXT NOT NULL,
    raw_tx        BLOB NOT NULL,
    recorded_at   INTEGER NOT NULL,
    PRIMARY KEY (transition_id, attempt)
) STRICT;
INSERT INTO transition_txs (transition_id, attempt, nonce, tx_hash, raw_tx, recorded_at)
    SELECT id, 0, tx_nonce, tx_hash, raw_tx, updated_at FROM transitions
    WHERE tx_nonce IS NOT NULL AND tx_hash IS NOT NULL AND raw_tx IS NOT NULL;

CREATE TABLE transition_credentials (
    transition_id   INTEGER NOT NULL REFERENCES transitions(id),
    kind            TEXT NOT NULL CHECK (kind IN ('CLAIM', 'REVOCATION')),
    core_claim_hash TEXT NOT NULL REFERENCES credentials(core_claim_hash),
    PRIMARY KEY (transition_id, kind, core_claim_hash)
) STRICT, WITHOUT ROWID;
INSERT INTO transition_credentials (transition_id, kind, core_claim_hash)
    SELECT claim_transition, 'CLAIM', core_claim_hash FROM credentials
    WHERE claim_transition IS NOT NULL;
INSERT INTO transition_credentials (transition_id, kind, core_claim_hash)
    SELECT revocation_transition, 'REVOCATION', core_claim_hash FROM credentials
    WHERE revocation_transition IS NOT NULL;

-- Reconciliation looks transitions up by the state the chain reports.
CREATE INDEX transitions_new_state ON transitions(issuer_id, new_state);
