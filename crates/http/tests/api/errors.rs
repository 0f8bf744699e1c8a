use axum::body::Body;
use axum::http::Request;
use custodian_http::HttpConfig;

use crate::helpers::{assert_error, header, spawn_app, spawn_app_with};

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let app = spawn_app().await;
    for uri in ["/nope", "/v1/nope", "/v1/policy/nope", "/privacy/extra"] {
        assert_error(app.get(uri).await, 404, "not_found").await;
    }
}

#[tokio::test]
async fn wrong_methods_are_json_405s_with_allow() {
    let app = spawn_app().await;
    for uri in ["/privacy", "/healthz", "/v1/policy", "/v1/policy/versions"] {
        let response = app
            .send(Request::post(uri).body(Body::empty()).unwrap())
            .await;
        assert!(header(&response, "allow").contains("GET"), "{uri}");
        assert_error(response, 405, "method_not_allowed").await;
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app_with(HttpConfig {
        max_body_bytes: 16,
        ..HttpConfig::default()
    })
    .await;
    let request = Request::post("/privacy")
        .header("content-length", "1000")
        .body(Body::from(vec![b'x'; 1000]))
        .unwrap();
    assert_error(app.send(request).await, 413, "payload_too_large").await;
    // Without a length, the limit stops the reading (the card guard's).
    let chunks = (0..100).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 10]));
    let request = Request::post("/v1/customers?purpose=account")
        .body(Body::from_stream(tokio_stream::iter(chunks)))
        .unwrap();
    assert_error(app.send(request).await, 413, "payload_too_large").await;
}
