//! Erasure (P1): the customer's data key is destroyed, their rows purged, what the law
//! requires kept under a legal-hold key of its own, partners told to erase what they
//! received, and a completion report kept that says what went, what stayed, why and until
//! when.
//!
//! The steps, each safe to repeat after a crash:
//! 1. the values a `[[legal_hold]]` declares are re-sealed under the hold key (one per erased
//!    customer and hold, created or found in the key store) and committed
//!    (`Write::HoldRecords`, replacing what an earlier attempt held);
//! 2. the customer's data key is destroyed — the moment of erasure;
//! 3. one commit queues the erasure notices, stores the report and purges the rest.
//!
//! A retry after step 1 holds the same values again; after step 2 it finds the key gone and
//! the held values already stored (the key is destroyed only after they are committed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::Offset;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use custodian_crypto::DataKey;
use custodian_policy::{Anchor, LegalHold, Operation};

use super::{
    OpenKey, RequestContext, StoredCustomer, StoredOrder, Vault, VaultError, Write, not_found,
    note, record, reject, summary,
};
use crate::access::{Disclosure, FieldOutcome, Principal, Withheld};
use crate::audit::{AuditEvent, Decision};
use crate::error::{ApiError, ErrorCode};
use crate::ids::{CustomerId, OrderId, OutboxId, RequestId};
use crate::orders::OrderState;
use crate::outbox::{OutboxMessage, OutboxStatus, PartnerVerifier, Payload};
use crate::rights::erasure::{
    ERASURE_REQUESTED, ErasureConfirmation, ErasureNotice, ErasureReport, ErasureStore, HeldRecord,
    Label, NoticeStatus, PartnerNotice, RemovedCategory, RetainedCategory, StoredErasure,
    StoredHoldKey,
};

/// How far a partner's signature timestamp may be from our clock.
const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// The held values of one order under one hold, as the legal-obligation purpose may see them.
#[derive(Debug, Serialize)]
pub struct HeldOrderView {
    pub hold: String,
    pub order: OrderId,
    pub held_until: Timestamp,
    pub fields: BTreeMap<String, Disclosure>,
    /// The order's items, when the hold keeps them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<super::ItemsView>,
}

/// A partner's confirmation, as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct ConfirmationView {
    pub message_id: String,
    pub confirmed_at: Timestamp,
}

/// What the key of a hold is bound to when wrapped.
fn hold_key_context(customer: &CustomerId, hold: &str, version: u32) -> String {
    format!("hold/{hold}/{customer}/{version}")
}

/// What a held value is bound to: the hold and the order (so it opens only as what it is).
fn held_record_ref(hold: &str, order: &OrderId) -> String {
    format!("hold/{hold}/{order}")
}

/// When a held value goes: the hold's duration after its anchor. `order_completed` is when
/// the order reached a final state (delivered, returned, cancelled: its last move), or, if
/// it is still open, the erasure itself.
fn held_until(hold: &LegalHold, order: &StoredOrder, now: Timestamp) -> Timestamp {
    let completed = matches!(
        order.state,
        OrderState::Delivered | OrderState::Returned | OrderState::Cancelled
    );
    let from = match hold.from {
        Anchor::OrderCompleted if completed => order.updated_at,
        Anchor::Collected => order.placed_at,
        _ => now,
    };
    Offset::UTC
        .to_datetime(from)
        .checked_add(hold.duration.to_span())
        .ok()
        .and_then(|dt| Offset::UTC.to_timestamp(dt).ok())
        .unwrap_or(Timestamp::MAX)
}

/// The category an order field (`category.field`, or `order_items` for the list) belongs to.
fn category_id(field: &str) -> &str {
    field.split('.').next().unwrap_or(field)
}

/// Orders read per query while an erasure gathers them.
const ERASURE_ORDERS_PAGE: u32 = 1000;
impl Vault {
    /// Keeps legal holds, reports and partners' confirmations in `store`.
    pub fn with_erasure_store(mut self, store: Arc<dyn ErasureStore>) -> Vault {
        self.erasure = Some(store);
        self
    }

