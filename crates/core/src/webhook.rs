//! Webhooks: the events a credential's status changes produce, the partners' endpoints that
//! receive them, and the storage port of the outbox and its deliveries.
//!
//! An event is written in the same transaction as the status change that causes it (the
//! adapters call into the outbox from their confirm, revoke and issuance transactions), and
//! fanned out there to a delivery row per subscribed endpoint. So a credential that reaches
//! `ONCHAIN` always has its event and its deliveries, whatever crashes afterwards; the delivery
//! worker (`claimd-webhooks`) only ever reads rows.

use crate::credential::CredentialStatus;
use crate::operator::{Operator, OperatorError};
use crate::secrets::MasterKey;
use crate::store::StoreError;
use crate::{DomainError, PartnerId, UserId, WebhookEndpointId};
use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use zeroize::Zeroizing;

/// What happened to a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// Its claim is in a state confirmed on chain (`ONCHAIN`).
    #[serde(rename = "credential.onchain")]
    Onchain,
    /// Its revocation is confirmed on chain (`REMOVE`).
    #[serde(rename = "credential.removed")]
    Removed,
    /// Past its expiration date while live. Expiry is not a stored status (a live credential
    /// reads `EXPIRE` once past its date), so this event is written by a sweep
    /// ([`WebhookStore::record_expiry_events`]) soon after the date, once per credential.
    #[serde(rename = "credential.expired")]
    Expired,
    /// Revoked, waiting for the revocation to be published (`WAIT_REMOVE`).
    #[serde(rename = "credential.revocation_requested")]
    RevocationRequested,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        EventType::Onchain,
        EventType::Removed,
        EventType::Expired,
        EventType::RevocationRequested,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Onchain => "credential.onchain",
            EventType::Removed => "credential.removed",
            EventType::Expired => "credential.expired",
            EventType::RevocationRequested => "credential.revocation_requested",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The `vcStatus` the event reports when it is not the stored status: an expired
    /// credential reads `EXPIRE` (as the status endpoint says), whatever its stored status.
    pub fn reported_status(self) -> Option<&'static str> {
        match self {
            EventType::Expired => Some("EXPIRE"),
            _ => None,
        }
    }

    /// The stored form of a stored name; anything else is corruption.
    pub fn from_stored(s: &str) -> Result<Self, StoreError> {
        Self::parse(s).ok_or_else(|| StoreError::Internal(format!("bad event type {s:?}")))
    }

    /// Its bit in an endpoint's subscription mask (stored as an integer, so the adapters
    /// fan out with one `mask & bit` in SQL).
    pub fn bit(self) -> i64 {
        match self {
            EventType::Onchain => 1,
            EventType::Removed => 2,
            EventType::Expired => 4,
            EventType::RevocationRequested => 8,
        }
    }

    pub fn mask(types: &[EventType]) -> i64 {
        types.iter().fold(0, |m, t| m | t.bit())
    }

    pub fn from_mask(mask: i64) -> Vec<EventType> {
        Self::ALL
            .into_iter()
            .filter(|t| mask & t.bit() != 0)
            .collect()
    }

    /// The event a credential moving to `status` produces, if any.
    pub fn for_status(status: CredentialStatus) -> Option<EventType> {
        match status {
            CredentialStatus::Onchain => Some(EventType::Onchain),
            CredentialStatus::Remove => Some(EventType::Removed),
            CredentialStatus::WaitRemove => Some(EventType::RevocationRequested),
            CredentialStatus::WaitOnchain => None,
        }
    }
}

/// A new event id: `evt_` and 32 hex digits. The same id goes out on every delivery attempt
/// and replay of the event (`webhook-id`), so receivers deduplicate on it.
pub fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::new_v4().simple())
}

/// An event as stored: the credential's facts at the moment of the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// Storage order (the cursor of `GET /v1/events` is the event id; this is how it sorts).
    pub seq: i64,
    pub event_id: String,
    pub partner_id: PartnerId,
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    pub data: EventData,
}

/// The fields of the status endpoint an event carries, with its names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventData {
    pub core_claim_hash: String,
    /// The issuance program (Moca's `credentialId`).
    pub credential_id: String,
    pub issuer_did: String,
    pub user_uuid: UserId,
    pub vc_status: String,
    pub tx_hash: Option<String>,
    /// Printed as a string, as in `GET /v1/credentials/status`.
    #[serde(serialize_with = "crate::credential::number_as_string")]
    pub block_number: Option<u64>,
}

