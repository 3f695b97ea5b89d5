//! [`StoreTx`] on an open SQLite transaction: the primitives core's rules
//! ([`claimd_core::commit`]) run on. Each is one statement. Nothing locks: the transaction is
//! `BEGIN IMMEDIATE`, so it is the only writer until it ends.

use crate::rows::{decode_opt, map_err, ms, time};
use crate::users::{consent, user, CONSENT_SELECT};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_core::commit::{IdempotencyEntry, StoreTx};
use claimd_core::credential::{CredentialRecord, CredentialStatus};
use claimd_core::store::StoreError;
use claimd_core::user::{Consent, ConsentStatus, Email, User};
use claimd_core::{PartnerId, ProgramId, UserId};
use sqlx::{Row, SqliteConnection, SqlitePool};
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The primitives on a connection inside a transaction (or savepoint).
pub(crate) struct SqliteTx<'c>(pub(crate) &'c mut SqliteConnection);

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

#[async_trait]
impl StoreTx for SqliteTx<'_> {
    async fn idempotency_entry(
        &mut self,
        partner: PartnerId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>, StoreError> {
        let row = sqlx::query(
            "SELECT request_hash, response, created_at FROM idempotency_keys WHERE partner_id = ? AND key = ?",
        )
        .bind(partner.to_string())
        .bind(key)
        .fetch_optional(&mut *self.0)
        .await
        .map_err(map_err)?;
        row.map(|r| {
            Ok(IdempotencyEntry {
                request_hash: r.get("request_hash"),
                response: r.get("response"),
                created_at: time(r.get("created_at"))?,
            })
        })
        .transpose()
    }

    async fn forget_idempotency(
        &mut self,
        partner: PartnerId,
        key: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE partner_id = ? AND key = ?")
            .bind(partner.to_string())
            .bind(key)
            .execute(&mut *self.0)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn remember_idempotency(
        &mut self,
        partner: PartnerId,
        key: &str,
        entry: &IdempotencyEntry,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO idempotency_keys (partner_id, key, request_hash, response, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(partner.to_string())
        .bind(key)
        .bind(&entry.request_hash)
        .bind(&entry.response)
        .bind(ms(entry.created_at))
        .execute(&mut *self.0)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn lock_holder(&mut self, _: &ProgramId, _: &Email) -> Result<(), StoreError> {
        // The transaction holds the database's one write lock already.
        Ok(())
    }

    async fn partner_exists(&mut self, partner: PartnerId) -> Result<bool, StoreError> {
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM partners WHERE id = ?")
            .bind(partner.to_string())
            .fetch_optional(&mut *self.0)
            .await
            .map_err(map_err)?;
        Ok(known.is_some())
    }

    async fn insert_user_if_new(
        &mut self,
        id: UserId,
        email: &Email,
        holder: Option<(&str, &[u8])>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, email, holder_did, holder_key, created_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(email.as_str())
        .bind(holder.map(|h| h.0))
        .bind(holder.map(|h| h.1))
        .bind(ms(at))
        .execute(&mut *self.0)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn user_by_email(&mut self, email: &Email) -> Result<Option<User>, StoreError> {
        decode_opt(
            sqlx::query("SELECT id, email, holder_did, created_at FROM users WHERE email = ?")
                .bind(email.as_str())
                .fetch_optional(&mut *self.0)
                .await,
            user,
        )
    }

    async fn give_holder(
        &mut self,
        id: UserId,
        holder_did: &str,
        holder_key: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET holder_did = ?, holder_key = ? WHERE id = ?")
            .bind(holder_did)
            .bind(holder_key)
            .bind(id.to_string())
            .execute(&mut *self.0)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn consent(
        &mut self,
        user: UserId,
        partner: PartnerId,
    ) -> Result<Option<ConsentStatus>, StoreError> {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM consents WHERE user_id = ? AND partner_id = ?")
                .bind(user.to_string())
                .bind(partner.to_string())
                .fetch_optional(&mut *self.0)
                .await
                .map_err(map_err)?;
        status
            .as_deref()
            .map(ConsentStatus::from_stored)
            .transpose()
    }

    async fn put_consent(
        &mut self,
        user: UserId,
        partner: PartnerId,
        status: ConsentStatus,
        at: DateTime<Utc>,
    ) -> Result<Consent, StoreError> {
        sqlx::query(
            "INSERT INTO consents (user_id, partner_id, status, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (user_id, partner_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind(user.to_string())
        .bind(partner.to_string())
        .bind(status.as_str())
        .bind(ms(at))
        .execute(&mut *self.0)
        .await
        .map_err(map_err)?;
        let row = sqlx::query(&format!(
            "{CONSENT_SELECT} WHERE c.user_id = ? AND c.partner_id = ?"
        ))
        .bind(user.to_string())
        .bind(partner.to_string())
        .fetch_one(&mut *self.0)
        .await
        .map_err(map_err)?;
        consent(&row)
    }

    async fn live_credential(
        &mut self,
        program: &ProgramId,
        user: UserId,
    ) -> Result<Option<String>, StoreError> {
        let [live1, live2] = CredentialStatus::LIVE;
        sqlx::query_scalar(
            "SELECT core_claim_hash FROM credentials WHERE program_id = ? AND user_id = ? \
             AND status IN (?, ?)",
        )
        .bind(program.as_str())
        .bind(user.to_string())
        .bind(live1.as_str())
        .bind(live2.as_str())
        .fetch_optional(&mut *self.0)
        .await
        .map_err(map_err)
    }

    async fn set_credential_status(
        &mut self,
        core_claim_hash: &str,
        status: CredentialStatus,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE credentials SET status = ?, updated_at = ? WHERE core_claim_hash = ?")
            .bind(status.as_str())
            .bind(ms(at))
            .bind(core_claim_hash)
            .execute(&mut *self.0)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn record_event(
        &mut self,
        core_claim_hash: &str,
        event: claimd_core::webhook::EventType,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        crate::webhooks::record_events(&mut *self.0, &[core_claim_hash.to_owned()], event, at).await
    }

    async fn take_issuance_slot(&mut self, program: &ProgramId) -> Result<bool, StoreError> {
        let counted = sqlx::query(
            "UPDATE programs SET issued_count = issued_count + 1 \
             WHERE id = ? AND (max_issuance IS NULL OR issued_count < max_issuance)",
        )
        .bind(program.as_str())
        .execute(&mut *self.0)
        .await
        .map_err(map_err)?;
        Ok(counted.rows_affected() > 0)
    }

    async fn insert_credential(
        &mut self,
        cred: &CredentialRecord,
        status: CredentialStatus,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO credentials (core_claim_hash, vc_id, partner_id, issuer_id, program_id, schema_id, \
             user_id, revocation_nonce, status, issuance_date, expiration_date, core_claim, document, \
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&cred.core_claim_hash)
        .bind(&cred.vc_id)
        .bind(cred.partner_id.to_string())
        .bind(cred.issuer_id.to_string())
        .bind(cred.program_id.as_str())
        .bind(cred.schema_id.to_string())
        .bind(cred.user_id.to_string())
        .bind(cred.revocation_nonce as i64)
        .bind(status.as_str())
        .bind(ms(cred.issuance_date))
        .bind(cred.expiration_date.map(ms))
        .bind(&cred.core_claim)
        .bind(&cred.document)
        .bind(ms(at))
        .bind(ms(at))
        .execute(&mut *self.0)
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(db))
                if db.is_unique_violation() && db.message().contains("revocation_nonce") =>
            {
                Ok(false)
            }
            Err(e) => Err(map_err(e)),
        }
    }
}
