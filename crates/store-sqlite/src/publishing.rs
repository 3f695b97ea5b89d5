//! [`PublishStore`] on SQLite: tree nodes, transitions and publisher leases. SQLite has one
//! writer, so every multi-row step is one `BEGIN IMMEDIATE` transaction.

use crate::rows::{decode_all, map_err, ms, time, uuid};
use crate::tx::{placeholders, Writer};
use crate::SqliteStore;
use async_trait::async_trait;
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
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

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

/// Columns of a [`TransitionRecord`], with the numbers of credentials it carries.
/// (Fixed when it is computed: migration 20261207000016.)
const RECORD_COLUMNS: &str = "t.*, t.claim_count AS n_claims, t.revocation_count AS n_revocations";

/// Every attempt of a transition, oldest first.
async fn attempts(conn: &mut SqliteConnection, id: i64) -> Result<Vec<TransitionTx>, StoreError> {
    let rows = sqlx::query(
        "SELECT nonce, tx_hash, raw_tx, recorded_at FROM transition_txs \
         WHERE transition_id = ? ORDER BY attempt",
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
            recorded_at: time(r.get("recorded_at"))?,
        })
    })
}

fn status(r: &SqliteRow) -> Result<TransitionStatus, StoreError> {
    let s: String = r.get("status");
    TransitionStatus::parse(&s)
        .ok_or_else(|| StoreError::Internal(format!("unknown transition status {s:?}")))
}