    /// Checks partners' signatures (their erasure confirmations) with `verifier`.
    pub fn with_partner_verifier(mut self, verifier: Arc<dyn PartnerVerifier>) -> Vault {
        self.partner_verifier = Some(verifier);
        self
    }

    fn erasure_store(&self) -> Result<&Arc<dyn ErasureStore>, VaultError> {
        self.erasure
            .as_ref()
            .ok_or_else(|| VaultError::Rejected(ApiError::unavailable()))
    }

    /// Erases a customer by destroying their data key: every ciphertext of theirs — in the
    /// database, and in every backup of it, since keys are never kept with the data — becomes
    /// unreadable at once. What a legal hold requires is re-sealed under a hold key first;
    /// the rest is then purged, and every partner that received their data is told to erase
    /// it. The purpose must be one that may use the customer's data. Returns the completion
    /// report.
    pub async fn erase(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
    ) -> Result<ErasureReport, VaultError> {
        self.check_operation(ctx, Operation::CustomersErase)?;
        let purpose = self.purpose(ctx)?;
        let decision = self.decide(ctx, purpose, Some(id)).await?;
        let stored = self.load(ctx, "customer.erase", id).await?;
        if stored.erased {
            return Err(self.refuse(ctx, "customer.erase", id, not_found()).await?);
        }
        let mut event = self.event(ctx, "customer.erase", Some(id));
        for sealed in &stored.fields {
            if let Some((category, _)) = self.policy.field_named(&sealed.field)
                && self.engine.outcome(&decision, category).is_released()
            {
                note(&mut event, category, &sealed.field);
            }
        }
        if event.fields.is_empty() {
            let error = reject(
                ErrorCode::PurposeNotAllowed,
                format!(
                    "purpose `{}` may not erase this customer's data",
                    purpose.id
                ),
                "purpose",
            );
            return Err(self.refuse(ctx, "customer.erase", id, error).await?);
        }
        self.erase_customer(ctx, stored, event, None).await
    }

    /// Erases a customer for their deletion request: allowed to that very customer, or to a
    /// principal that may `requests.manage` (the DPO). No purpose is checked: the right
    /// covers all their data. The caller (the requests use case) calls it only for a
    /// verified deletion request. Asked again for the same request after it completed, it
    /// returns the same report.
    pub async fn erase_for_request(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
        request: &RequestId,
    ) -> Result<ErasureReport, VaultError> {
        match &ctx.principal {
            Principal::Customer { id: own } if own == id => {}
            Principal::Customer { .. } => {
                return Err(self.refuse(ctx, "customer.erase", id, not_found()).await?);
            }
            _ => self.check_operation(ctx, Operation::RequestsManage)?,
        }
        let stored = self.load(ctx, "customer.erase", id).await?;
        if stored.erased {
            if let Some(report) = self.stored_report(id).await?
                && report.request.as_deref() == Some(request.as_str())
            {
                return Ok(report);
            }
            return Err(self.refuse(ctx, "customer.erase", id, not_found()).await?);
        }
        let mut event = self.event(ctx, "customer.erase", Some(id));
        event.withheld.push(format!("request:{request}"));
        for sealed in &stored.fields {
            if let Some((category, _)) = self.policy.field_named(&sealed.field) {
                note(&mut event, category, &sealed.field);
            }
        }
        self.erase_customer(ctx, stored, event, Some(request.to_string()))
            .await
    }

