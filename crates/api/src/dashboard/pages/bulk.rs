//! Bulk issuance: the jobs (paged), an upload form (CSV or JSON Lines, validate-only), and
//! one job with its live progress, pause/resume/cancel and the results CSV.
//!
//! The upload is a multipart form. It is read part by part: the CSRF token and the program
//! come first (the form puts them before the file), and only once the token is the session's
//! is the file part handed, as a stream, to `POST /admin/v1/programs/{id}/bulk-issuances` —
//! the file is never held in memory here; the operator API stores it as it arrives.

use super::{code_link, entry, form, link, new_section, options, refused, render, s};
use super::{see_other, submit, t, Listed, Listing};
use crate::dashboard::html::{self, enc, esc, Notice};
use crate::dashboard::operator::OperatorApi;
use crate::dashboard::session::{Session, Sessions};
use crate::dashboard::{Posted, Signed, Viewing};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The title and navigation item of a job's page, and the link back to all jobs.
const JOB: (&str, &str) = ("Bulk issuance job", "bulk");
const ALL_JOBS: (&str, &str) = ("/dashboard/bulk", "All jobs");

/// States after which a job changes no more.
const FINAL: &[&str] = &["COMPLETED", "VALIDATED", "CANCELLED", "FAILED"];

pub async fn list(l: Listed) -> Response {
    page(l, "").await
}

async fn page(l: Listed, program: &str) -> Response {
    let listing = Listing {
        api: "/admin/v1/bulk-issuances?",
        base: "/dashboard/bulk?",
        caption: "Bulk issuance jobs, newest first",
        headers: &[
            "Job",
            "Program",
            "Format",
            "State",
            "Rows",
            "Issued",
            "Failed",
            "Created (UTC)",
        ],
    };
    let (table, notice) = listing
        .show(&l.api, l.page_no, l.notice, |j| {
            let id = s(j, "jobId");
            let rows = &j["rows"];
            vec![
                code_link(&format!("/dashboard/bulk/{}", enc(id)), id),
                link(
                    &format!("/dashboard/programs/{}", enc(s(j, "credentialId"))),
                    s(j, "credentialId"),
                ),
                format!(
                    "{}{}",
                    esc(s(j, "format")),
                    if j["validateOnly"] == true {
                        " (validate only)"
                    } else {
                        ""
                    }
                ),
                format!("<span class=\"status\">{}</span>", esc(s(j, "state"))),
                esc(&t(&rows["total"])),
                esc(&t(&rows["issued"])),
                esc(&t(&rows["failed"])),
                esc(s(j, "createdAt")),
            ]
        })
        .await;
    let programs = options(&l.api, "/admin/v1/programs", "credentialId", "name").await;
    // The token and the program come before the file: the upload handler checks them first.
    let upload = format!(
        "<form method=\"post\" action=\"/dashboard/bulk\" enctype=\"multipart/form-data\">{csrf}{program}\
         <p class=\"field\"><label for=\"f-file\">File (CSV or JSON Lines)</label>\
         <input id=\"f-file\" name=\"file\" type=\"file\" accept=\".csv,.jsonl,.ndjson,text/csv,application/x-ndjson\" \
         required aria-describedby=\"h-file\"><small id=\"h-file\">CSV: a header row <code>email</code>, the schema's \
         attribute names and optionally <code>onDuplicate</code>. JSON Lines (<code>.jsonl</code>): one \
         <code>{{\"email\", \"credentialSubject\", \"onDuplicate\"}}</code> object per line. Up to 1,000,000 rows.</small></p>\
         {validate}{button}</form>",
        csrf = html::csrf_field(&l.session.csrf),
        program = html::select("credentialId", "Program", &programs, program),
        validate = html::checkbox(
            "validateOnly",
            "true",
            "Validate only (check every row, issue nothing)",
            false
        ),
        button = submit("Upload and start"),
    );
    let body = table
        + &new_section(
            "Upload a file",
            &format!(
                "<p class=\"hint\">Every row is checked against the program's schema before any is \
                 issued; valid rows are then issued in the background with the rules of \
                 issue-on-behalf.</p>{upload}"
            ),
        );
    render("Bulk issuance", "bulk", &l.session, notice, &body)
}

