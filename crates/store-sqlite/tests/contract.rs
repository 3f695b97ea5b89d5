//! The shared storage contract, on a fresh SQLite file per test.

use claimd_store_sqlite::SqliteStore;

async fn fresh() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("claimd.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

macro_rules! contract {
    ($($name:ident),*) => {$(
        #[tokio::test]
        async fn $name() {
            let (store, _dir) = fresh().await;
            claimd_store_contract::$name(&store).await;
        }
    )*};
}

contract!(
    partners,
    partner_token_rules,
    registry,
    consent,
    issuance,
    publishing,
    publication
);

#[tokio::test]
async fn migrate_is_idempotent_and_data_survives_reopen() {
    let (store, dir) = fresh().await;
    let p = claimd_core::store::Registry::create_partner(
        &store,
        claimd_store_contract::partner_draft("Acme"),
    )
    .await
    .unwrap();
    store.close().await;
    let url = format!("sqlite://{}", dir.path().join("claimd.db").display());
    let again = SqliteStore::connect(&url).await.unwrap();
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
    let (store, dir) = fresh().await;
    let header = std::fs::read(dir.path().join("claimd.db")).unwrap();
    assert!(header.starts_with(b"SQLite format 3\0"));
    claimd_store_contract::health(&store, "sqlite").await;
}

#[tokio::test]
async fn email_renormalisation() {
    let (store, dir) = fresh().await;
    let url = format!("sqlite://{}", dir.path().join("claimd.db").display());
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
