//! The one guard where all input enters (P6, PCI DSS 3.3.1): every request's path, query
//! string, headers and body — JSON, form-encoded or anything else — is searched for card data before
//! any handler sees it, and a request holding a full card number or a card security code is
//! refused whole with `card_data_refused`, naming where it was found, never what. The body is
//! then dropped: never parsed into its shape, stored, audited or logged.
//!
//! It is a layer over the whole router, so no route can forget it; a route that must accept
//! digits freely would have to be named in [`DIGITS_FREE_ROUTES`].

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use custodian_core::card::{self, CardData};
use custodian_core::error::{ApiError, ErrorCode};
use serde_json::Value;

use crate::centre;
use crate::error::HttpError;

/// Routes (as matched, e.g. `/v1/things/{id}`) whose input may hold any digits. None does
/// today; adding one is a decision to be reviewed, with its reason beside it.
const DIGITS_FREE_ROUTES: [&str; 0] = [];

/// Refuses a request holding card data before it goes further.
pub async fn refuse_card_data(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>();
    if route.is_some_and(|r| DIGITS_FREE_ROUTES.contains(&r.as_str())) {
        return next.run(request).await;
    }
    if let Some(found) = in_uri(request.uri()).or_else(|| in_headers(request.headers())) {
        return refusal(request.uri(), request.headers(), &found);
    }
    let (parts, body) = request.into_parts();
    // The body limit is a layer outside this one: reading stops at it.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => return too_large_or_unreadable(&error),
    };
    if let Some(found) = in_body(&parts.headers, &bytes) {
        return refusal(&parts.uri, &parts.headers, &found);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Card data in the path (percent-decoded) or the query string (as name–value pairs).
fn in_uri(uri: &Uri) -> Option<CardData> {
    let path: String = form_urlencoded::parse(uri.path().as_bytes())
        .flat_map(|(name, value)| [name, value])
        .collect::<Vec<_>>()
        .join(" ");
    card::find_in_text("$path", &path).or_else(|| in_form("$query", uri.query()?.as_bytes()))
}

/// Card data in `application/x-www-form-urlencoded` text (a query string, a form body), by
/// each field's name and value, percent-decoded.
fn in_form(place: &str, encoded: &[u8]) -> Option<CardData> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(encoded).into_owned().collect();
    card::find_in_pairs(place, pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

/// Card data in a body, read every way a handler may read it: JSON by its structure (so
/// escapes are read as what they stand for) when it says it is JSON or says nothing; a form's
/// fields by name and value (percent-decoded) and the raw text otherwise, whatever the
/// `Content-Type` says — the privacy centre's handlers read a form without asking.
fn in_body(headers: &HeaderMap, bytes: &Bytes) -> Option<CardData> {
    if bytes.is_empty() {
        return None;
    }
    let essence = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let as_form = || in_form("$form", bytes);
    let as_text = || card::find_in_text("$body", &String::from_utf8_lossy(bytes));
    let json = match essence.as_deref() {
        Some("application/x-www-form-urlencoded") => None,
        Some(t) if t != "application/json" && !t.ends_with("+json") => None,
        _ => serde_json::from_slice::<Value>(bytes).ok(),
    };
    match json {
        // JSON is read as JSON only: the API's handlers take nothing else, and a form read
        // into it would lose the `+` of phone numbers.
        Some(json) if essence.is_some() => card::find_in_json(&json),
        Some(json) => card::find_in_json(&json).or_else(as_form).or_else(as_text),
        None => as_form().or_else(as_text),
    }
}

/// Card data in a header a handler keeps (a consent's evidence keeps the `User-Agent`).
/// Credentials are compared, never kept; the request id is checked where it is read.
fn in_headers(headers: &HeaderMap) -> Option<CardData> {
    headers
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "authorization" | "cookie" | "x-request-id" | "custodian-signature"
            )
        })
        .find_map(|(_, value)| {
            // A header's name is the client's too: the place says only that it was a header.
            card::find_in_text("$header.<key>", &String::from_utf8_lossy(value.as_bytes()))
        })
}

/// The refusal: the privacy centre's page under `/privacy-centre`, the API's JSON elsewhere.
fn refusal(uri: &Uri, headers: &HeaderMap, found: &CardData) -> Response {
    if uri.path().starts_with("/privacy-centre") {
        return centre::card_data_page(uri, headers);
    }
    HttpError(
        ApiError::new(
            ErrorCode::CardDataRefused,
            "a full card number or a card security code is never accepted: send the \
             payment processor's token, the card's brand, last 4 digits and expiry",
        )
        .with_field(found.at()),
    )
    .into_response()
}

fn too_large_or_unreadable(error: &axum::Error) -> Response {
    let too_large = std::iter::successors(Some(error as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    })
    .any(|e| e.is::<http_body_util::LengthLimitError>());
    HttpError(ApiError::for_status(if too_large { 413 } else { 400 })).into_response()
}
