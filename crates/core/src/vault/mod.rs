//! The vault: customers' personal data, sealed under per-customer keys, reachable only
//! through access decisions that are written to the audit log before any data leaves.
//!
//! INVARIANT: every value handed to the store is ciphertext, a wrapped key, a blind index or
//! an audit event naming fields — never a personal value. Every read commits its audit event
//! (durably) before it decrypts anything.

mod consent;
mod erasure;
mod export;
pub mod input;
mod legal;
mod orders;
mod outbox;
mod requests;
mod store;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use custodian_crypto::{BlindIndexKey, CryptoError, DataKey, FieldBinding, KeyWrapper, open, seal};
use custodian_policy::{
    Category, Field, FieldType, LegalBasis, NeedToKnow, Policy, Purpose, Section,
};

pub use consent::{ConsentEntryView, ConsentView, RecordedConsent, ShownNotice};
pub use erasure::{ConfirmationView, HeldOrderView};
pub use export::ExportLink;
pub use legal::{LegalReleaseDocument, LegalRequestInput, ReleasedCustomer};
pub use orders::{ItemsView, OrderLine, OrderView, PlacedOrder};
pub use outbox::{
    CONSENT_WITHDRAWN, DeclaredPartner, OpenedPayload, OutboxView, PartnerMessage, digest,
    public_message_id,
};
pub use requests::{Fulfilment, RequestInput, RequestMove, RequestRules, RequestView};
pub use store::*;

use crate::StoreError;
use crate::access::{
    AccessContext, AccessEngine, Decision as AccessDecision, Disclosure, Explanation, FieldOutcome,
    Principal, Purposes, SystemTask, Withheld,
};
use crate::audit::{AuditEvent, Decision};
use crate::care::CareStore;
use crate::clock::Clock;
use crate::error::{ApiError, ErrorCode};
use crate::ids::{CustomerId, HistoryId, UserId};
use crate::notify::{Channel, Contact};
use crate::personal::Personal;
use crate::rights::request::LimitKind;
use custodian_policy::Operation;

/// Why a vault operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Refused; the error says why, with a stable code. Nothing was written but the audit
    /// event recording the refusal, where there is one.
    #[error("{0}")]
    Rejected(ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

fn reject(code: ErrorCode, message: impl Into<String>, field: &str) -> VaultError {
    VaultError::Rejected(ApiError::new(code, message).with_field(field))
}

/// The need-to-know conditions of an imagined request, for [`Vault::explain`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ExplainFacts {
    pub care_session: bool,
    pub fulfilling_order: bool,
}

/// Who asks, why, and the request it belongs to.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub principal: Principal,
    /// The purpose id as given; checked against the policy by each use case.
    pub purpose: String,
    pub request_id: Option<String>,
}

/// A customer as one purpose may see them: each profile field's value, or why it is withheld.
#[derive(Debug, Serialize)]
pub struct CustomerView {
    pub id: CustomerId,
    pub purpose: String,
    pub created_at: Timestamp,
    pub fields: BTreeMap<String, Disclosure>,
}

/// An earlier value of a corrected field.
#[derive(Debug, Serialize)]
pub struct HistoryView {
    pub field: String,
    pub replaced_at: Timestamp,
    pub value: Disclosure,
}

/// What to look a customer up by. Its `Debug` shows the kind, never the value.
pub enum Lookup {
    Email(String),
    Phone(String),
}

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lookup::Email(_) => f.write_str("Lookup::Email(<redacted>)"),
            Lookup::Phone(_) => f.write_str("Lookup::Phone(<redacted>)"),
        }
    }
}

/// A customer's data key in the clear, with its version (part of every field binding).
struct OpenKey {
    key: DataKey,
    version: u32,
}

/// How often a correction is retried when another correction of the same field got there
/// first.
const CORRECTION_ATTEMPTS: usize = 5;

/// Progress of a master-key rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationProgress {
    pub target_version: u32,
    pub rewrapped: u64,
    /// Keys not under the target version when the pass started.
    pub total: u64,
}

/// The vault's use cases.
#[derive(Debug, Clone)]
pub struct Vault {
    policy: Arc<Policy>,
    store: Arc<dyn VaultStore>,
    key_store: Arc<dyn KeyStore>,
    keys: Arc<dyn KeyWrapper>,
    index: BlindIndexKey,
    clock: Arc<dyn Clock>,
    /// Shared, not copied: the vault is cloned for every request.
    engine: Arc<AccessEngine>,
    /// Where national phone numbers are read (the controller's jurisdiction).
    phone_region: custodian_crypto::PhoneRegion,
    /// Where care sessions are looked up, and an erased customer's credentials purged.
    care: Option<Arc<dyn CareStore>>,
    /// The current terms of each purpose that rests on consent: a consent given under
    /// narrower ones needs renewal.
    consent_terms: Arc<HashMap<String, consent::CurrentTerms>>,
    /// The outbox, for listing and re-driving messages and reading the ledger.
    outbox: Option<Arc<dyn crate::outbox::OutboxStore>>,
    /// Where legal requests and releases are kept.
    legal: Option<Arc<dyn crate::legal::LegalStore>>,
    /// Tells customers of their requests' extensions and rejections (email).
    notifier: Option<Arc<dyn crate::notify::Notifier>>,
    /// Where data subjects' requests are kept, and how their deadlines are counted.
    requests: Option<(
        Arc<dyn crate::rights::request::RequestStore>,
        Arc<RequestRules>,
    )>,
    /// Where legal holds, erasure reports and partners' confirmations are kept.
    erasure: Option<Arc<dyn crate::rights::erasure::ErasureStore>>,
    /// Checks partners' signatures on what they send us (erasure confirmations).
    partner_verifier: Option<Arc<dyn crate::outbox::PartnerVerifier>>,
    /// Where customers' export download links are kept.
    exports: Option<Arc<dyn crate::rights::export::ExportLinkStore>>,
}

