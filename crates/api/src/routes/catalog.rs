//! The public catalog under `/v1/catalog/` (docs/DESIGN.md, "The catalog"): no
//! authentication; a success is `{"code": 80000000, "msg": "success", "data": …,
//! "timestamp": <ms>}`, an error the API's usual `{"error", "message"}`. A bad parameter is a
//! 400 naming it; an unknown or hidden id a 404.

use super::Served;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::Json;
use claimd_core::catalog::{
    Browse, CredentialDetail, ProgramCard, ProgramDetail, ProgramSort, RawParams, SchemaCard,
    SchemaDetail, SchemaSort, SearchResults, SortField,
};
use claimd_core::page::Page;
use claimd_core::store::StoreError;
use claimd_core::verification::VerificationProgramId;
use claimd_core::{ProgramId, SchemaId};
use serde::Serialize;
use std::future::Future;

/// The success code of Moca's catalog envelope.
pub const SUCCESS: u32 = 80_000_000;

pub fn routes() -> Served {
    served! {
        "/v1/catalog/schemas" => get(schemas),
        "/v1/catalog/schemas/{id}" => get(schema),
        "/v1/catalog/credentials/{id}" => get(credential),
        "/v1/catalog/programs" => get(programs),
        "/v1/catalog/programs/{id}" => get(program),
        "/v1/catalog/search" => get(search),
    }
}

#[derive(Serialize)]
pub struct Envelope<T> {
    code: u32,
    msg: &'static str,
    data: T,
    timestamp: i64,
}

fn ok<T>(s: &AppState, data: T) -> Json<Envelope<T>> {
    Json(Envelope {
        code: SUCCESS,
        msg: "success",
        data,
        timestamp: s.operator.now().timestamp_millis(),
    })
}

/// A page in the catalog's shape.
#[derive(Serialize)]
pub struct Paged<T> {
    current: u32,
    pages: u64,
    size: u32,
    total: u64,
    records: Vec<T>,
}

impl<T> From<Page<T>> for Paged<T> {
    fn from(p: Page<T>) -> Self {
        Paged {
            current: p.page,
            pages: p.total.div_ceil(u64::from(p.limit)),
            size: p.limit,
            total: p.total,
            records: p.items,
        }
    }
}

/// The query string, each value as text (the core checks and names a bad one).
struct Params(RawParams);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<RawParams>::from_request_parts(parts, state)
            .await
            .map(|q| Params(q.0))
            .map_err(|e| ApiError::bad_request(format!("Invalid query string: {}", e.body_text())))
    }
}

type Answer<T> = Result<Json<Envelope<T>>, ApiError>;

/// A page of listed entries in the catalog's shape, browsed by the query's paging and sort
/// (`S`, whose names the query may use), read by `fetch`.
async fn browse<S: SortField, T, Fut>(
    s: &AppState,
    p: &RawParams,
    fetch: impl FnOnce(Browse<S>) -> Fut,
) -> Answer<Paged<T>>
where
    Fut: Future<Output = Result<Page<T>, StoreError>>,
{
    let b = p.browse::<S>().map_err(ApiError::invalid_parameter)?;
    Ok(ok(s, fetch(b).await?.into()))
}

/// The detail of one listed entry, read by `fetch` once `id` (the path's, parsed) is one. An
/// id that does not parse and one that names nothing listed are the same 404,
/// `{what} not found`: a hidden entry is not told apart from an absent one.
async fn detail<I, T, Fut>(
    s: &AppState,
    what: &str,
    id: Option<I>,
    fetch: impl FnOnce(I) -> Fut,
) -> Answer<T>
where
    Fut: Future<Output = Result<Option<T>, StoreError>>,
{
    let unknown = || ApiError::not_found(format!("{what} not found"));
    let found = fetch(id.ok_or_else(unknown)?).await?;
    Ok(ok(s, found.ok_or_else(unknown)?))
}

async fn schemas(State(s): State<AppState>, Params(p): Params) -> Answer<Paged<SchemaCard>> {
    browse(&s, &p, |b| s.store.catalog_schemas(b)).await
}

async fn schema(State(s): State<AppState>, Path(id): Path<String>) -> Answer<SchemaDetail> {
    let fetch = |id| s.store.catalog_schema(id);
    detail(&s, "Schema", SchemaId::parse(&id), fetch).await
}

async fn credential(State(s): State<AppState>, Path(id): Path<String>) -> Answer<CredentialDetail> {
    let store = &s.store;
    let fetch = |id| async move { store.catalog_credential(&id).await };
    detail(&s, "Credential", ProgramId::parse(&id), fetch).await
}

async fn programs(State(s): State<AppState>, Params(p): Params) -> Answer<Paged<ProgramCard>> {
    browse(&s, &p, |b| s.store.catalog_programs(b)).await
}

async fn program(State(s): State<AppState>, Path(id): Path<String>) -> Answer<ProgramDetail> {
    let store = &s.store;
    let fetch = |id| async move { store.catalog_program(&id).await };
    detail(&s, "Program", VerificationProgramId::parse(&id), fetch).await
}

