//! Bulk issuance (`/admin/v1/programs/{credentialId}/bulk-issuances`,
//! `/admin/v1/bulk-issuances/…`): the upload is streamed into storage as it arrives, the rest is
//! one call each to [`claimd_core::bulk::service::Bulk`].

use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::extract::{AdminState, Paging};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use claimd_core::bulk::service::Results;
use claimd_core::bulk::{Control, Format, JobView};
use claimd_core::page::Page;
use futures::StreamExt;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateQuery {
    validate_only: Option<String>,
}

/// `POST /programs/{credentialId}/bulk-issuances`: 202 and the job once the whole file is
/// stored and its shape checked; the rows are checked and issued in the background.
pub async fn create(
    AdminState(s): AdminState,
    Path(program): Path<String>,
    ApiQuery(q): ApiQuery<CreateQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    let validate_only = match q.validate_only.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "Invalid query: validateOnly must be true or false",
            ))
        }
    };
    let format = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(Format::from_content_type)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Expected Content-Type: text/csv or application/x-ndjson (JSON Lines)",
            )
        })?;
    let mut upload = s.bulk.start_upload(&program, format, validate_only).await?;
    let mut stream = body.into_data_stream();
    let received = async {
        while let Some(frame) = stream.next().await {
            let bytes = frame.map_err(|_| ApiError::bad_request("Cannot read the request body"))?;
            upload.push(&bytes).await?;
        }
        Ok::<_, ApiError>(upload.finish().await?)
    }
    .await;
    let view = match received {
        Ok(view) => view,
        Err(e) => {
            // Nothing of a refused upload is kept.
            if let Err(cleanup) = upload.abort().await {
                tracing::warn!(error = %cleanup, "a refused upload's job could not be deleted");
            }
            return Err(e);
        }
    };
    tracing::info!(job_id = %view.job_id, rows = view.rows.counts.total, validate_only, "bulk issuance job created");
    Ok((StatusCode::ACCEPTED, Json(view)))
}

pub async fn list(
    AdminState(s): AdminState,
    Paging(page): Paging,
) -> Result<Json<Page<JobView>>, ApiError> {
    Ok(Json(s.bulk.list(page).await?))
}

pub async fn get(
    AdminState(s): AdminState,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(s.bulk.job(&id).await?))
}

async fn control(s: &AppState, id: &str, c: Control) -> Result<Json<JobView>, ApiError> {
    let view = s.bulk.control(id, c).await?;
    tracing::info!(job_id = %view.job_id, action = c.as_str(), state = view.state, "bulk issuance job changed by the operator");
    Ok(Json(view))
}

/// The handlers of `POST /bulk-issuances/{jobId}/pause|resume|cancel`, one per [`Control`].
macro_rules! control_handlers {
    ($($name:ident => $control:expr),* $(,)?) => {$(
        pub async fn $name(
            AdminState(s): AdminState,
            Path(id): Path<String>,
        ) -> Result<Json<JobView>, ApiError> {
            control(&s, &id, $control).await
        }
    )*};
}

control_handlers!(
    pause => Control::Pause,
    resume => Control::Resume,
    cancel => Control::Cancel,
);

/// `GET /bulk-issuances/{jobId}/results`: the rows as CSV, streamed a page at a time.
pub async fn results(
    AdminState(s): AdminState,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (job, results) = s.bulk.results(&id).await?;
    let header_line = futures::stream::once(async {
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(Results::HEADER.as_bytes()))
    });
    let pages = futures::stream::unfold(Some(results), |state| async move {
        let mut results = state?;
        match results.next_page().await {
            Ok(rows) if rows.is_empty() => None,
            Ok(rows) => {
                let text: String = rows.iter().map(|r| results.csv_line(r)).collect();
                Some((Ok(bytes::Bytes::from(text)), Some(results)))
            }
            Err(e) => {
                // The status line is sent already: cut the body so the client sees an error.
                tracing::error!(error = %e, "bulk results could not be read");
                Some((Err(std::io::Error::other("results unavailable")), None))
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"bulk-{}-results.csv\"", job.job_id),
            ),
        ],
        Body::from_stream(header_line.chain(pages)),
    )
        .into_response())
}
