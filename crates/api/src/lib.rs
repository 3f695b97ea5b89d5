//! claimd-api.
