//! The customer's export (P1: the rights of access and portability) and its single-use
//! download links.
//!
//! `export` is allowed to the customer themselves, to staff whose role may `requests.manage`
//! (the DPO fulfilling a request) and to the operator's `system:rights_export` task. It reads
//! what is held (ciphertext only), records one `customer.export` audit event naming every
//! category and field it will open — durably, before anything is decrypted —, then builds the
//! document and hands it to the sink, the orders a page at a time (keyset pagination by id),
//! so memory holds one page however many orders there are.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;

use custodian_crypto::{ExportToken, TokenDigest};
use custodian_policy::{Anchor, ExpiryAction, LegalBasis, Operation, Section};
use custodian_policy::{Lang, NoticeVersion};

use super::{OpenKey, RequestContext, StoredCustomer, StoredOrder, Vault, VaultError, not_found};
use super::{note, reject};
use crate::access::{Principal, SystemTask};
use crate::error::{ApiError, ErrorCode};
use crate::ids::{CustomerId, OrderId, RequestId};
use crate::rights::export::{
    EXPORT_LINK_VALID_FOR, ExportCategory, ExportConsent, ExportController, ExportCorrection,
    ExportCustomer, ExportDisclosures, ExportDocument, ExportError, ExportLinkStore, ExportMove,
    ExportOrder, ExportPurpose, ExportRecipient, ExportRecipients, ExportRequest, ExportSink,
    ExportSummary, ExportValue, ORDERS_PAGE, SCHEMA_ID, StoredExportLink,
};

/// The sealed field of a consent entry's evidence, and of a request's own words.
const EVIDENCE_FIELD: &str = "consent.evidence";
const DETAILS_FIELD: &str = "request.details";
const ITEMS: &str = "order_items";

/// A download link just made: the token (shown once) and when it stops working.
#[derive(Debug)]
pub struct ExportLink {
    pub token: ExportToken,
    pub customer: CustomerId,
    pub expires_at: Timestamp,
}

impl Vault {
    /// Keeps export download links in `store`.
    pub fn with_export_store(mut self, store: Arc<dyn ExportLinkStore>) -> Vault {
        self.exports = Some(store);
        self
    }

    fn export_store(&self) -> Result<&Arc<dyn ExportLinkStore>, VaultError> {
        self.exports
            .as_ref()
            .ok_or_else(|| VaultError::Rejected(ApiError::unavailable()))
    }

    /// Who may export a customer's data, or make them a link: the customer themselves,
    /// staff whose role may `requests.manage`, the operator's export task. Another customer
    /// learns nothing (not found); every refusal is audited.
    async fn export_caller(
        &self,
        ctx: &RequestContext,
        action: &str,
        customer: &CustomerId,
    ) -> Result<StoredCustomer, VaultError> {
        let allowed = match &ctx.principal {
            Principal::Customer { id } if id != customer => {
                return Err(self.refuse(ctx, action, customer, not_found()).await?);
            }
            Principal::Customer { .. } => true,
            Principal::System {
                task: SystemTask::RightsExport,
            } => true,
            Principal::Staff { .. } => self.engine.may(&ctx.principal, Operation::RequestsManage),
            _ => false,
        };
        if !allowed {
            let error = reject(
                ErrorCode::OperationNotAllowed,
                "this caller may not perform `requests.manage`",
                "operation",
            );
            return Err(self.refuse(ctx, action, customer, error).await?);
        }
        let stored = self.load(ctx, action, customer).await?;
        if stored.erased {
            return Err(self.refuse(ctx, action, customer, not_found()).await?);
        }
        Ok(stored)
    }

    /// Everything held about `customer`, written to `sink` in `lang`. See the module.
    pub async fn export(
        &self,
        ctx: &RequestContext,
        customer: &CustomerId,
        lang: Lang,
        sink: &mut dyn ExportSink,
    ) -> Result<ExportSummary, ExportError> {
        self.export_with_progress(ctx, customer, lang, sink, &|_, _| {})
            .await
    }

