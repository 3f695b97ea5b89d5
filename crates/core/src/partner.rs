//! Partners: the organisations whose backends call the public API with a Partner JWT.

use crate::fields::validate_name;
use crate::{DomainError, PartnerId, SchemaId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// Capabilities an operator grants a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// May call `POST /v1/credentials/issue-on-behalf`.
    IssueOnBehalf,
}

impl Feature {
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::IssueOnBehalf => "issue_on_behalf",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "issue_on_behalf" => Some(Feature::IssueOnBehalf),
            _ => None,
        }
    }
}

/// Where a partner's signing keys come from: exactly one of a JWKS URL or an inline JWKS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum KeySource {
    JwksUrl(String),
    Inline(serde_json::Value),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Partner {
    pub partner_id: PartnerId,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    pub features: Vec<Feature>,
    /// `None`: every schema is allowed; `Some`: only these.
    pub allowed_schema_ids: Option<Vec<SchemaId>>,
    #[serde(flatten)]
    pub token_rules: TokenRules,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The operator's rules for a partner's JWTs, beyond the signature. The defaults (what
/// partners registered before these rules existed have) bind nothing and leave the partner
/// enabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRules {
    /// When set, the token's `aud` must name it.
    pub audience: Option<String>,
    /// When set, the token's `iss` must be it.
    pub issuer: Option<String>,
    /// When true, every token carries a `jti` that no earlier unexpired token carried.
    pub require_jti: bool,
    /// When false, every call of the partner is refused (401).
    pub enabled: bool,
}

impl Default for TokenRules {
    fn default() -> Self {
        TokenRules {
            audience: None,
            issuer: None,
            require_jti: false,
            enabled: true,
        }
    }
}

impl Partner {
    pub fn key_source(&self) -> Option<KeySource> {
        match (&self.jwks_url, &self.jwks) {
            (Some(url), _) => Some(KeySource::JwksUrl(url.clone())),
            (None, Some(jwks)) => Some(KeySource::Inline(jwks.clone())),
            (None, None) => None,
        }
    }

    pub fn has_feature(&self, f: Feature) -> bool {
        self.features.contains(&f)
    }

    pub fn allows_schema(&self, schema: SchemaId) -> bool {
        self.allowed_schema_ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&schema))
    }
}

/// `POST /admin/v1/partners` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewPartner {
    pub name: Option<String>,
    pub jwks_url: Option<String>,
    pub jwks: Option<serde_json::Value>,
    #[serde(default)]
    pub features: Vec<String>,
    pub allowed_schema_ids: Option<Vec<String>>,
    pub audience: Option<String>,
    pub issuer: Option<String>,
    pub require_jti: Option<bool>,
    pub enabled: Option<bool>,
}

/// `PATCH /admin/v1/partners/{id}` body: absent fields are left alone; `allowedSchemaIds: null`
/// means "every schema" again.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerPatch {
    pub name: Option<String>,
    pub jwks_url: Option<String>,
    pub jwks: Option<serde_json::Value>,
    pub features: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub allowed_schema_ids: Option<Option<Vec<String>>>,
    /// `null` removes the audience binding.
    #[serde(default, deserialize_with = "present")]
    pub audience: Option<Option<String>>,
    /// `null` removes the issuer binding.
    #[serde(default, deserialize_with = "present")]
    pub issuer: Option<Option<String>>,
    pub require_jti: Option<bool>,
    pub enabled: Option<bool>,
}

/// Distinguishes a field that is present with `null` from one that is absent.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The validated changes to a partner, ready for storage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartnerChanges {
    pub name: Option<String>,
    pub key_source: Option<KeySource>,
    pub features: Option<Vec<Feature>>,
    pub allowed_schema_ids: Option<Option<Vec<SchemaId>>>,
    /// `Some(None)` removes the binding.
    pub audience: Option<Option<String>>,
    /// `Some(None)` removes the binding.
    pub issuer: Option<Option<String>>,
    pub require_jti: Option<bool>,
    pub enabled: Option<bool>,
}

impl PartnerChanges {
    /// Applies the token-rule changes to `rules` (the adapters keep their SQL; this rule of
    /// "absent leaves alone, null clears" lives here once).
    pub fn apply_token_rules(&self, rules: &mut TokenRules) {
        if let Some(a) = &self.audience {
            rules.audience.clone_from(a);
        }
        if let Some(i) = &self.issuer {
            rules.issuer.clone_from(i);
        }
        if let Some(r) = self.require_jti {
            rules.require_jti = r;
        }
        if let Some(e) = self.enabled {
            rules.enabled = e;
        }
    }
}

