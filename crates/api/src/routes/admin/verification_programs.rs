//! `/admin/v1/verification-programs`: create, read, list, and change (a `PATCH` with
//! `"enabled": false` disables one).

use crate::error::ApiError;
use crate::extract::{Admin, ApiJson};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use claimd_core::verification::{
    NewVerificationProgram, VerificationProgram, VerificationProgramId, VerificationProgramPatch,
};

fn unknown() -> ApiError {
    ApiError::not_found("Unknown verification program")
}

fn parse_id(id: &str) -> Result<VerificationProgramId, ApiError> {
    VerificationProgramId::parse(id).ok_or_else(unknown)
}

create_route!(
    create,
    create_verification_program,
    NewVerificationProgram,
    VerificationProgram
);

pub async fn update(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<VerificationProgramPatch>,
) -> Result<Json<VerificationProgram>, ApiError> {
    let id = parse_id(&id)?;
    s.operator
        .update_verification_program(&id, req)
        .await?
        .map(Json)
        .ok_or_else(unknown)
}

pub async fn get(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<VerificationProgram>, ApiError> {
    let id = parse_id(&id)?;
    s.store
        .verification_program(&id)
        .await?
        .map(Json)
        .ok_or_else(unknown)
}

list_route!(list, list_verification_programs, VerificationProgram);