    /// [`Vault::export`], calling `progress(done, total)` after every page of orders (`total`
    /// counts each order once per pass of the sink).
    pub async fn export_with_progress(
        &self,
        ctx: &RequestContext,
        customer: &CustomerId,
        lang: Lang,
        sink: &mut dyn ExportSink,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<ExportSummary, ExportError> {
        const ACTION: &str = "customer.export";
        let stored = self.export_caller(ctx, ACTION, customer).await?;

        // Everything is read sealed first; nothing is opened before the audit event is durable.
        let history = self.store.history(customer).await?;
        let consents = self.store.consent_history(customer).await?;
        let requests = match &self.requests {
            Some((store, _)) => {
                let mut all = Vec::new();
                for r in store.of_customer(customer).await? {
                    let trail = store.events(&r.id).await?;
                    all.push((r, trail));
                }
                all
            }
            None => Vec::new(),
        };
        let partners = match &self.outbox {
            Some(outbox) => outbox.disclosures(customer).await?,
            None => Vec::new(),
        };
        let now = self.clock.now();
        let authorities = match &self.legal {
            Some(legal) => legal
                .releases_of(customer)
                .await?
                .into_iter()
                .filter(|r| r.visible_from.is_some_and(|from| from <= now))
                .collect(),
            None => Vec::new(),
        };
        let order_count = self.store.order_count(customer).await?;
        let order_fields = self.store.order_field_names(customer).await?;

        let mut event = self.event(ctx, ACTION, Some(customer));
        event.purpose = None;
        let mut named = BTreeSet::new();
        for f in &stored.fields {
            named.insert(f.field.clone());
        }
        for h in &history {
            named.insert(h.value.field.clone());
        }
        named.extend(order_fields);
        for name in &named {
            match self.policy.field_named(name) {
                Some((category, _)) => note(&mut event, category, name),
                None => match self.policy.category_named(name) {
                    Some(category) => note(&mut event, category, name),
                    None => event.fields.push(name.clone()),
                },
            }
        }
        if consents.iter().any(|c| c.evidence.is_some()) {
            event.fields.push(EVIDENCE_FIELD.to_owned());
        }
        if requests.iter().any(|(r, _)| r.details.is_some()) {
            event.fields.push(DETAILS_FIELD.to_owned());
        }
        event.withheld.push(format!("orders:{order_count}"));
        // INVARIANT: the export is durable in the audit log before anything is decrypted.
        self.audit_only(event).await?;

        let Some(key) = self.live_key(&stored).await? else {
            return Err(self
                .refuse(ctx, ACTION, customer, not_found())
                .await?
                .into());
        };

        let mut doc = self.export_head(&stored, lang, now, order_count);
        for entry in &history {
            let label = self.field_label(&entry.value.field, lang);
            let value = self.open_field(&key, customer, entry.id.as_str(), &entry.value)?;
            doc.corrections.push(ExportCorrection {
                field: entry.value.field.clone(),
                label,
                replaced_at: entry.replaced_at,
                value: value.expose().to_owned(),
            });
        }
        for e in consents {
            let evidence = match &e.evidence {
                Some(sealed) => {
                    let plain = self.open_field(&key, customer, e.id.as_str(), sealed)?;
                    serde_json::from_str(plain.expose()).ok()
                }
                None => None,
            };
            let purpose_label = self
                .policy
                .purpose_named(&e.purpose)
                .map(|p| p.label.get(lang).to_owned())
                .unwrap_or_else(|| e.purpose.clone());
            doc.consents.push(ExportConsent {
                purpose_label,
                state: e.state.as_str(),
                at: e.at,
                notice_version: e.notice_version,
                channel: e.channel.as_str(),
                given_by: e.given_by.as_str(),
                recorded_by: e.recorded_by,
                options: serde_json::from_str(&e.options)
                    .unwrap_or_else(|_| Value::Object(serde_json::Map::new())),
                gpc: e.gpc,
                evidence,
                purpose: e.purpose,
                id: e.id,
            });
        }
        doc.disclosures = ExportDisclosures {
            partners,
            authorities,
        };
        for (r, trail) in requests {
            let details = match &r.details {
                Some(sealed) => Some(
                    self.open_field(&key, customer, r.id.as_str(), sealed)?
                        .expose()
                        .to_owned(),
                ),
                None => None,
            };
            doc.requests.push(ExportRequest {
                id: r.id,
                kind: r.kind,
                state: r.state,
                channel: r.channel,
                received_at: r.received_at,
                acknowledge_by: r.acknowledge_by,
                complete_by: r.complete_by,
                reason: r.reason,
                details,
                trail,
            });
        }
        for (category, field) in self.profile_fields() {
            let name = format!("{}.{}", category.id, field.name);
            let Some(sealed) = stored.fields.iter().find(|f| f.field == name) else {
                continue;
            };
            let value = self.open_field(&key, customer, customer.as_str(), sealed)?;
            if let Some(c) = doc
                .categories
                .iter_mut()
                .find(|c| c.id == category.id.as_str())
            {
                c.values.push(ExportValue {
                    field: name,
                    label: field.label.get(lang).to_owned(),
                    value: value.expose().to_owned(),
                });
            }
        }
        let order_categories: BTreeSet<String> = named
            .iter()
            .filter_map(|n| n.split('.').next())
            .filter(|c| {
                self.policy
                    .category_named(c)
                    .is_some_and(|c| c.section == Section::Order)
            })
            .map(str::to_owned)
            .collect();
        doc.categories.retain(|c| {
            if c.held_in == "orders" {
                order_categories.contains(&c.id)
            } else {
                !c.values.is_empty()
            }
        });

        let passes = sink.passes();
        let total = order_count.saturating_mul(u64::from(passes));
        let mut done = 0u64;
        progress(done, total);
        for pass in 0..passes {
            sink.begin(pass, &doc).await?;
            let mut after: Option<OrderId> = None;
            loop {
                let page = self
                    .store
                    .orders_page(customer, after.as_ref(), ORDERS_PAGE)
                    .await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id.clone());
                let ids: Vec<OrderId> = page.iter().map(|o| o.id.clone()).collect();
                let moves = self.store.order_moves(&ids).await?;
                let mut exported = Vec::with_capacity(page.len());
                for order in page {
                    let order_moves = moves
                        .iter()
                        .filter(|m| m.order == order.id)
                        .map(|m| ExportMove {
                            from: m.from,
                            to: m.to,
                            at: m.at,
                        })
                        .collect();
                    exported.push(self.export_order(&key, order, order_moves, lang)?);
                }
                done = done.saturating_add(exported.len() as u64);
                sink.orders(pass, &exported).await?;
                progress(done, total);
            }
            sink.end(pass, &doc).await?;
        }
        Ok(ExportSummary {
            customer: customer.clone(),
            categories: doc.categories.len(),
            orders: order_count,
        })
    }

