//! The one place where failures become HTTP responses.
//!
//! Every error body is `{"error": <status>, "message": "<text>"}`. Client errors say what was
//! wrong; server errors are logged here with their cause and answered with a fixed message, so
//! internals never leak.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use claimd_core::bulk::BulkError;
use claimd_core::operator::OperatorError;
use claimd_core::proofs::ProofError;
use claimd_core::store::StoreError;
use claimd_core::verify::VerifyError;
use claimd_core::DomainError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds for a `Retry-After` header (429 and 503 answers that know when to come back).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Adds a `Retry-After` of `secs` seconds.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// 429: a rate limit was hit; `what` names it.
    pub fn too_many_requests(what: &str, wait: std::time::Duration) -> Self {
        let secs = crate::limits::retry_after_secs(wait);
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Rate limit exceeded ({what}); retry after {secs} s"),
        )
        .retry_after(secs)
    }

    /// 503 because claimd itself is at a limit (not a dependency), with when to retry.
    pub fn busy(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message).retry_after(1)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 for a bad query parameter: `Invalid parameter <name>: <why>`.
    pub fn invalid_parameter(e: DomainError) -> Self {
        let DomainError::Invalid { field, message } = e;
        Self::bad_request(format!("Invalid parameter {field}: {message}"))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// A server-side failure: the cause goes to the log, the client gets the seed's message.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server-side failure. Retry with exponential backoff.",
        )
    }

    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "dependency unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service temporarily unavailable. Retry with exponential backoff.",
        )
        .retry_after(1)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.status.as_u16(), "message": self.message});
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError::bad_request(e.message())
    }
}

/// The answer to text with a NUL character, which no backend stores the same way.
pub const NUL_MESSAGE: &str = "Invalid input: text must not contain the NUL character (U+0000)";

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(format!("Unknown {what}")),
            StoreError::Conflict(_) => {
                ApiError::new(StatusCode::CONFLICT, "Conflicts with an existing record")
            }
            // Left after the domain's retries: as transient as an unreachable database.
            StoreError::Unavailable(_) | StoreError::Contended(_) => ApiError::unavailable(&e),
            StoreError::Unstorable(_) => ApiError::bad_request(NUL_MESSAGE),
            StoreError::Internal(_) => ApiError::internal(&e),
        }
    }
}

impl From<OperatorError> for ApiError {
    fn from(e: OperatorError) -> Self {
        match e {
            OperatorError::Invalid(d) => d.into(),
            OperatorError::Store(s) => s.into(),
            OperatorError::Unknown(m) => ApiError::not_found(m),
            OperatorError::Internal(_) => ApiError::internal(&e),
        }
    }
}

impl From<BulkError> for ApiError {
    fn from(e: BulkError) -> Self {
        match e {
            BulkError::BadFile(m) => ApiError::bad_request(m),
            BulkError::TooLarge(m) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, m),
            BulkError::NotFound(m) => ApiError::not_found(m),
            BulkError::State(m) => ApiError::new(StatusCode::CONFLICT, m),
            BulkError::Store(s) => s.into(),
            BulkError::Internal(_) => ApiError::internal(&e),
        }
    }
}

impl From<VerifyError> for ApiError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::NotACredential(m) => ApiError::bad_request(m),
            // Well-formed, but more work than a public endpoint does for anyone; the message
            // names the limit.
            e @ VerifyError::LimitExceeded { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            // "Could not check" must not read as "invalid": the client retries.
            VerifyError::Unavailable(_) => ApiError::unavailable(&e),
        }
    }
}

impl From<ProofError> for ApiError {
    fn from(e: ProofError) -> Self {
        match e {
            ProofError::Store(s) => s.into(),
            ProofError::Corrupt(_) => ApiError::internal(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping_is_pinned() {
        let cases: Vec<(ApiError, u16)> = vec![
            (DomainError::invalid("name", "is required").into(), 400),
            (StoreError::NotFound("partner").into(), 404),
            (StoreError::Conflict("dup".into()).into(), 409),
            (StoreError::Unavailable("down".into()).into(), 503),
            (
                StoreError::Contended("deadlock detected".into()).into(),
                503,
            ),
            (StoreError::Internal("secret detail".into()).into(), 500),
            (BulkError::BadFile("no email column".into()).into(), 400),
            (BulkError::TooLarge("rows".into()).into(), 413),
            (BulkError::NotFound("Unknown bulk issuance job").into(), 404),
            (BulkError::State("finished".into()).into(), 409),
            (BulkError::Internal("secret chunk".into()).into(), 500),
            (VerifyError::NotACredential("no proof".into()).into(), 400),
            (
                VerifyError::LimitExceeded {
                    limit: "max_depth",
                    detail: "too deep".into(),
                }
                .into(),
                422,
            ),
            (
                VerifyError::Unavailable("secret rpc url".into()).into(),
                503,
            ),
        ];
        for (e, status) in cases {
            assert_eq!(e.status.as_u16(), status);
            assert!(
                !e.message.contains("secret"),
                "5xx never leaks: {}",
                e.message
            );
        }
    }
}
