//! Writing to SQLite: the writers' turn ([`Writes`]), the store's own write connection for the
//! rules core decides inside a transaction ([`Writer`]), and [`StoreTx`] on it ([`DirectTx`]),
//! the primitives core's rules ([`claimd_core::commit`]) run on. Each primitive is one
//! statement. Nothing locks: the transaction is `BEGIN IMMEDIATE`, so it is the only writer
//! until it ends.
//!
//! Why a connection of its own, driven synchronously: an issuance is about seven statements,
//! and through the pool each is a round trip to that connection's thread and back to an async
//! worker. Under load the group committer spent more time in those hand-overs than in SQLite,
//! and it is the one writer every issuance waits for. On its own connection, on a blocking
//! thread, a whole group of issuances runs without a hand-over between statements.

use crate::rows::{map_direct_err, ms, time};
use crate::users::{consent_of, user_of, CONSENT_SELECT, CONSENT_STATUS, USER_BY_EMAIL};
use crate::webhooks::{insert_events, LAST_EVENT_SEQ, QUEUE_DELIVERIES};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_core::commit::{IdempotencyEntry, StoreTx};
use claimd_core::credential::{CredentialRecord, CredentialStatus};
use claimd_core::store::StoreError;
use claimd_core::user::{Consent, ConsentStatus, Email, User};
use claimd_core::webhook::{new_event_id, EventType};
use claimd_core::{PartnerId, ProgramId, UserId};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use sqlx::{SqliteConnection, SqlitePool};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Every write transaction of this store, and every write that can meet sustained issuance
/// (the publisher's lease, status changes), takes its turn here before it asks SQLite for the
/// write lock; the operator's rare one-statement writes rely on SQLite's busy timeout.
///
/// SQLite has one writer and makes the others wait in its busy handler, which sleeps and
/// polls: under sustained issuance the group committer, which asks again the instant it
/// commits, would win nearly every time, and the publisher's writes would time out ("database
/// is locked") however short they are. Waiting here instead is first come, first served, so
/// every writer gets the lock within a few commits.
#[derive(Clone, Debug)]
pub(crate) struct Writes {
    pool: SqlitePool,
    turn: Arc<Mutex<()>>,
}

impl Writes {
    pub(crate) fn new(pool: SqlitePool) -> Writes {
        Writes {
            pool,
            turn: Arc::new(Mutex::new(())),
        }
    }

    /// A write transaction holding SQLite's one write lock from its start (`BEGIN
    /// IMMEDIATE`): a deferred one that reads before it writes would fail at once ("database
    /// is locked") when another writer holds the lock.
    pub(crate) async fn begin(&self) -> Result<WriteTx, sqlx::Error> {
        let turn = self.turn.clone().lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { tx, _turn: turn })
    }

    /// The turn for one autocommit write statement, held until the guard drops.
    pub(crate) async fn turn(&self) -> OwnedMutexGuard<()> {
        self.turn.clone().lock_owned().await
    }
}

/// An open write transaction and the writer's turn, released together when it ends.
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    _turn: OwnedMutexGuard<()>,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

/// `?, ?, …` for `n` bound values.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The store's own write connection, for the transactions whose rules core decides
/// ([`claimd_core::commit`]): issuances (in groups, [`claimd_core::group`]) and consent records.
/// One connection, used by one transaction at a time, each on a blocking thread and in its
/// turn among the writers ([`Writes`]).
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    conn: Arc<std::sync::Mutex<Connection>>,
    writes: Writes,
}

impl Writer {
    /// Opens the write connection to the database at `path` with the settings of the pool's
    /// connections (the journal mode is the file's own, set by the pool). `in_memory`: the
    /// pool's shared in-memory database, which `path` names.
    pub(crate) fn open(path: &Path, in_memory: bool, writes: Writes) -> Result<Writer, StoreError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if in_memory {
            flags |= OpenFlags::SQLITE_OPEN_MEMORY | OpenFlags::SQLITE_OPEN_SHARED_CACHE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(map_direct_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(map_direct_err)?;
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
        )
        .map_err(map_direct_err)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(Writer {
            conn: Arc::new(std::sync::Mutex::new(conn)),
            writes,
        })
    }

