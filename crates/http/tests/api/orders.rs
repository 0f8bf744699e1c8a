//! Orders over HTTP: placing (for a customer or a guest), the card-data guard, need-to-know
//! for fulfilment by the order's state, checked transitions.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_refused, body_json, spawn_app};

const EMAIL: &str = "tran.hung.dao@example.com";
const ADDRESS: &str = "Số 7 ngõ Canary-Đặt-Hàng, phố Hàng Bạc";
// Published by the card networks for testing: never a real card.
const TEST_CARD: &str = "4111 1111 1111 1111";

fn order(customer: Option<&str>) -> Value {
    let mut body = json!({
        "items": [
            { "product_id": "sku-ao-dai-01", "product_name": "Áo dài lụa", "quantity": 1, "unit_price": 1250000 },
            { "product_id": "sku-non-la-02", "product_name": "Nón lá", "quantity": 2, "unit_price": 90000 },
        ],
        "fields": {
            "order_recipient.recipient_name": "Trần Hưng Đạo",
            "order_shipping_address.address_line": ADDRESS,
            "order_shipping_address.ward": "Hàng Bạc",
            "order_shipping_address.province": "Hà Nội",
            "order_shipping_address.country": "VN",
            "order_contact_phone.contact_phone": "0912 345 678",
            "order_payment.payment_token": "tok_test_7Hq2Lx",
            "order_payment.card_brand": "visa",
            "order_payment.card_last4": "1111",
            "order_payment.card_expiry": "04/29",
        },
    });
    if let Some(c) = customer {
        body["customer"] = json!(c);
    }
    body
}

async fn place(app: &TestApp, body: Value) -> axum::http::Response<axum::body::Body> {
    app.call("POST", "/v1/orders?purpose=order_fulfilment", Some(body))
        .await
}

async fn customer(app: &TestApp) -> String {
    app.create(json!({ "account_name.full_name": "Trần Hưng Đạo", "account_email.email": EMAIL }))
        .await
}

