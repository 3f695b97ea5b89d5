use crate::error::ApiError;
use crate::extract::{Admin, ApiJson, Paging};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use claimd_core::page::Page;
use claimd_core::program::{NewProgram, Program};
use claimd_core::ProgramId;

pub async fn create(
    _: Admin,
    State(s): State<AppState>,
    ApiJson(req): ApiJson<NewProgram>,
) -> Result<(StatusCode, Json<Program>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.operator.create_program(req).await?),
    ))
}

pub async fn get(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Program>, ApiError> {
    let unknown = || ApiError::not_found("Unknown issuance program");
    let id = ProgramId::parse(&id).ok_or_else(unknown)?;
    s.store.program(&id).await?.map(Json).ok_or_else(unknown)
}

pub async fn list(
    _: Admin,
    State(s): State<AppState>,
    Paging(page): Paging,
) -> Result<Json<Page<Program>>, ApiError> {
    Ok(Json(s.store.list_programs(page).await?))
}
