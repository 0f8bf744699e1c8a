//! Erasure on every backend (P1, issue 7 §3): the canary search after an erasure finds
//! nothing of the customer in the data files, their write-ahead log or the key database;
//! nothing of them is readable by anyone; what the accounting hold keeps is readable only
//! for `legal_obligation` and goes when the hold ends; the completion report says what went
//! and what stayed; each partner that received data gets one `erasure.requested` notice
//! carrying message digests only, which survives the purge; and a crash between the steps
//! leaves an erasure that a retry completes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use custodian_core::StoreError;
use custodian_core::access::{Disclosure, Withheld};
use custodian_core::audit::{AuditEntry, Checkpoint};
use custodian_core::clock::Clock;
use custodian_core::error::ErrorCode;
use custodian_core::ids::{CustomerId, OrderId, RequestId};
use custodian_core::orders::OrderState;
use custodian_core::outbox::{OutboxStatus, Payload};
use custodian_core::rights::erasure::{ERASURE_REQUESTED, NoticeStatus, StoredHoldKey};
use custodian_core::vault::{
    BlindIndex, Conflict, KeyStore, OrderMove, OrderSummary, PartnerMessage, RequestContext,
    StoredConsent, StoredCustomer, StoredHistory, StoredKey, StoredOrder, Transaction, Vault,
    VaultError, VaultStore, Write, public_message_id,
};
use custodian_crypto::{BlindIndexKey, LocalKeyring, SecretKey, WrappedKey};
use custodian_policy::{DEFAULT_POLICY, parse};
use custodian_store::SqliteKeyStore;

use crate::care::agent;
use crate::consent::{ConsentFixture, grant, holds, me, raw_contents};
use crate::suite::{Backend, ctx, fields};

const NAME: &str = "Canary Vương Erasa";
const EMAIL: &str = "erasa.canary7q@example.com";
const PHONE_DIGITS: &str = "912777351";
const NEW_NAME: &str = "Canary Corrected Erasa";
const ITEM: &str = "CanaryItemZq Lụa";
const RECIPIENT: &str = "Canary Nhận Hàng Erasa";
const ADDRESS: &str = "Số 77 ngõ CanaryErasure";

fn items() -> Vec<Map<String, Value>> {
    vec![fields(json!({
        "product_id": "sku-canary-01",
        "product_name": ITEM,
        "quantity": 2,
        "unit_price": 150000,
    }))]
}

fn order_fields() -> Map<String, Value> {
    fields(json!({
        "order_recipient.recipient_name": RECIPIENT,
        "order_shipping_address.address_line": ADDRESS,
        "order_shipping_address.ward": "Hàng Bạc",
        "order_shipping_address.province": "Hà Nội",
        "order_shipping_address.country": "VN",
        "order_payment.payment_token": "tok_canary_77",
        "order_payment.card_brand": "visa",
        "order_payment.card_last4": "4242",
        "order_payment.card_expiry": "12/29",
    }))
}

