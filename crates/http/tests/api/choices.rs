//! `GET /v1/choices` (P12): what a form may ask, which fields each purpose requires, what
//! declining costs, and what each consent covers.

use axum::body::Body;
use axum::http::Request;
use custodian_policy::{ConsentTerms, DEFAULT_POLICY, Policy, parse};
use serde_json::{Value, json};

use crate::helpers::{SECRET, assert_error, assert_refused, body_json, header, spawn_app};

fn policy() -> Policy {
    parse(DEFAULT_POLICY).unwrap()
}

fn purpose<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no purpose `{id}` in {body}"))
}

fn field<'a>(purpose: &'a Value, name: &str) -> &'a Value {
    purpose["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == name)
        .unwrap_or_else(|| panic!("no field `{name}` in {purpose}"))
}

fn ids(body: &Value) -> Vec<&str> {
    body["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn visitors_see_their_purposes_without_signing_in() {
    let app = spawn_app().await;
    let response = app.get("/v1/choices?subject=visitors").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/json");
    assert_eq!(header(&response, "cache-control"), "public, max-age=300");
    assert_eq!(header(&response, "content-language"), "vi");
    assert!(header(&response, "etag").starts_with('"'));
    let body = body_json(response).await;
    let policy = policy();
    assert_eq!(body["lang"], "vi");
    assert_eq!(
        body["notice"],
        json!({
            "version": app.version.version,
            "content_hash": app.version.content_hash,
            "url": "/privacy?lang=vi",
        })
    );
    assert_eq!(body["gpc"]["honoured"], true);
    assert_eq!(
        body["gpc"]["text"],
        policy.notice.texts.global_privacy_control.vi.as_str()
    );
    assert_eq!(
        ids(&body),
        [
            "personalised_ads",
            "analytics",
            "third_party_analytics",
            "security"
        ]
    );
    assert_eq!(purpose(&body, "security")["consent"], Value::Null);
    assert_eq!(
        purpose(&body, "security")["legal_basis"],
        "legitimate_interest"
    );
    for (id, signals, gpc) in [
        ("analytics", json!([]), false),
        ("third_party_analytics", json!(["analytics_storage"]), true),
        (
            "personalised_ads",
            json!(["ad_storage", "ad_user_data", "ad_personalization"]),
            true,
        ),
    ] {
        let listed = purpose(&body, id);
        let declared = policy.purpose_named(id).unwrap();
        assert_eq!(listed["legal_basis"], "consent");
        assert_eq!(listed["label"], declared.label.vi.as_str());
        assert_eq!(listed["description"], declared.description.vi.as_str());
        let consent = &listed["consent"];
        assert_eq!(consent["consent_mode"], signals, "{id}");
        assert_eq!(consent["refused_by_gpc"], gpc, "{id}");
        assert_eq!(
            consent["terms"],
            ConsentTerms::of(&policy, declared).digest().as_str()
        );
        assert_eq!(
            consent["decline_cost"],
            declared.decline_cost.as_ref().unwrap().vi.as_str()
        );
        assert_eq!(consent["options"], json!({}));
    }
    let viewing = field(purpose(&body, "analytics"), "viewing_history.content_id");
    assert_eq!(viewing["required"], true);
    assert_eq!(viewing["decline_cost"], Value::Null);
    assert_eq!(viewing["sensitive"], true);
    assert!(viewing["label"].is_string() && viewing["category_label"].is_string());
    assert!(viewing["type"].is_string());
}

#[tokio::test]
async fn marketing_offers_its_channels_and_frequency() {
    let app = spawn_app().await;
    let body = body_json(app.get("/v1/choices?purposes=marketing&lang=en").await).await;
    assert_eq!(ids(&body), ["marketing"]);
    let consent = &purpose(&body, "marketing")["consent"];
    assert_eq!(
        consent["options"],
        json!({
            "marketing_preferences.channels": {
                "label": "Channels", "values": ["email", "sms", "push"], "multiple": true
            },
            "marketing_preferences.frequency": {
                "label": "Frequency", "values": ["weekly", "monthly"], "multiple": false
            },
        })
    );
    assert_eq!(consent["consent_mode"], json!([]));
    assert_eq!(consent["refused_by_gpc"], false);
}

#[tokio::test]
async fn an_order_requires_its_own_categories_and_says_what_the_rest_cost() {
    let app = spawn_app().await;
    for (lang, phone_cost, email_cost) in [
        (
            "en",
            "Without a contact phone number the carrier cannot call you before delivery.",
            "Without an email address we cannot send you order confirmations and delivery updates.",
        ),
        (
            "vi",
            "Nếu không có số điện thoại liên hệ, đơn vị vận chuyển không thể gọi cho bạn trước khi giao hàng.",
            "Nếu không có email, chúng tôi không thể gửi xác nhận đơn hàng và thông báo giao hàng.",
        ),
    ] {
        let body = body_json(
            app.get(&format!(
                "/v1/choices?purposes=order_fulfilment&lang={lang}"
            ))
            .await,
        )
        .await;
        assert_eq!(body["lang"], lang);
        let order = purpose(&body, "order_fulfilment");
        assert_eq!(order["legal_basis"], "contract");
        assert_eq!(order["consent"], Value::Null);
        let phone = field(order, "order_contact_phone.contact_phone");
        assert_eq!(phone["required"], false);
        assert_eq!(phone["decline_cost"], phone_cost);
        let email = field(order, "account_email.email");
        assert_eq!(email["required"], false);
        assert_eq!(email["decline_cost"], email_cost);
        let required: Vec<&str> = order["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["required"] == true)
            .map(|f| f["field"].as_str().unwrap().split_once('.').unwrap().0)
            .collect();
        for category in &required {
            assert!(
                [
                    "order_items",
                    "order_recipient",
                    "order_shipping_address",
                    "order_payment"
                ]
                .contains(category),
                "{category} is required for an order"
            );
        }
        assert!(required.contains(&"order_payment"));
        let card = field(order, "order_payment.payment_token");
        assert_eq!(card["sensitive"], true);
    }
}

/// P12: declining an optional field or a consent never blocks an order. A field is required
/// only for the purpose that lists its category as required; every other field says what
/// declining it costs; a consent belongs to its own purpose and no purpose an order needs
/// rests on consent.
#[tokio::test]
async fn declining_is_never_a_prerequisite_of_anything_else() {
    let app = spawn_app().await;
    let body = body_json(app.get("/v1/choices?lang=en").await).await;
    let policy = policy();
    assert_eq!(ids(&body).len(), policy.purposes.len());
    for listed in body["purposes"].as_array().unwrap() {
        let declared = policy
            .purpose_named(listed["id"].as_str().unwrap())
            .unwrap();
        for f in listed["fields"].as_array().unwrap() {
            let category = f["field"].as_str().unwrap().split_once('.').unwrap().0;
            let required = declared.required.iter().any(|c| c.as_str() == category);
            assert_eq!(f["required"], required, "{f}");
            assert_eq!(f["decline_cost"].is_null(), required, "{f}");
        }
        assert_eq!(
            listed["consent"].is_null(),
            listed["legal_basis"] != "consent",
            "{listed}"
        );
    }
    for id in ["order_fulfilment", "legal_obligation"] {
        assert_ne!(purpose(&body, id)["legal_basis"], "consent");
    }
}

#[tokio::test]
async fn purposes_are_listed_once_in_the_policys_order() {
    let app = spawn_app().await;
    let body = body_json(
        app.get("/v1/choices?purposes=analytics,marketing,analytics")
            .await,
    )
    .await;
    assert_eq!(ids(&body), ["marketing", "analytics"]);
}

#[tokio::test]
async fn an_undeclared_purpose_is_named_and_refused() {
    let app = spawn_app().await;
    let error = assert_error(
        app.get("/v1/choices?purposes=analytics,analytcs").await,
        400,
        "unknown_purpose",
    )
    .await;
    assert_eq!(error["field"], "purposes");
    // Named by its parameter with the purposes declared, never repeated.
    let message = error["message"].as_str().unwrap();
    assert!(!message.contains("analytcs"), "{error}");
    assert!(message.contains("`marketing`"), "{error}");
    let encoded = SECRET.replace('@', "%40");
    assert_refused(
        app.get(&format!("/v1/choices?purposes={encoded}")).await,
        400,
        "unknown_purpose",
        Some("purposes"),
        SECRET,
    )
    .await;
}

#[tokio::test]
async fn bad_parameters_name_the_field() {
    let app = spawn_app().await;
    for (uri, field) in [
        ("/v1/choices?lang=fr", "lang"),
        ("/v1/choices?lang=", "lang"),
        ("/v1/choices?subject=robots", "subject"),
        ("/v1/choices?subject=visitors&purposes=analytics", "subject"),
        ("/v1/choices?purposes=", "purposes"),
    ] {
        let error = assert_error(app.get(uri).await, 400, "invalid_parameter").await;
        assert_eq!(error["field"], field, "{uri}");
    }
}

#[tokio::test]
async fn the_language_follows_the_parameter_then_accept_language() {
    let app = spawn_app().await;
    let with_header = |uri: &str, accept: &str| {
        Request::get(uri)
            .header("accept-language", accept)
            .body(Body::empty())
            .unwrap()
    };
    let response = app
        .send(with_header(
            "/v1/choices?purposes=analytics",
            "en-GB,en;q=0.9",
        ))
        .await;
    assert_eq!(header(&response, "content-language"), "en");
    assert_eq!(header(&response, "vary"), "Accept-Language");
    let body = body_json(response).await;
    let policy = policy();
    assert_eq!(body["lang"], "en");
    assert_eq!(body["notice"]["url"], "/privacy?lang=en");
    assert_eq!(
        body["gpc"]["text"],
        policy.notice.texts.global_privacy_control.en.as_str()
    );
    assert_eq!(
        purpose(&body, "analytics")["consent"]["decline_cost"],
        policy
            .purpose_named("analytics")
            .unwrap()
            .decline_cost
            .as_ref()
            .unwrap()
            .en
            .as_str()
    );
    let response = app
        .send(with_header("/v1/choices?purposes=analytics&lang=vi", "en"))
        .await;
    assert_eq!(body_json(response).await["lang"], "vi");
    let response = app
        .send(with_header(
            "/v1/choices?purposes=analytics",
            "de, fr;q=0.5",
        ))
        .await;
    assert_eq!(body_json(response).await["lang"], "vi");
}

#[tokio::test]
async fn an_unchanged_answer_is_not_sent_again() {
    let app = spawn_app().await;
    let first = app.get("/v1/choices?subject=visitors&lang=en").await;
    let etag = header(&first, "etag").to_owned();
    let conditional = |value: String| {
        Request::get("/v1/choices?subject=visitors&lang=en")
            .header("if-none-match", value)
            .body(Body::empty())
            .unwrap()
    };
    let response = app.send(conditional(etag.clone())).await;
    assert_eq!(response.status(), 304);
    assert_eq!(header(&response, "etag"), etag);
    assert_eq!(header(&response, "cache-control"), "public, max-age=300");
    assert_eq!(body_len(response).await, 0);
    let response = app.send(conditional(format!("\"other\", W/{etag}"))).await;
    assert_eq!(response.status(), 304);
    let response = app.send(conditional("\"other\"".to_owned())).await;
    assert_eq!(response.status(), 200);
    let vietnamese = app.get("/v1/choices?subject=visitors&lang=vi").await;
    assert_ne!(header(&vietnamese, "etag"), etag);
    let again = app.get("/v1/choices?subject=visitors&lang=en").await;
    assert_eq!(header(&again, "etag"), etag);
}

async fn body_len(response: axum::http::Response<Body>) -> usize {
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn other_v1_routes_stay_uncacheable() {
    let app = spawn_app().await;
    let response = app.get("/v1/policy").await;
    assert_eq!(header(&response, "cache-control"), "no-store");
    let response = app.call("POST", "/v1/choices", None).await;
    assert_error(response, 405, "method_not_allowed").await;
}
