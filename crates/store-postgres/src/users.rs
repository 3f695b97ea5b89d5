//! [`UserStore`] on PostgreSQL: users by normalised email, and consent records (recorded by
//! core's [`commit::set_consent`] on a transaction).

use crate::rows::map_err;
use crate::tx::PgTx;
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_core::commit::{self, StoreTx};
use claimd_core::page::{Page, PageRequest};
use claimd_core::store::{StoreError, UserStore, EMAIL_RENORMALISATION_STEP};
use claimd_core::user::{
    plan_email_renormalisation, Consent, ConsentDraft, ConsentStatus, Email, EmailConflict,
    EmailRenormalisation, User,
};
use claimd_core::{PartnerId, UserId};
use sqlx::postgres::PgRow;
use sqlx::Row;

pub(crate) fn user(r: &PgRow) -> Result<User, StoreError> {
    Ok(User {
        user_uuid: UserId(r.get("id")),
        email: Email::from_stored(r.get("email")),
        holder_did: r.get("holder_did"),
        created_at: r.get("created_at"),
    })
}

pub(crate) fn consent(r: &PgRow) -> Result<Consent, StoreError> {
    let status: String = r.get("status");
    Ok(Consent {
        user_uuid: UserId(r.get("user_id")),
        email: Email::from_stored(r.get("email")),
        partner_id: PartnerId(r.get("partner_id")),
        status: ConsentStatus::from_stored(&status)?,
        updated_at: r.get("updated_at"),
    })
}

pub(crate) const CONSENT_SELECT: &str =
    "SELECT c.user_id, u.email, c.partner_id, c.status, c.updated_at \
     FROM consents c JOIN users u ON u.id = c.user_id";

#[async_trait]
impl UserStore for PgStore {
    async fn set_consent(&self, d: ConsentDraft, at: DateTime<Utc>) -> Result<Consent, StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let consent = commit::set_consent(&mut PgTx::new(&mut tx), &d, at).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(consent)
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.find(
            "SELECT id, email, holder_did, created_at FROM users WHERE email = $1",
            email.as_str(),
            user,
        )
        .await
    }

    // The transaction's read, on a pooled connection.
    async fn consent_status(
        &self,
        user: UserId,
        partner: PartnerId,
    ) -> Result<Option<ConsentStatus>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        PgTx::new(&mut conn).consent(user, partner).await
    }

    async fn list_users(&self, page: PageRequest) -> Result<Page<User>, StoreError> {
        self.page(
            "SELECT id, email, holder_did, created_at FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2",
            "SELECT COUNT(*) FROM users",
            page,
            user,
        )
        .await
    }

    async fn list_consents(&self, page: PageRequest) -> Result<Page<Consent>, StoreError> {
        self.page(
            &format!("{CONSENT_SELECT} ORDER BY c.updated_at, c.user_id, c.partner_id LIMIT $1 OFFSET $2"),
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
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Several instances may start at once: the first takes the step, the others wait here
        // and then find it done.
        sqlx::query("LOCK TABLE data_steps IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let done: Option<i32> = sqlx::query_scalar("SELECT 1 FROM data_steps WHERE name = $1")
            .bind(EMAIL_RENORMALISATION_STEP)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.is_some() {
            return Ok(Vec::new());
        }
        let users: Vec<(UserId, String)> = sqlx::query_as::<_, (uuid::Uuid, String)>(
            "SELECT id, email FROM users ORDER BY created_at, id",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?
        .into_iter()
        .map(|(id, email)| (UserId(id), email))
        .collect();
        let mut conflicts = Vec::new();
        for step in plan_email_renormalisation(&users) {
            match step {
                EmailRenormalisation::Rewrite { user, email } => {
                    sqlx::query("UPDATE users SET email = $1 WHERE id = $2")
                        .bind(email.as_str())
                        .bind(user.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                EmailRenormalisation::Conflict(c) => {
                    sqlx::query(
                        "INSERT INTO email_conflicts \
                         (user_id, stored_email, normalised_email, other_user_id, reason, detected_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO NOTHING",
                    )
                    .bind(c.user_uuid.0)
                    .bind(&c.stored)
                    .bind(c.normalised.as_ref().map(Email::as_str))
                    .bind(c.other_user_uuid.map(|u| u.0))
                    .bind(&c.reason)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    conflicts.push(c);
                }
            }
        }
        sqlx::query("INSERT INTO data_steps (name, done_at) VALUES ($1, $2)")
            .bind(EMAIL_RENORMALISATION_STEP)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(conflicts)
    }

    async fn email_conflicts(&self) -> Result<Vec<EmailConflict>, StoreError> {
        let rows: Vec<(
            uuid::Uuid,
            String,
            Option<String>,
            Option<uuid::Uuid>,
            String,
        )> = sqlx::query_as(
            "SELECT c.user_id, c.stored_email, c.normalised_email, c.other_user_id, c.reason \
                 FROM email_conflicts c JOIN users u ON u.id = c.user_id \
                 ORDER BY u.created_at, c.user_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|(user, stored, normalised, other, reason)| EmailConflict {
                user_uuid: UserId(user),
                stored,
                normalised: normalised.map(Email::from_stored),
                other_user_uuid: other.map(UserId),
                reason,
            })
            .collect())
    }
}
