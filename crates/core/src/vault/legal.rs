//! The legal-disclosure use cases (P16): the DPO records an authority's request, a second
//! administrator approves it, the DPO produces the release; each customer's ledger gets an
//! entry, visible to them unless the law forbids telling them (then from when it no longer
//! does).

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use custodian_policy::{Operation, Section};

use super::{RequestContext, Vault, VaultError, note, reject};
use crate::access::Principal;
use crate::error::{ApiError, ErrorCode};
use crate::ids::{CustomerId, LegalRequestId};
use crate::legal::{LegalRelease, LegalRequest, LegalStatus, LegalStore};

/// At most this many customers in one request: a larger scope is several requests.
const MAX_CUSTOMERS: usize = 1000;

/// A request as the DPO records it.
#[derive(Debug, Clone)]
pub struct LegalRequestInput {
    pub authority: String,
    pub reference: String,
    pub customers: Vec<CustomerId>,
    pub categories: Vec<String>,
    pub period_from: Option<Timestamp>,
    pub period_to: Option<Timestamp>,
    pub notify: bool,
    pub silence_until: Option<Timestamp>,
}

/// What is handed to the authority: per customer, the released fields.
#[derive(Debug, Serialize)]
pub struct LegalReleaseDocument {
    pub request: LegalRequestId,
    pub authority: String,
    pub reference: String,
    pub released_at: Timestamp,
    pub customers: Vec<ReleasedCustomer>,
}

#[derive(Debug, Serialize)]
pub struct ReleasedCustomer {
    pub customer: CustomerId,
    /// `false` when the customer was erased: nothing of them exists to release.
    pub found: bool,
    pub profile: BTreeMap<String, String>,
    /// Each order's released fields (items as a list).
    pub orders: Vec<BTreeMap<String, Value>>,
}

fn staff_user(principal: &Principal) -> Option<&str> {
    match principal {
        Principal::Staff { user, .. } => Some(user),
        _ => None,
    }
}

fn request_not_found() -> VaultError {
    reject(
        ErrorCode::LegalRequestNotFound,
        "no legal request has this id",
        "id",
    )
}

impl Vault {
    /// Keeps legal requests and releases in `store`.
    pub fn with_legal_store(mut self, store: Arc<dyn LegalStore>) -> Vault {
        self.legal = Some(store);
        self
    }

    fn legal_store(&self) -> Result<&Arc<dyn LegalStore>, VaultError> {
        self.legal
            .as_ref()
            .ok_or_else(|| VaultError::Rejected(ApiError::unavailable()))
    }

    /// Records an authority's request (the DPO). Nothing is released yet.
    pub async fn record_legal_request(
        &self,
        ctx: &RequestContext,
        input: LegalRequestInput,
    ) -> Result<LegalRequest, VaultError> {
        self.check_operation(ctx, Operation::LegalRecord)?;
        let Some(by) = staff_user(&ctx.principal) else {
            return Err(reject(
                ErrorCode::OperationNotAllowed,
                "a legal request is recorded by a member of staff",
                "operation",
            ));
        };
        if !self
            .policy
            .authorities
            .iter()
            .any(|a| a.id.as_str() == input.authority)
        {
            return Err(reject(
                ErrorCode::UnknownAuthority,
                format!(
                    "`authority` must be an authority the policy declares: {}",
                    crate::error::one_of(self.policy.authorities.iter().map(|a| a.id.as_str()))
                ),
                "authority",
            ));
        }
        let reference = input.reference.trim();
        if reference.is_empty() || reference.chars().count() > 200 {
            return Err(reject(
                ErrorCode::InvalidBody,
                "`reference` (the authority's document) is 1 to 200 characters",
                "reference",
            ));
        }
        if input.customers.is_empty() || input.customers.len() > MAX_CUSTOMERS {
            return Err(reject(
                ErrorCode::InvalidBody,
                format!("a request names 1 to {MAX_CUSTOMERS} customers"),
                "customers",
            ));
        }
        if input.categories.is_empty() {
            return Err(reject(
                ErrorCode::InvalidBody,
                "a request names at least one category",
                "categories",
            ));
        }
        for category in &input.categories {
            if self.policy.category_named(category).is_none() {
                return Err(reject(
                    ErrorCode::UndeclaredField,
                    "`categories` names a category the policy does not declare (see /v1/policy)",
                    "categories",
                ));
            }
        }
        if let (Some(from), Some(to)) = (input.period_from, input.period_to)
            && from >= to
        {
            return Err(reject(
                ErrorCode::InvalidBody,
                "the period ends after it starts",
                "period_to",
            ));
        }
        let now = self.clock.now();
        let request = LegalRequest {
            id: LegalRequestId::generate(now)?,
            authority: input.authority,
            reference: reference.to_owned(),
            customers: input.customers,
            categories: input.categories,
            period_from: input.period_from,
            period_to: input.period_to,
            notify: input.notify,
            silence_until: if input.notify {
                None
            } else {
                input.silence_until
            },
            status: LegalStatus::Requested,
            requested_by: by.to_owned(),
            requested_at: now,
            approved_by: None,
            approved_at: None,
            released_at: None,
        };
        let mut event = self.event(ctx, "legal.request", None);
        event.purpose = Some("legal_obligation".into());
        event.withheld.push(format!("legal:{}", request.id));
        self.audit_only(event).await?;
        self.legal_store()?.create(&request).await?;
        Ok(request)
    }

