//! [`Registry`] on PostgreSQL: partners, schemas, issuers, programs.

use crate::rows::{decode_all, decode_opt, json, map_err, to_json, total, Decode};
use crate::PgStore;
use async_trait::async_trait;
use chrono::Utc;
use claimd_core::issuer::{Issuer, SealedIssuerKeys};
use claimd_core::page::{Page, PageRequest};
use claimd_core::partner::{KeySource, Partner, PartnerChanges, PartnerDraft, TokenRules};
use claimd_core::program::{Program, ProgramDraft};
use claimd_core::schema::{Schema, SchemaDraft};
use claimd_core::store::{IssuerRecord, Registry, StoreError};
use claimd_core::{IssuerId, PartnerId, ProgramId, SchemaId};
use sqlx::postgres::PgRow;
use sqlx::Row;

pub(crate) fn visibility(r: &PgRow) -> claimd_core::verification::Visibility {
    claimd_core::verification::Visibility {
        discoverable: r.get("discoverable"),
        enabled: r.get("enabled"),
    }
}

const PARTNER_COLS: &str = "id, name, jwks_url, jwks, features, allowed_schema_ids, \
     audience, token_issuer, require_jti, enabled, created_at, updated_at";
pub(crate) const SCHEMA_COLS: &str =
    "id, title, type_name, version, description, attributes, discoverable, enabled, created_at";
pub(crate) const ISSUER_COLS: &str = "id, partner_id, name, did, eth_address, created_at";
pub(crate) const PROGRAM_COLS: &str = "p.id, i.did AS issuer_did, p.schema_id, p.name, p.accessible_from, \
     p.accessible_until, p.max_issuance, p.expiration_days, p.discoverable, p.enabled, p.created_at";

fn partner(r: &PgRow) -> Result<Partner, StoreError> {
    let allowed: Option<serde_json::Value> = r.get("allowed_schema_ids");
    Ok(Partner {
        partner_id: PartnerId(r.get("id")),
        name: r.get("name"),
        jwks_url: r.get("jwks_url"),
        jwks: r.get("jwks"),
        features: json(r.get("features"))?,
        token_rules: TokenRules {
            audience: r.get("audience"),
            issuer: r.get("token_issuer"),
            require_jti: r.get("require_jti"),
            enabled: r.get("enabled"),
        },
        allowed_schema_ids: allowed.map(json).transpose()?,
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    })
}

pub(crate) fn schema(r: &PgRow) -> Result<Schema, StoreError> {
    Ok(Schema {
        schema_id: SchemaId(r.get("id")),
        title: r.get("title"),
        type_name: r.get("type_name"),
        version: r.get("version"),
        description: r.get("description"),
        attributes: json(r.get("attributes"))?,
        visibility: visibility(r),
        created_at: r.get("created_at"),
    })
}

pub(crate) fn issuer(r: &PgRow) -> Result<Issuer, StoreError> {
    Ok(Issuer {
        issuer_id: IssuerId(r.get("id")),
        partner_id: PartnerId(r.get("partner_id")),
        name: r.get("name"),
        issuer_did: r.get("did"),
        eth_address: r.get("eth_address"),
        created_at: r.get("created_at"),
    })
}

pub(crate) fn program(r: &PgRow) -> Result<Program, StoreError> {
    let max: Option<i64> = r.get("max_issuance");
    let days: Option<i32> = r.get("expiration_days");
    Ok(Program {
        credential_id: ProgramId(r.get("id")),
        draft: ProgramDraft {
            issuer_did: r.get("issuer_did"),
            schema_id: SchemaId(r.get("schema_id")),
            name: r.get("name"),
            accessible_from: r.get("accessible_from"),
            accessible_until: r.get("accessible_until"),
            max_issuance: max.map(|m| m as u64),
            expiration_days: days.map(|d| d as u32),
        },
        visibility: visibility(r),
        created_at: r.get("created_at"),
    })
}

fn key_columns(k: &KeySource) -> (Option<String>, Option<serde_json::Value>) {
    match k {
        KeySource::JwksUrl(u) => (Some(u.clone()), None),
        KeySource::Inline(j) => (None, Some(j.clone())),
    }
}