/// An event as partners read it (`GET /v1/events`), and the body of a delivery minus the id
/// (Standard Webhooks payloads are `{type, timestamp, data}`; the id travels in `webhook-id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub timestamp: String,
    pub data: EventData,
}

impl WebhookEvent {
    pub fn view(&self) -> EventView {
        EventView {
            event_id: self.event_id.clone(),
            event_type: self.event_type,
            timestamp: self
                .occurred_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            data: self.data.clone(),
        }
    }

    /// The delivery body: the same object, so a partner parses events one way whether pushed
    /// or pulled.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.view()).expect("events always serialise")
    }
}

/// A partner's webhook endpoint as operators see it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    pub endpoint_id: WebhookEndpointId,
    pub partner_id: PartnerId,
    pub url: String,
    pub event_types: Vec<EventType>,
    pub enabled: bool,
    /// Until when the secret replaced by the last rotation still signs, if it does.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An endpoint with its signing secret: the answer of create and rotate, the only times the
/// secret is shown.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_` and the base64 of the key.
    pub secret: String,
}

/// `POST /admin/v1/partners/{id}/webhooks` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewWebhookEndpoint {
    pub url: Option<String>,
    /// Absent: every event type (on `PATCH`: left alone).
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// `PATCH /admin/v1/partners/{id}/webhooks/{endpointId}` body, the fields of a new endpoint:
/// absent fields are left alone.
pub type WebhookEndpointPatch = NewWebhookEndpoint;

/// `POST …/webhooks/{endpointId}/rotate` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotateWebhookSecret {
    /// How long the old secret keeps signing next to the new one (default one day, at most
    /// seven): receivers switch to the new secret within it.
    pub overlap_seconds: Option<u64>,
}

/// `POST …/webhooks/{endpointId}/replay` body: exactly one of the two.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayRequest {
    pub event_id: Option<String>,
    /// RFC 3339: every event of the partner at or after it.
    pub since: Option<String>,
}

/// What to deliver again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    Event(String),
    Since(DateTime<Utc>),
}

/// The validated changes to an endpoint, ready for storage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub event_types: Option<Vec<EventType>>,
    pub enabled: Option<bool>,
}

/// A new endpoint as it will be stored.
#[derive(Debug, Clone)]
pub struct EndpointRecord {
    pub endpoint_id: WebhookEndpointId,
    pub partner_id: PartnerId,
    pub url: String,
    pub event_types: Vec<EventType>,
    pub enabled: bool,
    /// The signing key, sealed under the master key with [`secret_label`].
    pub secret: Vec<u8>,
    pub at: DateTime<Utc>,
}

pub const MAX_URL_LEN: usize = 2048;
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(24 * 3600);
pub const MAX_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);

/// Checks the shape of an endpoint URL. Where it may point (https, public addresses, loopback
/// http in dev mode) is the delivery worker's address policy, checked at every delivery after
/// DNS resolution, since a name's addresses can change after registration.
pub fn validate_url(url: &str) -> Result<String, DomainError> {
    let bad = |m: &str| DomainError::invalid("url", m);
    let url = url.trim();
    if url.is_empty() {
        return Err(bad("is required"));
    }
    if url.len() > MAX_URL_LEN {
        return Err(bad(&format!("is longer than {MAX_URL_LEN} characters")));
    }
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| bad("must be an https:// URL"))?;
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain spaces or control characters"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err(bad("has no host"));
    }
    if authority.contains('@') {
        return Err(bad("must not contain credentials"));
    }
    if url.contains('#') {
        return Err(bad("must not contain a fragment"));
    }
    Ok(url.to_owned())
}

fn validate_types(types: Vec<String>) -> Result<Vec<EventType>, DomainError> {
    if types.is_empty() {
        return Err(DomainError::invalid(
            "eventTypes",
            "must name at least one event type",
        ));
    }
    let mut out = Vec::new();
    for t in types {
        let parsed = EventType::parse(&t).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            DomainError::invalid(
                "eventTypes",
                format!("unknown event type {t:?} (one of {})", known.join(", ")),
            )
        })?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

impl WebhookEndpointPatch {
    pub fn validate(self) -> Result<EndpointChanges, DomainError> {
        Ok(EndpointChanges {
            url: self.url.as_deref().map(validate_url).transpose()?,
            event_types: self.event_types.map(validate_types).transpose()?,
            enabled: self.enabled,
        })
    }
}

