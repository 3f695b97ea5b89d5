//! [`PublicationView`] on SQLite: confirmed states as proofs and operators read them.

use crate::publishing::{fr, published};
use crate::rows::{decode_all, map_err, time};
use crate::SqliteStore;
use async_trait::async_trait;
use claimd_core::store::{
    PublicationView, PublishedState, PublishingOverview, StoreError, TransitionSummary,
};
use claimd_core::IssuerId;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

const SUMMARY_SELECT: &str = "SELECT t.id, t.status, t.new_state, t.tx_hash, t.tx_nonce, \
     t.block_number, t.failure, t.created_at, t.updated_at, \
     t.claim_count AS claims, t.revocation_count AS revocations FROM transitions t";

fn summary(r: &SqliteRow) -> Result<TransitionSummary, StoreError> {
    let nonce: Option<i64> = r.get("tx_nonce");
    let block: Option<i64> = r.get("block_number");
    let claims: i64 = r.get("claims");
    let revocations: i64 = r.get("revocations");
    Ok(TransitionSummary {
        id: r.get("id"),
        status: r.get("status"),
        new_state: fr(r.get("new_state"))?,
        tx_hash: r.get("tx_hash"),
        tx_nonce: nonce.map(|n| n as u64),
        block_number: block.map(|b| b as u64),
        failure: r.get("failure"),
        claims: claims as u64,
        revocations: revocations as u64,
        created_at: time(r.get("created_at"))?,
        updated_at: time(r.get("updated_at"))?,
    })
}

#[async_trait]
impl PublicationView for SqliteStore {
    async fn claim_publication(
        &self,
        core_claim_hash: &str,
    ) -> Result<Option<PublishedState>, StoreError> {
        self.find(
            "SELECT t.new_state, t.claims_root, t.revocation_root, t.roots_root, t.tx_hash, \
             t.block_number, t.block_timestamp FROM credentials c \
             JOIN transitions t ON t.id = c.claim_transition \
             WHERE c.core_claim_hash = ? AND t.status = 'CONFIRMED'",
            core_claim_hash,
            published,
        )
        .await
    }

    async fn publishing_overview(
        &self,
        issuer: IssuerId,
        recent: u32,
    ) -> Result<PublishingOverview, StoreError> {
        let id = issuer.to_string();
        let latest = sqlx::query(
            "SELECT new_state, claims_root, revocation_root, roots_root, tx_hash, block_number, \
             block_timestamp FROM transitions WHERE issuer_id = ? AND status = 'CONFIRMED' \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(&id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let transitions = decode_all(
            sqlx::query(&format!(
                "{SUMMARY_SELECT} WHERE t.issuer_id = ? ORDER BY t.id DESC LIMIT ?"
            ))
            .bind(&id)
            .bind(i64::from(recent))
            .fetch_all(&self.pool)
            .await,
            summary,
        )?;
        let in_flight = self
            .find(
                &format!(
                    "{SUMMARY_SELECT} WHERE t.issuer_id = ? AND t.status IN ('COMPUTED', 'SIGNED')"
                ),
                &id,
                summary,
            )
            .await?;
        let counts = sqlx::query(
            "SELECT \
             (SELECT COUNT(*) FROM credentials WHERE issuer_id = ? AND claim_transition IS NULL) AS claims, \
             (SELECT COUNT(*) FROM credentials WHERE issuer_id = ? AND status = 'WAIT_REMOVE' \
              AND revocation_transition IS NULL) AS revocations",
        )
        .bind(&id)
        .bind(&id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let claims: i64 = counts.get("claims");
        let revocations: i64 = counts.get("revocations");
        Ok(PublishingOverview {
            published: latest.as_ref().map(published).transpose()?,
            in_flight,
            pending_claims: claims as u64,
            pending_revocations: revocations as u64,
            recent: transitions,
        })
    }
}
