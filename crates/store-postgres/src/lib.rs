//! claimd-store-postgres.
