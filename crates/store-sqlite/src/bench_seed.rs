//! Bulk rows for benchmarks (cargo feature `bench-seed`, enabled only by claimd's benches):
//! users, consents and issued credentials inserted in one transaction by recursive CTEs, a
//! million in tens of seconds where the API would take hours. The registry (partners,
//! schemas, issuers, programs) is the caller's, made through the API; the rows written here
//! spread over its programs.
//!
//! Every count the catalog shows stays true: the `holder_count` triggers fire for each
//! inserted credential, `issued_count` (kept by the application, not a trigger) is raised by
//! what was inserted, and the result is checked before the commit. Credentials are `ONCHAIN`
//! (every 50th `REMOVE`d), carried by their issuer's latest confirmed transition, so the
//! publisher has nothing to do with them; their documents are the VC without proofs.

use crate::rows::map_err;
use crate::SqliteStore;
use claimd_core::store::StoreError;

pub use claimd_core::bench_seed::{revoked, stride, Seed, SeedReport};

impl SqliteStore {
    /// Inserts `seed`'s rows in one transaction; fails, writing nothing, if a program's issuer
    /// has no confirmed transition yet, if users cannot hold that many credentials, or if a
    /// catalog count does not match what was inserted.
    pub async fn bench_seed(&self, seed: &Seed) -> Result<SeedReport, StoreError> {
        // The write lock from the start: a deferred transaction that reads first would fail when
        // the running server writes in between.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)?;
        sqlx::query("DROP TABLE IF EXISTS temp.seed_programs")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "CREATE TEMP TABLE seed_programs AS \
             SELECT ROW_NUMBER() OVER (ORDER BY p.id) - 1 AS idx, p.id AS id, p.issuer_id AS issuer_id, \
                    p.schema_id AS schema_id, i.partner_id AS partner_id, i.did AS did, s.type_name AS type_name, \
                    (SELECT MAX(t.id) FROM transitions t WHERE t.issuer_id = p.issuer_id AND t.status = 'CONFIRMED') AS tr \
             FROM programs p JOIN issuers i ON i.id = p.issuer_id JOIN schemas s ON s.id = p.schema_id",
        )
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("CREATE UNIQUE INDEX temp.seed_programs_idx ON seed_programs(idx)")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let (programs, unpublished): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COUNT(*) - COUNT(tr) FROM seed_programs")
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
        let programs = programs as u64;
        seed.check(programs, unpublished as u64)?;
        let (tag, users, n) = (seed.tag, seed.users as i64, seed.credentials as i64);
        let start = seed.start_ms();
        let step = seed.credential_step_ms();
        let per_user = seed.user_step_ms();

