//! The privacy centre's pages over HTTP (P1): a session is needed, forms are refused without
//! their CSRF token (nothing changes), the headers are strict, the language switches, a
//! consent toggle lands in the history and a request is listed with its due date.

use axum::body::Body;
use axum::http::{Request, Response};
use serde_json::json;

use crate::helpers::{TestApp, body_json, body_text, header, spawn_app};

const EMAIL: &str = "tran.minh.khoa@example.com";
const NAME: &str = "Trần Minh Khoa";
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The value of the cookie `name` a response sets.
fn set_cookie(response: &Response<Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    pair.split_once('=').unwrap().1.to_owned()
}

/// The first CSRF token in a page.
fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_owned()
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

async fn get(app: &TestApp, uri: &str, cookie: Option<&str>) -> Response<Body> {
    let mut request = Request::get(uri);
    if let Some(c) = cookie {
        request = request.header("cookie", c);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

async fn post(
    app: &TestApp,
    uri: &str,
    cookie: Option<&str>,
    pairs: &[(&str, &str)],
) -> Response<Body> {
    let mut request = Request::post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", "127.0.0.1");
    if let Some(c) = cookie {
        request = request.header("cookie", c);
    }
    app.send(request.body(Body::from(form_body(pairs))).unwrap())
        .await
}

/// Signs in through the pages with a code, returning the `Cookie` header of the session.
async fn sign_in(app: &TestApp) -> String {
    let page = get(app, "/privacy-centre/sign-in?lang=en", None).await;
    assert_eq!(page.status(), 200);
    let pre_set = set_cookie(&page, "__Host-custodian_centre_pre").unwrap();
    let pre = format!("__Host-custodian_centre_pre={}", cookie_value(&pre_set));
    let token = csrf(&body_text(page).await);
    let sent = post(
        app,
        "/privacy-centre/sign-in/code?lang=en",
        Some(&pre),
        &[("csrf", &token), ("email", EMAIL)],
    )
    .await;
    assert_eq!(sent.status(), 200);
    let code = app.notifier.last_code().unwrap().to_string();
    let signed = post(
        app,
        "/privacy-centre/sign-in?lang=en",
        Some(&pre),
        &[("csrf", &token), ("email", EMAIL), ("code", &code)],
    )
    .await;
    assert_eq!(signed.status(), 303);
    assert_eq!(header(&signed, "location"), "/privacy-centre?lang=en");
    let session = set_cookie(&signed, "__Host-custodian_centre").unwrap();
    format!("__Host-custodian_centre={}", cookie_value(&session))
}

async fn customer(app: &TestApp) -> String {
    app.create(json!({ "account_name.full_name": NAME, "account_email.email": EMAIL }))
        .await
}

#[tokio::test]
async fn pages_need_a_session_and_redirect_to_sign_in() {
    let app = spawn_app().await;
    for path in [
        "/privacy-centre",
        "/privacy-centre/choices",
        "/privacy-centre/recipients",
        "/privacy-centre/requests",
        "/privacy-centre/orders",
    ] {
        let response = get(&app, &format!("{path}?lang=en"), None).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(
            header(&response, "location"),
            "/privacy-centre/sign-in?lang=en"
        );
        let forged = get(
            &app,
            path,
            Some("__Host-custodian_centre=css_not-a-real-session-token"),
        )
        .await;
        assert_eq!(forged.status(), 303, "{path}");
    }
}

#[tokio::test]
async fn signing_in_sets_a_strict_host_cookie_and_every_page_has_strict_headers() {
    let app = spawn_app().await;
    customer(&app).await;
    let page = get(&app, "/privacy-centre/sign-in", None).await;
    let pre = set_cookie(&page, "__Host-custodian_centre_pre").unwrap();
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(pre.contains(attribute), "{pre}");
    }
    assert!(!pre.to_lowercase().contains("domain"), "{pre}");

    let cookie = sign_in(&app).await;
    for path in [
        "/privacy-centre",
        "/privacy-centre/choices",
        "/privacy-centre/recipients",
        "/privacy-centre/requests",
        "/privacy-centre/orders",
        "/privacy-centre/sign-in",
        "/privacy-centre/style.css",
    ] {
        let response = get(&app, path, Some(&cookie)).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "content-security-policy"), CSP, "{path}");
        assert_eq!(header(&response, "cache-control"), "no-store");
        assert_eq!(header(&response, "referrer-policy"), "no-referrer");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        let body = body_text(response).await;
        assert!(!body.contains("<script"), "{path}");
        assert!(!body.contains("style=\""), "{path}: no inline style");
    }
    let data = body_text(get(&app, "/privacy-centre?lang=en", Some(&cookie)).await).await;
    assert!(data.contains(NAME), "the customer's own name is shown");
    assert!(data.contains(EMAIL));
    assert!(data.contains("Why we hold it"));
    assert!(data.contains("<html lang=\"en\">"));
    assert!(data.contains("href=\"#main\""));
}

