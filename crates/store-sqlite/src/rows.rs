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
        // SQLITE_FULL (the disk or the file system has no room: ENOSPC) and SQLITE_IOERR (a
        // read, write or sync the OS refused): SQLite rolled the statement or transaction
        // back and the database stays consistent, so the write can be tried again once the
        // operator has freed space. Not the request's fault, not a bug: 503, not 500.
        sqlx::Error::Database(db)
            if matches!(primary_code(db.code().as_deref()), Some(13 | 10)) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Internal(e.to_string()),
    }
}

/// The primary result code of a SQLite error: sqlx reports the extended code (e.g. 778,
/// `SQLITE_IOERR_WRITE`), whose low byte is the primary one (10, `SQLITE_IOERR`).
fn primary_code(code: Option<&str>) -> Option<i32> {
    code?.parse::<i32>().ok().map(|c| c & 0xff)
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

#[cfg(test)]
mod tests {
    use super::primary_code;

    #[test]
    fn extended_result_codes_reduce_to_their_primary_code() {
        assert_eq!(primary_code(Some("13")), Some(13)); // SQLITE_FULL
        assert_eq!(primary_code(Some("778")), Some(10)); // SQLITE_IOERR_WRITE
        assert_eq!(primary_code(Some("2067")), Some(19)); // SQLITE_CONSTRAINT_UNIQUE
        assert_eq!(primary_code(None), None);
    }
}