impl RotateWebhookSecret {
    pub fn overlap(&self) -> Result<Duration, DomainError> {
        let overlap = self
            .overlap_seconds
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_OVERLAP);
        if overlap > MAX_OVERLAP {
            return Err(DomainError::invalid(
                "overlapSeconds",
                format!("must be at most {}", MAX_OVERLAP.as_secs()),
            ));
        }
        Ok(overlap)
    }
}

impl ReplayRequest {
    pub fn validate(self) -> Result<Replay, DomainError> {
        match (self.event_id, self.since) {
            (Some(id), None) => Ok(Replay::Event(id)),
            (None, Some(since)) => DateTime::parse_from_rfc3339(&since)
                .map(|t| Replay::Since(t.with_timezone(&Utc)))
                .map_err(|_| DomainError::invalid("since", "must be an RFC 3339 date-time")),
            _ => Err(DomainError::invalid(
                "eventId",
                "give exactly one of eventId or since",
            )),
        }
    }
}

/// The label binding a sealed signing secret to its endpoint (see [`crate::secrets`]).
pub fn secret_label(id: WebhookEndpointId) -> String {
    format!("webhook-secret:{id}")
}

/// A fresh signing key: 32 random bytes (Standard Webhooks allows 24 to 64).
pub fn generate_secret() -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(vec![0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

/// The key as partners configure it: `whsec_` and its base64.
pub fn format_secret(key: &[u8]) -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryState {
    /// Waiting for its next attempt (or in one).
    Pending,
    /// A 2xx answered.
    Delivered,
    /// Failed for the whole retry window: given up, kept for inspection and replay.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "PENDING",
            DeliveryState::Delivered => "DELIVERED",
            DeliveryState::Dead => "DEAD",
        }
    }

    pub fn from_stored(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "PENDING" => DeliveryState::Pending,
            "DELIVERED" => DeliveryState::Delivered,
            "DEAD" => DeliveryState::Dead,
            _ => return Err(StoreError::Internal(format!("bad delivery state {s:?}"))),
        })
    }
}

/// A delivery handed to one worker for one attempt.
#[derive(Debug, Clone)]
pub struct LeasedDelivery {
    pub delivery_id: i64,
    pub endpoint_id: WebhookEndpointId,
    pub url: String,
    /// Sealed signing key.
    pub secret: Vec<u8>,
    /// The key before the last rotation and until when it still signs.
    pub previous_secret: Option<(Vec<u8>, DateTime<Utc>)>,
    /// Attempts made before this one.
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub event: WebhookEvent,
}

impl LeasedDelivery {
    /// The keys that sign an attempt at `now`: the current one, and the previous one during
    /// the rotation's overlap. Sealed blobs that do not open are an internal error.
    pub fn signing_keys(
        &self,
        master: &MasterKey,
        now: DateTime<Utc>,
    ) -> Result<Vec<Zeroizing<Vec<u8>>>, StoreError> {
        let label = secret_label(self.endpoint_id);
        let open = |sealed: &[u8]| {
            master.open(&label, sealed).map_err(|e| {
                StoreError::Internal(format!("webhook secret of {}: {e}", self.endpoint_id))
            })
        };
        let mut keys = vec![open(&self.secret)?];
        if let Some((previous, until)) = &self.previous_secret {
            if now < *until {
                keys.push(open(previous)?);
            }
        }
        Ok(keys)
    }
}

/// One attempt's result, as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptRecord {
    pub at: DateTime<Utc>,
    /// The HTTP status, when the receiver answered.
    pub status_code: Option<u16>,
    /// Why no answer (timeout, refused address, connection error).
    pub error: Option<String>,
    /// The start of the answer's body (at most [`RESPONSE_EXCERPT`] bytes).
    pub response: Option<String>,
    pub duration_ms: u64,
}

/// How much of a receiver's answer is kept.
pub const RESPONSE_EXCERPT: usize = 1024;

/// What an attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    Retry { at: DateTime<Utc> },
    Dead,
}

/// A delivery as operators see it, with its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub delivery_id: i64,
    pub endpoint_id: WebhookEndpointId,
    pub event_id: String,
    #[serde(rename = "eventType")]
    pub event_type: EventType,
    pub core_claim_hash: String,
    pub state: DeliveryState,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub attempts: Vec<AttemptRecord>,
}

