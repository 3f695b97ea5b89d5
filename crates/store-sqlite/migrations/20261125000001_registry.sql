-- Operators' registry: partners, schemas, issuers, programs; users and consent.
-- Timestamps are Unix milliseconds; ids are canonical UUID text; JSON is stored as text.

CREATE TABLE partners (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    jwks_url           TEXT,
    jwks               TEXT,
    features           TEXT NOT NULL,
    allowed_schema_ids TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;

CREATE TABLE schemas (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    type_name   TEXT NOT NULL,
    version     TEXT NOT NULL,
    description TEXT NOT NULL,
    attributes  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE issuers (
    id          TEXT PRIMARY KEY,
    partner_id  TEXT NOT NULL REFERENCES partners(id),
    name        TEXT NOT NULL,
    did         TEXT NOT NULL UNIQUE,
    eth_address TEXT NOT NULL UNIQUE,
    eth_key     BLOB NOT NULL,
    bjj_key     BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX issuers_partner ON issuers(partner_id);

CREATE TABLE programs (
    id               TEXT PRIMARY KEY,
    issuer_id        TEXT NOT NULL REFERENCES issuers(id),
    schema_id        TEXT NOT NULL REFERENCES schemas(id),
    name             TEXT NOT NULL,
    accessible_from  INTEGER,
    accessible_until INTEGER,
    max_issuance     INTEGER,
    expiration_days  INTEGER,
    created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX programs_issuer ON programs(issuer_id);

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    holder_did TEXT,
    holder_key BLOB,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    status     TEXT NOT NULL CHECK (status IN ('granted', 'rejected')),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, partner_id)
) STRICT;
