//! Credentials: search (by `coreClaimHash`, user address or program; paged on the server),
//! and one credential with its status, chain facts, document and proofs, verify and revoke.

use super::Listing;
use super::{code_link, entry, form, link, refused, render, s, see_other, submit, t};
use crate::dashboard::html::{self, enc, esc, Notice};
use crate::dashboard::operator::OperatorApi;
use crate::dashboard::session::Session;
use crate::dashboard::{Posted, Signed, Viewing};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::Value;

/// The title and navigation item of a credential's page, and the link back to the search.
const CREDENTIAL: (&str, &str) = ("Credential", "credentials");
const SEARCH: (&str, &str) = ("/dashboard/credentials", "Search credentials");

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SearchQuery {
    hash: Option<String>,
    email: Option<String>,
    program_id: Option<String>,
    page: Option<String>,
}

fn nonblank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub async fn search(
    State(st): State<AppState>,
    Signed(session): Signed,
    Query(q): Query<SearchQuery>,
) -> Response {
    if let Some(hash) = nonblank(&q.hash) {
        return see_other(&format!("/dashboard/credentials/{}", enc(hash)));
    }
    let email = nonblank(&q.email).unwrap_or("");
    let program = nonblank(&q.program_id).unwrap_or("");
    let page_no = super::PageQuery {
        page: q.page.clone(),
    }
    .page();
    let filter = format!("email={}&programId={}&", enc(email), enc(program));
    let api = OperatorApi::new(&st);
    let listing = Listing {
        api: &format!("/admin/v1/credentials?{filter}"),
        base: &format!("/dashboard/credentials?{filter}"),
        caption: "Credentials, newest first",
        headers: &["coreClaimHash", "Status", "Program", "Issued (UTC)"],
    };
    let (table, notice) = listing
        .show(&api, page_no, None, |c| {
            let h = s(c, "coreClaimHash");
            vec![
                code_link(&format!("/dashboard/credentials/{}", enc(h)), h),
                format!("<span class=\"status\">{}</span>", esc(s(c, "vcStatus"))),
                link(
                    &format!("/dashboard/programs/{}", enc(s(c, "programId"))),
                    s(c, "programId"),
                ),
                esc(s(c, "issuanceDate")),
            ]
        })
        .await;
    let body = format!(
        "<form method=\"get\" action=\"/dashboard/credentials\" class=\"search\" role=\"search\">{}{}{}{}</form>{table}",
        html::input("hash", "coreClaimHash", "search", "", "pattern=\"[0-9a-fA-F]{64}\" title=\"64 hex digits\""),
        html::input("email", "User address", "search", email, ""),
        html::input("programId", "Program id", "search", program, ""),
        submit("Search"),
    );
    render("Credentials", "credentials", &session, notice, &body)
}

pub async fn show(v: Viewing) -> Result<Response, Response> {
    detail(&v.st, &v.session, &v.id, None, "").await
}

async fn detail(
    st: &AppState,
    session: &Session,
    hash: &str,
    notice: Option<Notice>,
    extra: &str,
) -> Result<Response, Response> {
    let api = OperatorApi::new(st);
    let path = format!("/admin/v1/credentials/{}", enc(hash));
    let (c, notice) = entry(&api, &path, session, notice, CREDENTIAL, SEARCH).await?;
    let document = api.get(&format!("{path}/document")).await;
    let proofs = match &document {
        Ok(d) => {
            let proofs: Vec<Vec<String>> = match &d["proof"] {
                Value::Array(a) => a.iter().map(proof_row).collect(),
                p @ Value::Object(_) => vec![proof_row(p)],
                _ => vec![],
            };
            html::table("Proofs", &["Type", "Issuer state / block"], &proofs)
        }
        Err(e) => format!("<p>{}</p>", esc(&e.to_string())),
    };
    let status = s(&c, "vcStatus");
    let history = history(st, &api.get(&format!("{path}/history")).await);
    let dashboard_path = format!("/dashboard/credentials/{}", enc(hash));
    let revocable = matches!(status, "WAIT_ONCHAIN" | "ONCHAIN" | "EXPIRE");
    let actions = format!(
        "{}{}",
        form(
            &format!("{dashboard_path}/verify"),
            session,
            &submit("Verify against the chain")
        ),
        if revocable {
            form(
                &format!("{dashboard_path}/revoke"),
                session,
                &submit("Revoke credential"),
            )
        } else {
            String::new()
        }
    );
    let body = format!(
        "{facts}<section aria-labelledby=\"h-hist\"><h2 id=\"h-hist\">Status history</h2>{history}</section>\
         <section aria-labelledby=\"h-act\"><h2 id=\"h-act\">Actions</h2><div class=\"actions\">{actions}</div>{extra}</section>\
         <section aria-labelledby=\"h-proofs\"><h2 id=\"h-proofs\">Proofs</h2>{proofs}</section>\
         <section aria-labelledby=\"h-doc\"><h2 id=\"h-doc\">Document</h2>{doc}</section>\
         <p>{back}</p>",
        facts = html::facts(&[
            ("coreClaimHash", html::code(s(&c, "coreClaimHash"))),
            (
                "Status",
                format!("<strong class=\"status\" id=\"vc-status\">{}</strong>", esc(status))
            ),
            ("Issuer", html::code(s(&c, "issuerDid"))),
            ("Schema", html::code(s(&c, "schemeId"))),
            ("VC id", html::code(s(&c, "vcId"))),
            ("Issued (UTC)", esc(s(&c, "issuanceDate"))),
            ("Expires (UTC)", esc(s(&c, "expirationDate"))),
            (
                "Latest transaction",
                match c["txHash"].as_str() {
                    Some(tx) => format!("{} in block {}", st.dashboard.tx(tx), esc(&t(&c["blockNumber"]))),
                    None => "—".into(),
                }
            ),
        ]),
        doc = match &document {
            Ok(d) => html::json_block("W3C credential with its proofs", d),
            Err(e) => format!("<p>{}</p>", esc(&e.to_string())),
        },
        back = link(SEARCH.0, SEARCH.1),
    );
    Ok(render(CREDENTIAL.0, CREDENTIAL.1, session, notice, &body))
}