    /// Approves a request: by an administrator other than the one who recorded it.
    pub async fn approve_legal_request(
        &self,
        ctx: &RequestContext,
        id: &LegalRequestId,
    ) -> Result<LegalRequest, VaultError> {
        self.check_operation(ctx, Operation::LegalApprove)?;
        let store = self.legal_store()?;
        let request = store.get(id).await?.ok_or_else(request_not_found)?;
        let Some(by) = staff_user(&ctx.principal) else {
            return Err(reject(
                ErrorCode::OperationNotAllowed,
                "a legal request is approved by a member of staff",
                "operation",
            ));
        };
        if by == request.requested_by {
            return Err(reject(
                ErrorCode::SecondApproverRequired,
                "the request must be approved by someone other than who recorded it",
                "approved_by",
            ));
        }
        let now = self.clock.now();
        let mut event = self.event(ctx, "legal.approve", None);
        event.purpose = Some("legal_obligation".into());
        event.withheld.push(format!("legal:{id}"));
        self.audit_only(event).await?;
        if !store.approve(id, by, now).await? {
            return Err(reject(
                ErrorCode::LegalRequestNotPending,
                format!(
                    "the request is {}, not waiting for approval",
                    request.status.as_str()
                ),
                "status",
            ));
        }
        store.get(id).await?.ok_or_else(request_not_found)
    }

    /// Produces an approved request's release: per customer, the requested categories'
    /// fields (their profile and their orders), each read recorded in the audit log before
    /// anything is decrypted; each customer's ledger gets an entry, visible now, at the end
    /// of the silence, or once it is lifted.
    pub async fn release_legal_request(
        &self,
        ctx: &RequestContext,
        id: &LegalRequestId,
    ) -> Result<LegalReleaseDocument, VaultError> {
        self.check_operation(ctx, Operation::LegalRecord)?;
        let store = self.legal_store()?;
        let request = store.get(id).await?.ok_or_else(request_not_found)?;
        if request.status != LegalStatus::Approved {
            return Err(reject(
                ErrorCode::LegalRequestNotPending,
                format!("the request is {}, not approved", request.status.as_str()),
                "status",
            ));
        }
        let now = self.clock.now();
        let visible_from = if request.notify {
            Some(now)
        } else {
            request.silence_until
        };
        let mut customers = Vec::new();
        let mut releases = Vec::new();
        for customer in &request.customers {
            let released = self.release_one(ctx, &request, customer).await?;
            if released.found {
                let body =
                    serde_json::to_vec(&(&released.profile, &released.orders)).unwrap_or_default();
                let mut fields: Vec<String> = released.profile.keys().cloned().collect();
                for order in &released.orders {
                    for name in order.keys() {
                        if !fields.contains(name) {
                            fields.push(name.clone());
                        }
                    }
                }
                releases.push(LegalRelease {
                    request: request.id.clone(),
                    customer: customer.clone(),
                    authority: request.authority.clone(),
                    categories: request.categories.clone(),
                    fields,
                    at: now,
                    digest: format!("sha256:{}", hex::encode(Sha256::digest(&body))),
                    visible_from,
                });
            }
            customers.push(released);
        }
        if !store.release(id, now, &releases).await? {
            return Err(reject(
                ErrorCode::LegalRequestNotPending,
                "the request was released meanwhile",
                "status",
            ));
        }
        Ok(LegalReleaseDocument {
            request: request.id,
            authority: request.authority,
            reference: request.reference,
            released_at: now,
            customers,
        })
    }

