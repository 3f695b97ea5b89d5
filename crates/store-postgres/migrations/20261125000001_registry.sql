-- Operators' registry: partners, schemas, issuers, programs; users and consent.

CREATE TABLE partners (
    id                 UUID PRIMARY KEY,
    name               TEXT NOT NULL,
    jwks_url           TEXT,
    jwks               JSONB,
    features           JSONB NOT NULL,
    allowed_schema_ids JSONB,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE schemas (
    id          UUID PRIMARY KEY,
    title       TEXT NOT NULL,
    type_name   TEXT NOT NULL,
    version     TEXT NOT NULL,
    description TEXT NOT NULL,
    attributes  JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE issuers (
    id          UUID PRIMARY KEY,
    partner_id  UUID NOT NULL REFERENCES partners(id),
    name        TEXT NOT NULL,
    did         TEXT NOT NULL UNIQUE,
    eth_address TEXT NOT NULL UNIQUE,
    eth_key     BYTEA NOT NULL,
    bjj_key     BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX issuers_partner ON issuers(partner_id);

CREATE TABLE programs (
    id               TEXT PRIMARY KEY,
    issuer_id        UUID NOT NULL REFERENCES issuers(id),
    schema_id        UUID NOT NULL REFERENCES schemas(id),
    name             TEXT NOT NULL,
    accessible_from  TIMESTAMPTZ,
    accessible_until TIMESTAMPTZ,
    max_issuance     BIGINT,
    expiration_days  INTEGER,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX programs_issuer ON programs(issuer_id);

CREATE TABLE users (
    id         UUID PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    holder_did TEXT,
    holder_key BYTEA,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE consents (
    user_id    UUID NOT NULL REFERENCES users(id),
    partner_id UUID NOT NULL REFERENCES partners(id),
    status     TEXT NOT NULL CHECK (status IN ('granted', 'rejected')),
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, partner_id)
);