    fn field_label(&self, name: &str, lang: Lang) -> String {
        self.policy
            .field_named(name)
            .map(|(_, f)| f.label.get(lang).to_owned())
            .unwrap_or_else(|| name.to_owned())
    }

    fn export_order(
        &self,
        key: &OpenKey,
        order: StoredOrder,
        moves: Vec<ExportMove>,
        lang: Lang,
    ) -> Result<ExportOrder, VaultError> {
        let mut fields = Vec::new();
        let mut items = Vec::new();
        for sealed in &order.fields {
            let plain = self.open_field(key, &order.customer, order.id.as_str(), sealed)?;
            if sealed.field == ITEMS {
                let category = self.policy.category_named(ITEMS);
                if let Ok(Value::Array(list)) = serde_json::from_str::<Value>(plain.expose()) {
                    for item in list {
                        let Value::Object(map) = item else { continue };
                        let values = map
                            .into_iter()
                            .map(|(name, v)| ExportValue {
                                label: category
                                    .and_then(|c| c.field(&name))
                                    .map(|f| f.label.get(lang).to_owned())
                                    .unwrap_or_else(|| name.clone()),
                                value: match v {
                                    Value::String(s) => s,
                                    other => other.to_string(),
                                },
                                field: name,
                            })
                            .collect();
                        items.push(values);
                    }
                }
                continue;
            }
            fields.push(ExportValue {
                label: self.field_label(&sealed.field, lang),
                field: sealed.field.clone(),
                value: plain.expose().to_owned(),
            });
        }
        Ok(ExportOrder {
            id: order.id,
            state: order.state,
            placed_at: order.placed_at,
            updated_at: order.updated_at,
            fields,
            items,
            moves,
        })
    }

