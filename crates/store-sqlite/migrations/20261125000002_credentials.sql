-- Issued credentials, the program issuance counter, and idempotency keys.

ALTER TABLE programs ADD COLUMN issued_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE credentials (
    core_claim_hash  TEXT PRIMARY KEY,           -- 64 lowercase hex digits, big-endian
    vc_id            TEXT NOT NULL UNIQUE,       -- the VC's "urn:<uuid>"
    partner_id       TEXT NOT NULL REFERENCES partners(id),
    issuer_id        TEXT NOT NULL REFERENCES issuers(id),
    program_id       TEXT NOT NULL REFERENCES programs(id),
    schema_id        TEXT NOT NULL REFERENCES schemas(id),
    user_id          TEXT NOT NULL REFERENCES users(id),
    revocation_nonce INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('WAIT_ONCHAIN', 'ONCHAIN', 'WAIT_REMOVE', 'REMOVE')),
    issuance_date    INTEGER NOT NULL,
    expiration_date  INTEGER,
    core_claim       TEXT NOT NULL,              -- 512 hex digits, the 8 slots little-endian
    document         TEXT NOT NULL,              -- the W3C VC (JSON) with its proofs so far
    tx_hash          TEXT,
    block_number     INTEGER,
    identity_state   TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (issuer_id, revocation_nonce)
) STRICT;
-- At most one live credential per (program, user): the duplicate rule, enforced by the database.
CREATE UNIQUE INDEX credentials_live ON credentials(program_id, user_id)
    WHERE status IN ('WAIT_ONCHAIN', 'ONCHAIN');
CREATE INDEX credentials_issuer_status ON credentials(issuer_id, status);

CREATE TABLE idempotency_keys (
    partner_id   TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (partner_id, key)
) STRICT;
