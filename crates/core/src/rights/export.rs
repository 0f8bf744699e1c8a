//! The customer's export (P1, the rights of access and portability): the document of
//! everything the system holds about one customer, schema `custodian.export/1`, and the port
//! of its single-use download links.
//!
//! The document is built by `Vault::export` (`vault/export.rs`) and handed to an
//! [`ExportSink`] in pieces: [`ExportDocument`] (everything but the orders), then the orders a
//! page at a time, so that a customer with many orders never has them all in memory.
//! `export_zip.rs` is the sink that writes the ZIP (JSON, HTML report, README).
//! The JSON is documented in `docs/EXPORT.md` and `docs/export.schema.json`.

use async_trait::async_trait;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::StoreError;
use crate::ids::{ConsentId, CustomerId, OrderId, RequestId};
use crate::legal::LegalRelease;
use crate::orders::OrderState;
use crate::outbox::DisclosureRecord;
use crate::rights::request::{RequestChannel, RequestEvent, RequestState};

/// The schema of the export document, in its `schema` key.
pub const SCHEMA_ID: &str = "custodian.export/1";

/// How long a download link stays valid after it is made.
pub const EXPORT_LINK_VALID_FOR: SignedDuration = SignedDuration::from_hours(24);

/// How many orders are read, decrypted and written at a time.
pub const ORDERS_PAGE: u32 = 100;