        sqlx::query(&format!(
            "WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k + 1 < {users}) \
             INSERT INTO users (id, email, holder_did, holder_key, created_at) \
             SELECT printf('%08x-0000-4000-8000-%012x', {tag}, k), printf('seed%d-%08x@seed.example', k, {tag}), \
                    NULL, NULL, {start} + k * {per_user} FROM n"
        ))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // One user in ten has answered the consent question of the first partner.
        let consents = sqlx::query(&format!(
            "WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 10 FROM n WHERE k + 10 < {users}) \
             INSERT INTO consents (user_id, partner_id, status, updated_at) \
             SELECT printf('%08x-0000-4000-8000-%012x', {tag}, k), \
                    (SELECT partner_id FROM seed_programs WHERE idx = 0), \
                    CASE WHEN k % 20 = 0 THEN 'rejected' ELSE 'granted' END, {start} + k * {per_user} FROM n"
        ))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        let stride = stride(programs) as i64;
        let year_ms: i64 = 365 * 86_400_000;
        sqlx::query(&format!(
            "WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k + 1 < {n}), \
             x AS (SELECT k, {start} + k * {step} AS at, \
                   ((k % {users}) + (k / {users}) * {stride}) % {programs} AS p, \
                   printf('urn:%08x-0000-4000-9000-%012x', {tag}, k) AS vc_id, \
                   ((({tag} % 32768) << 40) + (1 << 39) + k) AS nonce FROM n) \
             INSERT INTO credentials (core_claim_hash, vc_id, partner_id, issuer_id, program_id, schema_id, \
                 user_id, revocation_nonce, status, issuance_date, expiration_date, core_claim, document, \
                 tx_hash, block_number, identity_state, created_at, updated_at, claim_transition, \
                 revocation_transition) \
             SELECT printf('%08x%056x', {tag}, x.k), x.vc_id, sp.partner_id, sp.issuer_id, sp.id, sp.schema_id, \
                 printf('%08x-0000-4000-8000-%012x', {tag}, x.k % {users}), x.nonce, \
                 CASE WHEN x.k % 50 = 49 THEN 'REMOVE' ELSE 'ONCHAIN' END, \
                 x.at, x.at + {year_ms}, printf('%0512x', x.k), \
                 json_object( \
                   '@context', json_array('https://www.w3.org/2018/credentials/v1', \
                       'https://schema.iden3.io/core/jsonld/iden3proofs.jsonld'), \
                   'id', x.vc_id, \
                   'type', json_array('VerifiableCredential', sp.type_name), \
                   'issuer', sp.did, \
                   'issuanceDate', strftime('%Y-%m-%dT%H:%M:%SZ', x.at / 1000, 'unixepoch'), \
                   'expirationDate', strftime('%Y-%m-%dT%H:%M:%SZ', (x.at + {year_ms}) / 1000, 'unixepoch'), \
                   'credentialSubject', json_object('age', 18 + x.k % 80, 'type', sp.type_name), \
                   'credentialStatus', json_object('id', sp.did || '/credentialStatus', \
                       'revocationNonce', x.nonce, 'type', 'Iden3ReverseSparseMerkleTreeProof'), \
                   'credentialSchema', json_object('id', 'urn:schema:' || sp.schema_id, 'type', 'JsonSchema2023')), \
                 t.tx_hash, t.block_number, t.new_state, x.at, x.at, sp.tr, \
                 CASE WHEN x.k % 50 = 49 THEN sp.tr END \
             FROM x JOIN seed_programs sp ON sp.idx = x.p JOIN transitions t ON t.id = sp.tr"
        ))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // issued_count is the application's (the issuance cap), not a trigger's.
        let lo = format!("{tag:08x}{:056x}", 0);
        let hi = format!("{tag:08x}{}", "g");
        sqlx::query(
            "UPDATE programs SET issued_count = issued_count + s.n \
             FROM (SELECT program_id, COUNT(*) AS n FROM credentials \
                   WHERE core_claim_hash >= ? AND core_claim_hash < ? GROUP BY program_id) s \
             WHERE programs.id = s.program_id",
        )
        .bind(&lo)
        .bind(&hi)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // The seeded credentials ride on their issuer's latest transition (claim and, for the
        // removed ones, revocation): it carries them, as the publisher would have recorded.
        sqlx::query(
            "UPDATE transitions SET claim_count = claim_count + s.c, \
                 revocation_count = revocation_count + s.r \
             FROM (SELECT claim_transition AS tr, COUNT(*) AS c, COUNT(revocation_transition) AS r \
                   FROM credentials WHERE core_claim_hash >= ? AND core_claim_hash < ? \
                   GROUP BY claim_transition) s \
             WHERE transitions.id = s.tr",
        )
        .bind(&lo)
        .bind(&hi)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;

        // The triggers' counts against the rows: every live credential, and nothing else.
        let (holders, live_rows, inserted, live): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT SUM(holder_count) FROM programs), \
                    (SELECT COUNT(*) FROM credentials WHERE status IN ('WAIT_ONCHAIN', 'ONCHAIN')), \
                    (SELECT COUNT(*) FROM credentials WHERE core_claim_hash >= ?1 AND core_claim_hash < ?2), \
                    (SELECT COUNT(*) FROM credentials WHERE core_claim_hash >= ?1 AND core_claim_hash < ?2 \
                        AND status = 'ONCHAIN')",
        )
        .bind(&lo)
        .bind(&hi)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        if holders != live_rows || inserted != n {
            return Err(StoreError::Internal(format!(
                "bench seed: holder counts {holders} against {live_rows} live credentials, {inserted} of {n} inserted"
            )));
        }
        sqlx::query("DROP TABLE temp.seed_programs")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(SeedReport {
            programs,
            users: seed.users,
            consents,
            credentials: inserted as u64,
            live: live as u64,
        })
    }
}
