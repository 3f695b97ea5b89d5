//! [`PublishStore`] on SQLite: tree nodes, transitions and publisher leases. SQLite has one
//! writer, so every multi-row step is one `BEGIN IMMEDIATE` transaction.

use crate::rows::{map_err, ms, uuid};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::Utc;
use claimd_core::store::{
    Confirmation, IdentityRoots, InFlightTransition, PendingClaim, PendingRevocation, PendingWork,
    PublishStore, PublishedState, StoreError, TransitionDraft, TransitionTx,
};
use claimd_core::IssuerId;
use claimd_iden3::merkletree::Node;
use claimd_iden3::Fr;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

pub(crate) fn fr(s: &str) -> Result<Fr, StoreError> {
    Fr::from_le_hex(s).map_err(|e| StoreError::Internal(format!("bad field element {s:?}: {e}")))
}

fn roots(r: &SqliteRow, prefix: &str, state: &str) -> Result<Option<IdentityRoots>, StoreError> {
    let state: Option<String> = r.get(state);
    let Some(state) = state else { return Ok(None) };
    let col = |name: &str| -> Result<Fr, StoreError> {
        let v: Option<String> = r.get(format!("{prefix}{name}").as_str());
        fr(&v.ok_or_else(|| StoreError::Internal(format!("transition without {name}")))?)
    };
    Ok(Some(IdentityRoots {
        claims_root: col("claims_root")?,
        revocation_root: col("revocation_root")?,
        roots_root: col("roots_root")?,
        state: fr(&state)?,
    }))
}

fn new_roots(r: &SqliteRow) -> Result<IdentityRoots, StoreError> {
    roots(r, "", "new_state")?
        .ok_or_else(|| StoreError::Internal("transition without new state".into()))
}

/// A confirmed transition row as [`PublishedState`].
pub(crate) fn published(r: &SqliteRow) -> Result<PublishedState, StoreError> {
    let block: i64 = r.get("block_number");
    // Rows confirmed before timestamps were recorded read 0.
    let timestamp: Option<i64> = r.get("block_timestamp");
    Ok(PublishedState {
        roots: new_roots(r)?,
        tx_hash: r.get("tx_hash"),
        block_number: block as u64,
        block_timestamp: timestamp.unwrap_or(0) as u64,
    })
}

fn block(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Internal(format!("block number {n} too large")))
}

#[async_trait]
impl PublishStore for SqliteStore {
    async fn tree_node(&self, hash: Fr) -> Result<Option<Node>, StoreError> {
        let row = sqlx::query("SELECT leaf, a, b FROM tree_nodes WHERE hash = ?")
            .bind(hash.to_le_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let leaf: i64 = row.get("leaf");
        let a = fr(row.get("a"))?;
        let b = fr(row.get("b"))?;
        let node = if leaf == 1 {
            Node::Leaf { key: a, value: b }
        } else {
            Node::Middle { left: a, right: b }
        };
        if node.hash() != hash {
            return Err(StoreError::Internal(format!(
                "tree node {} does not hash to its address",
                hash.to_le_hex()
            )));
        }
        Ok(Some(node))
    }

    async fn issuers_to_publish(&self) -> Result<Vec<IssuerId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT issuer_id FROM credentials WHERE claim_transition IS NULL \
             UNION SELECT DISTINCT issuer_id FROM credentials \
                   WHERE status = 'WAIT_REMOVE' AND revocation_transition IS NULL \
             UNION SELECT issuer_id FROM transitions WHERE status IN ('COMPUTED', 'SIGNED')",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        ids.iter().map(|s| Ok(IssuerId(uuid(s)?))).collect()
    }

    async fn acquire_publisher_lease(
        &self,
        issuer: IssuerId,
        owner: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let now = ms(Utc::now());
        let until = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let holder: Option<String> = sqlx::query_scalar(
            "INSERT INTO publisher_leases (issuer_id, owner, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (issuer_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
             WHERE publisher_leases.owner = excluded.owner OR publisher_leases.expires_at < ? \
             RETURNING owner",
        )
        .bind(issuer.to_string())
        .bind(owner)
        .bind(until)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(holder.as_deref() == Some(owner))
    }

