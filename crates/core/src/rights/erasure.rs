//! Erasure (P1, issue 7 §3): what a legal hold keeps of an erased customer, the completion
//! report, the notices telling partners to erase, and their confirmations — the vocabulary
//! and the storage port. The use cases are on the vault (`vault/erasure.rs`).
//!
//! INVARIANT: nothing here holds a personal value in the clear. A held value is ciphertext
//! under its hold key (kept in the key store, apart from the data); a report names
//! categories, counts, holds, partners and dates; a notice names message digests.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use custodian_crypto::WrappedKey;

use crate::StoreError;
use crate::ids::{CustomerId, OrderId, OutboxId};
use crate::vault::SealedField;

/// The kind of the outbox message asking a partner to erase what it received.
pub const ERASURE_REQUESTED: &str = "erasure.requested";

/// One value kept by a legal hold after its customer was erased: a field of an order,
/// re-sealed under the hold key of that customer and hold (bound to the customer, the order
/// and the field, like the original), kept until `held_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRecord {
    pub customer: CustomerId,
    /// The `[[legal_hold]]` id.
    pub hold: String,
    pub order: OrderId,
    /// `value.field` is the order field's name; `value.key_version` the hold key's version.
    pub value: SealedField,
    pub held_until: Timestamp,
}

/// A legal-hold key: a data key of its own for one erased customer and one hold, wrapped by
/// the master key like a customer's data key, kept in the key store apart from theirs.
/// Destroying it when the hold ends erases what it kept, in every backup too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHoldKey {
    pub customer: CustomerId,
    pub hold: String,
    pub key_version: u32,
    pub wrapped: WrappedKey,
}

/// A text in Vietnamese and English, as the policy gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub vi: String,
    pub en: String,
}

impl From<&custodian_policy::Text> for Label {
    fn from(t: &custodian_policy::Text) -> Label {
        Label {
            vi: t.vi.clone(),
            en: t.en.clone(),
        }
    }
}

/// A category the customer had data in, now removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedCategory {
    pub category: String,
    pub label: Label,
    /// Values removed: current fields, earlier values of corrected ones, order fields.
    pub values: u64,
}

/// A category kept, in part, by a legal hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetainedCategory {
    pub category: String,
    pub label: Label,
    pub hold: String,
    pub hold_label: Label,
    pub purpose: String,
    /// The law that requires it, from the policy.
    pub basis: Label,
    /// When the last value kept for this category goes.
    pub until: Timestamp,
    /// Values kept.
    pub values: u64,
}

/// How far a partner's erasure notice has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    /// Queued in the outbox, committed with the purge.
    Notified,
    /// The partner acknowledged the webhook.
    Delivered,
    /// The partner confirmed it erased what it received.
    Confirmed,
}

/// A partner told to erase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerNotice {
    pub partner: String,
    pub status: NoticeStatus,
    pub notified_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    pub confirmed_at: Option<Timestamp>,
}

/// The completion report of an erasure: what was removed, what is kept, why and until
/// when, and which partners were told (as WooCommerce reports items removed and retained).
/// No personal value and no field value is in it; it stays readable after the customer is
/// gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReport {
    pub erased_at: Timestamp,
    /// The data subject's deletion request it completes, if any.
    pub request: Option<String>,
    pub removed: Vec<RemovedCategory>,
    pub retained: Vec<RetainedCategory>,
    pub partners: Vec<PartnerNotice>,
}

/// A report as stored: keyed by customer, the report itself as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredErasure {
    pub customer: CustomerId,
    pub request: Option<String>,
    pub erased_at: Timestamp,
    /// The [`ErasureReport`], as JSON.
    pub report: String,
}

/// An erasure notice queued for a partner: the outbox message, and the
/// `Custodian-Message-Id` the partner confirms it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureNotice {
    pub message: OutboxId,
    pub partner: String,
    pub customer: CustomerId,
    pub public_id: String,
}

/// A partner's confirmation that it erased what a notice named. Append-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureConfirmation {
    pub public_id: String,
    pub partner: String,
    pub customer: CustomerId,
    pub confirmed_at: Timestamp,
}

/// Storage of held values, reports, notices and confirmations. Held values, the report and
/// the notices are written through the vault's writer (`Write::HoldRecords`,
/// `Write::RecordErasure`); the rest goes through this port.
#[async_trait]
pub trait ErasureStore: Send + Sync {
    /// The customer's held values, by hold, order and field.
    async fn held(&self, customer: &CustomerId) -> Result<Vec<HeldRecord>, StoreError>;

    /// The (customer, hold) pairs whose every held value is due to go at `now`: their hold
    /// keys can be destroyed.
    async fn holds_ended(&self, now: Timestamp) -> Result<Vec<(CustomerId, String)>, StoreError>;

    /// Deletes every held value whose `held_until` is at or before `now`; returns how many.
    async fn delete_expired_held(&self, now: Timestamp) -> Result<u64, StoreError>;

    /// The customer's erasure report, if they were erased.
    async fn erasure(&self, customer: &CustomerId) -> Result<Option<StoredErasure>, StoreError>;

    /// The notice with this `Custodian-Message-Id` sent to `partner`.
    async fn notice(
        &self,
        partner: &str,
        public_id: &str,
    ) -> Result<Option<ErasureNotice>, StoreError>;

    /// Appends a confirmation; a second one for the same notice adds nothing. Returns the
    /// confirmation on record (the first).
    async fn confirm(
        &self,
        confirmation: &ErasureConfirmation,
    ) -> Result<ErasureConfirmation, StoreError>;

    /// Every confirmation about the customer.
    async fn confirmations(
        &self,
        customer: &CustomerId,
    ) -> Result<Vec<ErasureConfirmation>, StoreError>;

    /// Every notice about the customer.
    async fn notices(&self, customer: &CustomerId) -> Result<Vec<ErasureNotice>, StoreError>;
}

impl std::fmt::Debug for dyn ErasureStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErasureStore")
    }
}
