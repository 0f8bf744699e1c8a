//! Delivery of outbox messages to partners: the core's [`PartnerSender`] as signed JSON
//! webhooks over HTTPS (reqwest on rustls with ring and the compiled-in Mozilla roots).
//!
//! Each request is a `POST` of the message's JSON body to the partner's configured URL with
//!
//! - `Custodian-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed by
//!   the partner's own secret, so the partner can check the sender and refuse replays;
//! - `Idempotency-Key`: the same for every attempt of a message, so a partner that saw it
//!   already applies it once;
//! - `Custodian-Message-Id`: a stable reference to the message that tells nothing of it.
//!
//! A 2xx answer is a delivery; anything else, a timeout or a refused connection is a failed
//! attempt. Redirects are not followed (the data would go where the policy does not say).
//! Plain `http://` is accepted only for a loopback host.
//!
//! INVARIANT: nothing personal is logged or put in an error: errors are kinds and statuses,
//! never the partner's answer, never the URL (it may hold a token), never the body.

#[cfg(feature = "fake-partner")]
pub mod fake_partner;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use url::Url;
use zeroize::Zeroizing;

use custodian_core::outbox::{Delivery, PartnerSender, PartnerVerifier, SendError};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "custodian-signature";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
pub const MESSAGE_ID_HEADER: &str = "custodian-message-id";

/// `t=<timestamp>,v1=<hex HMAC-SHA256 over "<timestamp>.<body>">` under `secret`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Checks a `Custodian-Signature` header against `body`, in constant time, and returns its
/// timestamp. What a partner does on receipt (the test receiver does it too).
pub fn verify_signature(secret: &[u8], header: &str, body: &[u8]) -> Option<i64> {
    let mut timestamp = None;
    let mut given = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => given = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (timestamp, given) = (timestamp?, given?);
    let expected = signature(secret, timestamp, body);
    let expected = hex::decode(expected.rsplit_once("v1=")?.1).ok()?;
    bool::from(subtle::ConstantTimeEq::ct_eq(
        expected.as_slice(),
        given.as_slice(),
    ))
    .then_some(timestamp)
}

/// Why a partner's configuration was refused. Names the partner and the rule, never the URL
/// or the secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PartnerConfigError {
    #[error("`partners.{0}.url` is not a valid URL")]
    BadUrl(String),
    #[error(
        "`partners.{0}.url` must be https:// (http:// only to a loopback address): personal data crosses the network only over TLS"
    )]
    NotTls(String),
    #[error(
        "`partners.{0}.url` must not hold a user or password: put the secret in `partners.{0}.secret`"
    )]
    Credentials(String),
    #[error("`partners.{0}.secret` is missing or shorter than 16 bytes")]
    WeakSecret(String),
    #[error("the HTTP client cannot be built")]
    Client,
}

/// One partner's endpoint: where its messages go and the secret they are signed with.
pub struct Endpoint {
    pub url: String,
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Endpoint(<redacted>)")
    }
}

struct Checked {
    url: Url,
    secret: Zeroizing<Vec<u8>>,
}

/// The partners' webhooks.
pub struct HttpPartnerSender {
    client: reqwest::Client,
    endpoints: BTreeMap<String, Checked>,
}

