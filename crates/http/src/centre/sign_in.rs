//! Signing in (by a one-time code sent to the email on file, or by password) and out. The
//! session is the customer's `css_` token in the `__Host-custodian_centre` cookie; the forms
//! are bound to a pre-session cookie (see `session`). The answer never tells whether an
//! email is a customer's.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use custodian_core::care::{Caller as Origin, CareError};
use custodian_core::identity::SignInError;
use custodian_policy::Lang;

use crate::AppState;
use crate::routes::staff::{ClientAddress, password_work};

use super::error::{Failure, api_failure, failure_page};
use super::html::Html;
use super::layout::{Page, csrf_field, field_error, invalid_attrs, render};
use super::paths;
use super::request_id;
use super::session::{
    Form, PRE_COOKIE, SESSION_COOKIE, Signed, Visitor, check_pre_session, cookie, new_pre_session,
    see_other, set_cookie,
};
use super::texts::T;

/// What the sign-in page shows above its forms.
enum Stage<'a> {
    Start {
        signed_out: bool,
    },
    /// A code was asked for this email (as the customer typed it, shown back to them only);
    /// `wrong_code` when the code typed was refused, and the form is shown again.
    CodeSent {
        email: &'a str,
        wrong_code: bool,
    },
    /// The email and password typed were refused: the password form again, the email kept.
    WrongPassword {
        email: &'a str,
    },
}

/// `GET /privacy-centre/sign-in`.
pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let signed_out = uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "signed_out=1"));
    sign_in_page(
        &state,
        visitor.lang,
        &headers,
        Stage::Start { signed_out },
        StatusCode::OK,
    )
}

fn sign_in_page(
    state: &AppState,
    lang: Lang,
    headers: &HeaderMap,
    stage: Stage<'_>,
    status: StatusCode,
) -> Response {
    // Keep the visitor's pre-session value while it lasts; otherwise start one.
    let (pre, set) = match cookie(headers, PRE_COOKIE).filter(|v| is_pre_value(v)) {
        Some(v) => (v.to_owned(), None),
        None => match new_pre_session() {
            Some((value, header)) => (value, Some(header)),
            None => return failure_page(lang, Failure::Unavailable, None),
        },
    };
    let Some(csrf) = state.centre.pre_session_token(&pre) else {
        return failure_page(lang, Failure::Unavailable, None);
    };
    let mut h = Html::new();
    h.el("<h1>", T::SignInTitle.get(lang), "</h1>");
    let password_email = match stage {
        Stage::WrongPassword { email } => Some(email),
        _ => None,
    };
    match stage {
        Stage::Start { .. } | Stage::WrongPassword { .. } => {
            let signed_out = matches!(stage, Stage::Start { signed_out: true });
            if signed_out {
                h.el(
                    "<p class=\"notice\" role=\"status\">",
                    T::SignedOut.get(lang),
                    "</p>",
                );
            }
            h.el("<p>", T::SignInIntro.get(lang), "</p>");
            h.el(
                "<section aria-labelledby=\"by-code\"><h2 id=\"by-code\">",
                T::ByCode.get(lang),
                "</h2>",
            )
            .el("<p>", T::ByCodeHelp.get(lang), "</p>");
            form(&mut h, paths::SIGN_IN_CODE, lang, &csrf);
            email_input(&mut h, lang, "code-email", None);
            h.el(
                "<button type=\"submit\">",
                T::SendCode.get(lang),
                "</button></form></section>",
            );
        }
        Stage::CodeSent { email, wrong_code } => {
            if !wrong_code {
                h.el(
                    "<p class=\"notice\" role=\"status\">",
                    T::CodeSent.get(lang),
                    "</p>",
                );
            }
            h.el(
                "<section aria-labelledby=\"by-code\"><h2 id=\"by-code\">",
                T::ByCode.get(lang),
                "</h2>",
            );
            form(&mut h, paths::SIGN_IN, lang, &csrf);
            email_input(&mut h, lang, "code-email", Some(email));
            let error = wrong_code.then(|| T::WrongSignInCode.get(lang));
            h.raw("<p><label for=\"code\">")
                .text(T::Code.get(lang))
                .raw("</label>");
            field_error(&mut h, "code-error", error);
            h.raw("<input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required maxlength=\"12\"");
            invalid_attrs(&mut h, "code-error", error);
            h.raw("></p>").el(
                "<button type=\"submit\">",
                T::SignInButton.get(lang),
                "</button></form></section>",
            );
            if wrong_code {
                // A new code, for one that expired.
                h.raw("<section aria-labelledby=\"new-code\"><h2 id=\"new-code\">")
                    .text(T::SendCode.get(lang))
                    .raw("</h2>");
                form(&mut h, paths::SIGN_IN_CODE, lang, &csrf);
                h.raw("<input type=\"hidden\" name=\"email\" value=\"")
                    .text(email)
                    .raw("\">")
                    .el(
                        "<button type=\"submit\" class=\"secondary\">",
                        T::SendCode.get(lang),
                        "</button></form></section>",
                    );
            }
        }
    }
    h.el(
        "<section aria-labelledby=\"by-password\"><h2 id=\"by-password\">",
        T::ByPassword.get(lang),
        "</h2>",
    );
    form(&mut h, paths::SIGN_IN, lang, &csrf);
    email_input(&mut h, lang, "password-email", password_email);
    let error = password_email.map(|_| T::WrongPassword.get(lang));
    h.raw("<p><label for=\"password\">")
        .text(T::Password.get(lang))
        .raw("</label>");
    field_error(&mut h, "password-error", error);
    h.raw("<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required");
    invalid_attrs(&mut h, "password-error", error);
    h.raw("></p>").el(
        "<button type=\"submit\">",
        T::SignInButton.get(lang),
        "</button></form></section>",
    );
    let page = Page {
        lang,
        title: T::SignInTitle.get(lang),
        path: paths::SIGN_IN,
        nav: None,
    };
    let mut response = render(&page, h, status);
    if let Some(set) = set {
        response.headers_mut().append(SET_COOKIE, set);
    }
    response
}

