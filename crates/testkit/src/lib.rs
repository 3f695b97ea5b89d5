//! claimd's one test harness, shared by every crate's tests (as a dev-dependency only):
//!
//! - [`db`]: a fresh database per test — a SQLite file in a temp dir or a PostgreSQL database
//!   created on `CLAIMD_TEST_POSTGRES_URL` and dropped at the end;
//! - [`fixture`]: the one set of test data (a `Membership` schema, a partner with an ES256
//!   key, an issuer and a program) and the Node oracle runner [`fixture::node_check`];
//! - [`app`]: [`app::TestApp`], the real axum router driven in process with `oneshot` over a
//!   fresh store — no socket, no process;
//! - [`server`]: the real binary on a random loopback port, for black-box tests that need a
//!   process (kill -9, restarts, the CLI, connection-level limits).

pub mod app;
pub mod db;
pub mod fixture;
pub mod server;

pub use app::{TestApp, TestResponse};
pub use db::{postgres_admin, postgres_admin_url, Backend, Db, PgDb};
pub use fixture::{node_check, Fixture};
pub use server::{Binary, Server};

/// The repository's root (this crate is `crates/testkit`), for the Node oracles under
/// `interop/`.
pub fn repo_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
