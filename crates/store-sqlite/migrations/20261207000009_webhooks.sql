-- Webhooks: partners' endpoints, the outbox of credential events (written in the transaction of
-- the status change that causes them), one delivery per (event, endpoint) and its attempts.

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    partner_id      TEXT NOT NULL REFERENCES partners(id),
    url             TEXT NOT NULL,
    event_mask      INTEGER NOT NULL,          -- bits of claimd_core::webhook::EventType
    enabled         INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    secret          BLOB NOT NULL,             -- sealed under the master key
    previous_secret BLOB,                      -- the key before the last rotation ...
    previous_until  INTEGER,                   -- ... signing until then (Unix ms)
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_partner ON webhook_endpoints(partner_id);

CREATE TABLE webhook_events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL UNIQUE,
    partner_id      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    core_claim_hash TEXT NOT NULL,
    credential_id   TEXT NOT NULL,
    issuer_did      TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    vc_status       TEXT NOT NULL,
    tx_hash         TEXT,
    block_number    INTEGER,
    occurred_at     INTEGER NOT NULL
);
CREATE INDEX webhook_events_partner ON webhook_events(partner_id, seq);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_seq       INTEGER NOT NULL REFERENCES webhook_events(seq),
    core_claim_hash TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'DEAD')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(endpoint_id, core_claim_hash, id)
    WHERE state = 'PENDING';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);

CREATE TABLE webhook_attempts (
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status_code INTEGER,
    error       TEXT,
    response    TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
