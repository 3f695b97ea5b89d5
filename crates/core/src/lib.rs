//! claimd-core.
