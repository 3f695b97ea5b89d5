//! [`WebhookStore`] on PostgreSQL, and the outbox writes ([`record_events`]) that the credential
//! and publishing transactions make, so an event commits with the change that causes it.

use crate::rows::{decode_all, decode_opt, map_err, total};
use crate::PgStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_core::credential::CredentialStatus;
use claimd_core::store::StoreError;
use claimd_core::webhook::{
    new_event_id, AttemptOutcome, AttemptRecord, DeliveryBacklog, DeliveryState, DeliveryView,
    EndpointChanges, EndpointRecord, EventData, EventType, LeasedDelivery, Replay, WebhookEndpoint,
    WebhookEvent, WebhookStore,
};
use claimd_core::{PartnerId, UserId, WebhookEndpointId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use std::time::Duration;

/// The most events one replay-since queues (operators page through longer outages by time).
const MAX_REPLAY: i64 = 10_000;

/// Serialises leasing across instances, so the per-endpoint cap holds with several workers.
const LEASE_LOCK: i64 = 0x7765_6268_6f6f_6b73; // "webhooks"

/// The `core_claim_hash` column of a query with one bound id.
pub(crate) async fn hashes(
    conn: &mut PgConnection,
    sql: &str,
    id: i64,
) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)
}

/// The outbox: writes one `event` per credential, with the credential's facts as they are now
/// in this transaction, and a pending delivery for every enabled endpoint of its partner that
/// subscribes to it. Runs inside the caller's transaction.
pub(crate) async fn record_events(
    conn: &mut PgConnection,
    hashes: &[String],
    event: EventType,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if hashes.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = hashes.iter().map(|_| new_event_id()).collect();
    let seqs: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO webhook_events (event_id, partner_id, event_type, core_claim_hash, \
         credential_id, issuer_did, user_id, vc_status, tx_hash, block_number, occurred_at) \
         SELECT x.id, c.partner_id, $1, c.core_claim_hash, c.program_id, i.did, c.user_id, \
         coalesce($5, c.status), c.tx_hash, c.block_number, $2 \
         FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS x(hash, id, n) \
         JOIN credentials c ON c.core_claim_hash = x.hash JOIN issuers i ON i.id = c.issuer_id \
         ORDER BY x.n RETURNING seq",
    )
    .bind(event.as_str())
    .bind(at)
    .bind(hashes)
    .bind(&ids)
    .bind(event.reported_status())
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    sqlx::query(
        "INSERT INTO webhook_deliveries (endpoint_id, event_seq, core_claim_hash, state, attempts, \
         next_attempt_at, created_at, updated_at) \
         SELECT e.id, ev.seq, ev.core_claim_hash, 'PENDING', 0, $1, $1, $1 \
         FROM webhook_events ev JOIN webhook_endpoints e ON e.partner_id = ev.partner_id \
         WHERE ev.seq = ANY($2) AND e.enabled AND (e.event_mask & $3) <> 0 ORDER BY ev.seq, e.id",
    )
    .bind(at)
    .bind(&seqs)
    .bind(event.bit())
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

const EVENT_COLS: &str = "ev.seq, ev.event_id, ev.partner_id, ev.event_type, ev.core_claim_hash, \
    ev.credential_id, ev.issuer_did, ev.user_id, ev.vc_status, ev.tx_hash, ev.block_number, \
    ev.occurred_at";

fn event(r: &PgRow) -> Result<WebhookEvent, StoreError> {
    let kind: String = r.get("event_type");
    let block: Option<i64> = r.get("block_number");
    Ok(WebhookEvent {
        seq: r.get("seq"),
        event_id: r.get("event_id"),
        partner_id: PartnerId(r.get("partner_id")),
        event_type: EventType::from_stored(&kind)?,
        occurred_at: r.get("occurred_at"),
        data: EventData {
            core_claim_hash: r.get("core_claim_hash"),
            credential_id: r.get("credential_id"),
            issuer_did: r.get("issuer_did"),
            user_uuid: UserId(r.get("user_id")),
            vc_status: r.get("vc_status"),
            tx_hash: r.get("tx_hash"),
            block_number: block.map(|b| b as u64),
        },
    })
}

const ENDPOINT_COLS: &str =
    "id, partner_id, url, event_mask, enabled, previous_until, created_at, updated_at";