    async fn published_state(
        &self,
        issuer: IssuerId,
    ) -> Result<Option<PublishedState>, StoreError> {
        let row = sqlx::query(
            "SELECT new_state, claims_root, revocation_root, roots_root, tx_hash, block_number, block_timestamp \
             FROM transitions WHERE issuer_id = ? AND status = 'CONFIRMED' ORDER BY id DESC LIMIT 1",
        )
        .bind(issuer.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(published(&row)?))
    }

    async fn in_flight_transition(
        &self,
        issuer: IssuerId,
    ) -> Result<Option<InFlightTransition>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM transitions WHERE issuer_id = ? AND status IN ('COMPUTED', 'SIGNED')",
        )
        .bind(issuer.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let nonce: Option<i64> = row.get("tx_nonce");
        let hash: Option<String> = row.get("tx_hash");
        let raw: Option<Vec<u8>> = row.get("raw_tx");
        let tx = match (nonce, hash, raw) {
            (Some(nonce), Some(tx_hash), Some(raw)) => Some(TransitionTx {
                nonce: nonce as u64,
                tx_hash,
                raw,
            }),
            _ => None,
        };
        Ok(Some(InFlightTransition {
            id: row.get("id"),
            issuer_id: issuer,
            old: roots(&row, "old_", "old_state")?,
            new: new_roots(&row)?,
            tx,
        }))
    }

    async fn pending_work(&self, issuer: IssuerId, limit: u32) -> Result<PendingWork, StoreError> {
        let claims = sqlx::query(
            "SELECT core_claim_hash, core_claim FROM credentials \
             WHERE issuer_id = ? AND claim_transition IS NULL ORDER BY created_at, core_claim_hash LIMIT ?",
        )
        .bind(issuer.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| PendingClaim {
            core_claim_hash: r.get("core_claim_hash"),
            core_claim: r.get("core_claim"),
        })
        .collect();
        let revocations = sqlx::query(
            "SELECT core_claim_hash, revocation_nonce FROM credentials \
             WHERE issuer_id = ? AND status = 'WAIT_REMOVE' AND revocation_transition IS NULL \
             ORDER BY updated_at, core_claim_hash LIMIT ?",
        )
        .bind(issuer.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| {
            let nonce: i64 = r.get("revocation_nonce");
            PendingRevocation {
                core_claim_hash: r.get("core_claim_hash"),
                revocation_nonce: nonce as u64,
            }
        })
        .collect();
        Ok(PendingWork {
            claims,
            revocations,
        })
    }

    async fn begin_transition(&self, d: TransitionDraft) -> Result<i64, StoreError> {
        let now = ms(Utc::now());
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)?;
        for (hash, node) in &d.nodes {
            let (leaf, a, b) = match *node {
                Node::Leaf { key, value } => (1i64, key, value),
                Node::Middle { left, right } => (0i64, left, right),
            };
            sqlx::query(
                "INSERT INTO tree_nodes (hash, leaf, a, b) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(hash.to_le_hex())
            .bind(leaf)
            .bind(a.to_le_hex())
            .bind(b.to_le_hex())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        let hex = |f: Option<Fr>| f.map(|f| f.to_le_hex());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO transitions (issuer_id, status, old_state, old_claims_root, old_revocation_root, \
             old_roots_root, new_state, claims_root, revocation_root, roots_root, created_at, updated_at) \
             VALUES (?, 'COMPUTED', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(d.issuer_id.to_string())
        .bind(hex(d.old.map(|o| o.state)))
        .bind(hex(d.old.map(|o| o.claims_root)))
        .bind(hex(d.old.map(|o| o.revocation_root)))
        .bind(hex(d.old.map(|o| o.roots_root)))
        .bind(d.new.state.to_le_hex())
        .bind(d.new.claims_root.to_le_hex())
        .bind(d.new.revocation_root.to_le_hex())
        .bind(d.new.roots_root.to_le_hex())
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        for hash in &d.claims {
            let done = sqlx::query(
                "UPDATE credentials SET claim_transition = ? \
                 WHERE core_claim_hash = ? AND issuer_id = ? AND claim_transition IS NULL",
            )
            .bind(id)
            .bind(hash)
            .bind(d.issuer_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!(
                    "claim of {hash} is not pending"
                )));
            }
        }
        for hash in &d.revocations {
            let done = sqlx::query(
                "UPDATE credentials SET revocation_transition = ? WHERE core_claim_hash = ? \
                 AND issuer_id = ? AND status = 'WAIT_REMOVE' AND revocation_transition IS NULL",
            )
            .bind(id)
            .bind(hash)
            .bind(d.issuer_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!(
                    "revocation of {hash} is not pending"
                )));
            }
        }
        tx.commit().await.map_err(map_err)?;
        Ok(id)
    }

    async fn record_transition_tx(&self, id: i64, t: TransitionTx) -> Result<(), StoreError> {
        let nonce = i64::try_from(t.nonce)
            .map_err(|_| StoreError::Internal(format!("nonce {} too large", t.nonce)))?;
        let done = sqlx::query(
            "UPDATE transitions SET status = 'SIGNED', tx_nonce = ?, tx_hash = ?, raw_tx = ?, updated_at = ? \
             WHERE id = ? AND status IN ('COMPUTED', 'SIGNED')",
        )
        .bind(nonce)
        .bind(&t.tx_hash)
        .bind(&t.raw)
        .bind(ms(Utc::now()))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("transition in flight"));
        }
        Ok(())
    }

    async fn confirm_transition(&self, id: i64, at: &Confirmation) -> Result<u64, StoreError> {
        let tx_hash = at.tx_hash.as_str();
        let timestamp = block(at.block_timestamp)?;
        let now = ms(Utc::now());
        let block = block(at.block_number)?;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)?;
        let state: Option<String> = sqlx::query_scalar(
            "UPDATE transitions SET status = 'CONFIRMED', tx_hash = ?, block_number = ?, block_timestamp = ?, updated_at = ? \
             WHERE id = ? AND status IN ('COMPUTED', 'SIGNED') RETURNING new_state",
        )
        .bind(tx_hash)
        .bind(block)
        .bind(timestamp)
        .bind(now)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(state) = state else {
            return Err(StoreError::NotFound("transition in flight"));
        };
        let claims = sqlx::query(
            "UPDATE credentials SET status = CASE WHEN status = 'WAIT_ONCHAIN' THEN 'ONCHAIN' ELSE status END, \
             tx_hash = ?, block_number = ?, identity_state = ?, updated_at = ? WHERE claim_transition = ?",
        )
        .bind(tx_hash)
        .bind(block)
        .bind(&state)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let revoked = sqlx::query(
            "UPDATE credentials SET status = 'REMOVE', tx_hash = ?, block_number = ?, identity_state = ?, \
             updated_at = ? WHERE revocation_transition = ? AND status = 'WAIT_REMOVE'",
        )
        .bind(tx_hash)
        .bind(block)
        .bind(&state)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(claims.rows_affected() + revoked.rows_affected())
    }

    async fn abandon_transition(&self, id: i64, reason: &str) -> Result<(), StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)?;
        let done = sqlx::query(
            "UPDATE transitions SET status = 'ABANDONED', failure = ?, updated_at = ? \
             WHERE id = ? AND status IN ('COMPUTED', 'SIGNED')",
        )
        .bind(reason)
        .bind(ms(Utc::now()))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("transition in flight"));
        }
        sqlx::query("UPDATE credentials SET claim_transition = NULL WHERE claim_transition = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "UPDATE credentials SET revocation_transition = NULL WHERE revocation_transition = ?",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }
}
