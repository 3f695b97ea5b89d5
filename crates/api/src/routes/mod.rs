//! Route handlers, one module per resource.
//!
//! Every module declares its routes with [`served!`], which builds the axum router and, from
//! the same tokens, the [`Route`] table of what it serves. `/openapi.json` is checked against
//! that table (`claimd`'s openapi test), so a route cannot be served without being documented,
//! nor documented without being served.

/// Builds `(Router, Vec<Route>)` from `"path" => get(handler).post(handler), …`: the router
/// serves exactly the methods the table lists, because both come from one list of tokens.
macro_rules! served {
    ($($path:literal => $first:ident($fh:expr) $(. $m:ident($h:expr))*),* $(,)?) => {
        (
            axum::Router::new()$(.route($path, axum::routing::$first($fh)$(.$m($h))*))*,
            vec![$($crate::routes::Route {
                path: $path,
                methods: &[stringify!($first)$(, stringify!($m))*],
            }),*],
        )
    };
}

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
use crate::state::AppState;
use axum::Router;

/// One served path (axum syntax, `{name}` for a segment) and its methods, lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub path: &'static str,
    pub methods: &'static [&'static str],
}

/// A module's router with the table of what it serves.
pub type Served = (Router<AppState>, Vec<Route>);

/// Unknown paths answer in the API's error shape.
pub async fn not_found() -> ApiError {
    ApiError::not_found("Not found")
}
