use crate::error::ApiError;
use crate::extract::{parse_id, AdminState, ApiJson, PathId};
use axum::extract::Path;
use axum::Json;
use claimd_core::partner::{NewPartner, Partner, PartnerPatch};
use claimd_core::PartnerId;

/// The 404 of a partner that does not exist.
fn unknown() -> ApiError {
    crate::extract::unknown::<PartnerId>()
}

create_route!(create, create_partner, NewPartner, Partner);

pub async fn update(
    AdminState(s): AdminState,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PartnerPatch>,
) -> Result<Json<Partner>, ApiError> {
    let id = parse_id::<PartnerId>(&id)?;
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
    AdminState(s): AdminState,
    PathId(id): PathId<PartnerId>,
) -> Result<Json<Partner>, ApiError> {
    s.store.partner(id).await?.map(Json).ok_or_else(unknown)
}

list_route!(list, list_partners, Partner);