    /// One customer's part of a release.
    async fn release_one(
        &self,
        ctx: &RequestContext,
        request: &LegalRequest,
        customer: &CustomerId,
    ) -> Result<ReleasedCustomer, VaultError> {
        let mut released = ReleasedCustomer {
            customer: customer.clone(),
            found: false,
            profile: BTreeMap::new(),
            orders: Vec::new(),
        };
        let Some(stored) = self.store.customer(customer).await? else {
            return Ok(released);
        };
        let Some(key) = self.live_key(&stored).await? else {
            return Ok(released);
        };
        let categories: Vec<&custodian_policy::Category> = request
            .categories
            .iter()
            .filter_map(|c| self.policy.category_named(c))
            .collect();
        let orders = self.store.orders_of(customer).await?;
        let mut event = self.event(ctx, "legal.release", Some(customer));
        event.purpose = Some("legal_obligation".into());
        event.withheld.push(format!("legal:{}", request.id));
        event
            .withheld
            .push(format!("recipient:{}", request.authority));
        for category in &categories {
            for field in &category.fields {
                note(
                    &mut event,
                    category,
                    &format!("{}.{}", category.id, field.name),
                );
            }
        }
        // INVARIANT: the release is durable in the audit log before anything is opened.
        self.audit_only(event).await?;
        released.found = true;
        for category in categories.iter().filter(|c| c.section == Section::Account) {
            for field in &category.fields {
                let name = format!("{}.{}", category.id, field.name);
                if let Some(sealed) = stored.fields.iter().find(|f| f.field == name) {
                    let value = self.open_field(&key, customer, customer.as_str(), sealed)?;
                    released.profile.insert(name, value.expose().to_owned());
                }
            }
        }
        let order_categories: Vec<&&custodian_policy::Category> = categories
            .iter()
            .filter(|c| c.section == Section::Order)
            .collect();
        if order_categories.is_empty() {
            return Ok(released);
        }
        let in_period = |at: Timestamp| {
            request.period_from.is_none_or(|from| at >= from)
                && request.period_to.is_none_or(|to| at < to)
        };
        for summary in orders.into_iter().filter(|o| in_period(o.placed_at)) {
            let Some(order) = self.store.order(&summary.id).await? else {
                continue;
            };
            let mut fields = BTreeMap::new();
            fields.insert("order".to_owned(), Value::String(order.id.to_string()));
            for sealed in &order.fields {
                let wanted = order_categories.iter().any(|c| {
                    sealed.field == c.id.as_str() || sealed.field.starts_with(&format!("{}.", c.id))
                });
                if !wanted {
                    continue;
                }
                let value = self.open_field(&key, customer, order.id.as_str(), sealed)?;
                let value = serde_json::from_str::<Value>(value.expose())
                    .ok()
                    .filter(Value::is_array)
                    .unwrap_or_else(|| Value::String(value.expose().to_owned()));
                fields.insert(sealed.field.clone(), value);
            }
            released.orders.push(fields);
        }
        Ok(released)
    }

    /// Every legal request, newest last (the DPO and administrators).
    pub async fn legal_requests(
        &self,
        ctx: &RequestContext,
    ) -> Result<Vec<LegalRequest>, VaultError> {
        if !self.may(&ctx.principal, Operation::LegalRecord)
            && !self.may(&ctx.principal, Operation::LegalApprove)
        {
            self.check_operation(ctx, Operation::LegalRecord)?;
        }
        Ok(self.legal_store()?.list().await?)
    }

    /// Lifts a request's silence (the DPO, once the law allows): its ledger entries become
    /// visible to the customers from now.
    pub async fn lift_legal_silence(
        &self,
        ctx: &RequestContext,
        id: &LegalRequestId,
    ) -> Result<(), VaultError> {
        self.check_operation(ctx, Operation::LegalRecord)?;
        let store = self.legal_store()?;
        store.get(id).await?.ok_or_else(request_not_found)?;
        let mut event = self.event(ctx, "legal.lift_silence", None);
        event.purpose = Some("legal_obligation".into());
        event.withheld.push(format!("legal:{id}"));
        self.audit_only(event).await?;
        Ok(store.lift_silence(id, self.clock.now()).await?)
    }

    /// The legal part of the customer's disclosure ledger: for the customer, the releases
    /// they may be told of by now; for staff allowed to read it, every one. (The partners'
    /// part is [`Vault::disclosures`].)
    pub async fn legal_ledger(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
    ) -> Result<Vec<LegalRelease>, VaultError> {
        self.customer_caller(ctx, Operation::ConsentsRead, "disclosures.read", id)
            .await?;
        self.legal_releases_for(&ctx.principal, id).await
    }

    /// The customer's legal releases as `viewer` may see them: a customer only those visible
    /// by now; staff every one.
    async fn legal_releases_for(
        &self,
        viewer: &Principal,
        customer: &CustomerId,
    ) -> Result<Vec<LegalRelease>, VaultError> {
        let Some(store) = self.legal.as_ref() else {
            return Ok(Vec::new());
        };
        let now = self.clock.now();
        let all = store.releases_of(customer).await?;
        Ok(match viewer {
            Principal::Customer { .. } => all
                .into_iter()
                .filter(|r| r.visible_from.is_some_and(|from| from <= now))
                .collect(),
            _ => all,
        })
    }
}
