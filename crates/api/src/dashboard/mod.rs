//! The operator dashboard at `/dashboard/`: server-rendered HTML, embedded assets, one
//! small script of our own, no build step.
//!
//! - [`session`]: sign-in with the admin token, signed expiring session cookies, CSRF tokens,
//!   sign-in rate limit;
//! - [`operator`]: every read and action goes through the operator API in process;
//! - [`html`]: markup helpers, the one escaping function;
//! - `pages/`: one module per resource. Adding a page: a module with its routes, one line in
//!   [`pages::routes`] and one entry in [`NAV`].
//!
//! Every response carries a strict Content-Security-Policy (only our own script and
//! stylesheet; no inline code, no frames), `nosniff`, `no-referrer` and `no-store`.

mod chart;
pub mod explorer;
pub mod html;
pub mod operator;
mod pages;
pub mod session;

use crate::extract::PeerIp;
use crate::state::AppState;
use async_trait::async_trait;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use session::{NoSession, Session, Sessions};
use std::sync::Arc;

/// Navigation: `(path below /dashboard/, label)`, in order.
pub const NAV: &[(&str, &str)] = &[
    ("", "Overview"),
    ("partners", "Partners"),
    ("schemas", "Schemas"),
    ("issuers", "Issuers"),
    ("programs", "Programs"),
    ("credentials", "Credentials"),
    ("bulk", "Bulk issuance"),
    ("webhooks", "Webhooks"),
    ("consent", "Consent"),
];

/// What the dashboard reads from the chain for display (head block, issuer balances). The
/// binary implements it over its chain; `None` in [`Dashboard`] shows "not connected".
#[async_trait]
pub trait ChainProbe: Send + Sync {
    /// The latest block number.
    async fn head(&self) -> Result<u64, String>;
    /// The balance of `address` in wei, as a decimal string.
    async fn balance(&self, address: &str) -> Result<String, String>;
}

/// The dashboard's share of the application state.
pub struct Dashboard {
    pub sessions: Sessions,
    pub chain: Option<Arc<dyn ChainProbe>>,
    /// Transaction hashes link here when set (`chain_explorer_tx_url`).
    pub explorer: Option<explorer::TxExplorer>,
}

impl Dashboard {
    pub fn new(config: session::SessionConfig, chain: Option<Arc<dyn ChainProbe>>) -> Self {
        Dashboard {
            sessions: Sessions::new(config),
            chain,
            explorer: None,
        }
    }

    /// Links transaction hashes to `explorer`.
    pub fn with_explorer(mut self, explorer: Option<explorer::TxExplorer>) -> Self {
        self.explorer = explorer;
        self
    }

    /// A transaction hash as markup: a link to the explorer when one is set.
    pub fn tx(&self, hash: &str) -> String {
        explorer::tx(self.explorer.as_ref(), hash)
    }
}

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The dashboard's routes, under `/dashboard/` (full paths, not nested: a nested router
/// cannot serve `/dashboard/` itself).
pub fn router() -> Router<AppState> {
    pages::routes()
        .route(
            "/dashboard",
            get(|| async { Redirect::permanent("/dashboard/") }),
        )
        .route("/dashboard/login", get(login_form).post(login))
        .route("/dashboard/logout", axum::routing::post(logout))
        .route("/dashboard/assets/dashboard.css", get(css))
        .route("/dashboard/assets/dashboard.js", get(js))
        .route("/dashboard/{*rest}", get(not_found))
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("assets/dashboard.css"),
    )
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/dashboard.js"),
    )
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// An HTML answer.
pub fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn not_found() -> Response {
    html_response(
        StatusCode::NOT_FOUND,
        html::bare(
            "Not found",
            "<p>There is no such dashboard page. <a href=\"/dashboard/\">Go to the overview</a>.</p>",
        ),
    )
}

fn cookie_header(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
}

/// A request of a signed-in operator. Without a valid session the answer is a redirect to
/// the sign-in page, saying why.
pub struct Signed(pub Session);

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let cookie = session::cookie_value(cookie_header(parts), session::COOKIE);
        match s.dashboard.sessions.open(cookie) {
            Ok(session) => Ok(Signed(session)),
            Err(why) => Err(to_sign_in(why)),
        }
    }
}

/// A signed-in operator's request for the page of one entry: the path's one parameter names
/// it (a partner id, a job id, a `coreClaimHash`). Every such page starts from these three.
pub struct Viewing {
    pub st: AppState,
    pub session: Session,
    pub id: String,
}

impl FromRequestParts<AppState> for Viewing {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let (session, Path(id)) = signed_with::<Path<String>>(parts, s).await?;
        Ok(Viewing {
            st: s.clone(),
            session,
            id,
        })
    }
}

/// The session of a signed-in operator's request and what `T` extracts from it: the
/// sign-in redirect without a session, `T`'s rejection when it refuses.
async fn signed_with<T>(parts: &mut Parts, s: &AppState) -> Result<(Session, T), Response>
where
    T: FromRequestParts<AppState>,
    T::Rejection: IntoResponse,
{
    let Signed(session) = Signed::from_request_parts(parts, s).await?;
    let t = T::from_request_parts(parts, s)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((session, t))
}

fn to_sign_in(why: NoSession) -> Response {
    let target = match why {
        NoSession::Expired => "/dashboard/login?reason=expired",
        NoSession::SignedOut => "/dashboard/login?reason=signed-out",
        NoSession::Missing | NoSession::Invalid => "/dashboard/login",
    };
    Redirect::to(target).into_response()
}

