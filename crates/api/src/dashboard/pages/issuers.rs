//! Issuers: list, create, and one issuer's address, balance and publishing (latest state,
//! transition in flight, pending work, recent transitions with their transactions).

use super::{entry_page, form, link, new_section, one, options, refused, render, s, submit, t};
use super::{Listed, Listing};
use crate::dashboard::html::{self, enc, esc};
use crate::dashboard::operator::OperatorApi;
use crate::dashboard::{Posted, Viewing};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

/// The title and navigation item of an issuer's page.
const PAGE: (&str, &str) = ("Issuer", "issuers");

pub async fn list(l: Listed) -> Response {
    page(l, ("", "")).await
}

async fn page(l: Listed, (partner, name): (&str, &str)) -> Response {
    let listing = Listing {
        api: "/admin/v1/issuers?",
        base: "/dashboard/issuers?",
        caption: "Issuers",
        headers: &["Name", "DID", "Ethereum address", "Partner"],
    };
    let (table, notice) = listing
        .show(&l.api, l.page_no, l.notice, |i| {
            let did = s(i, "issuerDid");
            vec![
                link(&format!("/dashboard/issuers/{}", enc(did)), s(i, "name")),
                html::code(did),
                html::code(s(i, "ethAddress")),
                html::code(s(i, "partnerId")),
            ]
        })
        .await;
    let partners = options(&l.api, "/admin/v1/partners", "partnerId", "name").await;
    let fields = html::select("partnerId", "Partner", &partners, partner)
        + &html::input("name", "Name", "text", name, "required")
        + &submit("Create issuer");
    let body = table
        + &new_section(
            "Create an issuer",
            &format!(
                "<p class=\"hint\">Its Ethereum and Baby Jubjub keys are generated and stored \
                 encrypted under the master key. Outside dev mode, fund its Ethereum address.</p>{}",
                form("/dashboard/issuers", &l.session, &fields)
            ),
        );
    render("Issuers", "issuers", &l.session, notice, &body)
}

pub async fn create(State(st): State<AppState>, p: Posted) -> Response {
    let body = json!({"partnerId": p.form.text("partnerId"), "name": p.form.text("name")});
    match super::create(&st, "issuers", Ok(body), "issuerDid").await {
        Ok(created) => created,
        Err(refusal) => {
            let entered = (p.form.text("partnerId"), p.form.text("name"));
            page(Listed::after_post(&st, p.session, Some(refusal)), entered).await
        }
    }
}

/// Wei as ETH with up to 6 decimals (display only).
fn eth(wei: &str) -> String {
    let digits = wei.trim_start_matches('0');
    if digits.is_empty() {
        return "0 ETH".into();
    }
    let padded = format!("{digits:0>19}");
    let (int, frac) = padded.split_at(padded.len() - 18);
    let frac = frac[..6].trim_end_matches('0');
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    if frac.is_empty() {
        format!("{int} ETH")
    } else {
        format!("{int}.{frac} ETH")
    }
}

/// The columns of `transition_row`; its time is the last change, which `when` names.
fn transition_headers(when: &str) -> [&str; 8] {
    [
        "Id",
        "Status",
        "Transaction",
        "Block",
        "Claims",
        "Revocations",
        when,
        "Failure",
    ]
}

fn transition_row(st: &AppState, t_: &Value) -> Vec<String> {
    vec![
        esc(&t(&t_["id"])),
        esc(s(t_, "status")),
        t_["txHash"]
            .as_str()
            .map(|tx| st.dashboard.tx(tx))
            .unwrap_or_else(|| "—".into()),
        esc(&t(&t_["blockNumber"])),
        esc(&t(&t_["claims"])),
        esc(&t(&t_["revocations"])),
        esc(s(t_, "updatedAt")),
        esc(&t(&t_["failure"])),
    ]
}

pub async fn show(v: Viewing) -> Result<Response, Response> {
    let Viewing {
        st,
        session,
        id: did,
    } = v;
    let api = OperatorApi::new(&st);
    let path = format!("/admin/v1/issuers/{}", enc(&did));
    let issuer = one(&api, &path, &session, PAGE).await?;
    let address = s(&issuer, "ethAddress");
    let balance = match &st.dashboard.chain {
        Some(c) => match c.balance(address).await {
            Ok(wei) => esc(&format!("{} ({wei} wei)", eth(&wei))),
            Err(e) => format!("<span class=\"bad\">unavailable</span>: {}", esc(&e)),
        },
        None => "not connected to this dashboard".into(),
    };
    let (publishing, notice) = match api
        .get(&format!("/admin/v1/issuers/{}/publishing", enc(&did)))
        .await
    {
        Ok(p) => {
            let published = &p["published"];
            let latest = if published.is_object() {
                html::facts(&[
                    ("State", html::code(s(published, "state"))),
                    ("Transaction", st.dashboard.tx(s(published, "txHash"))),
                    ("Block", esc(&t(&published["blockNumber"]))),
                ])
            } else {
                "<p>No state published yet.</p>".into()
            };
            let in_flight = if p["inFlight"].is_object() {
                html::table(
                    "Transition in flight",
                    &transition_headers("Since"),
                    &[transition_row(&st, &p["inFlight"])],
                )
            } else {
                "<p>No transition in flight.</p>".into()
            };
            let recent: Vec<Vec<String>> = p["transitions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| transition_row(&st, x))
                .collect();
            (
                format!(
                    "<h3>Latest confirmed state</h3>{latest}<h3>Pending work</h3>{pending}\
                     <h3>In flight</h3>{in_flight}<h3>Recent transitions</h3>{recent}",
                    pending = html::facts(&[
                        ("Claims", esc(&t(&p["pending"]["claims"]))),
                        ("Revocations", esc(&t(&p["pending"]["revocations"]))),
                    ]),
                    recent = html::table(
                        "Recent transitions, newest first",
                        &transition_headers("Updated"),
                        &recent
                    ),
                ),
                None,
            )
        }
        Err(e) => (String::new(), Some(refused(&e))),
    };
    let body = format!(
        "{}<section aria-labelledby=\"h-pub\"><h2 id=\"h-pub\">Publishing</h2>{publishing}</section><p>{}</p>",
        html::facts(&[
            ("DID", html::code(s(&issuer, "issuerDid"))),
            ("Issuer id", html::code(s(&issuer, "issuerId"))),
            ("Partner", link(&format!("/dashboard/partners/{}", enc(s(&issuer, "partnerId"))), s(&issuer, "partnerId"))),
            ("Ethereum address", html::code(address)),
            ("Balance", balance),
        ]),
        link("/dashboard/issuers", "All issuers"),
    );
    Ok(entry_page(
        PAGE,
        s(&issuer, "name"),
        &session,
        notice,
        &body,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn wei_reads_as_eth() {
        assert_eq!(super::eth("0"), "0 ETH");
        assert_eq!(super::eth("1000000000000000000"), "1 ETH");
        assert_eq!(super::eth("1500000000000000"), "0.0015 ETH");
        assert_eq!(super::eth("12345678901234567890"), "12.345678 ETH");
        assert_eq!(super::eth("1"), "0 ETH");
    }
}
