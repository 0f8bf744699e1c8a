//! Requests from data subjects (P1; Decree 356/2025 art. 5): what was asked, by which
//! channel, where it stands, and when it is due. The use cases are on
//! [`crate::vault::Vault`] (`vault/requests.rs`); this module holds the states and the port.

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::StoreError;
use crate::ids::{CustomerId, RequestId};
use crate::vault::SealedField;

/// Where a request stands. Received → acknowledged → verified → in progress → completed, or
/// rejected (with a reason) at any open step; an extended request (with a reason, told to
/// the customer) is still open until completed or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Received,
    Acknowledged,
    Verified,
    InProgress,
    Extended,
    Completed,
    Rejected,
}

impl RequestState {
    pub const ALL: [RequestState; 7] = [
        RequestState::Received,
        RequestState::Acknowledged,
        RequestState::Verified,
        RequestState::InProgress,
        RequestState::Extended,
        RequestState::Completed,
        RequestState::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Received => "received",
            RequestState::Acknowledged => "acknowledged",
            RequestState::Verified => "verified",
            RequestState::InProgress => "in_progress",
            RequestState::Extended => "extended",
            RequestState::Completed => "completed",
            RequestState::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<RequestState> {
        RequestState::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn is_open(self) -> bool {
        !matches!(self, RequestState::Completed | RequestState::Rejected)
    }

    /// The states a request may move to from this one.
    pub fn next(self) -> &'static [RequestState] {
        match self {
            RequestState::Received => &[RequestState::Acknowledged, RequestState::Rejected],
            RequestState::Acknowledged => &[RequestState::Verified, RequestState::Rejected],
            RequestState::Verified => &[RequestState::InProgress, RequestState::Rejected],
            RequestState::InProgress => &[
                RequestState::Extended,
                RequestState::Completed,
                RequestState::Rejected,
            ],
            RequestState::Extended => &[RequestState::Completed, RequestState::Rejected],
            RequestState::Completed | RequestState::Rejected => &[],
        }
    }

    pub fn may_become(self, to: RequestState) -> bool {
        self.next().contains(&to)
    }
}

/// How the request reached the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestChannel {
    /// The customer, signed in, in the privacy centre (or through the API).
    PrivacyCentre,
    Phone,
    Email,
    Letter,
}

impl RequestChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestChannel::PrivacyCentre => "privacy_centre",
            RequestChannel::Phone => "phone",
            RequestChannel::Email => "email",
            RequestChannel::Letter => "letter",
        }
    }

    pub fn parse(s: &str) -> Option<RequestChannel> {
        [
            RequestChannel::PrivacyCentre,
            RequestChannel::Phone,
            RequestChannel::Email,
            RequestChannel::Letter,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// A request as stored. The customer's own words (`details`) are personal data: sealed under
/// their key, like every field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRequest {
    pub id: RequestId,
    pub customer: CustomerId,
    /// A right's kind: `access`, `portability`, `correction`, `deletion`,
    /// `consent_withdrawal`, `restriction`, `objection`.
    pub kind: String,
    pub state: RequestState,
    pub channel: RequestChannel,
    /// Who entered it: the principal's audit name.
    pub entered_by: String,
    pub received_at: Timestamp,
    pub partners_involved: bool,
    pub acknowledge_by: Date,
    pub complete_by: Date,
    /// The latest an extension may reach.
    pub extension_limit: Date,
    /// Why it was extended (told to the customer), or why it was rejected.
    pub reason: Option<String>,
    pub details: Option<SealedField>,
    pub updated_at: Timestamp,
}

/// One move of a request, as the append-only trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestEvent {
    pub request: RequestId,
    pub at: Timestamp,
    pub from: Option<RequestState>,
    pub to: RequestState,
    pub actor: String,
    /// `merged`, an extension's or rejection's reason: never personal data.
    pub note: Option<String>,
}

/// Where requests are kept. A move succeeds only from the state it expects, so two staff
/// members cannot both move a request on.
#[async_trait]
pub trait RequestStore: Send + Sync {
    /// Creates the request, unless the customer already has an open request of the same
    /// kind: then returns that one (`Err`), and nothing is created.
    async fn create(
        &self,
        request: &StoredRequest,
        event: &RequestEvent,
    ) -> Result<Result<(), StoredRequest>, StoreError>;

    async fn get(&self, id: &RequestId) -> Result<Option<StoredRequest>, StoreError>;

    /// The customer's requests, oldest first.
    async fn of_customer(&self, customer: &CustomerId) -> Result<Vec<StoredRequest>, StoreError>;

    /// Every open request, oldest first (for the DPO's overdue list).
    async fn open(&self) -> Result<Vec<StoredRequest>, StoreError>;

    /// Moves the request from `from` to `event.to`, setting the new due date and reason when
    /// given; false when it was not in `from` (any more). The event is appended with it.
    async fn transition(
        &self,
        from: RequestState,
        event: &RequestEvent,
        complete_by: Option<Date>,
        reason: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// Appends an event that changes no state (a merged duplicate).
    async fn note(&self, event: &RequestEvent) -> Result<(), StoreError>;

    async fn events(&self, id: &RequestId) -> Result<Vec<RequestEvent>, StoreError>;
}