    /// Runs `work` inside one `BEGIN IMMEDIATE` transaction, committed when it returns `Ok`
    /// and rolled back otherwise. `work` runs on a blocking thread; the [`Handle`] it gets
    /// runs core's rules (async in signature, synchronous here) to completion.
    pub(crate) async fn transaction<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DirectTx<'_>, &Handle) -> Result<T, StoreError> + Send + 'static,
    {
        self.blocking(move |conn, run| {
            conn.execute_batch("BEGIN IMMEDIATE")
                .map_err(map_direct_err)?;
            let done = work(&mut DirectTx(conn), run);
            match done {
                Ok(v) => conn
                    .execute_batch("COMMIT")
                    .map_err(map_direct_err)
                    .map(|()| v),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Runs `work` with the connection on a blocking thread, in the writers' turn. Whatever
    /// `work` leaves open (a failed commit, an error half-way) is rolled back before the
    /// connection serves anyone else.
    pub(crate) async fn blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Handle) -> Result<T, StoreError> + Send + 'static,
    {
        let turn = self.writes.turn().await;
        let conn = self.conn.clone();
        let run = Handle::current();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            // A panic while holding it poisons the lock; the connection is still whole
            // (SQLite's state is its own), so it is taken back and cleaned up below.
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            let done = work(&mut conn, &run);
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            done
        })
        .await
        .map_err(|e| StoreError::Internal(format!("write transaction failed: {e}")))?
    }
}

/// [`StoreTx`] on the write connection inside a transaction (or savepoint).
pub(crate) struct DirectTx<'c>(pub(crate) &'c mut Connection);

impl DirectTx<'_> {
    /// Runs one write statement, cached, and says how many rows it changed.
    fn execute(&mut self, sql: &str, values: &[&dyn rusqlite::ToSql]) -> Result<usize, StoreError> {
        self.0
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(values))
            .map_err(map_direct_err)
    }

    /// Runs one write statement with its values in order (a multi-row statement), cached.
    pub(crate) fn execute_all(
        &mut self,
        sql: &str,
        values: Vec<rusqlite::types::Value>,
    ) -> Result<(), StoreError> {
        self.0
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(rusqlite::params_from_iter(values)))
            .map(drop)
            .map_err(map_direct_err)
    }

    /// Runs one query, cached, and maps its first row, if any.
    fn first<T>(
        &mut self,
        sql: &str,
        values: &[&dyn rusqlite::ToSql],
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, StoreError> {
        self.0
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(values, map).optional())
            .map_err(map_direct_err)
    }
}

