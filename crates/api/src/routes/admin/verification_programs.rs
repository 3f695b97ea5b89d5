//! `/admin/v1/verification-programs`: create, read, list, and change (a `PATCH` with
//! `"enabled": false` disables one).

use crate::error::ApiError;
use crate::extract::{parse_id, AdminState, ApiJson, PathId};
use axum::extract::Path;
use axum::Json;
use claimd_core::verification::{
    NewVerificationProgram, VerificationProgram, VerificationProgramId, VerificationProgramPatch,
};

/// The 404 of a verification program that does not exist.
fn unknown() -> ApiError {
    crate::extract::unknown::<VerificationProgramId>()
}

create_route!(
    create,
    create_verification_program,
    NewVerificationProgram,
    VerificationProgram
);

pub async fn update(
    AdminState(s): AdminState,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<VerificationProgramPatch>,
) -> Result<Json<VerificationProgram>, ApiError> {
    let id = parse_id::<VerificationProgramId>(&id)?;
    s.operator
        .update_verification_program(&id, req)
        .await?
        .map(Json)
        .ok_or_else(unknown)
}

pub async fn get(
    AdminState(s): AdminState,
    PathId(id): PathId<VerificationProgramId>,
) -> Result<Json<VerificationProgram>, ApiError> {
    s.store
        .verification_program(&id)
        .await?
        .map(Json)
        .ok_or_else(unknown)
}

list_route!(list, list_verification_programs, VerificationProgram);
