//! Schemas: list, create with an attribute editor, preview of the generated JSON Schema and
//! JSON-LD context before creating, and the documents of a created schema.

use super::{entry_page, form, link, new_section, one, render, s, Listed, Listing};
use crate::dashboard::html::{self, enc, esc, Notice};
use crate::dashboard::operator::OperatorApi;
use crate::dashboard::{Fields, Posted, Viewing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use claimd_core::schema::{NewSchema, Schema};
use serde_json::{json, Value};
use std::fmt::Write;

/// The title and navigation item of a schema's page.
const PAGE: (&str, &str) = ("Schema", "schemas");
/// Attribute rows the form offers without script (the script adds more).
const ROWS: usize = 4;
/// Attribute rows read from a form at most.
const MAX_ROWS: usize = 64;
const TYPES: &[&str] = &["string", "integer", "number", "boolean", "date"];

pub async fn list(l: Listed) -> Response {
    page(l, &Fields::default(), "").await
}

async fn page(l: Listed, entered: &Fields, preview: &str) -> Response {
    let listing = Listing {
        api: "/admin/v1/schemas?",
        base: "/dashboard/schemas?",
        caption: "Schemas",
        headers: &["Title", "Type", "Version", "Id", "Attributes"],
    };
    let (table, notice) = listing
        .show(&l.api, l.page_no, l.notice, |sc| {
            let id = s(sc, "schemaId");
            vec![
                link(&format!("/dashboard/schemas/{}", enc(id)), s(sc, "title")),
                esc(s(sc, "type")),
                esc(s(sc, "version")),
                html::code(id),
                sc["attributes"]
                    .as_array()
                    .map(|a| a.len())
                    .unwrap_or(0)
                    .to_string(),
            ]
        })
        .await;
    let body = table
        + &new_section(
            "Create a schema",
            &form("/dashboard/schemas", &l.session, &schema_fields(entered)),
        )
        + preview;
    render("Schemas", "schemas", &l.session, notice, &body)
}

fn schema_fields(f: &Fields) -> String {
    let mut out = html::input("title", "Title", "text", f.text("title"), "required");
    out += &html::input(
        "type",
        "Credential type (e.g. Membership)",
        "text",
        f.text("type"),
        "required",
    );
    out += &html::input(
        "version",
        "Version",
        "text",
        f.get("version").unwrap_or("1.0"),
        "",
    );
    out += &html::input(
        "description",
        "Description",
        "text",
        f.text("description"),
        "",
    );
    out += "<fieldset><legend>Attributes</legend><div class=\"scroll\"><table class=\"attrs\">\
            <caption>Attributes of the credential subject</caption><thead><tr>\
            <th scope=\"col\">Name</th><th scope=\"col\">Type</th><th scope=\"col\">Required</th>\
            <th scope=\"col\">Description</th></tr></thead><tbody id=\"attr-rows\">";
    let rows = (0..MAX_ROWS)
        .filter(|i| f.has(&format!("attr-{i}-name")))
        .count()
        .max(ROWS);
    for i in 0..rows {
        out += &attr_row(i, f);
    }
    out += "</tbody></table></div><p><button type=\"button\" id=\"add-attr\" hidden>Add an attribute</button></p></fieldset>\
            <p><button type=\"submit\" name=\"intent\" value=\"preview\">Preview documents</button> \
            <button type=\"submit\" name=\"intent\" value=\"create\">Create schema</button></p>";
    out
}

fn attr_row(i: usize, f: &Fields) -> String {
    let name = format!("attr-{i}-name");
    let kind = format!("attr-{i}-type");
    let req = format!("attr-{i}-required");
    let desc = format!("attr-{i}-description");
    let chosen = f.get(&kind).unwrap_or("string");
    let mut options = String::new();
    for t in TYPES {
        let sel = if *t == chosen { " selected" } else { "" };
        let _ = write!(options, "<option{sel}>{t}</option>");
    }
    format!(
        "<tr><td><input name=\"{name}\" aria-label=\"Attribute {n} name\" value=\"{v}\"></td>\
         <td><select name=\"{kind}\" aria-label=\"Attribute {n} type\">{options}</select></td>\
         <td><input type=\"checkbox\" name=\"{req}\" value=\"yes\" aria-label=\"Attribute {n} required\"{c}></td>\
         <td><input name=\"{desc}\" aria-label=\"Attribute {n} description\" value=\"{d}\"></td></tr>",
        n = i + 1,
        v = html::attr(f.text(&name)),
        d = html::attr(f.text(&desc)),
        c = if f.has(&req) { " checked" } else { "" },
    )
}

/// The `POST /admin/v1/schemas` body the form describes (rows without a name are skipped).
fn schema_body(f: &Fields) -> Value {
    let attributes: Vec<Value> = (0..MAX_ROWS)
        .filter_map(|i| {
            let name = f.get(&format!("attr-{i}-name"))?;
            let mut a = json!({
                "name": name,
                "type": f.text(&format!("attr-{i}-type")),
                "required": f.has(&format!("attr-{i}-required")),
            });
            if let Some(d) = f.get(&format!("attr-{i}-description")) {
                a["description"] = json!(d);
            }
            Some(a)
        })
        .collect();
    let mut body = json!({
        "title": f.text("title"),
        "type": f.text("type"),
        "attributes": attributes,
    });
    for key in ["version", "description"] {
        if let Some(v) = f.get(key) {
            body[key] = json!(v);
        }
    }
    body
}

/// The documents the schema would get, by the same rules the server applies when it is
/// created (core's validation and generators); ids are placeholders until then.
fn preview(st: &AppState, body: &Value) -> Result<String, String> {
    let new: NewSchema = serde_json::from_value(body.clone()).map_err(|e| e.to_string())?;
    let draft = new.validate().map_err(|e| e.to_string())?;
    let schema = Schema {
        schema_id: claimd_core::SchemaId::new_random(),
        title: draft.title,
        type_name: draft.type_name,
        version: draft.version,
        description: draft.description,
        attributes: draft.attributes,
        created_at: st.operator.now(),
        visibility: Default::default(),
    };
    Ok(format!(
        "<section aria-labelledby=\"h-prev\"><h2 id=\"h-prev\">Preview</h2>\
         <p class=\"hint\">Not created yet: the schema id in these documents is a placeholder.</p>\
         <div class=\"two\">{}{}</div></section>",
        html::json_block("JSON Schema", &schema.json_schema(&st.config.public_url)),
        html::json_block("JSON-LD context", &schema.jsonld_context()),
    ))
}

pub async fn create(State(st): State<AppState>, p: Posted) -> Response {
    let body = schema_body(&p.form);
    if p.form.get("intent") == Some("preview") {
        return match preview(&st, &body) {
            Ok(html) => page(Listed::after_post(&st, p.session, None), &p.form, &html).await,
            Err(e) => {
                let notice = Some(Notice::Error(e));
                page(Listed::after_post(&st, p.session, notice), &p.form, "").await
            }
        };
    }
    match super::create(&st, "schemas", Ok(body), "schemaId").await {
        Ok(created) => created,
        Err(refusal) => {
            page(
                Listed::after_post(&st, p.session, Some(refusal)),
                &p.form,
                "",
            )
            .await
        }
    }
}

pub async fn show(v: Viewing) -> Result<Response, Response> {
    let api = OperatorApi::new(&v.st);
    let path = format!("/admin/v1/schemas/{}", enc(&v.id));
    let schema = one(&api, &path, &v.session, PAGE).await?;
    let id = s(&schema, "schemaId");
    let doc = |ext: &'static str| {
        let api = &api;
        async move {
            match api.get(&format!("/v1/schemas/{}.{ext}", enc(id))).await {
                Ok(v) => v,
                Err(e) => json!({"error": e.to_string()}),
            }
        }
    };
    let rows: Vec<Vec<String>> = schema["attributes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            vec![
                esc(s(a, "name")),
                esc(s(a, "type")),
                esc(if a["required"].as_bool().unwrap_or(false) {
                    "yes"
                } else {
                    "no"
                }),
                esc(s(a, "description")),
            ]
        })
        .collect();
    let body = format!(
        "{}{}<div class=\"two\">{}{}</div><p>{}</p>",
        html::facts(&[
            ("Schema id", html::code(id)),
            ("Type", esc(s(&schema, "type"))),
            ("Version", esc(s(&schema, "version"))),
            ("JSON Schema URL", html::code(s(&schema, "jsonSchemaUrl"))),
            (
                "JSON-LD context URL",
                html::code(s(&schema, "jsonLdContextUrl"))
            ),
        ]),
        html::table(
            "Attributes",
            &["Name", "Type", "Required", "Description"],
            &rows
        ),
        html::json_block("JSON Schema", &doc("json").await),
        html::json_block("JSON-LD context", &doc("jsonld").await),
        link("/dashboard/schemas", "All schemas"),
    );
    Ok(entry_page(
        PAGE,
        s(&schema, "title"),
        &v.session,
        None,
        &body,
    ))
}