#[async_trait]
impl StoreTx for DirectTx<'_> {
    async fn idempotency_entry(
        &mut self,
        partner: PartnerId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>, StoreError> {
        let row = self.first(
            "SELECT request_hash, response, created_at FROM idempotency_keys \
             WHERE partner_id = ? AND key = ?",
            params![partner.to_string(), key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?)),
        )?;
        row.map(|(request_hash, response, created_at)| {
            Ok(IdempotencyEntry {
                request_hash,
                response,
                created_at: time(created_at)?,
            })
        })
        .transpose()
    }

    async fn forget_idempotency(
        &mut self,
        partner: PartnerId,
        key: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM idempotency_keys WHERE partner_id = ? AND key = ?",
            params![partner.to_string(), key],
        )
        .map(drop)
    }

    async fn remember_idempotency(
        &mut self,
        partner: PartnerId,
        key: &str,
        entry: &IdempotencyEntry,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO idempotency_keys (partner_id, key, request_hash, response, created_at) \
             VALUES (?, ?, ?, ?, ?)",
            params![
                partner.to_string(),
                key,
                entry.request_hash,
                entry.response,
                ms(entry.created_at)
            ],
        )
        .map(drop)
    }

    async fn lock_holder(&mut self, _: &ProgramId, _: &Email) -> Result<(), StoreError> {
        // The transaction holds the database's one write lock already.
        Ok(())
    }

    async fn partner_exists(&mut self, partner: PartnerId) -> Result<bool, StoreError> {
        self.first(
            "SELECT 1 FROM partners WHERE id = ?",
            params![partner.to_string()],
            |_| Ok(()),
        )
        .map(|found| found.is_some())
    }

    async fn insert_user_if_new(
        &mut self,
        id: UserId,
        email: &Email,
        holder: Option<(&str, &[u8])>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO users (id, email, holder_did, holder_key, created_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING",
            params![
                id.to_string(),
                email.as_str(),
                holder.map(|h| h.0),
                holder.map(|h| h.1),
                ms(at)
            ],
        )
        .map(drop)
    }

    async fn user_by_email(&mut self, email: &Email) -> Result<Option<User>, StoreError> {
        self.first(USER_BY_EMAIL, params![email.as_str()], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .map(|(id, email, holder, created)| user_of(&id, email, holder, created))
        .transpose()
    }

    async fn give_holder(
        &mut self,
        id: UserId,
        holder_did: &str,
        holder_key: &[u8],
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE users SET holder_did = ?, holder_key = ? WHERE id = ?",
            params![holder_did, holder_key, id.to_string()],
        )
        .map(drop)
    }

    async fn consent(
        &mut self,
        user: UserId,
        partner: PartnerId,
    ) -> Result<Option<ConsentStatus>, StoreError> {
        let status = self.first(
            CONSENT_STATUS,
            params![user.to_string(), partner.to_string()],
            |r| r.get::<_, String>(0),
        )?;
        ConsentStatus::from_stored_opt(status.as_deref())
    }

    async fn put_consent(
        &mut self,
        user: UserId,
        partner: PartnerId,
        status: ConsentStatus,
        at: DateTime<Utc>,
    ) -> Result<Consent, StoreError> {
        self.execute(
            "INSERT INTO consents (user_id, partner_id, status, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (user_id, partner_id) DO UPDATE SET status = excluded.status, \
             updated_at = excluded.updated_at",
            params![
                user.to_string(),
                partner.to_string(),
                status.as_str(),
                ms(at)
            ],
        )?;
        let row = self.first(
            &format!("{CONSENT_SELECT} WHERE c.user_id = ? AND c.partner_id = ?"),
            params![user.to_string(), partner.to_string()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get(4)?,
                ))
            },
        )?;
        let (user_id, email, partner_id, status, updated) = row
            .ok_or_else(|| StoreError::Internal("the consent just written is not there".into()))?;
        consent_of(&user_id, email, &partner_id, &status, updated)
    }

    async fn live_credential(
        &mut self,
        program: &ProgramId,
        user: UserId,
    ) -> Result<Option<String>, StoreError> {
        let [live1, live2] = CredentialStatus::LIVE;
        self.first(
            "SELECT core_claim_hash FROM credentials WHERE program_id = ? AND user_id = ? \
             AND status IN (?, ?)",
            params![
                program.as_str(),
                user.to_string(),
                live1.as_str(),
                live2.as_str()
            ],
            |r| r.get(0),
        )
    }

    async fn set_credential_status(
        &mut self,
        core_claim_hash: &str,
        status: CredentialStatus,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE credentials SET status = ?, updated_at = ? WHERE core_claim_hash = ?",
            params![status.as_str(), ms(at), core_claim_hash],
        )
        .map(drop)
    }

    async fn record_event(
        &mut self,
        core_claim_hash: &str,
        event: EventType,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // The statements of `crate::webhooks::record_events`, for one credential.
        let before: i64 = self
            .first(LAST_EVENT_SEQ, params![], |r| r.get(0))?
            .unwrap_or_default();
        self.execute(
            &insert_events(1),
            params![
                event.as_str(),
                event.reported_status(),
                ms(at),
                new_event_id(),
                core_claim_hash
            ],
        )?;
        self.execute(
            QUEUE_DELIVERIES,
            params![ms(at), ms(at), ms(at), before, event.bit()],
        )
        .map(drop)
    }

    async fn take_issuance_slot(&mut self, program: &ProgramId) -> Result<bool, StoreError> {
        self.execute(
            "UPDATE programs SET issued_count = issued_count + 1 \
             WHERE id = ? AND (max_issuance IS NULL OR issued_count < max_issuance)",
            params![program.as_str()],
        )
        .map(|changed| changed > 0)
    }

    async fn insert_credential(
        &mut self,
        cred: &CredentialRecord,
        status: CredentialStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let inserted = self.execute(
            "INSERT INTO credentials (core_claim_hash, vc_id, partner_id, issuer_id, program_id, \
             schema_id, user_id, revocation_nonce, status, issuance_date, expiration_date, \
             core_claim, document, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                cred.core_claim_hash,
                cred.vc_id,
                cred.partner_id.to_string(),
                cred.issuer_id.to_string(),
                cred.program_id.as_str(),
                cred.schema_id.to_string(),
                cred.user_id.to_string(),
                cred.revocation_nonce as i64,
                status.as_str(),
                ms(cred.issuance_date),
                cred.expiration_date.map(ms),
                cred.core_claim,
                cred.document,
                ms(at),
                ms(at)
            ],
        );
        match inserted {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(m)) if m.contains("revocation_nonce") => Ok(false),
            Err(e) => Err(e),
        }
    }
}
