//! The outbox and the ledger over HTTP, with a real partner on loopback: a message that keeps
//! failing is dead after the bound and listed for administrators (never its payload), a
//! re-drive delivers it, and the customer reads the delivery in their ledger (P4, P15).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use custodian_core::ids::CustomerId;
use custodian_core::outbox::dispatch::{DispatchSettings, Dispatcher};
use custodian_core::vault::PartnerMessage;
use custodian_partners::fake_partner::{FakePartner, Mode};
use custodian_partners::{Endpoint, HttpPartnerSender};
use jiff::SignedDuration;
use serde_json::json;

use crate::helpers::{body_json, spawn_app};

const SECRET: &[u8] = b"carrier-webhook-secret-0123456789";

#[tokio::test]
async fn dead_letters_are_listed_and_redriven_and_the_delivery_is_in_the_ledger() {
    let app = spawn_app().await;
    let email = "phuong.mai@example.com";
    let id = app
        .create(json!({ "account_name.full_name": "Mai Thu Phương", "account_email.email": email }))
        .await;
    let customer = CustomerId::parse(&id).unwrap();
    app.vault
        .enqueue_partner_message(PartnerMessage {
            partner: app.vault.declared_partner("carrier").unwrap(),
            customer: customer.clone(),
            kind: "order.fulfilling".into(),
            idempotency_key: "order-77".into(),
            consent: None,
            data: BTreeMap::from([
                (
                    "order_recipient.recipient_name".to_owned(),
                    json!("Mai Thu Phương"),
                ),
                (
                    "order_shipping_address.province".to_owned(),
                    json!("Hà Nội"),
                ),
            ]),
        })
        .await
        .unwrap();

    let carrier = FakePartner::start(SECRET).await.unwrap();
    carrier.set_mode(Mode::Failing);
    let sender = HttpPartnerSender::new(
        BTreeMap::from([(
            "carrier".to_owned(),
            Endpoint {
                url: carrier.url(),
                secret: zeroize::Zeroizing::new(SECRET.to_vec()),
            },
        )]),
        Duration::from_secs(2),
    )
    .unwrap();
    let dispatcher = Dispatcher::new(
        app.vault.clone(),
        app.outbox.clone(),
        Arc::new(sender),
        app.clock.clone(),
        DispatchSettings {
            max_attempts: 2,
            backoff_base: Duration::from_millis(10),
            backoff_cap: Duration::from_millis(100),
            ..DispatchSettings::default()
        },
    );
    for _ in 0..3 {
        dispatcher.run_once().await.unwrap();
        app.clock.advance(SignedDuration::from_secs(1));
    }

    let admin = app.staff("admin").await;
    let listed = body_json(
        app.call_as(Some(&admin), "GET", "/v1/outbox?status=dead", None)
            .await,
    )
    .await;
    let messages = listed["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{listed}");
    let message = &messages[0];
    assert_eq!(message["partner"], "carrier");
    assert_eq!(message["status"], "dead");
    assert_eq!(message["attempts"], 2);
    assert_eq!(message["last_error"], "http_500");
    assert!(message.get("payload").is_none());
    assert!(!listed.to_string().contains("Phương"), "no value: {listed}");
    let message_id = message["id"].as_str().unwrap().to_owned();

    // Administrators only; a bad status is refused.
    let refused = app.call("GET", "/v1/outbox?status=dead", None).await;
    assert_eq!(refused.status(), 403);
    let bad = app
        .call_as(Some(&admin), "GET", "/v1/outbox?status=lost", None)
        .await;
    assert_eq!(bad.status(), 400);
    let refused = app
        .call("POST", &format!("/v1/outbox/{message_id}/redrive"), None)
        .await;
    assert_eq!(refused.status(), 403);

    carrier.set_mode(Mode::Up);
    let redrive = app
        .call_as(
            Some(&admin),
            "POST",
            &format!("/v1/outbox/{message_id}/redrive"),
            None,
        )
        .await;
    assert_eq!(redrive.status(), 204);
    let again = app
        .call_as(
            Some(&admin),
            "POST",
            &format!("/v1/outbox/{message_id}/redrive"),
            None,
        )
        .await;
    assert_eq!(again.status(), 409);
    assert_eq!(body_json(again).await["error"]["code"], "message_not_dead");
    let unknown = app
        .call_as(
            Some(&admin),
            "POST",
            "/v1/outbox/obx_0123456789abcdef0123456789abcdef/redrive",
            None,
        )
        .await;
    assert_eq!(unknown.status(), 404);

    let report = dispatcher.run_once().await.unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(carrier.seen().applied.len(), 1);
    let delivered = body_json(
        app.call_as(Some(&admin), "GET", "/v1/outbox?status=delivered", None)
            .await,
    )
    .await;
    assert_eq!(delivered["messages"].as_array().unwrap().len(), 1);

    // The customer sees who received what, when, why; so does the storefront (consents.read).
    let session = app.customer_session(email).await;
    let own = body_json(
        app.call_as(Some(&session), "GET", "/v1/account/disclosures", None)
            .await,
    )
    .await;
    let entries = own["disclosures"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{own}");
    let entry = &entries[0];
    assert_eq!(entry["recipient"], "carrier");
    assert_eq!(entry["purpose"], "order_fulfilment");
    assert_eq!(entry["legal_basis"], "contract");
    assert_eq!(
        entry["fields"],
        json!([
            "order_recipient.recipient_name",
            "order_shipping_address.province"
        ])
    );
    assert!(entry["digest"].as_str().unwrap().starts_with("sha256:"));
    let staff_view = body_json(
        app.call("GET", &format!("/v1/customers/{id}/disclosures"), None)
            .await,
    )
    .await;
    assert_eq!(staff_view, own);
    // An administrator runs the outbox but does not read customers' ledgers.
    let admin_view = app
        .call_as(
            Some(&admin),
            "GET",
            &format!("/v1/customers/{id}/disclosures"),
            None,
        )
        .await;
    assert_eq!(admin_view.status(), 403);
}