/// The credential's changes, oldest first, as the operator API lists them
/// (`GET /admin/v1/credentials/{hash}/history`); transactions link to the explorer when one
/// is configured.
fn history(st: &AppState, h: &Result<Value, crate::dashboard::operator::Refusal>) -> String {
    let h = match h {
        Ok(h) => h,
        Err(e) => return format!("<p>{}</p>", esc(&e.to_string())),
    };
    let rows: Vec<Vec<String>> = h["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let chain = match (e["txHash"].as_str(), e["blockNumber"].as_str()) {
                (Some(tx), Some(b)) => format!("{} in block {}", st.dashboard.tx(tx), esc(b)),
                (Some(tx), None) => st.dashboard.tx(tx),
                _ => "—".into(),
            };
            vec![
                format!(
                    "<time datetime=\"{}\">{}</time>",
                    html::attr(s(e, "at")),
                    esc(&when(s(e, "at")))
                ),
                esc(change_label(s(e, "change"))),
                format!("<span class=\"status\">{}</span>", esc(s(e, "vcStatus"))),
                chain,
            ]
        })
        .collect();
    html::table(
        "Status history, oldest first",
        &["When (UTC)", "Change", "Status after", "Transaction"],
        &rows,
    )
}

/// `2026-12-07T05:00:00.123Z` as `2026-12-07 05:00:00` (display only).
fn when(at: &str) -> String {
    at.get(..19)
        .map(|t| t.replace('T', " "))
        .unwrap_or_else(|| at.to_owned())
}

fn change_label(change: &str) -> &str {
    match change {
        "accepted" => "Accepted (issued)",
        "onchain" => "On chain",
        "revocation_requested" => "Revocation requested",
        "removed" => "Removed (revocation on chain)",
        "expired" => "Expired",
        other => other,
    }
}

fn proof_row(p: &Value) -> Vec<String> {
    let state = &p["issuerData"]["state"];
    let where_ = match (state["value"].as_str(), state["blockNumber"].as_u64()) {
        (Some(v), Some(b)) => format!("{} in block {b}", html::code(v)),
        (Some(v), None) => html::code(v),
        _ => "—".into(),
    };
    vec![esc(s(p, "type")), where_]
}

pub async fn revoke(
    State(st): State<AppState>,
    Path(hash): Path<String>,
    p: Posted,
) -> Result<Response, Response> {
    let notice = match OperatorApi::new(&st)
        .post(
            &format!("/admin/v1/credentials/{}/revoke", enc(&hash)),
            &Value::Null,
        )
        .await
    {
        Ok(v) => Notice::Done(format!(
            "Revoked: the status is {} until the revocation is on chain.",
            s(&v, "vcStatus")
        )),
        Err(e) => refused(&e),
    };
    detail(&st, &p.session, &hash, Some(notice), "").await
}

pub async fn verify(
    State(st): State<AppState>,
    Path(hash): Path<String>,
    p: Posted,
) -> Result<Response, Response> {
    let api = OperatorApi::new(&st);
    let report = match api
        .get(&format!("/admin/v1/credentials/{}/document", enc(&hash)))
        .await
    {
        Ok(doc) => api.post("/v1/credentials/verify", &doc).await,
        Err(e) => Err(e),
    };
    let (notice, extra) = match report {
        Ok(r) => {
            let valid = r["valid"].as_bool().unwrap_or(false);
            let rows: Vec<Vec<String>> = r["checks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| vec![esc(s(c, "name")), esc(s(c, "status")), esc(s(c, "detail"))])
                .collect();
            (
                if valid {
                    Notice::Done("Verification: valid.".into())
                } else {
                    Notice::Error("Verification: NOT valid (see the failed checks).".into())
                },
                html::table("Verification checks", &["Check", "Result", "Detail"], &rows),
            )
        }
        Err(e) => (refused(&e), String::new()),
    };
    detail(&st, &p.session, &hash, Some(notice), &extra).await
}