    /// The document's frame: controller, notice, and every profile and order category with
    /// its purposes, retention and recipients (from the record of processing), no values yet.
    fn export_head(
        &self,
        stored: &StoredCustomer,
        lang: Lang,
        now: Timestamp,
        order_count: u64,
    ) -> ExportDocument {
        let policy = &self.policy;
        let records = custodian_policy::records::records(policy);
        let version = NoticeVersion::of(policy);
        let mut categories = Vec::new();
        let mut not_held = Vec::new();
        for category in &policy.categories {
            let held_in = match category.section {
                Section::Account => "profile",
                Section::Order => "orders",
                _ => {
                    not_held.push(crate::rights::export::NotHeld {
                        category: category.id.to_string(),
                        label: category.label.get(lang).to_owned(),
                    });
                    continue;
                }
            };
            let mut purposes = Vec::new();
            let mut retention = Vec::new();
            let mut recipients = ExportRecipients::default();
            for activity in records
                .activities
                .iter()
                .filter(|a| a.data_categories.iter().any(|c| c.category == category.id))
            {
                purposes.push(ExportPurpose {
                    id: activity.purpose.to_string(),
                    label: activity.name.get(lang).to_owned(),
                    legal_basis: basis_code(activity.legal_basis),
                    legal_basis_label: basis_label(activity.legal_basis, lang),
                });
                for r in activity
                    .retention
                    .iter()
                    .filter(|r| r.category == category.id)
                {
                    let line = format!(
                        "{}, {} — {}",
                        r.duration.describe(lang),
                        anchor_label(r.from, lang),
                        expiry_label(r.at_expiry, lang)
                    );
                    if !retention.contains(&line) {
                        retention.push(line);
                    }
                }
                for role in &activity.internal_recipients {
                    let r = ExportRecipient {
                        id: role.to_string(),
                        name: policy
                            .role_named(role.as_str())
                            .map(|r| r.label.get(lang).to_owned())
                            .unwrap_or_else(|| role.to_string()),
                    };
                    if !recipients.roles.contains(&r) {
                        recipients.roles.push(r);
                    }
                }
                let prefix = format!("{}.", category.id);
                for p in activity
                    .external_recipients
                    .iter()
                    .filter(|p| p.fields.iter().any(|f| f.starts_with(&prefix)))
                {
                    let r = ExportRecipient {
                        id: p.partner.to_string(),
                        name: p.name.get(lang).to_owned(),
                    };
                    if !recipients.partners.contains(&r) {
                        recipients.partners.push(r);
                    }
                }
            }
            categories.push(ExportCategory {
                id: category.id.to_string(),
                label: category.label.get(lang).to_owned(),
                description: category.description.get(lang).to_owned(),
                sensitive: category.is_sensitive(),
                purposes,
                retention,
                recipients,
                values: Vec::new(),
                held_in,
            });
        }
        let c = &policy.controller;
        ExportDocument {
            schema: SCHEMA_ID,
            generated_at: now,
            language: lang.tag(),
            controller: ExportController {
                name: c.name.clone(),
                site: c.site.clone(),
                email: c.email.clone(),
                dpo_email: c.dpo.email.clone(),
            },
            notice_version: version.version,
            notice_hash: version.content_hash,
            customer: ExportCustomer {
                id: stored.id.clone(),
                created_at: stored.created_at,
            },
            categories,
            corrections: Vec::new(),
            consents: Vec::new(),
            disclosures: ExportDisclosures::default(),
            requests: Vec::new(),
            not_held,
            order_count,
        }
    }

    /// Makes a single-use download link for `customer`'s export, valid for
    /// [`EXPORT_LINK_VALID_FOR`]; the same callers as [`Vault::export`]. Only the token's
    /// digest is kept.
    pub async fn issue_export_link(
        &self,
        ctx: &RequestContext,
        customer: &CustomerId,
        request: Option<&RequestId>,
    ) -> Result<ExportLink, VaultError> {
        const ACTION: &str = "export.link";
        self.export_caller(ctx, ACTION, customer).await?;
        let store = self.export_store()?;
        // A request named must be one of this customer's.
        if let Some(r) = request {
            let theirs = match &self.requests {
                Some((requests, _)) => requests
                    .get(r)
                    .await?
                    .is_some_and(|found| &found.customer == customer),
                None => false,
            };
            if !theirs {
                return Err(reject(
                    ErrorCode::RequestNotFound,
                    "no request of this customer has this id",
                    "request",
                ));
            }
        }
        let now = self.clock.now();
        let expires_at = now
            .checked_add(EXPORT_LINK_VALID_FOR)
            .map_err(|_| VaultError::Rejected(ApiError::internal()))?;
        let (token, digest) = ExportToken::generate()?;
        let mut event = self.event(ctx, ACTION, Some(customer));
        event.purpose = None;
        if let Some(r) = request {
            event.withheld.push(format!("request:{r}"));
        }
        self.audit_only(event).await?;
        store
            .create(&StoredExportLink {
                digest: digest.to_hex(),
                customer: customer.clone(),
                request: request.cloned(),
                created_by: ctx.principal.audit_name(),
                created_at: now,
                expires_at,
                used_at: None,
            })
            .await?;
        Ok(ExportLink {
            token,
            customer: customer.clone(),
            expires_at,
        })
    }

