use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use custodian_core::clock::FixedClock;
use custodian_core::notice::{
    NoticeArchive, PublishedNotice, RenderedNotice, publish_current_notice,
};
use custodian_http::{AppState, HttpConfig, router};
use custodian_policy::{DEFAULT_POLICY, NoticeVersion};
use custodian_store::SqliteStore;
use serde_json::Value;
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub store: Arc<SqliteStore>,
    pub version: NoticeVersion,
    _dir: tempfile::TempDir,
}

/// A router over a fresh store in which the default policy's notice is published.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(HttpConfig::default()).await
}

pub async fn spawn_app_with(config: HttpConfig) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(dir.path().join("test.db").to_str().unwrap())
            .await
            .unwrap(),
    );
    let policy = custodian_policy::parse(DEFAULT_POLICY).unwrap();
    let clock = Arc::new(FixedClock::new("2026-01-01T00:00:00Z".parse().unwrap()));
    publish_current_notice(&policy, DEFAULT_POLICY, store.as_ref(), clock.as_ref())
        .await
        .unwrap();
    let version = NoticeVersion::of(&policy);
    let state = AppState::new(policy, store.clone(), store.clone(), clock, config);
    TestApp {
        router: router(state),
        store,
        version,
        _dir: dir,
    }
}

impl TestApp {
    pub async fn get(&self, uri: &str) -> Response<Body> {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(request).await.unwrap()
    }

    /// Archives an older notice with recognisable texts, returning its hash.
    pub async fn archive_old_notice(&self) -> String {
        let hash = format!("sha256:{}", "ab".repeat(32));
        let rendered = RenderedNotice {
            vi_html: "<p>bản cũ</p>".into(),
            vi_markdown: "bản cũ".into(),
            en_html: "<p>old version</p>".into(),
            en_markdown: "old version".into(),
        };
        let notice = PublishedNotice {
            version: "2025.9".into(),
            content_hash: hash.clone(),
            published_at: "2025-09-01T00:00:00Z".parse().unwrap(),
            policy_source: "# old".into(),
            rendered,
        };
        self.store.publish(notice).await.unwrap();
        hash
    }
}

pub async fn body_text(response: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub async fn body_json(response: Response<Body>) -> Value {
    serde_json::from_str(&body_text(response).await).unwrap()
}

pub fn header<'a>(response: &'a Response<Body>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

/// Asserts the response is the JSON error `code` with `status`, returning the error object.
pub async fn assert_error(response: Response<Body>, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(header(&response, "content-type"), "application/json");
    let body = body_json(response).await;
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body["error"].clone()
}
