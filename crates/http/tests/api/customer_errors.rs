//! Every refusal of the customers API: a stable code naming the field, nothing written, and
//! nothing the client sent repeated back (P2, P17).

use serde_json::json;

use crate::helpers::{SECRET, TOKEN, assert_refused, create, spawn_app};

#[tokio::test]
async fn an_undeclared_field_is_refused() {
    let app = spawn_app().await;
    let fields = json!({
        "account_name.full_name": SECRET,
        "account_email.email": SECRET,
        "account_name.nickname": SECRET,
    });
    let response = create(&app, "?purpose=account", fields).await;
    assert_refused(response, 400, "undeclared_field", Some("fields"), SECRET).await;
    app.assert_nothing_written().await;
}

#[tokio::test]
async fn a_declared_field_outside_the_profile_is_refused() {
    let app = spawn_app().await;
    let fields = json!({
        "account_name.full_name": "An",
        "account_email.email": SECRET,
        "order_recipient.recipient_name": SECRET,
    });
    let response = create(&app, "?purpose=account", fields).await;
    let field = Some("order_recipient.recipient_name");
    assert_refused(response, 400, "field_not_allowed", field, SECRET).await;
    app.assert_nothing_written().await;
}

#[tokio::test]
async fn a_malformed_value_is_refused() {
    let app = spawn_app().await;
    let bad = "not-an-email-marker-7f3a";
    let fields = json!({ "account_name.full_name": "An", "account_email.email": bad });
    let response = create(&app, "?purpose=account", fields).await;
    assert_refused(
        response,
        400,
        "invalid_field",
        Some("account_email.email"),
        bad,
    )
    .await;
    app.assert_nothing_written().await;
}

#[tokio::test]
async fn a_missing_required_field_is_refused() {
    let app = spawn_app().await;
    let response = create(
        &app,
        "?purpose=account",
        json!({ "account_email.email": SECRET }),
    )
    .await;
    assert_refused(
        response,
        400,
        "missing_field",
        Some("account_name.full_name"),
        SECRET,
    )
    .await;
    app.assert_nothing_written().await;
}

#[tokio::test]
async fn collecting_for_a_consent_purpose_without_consent_is_refused() {
    let app = spawn_app().await;
    let response = create(
        &app,
        "?purpose=marketing",
        json!({ "account_email.email": SECRET }),
    )
    .await;
    assert_refused(
        response,
        403,
        "consent_required",
        Some("account_email.email"),
        SECRET,
    )
    .await;
    app.assert_nothing_written().await;
}

#[tokio::test]
async fn a_malformed_body_is_refused_without_echoing_it() {
    let app = spawn_app().await;
    let bodies = [
        format!(r#"{{"fields": {{"account_email.email": "{SECRET}""#),
        format!(r#"{{"fields": ["{SECRET}"]}}"#),
        format!(r#"{{"fields": {{}}, "{SECRET}": 1}}"#),
        format!(r#""{SECRET}""#),
        String::new(),
    ];
    for body in bodies {
        let response = app
            .call_as(
                Some(TOKEN),
                "POST",
                "/v1/customers?purpose=account",
                Some(body),
            )
            .await;
        assert_refused(response, 400, "invalid_body", None, "marker-7f3a").await;
    }
    app.assert_nothing_written().await;
}

#[tokio::test]
async fn a_refused_correction_changes_nothing() {
    let app = spawn_app().await;
    let id = app
        .create(json!({ "account_name.full_name": "An", "account_email.email": "an@example.com" }))
        .await;
    let before = app.audit().await.len();
    let uri = format!("/v1/customers/{id}?purpose=account");
    for (fields, code, field) in [
        (
            json!({ "account_email.email": SECRET, "account_name.alias": SECRET }),
            "undeclared_field",
            "fields",
        ),
        (
            json!({ "account_email.email": "marker-7f3a-not-email" }),
            "invalid_field",
            "account_email.email",
        ),
    ] {
        let response = app
            .call("PATCH", &uri, Some(json!({ "fields": fields })))
            .await;
        assert_refused(response, 400, code, Some(field), "marker-7f3a").await;
    }
    assert_eq!(app.audit().await.len(), before);
    let response = app.call("GET", &uri, None).await;
    let view = crate::helpers::body_json(response).await;
    assert_eq!(
        view["fields"]["account_email.email"],
        json!({ "value": "an@example.com" })
    );
    let history = app
        .call(
            "GET",
            &format!("/v1/customers/{id}/history?purpose=account"),
            None,
        )
        .await;
    assert_eq!(
        crate::helpers::body_json(history).await["entries"],
        json!([])
    );
}

#[tokio::test]
async fn a_malformed_lookup_value_is_refused_without_echoing_it() {
    let app = spawn_app().await;
    let response = app
        .call(
            "POST",
            "/v1/customers/lookup?purpose=account",
            Some(json!({ "email": "marker-7f3a" })),
        )
        .await;
    assert_refused(
        response,
        400,
        "invalid_field",
        Some("account_email.email"),
        "marker-7f3a",
    )
    .await;
    app.assert_nothing_written().await;
}