    /// Uses a download link: only the customer it was made for, once, before it expires.
    /// Anyone else — another customer, staff — is told "not found", as for a wrong token.
    /// Returns the customer whose export may now be produced.
    pub async fn redeem_export_link(
        &self,
        ctx: &RequestContext,
        token: &str,
    ) -> Result<CustomerId, VaultError> {
        const ACTION: &str = "export.redeem";
        let store = self.export_store()?;
        let missing = || {
            reject(
                ErrorCode::ExportLinkNotFound,
                "no export link has this token",
                "token",
            )
        };
        // Looked up by the digest of what was presented: the token itself is never compared.
        let digest = TokenDigest::of(token.as_bytes()).to_hex();
        let link = store.get(&digest).await?;
        let own = match (&link, &ctx.principal) {
            (Some(l), Principal::Customer { id }) => *id == l.customer,
            _ => false,
        };
        let mut event = self.event(ctx, ACTION, link.as_ref().map(|l| &l.customer));
        event.purpose = None;
        let Some(link) = link.filter(|l| own && l.used_at.is_none()) else {
            event.decision = crate::audit::Decision::Denied;
            self.audit_only(event).await?;
            return Err(missing());
        };
        let now = self.clock.now();
        if now >= link.expires_at {
            event.decision = crate::audit::Decision::Denied;
            self.audit_only(event).await?;
            return Err(reject(
                ErrorCode::ExportLinkExpired,
                "this export link has expired; ask for a new one",
                "token",
            ));
        }
        if !store.redeem(&digest, now).await? {
            // Another redemption got there first (or it expired meanwhile).
            event.decision = crate::audit::Decision::Denied;
            self.audit_only(event).await?;
            return Err(missing());
        }
        self.audit_only(event).await?;
        Ok(link.customer)
    }
}

fn basis_code(basis: LegalBasis) -> &'static str {
    match basis {
        LegalBasis::Consent => "consent",
        LegalBasis::Contract => "contract",
        LegalBasis::LegalObligation => "legal_obligation",
        LegalBasis::LegitimateInterest => "legitimate_interest",
    }
}

fn basis_label(basis: LegalBasis, lang: Lang) -> &'static str {
    match (basis, lang) {
        (LegalBasis::Consent, Lang::Vi) => "sự đồng ý của bạn",
        (LegalBasis::Consent, Lang::En) => "your consent",
        (LegalBasis::Contract, Lang::Vi) => "thực hiện hợp đồng với bạn",
        (LegalBasis::Contract, Lang::En) => "performing our contract with you",
        (LegalBasis::LegalObligation, Lang::Vi) => "nghĩa vụ pháp lý",
        (LegalBasis::LegalObligation, Lang::En) => "a legal obligation",
        (LegalBasis::LegitimateInterest, Lang::Vi) => "lợi ích hợp pháp",
        (LegalBasis::LegitimateInterest, Lang::En) => "a legitimate interest",
    }
}

fn anchor_label(anchor: Anchor, lang: Lang) -> &'static str {
    match (anchor, lang) {
        (Anchor::Collected, Lang::Vi) => "kể từ khi thu thập",
        (Anchor::Collected, Lang::En) => "from collection",
        (Anchor::LastActivity, Lang::Vi) => "kể từ hoạt động gần nhất",
        (Anchor::LastActivity, Lang::En) => "from the last activity",
        (Anchor::AccountClosed, Lang::Vi) => "kể từ khi đóng tài khoản",
        (Anchor::AccountClosed, Lang::En) => "from the account's closing",
        (Anchor::OrderCompleted, Lang::Vi) => "kể từ khi hoàn tất đơn hàng",
        (Anchor::OrderCompleted, Lang::En) => "from the order's completion",
        (Anchor::CaseClosed, Lang::Vi) => "kể từ khi đóng yêu cầu hỗ trợ",
        (Anchor::CaseClosed, Lang::En) => "from the case's closing",
        (Anchor::ConsentWithdrawn, Lang::Vi) => "kể từ khi rút lại đồng ý",
        (Anchor::ConsentWithdrawn, Lang::En) => "from the consent's withdrawal",
    }
}

fn expiry_label(action: ExpiryAction, lang: Lang) -> &'static str {
    match (action, lang) {
        (ExpiryAction::Delete, Lang::Vi) => "sau đó xóa",
        (ExpiryAction::Delete, Lang::En) => "then deleted",
        (ExpiryAction::Anonymise, Lang::Vi) => "sau đó ẩn danh hóa",
        (ExpiryAction::Anonymise, Lang::En) => "then anonymised",
    }
}
