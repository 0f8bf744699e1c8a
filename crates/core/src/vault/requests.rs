//! The request use cases (P1; Decree 356/2025 art. 5): a customer asks in the privacy centre,
//! or a care agent or the DPO enters what a customer asked by phone, email or letter; each
//! request gets its deadlines, moves through its states with every move audited, and a
//! second open request of the same kind is merged into the first.

use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use custodian_policy::{Lang, LegalBasis, NeedToKnow, Operation};

use crate::notify::{Channel, NoticeMessage};

use super::{ExportLink, RequestContext, ShownNotice, Vault, VaultError, not_found, reject};
use crate::access::{Principal, Purposes, Withheld};
use crate::consent::{
    Collection, CollectionChannel, ConsentChange, ConsentState, Evidence, GivenBy,
};
use crate::error::ErrorCode;
use crate::ids::{CustomerId, RequestId};
use crate::rights::erasure::ErasureReport;
use crate::rights::request::{
    LimitKind, ProcessingLimit, RequestChannel, RequestEvent, RequestState, RequestStore,
    StoredRequest,
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
    /// The purposes an objection is to (at least one), or a consent withdrawal names (none:
    /// every consent given). No other kind names purposes.
    pub purposes: Vec<String>,
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub purposes: Vec<String>,
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
    /// Tells customers of their requests' extensions and rejections through `notifier`.
    pub fn with_notifier(mut self, notifier: Arc<dyn crate::notify::Notifier>) -> Vault {
        self.notifier = Some(notifier);
        self
    }

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
            purposes: r.purposes,
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
        let purposes = self.request_purposes(kind, &input.purposes)?;
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
                // Stored in NFC, like every value (free text: several lines, any direction).
                let cut: String = crate::text::nfc(text).chars().take(4000).collect();
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
            purposes,
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
            Ok(()) => {
                // Acknowledged on receipt: the customer sees at once that it reached us and
                // when it is due. A care agent can only have entered it in a care session
                // verified by a code to the contact on file, which proves who asked.
                let mut request = self
                    .step(
                        ctx,
                        store,
                        &request,
                        RequestState::Acknowledged,
                        ACKNOWLEDGER,
                        None,
                    )
                    .await?;
                self.tell_customer(ctx, &request, RequestNotice::Acknowledged)
                    .await;
                if self.verified_by_care_session(ctx) {
                    request = self
                        .step(
                            ctx,
                            store,
                            &request,
                            RequestState::Verified,
                            &ctx.principal.audit_name(),
                            Some("care_session"),
                        )
                        .await?;
                }
                Ok(self.view(rules, request, input.details))
            }
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
        let needs_reason = matches!(
            change.to,
            RequestState::Verified | RequestState::Extended | RequestState::Rejected
        );
        if needs_reason && reason.is_none() {
            return Err(reject(
                ErrorCode::InvalidBody,
                "a verification states how the customer's identity was checked; an extension \
                 or a rejection states its reason, which the customer is told",
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
        let moved = self
            .step_with(
                ctx,
                store,
                &request,
                change.to,
                &ctx.principal.audit_name(),
                reason,
                complete_by,
            )
            .await?;
        // The move is committed: telling the customer can fail without undoing it (the
        // reason stays in the privacy centre).
        let notice = match (change.to, reason) {
            (RequestState::Extended, Some(reason)) => Some(RequestNotice::Extended { reason }),
            (RequestState::Rejected, Some(reason)) => Some(RequestNotice::Rejected { reason }),
            (RequestState::Completed, _) => Some(RequestNotice::Completed),
            _ => None,
        };
        if let Some(notice) = notice {
            self.tell_customer(ctx, &moved, notice).await;
        }
        Ok(self.view(rules, moved, None))
    }

    /// Tells the customer by email what became of their request: received (and by when it
    /// is due), extended (until when, and why), rejected (why), completed. The move is
    /// committed before: a notice that cannot go out never undoes it — it is audited as
    /// refused, logged by kind, and the customer still sees the request in the privacy centre.
    async fn tell_customer(
        &self,
        ctx: &RequestContext,
        request: &StoredRequest,
        notice: RequestNotice<'_>,
    ) {
        let contact = self.notice_contact(ctx, request).await;
        self.tell_at(ctx, request, contact, notice).await;
    }

    /// Tells the customer at a contact read before (so that a completed deletion can still be
    /// told); a failure to read it, send or record is logged by kind and changes nothing.
    async fn tell_at(
        &self,
        ctx: &RequestContext,
        request: &StoredRequest,
        contact: Result<Option<crate::notify::Contact>, VaultError>,
        notice: RequestNotice<'_>,
    ) {
        let told = match contact {
            Ok(contact) => {
                self.send_request_notice(ctx, request, contact, notice)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = told {
            tracing::warn!(error = %e, "a request's notice could not be sent or recorded");
        }
    }

    /// The email on file to tell the customer at, read as `system:request_notice`; `None`
    /// when no notifier sends email or the customer has none (or no longer exists).
    async fn notice_contact(
        &self,
        ctx: &RequestContext,
        request: &StoredRequest,
    ) -> Result<Option<crate::notify::Contact>, VaultError> {
        if !self
            .notifier
            .as_ref()
            .is_some_and(|n| n.delivers(Channel::Email))
        {
            return Ok(None);
        }
        self.contact_on_file(
            &request.customer,
            Channel::Email,
            crate::access::SystemTask::RequestNotice,
            ctx.request_id.clone(),
        )
        .await
    }

    /// Sends the notice to `contact`, and audits it, or audits why it could not go out.
    async fn send_request_notice(
        &self,
        ctx: &RequestContext,
        request: &StoredRequest,
        contact: Option<crate::notify::Contact>,
        notice: RequestNotice<'_>,
    ) -> Result<(), VaultError> {
        let mut event = self.event(ctx, "request.told", Some(&request.customer));
        event.actor = crate::access::Principal::System {
            task: crate::access::SystemTask::RequestNotice,
        }
        .audit_name();
        event.purpose = None;
        event.withheld.push(format!("request:{}", request.id));
        event.withheld.push(format!("notice:{}", notice.name()));
        let Some(notifier) = self.notifier.clone().filter(|n| n.delivers(Channel::Email)) else {
            event.decision = crate::audit::Decision::Denied;
            event.withheld.push("reason:notifier_unavailable".into());
            return self.audit_only(event).await;
        };
        let Some(contact) = contact else {
            event.decision = crate::audit::Decision::Denied;
            event.withheld.push("reason:no_contact_on_file".into());
            return self.audit_only(event).await;
        };
        let message = request_notice(&self.policy, request, notice, self.clock.now());
        if notifier.send_notice(&contact, &message).await.is_err() {
            event.decision = crate::audit::Decision::Denied;
            event.withheld.push("reason:not_delivered".into());
        }
        self.audit_only(event).await
    }
}

/// What a customer is told of their request.
#[derive(Debug, Clone, Copy)]
enum RequestNotice<'a> {
    /// It reached us (Decree 356/2025 art. 5: acknowledged within 2 working days).
    Acknowledged,
    Extended {
        reason: &'a str,
    },
    Rejected {
        reason: &'a str,
    },
    Completed,
}

impl RequestNotice<'_> {
    /// The notice's name in the audit log.
    fn name(&self) -> &'static str {
        match self {
            RequestNotice::Acknowledged => "acknowledged",
            RequestNotice::Extended { .. } => "extended",
            RequestNotice::Rejected { .. } => "rejected",
            RequestNotice::Completed => "completed",
        }
    }
}

/// A request's notice, in Vietnamese then English (the customer's language is not on file).
fn request_notice(
    policy: &custodian_policy::Policy,
    request: &StoredRequest,
    notice: RequestNotice<'_>,
    now: Timestamp,
) -> NoticeMessage {
    let kind = |lang| {
        policy
            .rights
            .iter()
            .find(|r| r.kind.as_str() == request.kind)
            .map_or(request.kind.as_str(), |r| r.label.get(lang))
            .to_owned()
    };
    let (vi, en) = (kind(Lang::Vi), kind(Lang::En));
    let due = request.complete_by;
    let received = request.received_at;
    let deleted = request.kind == RequestKind::Deletion.as_str();
    let text = match notice {
        RequestNotice::Acknowledged => format!(
            "Chúng tôi đã nhận yêu cầu \"{vi}\" của bạn lúc {received}. Hạn hoàn thành: {due}.\n\
             Bạn có thể xem yêu cầu trong trung tâm quyền riêng tư.\n\n\
             We received your request \"{en}\" at {received}. It will be completed by \
             {due}.\nYou can follow it in the privacy centre.\n"
        ),
        RequestNotice::Extended { reason } => format!(
            "Yêu cầu \"{vi}\" của bạn cần thêm thời gian. Hạn hoàn thành mới: {due}. Lý do: \
             {reason}\nBạn có thể xem yêu cầu trong trung tâm quyền riêng tư.\n\n\
             Your request \"{en}\" needs more time. It will be completed by {due}. Why: \
             {reason}\nYou can follow it in the privacy centre.\n"
        ),
        RequestNotice::Rejected { reason } => format!(
            "Yêu cầu \"{vi}\" của bạn đã bị từ chối. Lý do: {reason}\nNếu bạn không đồng ý, \
             bạn có thể liên hệ người phụ trách bảo vệ dữ liệu hoặc khiếu nại đến cơ quan có \
             thẩm quyền.\n\n\
             Your request \"{en}\" was declined. Why: {reason}\nIf you disagree, you can \
             contact our data protection officer or complain to the authority.\n"
        ),
        RequestNotice::Completed if deleted => format!(
            "Yêu cầu \"{vi}\" của bạn đã hoàn thành: dữ liệu của bạn đã bị xoá. Những gì pháp \
             luật buộc chúng tôi giữ lại, lý do và thời hạn, được nêu trong báo cáo xoá dữ liệu.\n\n\
             Your request \"{en}\" is complete: your data was deleted. What the law requires us \
             to keep, why and until when, is in the deletion's report.\n"
        ),
        RequestNotice::Completed => format!(
            "Yêu cầu \"{vi}\" của bạn đã hoàn thành.\nBạn có thể xem kết quả trong trung tâm \
             quyền riêng tư.\n\n\
             Your request \"{en}\" is complete.\nYou can see what was done in the privacy \
             centre.\n"
        ),
    };
    NoticeMessage::new(
        "Về yêu cầu dữ liệu cá nhân của bạn / About your personal-data request",
        text,
        now,
    )
}

/// Who acknowledges a request on receipt.
const ACKNOWLEDGER: &str = "system:request_acknowledgement";

/// What fulfilling a request did.
#[derive(Debug, Serialize)]
pub struct Fulfilment {
    pub request: RequestView,
    /// The limits applied (restriction, objections).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<ProcessingLimit>,
    /// The consents withdrawn.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withdrawn: Vec<String>,
    /// For access and portability: the customer's download link (its token is shown once; the
    /// HTTP layer turns it into a URL).
    #[serde(skip)]
    pub export: Option<ExportLink>,
    /// For a deletion: what was removed, what is kept by law, why and until when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erasure: Option<ErasureReport>,
}

impl Vault {
    /// Moves a request one step, audited and kept in its trail.
    async fn step(
        &self,
        ctx: &RequestContext,
        store: &Arc<dyn RequestStore>,
        request: &StoredRequest,
        to: RequestState,
        actor: &str,
        note: Option<&str>,
    ) -> Result<StoredRequest, VaultError> {
        self.step_with(ctx, store, request, to, actor, note, None)
            .await
    }

    /// [`Self::step`] with a new due date. `note` is the trail's; for an extension or a
    /// rejection it is also the request's reason, told to the customer.
    #[allow(
        clippy::too_many_arguments,
        reason = "one move, every part of it named"
    )]
    async fn step_with(
        &self,
        ctx: &RequestContext,
        store: &Arc<dyn RequestStore>,
        request: &StoredRequest,
        to: RequestState,
        actor: &str,
        note: Option<&str>,
        complete_by: Option<Date>,
    ) -> Result<StoredRequest, VaultError> {
        let moved_meanwhile = || {
            reject(
                ErrorCode::RequestTransitionNotAllowed,
                "the request moved meanwhile; read it again",
                "to",
            )
        };
        if !request.state.may_become(to) {
            return Err(moved_meanwhile());
        }
        let mut audit = self.event(
            ctx,
            &format!("request.{}", to.as_str()),
            Some(&request.customer),
        );
        audit.actor = actor.to_owned();
        audit.purpose = None;
        audit.withheld.push(format!("request:{}", request.id));
        self.audit_only(audit).await?;
        let event = RequestEvent {
            request: request.id.clone(),
            at: self.clock.now(),
            from: Some(request.state),
            to,
            actor: actor.to_owned(),
            note: note.map(str::to_owned),
        };
        let reason = matches!(to, RequestState::Extended | RequestState::Rejected)
            .then_some(note)
            .flatten();
        if !store
            .transition(request.state, &event, complete_by, reason)
            .await?
        {
            return Err(moved_meanwhile());
        }
        store.get(&request.id).await?.ok_or_else(moved_meanwhile)
    }

    /// A care agent acts on a customer only in a care session verified by a code sent to the
    /// contact on file (checked by [`Self::customer_caller`] before anything else).
    fn verified_by_care_session(&self, ctx: &RequestContext) -> bool {
        match &ctx.principal {
            Principal::Staff { role, .. } => self
                .policy
                .role_named(role.as_str())
                .is_some_and(|r| r.need_to_know == NeedToKnow::CareSession),
            _ => false,
        }
    }

    /// The purposes a request names, checked against its kind and the policy: an objection
    /// names at least one purpose resting on legitimate interest or consent (direct
    /// marketing); a consent withdrawal only purposes resting on consent; nothing else names any.
    fn request_purposes(
        &self,
        kind: RequestKind,
        asked: &[String],
    ) -> Result<Vec<String>, VaultError> {
        let refuse = |message: String| Err(reject(ErrorCode::InvalidBody, message, "purposes"));
        let allowed: &[LegalBasis] = match kind {
            RequestKind::Objection => &[LegalBasis::LegitimateInterest, LegalBasis::Consent],
            RequestKind::ConsentWithdrawal => &[LegalBasis::Consent],
            _ if asked.is_empty() => return Ok(Vec::new()),
            _ => {
                return refuse(
                    "only an objection or a consent withdrawal names purposes".to_owned(),
                );
            }
        };
        if kind == RequestKind::Objection && asked.is_empty() {
            return refuse("an objection names the purposes it is to".to_owned());
        }
        let mut purposes: Vec<String> = Vec::new();
        for name in asked {
            let Some(purpose) = self.policy.purpose_named(name) else {
                return refuse(super::declared_purposes(&self.policy, "purposes"));
            };
            if !allowed.contains(&purpose.legal_basis) {
                return refuse(if kind == RequestKind::Objection {
                    format!(
                        "`{}` rests on a contract or a legal obligation: it cannot be objected to",
                        purpose.id
                    )
                } else {
                    format!("`{}` does not rest on consent", purpose.id)
                });
            }
            if !purposes.iter().any(|p| p == purpose.id.as_str()) {
                purposes.push(purpose.id.as_str().to_owned());
            }
        }
        Ok(purposes)
    }

    /// The request with this id, for its own customer or staff who manage requests; anyone
    /// else is told it does not exist.
    pub(crate) async fn request_for(
        &self,
        ctx: &RequestContext,
        id: &RequestId,
    ) -> Result<StoredRequest, VaultError> {
        let (store, _) = self.request_store()?;
        let missing = || reject(ErrorCode::RequestNotFound, "no request has this id", "id");
        let request = store.get(id).await?.ok_or_else(missing)?;
        let allowed = match &ctx.principal {
            Principal::Customer { id } => *id == request.customer,
            other => self.engine.may(other, Operation::RequestsManage),
        };
        if !allowed {
            return Err(missing());
        }
        Ok(request)
    }

    /// The request store, for the code that proves who asked (`care`).
    pub(crate) fn requests_port(&self) -> Result<&Arc<dyn RequestStore>, VaultError> {
        Ok(self.request_store()?.0)
    }

    /// Marks an acknowledged request verified: the customer read back the code sent to the
    /// contact on file (`how` says so in the trail).
    pub(crate) async fn verify_request(
        &self,
        ctx: &RequestContext,
        request: &StoredRequest,
        how: &str,
    ) -> Result<StoredRequest, VaultError> {
        let (store, _) = self.request_store()?;
        self.step(
            ctx,
            store,
            request,
            RequestState::Verified,
            &ctx.principal.audit_name(),
            Some(how),
        )
        .await
    }

    /// Carries out a verified request and completes it: a restriction or objection is applied
    /// (from the next decision on), consents are withdrawn. A customer fulfils their own
    /// request once verified, except a correction, which staff make and then complete; the DPO
    /// (`requests.manage`) fulfils any verified request.
    pub async fn fulfil_request(
        &self,
        ctx: &RequestContext,
        id: &RequestId,
    ) -> Result<Fulfilment, VaultError> {
        let (store, rules) = self.request_store()?;
        let mut request = self.request_for(ctx, id).await?;
        let Some(kind) = RequestKind::parse(&request.kind) else {
            return Err(VaultError::Rejected(crate::error::ApiError::internal()));
        };
        let own = matches!(ctx.principal, Principal::Customer { .. });
        if own && kind == RequestKind::Correction {
            return Err(reject(
                ErrorCode::OperationNotAllowed,
                "a correction is made by staff, who then complete the request",
                "operation",
            ));
        }
        if !matches!(
            request.state,
            RequestState::Verified | RequestState::InProgress | RequestState::Extended
        ) || (own && request.state != RequestState::Verified)
        {
            return Err(reject(
                ErrorCode::RequestTransitionNotAllowed,
                format!(
                    "a request that is {} cannot be fulfilled: it must be verified first",
                    request.state.as_str()
                ),
                "id",
            ));
        }
        let actor = ctx.principal.audit_name();
        if request.state == RequestState::Verified {
            request = self
                .step(ctx, store, &request, RequestState::InProgress, &actor, None)
                .await?;
        }
        // Read now: once a deletion is done, there is no email on file to tell it to.
        let contact = self.notice_contact(ctx, &request).await;
        let now = self.clock.now();
        let mut fulfilment_limits = Vec::new();
        let mut withdrawn = Vec::new();
        let mut export = None;
        let mut erasure = None;
        let note = match kind {
            RequestKind::Restriction | RequestKind::Objection => {
                let kinds: Vec<LimitKind> = if kind == RequestKind::Restriction {
                    vec![LimitKind::Restriction]
                } else {
                    request
                        .purposes
                        .iter()
                        .map(|p| LimitKind::Objection(p.clone()))
                        .collect()
                };
                fulfilment_limits = kinds
                    .into_iter()
                    .map(|kind| ProcessingLimit {
                        customer: request.customer.clone(),
                        kind,
                        request: Some(request.id.clone()),
                        since: now,
                    })
                    .collect();
                let mut audit = self.event(ctx, "limit.apply", Some(&request.customer));
                audit.purpose = None;
                audit.withheld.push(format!("request:{id}"));
                for limit in &fulfilment_limits {
                    audit.withheld.push(match limit.kind.purpose() {
                        Some(p) => format!("objection:{p}"),
                        None => "restriction".to_owned(),
                    });
                }
                self.audit_only(audit).await?;
                store.apply_limits(&fulfilment_limits).await?;
                "limits_applied"
            }
            RequestKind::ConsentWithdrawal => {
                withdrawn = self.withdraw_for_request(ctx, &request).await?;
                "consents_withdrawn"
            }
            RequestKind::Correction => "corrected",
            RequestKind::Access | RequestKind::Portability => {
                export = Some(
                    self.issue_export_link(ctx, &request.customer, Some(&request.id))
                        .await?,
                );
                "export_ready"
            }
            // The request outlives the customer: it holds nothing of theirs in the clear, and
            // the trail is the proof the request was met. Asked again after a crash, the
            // erasure answers with the same report.
            RequestKind::Deletion => {
                erasure = Some(
                    self.erase_for_request(ctx, &request.customer, &request.id)
                        .await?,
                );
                "erased"
            }
        };
        let done = self
            .step(
                ctx,
                store,
                &request,
                RequestState::Completed,
                &actor,
                Some(note),
            )
            .await?;
        self.tell_at(ctx, &done, contact, RequestNotice::Completed)
            .await;
        Ok(Fulfilment {
            request: self.view(rules, done, None),
            limits: fulfilment_limits,
            withdrawn,
            export,
            erasure,
        })
    }

    /// Withdraws the consents a request names (every one given, when it names none), as asked
    /// on the request's channel, under the notice in force.
    async fn withdraw_for_request(
        &self,
        ctx: &RequestContext,
        request: &StoredRequest,
    ) -> Result<Vec<String>, VaultError> {
        let channel = match request.channel {
            RequestChannel::PrivacyCentre => CollectionChannel::WebForm,
            RequestChannel::Email => CollectionChannel::Email,
            RequestChannel::Letter => CollectionChannel::Letter,
            RequestChannel::Phone => {
                return Err(reject(
                    ErrorCode::InvalidBody,
                    "a withdrawal asked by phone is recorded with the call's recording \
                     (`/v1/customers/{id}/consents`); then complete the request",
                    "channel",
                ));
            }
        };
        let granted: Vec<String> = self
            .store
            .consents(&request.customer)
            .await?
            .into_iter()
            .filter(|e| e.state == ConsentState::Granted)
            .map(|e| e.purpose)
            .filter(|p| request.purposes.is_empty() || request.purposes.contains(p))
            .collect();
        let changes: Vec<ConsentChange> = granted
            .iter()
            .map(|purpose| ConsentChange {
                purpose: purpose.clone(),
                state: ConsentState::Denied,
                options: std::collections::BTreeMap::new(),
            })
            .collect();
        let collection = Collection {
            channel,
            recording_id: None,
            given_by: GivenBy::Customer,
            representative_name: None,
            evidence: Evidence {
                request_id: ctx.request_id.clone(),
                user_agent: None,
                ip: None,
                gpc: false,
            },
        };
        let notice = ShownNotice::current(&self.policy);
        self.record_consents(ctx, &request.customer, &notice, &collection, &changes)
            .await?;
        Ok(granted)
    }

    /// The limits the customer put on processing, in force now.
    pub async fn limits_of(
        &self,
        ctx: &RequestContext,
        customer: &CustomerId,
    ) -> Result<Vec<ProcessingLimit>, VaultError> {
        self.customer_caller(ctx, Operation::RequestsRead, "limit.list", customer)
            .await?;
        let (store, _) = self.request_store()?;
        Ok(store.limits(customer).await?)
    }

    /// Lifts a restriction or an objection: the customer themselves, or the DPO. Processing
    /// may go on from the next decision.
    pub async fn lift_limit(
        &self,
        ctx: &RequestContext,
        customer: &CustomerId,
        kind: &LimitKind,
    ) -> Result<(), VaultError> {
        let operation = match ctx.principal {
            Principal::Customer { .. } => Operation::RequestsRecord,
            _ => Operation::RequestsManage,
        };
        self.customer_caller(ctx, operation, "limit.lift", customer)
            .await?;
        let (store, _) = self.request_store()?;
        let mut audit = self.event(ctx, "limit.lift", Some(customer));
        audit.purpose = None;
        audit.withheld.push(match kind.purpose() {
            Some(p) => format!("objection:{p}"),
            None => "restriction".to_owned(),
        });
        self.audit_only(audit).await?;
        if !store
            .lift_limit(
                customer,
                kind,
                self.clock.now(),
                &ctx.principal.audit_name(),
            )
            .await?
        {
            return Err(reject(
                ErrorCode::LimitNotFound,
                "no such limit is in force for this customer",
                "kind",
            ));
        }
        Ok(())
    }

    /// Whether the customer's restriction or an objection stops any of `purposes` now (a
    /// release to partners, decided outside the engine): the first reason found. A legal
    /// obligation is never stopped. One query, whatever the number of purposes.
    pub(super) async fn limit_stopping(
        &self,
        customer: &CustomerId,
        purposes: &[&custodian_policy::Purpose],
    ) -> Result<Option<Withheld>, VaultError> {
        let Some((store, _)) = &self.requests else {
            return Ok(None);
        };
        let stoppable: Vec<&str> = purposes
            .iter()
            .filter(|p| p.legal_basis != LegalBasis::LegalObligation)
            .map(|p| p.id.as_str())
            .collect();
        if stoppable.is_empty() {
            return Ok(None);
        }
        let limits = store.limits(customer).await?;
        Ok(if limits.iter().any(|l| l.kind == LimitKind::Restriction) {
            Some(Withheld::Restricted)
        } else if limits
            .iter()
            .any(|l| l.kind.purpose().is_some_and(|p| stoppable.contains(&p)))
        {
            Some(Withheld::Objected)
        } else {
            None
        })
    }

    /// The customer's restriction and objections, for the access engine: read at every
    /// decision staff or an integration asks about a customer for a purpose that is not a
    /// legal obligation (which they never stop). Without a request store no limit can exist.
    pub(super) async fn limits_for_decision(
        &self,
        customer: &CustomerId,
    ) -> Result<(bool, Purposes), VaultError> {
        let Some((store, _)) = &self.requests else {
            return Ok((false, Purposes::default()));
        };
        let limits: Vec<LimitKind> = store
            .limits(customer)
            .await?
            .into_iter()
            .map(|l| l.kind)
            .collect();
        Ok(self.limit_sets(&limits))
    }

    /// The engine's view of limits: restricted or not, and the purposes objected to.
    pub(super) fn limit_sets(&self, limits: &[LimitKind]) -> (bool, Purposes) {
        let restricted = limits.contains(&LimitKind::Restriction);
        let objections = self
            .engine
            .purposes(limits.iter().filter_map(LimitKind::purpose));
        (restricted, objections)
    }
}
