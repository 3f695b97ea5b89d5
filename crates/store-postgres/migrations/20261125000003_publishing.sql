-- Publishing identity states: content-addressed Merkle tree nodes, each issuer's state
-- transitions (computed -> signed -> confirmed | abandoned), publisher leases, and which
-- transition carries each credential's claim and revocation.
-- Field elements are 64 hex digits, little-endian (iden3's Hash.Hex()).

-- Never deleted: a proof at any historical root stays available. A leaf stores (key, value),
-- a middle node (left, right).
CREATE TABLE tree_nodes (
    hash  TEXT PRIMARY KEY,
    leaf  BOOLEAN NOT NULL,
    a     TEXT NOT NULL,
    b     TEXT NOT NULL
);

CREATE TABLE transitions (
    id                  BIGSERIAL PRIMARY KEY,
    issuer_id           UUID NOT NULL REFERENCES issuers(id),
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
    tx_nonce            BIGINT,
    tx_hash             TEXT,
    raw_tx              BYTEA,
    block_number        BIGINT,
    failure             TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
-- At most one transition in flight per issuer.
CREATE UNIQUE INDEX transitions_in_flight ON transitions(issuer_id)
    WHERE status IN ('COMPUTED', 'SIGNED');
CREATE INDEX transitions_confirmed ON transitions(issuer_id, id) WHERE status = 'CONFIRMED';

-- One publisher per issuer across every instance: a lease renewed while working.
CREATE TABLE publisher_leases (
    issuer_id  UUID PRIMARY KEY REFERENCES issuers(id),
    owner      TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

ALTER TABLE credentials ADD COLUMN claim_transition BIGINT REFERENCES transitions(id);
ALTER TABLE credentials ADD COLUMN revocation_transition BIGINT REFERENCES transitions(id);
CREATE INDEX credentials_claim_pending ON credentials(issuer_id, created_at)
    WHERE claim_transition IS NULL;
CREATE INDEX credentials_revocation_pending ON credentials(issuer_id, updated_at)
    WHERE status = 'WAIT_REMOVE' AND revocation_transition IS NULL;
CREATE INDEX credentials_claim_transition ON credentials(claim_transition);
CREATE INDEX credentials_revocation_transition ON credentials(revocation_transition);
