//! The operator API under `/admin/v1` (DESIGN §3). Every route requires the bearer admin
//! token: each handler reaches the state only through the [`crate::extract::AdminState`]
//! extractor, which checks it.

/// `GET` of a listing: `?page=&limit=`, one store call, the page as JSON.
macro_rules! list_route {
    ($name:ident, $list:ident, $item:ty) => {
        pub async fn $name(
            crate::extract::AdminState(s): crate::extract::AdminState,
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
            crate::extract::AdminState(s): crate::extract::AdminState,
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

use super::Served;
use verification_programs as vps;

/// The operator API, relative to `/admin/v1` where it is nested.
pub fn routes() -> Served {
    served! {
        "/partners" => get(partners::list).post(partners::create),
        "/partners/{id}" => get(partners::get).patch(partners::update),
        "/partners/{id}/webhooks" => get(webhooks::list).post(webhooks::create),
        "/partners/{id}/webhooks/{endpoint}" =>
            get(webhooks::get).patch(webhooks::update).delete(webhooks::delete),
        "/partners/{id}/webhooks/{endpoint}/rotate" => post(webhooks::rotate),
        "/partners/{id}/webhooks/{endpoint}/deliveries" => get(webhooks::deliveries),
        "/partners/{id}/webhooks/{endpoint}/replay" => post(webhooks::replay),
        "/schemas" => get(schemas::list).post(schemas::create),
        "/schemas/{id}" => get(schemas::get).patch(schemas::update),
        "/issuers" => get(issuers::list).post(issuers::create),
        "/issuers/{did}" => get(issuers::get),
        "/issuers/{did}/publishing" => get(issuers::publishing),
        "/overview" => get(overview::get),
        "/credentials" => get(credentials::list),
        "/credentials/{hash}" => get(credentials::get),
        "/credentials/{hash}/document" => get(credentials::document),
        "/credentials/{hash}/history" => get(credentials::history),
        "/credentials/{hash}/revoke" => post(credentials::revoke),
        "/programs" => get(programs::list).post(programs::create),
        "/programs/{id}" => get(programs::get).patch(programs::update),
        "/verification-programs" => get(vps::list).post(vps::create),
        "/verification-programs/{id}" => get(vps::get).patch(vps::update),
        "/programs/{id}/bulk-issuances" => post(bulk::create),
        "/bulk-issuances" => get(bulk::list),
        "/bulk-issuances/{id}" => get(bulk::get),
        "/bulk-issuances/{id}/pause" => post(bulk::pause),
        "/bulk-issuances/{id}/resume" => post(bulk::resume),
        "/bulk-issuances/{id}/cancel" => post(bulk::cancel),
        "/bulk-issuances/{id}/results" => get(bulk::results),
        "/users" => get(consent::list_users),
        "/users/email-conflicts" => get(consent::email_conflicts),
        "/users/consent" => put(consent::set).get(consent::list),
    }
}
