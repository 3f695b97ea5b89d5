-- Webhooks: partners' endpoints, the outbox of credential events (written in the transaction of
-- the status change that causes them), one delivery per (event, endpoint) and its attempts.

CREATE TABLE webhook_endpoints (
    id              UUID PRIMARY KEY,
    partner_id      UUID NOT NULL REFERENCES partners(id),
    url             TEXT NOT NULL,
    event_mask      BIGINT NOT NULL,           -- bits of claimd_core::webhook::EventType
    enabled         BOOLEAN NOT NULL,
    secret          BYTEA NOT NULL,            -- sealed under the master key
    previous_secret BYTEA,                     -- the key before the last rotation ...
    previous_until  TIMESTAMPTZ,               -- ... signing until then
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_endpoints_partner ON webhook_endpoints(partner_id);

CREATE TABLE webhook_events (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE,
    partner_id      UUID NOT NULL,
    event_type      TEXT NOT NULL,
    core_claim_hash TEXT NOT NULL,
    credential_id   TEXT NOT NULL,
    issuer_did      TEXT NOT NULL,
    user_id         UUID NOT NULL,
    vc_status       TEXT NOT NULL,
    tx_hash         TEXT,
    block_number    BIGINT,
    occurred_at     TIMESTAMPTZ NOT NULL,
    -- The writing transaction: sequence numbers are taken in insert order, not commit order,
    -- so readers of the event cursor list only events older than every running transaction.
    txid            XID8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX webhook_events_partner ON webhook_events(partner_id, seq);

CREATE TABLE webhook_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id     UUID NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_seq       BIGINT NOT NULL REFERENCES webhook_events(seq),
    core_claim_hash TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'DEAD')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_owner     TEXT,
    lease_until     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(endpoint_id, core_claim_hash, id)
    WHERE state = 'PENDING';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);

CREATE TABLE webhook_attempts (
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    status_code INTEGER,
    error       TEXT,
    response    TEXT,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