impl std::fmt::Debug for dyn crate::rights::export::ExportLinkStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExportLinkStore")
    }
}

impl std::fmt::Debug for dyn crate::rights::request::RequestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestStore")
    }
}

impl std::fmt::Debug for dyn crate::notify::Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier")
    }
}

impl std::fmt::Debug for dyn crate::legal::LegalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LegalStore")
    }
}

impl std::fmt::Debug for dyn CareStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CareStore")
    }
}

impl std::fmt::Debug for dyn VaultStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultStore")
    }
}

impl std::fmt::Debug for dyn KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyStore")
    }
}

/// What the data key of `customer` at `version` is bound to when wrapped.
fn key_context(customer: &CustomerId, version: u32) -> String {
    format!("{customer}/{version}")
}

impl Vault {
    pub fn new(
        policy: Arc<Policy>,
        store: Arc<dyn VaultStore>,
        key_store: Arc<dyn KeyStore>,
        keys: Arc<dyn KeyWrapper>,
        index: BlindIndexKey,
        clock: Arc<dyn Clock>,
    ) -> Vault {
        let phone_region = input::phone_region(&policy.controller.jurisdiction);
        let engine = Arc::new(AccessEngine::new(&policy));
        let consent_terms = Arc::new(consent::current_terms(&policy));
        Vault {
            policy,
            store,
            key_store,
            keys,
            index,
            clock,
            engine,
            phone_region,
            care: None,
            consent_terms,
            outbox: None,
            legal: None,
            notifier: None,
            requests: None,
            exports: None,
            erasure: None,
            partner_verifier: None,
        }
    }

    /// Looks care agents' sessions up in `care` (without it no agent ever holds one), and
    /// purges an erased customer's care sessions and credentials from it.
    pub fn with_care_store(mut self, care: Arc<dyn CareStore>) -> Vault {
        self.care = Some(care);
        self
    }

    /// The fields a customer record holds: every field of the categories the policy places
    /// in the account section.
    fn profile_fields(&self) -> impl Iterator<Item = (&Category, &Field)> {
        self.policy
            .categories
            .iter()
            .filter(|c| c.section == Section::Account)
            .flat_map(|c| c.fields.iter().map(move |f| (c, f)))
    }

    fn purpose(&self, ctx: &RequestContext) -> Result<&Purpose, VaultError> {
        self.policy.purpose_named(&ctx.purpose).ok_or_else(|| {
            reject(
                ErrorCode::UnknownPurpose,
                declared_purposes(&self.policy, "purpose"),
                "purpose",
            )
        })
    }

    /// Whether `principal` may perform `operation` at all (for operations outside the vault,
    /// such as administering staff accounts, decided by the same engine).
    pub fn may(&self, principal: &Principal, operation: Operation) -> bool {
        self.engine.may(principal, operation)
    }

    /// Refuses an operation the principal may not perform at all, before anything is read.
    fn check_operation(
        &self,
        ctx: &RequestContext,
        operation: Operation,
    ) -> Result<(), VaultError> {
        if self.engine.may(&ctx.principal, operation) {
            return Ok(());
        }
        Err(reject(
            ErrorCode::OperationNotAllowed,
            format!("this caller may not perform `{}`", operation.as_str()),
            "operation",
        ))
    }

    /// What the access engine must know of the customer besides the policy. Each fact is
    /// asked for only where it matters, in one indexed query: the customer's consents for a
    /// purpose that rests on consent (read at every decision, so a withdrawal holds from the
    /// next request on), a care session for a care agent, the customer's restriction and
    /// objections (`vault/requests.rs`) for staff and integrations.
    async fn access_context(
        &self,
        principal: &Principal,
        customer: Option<&CustomerId>,
        purpose: Option<&Purpose>,
    ) -> Result<AccessContext, VaultError> {
        self.access_context_with(principal, customer, purpose, None)
            .await
    }

    /// [`Self::access_context`], with the customer's limits when they were read with the
    /// customer (`StoredCustomer::limits`), so that they are not asked for again.
    async fn access_context_with(
        &self,
        principal: &Principal,
        customer: Option<&CustomerId>,
        purpose: Option<&Purpose>,
        known_limits: Option<&[LimitKind]>,
    ) -> Result<AccessContext, VaultError> {
        let consents = match (customer, purpose) {
            (Some(customer), Some(p)) if p.legal_basis == LegalBasis::Consent => {
                self.consented_purposes(customer).await?
            }
            _ => Purposes::default(),
        };
        let care_session = match (principal, customer, &self.care) {
            (Principal::Staff { user, role }, Some(customer), Some(care))
                if self
                    .policy
                    .role_named(role.as_str())
                    .is_some_and(|r| r.need_to_know == NeedToKnow::CareSession) =>
            {
                match UserId::parse(user) {
                    Some(user) => {
                        let now = self.clock.now();
                        care.verified_care_sessions(&user, customer)
                            .await?
                            .iter()
                            .any(|until| now < *until)
                    }
                    None => false,
                }
            }
            _ => false,
        };
        // A restriction or an objection binds the business (staff, integrations); a legal
        // obligation goes on whatever they say, so it need not ask.
        let (restricted, objections) = match (principal, customer, purpose) {
            (Principal::Staff { .. } | Principal::Integration { .. }, Some(customer), Some(p))
                if p.legal_basis != LegalBasis::LegalObligation =>
            {
                match known_limits {
                    Some(limits) => self.limit_sets(limits),
                    None => self.limits_for_decision(customer).await?,
                }
            }
            _ => (false, Purposes::default()),
        };
        Ok(AccessContext {
            care_session,
            consents,
            restricted,
            objections,
            ..AccessContext::default()
        })
    }