    /// The erasure itself, once the caller is known to be allowed.
    async fn erase_customer(
        &self,
        ctx: &RequestContext,
        stored: StoredCustomer,
        event: AuditEvent,
        request: Option<String>,
    ) -> Result<ErasureReport, VaultError> {
        let id = &stored.id;
        let now = self.clock.now();
        // In pages, each one query (not one query per order).
        let mut orders: Vec<crate::vault::StoredOrder> = Vec::new();
        loop {
            let after = orders.last().map(|o| o.id.clone());
            let page = self
                .store
                .orders_page(id, after.as_ref(), ERASURE_ORDERS_PAGE)
                .await?;
            let last = page.len() < ERASURE_ORDERS_PAGE as usize;
            orders.extend(page);
            if last {
                break;
            }
        }
        let history = self.store.history(id).await?;
        let removed = self.removed_categories(&stored, &history, &orders);
        let held = match self.key_store.get(id).await? {
            Some(key) => {
                let key = self.unwrap_key(&key).await?;
                self.hold(ctx, id, &key, &orders, now).await?
            }
            // INVARIANT: a key is destroyed only after the held copies were committed, so a
            // retry that finds it gone finds them stored.
            None => match &self.erasure {
                Some(store) => store.held(id).await?,
                None => Vec::new(),
            },
        };
        let retained = self.retained_categories(&held);
        // INVARIANT: the key goes first. Once it is destroyed the data is gone whatever
        // happens next; the purge only removes ciphertext nobody can read any more.
        self.key_store.destroy(id).await?;
        let (mut writes, notices) = self.erasure_notices(id, now).await?;
        let report = ErasureReport {
            erased_at: now,
            request: request.clone(),
            removed,
            retained,
            partners: notices
                .iter()
                .map(|n| PartnerNotice {
                    partner: n.partner.clone(),
                    status: NoticeStatus::Notified,
                    notified_at: now,
                    delivered_at: None,
                    confirmed_at: None,
                })
                .collect(),
        };
        let json = serde_json::to_string(&report)
            .map_err(|_| VaultError::Rejected(ApiError::internal()))?;
        writes.push(Write::RecordErasure {
            erasure: StoredErasure {
                customer: id.clone(),
                request,
                erased_at: now,
                report: json,
            },
            notices,
        });
        writes.push(Write::PurgeCustomer {
            customer: id.clone(),
            at: now,
        });
        self.commit(writes, vec![event]).await?;
        // Their care sessions, codes, password and sessions go too. Should this fail, the
        // erasure still stands: authentication refuses customers who no longer exist.
        if let Some(care) = &self.care {
            care.purge_customer(id).await?;
        }
        Ok(report)
    }

    /// Each category the customer has data in, with how many values.
    fn removed_categories(
        &self,
        stored: &StoredCustomer,
        history: &[super::StoredHistory],
        orders: &[StoredOrder],
    ) -> Vec<RemovedCategory> {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        let names = stored
            .fields
            .iter()
            .map(|f| f.field.as_str())
            .chain(history.iter().map(|h| h.value.field.as_str()))
            .chain(
                orders
                    .iter()
                    .flat_map(|o| o.fields.iter().map(|f| f.field.as_str())),
            );
        for name in names {
            *counts.entry(category_id(name)).or_default() += 1;
        }
        self.policy
            .categories
            .iter()
            .filter_map(|c| {
                let values = *counts.get(c.id.as_str())?;
                Some(RemovedCategory {
                    category: c.id.as_str().to_owned(),
                    label: Label::from(&c.label),
                    values,
                })
            })
            .collect()
    }

    /// Each category a hold keeps values of, with the hold, its basis and the latest date.
    fn retained_categories(&self, held: &[HeldRecord]) -> Vec<RetainedCategory> {
        let mut retained = Vec::new();
        for hold in &self.policy.legal_holds {
            for category_ref in &hold.categories {
                let Some(category) = self.policy.category(category_ref) else {
                    continue;
                };
                let mine: Vec<&HeldRecord> = held
                    .iter()
                    .filter(|r| {
                        r.hold == hold.id.as_str()
                            && category_id(&r.value.field) == category.id.as_str()
                    })
                    .collect();
                let Some(until) = mine.iter().map(|r| r.held_until).max() else {
                    continue;
                };
                retained.push(RetainedCategory {
                    category: category.id.as_str().to_owned(),
                    label: Label::from(&category.label),
                    hold: hold.id.as_str().to_owned(),
                    hold_label: Label::from(&hold.label),
                    purpose: hold.purpose.as_str().to_owned(),
                    basis: Label::from(&hold.basis),
                    until,
                    values: mine.len() as u64,
                });
            }
        }
        retained
    }