/// A validated new partner.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerDraft {
    pub name: String,
    pub key_source: KeySource,
    pub features: Vec<Feature>,
    pub allowed_schema_ids: Option<Vec<SchemaId>>,
    pub token_rules: TokenRules,
}

impl NewPartner {
    pub fn validate(self) -> Result<PartnerDraft, DomainError> {
        let name = validate_name(self.name.as_deref(), "name")?;
        let key_source = match validate_key_source(self.jwks_url, self.jwks)? {
            Some(k) => k,
            None => {
                return Err(DomainError::invalid(
                    "jwksUrl",
                    "one of jwksUrl or jwks is required",
                ))
            }
        };
        Ok(PartnerDraft {
            name,
            key_source,
            features: validate_features(&self.features)?,
            allowed_schema_ids: self
                .allowed_schema_ids
                .as_deref()
                .map(validate_schema_ids)
                .transpose()?,
            token_rules: TokenRules {
                audience: self
                    .audience
                    .map(|a| validate_binding(a, "audience"))
                    .transpose()?,
                issuer: self
                    .issuer
                    .map(|i| validate_binding(i, "issuer"))
                    .transpose()?,
                require_jti: self.require_jti.unwrap_or(false),
                enabled: self.enabled.unwrap_or(true),
            },
        })
    }
}

impl PartnerPatch {
    pub fn validate(self) -> Result<PartnerChanges, DomainError> {
        Ok(PartnerChanges {
            name: self
                .name
                .as_deref()
                .map(|n| validate_name(Some(n), "name"))
                .transpose()?,
            key_source: validate_key_source(self.jwks_url, self.jwks)?,
            features: self
                .features
                .as_deref()
                .map(validate_features)
                .transpose()?,
            allowed_schema_ids: match self.allowed_schema_ids {
                None => None,
                Some(None) => Some(None),
                Some(Some(ids)) => Some(Some(validate_schema_ids(&ids)?)),
            },
            audience: self
                .audience
                .map(|a| a.map(|a| validate_binding(a, "audience")).transpose())
                .transpose()?,
            issuer: self
                .issuer
                .map(|i| i.map(|i| validate_binding(i, "issuer")).transpose())
                .transpose()?,
            require_jti: self.require_jti,
            enabled: self.enabled,
        })
    }
}

fn validate_key_source(
    jwks_url: Option<String>,
    jwks: Option<serde_json::Value>,
) -> Result<Option<KeySource>, DomainError> {
    match (jwks_url, jwks) {
        (Some(_), Some(_)) => Err(DomainError::invalid(
            "jwks",
            "give either jwksUrl or jwks, not both",
        )),
        (Some(url), None) => {
            let lower = url.to_ascii_lowercase();
            let scheme_ok = lower.starts_with("https://") || lower.starts_with("http://");
            let host_part = url.split_once("://").map(|(_, r)| r).unwrap_or("");
            if !scheme_ok || host_part.is_empty() || host_part.starts_with('/') {
                return Err(DomainError::invalid(
                    "jwksUrl",
                    "must be an absolute https:// URL",
                ));
            }
            if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(DomainError::invalid("jwksUrl", "is not a valid URL"));
            }
            Ok(Some(KeySource::JwksUrl(url)))
        }
        (None, Some(jwks)) => {
            let keys = jwks.get("keys").and_then(|k| k.as_array());
            match keys {
                Some(keys) if !keys.is_empty() && keys.iter().all(|k| k.is_object()) => {
                    crate::text::check_storable_json("jwks", &jwks)?;
                    Ok(Some(KeySource::Inline(jwks)))
                }
                _ => Err(DomainError::invalid(
                    "jwks",
                    "must be a JWKS object with a non-empty \"keys\" array of keys",
                )),
            }
        }
        (None, None) => Ok(None),
    }
}

/// An audience or issuer a partner's tokens are bound to: compared byte for byte with the
/// token's claim, so it must be non-empty, printable and short enough for a claim.
fn validate_binding(value: String, field: &str) -> Result<String, DomainError> {
    if value.is_empty() {
        return Err(DomainError::invalid(
            field,
            "must not be empty (use null to unset)",
        ));
    }
    if value.len() > 512 {
        return Err(DomainError::invalid(field, "must be at most 512 bytes"));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(DomainError::invalid(
            field,
            "must not contain whitespace or control characters",
        ));
    }
    Ok(value)
}