    /// The access decision for this request about a customer already loaded (their limits
    /// came with them).
    async fn decide_loaded(
        &self,
        ctx: &RequestContext,
        purpose: &Purpose,
        stored: &StoredCustomer,
    ) -> Result<AccessDecision, VaultError> {
        let customer = Some(&stored.id);
        let context = self
            .access_context_with(
                &ctx.principal,
                customer,
                Some(purpose),
                Some(&stored.limits),
            )
            .await?;
        Ok(self
            .engine
            .decide(&ctx.principal, &purpose.id, customer, &context))
    }

    /// The access decision for this request about `customer`.
    async fn decide(
        &self,
        ctx: &RequestContext,
        purpose: &Purpose,
        customer: Option<&CustomerId>,
    ) -> Result<AccessDecision, VaultError> {
        let context = self
            .access_context(&ctx.principal, customer, Some(purpose))
            .await?;
        Ok(self
            .engine
            .decide(&ctx.principal, &purpose.id, customer, &context))
    }

    fn event(
        &self,
        ctx: &RequestContext,
        action: &str,
        customer: Option<&CustomerId>,
    ) -> AuditEvent {
        AuditEvent {
            at: self.clock.now(),
            actor: ctx.principal.audit_name(),
            action: action.to_owned(),
            customer: customer.map(ToString::to_string),
            categories: Vec::new(),
            fields: Vec::new(),
            withheld: Vec::new(),
            purpose: Some(ctx.purpose.clone()),
            decision: Decision::Allowed,
            request_id: ctx.request_id.clone(),
        }
    }

    /// Commits writes with the audit events describing them. A failed precondition is
    /// returned as such: nothing of the transaction was written.
    async fn try_commit(
        &self,
        writes: Vec<Write>,
        audit: Vec<AuditEvent>,
    ) -> Result<Result<(), Conflict>, VaultError> {
        Ok(self.store.commit(Transaction { writes, audit }).await?)
    }

    /// Commits writes with their audit events; if a precondition fails, the attempt is
    /// recorded as refused and becomes the caller's error.
    async fn commit(&self, writes: Vec<Write>, audit: Vec<AuditEvent>) -> Result<(), VaultError> {
        match self.try_commit(writes, audit.clone()).await? {
            Ok(()) => Ok(()),
            Err(c) => {
                self.record_refusal(audit).await?;
                Err(conflict(c))
            }
        }
    }

    /// Keeps the events of a refused attempt in the log, as refusals.
    async fn record_refusal(&self, audit: Vec<AuditEvent>) -> Result<(), VaultError> {
        let refused = audit
            .into_iter()
            .map(|mut e| {
                let fields = std::mem::take(&mut e.fields);
                e.withheld
                    .extend(fields.into_iter().map(|f| format!("{f}:refused")));
                e.decision = Decision::Denied;
                e
            })
            .collect();
        self.audit_events(refused).await
    }

    async fn audit_events(&self, events: Vec<AuditEvent>) -> Result<(), VaultError> {
        // Audit-only transactions have no precondition to fail.
        self.store
            .commit(Transaction {
                writes: Vec::new(),
                audit: events,
            })
            .await?
            .map_err(conflict)
    }

    /// Records a refused attempt on a customer and returns the error to give the caller.
    async fn refuse(
        &self,
        ctx: &RequestContext,
        action: &str,
        id: &CustomerId,
        error: VaultError,
    ) -> Result<VaultError, VaultError> {
        let mut event = self.event(ctx, action, Some(id));
        event.decision = Decision::Denied;
        self.audit_only(event).await?;
        Ok(error)
    }

    async fn audit_only(&self, event: AuditEvent) -> Result<(), VaultError> {
        self.audit_events(vec![event]).await
    }

