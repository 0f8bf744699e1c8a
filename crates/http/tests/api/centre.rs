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

/// A customer signed in on their requests page: the session cookie and the page's form token.
async fn on_requests_page(app: &TestApp) -> (String, String) {
    customer(app).await;
    let cookie = sign_in(app).await;
    let page = body_text(get(app, "/privacy-centre/requests?lang=en", Some(&cookie)).await).await;
    let token = csrf(&page);
    (cookie, token)
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
    let (cookie, token) = on_requests_page(&app).await;
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
    let body = body_text(response).await;
    assert!(body.contains("data-error=\"invalid_code\""));
    // The code form again, the error beside its field.
    assert!(
        !body.contains("This could not be done"),
        "not the error page"
    );
    assert!(body.contains(&format!("name=\"request\" value=\"{request}\"")));
    assert!(
        body.contains("<span class=\"field-error\" id=\"request-code-error\">The code is wrong.")
    );
    assert!(body.contains("aria-invalid=\"true\" aria-describedby=\"request-code-error\""));
    assert!(!body.contains(wrong), "the code typed is not shown");
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

/// The pre-session cookie and the CSRF token of a fresh sign-in page.
async fn sign_in_form(app: &TestApp) -> (String, String) {
    let page = get(app, "/privacy-centre/sign-in?lang=en", None).await;
    let pre = format!(
        "__Host-custodian_centre_pre={}",
        cookie_value(&set_cookie(&page, "__Host-custodian_centre_pre").unwrap())
    );
    (pre, csrf(&body_text(page).await))
}

#[tokio::test]
async fn a_wrong_code_shows_the_code_form_again_and_tells_nothing() {
    let app = spawn_app().await;
    customer(&app).await;
    let (pre, token) = sign_in_form(&app).await;
    let wrong = |email: &'static str, lang: &'static str| {
        let (app, pre, token) = (&app, &pre, &token);
        async move {
            post(
                app,
                &format!("/privacy-centre/sign-in?lang={lang}"),
                Some(pre),
                &[("csrf", token), ("email", email), ("code", "000000")],
            )
            .await
        }
    };
    let response = wrong(EMAIL, "en").await;
    assert_eq!(response.status(), 401);
    assert!(set_cookie(&response, "__Host-custodian_centre").is_none());
    let body = body_text(response).await;
    // The same form, the error beside the code field; the email typed kept in its field.
    assert!(
        !body.contains("This could not be done"),
        "not the error page"
    );
    assert!(body.contains(
        "<span class=\"field-error\" id=\"code-error\">The code is wrong or has expired."
    ));
    assert!(body.contains(
        "<input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" required maxlength=\"12\" aria-invalid=\"true\" \
         aria-describedby=\"code-error\" autofocus>"
    ));
    assert!(body.contains(&format!("value=\"{EMAIL}\"")));
    assert_eq!(
        body.matches(EMAIL).count(),
        2,
        "the two forms' email fields only"
    );
    assert!(!body.contains("000000"), "the code typed is not shown");
    // Which of email and code was wrong is never said: an unknown email gets the same page.
    let other = "nobody.here@example.com";
    let unknown = body_text(wrong(other, "en").await).await;
    assert_eq!(unknown.replace(other, EMAIL), body);
    // In the visitor's language.
    let response = wrong(EMAIL, "vi").await;
    assert_eq!(response.status(), 401);
    let body = body_text(response).await;
    assert!(body.contains("<html lang=\"vi\">"));
    assert!(body.contains("Mã không đúng hoặc đã hết hạn."), "{body}");
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
    let body = body_text(response).await;
    assert!(!body.contains("wrong one"));
    // The password form again, the email kept, the error beside the password field.
    assert!(
        !body.contains("This could not be done"),
        "not the error page"
    );
    assert!(body.contains(
        "<span class=\"field-error\" id=\"password-error\">The email or password is wrong.</span>"
    ));
    assert!(body.contains(
        "type=\"password\" autocomplete=\"current-password\" required aria-invalid=\"true\" \
         aria-describedby=\"password-error\" autofocus>"
    ));
    assert!(body.contains(&format!(
        "id=\"password-email\" name=\"email\" type=\"email\" autocomplete=\"email\" \
         required maxlength=\"254\" value=\"{EMAIL}\""
    )));
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

#[tokio::test]
async fn an_objection_starts_on_no_purpose_and_is_refused_without_one() {
    let app = spawn_app().await;
    customer(&app).await;
    let cookie = sign_in(&app).await;
    let page = body_text(get(&app, "/privacy-centre/requests?lang=en", Some(&cookie)).await).await;
    let select = page
        .split("<select id=\"objection-purpose\"")
        .nth(1)
        .unwrap();
    assert!(
        select.starts_with(
            " name=\"purpose\" required><option value=\"\" selected>— Choose a purpose —</option><option value=\""
        ),
        "{select}"
    );
    let token = csrf(&page);
    for purpose in [None, Some(""), Some("  ")] {
        let mut pairs = vec![("csrf", token.as_str()), ("kind", "objection")];
        if let Some(p) = purpose {
            pairs.push(("purpose", p));
        }
        let response = post(
            &app,
            "/privacy-centre/requests?lang=en",
            Some(&cookie),
            &pairs,
        )
        .await;
        assert_eq!(response.status(), 400, "{purpose:?}");
        let body = body_text(response).await;
        assert!(body.contains(
            "<p class=\"error\" role=\"alert\"><a href=\"#objection-purpose\">Choose the purpose you object to. The request was not sent.</a></p>"
        ));
        assert!(body.contains(
            "<select id=\"objection-purpose\" name=\"purpose\" required aria-invalid=\"true\" aria-describedby=\"objection-purpose-error\" autofocus>"
        ));
    }
    // In Vietnamese too.
    let response = post(
        &app,
        "/privacy-centre/requests?lang=vi",
        Some(&cookie),
        &[("csrf", &token), ("kind", "objection"), ("purpose", "")],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(
        body_text(response)
            .await
            .contains("Hãy chọn mục đích bạn phản đối.")
    );
    // Nothing was asked.
    let page = body_text(get(&app, "/privacy-centre/requests?lang=en", Some(&cookie)).await).await;
    assert!(page.contains("You have made no request."));
    // A real purpose goes through (to its code).
    let response = post(
        &app,
        "/privacy-centre/requests?lang=en",
        Some(&cookie),
        &[
            ("csrf", &token),
            ("kind", "objection"),
            ("purpose", "marketing"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
}

/// The `Days left` cell of the row of the request of `kind` in `page`.
fn days_left_cell<'p>(page: &'p str, kind: &str) -> &'p str {
    let row = page
        .split("<tr id=\"request-")
        .find(|r| r.contains(&format!("data-kind=\"{kind}\"")))
        .unwrap_or_else(|| panic!("no {kind} row in {page}"));
    let cell = row.split("<td data-label=\"Days left\">").nth(1).unwrap();
    cell.split("</td>").next().unwrap()
}

#[tokio::test]
async fn a_completed_or_rejected_request_shows_no_days_left() {
    let app = spawn_app().await;
    let (cookie, token) = on_requests_page(&app).await;
    // A restriction, confirmed with its code: carried out at once, completed.
    let response = post(
        &app,
        "/privacy-centre/requests?lang=en",
        Some(&cookie),
        &[("csrf", &token), ("kind", "restriction")],
    )
    .await;
    let verify = header(&response, "location").to_owned();
    let request = hidden(
        &body_text(get(&app, &verify, Some(&cookie)).await).await,
        "request",
    );
    let code = app.notifier.last_code().unwrap().to_string();
    let response = post(
        &app,
        "/privacy-centre/requests/verify?lang=en",
        Some(&cookie),
        &[("csrf", &token), ("request", &request), ("code", &code)],
    )
    .await;
    assert_eq!(response.status(), 303);
    // Access, rejected by the DPO; portability, still open.
    for kind in ["access", "portability"] {
        let response = post(
            &app,
            "/privacy-centre/requests?lang=en",
            Some(&cookie),
            &[("csrf", &token), ("kind", kind)],
        )
        .await;
        assert_eq!(response.status(), 303);
    }
    let page = body_text(get(&app, "/privacy-centre/requests?lang=en", Some(&cookie)).await).await;
    let access = page
        .split("<tr id=\"request-")
        .find(|r| r.contains("data-kind=\"access\""))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let dpo = app.staff("dpo").await;
    let response = app
        .call_as(
            Some(&dpo),
            "POST",
            &format!("/v1/requests/{access}/moves"),
            Some(json!({ "to": "rejected", "reason": "Yêu cầu trùng lặp" }).to_string()),
        )
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(response).await);

    let page = body_text(get(&app, "/privacy-centre/requests?lang=en", Some(&cookie)).await).await;
    let not_applicable =
        "<span aria-hidden=\"true\">—</span><span class=\"visually-hidden\">not applicable</span>";
    assert_eq!(days_left_cell(&page, "restriction"), not_applicable);
    assert_eq!(days_left_cell(&page, "access"), not_applicable);
    assert!(page.contains("Yêu cầu trùng lặp"), "the rejection's reason");
    // Received Thursday 2026-01-01, portability due in 10 working days: still counted.
    let open = days_left_cell(&page, "portability");
    assert!(open.parse::<i64>().is_ok(), "{open}");
}
