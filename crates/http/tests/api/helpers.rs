use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use custodian_core::audit::{AuditEvent, CheckpointSigner};
use custodian_core::care::Care;
use custodian_core::clock::FixedClock;
use custodian_core::identity::Identity;
use custodian_core::notice::{
    NoticeArchive, PublishedNotice, RenderedNotice, publish_current_notice,
};
use custodian_core::notify::RecordingNotifier;
use custodian_core::outbox::OutboxStore;
use custodian_core::vault::{KeyStore, RequestRules, Vault, VaultStore};
use custodian_crypto::{BlindIndexKey, LocalKeyring, SecretKey};
use custodian_http::{AppState, HttpConfig, Services, TokenTable, router};
use custodian_policy::{DEFAULT_POLICY, NoticeVersion};
use custodian_store::{SqliteKeyStore, SqliteStore};
use serde_json::Value;
use tower::ServiceExt;

/// The secret every partner signs with in test apps (their webhooks and their erasure
/// confirmations).
pub const PARTNER_SECRET: &[u8] = b"partner-webhook-secret-0123456789";

/// Checks partners' signatures with [`PARTNER_SECRET`], as the binary does with each
/// partner's configured secret.
struct TestVerifier;

impl custodian_core::outbox::PartnerVerifier for TestVerifier {
    fn verify(&self, _partner: &str, header: &str, body: &[u8]) -> Option<i64> {
        custodian_partners::verify_signature(PARTNER_SECRET, header, body)
    }
}

/// The token of the `storefront` integration every test app accepts.
pub const TOKEN: &str = "storefront-test-token-0123456789abcdef";

