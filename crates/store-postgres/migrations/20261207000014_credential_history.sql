-- A credential's status history is its outbox events (written for every credential, in the
-- transaction of each change): the dashboard and GET /admin/v1/credentials/{hash}/history read
-- them by credential.
CREATE INDEX webhook_events_credential ON webhook_events(core_claim_hash, seq);
