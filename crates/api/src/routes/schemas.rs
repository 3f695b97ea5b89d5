//! Public schema documents for verifiers and wallets: `GET /v1/schemas/{id}.json` (JSON Schema)
//! and `GET /v1/schemas/{id}.jsonld` (JSON-LD context).

use super::Served;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use claimd_core::SchemaId;

pub fn routes() -> Served {
    served! { "/v1/schemas/{file}" => get(schema_document) }
}

async fn schema_document(
    State(s): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::not_found("No schema found for the given id.");
    let (id, ext) = file.rsplit_once('.').ok_or_else(unknown)?;
    let id = SchemaId::parse(id).ok_or_else(unknown)?;
    let schema = s.store.schema(id).await?.ok_or_else(unknown)?;
    let (doc, content_type) = match ext {
        "json" => (
            schema.json_schema(&s.config.public_url),
            "application/schema+json",
        ),
        "jsonld" => (schema.jsonld_context(), "application/ld+json"),
        _ => return Err(unknown()),
    };
    // Schemas are immutable once created, so caches may keep them.
    Ok((
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=86400, immutable"),
        ],
        serde_json::to_string(&doc).map_err(|e| ApiError::internal(&e))?,
    )
        .into_response())
}