impl std::fmt::Debug for HttpPartnerSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPartnerSender")
            .field("partners", &self.endpoints.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

impl HttpPartnerSender {
    /// A sender for `endpoints` (partner id → endpoint), each request bounded by `timeout`
    /// (connection included).
    pub fn new(
        endpoints: BTreeMap<String, Endpoint>,
        timeout: Duration,
    ) -> Result<HttpPartnerSender, PartnerConfigError> {
        let mut checked = BTreeMap::new();
        for (partner, endpoint) in endpoints {
            let url = Url::parse(&endpoint.url)
                .map_err(|_| PartnerConfigError::BadUrl(partner.clone()))?;
            if !url.username().is_empty() || url.password().is_some() {
                return Err(PartnerConfigError::Credentials(partner));
            }
            match url.scheme() {
                "https" => {}
                "http" if loopback(&url) => {}
                _ => return Err(PartnerConfigError::NotTls(partner)),
            }
            if endpoint.secret.len() < 16 {
                return Err(PartnerConfigError::WeakSecret(partner));
            }
            checked.insert(
                partner,
                Checked {
                    url,
                    secret: endpoint.secret,
                },
            );
        }
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("custodian/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| PartnerConfigError::Client)?;
        Ok(HttpPartnerSender {
            client,
            endpoints: checked,
        })
    }
}

/// A partner's requests to us (erasure confirmations) are signed with the same secret as our
/// webhooks to it, by the same scheme.
impl PartnerVerifier for HttpPartnerSender {
    fn verify(&self, partner: &str, header: &str, body: &[u8]) -> Option<i64> {
        let endpoint = self.endpoints.get(partner)?;
        verify_signature(&endpoint.secret, header, body)
    }
}

#[async_trait]
impl PartnerSender for HttpPartnerSender {
    fn partners(&self) -> Vec<String> {
        self.endpoints.keys().cloned().collect()
    }

    async fn send(&self, delivery: Delivery<'_>) -> Result<(), SendError> {
        let Some(endpoint) = self.endpoints.get(delivery.partner) else {
            return Err(SendError::NotConfigured);
        };
        let signed = signature(&endpoint.secret, delivery.timestamp, delivery.body);
        let response = self
            .client
            .post(endpoint.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signed)
            .header(IDEMPOTENCY_HEADER, delivery.idempotency_key)
            .header(MESSAGE_ID_HEADER, delivery.message_id.as_str())
            .body(delivery.body.to_vec())
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    SendError::Timeout
                } else if e.is_connect() {
                    SendError::Connect
                } else {
                    SendError::Protocol
                }
            })?;
        let status = response.status();
        // The answer's body is the partner's text: never read into a log or an error.
        drop(response);
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError::Status(status.as_u16()))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn signatures_verify_and_bind_time_and_body() {
        let secret = b"0123456789abcdef0123";
        let header = signature(secret, 1_764_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1764000000,v1="));
        assert_eq!(
            verify_signature(secret, &header, b"{\"a\":1}"),
            Some(1_764_000_000)
        );
        assert_eq!(verify_signature(secret, &header, b"{\"a\":2}"), None);
        assert_eq!(
            verify_signature(b"another secret!!", &header, b"{\"a\":1}"),
            None
        );
        let replayed = header.replace("t=1764000000", "t=1764000001");
        assert_eq!(verify_signature(secret, &replayed, b"{\"a\":1}"), None);
    }

    #[test]
    fn only_tls_or_loopback_and_no_credentials_in_urls() {
        let one = |url: &str, secret: &[u8]| {
            HttpPartnerSender::new(
                BTreeMap::from([(
                    "carrier".to_owned(),
                    Endpoint {
                        url: url.into(),
                        secret: Zeroizing::new(secret.to_vec()),
                    },
                )]),
                Duration::from_secs(1),
            )
            .map(|_| ())
        };
        let secret = b"0123456789abcdef";
        assert_eq!(one("https://carrier.example/hooks", secret), Ok(()));
        assert_eq!(one("http://127.0.0.1:9/hooks", secret), Ok(()));
        assert_eq!(
            one("http://carrier.example/hooks", secret),
            Err(PartnerConfigError::NotTls("carrier".into()))
        );
        assert_eq!(
            one("https://u:p@carrier.example/", secret),
            Err(PartnerConfigError::Credentials("carrier".into()))
        );
        assert_eq!(
            one("https://carrier.example/", b"short"),
            Err(PartnerConfigError::WeakSecret("carrier".into()))
        );
        let e = one("not a url", secret).unwrap_err().to_string();
        assert!(!e.contains("not a url"));
    }
}