/// Form fields of a posted form, in order (repeated names kept).
#[derive(Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first value of `name`, trimmed, or "".
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// Every non-blank value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

async fn read_form(req: Request, s: &AppState) -> Result<Fields, Response> {
    let bytes = axum::body::Bytes::from_request(req, s)
        .await
        .map_err(|e| crate::extract::bytes_rejection(e).into_response())?;
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .map(Fields)
        .map_err(|_| {
            html_response(
                StatusCode::BAD_REQUEST,
                html::bare("Bad form", "<p>The form could not be read.</p>"),
            )
        })
}

/// A posted form of a signed-in operator whose CSRF token is its session's.
pub struct Posted {
    pub session: Session,
    pub form: Fields,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Signed(session) = Signed::from_request_parts(&mut parts, s).await?;
        let form = read_form(Request::from_parts(parts, body), s).await?;
        if !Sessions::csrf_ok(&session, form.get("_csrf")) {
            return Err(csrf_refused());
        }
        Ok(Posted { session, form })
    }
}

pub(crate) fn csrf_refused() -> Response {
    html_response(
        StatusCode::FORBIDDEN,
        html::bare(
            "Form refused",
            "<p class=\"notice error\" role=\"alert\">This form did not come from your current \
             dashboard session (its CSRF token is missing or belongs to another session), so \
             nothing was changed. Go back, reload the page and submit it again.</p>\
             <p><a href=\"/dashboard/\">Go to the overview</a></p>",
        ),
    )
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    reason: Option<String>,
}

/// Fixed messages only: the query chooses one, it never supplies text.
fn login_reason(reason: Option<&str>) -> Option<html::Notice> {
    match reason? {
        "expired" => Some(html::Notice::Error(
            "Your session expired. Sign in again.".into(),
        )),
        "signed-out" => Some(html::Notice::Done("You are signed out.".into())),
        _ => None,
    }
}

fn login_page(s: &AppState, status: StatusCode, notice: Option<html::Notice>) -> Response {
    let (nonce, token) = s.dashboard.sessions.login_nonce();
    let notice = match notice {
        Some(html::Notice::Error(m)) => format!(
            "<p class=\"notice error\" role=\"alert\">{}</p>",
            html::esc(&m)
        ),
        Some(html::Notice::Done(m)) => {
            format!(
                "<p class=\"notice done\" role=\"status\">{}</p>",
                html::esc(&m)
            )
        }
        None => String::new(),
    };
    let body = format!(
        "{notice}<form method=\"post\" action=\"/dashboard/login\">{csrf}\
         <p class=\"field\"><label for=\"f-token\">Admin token</label>\
         <input id=\"f-token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus></p>\
         <p><button type=\"submit\">Sign in</button></p></form>\
         <p class=\"hint\">The token of the operator API (<code>CLAIMD_ADMIN_TOKEN</code>; in dev mode \
         <code>data/admin-token</code>).</p>",
        csrf = html::csrf_field(&token),
    );
    let mut res = html_response(status, html::bare("Sign in to claimd", &body));
    let cookie = s
        .dashboard
        .sessions
        .cookie(session::LOGIN_COOKIE, &nonce, 3600);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn login_form(
    axum::extract::State(s): axum::extract::State<AppState>,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    login_page(&s, StatusCode::OK, login_reason(q.reason.as_deref()))
}

async fn login(
    axum::extract::State(s): axum::extract::State<AppState>,
    PeerIp(ip): PeerIp,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let nonce =
        session::cookie_value(cookie_header(&parts), session::LOGIN_COOKIE).map(str::to_owned);
    let form = match read_form(Request::from_parts(parts, body), &s).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let sessions = &s.dashboard.sessions;
    if !sessions.login_token_ok(nonce.as_deref(), form.get("_csrf")) {
        return login_page(
            &s,
            StatusCode::FORBIDDEN,
            Some(html::Notice::Error(
                "The sign-in form expired or did not come from this page (CSRF check failed). \
                 Cookies must be enabled. Try again."
                    .into(),
            )),
        );
    }
    if let Err(wait) = sessions.admit_sign_in(ip) {
        return login_page(
            &s,
            StatusCode::TOO_MANY_REQUESTS,
            Some(html::Notice::Error(format!(
                "Too many sign-in attempts from your address. Try again in {} s.",
                crate::limits::retry_after_secs(wait)
            ))),
        );
    }
    if !Sessions::is_admin_token(&s.config.admin_token, form.text("token")) {
        tracing::warn!(peer = ?ip, "dashboard sign-in with a wrong admin token");
        return login_page(
            &s,
            StatusCode::UNAUTHORIZED,
            Some(html::Notice::Error("That is not the admin token.".into())),
        );
    }
    let (session, value) = sessions.start();
    tracing::info!(peer = ?ip, "dashboard sign-in");
    let mut res = Redirect::to("/dashboard/").into_response();
    let headers = res.headers_mut();
    for c in [
        sessions.cookie(session::COOKIE, &value, sessions.cookie_secs(&session)),
        sessions.cookie(session::LOGIN_COOKIE, "", 0),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    res
}

async fn logout(axum::extract::State(s): axum::extract::State<AppState>, p: Posted) -> Response {
    s.dashboard.sessions.end(&p.session);
    let mut res = Redirect::to("/dashboard/login?reason=signed-out").into_response();
    if let Ok(v) = HeaderValue::from_str(&s.dashboard.sessions.cookie(session::COOKIE, "", 0)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}
