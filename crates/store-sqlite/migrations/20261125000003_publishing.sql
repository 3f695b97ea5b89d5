-- Publishing identity states: content-addressed Merkle tree nodes, each issuer's state
-- transitions (computed -> signed -> confirmed | abandoned), publisher leases, and which
-- transition carries each credential's claim and revocation.
-- Field elements are 64 hex digits, little-endian (iden3's Hash.Hex()).

-- Never deleted: a proof at any historical root stays available. A leaf stores (key, value),
-- a middle node (left, right).
CREATE TABLE tree_nodes (
    hash  TEXT PRIMARY KEY,
    leaf  INTEGER NOT NULL CHECK (leaf IN (0, 1)),
    a     TEXT NOT NULL,
    b     TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE transitions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    issuer_id           TEXT NOT NULL REFERENCES issuers(id),
    status              TEXT NOT NULL CHECK (status IN ('COMPUTED', 'SIGNED', 'CONFIRMED', 'ABANDONED')),
    -- NULL old_* for the first transition (genesis state 0).
    old_state           TEXT,
    old_claims_root     TEXT,
    old_revocation_root TEXT,
    old_roots_root      TEXT,
    new_state           TEXT NOT NULL,
    claims_root         TEXT NOT NULL,
    revocation_root     TEXT NOT NULL,
    roots_root          TEXT NOT NULL,
    tx_nonce            INTEGER,
    tx_hash             TEXT,
    raw_tx              BLOB,
    block_number        INTEGER,
    failure             TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;
-- At most one transition in flight per issuer.
CREATE UNIQUE INDEX transitions_in_flight ON transitions(issuer_id)
    WHERE status IN ('COMPUTED', 'SIGNED');
CREATE INDEX transitions_confirmed ON transitions(issuer_id, id) WHERE status = 'CONFIRMED';

CREATE TABLE publisher_leases (
    issuer_id  TEXT PRIMARY KEY REFERENCES issuers(id),
    owner      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

ALTER TABLE credentials ADD COLUMN claim_transition INTEGER REFERENCES transitions(id);
ALTER TABLE credentials ADD COLUMN revocation_transition INTEGER REFERENCES transitions(id);
CREATE INDEX credentials_claim_pending ON credentials(issuer_id, created_at)
    WHERE claim_transition IS NULL;
CREATE INDEX credentials_revocation_pending ON credentials(issuer_id, updated_at)
    WHERE status = 'WAIT_REMOVE' AND revocation_transition IS NULL;
CREATE INDEX credentials_claim_transition ON credentials(claim_transition);
CREATE INDEX credentials_revocation_transition ON credentials(revocation_transition);
