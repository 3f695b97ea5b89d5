use crate::error::ApiError;
use crate::extract::{Admin, ApiJson, Paging};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use claimd_core::page::Page;
use claimd_core::partner::{NewPartner, Partner, PartnerPatch};
use claimd_core::PartnerId;

fn unknown() -> ApiError {
    ApiError::not_found("Unknown partner")
}

fn parse_id(id: &str) -> Result<PartnerId, ApiError> {
    PartnerId::parse(id).ok_or_else(unknown)
}

pub async fn create(
    _: Admin,
    State(s): State<AppState>,
    ApiJson(req): ApiJson<NewPartner>,
) -> Result<(StatusCode, Json<Partner>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.operator.create_partner(req).await?),
    ))
}

pub async fn update(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PartnerPatch>,
) -> Result<Json<Partner>, ApiError> {
    let id = parse_id(&id)?;
    let updated = s
        .operator
        .update_partner(id, req)
        .await?
        .ok_or_else(unknown)?;
    // New keys take effect at once, not after the JWKS cache lifetime.
    s.auth.invalidate(&id.to_string());
    Ok(Json(updated))
}

pub async fn get(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Partner>, ApiError> {
    let id = parse_id(&id)?;
    s.store.partner(id).await?.map(Json).ok_or_else(unknown)
}

pub async fn list(
    _: Admin,
    State(s): State<AppState>,
    Paging(page): Paging,
) -> Result<Json<Page<Partner>>, ApiError> {
    Ok(Json(s.store.list_partners(page).await?))
}
