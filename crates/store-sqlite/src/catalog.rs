//! [`CatalogRegistry`] and [`CatalogView`] on SQLite: verification programs, catalog flags,
//! and the public catalog's reads. Counts are columns kept by the migration's triggers; search
//! runs on the FTS5 tables `credential_fts`, `issuer_fts` and `program_fts`.

use crate::rows::{decode_all, decode_opt, json, map_err, ms, time, to_json, total, uuid};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use claimd_core::catalog::*;
use claimd_core::page::{Page, PageRequest};
use claimd_core::program::Program;
use claimd_core::schema::{Attribute, Schema};
use claimd_core::store::{Registry, StoreError};
use claimd_core::verification::{
    AcceptedCredential, PricingModel, VerificationChanges, VerificationDraft, VerificationProgram,
    VerificationProgramId, VisibilityChange,
};
use claimd_core::{IssuerId, ProgramId, SchemaId};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

const VP_COLS: &str = "id, name, description, verifier_name, verifier_did, pricing_model, \
     credential_count, verification_count, discoverable, enabled, created_at, updated_at";

fn count(r: &SqliteRow, col: &str) -> u64 {
    total(r.get::<i64, _>(col))
}

fn pricing(s: &str) -> Result<PricingModel, StoreError> {
    PricingModel::parse(s).ok_or_else(|| StoreError::Internal(format!("bad pricing model {s:?}")))
}

fn vp(r: &SqliteRow) -> Result<VerificationProgram, StoreError> {
    Ok(VerificationProgram {
        program_id: VerificationProgramId(r.get("id")),
        name: r.get("name"),
        description: r.get("description"),
        verifier_name: r.get("verifier_name"),
        verifier_did: r.get("verifier_did"),
        accepted_credentials: vec![],
        pricing_model: pricing(r.get("pricing_model"))?,
        verification_count: count(r, "verification_count"),
        visibility: crate::registry::visibility(r),
        created_at: time(r.get("created_at"))?,
        updated_at: time(r.get("updated_at"))?,
    })
}

fn accepted(r: &SqliteRow) -> Result<AcceptedCredential, StoreError> {
    Ok(AcceptedCredential {
        credential_id: ProgramId(r.get("program_id")),
        conditions: json(r.get("conditions"))?,
    })
}

fn order_sql(o: Order) -> &'static str {
    match o {
        Order::Asc => "ASC",
        Order::Desc => "DESC",
    }
}

