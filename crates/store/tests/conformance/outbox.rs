//! The outbox and the disclosure ledger, on every backend: a message carries only the fields
//! its partner's policy lists, in the partner's form, sealed; claims are exclusive under a
//! lease; failed attempts wait, dead-letter after the bound and are re-driven; a delivery is
//! in the ledger once; erasure drops what had not gone out; two claimers racing never share
//! a message.

use std::collections::{BTreeMap, HashSet};

use custodian_core::access::Principal;
use custodian_core::clock::Clock;
use custodian_core::error::ErrorCode;
use custodian_core::ids::CustomerId;
use custodian_core::outbox::OutboxStatus;
use custodian_core::vault::{PartnerMessage, RequestContext, Vault, VaultError};
use custodian_policy::DEFAULT_POLICY;
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::care::agent;
use crate::consent::{ConsentFixture, by, grant, raw_execute};
use crate::suite::{Backend, ctx, verify_chain};

fn carrier_message<'v>(vault: &'v Vault, customer: &CustomerId, key: &str) -> PartnerMessage<'v> {
    PartnerMessage {
        partner: vault.declared_partner("carrier").unwrap(),
        customer: customer.clone(),
        kind: "order.fulfilling".into(),
        idempotency_key: key.into(),
        consent: None,
        data: BTreeMap::from([
            (
                "order_recipient.recipient_name".into(),
                json!("Đỗ Minh Khang"),
            ),
            (
                "order_shipping_address.address_line".into(),
                json!("12 Đường Số 7"),
            ),
            ("order_items.quantity".into(), json!(2)),
        ]),
    }
}

