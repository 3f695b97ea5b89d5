//! The shared storage contract, on a fresh SQLite file per test.

use claimd_store_sqlite::SqliteStore;
use claimd_testkit::{Backend, Db};

claimd_testkit::store_contract_tests!(Backend::Sqlite);

/// A fresh database and its migrated store.
async fn fresh() -> (SqliteStore, Db) {
    let db = Db::create(Backend::Sqlite).await;
    (db.sqlite().await, db)
}

#[tokio::test]
async fn migrate_is_idempotent_and_data_survives_reopen() {
    let (store, db) = fresh().await;
    let p = claimd_core::store::Registry::create_partner(
        &store,
        claimd_store_contract::partner_draft("Acme"),
    )
    .await
    .unwrap();
    store.close().await;
    let again = SqliteStore::connect(&db.url).await.unwrap();
    again.migrate().await.unwrap();
    let read = claimd_core::store::Registry::partner(&again, p.partner_id)
        .await
        .unwrap();
    assert_eq!(read, Some(p));
}

/// The store names the backend its database really is: the file it wrote is a SQLite database
/// (the format's 16-byte header).
#[tokio::test]
async fn health() {
    let (store, db) = fresh().await;
    let header = std::fs::read(db.dir.path().join("claimd.db")).unwrap();
    assert!(header.starts_with(b"SQLite format 3\0"));
    claimd_store_contract::health(&store, "sqlite").await;
}

#[tokio::test]
async fn email_renormalisation() {
    let (store, db) = fresh().await;
    let url = db.url.clone();
    claimd_store_contract::email_renormalisation(&store, |legacy| async move {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let base = chrono::Utc::now().timestamp_millis() + 1000;
        for (i, (id, email)) in legacy.into_iter().enumerate() {
            sqlx::query("INSERT INTO users (id, email, created_at) VALUES (?, ?, ?)")
                .bind(id.to_string())
                .bind(email)
                .bind(base + i as i64)
                .execute(&pool)
                .await
                .unwrap();
        }
        sqlx::query("DELETE FROM data_steps")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    })
    .await;
}
