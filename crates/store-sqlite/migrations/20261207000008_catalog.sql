-- The public catalog: visibility flags, verification programs, the counters catalog answers
-- show (kept current by triggers, in the transaction that changes what they count), and the
-- full-text indexes of search (FTS5, kept current by triggers too).

ALTER TABLE schemas ADD COLUMN discoverable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE schemas ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
-- Listed issuance programs of the schema, and their distinct issuers.
ALTER TABLE schemas ADD COLUMN credential_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE schemas ADD COLUMN provider_count INTEGER NOT NULL DEFAULT 0;

ALTER TABLE programs ADD COLUMN discoverable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE programs ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
-- Live credentials (WAIT_ONCHAIN or ONCHAIN): one per holder, by the duplicate rule.
ALTER TABLE programs ADD COLUMN holder_count INTEGER NOT NULL DEFAULT 0;
-- Listed verification programs accepting it.
ALTER TABLE programs ADD COLUMN demand_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE programs ADD COLUMN verification_count INTEGER NOT NULL DEFAULT 0;
CREATE INDEX programs_schema ON programs(schema_id);

UPDATE programs SET holder_count = (
    SELECT COUNT(*) FROM credentials c
    WHERE c.program_id = programs.id AND c.status IN ('WAIT_ONCHAIN', 'ONCHAIN'));

CREATE TABLE verification_programs (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL,
    verifier_name      TEXT NOT NULL,
    verifier_did       TEXT NOT NULL,
    pricing_model      TEXT NOT NULL,
    credential_count   INTEGER NOT NULL,   -- accepted issuance programs
    verification_count INTEGER NOT NULL DEFAULT 0,
    discoverable       INTEGER NOT NULL,
    enabled            INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX verification_programs_listed ON verification_programs(created_at)
    WHERE discoverable AND enabled;

CREATE TABLE verification_accepts (
    vp_id      TEXT NOT NULL REFERENCES verification_programs(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    position   INTEGER NOT NULL,
    conditions TEXT NOT NULL,              -- JSON list of canonical condition texts
    PRIMARY KEY (vp_id, program_id)
) STRICT;
CREATE INDEX verification_accepts_program ON verification_accepts(program_id);

CREATE INDEX schemas_listed ON schemas(created_at) WHERE discoverable AND enabled;

-- holder_count: +1 when a credential becomes live, -1 when it stops being live.
CREATE TRIGGER credentials_holder_insert AFTER INSERT ON credentials
WHEN NEW.status IN ('WAIT_ONCHAIN', 'ONCHAIN')
BEGIN
    UPDATE programs SET holder_count = holder_count + 1 WHERE id = NEW.program_id;
END;
CREATE TRIGGER credentials_holder_update AFTER UPDATE OF status ON credentials
WHEN (OLD.status IN ('WAIT_ONCHAIN', 'ONCHAIN')) <> (NEW.status IN ('WAIT_ONCHAIN', 'ONCHAIN'))
BEGIN
    UPDATE programs
    SET holder_count = holder_count + (CASE WHEN NEW.status IN ('WAIT_ONCHAIN', 'ONCHAIN') THEN 1 ELSE -1 END)
    WHERE id = NEW.program_id;
END;

-- A schema's counts, recomputed from its programs' (indexed) rows when one is added or its
-- flags change: rare operator writes, so reads stay O(1).
CREATE TRIGGER programs_schema_counts_insert AFTER INSERT ON programs
BEGIN
    UPDATE schemas SET
        credential_count = (SELECT COUNT(*) FROM programs p
            WHERE p.schema_id = NEW.schema_id AND p.discoverable = 1 AND p.enabled = 1),
        provider_count = (SELECT COUNT(DISTINCT p.issuer_id) FROM programs p
            WHERE p.schema_id = NEW.schema_id AND p.discoverable = 1 AND p.enabled = 1)
    WHERE id = NEW.schema_id;
END;
CREATE TRIGGER programs_schema_counts_update AFTER UPDATE OF discoverable, enabled ON programs
BEGIN
    UPDATE schemas SET
        credential_count = (SELECT COUNT(*) FROM programs p
            WHERE p.schema_id = NEW.schema_id AND p.discoverable = 1 AND p.enabled = 1),
        provider_count = (SELECT COUNT(DISTINCT p.issuer_id) FROM programs p
            WHERE p.schema_id = NEW.schema_id AND p.discoverable = 1 AND p.enabled = 1)
    WHERE id = NEW.schema_id;
END;

-- demand_count of an issuance program: listed verification programs accepting it.
CREATE TRIGGER accepts_demand_insert AFTER INSERT ON verification_accepts
BEGIN
    UPDATE programs SET demand_count = (
        SELECT COUNT(*) FROM verification_accepts a JOIN verification_programs v ON v.id = a.vp_id
        WHERE a.program_id = NEW.program_id AND v.discoverable = 1 AND v.enabled = 1)
    WHERE id = NEW.program_id;
END;
CREATE TRIGGER accepts_demand_delete AFTER DELETE ON verification_accepts
BEGIN
    UPDATE programs SET demand_count = (
        SELECT COUNT(*) FROM verification_accepts a JOIN verification_programs v ON v.id = a.vp_id
        WHERE a.program_id = OLD.program_id AND v.discoverable = 1 AND v.enabled = 1)
    WHERE id = OLD.program_id;
END;
CREATE TRIGGER verification_programs_demand AFTER UPDATE OF discoverable, enabled ON verification_programs
BEGIN
    UPDATE programs SET demand_count = (
        SELECT COUNT(*) FROM verification_accepts a JOIN verification_programs v ON v.id = a.vp_id
        WHERE a.program_id = programs.id AND v.discoverable = 1 AND v.enabled = 1)
    WHERE id IN (SELECT program_id FROM verification_accepts WHERE vp_id = NEW.id);
END;

-- Search. Each index row names its entry by id (not rowid: VACUUM may renumber the rowids of
-- tables with text keys). Names, ids and schema titles never change once written, except a
-- verification program's names.
CREATE VIRTUAL TABLE credential_fts USING fts5(id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE issuer_fts USING fts5(id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE program_fts USING fts5(id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2');

INSERT INTO credential_fts(id, body)
    SELECT p.id, p.name || ' ' || p.id || ' ' || s.title || ' ' || s.type_name
    FROM programs p JOIN schemas s ON s.id = p.schema_id;
INSERT INTO issuer_fts(id, body) SELECT id, name FROM issuers;

CREATE TRIGGER programs_fts AFTER INSERT ON programs
BEGIN
    INSERT INTO credential_fts(id, body)
        SELECT NEW.id, NEW.name || ' ' || NEW.id || ' ' || s.title || ' ' || s.type_name
        FROM schemas s WHERE s.id = NEW.schema_id;
END;
CREATE TRIGGER issuers_fts AFTER INSERT ON issuers
BEGIN
    INSERT INTO issuer_fts(id, body) VALUES (NEW.id, NEW.name);
END;
CREATE TRIGGER verification_programs_fts_insert AFTER INSERT ON verification_programs
BEGIN
    INSERT INTO program_fts(id, body) VALUES (NEW.id, NEW.name || ' ' || NEW.verifier_name);
END;
CREATE TRIGGER verification_programs_fts_update AFTER UPDATE OF name, verifier_name ON verification_programs
BEGIN
    DELETE FROM program_fts WHERE id = OLD.id;
    INSERT INTO program_fts(id, body) VALUES (NEW.id, NEW.name || ' ' || NEW.verifier_name);
END;
