//! The delivery loop: lease due deliveries, attempt each in its own task, record the outcome.
//!
//! Isolation: the store leases at most `per_endpoint` deliveries of one endpoint at a time
//! (counting those in flight anywhere), and each attempt runs in its own task bounded by its
//! timeout, so an endpoint that hangs holds `per_endpoint` slots for at most the timeout and
//! never the others'. Nothing here is on the issuance or publishing path: those only write rows.
//! Order: the store never leases a delivery while an earlier one of the same credential to the
//! same endpoint is pending, so a partner sees a credential's events in the order they happened.
//! After a crash, leases expire (`lease_ttl`) and the deliveries are attempted again, with the
//! same event id: delivery is at least once.

use crate::metrics;
use crate::sender::{Sender, SignedRequest};
use crate::signature;
use claimd_clock::SharedClock;
use claimd_core::secrets::MasterKey;
use claimd_core::store::Store;
use claimd_core::webhook::{AttemptOutcome, AttemptRecord, LeasedDelivery, RetryPolicy};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};

/// Most `credential.expired` events written by one sweep transaction.
const EXPIRY_BATCH: u32 = 1000;

/// Settings of the delivery worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// One attempt's whole exchange (connect, request, answer headers).
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// How often the store is asked for due deliveries when there were none.
    pub poll_interval: Duration,
    /// Attempts in flight per endpoint, over every instance.
    pub per_endpoint: u32,
    /// Attempts in flight in this process.
    pub max_in_flight: u32,
    /// How long a leased delivery stays this worker's; longer than `timeout`.
    pub lease_ttl: Duration,
    /// Dev mode: loopback allowed, over plain http too.
    pub dev: bool,
    pub clock: SharedClock,
}

impl WorkerConfig {
    pub fn new(clock: SharedClock) -> Self {
        WorkerConfig {
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            poll_interval: Duration::from_millis(500),
            per_endpoint: 4,
            max_in_flight: 64,
            lease_ttl: Duration::from_secs(60),
            dev: false,
            clock,
        }
    }
}

pub struct Worker {
    store: Arc<dyn Store>,
    master_key: MasterKey,
    sender: Sender,
    config: WorkerConfig,
    /// This process's lease owner name: a fresh one per start, so a restarted process never
    /// mistakes its predecessor's leases for its own.
    owner: String,
}

impl Worker {
    pub fn new(
        store: Arc<dyn Store>,
        master_key: MasterKey,
        config: WorkerConfig,
    ) -> Result<Self, reqwest::Error> {
        metrics::describe();
        Ok(Worker {
            sender: Sender::new(config.timeout, config.dev)?,
            store,
            master_key,
            owner: format!("webhooks-{}", uuid::Uuid::new_v4()),
            config,
        })
    }

    /// Delivers until `stop` turns true, then waits for the attempts in flight.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.config.max_in_flight as usize));
        let mut last_gauges = None;
        loop {
            if *stop.borrow() {
                break;
            }
            self.sweep_expired().await;
            let free = slots.available_permits() as u32;
            let mut full_batch = false;
            if free > 0 {
                let now = self.config.clock.now();
                match self
                    .store
                    .lease_webhook_deliveries(
                        &self.owner,
                        now,
                        self.config.lease_ttl,
                        self.config.per_endpoint,
                        free,
                    )
                    .await
                {
                    Ok(batch) => {
                        full_batch = batch.len() as u32 == free;
                        for delivery in batch {
                            let Ok(permit) = slots.clone().acquire_owned().await else {
                                break;
                            };
                            let this = self.clone();
                            tokio::spawn(async move {
                                this.attempt(delivery).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot lease webhook deliveries"),
                }
            }
            let instant = self.config.clock.instant();
            if last_gauges.is_none_or(|t| instant.duration_since(t) >= Duration::from_secs(5)) {
                last_gauges = Some(instant);
                if let Ok(b) = self.store.webhook_backlog().await {
                    metrics::backlog(&b, self.config.clock.now());
                }
            }
            if full_batch {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
        // Attempts in flight finish (each within its timeout) and record their outcome.
        let _ = slots
            .acquire_many(self.config.max_in_flight)
            .await
            .map(drop);
    }

    /// Writes the `credential.expired` events now due (a live credential past its date has
    /// no stored transition of its own), a bounded batch at a time, so that they are
    /// delivered in this same round.
    async fn sweep_expired(&self) {
        loop {
            match self
                .store
                .record_expiry_events(self.config.clock.now(), EXPIRY_BATCH)
                .await
            {
                Ok(n) if n == u64::from(EXPIRY_BATCH) => continue,
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot record credential.expired events");
                    return;
                }
            }
        }
    }

    /// One attempt of one leased delivery, recorded whatever happens.
    async fn attempt(&self, d: LeasedDelivery) {
        let clock = &self.config.clock;
        let at = clock.now();
        let started = clock.instant();
        let result = match d.signing_keys(&self.master_key, at) {
            Ok(keys) => {
                let timestamp = at.timestamp();
                let body = d.event.body();
                let signature = signature::header(&keys, &d.event.event_id, timestamp, &body);
                self.sender
                    .send(SignedRequest {
                        url: &d.url,
                        msg_id: &d.event.event_id,
                        timestamp,
                        signature: &signature,
                        body,
                    })
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => {
                tracing::error!(error = %e, endpoint = %d.endpoint_id, "cannot open a webhook secret");
                Err("the signing secret cannot be opened".to_owned())
            }
        };
        let finished = clock.now();
        let duration_ms = clock.instant().duration_since(started).as_millis() as u64;
        let delivered = matches!(&result, Ok(a) if (200..300).contains(&a.status));
        let outcome = if delivered {
            AttemptOutcome::Delivered
        } else {
            let jitter: f64 = rand::thread_rng().gen();
            self.config
                .retry
                .after_failure(d.attempts + 1, d.created_at, finished, jitter)
        };
        let record = match result {
            Ok(a) => AttemptRecord {
                at,
                status_code: Some(a.status),
                error: None,
                response: Some(a.excerpt),
                duration_ms,
            },
            Err(e) => AttemptRecord {
                at,
                status_code: None,
                error: Some(e),
                response: None,
                duration_ms,
            },
        };
        let label = match outcome {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::Retry { .. } => "retry",
            AttemptOutcome::Dead => "dead",
        };
        match self
            .store
            .finish_webhook_attempt(d.delivery_id, &self.owner, &record, outcome)
            .await
        {
            Ok(true) => {
                metrics::attempt(label);
                if delivered {
                    metrics::lag(claimd_clock::seconds_since(d.event.occurred_at, finished));
                }
                tracing::debug!(
                    delivery = d.delivery_id,
                    event = %d.event.event_id,
                    outcome = label,
                    status = record.status_code,
                    error = record.error.as_deref(),
                    "webhook attempt"
                );
            }
            Ok(false) => tracing::warn!(
                delivery = d.delivery_id,
                "webhook lease lost before the attempt was recorded; it will be attempted again"
            ),
            Err(e) => tracing::warn!(
                error = %e,
                delivery = d.delivery_id,
                "cannot record a webhook attempt; it will be attempted again"
            ),
        }
    }
}
