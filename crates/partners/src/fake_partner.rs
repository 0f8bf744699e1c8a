//! A partner on loopback, for tests: an axum server on `127.0.0.1:0` that verifies every
//! request's signature, counts deliveries per idempotency key and applies each key once, and
//! can be told to answer 500s, to be down (the port refuses connections) or to be slow.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::{IDEMPOTENCY_HEADER, MESSAGE_ID_HEADER, SIGNATURE_HEADER, verify_signature};

/// How the partner behaves towards the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Verifies, applies once per key, answers 200.
    Up,
    /// Answers 500 without applying.
    Failing,
    /// Waits this long before answering (then behaves as `Up`).
    Slow(Duration),
}

/// What the partner saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Requests per idempotency key (valid signatures only).
    pub deliveries: BTreeMap<String, usize>,
    /// How often each key was applied: never more than once.
    pub applied: BTreeMap<String, usize>,
    /// The bodies applied, by key.
    pub bodies: BTreeMap<String, Vec<u8>>,
    /// `Custodian-Message-Id` per key.
    pub message_ids: BTreeMap<String, String>,
    /// Requests whose signature did not verify (refused with 401).
    pub bad_signatures: usize,
    /// Requests refused with 500 while failing.
    pub failed: usize,
}

struct Inner {
    secret: Vec<u8>,
    mode: Mode,
    seen: Seen,
}

type Shared = Arc<Mutex<Inner>>;

/// A running fake partner.
#[derive(Debug)]
pub struct FakePartner {
    address: SocketAddr,
    shared: Shared,
    stop: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakePartner")
    }
}

impl FakePartner {
    /// Starts a partner that verifies signatures under `secret`.
    pub async fn start(secret: &[u8]) -> std::io::Result<FakePartner> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let shared = Arc::new(Mutex::new(Inner {
            secret: secret.to_vec(),
            mode: Mode::Up,
            seen: Seen::default(),
        }));
        let mut partner = FakePartner {
            address: listener.local_addr()?,
            shared,
            stop: None,
        };
        partner.serve(listener);
        Ok(partner)
    }

    fn serve(&mut self, listener: TcpListener) {
        let (stop, stopped) = oneshot::channel::<()>();
        let app = Router::new()
            .route("/hooks", post(receive))
            .with_state(self.shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        self.stop = Some(stop);
    }

    /// The URL to configure for the partner.
    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.address)
    }

    pub fn set_mode(&self, mode: Mode) {
        if let Ok(mut inner) = self.shared.lock() {
            inner.mode = mode;
        }
    }

    /// Takes the partner down: its port refuses connections until [`Self::up`].
    pub async fn down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // The listener is dropped once the server task has seen the stop.
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(self.address).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Brings the partner back on the same port.
    pub async fn up(&mut self) -> std::io::Result<()> {
        let listener = TcpListener::bind(self.address).await?;
        self.serve(listener);
        Ok(())
    }

    /// What the partner sends to confirm it erased what the erasure notice with this
    /// `Custodian-Message-Id` named: the `Custodian-Signature` header (signed at `timestamp`,
    /// Unix seconds, with the partner's secret) and the JSON body, for
    /// `POST /v1/partners/{partner}/erasure-confirmations`.
    pub fn erasure_confirmation(&self, message_id: &str, timestamp: i64) -> (String, Vec<u8>) {
        let body = serde_json::json!({ "message_id": message_id })
            .to_string()
            .into_bytes();
        let secret = self
            .shared
            .lock()
            .map(|inner| inner.secret.clone())
            .unwrap_or_default();
        (crate::signature(&secret, timestamp, &body), body)
    }

    /// The erasure notices applied so far: each one's `Custodian-Message-Id` and the message
    /// ids it asks to erase.
    pub fn erasure_notices(&self) -> Vec<(String, Vec<String>)> {
        let seen = self.seen();
        seen.bodies
            .iter()
            .filter_map(|(key, body)| {
                let value: serde_json::Value = serde_json::from_slice(body).ok()?;
                if value.get("type")?.as_str()? != "erasure.requested" {
                    return None;
                }
                let ids = value
                    .get("data")?
                    .get("message_ids")?
                    .as_array()?
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                Some((seen.message_ids.get(key)?.clone(), ids))
            })
            .collect()
    }

    pub fn seen(&self) -> Seen {
        self.shared
            .lock()
            .map(|inner| inner.seen.clone())
            .unwrap_or_default()
    }
}

impl Drop for FakePartner {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mode = match shared.lock() {
        Ok(inner) => inner.mode,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR,
    };
    if let Mode::Slow(delay) = mode {
        tokio::time::sleep(delay).await;
    }
    let Ok(mut inner) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    let (Some(signature), Some(key)) = (header(SIGNATURE_HEADER), header(IDEMPOTENCY_HEADER))
    else {
        inner.seen.bad_signatures += 1;
        return StatusCode::BAD_REQUEST;
    };
    if verify_signature(&inner.secret, &signature, &body).is_none() {
        inner.seen.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    *inner.seen.deliveries.entry(key.clone()).or_default() += 1;
    if mode == Mode::Failing {
        inner.seen.failed += 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    // Applied once per key, however often it arrives.
    if !inner.seen.applied.contains_key(&key) {
        inner.seen.applied.insert(key.clone(), 1);
        inner.seen.bodies.insert(key.clone(), body.to_vec());
        if let Some(id) = header(MESSAGE_ID_HEADER) {
            inner.seen.message_ids.insert(key, id);
        }
    }
    StatusCode::OK
}