fn endpoint(r: &PgRow) -> Result<WebhookEndpoint, StoreError> {
    Ok(WebhookEndpoint {
        endpoint_id: WebhookEndpointId(r.get("id")),
        partner_id: PartnerId(r.get("partner_id")),
        url: r.get("url"),
        event_types: EventType::from_mask(r.get("event_mask")),
        enabled: r.get("enabled"),
        previous_secret_expires_at: r.get("previous_until"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    })
}

fn attempt(r: &PgRow) -> Result<AttemptRecord, StoreError> {
    let status: Option<i32> = r.get("status_code");
    let duration: i64 = r.get("duration_ms");
    Ok(AttemptRecord {
        at: r.get("at"),
        status_code: status.map(|s| s as u16),
        error: r.get("error"),
        response: r.get("response"),
        duration_ms: total(duration),
    })
}

fn leased(r: &PgRow) -> Result<LeasedDelivery, StoreError> {
    let attempts: i32 = r.get("attempts");
    let previous: Option<Vec<u8>> = r.get("previous_secret");
    let until: Option<DateTime<Utc>> = r.get("previous_until");
    Ok(LeasedDelivery {
        delivery_id: r.get("delivery_id"),
        endpoint_id: WebhookEndpointId(r.get("endpoint_id")),
        url: r.get("url"),
        secret: r.get("secret"),
        previous_secret: previous.zip(until),
        attempts: attempts as u32,
        created_at: r.get("delivery_created_at"),
        event: event(r)?,
    })
}

impl PgStore {
    async fn endpoint_where(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        decode_opt(
            sqlx::query(&format!(
                "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE id = $1 AND partner_id = $2"
            ))
            .bind(id.0)
            .bind(partner.0)
            .fetch_optional(&self.pool)
            .await,
            endpoint,
        )
    }

    /// Runs `update`, an `UPDATE webhook_endpoints` whose last two parameters (not bound yet)
    /// are the endpoint's id and its partner's: the endpoint as it is now.
    async fn update_endpoint<'q>(
        &self,
        update: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
        partner: PartnerId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        update
            .bind(id.0)
            .bind(partner.0)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        self.endpoint_where(partner, id).await
    }
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn create_webhook_endpoint(
        &self,
        r: EndpointRecord,
    ) -> Result<WebhookEndpoint, StoreError> {
        let partner: Option<i32> = sqlx::query_scalar("SELECT 1 FROM partners WHERE id = $1")
            .bind(r.partner_id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        if partner.is_none() {
            return Err(StoreError::NotFound("partner"));
        }
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, partner_id, url, event_mask, enabled, secret, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(r.endpoint_id.0)
        .bind(r.partner_id.0)
        .bind(&r.url)
        .bind(EventType::mask(&r.event_types))
        .bind(r.enabled)
        .bind(&r.secret)
        .bind(r.at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        self.endpoint_where(r.partner_id, r.endpoint_id)
            .await?
            .ok_or(StoreError::Internal(
                "endpoint vanished after insert".into(),
            ))
    }

    async fn webhook_endpoint(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        self.endpoint_where(partner, id).await
    }

    async fn list_webhook_endpoints(
        &self,
        partner: PartnerId,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.find_all(
            &format!(
                "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE partner_id = $1 \
                 ORDER BY created_at, id"
            ),
            partner.0,
            endpoint,
        )
        .await
    }

    async fn update_webhook_endpoint(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
        c: &EndpointChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let update = sqlx::query(
            "UPDATE webhook_endpoints SET url = coalesce($1, url), \
             event_mask = coalesce($2, event_mask), enabled = coalesce($3, enabled), updated_at = $4 \
             WHERE id = $5 AND partner_id = $6",
        )
        .bind(&c.url)
        .bind(c.event_types.as_deref().map(EventType::mask))
        .bind(c.enabled)
        .bind(at);
        self.update_endpoint(update, partner, id).await
    }

    async fn delete_webhook_endpoint(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND partner_id = $2")
            .bind(id.0)
            .bind(partner.0)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn rotate_webhook_secret(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
        secret: Vec<u8>,
        previous_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let update = sqlx::query(
            "UPDATE webhook_endpoints SET previous_secret = secret, previous_until = $1, \
             secret = $2, updated_at = $3 WHERE id = $4 AND partner_id = $5",
        )
        .bind(previous_until)
        .bind(secret)
        .bind(at);
        self.update_endpoint(update, partner, id).await
    }

    async fn partner_events(
        &self,
        partner: PartnerId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Option<Vec<WebhookEvent>>, StoreError> {
        let after = match after {
            None => 0,
            Some(id) => {
                let seq: Option<i64> = sqlx::query_scalar(
                    "SELECT seq FROM webhook_events WHERE event_id = $1 AND partner_id = $2",
                )
                .bind(id)
                .bind(partner.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                match seq {
                    Some(s) => s,
                    None => return Ok(None),
                }
            }
        };
        // Sequence numbers are taken at insert, not at commit: a transaction still running may
        // hold a lower one than an event already visible. Listing only events written by
        // transactions older than every running one keeps the cursor from skipping it.
        decode_all(
            sqlx::query(&format!(
                "SELECT {EVENT_COLS} FROM webhook_events ev WHERE ev.partner_id = $1 AND ev.seq > $2 \
                 AND ev.txid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY ev.seq LIMIT $3"
            ))
            .bind(partner.0)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await,
            event,
        )
        .map(Some)
    }

    async fn credential_events(
        &self,
        core_claim_hash: &str,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        decode_all(
            sqlx::query(&format!(
                "SELECT {EVENT_COLS} FROM webhook_events ev WHERE ev.core_claim_hash = $1 \
                 ORDER BY ev.seq LIMIT $2"
            ))
            .bind(core_claim_hash)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await,
            event,
        )
    }

    async fn lease_webhook_deliveries(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
        per_endpoint: u32,
        limit: u32,
    ) -> Result<Vec<LeasedDelivery>, StoreError> {
        let until = claimd_core::webhook::later(now, ttl);
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LEASE_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2 WHERE id IN ( \
               SELECT id FROM ( \
                 SELECT d.id, d.endpoint_id, \
                        ROW_NUMBER() OVER (PARTITION BY d.endpoint_id ORDER BY d.id) AS rn \
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                 WHERE d.state = 'PENDING' AND e.enabled AND d.next_attempt_at <= $3 \
                   AND (d.lease_until IS NULL OR d.lease_until <= $3) \
                   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
                     WHERE p.endpoint_id = d.endpoint_id AND p.core_claim_hash = d.core_claim_hash \
                       AND p.state = 'PENDING' AND p.id < d.id) \
               ) x \
               WHERE x.rn + (SELECT count(*) FROM webhook_deliveries l \
                   WHERE l.endpoint_id = x.endpoint_id AND l.state = 'PENDING' AND l.lease_until > $3) <= $4 \
               ORDER BY x.id LIMIT $5) \
             RETURNING id",
        )
        .bind(owner)
        .bind(until)
        .bind(now)
        .bind(i64::from(per_endpoint))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = decode_all(
            sqlx::query(&format!(
                "SELECT d.id AS delivery_id, d.endpoint_id, d.attempts, \
                 d.created_at AS delivery_created_at, e.url, e.secret, e.previous_secret, \
                 e.previous_until, {EVENT_COLS} \
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                 JOIN webhook_events ev ON ev.seq = d.event_seq WHERE d.id = ANY($1) ORDER BY d.id"
            ))
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await,
            leased,
        )?;
        tx.commit().await.map_err(map_err)?;
        Ok(rows)
    }

    async fn finish_webhook_attempt(
        &self,
        delivery: i64,
        owner: &str,
        a: &AttemptRecord,
        outcome: AttemptOutcome,
    ) -> Result<bool, StoreError> {
        let (state, next) = match outcome {
            AttemptOutcome::Delivered => (DeliveryState::Delivered, None),
            AttemptOutcome::Retry { at } => (DeliveryState::Pending, Some(at)),
            AttemptOutcome::Dead => (DeliveryState::Dead, None),
        };
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let number: Option<i32> = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, state = $1, \
             next_attempt_at = coalesce($2, next_attempt_at), lease_owner = NULL, lease_until = NULL, \
             updated_at = $3 WHERE id = $4 AND lease_owner = $5 RETURNING attempts",
        )
        .bind(state.as_str())
        .bind(next)
        .bind(a.at)
        .bind(delivery)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(number) = number else {
            return Ok(false);
        };
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, response, \
             duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(delivery)
        .bind(number)
        .bind(a.at)
        .bind(a.status_code.map(i32::from))
        .bind(&a.error)
        .bind(&a.response)
        .bind(i64::try_from(a.duration_ms).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn webhook_deliveries(
        &self,
        partner: PartnerId,
        endpoint: WebhookEndpointId,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Vec<DeliveryView>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.state, d.next_attempt_at, d.created_at, d.core_claim_hash, \
             ev.event_id, ev.event_type FROM webhook_deliveries d \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             JOIN webhook_events ev ON ev.seq = d.event_seq \
             WHERE e.partner_id = $1 AND d.endpoint_id = $2 AND ($3::text IS NULL OR d.state = $3) \
             ORDER BY d.id DESC LIMIT $4",
        )
        .bind(partner.0)
        .bind(endpoint.0)
        .bind(state.map(DeliveryState::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.get("id");
            let state: String = r.get("state");
            let state = DeliveryState::from_stored(&state)?;
            let kind: String = r.get("event_type");
            let attempts = self
                .find_all(
                    "SELECT * FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt",
                    id,
                    attempt,
                )
                .await?;
            out.push(DeliveryView {
                delivery_id: id,
                endpoint_id: endpoint,
                event_id: r.get("event_id"),
                event_type: EventType::from_stored(&kind)?,
                core_claim_hash: r.get("core_claim_hash"),
                state,
                next_attempt_at: (state == DeliveryState::Pending)
                    .then(|| r.get("next_attempt_at")),
                created_at: r.get("created_at"),
                attempts,
            });
        }
        Ok(out)
    }

    async fn replay_webhook_events(
        &self,
        partner: PartnerId,
        endpoint: WebhookEndpointId,
        which: &Replay,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let filter = match which {
            Replay::Event(_) => "ev.event_id = $4",
            Replay::Since(_) => "ev.occurred_at >= $4",
        };
        let sql = format!(
            "INSERT INTO webhook_deliveries (endpoint_id, event_seq, core_claim_hash, state, \
             attempts, next_attempt_at, created_at, updated_at) \
             SELECT e.id, ev.seq, ev.core_claim_hash, 'PENDING', 0, $1, $1, $1 \
             FROM webhook_events ev JOIN webhook_endpoints e ON e.partner_id = ev.partner_id \
             WHERE e.id = $2 AND ev.partner_id = $3 AND {filter} ORDER BY ev.seq LIMIT {MAX_REPLAY}"
        );
        let q = sqlx::query(&sql).bind(at).bind(endpoint.0).bind(partner.0);
        let q = match which {
            Replay::Event(id) => q.bind(id.clone()),
            Replay::Since(t) => q.bind(*t),
        };
        let done = q.execute(&self.pool).await.map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn record_expiry_events(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let [live1, live2] = CredentialStatus::LIVE;
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // SKIP LOCKED: instances sweeping at once take different credentials.
        let hashes: Vec<String> = sqlx::query_scalar(
            "UPDATE credentials SET expiry_evented = true WHERE core_claim_hash IN \
             (SELECT core_claim_hash FROM credentials WHERE NOT expiry_evented \
              AND expiration_date IS NOT NULL AND expiration_date <= $1 AND status IN ($2, $3) \
              ORDER BY expiration_date LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING core_claim_hash",
        )
        .bind(now)
        .bind(live1.as_str())
        .bind(live2.as_str())
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        record_events(&mut tx, &hashes, EventType::Expired, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(hashes.len() as u64)
    }

    async fn webhook_backlog(&self) -> Result<DeliveryBacklog, StoreError> {
        let r = sqlx::query(
            "SELECT (SELECT count(*) FROM webhook_deliveries WHERE state = 'PENDING') AS pending, \
             (SELECT min(created_at) FROM webhook_deliveries WHERE state = 'PENDING') AS oldest, \
             (SELECT count(*) FROM webhook_deliveries WHERE state = 'DEAD') AS dead",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(DeliveryBacklog {
            pending: total(r.get("pending")),
            oldest_pending: r.get("oldest"),
            dead: total(r.get("dead")),
        })
    }
}
