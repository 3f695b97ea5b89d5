//! Users (credential holders known by email) and their consent to on-behalf issuance.

use crate::{DomainError, PartnerId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// An email address in the one form claimd keys users by, so that one person is one user
/// whatever spelling a partner sends (see [`Email::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

/// Longest address (RFC 5321 path limit), measured on the normalised form.
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest local part (RFC 5321).
pub const MAX_LOCAL_PART_LEN: usize = 64;
/// Input longer than this is refused before any normalisation work: NFC and IDNA can grow a
/// string, but not by more than this factor for anything that ends up within 254 bytes.
const MAX_RAW_LEN: usize = 4 * MAX_EMAIL_LEN;

impl Email {
    /// Normalises and validates an address. One person must not become two users (and so slip
    /// past a consent they rejected) by spelling the address differently, so:
    ///
    /// 1. surrounding whitespace is trimmed; inside the address, whitespace, control characters
    ///    and invisible format characters (zero-width space and joiners, bidi controls, soft
    ///    hyphen, BOM: Unicode category Cf) are refused rather than stripped, since they are
    ///    never part of a real address;
    /// 2. the text is put in Unicode NFC and lower-cased (local parts are case-insensitive at
    ///    every provider partners deal with);
    /// 3. the domain is converted to its ASCII form by UTS #46 with the strict STD3 rules
    ///    (`bücher.de` and `xn--bcher-kva.de` are the same domain);
    /// 4. the result must parse as an RFC 5322 / RFC 6531 address without display name or
    ///    domain literal, with at most 64 bytes of local part and 254 bytes in all.
    pub fn parse(raw: &str) -> Result<Email, DomainError> {
        let bad = |m: &str| Err(DomainError::invalid("email", m));
        let raw = raw.trim();
        if raw.is_empty() {
            return bad("is required");
        }
        if raw.len() > MAX_RAW_LEN {
            return bad("is longer than 254 bytes");
        }
        if raw.chars().any(invisible_or_space) {
            return bad("must not contain spaces, control or invisible formatting characters");
        }
        let folded: String = raw.nfc().collect::<String>().to_lowercase();
        // Lower-casing can leave a string that is no longer NFC (a few characters decompose).
        let folded: String = folded.nfc().collect();
        let Some((local, domain)) = folded.rsplit_once('@') else {
            return bad("is not an email address");
        };
        if local.is_empty() || domain.is_empty() {
            return bad("is not an email address");
        }
        if local.len() > MAX_LOCAL_PART_LEN {
            return bad("has a local part longer than 64 bytes");
        }
        let Ok(domain) = idna::domain_to_ascii_strict(domain) else {
            return bad("has a domain that is not a valid (internationalised) domain name");
        };
        let email = format!("{local}@{domain}");
        if email.len() > MAX_EMAIL_LEN {
            return bad("is longer than 254 bytes");
        }
        let strict = email_address::Options {
            minimum_sub_domains: 1,
            allow_domain_literal: false,
            allow_display_text: false,
            // RFC 5321's 64-byte limit is checked above, on the normal form.
            allow_long_local_parts: true,
        };
        if email_address::EmailAddress::parse_with_options(&email, strict).is_err() {
            return bad("is not an email address");
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For storage adapters reading back a value they stored from [`Email::parse`].
    pub fn from_stored(s: String) -> Email {
        Email(s)
    }
}

/// Characters refused anywhere inside an address.
fn invisible_or_space(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || c == '<'
        || c == '>'
        || c.general_category() == GeneralCategory::Format
}

/// What to do with one stored address when the normalisation rules change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailRenormalisation {
    /// Rewrite the row's address to its normal form.
    Rewrite { user: UserId, email: Email },
    /// Leave the row as it is and report it: its normal form belongs to another user (merging
    /// two users is an operator's decision, never a migration's), or it is no longer a valid
    /// address.
    Conflict(EmailConflict),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailConflict {
    pub user_uuid: UserId,
    pub stored: String,
    /// The normal form, when the stored address still parses.
    pub normalised: Option<Email>,
    /// The user who already has the normal form.
    pub other_user_uuid: Option<UserId>,
    pub reason: String,
}

/// Plans the re-normalisation of stored addresses. `users` must be in a stable order (oldest
/// first): when two legacy rows fold to one address, the first keeps it and the later one is
/// reported. Rows already in normal form are left alone and produce nothing.
pub fn plan_email_renormalisation(users: &[(UserId, String)]) -> Vec<EmailRenormalisation> {
    use std::collections::HashMap;
    // Who holds each address: every stored form, plus each normal form as it is handed out.
    let mut owner: HashMap<String, UserId> = users.iter().map(|(u, e)| (e.clone(), *u)).collect();
    let mut plan = Vec::new();
    for (user, stored) in users {
        let normal = match Email::parse(stored) {
            Ok(e) => e,
            Err(e) => {
                plan.push(EmailRenormalisation::Conflict(EmailConflict {
                    user_uuid: *user,
                    stored: stored.clone(),
                    normalised: None,
                    other_user_uuid: None,
                    reason: e.to_string(),
                }));
                continue;
            }
        };
        if normal.as_str() == stored {
            continue;
        }
        let taken = owner.get(normal.as_str()).copied();
        match taken {
            Some(other) if other != *user => {
                plan.push(EmailRenormalisation::Conflict(EmailConflict {
                    user_uuid: *user,
                    stored: stored.clone(),
                    normalised: Some(normal),
                    other_user_uuid: Some(other),
                    reason: "its normal form belongs to another user".into(),
                }));
            }
            _ => {
                owner.insert(normal.as_str().to_owned(), *user);
                plan.push(EmailRenormalisation::Rewrite {
                    user: *user,
                    email: normal,
                });
            }
        }
    }
    plan
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub user_uuid: UserId,
    pub email: Email,
    /// The DID of the user's custodial holder identity, once it has one.
    pub holder_did: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentStatus {
    Granted,
    Rejected,
}

impl ConsentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::Granted => "granted",
            ConsentStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "granted" => Some(ConsentStatus::Granted),
            "rejected" => Some(ConsentStatus::Rejected),
            _ => None,
        }
    }

    /// A status read back from a store; anything else there is corruption.
    pub fn from_stored(s: &str) -> Result<Self, crate::store::StoreError> {
        Self::parse(s)
            .ok_or_else(|| crate::store::StoreError::Internal(format!("bad consent status {s:?}")))
    }

    /// [`ConsentStatus::from_stored`] of a record that may be absent.
    pub fn from_stored_opt(s: Option<&str>) -> Result<Option<Self>, crate::store::StoreError> {
        s.map(Self::from_stored).transpose()
    }

    /// Whether a partner may issue on the user's behalf. No record means it may: consent is
    /// recorded to refuse, or to undo a refusal.
    pub fn allows_issuance(status: Option<ConsentStatus>) -> bool {
        status != Some(ConsentStatus::Rejected)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    pub user_uuid: UserId,
    pub email: Email,
    pub partner_id: PartnerId,
    pub status: ConsentStatus,
    pub updated_at: DateTime<Utc>,
}

/// `PUT /admin/v1/users/consent` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentRequest {
    pub email: Option<String>,
    pub partner_id: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsentDraft {
    pub email: Email,
    pub partner_id: PartnerId,
    pub status: ConsentStatus,
}

impl ConsentRequest {
    pub fn validate(self) -> Result<ConsentDraft, DomainError> {
        let email = Email::parse(self.email.as_deref().unwrap_or(""))?;
        let partner_id = PartnerId::required(self.partner_id.as_deref(), "partnerId")?;
        let status = self
            .status
            .as_deref()
            .and_then(ConsentStatus::parse)
            .ok_or_else(|| DomainError::invalid("status", "must be granted or rejected"))?;
        Ok(ConsentDraft {
            email,
            partner_id,
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Email::parse(s)
            .unwrap_or_else(|e| panic!("{s:?}: {e}"))
            .as_str()
            .to_owned()
    }

    #[test]
    fn one_person_one_form() {
        assert_eq!(norm("  Alice@Example.COM "), "alice@example.com");
        // Domains in their ASCII (IDNA) form, whichever form was sent.
        assert_eq!(norm("ÄLICE@BÜCHER.de"), "älice@xn--bcher-kva.de");
        assert_eq!(norm("älice@xn--bcher-kva.de"), "älice@xn--bcher-kva.de");
        // NFD and NFC spellings of the same name are one address.
        assert_eq!(
            norm("zoe\u{0308}@example.com"),
            norm("zo\u{00eb}@example.com")
        );
        assert_eq!(norm("ZOE\u{0308}@EXAMPLE.COM"), "zo\u{00eb}@example.com");
        // Full-width letters in the domain fold to ASCII (UTS #46 mapping).
        assert_eq!(norm("bob@ＥＸＡＭＰＬＥ.com"), "bob@example.com");
        assert_eq!(
            norm("first.last+tag@sub.example.org"),
            "first.last+tag@sub.example.org"
        );
    }

    #[test]
    fn invisible_and_malformed_addresses_are_refused() {
        for bad in [
            "",
            "   ",
            "a",
            "a@",
            "@b.c",
            "a@b@c",
            "a b@c.d",
            "a@b..c",
            "a@.b",
            "a.@b.c",
            ".a@b.c",
            "a..b@c.d",
            "a\u{0}@b.c",
            "bob\u{200b}@example.com", // zero-width space
            "bo\u{200d}b@example.com", // zero-width joiner
            "bob@exa\u{00ad}mple.com", // soft hyphen
            "\u{feff}bob@example.com", // byte-order mark
            "bob@example.com\u{202e}", // right-to-left override
            "bob@\u{2060}example.com", // word joiner
            "Bob <bob@example.com>",
            "bob@[127.0.0.1]",
            "bob@exa_mple.com",
            "bob@-example.com",
            "\"bob smith\"@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Email::parse(&format!("{}@b.c", "a".repeat(65))).is_err());
        assert!(Email::parse(&format!("{}@b.c", "a".repeat(64))).is_ok());
        let long_domain = format!("a@{}.com", vec!["x".repeat(60); 5].join("."));
        assert!(Email::parse(&long_domain).is_err(), "over 254 bytes");
        let fits = format!("a@{}.com", vec!["x".repeat(60); 4].join("."));
        assert!(Email::parse(&fits).is_ok(), "249 bytes");
        let long_label = format!("a@{}.com", "x".repeat(64));
        assert!(
            Email::parse(&long_label).is_err(),
            "a DNS label has at most 63 bytes"
        );
        // Huge input is refused before it is normalised.
        assert!(Email::parse(&"é".repeat(100_000)).is_err());
    }

    #[test]
    fn normalising_is_idempotent() {
        for s in [
            "Alice@Example.COM",
            "ÄLICE@BÜCHER.de",
            "zoe\u{0308}@EXAMPLE.com",
            "ǅ@example.com",
            "ΣΊΣΥΦΟΣ@example.gr",
            "İstanbul@example.com",
        ] {
            let once = norm(s);
            assert_eq!(norm(&once), once, "{s:?}");
        }
    }

    #[test]
    fn renormalisation_rewrites_and_reports_collisions_without_merging() {
        let u = |n: u128| UserId(uuid::Uuid::from_u128(n));
        let stored = vec![
            (u(1), "bob@example.com".to_owned()), // already normal: untouched
            (u(2), "zoë@bücher.de".to_owned()),   // old form: rewritten
            (u(3), "BOB@example.com".to_owned()), // folds onto user 1: reported
            (u(4), "carl@xn--bcher-kva.de".to_owned()), // normal
            (u(5), "ca\u{200b}rl@bücher.de".to_owned()), // no longer valid: reported
            (u(6), "dora@EXAMPLE.com".to_owned()), // first of two that fold together
            (u(7), "DORA@example.com".to_owned()), // second: reported against user 6
        ];
        let plan = plan_email_renormalisation(&stored);
        /// What the test checks of each step: a rewrite's user and address; a conflict's
        /// user, normal form and the user who holds that form.
        #[derive(Debug, PartialEq)]
        enum Step<'a> {
            Rewrite(UserId, &'a str),
            Conflict(UserId, Option<&'a str>, Option<UserId>),
        }
        let steps: Vec<Step> = plan
            .iter()
            .map(|p| match p {
                EmailRenormalisation::Rewrite { user, email } => {
                    Step::Rewrite(*user, email.as_str())
                }
                EmailRenormalisation::Conflict(c) => Step::Conflict(
                    c.user_uuid,
                    c.normalised.as_ref().map(Email::as_str),
                    c.other_user_uuid,
                ),
            })
            .collect();
        assert_eq!(
            steps,
            [
                Step::Rewrite(u(2), "zoë@xn--bcher-kva.de"),
                Step::Conflict(u(3), Some("bob@example.com"), Some(u(1))),
                Step::Conflict(u(5), None, None),
                Step::Rewrite(u(6), "dora@example.com"),
                Step::Conflict(u(7), Some("dora@example.com"), Some(u(6))),
            ],
            "{plan:#?}"
        );
        // Applying the plan leaves nothing more to do.
        let mut after = stored.clone();
        for p in &plan {
            if let EmailRenormalisation::Rewrite { user, email } = p {
                after.iter_mut().find(|(u, _)| u == user).unwrap().1 = email.as_str().into();
            }
        }
        let again = plan_email_renormalisation(&after);
        assert!(again
            .iter()
            .all(|p| matches!(p, EmailRenormalisation::Conflict(_))));
        assert_eq!(again.len(), 3);
    }
}