fn code(e: VaultError) -> ErrorCode {
    match e {
        VaultError::Rejected(api) => api.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn as_role(role: &str, purpose: &str) -> RequestContext {
    RequestContext {
        principal: agent(role),
        ..ctx(purpose)
    }
}

/// A customer with canaries everywhere: profile, a correction, two orders (one delivered),
/// a consent, and outbox messages to the carrier (one delivered, in the ledger).
async fn canary_customer(vault: &Vault, b: &Backend) -> (CustomerId, OrderId, OrderId) {
    let id = vault
        .create(
            &ctx("account"),
            &fields(json!({
                "account_name.full_name": NAME,
                "account_email.email": EMAIL,
                "account_phone.phone": format!("+84 {PHONE_DIGITS}"),
            })),
        )
        .await
        .unwrap();
    vault
        .correct(
            &ctx("account"),
            &id,
            &fields(json!({ "account_name.full_name": NEW_NAME })),
        )
        .await
        .unwrap();
    let delivered = vault
        .place_order(
            &ctx("order_fulfilment"),
            Some(&id),
            &items(),
            &order_fields(),
        )
        .await
        .unwrap()
        .id;
    for to in [
        OrderState::Paid,
        OrderState::Fulfilling,
        OrderState::Shipped,
        OrderState::Delivered,
    ] {
        vault
            .move_order(&ctx("order_fulfilment"), &delivered, to)
            .await
            .unwrap();
    }
    let open = vault
        .place_order(
            &ctx("order_fulfilment"),
            Some(&id),
            &items(),
            &order_fields(),
        )
        .await
        .unwrap()
        .id;
    vault
        .record_consents(
            &crate::consent::by(&me(&id)),
            &id,
            &shown(vault, b).await,
            &custodian_core::consent::Collection {
                channel: custodian_core::consent::CollectionChannel::WebForm,
                recording_id: None,
                given_by: custodian_core::consent::GivenBy::Customer,
                representative_name: None,
                evidence: custodian_core::consent::Evidence::default(),
            },
            &[grant("marketing")],
        )
        .await
        .unwrap();
    // Two messages to the carrier: one delivered (in the ledger), one still pending.
    for key in ["canary-1", "canary-2"] {
        vault
            .enqueue_partner_message(PartnerMessage {
                partner: vault.declared_partner("carrier").unwrap(),
                customer: id.clone(),
                kind: "order.fulfilling".into(),
                idempotency_key: key.into(),
                consent: None,
                data: BTreeMap::from([
                    ("order_recipient.recipient_name".into(), json!(RECIPIENT)),
                    ("order_shipping_address.address_line".into(), json!(ADDRESS)),
                ]),
            })
            .await
            .unwrap();
    }
    let first = b.outbox.customer_messages(&id).await.unwrap().remove(0);
    let body = vault.open_for_delivery(&first).await.unwrap().unwrap();
    vault.record_delivery(&first, body.bytes()).await.unwrap();
    (id, delivered, open)
}

async fn shown(vault: &Vault, b: &Backend) -> custodian_core::vault::ShownNotice {
    let policy = Arc::new(parse(DEFAULT_POLICY).unwrap());
    let version = custodian_policy::NoticeVersion::of(&policy);
    let _ = vault;
    custodian_core::vault::ShownNotice::resolve(
        b.archive.as_ref(),
        &policy,
        &version,
        &version.version,
    )
    .await
    .unwrap()
}

fn canaries() -> Vec<&'static str> {
    vec![
        "Canary Vương",
        "erasa.canary7q",
        PHONE_DIGITS,
        "Canary Corrected",
        "CanaryItemZq",
        "Canary Nhận Hàng",
        "CanaryErasure",
        "tok_canary_77",
    ]
}

pub async fn erasure_keeps_holds_reports_and_notifies(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let vault = f.vault.clone().with_erasure_store(b.erasure.clone());
    let (id, delivered, open) = canary_customer(&vault, &b).await;
    let delivered_at = b.store.order(&delivered).await.unwrap().unwrap().updated_at;
    // The move into fulfilment queued one message to the carrier and one to the payment
    // processor; two more went to the carrier; one of all these was delivered.
    let messages = b.outbox.customer_messages(&id).await.unwrap();
    assert_eq!(messages.len(), 4);
    let pending: Vec<_> = messages
        .iter()
        .filter(|m| m.status == OutboxStatus::Pending)
        .map(|m| m.id.clone())
        .collect();
    assert_eq!(pending.len(), 3);

    f.clock.advance(SignedDuration::from_hours(24));
    let now = f.clock.now();
    let report = vault.erase(&ctx("account"), &id).await.unwrap();

    // The key is gone; nothing of the customer is readable by anyone.
    assert!(
        f.key_store.get(&id).await.unwrap().is_none(),
        "key destroyed"
    );
    for (role, purpose) in [
        ("dpo", "legal_obligation"),
        ("care_agent", "customer_care"),
        ("fulfilment", "order_fulfilment"),
    ] {
        if let Ok(view) = vault.read(&as_role(role, purpose), &id).await {
            assert!(
                view.fields
                    .values()
                    .all(|d| matches!(d, Disclosure::Withheld(_))),
                "{role} reads nothing"
            );
        }
    }
    let view = vault.read(&ctx("account"), &id).await.unwrap();
    assert!(
        view.fields
            .values()
            .all(|d| *d == Disclosure::Withheld(Withheld::Erased))
    );
    let order = vault
        .read_order(&ctx("order_fulfilment"), &delivered)
        .await
        .unwrap();
    assert!(
        order
            .fields
            .values()
            .all(|d| matches!(d, Disclosure::Withheld(Withheld::Erased)))
    );
    assert!(
        vault
            .history(&ctx("account"), &id)
            .await
            .unwrap()
            .iter()
            .all(|h| matches!(h.value, Disclosure::Withheld(Withheld::Erased)))
    );

    // The canary search: nothing in the data files (and log), nor in the key database.
    let data = raw_contents(&b);
    let keys = std::fs::read_dir(f.keys.path())
        .unwrap()
        .flat_map(|e| std::fs::read(e.unwrap().path()).unwrap_or_default())
        .collect::<Vec<u8>>();
    for canary in canaries() {
        assert!(!holds(&data, canary), "`{canary}` found in the database");
        assert!(!holds(&keys, canary), "`{canary}` found in the key store");
    }

    // The report: removed and retained categories, the basis, the date, the partner.
    assert_eq!(report.erased_at, now);
    let removed: Vec<&str> = report.removed.iter().map(|r| r.category.as_str()).collect();
    for category in [
        "account_name",
        "account_email",
        "account_phone",
        "order_items",
        "order_recipient",
        "order_shipping_address",
        "order_payment",
    ] {
        assert!(removed.contains(&category), "{category} in {removed:?}");
    }
    let name = report
        .removed
        .iter()
        .find(|r| r.category == "account_name")
        .unwrap();
    assert_eq!(name.values, 2, "the name and its earlier value");
    assert_eq!(name.label.en, "Full name");
    let retained: Vec<&str> = report
        .retained
        .iter()
        .map(|r| r.category.as_str())
        .collect();
    assert_eq!(
        retained,
        ["order_items", "order_recipient", "order_shipping_address"]
    );
    let ten_years = |t: Timestamp| {
        jiff::tz::Offset::UTC
            .to_timestamp(
                jiff::tz::Offset::UTC
                    .to_datetime(t)
                    .checked_add(jiff::Span::new().years(10))
                    .unwrap(),
            )
            .unwrap()
    };
    for r in &report.retained {
        assert_eq!(r.hold, "accounting_records");
        assert_eq!(r.purpose, "legal_obligation");
        assert!(r.basis.en.contains("88/2015/QH13"), "{}", r.basis.en);
        assert!(r.basis.vi.contains("Luật Kế toán"));
        // The open order counts from the erasure, the latest of the two.
        assert_eq!(r.until, ten_years(now));
    }
    let partners: Vec<&str> = report.partners.iter().map(|p| p.partner.as_str()).collect();
    assert_eq!(partners, ["carrier", "payment_processor"]);
    assert!(
        report
            .partners
            .iter()
            .all(|p| p.status == NoticeStatus::Notified && p.notified_at == now)
    );
    let json = serde_json::to_string(&report).unwrap();
    for canary in canaries() {
        assert!(!holds(json.as_bytes(), canary), "no value in the report");
    }
    assert!(!json.contains(id.as_str()), "no internal id in the report");

    // One notice per partner, not sealed, naming that partner's messages by their digests
    // only, still pending after the purge (the personal messages pending were dropped).
    let after = b.outbox.customer_messages(&id).await.unwrap();
    let notices: Vec<_> = after
        .iter()
        .filter(|m| m.kind == ERASURE_REQUESTED)
        .collect();
    assert_eq!(notices.len(), 2);
    for notice in &notices {
        assert_eq!(notice.status, OutboxStatus::Pending);
        assert!(notice.fields.is_empty());
        let Payload::Public(body) = &notice.payload else {
            panic!("a notice holds nothing personal and is not sealed");
        };
        let body: Value = serde_json::from_slice(body).unwrap();
        let mut named: Vec<String> = body["data"]["message_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        named.sort();
        let mut expected: Vec<String> = messages
            .iter()
            .filter(|m| m.partner == notice.partner)
            .map(|m| public_message_id(&m.id))
            .collect();
        expected.sort();
        assert_eq!(named, expected, "{}", notice.partner);
        let text = body.to_string();
        assert!(!text.contains(id.as_str()) && !text.contains("obx_"));
        for canary in canaries() {
            assert!(!holds(text.as_bytes(), canary));
        }
    }
    for m in &after {
        if pending.contains(&m.id) {
            assert_eq!(m.status, OutboxStatus::Dropped);
        }
    }
    let notice = notices[0];
    let Payload::Public(body) = &notice.payload else {
        panic!("not sealed");
    };
    let body: Value = serde_json::from_slice(body).unwrap();
    // It is delivered after the erasure, as is.
    let opened = vault.open_for_delivery(notice).await.unwrap().unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(opened.bytes()).unwrap(),
        body
    );

    // The held values: readable for `legal_obligation` by the DPO…
    let held = vault
        .read_held(&as_role("dpo", "legal_obligation"), &id)
        .await
        .unwrap();
    assert_eq!(held.len(), 2, "both orders");
    let done = held.iter().find(|h| h.order == delivered).unwrap();
    assert_eq!(done.held_until, ten_years(delivered_at));
    let still = held.iter().find(|h| h.order == open).unwrap();
    assert_eq!(still.held_until, ten_years(now));
    assert_eq!(
        done.fields["order_recipient.recipient_name"],
        Disclosure::Value(RECIPIENT.into())
    );
    assert_eq!(
        done.fields["order_shipping_address.address_line"],
        Disclosure::Value(ADDRESS.into())
    );
    assert!(!done.fields.contains_key("order_payment.card_last4"));
    let items = serde_json::to_value(done.items.as_ref().unwrap()).unwrap();
    assert_eq!(items[0]["product_name"]["value"], json!(ITEM));
    // …and for no other purpose, by no one.
    for (role, purpose) in [
        ("dpo", "account"),
        ("care_agent", "customer_care"),
        ("fulfilment", "order_fulfilment"),
    ] {
        let e = vault
            .read_held(&as_role(role, purpose), &id)
            .await
            .unwrap_err();
        assert!(
            matches!(
                code(e),
                ErrorCode::LegalHoldPurposeOnly | ErrorCode::UnknownPurpose
            ),
            "{role}/{purpose}"
        );
    }
    let e = vault.read_held(&ctx("marketing"), &id).await.unwrap_err();
    assert_eq!(code(e), ErrorCode::LegalHoldPurposeOnly);
    let e = vault
        .read_held(&as_role("care_agent", "legal_obligation"), &id)
        .await
        .unwrap_err();
    assert_ne!(
        code(e),
        ErrorCode::LegalHoldPurposeOnly,
        "refused otherwise"
    );

    // The DPO reads the report again later; others may not.
    let again = vault
        .erasure_report(&as_role("dpo", "legal_obligation"), &id)
        .await
        .unwrap();
    assert_eq!(again, report);
    let e = vault
        .erasure_report(&as_role("care_agent", "customer_care"), &id)
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::OperationNotAllowed);

    // The hold ends: nothing before the date, everything after it, the keys with it.
    assert_eq!(vault.expire_holds(now).await.unwrap(), 0);
    assert!(
        f.key_store
            .hold_key(&id, "accounting_records")
            .await
            .unwrap()
            .is_some()
    );
    let before = b.erasure.held(&id).await.unwrap().len() as u64;
    assert!(before > 0);
    // The delivered order's hold ends first: its values go, the key stays for the other.
    let between = ten_years(delivered_at) + SignedDuration::from_secs(1);
    let first = vault.expire_holds(between).await.unwrap();
    assert!(first > 0 && first < before);
    assert!(
        f.key_store
            .hold_key(&id, "accounting_records")
            .await
            .unwrap()
            .is_some()
    );
    let rest = vault
        .expire_holds(ten_years(now) + SignedDuration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(first + rest, before);
    assert!(b.erasure.held(&id).await.unwrap().is_empty());
    assert!(
        f.key_store
            .hold_key(&id, "accounting_records")
            .await
            .unwrap()
            .is_none(),
        "the hold key is destroyed"
    );
    assert!(
        vault
            .read_held(&as_role("dpo", "legal_obligation"), &id)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn erasure_for_a_request_is_the_customers_own(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let vault = f.vault.clone().with_erasure_store(b.erasure.clone());
    let id = f
        .customer("Trần Thị Yêu Cầu", "yeu.cau@example.com", None)
        .await;
    let other = f
        .customer("Người Khác", "nguoi.khac@example.com", None)
        .await;
    let request = RequestId::generate(f.clock.now()).unwrap();
    // Another customer, or staff without `requests.manage`, may not.
    let e = vault
        .erase_for_request(&crate::consent::by(&me(&other)), &id, &request)
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::CustomerNotFound);
    let e = vault
        .erase_for_request(&as_role("care_agent", "customer_care"), &id, &request)
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::OperationNotAllowed);
    // The customer themself, whatever the purpose named.
    let report = vault
        .erase_for_request(&crate::consent::by(&me(&id)), &id, &request)
        .await
        .unwrap();
    assert_eq!(report.request.as_deref(), Some(request.as_str()));
    assert!(report.retained.is_empty(), "no orders, nothing held");
    assert!(report.partners.is_empty(), "nothing was sent to anyone");
    assert!(f.key_store.get(&id).await.unwrap().is_none());
    // The same request again: the same report. Another: not found.
    let again = vault
        .erase_for_request(&as_role("dpo", "legal_obligation"), &id, &request)
        .await
        .unwrap();
    assert_eq!(again, report);
    let e = vault
        .erase_for_request(
            &as_role("dpo", "legal_obligation"),
            &id,
            &RequestId::generate(f.clock.now()).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::CustomerNotFound);
    // The DPO on another customer, for a request.
    let other_request = RequestId::generate(f.clock.now()).unwrap();
    vault
        .erase_for_request(&as_role("dpo", "legal_obligation"), &other, &other_request)
        .await
        .unwrap();
    let e = vault
        .erasure_report(
            &as_role("dpo", "legal_obligation"),
            &CustomerId::generate(f.clock.now()).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::ErasureReportNotFound);
}

/// A key store that fails to destroy a customer's key while `fail` is set.
struct FailingKeys {
    inner: Arc<SqliteKeyStore>,
    fail: AtomicBool,
}

#[async_trait]
impl KeyStore for FailingKeys {
    async fn put(&self, key: &StoredKey, indexes: &[BlindIndex]) -> Result<(), StoreError> {
        self.inner.put(key, indexes).await
    }
    async fn get(&self, customer: &CustomerId) -> Result<Option<StoredKey>, StoreError> {
        self.inner.get(customer).await
    }
    async fn destroy(&self, customer: &CustomerId) -> Result<bool, StoreError> {
        if self.fail.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Corrupt("simulated crash".into()));
        }
        self.inner.destroy(customer).await
    }
    async fn put_indexes(&self, indexes: &[BlindIndex]) -> Result<(), StoreError> {
        self.inner.put_indexes(indexes).await
    }
    async fn find_index(
        &self,
        kind: &str,
        hash: &[u8; 32],
    ) -> Result<Vec<(CustomerId, [u8; 32])>, StoreError> {
        self.inner.find_index(kind, hash).await
    }
    async fn prune_indexes(
        &self,
        c: &CustomerId,
        kind: &str,
        keep: Option<&[u8; 32]>,
    ) -> Result<(), StoreError> {
        self.inner.prune_indexes(c, kind, keep).await
    }
    async fn remove_index(
        &self,
        c: &CustomerId,
        kind: &str,
        digest: &[u8; 32],
    ) -> Result<(), StoreError> {
        self.inner.remove_index(c, kind, digest).await
    }
    async fn rewrap(
        &self,
        customer: &CustomerId,
        from: u32,
        wrapped: &WrappedKey,
    ) -> Result<bool, StoreError> {
        self.inner.rewrap(customer, from, wrapped).await
    }
    async fn keys_not_wrapped_under(&self, v: u32, l: u32) -> Result<Vec<StoredKey>, StoreError> {
        self.inner.keys_not_wrapped_under(v, l).await
    }
    async fn key_versions(&self) -> Result<Vec<(u32, u64)>, StoreError> {
        self.inner.key_versions().await
    }
    async fn put_hold_key(&self, key: &StoredHoldKey) -> Result<StoredHoldKey, StoreError> {
        self.inner.put_hold_key(key).await
    }
    async fn hold_key(&self, c: &CustomerId, h: &str) -> Result<Option<StoredHoldKey>, StoreError> {
        self.inner.hold_key(c, h).await
    }
    async fn destroy_hold_key(&self, c: &CustomerId, h: &str) -> Result<bool, StoreError> {
        self.inner.destroy_hold_key(c, h).await
    }
    async fn hold_keys_not_wrapped_under(
        &self,
        v: u32,
        l: u32,
    ) -> Result<Vec<StoredHoldKey>, StoreError> {
        self.inner.hold_keys_not_wrapped_under(v, l).await
    }
    async fn rewrap_hold_key(
        &self,
        c: &CustomerId,
        h: &str,
        from: u32,
        wrapped: &WrappedKey,
    ) -> Result<bool, StoreError> {
        self.inner.rewrap_hold_key(c, h, from, wrapped).await
    }
}