fn is_pre_value(v: &str) -> bool {
    v.len() == 48 && v.bytes().all(|b| b.is_ascii_hexdigit())
}

fn form(h: &mut Html, path: &'static str, lang: Lang, csrf: &str) {
    h.raw("<form method=\"post\" action=\"")
        .text(&paths::href(path, lang))
        .raw("\">");
    csrf_field(h, csrf);
}

fn email_input(h: &mut Html, lang: Lang, id: &'static str, value: Option<&str>) {
    h.raw("<p><label for=\"")
        .raw(id)
        .raw("\">")
        .text(T::Email.get(lang))
        .raw("</label><input id=\"")
        .raw(id)
        .raw("\" name=\"email\" type=\"email\" autocomplete=\"email\" required maxlength=\"254\"");
    if let Some(value) = value {
        h.raw(" value=\"").text(value).raw("\"");
    }
    h.raw("></p>");
}

fn origin(client: Option<std::net::IpAddr>, headers: &HeaderMap) -> Origin {
    Origin {
        client,
        request_id: request_id(headers),
    }
}

fn care_failure(lang: Lang, e: CareError) -> Response {
    match e {
        CareError::Rejected(api) => api_failure(lang, api),
        CareError::RateLimited { .. } => failure_page(lang, Failure::RateLimited, None),
        e => {
            tracing::error!(error = %e, "a centre sign-in step failed");
            failure_page(lang, Failure::Unavailable, None)
        }
    }
}

/// `POST /privacy-centre/sign-in/code` `email`: a code goes to the email if it is a
/// customer's; the page is the same either way.
pub async fn send_code(
    State(state): State<AppState>,
    visitor: Visitor,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = visitor.lang;
    let form = Form::parse(&body);
    if let Err(refused) = check_pre_session(&state, lang, &form, &headers) {
        return refused.into_response();
    }
    let Some(email) = form.get("email").filter(|e| !e.trim().is_empty()) else {
        return failure_page(lang, Failure::Invalid, None);
    };
    match state
        .care
        .request_customer_code(email, lang, &origin(client, &headers))
        .await
    {
        Ok(()) => sign_in_page(
            &state,
            lang,
            &headers,
            Stage::CodeSent {
                email,
                wrong_code: false,
            },
            StatusCode::OK,
        ),
        Err(e) => care_failure(lang, e),
    }
}

/// `POST /privacy-centre/sign-in` `email` and `code` or `password`: on success the session
/// cookie is set and the customer sees their data.
pub async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = visitor.lang;
    let form = Form::parse(&body);
    if let Err(refused) = check_pre_session(&state, lang, &form, &headers) {
        return refused.into_response();
    }
    let Some(email) = form.get("email").map(str::to_owned) else {
        return failure_page(lang, Failure::Invalid, None);
    };
    let origin = origin(client, &headers);
    let care = state.care.clone();
    let by_code = form.get("code").is_some();
    let outcome = match (form.get("code"), form.get("password")) {
        (Some(code), None) => {
            care.sign_in_customer_with_code(&email, code.trim(), &origin)
                .await
        }
        (None, Some(password)) => {
            let password = zeroize::Zeroizing::new(password.to_owned());
            let email = email.clone();
            match password_work(&state, async move {
                care.sign_in_customer_with_password(&email, &password, &origin)
                    .await
            })
            .await
            {
                Ok(outcome) => outcome,
                Err(e) => return api_failure(lang, e.0),
            }
        }
        _ => return failure_page(lang, Failure::Invalid, None),
    };
    match outcome {
        Ok(signed_in) => {
            let max_age = (signed_in.expires_at - state.clock.now()).as_secs().max(0);
            let cookies = [
                set_cookie(SESSION_COOKIE, signed_in.token.expose(), max_age),
                set_cookie(PRE_COOKIE, "", 0),
            ];
            let mut response = see_other(&paths::href(paths::DATA, lang));
            for c in cookies.into_iter().flatten() {
                response.headers_mut().append(SET_COOKIE, c);
            }
            response
        }
        Err(SignInError::RateLimited { .. }) => failure_page(lang, Failure::RateLimited, None),
        // The same form again, the error beside the field: which of email and code (or
        // password) was wrong is never said.
        Err(SignInError::InvalidCredentials) => {
            let stage = if by_code {
                Stage::CodeSent {
                    email: &email,
                    wrong_code: true,
                }
            } else {
                Stage::WrongPassword { email: &email }
            };
            sign_in_page(&state, lang, &headers, stage, StatusCode::UNAUTHORIZED)
        }
        Err(e) => match e.api_error() {
            Some(api) => api_failure(lang, api),
            None => {
                tracing::error!(error = %e, "a centre sign-in failed");
                failure_page(lang, Failure::Unavailable, None)
            }
        },
    }
}

/// `POST /privacy-centre/sign-out`: the session ends and its cookie is cleared.
pub async fn sign_out(
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
    if let Err(e) = state
        .care
        .sign_out_customer(&signed.token, request_id(&headers))
        .await
    {
        return care_failure(lang, e);
    }
    let mut response = see_other(&format!(
        "{}&signed_out=1",
        paths::href(paths::SIGN_IN, lang)
    ));
    if let Some(clear) = set_cookie(SESSION_COOKIE, "", 0) {
        response.headers_mut().append(SET_COOKIE, clear);
    }
    response
}
