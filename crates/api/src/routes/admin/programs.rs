use crate::error::ApiError;
use crate::extract::{found, AdminState, Change, PathId};
use axum::Json;
use claimd_core::program::{NewProgram, Program};
use claimd_core::verification::VisibilityChange;
use claimd_core::ProgramId;

create_route!(create, create_program, NewProgram, Program);

pub async fn get(
    AdminState(s): AdminState,
    PathId(id): PathId<ProgramId>,
) -> Result<Json<Program>, ApiError> {
    found::<ProgramId, _>(s.store.program(&id).await?)
}

list_route!(list, list_programs, Program);

/// `PATCH`: the catalog flags (`discoverable`, `enabled`).
pub async fn update(
    AdminState(s): AdminState,
    Change(id, req): Change<ProgramId, VisibilityChange>,
) -> Result<Json<Program>, ApiError> {
    found::<ProgramId, _>(s.operator.set_program_visibility(&id, req).await?)
}
