//! Webhooks: the partners (paged) to choose from; a partner's endpoints (create with the
//! secret shown once, enable/disable, rotate, delete); one endpoint's recent deliveries with
//! their attempts, filtered by state, and replays.

use super::{code_link, entry, form, link, new_section, refused, render, rfc3339, s, submit, t};
use super::{Listed, Listing};
use crate::dashboard::html::{self, enc, esc, Notice};
use crate::dashboard::operator::OperatorApi;
use crate::dashboard::session::Session;
use crate::dashboard::{Posted, Signed, Viewing};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{json, Value};
use std::fmt::Write;

/// The title and navigation item of a partner's endpoints page, and the link back to all
/// partners.
const WEBHOOKS: (&str, &str) = ("Webhooks", "webhooks");
const ALL_PARTNERS: (&str, &str) = ("/dashboard/webhooks", "All partners");
/// The title and navigation item of an endpoint's page, and its link back to the partner's.
const ENDPOINT: (&str, &str) = ("Webhook endpoint", "webhooks");
const PARTNER_ENDPOINTS: &str = "The partner's endpoints";

const EVENT_TYPES: &[(&str, &str)] = &[
    ("credential.onchain", "credential.onchain (on chain)"),
    (
        "credential.revocation_requested",
        "credential.revocation_requested (revoked, waiting)",
    ),
    (
        "credential.removed",
        "credential.removed (revocation on chain)",
    ),
    ("credential.expired", "credential.expired (past its date)"),
];

/// Deliveries shown per step; "Show more" asks the API for the next step, up to its 500.
const DELIVERY_STEPS: &[u32] = &[50, 100, 200, 500];

pub async fn partners(l: Listed) -> Response {
    let listing = Listing {
        api: "/admin/v1/partners?",
        base: "/dashboard/webhooks?",
        caption: "Partners: choose one for its webhook endpoints",
        headers: &["Partner", "Id", "Enabled"],
    };
    let (body, notice) = listing
        .show(&l.api, l.page_no, l.notice, |p| {
            let id = s(p, "partnerId");
            vec![
                link(&base(id), s(p, "name")),
                html::code(id),
                String::from(if p["enabled"] == true { "yes" } else { "no" }),
            ]
        })
        .await;
    render("Webhooks", "webhooks", &l.session, notice, &body)
}

fn base(partner: &str) -> String {
    format!("/dashboard/partners/{}/webhooks", enc(partner))
}

fn api_base(partner: &str) -> String {
    format!("/admin/v1/partners/{}/webhooks", enc(partner))
}

pub async fn list(v: Viewing) -> Result<Response, Response> {
    endpoints(&v.st, &v.session, &v.id, None, "").await
}

