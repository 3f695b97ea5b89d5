//! [`WebhookStore`] on SQLite, and the outbox writes ([`record_events`]) that the credential
//! and publishing transactions make, so an event commits with the change that causes it.

use crate::rows::{decode_all, decode_opt, map_err, ms, opt_time, time, total, uuid};
use crate::tx::placeholders;
use crate::SqliteStore;
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
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use std::time::Duration;

/// The most events one replay-since queues (operators page through longer outages by time).
const MAX_REPLAY: i64 = 10_000;

/// The `core_claim_hash` column of a query with one bound id.
pub(crate) async fn hashes(
    conn: &mut SqliteConnection,
    sql: &str,
    id: i64,
) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)
}

/// The last event's `seq` (0 without events): the deliveries queued after the inserts are the
/// ones of events past it.
pub(crate) const LAST_EVENT_SEQ: &str = "SELECT coalesce(max(seq), 0) FROM webhook_events";

/// Events from credentials' rows as they are now, `rows` of them. Binds: the event type, the
/// reported status (NULL: the credential's own), when it occurred, then an (event id, core
/// claim hash) pair per event.
pub(crate) fn insert_events(rows: usize) -> String {
    format!(
        "INSERT INTO webhook_events (event_id, partner_id, event_type, core_claim_hash, \
         credential_id, issuer_did, user_id, vc_status, tx_hash, block_number, occurred_at) \
         SELECT v.column1, c.partner_id, ?, c.core_claim_hash, c.program_id, i.did, c.user_id, \
         coalesce(?, c.status), c.tx_hash, c.block_number, ? \
         FROM (VALUES {}) v JOIN credentials c ON c.core_claim_hash = v.column2 \
         JOIN issuers i ON i.id = c.issuer_id",
        vec!["(?, ?)"; rows].join(", ")
    )
}

/// Events per multi-row statement (two bound values each).
const EVENTS_PER_STATEMENT: usize = 1000;

/// The outbox: a delivery for every enabled endpoint subscribed to the event, of every event
/// past a `seq`. Binds: next attempt, created, updated, the `seq`, the event's bit.
pub(crate) const QUEUE_DELIVERIES: &str =
    "INSERT INTO webhook_deliveries (endpoint_id, event_seq, core_claim_hash, state, attempts, \
     next_attempt_at, created_at, updated_at) \
     SELECT e.id, ev.seq, ev.core_claim_hash, 'PENDING', 0, ?, ?, ? \
     FROM webhook_events ev JOIN webhook_endpoints e ON e.partner_id = ev.partner_id \
     WHERE ev.seq > ? AND e.enabled = 1 AND (e.event_mask & ?) <> 0 ORDER BY ev.seq, e.id";

