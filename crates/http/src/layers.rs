//! The middleware stack every request passes through.

use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{self, HeaderName};
use axum::http::{HeaderValue, Response, StatusCode};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use custodian_core::error::{ApiError, ErrorCode};
use sha2::{Digest, Sha256};
use tower::ServiceBuilder;
use tower_http::ServiceBuilderExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::MakeRequestUuid;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::HttpConfig;
use crate::error::{HttpError, json_error_bodies, panic_response};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps `app` in every layer, outermost first: request id (a client's own only if it is
/// safe to log), trace, id propagation, security
/// headers, JSON error bodies, the head check (`refuse_unsupported_head`), panic catching,
/// timeout, body limit, and innermost the card guard (`guard.rs`), which reads the body
/// within the limit.
pub fn apply(app: Router, config: &HttpConfig) -> Router {
    let set =
        |name: HeaderName, value: HeaderValue| SetResponseHeaderLayer::if_not_present(name, value);
    let stack = ServiceBuilder::new()
        .map_request(drop_unsafe_request_id)
        .set_x_request_id(MakeRequestUuid)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(log_response),
        )
        .propagate_x_request_id()
        .layer(set(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(set(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(set(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(set(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(set(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        ))
        .layer(set(
            header::CONTENT_SECURITY_POLICY,
            content_security_policy(),
        ))
        .layer(middleware::map_response(json_error_bodies))
        .layer(middleware::from_fn_with_state(
            config.max_uri_bytes,
            refuse_unsupported_head,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        // 408 here is rewritten to the `timeout` code's status by `json_error_bodies`.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes));
    app.layer(middleware::from_fn(crate::guard::refuse_card_data))
        .layer(stack)
}

/// Refuses, before anything reads it, a request that hyper's parser let through but the
/// service does not take: a target longer than `max_uri_bytes` (`uri_too_long`; hyper itself
/// only refuses targets over 65,534 bytes, with a bare 414), or a `Transfer-Encoding` other
/// than `chunked` alone (`unsupported_transfer_encoding`: hyper accepts `gzip, chunked` and
/// decodes only the chunks, so the body would reach the handlers still gzipped).
async fn refuse_unsupported_head(
    State(max_uri_bytes): State<usize>,
    request: Request,
    next: Next,
) -> axum::response::Response {
    let uri = request.uri();
    let target_bytes = uri.path_and_query().map_or(0, |p| p.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    if target_bytes > max_uri_bytes {
        return HttpError(ApiError::new(
            ErrorCode::UriTooLong,
            format!("the request target is longer than {max_uri_bytes} bytes"),
        ))
        .into_response();
    }
    let mut codings = request
        .headers()
        .get_all(header::TRANSFER_ENCODING)
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|coding| !coding.is_empty());
    let chunked_alone = match codings.next() {
        None => true,
        Some(first) => first.eq_ignore_ascii_case(b"chunked") && codings.next().is_none(),
    };
    if !chunked_alone {
        return HttpError(ApiError::new(
            ErrorCode::UnsupportedTransferEncoding,
            "the only transfer coding accepted is `chunked`, alone",
        ))
        .into_response();
    }
    next.run(request).await
}

/// A client may send its own request id to correlate logs, but it is logged, echoed and
/// audited, so only a short token of `[A-Za-z0-9._-]` holding no card number is kept;
/// anything else (which could carry personal data) is dropped and a fresh id is generated in
/// its place.
fn drop_unsafe_request_id<B>(mut request: axum::http::Request<B>) -> axum::http::Request<B> {
    let safe = request.headers().get(&REQUEST_ID).is_some_and(|v| {
        let bytes = v.as_bytes();
        (1..=64).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            && !custodian_core::card::contains_card_number(&String::from_utf8_lossy(bytes))
    });
    if !safe {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// Responses under `/v1` describe live state and may name customers later: never cache.
pub fn no_store() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

/// One span per request, carrying only the method, the matched route (never the raw URI,
/// whose query string could hold personal data), and the request id.
fn request_span(request: &Request) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        route = route.unwrap_or("<unmatched>"),
        request_id,
    )
}

fn log_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_millis(),
        "response"
    );
}

/// Nothing may load except the notice's own stylesheet, allowed by its hash, so the notice
/// page runs no script and embeds nothing from elsewhere.
pub fn content_security_policy() -> HeaderValue {
    let style_hash = BASE64.encode(Sha256::digest(
        custodian_policy::notice::NOTICE_CSS.as_bytes(),
    ));
    let csp = format!(
        "default-src 'none'; style-src 'sha256-{style_hash}'; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'self'"
    );
    // INVARIANT: base64 and the fixed text are visible ASCII, always a valid header value.
    HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
}