pub struct TestApp {
    pub router: Router,
    /// The same identity store the router uses, to set up staff accounts directly.
    pub identity: Identity,
    /// Every code the service "sent".
    pub notifier: Arc<RecordingNotifier>,
    pub store: Arc<SqliteStore>,
    pub vault_store: Arc<dyn VaultStore>,
    pub key_store: Arc<dyn KeyStore>,
    pub version: NoticeVersion,
    /// The vault the router uses, its outbox and its clock (moved by hand).
    pub vault: Vault,
    pub outbox: Arc<dyn OutboxStore>,
    pub clock: Arc<FixedClock>,
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
    let policy = Arc::new(policy);
    let signer = CheckpointSigner::new(SecretKey::from_bytes(&[7; 32]).unwrap());
    let sqlite_vault = Arc::new(store.vault(signer).await.unwrap());
    let vault_store: Arc<dyn VaultStore> = sqlite_vault.clone();
    let keys_dir = dir.path().join("keys");
    let keyring = LocalKeyring::open_dir(&keys_dir).unwrap();
    let key_path = keys_dir.join("data-keys.db");
    let key_store: Arc<dyn KeyStore> = Arc::new(
        SqliteKeyStore::open(key_path.to_str().unwrap())
            .await
            .unwrap(),
    );
    let index = BlindIndexKey::new(SecretKey::from_bytes(&[9; 32]).unwrap());
    let vault = Vault::new(
        policy.clone(),
        vault_store.clone(),
        key_store.clone(),
        Arc::new(keyring),
        index,
        clock.clone(),
    )
    .with_care_store(Arc::new(store.care()))
    .with_outbox_store(sqlite_vault.clone())
    .with_erasure_store(sqlite_vault.clone())
    .with_partner_verifier(Arc::new(TestVerifier))
    .with_legal_store(Arc::new(store.legal()))
    .with_request_store(Arc::new(store.requests()), RequestRules::default())
    .with_export_store(Arc::new(store.exports()));
    let notifier = Arc::new(RecordingNotifier::new());
    let vault = vault.with_notifier(notifier.clone());
    let care = Care::new(
        policy.clone(),
        vault.clone(),
        Arc::new(store.care()),
        notifier.clone(),
        clock.clone(),
        SecretKey::from_bytes(&[13; 32]).unwrap(),
    );
    let tokens = TokenTable::from_tokens([("storefront", TOKEN)]);
    let new_identity = || {
        Identity::new(
            policy.clone(),
            Arc::new(store.identity()),
            clock.clone(),
            SecretKey::from_bytes(&[11; 32]).unwrap(),
        )
    };
    let identity = new_identity();
    let setup = new_identity();
    let services = Services {
        archive: store.clone(),
        health: store.clone(),
        vault: vault.clone(),
        identity,
        care,
        tokens,
        clock: clock.clone(),
    };
    let state = AppState::new(policy, services, config);
    TestApp {
        router: router(state),
        identity: setup,
        notifier,
        store,
        vault_store,
        key_store,
        version,
        vault,
        outbox: sqlite_vault,
        clock,
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

/// Calls to the customers API.
impl TestApp {
    /// A request as the `storefront` integration, with `body` as JSON.
    pub async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> Response<Body> {
        self.call_as(Some(TOKEN), method, uri, body.map(|b| b.to_string()))
            .await
    }

    /// A request with any token (or none) and any body text.
    pub async fn call_as(
        &self,
        token: Option<&str>,
        method: &str,
        uri: &str,
        body: Option<String>,
    ) -> Response<Body> {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let body = body.map_or_else(Body::empty, Body::from);
        self.send(request.body(body).unwrap()).await
    }

    /// Creates a customer for the `account` purpose, returning the id.
    pub async fn create(&self, fields: Value) -> String {
        let response = self
            .call(
                "POST",
                "/v1/customers?purpose=account",
                Some(serde_json::json!({ "fields": fields })),
            )
            .await;
        assert_eq!(response.status(), 201);
        let body = body_json(response).await;
        body["id"].as_str().unwrap().to_owned()
    }

    /// A staff account in `role`, signed in: its session token.
    pub async fn staff(&self, role: &str) -> String {
        let login = format!("{role}@staff.example");
        self.identity
            .create_user(&login, role, STAFF_PASSWORD)
            .await
            .unwrap();
        self.sign_in(&login, STAFF_PASSWORD).await
    }

    /// Signs in over HTTP, returning the session token.
    pub async fn sign_in(&self, login: &str, password: &str) -> String {
        let body = serde_json::json!({ "login": login, "password": password });
        let response = self
            .call_as(None, "POST", "/v1/sessions", Some(body.to_string()))
            .await;
        assert_eq!(response.status(), 201);
        body_json(response).await["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The SQLite database file the app writes to.
    pub fn store_path(&self) -> std::path::PathBuf {
        self._dir.path().join("test.db")
    }

    /// Signs a customer in with a code sent to `email`, returning their session token.
    pub async fn customer_session(&self, email: &str) -> String {
        let body = serde_json::json!({ "email": email });
        let response = self
            .call_as(
                None,
                "POST",
                "/v1/customer-sessions/code",
                Some(body.to_string()),
            )
            .await;
        assert_eq!(response.status(), 202);
        let code = self.notifier.last_code().unwrap().to_string();
        let body = serde_json::json!({ "email": email, "code": code });
        let response = self
            .call_as(
                None,
                "POST",
                "/v1/customer-sessions",
                Some(body.to_string()),
            )
            .await;
        assert_eq!(response.status(), 201);
        body_json(response).await["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Every event in the audit log, oldest first.
    pub async fn audit(&self) -> Vec<AuditEvent> {
        let entries = self.vault_store.audit_entries(0, 10_000).await.unwrap();
        entries.iter().map(|e| e.decode().unwrap()).collect()
    }

    /// Asserts that no customer exists and the audit log is empty.
    pub async fn assert_nothing_written(&self) {
        assert!(self.key_store.key_versions().await.unwrap().is_empty());
        assert!(self.audit().await.is_empty());
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

/// Asserts the response is the JSON error `code` about `field` with `status`, and that the
/// whole body does not contain `secret` (a value the request sent).
pub async fn assert_refused(
    response: Response<Body>,
    status: u16,
    code: &str,
    field: Option<&str>,
    secret: &str,
) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let body = body_json(response).await;
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["field"].as_str(), field, "{body}");
    assert!(
        !secret.is_empty() && !body.to_string().contains(secret),
        "{body}"
    );
    body["error"].clone()
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

/// The password of the staff accounts tests create.
pub const STAFF_PASSWORD: &str = "correct horse battery staple 42";

/// A value the refusal tests send, that no response may repeat.
pub const SECRET: &str = "marker-7f3a@example.com";

/// `POST /v1/customers{purpose}` with `{"fields": fields}`.
pub async fn create(app: &TestApp, purpose: &str, fields: Value) -> Response<Body> {
    app.call(
        "POST",
        &format!("/v1/customers{purpose}"),
        Some(serde_json::json!({ "fields": fields })),
    )
    .await
}
