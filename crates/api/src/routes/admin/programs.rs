use crate::error::ApiError;
use crate::extract::Admin;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use claimd_core::program::{NewProgram, Program};
use claimd_core::ProgramId;

create_route!(create, create_program, NewProgram, Program);

pub async fn get(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Program>, ApiError> {
    let unknown = || ApiError::not_found("Unknown issuance program");
    let id = ProgramId::parse(&id).ok_or_else(unknown)?;
    s.store.program(&id).await?.map(Json).ok_or_else(unknown)
}

list_route!(list, list_programs, Program);

/// `PATCH`: the catalog flags (`discoverable`, `enabled`).
pub async fn update(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
    crate::extract::ApiJson(req): crate::extract::ApiJson<
        claimd_core::verification::VisibilityChange,
    >,
) -> Result<Json<Program>, ApiError> {
    let unknown = || ApiError::not_found("Unknown issuance program");
    let id = ProgramId::parse(&id).ok_or_else(unknown)?;
    s.operator
        .set_program_visibility(&id, req)
        .await?
        .map(Json)
        .ok_or_else(unknown)
}
