//! The customers API: every endpoint, and every refusal changing nothing (P1, P2, P3, P5, P17).

use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestApp, assert_refused, body_json, header, spawn_app};

const NAME: &str = "Nguyễn Văn An";
const EMAIL: &str = "An.Nguyen@Example.COM";
const PHONE: &str = "090 123 4567";

fn profile() -> Value {
    json!({
        "account_name.full_name": NAME,
        "account_email.email": format!("  {EMAIL} "),
        "account_phone.phone": PHONE,
    })
}

async fn read(app: &TestApp, id: &str, purpose: &str) -> Value {
    let response = app
        .call(
            "GET",
            &format!("/v1/customers/{id}?purpose={purpose}"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), "no-store");
    body_json(response).await
}

async fn lookup(app: &TestApp, by: Value) -> Vec<Value> {
    let response = app
        .call("POST", "/v1/customers/lookup?purpose=account", Some(by))
        .await;
    assert_eq!(response.status(), 200);
    body_json(response).await["customers"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_created_customer_reads_back_normalised() {
    let app = spawn_app().await;
    let response = app
        .call(
            "POST",
            "/v1/customers?purpose=account",
            Some(json!({ "fields": profile() })),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = header(&response, "location").to_owned();
    let id = body_json(response).await["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cus_") && id.len() == 36, "{id}");
    assert_eq!(location, format!("/v1/customers/{id}"));

    let view = read(&app, &id, "account").await;
    assert_eq!(view["id"], id.as_str());
    assert_eq!(view["purpose"], "account");
    let fields = &view["fields"];
    assert_eq!(fields["account_name.full_name"], json!({ "value": NAME }));
    assert_eq!(
        fields["account_email.email"],
        json!({ "value": "an.nguyen@example.com" })
    );
    assert_eq!(
        fields["account_phone.phone"],
        json!({ "value": "+84901234567" })
    );
    assert_eq!(
        fields["account_birth_date.date_of_birth"],
        json!({ "withheld": "not_collected" })
    );
    assert_eq!(
        fields["marketing_preferences.channels"],
        json!({ "withheld": "not_for_purpose" })
    );

    let audit = app.audit().await;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["customer.create", "customer.read"]);
    assert_eq!(audit[0].actor, "integration:storefront");
    assert!(
        audit[1]
            .request_id
            .as_deref()
            .is_some_and(|r| !r.is_empty())
    );
}

#[tokio::test]
async fn the_purpose_may_come_from_a_header_and_the_query_wins() {
    let app = spawn_app().await;
    let id = app.create(profile()).await;
    let mut request = axum::http::Request::get(format!("/v1/customers/{id}"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("custodian-purpose", "order_fulfilment");
    let view = body_json(
        app.send(request.body(axum::body::Body::empty()).unwrap())
            .await,
    )
    .await;
    assert_eq!(view["purpose"], "order_fulfilment");

    request = axum::http::Request::get(format!("/v1/customers/{id}?purpose=account"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("custodian-purpose", "marketing");
    let view = body_json(
        app.send(request.body(axum::body::Body::empty()).unwrap())
            .await,
    )
    .await;
    assert_eq!(view["purpose"], "account");
}

#[tokio::test]
async fn a_purpose_sees_only_the_fields_it_uses() {
    let app = spawn_app().await;
    let id = app.create(profile()).await;
    let fields = read(&app, &id, "order_fulfilment").await["fields"].clone();
    assert_eq!(
        fields["account_name.full_name"],
        json!({ "withheld": "not_for_purpose" })
    );
    assert_eq!(
        fields["account_email.email"],
        json!({ "value": "an.nguyen@example.com" })
    );
    assert!(!fields.to_string().contains("Nguy"));
}

#[tokio::test]
async fn a_consent_purpose_without_consent_sees_nothing() {
    let app = spawn_app().await;
    let id = app.create(profile()).await;
    let fields = read(&app, &id, "marketing").await["fields"].clone();
    assert_eq!(
        fields["account_email.email"],
        json!({ "withheld": "consent_required" })
    );
    assert!(!fields.to_string().contains("example.com"));
}

#[tokio::test]
async fn a_correction_keeps_the_old_value_in_history() {
    let app = spawn_app().await;
    let id = app.create(profile()).await;
    let response = app
        .call(
            "PATCH",
            &format!("/v1/customers/{id}?purpose=account"),
            Some(json!({ "fields": { "account_email.email": "an.new@example.com" } })),
        )
        .await;
    assert_eq!(response.status(), 204);
    let view = read(&app, &id, "account").await;
    assert_eq!(
        view["fields"]["account_email.email"],
        json!({ "value": "an.new@example.com" })
    );

    let response = app
        .call(
            "GET",
            &format!("/v1/customers/{id}/history?purpose=account"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let entries = body_json(response).await["entries"].clone();
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries}");
    assert_eq!(entries[0]["field"], "account_email.email");
    assert_eq!(
        entries[0]["value"],
        json!({ "value": "an.nguyen@example.com" })
    );

    assert!(lookup(&app, json!({ "email": EMAIL })).await.is_empty());
    assert_eq!(
        lookup(&app, json!({ "email": "an.new@example.com" })).await,
        [json!(id)]
    );
}

#[tokio::test]
async fn lookups_find_by_normalised_email_and_phone() {
    let app = spawn_app().await;
    let id = app.create(profile()).await;
    let _other = app
        .create(json!({
            "account_name.full_name": "Trần Thị Bình",
            "account_email.email": "binh@example.com",
        }))
        .await;
    assert_eq!(
        lookup(&app, json!({ "email": " AN.NGUYEN@example.com" })).await,
        [json!(id)]
    );
    assert_eq!(
        lookup(&app, json!({ "phone": "+84 90-123-4567" })).await,
        [json!(id)]
    );
    assert!(
        lookup(&app, json!({ "email": "nobody@example.com" }))
            .await
            .is_empty()
    );
    assert!(
        lookup(&app, json!({ "phone": "+84 999 999 999" }))
            .await
            .is_empty()
    );

    for body in [json!({}), json!({ "email": EMAIL, "phone": PHONE })] {
        let response = app
            .call("POST", "/v1/customers/lookup?purpose=account", Some(body))
            .await;
        assert_refused(response, 400, "invalid_body", None, "example").await;
    }
}

#[tokio::test]
async fn an_erased_customer_is_gone_for_good() {
    let app = spawn_app().await;
    let id = app.create(profile()).await;
    let response = app
        .call(
            "DELETE",
            &format!("/v1/customers/{id}?purpose=account"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200, "the completion report");
    assert!(app.key_store.key_versions().await.unwrap().is_empty());
    assert!(lookup(&app, json!({ "email": EMAIL })).await.is_empty());
    assert!(lookup(&app, json!({ "phone": PHONE })).await.is_empty());

    let view = read(&app, &id, "account").await;
    let fields = view["fields"].as_object().unwrap();
    assert!(!fields.is_empty());
    for (name, disclosure) in fields {
        assert_eq!(disclosure, &json!({ "withheld": "erased" }), "{name}");
    }
}

#[tokio::test]
async fn values_are_stored_composed_and_found_however_they_were_typed() {
    let app = spawn_app().await;
    // "Nguyễn Lê" and an email with a Vietnamese local part, typed with combining marks.
    let decomposed_name = "Nguye\u{0302}\u{0303}n Le\u{0302}";
    let decomposed_email = "le\u{0302}.an@example.com";
    let id = app
        .create(json!({
            "account_name.full_name": decomposed_name,
            "account_email.email": decomposed_email,
        }))
        .await;
    let view = read(&app, &id, "account").await;
    assert_eq!(
        view["fields"]["account_name.full_name"]["value"],
        "Nguyễn Lê"
    );
    assert_eq!(
        view["fields"]["account_email.email"]["value"],
        "lê.an@example.com"
    );
    // Found by the composed spelling and by the decomposed one alike.
    assert_eq!(
        lookup(&app, json!({ "email": "lê.an@example.com" })).await,
        [json!(id)]
    );
    assert_eq!(
        lookup(&app, json!({ "email": decomposed_email })).await,
        [json!(id)]
    );
}

#[tokio::test]
async fn lookups_find_one_customer_by_a_unicode_or_punycode_domain_and_any_phone_spelling() {
    let app = spawn_app().await;
    let id = app
        .create(json!({
            "account_name.full_name": "Phạm Thu Hà",
            "account_email.email": "Thu.Ha@Bücher.de",
            "account_phone.phone": "0912 345 678",
        }))
        .await;
    let view = read(&app, &id, "account").await;
    // Stored as DNS and every mail server read it: the domain in A-labels, lower-case.
    assert_eq!(
        view["fields"]["account_email.email"]["value"],
        "thu.ha@xn--bcher-kva.de"
    );
    assert_eq!(
        view["fields"]["account_phone.phone"]["value"],
        "+84912345678"
    );
    for email in [
        "thu.ha@bücher.de",
        "thu.ha@xn--bcher-kva.de",
        "THU.HA@XN--BCHER-KVA.DE",
        "thu.ha@bu\u{308}cher.de",
    ] {
        assert_eq!(
            lookup(&app, json!({ "email": email })).await,
            [json!(id)],
            "{email:?}"
        );
    }
    for phone in [
        "+84912345678",
        "+84 0912 345 678",
        "+84 (0)912 345 678",
        "0084 912 345 678",
        "84912345678",
        "tel:+84-912-345-678",
        "tel:0912345678;phone-context=+84",
        "０９１２　３４５　６７８",
        "0912\u{a0}345\u{a0}678",
    ] {
        assert_eq!(
            lookup(&app, json!({ "phone": phone })).await,
            [json!(id)],
            "{phone:?}"
        );
    }
}

#[tokio::test]
async fn phones_and_emails_libphonenumber_and_the_rfcs_refuse_are_refused_with_the_accepted_forms()
{
    let app = spawn_app().await;
    for (field, value, hint) in [
        // The 11-digit mobiles were renumbered in 2018; 0212 is no area code.
        (
            "account_phone.phone",
            "0168 912 3456",
            "national (0912 345 678), international (+84 912 345 678) or a tel: URI",
        ),
        ("account_phone.phone", "0212 345 678", "or a tel: URI"),
        ("account_phone.phone", "+999 1234 5678", "or a tel: URI"),
        (
            "account_phone.phone",
            "0912 345 678 ext. 12",
            "or a tel: URI",
        ),
        (
            "account_email.email",
            "an..nguyen@example.com",
            "name@domain",
        ),
        (
            "account_email.email",
            "\"an nguyen\"@example.com",
            "name@domain",
        ),
        ("account_email.email", "an@[192.0.2.1]", "name@domain"),
        ("account_email.email", "an.nguyen@shop.test", "name@domain"),
        (
            "account_email.email",
            "an\u{200b}nguyen@example.com",
            "name@domain",
        ),
    ] {
        let response = app
            .call(
                "POST",
                "/v1/customers?purpose=account",
                Some(json!({ "fields": {
                    "account_name.full_name": "Phạm Thu Hà",
                    field: value,
                } })),
            )
            .await;
        let error = assert_refused(response, 400, "invalid_field", Some(field), value).await;
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(hint), "{message}");
    }
    app.assert_nothing_written().await;
}

#[tokio::test]
async fn bidirectional_controls_are_refused_in_single_line_values() {
    let app = spawn_app().await;
    for control in [
        '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
        '\u{2068}', '\u{2069}',
    ] {
        let name = format!("An{control}gnự Văn");
        let response = app
            .call(
                "POST",
                "/v1/customers?purpose=account",
                Some(json!({ "fields": { "account_name.full_name": name } })),
            )
            .await;
        assert_refused(
            response,
            400,
            "text_direction_control",
            Some("account_name.full_name"),
            &name,
        )
        .await;
    }
    app.assert_nothing_written().await;
}
