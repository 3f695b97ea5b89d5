//! claimd's storage on PostgreSQL: native `uuid`, `timestamptz`, `jsonb` and `bytea` columns;
//! any number of claimd instances may share one database.

#[cfg(feature = "bench-seed")]
pub mod bench_seed;
mod bulk;
mod catalog;
mod credentials;
mod publication;
mod publishing;
mod registry;
mod rows;
mod tx;
mod users;
mod webhooks;

use async_trait::async_trait;
use claimd_core::store::{Store, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

/// The PostgreSQL adapter. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// Issuances go through the group committers (see `credentials::committer`).
    committer: tokio::sync::mpsc::Sender<claimd_core::group::Job>,
}

impl PgStore {
    /// Connects to a `postgres://` URL. Does not migrate.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?
            .application_name("claimd");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(rows::map_err)?;
        let committer = credentials::start_committers(&pool);
        credentials::start_folding(&pool, committer.downgrade());
        Ok(PgStore { pool, committer })
    }

    /// Applies pending migrations (idempotent; sqlx serialises concurrent migrators with an
    /// advisory lock, so several instances may start at once).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Internal(format!("migration failed: {e}")))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(rows::map_err)
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}
