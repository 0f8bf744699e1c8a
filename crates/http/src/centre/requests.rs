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
use super::layout::{Page, cell, cell_open, field_error, form_open, invalid_attrs, moment, render};
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

/// One request as a table row: kind, status, received, due, days left (while it is open),
/// reason, and what the customer can do next (enter the code; download a completed copy).
/// Each cell carries its column's label, which a narrow screen shows before the value.
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
        );
    cell(h, T::Status.get(lang), request.state.label(lang));
    cell(h, T::Received.get(lang), &moment(request.received_at));
    cell(h, T::DueDate.get(lang), &request.complete_by.to_string());
    cell_open(h, T::DaysLeft.get(lang));
    if matches!(
        request.state,
        RequestState::Completed | RequestState::Rejected
    ) {
        // Done: no day is left to count.
        h.raw("<span aria-hidden=\"true\">—</span><span class=\"visually-hidden\">")
            .text(T::NotApplicable.get(lang))
            .raw("</span>");
    } else {
        h.text(&request.days_left.to_string());
        if request.overdue {
            h.raw(" <strong>(")
                .text(T::Overdue.get(lang))
                .raw(")</strong>");
        }
    }
    h.raw("</td>");
    let reason = request.reason.as_deref().unwrap_or("");
    if reason.is_empty() {
        h.raw("<td class=\"empty\"></td>");
    } else {
        cell(h, T::Reason.get(lang), reason);
    }
    let copy = matches!(request.kind.as_str(), "access" | "portability");
    match request.state {
        RequestState::Acknowledged => {
            cell_open(h, T::Action.get(lang));
            h.raw("<a href=\"")
                .text(&follow_up::verify_href(&request.id, lang))
                .raw("\">")
                .text(T::ConfirmAction.get(lang))
                .raw("</a></td>");
        }
        RequestState::Completed if copy => {
            cell_open(h, T::Action.get(lang));
            follow_up::download_form(h, &request.id, lang, csrf);
            h.raw("</td>");
        }
        _ => {
            h.raw("<td class=\"empty\"></td>");
        }
    }
    h.raw("</tr>");
}

/// A request form refused before anything was sent: which form, and why (shown beside its
/// field, the page answered with 400).
#[derive(Debug, Clone, Copy)]
struct Refused {
    kind: RightKind,
    message: T,
}

/// `GET /privacy-centre/requests`.
pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    requests_page(
        &state,
        &signed,
        &headers,
        uri.query().unwrap_or_default(),
        None,
    )
    .await
}

