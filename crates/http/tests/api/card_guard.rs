//! The card guard where all input enters (P6, PCI DSS 3.3.1): every route the router has —
//! its list is the router's own, so a new route is in this table by existing — refuses a
//! card number or a security-code key in its query string, its JSON body and its form body
//! before any handler runs, and nothing of the request is written anywhere.

use axum::body::Body;
use axum::http::Request;
use custodian_core::card::spelling::{PREFIXES, Rng, SUFFIXES, spelled_card_number};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestApp, body_text, header, spawn_app};

// Published by the card networks for testing: never a real card.
const VISA_SPACED: &str = "4111 1111 1111 1111";

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// A route's path with every parameter filled in.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "x1"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Where a request carries what it sends.
#[derive(Debug, Clone, Copy)]
enum Place {
    QueryValue,
    QueryName,
    JsonValue,
    JsonKey,
    FormValue,
    /// A form sent as a JSON string, said to be plain text (a handler reading forms without
    /// asking would decode it).
    FormAsJsonString,
    /// The `User-Agent`, which a consent keeps as evidence.
    UserAgent,
}

const PLACES: [Place; 7] = [
    Place::QueryValue,
    Place::QueryName,
    Place::JsonValue,
    Place::JsonKey,
    Place::FormValue,
    Place::FormAsJsonString,
    Place::UserAgent,
];

