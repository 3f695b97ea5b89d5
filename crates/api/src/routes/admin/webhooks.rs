//! A partner's webhook endpoints under `/admin/v1/partners/{partnerId}/webhooks`: create (the
//! signing secret is in this answer only), list, read, change, delete, rotate the secret,
//! list deliveries with their attempts, replay events.

use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::extract::{parse_id, unknown, AdminState, ApiJson};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::Json;
use claimd_core::webhook::{
    DeliveryState, DeliveryView, EndpointWithSecret, NewWebhookEndpoint, ReplayRequest,
    RotateWebhookSecret, WebhookEndpoint, WebhookEndpointPatch,
};
use claimd_core::{PartnerId, WebhookEndpointId};
use serde::Serialize;
use serde_json::json;

/// Most deliveries one listing returns.
const MAX_DELIVERIES: u32 = 500;

fn unknown_endpoint() -> ApiError {
    ApiError::not_found("Unknown webhook endpoint")
}

/// What was asked for, as JSON; `None` is the 404 of an unknown endpoint.
fn found<T>(answer: Option<T>) -> Result<Json<T>, ApiError> {
    answer.map(Json).ok_or_else(unknown_endpoint)
}

fn partner(id: &str) -> Result<PartnerId, ApiError> {
    parse_id(id)
}

fn ids(p: &str, e: &str) -> Result<(PartnerId, WebhookEndpointId), ApiError> {
    Ok((
        partner(p)?,
        WebhookEndpointId::parse(e).ok_or_else(unknown_endpoint)?,
    ))
}

#[derive(Serialize)]
pub struct Items<T> {
    items: Vec<T>,
}

pub async fn create(
    AdminState(s): AdminState,
    Path(p): Path<String>,
    ApiJson(req): ApiJson<NewWebhookEndpoint>,
) -> Result<(StatusCode, Json<EndpointWithSecret>), ApiError> {
    let created = s.operator.create_webhook(partner(&p)?, req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn list(
    AdminState(s): AdminState,
    Path(p): Path<String>,
) -> Result<Json<Items<WebhookEndpoint>>, ApiError> {
    let p = partner(&p)?;
    s.store.partner(p).await?.ok_or_else(unknown::<PartnerId>)?;
    Ok(Json(Items {
        items: s.store.list_webhook_endpoints(p).await?,
    }))
}

pub async fn get(
    AdminState(s): AdminState,
    Path((p, e)): Path<(String, String)>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let (p, e) = ids(&p, &e)?;
    found(s.store.webhook_endpoint(p, e).await?)
}

pub async fn update(
    AdminState(s): AdminState,
    Path((p, e)): Path<(String, String)>,
    ApiJson(req): ApiJson<WebhookEndpointPatch>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let (p, e) = ids(&p, &e)?;
    found(s.operator.update_webhook(p, e, req).await?)
}

pub async fn delete(
    AdminState(s): AdminState,
    Path((p, e)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (p, e) = ids(&p, &e)?;
    if s.store.delete_webhook_endpoint(p, e).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(unknown_endpoint())
    }
}

pub async fn rotate(
    AdminState(s): AdminState,
    Path((p, e)): Path<(String, String)>,
    ApiJson(req): ApiJson<RotateWebhookSecret>,
) -> Result<Json<EndpointWithSecret>, ApiError> {
    let (p, e) = ids(&p, &e)?;
    found(s.operator.rotate_webhook_secret(p, e, req).await?)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    state: Option<String>,
    limit: Option<String>,
}

/// `?state=PENDING|DELIVERED|DEAD&limit=` (default 50, at most 500), newest first.
pub async fn deliveries(
    AdminState(s): AdminState,
    Path((p, e)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<Json<Items<DeliveryView>>, ApiError> {
    let (p, e) = ids(&p, &e)?;
    let state = match q.state.as_deref() {
        None => None,
        Some("PENDING") => Some(DeliveryState::Pending),
        Some("DELIVERED") => Some(DeliveryState::Delivered),
        Some("DEAD") => Some(DeliveryState::Dead),
        Some(_) => {
            return Err(ApiError::bad_request(
                "state: must be one of PENDING, DELIVERED, DEAD",
            ))
        }
    };
    let limit = crate::extract::limit(q.limit.as_deref(), 50, MAX_DELIVERIES, || {
        format!("limit: must be between 1 and {MAX_DELIVERIES}")
    })?;
    s.store
        .webhook_endpoint(p, e)
        .await?
        .ok_or_else(unknown_endpoint)?;
    Ok(Json(Items {
        items: s.store.webhook_deliveries(p, e, state, limit).await?,
    }))
}

/// `{"eventId"}` or `{"since"}`: queues the events again (same event ids) → 202 `{"queued"}`.
pub async fn replay(
    AdminState(s): AdminState,
    Path((p, e)): Path<(String, String)>,
    ApiJson(req): ApiJson<ReplayRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let (p, e) = ids(&p, &e)?;
    let one = req.event_id.is_some();
    let queued = s
        .operator
        .replay_webhooks(p, e, req)
        .await?
        .ok_or_else(unknown_endpoint)?;
    if one && queued == 0 {
        return Err(ApiError::not_found("Unknown event"));
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": queued }))))
}
