//! [`Registry`] on SQLite: partners, schemas, issuers, programs.

use crate::rows::{
    decode_all, decode_opt, json, map_err, ms, opt_time, time, to_json, total, uuid, Decode,
};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::Utc;
use claimd_core::issuer::{Issuer, SealedIssuerKeys};
use claimd_core::page::{Page, PageRequest};
use claimd_core::partner::{KeySource, Partner, PartnerChanges, PartnerDraft, TokenRules};
use claimd_core::program::{Program, ProgramDraft};
use claimd_core::schema::{Schema, SchemaDraft};
use claimd_core::store::{IssuerRecord, Registry, StoreError};
use claimd_core::{IssuerId, PartnerId, ProgramId, SchemaId};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

pub(crate) fn visibility(r: &SqliteRow) -> claimd_core::verification::Visibility {
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

fn partner(r: &SqliteRow) -> Result<Partner, StoreError> {
    let jwks: Option<String> = r.get("jwks");
    let allowed: Option<String> = r.get("allowed_schema_ids");
    Ok(Partner {
        partner_id: PartnerId(uuid(r.get("id"))?),
        name: r.get("name"),
        jwks_url: r.get("jwks_url"),
        jwks: jwks.as_deref().map(json).transpose()?,
        features: json(r.get("features"))?,
        token_rules: TokenRules {
            audience: r.get("audience"),
            issuer: r.get("token_issuer"),
            require_jti: r.get("require_jti"),
            enabled: r.get("enabled"),
        },
        allowed_schema_ids: allowed.as_deref().map(json).transpose()?,
        created_at: time(r.get("created_at"))?,
        updated_at: time(r.get("updated_at"))?,
    })
}

pub(crate) fn schema(r: &SqliteRow) -> Result<Schema, StoreError> {
    Ok(Schema {
        schema_id: SchemaId(uuid(r.get("id"))?),
        title: r.get("title"),
        type_name: r.get("type_name"),
        version: r.get("version"),
        description: r.get("description"),
        attributes: json(r.get("attributes"))?,
        visibility: visibility(r),
        created_at: time(r.get("created_at"))?,
    })
}

pub(crate) fn issuer(r: &SqliteRow) -> Result<Issuer, StoreError> {
    Ok(Issuer {
        issuer_id: IssuerId(uuid(r.get("id"))?),
        partner_id: PartnerId(uuid(r.get("partner_id"))?),
        name: r.get("name"),
        issuer_did: r.get("did"),
        eth_address: r.get("eth_address"),
        created_at: time(r.get("created_at"))?,
    })
}

pub(crate) fn program(r: &SqliteRow) -> Result<Program, StoreError> {
    let max: Option<i64> = r.get("max_issuance");
    let days: Option<i64> = r.get("expiration_days");
    Ok(Program {
        credential_id: ProgramId(r.get("id")),
        draft: ProgramDraft {
            issuer_did: r.get("issuer_did"),
            schema_id: SchemaId(uuid(r.get("schema_id"))?),
            name: r.get("name"),
            accessible_from: opt_time(r.get("accessible_from"))?,
            accessible_until: opt_time(r.get("accessible_until"))?,
            max_issuance: max.map(|m| m as u64),
            expiration_days: days.map(|d| d as u32),
        },
        visibility: visibility(r),
        created_at: time(r.get("created_at"))?,
    })
}

fn key_columns(k: &KeySource) -> (Option<String>, Option<String>) {
    match k {
        KeySource::JwksUrl(u) => (Some(u.clone()), None),
        KeySource::Inline(j) => (None, Some(to_json(j))),
    }
}

impl SqliteStore {
    /// The row `sql` finds by its one key (`?`), decoded.
    pub(crate) async fn find<T>(
        &self,
        sql: &str,
        key: &str,
        decode: Decode<T>,
    ) -> Result<Option<T>, StoreError> {
        decode_opt(
            sqlx::query(sql).bind(key).fetch_optional(&self.pool).await,
            decode,
        )
    }

    /// Every row `sql` finds by its one key (`?`), decoded.
    pub(crate) async fn find_all<'q, T, K>(
        &self,
        sql: &'q str,
        key: K,
        decode: Decode<T>,
    ) -> Result<Vec<T>, StoreError>
    where
        K: sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Send + 'q,
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
impl Registry for SqliteStore {
    async fn create_partner(&self, d: PartnerDraft) -> Result<Partner, StoreError> {
        let id = PartnerId::new_random();
        let now = ms(Utc::now());
        let (url, jwks) = key_columns(&d.key_source);
        sqlx::query(
            "INSERT INTO partners (id, name, jwks_url, jwks, features, allowed_schema_ids, \
             audience, token_issuer, require_jti, enabled, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
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
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let row = sqlx::query(&format!("SELECT {PARTNER_COLS} FROM partners WHERE id = ?"))
            .bind(id.to_string())
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
            "UPDATE partners SET name = ?, jwks_url = ?, jwks = ?, features = ?, allowed_schema_ids = ?, \
             audience = ?, token_issuer = ?, require_jti = ?, enabled = ?, updated_at = ? \
             WHERE id = ?",
        )
        .bind(&p.name)
        .bind(&p.jwks_url)
        .bind(p.jwks.as_ref().map(to_json))
        .bind(to_json(&p.features))
        .bind(p.allowed_schema_ids.as_ref().map(to_json))
        .bind(&p.token_rules.audience)
        .bind(&p.token_rules.issuer)
        .bind(p.token_rules.require_jti)
        .bind(p.token_rules.enabled)
        .bind(ms(p.updated_at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        // Re-read so the returned value has the stored precision (milliseconds).
        self.partner(id).await
    }

    async fn partner(&self, id: PartnerId) -> Result<Option<Partner>, StoreError> {
        self.find(
            &format!("SELECT {PARTNER_COLS} FROM partners WHERE id = ?"),
            &id.to_string(),
            partner,
        )
        .await
    }

    async fn list_partners(&self, page: PageRequest) -> Result<Page<Partner>, StoreError> {
        self.page(
            &format!(
                "SELECT {PARTNER_COLS} FROM partners ORDER BY created_at, id LIMIT ? OFFSET ?"
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
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(&d.title)
        .bind(&d.type_name)
        .bind(&d.version)
        .bind(&d.description)
        .bind(to_json(&d.attributes))
        .bind(ms(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        self.schema(id)
            .await?
            .ok_or(StoreError::Internal("schema vanished after insert".into()))
    }

    async fn schema(&self, id: SchemaId) -> Result<Option<Schema>, StoreError> {
        self.find(
            &format!("SELECT {SCHEMA_COLS} FROM schemas WHERE id = ?"),
            &id.to_string(),
            schema,
        )
        .await
    }

    async fn list_schemas(&self, page: PageRequest) -> Result<Page<Schema>, StoreError> {
        self.page(
            &format!("SELECT {SCHEMA_COLS} FROM schemas ORDER BY created_at, id LIMIT ? OFFSET ?"),
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.issuer_id.to_string())
        .bind(r.partner_id.to_string())
        .bind(&r.name)
        .bind(&r.issuer_did)
        .bind(&r.eth_address)
        .bind(&r.keys.eth_key)
        .bind(&r.keys.bjj_key)
        .bind(ms(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        self.issuer(r.issuer_id)
            .await?
            .ok_or(StoreError::Internal("issuer vanished after insert".into()))
    }

    async fn issuer(&self, id: IssuerId) -> Result<Option<Issuer>, StoreError> {
        self.find(
            &format!("SELECT {ISSUER_COLS} FROM issuers WHERE id = ?"),
            &id.to_string(),
            issuer,
        )
        .await
    }

    async fn issuer_by_did(&self, did: &str) -> Result<Option<Issuer>, StoreError> {
        self.find(
            &format!("SELECT {ISSUER_COLS} FROM issuers WHERE did = ?"),
            did,
            issuer,
        )
        .await
    }

    async fn issuer_keys(&self, id: IssuerId) -> Result<Option<SealedIssuerKeys>, StoreError> {
        let row = sqlx::query("SELECT eth_key, bjj_key FROM issuers WHERE id = ?")
            .bind(id.to_string())
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
            &format!("SELECT {ISSUER_COLS} FROM issuers ORDER BY created_at, id LIMIT ? OFFSET ?"),
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
             max_issuance, expiration_days, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(issuer.issuer_id.to_string())
        .bind(d.schema_id.to_string())
        .bind(&d.name)
        .bind(d.accessible_from.map(ms))
        .bind(d.accessible_until.map(ms))
        .bind(d.max_issuance.map(|m| m as i64))
        .bind(d.expiration_days.map(i64::from))
        .bind(ms(Utc::now()))
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
                "SELECT {PROGRAM_COLS} FROM programs p JOIN issuers i ON i.id = p.issuer_id WHERE p.id = ?"
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
                 ORDER BY p.created_at, p.id LIMIT ? OFFSET ?"
            ),
            "SELECT COUNT(*) FROM programs",
            page,
            program,
        )
        .await
    }
}
