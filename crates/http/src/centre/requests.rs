//! "My requests": the customer's requests with kind, status, due date and days left, and the
//! reason when extended or rejected; below, a form for each right. Submitted through
//! `Vault::submit_request` on the `privacy_centre` channel.
//!
//! [`request_row`] is the one place a request is shown: the steps that follow a request
//! (verifying it with a code, downloading the export, the deletion report) add their actions
//! there.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use custodian_core::rights::request::{RequestChannel, RequestState};
use custodian_core::vault::{RequestContext, RequestInput, RequestView};
use custodian_policy::{Lang, LegalBasis, Policy, RightKind};

use crate::AppState;

use super::error::{Failure, failure_page, vault_failure};
use super::follow_up;
use super::html::Html;
use super::layout::{Page, form_open, moment, render};
use super::paths;
use super::request_id;
use super::session::{Form, Signed, see_other};
use super::texts::T;

fn context(signed: &Signed, headers: &HeaderMap) -> RequestContext {
    RequestContext {
        principal: signed.session.principal.clone(),
        purpose: String::new(),
        request_id: request_id(headers),
    }
}

/// A right's name in the policy's own words.
fn kind_label<'a>(policy: &'a Policy, kind: &'a str, lang: Lang) -> &'a str {
    policy
        .rights
        .iter()
        .find(|r| r.kind.as_str() == kind)
        .map_or(kind, |r| r.label.get(lang))
}

/// One request as a table row: kind, status, received, due, days left, reason, and what the
/// customer can do next (enter the code; download a completed copy).
pub fn request_row(h: &mut Html, policy: &Policy, request: &RequestView, lang: Lang, csrf: &str) {
    h.raw("<tr id=\"request-")
        .text(&request.id.to_string())
        .raw("\" data-kind=\"")
        .text(&request.kind)
        .raw("\">")
        .el(
            "<th scope=\"row\">",
            kind_label(policy, &request.kind, lang),
            "</th>",
        )
        .el("<td>", request.state.label(lang), "</td>")
        .el("<td>", &moment(request.received_at), "</td>")
        .el("<td>", &request.complete_by.to_string(), "</td>")
        .raw("<td>")
        .text(&request.days_left.to_string());
    if request.overdue {
        h.raw(" <strong>(")
            .text(T::Overdue.get(lang))
            .raw(")</strong>");
    }
    h.raw("</td>")
        .el("<td>", request.reason.as_deref().unwrap_or(""), "</td>")
        .raw("<td>");
    let copy = matches!(request.kind.as_str(), "access" | "portability");
    match request.state {
        RequestState::Acknowledged => {
            h.raw("<a href=\"")
                .text(&follow_up::verify_href(&request.id, lang))
                .raw("\">")
                .text(T::ConfirmAction.get(lang))
                .raw("</a>");
        }
        RequestState::Completed if copy => follow_up::download_form(h, &request.id, lang, csrf),
        _ => {}
    }
    h.raw("</td></tr>");
}

/// `GET /privacy-centre/requests`.
pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let lang = signed.lang;
    let ctx = context(&signed, &headers);
    let requests = match state
        .vault
        .requests_of(&ctx, &signed.session.customer)
        .await
    {
        Ok(r) => r,
        Err(e) => return vault_failure(lang, e),
    };
    let policy = &state.policy;
    let mut h = Html::new();
    h.el("<h1>", T::RequestsTitle.get(lang), "</h1>")
        .el("<p>", T::RequestsIntro.get(lang), "</p>");
    let query = uri.query().unwrap_or_default();
    if query.split('&').any(|p| p == "sent=1") {
        h.el(
            "<p class=\"notice\" role=\"status\">",
            T::RequestSent.get(lang),
            "</p>",
        );
    } else if query.split('&').any(|p| p == "done=1") {
        h.el(
            "<p class=\"notice\" role=\"status\">",
            T::RequestDone.get(lang),
            "</p>",
        );
    } else if query.split('&').any(|p| p == "verified=1") {
        h.el(
            "<p class=\"notice\" role=\"status\">",
            T::RequestVerified.get(lang),
            "</p>",
        );
    } else if query.split('&').any(|p| p == "merged=1") {
        h.el(
            "<p class=\"notice\" role=\"status\">",
            T::RequestMerged.get(lang),
            "</p>",
        );
    }
    if requests.is_empty() {
        h.el("<p>", T::NoRequests.get(lang), "</p>");
    } else {
        h.raw("<table class=\"requests\"><thead><tr>")
            .el("<th scope=\"col\">", T::Kind.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Status.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Received.get(lang), "</th>")
            .el("<th scope=\"col\">", T::DueDate.get(lang), "</th>")
            .el("<th scope=\"col\">", T::DaysLeft.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Reason.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Action.get(lang), "</th>")
            .raw("</tr></thead><tbody>");
        for request in &requests {
            request_row(&mut h, policy, request, lang, &signed.csrf);
        }
        h.raw("</tbody></table>");
    }
    forms(&mut h, policy, lang, &signed.csrf);
    let page = Page {
        lang,
        title: T::RequestsTitle.get(lang),
        path: paths::REQUESTS,
        nav: Some(&signed.csrf),
    };
    render(&page, h, StatusCode::OK)
}