impl PgStore {
    /// The row `sql` finds by its one key (`$1`), decoded.
    pub(crate) async fn find<T, K>(
        &self,
        sql: &str,
        key: K,
        decode: Decode<T>,
    ) -> Result<Option<T>, StoreError>
    where
        K: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        decode_opt(
            sqlx::query(sql).bind(key).fetch_optional(&self.pool).await,
            decode,
        )
    }

    /// Every row `sql` finds by its one key (`$1`), decoded.
    pub(crate) async fn find_all<T, K>(
        &self,
        sql: &str,
        key: K,
        decode: Decode<T>,
    ) -> Result<Vec<T>, StoreError>
    where
        K: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        decode_all(
            sqlx::query(sql).bind(key).fetch_all(&self.pool).await,
            decode,
        )
    }

    pub(crate) async fn page<T>(
        &self,
        table_sql: &str,
        count_sql: &str,
        page: PageRequest,
        map: Decode<T>,
    ) -> Result<Page<T>, StoreError> {
        let rows = sqlx::query(table_sql)
            .bind(i64::from(page.limit))
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let n: i64 = sqlx::query_scalar(count_sql)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(Page {
            items: rows.iter().map(map).collect::<Result<_, _>>()?,
            page: page.page,
            limit: page.limit,
            total: total(n),
        })
    }
}

