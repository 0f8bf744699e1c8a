//! The privacy centre (P1; issue 7 §4): the customer's own pages, server-rendered in
//! Vietnamese and English, with no script. Handlers are thin: they call the core's use cases
//! (as the JSON routes do) and hand the results to a page module.
//!
//! - `session`: the cookie session, the language, CSRF tokens and forms;
//! - `layout`, `html`, `texts`: the page shell, the escaping builder, every word;
//! - `error`: every failure as a page;
//! - one module per page: `sign_in`, `data`, `choices`, `ledger`, `requests` (whose
//!   `request_row` is the one place a request is shown, with its actions), `orders`;
//! - `follow_up`: what follows a request — the code that verifies it, then its result (the
//!   data to download, the deletion's report) — and later downloads.
//!
//! Every response under `/privacy-centre` carries a strict Content-Security-Policy (only the
//! centre's own stylesheet), `Cache-Control: no-store`, `Referrer-Policy: no-referrer` and
//! `X-Content-Type-Options: nosniff`. The JSON API never reads the session cookie (bearer
//! tokens only), so the cookie cannot be used to call it across sites.

mod choices;
mod data;
mod error;
mod follow_up;
mod html;
mod layout;
mod ledger;
mod orders;
mod requests;
mod session;
mod sign_in;
mod texts;

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use custodian_core::error::ErrorCode;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::route_list::Routes;

pub use session::CentreKey;

/// The centre's paths, and links to them in a language.
pub mod paths {
    use custodian_policy::Lang;

    pub const DATA: &str = "/privacy-centre";
    pub const STYLE: &str = "/privacy-centre/style.css";
    pub const SIGN_IN: &str = "/privacy-centre/sign-in";
    pub const SIGN_IN_CODE: &str = "/privacy-centre/sign-in/code";
    pub const SIGN_OUT: &str = "/privacy-centre/sign-out";
    pub const CHOICES: &str = "/privacy-centre/choices";
    pub const RECIPIENTS: &str = "/privacy-centre/recipients";
    pub const REQUESTS: &str = "/privacy-centre/requests";
    pub const ORDERS: &str = "/privacy-centre/orders";
    pub const REQUEST_VERIFY: &str = "/privacy-centre/requests/verify";
    pub const REQUEST_CODE: &str = "/privacy-centre/requests/code";
    pub const REQUEST_DOWNLOAD: &str = "/privacy-centre/requests/download";
    /// `…/exports/{token}`: a single-use download.
    pub const EXPORTS: &str = "/privacy-centre/exports";

    /// `path?lang=xx`: the language travels in every link and form (no cookie needed).
    pub fn href(path: &str, lang: Lang) -> String {
        format!("{path}?lang={}", lang.tag())
    }
}

/// The Content-Security-Policy of every centre page: nothing loads but the centre's own
/// stylesheet, forms post only here, no framing, no script at all.
pub const CENTRE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                              form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE_CSS: &str = include_str!("../../assets/centre.css");

/// The headers of every response under `/privacy-centre`.
const CENTRE_HEADERS: [(HeaderName, &str); 4] = [
    (CONTENT_SECURITY_POLICY, CENTRE_CSP),
    (CACHE_CONTROL, "no-store"),
    (REFERRER_POLICY, "no-referrer"),
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// The centre's routes, each answered with the centre's headers.
pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route(paths::DATA, get(data::page))
        .route(paths::STYLE, get(style))
        .route(paths::SIGN_IN, get(sign_in::page).post(sign_in::submit))
        .route(paths::SIGN_IN_CODE, post(sign_in::send_code))
        .route(paths::SIGN_OUT, post(sign_in::sign_out))
        .route(paths::CHOICES, get(choices::page).post(choices::change))
        .route(paths::RECIPIENTS, get(ledger::page))
        .route(paths::REQUESTS, get(requests::page).post(requests::submit))
        .route(paths::ORDERS, get(orders::page))
        .route(
            paths::REQUEST_VERIFY,
            get(follow_up::verify_page).post(follow_up::verify),
        )
        .route(paths::REQUEST_CODE, post(follow_up::resend))
        .route(paths::REQUEST_DOWNLOAD, post(follow_up::download))
        .route("/privacy-centre/exports/{token}", get(follow_up::export))
        .route("/privacy-centre/{*rest}", any(not_found))
        .map(|router| {
            CENTRE_HEADERS.iter().fold(router, |router, (name, value)| {
                router.layer(SetResponseHeaderLayer::overriding(
                    name.clone(),
                    HeaderValue::from_static(value),
                ))
            })
        })
}

/// The page refusing card data (the guard's answer under `/privacy-centre`, given before
/// any route is reached): in the visitor's language, with the centre's headers.
pub fn card_data_page(uri: &Uri, headers: &HeaderMap) -> Response {
    let lang = session::lang_of(uri.query(), headers);
    let mut response = error::failure_page(
        lang,
        error::Failure::Invalid,
        Some(ErrorCode::CardDataRefused),
    );
    for (name, value) in &CENTRE_HEADERS {
        response
            .headers_mut()
            .insert(name.clone(), HeaderValue::from_static(value));
    }
    response
}

/// Any other path under the centre: a page, not the API's JSON.
async fn not_found(visitor: session::Visitor) -> axum::response::Response {
    error::failure_page(visitor.lang, error::Failure::NotFound, None)
}

/// `GET /privacy-centre/style.css`: the one stylesheet, embedded in the binary.
async fn style() -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        )],
        STYLE_CSS,
    )
}

/// The request id the layers set, for the audit log.
fn request_id(headers: &axum::http::HeaderMap) -> Option<String> {
    crate::routes::customers::request_id(headers)
}
