//! [`PublishStore`] on PostgreSQL: tree nodes, transitions and publisher leases. Several
//! instances may publish against one database: the lease row gives each issuer one publisher,
//! and the in-flight unique index and guarded updates make a lost race a `Conflict`.

use crate::rows::{decode_all, map_err};
use crate::PgStore;
use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use claimd_core::store::{
    Confirmation, IdentityRoots, InFlightTransition, PendingClaim, PendingRevocation, PendingWork,
    PublishBacklog, PublishStore, PublishedState, StoreError, TransitionDraft, TransitionRecord,
    TransitionStatus, TransitionTx,
};
use claimd_core::webhook::EventType;
use claimd_core::IssuerId;
use claimd_iden3::merkletree::Node;
use claimd_iden3::Fr;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

pub(crate) fn fr(s: &str) -> Result<Fr, StoreError> {
    Fr::from_le_hex(s).map_err(|e| StoreError::Internal(format!("bad field element {s:?}: {e}")))
}

fn roots(r: &PgRow, prefix: &str, state: &str) -> Result<Option<IdentityRoots>, StoreError> {
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

fn new_roots(r: &PgRow) -> Result<IdentityRoots, StoreError> {
    roots(r, "", "new_state")?
        .ok_or_else(|| StoreError::Internal("transition without new state".into()))
}

/// A confirmed transition row as [`PublishedState`].
pub(crate) fn published(r: &PgRow) -> Result<PublishedState, StoreError> {
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

/// Columns of a [`TransitionRecord`], with the numbers of credentials it carries.
/// (Fixed when it is computed: migration 20261207000016.)
const RECORD_COLUMNS: &str = "t.*, t.claim_count AS n_claims, t.revocation_count AS n_revocations";

/// Every attempt of a transition, oldest first.
async fn attempts(conn: &mut PgConnection, id: i64) -> Result<Vec<TransitionTx>, StoreError> {
    let rows = sqlx::query(
        "SELECT nonce, tx_hash, raw_tx, recorded_at FROM transition_txs \
         WHERE transition_id = $1 ORDER BY attempt",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await;
    decode_all(rows, |r| {
        let nonce: i64 = r.get("nonce");
        Ok(TransitionTx {
            nonce: nonce as u64,
            tx_hash: r.get("tx_hash"),
            raw: r.get("raw_tx"),
            recorded_at: r.get("recorded_at"),
        })
    })
}

fn status(r: &PgRow) -> Result<TransitionStatus, StoreError> {
    let s: String = r.get("status");
    TransitionStatus::parse(&s)
        .ok_or_else(|| StoreError::Internal(format!("unknown transition status {s:?}")))
}

/// A row selected with [`RECORD_COLUMNS`] as [`TransitionRecord`].
async fn record(conn: &mut PgConnection, r: &PgRow) -> Result<TransitionRecord, StoreError> {
    let id: i64 = r.get("id");
    let status = status(r)?;
    let confirmation = if status == TransitionStatus::Confirmed {
        let block: Option<i64> = r.get("block_number");
        let timestamp: Option<i64> = r.get("block_timestamp");
        Some(Confirmation {
            tx_hash: r.get::<Option<String>, _>("tx_hash").unwrap_or_default(),
            block_number: block.unwrap_or(0) as u64,
            block_timestamp: timestamp.unwrap_or(0) as u64,
        })
    } else {
        None
    };
    let claims: i64 = r.get("n_claims");
    let revocations: i64 = r.get("n_revocations");
    Ok(TransitionRecord {
        id,
        issuer_id: IssuerId(r.get("issuer_id")),
        status,
        old: roots(r, "old_", "old_state")?,
        new: new_roots(r)?,
        computed_at: r.get("created_at"),
        txs: attempts(conn, id).await?,
        confirmation,
        failure: r.get("failure"),
        claims: claims as u64,
        revocations: revocations as u64,
    })
}

/// Marks transition `id` confirmed if its status is one of `from`, and its credentials
/// `ONCHAIN` / `REMOVE`; `None` if it was not in one of those statuses.
async fn confirm_in(
    conn: &mut PgConnection,
    id: i64,
    at: &Confirmation,
    from: &str,
) -> Result<Option<u64>, StoreError> {
    let tx_hash = at.tx_hash.as_str();
    let timestamp = block(at.block_timestamp)?;
    let now = Utc::now();
    let block = block(at.block_number)?;
    let state: Option<String> = sqlx::query_scalar(&format!(
        "UPDATE transitions SET status = 'CONFIRMED', tx_hash = $1, block_number = $2, updated_at = $3, \
         block_timestamp = $5, failure = NULL WHERE id = $4 AND status IN ({from}) RETURNING new_state"
    ))
    .bind(tx_hash)
    .bind(block)
    .bind(now)
    .bind(id)
    .bind(timestamp)
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_err)?;
    let Some(state) = state else {
        return Ok(None);
    };
    // Which credentials change, for their events (written below, in this transaction).
    let onchain = crate::webhooks::hashes(
        conn,
        "SELECT core_claim_hash FROM credentials WHERE claim_transition = $1 AND status = 'WAIT_ONCHAIN'",
        id,
    )
    .await?;
    let removed = crate::webhooks::hashes(
        conn,
        "SELECT core_claim_hash FROM credentials WHERE revocation_transition = $1 AND status = 'WAIT_REMOVE'",
        id,
    )
    .await?;
    // Claims become ONCHAIN, revocations REMOVE; both name the transaction and the state.
    let mut changed = 0;
    for update in [
        "UPDATE credentials SET status = CASE WHEN status = 'WAIT_ONCHAIN' THEN 'ONCHAIN' ELSE status END, \
         tx_hash = $1, block_number = $2, identity_state = $3, updated_at = $4 WHERE claim_transition = $5",
        "UPDATE credentials SET status = 'REMOVE', tx_hash = $1, block_number = $2, identity_state = $3, \
         updated_at = $4 WHERE revocation_transition = $5 AND status = 'WAIT_REMOVE'",
    ] {
        changed += sqlx::query(update)
            .bind(tx_hash)
            .bind(block)
            .bind(&state)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?
            .rows_affected();
    }
    crate::webhooks::record_events(conn, &onchain, EventType::Onchain, now).await?;
    crate::webhooks::record_events(conn, &removed, EventType::Removed, now).await?;
    Ok(Some(changed))
}

/// Closes in-flight transition `id` as abandoned and gives its credentials back to pending;
/// `false` if it was not in flight.
async fn abandon_in(conn: &mut PgConnection, id: i64, reason: &str) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE transitions SET status = 'ABANDONED', failure = $1, updated_at = $2 \
         WHERE id = $3 AND status IN ('COMPUTED', 'SIGNED')",
    )
    .bind(reason)
    .bind(Utc::now())
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    for release in [
        "UPDATE credentials SET claim_transition = NULL WHERE claim_transition = $1",
        "UPDATE credentials SET revocation_transition = NULL WHERE revocation_transition = $1",
    ] {
        sqlx::query(release)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    Ok(true)
}

/// Writes tree nodes in one statement of arrays, however many there are. Nodes are
/// content-addressed, so one already stored (or listed twice) is simply skipped.
async fn insert_nodes(conn: &mut PgConnection, nodes: &[(Fr, Node)]) -> Result<(), StoreError> {
    if nodes.is_empty() {
        return Ok(());
    }
    let mut hashes = Vec::with_capacity(nodes.len());
    let mut leaves = Vec::with_capacity(nodes.len());
    let mut lefts = Vec::with_capacity(nodes.len());
    let mut rights = Vec::with_capacity(nodes.len());
    for (hash, node) in nodes {
        let (leaf, a, b) = match *node {
            Node::Leaf { key, value } => (true, key, value),
            Node::Middle { left, right } => (false, left, right),
        };
        hashes.push(hash.to_le_hex());
        leaves.push(leaf);
        lefts.push(a.to_le_hex());
        rights.push(b.to_le_hex());
    }
    sqlx::query(
        "INSERT INTO tree_nodes (hash, leaf, a, b) \
         SELECT * FROM UNNEST($1::text[], $2::bool[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(&hashes)
    .bind(&leaves)
    .bind(&lefts)
    .bind(&rights)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl PublishStore for PgStore {
    async fn tree_node(&self, hash: Fr) -> Result<Option<Node>, StoreError> {
        let row = sqlx::query("SELECT leaf, a, b FROM tree_nodes WHERE hash = $1")
            .bind(hash.to_le_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let leaf: bool = row.get("leaf");
        let a = fr(row.get("a"))?;
        let b = fr(row.get("b"))?;
        let node = if leaf {
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
        sqlx::query_scalar(
            "SELECT DISTINCT issuer_id FROM credentials WHERE claim_transition IS NULL \
             UNION SELECT DISTINCT issuer_id FROM credentials \
                   WHERE status = 'WAIT_REMOVE' AND revocation_transition IS NULL \
             UNION SELECT issuer_id FROM transitions WHERE status IN ('COMPUTED', 'SIGNED')",
        )
        .fetch_all(&self.pool)
        .await
        .map(|ids: Vec<uuid::Uuid>| ids.into_iter().map(IssuerId).collect())
        .map_err(map_err)
    }

    async fn acquire_publisher_lease(
        &self,
        issuer: IssuerId,
        owner: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let holder: Option<String> = sqlx::query_scalar(
            "INSERT INTO publisher_leases (issuer_id, owner, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3)) \
             ON CONFLICT (issuer_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
             WHERE publisher_leases.owner = excluded.owner OR publisher_leases.expires_at < now() \
             RETURNING owner",
        )
        .bind(issuer.0)
        .bind(owner)
        .bind(ttl.as_secs_f64())
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
             FROM transitions WHERE issuer_id = $1 AND status = 'CONFIRMED' ORDER BY id DESC LIMIT 1",
        )
        .bind(issuer.0)
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
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let row = sqlx::query(
            "SELECT * FROM transitions WHERE issuer_id = $1 AND status IN ('COMPUTED', 'SIGNED')",
        )
        .bind(issuer.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.get("id");
        Ok(Some(InFlightTransition {
            id,
            issuer_id: issuer,
            old: roots(&row, "old_", "old_state")?,
            new: new_roots(&row)?,
            computed_at: row.get("created_at"),
            txs: attempts(&mut conn, id).await?,
        }))
    }

    async fn pending_work(&self, issuer: IssuerId, limit: u32) -> Result<PendingWork, StoreError> {
        let claims = sqlx::query(
            "SELECT core_claim_hash, core_claim FROM credentials \
             WHERE issuer_id = $1 AND claim_transition IS NULL ORDER BY created_at, core_claim_hash LIMIT $2",
        )
        .bind(issuer.0)
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
             WHERE issuer_id = $1 AND status = 'WAIT_REMOVE' AND revocation_transition IS NULL \
             ORDER BY updated_at, core_claim_hash LIMIT $2",
        )
        .bind(issuer.0)
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
        let now = Utc::now();
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_nodes(&mut tx, &d.nodes).await?;
        let hex = |f: Option<Fr>| f.map(|f| f.to_le_hex());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO transitions (issuer_id, status, old_state, old_claims_root, old_revocation_root, \
             old_roots_root, new_state, claims_root, revocation_root, roots_root, claim_count, \
             revocation_count, created_at, updated_at) \
             VALUES ($1, 'COMPUTED', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(d.issuer_id.0)
        .bind(hex(d.old.map(|o| o.state)))
        .bind(hex(d.old.map(|o| o.claims_root)))
        .bind(hex(d.old.map(|o| o.revocation_root)))
        .bind(hex(d.old.map(|o| o.roots_root)))
        .bind(d.new.state.to_le_hex())
        .bind(d.new.claims_root.to_le_hex())
        .bind(d.new.revocation_root.to_le_hex())
        .bind(d.new.roots_root.to_le_hex())
        .bind(d.claims.len() as i64)
        .bind(d.revocations.len() as i64)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        // Each credential is taken by exactly one transition: the update must find all of them
        // pending, or the whole transition is refused.
        let parts = [
            (
                &d.claims,
                "CLAIM",
                "claim",
                "UPDATE credentials SET claim_transition = $1 \
                 WHERE issuer_id = $2 AND claim_transition IS NULL AND core_claim_hash = ANY($3)",
            ),
            (
                &d.revocations,
                "REVOCATION",
                "revocation",
                "UPDATE credentials SET revocation_transition = $1 WHERE issuer_id = $2 \
                 AND status = 'WAIT_REMOVE' AND revocation_transition IS NULL AND core_claim_hash = ANY($3)",
            ),
        ];
        for (hashes, kind, what, take) in parts {
            if hashes.is_empty() {
                continue;
            }
            let done = sqlx::query(take)
                .bind(id)
                .bind(d.issuer_id.0)
                .bind(hashes)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            if done.rows_affected() != hashes.len() as u64 {
                return Err(StoreError::Conflict(format!(
                    "a {what} of transition {id}'s batch is not pending"
                )));
            }
            sqlx::query(
                "INSERT INTO transition_credentials (transition_id, kind, core_claim_hash) \
                 SELECT $1, $2, UNNEST($3::text[])",
            )
            .bind(id)
            .bind(kind)
            .bind(hashes)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(id)
    }

    async fn record_transition_tx(
        &self,
        id: i64,
        t: TransitionTx,
        owner: &str,
    ) -> Result<(), StoreError> {
        let nonce = i64::try_from(t.nonce)
            .map_err(|_| StoreError::Internal(format!("nonce {} too large", t.nonce)))?;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // The row lock serialises attempts of one transition; the lease is read with the
        // database's clock, the one that granted it.
        let lease: Option<Option<String>> = sqlx::query_scalar(
            "SELECT l.owner FROM transitions t LEFT JOIN publisher_leases l \
             ON l.issuer_id = t.issuer_id AND l.owner = $1 AND l.expires_at > now() \
             WHERE t.id = $2 AND t.status IN ('COMPUTED', 'SIGNED') FOR UPDATE OF t",
        )
        .bind(owner)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        match lease {
            None => return Err(StoreError::NotFound("transition in flight")),
            Some(None) => {
                return Err(StoreError::Conflict(format!(
                    "{owner} does not hold the publisher lease of transition {id}'s issuer"
                )))
            }
            Some(Some(_)) => {}
        }
        let earlier = attempts(&mut tx, id).await?;
        if earlier.iter().any(|a| a.tx_hash == t.tx_hash) {
            // The same signed bytes again (signing is deterministic): already recorded.
            return Ok(());
        }
        if let Some(first) = earlier.first() {
            if first.nonce != t.nonce {
                return Err(StoreError::Conflict(format!(
                    "transition {id} was signed with nonce {}, not {}",
                    first.nonce, t.nonce
                )));
            }
        }
        sqlx::query(
            "INSERT INTO transition_txs (transition_id, attempt, nonce, tx_hash, raw_tx, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(earlier.len() as i32)
        .bind(nonce)
        .bind(&t.tx_hash)
        .bind(&t.raw)
        .bind(t.recorded_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "UPDATE transitions SET status = 'SIGNED', tx_nonce = $1, tx_hash = $2, raw_tx = $3, updated_at = $4 \
             WHERE id = $5",
        )
        .bind(nonce)
        .bind(&t.tx_hash)
        .bind(&t.raw)
        .bind(Utc::now())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    async fn confirm_transition(&self, id: i64, at: &Confirmation) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let changed = confirm_in(&mut tx, id, at, "'COMPUTED', 'SIGNED'")
            .await?
            .ok_or(StoreError::NotFound("transition in flight"))?;
        tx.commit().await.map_err(map_err)?;
        Ok(changed)
    }

    async fn abandon_transition(&self, id: i64, reason: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        if !abandon_in(&mut tx, id, reason).await? {
            return Err(StoreError::NotFound("transition in flight"));
        }
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    async fn adopt_transition(&self, id: i64, at: &Confirmation) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let row = sqlx::query(
            "SELECT issuer_id, old_state FROM transitions WHERE id = $1 AND status <> 'CONFIRMED' FOR UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or(StoreError::NotFound("transition to adopt"))?;
        let issuer: uuid::Uuid = row.get("issuer_id");
        let old: Option<String> = row.get("old_state");
        let latest: Option<String> = sqlx::query_scalar(
            "SELECT new_state FROM transitions WHERE issuer_id = $1 AND status = 'CONFIRMED' \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(issuer)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if old != latest {
            return Err(StoreError::Conflict(format!(
                "transition {id} does not start from the issuer's latest confirmed state"
            )));
        }
        let others: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM transitions WHERE issuer_id = $1 AND id <> $2 AND status IN ('COMPUTED', 'SIGNED') FOR UPDATE",
        )
        .bind(issuer)
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        for other in others {
            let reason = format!("superseded: the chain recorded transition {id}");
            abandon_in(&mut tx, other, &reason).await?;
        }
        // Give the transition back exactly its credentials (a no-op if it was in flight).
        for (kind, column, pending) in [
            ("CLAIM", "claim_transition", ""),
            (
                "REVOCATION",
                "revocation_transition",
                " AND status = 'WAIT_REMOVE'",
            ),
        ] {
            let members: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM transition_credentials WHERE transition_id = $1 AND kind = $2",
            )
            .bind(id)
            .bind(kind)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
            let linked = sqlx::query(&format!(
                "UPDATE credentials SET {column} = $1 WHERE core_claim_hash IN \
                 (SELECT core_claim_hash FROM transition_credentials WHERE transition_id = $1 AND kind = $2) \
                 AND ({column} IS NULL OR {column} = $1){pending}"
            ))
            .bind(id)
            .bind(kind)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            if linked.rows_affected() != members as u64 {
                return Err(StoreError::Conflict(format!(
                    "a credential of transition {id} was taken by another transition"
                )));
            }
        }
        let changed = confirm_in(&mut tx, id, at, "'COMPUTED', 'SIGNED', 'ABANDONED'")
            .await?
            .ok_or(StoreError::NotFound("transition to adopt"))?;
        tx.commit().await.map_err(map_err)?;
        Ok(changed)
    }

    async fn transition_by_new_state(
        &self,
        issuer: IssuerId,
        state: Fr,
    ) -> Result<Option<TransitionRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let row = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM transitions t WHERE t.issuer_id = $1 AND t.new_state = $2 \
             ORDER BY t.status IN ('COMPUTED', 'SIGNED') DESC, t.id DESC LIMIT 1"
        ))
        .bind(issuer.0)
        .bind(state.to_le_hex())
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?;
        match row {
            Some(row) => Ok(Some(record(&mut conn, &row).await?)),
            None => Ok(None),
        }
    }

    async fn transitions(
        &self,
        issuer: IssuerId,
        limit: u32,
    ) -> Result<Vec<TransitionRecord>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let rows = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM transitions t WHERE t.issuer_id = $1 ORDER BY t.id DESC LIMIT $2"
        ))
        .bind(issuer.0)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(record(&mut conn, row).await?);
        }
        Ok(out)
    }

    async fn publish_backlog(&self) -> Result<PublishBacklog, StoreError> {
        let row = sqlx::query(
            "SELECT \
               (SELECT count(*) FROM credentials WHERE claim_transition IS NULL) AS claims, \
               (SELECT count(*) FROM credentials WHERE status = 'WAIT_REMOVE' AND revocation_transition IS NULL) AS revocations, \
               (SELECT count(*) FROM transitions WHERE status IN ('COMPUTED', 'SIGNED')) AS in_flight, \
               (SELECT min(created_at) FROM credentials WHERE claim_transition IS NULL) AS oldest_claim, \
               (SELECT min(updated_at) FROM credentials WHERE status = 'WAIT_REMOVE' AND revocation_transition IS NULL) AS oldest_revocation",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let count = |c: &str| -> u64 { row.get::<i64, _>(c) as u64 };
        let oldest = [
            row.get::<Option<DateTime<Utc>>, _>("oldest_claim"),
            row.get::<Option<DateTime<Utc>>, _>("oldest_revocation"),
        ]
        .into_iter()
        .flatten()
        .min();
        Ok(PublishBacklog {
            pending_claims: count("claims"),
            pending_revocations: count("revocations"),
            in_flight: count("in_flight"),
            oldest_pending: oldest,
        })
    }
}
