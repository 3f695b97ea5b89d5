//! One database per test. PostgreSQL tests use the server at `CLAIMD_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`; `scripts/test` starts a private one
//! when none answers there). A missing server fails the test: the PostgreSQL backend is never
//! silently untested.

use claimd_core::store::Store;
use claimd_store_postgres::PgStore;
use claimd_store_sqlite::SqliteStore;
use sqlx::Connection;
use std::process::{Command, Stdio};
use std::sync::Arc;

/// Where the store lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Both backends, for tests that run on each.
    pub const ALL: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
}

pub fn postgres_admin_url() -> String {
    std::env::var("CLAIMD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A connection to the PostgreSQL server's admin database; panics, saying how to get one,
/// when it does not answer.
pub async fn postgres_admin() -> sqlx::PgConnection {
    let admin = postgres_admin_url();
    sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {admin} is not reachable ({e}); run scripts/test, which starts one"
            )
        })
}

/// A fresh PostgreSQL database, dropped (with its connections) when this value is dropped.
#[derive(Debug)]
pub struct PgDb {
    pub name: String,
    pub url: String,
}

impl PgDb {
    pub async fn create() -> PgDb {
        let mut conn = postgres_admin().await;
        let name = format!("claimd_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let admin = postgres_admin_url();
        let (base, _) = admin.rsplit_once('/').unwrap();
        PgDb {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // Synchronous (Drop cannot await, and the test's runtime may be gone) and best effort:
        // psql may be absent, the server may already be stopped.
        let _ = Command::new("psql")
            .args([
                &postgres_admin_url(),
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A database for one test: a SQLite file in a temp dir, or a fresh PostgreSQL database.
pub struct Db {
    pub backend: Backend,
    pub url: String,
    /// The temp dir of the SQLite file (also there for PostgreSQL, for other test files).
    pub dir: tempfile::TempDir,
    pub pg: Option<PgDb>,
}

impl Db {
    pub async fn create(backend: Backend) -> Db {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Db {
                backend,
                url: format!("sqlite://{}", dir.path().join("claimd.db").display()),
                dir,
                pg: None,
            },
            Backend::Postgres => {
                let pg = PgDb::create().await;
                Db {
                    backend,
                    url: pg.url.clone(),
                    dir,
                    pg: Some(pg),
                }
            }
        }
    }

    /// The PostgreSQL database's name.
    pub fn pg_name(&self) -> Option<&str> {
        self.pg.as_ref().map(|p| p.name.as_str())
    }

    /// A migrated SQLite store on it (SQLite only).
    pub async fn sqlite(&self) -> SqliteStore {
        assert_eq!(self.backend, Backend::Sqlite);
        let s = SqliteStore::connect(&self.url).await.unwrap();
        s.migrate().await.unwrap();
        s
    }

    /// A migrated PostgreSQL store on it (PostgreSQL only).
    pub async fn postgres(&self) -> PgStore {
        assert_eq!(self.backend, Backend::Postgres);
        let s = PgStore::connect(&self.url, 5).await.unwrap();
        s.migrate().await.unwrap();
        s
    }

    /// A connection pool to it, migrated: each call is like another instance.
    pub async fn open(&self) -> Arc<dyn Store> {
        match self.backend {
            Backend::Sqlite => Arc::new(self.sqlite().await),
            Backend::Postgres => Arc::new(self.postgres().await),
        }
    }
}

/// One `#[tokio::test]` per behaviour of the storage contract (`claimd-store-contract`), each
/// on a fresh database of `$backend`. The list lives here, once, so both adapters run the same
/// contract; the caller needs `claimd-store-contract` and `tokio` as dev-dependencies.
#[macro_export]
macro_rules! store_contract_tests {
    ($backend:expr) => {
        $crate::store_contract_tests!(
            $backend;
            partners,
            partner_token_rules,
            registry,
            consent,
            issuance,
            credential_listings,
            publishing,
            publication,
            catalog,
            catalog_verifications,
            bulk,
            webhooks,
            webhook_expiry,
            credential_history
        );
    };
    ($backend:expr; $($name:ident),*) => {$(
        #[tokio::test]
        async fn $name() {
            let db = $crate::Db::create($backend).await;
            claimd_store_contract::$name(&*db.open().await).await;
        }
    )*};
}

/// For each `async fn scenario(backend: Backend)` in scope, one `#[tokio::test]` per backend:
/// `sqlite::scenario` on a SQLite file, `postgres::scenario` on PostgreSQL.
#[macro_export]
macro_rules! on_each_backend {
    ($($scenario:ident),* $(,)?) => {
        $crate::on_each_backend!(@on sqlite, Sqlite; $($scenario),*);
        $crate::on_each_backend!(@on postgres, Postgres; $($scenario),*);
    };
    (@on $module:ident, $backend:ident; $($scenario:ident),*) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario($crate::Backend::$backend).await;
                }
            )*
        }
    };
}
