//! The request use cases (P1; Decree 356/2025 art. 5): a customer asks in the privacy centre,
//! or a care agent or the DPO enters what a customer asked by phone, email or letter; each
//! request gets its deadlines, moves through its states with every move audited, and a
//! second open request of the same kind is merged into the first.

use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use custodian_policy::Operation;

use super::{RequestContext, Vault, VaultError, not_found, reject};
use crate::access::Principal;
use crate::error::ErrorCode;
use crate::ids::{CustomerId, RequestId};
use crate::rights::request::{
    RequestChannel, RequestEvent, RequestState, RequestStore, StoredRequest,
};
use crate::rights::{Deadlines, Jurisdiction, Profile, RequestKind, WorkingCalendar};

/// The field the customer's own words are sealed as.
const DETAILS_FIELD: &str = "request.details";

/// How requests' deadlines are counted: the jurisdiction's profile and the working calendar
/// (`[rights]` in the configuration; Vietnamese by default).
#[derive(Debug, Clone)]
pub struct RequestRules {
    pub profile: Profile,
    pub calendar: WorkingCalendar,
}

impl Default for RequestRules {
    fn default() -> RequestRules {
        RequestRules {
            profile: Jurisdiction::Vn.profile(),
            calendar: WorkingCalendar::vietnam(),
        }
    }
}

impl RequestRules {
    pub fn new(jurisdiction: Jurisdiction, calendar: WorkingCalendar) -> RequestRules {
        RequestRules {
            profile: jurisdiction.profile(),
            calendar,
        }
    }

    /// A stored request's deadlines, as the calculator knows them.
    fn deadlines_of(&self, r: &StoredRequest) -> Option<Deadlines> {
        Some(Deadlines {
            received_on: self.calendar.local_date(r.received_at).ok()?,
            acknowledge_by: r.acknowledge_by,
            complete_by: r.complete_by,
            extension_limit: r.extension_limit,
            extended: r.state == RequestState::Extended,
            day_count: self.profile.day_count,
            utc_offset: self.calendar.offset().ok()?,
        })
    }
}

/// What a request asks, as entered.
#[derive(Clone)]
pub struct RequestInput {
    /// A right's kind (`access`, `deletion`, …).
    pub kind: String,
    pub channel: RequestChannel,
    /// Partners must act too (longer periods under the Vietnamese rules).
    pub partners_involved: bool,
    /// The customer's own words: what to correct, what to object to.
    pub details: Option<String>,
}

impl std::fmt::Debug for RequestInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestInput")
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// A request as its customer, or staff allowed to, may see it.
#[derive(Debug, Serialize)]
pub struct RequestView {
    pub id: RequestId,
    pub customer: CustomerId,
    pub kind: String,
    pub state: RequestState,
    pub channel: RequestChannel,
    pub received_at: Timestamp,
    pub acknowledge_by: Date,
    pub complete_by: Date,
    /// Days left until `complete_by` (negative: overdue), in the jurisdiction's day count.
    pub days_left: i64,
    pub overdue: bool,
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// This request was asked again while open: the earlier request stands.
    pub merged: bool,
}

/// A move asked for.
#[derive(Debug, Clone)]
pub struct RequestMove {
    pub to: RequestState,
    /// Required to extend or reject; told to the customer.
    pub reason: Option<String>,
    /// The new due date of an extension.
    pub complete_by: Option<Date>,
}

impl Vault {
    /// Keeps requests in `store`, with deadlines by `rules`.
    pub fn with_request_store(
        mut self,
        store: Arc<dyn RequestStore>,
        rules: RequestRules,
    ) -> Vault {
        self.requests = Some((store, Arc::new(rules)));
        self
    }

    fn request_store(&self) -> Result<(&Arc<dyn RequestStore>, &RequestRules), VaultError> {
        self.requests
            .as_ref()
            .map(|(s, r)| (s, r.as_ref()))
            .ok_or_else(|| VaultError::Rejected(crate::error::ApiError::unavailable()))
    }

