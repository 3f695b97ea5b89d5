//! [`UserStore`] on PostgreSQL: users by normalised email, and consent records (recorded by
//! core's [`commit::set_consent`] on a transaction).

use crate::rows::map_err;
use crate::tx::PgTx;
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_core::commit;
use claimd_core::page::{Page, PageRequest};
use claimd_core::store::{StoreError, UserStore};
use claimd_core::user::{Consent, ConsentDraft, ConsentStatus, Email, User};
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
        let consent = commit::set_consent(&mut PgTx(&mut tx), &d, at).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(consent)
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        sqlx::query("SELECT id, email, holder_did, created_at FROM users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(user)
            .transpose()
    }

    async fn consent_status(
        &self,
        user: UserId,
        partner: PartnerId,
    ) -> Result<Option<ConsentStatus>, StoreError> {
        let status: Option<String> = sqlx::query_scalar(
            "SELECT status FROM consents WHERE user_id = $1 AND partner_id = $2",
        )
        .bind(user.0)
        .bind(partner.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        status
            .as_deref()
            .map(ConsentStatus::from_stored)
            .transpose()
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
}
