use crate::error::ApiError;
use crate::extract::{Admin, ApiJson, Paging};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use claimd_core::issuer::{Issuer, NewIssuer};
use claimd_core::page::Page;
use claimd_core::IssuerId;

pub async fn create(
    _: Admin,
    State(s): State<AppState>,
    ApiJson(req): ApiJson<NewIssuer>,
) -> Result<(StatusCode, Json<Issuer>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.operator.create_issuer(req).await?),
    ))
}

/// By DID, or by issuer id.
pub async fn get(
    _: Admin,
    State(s): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<Issuer>, ApiError> {
    let found = match IssuerId::parse(&key) {
        Some(id) => s.store.issuer(id).await?,
        None => s.store.issuer_by_did(&key).await?,
    };
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found("Unknown issuer"))
}

pub async fn list(
    _: Admin,
    State(s): State<AppState>,
    Paging(page): Paging,
) -> Result<Json<Page<Issuer>>, ApiError> {
    Ok(Json(s.store.list_issuers(page).await?))
}