#[tokio::test]
async fn an_unknown_centre_page_is_a_page() {
    let app = spawn_app().await;
    let response = get(&app, "/privacy-centre/marker-7f3a?lang=en", None).await;
    assert_eq!(response.status(), 404);
    assert_eq!(header(&response, "content-security-policy"), CSP);
    let body = body_text(response).await;
    assert!(body.contains("This page was not found."));
    assert!(!body.contains("marker-7f3a"));
}

#[tokio::test]
async fn the_api_does_not_accept_the_cookie() {
    let app = spawn_app().await;
    customer(&app).await;
    let cookie = sign_in(&app).await;
    let response = get(&app, "/v1/account/requests", Some(&cookie)).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn the_language_switches() {
    let app = spawn_app().await;
    customer(&app).await;
    let cookie = sign_in(&app).await;
    let vi = body_text(get(&app, "/privacy-centre/choices?lang=vi", Some(&cookie)).await).await;
    assert!(vi.contains("<html lang=\"vi\">"));
    assert!(vi.contains("Lựa chọn của tôi"));
    assert!(vi.contains("href=\"/privacy-centre/choices?lang=en\""));
    let en = body_text(get(&app, "/privacy-centre/choices?lang=en", Some(&cookie)).await).await;
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("My choices"));
    assert!(en.contains("href=\"/privacy-centre/choices?lang=vi\""));
    // Without `lang`, Accept-Language decides.
    let request = Request::get("/privacy-centre/sign-in")
        .header("accept-language", "en-GB,en;q=0.9")
        .body(Body::empty())
        .unwrap();
    let page = body_text(app.send(request).await).await;
    assert!(page.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn forms_without_the_right_token_or_from_another_site_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    customer(&app).await;
    let cookie = sign_in(&app).await;
    let page = body_text(get(&app, "/privacy-centre/choices?lang=en", Some(&cookie)).await).await;
    let token = csrf(&page);
    let audit_before = app.audit().await.len();
    for bad in [None, Some("AAAA"), Some("not base64 at all")] {
        let mut pairs = vec![("purpose", "marketing"), ("state", "granted")];
        if let Some(bad) = bad {
            pairs.push(("csrf", bad));
        }
        let response = post(
            &app,
            "/privacy-centre/choices?lang=en",
            Some(&cookie),
            &pairs,
        )
        .await;
        assert_eq!(response.status(), 403);
        assert!(header(&response, "content-type").starts_with("text/html"));
        let body = body_text(response).await;
        assert!(body.contains("Nothing was changed"));
        let response = post(
            &app,
            "/privacy-centre/requests?lang=en",
            Some(&cookie),
            &[
                ("kind", "deletion"),
                ("confirm", "yes"),
                ("csrf", bad.unwrap_or("")),
            ],
        )
        .await;
        assert_eq!(response.status(), 403);
    }
    // The right token, but from another site.
    let request = Request::post("/privacy-centre/choices?lang=en")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", "127.0.0.1")
        .header("origin", "https://evil.example")
        .header("cookie", &cookie)
        .body(Body::from(form_body(&[
            ("csrf", &token),
            ("purpose", "marketing"),
            ("state", "granted"),
        ])))
        .unwrap();
    assert_eq!(app.send(request).await.status(), 403);
    // A token of another session.
    let other = sign_in(&app).await;
    let other_token =
        csrf(&body_text(get(&app, "/privacy-centre/choices", Some(&other)).await).await);
    assert_ne!(other_token, token);
    let response = post(
        &app,
        "/privacy-centre/choices?lang=en",
        Some(&cookie),
        &[
            ("csrf", &other_token),
            ("purpose", "marketing"),
            ("state", "granted"),
        ],
    )
    .await;
    assert_eq!(response.status(), 403);
    // Sign-in forms need their pre-session token too.
    let response = post(
        &app,
        "/privacy-centre/sign-in/code?lang=en",
        None,
        &[("email", EMAIL)],
    )
    .await;
    assert_eq!(response.status(), 403);

    // Nothing was recorded: no consent, no request (the sign-in of `other` audits nothing
    // of the vault's either).
    let page = body_text(get(&app, "/privacy-centre/choices?lang=en", Some(&cookie)).await).await;
    assert!(page.contains("No change yet."));
    let page = body_text(get(&app, "/privacy-centre/requests?lang=en", Some(&cookie)).await).await;
    assert!(page.contains("You have made no request."));
    assert!(
        app.audit()
            .await
            .iter()
            .skip(audit_before)
            .all(|e| !matches!(
                e.action.as_str(),
                "request.received" | "consent.granted" | "consent.denied"
            )),
    );
}

#[tokio::test]
async fn a_consent_toggle_appears_in_the_history() {
    let app = spawn_app().await;
    customer(&app).await;
    let cookie = sign_in(&app).await;
    let page = body_text(get(&app, "/privacy-centre/choices?lang=en", Some(&cookie)).await).await;
    assert!(page.contains("Not asked (counts as no)"));
    assert!(page.contains("If you decline"));
    let token = csrf(&page);
    let response = post(
        &app,
        "/privacy-centre/choices?lang=en",
        Some(&cookie),
        &[
            ("csrf", &token),
            ("purpose", "marketing"),
            ("state", "granted"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        header(&response, "location"),
        "/privacy-centre/choices?lang=en&saved=1"
    );
    let page = body_text(
        get(
            &app,
            "/privacy-centre/choices?lang=en&saved=1",
            Some(&cookie),
        )
        .await,
    )
    .await;
    assert!(page.contains("Your choice has been recorded."));
    assert!(page.contains("Withdraw consent"));
    let history = page.split("Consent history").nth(1).unwrap();
    assert!(history.contains("Granted"));
    assert!(history.contains("Web form"));

    // Withdrawn as easily: one form, one purpose.
    let response = post(
        &app,
        "/privacy-centre/choices?lang=en",
        Some(&cookie),
        &[
            ("csrf", &token),
            ("purpose", "marketing"),
            ("state", "denied"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let page = body_text(get(&app, "/privacy-centre/choices?lang=en", Some(&cookie)).await).await;
    let history = page.split("Consent history").nth(1).unwrap();
    assert!(history.contains("Declined") && history.contains("Granted"));

    // An unknown purpose is refused with a page, not an echo.
    let response = post(
        &app,
        "/privacy-centre/choices?lang=en",
        Some(&cookie),
        &[
            ("csrf", &token),
            ("purpose", "marker-purpose-9"),
            ("state", "granted"),
        ],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(!body_text(response).await.contains("marker-purpose-9"));
}

#[tokio::test]
async fn a_request_appears_with_its_due_date() {
    let app = spawn_app().await;
    customer(&app).await;
    let cookie = sign_in(&app).await;
    let page = body_text(get(&app, "/privacy-centre/requests?lang=en", Some(&cookie)).await).await;
    let token = csrf(&page);
    // Deletion needs the warning acknowledged.
    let response = post(
        &app,
        "/privacy-centre/requests?lang=en",
        Some(&cookie),
        &[("csrf", &token), ("kind", "deletion")],
    )
    .await;
    assert_eq!(response.status(), 400);
    let response = post(
        &app,
        "/privacy-centre/requests?lang=en",
        Some(&cookie),
        &[("csrf", &token), ("kind", "portability")],
    )
    .await;
    // Acknowledged, and a code to confirm it sent: the customer is taken to enter it.
    assert_eq!(response.status(), 303);
    let verify = header(&response, "location").to_owned();
    assert!(
        verify.starts_with("/privacy-centre/requests/verify?lang=en&request=req_")
            && verify.ends_with("&sent=1"),
        "{verify}"
    );
    let response = post(
        &app,
        "/privacy-centre/requests?lang=en",
        Some(&cookie),
        &[("csrf", &token), ("kind", "deletion"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(response.status(), 303);
    // Asked twice: merged into the open one, whose code is sent anew.
    let response = post(
        &app,
        "/privacy-centre/requests?lang=en",
        Some(&cookie),
        &[("csrf", &token), ("kind", "portability")],
    )
    .await;
    assert_eq!(header(&response, "location"), verify);
    let page = body_text(get(&app, "/privacy-centre/requests?lang=en", Some(&cookie)).await).await;
    assert!(page.contains("data-kind=\"portability\""));
    assert!(page.contains("data-kind=\"deletion\""));
    // Received Thursday 2026-01-01: 10 working days for portability, 20 for deletion
    // (Vietnamese rules, weekends off).
    assert!(page.contains("2026-01-15"), "portability due date");
    assert!(page.contains("2026-01-29"), "deletion due date");
    assert_eq!(page.matches("<tr id=\"request-").count(), 2);
    // Neither is confirmed yet: each row says how.
    assert_eq!(page.matches("Enter the code").count(), 2);
}

/// The hidden value of `name` in a form of `page`.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap() + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_confirmed_copy_downloads_once_and_a_confirmed_deletion_ends_everything() {
    let app = spawn_app().await;
    let id = customer(&app).await;
    let cookie = sign_in(&app).await;
    let page = body_text(get(&app, "/privacy-centre/requests?lang=en", Some(&cookie)).await).await;
    let token = csrf(&page);
    let response = post(
        &app,
        "/privacy-centre/requests?lang=en",
        Some(&cookie),
        &[("csrf", &token), ("kind", "portability")],
    )
    .await;
    let verify = header(&response, "location").to_owned();
    let page = body_text(get(&app, &verify, Some(&cookie)).await).await;
    assert!(page.contains("<label for=\"request-code\">"));
    let request = hidden(&page, "request");
    // A wrong code changes nothing and says so.
    let code = app.notifier.last_code().unwrap().to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let response = post(
        &app,
        "/privacy-centre/requests/verify?lang=en",
        Some(&cookie),
        &[("csrf", &token), ("request", &request), ("code", wrong)],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(body_text(response).await.contains("invalid_code"));
    let response = post(
        &app,
        "/privacy-centre/requests/verify?lang=en",
        Some(&cookie),
        &[("csrf", &token), ("request", &request), ("code", &code)],
    )
    .await;
    assert_eq!(response.status(), 200);
    let ready = body_text(response).await;
    assert!(ready.contains("Your copy is ready"));
    let start = ready.find("/privacy-centre/exports/csx_").unwrap();
    let link = ready[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let response = get(&app, &link, Some(&cookie)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/zip");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    assert!(archive.by_name("report.html").is_ok());
    // Once.
    let response = get(&app, &link, Some(&cookie)).await;
    assert_eq!(response.status(), 404);
    // The completed request offers a fresh copy.
    let page = body_text(get(&app, "/privacy-centre/requests?lang=en", Some(&cookie)).await).await;
    assert!(page.contains("Download my data"));

    // Deletion, confirmed: the report, and the session is over.
    let response = post(
        &app,
        "/privacy-centre/requests?lang=en",
        Some(&cookie),
        &[("csrf", &token), ("kind", "deletion"), ("confirm", "yes")],
    )
    .await;
    let verify = header(&response, "location").to_owned();
    let page = body_text(get(&app, &verify, Some(&cookie)).await).await;
    let request = hidden(&page, "request");
    let code = app.notifier.last_code().unwrap().to_string();
    let response = post(
        &app,
        "/privacy-centre/requests/verify?lang=en",
        Some(&cookie),
        &[("csrf", &token), ("request", &request), ("code", &code)],
    )
    .await;
    assert_eq!(response.status(), 200);
    let cleared = set_cookie(&response, "__Host-custodian_centre").unwrap();
    assert!(cleared.contains("Max-Age=0"));
    let report = body_text(response).await;
    assert!(report.contains("Your data has been deleted"));
    assert!(report.contains("data-category=\"account_email\""));
    let response = get(&app, "/privacy-centre/requests?lang=en", Some(&cookie)).await;
    assert_eq!(response.status(), 303, "the session is gone");
    let read = body_json(
        app.call("GET", &format!("/v1/customers/{id}?purpose=account"), None)
            .await,
    )
    .await;
    assert_eq!(
        read["fields"]["account_email.email"],
        serde_json::json!({ "withheld": "erased" })
    );
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = spawn_app().await;
    customer(&app).await;
    let cookie = sign_in(&app).await;
    let page = body_text(get(&app, "/privacy-centre?lang=en", Some(&cookie)).await).await;
    let token = csrf(&page);
    let response = post(
        &app,
        "/privacy-centre/sign-out?lang=en",
        Some(&cookie),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(response.status(), 303);
    let cleared = set_cookie(&response, "__Host-custodian_centre").unwrap();
    assert!(cleared.contains("Max-Age=0"));
    let response = get(&app, "/privacy-centre?lang=en", Some(&cookie)).await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn a_wrong_code_is_a_page_that_tells_nothing() {
    let app = spawn_app().await;
    customer(&app).await;
    let page = get(&app, "/privacy-centre/sign-in?lang=en", None).await;
    let pre = format!(
        "__Host-custodian_centre_pre={}",
        cookie_value(&set_cookie(&page, "__Host-custodian_centre_pre").unwrap())
    );
    let token = csrf(&body_text(page).await);
    let response = post(
        &app,
        "/privacy-centre/sign-in?lang=en",
        Some(&pre),
        &[("csrf", &token), ("email", EMAIL), ("code", "000000")],
    )
    .await;
    assert_eq!(response.status(), 401);
    assert!(set_cookie(&response, "__Host-custodian_centre").is_none());
    let body = body_text(response).await;
    assert!(!body.contains(EMAIL));
    assert!(body.contains("is not right"));
}

#[tokio::test]
async fn a_password_signs_in_too() {
    let app = spawn_app().await;
    customer(&app).await;
    let token = app.customer_session(EMAIL).await;
    let password = "a long passphrase for the centre 7";
    let response = app
        .call_as(
            Some(&token),
            "POST",
            "/v1/account/password",
            Some(json!({ "password": password }).to_string()),
        )
        .await;
    assert_eq!(response.status(), 204);
    let page = get(&app, "/privacy-centre/sign-in?lang=en", None).await;
    let pre = format!(
        "__Host-custodian_centre_pre={}",
        cookie_value(&set_cookie(&page, "__Host-custodian_centre_pre").unwrap())
    );
    let csrf_token = csrf(&body_text(page).await);
    let response = post(
        &app,
        "/privacy-centre/sign-in?lang=en",
        Some(&pre),
        &[
            ("csrf", &csrf_token),
            ("email", EMAIL),
            ("password", "wrong one"),
        ],
    )
    .await;
    assert_eq!(response.status(), 401);
    assert!(!body_text(response).await.contains("wrong one"));
    let response = post(
        &app,
        "/privacy-centre/sign-in?lang=en",
        Some(&pre),
        &[
            ("csrf", &csrf_token),
            ("email", EMAIL),
            ("password", password),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let session = set_cookie(&response, "__Host-custodian_centre").unwrap();
    let cookie = format!("__Host-custodian_centre={}", cookie_value(&session));
    let page = body_text(get(&app, "/privacy-centre?lang=en", Some(&cookie)).await).await;
    assert!(page.contains(NAME));
}

#[tokio::test]
async fn the_ledger_page_shows_a_delivery_without_its_values() {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use custodian_core::ids::CustomerId;
    use custodian_core::outbox::dispatch::{DispatchSettings, Dispatcher};
    use custodian_core::vault::PartnerMessage;
    use custodian_partners::fake_partner::FakePartner;
    use custodian_partners::{Endpoint, HttpPartnerSender};

    const PARTNER_SECRET: &[u8] = b"carrier-webhook-secret-0123456789";
    let app = spawn_app().await;
    let id = CustomerId::parse(&customer(&app).await).unwrap();
    app.vault
        .enqueue_partner_message(PartnerMessage {
            partner: app.vault.declared_partner("carrier").unwrap(),
            customer: id,
            kind: "order.fulfilling".into(),
            idempotency_key: "order-centre-1".into(),
            consent: None,
            data: BTreeMap::from([
                ("order_recipient.recipient_name".to_owned(), json!(NAME)),
                (
                    "order_shipping_address.province".to_owned(),
                    json!("Marker Province 7f3a"),
                ),
            ]),
        })
        .await
        .unwrap();
    let carrier = FakePartner::start(PARTNER_SECRET).await.unwrap();
    let sender = HttpPartnerSender::new(
        BTreeMap::from([(
            "carrier".to_owned(),
            Endpoint {
                url: carrier.url(),
                secret: zeroize::Zeroizing::new(PARTNER_SECRET.to_vec()),
            },
        )]),
        Duration::from_secs(2),
    )
    .unwrap();
    let dispatcher = Dispatcher::new(
        app.vault.clone(),
        app.outbox.clone(),
        Arc::new(sender),
        app.clock.clone(),
        DispatchSettings::default(),
    );
    dispatcher.run_once().await.unwrap();

    let cookie = sign_in(&app).await;
    let page =
        body_text(get(&app, "/privacy-centre/recipients?lang=en", Some(&cookie)).await).await;
    let partners = page.split("<h2>Partners</h2>").nth(1).unwrap();
    let partners = partners.split("<h2>Authorities</h2>").next().unwrap();
    assert!(partners.contains("<table>"), "{partners}");
    assert!(!partners.contains("Nothing sent yet."));
    assert!(partners.contains("Delivery carrier"), "{partners}");
    assert!(!page.contains("Marker Province"), "no value is shown");
    assert!(page.contains("No disclosure."), "no authority");
}
