-- The operator's credential listings (dashboard, GET /admin/v1/credentials): newest first,
-- all of them, by program, or by user; each served by its index so a page costs the same
-- with a million credentials.
CREATE INDEX credentials_created ON credentials(created_at);
CREATE INDEX credentials_program_created ON credentials(program_id, created_at);
CREATE INDEX credentials_user_created ON credentials(user_id, created_at);
-- The overview's publish-lag chart: confirmed transitions by time.
CREATE INDEX transitions_confirmed_at ON transitions(updated_at) WHERE status = 'CONFIRMED';
