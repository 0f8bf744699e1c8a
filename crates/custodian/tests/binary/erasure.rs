//! End to end (P1): `custodian serve` with two partners on loopback. A customer's order goes
//! to both; the customer is erased; each partner receives one `erasure.requested` notice
//! naming exactly the message it got, confirms with a request signed with its secret, and
//! the completion report shows both confirmed; the accounting hold keeps what the law
//! requires, for `legal_obligation`; nothing of the customer is on disk in the clear.

use crate::common;

use common::{SECRET_CARRIER, SECRET_PROCESSOR, call, everything_under, holds};
use custodian_partners::fake_partner::FakePartner;

use std::time::{Duration, Instant};

use custodian_core::clock::{Clock, SystemClock};
use serde_json::{Value, json};

const NAME: &str = "Canary-Erasure-E2E Lý";
const ADDRESS: &str = "Số 5 ngõ Canary-Erasure-E2E";

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn partners_are_told_of_an_erasure_and_their_confirmations_are_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let common::Partnered {
        server,
        carrier,
        processor,
        runtime: _runtime,
    } = common::start_with_partners(dir.path());
    let address = server.address.clone();

    let (status, created) = call(
        &address,
        "POST",
        "/v1/customers?purpose=account",
        json!({ "fields": {
            "account_name.full_name": NAME,
            "account_email.email": "canary.erasure.e2e@example.com",
        }}),
    );
    assert_eq!(status, 201, "{created}");
    let customer = created["id"].as_str().unwrap().to_owned();
    let (status, placed) = call(
        &address,
        "POST",
        "/v1/orders?purpose=order_fulfilment",
        json!({
            "customer": customer,
            "items": [{ "product_id": "sku-1", "product_name": "Khăn lụa", "quantity": 1, "unit_price": 200000 }],
            "fields": {
                "order_recipient.recipient_name": NAME,
                "order_shipping_address.address_line": ADDRESS,
                "order_shipping_address.province": "Hà Nội",
                "order_shipping_address.country": "VN",
                "order_payment.payment_token": "tok_e2e_erasure",
                "order_payment.card_brand": "visa",
                "order_payment.card_last4": "1111",
                "order_payment.card_expiry": "09/30",
            },
        }),
    );
    assert_eq!(status, 201, "{placed}");
    let order = placed["id"].as_str().unwrap().to_owned();
    for to in ["paid", "fulfilling"] {
        let (status, moved) = call(
            &address,
            "POST",
            &format!("/v1/orders/{order}/moves"),
            json!({ "to": to }),
        );
        assert_eq!(status, 200, "{moved}");
    }
    wait_for("the order's deliveries", || {
        carrier.seen().applied.len() == 1 && processor.seen().applied.len() == 1
    });
    let received = |p: &FakePartner| -> Vec<String> {
        p.seen().message_ids.values().cloned().collect::<Vec<_>>()
    };
    let (to_carrier, to_processor) = (received(&carrier), received(&processor));

    // The erasure answers with its report.
    let (status, report) = call(
        &address,
        "DELETE",
        &format!("/v1/customers/{customer}?purpose=account"),
        Value::Null,
    );
    assert_eq!(status, 200, "{report}");
    let partners: Vec<&str> = report["partners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["partner"].as_str().unwrap())
        .collect();
    assert_eq!(partners, ["carrier", "payment_processor"]);
    assert_eq!(report["retained"].as_array().unwrap().len(), 3, "{report}");

    // Each partner is told, after the erasure, naming exactly what it received.
    wait_for("the erasure notices", || {
        carrier.erasure_notices().len() == 1 && processor.erasure_notices().len() == 1
    });
    for (name, partner, sent, secret) in [
        ("carrier", &carrier, &to_carrier, SECRET_CARRIER),
        (
            "payment_processor",
            &processor,
            &to_processor,
            SECRET_PROCESSOR,
        ),
    ] {
        let seen = partner.seen();
        assert_eq!(seen.bad_signatures, 0);
        let (notice, named) = partner.erasure_notices().remove(0);
        assert_eq!(&named, sent, "{name}");
        let now = SystemClock.now().as_second();
        let (signature, body) = partner.erasure_confirmation(&notice, now);
        let path = format!("/v1/partners/{name}/erasure-confirmations");
        let body = String::from_utf8(body).unwrap();
        let (status, _, answer) = common::request_with(
            &address,
            "POST",
            &path,
            &[("Custodian-Signature", signature.as_str())],
            &body,
        )
        .unwrap();
        assert_eq!(status, 200, "{name}: {answer}");
        // Another partner's secret does not confirm it.
        let other = if secret == SECRET_CARRIER {
            SECRET_PROCESSOR
        } else {
            SECRET_CARRIER
        };
        let forged = custodian_partners::signature(other.as_bytes(), now, body.as_bytes());
        let (status, _, _) = common::request_with(
            &address,
            "POST",
            &path,
            &[("Custodian-Signature", forged.as_str())],
            &body,
        )
        .unwrap();
        assert_eq!(status, 401, "{name}");
    }
    let (status, report) = call(
        &address,
        "GET",
        &format!("/v1/customers/{customer}/erasure"),
        Value::Null,
    );
    assert_eq!(status, 200, "{report}");
    for p in report["partners"].as_array().unwrap() {
        assert_eq!(p["status"], "confirmed", "{report}");
        assert!(p["delivered_at"].is_string() && p["confirmed_at"].is_string());
    }

    // The accounting hold keeps the order's recipient, for the legal obligation only.
    let (status, held) = call(
        &address,
        "GET",
        &format!("/v1/customers/{customer}/held?purpose=legal_obligation"),
        Value::Null,
    );
    assert_eq!(status, 200, "{held}");
    assert_eq!(
        held["held"][0]["fields"]["order_recipient.recipient_name"]["value"],
        NAME
    );
    let (status, refused) = call(
        &address,
        "GET",
        &format!("/v1/customers/{customer}/held?purpose=customer_care"),
        Value::Null,
    );
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "legal_hold_purpose_only");

    // Nothing of the customer on disk in the clear, nor in the logs.
    let log = server.log.lock().unwrap().join("\n");
    drop(server);
    assert!(
        !log.contains("Canary-Erasure-E2E"),
        "the logs hold the canary"
    );
    let disk = everything_under(dir.path());
    assert!(!holds(&disk, "Canary-Erasure-E2E"), "the canary is on disk");
}
