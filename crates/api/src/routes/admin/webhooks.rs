//! A partner's webhook endpoints under `/admin/v1/partners/{partnerId}/webhooks`: create (the
//! signing secret is in this answer only), list, read, change, delete, rotate the secret,
//! list deliveries with their attempts, replay events.

use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::extract::{unknown, AdminState, Change, PathId};
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

/// A partner's webhook endpoint, as the path names it.
type Endpoint = (PartnerId, WebhookEndpointId);

/// What was asked for, as JSON; `None` is the 404 of an unknown endpoint.
fn found<T>(answer: Option<T>) -> Result<Json<T>, ApiError> {
    crate::extract::found::<WebhookEndpointId, T>(answer)
}

#[derive(Serialize)]
pub struct Items<T> {
    items: Vec<T>,
}

pub async fn create(
    AdminState(s): AdminState,
    Change(p, req): Change<PartnerId, NewWebhookEndpoint>,
) -> Result<(StatusCode, Json<EndpointWithSecret>), ApiError> {
    let created = s.operator.create_webhook(p, req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn list(
    AdminState(s): AdminState,
    PathId(p): PathId<PartnerId>,
) -> Result<Json<Items<WebhookEndpoint>>, ApiError> {
    s.store.partner(p).await?.ok_or_else(unknown::<PartnerId>)?;
    Ok(Json(Items {
        items: s.store.list_webhook_endpoints(p).await?,
    }))
}

pub async fn get(
    AdminState(s): AdminState,
    PathId((p, e)): PathId<Endpoint>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    found(s.store.webhook_endpoint(p, e).await?)
}

pub async fn update(
    AdminState(s): AdminState,
    Change((p, e), req): Change<Endpoint, WebhookEndpointPatch>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    found(s.operator.update_webhook(p, e, req).await?)
}

pub async fn delete(
    AdminState(s): AdminState,
    PathId((p, e)): PathId<Endpoint>,
) -> Result<StatusCode, ApiError> {
    if s.store.delete_webhook_endpoint(p, e).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(unknown::<WebhookEndpointId>())
    }
}

pub async fn rotate(
    AdminState(s): AdminState,
    Change((p, e), req): Change<Endpoint, RotateWebhookSecret>,
) -> Result<Json<EndpointWithSecret>, ApiError> {
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
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
    PathId((p, e)): PathId<Endpoint>,
) -> Result<Json<Items<DeliveryView>>, ApiError> {
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
        .ok_or_else(unknown::<WebhookEndpointId>)?;
    Ok(Json(Items {
        items: s.store.webhook_deliveries(p, e, state, limit).await?,
    }))
}

/// `{"eventId"}` or `{"since"}`: queues the events again (same event ids) → 202 `{"queued"}`.
pub async fn replay(
    AdminState(s): AdminState,
    Change((p, e), req): Change<Endpoint, ReplayRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let one = req.event_id.is_some();
    let queued = s
        .operator
        .replay_webhooks(p, e, req)
        .await?
        .ok_or_else(unknown::<WebhookEndpointId>)?;
    if one && queued == 0 {
        return Err(ApiError::not_found("Unknown event"));
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": queued }))))
}
