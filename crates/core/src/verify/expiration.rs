//! `expiration`: `expirationDate`, when present, is still ahead.

use super::credential::Credential;
use super::{Check, EXPIRATION};
use crate::issuance::iso_millis;
use chrono::{DateTime, Utc};

pub fn check(c: &Credential<'_>, now: DateTime<Utc>) -> Check {
    match c.expiration() {
        Ok(None) => Check::pass(EXPIRATION, "no expiration"),
        Ok(Some(t)) if t <= now => Check::fail(EXPIRATION, format!("expired at {}", iso_millis(t))),
        Ok(Some(t)) => Check::pass(EXPIRATION, format!("valid until {}", iso_millis(t))),
        Err(e) => Check::fail(EXPIRATION, e),
    }
}