/// A row selected with [`RECORD_COLUMNS`] as [`TransitionRecord`].
async fn record(
    conn: &mut SqliteConnection,
    r: &SqliteRow,
) -> Result<TransitionRecord, StoreError> {
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
    let issuer: String = r.get("issuer_id");
    let claims: i64 = r.get("n_claims");
    let revocations: i64 = r.get("n_revocations");
    Ok(TransitionRecord {
        id,
        issuer_id: IssuerId(uuid(&issuer)?),
        status,
        old: roots(r, "old_", "old_state")?,
        new: new_roots(r)?,
        computed_at: time(r.get("created_at"))?,
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
    conn: &mut SqliteConnection,
    id: i64,
    at: &Confirmation,
    from: &str,
) -> Result<Option<u64>, StoreError> {
    let tx_hash = at.tx_hash.as_str();
    let timestamp = block(at.block_timestamp)?;
    let now = ms(Utc::now());
    let block = block(at.block_number)?;
    let state: Option<String> = sqlx::query_scalar(&format!(
        "UPDATE transitions SET status = 'CONFIRMED', tx_hash = ?, block_number = ?, block_timestamp = ?, \
         failure = NULL, updated_at = ? WHERE id = ? AND status IN ({from}) RETURNING new_state"
    ))
    .bind(tx_hash)
    .bind(block)
    .bind(timestamp)
    .bind(now)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_err)?;
    let Some(state) = state else {
        return Ok(None);
    };
    // Which credentials change, for their events (written below, in this transaction).
    let onchain = crate::webhooks::hashes(
        conn,
        "SELECT core_claim_hash FROM credentials WHERE claim_transition = ? AND status = 'WAIT_ONCHAIN'",
        id,
    )
    .await?;
    let removed = crate::webhooks::hashes(
        conn,
        "SELECT core_claim_hash FROM credentials WHERE revocation_transition = ? AND status = 'WAIT_REMOVE'",
        id,
    )
    .await?;
    // Claims become ONCHAIN, revocations REMOVE; both name the transaction and the state.
    let mut changed = 0;
    for update in [
        "UPDATE credentials SET status = CASE WHEN status = 'WAIT_ONCHAIN' THEN 'ONCHAIN' ELSE status END, \
         tx_hash = ?, block_number = ?, identity_state = ?, updated_at = ? WHERE claim_transition = ?",
        "UPDATE credentials SET status = 'REMOVE', tx_hash = ?, block_number = ?, identity_state = ?, \
         updated_at = ? WHERE revocation_transition = ? AND status = 'WAIT_REMOVE'",
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
    let at = time(now)?;
    crate::webhooks::record_events(conn, &onchain, EventType::Onchain, at).await?;
    crate::webhooks::record_events(conn, &removed, EventType::Removed, at).await?;
    Ok(Some(changed))
}

/// Closes in-flight transition `id` as abandoned and gives its credentials back to pending;
/// `false` if it was not in flight.
async fn abandon_in(
    conn: &mut SqliteConnection,
    id: i64,
    reason: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE transitions SET status = 'ABANDONED', failure = ?, updated_at = ? \
         WHERE id = ? AND status IN ('COMPUTED', 'SIGNED')",
    )
    .bind(reason)
    .bind(ms(Utc::now()))
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    for release in [
        "UPDATE credentials SET claim_transition = NULL WHERE claim_transition = ?",
        "UPDATE credentials SET revocation_transition = NULL WHERE revocation_transition = ?",
    ] {
        sqlx::query(release)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    Ok(true)
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
        let _turn = self.writes.turn().await;
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
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let row = sqlx::query(
            "SELECT * FROM transitions WHERE issuer_id = ? AND status IN ('COMPUTED', 'SIGNED')",
        )
        .bind(issuer.to_string())
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
            computed_at: time(row.get("created_at"))?,
            txs: attempts(&mut conn, id).await?,
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
        insert_nodes(&self.writer, &d.nodes).await?;
        let now = ms(Utc::now());
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let hex = |f: Option<Fr>| f.map(|f| f.to_le_hex());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO transitions (issuer_id, status, old_state, old_claims_root, old_revocation_root, \
             old_roots_root, new_state, claims_root, revocation_root, roots_root, claim_count, \
             revocation_count, created_at, updated_at) \
             VALUES (?, 'COMPUTED', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
        .bind(d.claims.len() as i64)
        .bind(d.revocations.len() as i64)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        // Each credential is taken by exactly one transition: every update must find its
        // credentials pending, or the whole transition is refused.
        let parts = [
            (
                &d.claims,
                "CLAIM",
                "claim",
                "UPDATE credentials SET claim_transition = ? \
                 WHERE issuer_id = ? AND claim_transition IS NULL AND core_claim_hash IN",
            ),
            (
                &d.revocations,
                "REVOCATION",
                "revocation",
                "UPDATE credentials SET revocation_transition = ? WHERE issuer_id = ? \
                 AND status = 'WAIT_REMOVE' AND revocation_transition IS NULL AND core_claim_hash IN",
            ),
        ];
        let issuer = d.issuer_id.to_string();
        for (hashes, kind, what, take) in parts {
            for chunk in hashes.chunks(ROWS_PER_STATEMENT) {
                let sql = format!("{take} ({})", placeholders(chunk.len()));
                let mut q = sqlx::query(&sql).bind(id).bind(&issuer);
                for hash in chunk {
                    q = q.bind(hash);
                }
                let done = q.execute(&mut *tx).await.map_err(map_err)?;
                if done.rows_affected() != chunk.len() as u64 {
                    return Err(StoreError::Conflict(format!(
                        "a {what} of transition {id}'s batch is not pending"
                    )));
                }
                let sql = format!(
                    "INSERT INTO transition_credentials (transition_id, kind, core_claim_hash) VALUES {}",
                    vec!["(?, ?, ?)"; chunk.len()].join(", ")
                );
                let mut q = sqlx::query(&sql);
                for hash in chunk {
                    q = q.bind(id).bind(kind).bind(hash);
                }
                q.execute(&mut *tx).await.map_err(map_err)?;
            }
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
        let now = ms(Utc::now());
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let lease: Option<Option<String>> = sqlx::query_scalar(
            "SELECT l.owner FROM transitions t LEFT JOIN publisher_leases l \
             ON l.issuer_id = t.issuer_id AND l.owner = ? AND l.expires_at > ? \
             WHERE t.id = ? AND t.status IN ('COMPUTED', 'SIGNED')",
        )
        .bind(owner)
        .bind(now)
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
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(earlier.len() as i64)
        .bind(nonce)
        .bind(&t.tx_hash)
        .bind(&t.raw)
        .bind(ms(t.recorded_at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "UPDATE transitions SET status = 'SIGNED', tx_nonce = ?, tx_hash = ?, raw_tx = ?, updated_at = ? \
             WHERE id = ?",
        )
        .bind(nonce)
        .bind(&t.tx_hash)
        .bind(&t.raw)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    async fn confirm_transition(&self, id: i64, at: &Confirmation) -> Result<u64, StoreError> {
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let changed = confirm_in(&mut tx, id, at, "'COMPUTED', 'SIGNED'")
            .await?
            .ok_or(StoreError::NotFound("transition in flight"))?;
        tx.commit().await.map_err(map_err)?;
        Ok(changed)
    }

    async fn abandon_transition(&self, id: i64, reason: &str) -> Result<(), StoreError> {
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        if !abandon_in(&mut tx, id, reason).await? {
            return Err(StoreError::NotFound("transition in flight"));
        }
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    async fn adopt_transition(&self, id: i64, at: &Confirmation) -> Result<u64, StoreError> {
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let row = sqlx::query(
            "SELECT issuer_id, status, old_state FROM transitions WHERE id = ? AND status <> 'CONFIRMED'",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or(StoreError::NotFound("transition to adopt"))?;
        let issuer: String = row.get("issuer_id");
        let old: Option<String> = row.get("old_state");
        let latest: Option<String> = sqlx::query_scalar(
            "SELECT new_state FROM transitions WHERE issuer_id = ? AND status = 'CONFIRMED' \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(&issuer)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if old != latest {
            return Err(StoreError::Conflict(format!(
                "transition {id} does not start from the issuer's latest confirmed state"
            )));
        }
        let others: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM transitions WHERE issuer_id = ? AND id <> ? AND status IN ('COMPUTED', 'SIGNED')",
        )
        .bind(&issuer)
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
                "SELECT count(*) FROM transition_credentials WHERE transition_id = ? AND kind = ?",
            )
            .bind(id)
            .bind(kind)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
            let linked = sqlx::query(&format!(
                "UPDATE credentials SET {column} = ? WHERE core_claim_hash IN \
                 (SELECT core_claim_hash FROM transition_credentials WHERE transition_id = ? AND kind = ?) \
                 AND ({column} IS NULL OR {column} = ?){pending}"
            ))
            .bind(id)
            .bind(id)
            .bind(kind)
            .bind(id)
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
            "SELECT {RECORD_COLUMNS} FROM transitions t WHERE t.issuer_id = ? AND t.new_state = ? \
             ORDER BY t.status IN ('COMPUTED', 'SIGNED') DESC, t.id DESC LIMIT 1"
        ))
        .bind(issuer.to_string())
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
            "SELECT {RECORD_COLUMNS} FROM transitions t WHERE t.issuer_id = ? ORDER BY t.id DESC LIMIT ?"
        ))
        .bind(issuer.to_string())
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
            row.get::<Option<i64>, _>("oldest_claim"),
            row.get::<Option<i64>, _>("oldest_revocation"),
        ]
        .into_iter()
        .flatten()
        .min();
        Ok(PublishBacklog {
            pending_claims: count("claims"),
            pending_revocations: count("revocations"),
            in_flight: count("in_flight"),
            oldest_pending: oldest.map(time).transpose()?,
        })
    }
}

