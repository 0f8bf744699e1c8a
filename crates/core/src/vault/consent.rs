//! The consent use cases: recording a change (by the customer, or on their behalf), reading
//! the current state, the history and the receipts, and the consents the access engine
//! reads on every decision.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use custodian_policy::consent::refused_by_gpc;
use custodian_policy::{
    ConsentTerms, FieldType, Lang, LegalBasis, NeedToKnow, NoticeVersion, Operation, Policy,
    Purpose, Section,
};

use super::{
    RequestContext, StoredConsent, StoredCustomer, Vault, VaultError, Write, not_found, reject,
    system_context,
};
use crate::access::{Principal, Purposes, SystemTask, Withheld};
use crate::consent::receipt::{ConsentReceipt, receipt};
use crate::consent::{
    Collection, CollectionChannel, ConsentChange, ConsentState, GivenBy, truncate_ip,
};
use crate::error::ErrorCode;
use crate::ids::{ConsentId, CustomerId};
use crate::notice::NoticeArchive;

/// The kind of the message that adds a consenting customer to an audience-match partner's
/// list (hashed identifiers only).
pub const AUDIENCE_ADD: &str = "audience.add";

/// The field name the sealed evidence of a consent entry is bound to.
const EVIDENCE_FIELD: &str = "consent.evidence";

/// A notice version that was published, with the policy it was rendered from: what a customer
/// was shown when asked. Only [`ShownNotice::resolve`] makes one.
#[derive(Debug, Clone)]
pub struct ShownNotice {
    version: String,
    content_hash: String,
    policy: Arc<Policy>,
}

impl ShownNotice {
    /// The notice in force: what a change recorded now, without a form, is made under (a
    /// withdrawal asked by email or letter).
    pub(crate) fn current(policy: &Arc<Policy>) -> ShownNotice {
        let version = NoticeVersion::of(policy);
        ShownNotice {
            version: version.version,
            content_hash: version.content_hash,
            policy: policy.clone(),
        }
    }

