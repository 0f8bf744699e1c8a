//! The vault's storage port. Everything a backend holds about a customer is ciphertext,
//! wrapped keys, blind indexes or audit events: never a personal value in the clear.

use async_trait::async_trait;
use jiff::Timestamp;

use custodian_crypto::WrappedKey;

use crate::StoreError;
use crate::audit::{AuditEntry, AuditEvent, Checkpoint};
use crate::consent::{CollectionChannel, ConsentState, GivenBy};
use crate::ids::{ConsentId, CustomerId, HistoryId, OrderId};
use crate::orders::OrderState;
use crate::outbox::{DisclosureRecord, OutboxMessage};
use crate::rights::erasure::StoredHoldKey;

/// One sealed field value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedField {
    /// `category.field`.
    pub field: String,
    pub sealed: Vec<u8>,
    /// The customer's data-key version it was sealed under.
    pub key_version: u32,
}

/// A customer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCustomer {
    pub id: CustomerId,
    pub created_at: Timestamp,
    /// Set once the customer was erased; their fields are then gone.
    pub erased: bool,
    pub fields: Vec<SealedField>,
    /// The restriction and objections in force, read with the row (nothing personal).
    pub limits: Vec<crate::rights::request::LimitKind>,
}

/// A customer's data key, wrapped by a master-key version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub customer: CustomerId,
    /// Version of the data key itself (part of every field binding).
    pub key_version: u32,
    pub wrapped: WrappedKey,
}

/// An earlier value of a corrected field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHistory {
    pub id: HistoryId,
    pub replaced_at: Timestamp,
    pub value: SealedField,
}

/// A blind index, kept in the [`KeyStore`] beside the customer's key: the customer's field
/// `kind` (`category.field` of an email or phone) held, when the row was written, the value
/// whose keyed hash is `hash`, sealed as the ciphertext whose SHA-256 is `sealed_digest`
/// ([`sealed_digest`]). A lookup trusts a row only while the customer's current ciphertext
/// of that field still has this digest, so a row left behind by a crash (written before a
/// commit that never happened, or not yet pruned after a correction) never finds anyone.
/// Its `Debug` shows the customer and the kind, never the hashes.
#[derive(Clone, PartialEq, Eq)]
pub struct BlindIndex {
    pub customer: CustomerId,
    pub kind: String,
    pub hash: [u8; 32],
    pub sealed_digest: [u8; 32],
}

impl std::fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlindIndex")
            .field("customer", &self.customer)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The digest a [`BlindIndex`] row names the value it was written for by: SHA-256 of the
/// sealed ciphertext (which reveals nothing of the value; a new seal of the same value has a
/// new nonce, hence a new digest).
pub fn sealed_digest(sealed: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(sealed).into()
}

/// One entry of a customer's consent history, as stored. Append-only: an entry is never
/// changed or removed, not even by erasure — what is personal in it (`evidence`: user agent,
/// truncated address, a representative's name) is sealed under the customer's key, and
/// becomes unreadable with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConsent {
    pub id: ConsentId,
    pub customer: CustomerId,
    pub purpose: String,
    pub state: ConsentState,
    pub at: Timestamp,
    /// The human notice version shown, and its content hash.
    pub notice_version: String,
    pub notice_hash: String,
    pub channel: CollectionChannel,
    pub recording_id: Option<String>,
    pub given_by: GivenBy,
    /// Who recorded it: the principal's audit name (`customer:…`, `staff:…`, …).
    pub recorded_by: String,
    /// The options agreed to, as JSON (an object).
    pub options: String,
    /// The [`custodian_policy::ConsentTerms`] in force, as JSON.
    pub terms: String,
    pub request_id: Option<String>,
    /// A Global Privacy Control signal came with the change.
    pub gpc: bool,
    /// The sealed evidence (field `consent.evidence`, bound to this entry's id).
    pub evidence: Option<SealedField>,
}