fn validate_features(features: &[String]) -> Result<Vec<Feature>, DomainError> {
    let mut out = Vec::new();
    for f in features {
        let feature = Feature::parse(f).ok_or_else(|| {
            DomainError::invalid(
                "features",
                format!("unknown feature {f:?} (known: issue_on_behalf)"),
            )
        })?;
        if !out.contains(&feature) {
            out.push(feature);
        }
    }
    Ok(out)
}

fn validate_schema_ids(ids: &[String]) -> Result<Vec<SchemaId>, DomainError> {
    ids.iter()
        .map(|s| {
            SchemaId::parse(s).ok_or_else(|| {
                DomainError::invalid("allowedSchemaIds", format!("{s:?} is not a schema id"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new(v: serde_json::Value) -> Result<PartnerDraft, DomainError> {
        serde_json::from_value::<NewPartner>(v).unwrap().validate()
    }

    #[test]
    fn requires_exactly_one_key_source() {
        let e = new(json!({"name": "a"})).unwrap_err();
        assert!(e.to_string().starts_with("jwksUrl"));
        let e = new(json!({"name": "a", "jwksUrl": "https://x/j", "jwks": {"keys": [{}]}}))
            .unwrap_err();
        assert!(e.to_string().starts_with("jwks"));
        assert!(new(json!({"name": "a", "jwksUrl": "https://x.example/jwks"})).is_ok());
        assert!(new(json!({"name": "a", "jwks": {"keys": [{"kty": "EC"}]}})).is_ok());
        assert!(new(json!({"name": "a", "jwks": {"keys": []}})).is_err());
        assert!(new(json!({"name": "a", "jwksUrl": "ftp://x"})).is_err());
    }

    #[test]
    fn features_and_schema_ids_are_checked() {
        let e =
            new(json!({"name": "a", "jwksUrl": "https://x/j", "features": ["fly"]})).unwrap_err();
        assert!(e.to_string().contains("fly"));
        let e = new(json!({"name": "a", "jwksUrl": "https://x/j", "allowedSchemaIds": ["nope"]}))
            .unwrap_err();
        assert!(e.to_string().starts_with("allowedSchemaIds"));
    }

    #[test]
    fn token_rules_default_to_unbound_and_enabled_and_are_checked() {
        let d = new(json!({"name": "a", "jwksUrl": "https://x/j"})).unwrap();
        assert_eq!(d.token_rules, TokenRules::default());
        assert!(d.token_rules.enabled && !d.token_rules.require_jti);
        let d = new(
            json!({"name": "a", "jwksUrl": "https://x/j", "audience": "https://claimd.example",
            "issuer": "acme", "requireJti": true, "enabled": false}),
        )
        .unwrap();
        assert_eq!(
            d.token_rules,
            TokenRules {
                audience: Some("https://claimd.example".into()),
                issuer: Some("acme".into()),
                require_jti: true,
                enabled: false,
            }
        );
        for bad in [
            json!({"audience": ""}),
            json!({"issuer": "a b"}),
            json!({"audience": "x".repeat(513)}),
        ] {
            let mut body = json!({"name": "a", "jwksUrl": "https://x/j"});
            body.as_object_mut()
                .unwrap()
                .extend(bad.as_object().unwrap().clone());
            assert!(new(body).is_err());
        }
        let p: PartnerPatch =
            serde_json::from_value(json!({"audience": null, "issuer": "i", "enabled": false}))
                .unwrap();
        let c = p.validate().unwrap();
        let mut rules = TokenRules {
            audience: Some("a".into()),
            require_jti: true,
            ..TokenRules::default()
        };
        c.apply_token_rules(&mut rules);
        assert_eq!(
            rules,
            TokenRules {
                audience: None,
                issuer: Some("i".into()),
                require_jti: true,
                enabled: false,
            }
        );
    }

    #[test]
    fn patch_distinguishes_null_from_absent() {
        let p: PartnerPatch = serde_json::from_value(json!({"allowedSchemaIds": null})).unwrap();
        assert_eq!(p.validate().unwrap().allowed_schema_ids, Some(None));
        let p: PartnerPatch = serde_json::from_value(json!({})).unwrap();
        assert_eq!(p.validate().unwrap().allowed_schema_ids, None);
    }
}
