use crate::error::ApiError;
use crate::extract::{parse_id, unknown, AdminState, ApiJson, PathId};
use axum::extract::Path;
use axum::Json;
use claimd_core::program::{NewProgram, Program};
use claimd_core::ProgramId;

create_route!(create, create_program, NewProgram, Program);

pub async fn get(
    AdminState(s): AdminState,
    PathId(id): PathId<ProgramId>,
) -> Result<Json<Program>, ApiError> {
    s.store
        .program(&id)
        .await?
        .map(Json)
        .ok_or_else(unknown::<ProgramId>)
}

list_route!(list, list_programs, Program);

/// `PATCH`: the catalog flags (`discoverable`, `enabled`).
pub async fn update(
    AdminState(s): AdminState,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<claimd_core::verification::VisibilityChange>,
) -> Result<Json<Program>, ApiError> {
    let id = parse_id::<ProgramId>(&id)?;
    s.operator
        .set_program_visibility(&id, req)
        .await?
        .map(Json)
        .ok_or_else(unknown::<ProgramId>)
}
