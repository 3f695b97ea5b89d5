//! The shared storage contract, on a fresh PostgreSQL database per test.
//!
//! The server is `CLAIMD_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! `scripts/test` starts a private one when none answers there. A missing server fails the
//! tests: the PostgreSQL backend is never silently untested.

use claimd_store_postgres::PgStore;
use claimd_testkit::{postgres_admin, Backend, Db};
use sqlx::Connection;

claimd_testkit::store_contract_tests!(Backend::Postgres);

/// A database created for one test (dropped when it ends) and its migrated store.
async fn fresh() -> (PgStore, Db) {
    let db = Db::create(Backend::Postgres).await;
    (db.postgres().await, db)
}

/// The migrations applied to a database: version, description, checksum.
async fn applied(db: &Db) -> Vec<(i64, String, Vec<u8>)> {
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query_as("SELECT version, description, checksum FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let (store, db) = fresh().await;
    let before = applied(&db).await;
    assert!(
        !before.is_empty(),
        "the first migrate applied the migrations"
    );
    let p = claimd_core::store::Registry::create_partner(
        &store,
        claimd_store_contract::partner_draft("Acme"),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    assert_eq!(
        applied(&db).await,
        before,
        "a second migrate applies nothing"
    );
    let read = claimd_core::store::Registry::partner(&store, p.partner_id)
        .await
        .unwrap();
    assert_eq!(read, Some(p), "data survives a second migrate");
}

/// The store names the backend the server really is.
#[tokio::test]
async fn health() {
    let (store, _db) = fresh().await;
    let mut conn = postgres_admin().await;
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(version.starts_with("PostgreSQL"), "{version}");
    claimd_store_contract::health(&store, "postgres").await;
}

#[tokio::test]
async fn email_renormalisation() {
    let (store, db) = fresh().await;
    let url = db.url.clone();
    claimd_store_contract::email_renormalisation(&store, |legacy| async move {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let start = chrono::Utc::now() + chrono::Duration::seconds(1);
        for (i, (id, email)) in legacy.into_iter().enumerate() {
            sqlx::query("INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)")
                .bind(id.0)
                .bind(email)
                .bind(start + chrono::Duration::milliseconds(i as i64))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        sqlx::query("DELETE FROM data_steps")
            .execute(&mut conn)
            .await
            .unwrap();
    })
    .await;
}

/// The per-status counts are kept as deltas that a background task folds into one row per
/// status (migration 20261207000016): once folded, the deltas are gone and the counts are the
/// same as before, and the same as counting the rows.
#[tokio::test]
async fn status_counts_survive_folding() {
    use claimd_core::store::CredentialStore;
    let (store, db) = fresh().await;
    claimd_store_contract::credential_listings(&store).await;
    let before = store.credential_counts().await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let deltas: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM credential_status_deltas")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if deltas == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{deltas} deltas still unfolded after 20 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(store.credential_counts().await.unwrap(), before);
    let (kept, counted): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT SUM(n) FROM credential_status_counts)::bigint, \
                (SELECT COUNT(*) FROM credentials)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((kept, counted), (before.issued() as i64, 4));
}
