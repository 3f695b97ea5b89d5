-- The index of credentials by revocation transition held every credential, and almost all of
-- them under NULL (not revoked). SQLite then chose it for `revocation_transition IS NULL`
-- — the publisher's poll for pending revocations and the overview's backlog — and read every
-- live credential (4.6 s with a million, `bench --bench dashboard`) instead of the partial
-- index `credentials_revocation_pending`. Every other use looks a transition up by id
-- (`revocation_transition = ?`), which this partial index still serves.
DROP INDEX credentials_revocation_transition;
CREATE INDEX credentials_revocation_transition ON credentials(revocation_transition)
    WHERE revocation_transition IS NOT NULL;