fn request(method: &str, path: &str, place: Place, text: &str) -> Request<Body> {
    let path = concrete(path);
    let builder = || {
        Request::builder()
            .method(method)
            .header("authorization", format!("Bearer {TOKEN}"))
    };
    let json = |body: Value| {
        builder()
            .header("content-type", "application/json")
            .uri(format!("{path}?purpose=account"))
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    match place {
        Place::QueryValue => Request::builder()
            .method(method)
            .uri(format!("{path}?purpose=account&note={}", encoded(text)))
            .body(Body::empty())
            .unwrap(),
        Place::QueryName => Request::builder()
            .method(method)
            .uri(format!("{path}?{}=1", encoded(text)))
            .body(Body::empty())
            .unwrap(),
        Place::JsonValue => json(json!({
            "fields": { "account_name.full_name": "Khách Thử", "note": [1, { "text": text }] }
        })),
        Place::JsonKey => json(json!({ "fields": { text: "x" } })),
        Place::FormValue => builder()
            .header("content-type", "application/x-www-form-urlencoded")
            .uri(path)
            .body(Body::from(
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("csrf", "t")
                    .append_pair("details", text)
                    .finish(),
            ))
            .unwrap(),
        Place::FormAsJsonString => builder()
            .header("content-type", "text/plain")
            .uri(path)
            .body(Body::from(
                Value::String(format!("x=&details={}&y=", encoded(text))).to_string(),
            ))
            .unwrap(),
        Place::UserAgent => builder()
            .header(
                "user-agent",
                // Raw UTF-8 (headers are not percent-encoded), without the line breaks a
                // header cannot hold.
                axum::http::HeaderValue::from_bytes(
                    format!("Mozilla/5.0 {}", text.replace(char::is_control, " ")).as_bytes(),
                )
                .unwrap(),
            )
            .uri(format!("{path}?purpose=account"))
            .body(Body::empty())
            .unwrap(),
    }
}

/// Whether the response is the guard's refusal (the centre's page under `/privacy-centre`,
/// the API's JSON elsewhere) and shows nothing of what was sent: neither the text nor the
/// number's digits.
async fn is_refusal(response: axum::response::Response, path: &str, sent: &str) -> bool {
    let digits: String = custodian_core::text::fold_for_search(sent)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let status = response.status().as_u16();
    let centre = path.starts_with("/privacy-centre");
    let content_type = header(&response, "content-type").to_owned();
    let csp = header(&response, "content-security-policy").to_owned();
    let text = body_text(response).await;
    let shows_nothing = !text.contains(sent) && (digits.len() < 13 || !text.contains(&digits));
    let refused = if centre {
        content_type.starts_with("text/html")
            && csp.contains("style-src 'self'")
            && text.contains("<code>card_data_refused</code>")
    } else {
        serde_json::from_str::<Value>(&text)
            .is_ok_and(|body| body["error"]["code"] == "card_data_refused")
    };
    status == 400 && refused && shows_nothing
}

#[tokio::test]
async fn every_route_refuses_card_data_in_its_query_and_body_before_any_handler() {
    let app = spawn_app().await;
    let paths = custodian_http::route_paths();
    assert!(paths.len() > 60, "{} routes", paths.len());
    for known in [
        "/v1/orders",
        "/v1/customers",
        "/privacy-centre/requests",
        "/v1/choices",
    ] {
        assert!(
            paths.iter().any(|p| p == known),
            "{known} not in the route list"
        );
    }
    // An unknown path too: the guard comes before routing's answer.
    let every = paths
        .iter()
        .map(String::as_str)
        .chain(["/v1/no-such-route"]);
    for path in every {
        for method in METHODS {
            for place in PLACES {
                let response = app.send(request(method, path, place, VISA_SPACED)).await;
                assert!(
                    is_refusal(response, path, VISA_SPACED).await,
                    "{method} {path} with a card number in {place:?} was not refused"
                );
                // Not vacuous: the same request without the card is not refused as card data.
                let response = app.send(request(method, path, place, "hello")).await;
                let text = body_text(response).await;
                assert!(
                    !text.contains("card_data_refused"),
                    "{method} {path} refused a request without card data ({place:?})"
                );
            }
        }
    }
    // A security code's key, in a JSON body and in a form.
    for path in ["/v1/orders", "/v1/customers", "/privacy-centre/requests"] {
        for body in [
            json!({ "payment": { "cvv": "123" } }),
            json!({ "fields": { "Card_Verification_Code": "123" } }),
        ] {
            let response = app
                .send(
                    Request::post(format!("{path}?purpose=account"))
                        .header("authorization", format!("Bearer {TOKEN}"))
                        .header("content-type", "application/json")
                        .body(Body::from(body.to_string()))
                        .unwrap(),
                )
                .await;
            assert!(is_refusal(response, path, "123").await, "{path} {body}");
        }
    }
}

#[tokio::test]
async fn a_form_is_read_as_a_form_whatever_its_content_type_says() {
    let app = spawn_app().await;
    let form = "csrf=t&details=4111%201111%201111%201111";
    for content_type in [None, Some("application/json"), Some("text/plain")] {
        let mut request = Request::post("/privacy-centre/requests");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = app.send(request.body(Body::from(form)).unwrap()).await;
        assert!(
            is_refusal(response, "/privacy-centre/requests", VISA_SPACED).await,
            "{content_type:?}"
        );
    }
}

#[tokio::test]
async fn a_request_id_holding_a_card_number_is_replaced_not_echoed() {
    let app = spawn_app().await;
    let response = app
        .send(
            Request::get("/healthz")
                .header("x-request-id", "4111-1111-1111-1111")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), 200);
    let id = header(&response, "x-request-id");
    assert!(!id.is_empty() && !id.contains("4111"), "{id}");
    // An ordinary id is kept.
    let response = app
        .send(
            Request::get("/healthz")
                .header("x-request-id", "shop-7f3a-42")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(header(&response, "x-request-id"), "shop-7f3a-42");
}

#[tokio::test]
async fn a_refused_customer_order_or_request_writes_nothing() {
    let app = spawn_app().await;
    let card = "٤١١١\u{200B}١١١١.١١١١/١١١١";
    let attempts = [
        (
            "/v1/customers?purpose=account",
            json!({ "fields": { "account_name.full_name": format!("An {card}") } }),
        ),
        (
            "/v1/orders?purpose=order_fulfilment",
            json!({
                "items": [{ "product_id": "sku-1", "quantity": 1 }],
                "fields": { "order_shipping_address.address_line": card },
            }),
        ),
        (
            "/v1/customers/lookup?purpose=account",
            json!({ "email": format!("{card}@example.com") }),
        ),
    ];
    for (uri, body) in attempts {
        let response = app.call("POST", uri, Some(body)).await;
        assert!(is_refusal(response, uri, card).await, "{uri}");
    }
    app.assert_nothing_written().await;
    assert_nothing_on_disk(&app, &["4111111111111111", card]);
}

/// Any Luhn-valid number, written in any mix of scripts, separators and format characters,
/// placed in the query, a JSON value or key, or a form field of any route, is refused, and
/// nothing of any attempt reaches the database, the key store or the audit log.
#[test]
fn any_spelling_anywhere_on_any_route_is_refused_and_nothing_is_written() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(spawn_app());
    let paths = custodian_http::route_paths();
    let sent = std::cell::RefCell::new(Vec::<(String, String)>::new());
    let mut runner = TestRunner::new(Config::with_cases(400));
    let strategy = (
        any::<u64>(),
        0..paths.len(),
        0..METHODS.len(),
        0..PLACES.len(),
    );
    runner
        .run(&strategy, |(seed, route, method, place)| {
            let spelled = spelled_card_number(seed);
            let mut rng = Rng::new(seed.rotate_left(29));
            let text = format!(
                "{}{}{}",
                rng.pick(&PREFIXES).copied().unwrap_or(""),
                spelled.text,
                rng.pick(&SUFFIXES).copied().unwrap_or("")
            );
            let path = &paths[route];
            let request = request(METHODS[method], path, PLACES[place], &text);
            let refused = runtime.block_on(async {
                let response = app.send(request).await;
                is_refusal(response, path, &text).await
            });
            sent.borrow_mut()
                .push((spelled.digits.clone(), spelled.text.clone()));
            prop_assert!(
                refused,
                "{} {path}: {:?} ({}) in {:?} was not refused",
                METHODS[method],
                text,
                spelled.digits,
                PLACES[place]
            );
            Ok(())
        })
        .unwrap();
    runtime.block_on(app.assert_nothing_written());
    let sent = sent.into_inner();
    let needles: Vec<&str> = sent
        .iter()
        .flat_map(|(digits, text)| [digits.as_str(), text.as_str()])
        .collect();
    assert_nothing_on_disk(&app, &needles);
}

/// No file under the app's directory (database, write-ahead log, key store) holds any of
/// `needles`.
fn assert_nothing_on_disk(app: &TestApp, needles: &[&str]) {
    let dir = app.store_path().parent().unwrap().to_owned();
    let mut files = vec![dir];
    let mut bytes = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    for needle in needles {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle:?} reached the disk"
        );
    }
}
