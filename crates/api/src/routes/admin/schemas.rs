use crate::error::ApiError;
use crate::extract::{found, AdminState, ApiJson, Change, Paging, PathId};
use crate::state::AppState;
use axum::http::StatusCode;
use axum::Json;
use claimd_core::page::Page;
use claimd_core::schema::{json_schema_url, jsonld_context_url, NewSchema, Schema};
use claimd_core::verification::VisibilityChange;
use claimd_core::SchemaId;
use serde::Serialize;

/// A schema with the URLs its documents are served at.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaView {
    #[serde(flatten)]
    schema: Schema,
    json_schema_url: String,
    json_ld_context_url: String,
}

fn view(s: &AppState, schema: Schema) -> SchemaView {
    SchemaView {
        json_schema_url: json_schema_url(&s.config.public_url, schema.schema_id),
        json_ld_context_url: jsonld_context_url(&s.config.public_url, schema.schema_id),
        schema,
    }
}

pub async fn create(
    AdminState(s): AdminState,
    ApiJson(req): ApiJson<NewSchema>,
) -> Result<(StatusCode, Json<SchemaView>), ApiError> {
    let schema = s.operator.create_schema(req).await?;
    Ok((StatusCode::CREATED, Json(view(&s, schema))))
}

pub async fn get(
    AdminState(s): AdminState,
    PathId(id): PathId<SchemaId>,
) -> Result<Json<SchemaView>, ApiError> {
    let schema = s.store.schema(id).await?;
    found::<SchemaId, _>(schema.map(|schema| view(&s, schema)))
}

pub async fn list(
    AdminState(s): AdminState,
    Paging(page): Paging,
) -> Result<Json<Page<SchemaView>>, ApiError> {
    let page = s.store.list_schemas(page).await?;
    Ok(Json(page.map(|schema| view(&s, schema))))
}

/// `PATCH`: the catalog flags (`discoverable`, `enabled`).
pub async fn update(
    AdminState(s): AdminState,
    Change(id, req): Change<SchemaId, VisibilityChange>,
) -> Result<Json<SchemaView>, ApiError> {
    let schema = s.operator.set_schema_visibility(id, req).await?;
    found::<SchemaId, _>(schema.map(|schema| view(&s, schema)))
}