    /// The customer's key for `hold`: the one on record, or a new one (wrapped by the master
    /// key, stored apart from the customer's own key).
    async fn hold_key(&self, customer: &CustomerId, hold: &str) -> Result<OpenKey, VaultError> {
        let stored = match self.key_store.hold_key(customer, hold).await? {
            Some(key) => key,
            None => {
                let version = 1;
                let context = hold_key_context(customer, hold, version);
                let wrapped = self
                    .keys
                    .wrap(&DataKey::generate()?, context.as_bytes())
                    .await?;
                let new = StoredHoldKey {
                    customer: customer.clone(),
                    hold: hold.to_owned(),
                    key_version: version,
                    wrapped,
                };
                // Two attempts racing keep one key: the first one stored.
                self.key_store.put_hold_key(&new).await?
            }
        };
        let context = hold_key_context(customer, hold, stored.key_version);
        Ok(OpenKey {
            key: self
                .keys
                .unwrap(&stored.wrapped, context.as_bytes())
                .await?,
            version: stored.key_version,
        })
    }

    /// Re-wraps every legal-hold key not under the active master-key version (re-read each
    /// batch, as for customers' keys); returns how many.
    pub(super) async fn rewrap_hold_keys(&self, batch: u32) -> Result<u64, VaultError> {
        let mut done = 0;
        loop {
            let target = self.keys.active_version();
            let keys = self
                .key_store
                .hold_keys_not_wrapped_under(target, batch.max(1))
                .await?;
            if keys.is_empty() {
                return Ok(done);
            }
            for key in &keys {
                let context = hold_key_context(&key.customer, &key.hold, key.key_version);
                let plain = self.keys.unwrap(&key.wrapped, context.as_bytes()).await?;
                let wrapped = self.keys.wrap(&plain, context.as_bytes()).await?;
                self.key_store
                    .rewrap_hold_key(&key.customer, &key.hold, key.wrapped.kek_version, &wrapped)
                    .await?;
            }
            done += keys.len() as u64;
        }
    }

    /// Step 1: re-seals what each legal hold keeps under its hold key and commits it, the
    /// decision audited (for the hold's purpose) before anything is decrypted.
    async fn hold(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
        key: &OpenKey,
        orders: &[StoredOrder],
        now: Timestamp,
    ) -> Result<Vec<HeldRecord>, VaultError> {
        let mut records = Vec::new();
        for hold in &self.policy.legal_holds {
            let kept: Vec<(&StoredOrder, &super::SealedField)> = orders
                .iter()
                .flat_map(|o| o.fields.iter().map(move |f| (o, f)))
                .filter(|(_, f)| {
                    hold.categories
                        .iter()
                        .any(|c| c.as_str() == category_id(&f.field))
                })
                .collect();
            if kept.is_empty() {
                continue;
            }
            let mut event = self.event(ctx, "customer.erase.hold", Some(id));
            event.purpose = Some(hold.purpose.as_str().to_owned());
            event.withheld.push(format!("hold:{}", hold.id));
            for (_, sealed) in &kept {
                if let Some(category) = self.policy.category_named(category_id(&sealed.field))
                    && !event.fields.contains(&sealed.field)
                {
                    note(&mut event, category, &sealed.field);
                }
            }
            // INVARIANT: the decision is durable in the audit log before any plaintext exists.
            self.audit_only(event).await?;
            let hold_key = self.hold_key(id, hold.id.as_str()).await?;
            for (order, sealed) in kept {
                let plain = self.open_field(key, id, order.id.as_str(), sealed)?;
                let value = self.seal_field(
                    &hold_key,
                    id,
                    &held_record_ref(hold.id.as_str(), &order.id),
                    &sealed.field,
                    plain.expose().as_bytes(),
                )?;
                records.push(HeldRecord {
                    customer: id.clone(),
                    hold: hold.id.as_str().to_owned(),
                    order: order.id.clone(),
                    value,
                    held_until: held_until(hold, order, now),
                });
            }
        }
        if !records.is_empty() {
            let write = Write::HoldRecords {
                customer: id.clone(),
                records: records.clone(),
            };
            self.commit(vec![write], Vec::new()).await?;
        }
        Ok(records)
    }

