-- The index of credentials by revocation transition held every credential, almost all of
-- them under NULL (not revoked). Only lookups by a transition's id (`revocation_transition =
-- $1`) use it, which the partial index serves; it no longer grows with every issuance, and
-- the backlog queries (`revocation_transition IS NULL`) keep to `credentials_revocation_pending`
-- as on SQLite, where the full index made them read every live credential.
DROP INDEX credentials_revocation_transition;
CREATE INDEX credentials_revocation_transition ON credentials(revocation_transition)
    WHERE revocation_transition IS NOT NULL;