async fn search(State(s): State<AppState>, Params(p): Params) -> Answer<SearchResults> {
    let q = p.search().map_err(ApiError::invalid_parameter)?;
    Ok(ok(&s, s.store.catalog_search(&q).await?))
}

/// This module's part of `/openapi.json`: the six operations (paths under the document's
/// `/v1` server) and the schemas they name.
pub fn openapi() -> (serde_json::Value, serde_json::Value) {
    use claimd_core::catalog::{
        DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, MAX_QUERY_CHARS, MAX_SEARCH_LIMIT,
    };
    use serde_json::json;
    let int = |t: &str| json!({"type": t});
    let error = |status: u16, description: &str, example: &str| {
        json!({"description": description, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"},
            "example": {"error": status, "message": example}}}})
    };
    let bad = error(
        400,
        "A parameter is outside its range; the message names it.",
        "Invalid parameter limit: must be an integer from 1 to 100",
    );
    let page = json!({"name": "page", "in": "query", "required": false,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}});
    let limit = |max: u32, what: &str| {
        json!({"name": "limit", "in": "query", "required": false,
        "description": what,
        "schema": {"type": "integer", "minimum": 1, "maximum": max, "default": DEFAULT_LIMIT}})
    };
    let sort_by = |names: &[&str]| {
        json!({"name": "sortBy", "in": "query", "required": false,
        "schema": {"type": "string", "enum": names, "default": "created_at"}})
    };
    let sort_order = json!({"name": "sortOrder", "in": "query", "required": false,
        "schema": {"type": "string", "enum": ["ASC", "DESC"], "default": "DESC"}});
    let id = |example: &str| {
        json!({"name": "id", "in": "path", "required": true,
        "schema": {"type": "string"}, "example": example})
    };
    let envelope = |data: serde_json::Value| {
        json!({"description": "Success, in the catalog envelope.",
        "content": {"application/json": {"schema": {"allOf": [
            {"$ref": "#/components/schemas/CatalogApiResponse"},
            {"type": "object", "properties": {"data": data}}]}}}})
    };
    let paged = |record: &str| {
        json!({"type": "object",
        "required": ["current", "pages", "size", "total", "records"],
        "properties": {"current": int("integer"), "pages": int("integer"), "size": int("integer"),
            "total": int("integer"),
            "records": {"type": "array", "items": {"$ref": format!("#/components/schemas/{record}")}}}})
    };
    let op = |id: &str,
              summary: &str,
              params: serde_json::Value,
              data: serde_json::Value,
              extra: serde_json::Value| {
        let mut responses = json!({"200": envelope(data)});
        for (k, v) in extra.as_object().unwrap() {
            responses[k] = v.clone();
        }
        json!({"get": {"tags": ["Catalog"], "operationId": id, "summary": summary,
            "security": [], "parameters": params, "responses": responses}})
    };
    let schema_sorts: Vec<&str> = SchemaSort::NAMES.iter().map(|(n, _)| *n).collect();
    let program_sorts: Vec<&str> = ProgramSort::NAMES.iter().map(|(n, _)| *n).collect();
    let browse_limit = format!("Records per page (1 to {MAX_LIMIT}).");
    let search_limit = format!("Items per group (1 to {MAX_SEARCH_LIMIT}).");
    let r = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let paths = json!({
        "/catalog/schemas": op("listSchemas", "Browse the listed (discoverable and enabled) schemas",
            json!([page, limit(MAX_LIMIT, &browse_limit), sort_by(&schema_sorts), sort_order]),
            paged("CatalogSchema"), json!({"400": bad})),
        "/catalog/schemas/{id}": op("getSchemaDetail", "A listed schema and its listed credentials (issuance programs; at most 100, newest first)",
            json!([id("3f0c5b0e-3c51-4a36-9c1c-4a4f3c2f1b7e")]), r("CatalogSchemaDetail"),
            json!({"404": error(404, "Unknown or not listed.", "Schema not found")})),
        "/catalog/credentials/{id}": op("getCredentialDetail", "A listed credential (issuance program): issuer, data points, schema, traction, the listed verification programs accepting it (at most 100)",
            json!([id("c21s70g0i54sn0023172Cv")]), r("CatalogCredentialDetail"),
            json!({"404": error(404, "Unknown or not listed.", "Credential not found")})),
        "/catalog/programs": op("listPrograms", "Browse the listed verification programs",
            json!([page, limit(MAX_LIMIT, &browse_limit), sort_by(&program_sorts), sort_order]),
            paged("CatalogProgram"), json!({"400": bad})),
        "/catalog/programs/{id}": op("getProgramDetail", "A listed verification program, its listed accepted credentials with their conditions, its verifier",
            json!([id("prg_4kT9aQ2mX8pL0vB7nR3sW")]), r("CatalogProgramDetail"),
            json!({"404": error(404, "Unknown or not listed.", "Program not found")})),
        "/catalog/search": op("searchCatalog", "Ranked full-text search over listed credentials (id, name, category, schema title), issuers (name) and verification programs (name, verifier name). Every word of q must match the start of a word of an entry; each group is paged separately.",
            json!([{"name": "q", "in": "query", "required": true,
                    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS}},
                   page, limit(MAX_SEARCH_LIMIT, &search_limit)]),
            r("CatalogSearch"), json!({"400": bad})),
    });
    let s = |t: &str| json!({"type": t});
    let issuer_ref =
        json!({"type": "object", "properties": {"issuerId": s("string"), "name": s("string")}});
    let group = |item: serde_json::Value| {
        json!({"type": "object", "required": ["items", "total"],
        "properties": {"items": {"type": "array", "items": item}, "total": s("integer")}})
    };
    let date = json!({"type": "string", "format": "date-time"});
    let schemas = json!({
        "CatalogApiResponse": {"type": "object", "required": ["code", "msg", "data", "timestamp"],
            "properties": {"code": {"type": "integer", "enum": [SUCCESS]}, "msg": {"type": "string", "example": "success"},
                "data": {}, "timestamp": {"type": "integer", "description": "Milliseconds since the Unix epoch."}}},
        "CatalogSchema": {"type": "object", "properties": {"schemaId": s("string"), "title": s("string"),
            "description": s("string"),
            "credentialCount": {"type": "integer", "description": "Listed credentials (issuance programs) of the schema."},
            "providerCount": {"type": "integer", "description": "Distinct issuers of those."}}},
        "CatalogSchemaDetail": {"type": "object", "properties": {"schemaId": s("string"), "title": s("string"),
            "description": s("string"), "credentials": {"type": "array", "items": {"type": "object", "properties": {
                "credentialId": s("string"), "name": s("string"), "category": s("string"), "issuer": issuer_ref,
                "traction": {"type": "object", "properties": {
                    "holderCount": {"type": "integer", "description": "Live credentials (one per holder)."},
                    "issuanceCount": {"type": "integer", "description": "Credentials ever issued."},
                    "demandCount": {"type": "integer", "description": "Listed verification programs accepting it."}}},
                "createdAt": date}}}}},
        "CatalogCredentialDetail": {"type": "object", "properties": {"credentialId": s("string"), "name": s("string"),
            "category": s("string"),
            "issuer": {"type": "object", "properties": {"issuerId": s("string"), "name": s("string"),
                "issuerDid": s("string"), "issuerFrom": {"type": "string", "enum": ["dashboard"]}}},
            "dataPoints": {"type": "array", "items": {"type": "object", "properties": {"title": s("string"),
                "type": {"type": "string", "enum": ["string", "integer", "number", "boolean", "date"]},
                "name": s("string"), "isRequired": s("boolean"), "description": s("string")}}},
            "schema": {"type": "object", "properties": {"schemaId": s("string"), "title": s("string"), "description": s("string")}},
            "traction": {"type": "object", "properties": {"holderCount": s("integer"), "issuanceCount": s("integer"), "verificationCount": s("integer")}},
            "programs": {"type": "array", "items": {"type": "object", "properties": {"programId": s("string"),
                "name": s("string"), "verifierName": s("string"), "verificationCount": s("integer")}}},
            "createdAt": date}},
        "CatalogProgram": {"type": "object", "properties": {"programId": s("string"), "name": s("string"),
            "description": s("string"), "verificationCount": s("integer"),
            "credentialCount": {"type": "integer", "description": "Credentials (issuance programs) it accepts."},
            "createdAt": date}},
        "CatalogProgramDetail": {"type": "object", "properties": {"programId": s("string"), "name": s("string"),
            "description": s("string"),
            "acceptedCredentials": {"type": "array", "items": {"type": "object", "properties": {
                "credentialId": s("string"), "name": s("string"), "category": s("string"),
                "holderCount": s("integer"), "issuanceCount": s("integer"),
                "verificationConditions": {"type": "array", "items": {"type": "string", "example": "age >= 18"}}}}},
            "verifierInfo": {"type": "object", "properties": {"verifierId": s("string"), "name": s("string"), "verifierDid": s("string")}},
            "traction": {"type": "object", "properties": {"verificationCount": s("integer")}},
            "pricingModel": {"type": "string", "enum": ["per-verification", "free"]},
            "createdAt": date}},
        "CatalogSearch": {"type": "object", "properties": {
            "credentials": group(json!({"type": "object", "properties": {"credentialId": s("string"), "name": s("string"),
                "category": s("string"), "relevance": s("number"), "issuer": issuer_ref}})),
            "issuers": group(json!({"type": "object", "properties": {"issuerId": s("string"), "name": s("string"),
                "issuerDid": s("string"), "relevance": s("number")}})),
            "programs": group(json!({"type": "object", "properties": {"programId": s("string"), "name": s("string"),
                "verificationCount": s("integer"), "relevance": s("number")}})),
            "meta": {"type": "object", "properties": {"query": s("string"), "totalResults": s("integer")}}}},
    });
    (paths, schemas)
}
