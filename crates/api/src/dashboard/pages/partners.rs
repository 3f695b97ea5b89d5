//! Partners: list, register, edit (keys, features, allowed schemas, token rules), disable.

use super::{choices, entry_page, form, link, new_section, refused, render, s, submit};
use super::{Listed, Listing};
use crate::dashboard::html::{self, enc, esc, Notice};
use crate::dashboard::operator::OperatorApi;
use crate::dashboard::session::Session;
use crate::dashboard::{Fields, Posted, Viewing};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{json, Map, Value};

/// The title and navigation item of a partner's page.
const PAGE: (&str, &str) = ("Partner", "partners");

/// The bindings of a partner's tokens: (form field, API field, label). An empty field is no
/// binding.
const BINDINGS: &[(&str, &str, &str)] = &[
    ("audience", "audience", "Required aud (empty: none)"),
    ("tokenIssuer", "issuer", "Required iss (empty: none)"),
];

const FEATURES: &[(&str, &str)] = &[(
    "issue_on_behalf",
    "Issue on behalf (POST /v1/credentials/issue-on-behalf)",
)];

pub async fn list(l: Listed) -> Response {
    page(l, &Value::Null).await
}

async fn page(l: Listed, entered: &Value) -> Response {
    let listing = Listing {
        api: "/admin/v1/partners?",
        base: "/dashboard/partners?",
        caption: "Partners",
        headers: &["Name", "Id", "Keys", "Features", "State"],
    };
    let (table, notice) = listing
        .show(&l.api, l.page_no, l.notice, |p| {
            let id = s(p, "partnerId");
            vec![
                link(&format!("/dashboard/partners/{}", enc(id)), s(p, "name")),
                html::code(id),
                esc(if p["jwksUrl"].is_string() {
                    "JWKS URL"
                } else {
                    "inline JWKS"
                }),
                esc(&features_text(p)),
                esc(if p["enabled"].as_bool().unwrap_or(true) {
                    "enabled"
                } else {
                    "disabled"
                }),
            ]
        })
        .await;
    let schemas = schema_choices(&l.api).await;
    let body = table
        + &new_section(
            "Register a partner",
            &form(
                "/dashboard/partners",
                &l.session,
                &(partner_fields(entered, &schemas) + &submit("Register partner")),
            ),
        );
    render("Partners", "partners", &l.session, notice, &body)
}

