//! The publisher's Prometheus metrics (through the `metrics` facade; the binary installs the
//! exporter). Names are stable: dashboards and alerts rely on them. See
//! `docs/ARCHITECTURE.md` (Publishing) for what each one means.

// The facade's macros, reachable as `crate::metrics::counter!` where this module shadows the
// `metrics` crate.
pub(crate) use ::metrics::{counter, gauge};

use claimd_chain::ChainError;
use claimd_core::store::PublishBacklog;
use std::sync::Once;
use std::time::Duration;

pub const TRANSITIONS_CONFIRMED: &str = "claimd_publisher_transitions_confirmed_total";
pub const TRANSITIONS_ABANDONED: &str = "claimd_publisher_transitions_abandoned_total";
pub const TRANSITIONS_ADOPTED: &str = "claimd_publisher_transitions_adopted_total";
pub const TRANSACTIONS_SIGNED: &str = "claimd_publisher_transactions_signed_total";
pub const REPLACEMENTS: &str = "claimd_publisher_replacements_total";
pub const FEE_CEILING_REACHED: &str = "claimd_publisher_fee_ceiling_reached_total";
pub const CHAIN_ERRORS: &str = "claimd_publisher_chain_errors_total";
pub const STEP_ERRORS: &str = "claimd_publisher_step_errors_total";
pub const PUBLISH_LAG: &str = "claimd_publisher_publish_lag_seconds";
pub const PENDING_CLAIMS: &str = "claimd_publisher_pending_claims";
pub const PENDING_REVOCATIONS: &str = "claimd_publisher_pending_revocations";
pub const TRANSITIONS_IN_FLIGHT: &str = "claimd_publisher_transitions_in_flight";
pub const OLDEST_PENDING: &str = "claimd_publisher_oldest_pending_seconds";
pub const ISSUERS_FAILING: &str = "claimd_publisher_issuers_failing";

/// Registers help texts once per process (the exporter prints them as `# HELP`).
pub(crate) fn describe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
        describe_counter!(
            TRANSITIONS_CONFIRMED,
            "State transitions confirmed on chain."
        );
        describe_counter!(
            TRANSITIONS_ABANDONED,
            "State transitions given up (label reason); their work is recomputed."
        );
        describe_counter!(
            TRANSITIONS_ADOPTED,
            "Transitions confirmed by reconciling the store with the chain's state."
        );
        describe_counter!(
            TRANSACTIONS_SIGNED,
            "Transition transactions signed and recorded."
        );
        describe_counter!(
            REPLACEMENTS,
            "Stuck transactions replaced with the same nonce and higher fees."
        );
        describe_counter!(
            FEE_CEILING_REACHED,
            "Replacements skipped because the fee ceiling leaves no room."
        );
        describe_counter!(
            CHAIN_ERRORS,
            "Chain (RPC) errors met while publishing, by kind."
        );
        describe_counter!(STEP_ERRORS, "Publishing steps that failed, by kind.");
        describe_histogram!(
            PUBLISH_LAG,
            Unit::Seconds,
            "Time from a transition's computation to its confirmation."
        );
        describe_gauge!(
            PENDING_CLAIMS,
            "Credentials whose claim is in no transition yet."
        );
        describe_gauge!(
            PENDING_REVOCATIONS,
            "Revocations whose nonce is in no transition yet."
        );
        describe_gauge!(
            TRANSITIONS_IN_FLIGHT,
            "Transitions computed or signed, not confirmed."
        );
        describe_gauge!(
            OLDEST_PENDING,
            Unit::Seconds,
            "Age of the oldest claim or revocation in no transition yet."
        );
        describe_gauge!(
            ISSUERS_FAILING,
            "Issuers whose last publishing step failed (backing off)."
        );
    });
}

pub(crate) fn chain_error(e: &ChainError) {
    ::metrics::counter!(CHAIN_ERRORS, "kind" => e.kind()).increment(1);
}

pub(crate) fn confirmed(lag: Duration) {
    ::metrics::counter!(TRANSITIONS_CONFIRMED).increment(1);
    ::metrics::histogram!(PUBLISH_LAG).record(lag.as_secs_f64());
}

pub(crate) fn backlog(b: &PublishBacklog, now: chrono::DateTime<chrono::Utc>) {
    ::metrics::gauge!(PENDING_CLAIMS).set(b.pending_claims as f64);
    ::metrics::gauge!(PENDING_REVOCATIONS).set(b.pending_revocations as f64);
    ::metrics::gauge!(TRANSITIONS_IN_FLIGHT).set(b.in_flight as f64);
    let age = b
        .oldest_pending
        .map_or(0.0, |t| claimd_clock::seconds_since(t, now));
    ::metrics::gauge!(OLDEST_PENDING).set(age);
}