/// A vault store whose commit of a purge fails while `fail` is set, as if the process died
/// after the key was destroyed; and whose next commit, whatever it holds, fails while
/// `fail_any` is set, as if the process died before committing.
pub struct FailingPurge {
    pub inner: Arc<dyn VaultStore>,
    pub fail: AtomicBool,
    pub fail_any: AtomicBool,
}

#[async_trait]
impl VaultStore for FailingPurge {
    async fn commit(&self, tx: Transaction) -> Result<Result<(), Conflict>, StoreError> {
        let purge = tx
            .writes
            .iter()
            .any(|w| matches!(w, Write::PurgeCustomer { .. }));
        if purge && self.fail.swap(false, Ordering::SeqCst)
            || self.fail_any.swap(false, Ordering::SeqCst)
        {
            return Err(StoreError::Corrupt("simulated crash".into()));
        }
        self.inner.commit(tx).await
    }
    async fn customer(&self, id: &CustomerId) -> Result<Option<StoredCustomer>, StoreError> {
        self.inner.customer(id).await
    }
    async fn live_customers(&self) -> Result<u64, StoreError> {
        self.inner.live_customers().await
    }
    async fn history(&self, id: &CustomerId) -> Result<Vec<StoredHistory>, StoreError> {
        self.inner.history(id).await
    }
    async fn order(&self, id: &OrderId) -> Result<Option<StoredOrder>, StoreError> {
        self.inner.order(id).await
    }
    async fn orders_of(&self, c: &CustomerId) -> Result<Vec<OrderSummary>, StoreError> {
        self.inner.orders_of(c).await
    }
    async fn orders_page(
        &self,
        c: &CustomerId,
        after: Option<&OrderId>,
        limit: u32,
    ) -> Result<Vec<StoredOrder>, StoreError> {
        self.inner.orders_page(c, after, limit).await
    }
    async fn order_moves(&self, orders: &[OrderId]) -> Result<Vec<OrderMove>, StoreError> {
        self.inner.order_moves(orders).await
    }
    async fn order_field_names(&self, c: &CustomerId) -> Result<Vec<String>, StoreError> {
        self.inner.order_field_names(c).await
    }
    async fn order_count(&self, c: &CustomerId) -> Result<u64, StoreError> {
        self.inner.order_count(c).await
    }
    async fn consents(&self, id: &CustomerId) -> Result<Vec<StoredConsent>, StoreError> {
        self.inner.consents(id).await
    }
    async fn consent_history(&self, id: &CustomerId) -> Result<Vec<StoredConsent>, StoreError> {
        self.inner.consent_history(id).await
    }
    async fn audit_entries(&self, after: u64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit_entries(after, limit).await
    }
    async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        self.inner.audit_checkpoints().await
    }
}

