//! What handlers share: the store, the operator service, settings and the metrics handle.

use claimd_auth::Authenticator;
use claimd_core::issuance::Issuance;
use claimd_core::operator::Operator;
use claimd_core::proofs::Proofs;
use claimd_core::store::Store;
use claimd_core::verify::VerifyContext;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// Settings the HTTP layer needs.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// External base URL written into documents (no trailing slash).
    pub public_url: String,
    /// Bearer token of the operator API. Compared in constant time.
    pub admin_token: String,
    /// Largest request body accepted, in bytes (larger → 413).
    pub max_body_bytes: usize,
    /// `/readyz` and `/metrics` are served on a separate operator address
    /// ([`crate::ops_router`]), not on the public one.
    pub ops_separate: bool,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub operator: Arc<Operator>,
    pub issuance: Arc<Issuance>,
    /// Bulk issuance jobs (upload, progress, control, results).
    pub bulk: Arc<claimd_core::bulk::service::Bulk>,
    pub proofs: Arc<Proofs>,
    pub auth: Arc<Authenticator>,
    /// What credential verification asks the outside world (schema contexts, chain states,
    /// revocation statuses).
    pub verifier: Arc<dyn VerifyContext>,
    /// Where verifications run (blocking pool, bounded concurrency, deadline).
    pub verify_pool: Arc<crate::VerifyPool>,
    pub config: Arc<ApiConfig>,
    /// Rate limits, concurrency limit and request timeout ([`crate::limits`]).
    pub admission: Arc<crate::limits::Admission>,
    pub metrics: Option<PrometheusHandle>,
    /// The operator dashboard's sessions and chain probe ([`crate::dashboard`]).
    pub dashboard: Arc<crate::dashboard::Dashboard>,
}
