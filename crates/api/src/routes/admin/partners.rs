use crate::error::ApiError;
use crate::extract::{found, unknown, AdminState, Change, PathId};
use axum::Json;
use claimd_core::partner::{NewPartner, Partner, PartnerPatch};
use claimd_core::PartnerId;

create_route!(create, create_partner, NewPartner, Partner);

pub async fn update(
    AdminState(s): AdminState,
    Change(id, req): Change<PartnerId, PartnerPatch>,
) -> Result<Json<Partner>, ApiError> {
    let updated = s
        .operator
        .update_partner(id, req)
        .await?
        .ok_or_else(unknown::<PartnerId>)?;
    // New keys take effect at once, not after the JWKS cache lifetime.
    s.auth.invalidate(&id.to_string());
    Ok(Json(updated))
}

pub async fn get(
    AdminState(s): AdminState,
    PathId(id): PathId<PartnerId>,
) -> Result<Json<Partner>, ApiError> {
    found::<PartnerId, _>(s.store.partner(id).await?)
}

list_route!(list, list_partners, Partner);