/// The FTS5 query of a search: every term as a quoted prefix (`"age"*`), all required. Terms
/// are letters and digits only ([`claimd_core::catalog::terms`]), so nothing is syntax.
fn fts_query(q: &SearchQuery) -> String {
    q.terms
        .iter()
        .map(|t| format!("\"{t}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl SqliteStore {
    /// Applies `c` to the catalog flags of the row `id` of `table` (`schemas` or `programs`):
    /// whether there is such a row.
    async fn set_visibility(
        &self,
        table: &str,
        id: &str,
        c: VisibilityChange,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "UPDATE {table} SET discoverable = COALESCE(?, discoverable), \
             enabled = COALESCE(?, enabled) WHERE id = ?"
        ))
        .bind(c.discoverable)
        .bind(c.enabled)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn load_vp(
        &self,
        conn: &mut SqliteConnection,
        id: &str,
    ) -> Result<Option<VerificationProgram>, StoreError> {
        let row = decode_opt(
            sqlx::query(&format!(
                "SELECT {VP_COLS} FROM verification_programs WHERE id = ?"
            ))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await,
            vp,
        )?;
        let Some(mut p) = row else { return Ok(None) };
        p.accepted_credentials = decode_all(
            sqlx::query(
                "SELECT program_id, conditions FROM verification_accepts WHERE vp_id = ? ORDER BY position",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await,
            accepted,
        )?;
        Ok(Some(p))
    }

    /// Replaces the program's accepted list; every issuance program must exist.
    async fn write_accepts(
        conn: &mut SqliteConnection,
        id: &str,
        list: &[AcceptedCredential],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM verification_accepts WHERE vp_id = ?")
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        for (i, a) in list.iter().enumerate() {
            let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM programs WHERE id = ?")
                .bind(a.credential_id.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
            if exists.is_none() {
                return Err(StoreError::NotFound("issuance program"));
            }
            sqlx::query(
                "INSERT INTO verification_accepts (vp_id, program_id, position, conditions) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(a.credential_id.as_str())
            .bind(i as i64)
            .bind(to_json(&a.conditions))
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        }
        Ok(())
    }
}

#[async_trait]
impl CatalogRegistry for SqliteStore {
    async fn set_schema_visibility(
        &self,
        id: SchemaId,
        c: VisibilityChange,
    ) -> Result<Option<Schema>, StoreError> {
        if !self.set_visibility("schemas", &id.to_string(), c).await? {
            return Ok(None);
        }
        self.schema(id).await
    }

    async fn set_program_visibility(
        &self,
        id: &ProgramId,
        c: VisibilityChange,
    ) -> Result<Option<Program>, StoreError> {
        if !self.set_visibility("programs", id.as_str(), c).await? {
            return Ok(None);
        }
        self.program(id).await
    }

    async fn create_verification_program(
        &self,
        id: VerificationProgramId,
        d: VerificationDraft,
        at: DateTime<Utc>,
    ) -> Result<VerificationProgram, StoreError> {
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        sqlx::query(&format!(
            "INSERT INTO verification_programs ({VP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)"
        ))
        .bind(id.as_str())
        .bind(&d.name)
        .bind(&d.description)
        .bind(&d.verifier_name)
        .bind(&d.verifier_did)
        .bind(d.pricing_model.as_str())
        .bind(d.accepted_credentials.len() as i64)
        .bind(d.visibility.discoverable)
        .bind(d.visibility.enabled)
        .bind(ms(at))
        .bind(ms(at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        Self::write_accepts(&mut tx, id.as_str(), &d.accepted_credentials).await?;
        let created = self.load_vp(&mut tx, id.as_str()).await?;
        tx.commit().await.map_err(map_err)?;
        created.ok_or(StoreError::Internal("verification program vanished".into()))
    }

    async fn update_verification_program(
        &self,
        id: &VerificationProgramId,
        c: VerificationChanges,
        at: DateTime<Utc>,
    ) -> Result<Option<VerificationProgram>, StoreError> {
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        let Some(mut p) = self.load_vp(&mut tx, id.as_str()).await? else {
            return Ok(None);
        };
        let new_list = c.accepted_credentials.is_some();
        c.apply(&mut p);
        sqlx::query(
            "UPDATE verification_programs SET name = ?, description = ?, verifier_name = ?, \
             verifier_did = ?, pricing_model = ?, credential_count = ?, discoverable = ?, \
             enabled = ?, updated_at = ? WHERE id = ?",
        )
        .bind(&p.name)
        .bind(&p.description)
        .bind(&p.verifier_name)
        .bind(&p.verifier_did)
        .bind(p.pricing_model.as_str())
        .bind(p.accepted_credentials.len() as i64)
        .bind(p.visibility.discoverable)
        .bind(p.visibility.enabled)
        .bind(ms(at))
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if new_list {
            Self::write_accepts(&mut tx, id.as_str(), &p.accepted_credentials).await?;
        }
        let updated = self.load_vp(&mut tx, id.as_str()).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(updated)
    }

    async fn verification_program(
        &self,
        id: &VerificationProgramId,
    ) -> Result<Option<VerificationProgram>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        self.load_vp(&mut conn, id.as_str()).await
    }

    async fn list_verification_programs(
        &self,
        page: PageRequest,
    ) -> Result<Page<VerificationProgram>, StoreError> {
        let ids: Page<String> = self
            .page(
                "SELECT id FROM verification_programs ORDER BY created_at, id LIMIT ? OFFSET ?",
                "SELECT COUNT(*) FROM verification_programs",
                page,
                |r| Ok(r.get("id")),
            )
            .await?;
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let mut items = Vec::with_capacity(ids.items.len());
        for id in &ids.items {
            if let Some(p) = self.load_vp(&mut conn, id).await? {
                items.push(p);
            }
        }
        Ok(Page {
            items,
            page: ids.page,
            limit: ids.limit,
            total: ids.total,
        })
    }

    async fn record_verification(
        &self,
        program: &VerificationProgramId,
        credential: &ProgramId,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writes.begin().await.map_err(map_err)?;
        // Atomic increments, not read-modify-write: concurrent verifications all count. The
        // acceptance is checked in the same statement, so a list changed meanwhile counts
        // nothing; dropping the transaction rolls back.
        let counted = sqlx::query(
            "UPDATE verification_programs SET verification_count = verification_count + 1 \
             WHERE id = ? AND EXISTS (SELECT 1 FROM verification_accepts a \
             WHERE a.vp_id = verification_programs.id AND a.program_id = ?)",
        )
        .bind(program.as_str())
        .bind(credential.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if counted.rows_affected() == 0 {
            return Ok(false);
        }
        let counted = sqlx::query(
            "UPDATE programs SET verification_count = verification_count + 1 WHERE id = ?",
        )
        .bind(credential.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if counted.rows_affected() == 0 {
            return Ok(false);
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }
}

/// The columns [`schema_card`] reads.
const SCHEMA_CARD_COLS: &str = "id, title, description, credential_count, provider_count";

fn schema_card(r: &SqliteRow) -> Result<SchemaCard, StoreError> {
    Ok(SchemaCard {
        schema_id: SchemaId(uuid(r.get("id"))?),
        title: r.get("title"),
        description: r.get("description"),
        credential_count: count(r, "credential_count"),
        provider_count: count(r, "provider_count"),
    })
}

fn issuer_ref(r: &SqliteRow) -> Result<IssuerRef, StoreError> {
    Ok(IssuerRef {
        issuer_id: IssuerId(uuid(r.get("issuer_id"))?),
        name: r.get("issuer_name"),
    })
}

fn schema_credential(r: &SqliteRow) -> Result<SchemaCredential, StoreError> {
    Ok(SchemaCredential {
        credential_id: ProgramId(r.get("id")),
        name: r.get("name"),
        category: r.get("category"),
        issuer: issuer_ref(r)?,
        traction: SchemaTraction {
            holder_count: count(r, "holder_count"),
            issuance_count: count(r, "issued_count"),
            demand_count: count(r, "demand_count"),
        },
        created_at: time(r.get("created_at"))?,
    })
}

fn program_ref(r: &SqliteRow) -> Result<ProgramRef, StoreError> {
    Ok(ProgramRef {
        program_id: VerificationProgramId(r.get("id")),
        name: r.get("name"),
        verifier_name: r.get("verifier_name"),
        verification_count: count(r, "verification_count"),
    })
}

fn program_card(r: &SqliteRow) -> Result<ProgramCard, StoreError> {
    Ok(ProgramCard {
        program_id: VerificationProgramId(r.get("id")),
        name: r.get("name"),
        description: r.get("description"),
        verification_count: count(r, "verification_count"),
        credential_count: count(r, "credential_count"),
        created_at: time(r.get("created_at"))?,
    })
}

fn accepted_card(r: &SqliteRow) -> Result<AcceptedCard, StoreError> {
    Ok(AcceptedCard {
        credential_id: ProgramId(r.get("id")),
        name: r.get("name"),
        category: r.get("category"),
        holder_count: count(r, "holder_count"),
        issuance_count: count(r, "issued_count"),
        verification_conditions: json(r.get("conditions"))?,
    })
}

fn credential_hit(r: &SqliteRow) -> Result<CredentialHit, StoreError> {
    Ok(CredentialHit {
        credential_id: ProgramId(r.get("id")),
        name: r.get("name"),
        category: r.get("category"),
        relevance: r.get("relevance"),
        issuer: issuer_ref(r)?,
    })
}

fn issuer_hit(r: &SqliteRow) -> Result<IssuerHit, StoreError> {
    Ok(IssuerHit {
        issuer_id: IssuerId(uuid(r.get("id"))?),
        name: r.get("name"),
        issuer_did: r.get("did"),
        relevance: r.get("relevance"),
    })
}

fn program_hit(r: &SqliteRow) -> Result<ProgramHit, StoreError> {
    Ok(ProgramHit {
        program_id: VerificationProgramId(r.get("id")),
        name: r.get("name"),
        verification_count: count(r, "verification_count"),
        relevance: r.get("relevance"),
    })
}

impl SqliteStore {
    /// One group of a search: the page of `select` (binds: match, limit, offset) and the
    /// total of `count_sql` (bind: match).
    async fn group<T>(
        &self,
        select: &str,
        count_sql: &str,
        q: &SearchQuery,
        decode: crate::rows::Decode<T>,
    ) -> Result<Group<T>, StoreError> {
        if q.terms.is_empty() {
            return Ok(Group::empty());
        }
        let m = fts_query(q);
        let items = decode_all(
            sqlx::query(select)
                .bind(&m)
                .bind(i64::from(q.limit))
                .bind(q.offset())
                .fetch_all(&self.pool)
                .await,
            decode,
        )?;
        let n: i64 = sqlx::query_scalar(count_sql)
            .bind(&m)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(Group {
            items,
            total: total(n),
        })
    }

    /// A page of a catalog listing: the rows of `select` by `col` in `b`'s order, ties broken
    /// by id in the same order so that pages never overlap, and the total of `count_sql`.
    async fn browse<S, T>(
        &self,
        b: &Browse<S>,
        col: &str,
        select: &str,
        count_sql: &str,
        decode: crate::rows::Decode<T>,
    ) -> Result<Page<T>, StoreError> {
        let o = order_sql(b.order);
        let page = PageRequest {
            page: b.page,
            limit: b.limit,
        };
        self.page(
            &format!("{select} ORDER BY {col} {o}, id {o} LIMIT ? OFFSET ?"),
            count_sql,
            page,
            decode,
        )
        .await
    }
}

#[async_trait]
impl CatalogView for SqliteStore {
    async fn catalog_schemas(&self, b: Browse<SchemaSort>) -> Result<Page<SchemaCard>, StoreError> {
        let col = match b.sort {
            SchemaSort::CreatedAt => "created_at",
            SchemaSort::CredentialCount => "credential_count",
            SchemaSort::ProviderCount => "provider_count",
            SchemaSort::Title => "title",
        };
        self.browse(
            &b,
            col,
            &format!("SELECT {SCHEMA_CARD_COLS} FROM schemas WHERE discoverable AND enabled"),
            "SELECT COUNT(*) FROM schemas WHERE discoverable AND enabled",
            schema_card,
        )
        .await
    }

    async fn catalog_schema(&self, id: SchemaId) -> Result<Option<SchemaDetail>, StoreError> {
        let id = id.to_string();
        let Some(card) = self
            .find(
                &format!(
                    "SELECT {SCHEMA_CARD_COLS} FROM schemas WHERE id = ? AND discoverable AND enabled"
                ),
                &id,
                schema_card,
            )
            .await?
        else {
            return Ok(None);
        };
        let credentials = self.find_all(
            &format!(
                "SELECT p.id, p.name, s.type_name AS category, i.id AS issuer_id, \
                 i.name AS issuer_name, p.holder_count, p.issued_count, p.demand_count, p.created_at \
                 FROM programs p JOIN issuers i ON i.id = p.issuer_id JOIN schemas s ON s.id = p.schema_id \
                 WHERE p.schema_id = ? AND p.discoverable AND p.enabled \
                 ORDER BY p.created_at DESC, p.id LIMIT {MAX_NESTED}"
            ),
            &id,
            schema_credential,
        )
        .await?;
        Ok(Some(SchemaDetail {
            schema_id: card.schema_id,
            title: card.title,
            description: card.description,
            credentials,
        }))
    }

    async fn catalog_credential(
        &self,
        id: &ProgramId,
    ) -> Result<Option<CredentialDetail>, StoreError> {
        let row = sqlx::query(
            "SELECT p.id, p.name, p.created_at, p.holder_count, p.issued_count, p.verification_count, \
             i.id AS issuer_id, i.name AS issuer_name, i.did AS issuer_did, s.id AS schema_id, \
             s.title, s.description, s.type_name, s.attributes \
             FROM programs p JOIN issuers i ON i.id = p.issuer_id JOIN schemas s ON s.id = p.schema_id \
             WHERE p.id = ? AND p.discoverable AND p.enabled",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(r) = row else { return Ok(None) };
        let programs = self
            .find_all(
                &format!(
                    "SELECT v.id, v.name, v.verifier_name, v.verification_count \
                 FROM verification_accepts a JOIN verification_programs v ON v.id = a.vp_id \
                 WHERE a.program_id = ? AND v.discoverable AND v.enabled \
                 ORDER BY v.verification_count DESC, v.id LIMIT {MAX_NESTED}"
                ),
                id.as_str(),
                program_ref,
            )
            .await?;
        let attributes: Vec<Attribute> = json(r.get("attributes"))?;
        Ok(Some(CredentialDetail {
            credential_id: ProgramId(r.get("id")),
            name: r.get("name"),
            category: r.get("type_name"),
            issuer: IssuerInfo {
                issuer_id: IssuerId(uuid(r.get("issuer_id"))?),
                name: r.get("issuer_name"),
                issuer_did: r.get("issuer_did"),
                issuer_from: "dashboard",
            },
            data_points: DataPoint::of(&attributes),
            schema: SchemaRef {
                schema_id: SchemaId(uuid(r.get("schema_id"))?),
                title: r.get("title"),
                description: r.get("description"),
            },
            traction: CredentialTraction {
                holder_count: count(&r, "holder_count"),
                issuance_count: count(&r, "issued_count"),
                verification_count: count(&r, "verification_count"),
            },
            programs,
            created_at: time(r.get("created_at"))?,
        }))
    }

    async fn catalog_programs(
        &self,
        b: Browse<ProgramSort>,
    ) -> Result<Page<ProgramCard>, StoreError> {
        let col = match b.sort {
            ProgramSort::CreatedAt => "created_at",
            ProgramSort::VerificationCount => "verification_count",
            ProgramSort::CredentialCount => "credential_count",
            ProgramSort::Name => "name",
        };
        self.browse(
            &b,
            col,
            "SELECT id, name, description, verification_count, credential_count, created_at \
             FROM verification_programs WHERE discoverable AND enabled",
            "SELECT COUNT(*) FROM verification_programs WHERE discoverable AND enabled",
            program_card,
        )
        .await
    }

    async fn catalog_program(
        &self,
        id: &VerificationProgramId,
    ) -> Result<Option<ProgramDetail>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, description, verifier_name, verifier_did, verification_count, \
             pricing_model, created_at FROM verification_programs \
             WHERE id = ? AND discoverable AND enabled",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(r) = row else { return Ok(None) };
        let accepted = self
            .find_all(
                "SELECT p.id, p.name, s.type_name AS category, p.holder_count, p.issued_count, \
             a.conditions FROM verification_accepts a JOIN programs p ON p.id = a.program_id \
             JOIN schemas s ON s.id = p.schema_id \
             WHERE a.vp_id = ? AND p.discoverable AND p.enabled ORDER BY a.position",
                id.as_str(),
                accepted_card,
            )
            .await?;
        let did: String = r.get("verifier_did");
        Ok(Some(ProgramDetail {
            program_id: VerificationProgramId(r.get("id")),
            name: r.get("name"),
            description: r.get("description"),
            accepted_credentials: accepted,
            verifier_info: VerifierInfo {
                verifier_id: did.clone(),
                name: r.get("verifier_name"),
                verifier_did: did,
            },
            traction: ProgramTraction {
                verification_count: count(&r, "verification_count"),
            },
            pricing_model: pricing(r.get("pricing_model"))?,
            created_at: time(r.get("created_at"))?,
        }))
    }

    async fn catalog_search(&self, q: &SearchQuery) -> Result<SearchResults, StoreError> {
        let credentials = self
            .group(
                "SELECT p.id, p.name, s.type_name AS category, i.id AS issuer_id, \
                 i.name AS issuer_name, -bm25(credential_fts) AS relevance \
                 FROM credential_fts JOIN programs p ON p.id = credential_fts.id \
                 JOIN schemas s ON s.id = p.schema_id JOIN issuers i ON i.id = p.issuer_id \
                 WHERE credential_fts MATCH ? AND p.discoverable AND p.enabled \
                 ORDER BY relevance DESC, p.id LIMIT ? OFFSET ?",
                "SELECT COUNT(*) FROM credential_fts JOIN programs p ON p.id = credential_fts.id \
                 WHERE credential_fts MATCH ? AND p.discoverable AND p.enabled",
                q,
                credential_hit,
            )
            .await?;
        // An issuer appears once it has a listed issuance program.
        let listed = "EXISTS (SELECT 1 FROM programs p WHERE p.issuer_id = i.id \
                      AND p.discoverable AND p.enabled)";
        let issuers = self
            .group(
                &format!(
                    "SELECT i.id, i.name, i.did, -bm25(issuer_fts) AS relevance \
                     FROM issuer_fts JOIN issuers i ON i.id = issuer_fts.id \
                     WHERE issuer_fts MATCH ? AND {listed} \
                     ORDER BY relevance DESC, i.id LIMIT ? OFFSET ?"
                ),
                &format!(
                    "SELECT COUNT(*) FROM issuer_fts JOIN issuers i ON i.id = issuer_fts.id \
                     WHERE issuer_fts MATCH ? AND {listed}"
                ),
                q,
                issuer_hit,
            )
            .await?;
        let programs = self
            .group(
                "SELECT v.id, v.name, v.verification_count, -bm25(program_fts) AS relevance \
                 FROM program_fts JOIN verification_programs v ON v.id = program_fts.id \
                 WHERE program_fts MATCH ? AND v.discoverable AND v.enabled \
                 ORDER BY relevance DESC, v.id LIMIT ? OFFSET ?",
                "SELECT COUNT(*) FROM program_fts JOIN verification_programs v ON v.id = program_fts.id \
                 WHERE program_fts MATCH ? AND v.discoverable AND v.enabled",
                q,
                program_hit,
            )
            .await?;
        Ok(SearchResults::new(q, credentials, issuers, programs))
    }
}
