-- Expiry is not a stored status; the webhook worker's sweep writes one `credential.expired`
-- event per live credential past its date and marks it here, in the same transaction.
ALTER TABLE credentials ADD COLUMN expiry_evented BOOLEAN NOT NULL DEFAULT false;
-- The sweep reads the due ones in date order without scanning the table.
CREATE INDEX credentials_expiry_due ON credentials(expiration_date)
    WHERE NOT expiry_evented AND expiration_date IS NOT NULL;
