use crate::error::ApiError;
use crate::extract::AdminState;
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::Path;
use axum::Json;
use claimd_core::issuer::{Issuer, NewIssuer};
use claimd_core::proofs::StateRoots;
use claimd_core::store::TransitionSummary;
use claimd_core::IssuerId;
use serde::Serialize;

create_route!(create, create_issuer, NewIssuer, Issuer);

/// By DID, or by issuer id.
pub async fn get(
    AdminState(s): AdminState,
    Path(key): Path<String>,
) -> Result<Json<Issuer>, ApiError> {
    find(&s, &key).await.map(Json)
}

async fn find(s: &AppState, key: &str) -> Result<Issuer, ApiError> {
    let found = match IssuerId::parse(key) {
        Some(id) => s.store.issuer(id).await?,
        None => s.store.issuer_by_did(key).await?,
    };
    found.ok_or_else(|| ApiError::not_found("Unknown issuer"))
}

/// How many recent transitions the publishing view lists by default, and at most.
const RECENT_TRANSITIONS: u32 = 20;
const MAX_TRANSITIONS: u32 = 10_000;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishingQuery {
    limit: Option<String>,
}

/// `GET /admin/v1/issuers/{did}/publishing[?limit=n]`: latest confirmed state, the transition
/// in flight, pending work and the `limit` (default 20) latest transitions.
pub async fn publishing(
    AdminState(s): AdminState,
    Path(key): Path<String>,
    ApiQuery(q): ApiQuery<PublishingQuery>,
) -> Result<Json<PublishingView>, ApiError> {
    let limit = crate::extract::limit(
        q.limit.as_deref(),
        RECENT_TRANSITIONS,
        MAX_TRANSITIONS,
        || format!("Invalid field limit: must be an integer from 1 to {MAX_TRANSITIONS}"),
    )?;
    let issuer = find(&s, &key).await?;
    let o = s.store.publishing_overview(issuer.issuer_id, limit).await?;
    Ok(Json(PublishingView {
        issuer_did: issuer.issuer_did,
        eth_address: issuer.eth_address,
        published: o.published.map(|p| PublishedView {
            roots: StateRoots::from(&p.roots),
            tx_hash: p.tx_hash,
            block_number: p.block_number,
            block_timestamp: p.block_timestamp,
        }),
        in_flight: o.in_flight.map(TransitionView::from),
        pending: Pending {
            claims: o.pending_claims,
            revocations: o.pending_revocations,
        },
        transitions: o.recent.into_iter().map(TransitionView::from).collect(),
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishingView {
    issuer_did: String,
    eth_address: String,
    published: Option<PublishedView>,
    in_flight: Option<TransitionView>,
    pending: Pending,
    transitions: Vec<TransitionView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublishedView {
    #[serde(flatten)]
    roots: StateRoots,
    tx_hash: String,
    block_number: u64,
    block_timestamp: u64,
}

#[derive(Serialize)]
struct Pending {
    claims: u64,
    revocations: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransitionView {
    id: i64,
    status: String,
    state: String,
    tx_hash: Option<String>,
    tx_nonce: Option<u64>,
    block_number: Option<u64>,
    failure: Option<String>,
    claims: u64,
    revocations: u64,
    created_at: String,
    /// When it reached its status (for `CONFIRMED`: when claimd saw it confirmed).
    updated_at: String,
}

impl From<TransitionSummary> for TransitionView {
    fn from(t: TransitionSummary) -> Self {
        TransitionView {
            id: t.id,
            status: t.status,
            state: t.new_state.to_le_hex(),
            tx_hash: t.tx_hash,
            tx_nonce: t.tx_nonce,
            block_number: t.block_number,
            failure: t.failure,
            claims: t.claims,
            revocations: t.revocations,
            created_at: t
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            updated_at: t
                .updated_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

list_route!(list, list_issuers, Issuer);
