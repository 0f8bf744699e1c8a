//! What a request does once it is verified: a code to the email on file proves who asked,
//! then a restriction freezes processing and an objection stops a purpose until lifted, and a
//! consent withdrawal asked by email is carried out by the DPO.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_refused, body_json, spawn_app};

const EMAIL: &str = "ha.thi.quyen@example.com";
const OTHER_EMAIL: &str = "dam.van.tuan@example.com";

async fn post_as(
    app: &TestApp,
    token: &str,
    uri: &str,
    body: Value,
) -> axum::http::Response<axum::body::Body> {
    app.call_as(Some(token), "POST", uri, Some(body.to_string()))
        .await
}

async fn customer(app: &TestApp, name: &str, email: &str) -> String {
    app.create(json!({ "account_name.full_name": name, "account_email.email": email }))
        .await
}

/// What the shop's integration sees of the customer's name for `purpose`.
async fn name_for(app: &TestApp, id: &str, purpose: &str) -> Value {
    let response = app
        .call(
            "GET",
            &format!("/v1/customers/{id}?purpose={purpose}"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    body_json(response).await["fields"]["account_name.full_name"].clone()
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

#[tokio::test]
async fn a_restriction_verified_by_code_freezes_processing_until_the_customer_lifts_it() {
    let app = spawn_app().await;
    let id = customer(&app, "Hà Thị Quyên", EMAIL).await;
    let token = app.customer_session(EMAIL).await;
    assert_eq!(
        name_for(&app, &id, "account").await,
        json!({ "value": "Hà Thị Quyên" })
    );

    let response = post_as(
        &app,
        &token,
        "/v1/account/requests",
        json!({ "kind": "restriction", "lang": "en" }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let asked = body_json(response).await;
    assert_eq!(asked["state"], "acknowledged");
    assert_eq!(asked["verification"]["channel"], "email");
    let request = asked["id"].as_str().unwrap().to_owned();
    let sent = app.notifier.last_code().unwrap().to_string();
    // Nothing is frozen before the code is read back.
    assert_eq!(
        name_for(&app, &id, "account").await,
        json!({ "value": "Hà Thị Quyên" })
    );

    // Someone else's session cannot verify it: there is no such request for them.
    customer(&app, "Đàm Văn Tuấn", OTHER_EMAIL).await;
    let other = app.customer_session(OTHER_EMAIL).await;
    let verify = format!("/v1/account/requests/{request}/verify");
    let response = post_as(&app, &other, &verify, json!({ "code": sent })).await;
    assert_refused(response, 404, "request_not_found", Some("id"), EMAIL).await;
    let response = post_as(&app, &token, &verify, json!({ "code": wrong(&sent) })).await;
    assert_refused(response, 400, "invalid_code", Some("code"), EMAIL).await;

    let response = post_as(&app, &token, &verify, json!({ "code": sent })).await;
    assert_eq!(response.status(), 200);
    let done = body_json(response).await;
    assert_eq!(done["fulfilment"]["request"]["state"], "completed");
    assert_eq!(done["fulfilment"]["limits"][0]["kind"], "restriction");
    // Good once.
    let response = post_as(&app, &token, &verify, json!({ "code": sent })).await;
    assert_refused(response, 400, "code_expired", Some("code"), EMAIL).await;

    // From the next decision on, the business may not use the data; the customer still sees
    // all of it.
    assert_eq!(
        name_for(&app, &id, "account").await,
        json!({ "withheld": "restricted" })
    );
    let own = body_json(
        app.call_as(
            Some(&token),
            "GET",
            &format!("/v1/customers/{id}?purpose=account"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        own["fields"]["account_name.full_name"],
        json!({ "value": "Hà Thị Quyên" })
    );
    let limits = body_json(
        app.call_as(Some(&token), "GET", "/v1/account/limits", None)
            .await,
    )
    .await;
    assert_eq!(limits["limits"].as_array().unwrap().len(), 1);
    assert_eq!(limits["limits"][0]["request"], request.as_str());

    // Lifted by the customer: processing may go on.
    let lift = "/v1/account/limits/restriction";
    let response = app.call_as(Some(&token), "DELETE", lift, None).await;
    assert_eq!(response.status(), 204);
    let response = app.call_as(Some(&token), "DELETE", lift, None).await;
    assert_refused(response, 404, "limit_not_found", Some("kind"), EMAIL).await;
    assert_eq!(
        name_for(&app, &id, "account").await,
        json!({ "value": "Hà Thị Quyên" })
    );
    let actions: Vec<String> = app.audit().await.into_iter().map(|e| e.action).collect();
    for action in [
        "request.acknowledged",
        "request.code_sent",
        "request.code_checked",
        "request.verified",
        "limit.apply",
        "request.completed",
        "limit.lift",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action} audited");
    }
}

#[tokio::test]
async fn an_objection_stops_only_the_purposes_objected_to() {
    let app = spawn_app().await;
    let id = customer(&app, "Hà Thị Quyên", EMAIL).await;
    let token = app.customer_session(EMAIL).await;
    // Only purposes resting on legitimate interest or consent can be objected to, and an
    // objection names at least one.
    for (purposes, why) in [
        (json!(["order_fulfilment"]), "a contract"),
        (json!([]), "nothing"),
        (json!(["no_such_purpose"]), "an unknown purpose"),
    ] {
        let response = post_as(
            &app,
            &token,
            "/v1/account/requests",
            json!({ "kind": "objection", "purposes": purposes }),
        )
        .await;
        assert_eq!(response.status(), 400, "objecting to {why}");
    }
    let response = post_as(
        &app,
        &token,
        "/v1/account/requests",
        json!({ "kind": "access", "purposes": ["security"] }),
    )
    .await;
    assert_refused(response, 400, "invalid_body", Some("purposes"), EMAIL).await;

    let response = post_as(
        &app,
        &token,
        "/v1/account/requests",
        json!({ "kind": "objection", "purposes": ["security"] }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let request = body_json(response).await["id"].as_str().unwrap().to_owned();
    let code = app.notifier.last_code().unwrap().to_string();
    let response = post_as(
        &app,
        &token,
        &format!("/v1/account/requests/{request}/verify"),
        json!({ "code": code }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let done = body_json(response).await;
    assert_eq!(
        done["fulfilment"]["limits"][0],
        json!({
            "customer": id,
            "kind": "objection",
            "purpose": "security",
            "request": request,
            "since": done["fulfilment"]["limits"][0]["since"],
        })
    );
    // Security stops for this customer; the account goes on.
    assert_eq!(
        name_for(&app, &id, "security").await,
        json!({ "withheld": "objected" })
    );
    assert_eq!(
        name_for(&app, &id, "account").await,
        json!({ "value": "Hà Thị Quyên" })
    );
    // The DPO may lift it (when the business shows compelling grounds, say).
    let dpo = app.staff("dpo").await;
    let response = app
        .call_as(
            Some(&dpo),
            "DELETE",
            &format!("/v1/customers/{id}/limits/objections/security"),
            None,
        )
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        name_for(&app, &id, "security").await,
        json!({ "withheld": "not_for_purpose" })
    );
}

#[tokio::test]
async fn a_withdrawal_asked_by_email_is_verified_by_a_code_read_to_the_dpo_then_carried_out() {
    let app = spawn_app().await;
    let id = customer(&app, "Hà Thị Quyên", EMAIL).await;
    let token = app.customer_session(EMAIL).await;
    let version = app.version.version.clone();
    let response = post_as(
        &app,
        &token,
        "/v1/account/consents",
        json!({
            "notice_version": version,
            "channel": "web_form",
            "choices": [{ "purpose": "analytics", "state": "granted" }],
        }),
    )
    .await;
    assert_eq!(response.status(), 200);

    let dpo = app.staff("dpo").await;
    let response = post_as(
        &app,
        &dpo,
        &format!("/v1/customers/{id}/requests"),
        json!({ "kind": "consent_withdrawal", "channel": "email" }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let asked = body_json(response).await;
    assert_eq!(asked["state"], "acknowledged");
    let request = asked["id"].as_str().unwrap().to_owned();
    // Not before it is verified.
    let fulfil = format!("/v1/requests/{request}/fulfil");
    let response = post_as(&app, &dpo, &fulfil, json!({})).await;
    assert_refused(
        response,
        409,
        "request_transition_not_allowed",
        Some("id"),
        EMAIL,
    )
    .await;
    let response = post_as(
        &app,
        &dpo,
        &format!("/v1/requests/{request}/code"),
        json!({ "lang": "vi" }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let code = app.notifier.last_code().unwrap().to_string();
    let response = post_as(
        &app,
        &dpo,
        &format!("/v1/requests/{request}/verify"),
        json!({ "code": code }),
    )
    .await;
    assert_eq!(response.status(), 200);
    // Verified, not carried out: staff do that deliberately.
    assert!(body_json(response).await["fulfilment"].is_null());
    let response = post_as(&app, &dpo, &fulfil, json!({})).await;
    assert_eq!(response.status(), 200);
    let done = body_json(response).await;
    assert_eq!(done["request"]["state"], "completed");
    assert_eq!(done["withdrawn"], json!(["analytics"]));
    let consents = body_json(
        app.call_as(Some(&token), "GET", "/v1/account/consents", None)
            .await,
    )
    .await;
    let analytics = consents["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["purpose"] == "analytics")
        .unwrap()
        .clone();
    assert_eq!(analytics["state"], "denied");
    let history = body_json(
        app.call_as(Some(&token), "GET", "/v1/account/consents/history", None)
            .await,
    )
    .await;
    let last = history["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["channel"], "email");

    // A care agent's request, entered in a verified care session, is verified at once.
    let agent = app.staff("care_agent").await;
    let session = body_json(
        post_as(
            &app,
            &agent,
            "/v1/care-sessions",
            json!({ "customer": id, "channel": "email" }),
        )
        .await,
    )
    .await;
    let code = app.notifier.last_code().unwrap().to_string();
    let response = post_as(
        &app,
        &agent,
        &format!(
            "/v1/care-sessions/{}/verify",
            session["id"].as_str().unwrap()
        ),
        json!({ "code": code }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = post_as(
        &app,
        &agent,
        &format!("/v1/customers/{id}/requests"),
        json!({ "kind": "restriction", "channel": "phone" }),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(body_json(response).await["state"], "verified");
}

/// Asks for `kind` in the customer's own name and reads the code back: the fulfilment.
async fn ask_and_verify(app: &TestApp, token: &str, kind: &str) -> Value {
    let response = post_as(
        app,
        token,
        "/v1/account/requests",
        json!({ "kind": kind, "lang": "en" }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let request = body_json(response).await["id"].as_str().unwrap().to_owned();
    let code = app.notifier.last_code().unwrap().to_string();
    let response = post_as(
        app,
        token,
        &format!("/v1/account/requests/{request}/verify"),
        json!({ "code": code }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let done = body_json(response).await;
    assert_eq!(
        done["fulfilment"]["request"]["state"], "completed",
        "{done}"
    );
    done["fulfilment"].clone()
}

#[tokio::test]
async fn a_verified_portability_request_gives_the_customer_their_export() {
    let app = spawn_app().await;
    let id = customer(&app, "Hà Thị Quyên", EMAIL).await;
    let token = app.customer_session(EMAIL).await;
    let fulfilment = ask_and_verify(&app, &token, "portability").await;
    let url = fulfilment["export"]["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/v1/account/exports/csx_"), "{url}");
    let response = app.call_as(Some(&token), "GET", &url, None).await;
    assert_eq!(response.status(), 200);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut json = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("export.json").unwrap(), &mut json).unwrap();
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["customer"]["id"], id.as_str());
    assert!(json.contains(EMAIL));
    // The request that asked for it is in the export, completed.
    assert!(json.contains("\"portability\""));
}

#[tokio::test]
async fn a_verified_deletion_erases_the_customer_and_reports_what_the_law_keeps() {
    let app = spawn_app().await;
    let id = customer(&app, "Hà Thị Quyên", EMAIL).await;
    let token = app.customer_session(EMAIL).await;
    let fulfilment = ask_and_verify(&app, &token, "deletion").await;
    let report = &fulfilment["erasure"];
    assert!(report["erased_at"].is_string(), "{fulfilment}");
    // Told at the address on file, read before it was erased.
    let told = app.notifier.notices();
    let done = told.last().unwrap();
    assert!(done.text.contains("your data was deleted"), "{}", done.text);
    assert!(done.to_masked.starts_with(EMAIL.chars().next().unwrap()));
    assert!(
        report["removed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["category"] == "account_email"),
        "{report}"
    );
    // Gone: the session, the sign-in, the data.
    let response = app
        .call_as(Some(&token), "GET", "/v1/account/requests", None)
        .await;
    assert_eq!(response.status(), 401);
    let response = app
        .call_as(
            None,
            "POST",
            "/v1/customer-sessions/code",
            Some(json!({ "email": EMAIL }).to_string()),
        )
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(
        name_for(&app, &id, "account").await,
        json!({ "withheld": "erased" })
    );
    // The DPO keeps the report and the request's trail.
    let dpo = app.staff("dpo").await;
    let kept = body_json(
        app.call_as(
            Some(&dpo),
            "GET",
            &format!("/v1/customers/{id}/erasure"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(kept["erased_at"], report["erased_at"]);
}

#[tokio::test]
async fn a_correction_is_made_by_staff_once_verified_then_completed_by_the_dpo() {
    let app = spawn_app().await;
    let id = customer(&app, "Hà Thị Quyen", EMAIL).await;
    let token = app.customer_session(EMAIL).await;
    let response = post_as(
        &app,
        &token,
        "/v1/account/requests",
        json!({ "kind": "correction", "details": "Tên tôi là Quyên, có dấu." }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let request = body_json(response).await["id"].as_str().unwrap().to_owned();
    let code = app.notifier.last_code().unwrap().to_string();
    let response = post_as(
        &app,
        &token,
        &format!("/v1/account/requests/{request}/verify"),
        json!({ "code": code }),
    )
    .await;
    assert_eq!(response.status(), 200);
    // Verified, not carried out: the customer cannot complete their own correction.
    assert!(body_json(response).await["fulfilment"].is_null());
    // The correction itself, by staff whose purpose uses the name (here the shop's system).
    let response = app
        .call(
            "PATCH",
            &format!("/v1/customers/{id}?purpose=account"),
            Some(json!({ "fields": { "account_name.full_name": "Hà Thị Quyên" } })),
        )
        .await;
    assert_eq!(response.status(), 204);
    let dpo = app.staff("dpo").await;
    let fulfil = format!("/v1/requests/{request}/fulfil");
    let response = post_as(&app, &token, &fulfil, json!({})).await;
    assert_refused(
        response,
        403,
        "operation_not_allowed",
        Some("operation"),
        EMAIL,
    )
    .await;
    let response = post_as(&app, &dpo, &fulfil, json!({})).await;
    assert_eq!(
        response.status(),
        200,
        "the DPO completes it once corrected"
    );
    let mine = body_json(
        app.call_as(Some(&token), "GET", "/v1/account/requests", None)
            .await,
    )
    .await;
    assert_eq!(mine["requests"][0]["state"], "completed");
    assert_eq!(
        name_for(&app, &id, "account").await,
        json!({ "value": "Hà Thị Quyên" })
    );
}

#[tokio::test]
async fn a_restriction_stops_an_order_going_to_the_carrier_until_lifted() {
    let app = spawn_app().await;
    let id = customer(&app, "Hà Thị Quyên", EMAIL).await;
    let token = app.customer_session(EMAIL).await;
    let placed = app
        .call(
            "POST",
            "/v1/orders?purpose=order_fulfilment",
            Some(json!({
                "customer": id,
                "items": [{ "product_id": "sku-1", "product_name": "Ấm trà", "quantity": 1, "unit_price": 300000 }],
                "fields": {
                    "order_recipient.recipient_name": "Hà Thị Quyên",
                    "order_shipping_address.address_line": "12 Phố Huế",
                    "order_shipping_address.ward": "Hàng Bài",
                    "order_shipping_address.province": "Hà Nội",
                    "order_shipping_address.country": "VN",
                    "order_payment.payment_token": "tok_test_Q1",
                    "order_payment.card_brand": "visa",
                    "order_payment.card_last4": "1111",
                    "order_payment.card_expiry": "04/29",
                },
            })),
        )
        .await;
    assert_eq!(placed.status(), 201);
    let order = body_json(placed).await["id"].as_str().unwrap().to_owned();
    let fulfilment = app.staff("fulfilment").await;
    let moves = format!("/v1/orders/{order}/moves");
    let response = post_as(&app, &fulfilment, &moves, json!({ "to": "paid" })).await;
    assert_eq!(response.status(), 200);

    ask_and_verify(&app, &token, "restriction").await;
    let response = post_as(&app, &fulfilment, &moves, json!({ "to": "fulfilling" })).await;
    let error = assert_refused(response, 403, "access_denied", Some("purpose"), EMAIL).await;
    assert!(error["message"].as_str().unwrap().contains("restricted"));
    let admin = app.staff("admin").await;
    let pending = body_json(
        app.call_as(Some(&admin), "GET", "/v1/outbox?status=pending", None)
            .await,
    )
    .await;
    assert_eq!(pending["messages"], json!([]), "nothing released");

    let response = app
        .call_as(
            Some(&token),
            "DELETE",
            "/v1/account/limits/restriction",
            None,
        )
        .await;
    assert_eq!(response.status(), 204);
    let response = post_as(&app, &fulfilment, &moves, json!({ "to": "fulfilling" })).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_new_code_does_not_buy_new_guesses() {
    let app = spawn_app().await;
    customer(&app, "Hà Thị Quyên", EMAIL).await;
    let token = app.customer_session(EMAIL).await;
    let response = post_as(
        &app,
        &token,
        "/v1/account/requests",
        json!({ "kind": "restriction" }),
    )
    .await;
    let request = body_json(response).await["id"].as_str().unwrap().to_owned();
    let verify = format!("/v1/account/requests/{request}/verify");
    let wrong = |app: &TestApp| wrong(app.notifier.last_code().unwrap().as_ref());
    for _ in 0..3 {
        let response = post_as(&app, &token, &verify, json!({ "code": wrong(&app) })).await;
        assert_refused(response, 400, "invalid_code", Some("code"), EMAIL).await;
    }
    let response = post_as(
        &app,
        &token,
        &format!("/v1/account/requests/{request}/code"),
        json!({}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = post_as(&app, &token, &verify, json!({ "code": wrong(&app) })).await;
    let error = assert_refused(response, 400, "invalid_code", Some("code"), EMAIL).await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("6 attempts left"),
        "{error}"
    );
}
