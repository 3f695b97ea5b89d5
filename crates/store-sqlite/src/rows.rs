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
        sqlx::Error::Database(db) => database_error(
            db.code().and_then(|c| c.parse::<i32>().ok()),
            db.message(),
            e.to_string(),
        ),
        _ => StoreError::Internal(e.to_string()),
    }
}

/// [`map_err`] for the write connection's driver ([`crate::tx::Writer`]).
pub(crate) fn map_direct_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(failure, message) => database_error(
            Some(failure.extended_code),
            message.as_deref().unwrap_or_default(),
            e.to_string(),
        ),
        _ => StoreError::Internal(e.to_string()),
    }
}

/// What an error SQLite reported means to the domain, from its extended result code (e.g.
/// 778, `SQLITE_IOERR_WRITE`, whose low byte is the primary code 10, `SQLITE_IOERR`).
fn database_error(extended: Option<i32>, message: &str, full: String) -> StoreError {
    match extended {
        // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY.
        Some(2067 | 1555) => StoreError::Conflict(message.to_owned()),
        // SQLITE_FULL (the disk or the file system has no room: ENOSPC) and SQLITE_IOERR (a
        // read, write or sync the OS refused): SQLite rolled the statement or transaction
        // back and the database stays consistent, so the write can be tried again once the
        // operator has freed space. Not the request's fault, not a bug: 503, not 500.
        Some(code) if matches!(code & 0xff, 13 | 10) => StoreError::Unavailable(full),
        _ => StoreError::Internal(full),
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

#[cfg(test)]
mod tests {
    use super::database_error;
    use claimd_core::store::StoreError;

    #[test]
    fn extended_result_codes_are_judged_by_their_meaning() {
        let judge = |code| database_error(code, "m", "full".into());
        assert!(matches!(judge(Some(13)), StoreError::Unavailable(_))); // SQLITE_FULL
        assert!(matches!(judge(Some(778)), StoreError::Unavailable(_))); // SQLITE_IOERR_WRITE
        assert!(matches!(judge(Some(2067)), StoreError::Conflict(m) if m == "m")); // UNIQUE
        assert!(matches!(judge(Some(1555)), StoreError::Conflict(_))); // PRIMARYKEY
        assert!(matches!(judge(Some(787)), StoreError::Internal(_))); // FOREIGNKEY
        assert!(matches!(judge(None), StoreError::Internal(_)));
    }
}
