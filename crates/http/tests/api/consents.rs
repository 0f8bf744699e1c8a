//! Consents over HTTP: a customer's own choices with the request as evidence, choices relayed
//! or collected on a customer's behalf, Global Privacy Control, receipts.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_refused, body_json, header, spawn_app};

const EMAIL: &str = "dinh.bo.linh@example.com";

async fn customer(app: &TestApp) -> String {
    app.create(json!({
        "account_name.full_name": "Đinh Bộ Lĩnh",
        "account_email.email": EMAIL,
    }))
    .await
}

/// A request in the customer's own session, with extra headers.
async fn as_customer(
    app: &TestApp,
    token: &str,
    method: &str,
    uri: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> axum::http::Response<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = match body {
        Some(b) => {
            request = request.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    app.send(request.body(body).unwrap()).await
}

fn choices(version: &str, choices: Value) -> Value {
    json!({ "notice_version": version, "channel": "web_form", "choices": choices })
}

fn state_of(consents: &Value, purpose: &str) -> String {
    consents["consents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["purpose"] == purpose)
        .unwrap()["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_customer_grants_one_purpose_and_gets_a_receipt_citing_the_notice_shown() {
    let app = spawn_app().await;
    let _id = customer(&app).await;
    let token = app.customer_session(EMAIL).await;
    let version = app.version.version.clone();

    let response = as_customer(&app, &token, "GET", "/v1/account/consents", None, &[]).await;
    assert_eq!(response.status(), 200);
    let before = body_json(response).await;
    for c in before["consents"].as_array().unwrap() {
        assert_eq!(c["state"], "not_asked", "silence is not consent: {c}");
    }

    let response = as_customer(
        &app,
        &token,
        "POST",
        "/v1/account/consents",
        Some(choices(
            &version,
            json!([{ "purpose": "analytics", "state": "granted" }]),
        )),
        &[(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0",
        )],
    )
    .await;
    assert_eq!(response.status(), 200);
    let recorded = body_json(response).await;
    let change = &recorded["changes"][0];
    assert_eq!(change["purpose"], "analytics");
    assert_eq!(change["state"], "granted");
    let receipt_uri = change["receipt"].as_str().unwrap().to_owned();
    assert!(receipt_uri.starts_with("/v1/account/consents/receipts/cnr_"));

    let after =
        body_json(as_customer(&app, &token, "GET", "/v1/account/consents", None, &[]).await).await;
    assert_eq!(state_of(&after, "analytics"), "granted");
    for unbundled in ["third_party_analytics", "personalised_ads", "marketing"] {
        assert_eq!(state_of(&after, unbundled), "not_asked", "{unbundled}");
    }

    let history = body_json(
        as_customer(
            &app,
            &token,
            "GET",
            "/v1/account/consents/history",
            None,
            &[],
        )
        .await,
    )
    .await;
    let entry = &history["history"][0];
    assert_eq!(entry["channel"], "web_form");
    assert_eq!(entry["given_by"], "customer");
    assert_eq!(entry["notice_version"], version.as_str());
    assert_eq!(
        entry["evidence"]["user_agent"],
        "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0"
    );

    let response = as_customer(
        &app,
        &token,
        "GET",
        &format!("{receipt_uri}?lang=en"),
        None,
        &[],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-disposition").starts_with("attachment;"));
    let receipt = body_json(response).await;
    crate::kantara::assert_kantara_receipt(&receipt);
    assert_eq!(receipt["version"], "KI-CR-v1.1.0");
    assert_eq!(receipt["jurisdiction"], "VN");
    assert_eq!(receipt["collectionMethod"], "web_form");
    assert_eq!(receipt["language"], "en");
    assert_eq!(receipt["x-custodian"]["noticeVersion"], version.as_str());
    assert_eq!(receipt["x-custodian"]["state"], "granted");
    assert!(
        receipt["policyUrl"]
            .as_str()
            .unwrap()
            .contains(&app.version.content_hash)
    );
    assert_eq!(receipt["sensitive"], true, "viewing history is sensitive");
}

#[tokio::test]
async fn a_customer_may_not_claim_a_channel_that_is_not_theirs_nor_an_unpublished_notice() {
    let app = spawn_app().await;
    let _id = customer(&app).await;
    let token = app.customer_session(EMAIL).await;
    let version = app.version.version.clone();
    let mut body = choices(
        &version,
        json!([{ "purpose": "analytics", "state": "granted" }]),
    );
    body["channel"] = json!("recorded_call");
    let response = as_customer(
        &app,
        &token,
        "POST",
        "/v1/account/consents",
        Some(body),
        &[],
    )
    .await;
    assert_refused(response, 400, "invalid_body", Some("channel"), EMAIL).await;

    let body = choices(
        "1999.1",
        json!([{ "purpose": "analytics", "state": "granted" }]),
    );
    let response = as_customer(
        &app,
        &token,
        "POST",
        "/v1/account/consents",
        Some(body),
        &[],
    )
    .await;
    assert_refused(
        response,
        400,
        "unknown_notice_version",
        Some("notice_version"),
        EMAIL,
    )
    .await;

    let body = choices(
        &version,
        json!([{ "purpose": "order_fulfilment", "state": "granted" }]),
    );
    let response = as_customer(
        &app,
        &token,
        "POST",
        "/v1/account/consents",
        Some(body),
        &[],
    )
    .await;
    assert_refused(
        response,
        400,
        "consent_not_applicable",
        Some("choices[0].purpose"),
        EMAIL,
    )
    .await;

    let history = body_json(
        as_customer(
            &app,
            &token,
            "GET",
            "/v1/account/consents/history",
            None,
            &[],
        )
        .await,
    )
    .await;
    assert!(
        history["history"].as_array().unwrap().is_empty(),
        "nothing recorded"
    );
}

#[tokio::test]
async fn gpc_withdraws_third_party_sharing_granted_without_it_and_tells_the_partners() {
    let app = spawn_app().await;
    let id = customer(&app).await;
    let token = app.customer_session(EMAIL).await;
    let version = app.version.version.clone();
    let grant = choices(
        &version,
        json!([
            { "purpose": "personalised_ads", "state": "granted" },
            { "purpose": "third_party_analytics", "state": "granted" },
            { "purpose": "marketing", "state": "granted",
              "options": { "marketing_preferences.channels": ["email"], "marketing_preferences.frequency": "monthly" } },
        ]),
    );
    let response = as_customer(
        &app,
        &token,
        "POST",
        "/v1/account/consents",
        Some(grant),
        &[],
    )
    .await;
    assert_eq!(response.status(), 200);

    // A later visit with the browser's GPC signal and no explicit choice.
    let response = as_customer(
        &app,
        &token,
        "POST",
        "/v1/account/consents",
        Some(choices(&version, json!([]))),
        &[("sec-gpc", "1")],
    )
    .await;
    assert_eq!(response.status(), 200);
    let recorded = body_json(response).await;
    let withdrawn: Vec<&str> = recorded["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(withdrawn, ["personalised_ads", "third_party_analytics"]);

    let now =
        body_json(as_customer(&app, &token, "GET", "/v1/account/consents", None, &[]).await).await;
    assert_eq!(state_of(&now, "personalised_ads"), "denied");
    assert_eq!(state_of(&now, "third_party_analytics"), "denied");
    assert_eq!(
        state_of(&now, "marketing"),
        "granted",
        "GPC is not about our own offers"
    );

    let history = body_json(
        as_customer(
            &app,
            &token,
            "GET",
            "/v1/account/consents/history",
            None,
            &[],
        )
        .await,
    )
    .await;
    let last = history["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["channel"], "gpc_signal");
    assert_eq!(last["gpc"], true);

    let notices = body_json(
        app.call("GET", &format!("/v1/customers/{id}/outbox"), None)
            .await,
    )
    .await;
    let sent: Vec<(&str, &str)> = notices["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            assert_eq!(n["status"], "pending");
            assert!(n.get("payload").is_none(), "never the payload");
            (n["kind"].as_str().unwrap(), n["partner"].as_str().unwrap())
        })
        .collect();
    // The grant put the customer on the ad network's audience (hashed identifiers only);
    // the GPC signal then told both partners of the withdrawal.
    assert_eq!(
        sent,
        [
            ("audience.add", "ad_network"),
            ("consent.withdrawn", "ad_network"),
            ("consent.withdrawn", "google_analytics"),
        ]
    );
    let audience = &notices["messages"][0];
    assert_eq!(audience["fields"], json!(["account_email.email"]));

    // An explicit choice made while GPC is on wins over the signal afterwards.
    let regrant = choices(
        &version,
        json!([{ "purpose": "personalised_ads", "state": "granted" }]),
    );
    let response = as_customer(
        &app,
        &token,
        "POST",
        "/v1/account/consents",
        Some(regrant),
        &[("sec-gpc", "1")],
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = as_customer(
        &app,
        &token,
        "POST",
        "/v1/account/consents",
        Some(choices(&version, json!([]))),
        &[("sec-gpc", "1")],
    )
    .await;
    assert!(
        body_json(response).await["changes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // `Sec-GPC` other than exactly "1" is no signal.
    let now = body_json(
        as_customer(
            &app,
            &token,
            "GET",
            "/v1/account/consents",
            None,
            &[("sec-gpc", "true")],
        )
        .await,
    )
    .await;
    assert_eq!(state_of(&now, "personalised_ads"), "granted");
}

#[tokio::test]
async fn gpc_on_two_header_lines_zero_then_one_is_the_signal() {
    let app = spawn_app().await;
    let _id = customer(&app).await;
    let token = app.customer_session(EMAIL).await;
    let version = app.version.version.clone();
    let grant = choices(
        &version,
        json!([{ "purpose": "personalised_ads", "state": "granted" }]),
    );
    let response = as_customer(
        &app,
        &token,
        "POST",
        "/v1/account/consents",
        Some(grant),
        &[],
    )
    .await;
    assert_eq!(response.status(), 200);
    // Two `Sec-GPC` lines, `0` first: the `1` is the signal (a first `0` does not win).
    let response = as_customer(
        &app,
        &token,
        "POST",
        "/v1/account/consents",
        Some(choices(&version, json!([]))),
        &[("sec-gpc", "0"), ("sec-gpc", "1")],
    )
    .await;
    assert_eq!(response.status(), 200);
    let recorded = body_json(response).await;
    assert_eq!(recorded["changes"][0]["purpose"], "personalised_ads");
    let now =
        body_json(as_customer(&app, &token, "GET", "/v1/account/consents", None, &[]).await).await;
    assert_eq!(state_of(&now, "personalised_ads"), "denied");
}

#[tokio::test]
async fn the_storefront_relays_a_browser_choice_with_its_evidence() {
    let app = spawn_app().await;
    let id = customer(&app).await;
    let version = app.version.version.clone();
    let body = json!({
        "notice_version": version,
        "channel": "app",
        "choices": [{ "purpose": "third_party_analytics", "state": "granted" }],
        "client": { "user_agent": "HtpmartApp/3.2 (Android 15)", "ip": "203.0.113.77" },
    });
    let response = app
        .call("POST", &format!("/v1/customers/{id}/consents"), Some(body))
        .await;
    assert_eq!(response.status(), 200);
    let history = body_json(
        app.call("GET", &format!("/v1/customers/{id}/consents/history"), None)
            .await,
    )
    .await;
    let entry = &history["history"][0];
    assert_eq!(entry["channel"], "app");
    assert_eq!(entry["recorded_by"], "integration:storefront");
    assert_eq!(entry["evidence"]["truncated_ip"], "203.0.113.0");
    assert_eq!(
        entry["evidence"]["user_agent"],
        "HtpmartApp/3.2 (Android 15)"
    );
    let receipt_uri = format!(
        "/v1/customers/{id}/consents/receipts/{}",
        entry["id"].as_str().unwrap()
    );
    let response = app.call("GET", &receipt_uri, None).await;
    assert_eq!(response.status(), 200);
    let receipt = body_json(response).await;
    crate::kantara::assert_kantara_receipt(&receipt);
    assert_eq!(receipt["consentReceiptID"], entry["id"]);
    assert_eq!(receipt["piiPrincipalId"], id.as_str());
    assert_eq!(
        receipt["services"][0]["purposes"][0]["thirdPartyName"],
        "Google Analytics (Google LLC)"
    );

    let response = app
        .call(
            "GET",
            &format!("/v1/customers/{id}/consents/receipts/cnr_0123456789abcdef0123456789abcdef"),
            None,
        )
        .await;
    assert_refused(response, 404, "consent_not_found", Some("id"), EMAIL).await;
}

#[tokio::test]
async fn a_care_agent_records_a_consent_said_on_a_recorded_call_only_in_a_verified_session() {
    let app = spawn_app().await;
    let id = customer(&app).await;
    let agent = app.staff("care_agent").await;
    let version = app.version.version.clone();
    let body = json!({
        "notice_version": version,
        "channel": "recorded_call",
        "recording_id": "rec-2026-11-30-0042",
        "choices": [{ "purpose": "care_quality", "state": "granted" }],
    });
    let response = app
        .call_as(
            Some(&agent),
            "POST",
            &format!("/v1/customers/{id}/consents"),
            Some(body.to_string()),
        )
        .await;
    let error = assert_refused(response, 403, "access_denied", Some("customer"), EMAIL).await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no_care_session")
    );

    // A marketing member may not record consents at all.
    let marketer = app.staff("marketing").await;
    let response = app
        .call_as(
            Some(&marketer),
            "POST",
            &format!("/v1/customers/{id}/consents"),
            Some(body.to_string()),
        )
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