/// The content type the operator API expects for an uploaded file: by its name, else by
/// the type the browser gave it.
fn file_type(file_name: Option<&str>, given: Option<&str>) -> Option<&'static str> {
    let name = file_name.unwrap_or("").to_ascii_lowercase();
    if name.ends_with(".csv") {
        return Some("text/csv");
    }
    if name.ends_with(".jsonl") || name.ends_with(".ndjson") {
        return Some("application/x-ndjson");
    }
    match given.and_then(claimd_core::bulk::Format::from_content_type)? {
        claimd_core::bulk::Format::Csv => Some("text/csv"),
        claimd_core::bulk::Format::Jsonl => Some("application/x-ndjson"),
    }
}

/// `POST /dashboard/bulk`: the multipart upload (see the module's comment).
pub async fn upload(
    State(st): State<AppState>,
    Signed(session): Signed,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let refuse = |message: String, program: String| {
        let st = st.clone();
        let session = session.clone();
        async move {
            let notice = Some(Notice::Error(message));
            page(Listed::after_post(&st, session, notice), &program).await
        }
    };
    let boundary = match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(multer::parse_boundary)
    {
        Some(Ok(b)) => b,
        _ => {
            return refuse(
                "The upload must be sent by the form (multipart/form-data).".into(),
                String::new(),
            )
            .await
        }
    };
    // Small text fields are bounded; the file is bounded by the operator API (rows, bytes).
    let constraints = multer::Constraints::new()
        .allowed_fields(vec!["_csrf", "credentialId", "validateOnly", "file"])
        .size_limit(
            multer::SizeLimit::new()
                .for_field("_csrf", 256)
                .for_field("credentialId", 512)
                .for_field("validateOnly", 16),
        );
    let mut parts =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let (mut csrf, mut program, mut validate_only) = (None, String::new(), false);
    loop {
        let field = match parts.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => {
                return refuse("Choose a file to upload.".into(), program).await;
            }
            Err(e) => {
                return refuse(format!("The form could not be read: {e}."), program).await;
            }
        };
        let name = field.name().map(str::to_owned);
        match name.as_deref() {
            Some("file") => {
                if !Sessions::csrf_ok(&session, csrf.as_deref()) {
                    return crate::dashboard::csrf_refused();
                }
                if program.is_empty() {
                    return refuse("Choose the program to issue.".into(), program).await;
                }
                if field.file_name().is_none_or(str::is_empty) {
                    return refuse("Choose a file to upload.".into(), program).await;
                }
                let Some(ct) = file_type(
                    field.file_name(),
                    field.content_type().map(|m| m.essence_str()),
                ) else {
                    return refuse(
                        "The file must be CSV (.csv) or JSON Lines (.jsonl or .ndjson).".into(),
                        program,
                    )
                    .await;
                };
                let uri = format!(
                    "/admin/v1/programs/{}/bulk-issuances?validateOnly={validate_only}",
                    enc(&program)
                );
                let answer = OperatorApi::new(&st)
                    .stream(Method::POST, &uri, Some(ct), Body::from_stream(field))
                    .await;
                return match answer {
                    Ok(res) => {
                        let job: Value = axum::body::to_bytes(res.into_body(), 1 << 20)
                            .await
                            .ok()
                            .and_then(|b| serde_json::from_slice(&b).ok())
                            .unwrap_or(Value::Null);
                        see_other(&format!("/dashboard/bulk/{}", enc(s(&job, "jobId"))))
                    }
                    Err(e) => refuse(e.to_string(), program).await,
                };
            }
            Some(name) => {
                let value = match field.text().await {
                    Ok(v) => v,
                    Err(e) => {
                        return refuse(format!("The form could not be read: {e}."), program).await
                    }
                };
                match name {
                    "_csrf" => csrf = Some(value.trim().to_owned()),
                    "credentialId" => program = value.trim().to_owned(),
                    "validateOnly" => validate_only = !value.trim().is_empty(),
                    _ => {}
                }
            }
            None => {}
        }
    }
}