/// The features a partner has (or were entered).
fn features(p: &Value) -> Vec<&str> {
    p["features"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn features_text(p: &Value) -> String {
    let f = features(p);
    if f.is_empty() {
        "none".into()
    } else {
        f.join(", ")
    }
}

/// The schemas a partner may be allowed: one checkbox each, so no "choose" placeholder.
async fn schema_choices(api: &OperatorApi) -> Vec<(String, String)> {
    choices(api, "/admin/v1/schemas", "schemaId", "title").await
}

/// The partner form, filled from `p` (a partner as the API answers it, or what was entered).
fn partner_fields(p: &Value, schemas: &[(String, String)]) -> String {
    let inline = p["jwks"].is_object();
    let jwks_text = if inline {
        serde_json::to_string_pretty(&p["jwks"]).unwrap_or_default()
    } else {
        String::new()
    };
    let features = features(p);
    let allowed: Option<Vec<&str>> = p["allowedSchemaIds"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let mut out = html::input("name", "Name", "text", s(p, "name"), "required");
    out += "<fieldset><legend>Signing keys (one of the two)</legend>";
    out += &html::input(
        "jwksUrl",
        "JWKS URL",
        "url",
        s(p, "jwksUrl"),
        "placeholder=\"https://partner.example/.well-known/jwks.json\"",
    );
    out += &html::textarea(
        "jwks",
        "Inline JWKS (JSON)",
        &jwks_text,
        "Used when the JWKS URL is empty: {\"keys\": [ … ]}.",
    );
    out += "</fieldset><fieldset><legend>Features</legend>";
    for (value, label) in FEATURES {
        out += &html::checkbox("feature", value, label, features.contains(value));
    }
    out += "</fieldset><fieldset><legend>Allowed schemas</legend>";
    out += &html::checkbox(
        "allSchemas",
        "yes",
        "Every schema (ignore the choices below)",
        allowed.is_none(),
    );
    for (id, label) in schemas {
        let on = allowed.as_ref().is_some_and(|a| a.contains(&id.as_str()));
        out += &html::checkbox("schema", id, label, on);
    }
    out += "</fieldset><fieldset><legend>Token rules</legend>";
    for &(field, key, label) in BINDINGS {
        out += &html::input(field, label, "text", s(p, key), "");
    }
    out += &html::checkbox(
        "requireJti",
        "yes",
        "Every token needs a jti, usable once",
        p["requireJti"].as_bool().unwrap_or(false),
    );
    out += &html::checkbox(
        "enabled",
        "yes",
        "Enabled (its tokens are accepted)",
        p["enabled"].as_bool().unwrap_or(true),
    );
    out += "</fieldset>";
    out
}

/// The API body a partner form describes; `Err` when the inline JWKS is not JSON. With
/// `patch`, cleared bindings are sent as `null` (removed).
fn partner_body(f: &Fields, patch: bool) -> Result<Value, String> {
    let mut b = Map::new();
    b.insert("name".into(), json!(f.text("name")));
    if let Some(url) = f.get("jwksUrl") {
        b.insert("jwksUrl".into(), json!(url));
    } else if let Some(text) = f.get("jwks") {
        let jwks: Value = serde_json::from_str(text)
            .map_err(|e| format!("Inline JWKS is not valid JSON: {e}"))?;
        b.insert("jwks".into(), jwks);
    }
    b.insert("features".into(), json!(f.all("feature")));
    b.insert(
        "allowedSchemaIds".into(),
        if f.has("allSchemas") {
            Value::Null
        } else {
            json!(f.all("schema"))
        },
    );
    for &(field, key, _) in BINDINGS {
        match f.get(field) {
            Some(v) => {
                b.insert(key.into(), json!(v));
            }
            None if patch => {
                b.insert(key.into(), Value::Null);
            }
            None => {}
        }
    }
    b.insert("requireJti".into(), json!(f.has("requireJti")));
    b.insert("enabled".into(), json!(f.has("enabled")));
    Ok(Value::Object(b))
}

/// What was entered, in the API's shape, to refill the form after a refusal.
fn entered(f: &Fields) -> Value {
    let mut p = json!({
        "name": f.text("name"),
        "jwksUrl": f.text("jwksUrl"),
        "jwks": serde_json::from_str::<Value>(f.text("jwks")).unwrap_or(Value::Null),
        "features": f.all("feature"),
        "allowedSchemaIds": if f.has("allSchemas") { Value::Null } else { json!(f.all("schema")) },
        "requireJti": f.has("requireJti"),
        "enabled": f.has("enabled"),
    });
    for &(field, key, _) in BINDINGS {
        p[key] = json!(f.text(field));
    }
    p
}

pub async fn create(State(st): State<AppState>, p: Posted) -> Response {
    let body = partner_body(&p.form, false);
    match super::create(&st, "partners", body, "partnerId").await {
        Ok(created) => created,
        Err(refusal) => {
            let entered = entered(&p.form);
            page(Listed::after_post(&st, p.session, Some(refusal)), &entered).await
        }
    }
}

pub async fn show(v: Viewing) -> Response {
    detail(&v.st, &v.session, &v.id, None).await
}

async fn detail(st: &AppState, session: &Session, id: &str, notice: Option<Notice>) -> Response {
    let api = OperatorApi::new(st);
    let partner = match api.get(&format!("/admin/v1/partners/{}", enc(id))).await {
        Ok(p) => p,
        Err(e) => return render(PAGE.0, PAGE.1, session, Some(refused(&e)), ""),
    };
    let schemas = schema_choices(&api).await;
    let path = format!("/dashboard/partners/{}", enc(id));
    let body = format!(
        "{facts}<p>{webhooks}</p><section aria-labelledby=\"h-edit\"><h2 id=\"h-edit\">Edit</h2>{edit}</section>\
         <section aria-labelledby=\"h-dis\"><h2 id=\"h-dis\">Disable</h2>\
         <p>A disabled partner's tokens are refused at once (401), cached keys included.</p>{disable}</section>\
         <p>{back}</p>",
        facts = html::facts(&[
            ("Partner id", html::code(s(&partner, "partnerId"))),
            ("Created", esc(s(&partner, "createdAt"))),
            ("Updated", esc(s(&partner, "updatedAt"))),
        ]),
        edit = form(
            &path,
            session,
            &(partner_fields(&partner, &schemas) + &submit("Save changes"))
        ),
        disable = form(
            &format!("{path}/disable"),
            session,
            &submit("Disable partner")
        ),
        back = link("/dashboard/partners", "All partners"),
        webhooks = link(&format!("{path}/webhooks"), "Webhook endpoints and deliveries"),
    );
    entry_page(PAGE, s(&partner, "name"), session, notice, &body)
}

pub async fn update(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let result = match partner_body(&p.form, true) {
        Ok(body) => OperatorApi::new(&st)
            .patch(&format!("/admin/v1/partners/{}", enc(&id)), &body)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let notice = match result {
        Ok(_) => Notice::Done("Saved.".into()),
        Err(e) => Notice::Error(e),
    };
    detail(&st, &p.session, &id, Some(notice)).await
}

pub async fn disable(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let notice = match OperatorApi::new(&st)
        .patch(
            &format!("/admin/v1/partners/{}", enc(&id)),
            &json!({"enabled": false}),
        )
        .await
    {
        Ok(_) => Notice::Done("Disabled: its tokens are refused from now on.".into()),
        Err(e) => refused(&e),
    };
    detail(&st, &p.session, &id, Some(notice)).await
}
