//! Bulk rows for benchmarks (cargo feature `bench-seed`, enabled only by claimd's benches):
//! users, consents and issued credentials inserted in one transaction from `generate_series`,
//! a million in a minute where the API would take hours. The registry (partners, schemas,
//! issuers, programs) is the caller's, made through the API; the rows written here spread over
//! its programs — the same rows, row for row, as the SQLite adapter's `bench_seed`.
//!
//! Every count the catalog shows stays true: the per-row `holder_count` trigger is switched
//! off for the insert (a million updates of ten thousand program rows in one transaction would
//! leave a million dead row versions) and its sum is added per program in one statement, by
//! the trigger's own rule; `issued_count` (the application's) is raised the same way; both are
//! checked before the commit. Credentials are `ONCHAIN` (every 50th `REMOVE`d), carried by
//! their issuer's latest confirmed transition, so the publisher has nothing to do with them;
//! their documents are the VC without proofs. The tables are analysed afterwards, as
//! autovacuum would shortly after such an insert.

use crate::rows::map_err;
use crate::PgStore;
use claimd_core::store::StoreError;

pub use claimd_core::bench_seed::{revoked, stride, Seed, SeedReport};

/// `'%08x-0000-4000-8000-%012x'` of (`tag`, `k`) as SQL over an integer expression `k`.
fn uuid_sql(tag: u32, k: &str, variant: &str) -> String {
    format!("('{tag:08x}-0000-4000-{variant}-' || lpad(to_hex({k}), 12, '0'))")
}

