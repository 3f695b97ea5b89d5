//! One module per resource; each renders what the operator API answers.

mod bulk;
mod consent;
mod credentials;
mod issuers;
mod overview;
mod partners;
mod programs;
mod schemas;
mod webhooks;

use super::html::{self, Notice};
use super::operator::{OperatorApi, Refusal};
use super::session::Session;
use crate::state::AppState;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

/// Every page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/", get(overview::show))
        .route(
            "/dashboard/partners",
            get(partners::list).post(partners::create),
        )
        .route(
            "/dashboard/partners/{id}",
            get(partners::show).post(partners::update),
        )
        .route("/dashboard/partners/{id}/disable", post(partners::disable))
        .route(
            "/dashboard/schemas",
            get(schemas::list).post(schemas::create),
        )
        .route("/dashboard/schemas/{id}", get(schemas::show))
        .route(
            "/dashboard/issuers",
            get(issuers::list).post(issuers::create),
        )
        .route("/dashboard/issuers/{did}", get(issuers::show))
        .route(
            "/dashboard/programs",
            get(programs::list).post(programs::create),
        )
        .route("/dashboard/programs/{id}", get(programs::show))
        .route("/dashboard/credentials", get(credentials::search))
        .route("/dashboard/credentials/{hash}", get(credentials::show))
        .route(
            "/dashboard/credentials/{hash}/revoke",
            post(credentials::revoke),
        )
        .route(
            "/dashboard/credentials/{hash}/verify",
            post(credentials::verify),
        )
        .route("/dashboard/consent", get(consent::list).post(consent::set))
        .route("/dashboard/bulk", get(bulk::list).post(bulk::upload))
        .route("/dashboard/bulk/{id}", get(bulk::show))
        .route("/dashboard/bulk/{id}/progress", get(bulk::fragment))
        .route("/dashboard/bulk/{id}/results", get(bulk::results))
        .route("/dashboard/bulk/{id}/pause", post(bulk::pause))
        .route("/dashboard/bulk/{id}/resume", post(bulk::resume))
        .route("/dashboard/bulk/{id}/cancel", post(bulk::cancel))
        .route("/dashboard/webhooks", get(webhooks::partners))
        .route(
            "/dashboard/partners/{id}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/dashboard/partners/{id}/webhooks/{endpoint}",
            get(webhooks::deliveries),
        )
        .route(
            "/dashboard/partners/{id}/webhooks/{endpoint}/replay",
            post(webhooks::replay),
        )
        .route(
            "/dashboard/partners/{id}/webhooks/{endpoint}/{action}",
            post(webhooks::act),
        )
}

/// A signed-in page. A refusal's status becomes the page's, so a failed action is not a 200.
fn render(
    title: &str,
    active: &str,
    session: &Session,
    notice: Option<Notice>,
    body: &str,
) -> Response {
    let status = match &notice {
        Some(Notice::Error(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    super::html_response(
        status,
        html::page(title, active, &session.csrf, notice.as_ref(), body),
    )
}

/// A refusal of the operator API, in words.
fn refused(r: &Refusal) -> Notice {
    Notice::Error(r.to_string())
}

/// `?page=` of listings: a positive number, else 1.
#[derive(serde::Deserialize, Default)]
pub struct PageQuery {
    page: Option<String>,
}

impl PageQuery {
    fn page(&self) -> u64 {
        self.page
            .as_deref()
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1)
            .into()
    }
}

/// A signed-in operator's request for a page of a listing (`?page=`). Every listing page
/// starts from these, and so does a form's post that shows the listing again with a notice.
pub struct Listed {
    api: OperatorApi,
    session: Session,
    page_no: u64,
    /// What the action that led here did.
    notice: Option<Notice>,
}

impl Listed {
    /// The first page again after a form's post, with the `notice` saying how it went.
    fn after_post(st: &AppState, session: Session, notice: Option<Notice>) -> Self {
        Listed {
            api: OperatorApi::new(st),
            session,
            page_no: 1,
            notice,
        }
    }
}

impl FromRequestParts<AppState> for Listed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let (session, Query(q)) = super::signed_with::<Query<PageQuery>>(parts, s).await?;
        Ok(Listed {
            api: OperatorApi::new(s),
            session,
            page_no: q.page(),
            notice: None,
        })
    }
}

/// Rows per page of every listing.
const PER_PAGE: u64 = 50;

/// A paged listing of the operator API, shown as a table with its pager below it.
struct Listing<'a> {
    /// The API's listing up to its query: `/admin/v1/programs?`, or with a filter, which
    /// then ends in `&` (`page` and `limit` are appended).
    api: &'a str,
    /// This page's own address the same way, for the pager's links.
    base: &'a str,
    caption: &'a str,
    headers: &'a [&'a str],
}

impl Listing<'_> {
    /// Page `page_no` (`PER_PAGE` rows), one row of cells per item. When the API refuses,
    /// there is no table and the refusal replaces `notice`: a listing that cannot be read is
    /// what the operator must see.
    async fn show(
        &self,
        api: &super::operator::OperatorApi,
        page_no: u64,
        notice: Option<Notice>,
        row: impl Fn(&Value) -> Vec<String>,
    ) -> (String, Option<Notice>) {
        match api
            .get(&format!("{}page={page_no}&limit={PER_PAGE}", self.api))
            .await
        {
            Ok(v) => {
                let (items, pager) = paged(&v, self.base);
                let rows: Vec<Vec<String>> = items.iter().map(row).collect();
                (
                    html::table(self.caption, self.headers, &rows) + &pager,
                    notice,
                )
            }
            Err(e) => (String::new(), Some(refused(&e))),
        }
    }
}

