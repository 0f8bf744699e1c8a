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

    /// The state in words, as the customer reads it (the privacy centre, the export).
    pub fn label(self, lang: custodian_policy::Lang) -> &'static str {
        let (vi, en) = match self {
            RequestState::Received => ("Đã nhận", "Received"),
            RequestState::Acknowledged => ("Đã xác nhận tiếp nhận", "Acknowledged"),
            RequestState::Verified => ("Đã xác minh danh tính", "Identity verified"),
            RequestState::InProgress => ("Đang xử lý", "In progress"),
            RequestState::Extended => ("Đã gia hạn", "Extended"),
            RequestState::Completed => ("Đã hoàn thành", "Completed"),
            RequestState::Rejected => ("Bị từ chối", "Rejected"),
        };
        match lang {
            custodian_policy::Lang::Vi => vi,
            custodian_policy::Lang::En => en,
        }
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
    /// The purposes an objection is to, or a consent withdrawal names (none: every consent).
    pub purposes: Vec<String>,
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

/// A limit the customer put on processing (Law 91/2025 art. 14; GDPR art. 18 and 21): a
/// restriction freezes every purpose but legal obligations, an objection stops one purpose.
/// It holds from the moment it is applied until it is lifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessingLimit {
    pub customer: CustomerId,
    #[serde(flatten)]
    pub kind: LimitKind,
    /// The request that asked for it.
    pub request: Option<RequestId>,
    pub since: Timestamp,
}

/// What a limit stops.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "purpose", rename_all = "snake_case")]
pub enum LimitKind {
    /// Everything but storage and legal obligations.
    Restriction,
    /// One purpose.
    Objection(String),
}

impl LimitKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            LimitKind::Restriction => "restriction",
            LimitKind::Objection(_) => "objection",
        }
    }

    /// The purpose objected to; none for a restriction.
    pub fn purpose(&self) -> Option<&str> {
        match self {
            LimitKind::Restriction => None,
            LimitKind::Objection(p) => Some(p),
        }
    }
}

/// The one-time code that proves the customer asked: at most one per request, a new one
/// replaces it. Stored only as an HMAC under the code key.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredRequestCode {
    pub request: RequestId,
    pub code_digest: [u8; 32],
    pub attempts: u32,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for StoredRequestCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredRequestCode")
            .field("request", &self.request)
            .field("attempts", &self.attempts)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
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

    /// The customer's limits in force (not lifted).
    async fn limits(&self, customer: &CustomerId) -> Result<Vec<ProcessingLimit>, StoreError>;

    /// Applies limits; one already in force is left as it is.
    async fn apply_limits(&self, limits: &[ProcessingLimit]) -> Result<(), StoreError>;

    /// Lifts a limit in force; false when there was none.
    async fn lift_limit(
        &self,
        customer: &CustomerId,
        kind: &LimitKind,
        at: Timestamp,
        by: &str,
    ) -> Result<bool, StoreError>;

    /// Keeps a request's code, replacing any earlier one; its `attempts` are those already
    /// spent on the request, so that a new code does not start them afresh.
    async fn put_request_code(&self, code: &StoredRequestCode) -> Result<(), StoreError>;

    async fn request_code(&self, id: &RequestId) -> Result<Option<StoredRequestCode>, StoreError>;

    /// Counts an attempt at the code, up to `max`: the new count, or `None` when the attempts
    /// are spent (or no code is pending).
    async fn count_request_code_attempt(
        &self,
        id: &RequestId,
        max: u32,
    ) -> Result<Option<u32>, StoreError>;

    /// Takes the code once: true only for the first caller with this digest.
    async fn take_request_code(
        &self,
        id: &RequestId,
        digest: &[u8; 32],
    ) -> Result<bool, StoreError>;
}
