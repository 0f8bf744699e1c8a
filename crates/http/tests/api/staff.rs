//! Staff sign-in, sessions, self-service and the administration of accounts and tokens.

use custodian_crypto::TotpSecret;
use serde_json::{Value, json};

use crate::helpers::{
    STAFF_PASSWORD, TestApp, assert_error, assert_refused, body_json, header, spawn_app,
};

async fn post(
    app: &TestApp,
    token: Option<&str>,
    uri: &str,
    body: Value,
) -> axum::response::Response {
    app.call_as(token, "POST", uri, Some(body.to_string()))
        .await
}

#[tokio::test]
async fn the_first_administrator_must_change_the_one_time_password_first() {
    let app = spawn_app().await;
    let first = app.identity.bootstrap_admin().await.unwrap().unwrap();
    assert!(
        app.identity.bootstrap_admin().await.unwrap().is_none(),
        "only once"
    );
    let one_time = first.password.to_string();
    let token = app.sign_in(first.login, &one_time).await;

    for (method, uri) in [("GET", "/v1/users"), ("GET", "/v1/tokens")] {
        let response = app.call_as(Some(&token), method, uri, None).await;
        assert_error(response, 403, "password_change_required").await;
    }
    let me = body_json(app.call_as(Some(&token), "GET", "/v1/me", None).await).await;
    assert_eq!(me["must_change_password"], true);
    assert_eq!(me["role"], "admin");

    let change = json!({ "current_password": one_time, "new_password": STAFF_PASSWORD });
    let response = post(&app, Some(&token), "/v1/me/password", change).await;
    assert_eq!(response.status(), 204);
    let response = app.call_as(Some(&token), "GET", "/v1/users", None).await;
    assert_eq!(response.status(), 200);
    let users = body_json(response).await;
    assert_eq!(users["items"].as_array().unwrap().len(), 1);
    assert_eq!(users["items"][0]["login"], "admin");
    assert!(
        !users.to_string().contains("argon2"),
        "no hash listed: {users}"
    );
}

#[tokio::test]
async fn wrong_credentials_lock_the_account_and_say_nothing_more() {
    let app = spawn_app().await;
    app.identity
        .create_user("an@staff.example", "care_agent", STAFF_PASSWORD)
        .await
        .unwrap();
    let wrong = "marker-7f3a-wrong-password";
    for _ in 0..5 {
        let body = json!({ "login": "an@staff.example", "password": wrong });
        let response = post(&app, None, "/v1/sessions", body).await;
        assert_refused(response, 401, "invalid_credentials", None, wrong).await;
    }
    // Locked: even the right password is refused the same way.
    let body = json!({ "login": "an@staff.example", "password": STAFF_PASSWORD });
    let response = post(&app, None, "/v1/sessions", body).await;
    assert_refused(response, 401, "invalid_credentials", None, "staff.example").await;
    // An unknown login is answered exactly as a wrong password.
    let body = json!({ "login": "nobody@staff.example", "password": wrong });
    let response = post(&app, None, "/v1/sessions", body).await;
    assert_refused(response, 401, "invalid_credentials", None, wrong).await;
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited() {
    let app = spawn_app().await;
    let mut limited = None;
    for _ in 0..20 {
        let body = json!({ "login": "someone@staff.example", "password": "nope-nope-nope" });
        let response = post(&app, None, "/v1/sessions", body).await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), 401);
    }
    let response = limited.expect("rate limited within 20 attempts");
    assert!(header(&response, "retry-after").parse::<u64>().unwrap() >= 1);
    assert_error(response, 429, "rate_limited").await;
}

#[tokio::test]
async fn a_session_ends_at_sign_out() {
    let app = spawn_app().await;
    let token = app.staff("dpo").await;
    assert!(token.starts_with("css_"));
    assert_eq!(
        app.call_as(Some(&token), "GET", "/v1/me", None)
            .await
            .status(),
        200
    );
    let response = app
        .call_as(Some(&token), "DELETE", "/v1/sessions/current", None)
        .await;
    assert_eq!(response.status(), 204);
    let response = app.call_as(Some(&token), "GET", "/v1/me", None).await;
    assert_error(response, 401, "unauthenticated").await;
}