/// Rows per multi-row statement: well under SQLite's limit of bound values (32,766) with four
/// values a row, and big enough that a transition of thousands of nodes is a few statements.
const ROWS_PER_STATEMENT: usize = 1000;

/// Writes tree nodes on the write connection, one multi-row statement per transaction. Nodes
/// are content-addressed, so one already stored (or listed twice) is simply skipped; and they
/// are immutable, so nodes written ahead of a transition that is then refused are harmless.
/// A transaction per chunk, each in its turn among the writers, lets the group committer
/// commit between chunks instead of waiting for tens of thousands of rows.
async fn insert_nodes(writer: &Writer, nodes: &[(Fr, Node)]) -> Result<(), StoreError> {
    for chunk in nodes.chunks(ROWS_PER_STATEMENT) {
        let chunk = chunk.to_vec();
        writer
            .transaction(move |tx, _| {
                let sql = format!(
                    "INSERT INTO tree_nodes (hash, leaf, a, b) VALUES {} ON CONFLICT DO NOTHING",
                    vec!["(?, ?, ?, ?)"; chunk.len()].join(", ")
                );
                let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(chunk.len() * 4);
                for (hash, node) in &chunk {
                    let (leaf, a, b) = match *node {
                        Node::Leaf { key, value } => (1i64, key, value),
                        Node::Middle { left, right } => (0i64, left, right),
                    };
                    values.extend([
                        hash.to_le_hex().into(),
                        leaf.into(),
                        a.to_le_hex().into(),
                        b.to_le_hex().into(),
                    ]);
                }
                tx.execute_all(&sql, values)
            })
            .await?;
    }
    Ok(())
}
