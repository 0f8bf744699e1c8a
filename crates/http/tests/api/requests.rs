//! Data subjects' requests over HTTP: asked in the privacy centre or entered by staff, due
//! dates by the Vietnamese rules, merged when asked twice, moved on by the DPO with every
//! extension reasoned and bounded, flagged when overdue.

use serde_json::{Value, json};

use crate::helpers::{STAFF_PASSWORD, TestApp, assert_refused, body_json, spawn_app};

const EMAIL: &str = "ly.chieu.hoang@example.com";

async fn post_as(
    app: &TestApp,
    token: &str,
    uri: &str,
    body: Value,
) -> axum::http::Response<axum::body::Body> {
    app.call_as(Some(token), "POST", uri, Some(body.to_string()))
        .await
}

#[tokio::test]
async fn a_request_is_due_by_the_rules_merged_when_asked_twice_and_moved_on_with_reasons() {
    let app = spawn_app().await;
    let customer = app
        .create(json!({ "account_name.full_name": "Lý Chiêu Hoàng", "account_email.email": EMAIL }))
        .await;
    let token = app.customer_session(EMAIL).await;
    let dpo = app.staff("dpo").await;

    // Received on Thursday 2026-01-01 (07:00 in Hà Nội): acknowledged within 2 working
    // days, completed within 10.
    let response = post_as(
        &app,
        &token,
        "/v1/account/requests",
        json!({ "kind": "access", "details": "Tôi muốn xem mọi dữ liệu về mình." }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let asked = body_json(response).await;
    // Acknowledged on receipt, and a code to verify it went to the email on file.
    assert_eq!(asked["state"], "acknowledged");
    assert_eq!(asked["verification"]["channel"], "email");
    assert_eq!(asked["channel"], "privacy_centre");
    assert_eq!(asked["acknowledge_by"], "2026-01-05");
    assert_eq!(asked["complete_by"], "2026-01-15");
    assert_eq!(asked["overdue"], false);
    let id = asked["id"].as_str().unwrap().to_owned();
    // The acknowledgement is emailed too, with the date it is due, in both languages.
    let told = app.notifier.notices();
    assert_eq!(told.len(), 1);
    assert!(told[0].text.contains("We received your request") && told[0].text.contains("đã nhận"));
    assert!(told[0].text.contains("2026-01-15"));

    // Asked again while open: the same request.
    let response = post_as(
        &app,
        &token,
        "/v1/account/requests",
        json!({ "kind": "access" }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let again = body_json(response).await;
    assert_eq!(again["merged"], true);
    assert_eq!(
        app.notifier.notices().len(),
        1,
        "a merged request is not acknowledged again"
    );
    assert_eq!(again["id"], id.as_str());
    // A customer does not claim a letter; an unknown kind is refused.
    let response = post_as(
        &app,
        &token,
        "/v1/account/requests",
        json!({ "kind": "deletion", "channel": "letter" }),
    )
    .await;
    assert_refused(response, 400, "invalid_body", Some("channel"), EMAIL).await;
    let response = post_as(
        &app,
        &token,
        "/v1/account/requests",
        json!({ "kind": "everything" }),
    )
    .await;
    assert_refused(response, 400, "invalid_body", Some("kind"), EMAIL).await;

    // A care agent enters a request only for a customer in their verified care session.
    let agent = app.staff("care_agent").await;
    let response = post_as(
        &app,
        &agent,
        &format!("/v1/customers/{customer}/requests"),
        json!({ "kind": "deletion", "channel": "phone" }),
    )
    .await;
    assert_refused(response, 403, "access_denied", Some("customer"), EMAIL).await;

    // The DPO moves it on: a verification says how the identity was checked; an extension
    // states its reason and stays within the limit.
    let moves = format!("/v1/requests/{id}/moves");
    let response = post_as(&app, &dpo, &moves, json!({ "to": "verified" })).await;
    assert_refused(response, 400, "invalid_body", Some("reason"), EMAIL).await;
    let response = post_as(
        &app,
        &dpo,
        &moves,
        json!({ "to": "verified", "reason": "Thư có chữ ký, đối chiếu với đơn hàng gần nhất" }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let verified = body_json(response).await;
    assert_eq!(verified["state"], "verified");
    // The customer is not told how they were checked: that is the trail's, not a reason.
    assert!(verified["reason"].is_null());
    let response = post_as(&app, &dpo, &moves, json!({ "to": "in_progress" })).await;
    assert_eq!(response.status(), 200);
    let response = post_as(
        &app,
        &dpo,
        &moves,
        json!({ "to": "extended", "complete_by": "2026-01-29" }),
    )
    .await;
    assert_refused(response, 400, "invalid_body", Some("reason"), EMAIL).await;
    let response = post_as(
        &app,
        &dpo,
        &moves,
        json!({ "to": "extended", "reason": "Đối tác vận chuyển phải trả lời", "complete_by": "2026-06-01" }),
    )
    .await;
    assert_refused(response, 400, "invalid_body", Some("complete_by"), EMAIL).await;
    let response = post_as(
        &app,
        &dpo,
        &moves,
        json!({ "to": "extended", "reason": "Đối tác vận chuyển phải trả lời", "complete_by": "2026-01-29" }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let extended = body_json(response).await;
    assert_eq!(extended["complete_by"], "2026-01-29");
    assert_eq!(extended["reason"], "Đối tác vận chuyển phải trả lời");
    // The customer is told by email: the new date and why, in both languages.
    let told = app.notifier.notices();
    let notice = told.last().unwrap();
    assert!(notice.to_masked.starts_with('l'), "to the email on file");
    assert!(notice.text.contains("2026-01-29") && notice.text.contains("Đối tác vận chuyển"));
    assert!(notice.text.contains("needs more time") && notice.text.contains("cần thêm thời gian"));
    assert!(!notice.subject.contains('@'));
    let response = post_as(
        &app,
        &dpo,
        &moves,
        json!({ "to": "verified", "reason": "again" }),
    )
    .await;
    assert_refused(
        response,
        409,
        "request_transition_not_allowed",
        Some("to"),
        EMAIL,
    )
    .await;
    assert_eq!(
        post_as(&app, &dpo, &moves, json!({ "to": "completed" }))
            .await
            .status(),
        200
    );

    let done = app.notifier.notices();
    let done = done.last().unwrap();
    assert!(done.text.contains("is complete") && done.text.contains("đã hoàn thành"));

    // The customer sees it done, with the reason they were told.
    let mine = body_json(
        app.call_as(Some(&token), "GET", "/v1/account/requests", None)
            .await,
    )
    .await;
    assert_eq!(mine["requests"][0]["state"], "completed");
    assert_eq!(
        mine["requests"][0]["reason"],
        "Đối tác vận chuyển phải trả lời"
    );

    // A deletion asked now and left alone is overdue once its 20 working days are past.
    let response = post_as(
        &app,
        &token,
        "/v1/account/requests",
        json!({ "kind": "deletion" }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let overdue = body_json(
        app.call_as(Some(&dpo), "GET", "/v1/requests/overdue", None)
            .await,
    )
    .await;
    assert!(overdue["requests"].as_array().unwrap().is_empty());
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 40));
    // Forty days on, every session has long expired: each signs in again.
    let dpo = app.sign_in("dpo@staff.example", STAFF_PASSWORD).await;
    let token = app.customer_session(EMAIL).await;
    let overdue = body_json(
        app.call_as(Some(&dpo), "GET", "/v1/requests/overdue", None)
            .await,
    )
    .await;
    assert_eq!(overdue["requests"][0]["kind"], "deletion");
    assert!(overdue["requests"][0]["days_left"].as_i64().unwrap() < 0);
    // Customers may not see the DPO's list.
    let response = app
        .call_as(Some(&token), "GET", "/v1/requests/overdue", None)
        .await;
    assert_refused(
        response,
        403,
        "operation_not_allowed",
        Some("operation"),
        EMAIL,
    )
    .await;
}
