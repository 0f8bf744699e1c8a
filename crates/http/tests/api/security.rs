use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::helpers::{header, spawn_app};

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let app = spawn_app().await;
    let style_hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(
        custodian_policy::notice::NOTICE_CSS.as_bytes(),
    ));
    for uri in ["/privacy", "/v1/policy", "/nope", "/privacy?lang=xx"] {
        let response = app.get(uri).await;
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{uri}"
        );
        assert_eq!(header(&response, "referrer-policy"), "no-referrer", "{uri}");
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{uri}");
        assert_eq!(
            header(&response, "cross-origin-opener-policy"),
            "same-origin",
            "{uri}"
        );
        let permissions = header(&response, "permissions-policy");
        for feature in ["camera=()", "microphone=()", "geolocation=()"] {
            assert!(permissions.contains(feature), "{uri}: {permissions}");
        }
        assert_eq!(
            header(&response, "content-security-policy"),
            format!(
                "default-src 'none'; style-src 'sha256-{style_hash}'; frame-ancestors 'none'; \
                 base-uri 'none'; form-action 'self'"
            ),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn the_notice_is_cacheable_but_the_api_is_not() {
    let app = spawn_app().await;
    assert_eq!(header(&app.get("/privacy").await, "cache-control"), "");
    assert_eq!(
        header(&app.get("/v1/policy/records").await, "cache-control"),
        "no-store"
    );
}

#[tokio::test]
async fn a_request_id_is_generated_or_echoed() {
    let app = spawn_app().await;
    let generated = app.get("/healthz").await;
    assert!(!header(&generated, "x-request-id").is_empty());
    let request = Request::get("/nope")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    assert_eq!(header(&app.send(request).await, "x-request-id"), "abc-123");
}

#[tokio::test]
async fn a_request_id_that_could_carry_data_is_replaced() {
    let app = spawn_app().await;
    let too_long = "x".repeat(65);
    for unsafe_id in ["nguyen.van.a@example.com", "has space", too_long.as_str()] {
        let request = Request::get("/healthz")
            .header("x-request-id", unsafe_id)
            .body(Body::empty())
            .unwrap();
        let response = app.send(request).await;
        let echoed = header(&response, "x-request-id");
        assert_ne!(echoed, unsafe_id);
        assert!(!echoed.is_empty());
    }
}