    /// Checks the fields of a create or correct request against the policy and `purpose`,
    /// and normalises their values. Refuses the whole request at the first bad field.
    async fn accept<'p>(
        &'p self,
        ctx: &RequestContext,
        purpose: &Purpose,
        customer: Option<&CustomerId>,
        input: &Map<String, Value>,
    ) -> Result<Vec<(&'p Category, &'p Field, Personal)>, VaultError> {
        let decision = self.decide(ctx, purpose, customer).await?;
        let mut accepted = Vec::new();
        for (name, value) in input {
            let Some((category, field)) = self.policy.field_named(name) else {
                return Err(reject(
                    ErrorCode::UndeclaredField,
                    "`fields` names a field the policy does not declare (see /v1/policy)",
                    "fields",
                ));
            };
            if category.section != Section::Account {
                return Err(reject(
                    ErrorCode::FieldNotAllowed,
                    format!(
                        "`{}.{}` is not part of a customer profile",
                        category.id, field.name
                    ),
                    &format!("{}.{}", category.id, field.name),
                ));
            }
            match self.engine.outcome(&decision, category) {
                FieldOutcome::Clear | FieldOutcome::Masked => {}
                FieldOutcome::Withheld(Withheld::ConsentRequired) => {
                    return Err(reject(
                        ErrorCode::ConsentRequired,
                        format!(
                            "purpose `{}` needs the customer's consent to collect field `{name}`",
                            purpose.id
                        ),
                        name,
                    ));
                }
                FieldOutcome::Withheld(Withheld::NotForPurpose) => {
                    return Err(reject(
                        ErrorCode::FieldNotAllowed,
                        format!("purpose `{}` does not use field `{name}`", purpose.id),
                        name,
                    ));
                }
                FieldOutcome::Withheld(reason) => return Err(access_denied(reason, name)),
            }
            let value = input::normalise(field, value, self.phone_region)
                .map_err(|e| reject(e.code, format!("field `{name}` {e}"), name))?;
            accepted.push((category, field, value));
        }
        Ok(accepted)
    }

    fn seal_field(
        &self,
        key: &OpenKey,
        customer: &CustomerId,
        record: &str,
        field: &str,
        value: &[u8],
    ) -> Result<SealedField, VaultError> {
        let binding = FieldBinding {
            customer: customer.as_str(),
            record,
            field,
            key_version: key.version,
        };
        Ok(SealedField {
            field: field.to_owned(),
            sealed: seal(&key.key, &binding, value)?,
            key_version: key.version,
        })
    }

    fn open_field(
        &self,
        key: &OpenKey,
        customer: &CustomerId,
        record: &str,
        value: &SealedField,
    ) -> Result<Personal, VaultError> {
        let binding = FieldBinding {
            customer: customer.as_str(),
            record,
            field: &value.field,
            key_version: value.key_version,
        };
        let text = open(&key.key, &binding, &value.sealed)?.into_string()?;
        Ok(Personal::new(text.to_string()))
    }

    /// The blind index of a profile field's value, for the fields that have one.
    fn index_of(&self, field: &Field, reference: &str, value: &Personal) -> Option<[u8; 32]> {
        matches!(field.ty, FieldType::Email | FieldType::Phone)
            .then(|| self.index.index(reference, value.expose()))
    }

    /// The blind index row of a profile field's new value, sealed as `sealed`, for the fields
    /// that have one.
    fn index_row(
        &self,
        customer: &CustomerId,
        field: &Field,
        value: &Personal,
        sealed: &SealedField,
    ) -> Option<BlindIndex> {
        self.index_of(field, &sealed.field, value)
            .map(|hash| BlindIndex {
                customer: customer.clone(),
                kind: sealed.field.clone(),
                hash,
                sealed_digest: sealed_digest(&sealed.sealed),
            })
    }

    /// The customers whose current value of field `kind` has this blind index. The key store
    /// gives the candidates; each is kept only if the customer exists, is not erased, and the
    /// ciphertext they hold now is the one the row was written for — so the answer is exactly
    /// the customers whose value this is, whatever a crash left between the two stores (a row
    /// added before a commit that never happened, a replaced value's row not yet pruned).
    async fn find_indexed(
        &self,
        kind: &str,
        hash: &[u8; 32],
    ) -> Result<Vec<CustomerId>, VaultError> {
        let mut candidates: BTreeMap<CustomerId, Vec<[u8; 32]>> = BTreeMap::new();
        for (customer, digest) in self.key_store.find_index(kind, hash).await? {
            candidates.entry(customer).or_default().push(digest);
        }
        let mut found = Vec::new();
        for (customer, digests) in candidates {
            let Some(stored) = self.store.customer(&customer).await? else {
                continue;
            };
            let current = stored
                .fields
                .iter()
                .find(|f| f.field == kind)
                .map(|f| sealed_digest(&f.sealed));
            if !stored.erased && current.is_some_and(|d| digests.contains(&d)) {
                found.push(customer);
            }
        }
        Ok(found)
    }

    /// After a committed write: each field's rows of older values go. Should this fail, the
    /// write stands, and the rows left are ignored by lookups until the next write of the
    /// field, or the customer's erasure, removes them.
    async fn prune_replaced(&self, written: &[BlindIndex]) {
        for row in written {
            let pruned = self
                .key_store
                .prune_indexes(&row.customer, &row.kind, Some(&row.sealed_digest))
                .await;
            if let Err(e) = pruned {
                tracing::warn!(error = %e, "blind indexes of replaced values not pruned yet");
            }
        }
    }

    /// After a refused write: the rows it added go (a row left would be ignored anyway).
    async fn remove_refused(&self, written: &[BlindIndex]) {
        for row in written {
            let removed = self
                .key_store
                .remove_index(&row.customer, &row.kind, &row.sealed_digest)
                .await;
            if let Err(e) = removed {
                tracing::warn!(error = %e, "blind index of a refused write not removed");
            }
        }
    }

    async fn unwrap_key(&self, key: &StoredKey) -> Result<OpenKey, VaultError> {
        let context = key_context(&key.customer, key.key_version);
        Ok(OpenKey {
            key: self.keys.unwrap(&key.wrapped, context.as_bytes()).await?,
            version: key.key_version,
        })
    }

    /// The customer's key in the clear, if they still have one. Fetched only after the
    /// decision is recorded, so an erasure acknowledged meanwhile is always honoured.
    async fn live_key(&self, stored: &StoredCustomer) -> Result<Option<OpenKey>, VaultError> {
        if stored.erased {
            return Ok(None);
        }
        match self.key_store.get(&stored.id).await? {
            Some(key) => Ok(Some(self.unwrap_key(&key).await?)),
            None => Ok(None),
        }
    }

    /// Creates a customer from the fields of `input` (`category.field` → value) collected for
    /// the context's purpose.
    pub async fn create(
        &self,
        ctx: &RequestContext,
        input: &Map<String, Value>,
    ) -> Result<CustomerId, VaultError> {
        self.check_operation(ctx, Operation::CustomersCreate)?;
        let purpose = self.purpose(ctx)?;
        let values = self.accept(ctx, purpose, None, input).await?;
        for (category, field) in self
            .profile_fields()
            .filter(|(c, _)| purpose.required.contains(&c.id))
        {
            let name = format!("{}.{}", category.id, field.name);
            if !input.contains_key(&name) {
                return Err(reject(
                    ErrorCode::MissingField,
                    format!("purpose `{}` requires field `{name}`", purpose.id),
                    &name,
                ));
            }
        }
        let now = self.clock.now();
        let (id, key, stored_key) = self.subject_key(now).await?;
        let mut writes = vec![Write::CreateCustomer {
            id: id.clone(),
            created_at: now,
        }];
        let mut indexes = Vec::new();
        let mut event = self.event(ctx, "customer.create", Some(&id));
        for (category, field, value) in &values {
            let name = format!("{}.{}", category.id, field.name);
            let sealed =
                self.seal_field(&key, &id, id.as_str(), &name, value.expose().as_bytes())?;
            indexes.extend(self.index_row(&id, field, value, &sealed));
            writes.push(Write::PutField {
                customer: id.clone(),
                value: sealed,
                at: now,
            });
            note(&mut event, category, &name);
        }
        // The key and the blind indexes first, in one key-store transaction; then the data.
        // A crash in between leaves a key and indexes of nobody, which lookups ignore. A new
        // customer has no older rows to prune.
        self.key_store.put(&stored_key, &indexes).await?;
        match self.try_commit(writes, vec![event.clone()]).await? {
            Ok(()) => Ok(id),
            Err(c) => {
                // Certainly not stored: the key and the indexes must not outlive the customer.
                // (On a store error the outcome is unknown, and they are kept.)
                let _ = self.key_store.destroy(&id).await;
                self.record_refusal(vec![event]).await?;
                Err(conflict(c))
            }
        }
    }

    /// Decides field by field what the context's purpose may see of a customer, records the
    /// decision, and only then decrypts what was released.
    pub async fn read(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
    ) -> Result<CustomerView, VaultError> {
        self.check_operation(ctx, Operation::CustomersRead)?;
        let purpose = self.purpose(ctx)?;
        // Loaded first: the customer's limits come with their row, in the same query.
        let stored = self.load(ctx, "customer.read", id).await?;
        let decision = self.decide_loaded(ctx, purpose, &stored).await?;
        self.refuse_other_customers(ctx, "customer.read", id, &decision)
            .await?;
        let mut event = self.event(ctx, "customer.read", Some(id));
        let mut decisions = BTreeMap::new();
        for (category, field) in self.profile_fields() {
            let name = format!("{}.{}", category.id, field.name);
            let outcome = match self.engine.outcome(&decision, category) {
                _ if stored.erased => FieldOutcome::Withheld(Withheld::Erased),
                o if o.is_released() && !stored.fields.iter().any(|f| f.field == name) => {
                    FieldOutcome::Withheld(Withheld::NotCollected)
                }
                outcome => outcome,
            };
            record(&mut event, category, &name, outcome);
            decisions.insert(name, (field, outcome));
        }
        event.decision = summary(&event);
        // INVARIANT: the decision is durable in the audit log before any plaintext exists.
        self.audit_only(event).await?;

        let released = decisions.values().any(|(_, o)| o.is_released());
        let key = if released {
            self.live_key(&stored).await?
        } else {
            None
        };
        // The key is gone: the customer was erased (since the decision was recorded, or their
        // rows come from a backup older than the erasure). Every field reads as erased.
        let erased = released && key.is_none();
        let mut fields = BTreeMap::new();
        for (name, (field, outcome)) in decisions {
            if erased {
                fields.insert(name, Disclosure::Withheld(Withheld::Erased));
                continue;
            }
            let disclosure = match (
                outcome,
                &key,
                stored.fields.iter().find(|f| f.field == name),
            ) {
                (FieldOutcome::Withheld(reason), _, _) => Disclosure::Withheld(reason),
                (_, Some(key), Some(sealed)) => Disclosure::release(
                    outcome,
                    field.ty,
                    &self.open_field(key, id, id.as_str(), sealed)?,
                ),
                (_, None, _) => Disclosure::Withheld(Withheld::Erased),
                (_, Some(_), None) => Disclosure::Withheld(Withheld::NotCollected),
            };
            fields.insert(name, disclosure);
        }
        Ok(CustomerView {
            id: id.clone(),
            purpose: ctx.purpose.clone(),
            created_at: stored.created_at,
            fields,
        })
    }

    /// A customer asking for someone else's record learns nothing, not even that it exists:
    /// the attempt is recorded and answered as "not found".
    async fn refuse_other_customers(
        &self,
        ctx: &RequestContext,
        action: &str,
        id: &CustomerId,
        decision: &AccessDecision,
    ) -> Result<(), VaultError> {
        if decision.refusal() == Some(Withheld::NotOwnRecord) {
            return Err(self.refuse(ctx, action, id, not_found()).await?);
        }
        Ok(())
    }

    /// Loads a customer, or records the refused attempt and reports it as not found.
    async fn load(
        &self,
        ctx: &RequestContext,
        action: &str,
        id: &CustomerId,
    ) -> Result<StoredCustomer, VaultError> {
        match self.store.customer(id).await? {
            Some(customer) => Ok(customer),
            None => Err(self.refuse(ctx, action, id, not_found()).await?),
        }
    }

    /// Loads a customer who still has a key, or records the refused attempt.
    async fn load_live(
        &self,
        ctx: &RequestContext,
        action: &str,
        id: &CustomerId,
    ) -> Result<(StoredCustomer, OpenKey), VaultError> {
        let stored = self.load(ctx, action, id).await?;
        match self.live_key(&stored).await? {
            Some(key) => Ok((stored, key)),
            None => Err(self.refuse(ctx, action, id, not_found()).await?),
        }
    }

    /// Corrects fields, keeping each replaced value, sealed, in the customer's history. Each
    /// correction expects the values it read; if another correction of the same field got
    /// there first, it reads again and retries, so no value is ever lost from the history.
    pub async fn correct(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
        input: &Map<String, Value>,
    ) -> Result<(), VaultError> {
        self.check_operation(ctx, Operation::CustomersCorrect)?;
        let purpose = self.purpose(ctx)?;
        let values = self.accept(ctx, purpose, Some(id), input).await?;
        if values.is_empty() {
            return Err(reject(
                ErrorCode::InvalidBody,
                "the correction names no field",
                "fields",
            ));
        }
        for _ in 0..CORRECTION_ATTEMPTS {
            let (writes, event, indexes) = self.correction(ctx, id, &values).await?;
            // The new values' blind indexes go in before the data (add-only: the old values'
            // rows stay until the commit is done), so a value is never committed unfindable.
            if !indexes.is_empty() {
                self.key_store.put_indexes(&indexes).await?;
            }
            // On a store error the outcome is unknown: the rows stay (ignored if stale).
            match self.try_commit(writes, vec![event.clone()]).await? {
                Ok(()) => {
                    self.prune_replaced(&indexes).await;
                    return Ok(());
                }
                Err(Conflict::FieldChanged { .. }) => self.remove_refused(&indexes).await,
                Err(c) => {
                    self.remove_refused(&indexes).await;
                    self.record_refusal(vec![event]).await?;
                    return Err(conflict(c));
                }
            }
        }
        Err(VaultError::Rejected(ApiError::unavailable()))
    }

    /// The writes of one correction attempt, from the customer as they are now, and the
    /// blind indexes of the new values.
    async fn correction(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
        values: &[(&Category, &Field, Personal)],
    ) -> Result<(Vec<Write>, AuditEvent, Vec<BlindIndex>), VaultError> {
        let (stored, key) = self.load_live(ctx, "customer.correct", id).await?;
        let now = self.clock.now();
        let mut writes = Vec::new();
        let mut indexes = Vec::new();
        let mut event = self.event(ctx, "customer.correct", Some(id));
        for (category, field, value) in values {
            let name = format!("{}.{}", category.id, field.name);
            let old = stored.fields.iter().find(|f| f.field == name);
            writes.push(Write::ExpectField {
                customer: id.clone(),
                field: name.clone(),
                sealed: old.map(|o| o.sealed.clone()),
            });
            if let Some(old) = old {
                let old_value = self.open_field(&key, id, id.as_str(), old)?;
                if old_value.expose() == value.expose() {
                    continue;
                }
                let entry = HistoryId::generate(now)?;
                let sealed = self.seal_field(
                    &key,
                    id,
                    entry.as_str(),
                    &name,
                    old_value.expose().as_bytes(),
                )?;
                writes.push(Write::PutHistory {
                    customer: id.clone(),
                    entry: StoredHistory {
                        id: entry,
                        replaced_at: now,
                        value: sealed,
                    },
                });
            }
            let sealed =
                self.seal_field(&key, id, id.as_str(), &name, value.expose().as_bytes())?;
            indexes.extend(self.index_row(id, field, value, &sealed));
            writes.push(Write::PutField {
                customer: id.clone(),
                value: sealed,
                at: now,
            });
            note(&mut event, category, &name);
        }
        Ok((writes, event, indexes))
    }

    /// Finds customers by exact email or phone through the blind index (in the key store),
    /// without decrypting.
    pub async fn lookup(
        &self,
        ctx: &RequestContext,
        by: &Lookup,
    ) -> Result<Vec<CustomerId>, VaultError> {
        self.check_operation(ctx, Operation::CustomersLookup)?;
        let purpose = self.purpose(ctx)?;
        let (ty, given) = match by {
            Lookup::Email(v) => (FieldType::Email, v),
            Lookup::Phone(v) => (FieldType::Phone, v),
        };
        let Some((category, field)) = self.profile_fields().find(|(_, f)| f.ty == ty) else {
            return Err(reject(
                ErrorCode::FieldNotAllowed,
                "the policy declares no profile field to look this up by",
                "lookup",
            ));
        };
        let name = format!("{}.{}", category.id, field.name);
        // Whom the lookup will find is not known yet: decide as for any customer.
        let decision = self.decide(ctx, purpose, None).await?;
        let outcome = self.engine.outcome(&decision, category);
        if let FieldOutcome::Withheld(reason) = outcome {
            let mut event = self.event(ctx, "customer.lookup", None);
            event.decision = Decision::Denied;
            event.withheld.push(format!("{name}:{}", reason.as_str()));
            self.audit_only(event).await?;
            return Err(reject(
                ErrorCode::PurposeNotAllowed,
                format!(
                    "purpose `{}` may not look customers up by `{name}`",
                    purpose.id
                ),
                "purpose",
            ));
        }
        let value = input::normalise(field, &Value::String(given.clone()), self.phone_region)
            .map_err(|e| reject(e.code, format!("field `{name}` {e}"), &name))?;
        let hash = self.index.index(&name, value.expose());
        let found = self.find_indexed(&name, &hash).await?;
        let mut events: Vec<AuditEvent> = found
            .iter()
            .map(|id| {
                let mut e = self.event(ctx, "customer.lookup", Some(id));
                note(&mut e, category, &name);
                e
            })
            .collect();
        if events.is_empty() {
            let mut e = self.event(ctx, "customer.lookup", None);
            note(&mut e, category, &name);
            events.push(e);
        }
        self.commit(Vec::new(), events).await?;
        Ok(found)
    }

    /// Earlier values of corrected fields, under the same access decisions as a read.
    pub async fn history(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
    ) -> Result<Vec<HistoryView>, VaultError> {
        self.check_operation(ctx, Operation::CustomersHistory)?;
        let purpose = self.purpose(ctx)?;
        let decision = self.decide(ctx, purpose, Some(id)).await?;
        self.refuse_other_customers(ctx, "customer.history", id, &decision)
            .await?;
        let stored = self.load(ctx, "customer.history", id).await?;
        let entries = self.store.history(id).await?;
        let mut event = self.event(ctx, "customer.history", Some(id));
        let mut decided = Vec::new();
        for entry in entries {
            let Some((category, field)) = self.policy.field_named(&entry.value.field) else {
                continue;
            };
            let outcome = match self.engine.outcome(&decision, category) {
                _ if stored.erased => FieldOutcome::Withheld(Withheld::Erased),
                outcome => outcome,
            };
            record(&mut event, category, &entry.value.field, outcome);
            decided.push((entry, field, outcome));
        }
        event.decision = summary(&event);
        self.audit_only(event).await?;
        let released = decided.iter().any(|(_, _, o)| o.is_released());
        let key = if released {
            self.live_key(&stored).await?
        } else {
            None
        };
        decided
            .into_iter()
            .map(|(entry, field, outcome)| {
                let value = match (outcome, &key) {
                    (FieldOutcome::Withheld(r), _) => Disclosure::Withheld(r),
                    (_, Some(key)) => Disclosure::release(
                        outcome,
                        field.ty,
                        &self.open_field(key, id, entry.id.as_str(), &entry.value)?,
                    ),
                    (_, None) => Disclosure::Withheld(Withheld::Erased),
                };
                Ok(HistoryView {
                    field: entry.value.field,
                    replaced_at: entry.replaced_at,
                    value,
                })
            })
            .collect()
    }

    /// What `subject` would see of `customer` for the context's purpose, field by field, and
    /// the rule that decides each — for the DPO and admins. `facts` stand in for the need-to-
    /// know conditions of the request being imagined; the customer's own choices are theirs.
    /// Reveals no personal value; the question itself is audited.
    pub async fn explain(
        &self,
        ctx: &RequestContext,
        subject: &Principal,
        customer: Option<&CustomerId>,
        facts: ExplainFacts,
    ) -> Result<Explanation, VaultError> {
        self.check_operation(ctx, Operation::AccessExplain)?;
        let purpose = self.purpose(ctx)?;
        let context = AccessContext {
            care_session: facts.care_session,
            fulfilling_order: facts.fulfilling_order,
            ..self
                .access_context(subject, customer, Some(purpose))
                .await?
        };
        let mut event = self.event(ctx, "access.explain", customer);
        event
            .withheld
            .push(format!("subject:{}", subject.audit_name()));
        self.audit_only(event).await?;
        Ok(self
            .engine
            .explain(&self.policy, subject, &purpose.id, customer, &context))
    }

    /// The customer's email or phone on file, in the clear, for Custodian itself to send a
    /// one-time code to. The read is audited as the system `task` sending it, durably, before
    /// the value is decrypted; the value never leaves this crate. `None` when the customer
    /// does not exist, was erased, or has no contact on that channel.
    pub(crate) async fn contact_on_file(
        &self,
        customer: &CustomerId,
        channel: Channel,
        task: SystemTask,
        request_id: Option<String>,
    ) -> Result<Option<Contact>, VaultError> {
        let Some((category, name)) = self.contact_field(channel) else {
            return Ok(None);
        };
        let Some(stored) = self.store.customer(customer).await? else {
            return Ok(None);
        };
        let Some(sealed) = stored.fields.iter().find(|f| f.field == name) else {
            return Ok(None);
        };
        if stored.erased {
            return Ok(None);
        }
        let ctx = system_context(task, request_id);
        let mut event = self.event(&ctx, "customer.contact_on_file", Some(customer));
        event.purpose = None;
        note(&mut event, category, &name);
        self.audit_only(event).await?;
        let Some(key) = self.live_key(&stored).await? else {
            return Ok(None);
        };
        let value = self.open_field(&key, customer, customer.as_str(), sealed)?;
        Ok(Some(match channel {
            Channel::Email => Contact::Email(value),
            Channel::Phone => Contact::Phone(value),
        }))
    }

    /// The one customer whose email on file is exactly `email` once normalised, found
    /// through the blind index without decrypting anything, and that email to send a
    /// sign-in code to. Audited as `system:customer_sign_in`, found or not. A malformed
    /// email, or one shared by several customers, finds nobody.
    pub(crate) async fn customer_by_email(
        &self,
        email: &str,
        request_id: Option<String>,
    ) -> Result<Option<(CustomerId, Contact)>, VaultError> {
        let Some((category, name)) = self.contact_field(Channel::Email) else {
            return Ok(None);
        };
        let Some((_, field)) = self.policy.field_named(&name) else {
            return Ok(None);
        };
        let Ok(value) =
            input::normalise(field, &Value::String(email.to_owned()), self.phone_region)
        else {
            return Ok(None);
        };
        let hash = self.index.index(&name, value.expose());
        let found = self.find_indexed(&name, &hash).await?;
        let one = match found.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        };
        let ctx = system_context(SystemTask::CustomerSignIn, request_id);
        let mut event = self.event(&ctx, "customer.sign_in_lookup", one.as_ref());
        event.purpose = None;
        note(&mut event, category, &name);
        if one.is_none() {
            event.decision = Decision::Denied;
        }
        self.audit_only(event).await?;
        Ok(one.map(|id| (id, Contact::Email(value))))
    }

    /// Whether the customer exists and was not erased.
    pub(crate) async fn customer_exists(&self, customer: &CustomerId) -> Result<bool, VaultError> {
        Ok(self
            .store
            .customer(customer)
            .await?
            .is_some_and(|c| !c.erased))
    }

    /// The profile field holding the customer's contact on `channel`, and its name.
    fn contact_field(&self, channel: Channel) -> Option<(&Category, String)> {
        let ty = match channel {
            Channel::Email => FieldType::Email,
            Channel::Phone => FieldType::Phone,
        };
        self.profile_fields()
            .find(|(_, f)| f.ty == ty)
            .map(|(c, f)| (c, format!("{}.{}", c.id, f.name)))
    }

    /// Writes an event of another use case (care sessions, customer sign-in) to the audit
    /// log, durably.
    pub(crate) async fn audit(&self, event: AuditEvent) -> Result<(), VaultError> {
        self.audit_only(event).await
    }

    /// Re-wraps every data key (customers' keys, then legal holds' keys) under the active
    /// master-key version, `batch` keys at a time.
    /// Safe to run while the service serves, and to run again after a crash: each pass picks
    /// up the keys not yet under the active version (re-read every batch, so a version added
    /// meanwhile becomes the target instead of being re-wrapped away from forever).
    pub async fn rewrap_keys(
        &self,
        batch: u32,
        mut progress: impl FnMut(RotationProgress),
    ) -> Result<RotationProgress, VaultError> {
        let versions = self.key_store.key_versions().await?;
        let mut target = self.keys.active_version();
        let total = versions
            .iter()
            .filter(|(v, _)| *v != target)
            .map(|(_, n)| n)
            .sum();
        let mut state = RotationProgress {
            target_version: target,
            rewrapped: 0,
            total,
        };
        progress(state);
        let ctx = RequestContext {
            principal: Principal::System {
                task: SystemTask::KeyRotation,
            },
            purpose: String::new(),
            request_id: None,
        };
        loop {
            let keys = self
                .key_store
                .keys_not_wrapped_under(target, batch.max(1))
                .await?;
            if keys.is_empty() {
                // Then the legal holds' keys, which are few: one per erased customer and hold.
                let held = self.rewrap_hold_keys(batch).await?;
                if held > 0 {
                    let mut event = self.event(&ctx, "keys.rewrap_holds", None);
                    event.purpose = None;
                    self.audit_only(event).await?;
                    state.rewrapped += held;
                    state.total = state.total.max(state.rewrapped);
                    progress(state);
                }
                return Ok(state);
            }
            for key in &keys {
                let context = key_context(&key.customer, key.key_version);
                let plain = self.keys.unwrap(&key.wrapped, context.as_bytes()).await?;
                let wrapped = self.keys.wrap(&plain, context.as_bytes()).await?;
                self.key_store
                    .rewrap(&key.customer, key.wrapped.kek_version, &wrapped)
                    .await?;
            }
            let mut event = self.event(&ctx, "keys.rewrap", None);
            event.purpose = None;
            self.audit_only(event).await?;
            state.rewrapped += keys.len() as u64;
            state.total = state.total.max(state.rewrapped);
            target = self.keys.active_version();
            state.target_version = target;
            progress(state);
        }
    }
}