#[async_trait]
impl Registry for PgStore {
    async fn create_partner(&self, d: PartnerDraft) -> Result<Partner, StoreError> {
        let id = PartnerId::new_random();
        let now = Utc::now();
        let (url, jwks) = key_columns(&d.key_source);
        sqlx::query(
            "INSERT INTO partners (id, name, jwks_url, jwks, features, allowed_schema_ids, \
             audience, token_issuer, require_jti, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(id.0)
        .bind(&d.name)
        .bind(url)
        .bind(jwks)
        .bind(to_json(&d.features))
        .bind(d.allowed_schema_ids.as_ref().map(to_json))
        .bind(&d.token_rules.audience)
        .bind(&d.token_rules.issuer)
        .bind(d.token_rules.require_jti)
        .bind(d.token_rules.enabled)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        self.partner(id)
            .await?
            .ok_or(StoreError::Internal("partner vanished after insert".into()))
    }

    async fn update_partner(
        &self,
        id: PartnerId,
        c: PartnerChanges,
    ) -> Result<Option<Partner>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let row = sqlx::query(&format!(
            "SELECT {PARTNER_COLS} FROM partners WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let mut p = partner(&row)?;
        c.apply_token_rules(&mut p.token_rules);
        if let Some(name) = c.name {
            p.name = name;
        }
        if let Some(k) = c.key_source {
            match k {
                KeySource::JwksUrl(u) => (p.jwks_url, p.jwks) = (Some(u), None),
                KeySource::Inline(j) => (p.jwks_url, p.jwks) = (None, Some(j)),
            }
        }
        if let Some(f) = c.features {
            p.features = f;
        }
        if let Some(a) = c.allowed_schema_ids {
            p.allowed_schema_ids = a;
        }
        p.updated_at = Utc::now();
        sqlx::query(
            "UPDATE partners SET name = $1, jwks_url = $2, jwks = $3, features = $4, allowed_schema_ids = $5, \
             audience = $6, token_issuer = $7, require_jti = $8, enabled = $9, updated_at = $10 \
             WHERE id = $11",
        )
        .bind(&p.name)
        .bind(&p.jwks_url)
        .bind(&p.jwks)
        .bind(to_json(&p.features))
        .bind(p.allowed_schema_ids.as_ref().map(to_json))
        .bind(&p.token_rules.audience)
        .bind(&p.token_rules.issuer)
        .bind(p.token_rules.require_jti)
        .bind(p.token_rules.enabled)
        .bind(p.updated_at)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        // Re-read so the returned value has the stored precision (milliseconds).
        self.partner(id).await
    }

    async fn partner(&self, id: PartnerId) -> Result<Option<Partner>, StoreError> {
        self.find(
            &format!("SELECT {PARTNER_COLS} FROM partners WHERE id = $1"),
            id.0,
            partner,
        )
        .await
    }

    async fn list_partners(&self, page: PageRequest) -> Result<Page<Partner>, StoreError> {
        self.page(
            &format!(
                "SELECT {PARTNER_COLS} FROM partners ORDER BY created_at, id LIMIT $1 OFFSET $2"
            ),
            "SELECT COUNT(*) FROM partners",
            page,
            partner,
        )
        .await
    }

    async fn create_schema(&self, d: SchemaDraft) -> Result<Schema, StoreError> {
        let id = SchemaId::new_random();
        sqlx::query(
            "INSERT INTO schemas (id, title, type_name, version, description, attributes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.0)
        .bind(&d.title)
        .bind(&d.type_name)
        .bind(&d.version)
        .bind(&d.description)
        .bind(to_json(&d.attributes))
        .bind(Utc::now())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        self.schema(id)
            .await?
            .ok_or(StoreError::Internal("schema vanished after insert".into()))
    }

    async fn schema(&self, id: SchemaId) -> Result<Option<Schema>, StoreError> {
        self.find(
            &format!("SELECT {SCHEMA_COLS} FROM schemas WHERE id = $1"),
            id.0,
            schema,
        )
        .await
    }

    async fn list_schemas(&self, page: PageRequest) -> Result<Page<Schema>, StoreError> {
        self.page(
            &format!(
                "SELECT {SCHEMA_COLS} FROM schemas ORDER BY created_at, id LIMIT $1 OFFSET $2"
            ),
            "SELECT COUNT(*) FROM schemas",
            page,
            schema,
        )
        .await
    }

    async fn create_issuer(&self, r: IssuerRecord) -> Result<Issuer, StoreError> {
        if self.partner(r.partner_id).await?.is_none() {
            return Err(StoreError::NotFound("partner"));
        }
        sqlx::query(
            "INSERT INTO issuers (id, partner_id, name, did, eth_address, eth_key, bjj_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(r.issuer_id.0)
        .bind(r.partner_id.0)
        .bind(&r.name)
        .bind(&r.issuer_did)
        .bind(&r.eth_address)
        .bind(&r.keys.eth_key)
        .bind(&r.keys.bjj_key)
        .bind(Utc::now())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        self.issuer(r.issuer_id)
            .await?
            .ok_or(StoreError::Internal("issuer vanished after insert".into()))
    }

    async fn issuer(&self, id: IssuerId) -> Result<Option<Issuer>, StoreError> {
        self.find(
            &format!("SELECT {ISSUER_COLS} FROM issuers WHERE id = $1"),
            id.0,
            issuer,
        )
        .await
    }

    async fn issuer_by_did(&self, did: &str) -> Result<Option<Issuer>, StoreError> {
        // PostgreSQL refuses text with NUL even as a parameter; no issuer has such a DID.
        if did.contains('\0') {
            return Ok(None);
        }
        self.find(
            &format!("SELECT {ISSUER_COLS} FROM issuers WHERE did = $1"),
            did,
            issuer,
        )
        .await
    }

    async fn issuer_keys(&self, id: IssuerId) -> Result<Option<SealedIssuerKeys>, StoreError> {
        let row = sqlx::query("SELECT eth_key, bjj_key FROM issuers WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(row.map(|r| SealedIssuerKeys {
            eth_key: r.get("eth_key"),
            bjj_key: r.get("bjj_key"),
        }))
    }

    async fn list_issuers(&self, page: PageRequest) -> Result<Page<Issuer>, StoreError> {
        self.page(
            &format!(
                "SELECT {ISSUER_COLS} FROM issuers ORDER BY created_at, id LIMIT $1 OFFSET $2"
            ),
            "SELECT COUNT(*) FROM issuers",
            page,
            issuer,
        )
        .await
    }

    async fn create_program(&self, id: ProgramId, d: ProgramDraft) -> Result<Program, StoreError> {
        let issuer = self
            .issuer_by_did(&d.issuer_did)
            .await?
            .ok_or(StoreError::NotFound("issuer"))?;
        if self.schema(d.schema_id).await?.is_none() {
            return Err(StoreError::NotFound("schema"));
        }
        sqlx::query(
            "INSERT INTO programs (id, issuer_id, schema_id, name, accessible_from, accessible_until, \
             max_issuance, expiration_days, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.as_str())
        .bind(issuer.issuer_id.0)
        .bind(d.schema_id.0)
        .bind(&d.name)
        .bind(d.accessible_from)
        .bind(d.accessible_until)
        .bind(d.max_issuance.map(|m| m as i64))
        .bind(d.expiration_days.map(|d| d as i32))
        .bind(Utc::now())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        self.program(&id)
            .await?
            .ok_or(StoreError::Internal("program vanished after insert".into()))
    }

    async fn program(&self, id: &ProgramId) -> Result<Option<Program>, StoreError> {
        self.find(
            &format!(
                "SELECT {PROGRAM_COLS} FROM programs p JOIN issuers i ON i.id = p.issuer_id WHERE p.id = $1"
            ),
            id.as_str(),
            program,
        )
        .await
    }

    async fn list_programs(&self, page: PageRequest) -> Result<Page<Program>, StoreError> {
        self.page(
            &format!(
                "SELECT {PROGRAM_COLS} FROM programs p JOIN issuers i ON i.id = p.issuer_id \
                 ORDER BY p.created_at, p.id LIMIT $1 OFFSET $2"
            ),
            "SELECT COUNT(*) FROM programs",
            page,
            program,
        )
        .await
    }
}
