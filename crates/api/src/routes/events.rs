//! `GET /v1/events?after=<eventId>&limit=`: a partner reads its credential events without
//! webhooks (the same events, ids and bodies the webhooks deliver), oldest first, by cursor.

use super::Served;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::partner_auth::PartnerAuth;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use claimd_core::webhook::EventView;
use serde::Serialize;

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 500;

pub fn routes() -> Served {
    served! { "/v1/events" => get(events) }
}

/// A page of events and the cursor of the next call.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventsPage {
    events: Vec<EventView>,
    /// The id to pass as `after` next time: the last event of this page, or the cursor given
    /// when there is nothing new (`null` when there are no events yet).
    next_after: Option<String>,
}

/// An event id as claimd mints them: `evt_` and 32 lowercase hex digits.
fn is_event_id(s: &str) -> bool {
    s.len() == 36
        && s.starts_with("evt_")
        && s[4..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    after: Option<String>,
    limit: Option<String>,
}

async fn events(
    State(s): State<AppState>,
    partner: PartnerAuth,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<EventsPage>, ApiError> {
    let limit = crate::extract::limit(q.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT, || {
        format!("limit: must be between 1 and {MAX_LIMIT}")
    })?;
    let after = q.after.as_deref().map(str::trim).filter(|a| !a.is_empty());
    if let Some(a) = after {
        if !is_event_id(a) {
            return Err(ApiError::bad_request(
                "after: must be an event id (evt_ and 32 hex digits)",
            ));
        }
    }
    let found = s
        .store
        .partner_events(partner.partner_id, after, limit)
        .await?
        .ok_or_else(|| ApiError::not_found("after: no event of this partner has that id"))?;
    let events: Vec<EventView> = found.iter().map(|e| e.view()).collect();
    let next_after = events
        .last()
        .map(|e| e.event_id.clone())
        .or_else(|| after.map(str::to_owned));
    Ok(Json(EventsPage { events, next_after }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_ids() {
        let id = claimd_core::webhook::new_event_id();
        assert!(super::is_event_id(&id), "{id}");
        assert!(!super::is_event_id("evt_XYZ"));
        assert!(!super::is_event_id(&id.to_uppercase()));
    }
}
