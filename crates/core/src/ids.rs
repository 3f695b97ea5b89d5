//! Typed identifiers, so a partner id can never be passed where an issuer id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A UUID-backed id type. Paths are absolute so other modules of the crate (the bulk job id)
/// can declare their ids with it too.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $noun:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(::serde::Serialize, ::serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub ::uuid::Uuid);

        impl $name {
            pub fn new_random() -> Self {
                Self(::uuid::Uuid::new_v4())
            }
            /// Parses the canonical hyphenated form; anything else is rejected.
            pub fn parse(s: &str) -> Option<Self> {
                if s.len() != 36 {
                    return None;
                }
                ::uuid::Uuid::parse_str(s).ok().map(Self)
            }

            /// Reads the required id `field` of a request body, with the messages every
            /// operator endpoint gives for it: absent, or not the canonical form.
            pub fn required(
                value: Option<&str>,
                field: &str,
            ) -> Result<Self, $crate::DomainError> {
                let value =
                    value.ok_or_else(|| $crate::DomainError::invalid(field, "is required"))?;
                Self::parse(value).ok_or_else(|| {
                    $crate::DomainError::invalid(field, concat!("is not a ", $noun, " id (UUID)"))
                })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}
pub(crate) use uuid_id;

uuid_id!(
    /// A partner (an organisation whose backend calls the public API).
    PartnerId,
    "partner"
);
uuid_id!(
    /// A credential schema registered by an operator.
    SchemaId,
    "schema"
);
uuid_id!(
    /// An issuer identity (keys and DID) owned by a partner.
    IssuerId,
    "issuer"
);
uuid_id!(
    /// A partner's webhook endpoint.
    WebhookEndpointId,
    "webhook endpoint"
);
uuid_id!(
    /// A user (credential holder) known by normalised email; Moca calls it `userUuid`.
    UserId,
    "user"
);

/// An issuance program id: Moca's `credentialId`, an opaque string like `c21s70g0i54sn0023172Cv`.
///
/// claimd mints them as `c` followed by 21 base62 characters (≈125 random bits), the same length
/// and alphabet as the ids partners already see from Moca.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProgramId(pub String);

const BASE62: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

impl ProgramId {
    pub fn new_random() -> Self {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        let mut s = String::with_capacity(22);
        s.push('c');
        for _ in 0..21 {
            s.push(BASE62[rng.gen_range(0..BASE62.len())] as char);
        }
        ProgramId(s)
    }

    /// Accepts any 1..=64 character id of ASCII letters, digits, `-` and `_`, so ids imported
    /// from elsewhere keep working; rejects everything else before it reaches storage.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| ProgramId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProgramId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_ids_look_like_mocas() {
        let id = ProgramId::new_random();
        assert_eq!(id.0.len(), 22);
        assert!(id.0.starts_with('c'));
        assert_eq!(ProgramId::parse(&id.0), Some(id));
        assert_eq!(
            ProgramId::parse("c21s70g0i54sn0023172Cv").unwrap().0,
            "c21s70g0i54sn0023172Cv"
        );
        assert!(ProgramId::parse("").is_none());
        assert!(ProgramId::parse("a/b").is_none());
        assert!(ProgramId::parse(&"x".repeat(65)).is_none());
    }

    #[test]
    fn uuid_ids_parse_only_canonical_form() {
        let id = PartnerId::new_random();
        assert_eq!(PartnerId::parse(&id.to_string()), Some(id));
        assert!(PartnerId::parse("not-a-uuid").is_none());
        assert!(PartnerId::parse(&id.0.simple().to_string()).is_none());
    }
}