    fn view(&self, rules: &RequestRules, r: StoredRequest, details: Option<String>) -> RequestView {
        let now = self.clock.now();
        let (days_left, overdue) = match rules.deadlines_of(&r) {
            Some(d) => (
                d.days_left(now, &rules.calendar),
                r.state.is_open() && d.is_overdue(now),
            ),
            None => (0, false),
        };
        RequestView {
            days_left,
            overdue,
            id: r.id,
            customer: r.customer,
            kind: r.kind,
            state: r.state,
            channel: r.channel,
            received_at: r.received_at,
            acknowledge_by: r.acknowledge_by,
            complete_by: r.complete_by,
            reason: r.reason,
            details,
            merged: false,
        }
    }

    /// Records a request. A customer asks for themselves in the privacy centre; staff enter
    /// what a customer asked by phone, email or letter. A second open request of the same
    /// kind is merged into the first, which is returned (`merged`).
    pub async fn submit_request(
        &self,
        ctx: &RequestContext,
        customer: &CustomerId,
        input: RequestInput,
    ) -> Result<RequestView, VaultError> {
        let stored = self
            .customer_caller(ctx, Operation::RequestsRecord, "request.submit", customer)
            .await?;
        let (store, rules) = self.request_store()?;
        let Some(kind) = RequestKind::parse(&input.kind) else {
            return Err(reject(
                ErrorCode::InvalidBody,
                "`kind` is one of access, portability, correction, deletion, consent_withdrawal, \
                 restriction, objection",
                "kind",
            ));
        };
        let own = matches!(ctx.principal, Principal::Customer { .. });
        if own != (input.channel == RequestChannel::PrivacyCentre) {
            return Err(reject(
                ErrorCode::InvalidBody,
                "a customer asks in the privacy centre; staff enter requests made by phone, \
                 email or letter",
                "channel",
            ));
        }
        let Some(key) = self.live_key(&stored).await? else {
            return Err(self
                .refuse(ctx, "request.submit", customer, not_found())
                .await?);
        };
        let now = self.clock.now();
        let id = RequestId::generate(now)?;
        let deadlines = Deadlines::compute(
            &rules.profile,
            &rules.calendar,
            kind,
            now,
            input.partners_involved,
        )
        .map_err(|_| VaultError::Rejected(crate::error::ApiError::internal()))?;
        let details = match &input.details {
            Some(text) => {
                let cut: String = text.chars().take(4000).collect();
                Some(self.seal_field(&key, customer, id.as_str(), DETAILS_FIELD, cut.as_bytes())?)
            }
            None => None,
        };
        let request = StoredRequest {
            id: id.clone(),
            customer: customer.clone(),
            kind: input.kind.clone(),
            state: RequestState::Received,
            channel: input.channel,
            entered_by: ctx.principal.audit_name(),
            received_at: now,
            partners_involved: input.partners_involved,
            acknowledge_by: deadlines.acknowledge_by,
            complete_by: deadlines.complete_by,
            extension_limit: deadlines.extension_limit,
            reason: None,
            details,
            updated_at: now,
        };
        let event = RequestEvent {
            request: id.clone(),
            at: now,
            from: None,
            to: RequestState::Received,
            actor: ctx.principal.audit_name(),
            note: None,
        };
        let mut audit = self.event(ctx, "request.received", Some(customer));
        audit.purpose = None;
        audit.withheld.push(format!("request:{id}:{}", input.kind));
        self.audit_only(audit).await?;
        match store.create(&request, &event).await? {
            Ok(()) => Ok(self.view(rules, request, input.details)),
            Err(open) => {
                store
                    .note(&RequestEvent {
                        request: open.id.clone(),
                        from: Some(open.state),
                        to: open.state,
                        note: Some("merged".to_owned()),
                        ..event
                    })
                    .await?;
                let mut view = self.view(rules, open, None);
                view.merged = true;
                Ok(view)
            }
        }
    }

