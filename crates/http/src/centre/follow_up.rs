//! What follows a request in the privacy centre: the one-time code that proves the customer
//! asked (sent to the email on file when they ask), then what the request did — their data to
//! download, the deletion's report (and the end of their session), a limit applied — and, for
//! a completed copy of their data, a fresh download later.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use custodian_core::error::ErrorCode;
use custodian_core::ids::RequestId;
use custodian_core::rights::erasure::{ErasureReport, NoticeStatus};
use custodian_core::vault::{ExportLink, Fulfilment, RequestContext};
use custodian_policy::Lang;

use crate::AppState;
use crate::auth::care_error;

use super::error::{Failure, api_failure, failure_page, vault_failure};
use super::html::Html;
use super::layout::{
    Page, cell, csrf_field, field_error, form_open, invalid_attrs, moment, render,
};
use super::paths;
use super::request_id;
use super::session::{Form, SESSION_COOKIE, Signed, see_other, set_cookie};
use super::texts::T;

fn context(signed: &Signed, headers: &HeaderMap) -> RequestContext {
    RequestContext {
        principal: signed.session.principal.clone(),
        purpose: String::new(),
        request_id: request_id(headers),
    }
}

/// The page where the customer enters the code for `request`.
pub fn verify_href(request: &RequestId, lang: Lang) -> String {
    format!(
        "{}&request={request}",
        paths::href(paths::REQUEST_VERIFY, lang)
    )
}

fn query_value<'a>(uri: &'a Uri, name: &str) -> Option<&'a str> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Sends the code that verifies `request` to the email on file, then shows where to enter it.
pub async fn send_code_then_verify(
    state: &AppState,
    signed: &Signed,
    headers: &HeaderMap,
    request: &RequestId,
) -> Response {
    let ctx = context(signed, headers);
    match state
        .care
        .send_request_code(&ctx, request, signed.lang)
        .await
    {
        Ok(_) => see_other(&format!("{}&sent=1", verify_href(request, signed.lang))),
        Err(e) => api_failure(signed.lang, care_error(e).0),
    }
}

/// `GET /privacy-centre/requests/verify?request=…`: the code form.
pub async fn verify_page(signed: Signed, uri: Uri) -> Response {
    let lang = signed.lang;
    let Some(request) = query_value(&uri, "request").and_then(RequestId::parse) else {
        return failure_page(lang, Failure::NotFound, None);
    };
    let sent = query_value(&uri, "sent") == Some("1");
    verify_form(&signed, &request, sent, None)
}

/// The code form for `request`; `refused` is why the code read back was refused (the form
/// shown again, answered with the error's status, its message beside the field).
fn verify_form(
    signed: &Signed,
    request: &RequestId,
    sent: bool,
    refused: Option<ErrorCode>,
) -> Response {
    let lang = signed.lang;
    let error = refused.map(|code| match code {
        ErrorCode::InvalidCode => T::WrongRequestCode.get(lang),
        _ => T::RequestCodeExpired.get(lang),
    });
    let mut h = Html::new();
    h.el("<h1>", T::VerifyTitle.get(lang), "</h1>");
    if sent && refused.is_none() {
        h.el(
            "<p class=\"notice\" role=\"status\">",
            T::RequestCodeSent.get(lang),
            "</p>",
        );
    }
    h.el("<p>", T::VerifyIntro.get(lang), "</p>");
    form_open(&mut h, paths::REQUEST_VERIFY, lang, &signed.csrf);
    h.raw("<input type=\"hidden\" name=\"request\" value=\"")
        .text(request.as_str())
        .raw("\"><p><label for=\"request-code\">")
        .text(T::Code.get(lang))
        .raw("</label>");
    field_error(&mut h, "request-code-error", error);
    h.raw("<input id=\"request-code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]{6}\" maxlength=\"6\" required");
    invalid_attrs(&mut h, "request-code-error", error);
    if let Some(code) = refused {
        // The stable code, for support and tests; not shown.
        h.raw(" data-error=\"").text(code.as_str()).raw("\"");
    }
    h.raw("></p><button type=\"submit\">")
        .text(T::VerifyButton.get(lang))
        .raw("</button></form>");
    form_open(&mut h, paths::REQUEST_CODE, lang, &signed.csrf);
    h.raw("<input type=\"hidden\" name=\"request\" value=\"")
        .text(request.as_str())
        .raw("\"><button type=\"submit\" class=\"secondary\">")
        .text(T::ResendCode.get(lang))
        .raw("</button></form>");
    let page = Page {
        lang,
        title: T::VerifyTitle.get(lang),
        path: paths::REQUESTS,
        nav: Some(&signed.csrf),
    };
    let status = refused.map_or(StatusCode::OK, |code| {
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
    });
    render(&page, h, status)
}

