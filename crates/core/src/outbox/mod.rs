//! The transactional outbox and the disclosure ledger (P4, P15).
//!
//! A message to a partner is committed by the vault's writer in the same transaction as the
//! change that causes it (`Write::EnqueueMessage`), its payload sealed under the customer's
//! data key. A [`dispatch::Dispatcher`] claims due messages with a lease, opens each through
//! the vault (audited as `system:outbox_delivery` before anything is decrypted) and hands it
//! to a [`PartnerSender`]; a delivery appends to the customer's disclosure ledger in the same
//! commit that marks the message delivered (`Write::MessageDelivered`). Failures are retried
//! with exponential backoff and full jitter, then dead-lettered; an administrator re-drives a
//! dead letter. Only partners the policy declares can be named (`vault::DeclaredPartner`), so
//! a release to an undeclared recipient cannot be expressed.

pub mod dispatch;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Serialize;

use crate::StoreError;
use crate::ids::{ConsentId, CustomerId, OutboxId};
use crate::vault::SealedField;

/// The field name a message's payload is sealed under (bound to the message id).
pub const PAYLOAD_FIELD: &str = "outbox.payload";

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for its next attempt (or for its first).
    Pending,
    /// The partner acknowledged it (2xx); it is in the customer's ledger.
    Delivered,
    /// Every attempt failed; waits for an administrator to re-drive it.
    Dead,
    /// The customer was erased before it went out: the key is gone, and so is the payload.
    Dropped,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 4] = [
        OutboxStatus::Pending,
        OutboxStatus::Delivered,
        OutboxStatus::Dead,
        OutboxStatus::Dropped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Dead => "dead",
            OutboxStatus::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxStatus> {
        OutboxStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A message's JSON body as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Personal: sealed under the customer's data key (field [`PAYLOAD_FIELD`], bound to the
    /// message id). Opened only for delivery, after the audit event; dropped, unsent, when
    /// the customer is erased (the key is gone).
    Sealed(SealedField),
    /// Holds nothing personal and no internal id (an erasure notice: message digests only),
    /// so it is stored as is and outlives the customer's key: the drop rule of erasure
    /// leaves it pending.
    Public(Vec<u8>),
}

impl Payload {
    /// Whether the body is personal data (sealed).
    pub fn is_personal(&self) -> bool {
        matches!(self, Payload::Sealed(_))
    }
}

/// A message as stored. Nothing in it is personal but the sealed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: OutboxId,
    /// A partner the policy declares.
    pub partner: String,
    pub customer: CustomerId,
    /// What happened, e.g. `order.fulfilling`, `consent.withdrawn`.
    pub kind: String,
    /// Sent as `Idempotency-Key`: derived from the partner, the kind and the caller's key, so
    /// the same event enqueued twice is one message (unique per partner).
    pub idempotency_key: String,
    pub purpose: String,
    /// The purpose's legal basis, as the policy writes it (`consent`, `contract`, …).
    pub legal_basis: String,
    /// The consent entry the message relies on (or, for a withdrawal, the one it reports).
    pub consent: Option<ConsentId>,
    /// The `category.field`s the payload carries, each one the partner's policy lists.
    pub fields: Vec<String>,
    /// The JSON body: sealed under the customer's data key, or, holding nothing personal,
    /// as is.
    pub payload: Payload,
    pub created_at: Timestamp,
    pub status: OutboxStatus,
    /// Failed attempts so far.
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    /// Why the last attempt failed: a kind (`timeout`, `connect`, `http_503`), never the
    /// partner's text.
    pub last_error: Option<String>,
    pub delivered_at: Option<Timestamp>,
}

/// One entry of a customer's disclosure ledger: a release outside the company. Append-only;
/// nothing in it is a personal value (the digest is of the payload sent, which names the
/// customer only to the partner that received it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisclosureRecord {
    /// The message delivered: one entry per message, however often it was sent.
    pub message: OutboxId,
    #[serde(skip)]
    pub customer: CustomerId,
    /// The partner (a recipient the policy declares).
    pub recipient: String,
    pub categories: Vec<String>,
    pub fields: Vec<String>,
    pub purpose: String,
    pub legal_basis: String,
    pub consent: Option<ConsentId>,
    pub at: Timestamp,
    /// `sha256:<hex>` of the body sent.
    pub digest: String,
}