    /// The published notice `given` names — its human version (`2026.3`) or content hash
    /// (`sha256:…`) — from the archive; the current one without asking the archive.
    pub async fn resolve(
        archive: &dyn NoticeArchive,
        current: &Arc<Policy>,
        current_version: &NoticeVersion,
        given: &str,
    ) -> Result<ShownNotice, VaultError> {
        if given == current_version.version || given == current_version.content_hash {
            return Ok(ShownNotice {
                version: current_version.version.clone(),
                content_hash: current_version.content_hash.clone(),
                policy: current.clone(),
            });
        }
        let unknown = || {
            reject(
                ErrorCode::UnknownNoticeVersion,
                "`notice_version` is not a published notice version (see /v1/policy/versions)",
                "notice_version",
            )
        };
        let hash = if given.starts_with("sha256:") {
            given.to_owned()
        } else {
            let list = archive.list().await?;
            match list.into_iter().find(|s| s.version == given) {
                Some(summary) => summary.content_hash,
                None => return Err(unknown()),
            }
        };
        let published = archive.get(&hash).await?.ok_or_else(unknown)?;
        // A version the service itself published parses; if it no longer does (a newer build
        // reads the format differently), the notice cannot be relied on as shown.
        let policy = custodian_policy::parse(&published.policy_source).map_err(|_| unknown())?;
        Ok(ShownNotice {
            version: published.version,
            content_hash: published.content_hash,
            policy: Arc::new(policy),
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }
}

/// A customer's consent to one purpose as it stands.
#[derive(Debug, Serialize)]
pub struct ConsentView {
    pub purpose: String,
    /// `granted`, `denied` or `not_asked`.
    pub state: &'static str,
    /// Granted under terms the policy has since widened: counts as not given until renewed.
    pub needs_renewal: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_reason: Option<&'static str>,
    pub options: Value,
    pub changed_at: Option<Timestamp>,
    pub notice_version: Option<String>,
}

/// One entry of the consent history, as its customer (or staff allowed to) may see it.
#[derive(Debug, Serialize)]
pub struct ConsentEntryView {
    pub id: ConsentId,
    pub purpose: String,
    pub state: &'static str,
    pub at: Timestamp,
    pub notice_version: String,
    pub notice_hash: String,
    pub channel: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_id: Option<String>,
    pub given_by: &'static str,
    pub recorded_by: String,
    pub options: Value,
    pub gpc: bool,
    /// The sealed evidence, opened: user agent, truncated address, the representative's
    /// name. Absent when none was given, or when the customer's key is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Value>,
}

/// What recording one change produced.
#[derive(Debug, Serialize)]
pub struct RecordedConsent {
    pub id: ConsentId,
    pub purpose: String,
    pub state: &'static str,
    pub at: Timestamp,
    /// Partners told of a withdrawal (queued for the outbox).
    pub partners_notified: Vec<String>,
}

/// The current terms of a purpose that rests on consent, and their stored form.
#[derive(Debug)]
pub(super) struct CurrentTerms {
    terms: ConsentTerms,
    /// As entries store them (their JSON is canonical: sorted sets and maps), so that an
    /// entry given under today's terms is recognised without parsing it.
    stored: String,
}

/// The current terms of every purpose that rests on consent.
pub(super) fn current_terms(policy: &Policy) -> HashMap<String, CurrentTerms> {
    policy
        .purposes
        .iter()
        .filter(|p| p.legal_basis == LegalBasis::Consent)
        .map(|p| {
            let terms = ConsentTerms::of(policy, p);
            let stored = serde_json::to_string(&terms).unwrap_or_default();
            (p.id.as_str().to_owned(), CurrentTerms { terms, stored })
        })
        .collect()
}

impl Vault {
    /// Whether the entry's consent stands under the current policy: granted, for a purpose
    /// that still rests on consent, under terms no narrower than today's.
    fn stands(
        &self,
        entry: &StoredConsent,
    ) -> Result<bool, Option<custodian_policy::RenewalReason>> {
        if entry.state != ConsentState::Granted {
            return Err(None);
        }
        let Some(current) = self.consent_terms.get(&entry.purpose) else {
            return Err(None);
        };
        if entry.terms == current.stored {
            return Ok(true);
        }
        let Ok(given) = serde_json::from_str::<ConsentTerms>(&entry.terms) else {
            return Err(Some(custodian_policy::RenewalReason::MeaningChanged));
        };
        match given.renewal_under(&current.terms) {
            None => Ok(true),
            Some(reason) => Err(Some(reason)),
        }
    }

    /// The purposes the customer has consented to, as of now, for the access engine.
    pub(super) async fn consented_purposes(
        &self,
        customer: &CustomerId,
    ) -> Result<Purposes, VaultError> {
        let current = self.store.consents(customer).await?;
        Ok(self.engine.purposes(
            current
                .iter()
                .filter(|e| self.stands(e).is_ok())
                .map(|e| e.purpose.as_str()),
        ))
    }

    /// Whether the customer's consent to `purpose` stands now.
    pub(super) async fn consents_to(
        &self,
        customer: &CustomerId,
        purpose: &str,
    ) -> Result<bool, VaultError> {
        Ok(self.store.consents(customer).await?.iter().any(|e| {
            e.purpose == purpose && e.state == ConsentState::Granted && self.stands(e).is_ok()
        }))
    }

    /// Checks that the caller may act on this customer's records (consents, ledger, requests)
    /// at all: the operation, and for a customer their own record only, for staff the
    /// need-to-know of their role (a care agent within a verified care session). The
    /// customer must exist and not be erased.
    pub(super) async fn customer_caller(
        &self,
        ctx: &RequestContext,
        operation: Operation,
        action: &str,
        id: &CustomerId,
    ) -> Result<StoredCustomer, VaultError> {
        self.check_operation(ctx, operation)?;
        match &ctx.principal {
            Principal::Customer { id: own } if own != id => {
                return Err(self.refuse(ctx, action, id, not_found()).await?);
            }
            Principal::Staff { role, .. } => {
                let need = self
                    .policy
                    .role_named(role.as_str())
                    .map(|r| r.need_to_know);
                let refused = match need {
                    Some(NeedToKnow::Always) => None,
                    Some(NeedToKnow::CareSession) => {
                        let context = self.access_context(&ctx.principal, Some(id), None).await?;
                        (!context.care_session).then_some(Withheld::NoCareSession)
                    }
                    Some(NeedToKnow::FulfillingOrder) => Some(Withheld::OrderNotFulfilling),
                    Some(NeedToKnow::Pseudonymous) | None => Some(Withheld::PseudonymousOnly),
                };
                if let Some(reason) = refused {
                    let error = super::access_denied(reason, "customer");
                    return Err(self.refuse(ctx, action, id, error).await?);
                }
            }
            _ => {}
        }
        let stored = self.load(ctx, action, id).await?;
        if stored.erased {
            return Err(self.refuse(ctx, action, id, not_found()).await?);
        }
        Ok(stored)
    }

    /// The customer's consent to every purpose that rests on consent: granted, denied or
    /// never asked, and whether a grant needs renewal under the current policy.
    pub async fn consents(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
    ) -> Result<Vec<ConsentView>, VaultError> {
        self.customer_caller(ctx, Operation::ConsentsRead, "consent.read", id)
            .await?;
        let mut current: HashMap<String, StoredConsent> = self
            .store
            .consents(id)
            .await?
            .into_iter()
            .map(|e| (e.purpose.clone(), e))
            .collect();
        let mut event = self.event(ctx, "consent.read", Some(id));
        event.purpose = None;
        self.audit_only(event).await?;
        Ok(self
            .policy
            .purposes
            .iter()
            .filter(|p| p.legal_basis == LegalBasis::Consent)
            .map(|p| {
                let entry = current.remove(p.id.as_str());
                let renewal = entry.as_ref().and_then(|e| self.stands(e).err().flatten());
                ConsentView {
                    purpose: p.id.as_str().to_owned(),
                    state: entry.as_ref().map_or("not_asked", |e| e.state.as_str()),
                    needs_renewal: renewal.is_some(),
                    renewal_reason: renewal.map(|r| r.as_str()),
                    options: entry
                        .as_ref()
                        .and_then(|e| serde_json::from_str(&e.options).ok())
                        .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
                    changed_at: entry.as_ref().map(|e| e.at),
                    notice_version: entry.map(|e| e.notice_version),
                }
            })
            .collect())
    }

    /// Every change of the customer's consents, oldest first, with its evidence opened.
    pub async fn consent_history(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
    ) -> Result<Vec<ConsentEntryView>, VaultError> {
        let stored = self
            .customer_caller(ctx, Operation::ConsentsRead, "consent.history", id)
            .await?;
        let entries = self.store.consent_history(id).await?;
        let mut event = self.event(ctx, "consent.history", Some(id));
        event.purpose = None;
        if entries.iter().any(|e| e.evidence.is_some()) {
            event.fields.push(EVIDENCE_FIELD.to_owned());
        }
        // INVARIANT: the read is durable in the audit log before the evidence is opened.
        self.audit_only(event).await?;
        let key = if event_needs_key(&entries) {
            self.live_key(&stored).await?
        } else {
            None
        };
        entries
            .into_iter()
            .map(|e| {
                let evidence = match (&e.evidence, &key) {
                    (Some(sealed), Some(key)) => {
                        let plain = self.open_field(key, id, e.id.as_str(), sealed)?;
                        serde_json::from_slice(plain.expose().as_bytes()).ok()
                    }
                    _ => None,
                };
                Ok(ConsentEntryView {
                    purpose: e.purpose,
                    state: e.state.as_str(),
                    at: e.at,
                    notice_version: e.notice_version,
                    notice_hash: e.notice_hash,
                    channel: e.channel.as_str(),
                    recording_id: e.recording_id,
                    given_by: e.given_by.as_str(),
                    recorded_by: e.recorded_by,
                    options: serde_json::from_str(&e.options)
                        .unwrap_or_else(|_| Value::Object(serde_json::Map::new())),
                    gpc: e.gpc,
                    evidence,
                    id: e.id,
                })
            })
            .collect()
    }

    /// The Kantara receipt of one entry of the customer's consent history, in `lang`.
    pub async fn consent_receipt(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
        entry: &ConsentId,
        lang: Lang,
        archive: &dyn NoticeArchive,
    ) -> Result<ConsentReceipt, VaultError> {
        self.customer_caller(ctx, Operation::ConsentsRead, "consent.receipt", id)
            .await?;
        let missing = || {
            reject(
                ErrorCode::ConsentNotFound,
                "no consent of this customer has this id",
                "id",
            )
        };
        let found = self
            .store
            .consent_history(id)
            .await?
            .into_iter()
            .find(|e| &e.id == entry)
            .ok_or_else(missing)?;
        // Described by the policy whose notice was shown, which may be older than today's;
        // by today's if that version is no longer readable.
        let policy = match archive.get(&found.notice_hash).await? {
            Some(published) => custodian_policy::parse(&published.policy_source)
                .map(Arc::new)
                .unwrap_or_else(|_| self.policy.clone()),
            None => self.policy.clone(),
        };
        receipt(&policy, &found, lang).ok_or_else(missing)
    }

    /// Records changes to the customer's consents, each its own entry of the history (no
    /// bundling), with the notice shown, the channel, who gave it and the evidence. A minor's
    /// consent must come from a parent or guardian. A withdrawal queues a notice to every
    /// partner that receives data for the purpose. With a Global Privacy Control signal, the
    /// purposes it refuses that the customer had granted without one are withdrawn too,
    /// unless this request chooses for them explicitly.
    pub async fn record_consents(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
        shown_notice: &ShownNotice,
        collection: &Collection,
        changes: &[ConsentChange],
    ) -> Result<Vec<RecordedConsent>, VaultError> {
        let stored = self
            .customer_caller(ctx, Operation::ConsentsRecord, "consent.record", id)
            .await?;
        let mut planned: Vec<(&Purpose, ConsentState, CollectionChannel, Value)> = Vec::new();
        for (i, change) in changes.iter().enumerate() {
            let purpose = self.consent_purpose(&change.purpose, i)?;
            if planned.iter().any(|(p, ..)| p.id == purpose.id) {
                return Err(reject(
                    ErrorCode::InvalidBody,
                    format!("purpose `{}` is chosen twice", purpose.id),
                    &format!("choices[{i}].purpose"),
                ));
            }
            let options = self.consent_options(purpose, change, i)?;
            planned.push((purpose, change.state, collection.channel, options));
        }
        if collection.channel == CollectionChannel::RecordedCall
            && collection.recording_id.is_none()
        {
            return Err(reject(
                ErrorCode::InvalidBody,
                "a consent collected on a recorded call names the recording",
                "recording_id",
            ));
        }
        if collection.given_by.is_representative() != collection.representative_name.is_some() {
            return Err(reject(
                ErrorCode::InvalidBody,
                "`representative_name` is given exactly when a parent or guardian consents",
                "representative_name",
            ));
        }
        let current: HashMap<String, StoredConsent> = self
            .store
            .consents(id)
            .await?
            .into_iter()
            .map(|e| (e.purpose.clone(), e))
            .collect();
        if collection.evidence.gpc {
            let refused: Vec<&Purpose> = self
                .policy
                .purposes
                .iter()
                .filter(|p| {
                    refused_by_gpc(&self.policy, p)
                        && !planned.iter().any(|(q, ..)| q.id == p.id)
                        && current
                            .get(p.id.as_str())
                            .is_some_and(|e| e.state == ConsentState::Granted && !e.gpc)
                })
                .collect();
            for purpose in refused {
                planned.push((
                    purpose,
                    ConsentState::Denied,
                    CollectionChannel::GpcSignal,
                    Value::Object(serde_json::Map::new()),
                ));
            }
        }
        if planned.is_empty() {
            return Ok(Vec::new());
        }
        // The customer was read by the caller check; only the key is left to open.
        let Some(key) = self.live_key(&stored).await? else {
            return Err(self.refuse(ctx, "consent.record", id, not_found()).await?);
        };
        // A minor may refuse or withdraw on their own; only a grant needs a parent or guardian.
        let grants = planned
            .iter()
            .any(|(_, state, ..)| *state == ConsentState::Granted);
        if grants
            && collection.given_by == GivenBy::Customer
            && self.is_minor(&stored, &key, ctx.request_id.clone()).await?
        {
            let error = reject(
                ErrorCode::RepresentativeRequired,
                "the customer is a minor: a parent or legal guardian must give this consent",
                "given_by",
            );
            return Err(self.refuse(ctx, "consent.record", id, error).await?);
        }

        let now = self.clock.now();
        let mut writes = Vec::new();
        let mut audit = Vec::new();
        let mut recorded = Vec::new();
        for (purpose, state, channel, options) in planned {
            let entry_id = ConsentId::generate(now)?;
            let evidence = self.seal_evidence(&key, id, &entry_id, collection)?;
            let terms = ConsentTerms::of(&shown_notice.policy, purpose);
            let entry = StoredConsent {
                id: entry_id.clone(),
                customer: id.clone(),
                purpose: purpose.id.as_str().to_owned(),
                state,
                at: now,
                notice_version: shown_notice.version.clone(),
                notice_hash: shown_notice.content_hash.clone(),
                channel,
                recording_id: collection.recording_id.clone(),
                given_by: collection.given_by,
                recorded_by: ctx.principal.audit_name(),
                options: options.to_string(),
                terms: serde_json::to_string(&terms).unwrap_or_default(),
                request_id: ctx.request_id.clone(),
                gpc: collection.evidence.gpc,
                evidence,
            };
            let withdrawn = state == ConsentState::Denied
                && current
                    .get(purpose.id.as_str())
                    .is_some_and(|e| e.state == ConsentState::Granted);
            let joined = state == ConsentState::Granted
                && current
                    .get(purpose.id.as_str())
                    .is_none_or(|e| self.stands(e).is_err());
            // The entry before the notices that refer to it (a foreign key, checked at once
            // by PostgreSQL, which applies the writes in order).
            writes.push(Write::RecordConsent { consent: entry });
            let mut partners_notified = Vec::new();
            if joined {
                // An audience-match partner (hashed identifiers) learns of a customer only
                // once they consent, and only under the hashed identifiers on file.
                for partner in self.policy.partners.iter().filter(|p| {
                    p.purpose == purpose.id && p.data_form == custodian_policy::DataForm::Hashed
                }) {
                    let reference = self
                        .partner_reference(&key, &stored, partner, ctx.request_id.clone())
                        .await?;
                    if reference.is_empty() {
                        continue;
                    }
                    let data = reference.into_iter().collect();
                    writes.push(self.message_write(
                        &key,
                        partner,
                        id,
                        AUDIENCE_ADD,
                        entry_id.as_str(),
                        Some(entry_id.clone()),
                        &data,
                    )?);
                    partners_notified.push(partner.id.as_str().to_owned());
                }
            }
            if withdrawn {
                for partner in self
                    .policy
                    .partners
                    .iter()
                    .filter(|p| p.purpose == purpose.id)
                {
                    // The partner hears of it under the identifiers it knows the customer by
                    // (hashed, for a hashed partner), never under an id of ours.
                    let reference = self
                        .partner_reference(&key, &stored, partner, ctx.request_id.clone())
                        .await?;
                    let data = reference.into_iter().collect();
                    writes.push(self.message_write(
                        &key,
                        partner,
                        id,
                        super::CONSENT_WITHDRAWN,
                        entry_id.as_str(),
                        Some(entry_id.clone()),
                        &data,
                    )?);
                    partners_notified.push(partner.id.as_str().to_owned());
                }
            }
            let mut event = self.event(ctx, &format!("consent.{}", state.as_str()), Some(id));
            event.purpose = Some(purpose.id.as_str().to_owned());
            if collection.evidence.user_agent.is_some()
                || collection.evidence.ip.is_some()
                || collection.representative_name.is_some()
            {
                event.fields.push(EVIDENCE_FIELD.to_owned());
            }
            audit.push(event);
            recorded.push(RecordedConsent {
                id: entry_id,
                purpose: purpose.id.as_str().to_owned(),
                state: state.as_str(),
                at: now,
                partners_notified,
            });
        }
        self.commit(writes, audit).await?;
        Ok(recorded)
    }

    /// The purpose a change names, which must rest on consent.
    fn consent_purpose(&self, name: &str, i: usize) -> Result<&Purpose, VaultError> {
        let field = format!("choices[{i}].purpose");
        let purpose = self.policy.purpose_named(name).ok_or_else(|| {
            reject(
                ErrorCode::UnknownPurpose,
                super::declared_purposes(&self.policy, &field),
                &field,
            )
        })?;
        if purpose.legal_basis != LegalBasis::Consent {
            return Err(reject(
                ErrorCode::ConsentNotApplicable,
                format!("purpose `{}` does not rest on consent", purpose.id),
                &field,
            ));
        }
        Ok(purpose)
    }

    /// Checks a change's options: only for a grant, only the enum fields of the purpose's
    /// required account categories (marketing's channels and frequency), only listed values.
    fn consent_options(
        &self,
        purpose: &Purpose,
        change: &ConsentChange,
        i: usize,
    ) -> Result<Value, VaultError> {
        let mut checked = serde_json::Map::new();
        for (name, value) in &change.options {
            let field_name = format!("choices[{i}].options");
            let bad =
                |message: String| reject(ErrorCode::InvalidConsentOption, message, &field_name);
            if change.state == ConsentState::Denied {
                return Err(bad("a refusal carries no options".to_owned()));
            }
            let offered = self.policy.field_named(name).filter(|(c, f)| {
                c.section == Section::Account
                    && purpose.required.contains(&c.id)
                    && matches!(f.ty, FieldType::Enum | FieldType::EnumSet)
            });
            let Some((_, field)) = offered else {
                return Err(bad(format!(
                    "`{field_name}` names an option purpose `{}` does not offer (see /v1/choices)",
                    purpose.id
                )));
            };
            let listed = |v: &Value| {
                v.as_str()
                    .is_some_and(|s| field.values.iter().any(|allowed| allowed == s))
            };
            let ok = match (field.ty, value) {
                (FieldType::Enum, v) => listed(v),
                (FieldType::EnumSet, Value::Array(items)) => {
                    !items.is_empty()
                        && items.iter().all(listed)
                        && items
                            .iter()
                            .enumerate()
                            .all(|(j, v)| !items.iter().take(j).any(|w| w == v))
                }
                _ => false,
            };
            if !ok {
                return Err(bad(format!(
                    "option `{name}` takes {} of: {}",
                    if field.ty == FieldType::EnumSet {
                        "a non-empty list without repeats"
                    } else {
                        "one"
                    },
                    field.values.join(", ")
                )));
            }
            checked.insert(name.clone(), value.clone());
        }
        Ok(Value::Object(checked))
    }

    /// Seals what is personal in the evidence under the customer's key, bound to the entry.
    fn seal_evidence(
        &self,
        key: &super::OpenKey,
        customer: &CustomerId,
        entry: &ConsentId,
        collection: &Collection,
    ) -> Result<Option<super::SealedField>, VaultError> {
        let mut evidence = BTreeMap::new();
        if let Some(ua) = &collection.evidence.user_agent {
            // A user agent longer than any real one is cut, not refused.
            let cut: String = ua.chars().take(512).collect();
            evidence.insert("user_agent", Value::String(cut));
        }
        if let Some(ip) = collection.evidence.ip {
            evidence.insert("truncated_ip", Value::String(truncate_ip(ip)));
        }
        if let Some(name) = &collection.representative_name {
            let cut: String = name.chars().take(200).collect();
            evidence.insert("representative_name", Value::String(cut));
        }
        if evidence.is_empty() {
            return Ok(None);
        }
        let json = serde_json::to_vec(&evidence).unwrap_or_default();
        Ok(Some(self.seal_field(
            key,
            customer,
            entry.as_str(),
            EVIDENCE_FIELD,
            &json,
        )?))
    }

    /// Whether the customer is a minor today, by the date field of their account (the date
    /// of birth); a customer who gave none is taken as an adult. The read is audited as
    /// `system:consent_age_check` before the date is opened; the date never leaves.
    async fn is_minor(
        &self,
        stored: &StoredCustomer,
        key: &super::OpenKey,
        request_id: Option<String>,
    ) -> Result<bool, VaultError> {
        let Some((category, name)) = self.profile_fields().find_map(|(c, f)| {
            (f.ty == FieldType::Date).then(|| (c, format!("{}.{}", c.id, f.name)))
        }) else {
            return Ok(false);
        };
        let Some(sealed) = stored.fields.iter().find(|f| f.field == name) else {
            return Ok(false);
        };
        let ctx = system_context(SystemTask::ConsentAgeCheck, request_id);
        let mut event = self.event(&ctx, "customer.age_check", Some(&stored.id));
        event.purpose = None;
        super::note(&mut event, category, &name);
        self.audit_only(event).await?;
        let value = self.open_field(key, &stored.id, stored.id.as_str(), sealed)?;
        let Ok(born) = value.expose().parse::<jiff::civil::Date>() else {
            return Ok(false);
        };
        // Today in UTC, from the days since the epoch (no time-zone database needed).
        let days = self.clock.now().as_second().div_euclid(86_400);
        let Ok(today) = jiff::civil::date(1970, 1, 1).checked_add(jiff::Span::new().days(days))
        else {
            return Ok(false);
        };
        let age = jiff::Span::new().years(i64::from(self.policy.controller.age_of_consent));
        Ok(born.checked_add(age).is_ok_and(|adult| today < adult))
    }
}

fn event_needs_key(entries: &[StoredConsent]) -> bool {
    entries.iter().any(|e| e.evidence.is_some())
}