impl PgStore {
    /// Inserts `seed`'s rows in one transaction; fails, writing nothing, if a program's issuer
    /// has no confirmed transition yet, if users cannot hold that many credentials, or if a
    /// catalog count does not match what was inserted.
    pub async fn bench_seed(&self, seed: &Seed) -> Result<SeedReport, StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // First, so that the table's lock is taken before any other.
        sqlx::query("ALTER TABLE credentials DISABLE TRIGGER credentials_holder_count")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "CREATE TEMP TABLE seed_programs ON COMMIT DROP AS \
             SELECT (ROW_NUMBER() OVER (ORDER BY p.id COLLATE \"C\") - 1)::BIGINT AS idx, p.id AS id, \
                    p.issuer_id AS issuer_id, p.schema_id AS schema_id, i.partner_id AS partner_id, \
                    i.did AS did, s.type_name AS type_name, \
                    (SELECT MAX(t.id) FROM transitions t WHERE t.issuer_id = p.issuer_id AND t.status = 'CONFIRMED') AS tr \
             FROM programs p JOIN issuers i ON i.id = p.issuer_id JOIN schemas s ON s.id = p.schema_id",
        )
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("CREATE UNIQUE INDEX ON seed_programs(idx)")
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
        let ts = |ms: &str| format!("to_timestamp(({ms})::double precision / 1000)");

        sqlx::query(&format!(
            "INSERT INTO users (id, email, holder_did, holder_key, created_at) \
             SELECT {}::uuid, 'seed' || k || '-{tag:08x}@seed.example', NULL, NULL, {} \
             FROM generate_series(0::bigint, {users} - 1) AS k",
            uuid_sql(tag, "k", "8000"),
            ts(&format!("{start} + k * {per_user}")),
        ))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // One user in ten has answered the consent question of the first partner.
        let consents = sqlx::query(&format!(
            "INSERT INTO consents (user_id, partner_id, status, updated_at) \
             SELECT {}::uuid, (SELECT partner_id FROM seed_programs WHERE idx = 0), \
                    CASE WHEN k % 20 = 0 THEN 'rejected' ELSE 'granted' END, {} \
             FROM generate_series(0::bigint, {users} - 1, 10) AS k",
            uuid_sql(tag, "k", "8000"),
            ts(&format!("{start} + k * {per_user}")),
        ))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();

        let stride = stride(programs) as i64;
        let year_ms: i64 = 365 * 86_400_000;
        sqlx::query(&format!(
            "WITH x AS (SELECT k, {start} + k * {step} AS at, \
                   ((k % {users}) + (k / {users}) * {stride}) % {programs} AS p, \
                   'urn:' || {vc} AS vc_id, \
                   ((({tag} % 32768)::bigint << 40) + (1::bigint << 39) + k) AS nonce \
                 FROM generate_series(0::bigint, {n} - 1) AS k) \
             INSERT INTO credentials (core_claim_hash, vc_id, partner_id, issuer_id, program_id, schema_id, \
                 user_id, revocation_nonce, status, issuance_date, expiration_date, core_claim, document, \
                 tx_hash, block_number, identity_state, created_at, updated_at, claim_transition, \
                 revocation_transition) \
             SELECT '{tag:08x}' || lpad(to_hex(x.k), 56, '0'), x.vc_id, sp.partner_id, sp.issuer_id, sp.id, \
                 sp.schema_id, {user}::uuid, x.nonce, \
                 CASE WHEN x.k % 50 = 49 THEN 'REMOVE' ELSE 'ONCHAIN' END, \
                 {at}, {expires}, lpad(to_hex(x.k), 512, '0'), \
                 json_build_object( \
                   '@context', json_build_array('https://www.w3.org/2018/credentials/v1', \
                       'https://schema.iden3.io/core/jsonld/iden3proofs.jsonld'), \
                   'id', x.vc_id, \
                   'type', json_build_array('VerifiableCredential', sp.type_name), \
                   'issuer', sp.did, \
                   'issuanceDate', to_char({at} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
                   'expirationDate', to_char({expires} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
                   'credentialSubject', json_build_object('age', 18 + x.k % 80, 'type', sp.type_name), \
                   'credentialStatus', json_build_object('id', sp.did || '/credentialStatus', \
                       'revocationNonce', x.nonce, 'type', 'Iden3ReverseSparseMerkleTreeProof'), \
                   'credentialSchema', json_build_object('id', 'urn:schema:' || sp.schema_id, 'type', 'JsonSchema2023') \
                 )::text, \
                 t.tx_hash, t.block_number, t.new_state, {at}, {at}, sp.tr, \
                 CASE WHEN x.k % 50 = 49 THEN sp.tr END \
             FROM x JOIN seed_programs sp ON sp.idx = x.p JOIN transitions t ON t.id = sp.tr \
             ORDER BY x.k",
            vc = uuid_sql(tag, "k", "9000"),
            user = uuid_sql(tag, &format!("x.k % {users}"), "8000"),
            at = ts("x.at"),
            expires = ts(&format!("x.at + {year_ms}")),
        ))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("ALTER TABLE credentials ENABLE TRIGGER credentials_holder_count")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        // The trigger's rule (+1 per live credential) and the application's issuance counter,
        // once per program.
        let lo = format!("{tag:08x}{:056x}", 0);
        let hi = format!("{tag:08x}g");
        sqlx::query(
            "UPDATE programs SET holder_count = holder_count + s.live, issued_count = issued_count + s.n \
             FROM (SELECT program_id, COUNT(*) AS n, \
                          COUNT(*) FILTER (WHERE status IN ('WAIT_ONCHAIN', 'ONCHAIN')) AS live \
                   FROM credentials WHERE core_claim_hash COLLATE \"C\" >= $1 AND core_claim_hash COLLATE \"C\" < $2 \
                   GROUP BY program_id) s \
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
                   FROM credentials WHERE core_claim_hash COLLATE \"C\" >= $1 \
                     AND core_claim_hash COLLATE \"C\" < $2 GROUP BY claim_transition) s \
             WHERE transitions.id = s.tr",
        )
        .bind(&lo)
        .bind(&hi)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;

        let (holders, live_rows, inserted, live): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT SUM(holder_count) FROM programs)::BIGINT, \
                    (SELECT COUNT(*) FROM credentials WHERE status IN ('WAIT_ONCHAIN', 'ONCHAIN')), \
                    (SELECT COUNT(*) FROM credentials WHERE core_claim_hash LIKE $1 || '%'), \
                    (SELECT COUNT(*) FROM credentials WHERE core_claim_hash LIKE $1 || '%' AND status = 'ONCHAIN')",
        )
        .bind(format!("{tag:08x}"))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        if holders != live_rows || inserted != n {
            return Err(StoreError::Internal(format!(
                "bench seed: holder counts {holders} against {live_rows} live credentials, {inserted} of {n} inserted"
            )));
        }
        tx.commit().await.map_err(map_err)?;
        for table in ["users", "consents", "credentials", "programs"] {
            sqlx::query(&format!("ANALYZE {table}"))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        }
        Ok(SeedReport {
            programs,
            users: seed.users,
            consents,
            credentials: inserted as u64,
            live: live as u64,
        })
    }
}
