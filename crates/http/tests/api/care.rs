//! Care sessions and customers' own sessions over HTTP.

use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestApp, assert_error, assert_refused, body_json, spawn_app};

const EMAIL: &str = "le.van.tam@example.com";

async fn post(
    app: &TestApp,
    token: Option<&str>,
    uri: &str,
    body: Value,
) -> axum::response::Response {
    app.call_as(token, "POST", uri, Some(body.to_string()))
        .await
}

async fn customer(app: &TestApp) -> String {
    app.create(json!({ "account_name.full_name": "Lê Văn Tâm", "account_email.email": EMAIL }))
        .await
}

#[tokio::test]
async fn a_care_agent_sees_the_customer_after_the_customer_reads_back_the_code() {
    let app = spawn_app().await;
    let id = customer(&app).await;
    let agent = app.staff("care_agent").await;
    let read = format!("/v1/customers/{id}?purpose=customer_care");

    let opened = post(
        &app,
        Some(&agent),
        "/v1/care-sessions",
        json!({ "customer": id, "channel": "email" }),
    )
    .await;
    assert_eq!(opened.status(), 201);
    let opened = body_json(opened).await;
    assert_eq!(opened["channel"], "email");
    assert!(
        !opened.to_string().contains(EMAIL),
        "the agent never sees the contact"
    );
    let session = opened["id"].as_str().unwrap().to_owned();
    assert!(
        app.notifier
            .with_sent(|sent| sent.len() == 1 && sent[0].sent_to(EMAIL))
    );

    // Before verification: nothing.
    let view = body_json(app.call_as(Some(&agent), "GET", &read, None).await).await;
    assert_eq!(
        view["fields"]["account_name.full_name"]["withheld"],
        "no_care_session"
    );

    let verify = format!("/v1/care-sessions/{session}/verify");
    let response = post(&app, Some(&agent), &verify, json!({ "code": "000000x" })).await;
    assert_refused(response, 400, "invalid_code", Some("code"), "000000x").await;
    let code = app.notifier.last_code().unwrap().to_string();
    let response = post(&app, Some(&agent), &verify, json!({ "code": code })).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(response).await["customer"], id.as_str());

    // Verified: the name in the clear, the email masked.
    let view = body_json(app.call_as(Some(&agent), "GET", &read, None).await).await;
    assert_eq!(
        view["fields"]["account_name.full_name"]["value"],
        "Lê Văn Tâm"
    );
    assert_eq!(
        view["fields"]["account_email.email"]["masked"],
        "l***@example.com"
    );

    // Another agent has no session of their own.
    let other = {
        app.identity
            .create_user(
                "other@staff.example",
                "care_agent",
                crate::helpers::STAFF_PASSWORD,
            )
            .await
            .unwrap();
        app.sign_in("other@staff.example", crate::helpers::STAFF_PASSWORD)
            .await
    };
    let view = body_json(app.call_as(Some(&other), "GET", &read, None).await).await;
    assert_eq!(
        view["fields"]["account_name.full_name"]["withheld"],
        "no_care_session"
    );
    let uri = format!("/v1/care-sessions/{session}");
    let response = app.call_as(Some(&other), "DELETE", &uri, None).await;
    assert_error(response, 404, "care_session_not_found").await;

    // Closed: nothing again.
    let response = app.call_as(Some(&agent), "DELETE", &uri, None).await;
    assert_eq!(response.status(), 204);
    let view = body_json(app.call_as(Some(&agent), "GET", &read, None).await).await;
    assert_eq!(
        view["fields"]["account_name.full_name"]["withheld"],
        "no_care_session"
    );
}