/// The outbox: writes one `event` per credential, with the credential's facts as they are now
/// in this transaction, and a pending delivery for every enabled endpoint of its partner that
/// subscribes to it. Runs inside the caller's (write-locked) transaction.
pub(crate) async fn record_events(
    conn: &mut SqliteConnection,
    hashes: &[String],
    event: EventType,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if hashes.is_empty() {
        return Ok(());
    }
    // The transaction holds SQLite's one write lock: no other event can appear meanwhile.
    let before: i64 = sqlx::query_scalar(LAST_EVENT_SEQ)
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    for chunk in hashes.chunks(EVENTS_PER_STATEMENT) {
        let sql = insert_events(chunk.len());
        let mut q = sqlx::query(&sql)
            .bind(event.as_str())
            .bind(event.reported_status())
            .bind(ms(at));
        for hash in chunk {
            q = q.bind(new_event_id()).bind(hash);
        }
        q.execute(&mut *conn).await.map_err(map_err)?;
    }
    sqlx::query(QUEUE_DELIVERIES)
        .bind(ms(at))
        .bind(ms(at))
        .bind(ms(at))
        .bind(before)
        .bind(event.bit())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

const EVENT_COLS: &str = "ev.seq, ev.event_id, ev.partner_id, ev.event_type, ev.core_claim_hash, \
    ev.credential_id, ev.issuer_did, ev.user_id, ev.vc_status, ev.tx_hash, ev.block_number, \
    ev.occurred_at";

fn event(r: &SqliteRow) -> Result<WebhookEvent, StoreError> {
    let partner: String = r.get("partner_id");
    let user: String = r.get("user_id");
    let kind: String = r.get("event_type");
    let block: Option<i64> = r.get("block_number");
    Ok(WebhookEvent {
        seq: r.get("seq"),
        event_id: r.get("event_id"),
        partner_id: PartnerId(uuid(&partner)?),
        event_type: EventType::from_stored(&kind)?,
        occurred_at: time(r.get("occurred_at"))?,
        data: EventData {
            core_claim_hash: r.get("core_claim_hash"),
            credential_id: r.get("credential_id"),
            issuer_did: r.get("issuer_did"),
            user_uuid: UserId(uuid(&user)?),
            vc_status: r.get("vc_status"),
            tx_hash: r.get("tx_hash"),
            block_number: block.map(|b| b as u64),
        },
    })
}

const ENDPOINT_COLS: &str =
    "id, partner_id, url, event_mask, enabled, previous_until, created_at, updated_at";

fn endpoint(r: &SqliteRow) -> Result<WebhookEndpoint, StoreError> {
    let id: String = r.get("id");
    let partner: String = r.get("partner_id");
    let enabled: i64 = r.get("enabled");
    Ok(WebhookEndpoint {
        endpoint_id: WebhookEndpointId(uuid(&id)?),
        partner_id: PartnerId(uuid(&partner)?),
        url: r.get("url"),
        event_types: EventType::from_mask(r.get("event_mask")),
        enabled: enabled != 0,
        previous_secret_expires_at: opt_time(r.get("previous_until"))?,
        created_at: time(r.get("created_at"))?,
        updated_at: time(r.get("updated_at"))?,
    })
}

fn attempt(r: &SqliteRow) -> Result<AttemptRecord, StoreError> {
    let status: Option<i64> = r.get("status_code");
    let duration: i64 = r.get("duration_ms");
    Ok(AttemptRecord {
        at: time(r.get("at"))?,
        status_code: status.map(|s| s as u16),
        error: r.get("error"),
        response: r.get("response"),
        duration_ms: total(duration),
    })
}

fn leased(r: &SqliteRow) -> Result<LeasedDelivery, StoreError> {
    let endpoint: String = r.get("endpoint_id");
    let attempts: i64 = r.get("attempts");
    let previous: Option<Vec<u8>> = r.get("previous_secret");
    let until = opt_time(r.get("previous_until"))?;
    Ok(LeasedDelivery {
        delivery_id: r.get("delivery_id"),
        endpoint_id: WebhookEndpointId(uuid(&endpoint)?),
        url: r.get("url"),
        secret: r.get("secret"),
        previous_secret: previous.zip(until),
        attempts: attempts as u32,
        created_at: time(r.get("delivery_created_at"))?,
        event: event(r)?,
    })
}

impl SqliteStore {
    async fn endpoint_where(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        decode_opt(
            sqlx::query(&format!(
                "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE id = ? AND partner_id = ?"
            ))
            .bind(id.to_string())
            .bind(partner.to_string())
            .fetch_optional(&self.pool)
            .await,
            endpoint,
        )
    }

    /// Runs `update`, an `UPDATE webhook_endpoints` whose last two parameters (not bound yet)
    /// are the endpoint's id and its partner's: the endpoint as it is now.
    async fn update_endpoint<'q>(
        &self,
        update: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
        partner: PartnerId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        update
            .bind(id.to_string())
            .bind(partner.to_string())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        self.endpoint_where(partner, id).await
    }
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook_endpoint(
        &self,
        r: EndpointRecord,
    ) -> Result<WebhookEndpoint, StoreError> {
        let partner: Option<i64> = sqlx::query_scalar("SELECT 1 FROM partners WHERE id = ?")
            .bind(r.partner_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        if partner.is_none() {
            return Err(StoreError::NotFound("partner"));
        }
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, partner_id, url, event_mask, enabled, secret, \
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.endpoint_id.to_string())
        .bind(r.partner_id.to_string())
        .bind(&r.url)
        .bind(EventType::mask(&r.event_types))
        .bind(r.enabled)
        .bind(&r.secret)
        .bind(ms(r.at))
        .bind(ms(r.at))
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
                "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE partner_id = ? \
                 ORDER BY created_at, id"
            ),
            partner.to_string(),
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
            "UPDATE webhook_endpoints SET url = coalesce(?, url), \
             event_mask = coalesce(?, event_mask), enabled = coalesce(?, enabled), updated_at = ? \
             WHERE id = ? AND partner_id = ?",
        )
        .bind(&c.url)
        .bind(c.event_types.as_deref().map(EventType::mask))
        .bind(c.enabled)
        .bind(ms(at));
        self.update_endpoint(update, partner, id).await
    }

    async fn delete_webhook_endpoint(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = ? AND partner_id = ?")
            .bind(id.to_string())
            .bind(partner.to_string())
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
            "UPDATE webhook_endpoints SET previous_secret = secret, previous_until = ?, \
             secret = ?, updated_at = ? WHERE id = ? AND partner_id = ?",
        )
        .bind(ms(previous_until))
        .bind(secret)
        .bind(ms(at));
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
                    "SELECT seq FROM webhook_events WHERE event_id = ? AND partner_id = ?",
                )
                .bind(id)
                .bind(partner.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
                match seq {
                    Some(s) => s,
                    None => return Ok(None),
                }
            }
        };
        // One writer: sequence order is commit order, so a cursor never skips an event.
        decode_all(
            sqlx::query(&format!(
                "SELECT {EVENT_COLS} FROM webhook_events ev WHERE ev.partner_id = ? AND ev.seq > ? \
                 ORDER BY ev.seq LIMIT ?"
            ))
            .bind(partner.to_string())
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
                "SELECT {EVENT_COLS} FROM webhook_events ev WHERE ev.core_claim_hash = ? \
                 ORDER BY ev.seq LIMIT ?"
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
        let now = ms(now);
        let until = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ? WHERE id IN ( \
               SELECT id FROM ( \
                 SELECT d.id, d.endpoint_id, \
                        ROW_NUMBER() OVER (PARTITION BY d.endpoint_id ORDER BY d.id) AS rn \
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                 WHERE d.state = 'PENDING' AND e.enabled = 1 AND d.next_attempt_at <= ? \
                   AND (d.lease_until IS NULL OR d.lease_until <= ?) \
                   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
                     WHERE p.endpoint_id = d.endpoint_id AND p.core_claim_hash = d.core_claim_hash \
                       AND p.state = 'PENDING' AND p.id < d.id) \
               ) x \
               WHERE x.rn + (SELECT count(*) FROM webhook_deliveries l \
                   WHERE l.endpoint_id = x.endpoint_id AND l.state = 'PENDING' AND l.lease_until > ?) <= ? \
               ORDER BY x.id LIMIT ?) \
             RETURNING id",
        )
        .bind(owner)
        .bind(until)
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(i64::from(per_endpoint))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT d.id AS delivery_id, d.endpoint_id, d.attempts, d.created_at AS delivery_created_at, \
             e.url, e.secret, e.previous_secret, e.previous_until, {EVENT_COLS} \
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             JOIN webhook_events ev ON ev.seq = d.event_seq WHERE d.id IN ({}) ORDER BY d.id",
            placeholders(ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(id);
        }
        let rows = decode_all(q.fetch_all(&mut *tx).await, leased)?;
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
            AttemptOutcome::Retry { at } => (DeliveryState::Pending, Some(ms(at))),
            AttemptOutcome::Dead => (DeliveryState::Dead, None),
        };
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let number: Option<i64> = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?, \
             next_attempt_at = coalesce(?, next_attempt_at), lease_owner = NULL, lease_until = NULL, \
             updated_at = ? WHERE id = ? AND lease_owner = ? RETURNING attempts",
        )
        .bind(state.as_str())
        .bind(next)
        .bind(ms(a.at))
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
             duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(delivery)
        .bind(number)
        .bind(ms(a.at))
        .bind(a.status_code.map(i64::from))
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
             WHERE e.partner_id = ? AND d.endpoint_id = ? AND (? IS NULL OR d.state = ?) \
             ORDER BY d.id DESC LIMIT ?",
        )
        .bind(partner.to_string())
        .bind(endpoint.to_string())
        .bind(state.map(DeliveryState::as_str))
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
                    "SELECT * FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt",
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
                next_attempt_at: if state == DeliveryState::Pending {
                    Some(time(r.get("next_attempt_at"))?)
                } else {
                    None
                },
                created_at: time(r.get("created_at"))?,
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
            Replay::Event(_) => "ev.event_id = ?",
            Replay::Since(_) => "ev.occurred_at >= ?",
        };
        let sql = format!(
            "INSERT INTO webhook_deliveries (endpoint_id, event_seq, core_claim_hash, state, \
             attempts, next_attempt_at, created_at, updated_at) \
             SELECT e.id, ev.seq, ev.core_claim_hash, 'PENDING', 0, ?, ?, ? \
             FROM webhook_events ev JOIN webhook_endpoints e ON e.partner_id = ev.partner_id \
             WHERE e.id = ? AND ev.partner_id = ? AND {filter} ORDER BY ev.seq LIMIT {MAX_REPLAY}"
        );
        let q = sqlx::query(&sql)
            .bind(ms(at))
            .bind(ms(at))
            .bind(ms(at))
            .bind(endpoint.to_string())
            .bind(partner.to_string());
        let q = match which {
            Replay::Event(id) => q.bind(id.clone()),
            Replay::Since(t) => q.bind(ms(*t)),
        };
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let done = q.execute(&mut *tx).await.map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn record_expiry_events(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let [live1, live2] = CredentialStatus::LIVE;
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let hashes: Vec<String> = sqlx::query_scalar(
            "UPDATE credentials SET expiry_evented = 1 WHERE core_claim_hash IN \
             (SELECT core_claim_hash FROM credentials WHERE expiry_evented = 0 \
              AND expiration_date IS NOT NULL AND expiration_date <= ? AND status IN (?, ?) \
              ORDER BY expiration_date LIMIT ?) RETURNING core_claim_hash",
        )
        .bind(ms(now))
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
            oldest_pending: opt_time(r.get("oldest"))?,
            dead: total(r.get("dead")),
        })
    }
}