/// What waits to be delivered, over all endpoints (metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryBacklog {
    pub pending: u64,
    /// When the oldest pending delivery was created.
    pub oldest_pending: Option<DateTime<Utc>>,
    pub dead: u64,
}

/// Retries: exponential backoff with jitter, for at least `give_up_after`, then dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first retry's delay (before jitter).
    pub initial: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
    /// A delivery failing this long after it was created is dead.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_secs(5),
            max_delay: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// What follows attempt number `attempt` (1 = the first) that failed at `now`, for a
    /// delivery created at `created`. `jitter` in `[0, 1)` picks the delay between half and
    /// the whole of the exponential one, so receivers recovering from an outage are not hit by
    /// every retry at once.
    pub fn after_failure(
        &self,
        attempt: u32,
        created: DateTime<Utc>,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> AttemptOutcome {
        let window = TimeDelta::from_std(self.give_up_after).unwrap_or(TimeDelta::MAX);
        if now - created >= window {
            return AttemptOutcome::Dead;
        }
        let exp = 2u32.saturating_pow(attempt.saturating_sub(1).min(31));
        let delay = self.initial.saturating_mul(exp).min(self.max_delay);
        let delay = delay.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
        AttemptOutcome::Retry {
            at: later(now, delay),
        }
    }
}

