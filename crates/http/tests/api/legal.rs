//! Legal disclosures (P16): recorded by the DPO, approved by a second administrator,
//! released once, and in the customer's ledger — once the law lets them be told.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_refused, body_json, spawn_app};

const EMAIL: &str = "ngo.quyen@example.com";

async fn post_as(
    app: &TestApp,
    token: &str,
    uri: &str,
    body: Option<Value>,
) -> axum::http::Response<axum::body::Body> {
    app.call_as(Some(token), "POST", uri, body.map(|b| b.to_string()))
        .await
}

#[tokio::test]
async fn a_legal_disclosure_is_approved_by_a_second_person_released_once_and_told_when_allowed() {
    let app = spawn_app().await;
    let customer = app
        .create(json!({ "account_name.full_name": "Ngô Quyền", "account_email.email": EMAIL }))
        .await;
    let dpo = app.staff("dpo").await;
    let admin = app.staff("admin").await;
    let order = json!({
        "customer": customer,
        "items": [{ "product_id": "sku-1", "product_name": "Trống đồng", "quantity": 1, "unit_price": 990000 }],
        "fields": {
            "order_recipient.recipient_name": "Ngô Quyền",
            "order_shipping_address.address_line": "Số 1 Bạch Đằng",
            "order_shipping_address.ward": "Bạch Đằng",
            "order_shipping_address.province": "Hải Phòng",
            "order_shipping_address.country": "VN",
            "order_payment.payment_token": "tok_legal_1",
            "order_payment.card_brand": "visa",
            "order_payment.card_last4": "1111",
            "order_payment.card_expiry": "01/30",
        },
    });
    let placed = app
        .call("POST", "/v1/orders?purpose=order_fulfilment", Some(order))
        .await;
    assert_eq!(placed.status(), 201);

    let request = json!({
        "authority": "tax_authority",
        "reference": "Quyết định thanh tra số 123/QĐ-CT ngày 2026-11-20",
        "customers": [customer],
        "categories": ["account_name", "account_email", "order_recipient"],
        "period_from": "2025-12-01T00:00:00Z",
        "period_to": "2026-02-01T00:00:00Z",
        "notify": false,
        "silence_until": "2027-06-01T00:00:00Z",
    });
    let response = post_as(&app, &dpo, "/v1/legal-requests", Some(request.clone())).await;
    assert_eq!(response.status(), 201);
    let recorded = body_json(response).await;
    assert_eq!(recorded["status"], "requested");
    let id = recorded["id"].as_str().unwrap().to_owned();

    // A period that ends before it starts, or an undeclared authority, is refused; nothing
    // is released before approval.
    let mut backwards = request.clone();
    backwards["period_to"] = json!("2025-01-01T00:00:00Z");
    let response = post_as(&app, &dpo, "/v1/legal-requests", Some(backwards)).await;
    assert_refused(response, 400, "invalid_body", Some("period_to"), EMAIL).await;
    let mut unknown = request.clone();
    unknown["authority"] = json!("a_friend_of_the_shop");
    let response = post_as(&app, &dpo, "/v1/legal-requests", Some(unknown)).await;
    assert_refused(response, 400, "unknown_authority", Some("authority"), EMAIL).await;
    let release = format!("/v1/legal-requests/{id}/release");
    let response = post_as(&app, &dpo, &release, None).await;
    assert_refused(
        response,
        409,
        "legal_request_not_pending",
        Some("status"),
        EMAIL,
    )
    .await;

    // The DPO cannot approve their own request: approval is an administrator's.
    let approve = format!("/v1/legal-requests/{id}/approve");
    let response = post_as(&app, &dpo, &approve, None).await;
    assert_refused(
        response,
        403,
        "operation_not_allowed",
        Some("operation"),
        EMAIL,
    )
    .await;
    let response = post_as(&app, &admin, &approve, None).await;
    assert_eq!(response.status(), 200);
    let approved = body_json(response).await;
    assert_eq!(approved["status"], "approved");
    assert_ne!(approved["approved_by"], approved["requested_by"]);

    let response = post_as(&app, &dpo, &release, None).await;
    assert_eq!(response.status(), 200);
    let document = body_json(response).await;
    assert_eq!(document["authority"], "tax_authority");
    let released = &document["customers"][0];
    assert_eq!(released["found"], true);
    assert_eq!(released["profile"]["account_email.email"], EMAIL);
    assert_eq!(released["profile"]["account_name.full_name"], "Ngô Quyền");
    // The order placed in the period, its recipient only (the categories asked for).
    let orders = released["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["order_recipient.recipient_name"], "Ngô Quyền");
    assert!(
        orders[0]
            .get("order_shipping_address.address_line")
            .is_none()
    );
    // Once only.
    let response = post_as(&app, &dpo, &release, None).await;
    assert_refused(
        response,
        409,
        "legal_request_not_pending",
        Some("status"),
        EMAIL,
    )
    .await;

    // The DPO sees the release in the customer's ledger; the customer does not, yet.
    let ledger = body_json(
        app.call_as(
            Some(&dpo),
            "GET",
            &format!("/v1/customers/{customer}/disclosures"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(ledger["legal"][0]["authority"], "tax_authority");
    assert!(
        ledger["legal"][0]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let token = app.customer_session(EMAIL).await;
    let own = body_json(
        app.call_as(Some(&token), "GET", "/v1/account/disclosures", None)
            .await,
    )
    .await;
    assert!(
        own["legal"].as_array().unwrap().is_empty(),
        "silenced: {own}"
    );

    // The law allows it now: lifted, the customer sees who received what, and when.
    let response = post_as(
        &app,
        &dpo,
        &format!("/v1/legal-requests/{id}/lift-silence"),
        None,
    )
    .await;
    assert_eq!(response.status(), 204);
    let own = body_json(
        app.call_as(Some(&token), "GET", "/v1/account/disclosures", None)
            .await,
    )
    .await;
    let entry = &own["legal"][0];
    assert_eq!(entry["authority"], "tax_authority");
    let fields: Vec<&str> = entry["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(fields.contains(&"account_email.email"), "{fields:?}");

    let listed = body_json(
        app.call_as(Some(&admin), "GET", "/v1/legal-requests", None)
            .await,
    )
    .await;
    assert_eq!(listed["requests"][0]["status"], "released");
}