/// An order as stored: its state in the clear, every field sealed under its data subject's
/// key (bound to the order's id), its items as one sealed list (`order_items`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrder {
    pub id: OrderId,
    pub customer: CustomerId,
    pub state: OrderState,
    pub placed_at: Timestamp,
    pub updated_at: Timestamp,
    pub fields: Vec<SealedField>,
}

/// A line of a customer's list of orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSummary {
    pub id: OrderId,
    pub state: OrderState,
    pub placed_at: Timestamp,
}

/// One move of an order, as the append-only list of moves keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderMove {
    pub order: OrderId,
    pub from: OrderState,
    pub to: OrderState,
    pub at: Timestamp,
}

/// One change. A [`Transaction`] applies its writes all or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// A new customer. Their data key is already in the [`KeyStore`].
    CreateCustomer {
        id: CustomerId,
        created_at: Timestamp,
    },
    /// A correction's precondition: the field still holds exactly `sealed` (`None`: it is
    /// unset). If another correction got there first, the transaction is refused with
    /// [`Conflict::FieldChanged`] and nothing of it is written, so no earlier value is lost
    /// from the history.
    ExpectField {
        customer: CustomerId,
        field: String,
        sealed: Option<Vec<u8>>,
    },
    /// Inserts or replaces the current value of a field.
    PutField {
        customer: CustomerId,
        value: SealedField,
        at: Timestamp,
    },
    /// Keeps an earlier value (sealed under its own history binding).
    PutHistory {
        customer: CustomerId,
        entry: StoredHistory,
    },
    /// A new order. Its customer must exist and not be erased.
    CreateOrder { order: StoredOrder },
    /// Moves an order from `from` to `to`, and records the move. If the order is no longer
    /// in `from` (another move got there first), the transaction is refused with
    /// [`Conflict::OrderMoved`].
    MoveOrder {
        order: OrderId,
        customer: CustomerId,
        from: OrderState,
        to: OrderState,
        at: Timestamp,
    },
    /// Appends to the customer's consent history. The customer must exist and not be erased.
    RecordConsent { consent: StoredConsent },
    /// Puts a message to a partner in the outbox, committed with the change that causes it
    /// (the transactional outbox). The customer must exist and not be erased. A message with
    /// the same partner and idempotency key as one already queued is not queued again.
    EnqueueMessage { message: OutboxMessage },
    /// Marks a message delivered and appends its disclosure to the customer's ledger, once
    /// per message (a second delivery of the same message adds nothing). Holds also for a
    /// customer erased meanwhile: what was released stays on record.
    MessageDelivered { disclosure: DisclosureRecord },
    /// Purges every field and history entry of a customer whose data key was destroyed (their
    /// blind indexes went with the key, in the [`KeyStore`]), and marks the customer erased. Applied after every other write of its
    /// batch. Messages still to go out are dropped — except those whose payload is not
    /// personal ([`crate::outbox::Payload::Public`]: erasure notices), which survive it.
    PurgeCustomer { customer: CustomerId, at: Timestamp },
    /// Keeps values of an erased customer's orders under a legal hold, re-sealed under the
    /// hold key (a value already held for the same hold, order and field is replaced, so a
    /// retried erasure holds each value once). The customer must exist and not be erased:
    /// held copies are committed before the customer's key is destroyed.
    HoldRecords {
        customer: CustomerId,
        records: Vec<crate::rights::erasure::HeldRecord>,
    },
    /// Stores the completion report of an erasure and the erasure notices queued with it.
    /// Committed with [`Write::PurgeCustomer`].
    RecordErasure {
        erasure: crate::rights::erasure::StoredErasure,
        notices: Vec<crate::rights::erasure::ErasureNotice>,
    },
}

/// The writes of one use case and the audit events that describe them: committed together,
/// acknowledged only once durable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transaction {
    pub writes: Vec<Write>,
    pub audit: Vec<AuditEvent>,
}

