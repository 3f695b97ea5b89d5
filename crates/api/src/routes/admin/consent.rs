use crate::error::ApiError;
use crate::extract::{AdminState, ApiJson};
use axum::Json;
use claimd_core::user::{Consent, ConsentRequest, EmailConflict, User};

pub async fn set(
    AdminState(s): AdminState,
    ApiJson(req): ApiJson<ConsentRequest>,
) -> Result<Json<Consent>, ApiError> {
    Ok(Json(s.operator.set_consent(req).await?))
}

list_route!(list, list_consents, Consent);
list_route!(list_users, list_users, User);

/// Stored addresses the email re-normalisation could not rewrite without merging two users,
/// kept for the operator to resolve.
pub async fn email_conflicts(
    AdminState(s): AdminState,
) -> Result<Json<Vec<EmailConflict>>, ApiError> {
    Ok(Json(s.store.email_conflicts().await?))
}