/// The page of one entry, titled by its kind and its `name` (`Program Members`); `kind` is
/// the `(title, active)` its pages share, the title alone when the entry could not be read.
fn entry_page(
    (kind, active): (&str, &str),
    name: &str,
    session: &Session,
    notice: Option<Notice>,
    body: &str,
) -> Response {
    render(&format!("{kind} {name}"), active, session, notice, body)
}

/// What the operator API answers at `path`, for the page `(title, active)` that shows it;
/// when the API refuses, that page saying why instead (a handler's `?` answers it).
async fn one(
    api: &super::operator::OperatorApi,
    path: &str,
    session: &Session,
    (title, active): (&str, &str),
) -> Result<Value, Response> {
    api.get(path)
        .await
        .map_err(|e| render(title, active, session, Some(refused(&e)), ""))
}

/// The entry the operator API answers at `path`, with the `notice` (of the action that led
/// here) its page shows. When the API refuses, the `Err` is the page of `kind` saying why
/// (that notice, else the refusal) with a link `back` to its listing, for the handler to
/// answer as it is.
async fn entry(
    api: &super::operator::OperatorApi,
    path: &str,
    session: &Session,
    notice: Option<Notice>,
    (title, active): (&str, &str),
    (back, back_text): (&str, &str),
) -> Result<(Value, Option<Notice>), Response> {
    match api.get(path).await {
        Ok(v) => Ok((v, notice)),
        Err(e) => Err(render(
            title,
            active,
            session,
            Some(notice.unwrap_or_else(|| refused(&e))),
            &link(back, back_text),
        )),
    }
}

/// The create form's post: `POST /admin/v1/{resource}` with `body` (`Err` when the form
/// could not make one), then off to the new entry's page `/dashboard/{resource}/{id}`, its id
/// the answer's `id_field`. `Err` is the notice saying why nothing was created.
async fn create(
    st: &AppState,
    resource: &str,
    body: Result<Value, String>,
    id_field: &str,
) -> Result<Response, Notice> {
    let created = super::operator::OperatorApi::new(st)
        .post(
            &format!("/admin/v1/{resource}"),
            &body.map_err(Notice::Error)?,
        )
        .await
        .map_err(|e| refused(&e))?;
    Ok(see_other(&format!(
        "/dashboard/{resource}/{}",
        html::enc(s(&created, id_field))
    )))
}

/// The section under a listing that adds to it: a heading and what follows it (a hint, the
/// form).
fn new_section(heading: &str, content: &str) -> String {
    format!(
        "<section aria-labelledby=\"h-new\"><h2 id=\"h-new\">{}</h2>{content}</section>",
        html::esc(heading)
    )
}

/// A string field of a JSON answer ("" when absent).
fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// A JSON value shown as text: strings as they are, null as "—", the rest as JSON.
fn t(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A `datetime-local` value (`2026-12-07T05:00` or with seconds), read as UTC, as RFC 3339;
/// other text is passed on as typed, for the API to refuse in its words.
fn rfc3339(local: &str) -> String {
    match local.len() {
        16 => format!("{local}:00Z"),
        19 if !local.ends_with('Z') => format!("{local}Z"),
        _ => local.to_owned(),
    }
}

/// The items of a page answer and the pager below them.
fn paged(v: &Value, base: &str) -> (Vec<Value>, String) {
    let items = v["items"].as_array().cloned().unwrap_or_default();
    let pager = html::pager(
        base,
        v["page"].as_u64().unwrap_or(1),
        v["limit"].as_u64().unwrap_or(PER_PAGE),
        v["total"].as_u64().unwrap_or(0),
    );
    (items, pager)
}

/// `(value, label)` options of the first page (500) of a listing, for selects: a "choose"
/// placeholder, then [`choices`].
async fn options(
    api: &super::operator::OperatorApi,
    path: &str,
    value: &str,
    label: &str,
) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), "— choose —".to_owned())];
    out.extend(choices(api, path, value, label).await);
    out
}

/// `(value, "label (value)")` of each item of the first page (500) of a listing; none when the
/// API cannot be read (the form still renders, without them).
async fn choices(
    api: &super::operator::OperatorApi,
    path: &str,
    value: &str,
    label: &str,
) -> Vec<(String, String)> {
    let Ok(v) = api.get(&format!("{path}?limit=500")).await else {
        return Vec::new();
    };
    v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            (
                s(item, value).to_owned(),
                format!("{} ({})", s(item, label), s(item, value)),
            )
        })
        .collect()
}

/// A form's submit button.
fn submit(label: &str) -> String {
    format!(
        "<p><button type=\"submit\">{}</button></p>",
        html::esc(label)
    )
}

/// A form posting to `action` with the session's CSRF token around `fields`.
fn form(action: &str, session: &Session, fields: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\">{}{fields}</form>",
        html::attr(action),
        html::csrf_field(&session.csrf)
    )
}

/// A link to a dashboard page.
fn link(href: &str, text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", html::attr(href), html::esc(text))
}

/// A link to a dashboard page whose text is an identifier (a job id, a `coreClaimHash`).
fn code_link(href: &str, text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", html::attr(href), html::code(text))
}

fn see_other(to: &str) -> Response {
    use axum::response::IntoResponse;
    axum::response::Redirect::to(to).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_times_become_rfc3339() {
        assert_eq!(super::rfc3339("2026-12-07T05:00"), "2026-12-07T05:00:00Z");
        assert_eq!(
            super::rfc3339("2026-12-07T05:00:09"),
            "2026-12-07T05:00:09Z"
        );
        assert_eq!(super::rfc3339("soon"), "soon");
    }
}