/// A precondition of a write did not hold; nothing of the transaction was applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("customer `{0}` already exists")]
    CustomerExists(CustomerId),
    #[error("customer `{0}` does not exist or was erased")]
    NoSuchCustomer(CustomerId),
    #[error("field `{field}` of customer `{customer}` changed since it was read")]
    FieldChanged { customer: CustomerId, field: String },
    #[error("order `{0}` is no longer in the state it was read in")]
    OrderMoved(OrderId),
}

/// The vault's storage. Implementations must:
/// - apply a transaction atomically, audit events included, and return only once it is
///   durable (group commit is encouraged: many transactions, one sync);
/// - chain audit events in commit order across every process sharing the database, and
///   write checkpoints signed by the configured signer regularly (every 64 entries, and
///   whenever activity follows a quiet spell of a few seconds).
///
/// It holds no key material and no blind index: customers' data keys and the blind indexes
/// of their emails and phones live in a [`KeyStore`], kept apart so that a backup of the data
/// holds nothing that could ever decrypt an erased customer, nor confirm, even with the index
/// key, that an email or phone was theirs.
#[async_trait]
pub trait VaultStore: Send + Sync {
    /// Commits the transaction. `Ok(Err(conflict))` means a precondition failed and nothing
    /// was written — not even the audit events.
    async fn commit(&self, tx: Transaction) -> Result<Result<(), Conflict>, StoreError>;

    async fn customer(&self, id: &CustomerId) -> Result<Option<StoredCustomer>, StoreError>;

    /// How many customers are not erased.
    async fn live_customers(&self) -> Result<u64, StoreError>;

    /// Earlier values of the customer's fields, oldest first.
    async fn history(&self, id: &CustomerId) -> Result<Vec<StoredHistory>, StoreError>;

    async fn order(&self, id: &OrderId) -> Result<Option<StoredOrder>, StoreError>;

    /// The customer's orders, oldest first.
    async fn orders_of(&self, customer: &CustomerId) -> Result<Vec<OrderSummary>, StoreError>;

    /// Up to `limit` of the customer's orders whose id comes after `after` (all from the
    /// first when `None`), by id, each with its sealed fields: keyset pagination, so a reader
    /// of many orders holds one page at a time.
    async fn orders_page(
        &self,
        customer: &CustomerId,
        after: Option<&OrderId>,
        limit: u32,
    ) -> Result<Vec<StoredOrder>, StoreError>;

    /// Every move of these orders, by order then in the order they were made.
    async fn order_moves(&self, orders: &[OrderId]) -> Result<Vec<OrderMove>, StoreError>;

    /// The names of the sealed fields the customer's orders hold, each once, in name order.
    async fn order_field_names(&self, customer: &CustomerId) -> Result<Vec<String>, StoreError>;

    /// How many orders the customer has.
    async fn order_count(&self, customer: &CustomerId) -> Result<u64, StoreError>;

    /// The customer's current consent for each purpose they were ever asked about: the latest
    /// entry per purpose, in purpose order.
    async fn consents(&self, id: &CustomerId) -> Result<Vec<StoredConsent>, StoreError>;

    /// Every entry of the customer's consent history, oldest first.
    async fn consent_history(&self, id: &CustomerId) -> Result<Vec<StoredConsent>, StoreError>;

    /// Audit entries with `seq > after`, ascending, at most `limit`.
    async fn audit_entries(&self, after: u64, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;

    async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError>;
}

/// Where customers' data keys live, wrapped by the master key — apart from the data they
/// protect —, with the blind indexes of their emails and phones. Destroying a key here is the
/// moment of erasure: every ciphertext of that customer, in the live database or in any
/// backup of it, becomes unreadable at once, and their blind indexes go in the same
/// transaction, so that nothing left anywhere can confirm an email or phone was theirs.
/// Implementations must make every change durable before returning, and must not leave a
/// destroyed key's bytes, nor a destroyed index's, readable in their files.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores a new customer's key, with the blind indexes of the values about to be
    /// committed for them, in one transaction.
    async fn put(&self, key: &StoredKey, indexes: &[BlindIndex]) -> Result<(), StoreError>;

