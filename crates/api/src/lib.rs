//! claimd's HTTP layer. Handlers parse the request, call the domain, and map the result; the
//! one error type [`error::ApiError`] turns every failure into `{"error": <status>, "message"}`.
//!
//! - `routes::health`: `/healthz`, `/readyz`, `/metrics` (the last two optionally on a separate
//!   operator address, [`ops_router`])
//! - [`limits`] and [`server`]: admission control and the connection-level limits
//! - `routes::admin`: the operator API under `/admin/v1` (bearer admin token)
//! - `routes::schemas`: the public schema documents under `/v1/schemas/`
//! - `routes::issuers`: public revocation status and issuer state
//! - `routes::catalog`: the public catalog under `/v1/catalog/` (no authentication)
//! - `routes::verify`: `POST /v1/credentials/verify` (public credential verification)
//! - [`dashboard`]: the operator dashboard under `/dashboard/` (HTML, admin-token sign-in)

pub mod dashboard;
pub mod error;
mod extract;
pub mod limits;
mod middleware;
pub mod partner_auth;
mod routes;
pub mod server;
mod state;
pub mod verify_pool;

pub use state::{ApiConfig, AppState};
pub use verify_pool::{VerifyPool, VerifyPoolConfig};

use axum::Router;

/// The whole HTTP application, with its middleware.
pub fn router(state: AppState) -> Router {
    let health = if state.config.ops_separate {
        routes::health::liveness()
    } else {
        routes::health::router()
    };
    let app = Router::new()
        .merge(health)
        .merge(routes::schemas::router())
        .merge(routes::catalog::router())
        .merge(routes::credentials::router())
        .merge(routes::events::router())
        .merge(routes::issuers::router())
        .merge(routes::verify::router(state.clone()))
        .merge(routes::openapi::router())
        .nest("/admin/v1", routes::admin::router())
        .merge(dashboard::router())
        .fallback(routes::not_found)
        .with_state(state.clone());
    middleware::wrap(app, &state)
}

/// `/healthz`, `/readyz` and `/metrics` alone, for an operator-network listener
/// (`ops_listen`). No rate limits: the address is meant to be reachable only by operators.
pub fn ops_router(state: AppState) -> Router {
    routes::health::router()
        .fallback(routes::not_found)
        .with_state(state)
}