/// The outbox's storage. Enqueueing and delivery go through the vault's writer
/// (`Write::EnqueueMessage`, `Write::MessageDelivered`); the rest is bookkeeping of attempts.
/// Implementations must make `claim` exclusive across every process sharing the database:
/// a message claimed and not yet released is not handed out again before its lease ends.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` pending messages for `partners` that are due at `now` and not
    /// under another claimer's lease, oldest first, leasing each until `lease_until`.
    async fn claim(
        &self,
        partners: &[String],
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;

    /// Records a failed attempt: `attempts` in all so far, the next attempt at `next` — or,
    /// with `None`, the message is dead-lettered. Releases the lease.
    async fn record_failure(
        &self,
        id: &OutboxId,
        attempts: u32,
        next: Option<Timestamp>,
        error: &str,
    ) -> Result<(), StoreError>;

    /// Marks a message dropped (its customer was erased). Releases the lease.
    async fn drop_message(&self, id: &OutboxId) -> Result<(), StoreError>;

    /// Messages in `status`, oldest first, at most `limit`.
    async fn messages(
        &self,
        status: OutboxStatus,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;

    async fn message(&self, id: &OutboxId) -> Result<Option<OutboxMessage>, StoreError>;

    /// Every message about the customer, oldest first.
    async fn customer_messages(
        &self,
        customer: &CustomerId,
    ) -> Result<Vec<OutboxMessage>, StoreError>;

    /// Puts a dead letter back in the queue, due at `now`, with its attempts reset. Returns
    /// whether it was dead.
    async fn redrive(&self, id: &OutboxId, now: Timestamp) -> Result<bool, StoreError>;

    /// The customer's disclosure ledger, oldest first.
    async fn disclosures(&self, customer: &CustomerId)
    -> Result<Vec<DisclosureRecord>, StoreError>;
}

impl std::fmt::Debug for dyn OutboxStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutboxStore")
    }
}

/// One delivery attempt as the sender sees it. The body is personal data in the clear: its
/// `Debug` never shows it.
pub struct Delivery<'a> {
    /// The partner's id in the policy.
    pub partner: &'a str,
    /// `Custodian-Message-Id`: a digest of the message id, stable across attempts, which
    /// tells the partner nothing (ids stay inside the company).
    pub message_id: String,
    pub idempotency_key: &'a str,
    /// The signature's timestamp, from the service's clock (Unix seconds).
    pub timestamp: i64,
    pub body: &'a [u8],
}

impl std::fmt::Debug for Delivery<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("partner", &self.partner)
            .field("message_id", &self.message_id)
            .field("body", &"<redacted>")
            .finish()
    }
}

/// Why an attempt failed. Kinds only: never the partner's text, never the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The partner answered with a status other than 2xx.
    #[error("http_{0}")]
    Status(u16),
    #[error("timeout")]
    Timeout,
    #[error("connect")]
    Connect,
    #[error("tls")]
    Tls,
    #[error("protocol")]
    Protocol,
    /// No URL is configured for the partner (its messages are not claimed in the first
    /// place; this answers a race with the configuration).
    #[error("not_configured")]
    NotConfigured,
}

/// Delivers signed JSON messages to partners.
#[async_trait]
pub trait PartnerSender: Send + Sync {
    /// The partners this sender can reach; messages for others wait.
    fn partners(&self) -> Vec<String>;

    /// Sends one message: `Ok` only for a 2xx answer.
    async fn send(&self, delivery: Delivery<'_>) -> Result<(), SendError>;
}

impl std::fmt::Debug for dyn PartnerSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PartnerSender")
    }
}

/// Checks a partner's signature on a request it sends us (an erasure confirmation), with the
/// shared secret of its webhooks: `Custodian-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>">`, compared in constant time. Returns the signature's timestamp when it
/// verifies; the caller judges its freshness.
pub trait PartnerVerifier: Send + Sync {
    fn verify(&self, partner: &str, header: &str, body: &[u8]) -> Option<i64>;
}

impl std::fmt::Debug for dyn PartnerVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PartnerVerifier")
    }
}
