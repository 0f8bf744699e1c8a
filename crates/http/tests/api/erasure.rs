//! Erasure over HTTP, end to end with a real partner on loopback: the erasure returns its
//! completion report, the notice reaches the partner after the purge naming only the message
//! ids it received, the partner's signed confirmation is recorded (once) and shown in the
//! report, a bad or stale signature and an unknown notice are refused, and what the legal
//! hold keeps is readable for `legal_obligation` only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use custodian_core::clock::Clock;
use custodian_core::ids::CustomerId;
use custodian_core::outbox::dispatch::{DispatchSettings, Dispatcher};
use custodian_core::vault::PartnerMessage;
use custodian_partners::fake_partner::FakePartner;
use custodian_partners::{Endpoint, HttpPartnerSender, signature};
use serde_json::{Value, json};

use crate::helpers::{PARTNER_SECRET, TestApp, assert_error, body_json, spawn_app};

const NAME: &str = "Hồ Canary Xuân Hương";
const RECIPIENT: &str = "Canary Người Nhận";

async fn confirm(
    app: &TestApp,
    partner: &str,
    header: Option<&str>,
    body: &[u8],
) -> axum::http::Response<Body> {
    let mut request = Request::post(format!("/v1/partners/{partner}/erasure-confirmations"))
        .header("content-type", "application/json");
    if let Some(header) = header {
        request = request.header("custodian-signature", header);
    }
    app.send(request.body(Body::from(body.to_vec())).unwrap())
        .await
}

