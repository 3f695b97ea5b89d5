//! Issuance programs: list, create (window, cap, expiry), and one program with its counts.

use super::{entry_page, form, link, new_section, one, options, render, rfc3339, s, submit, t};
use super::{Listed, Listing};
use crate::dashboard::html::{self, enc, esc};
use crate::dashboard::operator::OperatorApi;
use crate::dashboard::{Fields, Posted, Viewing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Map, Value};

/// The title and navigation item of a program's page.
const PAGE: (&str, &str) = ("Program", "programs");

pub async fn list(l: Listed) -> Response {
    page(l, &Fields::default()).await
}

async fn page(l: Listed, f: &Fields) -> Response {
    let listing = Listing {
        api: "/admin/v1/programs?",
        base: "/dashboard/programs?",
        caption: "Issuance programs",
        headers: &[
            "Name",
            "Id",
            "Issuer",
            "Window (UTC)",
            "Cap",
            "Expiry (days)",
        ],
    };
    let (table, notice) = listing
        .show(&l.api, l.page_no, l.notice, |p| {
            let id = s(p, "credentialId");
            vec![
                link(&format!("/dashboard/programs/{}", enc(id)), s(p, "name")),
                html::code(id),
                html::code(s(p, "issuerDid")),
                esc(&window(p)),
                esc(&t(&p["maxIssuance"])),
                esc(&t(&p["expirationDays"])),
            ]
        })
        .await;
    let issuers = options(&l.api, "/admin/v1/issuers", "issuerDid", "name").await;
    let schemas = options(&l.api, "/admin/v1/schemas", "schemaId", "title").await;
    let fields = html::select("issuerDid", "Issuer", &issuers, f.text("issuerDid"))
        + &html::select("schemaId", "Schema", &schemas, f.text("schemaId"))
        + &html::input("name", "Name", "text", f.text("name"), "required")
        + &html::input(
            "accessibleFrom",
            "Open from (UTC, optional)",
            "datetime-local",
            f.text("accessibleFrom"),
            "",
        )
        + &html::input(
            "accessibleUntil",
            "Open until (UTC, optional)",
            "datetime-local",
            f.text("accessibleUntil"),
            "",
        )
        + &html::input(
            "maxIssuance",
            "Most credentials (optional)",
            "number",
            f.text("maxIssuance"),
            "min=\"1\"",
        )
        + &html::input(
            "expirationDays",
            "Credentials expire after (days, optional)",
            "number",
            f.text("expirationDays"),
            "min=\"1\"",
        )
        + &submit("Create program");
    let body = table
        + &new_section(
            "Create an issuance program",
            &form("/dashboard/programs", &l.session, &fields),
        );
    render("Issuance programs", "programs", &l.session, notice, &body)
}

fn window(p: &Value) -> String {
    match (p["accessibleFrom"].as_str(), p["accessibleUntil"].as_str()) {
        (None, None) => "always".into(),
        (from, until) => format!("{} → {}", from.unwrap_or("…"), until.unwrap_or("…")),
    }
}

/// The `POST /admin/v1/programs` body; `Err` names a field that is not a number.
fn program_body(f: &Fields) -> Result<Value, String> {
    let mut b = Map::new();
    for key in ["issuerDid", "schemaId", "name"] {
        b.insert(key.into(), json!(f.text(key)));
    }
    for key in ["accessibleFrom", "accessibleUntil"] {
        if let Some(v) = f.get(key) {
            b.insert(key.into(), json!(rfc3339(v)));
        }
    }
    for key in ["maxIssuance", "expirationDays"] {
        if let Some(v) = f.get(key) {
            let n: u64 = v
                .parse()
                .map_err(|_| format!("Invalid field {key}: must be a whole number"))?;
            b.insert(key.into(), json!(n));
        }
    }
    Ok(Value::Object(b))
}

pub async fn create(State(st): State<AppState>, p: Posted) -> Response {
    let body = program_body(&p.form);
    match super::create(&st, "programs", body, "credentialId").await {
        Ok(created) => created,
        Err(refusal) => page(Listed::after_post(&st, p.session, Some(refusal)), &p.form).await,
    }
}

pub async fn show(v: Viewing) -> Result<Response, Response> {
    let api = OperatorApi::new(&v.st);
    let path = format!("/admin/v1/programs/{}", enc(&v.id));
    let program = one(&api, &path, &v.session, PAGE).await?;
    let id = s(&program, "credentialId");
    let issued = match api
        .get(&format!(
            "/admin/v1/credentials?programId={}&limit=1",
            enc(id)
        ))
        .await
    {
        Ok(v) => esc(&t(&v["total"])),
        Err(e) => esc(&e.to_string()),
    };
    let body = format!(
        "{}<p>{}</p><p>{}</p>",
        html::facts(&[
            ("Program id (credentialId)", html::code(id)),
            (
                "Issuer",
                link(
                    &format!("/dashboard/issuers/{}", enc(s(&program, "issuerDid"))),
                    s(&program, "issuerDid")
                )
            ),
            (
                "Schema",
                link(
                    &format!("/dashboard/schemas/{}", enc(s(&program, "schemaId"))),
                    s(&program, "schemaId")
                )
            ),
            ("Window (UTC)", esc(&window(&program))),
            ("Cap", esc(&t(&program["maxIssuance"]))),
            ("Expiry (days)", esc(&t(&program["expirationDays"]))),
            ("Credentials issued", issued),
            ("Created", esc(s(&program, "createdAt"))),
        ]),
        link(
            &format!("/dashboard/credentials?programId={}", enc(id)),
            "Its credentials"
        ),
        link("/dashboard/programs", "All programs"),
    );
    Ok(entry_page(
        PAGE,
        s(&program, "name"),
        &v.session,
        None,
        &body,
    ))
}
