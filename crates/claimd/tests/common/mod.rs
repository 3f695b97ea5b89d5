//! claimd's tests and benches on the shared harness (`claimd-testkit`): this file only names
//! the binary Cargo built for them, which the harness cannot know.

// Each test binary uses its own subset.
#![allow(dead_code, unused_imports)]

pub use claimd_testkit::{node_check, Backend, PgDb};

/// The `claimd` binary of this build.
pub struct Claimd;

impl claimd_testkit::Binary for Claimd {
    const PATH: &'static str = env!("CARGO_BIN_EXE_claimd");
}

pub type Server = claimd_testkit::Server<Claimd>;

pub mod fixture {
    pub use claimd_testkit::fixture::{SchemaSpec, Setup};
    pub type Fixture = claimd_testkit::Fixture<super::Claimd>;
    pub use claimd_testkit::node_check;
}

pub fn claimd_bin() -> &'static str {
    <Claimd as claimd_testkit::Binary>::PATH
}

pub mod audit;