/// The partner's endpoints page; `extra` goes above the table (a secret shown once).
async fn endpoints(
    st: &AppState,
    session: &Session,
    partner: &str,
    notice: Option<Notice>,
    extra: &str,
) -> Result<Response, Response> {
    let api = OperatorApi::new(st);
    let path = format!("/admin/v1/partners/{}", enc(partner));
    let (p, notice) = entry(&api, &path, session, notice, WEBHOOKS, ALL_PARTNERS).await?;
    let here = base(partner);
    let (table, notice) = match api.get(&api_base(partner)).await {
        Ok(v) => {
            let rows: Vec<Vec<String>> = v["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| endpoint_row(session, &here, e))
                .collect();
            (
                html::table(
                    "Endpoints",
                    &[
                        "URL",
                        "Events",
                        "Enabled",
                        "Secret",
                        "Created (UTC)",
                        "Actions",
                    ],
                    &rows,
                ),
                notice,
            )
        }
        Err(e) => (String::new(), Some(notice.unwrap_or_else(|| refused(&e)))),
    };
    let mut events = String::from("<fieldset><legend>Events (none checked: every event)</legend>");
    for (value, label) in EVENT_TYPES {
        events += &html::checkbox("eventType", value, label, false);
    }
    events.push_str("</fieldset>");
    let create = form(
        &here,
        session,
        &(html::input(
            "url",
            "Endpoint URL (https)",
            "url",
            "",
            "required placeholder=\"https://partner.example/webhooks\"",
        ) + &events
            + &html::checkbox("enabled", "yes", "Enabled", true)
            + &submit("Add endpoint")),
    );
    let body = format!(
        "{extra}{table}{section}<p>{partner_link} · {all}</p>",
        section = new_section(
            "Add an endpoint",
            &format!(
                "<p class=\"hint\">Deliveries are signed (Standard Webhooks); the signing secret is \
                 shown once, when the endpoint is created or its secret rotated.</p>{create}"
            ),
        ),
        partner_link = link(
            &format!("/dashboard/partners/{}", enc(partner)),
            &format!("Partner {}", s(&p, "name"))
        ),
        all = link(ALL_PARTNERS.0, ALL_PARTNERS.1),
    );
    Ok(render(
        &format!("Webhooks of {}", s(&p, "name")),
        "webhooks",
        session,
        notice,
        &body,
    ))
}

fn event_list(e: &Value) -> String {
    e["eventTypes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(html::code)
        .collect::<Vec<_>>()
        .join(" ")
}

fn endpoint_row(session: &Session, here: &str, e: &Value) -> Vec<String> {
    let id = s(e, "endpointId");
    let path = format!("{here}/{}", enc(id));
    let enabled = e["enabled"] == true;
    let secret = match e["previousSecretExpiresAt"].as_str() {
        Some(until) => format!("rotated; the old one signs until {}", esc(until)),
        None => "—".into(),
    };
    let actions = format!(
        "<div class=\"actions\">{deliveries}{toggle}{rotate}{delete}</div>",
        deliveries = link(&path, "Deliveries"),
        toggle = form(
            &format!("{path}/{}", if enabled { "disable" } else { "enable" }),
            session,
            &submit(if enabled { "Disable" } else { "Enable" }),
        ),
        rotate = form(&format!("{path}/rotate"), session, &submit("Rotate secret")),
        delete = form(&format!("{path}/delete"), session, &submit("Delete")),
    );
    vec![
        html::code(s(e, "url")),
        event_list(e),
        String::from(if enabled { "yes" } else { "no" }),
        secret,
        esc(s(e, "createdAt")),
        actions,
    ]
}

/// The secret of a create or rotate answer, shown this once.
fn secret_box(answer: &Value) -> String {
    format!(
        "<section class=\"notice done\" aria-labelledby=\"h-secret\"><h2 id=\"h-secret\">Signing secret</h2>\
         <p>Give it to the partner now: it is not shown again.</p>\
         <p><label for=\"f-secret\">Secret of {url}</label> \
         <input id=\"f-secret\" type=\"text\" readonly size=\"60\" value=\"{secret}\"></p></section>",
        url = html::code(s(answer, "url")),
        secret = html::attr(s(answer, "secret")),
    )
}

pub async fn create(
    State(st): State<AppState>,
    Path(partner): Path<String>,
    p: Posted,
) -> Result<Response, Response> {
    let mut body = json!({"url": p.form.text("url"), "enabled": p.form.has("enabled")});
    let types = p.form.all("eventType");
    if !types.is_empty() {
        body["eventTypes"] = json!(types);
    }
    match OperatorApi::new(&st).post(&api_base(&partner), &body).await {
        Ok(created) => {
            endpoints(
                &st,
                &p.session,
                &partner,
                Some(Notice::Done("Endpoint added.".into())),
                &secret_box(&created),
            )
            .await
        }
        Err(e) => endpoints(&st, &p.session, &partner, Some(refused(&e)), "").await,
    }
}

/// `POST …/{endpoint}/{action}`: enable, disable, rotate or delete, then the endpoints page.
pub async fn act(
    State(st): State<AppState>,
    Path((partner, endpoint, action)): Path<(String, String, String)>,
    p: Posted,
) -> Result<Response, Response> {
    let api = OperatorApi::new(&st);
    let uri = format!("{}/{}", api_base(&partner), enc(&endpoint));
    let (result, done) = match action.as_str() {
        "enable" => (
            api.patch(&uri, &json!({"enabled": true})).await,
            "Endpoint enabled.",
        ),
        "disable" => (
            api.patch(&uri, &json!({"enabled": false})).await,
            "Endpoint disabled: nothing is delivered to it until it is enabled.",
        ),
        "rotate" => (
            api.post(&format!("{uri}/rotate"), &json!({})).await,
            "Secret rotated: the old secret keeps signing next to the new one for a day.",
        ),
        "delete" => (
            api.delete(&uri).await,
            "Endpoint deleted with its deliveries.",
        ),
        _ => {
            return endpoints(
                &st,
                &p.session,
                &partner,
                Some(Notice::Error(format!("Unknown action {action:?}."))),
                "",
            )
            .await
        }
    };
    match result {
        Ok(answer) => {
            let extra = if action == "rotate" {
                secret_box(&answer)
            } else {
                String::new()
            };
            endpoints(
                &st,
                &p.session,
                &partner,
                Some(Notice::Done(done.into())),
                &extra,
            )
            .await
        }
        Err(e) => endpoints(&st, &p.session, &partner, Some(refused(&e)), "").await,
    }
}

#[derive(serde::Deserialize, Default)]
pub struct DeliveryQuery {
    state: Option<String>,
    limit: Option<String>,
}

pub async fn deliveries(
    State(st): State<AppState>,
    Signed(session): Signed,
    Path((partner, endpoint)): Path<(String, String)>,
    Query(q): Query<DeliveryQuery>,
) -> Result<Response, Response> {
    endpoint_page(&st, &session, &partner, &endpoint, &q, None).await
}

async fn endpoint_page(
    st: &AppState,
    session: &Session,
    partner: &str,
    endpoint: &str,
    q: &DeliveryQuery,
    notice: Option<Notice>,
) -> Result<Response, Response> {
    let api = OperatorApi::new(st);
    let uri = format!("{}/{}", api_base(partner), enc(endpoint));
    let back = base(partner);
    let (e, notice) = entry(
        &api,
        &uri,
        session,
        notice,
        ENDPOINT,
        (&back, PARTNER_ENDPOINTS),
    )
    .await?;
    // Only the API's own values go on: a state it names and a limit of the steps.
    let state = q
        .state
        .as_deref()
        .filter(|s| ["PENDING", "DELIVERED", "DEAD"].contains(s))
        .unwrap_or("");
    let limit = q
        .limit
        .as_deref()
        .and_then(|l| l.parse::<u32>().ok())
        .filter(|l| DELIVERY_STEPS.contains(l))
        .unwrap_or(DELIVERY_STEPS[0]);
    let here = format!("{}/{}", base(partner), enc(endpoint));
    let mut query = format!("limit={limit}");
    if !state.is_empty() {
        let _ = write!(query, "&state={state}");
    }
    let (table, notice) = match api.get(&format!("{uri}/deliveries?{query}")).await {
        Ok(v) => {
            let items = v["items"].as_array().cloned().unwrap_or_default();
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|d| delivery_row(session, &here, d))
                .collect();
            let more = match DELIVERY_STEPS.iter().find(|s| **s > limit) {
                Some(next) if items.len() as u32 >= limit => format!(
                    "<nav class=\"pager\" aria-label=\"Deliveries\"><a href=\"{}?state={}&amp;limit={next}\">Show more (up to {next})</a></nav>",
                    html::attr(&here),
                    enc(state)
                ),
                _ => String::new(),
            };
            (
                html::table(
                    &format!("Latest {limit} deliveries, newest first"),
                    &[
                        "Delivery",
                        "Event",
                        "Credential",
                        "State",
                        "Attempts",
                        "Next attempt (UTC)",
                        "Replay",
                    ],
                    &rows,
                ) + &more,
                notice,
            )
        }
        Err(err) => (String::new(), Some(notice.unwrap_or_else(|| refused(&err)))),
    };
    let states: Vec<(String, String)> = [
        ("", "Every state"),
        ("PENDING", "Pending"),
        ("DELIVERED", "Delivered"),
        ("DEAD", "Dead (gave up)"),
    ]
    .iter()
    .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
    .collect();
    let filter = format!(
        "<form method=\"get\" action=\"{}\" class=\"search\">{}<input type=\"hidden\" name=\"limit\" value=\"{limit}\">{}</form>",
        html::attr(&here),
        html::select("state", "Delivery state", &states, state),
        submit("Show"),
    );
    let since = form(
        &format!("{here}/replay"),
        session,
        &(html::input(
            "since",
            "Replay every event of the partner since (UTC)",
            "datetime-local",
            "",
            "required step=\"1\"",
        ) + &submit("Replay since")),
    );
    let body = format!(
        "{facts}<section aria-labelledby=\"h-del\"><h2 id=\"h-del\">Deliveries</h2>{filter}{table}</section>\
         <section aria-labelledby=\"h-rep\"><h2 id=\"h-rep\">Replay</h2>\
         <p class=\"hint\">Replayed events keep their event ids, so receivers deduplicate them.</p>{since}</section>\
         <p>{back}</p>",
        facts = html::facts(&[
            ("URL", html::code(s(&e, "url"))),
            ("Events", event_list(&e)),
            ("Enabled", String::from(if e["enabled"] == true { "yes" } else { "no" })),
            ("Endpoint id", html::code(s(&e, "endpointId"))),
        ]),
        back = link(&back, PARTNER_ENDPOINTS),
    );
    Ok(render(ENDPOINT.0, ENDPOINT.1, session, notice, &body))
}

fn delivery_row(session: &Session, here: &str, d: &Value) -> Vec<String> {
    let mut attempts = String::new();
    for a in d["attempts"].as_array().into_iter().flatten() {
        let outcome = match (a["statusCode"].as_u64(), a["error"].as_str()) {
            (Some(code), _) => format!("HTTP {code}"),
            (None, Some(err)) => err.to_owned(),
            _ => "—".into(),
        };
        let _ = write!(
            attempts,
            "<li>{} — {} ({} ms){}</li>",
            esc(s(a, "at")),
            esc(&outcome),
            esc(&t(&a["durationMs"])),
            a["response"]
                .as_str()
                .filter(|r| !r.is_empty())
                .map(|r| format!(": {}", html::code(r)))
                .unwrap_or_default()
        );
    }
    let count = d["attempts"].as_array().map_or(0, Vec::len);
    let attempts = if count == 0 {
        "none yet".into()
    } else {
        format!("<details><summary>{count}</summary><ol>{attempts}</ol></details>")
    };
    let hash = s(d, "coreClaimHash");
    vec![
        esc(&t(&d["deliveryId"])),
        format!(
            "{}<br>{}",
            html::code(s(d, "eventType")),
            html::code(s(d, "eventId"))
        ),
        code_link(&format!("/dashboard/credentials/{}", enc(hash)), hash),
        format!("<span class=\"status\">{}</span>", esc(s(d, "state"))),
        attempts,
        esc(&t(&d["nextAttemptAt"])),
        form(
            &format!("{here}/replay"),
            session,
            &format!(
                "<input type=\"hidden\" name=\"eventId\" value=\"{}\">{}",
                html::attr(s(d, "eventId")),
                submit("Replay")
            ),
        ),
    ]
}

pub async fn replay(
    State(st): State<AppState>,
    Path((partner, endpoint)): Path<(String, String)>,
    p: Posted,
) -> Result<Response, Response> {
    let body = match (p.form.get("eventId"), p.form.get("since")) {
        (Some(id), _) => json!({"eventId": id}),
        (None, Some(since)) => json!({"since": rfc3339(since)}),
        (None, None) => json!({}),
    };
    let notice = match OperatorApi::new(&st)
        .post(
            &format!("{}/{}/replay", api_base(&partner), enc(&endpoint)),
            &body,
        )
        .await
    {
        Ok(v) => Notice::Done(format!(
            "Queued {} for delivery again.",
            match v["queued"].as_u64() {
                Some(1) => "1 event".to_owned(),
                Some(n) => format!("{n} events"),
                None => "the events".to_owned(),
            }
        )),
        Err(e) => refused(&e),
    };
    endpoint_page(
        &st,
        &p.session,
        &partner,
        &endpoint,
        &DeliveryQuery::default(),
        Some(notice),
    )
    .await
}
