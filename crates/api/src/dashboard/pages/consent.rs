//! Consent: the recorded decisions (paged) and recording one.

use super::{form, new_section, options, refused, render, s, submit, Listed, Listing};
use crate::dashboard::html::{self, esc, Notice};
use crate::dashboard::operator::OperatorApi;
use crate::dashboard::Posted;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;

pub async fn list(l: Listed) -> Response {
    page(l).await
}

async fn page(l: Listed) -> Response {
    let listing = Listing {
        api: "/admin/v1/users/consent?",
        base: "/dashboard/consent?",
        caption: "Consent records",
        headers: &["User", "Partner", "Decision", "Recorded"],
    };
    let (table, notice) = listing
        .show(&l.api, l.page_no, l.notice, |c| {
            vec![
                esc(s(c, "email")),
                html::code(s(c, "partnerId")),
                esc(s(c, "status")),
                esc(s(c, "updatedAt")),
            ]
        })
        .await;
    let partners = options(&l.api, "/admin/v1/partners", "partnerId", "name").await;
    let decisions = [
        ("granted".to_owned(), "granted".to_owned()),
        ("rejected".to_owned(), "rejected".to_owned()),
    ];
    let fields = html::input("email", "User address", "email", "", "required")
        + &html::select("partnerId", "Partner", &partners, "")
        + &html::select("status", "Decision", &decisions, "granted")
        + &submit("Record consent");
    let body = table
        + &new_section(
            "Record a decision",
            &format!(
                "<p class=\"hint\">A rejected consent refuses every issuance by that partner to \
                 that user, whatever spelling of the address it sends.</p>{}",
                form("/dashboard/consent", &l.session, &fields)
            ),
        );
    render("Consent", "consent", &l.session, notice, &body)
}

pub async fn set(State(st): State<AppState>, p: Posted) -> Response {
    let body = json!({
        "email": p.form.text("email"),
        "partnerId": p.form.text("partnerId"),
        "status": p.form.text("status"),
    });
    let notice = match OperatorApi::new(&st)
        .put("/admin/v1/users/consent", &body)
        .await
    {
        Ok(c) => Notice::Done(format!(
            "Recorded: {} for {}.",
            s(&c, "status"),
            s(&c, "email")
        )),
        Err(e) => refused(&e),
    };
    page(Listed::after_post(&st, p.session, Some(notice))).await
}