/// The context of one of Custodian's own tasks: no purpose, since none is a customer's.
fn system_context(task: SystemTask, request_id: Option<String>) -> RequestContext {
    RequestContext {
        principal: Principal::System { task },
        purpose: String::new(),
        request_id,
    }
}

/// Records a field (and its category) as released or written.
fn note(event: &mut AuditEvent, category: &Category, field: &str) {
    if !event.categories.iter().any(|c| c == category.id.as_str()) {
        event.categories.push(category.id.to_string());
    }
    event.fields.push(field.to_owned());
}

/// Notes a field's outcome in the audit event: released fields by name (masked ones marked),
/// withheld ones with the reason.
fn record(event: &mut AuditEvent, category: &Category, name: &str, outcome: FieldOutcome) {
    match outcome {
        FieldOutcome::Clear => note(event, category, name),
        FieldOutcome::Masked => note(event, category, &format!("{name}:masked")),
        FieldOutcome::Withheld(reason) => {
            event.withheld.push(format!("{name}:{}", reason.as_str()))
        }
    }
}

/// The access engine refused the whole request for `reason`.
fn access_denied(reason: Withheld, field: &str) -> VaultError {
    reject(
        ErrorCode::AccessDenied,
        format!("access denied: `{}`", reason.as_str()),
        field,
    )
}