    /// One `erasure.requested` message for every declared partner that received the
    /// customer's data (in the ledger) or has messages about them (delivered, pending or
    /// dead: one may be on its way), naming what to erase by the `Custodian-Message-Id`s it
    /// got. Nothing personal and no internal id is in it, so it is not sealed and outlives
    /// the key.
    async fn erasure_notices(
        &self,
        id: &CustomerId,
        now: Timestamp,
    ) -> Result<(Vec<Write>, Vec<ErasureNotice>), VaultError> {
        let Some(outbox) = &self.outbox else {
            return Ok((Vec::new(), Vec::new()));
        };
        let mut by_partner: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for d in outbox.disclosures(id).await? {
            by_partner
                .entry(d.recipient)
                .or_default()
                .insert(super::public_message_id(&d.message));
        }
        for m in outbox.customer_messages(id).await? {
            if !m.payload.is_personal() || m.status == OutboxStatus::Dropped {
                continue;
            }
            by_partner
                .entry(m.partner)
                .or_default()
                .insert(super::public_message_id(&m.id));
        }
        let mut writes = Vec::new();
        let mut notices = Vec::new();
        for (partner, ids) in by_partner {
            let Some(declared) = self.declared_partner(&partner) else {
                continue;
            };
            let Some(purpose) = self.policy.purpose(&declared.partner().purpose) else {
                continue;
            };
            let message = OutboxId::generate(now)?;
            let body = json!({
                "type": ERASURE_REQUESTED,
                "occurred_at": now.to_string(),
                "data": { "message_ids": ids.into_iter().collect::<Vec<_>>() },
            });
            let derived = Sha256::digest(
                format!("custodian-outbox\0{partner}\0{ERASURE_REQUESTED}\0{id}").as_bytes(),
            );
            let public_id = super::public_message_id(&message);
            notices.push(ErasureNotice {
                message: message.clone(),
                partner: partner.clone(),
                customer: id.clone(),
                public_id,
            });
            writes.push(Write::EnqueueMessage {
                message: OutboxMessage {
                    id: message,
                    partner,
                    customer: id.clone(),
                    kind: ERASURE_REQUESTED.to_owned(),
                    idempotency_key: hex::encode(derived),
                    purpose: purpose.id.as_str().to_owned(),
                    legal_basis: super::outbox::legal_basis(purpose.legal_basis).to_owned(),
                    consent: None,
                    fields: Vec::new(),
                    payload: Payload::Public(serde_json::to_vec(&body).unwrap_or_default()),
                    created_at: now,
                    status: OutboxStatus::Pending,
                    attempts: 0,
                    next_attempt_at: now,
                    last_error: None,
                    delivered_at: None,
                },
            });
        }
        Ok((writes, notices))
    }

    /// The stored report with each partner's notice as it stands now.
    async fn stored_report(&self, id: &CustomerId) -> Result<Option<ErasureReport>, VaultError> {
        let Some(store) = &self.erasure else {
            return Ok(None);
        };
        let Some(stored) = store.erasure(id).await? else {
            return Ok(None);
        };
        let mut report: ErasureReport = serde_json::from_str(&stored.report)
            .map_err(|_| VaultError::Rejected(ApiError::internal()))?;
        let notices = store.notices(id).await?;
        let confirmations = store.confirmations(id).await?;
        for partner in &mut report.partners {
            let Some(notice) = notices.iter().find(|n| n.partner == partner.partner) else {
                continue;
            };
            if let Some(outbox) = &self.outbox
                && let Some(message) = outbox.message(&notice.message).await?
                && message.status == OutboxStatus::Delivered
            {
                partner.status = NoticeStatus::Delivered;
                partner.delivered_at = message.delivered_at;
            }
            if let Some(c) = confirmations
                .iter()
                .find(|c| c.public_id == notice.public_id)
            {
                partner.status = NoticeStatus::Confirmed;
                partner.confirmed_at = Some(c.confirmed_at);
            }
        }
        Ok(Some(report))
    }

