//! What a shop's pages load from Custodian: the banner script, the GPC statement, and CORS
//! for the banner's API paths.

use axum::body::Body;
use axum::http::Request;
use custodian_http::HttpConfig;

use crate::helpers::{TestApp, body_json, body_text, header, spawn_app, spawn_app_with};

const SHOP: &str = "https://shop.example";

async fn app_for_the_shop() -> TestApp {
    spawn_app_with(HttpConfig {
        storefront_origins: vec![SHOP.into(), "http://127.0.0.1:8000".into()],
        ..HttpConfig::default()
    })
    .await
}

#[tokio::test]
async fn the_banner_script_is_served_as_cacheable_javascript() {
    let app = spawn_app().await;
    let response = app.get("/consent.js").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "content-type"),
        "application/javascript; charset=utf-8"
    );
    assert_eq!(header(&response, "cache-control"), "public, max-age=300");
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    // Loaded by the shop's pages from another origin: nothing may forbid that.
    assert_eq!(header(&response, "cross-origin-resource-policy"), "");
    let etag = header(&response, "etag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let script = body_text(response).await;
    assert!(script.contains("gtag('consent', 'default'"), "the script");
    assert!(!script.contains("innerHTML"), "server text goes in as text");

    let revalidate = Request::get("/consent.js")
        .header("if-none-match", &etag)
        .body(Body::empty())
        .unwrap();
    let response = app.send(revalidate).await;
    assert_eq!(response.status(), 304);
    assert_eq!(header(&response, "etag"), etag);
    assert!(body_text(response).await.is_empty());

    let stale = Request::get("/consent.js")
        .header("if-none-match", "\"other\"")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(stale).await.status(), 200);
}

#[tokio::test]
async fn the_gpc_statement_names_the_notice_effective_date() {
    let app = spawn_app().await;
    let response = app.get("/.well-known/gpc.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/json");
    let policy = custodian_policy::parse(custodian_policy::DEFAULT_POLICY).unwrap();
    let body = body_json(response).await;
    assert_eq!(
        body,
        serde_json::json!({ "gpc": true, "lastUpdate": policy.notice.effective.to_string() })
    );
    let date = body["lastUpdate"].as_str().unwrap();
    assert!(
        date.len() == 10 && date.parse::<jiff::civil::Date>().is_ok(),
        "{date}"
    );
}

fn varies_by_origin(response: &axum::http::Response<Body>) -> bool {
    response
        .headers()
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("origin"))
}

fn preflight(path: &str, origin: &str) -> Request<Body> {
    Request::builder()
        .method("OPTIONS")
        .uri(path)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .body(Body::empty())
        .unwrap()
}

fn from(origin: &str, path: &str) -> Request<Body> {
    Request::get(path)
        .header("origin", origin)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn a_configured_shop_origin_passes_the_preflight_of_the_banners_api() {
    let app = app_for_the_shop().await;
    for path in [
        "/v1/choices",
        "/v1/account/consents",
        "/v1/account/consents/history",
    ] {
        let response = app.send(preflight(path, SHOP)).await;
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            SHOP,
            "{path}"
        );
        let methods = header(&response, "access-control-allow-methods").to_owned();
        for method in ["GET", "POST", "OPTIONS"] {
            assert!(methods.contains(method), "{path}: {methods}");
        }
        let headers = header(&response, "access-control-allow-headers").to_ascii_lowercase();
        assert!(
            headers.contains("authorization") && headers.contains("content-type"),
            "{path}: {headers}"
        );
        assert_eq!(header(&response, "access-control-allow-credentials"), "");
        assert!(varies_by_origin(&response));
    }
    // The other configured origin, with its port.
    let response = app
        .send(preflight("/v1/choices", "http://127.0.0.1:8000"))
        .await;
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        "http://127.0.0.1:8000"
    );
}

#[tokio::test]
async fn a_simple_request_from_the_shop_gets_its_origin_back() {
    let app = app_for_the_shop().await;
    let response = app.send(from(SHOP, "/v1/choices?subject=visitors")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "access-control-allow-origin"), SHOP);
    assert!(varies_by_origin(&response));
    assert_eq!(header(&response, "access-control-allow-credentials"), "");
}

#[tokio::test]
async fn other_origins_and_other_paths_get_no_cors_headers() {
    let app = app_for_the_shop().await;
    let cases = [
        ("/v1/choices", "https://evil.example"),
        ("/v1/choices", "https://shop.example.evil.example"),
        ("/v1/choices", "http://shop.example"),
        ("/v1/choices", "null"),
        ("/v1/account/consents", "https://evil.example"),
        ("/v1/customers", SHOP),
        ("/v1/account/password", SHOP),
        ("/v1/policy", SHOP),
    ];
    for (path, origin) in cases {
        for request in [preflight(path, origin), from(origin, path)] {
            let response = app.send(request).await;
            let cors: Vec<_> = response
                .headers()
                .keys()
                .filter(|k| k.as_str().starts_with("access-control-"))
                .collect();
            assert!(cors.is_empty(), "{path} from {origin}: {cors:?}");
        }
    }
    // The banner's answers vary by origin whatever the origin (they may be cached).
    let response = app
        .send(from("https://evil.example", "/v1/choices?subject=visitors"))
        .await;
    assert!(varies_by_origin(&response));
    // Without configuration, no origin at all.
    let app = spawn_app().await;
    let response = app.send(preflight("/v1/choices", SHOP)).await;
    assert_eq!(header(&response, "access-control-allow-origin"), "");
}
