//! End to end (P4, P6, P15): `custodian serve` with two partners on loopback. A customer
//! orders (after attempts with a card number in several spellings and places, refused);
//! the order is paid and enters fulfilment; the carrier and the payment processor each
//! receive exactly their declared fields, signed; the customer's ledger shows both releases
//! with the digests of what was sent; and nothing on disk or in the logs holds the card
//! number or the security code.

use crate::common;

use common::{call, everything_under, holds};

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

// Published by the card networks for testing: never a real card.
const CARD: &str = "4111111111111111";
/// The same card as it passed the guard once: Arabic-Indic digits, zero-width separators,
/// punctuation between groups.
const SPELLED: [&str; 3] = [
    "٤١١١ ١١١١ ١١١١ ١١١١",
    "4111\u{200B}1111\u{2060}1111\u{200B}1111",
    "4111.1111/1111.1111",
];
const CVV: &str = "7371";
const ADDRESS: &str = "Số 21 ngõ Canary-E2E, phố Lò Đúc";

fn declared(partner: &str) -> BTreeSet<String> {
    let policy = custodian_policy::parse(custodian_policy::DEFAULT_POLICY).unwrap();
    policy
        .partners
        .iter()
        .find(|p| p.id.as_str() == partner)
        .unwrap()
        .fields
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Every byte of every file under `dir`.

#[test]
fn an_order_reaches_its_partners_with_exactly_their_fields_and_the_ledger_says_so() {
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
            "account_name.full_name": "Bà Triệu",
            "account_email.email": "ba.trieu.e2e@example.com",
        }}),
    );
    assert_eq!(status, 201, "{created}");
    let customer = created["id"].as_str().unwrap().to_owned();

    let mut order = json!({
        "customer": customer,
        "items": [
            { "product_id": "sku-ao-01", "product_name": "Áo tứ thân", "quantity": 2, "unit_price": 350000 },
        ],
        "fields": {
            "order_recipient.recipient_name": "Bà Triệu",
            "order_shipping_address.address_line": ADDRESS,
            "order_shipping_address.ward": "Lò Đúc",
            "order_shipping_address.province": "Hà Nội",
            "order_shipping_address.country": "VN",
            "order_contact_phone.contact_phone": "0987 654 321",
            "order_payment.payment_token": "tok_e2e_Z9x",
            "order_payment.card_brand": "visa",
            "order_payment.card_last4": "1111",
            "order_payment.card_expiry": "09/30",
        },
    });
    // A storefront bug sends the card itself: refused whole.
    let mut leaky = order.clone();
    leaky["fields"]["card_number"] = json!(CARD);
    leaky["fields"]["cvv"] = json!(CVV);
    let (status, refused) = call(
        &address,
        "POST",
        "/v1/orders?purpose=order_fulfilment",
        leaky,
    );
    assert_eq!(status, 400);
    assert_eq!(refused["error"]["code"], "card_data_refused");
    // The spellings a new user found passing the order guard, each where it was stored:
    // digits of another script in the address, invisible separators in a customer's name,
    // punctuation between the groups in a request's free text.
    let mut in_address = order.clone();
    in_address["fields"]["order_shipping_address.address_line"] = json!(SPELLED[0]);
    let attempts = [
        ("/v1/orders?purpose=order_fulfilment", in_address),
        (
            "/v1/customers?purpose=account",
            json!({ "fields": { "account_name.full_name": SPELLED[1] } }),
        ),
        (
            "/v1/account/requests",
            json!({ "kind": "access", "details": SPELLED[2] }),
        ),
    ];
    for (path, body) in attempts {
        let (status, refused) = call(&address, "POST", path, body);
        assert_eq!(status, 400, "{path}");
        assert_eq!(refused["error"]["code"], "card_data_refused", "{path}");
    }

    let (status, placed) = call(
        &address,
        "POST",
        "/v1/orders?purpose=order_fulfilment",
        order.take(),
    );
    assert_eq!(status, 201, "{placed}");
    let order_id = placed["id"].as_str().unwrap().to_owned();
    for to in ["paid", "fulfilling"] {
        let (status, moved) = call(
            &address,
            "POST",
            &format!("/v1/orders/{order_id}/moves"),
            json!({ "to": to }),
        );
        assert_eq!(status, 200, "{moved}");
    }

    // The dispatcher delivers both within moments.
    let deadline = Instant::now() + Duration::from_secs(30);
    while (carrier.seen().applied.is_empty() || processor.seen().applied.is_empty())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut digests = BTreeSet::new();
    for (name, partner) in [("carrier", &carrier), ("payment_processor", &processor)] {
        let seen = partner.seen();
        assert_eq!(seen.bad_signatures, 0);
        assert_eq!(seen.applied.len(), 1, "{name}: one message, applied once");
        let body = seen.bodies.values().next().unwrap().clone();
        digests.insert(format!("sha256:{}", hex::encode(Sha256::digest(&body))));
        let message: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(message["type"], "order.fulfilling");
        let sent: BTreeSet<String> = message["data"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            sent,
            declared(name),
            "{name} gets exactly its declared fields"
        );
        let text = String::from_utf8_lossy(&body);
        assert!(
            !text.contains("cus_") && !text.contains("ord_"),
            "no internal id leaves"
        );
    }
    let carrier_body: Value =
        serde_json::from_slice(carrier.seen().bodies.values().next().unwrap()).unwrap();
    assert_eq!(
        carrier_body["data"]["order_shipping_address.address_line"],
        ADDRESS
    );
    assert_eq!(carrier_body["data"]["order_items.quantity"], json!([2]));
    let processor_body: Value =
        serde_json::from_slice(processor.seen().bodies.values().next().unwrap()).unwrap();
    assert_eq!(processor_body["data"]["order_payment.amount"], 700_000);
    assert_eq!(
        processor_body["data"]["order_payment.payment_token"],
        "tok_e2e_Z9x"
    );

    // The ledger: both releases, with the digests of what was sent.
    let (status, ledger) = call(
        &address,
        "GET",
        &format!("/v1/customers/{customer}/disclosures"),
        Value::Null,
    );
    assert_eq!(status, 200, "{ledger}");
    let entries = ledger["disclosures"].as_array().unwrap();
    let recipients: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["recipient"].as_str().unwrap())
        .collect();
    assert_eq!(recipients, BTreeSet::from(["carrier", "payment_processor"]));
    let recorded: BTreeSet<String> = entries
        .iter()
        .map(|e| e["digest"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recorded, digests);

    // The canary: no card number or security code anywhere — database, keys, logs — and
    // the address only as ciphertext.
    let log = server.log.lock().unwrap().join("\n");
    drop(server);
    // Four digits alone turn up now and then inside random ids (`obx_…7371…`): the security
    // code is searched for as a value, quoted, as it was sent.
    let cvv_values = [format!("\"{CVV}\""), format!("\\\"{CVV}\\\"")];
    let secrets = [CARD, "Canary-E2E", "Bà Triệu"].into_iter().chain(SPELLED);
    for secret in secrets.chain(cvv_values.iter().map(String::as_str)) {
        assert!(!log.contains(secret), "the logs hold `{secret}`");
    }
    assert!(log.contains("/v1/orders"), "the log was read: {log}");
    let disk = everything_under(dir.path());
    assert!(!holds(&disk, CARD), "the card number reached the disk");
    for cvv in &cvv_values {
        assert!(!holds(&disk, cvv), "the security code reached the disk");
    }
    for spelled in SPELLED {
        assert!(!holds(&disk, spelled), "`{spelled}` reached the disk");
    }
    assert!(
        !holds(&disk, "Canary-E2E"),
        "the address is on disk in the clear"
    );
}
