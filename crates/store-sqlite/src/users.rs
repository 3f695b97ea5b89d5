//! [`UserStore`] on SQLite: users by normalised email, and consent records (recorded by core's
//! [`commit::set_consent`] on a transaction).

use crate::rows::{decode_opt, map_err, ms, time, uuid};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_core::commit;
use claimd_core::page::{Page, PageRequest};
use claimd_core::store::{StoreError, UserStore, EMAIL_RENORMALISATION_STEP};
use claimd_core::user::{
    plan_email_renormalisation, Consent, ConsentDraft, ConsentStatus, Email, EmailConflict,
    EmailRenormalisation, User,
};
use claimd_core::{PartnerId, UserId};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

pub(crate) fn user(r: &SqliteRow) -> Result<User, StoreError> {
    user_of(
        r.get("id"),
        r.get("email"),
        r.get("holder_did"),
        r.get("created_at"),
    )
}

/// A user from its columns as SQLite holds them, whichever driver read them.
pub(crate) fn user_of(
    id: &str,
    email: String,
    holder_did: Option<String>,
    created_at: i64,
) -> Result<User, StoreError> {
    Ok(User {
        user_uuid: UserId(uuid(id)?),
        email: Email::from_stored(email),
        holder_did,
        created_at: time(created_at)?,
    })
}

pub(crate) fn consent(r: &SqliteRow) -> Result<Consent, StoreError> {
    consent_of(
        r.get("user_id"),
        r.get("email"),
        r.get("partner_id"),
        r.get("status"),
        r.get("updated_at"),
    )
}

/// A consent record from the columns of [`CONSENT_SELECT`], whichever driver read them.
pub(crate) fn consent_of(
    user_id: &str,
    email: String,
    partner_id: &str,
    status: &str,
    updated_at: i64,
) -> Result<Consent, StoreError> {
    Ok(Consent {
        user_uuid: UserId(uuid(user_id)?),
        email: Email::from_stored(email),
        partner_id: PartnerId(uuid(partner_id)?),
        status: ConsentStatus::from_stored(status)?,
        updated_at: time(updated_at)?,
    })
}

pub(crate) const CONSENT_SELECT: &str =
    "SELECT c.user_id, u.email, c.partner_id, c.status, c.updated_at \
     FROM consents c JOIN users u ON u.id = c.user_id";

pub(crate) const USER_BY_EMAIL: &str =
    "SELECT id, email, holder_did, created_at FROM users WHERE email = ?";

pub(crate) const CONSENT_STATUS: &str =
    "SELECT status FROM consents WHERE user_id = ? AND partner_id = ?";

#[async_trait]
impl UserStore for SqliteStore {
    async fn set_consent(&self, d: ConsentDraft, at: DateTime<Utc>) -> Result<Consent, StoreError> {
        self.writer
            .transaction(move |tx, run| run.block_on(commit::set_consent(tx, &d, at)))
            .await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        decode_opt(
            sqlx::query(USER_BY_EMAIL)
                .bind(email.as_str())
                .fetch_optional(&self.pool)
                .await,
            user,
        )
    }

    async fn consent_status(
        &self,
        user: UserId,
        partner: PartnerId,
    ) -> Result<Option<ConsentStatus>, StoreError> {
        let status: Option<String> = sqlx::query_scalar(CONSENT_STATUS)
            .bind(user.to_string())
            .bind(partner.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        ConsentStatus::from_stored_opt(status.as_deref())
    }

    async fn list_users(&self, page: PageRequest) -> Result<Page<User>, StoreError> {
        self.page(
            "SELECT id, email, holder_did, created_at FROM users ORDER BY created_at, id LIMIT ? OFFSET ?",
            "SELECT COUNT(*) FROM users",
            page,
            user,
        )
        .await
    }

    async fn list_consents(&self, page: PageRequest) -> Result<Page<Consent>, StoreError> {
        self.page(
            &format!(
                "{CONSENT_SELECT} ORDER BY c.updated_at, c.user_id, c.partner_id LIMIT ? OFFSET ?"
            ),
            "SELECT COUNT(*) FROM consents",
            page,
            consent,
        )
        .await
    }

    async fn renormalise_emails(
        &self,
        at: DateTime<Utc>,
    ) -> Result<Vec<EmailConflict>, StoreError> {
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let done: Option<i64> = sqlx::query_scalar("SELECT 1 FROM data_steps WHERE name = ?")
            .bind(EMAIL_RENORMALISATION_STEP)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.is_some() {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, email FROM users ORDER BY created_at, id")
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
        let users = rows
            .into_iter()
            .map(|(id, email)| Ok((UserId(uuid(&id)?), email)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut conflicts = Vec::new();
        for step in plan_email_renormalisation(&users) {
            match step {
                EmailRenormalisation::Rewrite { user, email } => {
                    sqlx::query("UPDATE users SET email = ? WHERE id = ?")
                        .bind(email.as_str())
                        .bind(user.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                EmailRenormalisation::Conflict(c) => {
                    sqlx::query(
                        "INSERT INTO email_conflicts \
                         (user_id, stored_email, normalised_email, other_user_id, reason, detected_at) \
                         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING",
                    )
                    .bind(c.user_uuid.to_string())
                    .bind(&c.stored)
                    .bind(c.normalised.as_ref().map(Email::as_str))
                    .bind(c.other_user_uuid.map(|u| u.to_string()))
                    .bind(&c.reason)
                    .bind(ms(at))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    conflicts.push(c);
                }
            }
        }
        sqlx::query("INSERT INTO data_steps (name, done_at) VALUES (?, ?)")
            .bind(EMAIL_RENORMALISATION_STEP)
            .bind(ms(at))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(conflicts)
    }

    async fn email_conflicts(&self) -> Result<Vec<EmailConflict>, StoreError> {
        let rows: Vec<(String, String, Option<String>, Option<String>, String)> = sqlx::query_as(
            "SELECT c.user_id, c.stored_email, c.normalised_email, c.other_user_id, c.reason \
             FROM email_conflicts c JOIN users u ON u.id = c.user_id \
             ORDER BY u.created_at, c.user_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|(user, stored, normalised, other, reason)| {
                Ok(EmailConflict {
                    user_uuid: UserId(uuid(&user)?),
                    stored,
                    normalised: normalised.map(Email::from_stored),
                    other_user_uuid: other.as_deref().map(uuid).transpose()?.map(UserId),
                    reason,
                })
            })
            .collect()
    }
}