    /// The completion report of the customer's erasure, with each partner's notice as it
    /// stands (the DPO: `requests.manage`). The reading is audited.
    pub async fn erasure_report(
        &self,
        ctx: &RequestContext,
        customer: &CustomerId,
    ) -> Result<ErasureReport, VaultError> {
        self.check_operation(ctx, Operation::RequestsManage)?;
        let mut event = self.event(ctx, "erasure.report", Some(customer));
        event.purpose = None;
        let Some(report) = self.stored_report(customer).await? else {
            event.decision = Decision::Denied;
            self.audit_only(event).await?;
            return Err(reject(
                ErrorCode::ErasureReportNotFound,
                "no erasure of this customer is on record",
                "id",
            ));
        };
        self.audit_only(event).await?;
        Ok(report)
    }

    /// What legal holds keep of an erased customer, for the hold's purpose only
    /// (`legal_obligation`): any other purpose is refused (`legal_hold_purpose_only`). The
    /// access engine decides as for any read of orders; the decision is audited before
    /// anything is decrypted.
    pub async fn read_held(
        &self,
        ctx: &RequestContext,
        customer: &CustomerId,
    ) -> Result<Vec<HeldOrderView>, VaultError> {
        self.check_operation(ctx, Operation::OrdersRead)?;
        let purpose = self.purpose(ctx)?;
        let holds: Vec<&LegalHold> = self
            .policy
            .legal_holds
            .iter()
            .filter(|h| h.purpose == purpose.id)
            .collect();
        if holds.is_empty() {
            let error = reject(
                ErrorCode::LegalHoldPurposeOnly,
                format!(
                    "held records are readable only for the purpose of their legal hold, not `{}`",
                    purpose.id
                ),
                "purpose",
            );
            return Err(self
                .refuse(ctx, "customer.read_held", customer, error)
                .await?);
        }
        let store = self.erasure_store()?;
        let decision = self.decide(ctx, purpose, Some(customer)).await?;
        self.refuse_other_customers(ctx, "customer.read_held", customer, &decision)
            .await?;
        if !decision.releases_any() {
            let reason = decision.refusal().unwrap_or(Withheld::NotForPurpose);
            let error = super::access_denied(reason, "purpose");
            return Err(self
                .refuse(ctx, "customer.read_held", customer, error)
                .await?);
        }
        self.load(ctx, "customer.read_held", customer).await?;
        let held: Vec<HeldRecord> = store
            .held(customer)
            .await?
            .into_iter()
            .filter(|r| holds.iter().any(|h| h.id.as_str() == r.hold))
            .collect();
        let mut event = self.event(ctx, "customer.read_held", Some(customer));
        // Each field once, however many orders hold it (a customer may have thousands).
        let mut noted = BTreeSet::new();
        let mut decided = Vec::new();
        for r in held {
            let Some(category) = self.policy.category_named(category_id(&r.value.field)) else {
                continue;
            };
            let outcome = self.engine.outcome(&decision, category);
            if noted.insert(r.value.field.clone()) {
                record(&mut event, category, &r.value.field, outcome);
            }
            decided.push((r, category, outcome));
        }
        event.decision = if decided.is_empty() {
            Decision::Allowed
        } else {
            summary(&event)
        };
        let orders: BTreeSet<&OrderId> = decided.iter().map(|(r, _, _)| &r.order).collect();
        event.withheld.push(format!("held_orders:{}", orders.len()));
        // INVARIANT: the decision is durable in the audit log before any plaintext exists.
        self.audit_only(event).await?;
        let mut keys: BTreeMap<String, OpenKey> = BTreeMap::new();
        let mut views: BTreeMap<(String, OrderId), HeldOrderView> = BTreeMap::new();
        for (r, category, outcome) in decided {
            let disclosed = match outcome {
                FieldOutcome::Withheld(reason) => Err(reason),
                _ => {
                    if !keys.contains_key(&r.hold)
                        && let Some(stored) = self.key_store.hold_key(customer, &r.hold).await?
                    {
                        let context = hold_key_context(customer, &r.hold, stored.key_version);
                        let key = OpenKey {
                            key: self
                                .keys
                                .unwrap(&stored.wrapped, context.as_bytes())
                                .await?,
                            version: stored.key_version,
                        };
                        keys.insert(r.hold.clone(), key);
                    }
                    match keys.get(&r.hold) {
                        Some(key) => Ok(self.open_field(
                            key,
                            customer,
                            &held_record_ref(&r.hold, &r.order),
                            &r.value,
                        )?),
                        // The hold ended meanwhile: its key is gone.
                        None => Err(Withheld::Erased),
                    }
                }
            };
            let view = views
                .entry((r.hold.clone(), r.order.clone()))
                .or_insert_with(|| HeldOrderView {
                    hold: r.hold.clone(),
                    order: r.order.clone(),
                    held_until: r.held_until,
                    fields: BTreeMap::new(),
                    items: None,
                });
            view.held_until = view.held_until.max(r.held_until);
            if r.value.field == category.id.as_str() {
                view.items = Some(match disclosed {
                    Err(withheld) => super::ItemsView::Withheld { withheld },
                    Ok(list) => super::ItemsView::Items(super::orders::item_disclosures(
                        category, outcome, &list,
                    )),
                });
                continue;
            }
            let field = category
                .fields
                .iter()
                .find(|f| r.value.field.ends_with(&format!(".{}", f.name)));
            let disclosure = match (disclosed, field) {
                (Err(reason), _) => Disclosure::Withheld(reason),
                (Ok(value), Some(field)) => Disclosure::release(outcome, field.ty, &value),
                (Ok(_), None) => Disclosure::Withheld(Withheld::NotForPurpose),
            };
            view.fields.insert(r.value.field.clone(), disclosure);
        }
        Ok(views.into_values().collect())
    }