/// One form per right (no bundling), each with its own explanation.
fn forms(h: &mut Html, policy: &Policy, lang: Lang, csrf: &str) {
    h.el("<h2>", T::NewRequest.get(lang), "</h2>");
    let simple = [
        (
            RightKind::Portability,
            T::AskPortability,
            T::AskPortabilityHelp,
        ),
        (RightKind::Access, T::AskAccess, T::AskAccessHelp),
        (
            RightKind::Restriction,
            T::AskRestriction,
            T::AskRestrictionHelp,
        ),
    ];
    for (kind, title, help) in simple {
        open(h, kind, title, lang, csrf);
        h.el("<p>", help.get(lang), "</p>");
        close(h, lang);
    }
    open(h, RightKind::Correction, T::AskCorrection, lang, csrf);
    h.raw("<p><label for=\"details-correction\">")
        .text(T::CorrectionWhat.get(lang))
        .raw("</label><textarea id=\"details-correction\" name=\"details\" rows=\"3\" required maxlength=\"2000\"></textarea></p>");
    close(h, lang);
    open(h, RightKind::Objection, T::AskObjection, lang, csrf);
    h.raw("<p><label for=\"objection-purpose\">")
        .text(T::ObjectionPurpose.get(lang))
        .raw("</label><select id=\"objection-purpose\" name=\"purpose\" required>");
    for purpose in policy.purposes.iter().filter(|p| {
        matches!(
            p.legal_basis,
            LegalBasis::LegitimateInterest | LegalBasis::Consent
        )
    }) {
        h.raw("<option value=\"")
            .text(purpose.id.as_str())
            .raw("\">")
            .text(purpose.label.get(lang))
            .raw("</option>");
    }
    h.raw("</select></p>");
    close(h, lang);
    open(h, RightKind::Deletion, T::AskDeletion, lang, csrf);
    h.raw("<p class=\"warning\" id=\"deletion-warning\">")
        .text(T::DeletionWarning.get(lang))
        .raw("</p><p class=\"check\"><input type=\"checkbox\" id=\"deletion-confirm\" name=\"confirm\" value=\"yes\" required aria-describedby=\"deletion-warning\"><label for=\"deletion-confirm\">")
        .text(T::DeletionConfirm.get(lang))
        .raw("</label></p>");
    close(h, lang);
}

fn open(h: &mut Html, kind: RightKind, title: T, lang: Lang, csrf: &str) {
    h.raw("<section class=\"ask\" id=\"ask-")
        .text(kind.as_str())
        .raw("\"><h3>")
        .text(title.get(lang))
        .raw("</h3>");
    form_open(h, paths::REQUESTS, lang, csrf);
    h.raw("<input type=\"hidden\" name=\"kind\" value=\"")
        .text(kind.as_str())
        .raw("\">");
}

fn close(h: &mut Html, lang: Lang) {
    h.raw("<button type=\"submit\">")
        .text(T::Submit.get(lang))
        .raw("</button></form></section>");
}

/// `POST /privacy-centre/requests` `kind` (+ `details` for a correction, `purpose` for an
/// objection, `confirm=yes` for a deletion).
pub async fn submit(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = signed.lang;
    let form = Form::parse(&body);
    if let Err(refused) = signed.check(&state, &form, &headers) {
        return refused.into_response();
    }
    let Some(kind) = form.get("kind") else {
        return failure_page(lang, Failure::Invalid, None);
    };
    let mut purposes = Vec::new();
    let details = match kind {
        "correction" => match form.get("details").map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => Some(d.to_owned()),
            None => return failure_page(lang, Failure::Invalid, None),
        },
        "objection" => match form.get("purpose") {
            Some(p) => {
                purposes.push(p.to_owned());
                None
            }
            None => return failure_page(lang, Failure::Invalid, None),
        },
        "deletion" if form.get("confirm") != Some("yes") => {
            return failure_page(lang, Failure::Invalid, None);
        }
        _ => None,
    };
    let input = RequestInput {
        kind: kind.to_owned(),
        channel: RequestChannel::PrivacyCentre,
        partners_involved: false,
        details,
        purposes,
    };
    let ctx = context(&signed, &headers);
    match state
        .vault
        .submit_request(&ctx, &signed.session.customer, input)
        .await
    {
        // Nothing is done before the customer confirms with the code sent to the email on
        // file (asked again, the open request's code is sent anew).
        Ok(view) if view.state == RequestState::Acknowledged => {
            follow_up::send_code_then_verify(&state, &signed, &headers, &view.id).await
        }
        Ok(view) => {
            let flag = if view.merged { "merged=1" } else { "sent=1" };
            see_other(&format!("{}&{flag}", paths::href(paths::REQUESTS, lang)))
        }
        Err(e) => vault_failure(lang, e),
    }
}
