//! Disclosures the law requires (P16): an authority's request, recorded by the DPO, approved
//! by a second administrator, released, and written to each customer's ledger — shown to the
//! customer unless the law forbids telling them, and then from the day it no longer does.
//!
//! The use cases are on [`crate::vault::Vault`] (`vault/legal.rs`): releasing opens the
//! customers' data. This module holds the request's vocabulary and its storage port.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Serialize;

use crate::StoreError;
use crate::ids::{CustomerId, LegalRequestId};

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalStatus {
    /// Recorded by the DPO, waiting for a second administrator.
    Requested,
    /// Approved; the release may be produced.
    Approved,
    /// Produced and written to the customers' ledgers.
    Released,
}

impl LegalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LegalStatus::Requested => "requested",
            LegalStatus::Approved => "approved",
            LegalStatus::Released => "released",
        }
    }

    pub fn parse(s: &str) -> Option<LegalStatus> {
        [
            LegalStatus::Requested,
            LegalStatus::Approved,
            LegalStatus::Released,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
    }
}

/// A request from an authority, as stored. The reference is the authority's document
/// number, not personal data; the scope names customers by their opaque ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalRequest {
    pub id: LegalRequestId,
    /// An authority the policy declares.
    pub authority: String,
    /// The authority's written request: its number and date, as the DPO records them.
    pub reference: String,
    pub customers: Vec<CustomerId>,
    /// The categories released.
    pub categories: Vec<String>,
    /// The period the release covers: orders placed from `period_from` (inclusive) until
    /// `period_to` (exclusive); `None` leaves that end open. Profile data is as it stands.
    pub period_from: Option<Timestamp>,
    pub period_to: Option<Timestamp>,
    /// Whether the customers may be told now.
    pub notify: bool,
    /// When the customers may not be told, until when (`None`: until the DPO lifts it).
    pub silence_until: Option<Timestamp>,
    pub status: LegalStatus,
    pub requested_by: String,
    pub requested_at: Timestamp,
    pub approved_by: Option<String>,
    pub approved_at: Option<Timestamp>,
    pub released_at: Option<Timestamp>,
}

/// What one customer's ledger says of a legal release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalRelease {
    pub request: LegalRequestId,
    #[serde(skip)]
    pub customer: CustomerId,
    pub authority: String,
    pub categories: Vec<String>,
    pub fields: Vec<String>,
    pub at: Timestamp,
    /// `sha256:<hex>` of what was released about the customer.
    pub digest: String,
    /// From when the customer may see it (`None`: not yet known — silenced until lifted).
    pub visible_from: Option<Timestamp>,
}

/// Where requests and releases are kept. Approval and release are transitions that succeed
/// only from the state they expect, so two administrators cannot both approve, nor a request
/// be released twice.
#[async_trait]
pub trait LegalStore: Send + Sync {
    async fn create(&self, request: &LegalRequest) -> Result<(), StoreError>;

    async fn get(&self, id: &LegalRequestId) -> Result<Option<LegalRequest>, StoreError>;

    async fn list(&self) -> Result<Vec<LegalRequest>, StoreError>;

    /// Requested → approved; false when it was not requested (any more).
    async fn approve(
        &self,
        id: &LegalRequestId,
        by: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Approved → released, with the releases written in the same transaction; false when
    /// it was not approved (any more), and then nothing is written.
    async fn release(
        &self,
        id: &LegalRequestId,
        at: Timestamp,
        releases: &[LegalRelease],
    ) -> Result<bool, StoreError>;

    /// Lifts the silence: every release of the request becomes visible from `at`.
    async fn lift_silence(&self, id: &LegalRequestId, at: Timestamp) -> Result<(), StoreError>;

    /// The customer's legal releases, oldest first.
    async fn releases_of(&self, customer: &CustomerId) -> Result<Vec<LegalRelease>, StoreError>;
}