pub async fn erasure_survives_a_crash_between_its_steps(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let dir = tempfile::tempdir().unwrap();
    let inner = Arc::new(
        SqliteKeyStore::open(dir.path().join("data-keys.db").to_str().unwrap())
            .await
            .unwrap(),
    );
    let keys = Arc::new(FailingKeys {
        inner: inner.clone(),
        fail: AtomicBool::new(false),
    });
    let store = Arc::new(FailingPurge {
        inner: b.store.clone(),
        fail: AtomicBool::new(false),
        fail_any: AtomicBool::new(false),
    });
    let vault = Vault::new(
        Arc::new(parse(DEFAULT_POLICY).unwrap()),
        store.clone(),
        keys.clone(),
        Arc::new(LocalKeyring::open_dir(dir.path()).unwrap()),
        BlindIndexKey::new(SecretKey::from_bytes(&[7; 32]).unwrap()),
        f.clock.clone(),
    )
    .with_outbox_store(b.outbox.clone())
    .with_erasure_store(b.erasure.clone());
    let (id, _, _) = canary_customer(&vault, &b).await;

    // Dies after the held copies are committed, before the key is destroyed.
    keys.fail.store(true, Ordering::SeqCst);
    assert!(vault.erase(&ctx("account"), &id).await.is_err());
    let held = b.erasure.held(&id).await.unwrap();
    assert!(!held.is_empty(), "held copies committed first");
    assert!(
        inner.get(&id).await.unwrap().is_some(),
        "the key is still there"
    );
    assert!(!b.store.customer(&id).await.unwrap().unwrap().erased);

    // Dies after the key is destroyed, before the purge.
    store.fail.store(true, Ordering::SeqCst);
    assert!(vault.erase(&ctx("account"), &id).await.is_err());
    assert!(inner.get(&id).await.unwrap().is_none(), "the key is gone");
    assert_eq!(b.erasure.held(&id).await.unwrap().len(), held.len());

    // The retry completes the erasure from the held copies already stored.
    let report = vault.erase(&ctx("account"), &id).await.unwrap();
    assert!(b.store.customer(&id).await.unwrap().unwrap().erased);
    let after = b.erasure.held(&id).await.unwrap();
    assert_eq!(after.len(), held.len(), "each value held once");
    assert_eq!(report.retained.len(), 3);
    assert_eq!(
        report.retained.iter().map(|r| r.values).sum::<u64>(),
        held.len() as u64
    );
    assert_eq!(report.partners.len(), 2);
    // A master-key rotation re-wraps the hold key too: the held values stay readable.
    let keyring = LocalKeyring::open_dir(dir.path()).unwrap();
    let version = keyring.add_version().unwrap();
    let vault = Vault::new(
        Arc::new(parse(DEFAULT_POLICY).unwrap()),
        store.clone(),
        keys.clone(),
        Arc::new(keyring),
        BlindIndexKey::new(SecretKey::from_bytes(&[7; 32]).unwrap()),
        f.clock.clone(),
    )
    .with_outbox_store(b.outbox.clone())
    .with_erasure_store(b.erasure.clone());
    vault.rewrap_keys(10, |_| {}).await.unwrap();
    let hold_key = inner
        .hold_key(&id, "accounting_records")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hold_key.wrapped.kek_version, version);
    let held = vault
        .read_held(&as_role("dpo", "legal_obligation"), &id)
        .await
        .unwrap();
    assert_eq!(
        held[0].fields["order_recipient.recipient_name"],
        Disclosure::Value(RECIPIENT.into())
    );
}