/// The job's progress: the part of the job page the script refreshes.
fn progress(id: &str, j: &Value) -> String {
    let rows = &j["rows"];
    let state = s(j, "state");
    let n = |k: &str| rows[k].as_u64().unwrap_or(0);
    let total = n("total");
    // Rows the job is finished with: refused at validation, or issued, skipped or failed.
    let done = n("invalid") + n("issued") + n("skippedDuplicate") + n("failed");
    let final_ = FINAL.contains(&state);
    let eta = match j["etaSeconds"].as_u64() {
        Some(secs) if secs >= 60 => format!("about {} min {} s", secs / 60, secs % 60),
        Some(secs) => format!("about {secs} s"),
        None if final_ => "finished".into(),
        None => "—".into(),
    };
    let rate = j["ratePerSecond"]
        .as_f64()
        .map(|r| format!("{r:.1} rows/s"))
        .unwrap_or_else(|| "—".into());
    format!(
        "<div id=\"bulk-progress\" data-poll=\"/dashboard/bulk/{idu}/progress\" data-final=\"{final_}\" aria-live=\"polite\">\
         <p>State: <strong class=\"status\" id=\"job-state\">{state}</strong></p>\
         <p><label for=\"job-bar\">Rows finished</label> \
         <progress id=\"job-bar\" max=\"{max}\" value=\"{done}\">{done} of {total}</progress> {done} of {total}</p>{facts}</div>",
        idu = enc(id),
        state = esc(state),
        max = total.max(1),
        facts = html::facts(&[
            ("Rows in the file", format!("<span data-count=\"total\">{total}</span>")),
            ("Validated", format!("<span data-count=\"validated\">{}</span>", n("validated"))),
            ("Invalid", format!("<span data-count=\"invalid\">{}</span>", n("invalid"))),
            ("Issued", format!("<span data-count=\"issued\">{}</span>", n("issued"))),
            ("Failed", format!("<span data-count=\"failed\">{}</span>", n("failed"))),
            (
                "Duplicate (existing credential kept)",
                format!("<span data-count=\"duplicate\">{}</span>", n("skippedDuplicate"))
            ),
            ("Pending", format!("<span data-count=\"pending\">{}</span>", n("pending"))),
            (
                "On chain now",
                format!("<span data-count=\"onchain\">{}</span>", esc(&t(&rows["onChain"])))
            ),
            ("Rate", esc(&rate)),
            ("Time left", esc(&eta)),
        ]),
    )
}

pub async fn show(v: Viewing) -> Result<Response, Response> {
    detail(&v.st, &v.session, &v.id, None).await
}

async fn detail(
    st: &AppState,
    session: &Session,
    id: &str,
    notice: Option<Notice>,
) -> Result<Response, Response> {
    let api = OperatorApi::new(st);
    let path = format!("/admin/v1/bulk-issuances/{}", enc(id));
    let (j, notice) = entry(&api, &path, session, notice, JOB, ALL_JOBS).await?;
    let state = s(&j, "state");
    let base = format!("/dashboard/bulk/{}", enc(id));
    let mut actions = String::new();
    if matches!(state, "VALIDATING" | "RUNNING") {
        actions += &form(&format!("{base}/pause"), session, &submit("Pause"));
    }
    if state == "PAUSED" {
        actions += &form(&format!("{base}/resume"), session, &submit("Resume"));
    }
    if !FINAL.contains(&state) {
        actions += &form(&format!("{base}/cancel"), session, &submit("Cancel job"));
    }
    let body = format!(
        "{facts}<section aria-labelledby=\"h-prog\"><h2 id=\"h-prog\">Progress</h2>{progress}\
         <p class=\"hint\">This part refreshes by itself while the job runs; \
         <a href=\"{base}\">reload the page</a> to see it without the script.</p></section>\
         <section aria-labelledby=\"h-act\"><h2 id=\"h-act\">Actions</h2><div class=\"actions\">{actions}</div>\
         <p><a href=\"{base}/results\" download>Download the results (CSV)</a>: one line per row with \
         its outcome, the credential's <code>coreClaimHash</code> or the reason it was refused.</p></section>\
         <p>{back}</p>",
        facts = html::facts(&[
            ("Job", html::code(s(&j, "jobId"))),
            (
                "Program",
                link(
                    &format!("/dashboard/programs/{}", enc(s(&j, "credentialId"))),
                    s(&j, "credentialId")
                )
            ),
            ("Format", esc(s(&j, "format"))),
            (
                "Validate only",
                String::from(if j["validateOnly"] == true { "yes" } else { "no" })
            ),
            ("Created (UTC)", esc(s(&j, "createdAt"))),
            ("Started (UTC)", esc(&t(&j["startedAt"]))),
            ("Finished (UTC)", esc(&t(&j["finishedAt"]))),
            ("Error", esc(&t(&j["error"]))),
        ]),
        progress = progress(id, &j),
        back = link(ALL_JOBS.0, ALL_JOBS.1),
    );
    Ok(render(JOB.0, JOB.1, session, notice, &body))
}