fn not_found() -> VaultError {
    reject(ErrorCode::CustomerNotFound, "no customer has this id", "id")
}

fn summary(event: &AuditEvent) -> Decision {
    match (event.fields.is_empty(), event.withheld.is_empty()) {
        (false, true) => Decision::Allowed,
        (false, false) => Decision::Partial,
        (true, _) => Decision::Denied,
    }
}

fn conflict(c: Conflict) -> VaultError {
    match c {
        Conflict::NoSuchCustomer(_) => {
            reject(ErrorCode::CustomerNotFound, "no customer has this id", "id")
        }
        Conflict::CustomerExists(_) => VaultError::Rejected(ApiError::internal()),
        // Only corrections expect values, and they retry before giving up.
        Conflict::FieldChanged { .. } => VaultError::Rejected(ApiError::unavailable()),
        Conflict::OrderMoved(_) => reject(
            ErrorCode::OrderTransitionNotAllowed,
            "the order moved meanwhile; read it again",
            "to",
        ),
    }
}

/// The message for a purpose the policy does not declare: the parameter and the purposes
/// declared, never the name sent (a client could put anything there, personal data included).
fn declared_purposes(policy: &Policy, parameter: &str) -> String {
    format!(
        "`{parameter}` must name a purpose the policy declares: {}",
        crate::error::one_of(policy.purposes.iter().map(|p| p.id.as_str()))
    )
}
