//! The one mapping of sqlx errors to [`StoreError`], the decoding of fetched rows with it (so
//! that each query states only its SQL, binds and row decoder), and small conversions.

use claimd_core::store::StoreError;
use sqlx::postgres::PgRow;

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        // 40P01 deadlock_detected, 40001 serialization_failure: the transaction was chosen as
        // the victim of a race and rolled back; the caller may run it again.
        sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40P01" | "40001")) => {
            StoreError::Contended(db.message().to_owned())
        }
        // 22021 character_not_in_repertoire (a NUL byte in text), 22P05 untranslatable_character
        // (`\u0000` in jsonb): input no row can hold.
        sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")) => {
            StoreError::Unstorable(db.message().to_owned())
        }
        // 57P01 admin_shutdown, 57P02 crash_shutdown (another backend died: the server
        // restarts), 57P03 cannot_connect_now: the server is restarting. Class 08, connection
        // exceptions, and class 53, insufficient resources (53100 disk_full, 53300
        // too_many_connections): the database cannot do the work now; the same request may
        // succeed later.
        sqlx::Error::Database(db)
            if matches!(db.code().as_deref(), Some("57P01" | "57P02" | "57P03"))
                || db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("53")) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Internal(e.to_string()),
    }
}

/// How a query's rows become domain values.
pub(crate) type Decode<T> = fn(&PgRow) -> Result<T, StoreError>;

/// What a `fetch_optional` found, decoded.
pub(crate) fn decode_opt<T>(
    row: Result<Option<PgRow>, sqlx::Error>,
    decode: Decode<T>,
) -> Result<Option<T>, StoreError> {
    row.map_err(map_err)?.as_ref().map(decode).transpose()
}

/// What a `fetch_all` found, decoded.
pub(crate) fn decode_all<T>(
    rows: Result<Vec<PgRow>, sqlx::Error>,
    decode: Decode<T>,
) -> Result<Vec<T>, StoreError> {
    rows.map_err(map_err)?.iter().map(decode).collect()
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, StoreError> {
    serde_json::from_value(v)
        .map_err(|e| StoreError::Internal(format!("bad JSON in database: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("domain values always serialise")
}

pub(crate) fn total(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