async fn read_as(app: &TestApp, token: &str, id: &str) -> Value {
    let response = app
        .call_as(
            Some(token),
            "GET",
            &format!("/v1/orders/{id}?purpose=order_fulfilment"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    body_json(response).await
}

async fn move_as(
    app: &TestApp,
    token: &str,
    id: &str,
    to: &str,
) -> axum::http::Response<axum::body::Body> {
    app.call_as(
        Some(token),
        "POST",
        &format!("/v1/orders/{id}/moves"),
        Some(json!({ "to": to }).to_string()),
    )
    .await
}

#[tokio::test]
async fn the_storefront_places_an_order_and_reads_it_back_without_the_restricted_payment() {
    let app = spawn_app().await;
    let id = customer(&app).await;
    let response = place(&app, order(Some(&id))).await;
    assert_eq!(response.status(), 201);
    let placed = body_json(response).await;
    assert_eq!(placed["customer"], id.as_str());
    assert_eq!(placed["guest"], false);
    assert_eq!(placed["state"], "placed");
    let order_id = placed["id"].as_str().unwrap().to_owned();
    assert!(order_id.starts_with("ord_"));

    let response = app
        .call(
            "GET",
            &format!("/v1/orders/{order_id}?purpose=order_fulfilment"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let view = body_json(response).await;
    assert_eq!(
        view["fields"]["order_shipping_address.address_line"]["value"],
        ADDRESS
    );
    assert_eq!(
        view["fields"]["order_contact_phone.contact_phone"]["value"],
        "+84912345678"
    );
    // Card data is sensitive and restricted to care agents: the storefront's token does not
    // list it.
    assert_eq!(
        view["fields"]["order_payment.card_last4"]["withheld"],
        "not_for_role"
    );
    assert_eq!(view["items"][1]["product_name"]["value"], "Nón lá");
    assert_eq!(view["items"][1]["quantity"]["value"], "2");

    let listed = body_json(
        app.call("GET", &format!("/v1/customers/{id}/orders"), None)
            .await,
    )
    .await;
    assert_eq!(listed["orders"][0]["id"], order_id.as_str());
    assert_eq!(listed["orders"][0]["state"], "placed");
}

#[tokio::test]
async fn a_guest_becomes_a_data_subject_of_their_own() {
    let app = spawn_app().await;
    let response = place(&app, order(None)).await;
    assert_eq!(response.status(), 201);
    let placed = body_json(response).await;
    assert_eq!(placed["guest"], true);
    let guest = placed["customer"].as_str().unwrap();
    assert!(guest.starts_with("cus_"));
    // The guest has a key of their own, and no account.
    assert_eq!(app.key_store.key_versions().await.unwrap(), vec![(1, 1)]);
    let account = body_json(
        app.call(
            "GET",
            &format!("/v1/customers/{guest}?purpose=account"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        account["fields"]["account_email.email"]["withheld"],
        "not_collected"
    );
}

#[tokio::test]
async fn card_data_anywhere_is_refused_whole_and_never_stored() {
    let app = spawn_app().await;
    let mut in_address = order(None);
    in_address["fields"]["order_shipping_address.address_line"] =
        json!(format!("{ADDRESS}, thẻ {TEST_CARD}"));
    let response = place(&app, in_address).await;
    assert_refused(
        response,
        400,
        "card_data_refused",
        Some("$.<key>.<key>"),
        "4111",
    )
    .await;

    let mut in_item = order(None);
    in_item["items"][0]["product_name"] = json!("4111-1111-1111-1111");
    let response = place(&app, in_item).await;
    assert_refused(
        response,
        400,
        "card_data_refused",
        Some("$.<key>[0].<key>"),
        "4111",
    )
    .await;

    let mut cvv = order(None);
    cvv["fields"]["cvv"] = json!("737");
    let response = place(&app, cvv).await;
    assert_refused(
        response,
        400,
        "card_data_refused",
        Some("$.<key>.<key>"),
        "737",
    )
    .await;

    let mut number = order(None);
    number["payment"] = json!({ "number": 4_111_111_111_111_111_u64 });
    let response = place(&app, number).await;
    assert_refused(
        response,
        400,
        "card_data_refused",
        Some("$.<key>.<key>"),
        "4111",
    )
    .await;

    // Nothing of any of them was kept: no subject, no key, no audit event.
    app.assert_nothing_written().await;
    let raw = std::fs::read(app.store_path()).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.contains("4111"), "a card number reached the database");
    assert!(
        !text.contains("Canary"),
        "an address reached the database in the clear"
    );
}

#[tokio::test]
async fn an_order_needs_its_required_categories() {
    let app = spawn_app().await;
    let mut body = order(None);
    body["fields"]
        .as_object_mut()
        .unwrap()
        .remove("order_recipient.recipient_name");
    let response = place(&app, body).await;
    assert_refused(
        response,
        400,
        "missing_field",
        Some("order_recipient.recipient_name"),
        ADDRESS,
    )
    .await;
    let mut body = order(None);
    body["items"] = json!([]);
    let response = place(&app, body).await;
    assert_refused(response, 400, "missing_field", Some("items"), ADDRESS).await;
    let mut body = order(None);
    body["items"][0]["colour"] = json!("đỏ");
    let response = place(&app, body).await;
    assert_refused(response, 400, "undeclared_field", Some("items[0]"), ADDRESS).await;
    // The amount is computed from the items, never taken from the caller.
    let mut body = order(None);
    body["fields"]["order_payment.amount"] = json!(1);
    let response = place(&app, body).await;
    assert_refused(
        response,
        400,
        "field_not_allowed",
        Some("order_payment.amount"),
        ADDRESS,
    )
    .await;
    // Optional categories may be declined: an order without a contact phone is placed.
    let mut body = order(None);
    body["fields"]
        .as_object_mut()
        .unwrap()
        .remove("order_contact_phone.contact_phone");
    assert_eq!(place(&app, body).await.status(), 201);
}

#[tokio::test]
async fn fulfilment_sees_an_order_only_while_it_is_being_fulfilled() {
    let app = spawn_app().await;
    let id = customer(&app).await;
    let placed = body_json(place(&app, order(Some(&id))).await).await;
    let order_id = placed["id"].as_str().unwrap().to_owned();
    let fulfilment = app.staff("fulfilment").await;

    let view = read_as(&app, &fulfilment, &order_id).await;
    assert_eq!(
        view["fields"]["order_shipping_address.address_line"]["withheld"],
        "order_not_fulfilling"
    );
    assert_eq!(view["items"]["withheld"], "order_not_fulfilling");

    // Placed → shipped skips payment and fulfilment: refused, naming the next states.
    let response = move_as(&app, &fulfilment, &order_id, "shipped").await;
    let error = assert_refused(
        response,
        409,
        "order_transition_not_allowed",
        Some("to"),
        ADDRESS,
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("paid, cancelled")
    );

    for to in ["paid", "fulfilling"] {
        let response = move_as(&app, &fulfilment, &order_id, to).await;
        let status = response.status();
        let body = body_json(response).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"], to);
    }
    // Entering fulfilment queued the release to the partners that fulfil orders, each with
    // exactly the fields the policy declares for it.
    let outbox = body_json(
        app.call("GET", &format!("/v1/customers/{id}/outbox"), None)
            .await,
    )
    .await;
    let mut messages: Vec<(String, Vec<String>)> = outbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["kind"], "order.fulfilling");
            assert_eq!(m["status"], "pending");
            let fields = m["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_owned())
                .collect();
            (m["partner"].as_str().unwrap().to_owned(), fields)
        })
        .collect();
    messages.sort();
    let policy = custodian_policy::parse(custodian_policy::DEFAULT_POLICY).unwrap();
    let declared = |id: &str| {
        let mut f: Vec<String> = policy
            .partners
            .iter()
            .find(|p| p.id.as_str() == id)
            .unwrap()
            .fields
            .iter()
            .map(ToString::to_string)
            .collect();
        f.sort();
        f
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0].0, "carrier");
    assert_eq!(sorted(messages[0].1.clone()), declared("carrier"));
    assert_eq!(messages[1].0, "payment_processor");
    assert_eq!(sorted(messages[1].1.clone()), declared("payment_processor"));

    let view = read_as(&app, &fulfilment, &order_id).await;
    assert_eq!(view["state"], "fulfilling");
    assert_eq!(
        view["fields"]["order_shipping_address.address_line"]["value"],
        ADDRESS
    );
    assert_eq!(view["items"][0]["product_id"]["value"], "sku-ao-dai-01");
    assert_eq!(
        view["fields"]["order_payment.payment_token"]["withheld"],
        "not_for_role"
    );

    assert_eq!(
        move_as(&app, &fulfilment, &order_id, "shipped")
            .await
            .status(),
        200
    );
    let view = read_as(&app, &fulfilment, &order_id).await;
    assert_eq!(
        view["fields"]["order_shipping_address.address_line"]["withheld"],
        "order_not_fulfilling"
    );
    // The customer's account was never within reach.
    let response = app
        .call_as(
            Some(&fulfilment),
            "GET",
            &format!("/v1/customers/{id}?purpose=order_fulfilment"),
            None,
        )
        .await;
    let account = body_json(response).await;
    assert_ne!(
        account["fields"]["account_email.email"].get("value"),
        Some(&json!(EMAIL))
    );
}

#[tokio::test]
async fn a_customer_sees_their_own_orders_and_nobody_elses() {
    let app = spawn_app().await;
    let id = customer(&app).await;
    let other = app
        .create(json!({ "account_name.full_name": "Lê Lợi", "account_email.email": "le.loi@example.com" }))
        .await;
    let mine = body_json(place(&app, order(Some(&id))).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = body_json(place(&app, order(Some(&other))).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = app.customer_session(EMAIL).await;

    let listed = body_json(
        app.call_as(Some(&token), "GET", "/v1/account/orders", None)
            .await,
    )
    .await;
    let ids: Vec<&str> = listed["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine.as_str()]);
    let view = read_as(&app, &token, &mine).await;
    assert_eq!(view["fields"]["order_payment.card_last4"]["value"], "1111");
    // 1 × 1,250,000 + 2 × 90,000, computed by Custodian.
    assert_eq!(view["fields"]["order_payment.amount"]["value"], "1430000");
    let response = app
        .call_as(
            Some(&token),
            "GET",
            &format!("/v1/orders/{theirs}?purpose=order_fulfilment"),
            None,
        )
        .await;
    assert_refused(response, 404, "order_not_found", Some("id"), ADDRESS).await;
    let response = app
        .call_as(
            Some(&token),
            "GET",
            &format!("/v1/customers/{other}/orders"),
            None,
        )
        .await;
    assert_refused(response, 404, "customer_not_found", Some("id"), ADDRESS).await;
}
