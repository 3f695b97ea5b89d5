-- The public catalog: visibility flags, verification programs, the counters catalog answers
-- show (kept current by triggers, in the transaction that changes what they count), and the
-- full-text search columns (tsvector, GIN indexes).

ALTER TABLE schemas
    ADD COLUMN discoverable     BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN enabled          BOOLEAN NOT NULL DEFAULT TRUE,
    -- Listed issuance programs of the schema, and their distinct issuers.
    ADD COLUMN credential_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN provider_count   BIGINT NOT NULL DEFAULT 0;

ALTER TABLE programs
    ADD COLUMN discoverable       BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN enabled            BOOLEAN NOT NULL DEFAULT TRUE,
    -- Live credentials (WAIT_ONCHAIN or ONCHAIN): one per holder, by the duplicate rule.
    ADD COLUMN holder_count       BIGINT NOT NULL DEFAULT 0,
    -- Listed verification programs accepting it.
    ADD COLUMN demand_count       BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN verification_count BIGINT NOT NULL DEFAULT 0,
    -- Name, id, schema title and type; set once, when the program is written.
    ADD COLUMN search             TSVECTOR;
CREATE INDEX programs_schema ON programs(schema_id);
CREATE INDEX programs_search ON programs USING GIN (search);

UPDATE programs SET holder_count = (
    SELECT COUNT(*) FROM credentials c
    WHERE c.program_id = programs.id AND c.status IN ('WAIT_ONCHAIN', 'ONCHAIN'));
UPDATE programs p SET search = to_tsvector('simple',
    p.name || ' ' || p.id || ' ' || s.title || ' ' || s.type_name)
FROM schemas s WHERE s.id = p.schema_id;

ALTER TABLE issuers
    ADD COLUMN search TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', name)) STORED;
CREATE INDEX issuers_search ON issuers USING GIN (search);

CREATE TABLE verification_programs (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL,
    verifier_name      TEXT NOT NULL,
    verifier_did       TEXT NOT NULL,
    pricing_model      TEXT NOT NULL,
    credential_count   BIGINT NOT NULL,   -- accepted issuance programs
    verification_count BIGINT NOT NULL DEFAULT 0,
    discoverable       BOOLEAN NOT NULL,
    enabled            BOOLEAN NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    search             TSVECTOR GENERATED ALWAYS AS
                           (to_tsvector('simple', name || ' ' || verifier_name)) STORED
);
CREATE INDEX verification_programs_listed ON verification_programs(created_at)
    WHERE discoverable AND enabled;
CREATE INDEX verification_programs_search ON verification_programs USING GIN (search);

CREATE TABLE verification_accepts (
    vp_id      TEXT NOT NULL REFERENCES verification_programs(id),
    program_id TEXT NOT NULL REFERENCES programs(id),
    position   INTEGER NOT NULL,
    conditions JSONB NOT NULL,             -- list of canonical condition texts
    PRIMARY KEY (vp_id, program_id)
);
CREATE INDEX verification_accepts_program ON verification_accepts(program_id);

CREATE INDEX schemas_listed ON schemas(created_at) WHERE discoverable AND enabled;

-- holder_count: +1 when a credential becomes live, -1 when it stops being live. The program's
-- row is already locked by the issuance that takes a slot of it, so this adds no new lock order.
CREATE FUNCTION catalog_holder_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_live BOOLEAN := FALSE;
    is_live  BOOLEAN := NEW.status IN ('WAIT_ONCHAIN', 'ONCHAIN');
BEGIN
    IF TG_OP = 'UPDATE' THEN
        was_live := OLD.status IN ('WAIT_ONCHAIN', 'ONCHAIN');
    END IF;
    IF was_live <> is_live THEN
        UPDATE programs SET holder_count = holder_count + (CASE WHEN is_live THEN 1 ELSE -1 END)
        WHERE id = NEW.program_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER credentials_holder_count AFTER INSERT OR UPDATE OF status ON credentials
    FOR EACH ROW EXECUTE FUNCTION catalog_holder_count();

-- A program's search text, from its schema (which never changes).
CREATE FUNCTION catalog_program_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT to_tsvector('simple', NEW.name || ' ' || NEW.id || ' ' || s.title || ' ' || s.type_name)
    INTO NEW.search FROM schemas s WHERE s.id = NEW.schema_id;
    RETURN NEW;
END $$;
CREATE TRIGGER programs_search BEFORE INSERT ON programs
    FOR EACH ROW EXECUTE FUNCTION catalog_program_search();

-- A schema's counts, recomputed from its programs' (indexed) rows when one is added or its
-- flags change. The schema row is locked first, so that the recount (a new snapshot in READ
-- COMMITTED) sees every concurrent change that committed before it.
CREATE FUNCTION catalog_schema_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM schemas WHERE id = NEW.schema_id FOR UPDATE;
    UPDATE schemas SET
        credential_count = (SELECT COUNT(*) FROM programs p
            WHERE p.schema_id = NEW.schema_id AND p.discoverable AND p.enabled),
        provider_count = (SELECT COUNT(DISTINCT p.issuer_id) FROM programs p
            WHERE p.schema_id = NEW.schema_id AND p.discoverable AND p.enabled)
    WHERE id = NEW.schema_id;
    RETURN NULL;
END $$;
CREATE TRIGGER programs_schema_counts AFTER INSERT OR UPDATE OF discoverable, enabled ON programs
    FOR EACH ROW EXECUTE FUNCTION catalog_schema_counts();

-- demand_count of an issuance program: listed verification programs accepting it.
CREATE FUNCTION catalog_recount_demand(program TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM programs WHERE id = program FOR UPDATE;
    UPDATE programs SET demand_count = (
        SELECT COUNT(*) FROM verification_accepts a JOIN verification_programs v ON v.id = a.vp_id
        WHERE a.program_id = program AND v.discoverable AND v.enabled)
    WHERE id = program;
END $$;
CREATE FUNCTION catalog_accepts_demand() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM catalog_recount_demand(OLD.program_id);
    ELSE
        PERFORM catalog_recount_demand(NEW.program_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER accepts_demand AFTER INSERT OR DELETE ON verification_accepts
    FOR EACH ROW EXECUTE FUNCTION catalog_accepts_demand();
CREATE FUNCTION catalog_vp_demand() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM catalog_recount_demand(a.program_id) FROM verification_accepts a WHERE a.vp_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER verification_programs_demand AFTER UPDATE OF discoverable, enabled ON verification_programs
    FOR EACH ROW EXECUTE FUNCTION catalog_vp_demand();
