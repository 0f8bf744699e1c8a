//! The outbox's use cases on the vault: building a message to a partner (checked against the
//! partner's declared fields, in its data form, sealed under the customer's key), opening one
//! for delivery (audited before anything is decrypted), recording a delivery in the
//! disclosure ledger, and what administrators and customers read of both.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use custodian_policy::{DataForm, FieldType, LegalBasis, Operation, Partner, Section};

use super::{OpenKey, RequestContext, Vault, VaultError, Write, note, reject, system_context};
use crate::access::SystemTask;
use crate::error::{ApiError, ErrorCode};
use crate::ids::{ConsentId, CustomerId, OutboxId};
use crate::outbox::{
    DisclosureRecord, OutboxMessage, OutboxStatus, OutboxStore, PAYLOAD_FIELD, Payload,
};
use crate::personal::Personal;

/// The kind of the message telling a partner a consent was withdrawn.
pub const CONSENT_WITHDRAWN: &str = "consent.withdrawn";

/// A partner the vault's policy declares: the only way to name a recipient of an outbox
/// message, so a release to anyone else cannot be expressed.
#[derive(Debug, Clone, Copy)]
pub struct DeclaredPartner<'v> {
    partner: &'v Partner,
}

impl DeclaredPartner<'_> {
    pub fn id(&self) -> &str {
        self.partner.id.as_str()
    }

    pub fn partner(&self) -> &Partner {
        self.partner
    }
}

/// A message to enqueue: to a declared partner, about a customer, carrying `data` —
/// `category.field` → the value in the clear, each field one the partner's policy lists
/// (hashed partners get normalised-then-SHA-256 values; the vault applies the data form).
/// Its `Debug` never shows the values.
pub struct PartnerMessage<'v> {
    pub partner: DeclaredPartner<'v>,
    pub customer: CustomerId,
    /// What happened, e.g. `order.fulfilling`: lowercase letters, digits, `.` and `_`.
    pub kind: String,
    /// The caller's key for this event (e.g. `order.fulfilling:<order id>`): enqueueing the
    /// same key twice for a partner queues one message. Never sent as such: the partner gets
    /// a digest of it.
    pub idempotency_key: String,
    /// The consent entry the message relies on, for a purpose that rests on consent.
    pub consent: Option<ConsentId>,
    pub data: BTreeMap<String, Value>,
}

impl std::fmt::Debug for PartnerMessage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerMessage")
            .field("partner", &self.partner.id())
            .field("kind", &self.kind)
            .field("fields", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What an administrator sees of a message: never its payload.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxView {
    pub id: OutboxId,
    pub partner: String,
    pub customer: CustomerId,
    pub kind: String,
    pub purpose: String,
    pub fields: Vec<String>,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
}

impl From<OutboxMessage> for OutboxView {
    fn from(m: OutboxMessage) -> OutboxView {
        OutboxView {
            id: m.id,
            partner: m.partner,
            customer: m.customer,
            kind: m.kind,
            purpose: m.purpose,
            fields: m.fields,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_error: m.last_error,
            created_at: m.created_at,
            delivered_at: m.delivered_at,
        }
    }
}

/// A payload opened for delivery: personal data in the clear, shown by `Debug` never.
pub struct OpenedPayload(Personal);

impl OpenedPayload {
    pub fn bytes(&self) -> &[u8] {
        self.0.expose().as_bytes()
    }
}

impl std::fmt::Debug for OpenedPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpenedPayload(<redacted>)")
    }
}

