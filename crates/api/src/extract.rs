//! Extractors that answer bad input in the API's error shape instead of axum's plain text.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use claimd_core::page::PageRequest;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// JSON body; malformed JSON or wrong types → 400 naming the problem, too large → 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

pub fn json_rejection(e: JsonRejection) -> ApiError {
    match e {
        JsonRejection::JsonDataError(e) => {
            ApiError::bad_request(format!("Invalid request body: {}", e.body_text()))
        }
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::bad_request("Request body is not valid JSON")
        }
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::bad_request("Expected Content-Type: application/json")
        }
        JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            too_large()
        }
        other => ApiError::bad_request(format!("Invalid request body: {}", other.body_text())),
    }
}

/// A body read as bytes that could not be read: too large → 413, anything else → 400.
pub fn bytes_rejection(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::bad_request("Cannot read the request body")
    }
}

fn too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large")
}

/// A query string read into `T`: a parameter of the wrong type, given twice, or (with
/// `deny_unknown_fields`) unknown → 400 in the error shape, not axum's plain text.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| query_rejection(&e))
    }
}

fn query_rejection(e: &QueryRejection) -> ApiError {
    let text = e.body_text();
    let detail = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(&text);
    ApiError::bad_request(format!("Invalid query: {detail}"))
}

/// `?page=&limit=` of listings (and nothing else: an unknown parameter is a 400).
pub struct Paging(pub PageRequest);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PagingQuery {
    page: Option<u32>,
    limit: Option<u32>,
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let q = axum::extract::Query::<PagingQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e: QueryRejection| query_rejection(&e))?;
        Ok(Paging(PageRequest::new(q.page, q.limit)?))
    }
}

/// A `limit` query parameter outside the page listings: `default` when absent, else a whole
/// number from 1 to `max`. Anything else is a 400 saying `refusal` (each API words its own
/// messages, and clients match them).
pub fn limit(
    given: Option<&str>,
    default: u32,
    max: u32,
    refusal: impl FnOnce() -> String,
) -> Result<u32, ApiError> {
    match given {
        None => Ok(default),
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::bad_request(refusal())),
    }
}

/// The state, for a request that carries the operator's bearer token: what every `/admin/v1`
/// handler takes, so that none can reach the state without the check.
pub struct AdminState(pub AppState);

impl FromRequestParts<AppState> for AdminState {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::unauthorized("Missing Authorization: Bearer <admin token>"))?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| ApiError::unauthorized("Authorization must be a Bearer token"))?;
        let expected = state.config.admin_token.as_bytes();
        if expected.is_empty() || !bool::from(token.trim().as_bytes().ct_eq(expected)) {
            return Err(ApiError::unauthorized("Invalid admin token"));
        }
        Ok(AdminState(state.clone()))
    }
}

/// The id of an operator resource in the path (`/partners/{partnerId}`, …), or the ids of a
/// resource below another (`(PartnerId, WebhookEndpointId)`). Text that cannot be such an id
/// is answered as an unknown resource is (404): either way nothing is there.
pub struct PathId<T>(pub T);

/// An id type of a resource the operator API serves, and what it answers for an unknown one.
pub trait ResourceId: Sized {
    /// The message of the 404: `Unknown partner`, …
    const UNKNOWN: &'static str;
    fn parse_id(s: &str) -> Option<Self>;
}

/// The 404 of a resource of kind `T` that does not exist.
pub fn unknown<T: ResourceId>() -> ApiError {
    ApiError::not_found(T::UNKNOWN)
}

/// `s` as an id of `T`, or the 404 of an unknown one.
pub fn parse_id<T: ResourceId>(s: &str) -> Result<T, ApiError> {
    T::parse_id(s).ok_or_else(unknown::<T>)
}

/// What the store found of a resource of kind `T`, as JSON; `None` is the 404 of its kind.
pub fn found<T: ResourceId, V>(v: Option<V>) -> Result<axum::Json<V>, ApiError> {
    v.map(axum::Json).ok_or_else(unknown::<T>)
}

/// What the path parameters of a route name: one resource id, or two (the first the parent),
/// parsed in order, the first that is not an id being the 404 of its kind.
pub trait PathIds: Sized {
    /// The parameters as text.
    type Raw: DeserializeOwned + Send;
    fn parse(raw: Self::Raw) -> Result<Self, ApiError>;
}

impl<T: ResourceId> PathIds for T {
    type Raw = String;
    fn parse(raw: String) -> Result<Self, ApiError> {
        parse_id(&raw)
    }
}

impl<A: ResourceId, B: ResourceId> PathIds for (A, B) {
    type Raw = (String, String);
    fn parse((a, b): (String, String)) -> Result<Self, ApiError> {
        Ok((parse_id(&a)?, parse_id(&b)?))
    }
}

/// The path's parameters as text, before they are judged.
async fn raw_ids<T: PathIds, S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<T::Raw, Response> {
    Path::<T::Raw>::from_request_parts(parts, state)
        .await
        .map(|Path(raw)| raw)
        .map_err(IntoResponse::into_response)
}

impl<T: PathIds, S: Send + Sync> FromRequestParts<S> for PathId<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = raw_ids::<T, S>(parts, state).await?;
        T::parse(raw)
            .map(PathId)
            .map_err(IntoResponse::into_response)
    }
}

/// A change of a resource: its ids in the path (as [`PathId`]) and the JSON body. The body
/// is judged first, so that a bad body is its 400 even at an id that names nothing.
pub struct Change<T, B>(pub T, pub B);

impl<T: PathIds, B: DeserializeOwned, S: Send + Sync> FromRequest<S> for Change<T, B> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let raw = raw_ids::<T, S>(&mut parts, state).await?;
        let ApiJson(body) = ApiJson::<B>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ids = T::parse(raw).map_err(IntoResponse::into_response)?;
        Ok(Change(ids, body))
    }
}

macro_rules! resource_ids {
    ($($id:ty => $unknown:literal),* $(,)?) => {$(
        impl ResourceId for $id {
            const UNKNOWN: &'static str = $unknown;
            fn parse_id(s: &str) -> Option<Self> {
                <$id>::parse(s)
            }
        }
    )*};
}

resource_ids! {
    claimd_core::PartnerId => "Unknown partner",
    claimd_core::SchemaId => "Unknown schema",
    claimd_core::ProgramId => "Unknown issuance program",
    claimd_core::verification::VerificationProgramId => "Unknown verification program",
    claimd_core::WebhookEndpointId => "Unknown webhook endpoint",
}

/// The client's IP address, when the connection is known (a server started by
/// [`crate::server`]; not a router driven in process).
pub struct PeerIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(PeerIp(
            crate::server::peer(&parts.extensions).map(|a| a.ip()),
        ))
    }
}
