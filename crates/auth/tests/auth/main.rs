//! Black-box tests of claimd-auth: real ES256/RS256 keys, JWKS served over real HTTP on
//! 127.0.0.1 by `testing::JwksServer`.
//!
//! No test sends a packet beyond loopback: the SSRF tests point at 169.254.169.254 and other
//! non-public addresses precisely to show that no connection is attempted.

mod attacks;
mod cache;
mod common;
mod fetch;
mod policy;
mod robustness;
