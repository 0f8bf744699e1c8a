//! Every failure as a page: a stable, human message in the visitor's language and the
//! error's stable code, never the input, never personal data (P1, P17).

use axum::http::StatusCode;
use axum::response::Response;
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::vault::VaultError;
use custodian_policy::Lang;

use crate::error::HttpError;

use super::html::Html;
use super::layout::{Page, render};
use super::paths;
use super::texts::T;

/// What went wrong, as the customer is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A missing or wrong CSRF token, or a request from another site.
    Forbidden,
    Invalid,
    SignIn,
    RateLimited,
    NotFound,
    Conflict,
    Unavailable,
}

impl Failure {
    fn status(self) -> StatusCode {
        match self {
            Failure::Forbidden => StatusCode::FORBIDDEN,
            Failure::Invalid => StatusCode::BAD_REQUEST,
            Failure::SignIn => StatusCode::UNAUTHORIZED,
            Failure::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Failure::NotFound => StatusCode::NOT_FOUND,
            Failure::Conflict => StatusCode::CONFLICT,
            Failure::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn message(self) -> T {
        match self {
            Failure::Forbidden => T::ErrorForbidden,
            Failure::Invalid => T::ErrorInvalid,
            Failure::SignIn => T::ErrorSignIn,
            Failure::RateLimited => T::ErrorRateLimited,
            Failure::NotFound => T::ErrorNotFound,
            Failure::Conflict => T::ErrorConflict,
            Failure::Unavailable => T::ErrorUnavailable,
        }
    }

    /// The failure an API error stands for.
    pub fn of(error: &ApiError) -> Failure {
        match error.code.http_status() {
            401 => Failure::SignIn,
            403 => Failure::Forbidden,
            404 => Failure::NotFound,
            409 | 412 => Failure::Conflict,
            429 => Failure::RateLimited,
            s if s >= 500 => Failure::Unavailable,
            _ => Failure::Invalid,
        }
    }
}

/// The page for `failure`, with the stable `code` when there is one.
pub fn failure_page(lang: Lang, failure: Failure, code: Option<ErrorCode>) -> Response {
    let mut body = Html::new();
    body.el("<h1>", T::ErrorTitle.get(lang), "</h1>")
        .raw("<p class=\"error\" role=\"alert\">")
        .text(failure.message().get(lang))
        .raw("</p>");
    if let Some(code) = code {
        body.raw("<p>")
            .text(T::ErrorCode.get(lang))
            .raw(": <code>")
            .text(code.as_str())
            .raw("</code></p>");
    }
    body.raw("<p><a href=\"")
        .text(&paths::href(paths::DATA, lang))
        .raw("\">")
        .text(T::BackToCentre.get(lang))
        .raw("</a></p>");
    let page = Page {
        lang,
        title: T::ErrorTitle.get(lang),
        path: paths::DATA,
        nav: None,
    };
    render(&page, body, failure.status())
}

/// The page for an error of the core.
pub fn api_failure(lang: Lang, error: ApiError) -> Response {
    failure_page(lang, Failure::of(&error), Some(error.code))
}

/// The page for a vault error (storage and crypto failures are logged without detail, as
/// the API does).
pub fn vault_failure(lang: Lang, error: VaultError) -> Response {
    api_failure(lang, HttpError::from(error).0)
}
