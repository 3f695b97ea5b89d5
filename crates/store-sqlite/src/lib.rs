//! claimd's storage on embedded SQLite: one file in the data directory, WAL journal, full
//! fsync on commit (an acknowledged credential must survive a power cut), foreign keys on.
//!
//! SQLite is single-node by design: one claimd process owns the file. Queries are checked by
//! the shared contract suite (`claimd-store-contract`), which the PostgreSQL adapter runs too.

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
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::time::Duration;

/// The SQLite adapter. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Writers wait their turn here (see `tx::Writes`).
    writes: tx::Writes,
    /// The write connection of core's transactional rules (see `tx::Writer`).
    writer: tx::Writer,
    /// Issuances go through the group committer (see `credentials::committer`).
    issuances: tokio::sync::mpsc::Sender<claimd_core::group::Job>,
}

/// The pool's settings. A transaction whose `COMMIT` failed with `SQLITE_FULL` or
/// `SQLITE_IOERR` (the disk full) may have been rolled back by SQLite itself; sqlx's own
/// `ROLLBACK` then fails, and sqlx goes on counting the connection as inside a transaction,
/// so every later `BEGIN` on it fails ("attempted to call begin_with at non-zero transaction
/// depth") and, once back in the pool, it fails writes forever. Such a connection is closed
/// instead of being handed out again. A connection that still counts as inside a
/// transaction is pinged first, which lets a `ROLLBACK` queued by a dropped transaction finish
/// before the check. Others are not pinged: sqlx's default ping before every acquire is one
/// more round trip to the connection's thread for every statement, on the path of every read.
fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|conn, _| {
            Box::pin(async move {
                if sqlx::Connection::is_in_transaction(conn) {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(!sqlx::Connection::is_in_transaction(conn))
            })
        })
}

impl SqliteStore {
    /// Opens (creating if needed) the database at a `sqlite://path` URL. Does not migrate.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Every issuance of a group runs in a savepoint, whose statement journal SQLite
            // keeps in a temporary file by default: one more file write per page an issuance
            // touches. In memory it costs a few pages of RAM and no system call.
            .pragma("temp_store", "memory")
            .busy_timeout(Duration::from_secs(10));
        let opts_for_writer = opts.clone();
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = pool_options()
            .max_connections(8)
            .connect_with(opts)
            .await
            .map_err(rows::map_err)?;
        let writes = tx::Writes::new(pool.clone());
        // After the pool: its first connection has created the file and set its journal mode.
        let writer = tx::Writer::open(opts_for_writer.get_filename(), in_memory, writes.clone())?;
        let (issuances, jobs) = tokio::sync::mpsc::channel(4096);
        tokio::spawn(credentials::committer(writer.clone(), jobs));
        Ok(SqliteStore {
            pool,
            writes,
            writer,
            issuances,
        })
    }

    /// Applies pending migrations (idempotent).
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
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(rows::map_err)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

#[cfg(test)]
mod tests {
    use super::pool_options;
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;

    /// SQLite ends a transaction on its own after some failures (a full disk); sqlx does not
    /// know, fails its `ROLLBACK` and counts the connection as still inside the transaction.
    /// Here SQLite is made to end it behind sqlx's back with a `ROLLBACK` of its own: the
    /// pool must not hand that connection out again.
    #[tokio::test]
    async fn a_connection_left_inside_a_failed_transaction_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let opts = SqliteConnectOptions::from_str(&format!(
            "sqlite://{}",
            dir.path().join("t.db").display()
        ))
        .unwrap()
        .create_if_missing(true);
        let pool = pool_options()
            .max_connections(1)
            .connect_with(opts)
            .await
            .unwrap();
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
        drop(tx);
        for _ in 0..3 {
            let tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
            tx.commit().await.unwrap();
        }
    }
}
