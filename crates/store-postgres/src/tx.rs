//! [`StoreTx`] on an open PostgreSQL transaction: the primitives core's rules
//! ([`claimd_core::commit`]) run on. Several claimd instances may issue at once, so the
//! primitives that say so in the port lock exactly what must be serialised, until the
//! transaction ends: transaction-scoped advisory locks on the idempotency key and on the
//! (program, email) pair — the duplicate rule — and row locks on the user and the live
//! credential. Requests for different users never wait for each other; the unique indexes
//! stay the final guard.

use crate::rows::{decode_opt, map_err};
use crate::users::{consent, user, CONSENT_SELECT};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_core::commit::{IdempotencyEntry, StoreTx};
use claimd_core::credential::{CredentialRecord, CredentialStatus};
use claimd_core::store::StoreError;
use claimd_core::user::{Consent, ConsentStatus, Email, User};
use claimd_core::{PartnerId, ProgramId, UserId};
use sqlx::{PgConnection, Row};
use std::collections::{BTreeMap, HashMap};

/// The primitives on a connection inside a transaction.
pub(crate) struct PgTx<'c> {
    conn: &'c mut PgConnection,
    /// Inside a group commit: where slots of uncapped programs are counted (see [`SlotLedger`]).
    slots: Option<&'c mut SlotLedger>,
}

/// Issuance slots of programs without a cap, counted once at the end of a group commit
/// instead of by each issuance where it takes its slot.
///
/// Counting a slot updates the program's row, and an updated row stays locked until the
/// transaction ends. Every issuance of a program updates the same row, so concurrent group
/// transactions queued behind each other's lock for their whole length (seconds under load,
/// with four committers on one program) instead of committing side by side. A program without
/// a cap cannot refuse a slot, so its count can be raised just before `COMMIT`, once per
/// program and in program order, holding the lock only for the commit. A capped program's slot
/// is still taken, and checked against the cap, in the issuance's own statement.
#[derive(Default)]
pub(crate) struct SlotLedger {
    /// Per program: whether it has no cap, read once per group.
    uncapped: HashMap<String, bool>,
    /// Slots taken by the issuance in progress, whose savepoint may still roll back.
    pending: Vec<String>,
    /// Slots of the issuances kept so far, per program, in program order.
    taken: BTreeMap<String, i64>,
}

impl SlotLedger {
    /// The issuance in progress is kept (its savepoint released): its slots count.
    pub(crate) fn keep_pending(&mut self) {
        for program in self.pending.drain(..) {
            *self.taken.entry(program).or_default() += 1;
        }
    }

    /// The issuance in progress was rolled back: its slots do not count.
    pub(crate) fn drop_pending(&mut self) {
        self.pending.clear();
    }

    /// Raises the counts of the kept slots; the last statements before `COMMIT`.
    pub(crate) async fn apply(&self, conn: &mut PgConnection) -> Result<(), StoreError> {
        for (program, n) in &self.taken {
            sqlx::query("UPDATE programs SET issued_count = issued_count + $1 WHERE id = $2")
                .bind(n)
                .bind(program)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }
}

/// `$first, $first+1, …` for `n` bound values.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl<'c> PgTx<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        PgTx { conn, slots: None }
    }

    /// Primitives for one issuance of a group commit, counting uncapped slots in `slots`.
    pub(crate) fn deferring(conn: &'c mut PgConnection, slots: &'c mut SlotLedger) -> Self {
        PgTx {
            conn,
            slots: Some(slots),
        }
    }

    /// Takes a transaction-scoped advisory lock on a text key.
    async fn lock(&mut self, key: &str) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(key)
            .execute(&mut *self.conn)
            .await
            .map(|_| ())
            .map_err(map_err)
    }
}

