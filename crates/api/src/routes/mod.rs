//! Route handlers, one module per resource.

pub mod admin;
pub mod catalog;
pub mod credentials;
pub mod events;
pub mod health;
pub mod issuers;
pub mod openapi;
pub mod schemas;
pub mod verify;

use crate::error::ApiError;

/// Unknown paths answer in the API's error shape.
pub async fn not_found() -> ApiError {
    ApiError::not_found("Not found")
}
