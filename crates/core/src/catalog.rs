//! The public catalog: what anyone may browse and search without authentication (schemas,
//! issuance programs — Moca's "credentials" —, their issuers, and verification programs).
//!
//! Only entries whose [`Visibility`] is discoverable and enabled appear; a hidden entry is
//! answered exactly like an unknown one. Every count a catalog answer shows is a counter the
//! store keeps current in the transaction that changes it (see the migrations), so an answer
//! costs the same however many credentials exist.
//!
//! This module holds the parameters (validated here, once), the answers' shapes and the port
//! the stores implement.

use crate::page::Page;
use crate::program::Program;
use crate::schema::{Attribute, Schema};
use crate::store::StoreError;
use crate::verification::{
    VerificationChanges, VerificationDraft, VerificationProgram, VerificationProgramId,
    VisibilityChange,
};
use crate::{DomainError, IssuerId, ProgramId, SchemaId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::verification::Visibility;

/// Listing limits of the catalog (Moca's: 1..100, 10 by default; 1..50 per group in search).
pub const DEFAULT_LIMIT: u32 = 10;
pub const MAX_LIMIT: u32 = 100;
pub const MAX_SEARCH_LIMIT: u32 = 50;
/// Longest `q`, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most words of `q` used for matching (the rest are ignored): bounds the query's work.
pub const MAX_QUERY_TERMS: usize = 8;
/// Most items of a detail's nested list (a schema's credentials, a credential's programs).
pub const MAX_NESTED: u32 = 100;
/// Pages past this are refused: a deep `OFFSET` is work proportional to it.
pub const MAX_PAGE: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

/// Sort fields of `/catalog/schemas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaSort {
    CreatedAt,
    CredentialCount,
    ProviderCount,
    Title,
}

/// Sort fields of `/catalog/programs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramSort {
    CreatedAt,
    VerificationCount,
    CredentialCount,
    Name,
}

/// A sort field as the query names it.
pub trait SortField: Sized + Copy + 'static {
    const NAMES: &'static [(&'static str, Self)];
    const DEFAULT: Self;
}

impl SortField for SchemaSort {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("created_at", SchemaSort::CreatedAt),
        ("credential_count", SchemaSort::CredentialCount),
        ("provider_count", SchemaSort::ProviderCount),
        ("title", SchemaSort::Title),
    ];
    const DEFAULT: Self = SchemaSort::CreatedAt;
}

impl SortField for ProgramSort {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("created_at", ProgramSort::CreatedAt),
        ("verification_count", ProgramSort::VerificationCount),
        ("credential_count", ProgramSort::CredentialCount),
        ("name", ProgramSort::Name),
    ];
    const DEFAULT: Self = ProgramSort::CreatedAt;
}

/// A validated browse request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Browse<S> {
    pub page: u32,
    pub limit: u32,
    pub sort: S,
    pub order: Order,
}

impl<S> Browse<S> {
    pub fn offset(&self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.limit)
    }
}

/// The query parameters as received (all text: a bad number is the caller's error to name).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawParams {
    pub page: Option<String>,
    pub limit: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub q: Option<String>,
}

fn number(raw: Option<&str>, name: &str, default: u32, max: u32) -> Result<u32, DomainError> {
    let Some(raw) = raw else { return Ok(default) };
    raw.parse::<u32>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| DomainError::invalid(name, format!("must be an integer from 1 to {max}")))
}

impl RawParams {
    fn page(&self) -> Result<u32, DomainError> {
        number(self.page.as_deref(), "page", 1, MAX_PAGE)
    }

    pub fn browse<S: SortField>(&self) -> Result<Browse<S>, DomainError> {
        let sort = match self.sort_by.as_deref() {
            None => S::DEFAULT,
            Some(name) => S::NAMES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| *s)
                .ok_or_else(|| {
                    let names: Vec<_> = S::NAMES.iter().map(|(n, _)| *n).collect();
                    DomainError::invalid("sortBy", format!("must be one of {}", names.join(", ")))
                })?,
        };
        let order = match self.sort_order.as_deref() {
            None | Some("DESC") => Order::Desc,
            Some("ASC") => Order::Asc,
            Some(_) => return Err(DomainError::invalid("sortOrder", "must be ASC or DESC")),
        };
        Ok(Browse {
            page: self.page()?,
            limit: number(self.limit.as_deref(), "limit", DEFAULT_LIMIT, MAX_LIMIT)?,
            sort,
            order,
        })
    }

    pub fn search(&self) -> Result<SearchQuery, DomainError> {
        let q = self
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .ok_or_else(|| DomainError::invalid("q", "is required"))?;
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(DomainError::invalid(
                "q",
                format!("must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        Ok(SearchQuery {
            text: q.to_owned(),
            terms: terms(q),
            page: self.page()?,
            limit: number(
                self.limit.as_deref(),
                "limit",
                DEFAULT_LIMIT,
                MAX_SEARCH_LIMIT,
            )?,
        })
    }
}

