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

    let request = json!({
        "authority": "tax_authority",
        "reference": "Quyết định thanh tra số 123/QĐ-CT ngày 2026-11-20",
        "customers": [customer],
        "categories": ["account_name", "account_email"],
        "notify": false,
        "silence_until": "2027-06-01T00:00:00Z",
    });
    let response = post_as(&app, &dpo, "/v1/legal-requests", Some(request.clone())).await;
    assert_eq!(response.status(), 201);
    let recorded = body_json(response).await;
    assert_eq!(recorded["status"], "requested");
    let id = recorded["id"].as_str().unwrap().to_owned();

    // An undeclared authority is refused; nothing is released before approval.
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