/// The request a form names, once its CSRF token is checked.
fn form_request(
    state: &AppState,
    signed: &Signed,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Form, RequestId), Box<Response>> {
    let form = Form::parse(body);
    signed
        .check(state, &form, headers)
        .map_err(|refused| Box::new(refused.into_response()))?;
    let request = form
        .get("request")
        .and_then(RequestId::parse)
        .ok_or_else(|| Box::new(failure_page(signed.lang, Failure::NotFound, None)))?;
    Ok((form, request))
}

/// `POST /privacy-centre/requests/code`: a new code.
pub async fn resend(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match form_request(&state, &signed, &headers, &body) {
        Ok((_, request)) => send_code_then_verify(&state, &signed, &headers, &request).await,
        Err(refused) => *refused,
    }
}

/// `POST /privacy-centre/requests/verify`: the code read back. What the request did is shown
/// at once: the customer's data to download, the deletion's report, or the list of requests.
pub async fn verify(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = signed.lang;
    let (form, request) = match form_request(&state, &signed, &headers, &body) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let ctx = context(&signed, &headers);
    let code = form.get("code").unwrap_or_default();
    let verified = match state.care.verify_request_code(&ctx, &request, code).await {
        Ok(v) => v,
        Err(e) => {
            let api = care_error(e).0;
            return match api.code {
                ErrorCode::InvalidCode | ErrorCode::CodeExpired => {
                    verify_form(&signed, &request, false, Some(api.code))
                }
                _ => api_failure(lang, api),
            };
        }
    };
    let requests = paths::href(paths::REQUESTS, lang);
    match verified.fulfilment {
        Some(Fulfilment {
            erasure: Some(report),
            ..
        }) => erased_page(lang, &report),
        Some(Fulfilment {
            export: Some(link), ..
        }) => ready_page(&signed, &link),
        Some(_) => see_other(&format!("{requests}&done=1")),
        // A correction: staff make it, then complete the request.
        None => see_other(&format!("{requests}&verified=1")),
    }
}

/// Where a link is downloaded in the centre (signed in, once).
fn download_href(link: &ExportLink, lang: Lang) -> String {
    paths::href(&format!("{}/{}", paths::EXPORTS, link.token.expose()), lang)
}

/// "Your copy is ready", with the single-use download link.
fn ready_page(signed: &Signed, link: &ExportLink) -> Response {
    let lang = signed.lang;
    let mut h = Html::new();
    h.el("<h1>", T::ExportReadyTitle.get(lang), "</h1>")
        .el("<p>", T::ExportReadyIntro.get(lang), "</p>")
        .raw("<p><a class=\"button\" id=\"download\" download href=\"")
        .text(&download_href(link, lang))
        .raw("\">")
        .text(T::Download.get(lang))
        .raw("</a></p><p>")
        .text(T::LinkExpires.get(lang))
        .raw(" ")
        .text(&moment(link.expires_at))
        .raw("</p>");
    let page = Page {
        lang,
        title: T::ExportReadyTitle.get(lang),
        path: paths::REQUESTS,
        nav: Some(&signed.csrf),
    };
    render(&page, h, StatusCode::OK)
}