#[async_trait]
impl StoreTx for PgTx<'_> {
    async fn idempotency_entry(
        &mut self,
        partner: PartnerId,
        key: &str,
    ) -> Result<Option<IdempotencyEntry>, StoreError> {
        self.lock(&format!("idem:{partner}:{key}")).await?;
        let row = sqlx::query(
            "SELECT request_hash, response, created_at FROM idempotency_keys WHERE partner_id = $1 AND key = $2",
        )
        .bind(partner.0)
        .bind(key)
        .fetch_optional(&mut *self.conn)
        .await
        .map_err(map_err)?;
        row.map(|r| {
            Ok(IdempotencyEntry {
                request_hash: r.get("request_hash"),
                response: r.get("response"),
                created_at: r.get("created_at"),
            })
        })
        .transpose()
    }

    async fn forget_idempotency(
        &mut self,
        partner: PartnerId,
        key: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE partner_id = $1 AND key = $2")
            .bind(partner.0)
            .bind(key)
            .execute(&mut *self.conn)
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
            "INSERT INTO idempotency_keys (partner_id, key, request_hash, response, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(partner.0)
        .bind(key)
        .bind(&entry.request_hash)
        .bind(&entry.response)
        .bind(entry.created_at)
        .execute(&mut *self.conn)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn lock_holder(&mut self, program: &ProgramId, email: &Email) -> Result<(), StoreError> {
        self.lock(&format!("dup:{program}:{}", email.as_str()))
            .await
    }

    async fn partner_exists(&mut self, partner: PartnerId) -> Result<bool, StoreError> {
        let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM partners WHERE id = $1")
            .bind(partner.0)
            .fetch_optional(&mut *self.conn)
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
            "INSERT INTO users (id, email, holder_did, holder_key, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(id.0)
        .bind(email.as_str())
        .bind(holder.map(|h| h.0))
        .bind(holder.map(|h| h.1))
        .bind(at)
        .execute(&mut *self.conn)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn user_by_email(&mut self, email: &Email) -> Result<Option<User>, StoreError> {
        decode_opt(
            sqlx::query(
                "SELECT id, email, holder_did, created_at FROM users WHERE email = $1 FOR UPDATE",
            )
            .bind(email.as_str())
            .fetch_optional(&mut *self.conn)
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
        sqlx::query("UPDATE users SET holder_did = $1, holder_key = $2 WHERE id = $3")
            .bind(holder_did)
            .bind(holder_key)
            .bind(id.0)
            .execute(&mut *self.conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn consent(
        &mut self,
        user: UserId,
        partner: PartnerId,
    ) -> Result<Option<ConsentStatus>, StoreError> {
        let status: Option<String> = sqlx::query_scalar(
            "SELECT status FROM consents WHERE user_id = $1 AND partner_id = $2",
        )
        .bind(user.0)
        .bind(partner.0)
        .fetch_optional(&mut *self.conn)
        .await
        .map_err(map_err)?;
        ConsentStatus::from_stored_opt(status.as_deref())
    }

    async fn put_consent(
        &mut self,
        user: UserId,
        partner: PartnerId,
        status: ConsentStatus,
        at: DateTime<Utc>,
    ) -> Result<Consent, StoreError> {
        sqlx::query(
            "INSERT INTO consents (user_id, partner_id, status, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, partner_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind(user.0)
        .bind(partner.0)
        .bind(status.as_str())
        .bind(at)
        .execute(&mut *self.conn)
        .await
        .map_err(map_err)?;
        let row = sqlx::query(&format!(
            "{CONSENT_SELECT} WHERE c.user_id = $1 AND c.partner_id = $2"
        ))
        .bind(user.0)
        .bind(partner.0)
        .fetch_one(&mut *self.conn)
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
            "SELECT core_claim_hash FROM credentials WHERE program_id = $1 AND user_id = $2 \
             AND status IN ($3, $4) FOR UPDATE",
        )
        .bind(program.as_str())
        .bind(user.0)
        .bind(live1.as_str())
        .bind(live2.as_str())
        .fetch_optional(&mut *self.conn)
        .await
        .map_err(map_err)
    }

    async fn set_credential_status(
        &mut self,
        core_claim_hash: &str,
        status: CredentialStatus,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE credentials SET status = $1, updated_at = $2 WHERE core_claim_hash = $3",
        )
        .bind(status.as_str())
        .bind(at)
        .bind(core_claim_hash)
        .execute(&mut *self.conn)
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
        crate::webhooks::record_events(&mut *self.conn, &[core_claim_hash.to_owned()], event, at)
            .await
    }

    async fn take_issuance_slot(&mut self, program: &ProgramId) -> Result<bool, StoreError> {
        if let Some(slots) = self.slots.as_deref_mut() {
            let uncapped = match slots.uncapped.get(program.as_str()) {
                Some(&uncapped) => uncapped,
                None => {
                    // A program that does not exist is left to the statement below.
                    let uncapped: bool = sqlx::query_scalar(
                        "SELECT max_issuance IS NULL FROM programs WHERE id = $1",
                    )
                    .bind(program.as_str())
                    .fetch_optional(&mut *self.conn)
                    .await
                    .map_err(map_err)?
                    .unwrap_or(false);
                    slots.uncapped.insert(program.as_str().to_owned(), uncapped);
                    uncapped
                }
            };
            if uncapped {
                slots.pending.push(program.as_str().to_owned());
                return Ok(true);
            }
        }
        let counted = sqlx::query(
            "UPDATE programs SET issued_count = issued_count + 1 \
             WHERE id = $1 AND (max_issuance IS NULL OR issued_count < max_issuance)",
        )
        .bind(program.as_str())
        .execute(&mut *self.conn)
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
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&cred.core_claim_hash)
        .bind(&cred.vc_id)
        .bind(cred.partner_id.0)
        .bind(cred.issuer_id.0)
        .bind(cred.program_id.as_str())
        .bind(cred.schema_id.0)
        .bind(cred.user_id.0)
        .bind(cred.revocation_nonce as i64)
        .bind(status.as_str())
        .bind(cred.issuance_date)
        .bind(cred.expiration_date)
        .bind(&cred.core_claim)
        .bind(&cred.document)
        .bind(at)
        .bind(at)
        .execute(&mut *self.conn)
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(db))
                if db.is_unique_violation()
                    && db
                        .constraint()
                        .is_some_and(|k| k.contains("revocation_nonce")) =>
            {
                Ok(false)
            }
            Err(e) => Err(map_err(e)),
        }
    }
}