#[tokio::test]
async fn only_care_agents_open_care_sessions_and_bad_requests_are_refused() {
    let app = spawn_app().await;
    let id = customer(&app).await;
    let dpo = app.staff("dpo").await;
    for token in [dpo.as_str(), TOKEN] {
        let response = post(
            &app,
            Some(token),
            "/v1/care-sessions",
            json!({ "customer": id, "channel": "email" }),
        )
        .await;
        assert_error(response, 403, "operation_not_allowed").await;
    }
    let agent = app.staff("care_agent").await;
    let response = post(
        &app,
        Some(&agent),
        "/v1/care-sessions",
        json!({ "customer": id, "channel": "phone" }),
    )
    .await;
    assert_error(response, 400, "no_contact_on_file").await;
    let response = post(
        &app,
        Some(&agent),
        "/v1/care-sessions",
        json!({ "customer": id, "channel": "pigeon" }),
    )
    .await;
    assert_refused(
        response,
        400,
        "invalid_parameter",
        Some("channel"),
        "pigeon",
    )
    .await;
    let response = post(
        &app,
        Some(&agent),
        "/v1/care-sessions",
        json!({ "customer": "cus_nope", "channel": "email" }),
    )
    .await;
    assert_refused(response, 400, "invalid_parameter", Some("customer"), "nope").await;
    assert_eq!(app.notifier.count(), 0);
}

#[tokio::test]
async fn a_customer_signs_in_with_a_code_and_sees_only_themselves() {
    let app = spawn_app().await;
    let id = customer(&app).await;
    let other = app
        .create(json!({ "account_name.full_name": "Người Khác", "account_email.email": "khac@example.com" }))
        .await;

    // Unknown or known, the same answer; only a customer's email gets a code.
    let response = post(
        &app,
        None,
        "/v1/customer-sessions/code",
        json!({ "email": "nobody@example.com" }),
    )
    .await;
    assert_eq!(response.status(), 202);
    assert_eq!(app.notifier.count(), 0);
    let response = post(
        &app,
        None,
        "/v1/customer-sessions/code",
        json!({ "email": EMAIL, "lang": "en" }),
    )
    .await;
    assert_eq!(response.status(), 202);
    let code = app.notifier.last_code().unwrap().to_string();

    let response = post(
        &app,
        None,
        "/v1/customer-sessions",
        json!({ "email": EMAIL, "code": "999999" }),
    )
    .await;
    assert_refused(response, 401, "invalid_credentials", None, EMAIL).await;
    let response = post(
        &app,
        None,
        "/v1/customer-sessions",
        json!({ "email": EMAIL, "code": code }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let signed_in = body_json(response).await;
    assert_eq!(signed_in["customer"], id.as_str());
    let token = signed_in["token"].as_str().unwrap().to_owned();

    // Their own record, in full, whatever the purpose.
    let response = app
        .call_as(
            Some(&token),
            "GET",
            &format!("/v1/customers/{id}?purpose=account"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let view = body_json(response).await;
    assert_eq!(view["fields"]["account_email.email"]["value"], EMAIL);
    // Someone else's: as if it did not exist.
    let response = app
        .call_as(
            Some(&token),
            "GET",
            &format!("/v1/customers/{other}?purpose=account"),
            None,
        )
        .await;
    assert_refused(response, 404, "customer_not_found", Some("id"), "khac@").await;
    // Nothing but reading.
    let response = app
        .call_as(
            Some(&token),
            "DELETE",
            &format!("/v1/customers/{id}?purpose=account"),
            None,
        )
        .await;
    assert_error(response, 403, "operation_not_allowed").await;
    let response = app.call_as(Some(&token), "GET", "/v1/me", None).await;
    assert_error(response, 403, "operation_not_allowed").await;

    // A password for next time, then sign out.
    let response = post(
        &app,
        Some(&token),
        "/v1/account/password",
        json!({ "password": "short" }),
    )
    .await;
    assert_error(response, 400, "weak_password").await;
    let password = "a long passphrase of my own";
    let response = post(
        &app,
        Some(&token),
        "/v1/account/password",
        json!({ "password": password }),
    )
    .await;
    assert_eq!(response.status(), 204);
    let response = app
        .call_as(
            Some(&token),
            "DELETE",
            "/v1/customer-sessions/current",
            None,
        )
        .await;
    assert_eq!(response.status(), 204);
    let response = app
        .call_as(
            Some(&token),
            "GET",
            &format!("/v1/customers/{id}?purpose=account"),
            None,
        )
        .await;
    assert_error(response, 401, "unauthenticated").await;
    let response = post(
        &app,
        None,
        "/v1/customer-sessions",
        json!({ "email": EMAIL, "password": password }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let response = post(
        &app,
        None,
        "/v1/customer-sessions",
        json!({ "email": EMAIL }),
    )
    .await;
    assert_error(response, 400, "invalid_body").await;
}
