-- The operator's rules for a partner's JWTs. Existing partners get the defaults: no audience
-- or issuer binding, no jti replay protection, enabled.
ALTER TABLE partners ADD COLUMN audience TEXT;
ALTER TABLE partners ADD COLUMN token_issuer TEXT;
ALTER TABLE partners ADD COLUMN require_jti INTEGER NOT NULL DEFAULT 0 CHECK (require_jti IN (0, 1));
ALTER TABLE partners ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1));
