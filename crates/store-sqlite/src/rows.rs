//! Conversions between SQLite's representations (TEXT uuids, INTEGER Unix ms, JSON text) and
//! the domain types, the one mapping of sqlx errors to [`StoreError`], and the decoding of
//! fetched rows with it, so that each query states only its SQL, binds and row decoder.

use chrono::{DateTime, TimeZone, Utc};
use claimd_core::store::StoreError;
use serde::de::DeserializeOwned;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        _ => StoreError::Internal(e.to_string()),
    }
}

/// How a query's rows become domain values.
pub(crate) type Decode<T> = fn(&SqliteRow) -> Result<T, StoreError>;

/// What a `fetch_optional` found, decoded.
pub(crate) fn decode_opt<T>(
    row: Result<Option<SqliteRow>, sqlx::Error>,
    decode: Decode<T>,
) -> Result<Option<T>, StoreError> {
    row.map_err(map_err)?.as_ref().map(decode).transpose()
}

/// What a `fetch_all` found, decoded.
pub(crate) fn decode_all<T>(
    rows: Result<Vec<SqliteRow>, sqlx::Error>,
    decode: Decode<T>,
) -> Result<Vec<T>, StoreError> {
    rows.map_err(map_err)?.iter().map(decode).collect()
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn time(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Internal(format!("timestamp out of range: {ms}")))
}

pub(crate) fn opt_time(ms: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(time).transpose()
}

pub(crate) fn uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Internal(format!("bad uuid {s:?} in database: {e}")))
}

pub(crate) fn json<T: DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Internal(format!("bad JSON in database: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain values always serialise")
}

pub(crate) fn total(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