fn rejected(e: VaultError) -> ErrorCode {
    match e {
        VaultError::Rejected(api) => api.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn admin() -> RequestContext {
    RequestContext {
        principal: agent("admin"),
        ..ctx("security")
    }
}

pub async fn outbox_messages_carry_only_declared_fields_sealed(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let id = f
        .customer("Đỗ Minh Khang", "khang.do@example.com", None)
        .await;
    assert!(
        f.vault.declared_partner("acme_data_broker").is_none(),
        "only the policy's partners can be named"
    );
    f.vault
        .enqueue_partner_message(carrier_message(&f.vault, &id, "order-1"))
        .await
        .unwrap();
    // The same event again is the same message.
    f.vault
        .enqueue_partner_message(carrier_message(&f.vault, &id, "order-1"))
        .await
        .unwrap();
    let queued = b.outbox.customer_messages(&id).await.unwrap();
    assert_eq!(queued.len(), 1);
    let message = &queued[0];
    assert_eq!(message.status, OutboxStatus::Pending);
    assert_eq!(message.purpose, "order_fulfilment");
    assert_eq!(message.legal_basis, "contract");
    assert_eq!(
        message.fields,
        [
            "order_items.quantity",
            "order_recipient.recipient_name",
            "order_shipping_address.address_line"
        ]
    );
    let custodian_core::outbox::Payload::Sealed(sealed) = &message.payload else {
        panic!("a message carrying personal data is sealed");
    };
    assert!(
        !String::from_utf8_lossy(&sealed.sealed).contains("Khang"),
        "sealed"
    );
    assert_eq!(
        message.idempotency_key.len(),
        64,
        "a digest of the caller's key"
    );
    assert!(!message.idempotency_key.contains("order-1"));

    // A field the carrier does not receive: refused, nothing queued.
    let mut wider = carrier_message(&f.vault, &id, "order-2");
    wider
        .data
        .insert("account_email.email".into(), json!("khang.do@example.com"));
    let e = f.vault.enqueue_partner_message(wider).await.unwrap_err();
    assert_eq!(rejected(e), ErrorCode::FieldNotAllowed);
    assert_eq!(b.outbox.customer_messages(&id).await.unwrap().len(), 1);

    // A value that does not fit the field's schema: refused, nothing queued. A list (an
    // order's items) is checked item by item.
    let mut bad = carrier_message(&f.vault, &id, "order-3");
    bad.data
        .insert("order_items.quantity".into(), json!(["two"]));
    let e = f.vault.enqueue_partner_message(bad).await.unwrap_err();
    assert_eq!(rejected(e), ErrorCode::InvalidField);
    let mut items = carrier_message(&f.vault, &id, "order-4");
    items.data.insert(
        "order_items.product_name".into(),
        json!(["Nồi cơm điện", "Ấm siêu tốc"]),
    );
    items
        .data
        .insert("order_items.quantity".into(), json!([1, 3]));
    f.vault.enqueue_partner_message(items).await.unwrap();
    assert_eq!(b.outbox.customer_messages(&id).await.unwrap().len(), 2);

    // The ad network: only with the customer's consent, and only hashed identifiers.
    let ads = |key: &str, consent| PartnerMessage {
        partner: f.vault.declared_partner("ad_network").unwrap(),
        customer: id.clone(),
        kind: "audience.add".into(),
        idempotency_key: key.into(),
        consent,
        data: BTreeMap::from([
            (
                "account_email.email".into(),
                json!("  Khang.Do@Example.com "),
            ),
            ("account_phone.phone".into(), json!("+84 901 234 567")),
        ]),
    };
    let e = f
        .vault
        .enqueue_partner_message(ads("a-1", None))
        .await
        .unwrap_err();
    assert_eq!(rejected(e), ErrorCode::ConsentRequired);
    let granted = f.choose(&id, &[grant("personalised_ads")]).await;
    // The grant itself put the customer on the audience; the message below is another.
    let before: Vec<_> = b
        .outbox
        .customer_messages(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    f.vault
        .enqueue_partner_message(ads("a-1", Some(granted[0].id.clone())))
        .await
        .unwrap();
    let queued = b.outbox.customer_messages(&id).await.unwrap();
    let ad = queued
        .iter()
        .find(|m| m.partner == "ad_network" && !before.contains(&m.id))
        .unwrap();
    assert_eq!(ad.consent.as_ref(), Some(&granted[0].id));
    let body = f.vault.open_for_delivery(ad).await.unwrap().unwrap();
    let body: Value = serde_json::from_slice(body.bytes()).unwrap();
    let sha = |s: &str| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(s.as_bytes()))
    };
    assert_eq!(
        body["data"]["account_email.email"],
        sha("khang.do@example.com")
    );
    assert_eq!(body["data"]["account_phone.phone"], sha("84901234567"));
    assert!(!body.to_string().contains(id.as_str()), "no id of ours");
    verify_chain(f.store.as_ref()).await;
}

pub async fn outbox_claims_lease_retry_dead_letter_and_redrive(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let id = f.customer("Hồ Bảo Ngọc", "ngoc.ho@example.com", None).await;
    f.vault
        .enqueue_partner_message(carrier_message(&f.vault, &id, "order-9"))
        .await
        .unwrap();
    let carriers = vec!["carrier".to_owned()];
    let lease = SignedDuration::from_secs(60);
    let now = f.clock.now();
    // Nothing for partners the sender cannot reach.
    assert!(
        b.outbox
            .claim(&["payment_processor".into()], now, now + lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = b
        .outbox
        .claim(&carriers, now, now + lease, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let message = claimed[0].clone();
    // Under its lease, nobody else gets it; after, it is claimed again.
    assert!(
        b.outbox
            .claim(&carriers, now, now + lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = now + lease + SignedDuration::from_secs(1);
    assert_eq!(
        b.outbox
            .claim(&carriers, later, later + lease, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // A failed attempt waits for its next time.
    let next = later + SignedDuration::from_secs(30);
    b.outbox
        .record_failure(&message.id, 1, Some(next), "http_500")
        .await
        .unwrap();
    assert!(
        b.outbox
            .claim(&carriers, later, later + lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = b
        .outbox
        .claim(&carriers, next, next + lease, 10)
        .await
        .unwrap();
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("http_500"));
    // Dead after the bound: listed for admins, not claimed, re-driven.
    b.outbox
        .record_failure(&message.id, 2, None, "timeout")
        .await
        .unwrap();
    let far = next + SignedDuration::from_hours(24);
    assert!(
        b.outbox
            .claim(&carriers, far, far + lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let dead = f
        .vault
        .outbox_messages(&admin(), OutboxStatus::Dead, 100)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, message.id);
    assert_eq!(dead[0].attempts, 2);
    // Only administrators.
    let e = f
        .vault
        .outbox_messages(
            &RequestContext {
                principal: agent("dpo"),
                ..ctx("legal_obligation")
            },
            OutboxStatus::Dead,
            100,
        )
        .await
        .unwrap_err();
    assert_eq!(rejected(e), ErrorCode::OperationNotAllowed);
    f.vault.redrive(&admin(), &message.id).await.unwrap();
    let e = f.vault.redrive(&admin(), &message.id).await.unwrap_err();
    assert_eq!(rejected(e), ErrorCode::MessageNotDead);
    let redriven = b
        .outbox
        .claim(&carriers, f.clock.now(), f.clock.now() + lease, 10)
        .await
        .unwrap();
    assert_eq!(redriven.len(), 1);
    assert_eq!(redriven[0].attempts, 0);

    // Delivered: in the ledger once, however often it is recorded.
    let body = f
        .vault
        .open_for_delivery(&redriven[0])
        .await
        .unwrap()
        .unwrap();
    f.vault
        .record_delivery(&redriven[0], body.bytes())
        .await
        .unwrap();
    f.vault
        .record_delivery(&redriven[0], body.bytes())
        .await
        .unwrap();
    let me = Principal::Customer { id: id.clone() };
    let ledger = f.vault.disclosures(&by(&me), &id).await.unwrap();
    assert_eq!(ledger.len(), 1);
    let entry = &ledger[0];
    assert_eq!(entry.recipient, "carrier");
    assert_eq!(entry.purpose, "order_fulfilment");
    assert_eq!(entry.legal_basis, "contract");
    assert_eq!(
        entry.categories,
        ["order_items", "order_recipient", "order_shipping_address"]
    );
    assert_eq!(entry.digest, custodian_core::vault::digest(body.bytes()));
    let delivered = b.outbox.message(&message.id).await.unwrap().unwrap();
    assert_eq!(delivered.status, OutboxStatus::Delivered);
    // The ledger is append-only, past the store too.
    for statement in [
        "UPDATE disclosures SET recipient = 'someone_else'",
        "DELETE FROM disclosures",
    ] {
        assert!(raw_execute(&b, statement).await.is_err(), "{statement}");
    }
    assert_eq!(f.vault.disclosures(&by(&me), &id).await.unwrap().len(), 1);
    // Another customer cannot read it.
    let other = f.customer("Vũ Thị Lan", "lan.vu@example.com", None).await;
    let e = f
        .vault
        .disclosures(&by(&Principal::Customer { id: other.clone() }), &id)
        .await
        .unwrap_err();
    assert_eq!(rejected(e), ErrorCode::CustomerNotFound);
    verify_chain(f.store.as_ref()).await;
}

pub async fn outbox_erasure_drops_what_is_pending(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let id = f
        .customer("Trịnh Văn Tú", "tu.trinh@example.com", None)
        .await;
    f.vault
        .enqueue_partner_message(carrier_message(&f.vault, &id, "order-5"))
        .await
        .unwrap();
    let claimed = b
        .outbox
        .claim(
            &["carrier".into()],
            f.clock.now(),
            f.clock.now() + SignedDuration::from_secs(60),
            10,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    f.vault.erase(&ctx("account"), &id).await.unwrap();
    // A claim taken before the erasure opens nothing: the key is gone.
    assert!(
        f.vault
            .open_for_delivery(&claimed[0])
            .await
            .unwrap()
            .is_none()
    );
    let message = b.outbox.message(&claimed[0].id).await.unwrap().unwrap();
    assert_eq!(message.status, OutboxStatus::Dropped);
}

pub async fn outbox_two_claimers_never_share_a_message(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let id = f.customer("Lý Quốc Bảo", "bao.ly@example.com", None).await;
    const N: usize = 60;
    for n in 0..N {
        f.vault
            .enqueue_partner_message(carrier_message(&f.vault, &id, &format!("order-{n}")))
            .await
            .unwrap();
    }
    let now = f.clock.now();
    let lease = now + SignedDuration::from_secs(60);
    let claimer = |outbox: std::sync::Arc<dyn custodian_core::outbox::OutboxStore>| async move {
        let mut mine = Vec::new();
        loop {
            let got = outbox
                .claim(&["carrier".into()], now, lease, 7)
                .await
                .unwrap();
            if got.is_empty() {
                return mine;
            }
            mine.extend(got.into_iter().map(|m| m.id));
        }
    };
    let (a, c) = tokio::join!(
        tokio::spawn(claimer(b.outbox.clone())),
        tokio::spawn(claimer(b.outbox.clone()))
    );
    let (a, c) = (a.unwrap(), c.unwrap());
    let all: HashSet<_> = a.iter().chain(&c).collect();
    assert_eq!(a.len() + c.len(), N, "no message claimed twice");
    assert_eq!(all.len(), N, "every message claimed");
}