async fn report(app: &TestApp, dpo: &str, id: &str) -> Value {
    let response = app
        .call_as(
            Some(dpo),
            "GET",
            &format!("/v1/customers/{id}/erasure"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    body_json(response).await
}

#[tokio::test]
async fn erasure_reports_notifies_partners_and_records_their_confirmation() {
    let app = spawn_app().await;
    let id = app
        .create(json!({ "account_name.full_name": NAME, "account_email.email": "xuan.huong.canary@example.com" }))
        .await;
    let customer = CustomerId::parse(&id).unwrap();
    let order = app
        .call(
            "POST",
            "/v1/orders?purpose=order_fulfilment",
            Some(json!({
                "customer": id,
                "items": [{ "product_id": "sku-1", "product_name": "Canary Quạt", "quantity": 1, "unit_price": 99000 }],
                "fields": {
                    "order_recipient.recipient_name": RECIPIENT,
                    "order_shipping_address.address_line": "Số 1 ngõ Canary",
                    "order_shipping_address.province": "Hà Nội",
                    "order_shipping_address.country": "VN",
                },
            })),
        )
        .await;
    assert_eq!(order.status(), 201);
    app.vault
        .enqueue_partner_message(PartnerMessage {
            partner: app.vault.declared_partner("carrier").unwrap(),
            customer: customer.clone(),
            kind: "order.fulfilling".into(),
            idempotency_key: "order-1".into(),
            consent: None,
            data: BTreeMap::from([(
                "order_recipient.recipient_name".to_owned(),
                json!(RECIPIENT),
            )]),
        })
        .await
        .unwrap();
    let carrier = FakePartner::start(PARTNER_SECRET).await.unwrap();
    let sender = HttpPartnerSender::new(
        BTreeMap::from([(
            "carrier".to_owned(),
            Endpoint {
                url: carrier.url(),
                secret: zeroize::Zeroizing::new(PARTNER_SECRET.to_vec()),
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
        DispatchSettings::default(),
    );
    assert_eq!(dispatcher.run_once().await.unwrap().delivered, 1);
    let received: Vec<String> = carrier.seen().message_ids.values().cloned().collect();
    assert_eq!(received.len(), 1);

    // The erasure answers with its report: nothing personal in it.
    let response = app
        .call(
            "DELETE",
            &format!("/v1/customers/{id}?purpose=account"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let erased = body_json(response).await;
    let text = erased.to_string();
    assert!(!text.contains("Canary") && !text.contains(&id), "{text}");
    assert!(
        erased["removed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["category"] == "account_name" && r["label"]["vi"].is_string())
    );
    let retained = erased["retained"].as_array().unwrap();
    assert!(!retained.is_empty());
    assert!(retained.iter().all(|r| {
        r["hold"] == "accounting_records"
            && r["purpose"] == "legal_obligation"
            && r["basis"]["en"]
                .as_str()
                .unwrap()
                .contains("Accounting Law")
            && r["until"].as_str().unwrap().starts_with("2036-01-01")
    }));
    let partners = erased["partners"].as_array().unwrap();
    assert_eq!(partners.len(), 1, "{erased}");
    assert_eq!(partners[0]["partner"], "carrier");
    assert_eq!(partners[0]["status"], "notified");

    // The notice goes out after the erasure, naming only what the carrier received.
    assert_eq!(dispatcher.run_once().await.unwrap().delivered, 1);
    let notices = carrier.erasure_notices();
    assert_eq!(notices.len(), 1);
    let (notice_id, named) = &notices[0];
    assert_eq!(named, &received);
    let body = carrier
        .seen()
        .bodies
        .values()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .find(|b| b.contains("erasure.requested"))
        .unwrap();
    assert!(!body.contains("Canary") && !body.contains(&id) && !body.contains("obx_"));
    let dpo = app.staff("dpo").await;
    let other = app
        .create(json!({ "account_name.full_name": "Người Còn Lại", "account_email.email": "con.lai@example.com" }))
        .await;
    let response = app
        .call_as(
            Some(&dpo),
            "GET",
            &format!("/v1/customers/{other}/erasure"),
            None,
        )
        .await;
    assert_error(response, 404, "erasure_report_not_found").await;
    let now = report(&app, &dpo, &id).await;
    assert_eq!(now["partners"][0]["status"], "delivered");

    // Confirmations: unsigned, wrongly signed, stale — refused; an unknown notice — 404.
    let at = app.clock.now().as_second();
    let (header, good) = carrier.erasure_confirmation(notice_id, at);
    let response = confirm(&app, "carrier", None, &good).await;
    assert_error(response, 401, "invalid_signature").await;
    let forged = signature(b"not-the-partner-secret-0123456789", at, &good);
    let response = confirm(&app, "carrier", Some(&forged), &good).await;
    assert_error(response, 401, "invalid_signature").await;
    let (stale, _) = carrier.erasure_confirmation(notice_id, at - 3600);
    let response = confirm(&app, "carrier", Some(&stale), &good).await;
    assert_error(response, 401, "invalid_signature").await;
    let response = confirm(&app, "payment_processor", Some(&header), &good).await;
    assert_error(response, 404, "erasure_notice_not_found").await;
    let (unknown_header, unknown) = carrier.erasure_confirmation("msg_0000", at);
    let response = confirm(&app, "carrier", Some(&unknown_header), &unknown).await;
    assert_error(response, 404, "erasure_notice_not_found").await;
    let response = confirm(&app, "acme", Some(&header), &good).await;
    assert_error(response, 401, "invalid_signature").await;
    assert_eq!(
        report(&app, &dpo, &id).await["partners"][0]["status"],
        "delivered"
    );

    // Signed right: recorded, and again is the same confirmation.
    let response = confirm(&app, "carrier", Some(&header), &good).await;
    assert_eq!(response.status(), 200);
    let first = body_json(response).await;
    assert_eq!(first["message_id"], notice_id.as_str());
    app.clock.advance(jiff::SignedDuration::from_secs(30));
    let (again_header, again) = carrier.erasure_confirmation(notice_id, at + 30);
    let response = confirm(&app, "carrier", Some(&again_header), &again).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(response).await, first);
    let confirmed = report(&app, &dpo, &id).await;
    assert_eq!(confirmed["partners"][0]["status"], "confirmed");
    assert_eq!(
        confirmed["partners"][0]["confirmed_at"],
        first["confirmed_at"]
    );

    // The report is the DPO's; the held values are the legal obligation's.
    let agent = app.staff("care_agent").await;
    let response = app
        .call_as(
            Some(&agent),
            "GET",
            &format!("/v1/customers/{id}/erasure"),
            None,
        )
        .await;
    assert_error(response, 403, "operation_not_allowed").await;
    let response = app
        .call_as(
            Some(&dpo),
            "GET",
            &format!("/v1/customers/{id}/held?purpose=legal_obligation"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let held = body_json(response).await;
    assert_eq!(
        held["held"][0]["fields"]["order_recipient.recipient_name"]["value"],
        RECIPIENT
    );
    let response = app
        .call_as(
            Some(&dpo),
            "GET",
            &format!("/v1/customers/{id}/held?purpose=account"),
            None,
        )
        .await;
    assert_error(response, 403, "legal_hold_purpose_only").await;
}
