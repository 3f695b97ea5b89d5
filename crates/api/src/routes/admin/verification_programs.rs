//! `/admin/v1/verification-programs`: create, read, list, and change (a `PATCH` with
//! `"enabled": false` disables one).

use crate::error::ApiError;
use crate::extract::{found, AdminState, Change, PathId};
use axum::Json;
use claimd_core::verification::{
    NewVerificationProgram, VerificationProgram, VerificationProgramId, VerificationProgramPatch,
};

create_route!(
    create,
    create_verification_program,
    NewVerificationProgram,
    VerificationProgram
);

pub async fn update(
    AdminState(s): AdminState,
    Change(id, req): Change<VerificationProgramId, VerificationProgramPatch>,
) -> Result<Json<VerificationProgram>, ApiError> {
    let updated = s.operator.update_verification_program(&id, req).await?;
    found::<VerificationProgramId, _>(updated)
}

pub async fn get(
    AdminState(s): AdminState,
    PathId(id): PathId<VerificationProgramId>,
) -> Result<Json<VerificationProgram>, ApiError> {
    found::<VerificationProgramId, _>(s.store.verification_program(&id).await?)
}

list_route!(list, list_verification_programs, VerificationProgram);
