//! claimd-store-sqlite.