/// `sha256:<hex>` of a body.
pub fn digest(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

/// A value in the form audience-match services expect: an email address in its normal form
/// (trimmed, lower-case, its domain in ASCII), or a phone number's E.164 digits (no `+`),
/// SHA-256, in hex. `value` was normalised by the field's schema already.
fn hashed(ty: FieldType, value: &str, phone_region: custodian_crypto::PhoneRegion) -> String {
    let normal = match ty {
        FieldType::Email => {
            custodian_crypto::normalise_email(value).unwrap_or_else(|_| value.trim().to_lowercase())
        }
        FieldType::Phone => custodian_crypto::normalise_phone(value, phone_region)
            .map(|p| p.trim_start_matches('+').to_owned())
            .unwrap_or_else(|_| value.chars().filter(char::is_ascii_digit).collect()),
        _ => value.trim().to_lowercase(),
    };
    hex::encode(Sha256::digest(normal.as_bytes()))
}

impl Vault {
    /// Uses the outbox in `store` (listing, re-driving, the ledger); without it those use
    /// cases answer `service_unavailable`. Enqueueing needs no store: it is a [`Write`].
    pub fn with_outbox_store(mut self, store: Arc<dyn OutboxStore>) -> Vault {
        self.outbox = Some(store);
        self
    }

    fn outbox_store(&self) -> Result<&Arc<dyn OutboxStore>, VaultError> {
        self.outbox
            .as_ref()
            .ok_or_else(|| VaultError::Rejected(ApiError::unavailable()))
    }

    /// The partner the policy declares with this id.
    pub fn declared_partner(&self, id: &str) -> Option<DeclaredPartner<'_>> {
        self.policy
            .partners
            .iter()
            .find(|p| p.id.as_str() == id)
            .map(|partner| DeclaredPartner { partner })
    }

    /// The write that puts `message` in the outbox, to commit in the caller's own transaction
    /// with the change that causes it (the transactional outbox). Checks every field against
    /// the partner's declared fields, applies its data form, and seals the payload under the
    /// customer's key. A purpose that rests on consent needs the customer's consent to it now.
    pub async fn partner_message(
        &self,
        message: PartnerMessage<'_>,
    ) -> Result<Vec<Write>, VaultError> {
        let partner = message.partner.partner;
        let purpose = self
            .policy
            .purpose(&partner.purpose)
            .ok_or_else(|| VaultError::Rejected(ApiError::internal()))?;
        if purpose.legal_basis == LegalBasis::Consent
            && !self
                .consents_to(&message.customer, purpose.id.as_str())
                .await?
        {
            return Err(reject(
                ErrorCode::ConsentRequired,
                format!(
                    "partner `{}` receives data for `{}`, which needs the customer's consent",
                    partner.id, purpose.id
                ),
                "consent",
            ));
        }
        // A restriction or an objection stops releases from now on; what was queued before
        // goes out (the limit is not retroactive).
        if let Some(reason) = self.limit_stopping(&message.customer, &[purpose]).await? {
            return Err(super::access_denied(reason, "purpose"));
        }
        let ctx = system_context(SystemTask::OutboxDelivery, None);
        let (_, key) = self
            .load_live(&ctx, "outbox.enqueue", &message.customer)
            .await?;
        let write = self.message_write(
            &key,
            partner,
            &message.customer,
            &message.kind,
            &message.idempotency_key,
            message.consent,
            &message.data,
        )?;
        Ok(vec![write])
    }

    /// Enqueues a message on its own (what [`Self::partner_message`] returns, committed alone).
    pub async fn enqueue_partner_message(
        &self,
        message: PartnerMessage<'_>,
    ) -> Result<(), VaultError> {
        let writes = self.partner_message(message).await?;
        self.commit(writes, Vec::new()).await
    }

    /// Builds the outbox write of one message, the values checked and in the partner's form.
    #[allow(clippy::too_many_arguments, reason = "one message's parts, all needed")]
    pub(super) fn message_write(
        &self,
        key: &OpenKey,
        partner: &Partner,
        customer: &CustomerId,
        kind: &str,
        idempotency_key: &str,
        consent: Option<ConsentId>,
        data: &BTreeMap<String, Value>,
    ) -> Result<Write, VaultError> {
        let kind_ok = !kind.is_empty()
            && kind.len() <= 64
            && kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_');
        if !kind_ok {
            return Err(reject(
                ErrorCode::InvalidParameter,
                "a message kind is lowercase letters, digits, `.` and `_`",
                "kind",
            ));
        }
        if idempotency_key.is_empty()
            || idempotency_key.len() > 200
            || idempotency_key.chars().any(char::is_control)
        {
            return Err(reject(
                ErrorCode::InvalidParameter,
                "an idempotency key is 1 to 200 characters, none a control character",
                "idempotency_key",
            ));
        }
        let purpose = self
            .policy
            .purpose(&partner.purpose)
            .ok_or_else(|| VaultError::Rejected(ApiError::internal()))?;
        let mut fields = Vec::new();
        let mut body_data = Map::new();
        for (name, value) in data {
            let declared = partner.fields.iter().any(|f| f.to_string() == *name);
            let Some((category, field)) = self.policy.field_named(name).filter(|_| declared) else {
                let receives: Vec<String> =
                    partner.fields.iter().map(ToString::to_string).collect();
                return Err(reject(
                    ErrorCode::FieldNotAllowed,
                    format!(
                        "partner `{}` receives only {}",
                        partner.id,
                        crate::error::one_of(receives.iter().map(String::as_str))
                    ),
                    "data",
                ));
            };
            // A value, or a list of them (an order's items): each checked against the field's
            // schema, then put in the partner's form.
            let one = |v: &Value| -> Result<Value, VaultError> {
                let normal = super::input::normalise(field, v, self.phone_region).map_err(|e| {
                    let at = format!("{}.{}", category.id, field.name);
                    reject(e.code, format!("field `{at}` {}", e.message), &at)
                })?;
                Ok(match partner.data_form {
                    DataForm::Hashed => {
                        Value::String(hashed(field.ty, normal.expose(), self.phone_region))
                    }
                    _ if field.ty == FieldType::Integer => v.clone(),
                    _ => Value::String(normal.expose().to_owned()),
                })
            };
            let value = match value {
                Value::Array(items) if !items.is_empty() => {
                    Value::Array(items.iter().map(one).collect::<Result<Vec<_>, _>>()?)
                }
                single => one(single)?,
            };
            fields.push(name.clone());
            body_data.insert(name.clone(), value);
        }
        let now = self.clock.now();
        let id = OutboxId::generate(now)?;
        let mut body = Map::new();
        body.insert("type".into(), Value::String(kind.to_owned()));
        body.insert(
            "purpose".into(),
            Value::String(purpose.id.as_str().to_owned()),
        );
        body.insert("occurred_at".into(), Value::String(now.to_string()));
        body.insert("data".into(), Value::Object(body_data));
        let json = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
        let payload = self.seal_field(key, customer, id.as_str(), PAYLOAD_FIELD, &json)?;
        let derived = Sha256::digest(
            format!(
                "custodian-outbox\0{}\0{kind}\0{idempotency_key}",
                partner.id
            )
            .as_bytes(),
        );
        Ok(Write::EnqueueMessage {
            message: OutboxMessage {
                id,
                partner: partner.id.as_str().to_owned(),
                customer: customer.clone(),
                kind: kind.to_owned(),
                idempotency_key: hex::encode(derived),
                purpose: purpose.id.as_str().to_owned(),
                legal_basis: legal_basis(purpose.legal_basis).to_owned(),
                consent,
                fields,
                payload: Payload::Sealed(payload),
                created_at: now,
                status: OutboxStatus::Pending,
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                delivered_at: None,
            },
        })
    }

    /// The identifiers `partner` knows the customer by, from their profile, in the partner's
    /// form (for a hashed partner, the hashed email and phone): what a withdrawal notice
    /// names the customer with. The read is audited as `system:outbox_delivery` before
    /// anything is decrypted.
    pub(super) async fn partner_reference(
        &self,
        key: &OpenKey,
        stored: &super::StoredCustomer,
        partner: &Partner,
        request_id: Option<String>,
    ) -> Result<BTreeMap<String, Value>, VaultError> {
        let known: Vec<(&custodian_policy::Category, String, &super::SealedField)> = partner
            .fields
            .iter()
            .filter_map(|f| {
                let name = f.to_string();
                let (category, _) = self.policy.field_named(&name)?;
                if category.section != Section::Account {
                    return None;
                }
                let sealed = stored.fields.iter().find(|s| s.field == name)?;
                Some((category, name, sealed))
            })
            .collect();
        let mut reference = BTreeMap::new();
        if known.is_empty() {
            return Ok(reference);
        }
        let ctx = system_context(SystemTask::OutboxDelivery, request_id);
        let mut event = self.event(&ctx, "outbox.reference", Some(&stored.id));
        event.purpose = Some(partner.purpose.as_str().to_owned());
        for (category, name, _) in &known {
            note(&mut event, category, name);
        }
        self.audit_only(event).await?;
        for (_, name, sealed) in known {
            let value = self.open_field(key, &stored.id, stored.id.as_str(), sealed)?;
            reference.insert(name, Value::String(value.expose().to_owned()));
        }
        Ok(reference)
    }

    /// Opens a claimed message for delivery: the decision is recorded in the audit log
    /// (`system:outbox_delivery`, the message's purpose and fields), durably, before the
    /// payload is decrypted. `None`: the customer was erased, so the payload is gone.
    pub async fn open_for_delivery(
        &self,
        message: &OutboxMessage,
    ) -> Result<Option<OpenedPayload>, VaultError> {
        let ctx = system_context(SystemTask::OutboxDelivery, None);
        let sealed = match &message.payload {
            Payload::Sealed(sealed) => sealed,
            // Nothing personal to open (an erasure notice): it goes out after the erasure.
            Payload::Public(body) => {
                return Ok(Some(OpenedPayload(Personal::new(
                    String::from_utf8_lossy(body).into_owned(),
                ))));
            }
        };
        let Some(stored) = self.store.customer(&message.customer).await? else {
            return Ok(None);
        };
        if stored.erased {
            return Ok(None);
        }
        let mut event = self.event(&ctx, "outbox.deliver", Some(&message.customer));
        event.purpose = Some(message.purpose.clone());
        event
            .withheld
            .push(format!("recipient:{}", message.partner));
        for name in &message.fields {
            if let Some((category, _)) = self.policy.field_named(name) {
                note(&mut event, category, name);
            }
        }
        self.audit_only(event).await?;
        let Some(key) = self.live_key(&stored).await? else {
            return Ok(None);
        };
        let body = self.open_field(&key, &message.customer, message.id.as_str(), sealed)?;
        Ok(Some(OpenedPayload(body)))
    }

    /// Marks a message delivered and appends the disclosure to the customer's ledger, in one
    /// commit; once per message.
    pub async fn record_delivery(
        &self,
        message: &OutboxMessage,
        body: &[u8],
    ) -> Result<(), VaultError> {
        let mut categories: Vec<String> = Vec::new();
        for name in &message.fields {
            if let Some((category, _)) = self.policy.field_named(name)
                && !categories.iter().any(|c| c == category.id.as_str())
            {
                categories.push(category.id.as_str().to_owned());
            }
        }
        let disclosure = DisclosureRecord {
            message: message.id.clone(),
            customer: message.customer.clone(),
            recipient: message.partner.clone(),
            categories,
            fields: message.fields.clone(),
            purpose: message.purpose.clone(),
            legal_basis: message.legal_basis.clone(),
            consent: message.consent.clone(),
            at: self.clock.now(),
            digest: digest(body),
        };
        self.commit(vec![Write::MessageDelivered { disclosure }], Vec::new())
            .await
    }

    /// Outbox messages in `status`, without their payloads (administrators: `outbox.manage`).
    pub async fn outbox_messages(
        &self,
        ctx: &RequestContext,
        status: OutboxStatus,
        limit: u32,
    ) -> Result<Vec<OutboxView>, VaultError> {
        self.check_operation(ctx, Operation::OutboxManage)?;
        let store = self.outbox_store()?;
        let mut event = self.event(ctx, "outbox.list", None);
        event.purpose = None;
        self.audit_only(event).await?;
        Ok(store
            .messages(status, limit)
            .await?
            .into_iter()
            .map(OutboxView::from)
            .collect())
    }

    /// Puts a dead letter back in the queue, due now (administrators: `outbox.manage`).
    pub async fn redrive(&self, ctx: &RequestContext, id: &OutboxId) -> Result<(), VaultError> {
        self.check_operation(ctx, Operation::OutboxManage)?;
        let store = self.outbox_store()?;
        let Some(message) = store.message(id).await? else {
            return Err(reject(
                ErrorCode::MessageNotFound,
                "no outbox message has this id",
                "id",
            ));
        };
        if !store.redrive(id, self.clock.now()).await? {
            return Err(reject(
                ErrorCode::MessageNotDead,
                format!(
                    "the message is {}, not dead: only a dead letter is re-driven",
                    message.status.as_str()
                ),
                "id",
            ));
        }
        let mut event = self.event(ctx, "outbox.redrive", Some(&message.customer));
        event.purpose = None;
        event.withheld.push(format!("message:{id}"));
        self.audit_only(event).await
    }

    /// Every outbox message about the customer, without payloads (`consents.read`, as for
    /// the consents whose withdrawals they report).
    pub async fn customer_outbox(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
    ) -> Result<Vec<OutboxView>, VaultError> {
        self.customer_caller(ctx, Operation::ConsentsRead, "outbox.customer", id)
            .await?;
        Ok(self
            .outbox_store()?
            .customer_messages(id)
            .await?
            .into_iter()
            .map(OutboxView::from)
            .collect())
    }

    /// The customer's disclosure ledger: every release outside the company, oldest first.
    /// A customer reads their own; staff and integrations need `consents.read` (and a care
    /// agent a verified care session). The reading is audited.
    pub async fn disclosures(
        &self,
        ctx: &RequestContext,
        id: &CustomerId,
    ) -> Result<Vec<DisclosureRecord>, VaultError> {
        let stored = self
            .customer_caller(ctx, Operation::ConsentsRead, "disclosures.read", id)
            .await?;
        let entries = self.outbox_store()?.disclosures(&stored.id).await?;
        let mut event = self.event(ctx, "disclosures.read", Some(id));
        event.purpose = None;
        self.audit_only(event).await?;
        Ok(entries)
    }
}

/// A legal basis as the policy writes it.
pub(super) fn legal_basis(basis: LegalBasis) -> &'static str {
    match basis {
        LegalBasis::Consent => "consent",
        LegalBasis::Contract => "contract",
        LegalBasis::LegalObligation => "legal_obligation",
        LegalBasis::LegitimateInterest => "legitimate_interest",
    }
}

/// `Custodian-Message-Id` of a message: a digest of its id, stable across attempts, telling
/// the partner neither the id nor when it was made.
pub fn public_message_id(id: &OutboxId) -> String {
    let d = Sha256::digest(format!("custodian-message\0{id}").as_bytes());
    format!("msg_{}", hex::encode(d.get(..16).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_identifiers_are_normalised_first() {
        let vn = custodian_crypto::PhoneRegion::VIETNAM;
        let a = hashed(FieldType::Email, "  Nguyen.An@Example.COM ", vn);
        let b = hashed(FieldType::Email, "nguyen.an@example.com", vn);
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        let p = hashed(FieldType::Phone, "+84 901 234 567", vn);
        assert_eq!(p, hex::encode(Sha256::digest(b"84901234567")));
    }
}