/// `GET /dashboard/bulk/{id}/progress`: the progress fragment alone, for the script.
pub async fn fragment(v: Viewing) -> Response {
    let Viewing { st, id, .. } = v;
    match OperatorApi::new(&st)
        .get(&format!("/admin/v1/bulk-issuances/{}", enc(&id)))
        .await
    {
        Ok(j) => crate::dashboard::html_response(StatusCode::OK, progress(&id, &j)),
        Err(e) => crate::dashboard::html_response(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_GATEWAY),
            format!(
                "<p class=\"notice error\" role=\"alert\">{}</p>",
                esc(&e.to_string())
            ),
        ),
    }
}

async fn control(st: &AppState, id: &str, p: &Posted, action: &str, done: &str) -> Response {
    let notice = match OperatorApi::new(st)
        .post(
            &format!("/admin/v1/bulk-issuances/{}/{action}", enc(id)),
            &Value::Null,
        )
        .await
    {
        Ok(j) => Notice::Done(format!("{done} The job is {}.", s(&j, "state"))),
        Err(e) => refused(&e),
    };
    detail(st, &p.session, id, Some(notice))
        .await
        .into_response()
}

pub async fn pause(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    control(&st, &id, &p, "pause", "Paused.").await
}

pub async fn resume(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    control(&st, &id, &p, "resume", "Resumed.").await
}

pub async fn cancel(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    control(&st, &id, &p, "cancel", "Cancelled.").await
}

/// `GET /dashboard/bulk/{id}/results`: the operator API's CSV, passed through as it streams.
pub async fn results(v: Viewing) -> Result<Response, Response> {
    let Viewing { st, session, id } = v;
    match OperatorApi::new(&st)
        .stream(
            Method::GET,
            &format!("/admin/v1/bulk-issuances/{}/results", enc(&id)),
            None,
            Body::empty(),
        )
        .await
    {
        Ok(res) => {
            let (parts, body) = res.into_parts();
            let mut out = Response::new(body);
            for name in [header::CONTENT_TYPE, header::CONTENT_DISPOSITION] {
                if let Some(v) = parts.headers.get(&name) {
                    out.headers_mut().insert(name, v.clone());
                }
            }
            if !out.headers().contains_key(header::CONTENT_TYPE) {
                out.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                );
            }
            Ok(out)
        }
        Err(e) => detail(&st, &session, &id, Some(refused(&e))).await,
    }
}

#[cfg(test)]
mod tests {
    use super::file_type;

    #[test]
    fn the_file_type_comes_from_its_name_then_its_type() {
        assert_eq!(file_type(Some("rows.CSV"), None), Some("text/csv"));
        assert_eq!(
            file_type(Some("rows.jsonl"), Some("application/octet-stream")),
            Some("application/x-ndjson")
        );
        assert_eq!(file_type(Some("rows"), Some("text/csv")), Some("text/csv"));
        assert_eq!(file_type(Some("rows.txt"), Some("text/plain")), None);
    }
}
