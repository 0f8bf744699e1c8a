//! Who may call and about whom: tokens, purposes and customer ids are checked before the
//! vault is reached, refusals change nothing and repeat nothing sent (P3, P17).

use serde_json::json;

use crate::helpers::{SECRET, assert_refused, create, spawn_app};

#[tokio::test]
async fn an_unknown_or_missing_purpose_is_refused() {
    let app = spawn_app().await;
    let fields = json!({ "account_name.full_name": "An", "account_email.email": SECRET });
    let response = create(&app, "?purpose=marker-7f3a-purpose", fields.clone()).await;
    assert_refused(
        response,
        400,
        "unknown_purpose",
        Some("purpose"),
        "marker-7f3a",
    )
    .await;
    let response = create(&app, "", fields).await;
    assert_refused(response, 400, "unknown_purpose", Some("purpose"), SECRET).await;
    app.assert_nothing_written().await;
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused() {
    let app = spawn_app().await;
    let body = json!({ "fields": { "account_email.email": SECRET } }).to_string();
    let wrong = "marker-7f3a-wrong-token-0123456789abcdef";
    for token in [None, Some(wrong), Some("")] {
        let response = app
            .call_as(
                token,
                "POST",
                "/v1/customers?purpose=account",
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            crate::helpers::header(&response, "www-authenticate"),
            "Bearer"
        );
        assert_refused(response, 401, "unauthenticated", None, "marker-7f3a").await;
    }
    let response = app
        .call_as(
            None,
            "GET",
            "/v1/customers/cus_00000000000000000000000000000000?purpose=account",
            None,
        )
        .await;
    assert_refused(response, 401, "unauthenticated", None, SECRET).await;
    app.assert_nothing_written().await;
}

#[tokio::test]
async fn a_malformed_id_is_not_found_and_not_repeated() {
    let app = spawn_app().await;
    let raw = "marker-7f3a%40example.com";
    for (method, uri) in [
        ("GET", format!("/v1/customers/{raw}?purpose=account")),
        (
            "GET",
            format!("/v1/customers/{raw}/history?purpose=account"),
        ),
        ("DELETE", format!("/v1/customers/{raw}?purpose=account")),
    ] {
        let response = app.call(method, &uri, None).await;
        assert_refused(
            response,
            404,
            "customer_not_found",
            Some("id"),
            "marker-7f3a",
        )
        .await;
    }
    let response = app
        .call(
            "PATCH",
            &format!("/v1/customers/{raw}?purpose=account"),
            Some(json!({ "fields": { "account_email.email": SECRET } })),
        )
        .await;
    assert_refused(
        response,
        404,
        "customer_not_found",
        Some("id"),
        "marker-7f3a",
    )
    .await;
    app.assert_nothing_written().await;
}

#[tokio::test]
async fn an_unknown_id_is_not_found_and_the_attempt_audited() {
    let app = spawn_app().await;
    let id = "cus_00000000000000000000000000000000";
    let response = app
        .call("GET", &format!("/v1/customers/{id}?purpose=account"), None)
        .await;
    assert_refused(response, 404, "customer_not_found", Some("id"), SECRET).await;
    let audit = app.audit().await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].customer.as_deref(), Some(id));
    assert_eq!(audit[0].decision, custodian_core::audit::Decision::Denied);
}

#[tokio::test]
async fn an_erasure_for_an_undeclared_purpose_is_refused() {
    let app = spawn_app().await;
    let id = app
        .create(json!({ "account_name.full_name": "An", "account_email.email": "an@example.com" }))
        .await;
    let response = app
        .call(
            "DELETE",
            &format!("/v1/customers/{id}?purpose=marker-7f3a"),
            None,
        )
        .await;
    assert_refused(
        response,
        400,
        "unknown_purpose",
        Some("purpose"),
        "marker-7f3a",
    )
    .await;
    assert!(!app.key_store.key_versions().await.unwrap().is_empty());
}