/// The key store's legal-hold keys, on any key store: one per customer and hold (the first
/// stored wins a race), apart from the customer's own key, destroyed alone.
pub async fn hold_keys_keep_one_per_customer_and_hold(keys: &dyn KeyStore) {
    let customer = CustomerId::generate(Timestamp::UNIX_EPOCH).unwrap();
    let key = |bytes: &[u8]| StoredHoldKey {
        customer: customer.clone(),
        hold: "accounting_records".into(),
        key_version: 1,
        wrapped: WrappedKey {
            kek_version: 1,
            bytes: bytes.to_vec(),
        },
    };
    keys.put(
        &StoredKey {
            customer: customer.clone(),
            key_version: 1,
            wrapped: WrappedKey {
                kek_version: 1,
                bytes: b"own".to_vec(),
            },
        },
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        keys.put_hold_key(&key(b"first")).await.unwrap(),
        key(b"first")
    );
    assert_eq!(
        keys.put_hold_key(&key(b"second")).await.unwrap(),
        key(b"first"),
        "the first key stays"
    );
    assert!(
        keys.hold_key(&customer, "other_hold")
            .await
            .unwrap()
            .is_none()
    );
    assert!(keys.destroy(&customer).await.unwrap());
    assert_eq!(
        keys.hold_key(&customer, "accounting_records")
            .await
            .unwrap(),
        Some(key(b"first")),
        "the hold key outlives the customer's"
    );
    assert!(
        keys.destroy_hold_key(&customer, "accounting_records")
            .await
            .unwrap()
    );
    assert!(
        !keys
            .destroy_hold_key(&customer, "accounting_records")
            .await
            .unwrap()
    );
    assert!(
        keys.hold_key(&customer, "accounting_records")
            .await
            .unwrap()
            .is_none()
    );
}
