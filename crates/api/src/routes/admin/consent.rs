use crate::error::ApiError;
use crate::extract::{Admin, ApiJson, Paging};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use claimd_core::page::Page;
use claimd_core::user::{Consent, ConsentRequest, EmailConflict, User};

pub async fn set(
    _: Admin,
    State(s): State<AppState>,
    ApiJson(req): ApiJson<ConsentRequest>,
) -> Result<Json<Consent>, ApiError> {
    Ok(Json(s.operator.set_consent(req).await?))
}

pub async fn list(
    _: Admin,
    State(s): State<AppState>,
    Paging(page): Paging,
) -> Result<Json<Page<Consent>>, ApiError> {
    Ok(Json(s.store.list_consents(page).await?))
}

pub async fn list_users(
    _: Admin,
    State(s): State<AppState>,
    Paging(page): Paging,
) -> Result<Json<Page<User>>, ApiError> {
    Ok(Json(s.store.list_users(page).await?))
}

/// Stored addresses the email re-normalisation could not rewrite without merging two users,
/// kept for the operator to resolve.
pub async fn email_conflicts(
    _: Admin,
    State(s): State<AppState>,
) -> Result<Json<Vec<EmailConflict>>, ApiError> {
    Ok(Json(s.store.email_conflicts().await?))
}