    /// Ends the legal holds whose time has passed at `now`: destroys the hold key of every
    /// erased customer whose held values are all due (the key first, as for any erasure),
    /// then deletes every held value due. Returns how many values were deleted. Safe to run
    /// again after a crash: a key already destroyed is skipped, the rows go on the next run.
    pub async fn expire_holds(&self, now: Timestamp) -> Result<u64, VaultError> {
        let store = self.erasure_store()?;
        let ended = store.holds_ended(now).await?;
        for (customer, hold) in &ended {
            self.key_store.destroy_hold_key(customer, hold).await?;
        }
        let deleted = store.delete_expired_held(now).await?;
        if deleted > 0 || !ended.is_empty() {
            let event = AuditEvent {
                at: self.clock.now(),
                actor: "system:retention".to_owned(),
                action: "holds.expire".to_owned(),
                customer: None,
                categories: Vec::new(),
                fields: Vec::new(),
                withheld: vec![
                    format!("held_values:{deleted}"),
                    format!("hold_keys:{}", ended.len()),
                ],
                purpose: None,
                decision: Decision::Allowed,
                request_id: None,
            };
            self.audit_only(event).await?;
        }
        Ok(deleted)
    }

    /// Records a partner's confirmation that it erased what an erasure notice named. The
    /// request must be signed with the partner's shared secret exactly like our webhooks
    /// (`Custodian-Signature: t=…,v1=…`, compared in constant time, the timestamp within
    /// five minutes of our clock); the body is `{"message_id": "<Custodian-Message-Id>"}`.
    /// Idempotent: a second confirmation returns the first.
    pub async fn confirm_erasure(
        &self,
        partner: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<ConfirmationView, VaultError> {
        let bad_signature = || {
            reject(
                ErrorCode::InvalidSignature,
                "the request is not signed with the partner's secret, or the signature is stale",
                "custodian-signature",
            )
        };
        let declared = self.declared_partner(partner).is_some();
        let verified = match (&self.partner_verifier, signature, declared) {
            (Some(verifier), Some(header), true) => verifier.verify(partner, header, body),
            _ => None,
        };
        let Some(timestamp) = verified else {
            return Err(bad_signature());
        };
        let now = self.clock.now().as_second();
        if (now - timestamp).abs() > SIGNATURE_TOLERANCE_SECS {
            return Err(bad_signature());
        }
        let message_id = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| {
                v.get("message_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .filter(|m| m.len() <= 100)
            .ok_or_else(|| {
                reject(
                    ErrorCode::InvalidBody,
                    "the body must be `{\"message_id\": \"…\"}`",
                    "message_id",
                )
            })?;
        let store = self.erasure_store()?;
        let Some(notice) = store.notice(partner, &message_id).await? else {
            return Err(reject(
                ErrorCode::ErasureNoticeNotFound,
                "no erasure notice to this partner has this message id",
                "message_id",
            ));
        };
        let recorded = store
            .confirm(&ErasureConfirmation {
                public_id: notice.public_id.clone(),
                partner: partner.to_owned(),
                customer: notice.customer.clone(),
                confirmed_at: self.clock.now(),
            })
            .await?;
        let event = AuditEvent {
            at: self.clock.now(),
            actor: format!("partner:{partner}"),
            action: "erasure.confirmed".to_owned(),
            customer: Some(notice.customer.to_string()),
            categories: Vec::new(),
            fields: Vec::new(),
            withheld: vec![format!("message:{}", notice.message)],
            purpose: None,
            decision: Decision::Allowed,
            request_id: None,
        };
        self.audit_only(event).await?;
        Ok(ConfirmationView {
            message_id: recorded.public_id,
            confirmed_at: recorded.confirmed_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(state: OrderState, placed: &str, updated: &str) -> StoredOrder {
        let placed_at: Timestamp = placed.parse().unwrap();
        StoredOrder {
            id: OrderId::generate(placed_at).unwrap(),
            customer: CustomerId::generate(placed_at).unwrap(),
            state,
            placed_at,
            updated_at: updated.parse().unwrap(),
            fields: Vec::new(),
        }
    }

    #[test]
    fn a_hold_counts_from_the_final_move_or_from_the_erasure() {
        let policy = custodian_policy::parse(custodian_policy::DEFAULT_POLICY).unwrap();
        let hold = policy.legal_holds.first().unwrap();
        assert_eq!(hold.from, Anchor::OrderCompleted);
        let now: Timestamp = "2026-03-01T08:00:00Z".parse().unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        for state in [
            OrderState::Delivered,
            OrderState::Returned,
            OrderState::Cancelled,
        ] {
            let o = order(state, "2024-02-29T10:00:00Z", "2024-03-02T10:00:00Z");
            assert_eq!(
                held_until(hold, &o, now),
                at("2034-03-02T10:00:00Z"),
                "{state:?}"
            );
        }
        for state in [
            OrderState::Placed,
            OrderState::Paid,
            OrderState::Fulfilling,
            OrderState::Shipped,
        ] {
            let o = order(state, "2024-02-29T10:00:00Z", "2024-03-02T10:00:00Z");
            assert_eq!(
                held_until(hold, &o, now),
                at("2036-03-01T08:00:00Z"),
                "{state:?}"
            );
        }
    }

    #[test]
    fn order_fields_name_their_category() {
        assert_eq!(
            category_id("order_recipient.recipient_name"),
            "order_recipient"
        );
        assert_eq!(category_id("order_items"), "order_items");
    }
}
