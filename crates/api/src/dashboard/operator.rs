//! The dashboard's one way to read and change anything: the operator API itself
//! (`/admin/v1`, plus the public schema documents and verification), called in process
//! with the admin token, exactly as `claimd admin` calls it over HTTP. Validation, error
//! mapping and side effects (such as dropping a partner's cached keys on update) therefore
//! happen once, in those handlers; the dashboard only renders their JSON, and their
//! `{"error", "message"}` answers become [`Refusal`]s shown in words.

use crate::state::AppState;
use axum::body::Body;
use axum::http::{header, Method, Request};
use axum::Router;
use serde_json::Value;
use tower::ServiceExt;

/// Largest answer the dashboard reads from the API (a page of 500 credentials is far less).
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// An answer that was not a success: its status and the API's message.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (HTTP {})", self.message, self.status)
    }
}

pub struct OperatorApi {
    state: AppState,
}

impl OperatorApi {
    pub fn new(state: &AppState) -> Self {
        OperatorApi {
            state: state.clone(),
        }
    }

    /// The routes the dashboard may call, without the outer middleware (the dashboard's own
    /// request already passed admission).
    fn routes(&self) -> Router {
        Router::new()
            .nest(crate::ADMIN_PREFIX, crate::routes::admin::routes().0)
            .merge(crate::routes::schemas::routes().0)
            .merge(crate::routes::verify::routes(self.state.clone()).0)
            .with_state(self.state.clone())
    }

    pub async fn get(&self, uri: &str) -> Result<Value, Refusal> {
        self.call(Method::GET, uri, None).await
    }

    pub async fn post(&self, uri: &str, body: &Value) -> Result<Value, Refusal> {
        self.call(Method::POST, uri, Some(body)).await
    }

    pub async fn patch(&self, uri: &str, body: &Value) -> Result<Value, Refusal> {
        self.call(Method::PATCH, uri, Some(body)).await
    }

    pub async fn put(&self, uri: &str, body: &Value) -> Result<Value, Refusal> {
        self.call(Method::PUT, uri, Some(body)).await
    }

    pub async fn delete(&self, uri: &str) -> Result<Value, Refusal> {
        self.call(Method::DELETE, uri, None).await
    }

    /// The raw answer to `body` (already a stream): for uploads and downloads that must not be
    /// held in memory. A non-2xx answer is turned into its [`Refusal`].
    pub async fn stream(
        &self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: Body,
    ) -> Result<axum::response::Response, Refusal> {
        let mut req = Request::builder().method(method).uri(uri).header(
            header::AUTHORIZATION,
            format!("Bearer {}", self.state.config.admin_token),
        );
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let req = req.body(body).map_err(|e| Refusal {
            status: 400,
            message: format!("Cannot build the request: {e}"),
        })?;
        let res = self
            .routes()
            .oneshot(req)
            .await
            .unwrap_or_else(|never| match never {});
        if res.status().is_success() {
            return Ok(res);
        }
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), MAX_ANSWER)
            .await
            .unwrap_or_default();
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Err(refusal(status, &json))
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<&Value>,
    ) -> Result<Value, Refusal> {
        let (ct, body) = match body {
            Some(v) => (Some("application/json"), Body::from(v.to_string())),
            None => (None, Body::empty()),
        };
        let res = self.stream(method, uri, ct, body).await?;
        let bytes = axum::body::to_bytes(res.into_body(), MAX_ANSWER)
            .await
            .map_err(|e| Refusal {
                status: 500,
                message: format!("Cannot read the answer: {e}"),
            })?;
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

/// A non-2xx answer in words: the API's `message`, else the status's reason.
fn refusal(status: axum::http::StatusCode, json: &Value) -> Refusal {
    Refusal {
        status: status.as_u16(),
        message: json["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                status
                    .canonical_reason()
                    .unwrap_or("Request failed")
                    .to_owned()
            }),
    }
}
