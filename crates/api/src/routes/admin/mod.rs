//! The operator API under `/admin/v1` (DESIGN §3). Every route requires the bearer admin
//! token through the [`crate::extract::Admin`] extractor.

/// `GET` of a listing: `?page=&limit=`, one store call, the page as JSON.
macro_rules! list_route {
    ($name:ident, $list:ident, $item:ty) => {
        pub async fn $name(
            _: crate::extract::Admin,
            axum::extract::State(s): axum::extract::State<crate::state::AppState>,
            crate::extract::Paging(page): crate::extract::Paging,
        ) -> Result<axum::Json<claimd_core::page::Page<$item>>, crate::error::ApiError> {
            Ok(axum::Json(s.store.$list(page).await?))
        }
    };
}

/// `POST` creating through one operator use case: 201 and what it created.
macro_rules! create_route {
    ($name:ident, $create:ident, $request:ty, $created:ty) => {
        pub async fn $name(
            _: crate::extract::Admin,
            axum::extract::State(s): axum::extract::State<crate::state::AppState>,
            crate::extract::ApiJson(req): crate::extract::ApiJson<$request>,
        ) -> Result<(axum::http::StatusCode, axum::Json<$created>), crate::error::ApiError> {
            Ok((
                axum::http::StatusCode::CREATED,
                axum::Json(s.operator.$create(req).await?),
            ))
        }
    };
}

mod bulk;
mod consent;
mod credentials;
mod issuers;
mod overview;
mod partners;
mod programs;
mod schemas;
mod verification_programs;
mod webhooks;

use crate::state::AppState;
use axum::routing::{get, post, put};
use axum::Router;
use verification_programs as vps;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partners", get(partners::list).post(partners::create))
        .route("/partners/{id}", get(partners::get).patch(partners::update))
        .route(
            "/partners/{id}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/partners/{id}/webhooks/{endpoint}",
            get(webhooks::get)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route(
            "/partners/{id}/webhooks/{endpoint}/rotate",
            post(webhooks::rotate),
        )
        .route(
            "/partners/{id}/webhooks/{endpoint}/deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/partners/{id}/webhooks/{endpoint}/replay",
            post(webhooks::replay),
        )
        .route("/schemas", get(schemas::list).post(schemas::create))
        .route("/schemas/{id}", get(schemas::get).patch(schemas::update))
        .route("/issuers", get(issuers::list).post(issuers::create))
        .route("/issuers/{did}", get(issuers::get))
        .route("/issuers/{did}/publishing", get(issuers::publishing))
        .route("/overview", get(overview::get))
        .route("/credentials", get(credentials::list))
        .route("/credentials/{hash}", get(credentials::get))
        .route("/credentials/{hash}/document", get(credentials::document))
        .route("/credentials/{hash}/history", get(credentials::history))
        .route("/credentials/{hash}/revoke", post(credentials::revoke))
        .route("/programs", get(programs::list).post(programs::create))
        .route("/programs/{id}", get(programs::get).patch(programs::update))
        .route("/verification-programs", get(vps::list).post(vps::create))
        .route(
            "/verification-programs/{id}",
            get(vps::get).patch(vps::update),
        )
        .route("/programs/{id}/bulk-issuances", post(bulk::create))
        .route("/bulk-issuances", get(bulk::list))
        .route("/bulk-issuances/{id}", get(bulk::get))
        .route("/bulk-issuances/{id}/pause", post(bulk::pause))
        .route("/bulk-issuances/{id}/resume", post(bulk::resume))
        .route("/bulk-issuances/{id}/cancel", post(bulk::cancel))
        .route("/bulk-issuances/{id}/results", get(bulk::results))
        .route("/users", get(consent::list_users))
        .route("/users/email-conflicts", get(consent::email_conflicts))
        .route("/users/consent", put(consent::set).get(consent::list))
}