    async fn get(&self, customer: &CustomerId) -> Result<Option<StoredKey>, StoreError>;

    /// Destroys the customer's key and every blind index of theirs, in one transaction.
    /// Returns whether there was a key.
    async fn destroy(&self, customer: &CustomerId) -> Result<bool, StoreError>;

    /// Adds blind indexes, in one transaction; a row already there (same customer, kind and
    /// digest) is kept, so adding again is harmless. A row of a customer who has no key (never
    /// had one, or was erased) is not added: an index never outlives the key it goes with.
    async fn put_indexes(&self, indexes: &[BlindIndex]) -> Result<(), StoreError>;

    /// Every row of this kind with this hash: the customer and the digest of the sealed value
    /// the row was written for, by customer. Rows may be stale: the caller checks each against
    /// the customer's current value.
    async fn find_index(
        &self,
        kind: &str,
        hash: &[u8; 32],
    ) -> Result<Vec<(CustomerId, [u8; 32])>, StoreError>;

    /// Removes the customer's rows of this kind other than `keep` (the digest of the value
    /// now committed) that were added before it: a row added after it belongs to a later
    /// write, which prunes for itself. `None` removes every row of this kind (the field is
    /// gone).
    async fn prune_indexes(
        &self,
        customer: &CustomerId,
        kind: &str,
        keep: Option<&[u8; 32]>,
    ) -> Result<(), StoreError>;

    /// Removes the one row of the customer and kind written for this digest (a write that
    /// was refused takes back the row it added).
    async fn remove_index(
        &self,
        customer: &CustomerId,
        kind: &str,
        sealed_digest: &[u8; 32],
    ) -> Result<(), StoreError>;

    /// Replaces a wrapped key, only if it is still wrapped under `from_kek_version` (another
    /// rotation pass, or an erasure, may have got there first). Returns whether it did.
    async fn rewrap(
        &self,
        customer: &CustomerId,
        from_kek_version: u32,
        wrapped: &WrappedKey,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` keys wrapped under a master-key version other than `kek_version`.
    async fn keys_not_wrapped_under(
        &self,
        kek_version: u32,
        limit: u32,
    ) -> Result<Vec<StoredKey>, StoreError>;

    /// How many keys are wrapped under each master-key version.
    async fn key_versions(&self) -> Result<Vec<(u32, u64)>, StoreError>;

    /// Stores a legal-hold key unless the customer already has one for this hold; returns
    /// the key on record (the first stored), so attempts racing keep one.
    async fn put_hold_key(&self, key: &StoredHoldKey) -> Result<StoredHoldKey, StoreError>;

    /// The customer's key for a legal hold.
    async fn hold_key(
        &self,
        customer: &CustomerId,
        hold: &str,
    ) -> Result<Option<StoredHoldKey>, StoreError>;

    /// Destroys the customer's key for a legal hold: what it kept is then erased. Returns
    /// whether there was one.
    async fn destroy_hold_key(&self, customer: &CustomerId, hold: &str)
    -> Result<bool, StoreError>;

    /// Up to `limit` legal-hold keys wrapped under a master-key version other than
    /// `kek_version`.
    async fn hold_keys_not_wrapped_under(
        &self,
        kek_version: u32,
        limit: u32,
    ) -> Result<Vec<StoredHoldKey>, StoreError>;

    /// Replaces a hold key's wrapping, only if it is still wrapped under `from_kek_version`.
    /// Returns whether it did.
    async fn rewrap_hold_key(
        &self,
        customer: &CustomerId,
        hold: &str,
        from_kek_version: u32,
        wrapped: &WrappedKey,
    ) -> Result<bool, StoreError>;
}