/// The page, with the notice a query flag names, or with a refused form.
async fn requests_page(
    state: &AppState,
    signed: &Signed,
    headers: &HeaderMap,
    query: &str,
    refused: Option<Refused>,
) -> Response {
    let lang = signed.lang;
    let ctx = context(signed, headers);
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
    if let Some(refused) = refused {
        // Said at the top too, with a link to the field.
        h.raw("<p class=\"error\" role=\"alert\"><a href=\"#")
            .raw(field_id(refused.kind))
            .raw("\">")
            .text(refused.message.get(lang))
            .raw("</a></p>");
    } else if query.split('&').any(|p| p == "sent=1") {
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
    forms(&mut h, policy, lang, &signed.csrf, refused);
    let page = Page {
        lang,
        title: T::RequestsTitle.get(lang),
        path: paths::REQUESTS,
        nav: Some(&signed.csrf),
    };
    let status = if refused.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(&page, h, status)
}

/// One form per right (no bundling), each with its own explanation; a refused form shows
/// its error beside its field.
fn forms(h: &mut Html, policy: &Policy, lang: Lang, csrf: &str, refused: Option<Refused>) {
    let error_for = |kind: RightKind| {
        refused
            .filter(|r| r.kind == kind)
            .map(|r| r.message.get(lang))
    };
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
    let error = error_for(RightKind::Correction);
    h.raw("<p><label for=\"details-correction\">")
        .text(T::CorrectionWhat.get(lang))
        .raw("</label>");
    field_error(h, "details-correction-error", error);
    h.raw("<textarea id=\"details-correction\" name=\"details\" rows=\"3\" required maxlength=\"2000\"");
    invalid_attrs(h, "details-correction-error", error);
    h.raw("></textarea></p>");
    close(h, lang);
    open(h, RightKind::Objection, T::AskObjection, lang, csrf);
    let error = error_for(RightKind::Objection);
    h.raw("<p><label for=\"objection-purpose\">")
        .text(T::ObjectionPurpose.get(lang))
        .raw("</label>");
    field_error(h, "objection-purpose-error", error);
    h.raw("<select id=\"objection-purpose\" name=\"purpose\" required");
    invalid_attrs(h, "objection-purpose-error", error);
    // No purpose is chosen for the customer: the empty placeholder comes first, selected.
    h.raw("><option value=\"\" selected>")
        .text(T::ObjectionChoose.get(lang))
        .raw("</option>");
    for purpose in objectionable(policy) {
        h.raw("<option value=\"")
            .text(purpose.id.as_str())
            .raw("\">")
            .text(purpose.label.get(lang))
            .raw("</option>");
    }
    h.raw("</select></p>");
    close(h, lang);
    open(h, RightKind::Deletion, T::AskDeletion, lang, csrf);
    let error = error_for(RightKind::Deletion);
    h.raw("<p class=\"warning\" id=\"deletion-warning\">")
        .text(T::DeletionWarning.get(lang))
        .raw("</p>");
    field_error(h, "deletion-confirm-error", error);
    h.raw("<p class=\"check\"><input type=\"checkbox\" id=\"deletion-confirm\" name=\"confirm\" value=\"yes\" required");
    if error.is_some() {
        h.raw(" aria-invalid=\"true\" aria-describedby=\"deletion-confirm-error deletion-warning\" autofocus");
    } else {
        h.raw(" aria-describedby=\"deletion-warning\"");
    }
    h.raw("><label for=\"deletion-confirm\">")
        .text(T::DeletionConfirm.get(lang))
        .raw("</label></p>");
    close(h, lang);
}

/// The purposes a customer may object to: legitimate interest or consent.
fn objectionable(policy: &Policy) -> impl Iterator<Item = &custodian_policy::Purpose> {
    policy.purposes.iter().filter(|p| {
        matches!(
            p.legal_basis,
            LegalBasis::LegitimateInterest | LegalBasis::Consent
        )
    })
}

/// The id of the field a refused form of `kind` is about.
fn field_id(kind: RightKind) -> &'static str {
    match kind {
        RightKind::Correction => "details-correction",
        RightKind::Objection => "objection-purpose",
        RightKind::Deletion => "deletion-confirm",
        _ => "main",
    }
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
    let refuse = |kind: RightKind, message: T| Refused { kind, message };
    let mut purposes = Vec::new();
    let refused = match kind {
        "correction" => match form.get("details").map(str::trim).filter(|d| !d.is_empty()) {
            Some(_) => None,
            None => Some(refuse(RightKind::Correction, T::CorrectionMissing)),
        },
        // The placeholder (or nothing) is no choice; a purpose one cannot object to is
        // refused by the vault.
        "objection" => match form.get("purpose").map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => {
                purposes.push(p.to_owned());
                None
            }
            None => Some(refuse(RightKind::Objection, T::ObjectionPurposeMissing)),
        },
        "deletion" if form.get("confirm") != Some("yes") => {
            Some(refuse(RightKind::Deletion, T::DeletionNotConfirmed))
        }
        _ => None,
    };
    if let Some(refused) = refused {
        return requests_page(&state, &signed, &headers, "", Some(refused)).await;
    }
    let details = match kind {
        "correction" => form.get("details").map(|d| d.trim().to_owned()),
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