    /// The customer's requests, oldest first, with their deadlines and days left.
    pub async fn requests_of(
        &self,
        ctx: &RequestContext,
        customer: &CustomerId,
    ) -> Result<Vec<RequestView>, VaultError> {
        self.customer_caller(ctx, Operation::RequestsRead, "request.list", customer)
            .await?;
        let (store, rules) = self.request_store()?;
        let mut audit = self.event(ctx, "request.list", Some(customer));
        audit.purpose = None;
        self.audit_only(audit).await?;
        Ok(store
            .of_customer(customer)
            .await?
            .into_iter()
            .map(|r| self.view(rules, r, None))
            .collect())
    }

    /// Every open request past its due date (the DPO's list), oldest first.
    pub async fn overdue_requests(
        &self,
        ctx: &RequestContext,
    ) -> Result<Vec<RequestView>, VaultError> {
        self.check_operation(ctx, Operation::RequestsManage)?;
        let (store, rules) = self.request_store()?;
        Ok(store
            .open()
            .await?
            .into_iter()
            .map(|r| self.view(rules, r, None))
            .filter(|v| v.overdue)
            .collect())
    }

    /// Moves a request on (the DPO). An extension needs a reason and a new due date within
    /// the limit; a rejection needs a reason. Every move is audited and kept in the trail.
    pub async fn move_request(
        &self,
        ctx: &RequestContext,
        id: &RequestId,
        change: RequestMove,
    ) -> Result<RequestView, VaultError> {
        self.check_operation(ctx, Operation::RequestsManage)?;
        let (store, rules) = self.request_store()?;
        let missing = || reject(ErrorCode::RequestNotFound, "no request has this id", "id");
        let request = store.get(id).await?.ok_or_else(missing)?;
        if !request.state.may_become(change.to) {
            return Err(reject(
                ErrorCode::RequestTransitionNotAllowed,
                format!(
                    "a request that is {} cannot become {}",
                    request.state.as_str(),
                    change.to.as_str()
                ),
                "to",
            ));
        }
        let reason = change
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let needs_reason = matches!(change.to, RequestState::Extended | RequestState::Rejected);
        if needs_reason && reason.is_none() {
            return Err(reject(
                ErrorCode::InvalidBody,
                "an extension or a rejection states its reason, which the customer is told",
                "reason",
            ));
        }
        let mut complete_by = None;
        if change.to == RequestState::Extended {
            let deadlines = rules
                .deadlines_of(&request)
                .ok_or_else(|| VaultError::Rejected(crate::error::ApiError::internal()))?;
            let asked = change.complete_by.ok_or_else(|| {
                reject(
                    ErrorCode::InvalidBody,
                    "an extension names its new due date",
                    "complete_by",
                )
            })?;
            let extended = deadlines
                .extend(asked)
                .map_err(|e| reject(ErrorCode::InvalidBody, e.to_string(), "complete_by"))?;
            complete_by = Some(extended.complete_by);
        }
        let now = self.clock.now();
        let mut audit = self.event(
            ctx,
            &format!("request.{}", change.to.as_str()),
            Some(&request.customer),
        );
        audit.purpose = None;
        audit.withheld.push(format!("request:{id}"));
        self.audit_only(audit).await?;
        let event = RequestEvent {
            request: id.clone(),
            at: now,
            from: Some(request.state),
            to: change.to,
            actor: ctx.principal.audit_name(),
            note: reason.map(str::to_owned),
        };
        if !store
            .transition(request.state, &event, complete_by, reason)
            .await?
        {
            return Err(reject(
                ErrorCode::RequestTransitionNotAllowed,
                "the request moved meanwhile; read it again",
                "to",
            ));
        }
        let moved = store.get(id).await?.ok_or_else(missing)?;
        Ok(self.view(rules, moved, None))
    }
}