#[tokio::test]
async fn a_confirmed_authenticator_is_required_at_every_sign_in() {
    let app = spawn_app().await;
    let token = app.staff("admin").await;
    let response = app.call_as(Some(&token), "POST", "/v1/me/totp", None).await;
    assert_eq!(response.status(), 201);
    let enrolment = body_json(response).await;
    let secret = TotpSecret::from_base32(enrolment["secret"].as_str().unwrap()).unwrap();
    assert!(
        enrolment["provisioning_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    // The test clock stands still at 2026-01-01T00:00:00Z.
    let now = 1_767_225_600;
    let code = custodian_crypto::totp::code_at(&secret, now);
    let response = post(
        &app,
        Some(&token),
        "/v1/me/totp/confirm",
        json!({ "code": code }),
    )
    .await;
    assert_eq!(response.status(), 204);

    let login = json!({ "login": "admin@staff.example", "password": STAFF_PASSWORD });
    let response = post(&app, None, "/v1/sessions", login).await;
    assert_error(response, 401, "totp_required").await;
    // The confirming code was used; the next step's is good (±1 step of drift).
    let next = custodian_crypto::totp::code_at(&secret, now + 30);
    let login = json!({ "login": "admin@staff.example", "password": STAFF_PASSWORD, "totp": next });
    let response = post(&app, None, "/v1/sessions", login.clone()).await;
    assert_eq!(response.status(), 201);
    // And only once.
    let response = post(&app, None, "/v1/sessions", login).await;
    assert_error(response, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn only_administrators_manage_accounts_and_tokens() {
    let app = spawn_app().await;
    let agent = app.staff("care_agent").await;
    let new_user = json!({ "login": "x@staff.example", "role": "dpo", "password": STAFF_PASSWORD });
    let response = post(&app, Some(&agent), "/v1/users", new_user.clone()).await;
    assert_refused(
        response,
        403,
        "operation_not_allowed",
        Some("operation"),
        STAFF_PASSWORD,
    )
    .await;
    // Integrations never administer, whatever their token.
    let response = post(
        &app,
        Some(crate::helpers::TOKEN),
        "/v1/users",
        new_user.clone(),
    )
    .await;
    assert_refused(
        response,
        403,
        "operation_not_allowed",
        Some("operation"),
        STAFF_PASSWORD,
    )
    .await;
    let response = app
        .call_as(Some(crate::helpers::TOKEN), "GET", "/v1/tokens", None)
        .await;
    assert_error(response, 403, "operation_not_allowed").await;

    let admin = app.staff("admin").await;
    let response = post(&app, Some(&admin), "/v1/users", new_user).await;
    assert_eq!(response.status(), 201);
    let id = body_json(response).await["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("usr_"));
    // The administrator knows that password: it is good for one sign-in, then the member
    // chooses their own before doing anything else.
    let member = app.sign_in("x@staff.example", STAFF_PASSWORD).await;
    let response = app
        .call_as(
            Some(&member),
            "GET",
            "/v1/access/explain?purpose=account",
            None,
        )
        .await;
    assert_error(response, 403, "password_change_required").await;
    let me = body_json(app.call_as(Some(&member), "GET", "/v1/me", None).await).await;
    assert_eq!(me["must_change_password"], true);
    let own = "a member's own passphrase 2026";
    let change = json!({ "current_password": STAFF_PASSWORD, "new_password": own });
    let response = post(&app, Some(&member), "/v1/me/password", change).await;
    assert_eq!(response.status(), 204);
    let me = body_json(app.call_as(Some(&member), "GET", "/v1/me", None).await).await;
    assert_eq!(me["must_change_password"], false);
    let weak = json!({ "login": "y@staff.example", "role": "dpo", "password": "short" });
    let response = post(&app, Some(&admin), "/v1/users", weak).await;
    assert_refused(response, 400, "weak_password", Some("password"), "short\"").await;
    let unknown =
        json!({ "login": "z@staff.example", "role": "janitor", "password": STAFF_PASSWORD });
    let response = post(&app, Some(&admin), "/v1/users", unknown).await;
    assert_error(response, 400, "role_unknown").await;
    let response = app
        .call_as(
            Some(&admin),
            "PATCH",
            &format!("/v1/users/{id}"),
            Some(json!({ "role": "care_agent" }).to_string()),
        )
        .await;
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn an_issued_token_acts_within_its_scope_until_revoked() {
    let app = spawn_app().await;
    let id = app
        .create(json!({ "account_name.full_name": "Vũ Minh Châu", "account_email.email": "chau@example.com" }))
        .await;
    let admin = app.staff("admin").await;
    let scope = json!({ "name": "pbx", "operations": ["customers.read"], "purposes": ["account"] });
    let response = post(&app, Some(&admin), "/v1/tokens", scope).await;
    assert_eq!(response.status(), 201);
    let issued = body_json(response).await;
    let token = issued["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("cst_"));

    let read = |purpose: &str| format!("/v1/customers/{id}?purpose={purpose}");
    let response = app
        .call_as(Some(&token), "GET", &read("account"), None)
        .await;
    assert_eq!(response.status(), 200);
    let view = body_json(response).await;
    assert_eq!(
        view["fields"]["account_email.email"]["value"],
        "chau@example.com"
    );
    // Outside its purposes: nothing released.
    let view = body_json(
        app.call_as(Some(&token), "GET", &read("customer_care"), None)
            .await,
    )
    .await;
    assert_eq!(
        view["fields"]["account_email.email"]["withheld"],
        "purpose_not_allowed"
    );
    // Outside its operations: refused.
    let body = json!({ "fields": { "account_name.full_name": "X" } }).to_string();
    let response = app
        .call_as(Some(&token), "PATCH", &read("account"), Some(body))
        .await;
    assert_error(response, 403, "operation_not_allowed").await;

    // Listed without the token, with its last use.
    let listed = body_json(app.call_as(Some(&admin), "GET", "/v1/tokens", None).await).await;
    assert!(!listed.to_string().contains(&token));
    assert_eq!(listed["items"][0]["name"], "pbx");
    assert!(listed["items"][0]["last_used_at"].is_string(), "{listed}");

    // Administration is never in an integration's scope.
    let greedy = json!({ "name": "greedy", "operations": ["users.manage"] });
    let response = post(&app, Some(&admin), "/v1/tokens", greedy).await;
    assert_error(response, 400, "invalid_scope").await;

    let token_id = issued["id"].as_str().unwrap();
    let uri = format!("/v1/tokens/{token_id}");
    let response = app.call_as(Some(&admin), "DELETE", &uri, None).await;
    assert_eq!(response.status(), 204);
    let response = app
        .call_as(Some(&token), "GET", &read("account"), None)
        .await;
    assert_error(response, 401, "unauthenticated").await;
    let response = app.call_as(Some(&admin), "DELETE", &uri, None).await;
    assert_error(response, 404, "not_found").await;
}

#[tokio::test]
async fn a_care_agent_sees_nothing_outside_a_care_session() {
    let app = spawn_app().await;
    let id = app
        .create(json!({ "account_name.full_name": "Mai Anh", "account_email.email": "mai@example.com" }))
        .await;
    let agent = app.staff("care_agent").await;
    let uri = format!("/v1/customers/{id}?purpose=customer_care");
    let response = app.call_as(Some(&agent), "GET", &uri, None).await;
    assert_eq!(response.status(), 200);
    let view = body_json(response).await;
    assert_eq!(
        view["fields"]["account_name.full_name"]["withheld"],
        "no_care_session"
    );
    assert!(!view.to_string().contains("mai@example.com"));
    let audit = app.audit().await;
    assert!(
        audit
            .iter()
            .any(|e| e.actor.starts_with("staff:usr_") && e.actor.ends_with(":care_agent"))
    );
}
