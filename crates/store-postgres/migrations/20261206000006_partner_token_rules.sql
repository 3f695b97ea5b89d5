-- The operator's rules for a partner's JWTs. Existing partners get the defaults: no audience
-- or issuer binding, no jti replay protection, enabled.
ALTER TABLE partners
    ADD COLUMN audience     TEXT,
    ADD COLUMN token_issuer TEXT,
    ADD COLUMN require_jti  BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN enabled      BOOLEAN NOT NULL DEFAULT TRUE;
