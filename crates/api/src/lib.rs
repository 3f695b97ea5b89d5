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

// The OpenAPI document is written with `serde_json::json!`, which recurses once per token tree.
#![recursion_limit = "256"]

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

/// The prefix the operator API is nested under.
pub const ADMIN_PREFIX: &str = "/admin/v1";

/// The API's routes (the dashboard's pages aside) with the table of what they serve.
fn api(state: &AppState) -> (Router<AppState>, Vec<ServedRoute>) {
    let parts = [
        if state.config.ops_separate {
            routes::health::liveness()
        } else {
            routes::health::routes()
        },
        routes::schemas::routes(),
        routes::catalog::routes(),
        routes::credentials::routes(),
        routes::events::routes(),
        routes::issuers::routes(),
        routes::verify::routes(state.clone()),
        routes::openapi::routes(),
    ];
    let mut router = Router::new();
    let mut table = Vec::new();
    for (part, served) in parts {
        router = router.merge(part);
        table.extend(served.into_iter().map(|r| ServedRoute::new("", r)));
    }
    let (admin, served) = routes::admin::routes();
    table.extend(
        served
            .into_iter()
            .map(|r| ServedRoute::new(ADMIN_PREFIX, r)),
    );
    (router.nest(ADMIN_PREFIX, admin), table)
}

/// A path the API serves and its methods (lower case), as `/openapi.json` must describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedRoute {
    /// The full path in axum's syntax, `{name}` for a segment.
    pub path: String,
    pub methods: &'static [&'static str],
}

impl ServedRoute {
    fn new(prefix: &str, r: routes::Route) -> Self {
        ServedRoute {
            path: format!("{prefix}{}", r.path),
            methods: r.methods,
        }
    }
}

/// Every route the API serves with `state`'s configuration: what the openapi test compares
/// with the document. The dashboard (HTML for browsers, under `/dashboard/`) is not part of it.
pub fn served_routes(state: &AppState) -> Vec<ServedRoute> {
    api(state).1
}

/// The whole HTTP application, with its middleware.
pub fn router(state: AppState) -> Router {
    let app = api(&state)
        .0
        .merge(dashboard::router())
        .fallback(routes::not_found)
        .with_state(state.clone());
    middleware::wrap(app, &state)
}

/// `/healthz`, `/readyz` and `/metrics` alone, for an operator-network listener
/// (`ops_listen`). No rate limits: the address is meant to be reachable only by operators.
pub fn ops_router(state: AppState) -> Router {
    routes::health::routes()
        .0
        .fallback(routes::not_found)
        .with_state(state)
}
