//! [`UserStore`] on SQLite: users by normalised email, and consent records.

use crate::rows::{map_err, ms, time, uuid};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::Utc;
use claimd_core::page::{Page, PageRequest};
use claimd_core::store::{StoreError, UserStore};
use claimd_core::user::{Consent, ConsentDraft, ConsentStatus, Email, User};
use claimd_core::{PartnerId, UserId};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

fn user(r: &SqliteRow) -> Result<User, StoreError> {
    Ok(User {
        user_uuid: UserId(uuid(r.get("id"))?),
        email: Email::from_stored(r.get("email")),
        holder_did: r.get("holder_did"),
        created_at: time(r.get("created_at"))?,
    })
}

fn consent(r: &SqliteRow) -> Result<Consent, StoreError> {
    let status: String = r.get("status");
    Ok(Consent {
        user_uuid: UserId(uuid(r.get("user_id"))?),
        email: Email::from_stored(r.get("email")),
        partner_id: PartnerId(uuid(r.get("partner_id"))?),
        status: ConsentStatus::parse(&status)
            .ok_or_else(|| StoreError::Internal(format!("bad consent status {status:?}")))?,
        updated_at: time(r.get("updated_at"))?,
    })
}

const CONSENT_SELECT: &str = "SELECT c.user_id, u.email, c.partner_id, c.status, c.updated_at \
     FROM consents c JOIN users u ON u.id = c.user_id";

#[async_trait]
impl UserStore for SqliteStore {
    async fn set_consent(&self, d: ConsentDraft) -> Result<Consent, StoreError> {
        let now = ms(Utc::now());
        // BEGIN IMMEDIATE: a read that later writes would otherwise fail at once ("database is
        // locked") when the group committer or the publisher holds the write lock.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)?;
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM partners WHERE id = ?")
            .bind(d.partner_id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        if known.is_none() {
            return Err(StoreError::NotFound("partner"));
        }
        sqlx::query(
            "INSERT INTO users (id, email, created_at) VALUES (?, ?, ?) ON CONFLICT (email) DO NOTHING",
        )
        .bind(UserId::new_random().to_string())
        .bind(d.email.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let user_id: String = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
            .bind(d.email.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO consents (user_id, partner_id, status, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (user_id, partner_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind(&user_id)
        .bind(d.partner_id.to_string())
        .bind(d.status.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let row = sqlx::query(&format!(
            "{CONSENT_SELECT} WHERE c.user_id = ? AND c.partner_id = ?"
        ))
        .bind(&user_id)
        .bind(d.partner_id.to_string())
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        consent(&row)
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        sqlx::query("SELECT id, email, holder_did, created_at FROM users WHERE email = ?")
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
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM consents WHERE user_id = ? AND partner_id = ?")
                .bind(user.to_string())
                .bind(partner.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(status.as_deref().and_then(ConsentStatus::parse))
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
}