/// `t + d`, saturating at the largest representable time (settings can be large).
pub fn later(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The outbox and its deliveries. Events themselves are written by the adapters inside the
/// transactions that change a credential's status (see the module docs); these are the rest.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// `NotFound("partner")` when the partner does not exist.
    async fn create_webhook_endpoint(
        &self,
        record: EndpointRecord,
    ) -> Result<WebhookEndpoint, StoreError>;
    async fn webhook_endpoint(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;
    async fn list_webhook_endpoints(
        &self,
        partner: PartnerId,
    ) -> Result<Vec<WebhookEndpoint>, StoreError>;
    async fn update_webhook_endpoint(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
        changes: &EndpointChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;
    /// Deletes the endpoint with its deliveries; `false` if there was none.
    async fn delete_webhook_endpoint(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
    ) -> Result<bool, StoreError>;
    /// Makes `secret` (sealed) the signing key; the key it replaces keeps signing until
    /// `previous_until`.
    async fn rotate_webhook_secret(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
        secret: Vec<u8>,
        previous_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;

    /// The partner's events after the event `after` (from the first when `None`), oldest
    /// first, at most `limit`. `None` when `after` is not an event of this partner. Only
    /// events whose transaction is committed and that no still-running transaction can
    /// precede are listed, so a cursor never skips an event.
    async fn partner_events(
        &self,
        partner: PartnerId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Option<Vec<WebhookEvent>>, StoreError>;

    /// The events of one credential, oldest first, at most `limit`: its status history
    /// (the outbox is written for every credential, whether or not its partner has endpoints,
    /// in the transaction of each change).
    async fn credential_events(
        &self,
        core_claim_hash: &str,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, StoreError>;

    /// Leases up to `limit` due deliveries to `owner` for `ttl`: pending, due at `now`, not
    /// leased, with no earlier pending delivery of the same credential to the same endpoint
    /// (per-credential order), and at most `per_endpoint` leased per endpoint at a time
    /// counting those already in flight (one slow endpoint cannot take every slot).
    async fn lease_webhook_deliveries(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
        per_endpoint: u32,
        limit: u32,
    ) -> Result<Vec<LeasedDelivery>, StoreError>;
    /// Records an attempt of a leased delivery and what follows, and releases the lease.
    /// `false` (nothing written) when `owner` no longer holds the lease.
    async fn finish_webhook_attempt(
        &self,
        delivery: i64,
        owner: &str,
        attempt: &AttemptRecord,
        outcome: AttemptOutcome,
    ) -> Result<bool, StoreError>;
    /// The endpoint's latest `limit` deliveries, newest first, with their attempts.
    async fn webhook_deliveries(
        &self,
        partner: PartnerId,
        endpoint: WebhookEndpointId,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Vec<DeliveryView>, StoreError>;
    /// Queues the event (or every event of the partner since a time) for delivery to the
    /// endpoint again, with the same event id, due at `at`. Returns how many were queued.
    async fn replay_webhook_events(
        &self,
        partner: PartnerId,
        endpoint: WebhookEndpointId,
        which: &Replay,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Counts over every endpoint.
    async fn webhook_backlog(&self) -> Result<DeliveryBacklog, StoreError>;
    /// Writes the `credential.expired` event (and its deliveries) of up to `limit` live
    /// credentials whose expiration date is at or before `now` and that have none yet, marking
    /// them in the same transaction so that each gets exactly one. Returns how many.
    async fn record_expiry_events(&self, now: DateTime<Utc>, limit: u32)
        -> Result<u64, StoreError>;
}

/// The operator's webhook use cases.
impl Operator {
    /// Creates the endpoint with a fresh signing secret, returned this once.
    pub async fn create_webhook(
        &self,
        partner: PartnerId,
        req: NewWebhookEndpoint,
    ) -> Result<EndpointWithSecret, OperatorError> {
        let url = validate_url(req.url.as_deref().unwrap_or(""))?;
        let event_types = match req.event_types {
            Some(t) => validate_types(t)?,
            None => EventType::ALL.to_vec(),
        };
        let endpoint_id = WebhookEndpointId::new_random();
        let key = generate_secret();
        let record = EndpointRecord {
            endpoint_id,
            partner_id: partner,
            url,
            event_types,
            enabled: req.enabled.unwrap_or(true),
            secret: self.master_key.seal(&secret_label(endpoint_id), &key),
            at: self.clock.now(),
        };
        let endpoint = self.store.create_webhook_endpoint(record).await?;
        Ok(EndpointWithSecret {
            endpoint,
            secret: format_secret(&key),
        })
    }

    pub async fn update_webhook(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
        req: WebhookEndpointPatch,
    ) -> Result<Option<WebhookEndpoint>, OperatorError> {
        let changes = req.validate()?;
        Ok(self
            .store
            .update_webhook_endpoint(partner, id, &changes, self.clock.now())
            .await?)
    }

    /// A new signing secret, returned this once; the old one signs too for the overlap.
    pub async fn rotate_webhook_secret(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
        req: RotateWebhookSecret,
    ) -> Result<Option<EndpointWithSecret>, OperatorError> {
        let overlap = req.overlap()?;
        let now = self.clock.now();
        let key = generate_secret();
        let until = later(now, overlap);
        let sealed = self.master_key.seal(&secret_label(id), &key);
        Ok(self
            .store
            .rotate_webhook_secret(partner, id, sealed, until, now)
            .await?
            .map(|endpoint| EndpointWithSecret {
                endpoint,
                secret: format_secret(&key),
            }))
    }

    /// `None` when the endpoint is not the partner's.
    pub async fn replay_webhooks(
        &self,
        partner: PartnerId,
        id: WebhookEndpointId,
        req: ReplayRequest,
    ) -> Result<Option<u64>, OperatorError> {
        let which = req.validate()?;
        if self.store.webhook_endpoint(partner, id).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(
            self.store
                .replay_webhook_events(partner, id, &which, self.clock.now())
                .await?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn event_types_roundtrip_and_mask() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::json!(t.as_str())
            );
        }
        let m = EventType::mask(&[EventType::Onchain, EventType::Removed]);
        assert_eq!(
            EventType::from_mask(m),
            vec![EventType::Onchain, EventType::Removed]
        );
    }

    #[test]
    fn urls_are_checked() {
        assert!(validate_url("https://example.com/hook").is_ok());
        assert!(validate_url("http://127.0.0.1:8080/x").is_ok());
        for bad in [
            "",
            "ftp://x",
            "https://",
            "https://u:p@example.com/",
            "https://example.com/a b",
            "https://example.com/#f",
        ] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_whsec_base64_of_32_bytes() {
        let key = generate_secret();
        let s = format_secret(&key);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(s.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(raw, *key);
    }

    #[test]
    fn backoff_grows_with_jitter_then_gives_up() {
        let p = RetryPolicy::default();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let delay = |attempt, jitter| match p.after_failure(attempt, t0, t0, jitter) {
            AttemptOutcome::Retry { at } => (at - t0).num_milliseconds(),
            other => panic!("{other:?}"),
        };
        assert_eq!(delay(1, 0.0), 2_500);
        assert_eq!(delay(1, 0.999_999), 5_000 - 1);
        assert_eq!(delay(3, 0.0), 10_000);
        assert_eq!(delay(40, 0.0), 1_800_000);
        let late = t0 + TimeDelta::hours(24);
        assert_eq!(p.after_failure(30, t0, late, 0.5), AttemptOutcome::Dead);
    }
}