/// Everything held about a customer except their orders (which follow, page by page).
#[derive(Debug, Clone, Serialize)]
pub struct ExportDocument {
    pub schema: &'static str,
    pub generated_at: Timestamp,
    /// `vi` or `en`: the language of every label and description.
    pub language: &'static str,
    pub controller: ExportController,
    /// The human notice version in force, and its content hash.
    pub notice_version: String,
    pub notice_hash: String,
    pub customer: ExportCustomer,
    /// Each category the customer has data in, with why it is held and who receives it.
    pub categories: Vec<ExportCategory>,
    /// Earlier values of corrected fields, oldest first.
    pub corrections: Vec<ExportCorrection>,
    /// Every change of the customer's consents, oldest first; each entry's `id` is the id of
    /// its consent receipt.
    pub consents: Vec<ExportConsent>,
    pub disclosures: ExportDisclosures,
    pub requests: Vec<ExportRequest>,
    /// Kinds of data the policy declares that this system does not hold yet (nothing of the
    /// customer's can be in them).
    pub not_held: Vec<NotHeld>,
    /// How many orders follow in `orders`.
    pub order_count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportController {
    pub name: String,
    pub site: String,
    pub email: String,
    pub dpo_email: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportCustomer {
    pub id: CustomerId,
    pub created_at: Timestamp,
}

/// One data category the customer has data in.
#[derive(Debug, Clone, Serialize)]
pub struct ExportCategory {
    pub id: String,
    pub label: String,
    pub description: String,
    pub sensitive: bool,
    pub purposes: Vec<ExportPurpose>,
    /// How long it is kept, one line per rule (e.g. "3 years from the last activity, then
    /// deleted").
    pub retention: Vec<String>,
    pub recipients: ExportRecipients,
    /// The values held in the profile; empty for a category held in orders (their values are
    /// in `orders`).
    pub values: Vec<ExportValue>,
    /// `profile` or `orders`: where the values are.
    pub held_in: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportPurpose {
    pub id: String,
    pub label: String,
    /// `consent`, `contract`, `legal_obligation`, `legitimate_interest`.
    pub legal_basis: &'static str,
    pub legal_basis_label: &'static str,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportRecipients {
    /// Internal roles that may serve a purpose using the category.
    pub roles: Vec<ExportRecipient>,
    /// Partners outside the company that receive fields of it.
    pub partners: Vec<ExportRecipient>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportRecipient {
    pub id: String,
    pub name: String,
}

/// One field's value.
#[derive(Debug, Clone, Serialize)]
pub struct ExportValue {
    /// `category.field` (for an order's item, the item's field name).
    pub field: String,
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportCorrection {
    pub field: String,
    pub label: String,
    pub replaced_at: Timestamp,
    /// The value as it was before the correction.
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportConsent {
    /// The entry's id, which is also its consent receipt's id.
    pub id: ConsentId,
    pub purpose: String,
    pub purpose_label: String,
    /// `granted` or `denied`.
    pub state: &'static str,
    pub at: Timestamp,
    pub notice_version: String,
    pub channel: &'static str,
    pub given_by: &'static str,
    pub recorded_by: String,
    pub options: Value,
    pub gpc: bool,
    /// The evidence kept with it (user agent, truncated address, a representative's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Value>,
}

/// The disclosure ledger: releases to partners, and to authorities as far as the customer
/// may be told of them by now.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportDisclosures {
    pub partners: Vec<DisclosureRecord>,
    pub authorities: Vec<LegalRelease>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportRequest {
    pub id: RequestId,
    pub kind: String,
    pub state: RequestState,
    pub channel: RequestChannel,
    pub received_at: Timestamp,
    pub acknowledge_by: Date,
    pub complete_by: Date,
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Every move of the request, oldest first.
    pub trail: Vec<RequestEvent>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotHeld {
    pub category: String,
    pub label: String,
}

/// One order: every field, its items, its state and its moves.
#[derive(Debug, Clone, Serialize)]
pub struct ExportOrder {
    pub id: OrderId,
    pub state: OrderState,
    pub placed_at: Timestamp,
    pub updated_at: Timestamp,
    pub fields: Vec<ExportValue>,
    pub items: Vec<Vec<ExportValue>>,
    pub moves: Vec<ExportMove>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportMove {
    pub from: OrderState,
    pub to: OrderState,
    pub at: Timestamp,
}

/// What an export produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    pub customer: CustomerId,
    pub categories: usize,
    pub orders: u64,
}

/// Where an export is written. The vault calls, for each of [`ExportSink::passes`] passes:
/// `begin`, then `orders` once per page (in id order), then `end`. A ZIP needs two passes
/// (its JSON, then its HTML report), since a streamed archive writes one file after the other.
#[async_trait]
pub trait ExportSink: Send {
    fn passes(&self) -> u32 {
        1
    }

    async fn begin(&mut self, pass: u32, doc: &ExportDocument) -> std::io::Result<()>;

    async fn orders(&mut self, pass: u32, page: &[ExportOrder]) -> std::io::Result<()>;

    async fn end(&mut self, pass: u32, doc: &ExportDocument) -> std::io::Result<()>;
}

/// A download link as stored: only the digest of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredExportLink {
    /// SHA-256 of the token (`csx_…`), lower-case hex.
    pub digest: String,
    pub customer: CustomerId,
    /// The request it answers, when the DPO made it for one.
    pub request: Option<RequestId>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// Where download links are kept. Redemption is a conditional update, so of two concurrent
/// redemptions exactly one wins.
#[async_trait]
pub trait ExportLinkStore: Send + Sync {
    async fn create(&self, link: &StoredExportLink) -> Result<(), StoreError>;

    /// The link with this digest, used or not.
    async fn get(&self, digest: &str) -> Result<Option<StoredExportLink>, StoreError>;

    /// Marks the link used at `at`, only if it is not used yet and not expired at `at`;
    /// whether it did.
    async fn redeem(&self, digest: &str, at: Timestamp) -> Result<bool, StoreError>;
}

/// A failed export: refused or failed in the vault, or the sink (the file, the connection)
/// failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error("the export could not be written: {0}")]
    Sink(#[from] std::io::Error),
}

impl From<StoreError> for ExportError {
    fn from(e: StoreError) -> ExportError {
        ExportError::Vault(e.into())
    }
}

impl From<custodian_crypto::CryptoError> for ExportError {
    fn from(e: custodian_crypto::CryptoError) -> ExportError {
        ExportError::Vault(e.into())
    }
}
