//! The delivery worker's Prometheus metrics (through the `metrics` facade; the binary installs
//! the exporter). Names are stable: dashboards and alerts rely on them.

use claimd_core::webhook::DeliveryBacklog;
use std::sync::Once;

pub const DELIVERIES: &str = "claimd_webhook_deliveries_total";
pub const DEAD_LETTERS: &str = "claimd_webhook_dead_letters_total";
pub const DELIVERY_LAG: &str = "claimd_webhook_delivery_lag_seconds";
pub const PENDING: &str = "claimd_webhook_pending_deliveries";
pub const OLDEST_PENDING: &str = "claimd_webhook_oldest_pending_seconds";
pub const DEAD: &str = "claimd_webhook_dead_deliveries";

pub(crate) fn describe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
        describe_counter!(
            DELIVERIES,
            "Webhook delivery attempts by outcome (delivered, retry, dead)."
        );
        describe_counter!(DEAD_LETTERS, "Deliveries given up after the retry window.");
        describe_histogram!(
            DELIVERY_LAG,
            Unit::Seconds,
            "From an event to its successful delivery."
        );
        describe_gauge!(PENDING, "Deliveries waiting for an attempt.");
        describe_gauge!(
            OLDEST_PENDING,
            Unit::Seconds,
            "Age of the oldest pending delivery."
        );
        describe_gauge!(DEAD, "Dead-lettered deliveries kept for replay.");
    });
}

pub(crate) fn attempt(outcome: &'static str) {
    ::metrics::counter!(DELIVERIES, "outcome" => outcome).increment(1);
    if outcome == "dead" {
        ::metrics::counter!(DEAD_LETTERS).increment(1);
    }
}

/// `seconds` from [`claimd_clock::seconds_since`], which keeps them from going negative.
pub(crate) fn lag(seconds: f64) {
    ::metrics::histogram!(DELIVERY_LAG).record(seconds);
}

pub(crate) fn backlog(b: &DeliveryBacklog, now: chrono::DateTime<chrono::Utc>) {
    ::metrics::gauge!(PENDING).set(b.pending as f64);
    ::metrics::gauge!(DEAD).set(b.dead as f64);
    let oldest = b
        .oldest_pending
        .map_or(0.0, |t| claimd_clock::seconds_since(t, now));
    ::metrics::gauge!(OLDEST_PENDING).set(oldest);
}
