//! `GET /v1/access/explain`: what a principal would see of a customer, and why (P3, P14).

use serde_json::{Value, json};

use crate::helpers::{assert_refused, body_json, spawn_app};

fn outcome<'a>(explained: &'a Value, field: &str) -> &'a Value {
    explained["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == field)
        .unwrap_or_else(|| panic!("{field} not explained"))
}

#[tokio::test]
async fn explains_each_field_with_its_rule() {
    let app = spawn_app().await;
    let id = app
        .create(json!({ "account_name.full_name": "Đỗ Thu Hà", "account_email.email": "ha@example.com" }))
        .await;
    let uri = format!(
        "/v1/access/explain?purpose=customer_care&role=care_agent&customer={id}&care_session=true"
    );
    let response = app.call("GET", &uri, None).await;
    assert_eq!(response.status(), 200);
    let explained = body_json(response).await;
    assert_eq!(explained["principal"], "staff:explain:care_agent");
    assert_eq!(explained["refusal"], Value::Null);
    let email = outcome(&explained, "account_email.email");
    assert_eq!(email["outcome"], "masked");
    assert!(email["rule"].as_str().unwrap().contains("masked"));
    assert_eq!(
        outcome(&explained, "account_name.full_name")["outcome"],
        "clear"
    );
    let dob = outcome(&explained, "account_birth_date.date_of_birth");
    assert_eq!(dob["outcome"], "withheld");
    assert_eq!(dob["reason"], "not_for_purpose");
    // Never a value: the explanation is about rules.
    assert!(!explained.to_string().contains("ha@example.com"));

    // Without a care session, nothing.
    let uri = format!("/v1/access/explain?purpose=customer_care&role=care_agent&customer={id}");
    let explained = body_json(app.call("GET", &uri, None).await).await;
    assert_eq!(explained["refusal"], "no_care_session");
    assert_eq!(
        outcome(&explained, "account_name.full_name")["reason"],
        "no_care_session"
    );
}

#[tokio::test]
async fn explain_refuses_what_it_cannot_answer() {
    let app = spawn_app().await;
    for (query, field) in [
        ("purpose=customer_care&role=no_such_role", "role"),
        ("purpose=customer_care", "role"),
        (
            "purpose=customer_care&role=dpo&integration=storefront",
            "role",
        ),
        ("purpose=customer_care&integration=nobody", "integration"),
        (
            "purpose=customer_care&role=dpo&customer=cus_nope",
            "customer",
        ),
        (
            "purpose=customer_care&role=dpo&care_session=perhaps",
            "query",
        ),
        ("purpose=customer_care&role=dpo&colour=blue", "query"),
    ] {
        let response = app
            .call("GET", &format!("/v1/access/explain?{query}"), None)
            .await;
        assert_refused(response, 400, "invalid_parameter", Some(field), "nope").await;
    }
    let response = app
        .call("GET", "/v1/access/explain?purpose=nothing&role=dpo", None)
        .await;
    assert_refused(response, 400, "unknown_purpose", Some("purpose"), "dpo").await;
}

#[tokio::test]
async fn explains_an_issued_token_within_its_scope() {
    let app = spawn_app().await;
    let scope = app
        .identity
        .scope_from_names(&["customers.read"], Some(&["account"]), &[])
        .unwrap();
    app.identity.issue_token("pbx", &scope).await.unwrap();
    let explained = body_json(
        app.call(
            "GET",
            "/v1/access/explain?purpose=account&integration=pbx",
            None,
        )
        .await,
    )
    .await;
    assert_eq!(explained["principal"], "integration:pbx");
    assert_eq!(
        outcome(&explained, "account_name.full_name")["outcome"],
        "clear"
    );
    let explained = body_json(
        app.call(
            "GET",
            "/v1/access/explain?purpose=customer_care&integration=pbx",
            None,
        )
        .await,
    )
    .await;
    assert_eq!(explained["refusal"], "purpose_not_allowed");
}
