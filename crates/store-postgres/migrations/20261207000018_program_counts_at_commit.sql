-- A program's holder count was raised by a row trigger as each credential was inserted, which
-- locked the program's row from the first issuance of a group transaction to its commit.
-- Every issuance of a program updates that one row, so concurrent group commits on a program
-- queued behind each other for their whole length. The trigger now runs at commit (a deferred
-- constraint trigger), like the issued count of uncapped programs (`SlotLedger`), so the row is
-- locked only while the transaction commits. A rolled-back savepoint drops its queued events,
-- so the count still follows exactly the credentials that were kept.
DROP TRIGGER credentials_holder_count ON credentials;
CREATE CONSTRAINT TRIGGER credentials_holder_count AFTER INSERT OR UPDATE OF status ON credentials
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION catalog_holder_count();
