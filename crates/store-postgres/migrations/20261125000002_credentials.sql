-- Issued credentials, the program issuance counter, and idempotency keys.

ALTER TABLE programs ADD COLUMN issued_count BIGINT NOT NULL DEFAULT 0;

CREATE TABLE credentials (
    core_claim_hash  TEXT PRIMARY KEY,           -- 64 lowercase hex digits, big-endian
    vc_id            TEXT NOT NULL UNIQUE,       -- the VC's "urn:<uuid>"
    partner_id       UUID NOT NULL REFERENCES partners(id),
    issuer_id        UUID NOT NULL REFERENCES issuers(id),
    program_id       TEXT NOT NULL REFERENCES programs(id),
    schema_id        UUID NOT NULL REFERENCES schemas(id),
    user_id          UUID NOT NULL REFERENCES users(id),
    revocation_nonce BIGINT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('WAIT_ONCHAIN', 'ONCHAIN', 'WAIT_REMOVE', 'REMOVE')),
    issuance_date    TIMESTAMPTZ NOT NULL,
    expiration_date  TIMESTAMPTZ,
    core_claim       TEXT NOT NULL,              -- 512 hex digits, the 8 slots little-endian
    document         TEXT NOT NULL,              -- the W3C VC (JSON text: key order kept) with its proofs so far
    tx_hash          TEXT,
    block_number     BIGINT,
    identity_state   TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (issuer_id, revocation_nonce)
);
-- At most one live credential per (program, user): the duplicate rule, enforced by the database.
CREATE UNIQUE INDEX credentials_live ON credentials(program_id, user_id)
    WHERE status IN ('WAIT_ONCHAIN', 'ONCHAIN');
CREATE INDEX credentials_issuer_status ON credentials(issuer_id, status);

CREATE TABLE idempotency_keys (
    partner_id   UUID NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (partner_id, key)
);