/// The deletion's completion report: removed, kept by law (why, until when), partners told.
/// The customer no longer exists: the page has no navigation, and the cookie is cleared.
fn erased_page(lang: Lang, report: &ErasureReport) -> Response {
    let mut h = Html::new();
    h.el("<h1>", T::ErasedTitle.get(lang), "</h1>")
        .el("<p>", T::ErasedIntro.get(lang), "</p>")
        .el("<h2>", T::Removed.get(lang), "</h2>")
        .raw("<ul id=\"removed\">");
    for c in &report.removed {
        h.raw("<li data-category=\"")
            .text(&c.category)
            .raw("\">")
            .text(label(&c.label, lang))
            .raw("</li>");
    }
    h.raw("</ul>");
    if !report.retained.is_empty() {
        h.el("<h2>", T::Retained.get(lang), "</h2>")
            .raw("<table id=\"retained\"><thead><tr>")
            .el("<th scope=\"col\">", T::Kind.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Why.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Until.get(lang), "</th>")
            .raw("</tr></thead><tbody>");
        for c in &report.retained {
            h.raw("<tr data-category=\"")
                .text(&c.category)
                .raw("\">")
                .el("<th scope=\"row\">", label(&c.label, lang), "</th>");
            cell(&mut h, T::Why.get(lang), label(&c.basis, lang));
            cell(
                &mut h,
                T::Until.get(lang),
                &c.until.strftime("%Y-%m-%d").to_string(),
            );
            h.raw("</tr>");
        }
        h.raw("</tbody></table>");
    }
    if !report.partners.is_empty() {
        h.el("<h2>", T::PartnersTold.get(lang), "</h2>")
            .raw("<ul id=\"partners\">");
        for p in &report.partners {
            let status = match p.status {
                NoticeStatus::Notified => T::NoticeQueued,
                NoticeStatus::Delivered => T::NoticeDelivered,
                NoticeStatus::Confirmed => T::NoticeConfirmed,
            };
            h.raw("<li>")
                .text(&p.partner)
                .raw(": ")
                .text(status.get(lang))
                .raw("</li>");
        }
        h.raw("</ul>");
    }
    h.raw("<p><a href=\"")
        .text(&paths::href(paths::SIGN_IN, lang))
        .raw("\">")
        .text(T::BackToCentre.get(lang))
        .raw("</a></p>");
    let page = Page {
        lang,
        title: T::ErasedTitle.get(lang),
        path: paths::SIGN_IN,
        nav: None,
    };
    let mut response = render(&page, h, StatusCode::OK);
    if let Some(clear) = set_cookie(SESSION_COOKIE, "", 0) {
        response.headers_mut().append(SET_COOKIE, clear);
    }
    response
}

fn label(text: &custodian_core::rights::erasure::Label, lang: Lang) -> &str {
    match lang {
        Lang::Vi => &text.vi,
        Lang::En => &text.en,
    }
}

/// The form that downloads a fresh copy for a completed request (a row's action).
pub fn download_form(h: &mut Html, request: &RequestId, lang: Lang, csrf: &str) {
    h.raw("<form method=\"post\" action=\"")
        .text(&paths::href(paths::REQUEST_DOWNLOAD, lang))
        .raw("\">");
    csrf_field(h, csrf);
    h.raw("<input type=\"hidden\" name=\"request\" value=\"")
        .text(request.as_str())
        .raw("\"><button type=\"submit\">")
        .text(T::Download.get(lang))
        .raw("</button></form>");
}

/// `POST /privacy-centre/requests/download`: a new single-use link for a completed copy,
/// followed at once.
pub async fn download(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (_, request) = match form_request(&state, &signed, &headers, &body) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let ctx = context(&signed, &headers);
    match state
        .vault
        .issue_export_link(&ctx, &signed.session.customer, Some(&request))
        .await
    {
        Ok(link) => see_other(&download_href(&link, signed.lang)),
        Err(e) => vault_failure(signed.lang, e),
    }
}

/// `GET /privacy-centre/exports/{token}`: the ZIP, once, for the customer signed in.
pub async fn export(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let ctx = context(&signed, &headers);
    match crate::routes::exports::stream_export(&state, ctx, &token, signed.lang).await {
        Ok(response) => response,
        Err(e) => api_failure(signed.lang, e.0),
    }
}
