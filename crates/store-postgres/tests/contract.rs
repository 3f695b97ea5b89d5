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
    registry,
    consent,
    health,
    issuance,
    publishing,
    publication
);

#[tokio::test]
async fn migrate_is_idempotent() {
    let db = TestDb::new().await;
    db.store.migrate().await.unwrap();
    db.drop_db().await;
}
