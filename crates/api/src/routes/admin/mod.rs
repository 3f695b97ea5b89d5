//! The operator API under `/admin/v1` (DESIGN §3). Every route requires the bearer admin
//! token through the [`crate::extract::Admin`] extractor.

mod consent;
mod credentials;
mod issuers;
mod partners;
mod programs;
mod schemas;

use crate::state::AppState;
use axum::routing::{get, post, put};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partners", get(partners::list).post(partners::create))
        .route("/partners/{id}", get(partners::get).patch(partners::update))
        .route("/schemas", get(schemas::list).post(schemas::create))
        .route("/schemas/{id}", get(schemas::get))
        .route("/issuers", get(issuers::list).post(issuers::create))
        .route("/issuers/{did}", get(issuers::get))
        .route("/issuers/{did}/publishing", get(issuers::publishing))
        .route("/credentials/{hash}", get(credentials::get))
        .route("/credentials/{hash}/revoke", post(credentials::revoke))
        .route("/programs", get(programs::list).post(programs::create))
        .route("/programs/{id}", get(programs::get))
        .route("/users", get(consent::list_users))
        .route("/users/email-conflicts", get(consent::email_conflicts))
        .route("/users/consent", put(consent::set).get(consent::list))
}
