//! The overview: credentials by status, the publishing backlog, database and chain health.

use super::{refused, render};
use crate::dashboard::html::{self, esc};
use crate::dashboard::operator::OperatorApi;
use crate::dashboard::Signed;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;

pub async fn show(State(st): State<AppState>, Signed(session): Signed) -> Response {
    let api = OperatorApi::new(&st);
    let chain = match &st.dashboard.chain {
        Some(c) => match c.head().await {
            Ok(n) => format!("<span class=\"ok\">reachable</span>, latest block {n}"),
            Err(e) => format!("<span class=\"bad\">unreachable</span>: {}", esc(&e)),
        },
        None => "not connected to this dashboard".into(),
    };
    let o = match api.get("/admin/v1/overview").await {
        Ok(o) => o,
        Err(e) => {
            let body = html::facts(&[("Chain", chain)]);
            return render("Overview", "", &session, Some(refused(&e)), &body);
        }
    };
    let c = &o["credentials"];
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let card = |label: &str, value: u64, id: &str| {
        format!(
            "<div class=\"card\"><span class=\"label\" id=\"c-{id}\">{}</span>\
             <span class=\"value\" aria-labelledby=\"c-{id}\" data-count=\"{id}\">{value}</span></div>",
            esc(label)
        )
    };
    let cards = [
        card("Issued", n(&c["issued"]), "issued"),
        card("On chain", n(&c["onchain"]), "onchain"),
        card("Pending", n(&c["waitOnchain"]), "pending"),
        card("Revoked", n(&c["waitRemove"]) + n(&c["remove"]), "revoked"),
    ]
    .concat();
    let p = &o["publishing"];
    let oldest = p["oldestPendingSeconds"]
        .as_u64()
        .map(|s| format!("{s} s"))
        .unwrap_or_else(|| "nothing pending".into());
    let db = &o["database"];
    let since = o["lastHour"]["since"].as_i64().unwrap_or(0);
    let body = format!(
        "<section aria-labelledby=\"h-creds\"><h2 id=\"h-creds\">Credentials</h2>\
         <div class=\"cards\">{cards}</div>\
         <p class=\"hint\">Revoked counts credentials waiting for their revocation to be \
         published ({wr}) and those whose revocation is on chain ({rm}).</p></section>\
         <section aria-labelledby=\"h-rate\"><h2 id=\"h-rate\">Last hour</h2><div class=\"two\">{rate}{lag}</div></section>\
         <section aria-labelledby=\"h-pub\"><h2 id=\"h-pub\">Publishing</h2>{publishing}</section>\
         <section aria-labelledby=\"h-health\"><h2 id=\"h-health\">Health</h2>{health}</section>\
         <p><a href=\"/dashboard/\">Refresh</a></p>",
        rate = crate::dashboard::chart::issuance(since, &pairs(&o["lastHour"]["issuedPerMinute"])),
        lag = crate::dashboard::chart::lags(since, &pairs(&o["lastHour"]["publishLags"])),
        wr = n(&c["waitRemove"]),
        rm = n(&c["remove"]),
        publishing = html::facts(&[
            (
                "Claims waiting for a transition",
                n(&p["pendingClaims"]).to_string()
            ),
            (
                "Revocations waiting for a transition",
                n(&p["pendingRevocations"]).to_string()
            ),
            (
                "Transitions in flight",
                n(&p["transitionsInFlight"]).to_string()
            ),
            ("Oldest pending work", esc(&oldest)),
        ]),
        health = html::facts(&[
            (
                "Database",
                format!(
                    "<span class=\"ok\">reachable</span> ({})",
                    esc(db["backend"].as_str().unwrap_or("?"))
                )
            ),
            ("Chain", chain),
        ]),
    );
    render("Overview", "", &session, None, &body)
}

/// `[[a, b], …]` of the API's answer as pairs.
fn pairs<A: serde::de::DeserializeOwned, B: serde::de::DeserializeOwned>(
    v: &serde_json::Value,
) -> Vec<(A, B)> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}