/// The words of a query: runs of letters and digits, lower-cased, at most
/// [`MAX_QUERY_TERMS`]. Everything else separates words, so no character of `q` ever reaches
/// a full-text query language as syntax.
pub fn terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .take(MAX_QUERY_TERMS)
        .map(str::to_lowercase)
        .collect()
}

/// A validated search: every term must match the start of a word of an entry (prefix
/// matching), `page` and `limit` apply to each group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub text: String,
    pub terms: Vec<String>,
    pub page: u32,
    pub limit: u32,
}

impl SearchQuery {
    pub fn offset(&self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.limit)
    }
}

// ---- answers -------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaCard {
    pub schema_id: SchemaId,
    pub title: String,
    pub description: String,
    /// Listed issuance programs of this schema.
    pub credential_count: u64,
    /// Distinct issuers of those programs.
    pub provider_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerRef {
    pub issuer_id: IssuerId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaTraction {
    pub holder_count: u64,
    pub issuance_count: u64,
    pub demand_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaCredential {
    pub credential_id: ProgramId,
    pub name: String,
    pub category: String,
    pub issuer: IssuerRef,
    pub traction: SchemaTraction,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaDetail {
    pub schema_id: SchemaId,
    pub title: String,
    pub description: String,
    pub credentials: Vec<SchemaCredential>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerInfo {
    pub issuer_id: IssuerId,
    pub name: String,
    pub issuer_did: String,
    /// Where the issuer was registered; always `dashboard` (by an operator).
    pub issuer_from: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataPoint {
    pub title: String,
    #[serde(rename = "type")]
    pub kind: crate::schema::AttributeType,
    pub name: String,
    pub is_required: bool,
    pub description: String,
}

impl DataPoint {
    pub fn of(attributes: &[Attribute]) -> Vec<DataPoint> {
        attributes
            .iter()
            .map(|a| DataPoint {
                title: a.title.clone().unwrap_or_else(|| a.name.clone()),
                kind: a.kind,
                name: a.name.clone(),
                is_required: a.required,
                description: a.description.clone().unwrap_or_default(),
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaRef {
    pub schema_id: SchemaId,
    pub title: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialTraction {
    pub holder_count: u64,
    pub issuance_count: u64,
    pub verification_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramRef {
    pub program_id: VerificationProgramId,
    pub name: String,
    pub verifier_name: String,
    pub verification_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialDetail {
    pub credential_id: ProgramId,
    pub name: String,
    pub category: String,
    pub issuer: IssuerInfo,
    pub data_points: Vec<DataPoint>,
    pub schema: SchemaRef,
    pub traction: CredentialTraction,
    pub programs: Vec<ProgramRef>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramCard {
    pub program_id: VerificationProgramId,
    pub name: String,
    pub description: String,
    pub verification_count: u64,
    /// Issuance programs it accepts.
    pub credential_count: u64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedCard {
    pub credential_id: ProgramId,
    pub name: String,
    pub category: String,
    pub holder_count: u64,
    pub issuance_count: u64,
    pub verification_conditions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifierInfo {
    /// The verifier's DID: claimd keeps no separate verifier record.
    pub verifier_id: String,
    pub name: String,
    pub verifier_did: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramTraction {
    pub verification_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramDetail {
    pub program_id: VerificationProgramId,
    pub name: String,
    pub description: String,
    /// The listed issuance programs it accepts (a hidden one is left out).
    pub accepted_credentials: Vec<AcceptedCard>,
    pub verifier_info: VerifierInfo,
    pub traction: ProgramTraction,
    pub pricing_model: crate::verification::PricingModel,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialHit {
    pub credential_id: ProgramId,
    pub name: String,
    pub category: String,
    pub relevance: f64,
    pub issuer: IssuerRef,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerHit {
    pub issuer_id: IssuerId,
    pub name: String,
    pub issuer_did: String,
    pub relevance: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramHit {
    pub program_id: VerificationProgramId,
    pub name: String,
    pub verification_count: u64,
    pub relevance: f64,
}

/// One group of search results: a page of the best matches and how many match in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group<T> {
    pub items: Vec<T>,
    pub total: u64,
}

impl<T> Group<T> {
    pub fn empty() -> Self {
        Group {
            items: vec![],
            total: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchMeta {
    pub query: String,
    pub total_results: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    pub credentials: Group<CredentialHit>,
    pub issuers: Group<IssuerHit>,
    pub programs: Group<ProgramHit>,
    pub meta: SearchMeta,
}

impl SearchResults {
    pub fn new(
        q: &SearchQuery,
        credentials: Group<CredentialHit>,
        issuers: Group<IssuerHit>,
        programs: Group<ProgramHit>,
    ) -> Self {
        let total_results = credentials.total + issuers.total + programs.total;
        SearchResults {
            credentials,
            issuers,
            programs,
            meta: SearchMeta {
                query: q.text.clone(),
                total_results,
            },
        }
    }
}

// ---- port ----------------------------------------------------------------------------

/// Verification programs, and the catalog flags of schemas and issuance programs.
#[async_trait]
pub trait CatalogRegistry: Send + Sync {
    async fn set_schema_visibility(
        &self,
        id: SchemaId,
        change: VisibilityChange,
    ) -> Result<Option<Schema>, StoreError>;
    async fn set_program_visibility(
        &self,
        id: &ProgramId,
        change: VisibilityChange,
    ) -> Result<Option<Program>, StoreError>;
    /// Every accepted issuance program must exist: `NotFound("issuance program")`.
    async fn create_verification_program(
        &self,
        id: VerificationProgramId,
        draft: VerificationDraft,
        at: DateTime<Utc>,
    ) -> Result<VerificationProgram, StoreError>;
    /// `Ok(None)` when no program has that id.
    async fn update_verification_program(
        &self,
        id: &VerificationProgramId,
        changes: VerificationChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<VerificationProgram>, StoreError>;
    async fn verification_program(
        &self,
        id: &VerificationProgramId,
    ) -> Result<Option<VerificationProgram>, StoreError>;
    async fn list_verification_programs(
        &self,
        page: crate::page::PageRequest,
    ) -> Result<Page<VerificationProgram>, StoreError>;
    /// Counts one compliant verification ([`crate::compliance`]): `verification_count + 1` on
    /// the verification program `program` and on the issuance program `credential`, in one
    /// transaction, only while the first accepts the second. `false` (nothing counted) when it
    /// does not, or either id is unknown.
    async fn record_verification(
        &self,
        program: &VerificationProgramId,
        credential: &ProgramId,
    ) -> Result<bool, StoreError>;
}

/// The public catalog's reads. Only listed entries (see [`Visibility::listed`]) are seen;
/// `None` for a hidden or unknown id.
#[async_trait]
pub trait CatalogView: Send + Sync {
    async fn catalog_schemas(&self, q: Browse<SchemaSort>) -> Result<Page<SchemaCard>, StoreError>;
    async fn catalog_schema(&self, id: SchemaId) -> Result<Option<SchemaDetail>, StoreError>;
    async fn catalog_credential(
        &self,
        id: &ProgramId,
    ) -> Result<Option<CredentialDetail>, StoreError>;
    async fn catalog_programs(
        &self,
        q: Browse<ProgramSort>,
    ) -> Result<Page<ProgramCard>, StoreError>;
    async fn catalog_program(
        &self,
        id: &VerificationProgramId,
    ) -> Result<Option<ProgramDetail>, StoreError>;
    /// Ranked (best first), each group paged by `q.page` / `q.limit`.
    async fn catalog_search(&self, q: &SearchQuery) -> Result<SearchResults, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawParams {
        let v: serde_json::Map<_, _> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        serde_json::from_value(v.into()).unwrap()
    }

    fn field(e: DomainError) -> String {
        let DomainError::Invalid { field, .. } = e;
        field
    }

    #[test]
    fn browse_defaults_and_bounds() {
        let b: Browse<SchemaSort> = raw(&[]).browse().unwrap();
        assert_eq!(
            (b.page, b.limit, b.sort, b.order),
            (1, 10, SchemaSort::CreatedAt, Order::Desc)
        );
        let b: Browse<SchemaSort> = raw(&[
            ("page", "3"),
            ("limit", "100"),
            ("sortBy", "title"),
            ("sortOrder", "ASC"),
        ])
        .browse()
        .unwrap();
        assert_eq!(
            (b.page, b.limit, b.sort, b.order, b.offset()),
            (3, 100, SchemaSort::Title, Order::Asc, 200)
        );
        for (k, v) in [
            ("page", "0"),
            ("page", "-1"),
            ("page", "x"),
            ("page", "99999999999"),
            ("limit", "0"),
            ("limit", "101"),
            ("limit", "1.5"),
            ("sortBy", "name"),
            ("sortBy", "created_at;drop"),
            ("sortOrder", "desc"),
        ] {
            let e = raw(&[(k, v)]).browse::<SchemaSort>().unwrap_err();
            assert_eq!(field(e), k, "{k}={v}");
        }
        assert!(raw(&[("sortBy", "name")]).browse::<ProgramSort>().is_ok());
    }

    #[test]
    fn search_requires_a_short_q() {
        assert_eq!(field(raw(&[]).search().unwrap_err()), "q");
        assert_eq!(field(raw(&[("q", "  ")]).search().unwrap_err()), "q");
        assert_eq!(
            field(raw(&[("q", &"é".repeat(201))]).search().unwrap_err()),
            "q"
        );
        assert!(raw(&[("q", &"é".repeat(200))]).search().is_ok());
        assert_eq!(
            field(raw(&[("q", "a"), ("limit", "51")]).search().unwrap_err()),
            "limit"
        );
        let s = raw(&[("q", "Age* OR \"x\" -y:z"), ("limit", "50")])
            .search()
            .unwrap();
        assert_eq!(s.terms, ["age", "or", "x", "y", "z"]);
        assert_eq!(s.limit, 50);
        assert_eq!(terms("a b c d e f g h i j").len(), MAX_QUERY_TERMS);
    }
}
