use crate::error::ApiError;
use crate::extract::{Admin, ApiJson};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use claimd_core::partner::{NewPartner, Partner, PartnerPatch};
use claimd_core::PartnerId;

fn unknown() -> ApiError {
    ApiError::not_found("Unknown partner")
}

fn parse_id(id: &str) -> Result<PartnerId, ApiError> {
    PartnerId::parse(id).ok_or_else(unknown)
}

create_route!(create, create_partner, NewPartner, Partner);

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

list_route!(list, list_partners, Partner);
