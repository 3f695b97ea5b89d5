//! The shared storage contract, on a fresh PostgreSQL database per test.
//!
//! The server is `CLAIMD_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! `scripts/test` starts a private one when none answers there. A missing server fails the
//! tests: the PostgreSQL backend is never silently untested.

use claimd_store_postgres::PgStore;
use sqlx::Connection;

fn admin_url() -> String {
    std::env::var("CLAIMD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database created for one test and dropped when it ends.
struct TestDb {
    name: String,
    store: PgStore,
}

impl TestDb {
    async fn new() -> TestDb {
        let admin = admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin} is not reachable ({e}); run scripts/test, which starts one")
        });
        let name = format!("claimd_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        let store = PgStore::connect(&format!("{base}/{name}"), 5)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        TestDb { name, store }
    }

    async fn drop_db(self) {
        self.store.close().await;
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .await;
        }
    }
}

macro_rules! contract {
    ($($name:ident),*) => {$(
        #[tokio::test]
        async fn $name() {
            let db = TestDb::new().await;
            claimd_store_contract::$name(&db.store).await;
            db.drop_db().await;
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

/// The migrations applied to a database: version, description, checksum.
async fn applied(db: &TestDb) -> Vec<(i64, String, Vec<u8>)> {
    let admin = admin_url();
    let (base, _) = admin.rsplit_once('/').unwrap();
    let mut conn = sqlx::PgConnection::connect(&format!("{base}/{}", db.name))
        .await
        .unwrap();
    sqlx::query_as("SELECT version, description, checksum FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let db = TestDb::new().await;
    let before = applied(&db).await;
    assert!(
        !before.is_empty(),
        "the first migrate applied the migrations"
    );
    let p = claimd_core::store::Registry::create_partner(
        &db.store,
        claimd_store_contract::partner_draft("Acme"),
    )
    .await
    .unwrap();
    db.store.migrate().await.unwrap();
    assert_eq!(
        applied(&db).await,
        before,
        "a second migrate applies nothing"
    );
    let read = claimd_core::store::Registry::partner(&db.store, p.partner_id)
        .await
        .unwrap();
    assert_eq!(read, Some(p), "data survives a second migrate");
    db.drop_db().await;
}

/// The store names the backend the server really is.
#[tokio::test]
async fn health() {
    let db = TestDb::new().await;
    let mut conn = sqlx::PgConnection::connect(&admin_url()).await.unwrap();
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(version.starts_with("PostgreSQL"), "{version}");
    claimd_store_contract::health(&db.store, "postgres").await;
    db.drop_db().await;
}

#[tokio::test]
async fn email_renormalisation() {
    let db = TestDb::new().await;
    let admin = admin_url();
    let (base, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{base}/{}", db.name);
    claimd_store_contract::email_renormalisation(&db.store, |legacy| async move {
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
    db.drop_db().await;
}
