//! What a shop's pages load from Custodian: the consent banner script, the Global Privacy
//! Control statement, and the CORS rule that lets the banner call the consent API from the
//! shop's own origin.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, ORIGIN, VARY};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::AppState;

/// The banner script, embedded in the binary: the shop serves nothing of its own.
pub const CONSENT_JS: &str = include_str!("../../assets/consent.js");

/// Shops cache the script for five minutes: a new release reaches every page that soon.
const SCRIPT_CACHE: &str = "public, max-age=300";

/// A strong validator: the script's SHA-256, so a revalidation costs a 304 and no body.
static SCRIPT_ETAG: LazyLock<HeaderValue> = LazyLock::new(|| {
    let digest = Sha256::digest(CONSENT_JS.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    // INVARIANT: hex digits inside quotes are always a valid header value.
    HeaderValue::from_str(&format!("\"{hex}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
});

/// `GET /consent.js`.
pub async fn consent_js(headers: HeaderMap) -> Response {
    let etag = SCRIPT_ETAG.clone();
    let ours = etag.to_str().unwrap_or_default();
    let cached = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == ours)
        });
    let common = [
        (CACHE_CONTROL, HeaderValue::from_static(SCRIPT_CACHE)),
        (ETAG, etag),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("application/javascript; charset=utf-8"),
        )],
        CONSENT_JS,
    )
        .into_response()
}

/// `GET /.well-known/gpc.json`: this site honours Global Privacy Control, as of the notice's
/// effective date.
pub async fn gpc_json(State(state): State<AppState>) -> Response {
    let body = json!({
        "gpc": true,
        "lastUpdate": state.policy.notice.effective.to_string(),
    });
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (CACHE_CONTROL, HeaderValue::from_static(SCRIPT_CACHE)),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The API paths the banner calls from the shop's pages: `/v1/choices` and
/// `/v1/account/consents` with everything under it.
fn called_by_the_banner(path: &str) -> bool {
    path == "/v1/choices"
        || path == "/v1/account/consents"
        || path.starts_with("/v1/account/consents/")
}

/// The CORS rule of the storefront: the configured shop origins (exact matches) may call the
/// banner's API paths with GET and POST, sending `Authorization` and `Content-Type`; no
/// cookies or other credentials. Any other origin, and any other path, gets no CORS header.
#[derive(Debug, Clone)]
pub struct StorefrontCors {
    origins: Arc<[HeaderValue]>,
    layer: CorsLayer,
}

impl StorefrontCors {
    /// From `storefront.origins`; an origin that is not a valid header value is skipped (the
    /// binary validates them before it gets here).
    pub fn new(origins: &[String]) -> StorefrontCors {
        let origins: Arc<[HeaderValue]> = origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        let layer = CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                axum::http::header::AUTHORIZATION,
                axum::http::header::CONTENT_TYPE,
            ])
            .max_age(Duration::from_secs(600));
        StorefrontCors { origins, layer }
    }

    fn allows(&self, request: &Request) -> bool {
        called_by_the_banner(request.uri().path())
            && request
                .headers()
                .get(ORIGIN)
                .is_some_and(|origin| self.origins.iter().any(|o| o == origin))
    }
}

/// The middleware applying [`StorefrontCors`]; preflight requests from an allowed origin are
/// answered here, before routing.
/// On the banner's paths every response varies by `Origin` (`/v1/choices` is cacheable: a copy
/// made for one origin must not serve another).
pub async fn cors(State(rule): State<StorefrontCors>, request: Request, next: Next) -> Response {
    let banner_path = called_by_the_banner(request.uri().path());
    let mut response = if rule.allows(&request) {
        match rule.layer.layer(next).oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    } else {
        next.run(request).await
    };
    let varies = response.headers().get_all(VARY).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|h| h.trim().eq_ignore_ascii_case("origin"))
        })
    });
    if banner_path && !varies {
        response
            .headers_mut()
            .append(VARY, HeaderValue::from_static("origin"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_banners_paths_are_cross_origin() {
        for path in [
            "/v1/choices",
            "/v1/account/consents",
            "/v1/account/consents/history",
            "/v1/account/consents/receipts/cnr_1",
        ] {
            assert!(called_by_the_banner(path), "{path}");
        }
        for path in [
            "/v1/customers",
            "/v1/account/consentsx",
            "/v1/account/password",
            "/v1/choicesx",
            "/privacy",
        ] {
            assert!(!called_by_the_banner(path), "{path}");
        }
    }
}
