//! `GET /admin/v1/overview`: what the service holds and how publishing keeps up, in one
//! answer (the dashboard's first page; `claimd admin` can print it too).

use crate::error::ApiError;
use crate::extract::AdminState;
use axum::Json;
use serde_json::{json, Value};

pub async fn get(AdminState(s): AdminState) -> Result<Json<Value>, ApiError> {
    // An unreachable database is a 503 like /readyz's; the answer names the backend.
    s.store
        .ping()
        .await
        .map_err(|e| ApiError::unavailable(&e))?;
    let database = json!({"backend": s.store.backend(), "ok": true});
    let counts = s.store.credential_counts().await?;
    let backlog = s.store.publish_backlog().await?;
    let now = s.operator.now();
    let hour_ago = now - chrono::Duration::hours(1);
    let issued = s.store.issued_per_minute(hour_ago).await?;
    let lags = s.store.publish_lags(hour_ago).await?;
    Ok(Json(json!({
        "credentials": {
            "issued": counts.issued(),
            "waitOnchain": counts.wait_onchain,
            "onchain": counts.onchain,
            "waitRemove": counts.wait_remove,
            "remove": counts.remove,
        },
        "publishing": {
            "pendingClaims": backlog.pending_claims,
            "pendingRevocations": backlog.pending_revocations,
            "transitionsInFlight": backlog.in_flight,
            "oldestPendingSeconds": backlog.oldest_pending.map(|t| (now - t).num_seconds().max(0)),
        },
        "database": database,
        // The last hour, for charts: credentials created per minute ([unix minute, count],
        // empty minutes left out) and confirmed transitions ([unix seconds, lag seconds]).
        "lastHour": {
            "since": hour_ago.timestamp(),
            "issuedPerMinute": issued,
            "publishLags": lags,
        },
    })))
}
