//! Errors never repeat what was sent (README; P17: no personal data in error messages): every
//! route the router has — its own list, so a new route is covered by existing — and every
//! method it answers, called as the storefront integration, as staff (admin, DPO) and as a
//! signed-in customer, with a canary in each query parameter a route may read, in each key and
//! value shape of a JSON body, in the path's parameters and in the `Custodian-Purpose` and
//! `Accept-Language` headers. No error answer (status 400 and above) may contain the canary:
//! not whole, not cut short, not when it looks like an identifier.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{STAFF_PASSWORD, TOKEN, TestApp, spawn_app};

/// What must never come back; both canaries contain one of these.
const MARKS: [&str; 2] = ["zqcanary", "zq-canary"];

/// The canaries: one that looks like an identifier (lower-case letters and digits, the shape
/// a "show it if it looks like an id" filter lets through) and a 10 KB one.
fn canaries() -> [String; 2] {
    ["zqcanary7f3a".to_owned(), "zq-canary-7f3a-".repeat(700)]
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Every name a handler reads from a query string or a JSON body (the fields of the
/// request types in crates/http/src/routes and centre), and a few more a route could read.
const NAMES: &[&str] = &[
    "purpose",
    "purposes",
    "lang",
    "format",
    "version",
    "role",
    "subject",
    "status",
    "state",
    "kind",
    "channel",
    "operations",
    "restricted",
    "categories",
    "fields",
    "items",
    "options",
    "choices",
    "notice_version",
    "given_by",
    "recording_id",
    "representative_name",
    "authority",
    "reason",
    "reference",
    "details",
    "period_from",
    "period_to",
    "complete_by",
    "silence_until",
    "partners_involved",
    "customer",
    "customers",
    "care_session",
    "fulfilling_order",
    "integration",
    "request",
    "to",
    "id",
    "name",
    "login",
    "email",
    "phone",
    "code",
    "totp",
    "password",
    "current_password",
    "new_password",
    "client",
    "ip",
    "user_agent",
    "gpc",
    "notify",
    "partner",
];

/// A route's path with its parameters filled with `with`.
fn concrete(path: &str, with: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                with
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

/// The JSON bodies that carry `c`: each name as a string and as a list; and the shapes the
/// API's bodies really have (an object's keys, lists of objects), with `c` in one place each.
fn bodies(c: &str, version: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for name in NAMES {
        out.push(json!({ *name: c }));
        if c.len() < 100 {
            out.push(json!({ *name: [c] }));
        }
    }
    if c.len() >= 100 {
        // The long canary: once in each name is enough (the short one finds the rest).
        return out;
    }
    let choice = |choice: Value| json!({ "notice_version": version, "channel": "web_form", "choices": [choice] });
    out.extend([
        choice(json!({ "purpose": c, "state": "granted" })),
        choice(json!({ "purpose": "marketing", "state": c })),
        choice(json!({ "purpose": "marketing", "state": "granted", "options": { c: "x" } })),
        choice(
            json!({ "purpose": "marketing", "state": "granted", "options": { "marketing_preferences.channels": [c] } }),
        ),
        json!({ "notice_version": c, "channel": "web_form", "choices": [] }),
        json!({ "notice_version": version, "channel": c, "choices": [] }),
        json!({ "fields": { c: "x" } }),
        json!({ "fields": { "account_name.full_name": "Khách Thử", c: "x" } }),
        json!({ "fields": { "account_email.email": c } }),
        json!({ "fields": [c] }),
        json!({ "items": [{ c: "x" }] }),
        json!({ "login": "canary@staff.example", "role": c, "password": "correct horse battery staple 42" }),
        json!({ "name": "canary", "operations": [c], "purposes": ["account"] }),
        json!({ "name": "canary", "operations": ["customers.read"], "purposes": [c] }),
        json!({ "name": "canary", "operations": ["customers.read"], "purposes": ["account"], "restricted": [c] }),
        json!({ "kind": c, "purpose": "account" }),
        json!({ "authority": c, "categories": [c], "purpose": c }),
        json!({ "to": c }),
        json!({ "status": c }),
    ]);
    out
}

struct Caller {
    name: &'static str,
    token: Option<String>,
}

/// The answer if it is an error holding a mark, for the failure message.
async fn echo(response: axum::response::Response) -> Option<String> {
    let status = response.status();
    if status < StatusCode::BAD_REQUEST {
        return None;
    }
    let headers: Vec<String> = response
        .headers()
        .iter()
        .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).to_lowercase();
    let shown = |t: &str| MARKS.iter().any(|m| t.contains(m));
    let head = headers.iter().find(|h| shown(&h.to_lowercase()));
    if shown(&text) || head.is_some() {
        let cut: String = text.chars().take(300).collect();
        Some(format!(
            "{status} {cut} {}",
            head.cloned().unwrap_or_default()
        ))
    } else {
        None
    }
}

fn build(
    caller: &Caller,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = &caller.token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => request.body(Body::empty()).unwrap(),
    }
}

/// Sends every canary placement for one route and method; returns the echoes found.
async fn probe(
    app: &TestApp,
    caller: &Caller,
    method: &str,
    path: &str,
    version: &str,
) -> Vec<String> {
    let mut found = Vec::new();
    let plain = concrete(path, "x1");
    let with_body = matches!(method, "POST" | "PUT" | "PATCH");
    let mut report = |what: String, echoed: Option<String>| {
        if let Some(e) = echoed {
            found.push(format!("{} {method} {path} {what}: {e}", caller.name));
        }
    };
    for c in canaries() {
        let short: String = c.chars().take(20).collect();
        // The query: each name alone, beside a valid purpose (so that the handler runs).
        for name in NAMES {
            let uri = if *name == "purpose" {
                format!("{plain}?purpose={}", encoded(&c))
            } else {
                format!("{plain}?purpose=account&{name}={}", encoded(&c))
            };
            let r = app.send(build(caller, method, &uri, &[], None)).await;
            report(format!("?{name}={short}…"), echo(r).await);
        }
        // The path's parameters.
        if path.contains('{') {
            let uri = format!("{}?purpose=account", concrete(path, &c));
            let r = app.send(build(caller, method, &uri, &[], None)).await;
            report(format!("path {short}…"), echo(r).await);
        }
        // The headers.
        for header in ["custodian-purpose", "accept-language"] {
            let r = app
                .send(build(caller, method, &plain, &[(header, &c)], None))
                .await;
            report(format!("{header}: {short}…"), echo(r).await);
        }
        // The body.
        if with_body {
            for body in bodies(&c, version) {
                let uri = format!("{plain}?purpose=account");
                let r = app
                    .send(build(caller, method, &uri, &[], Some(&body)))
                    .await;
                let shape: String = body.to_string().chars().take(80).collect();
                report(format!("body {shape}"), echo(r).await);
            }
        }
    }
    found
}

async fn signed_in(app: &TestApp, caller: &Caller, uri: &str) -> bool {
    let r = app.send(build(caller, "GET", uri, &[], None)).await;
    r.status() != StatusCode::UNAUTHORIZED
}

#[tokio::test]
#[allow(clippy::print_stderr, reason = "how long the sweep took")]
async fn no_error_on_any_route_repeats_a_canary_sent_in_query_body_path_or_headers() {
    let app = spawn_app().await;
    let paths = custodian_http::route_paths();
    assert!(paths.len() > 60, "{} routes", paths.len());
    let version = app.version.version.clone();
    let email = "canary.customer@example.com";
    app.create(json!({
        "account_name.full_name": "Khách Thử",
        "account_email.email": email,
    }))
    .await;
    let mut callers = [
        Caller {
            name: "storefront",
            token: Some(TOKEN.to_owned()),
        },
        Caller {
            name: "admin",
            token: Some(app.staff("admin").await),
        },
        Caller {
            name: "customer",
            token: Some(app.customer_session(email).await),
        },
        Caller {
            name: "visitor",
            token: None,
        },
    ];
    let mut echoes = Vec::new();
    let mut probed = 0;
    let started = std::time::Instant::now();
    for path in paths.iter().map(String::as_str) {
        // A probe may well have signed a session out: a new one then.
        if !signed_in(&app, &callers[1], "/v1/users").await {
            callers[1].token = Some(app.sign_in("admin@staff.example", STAFF_PASSWORD).await);
        }
        if !signed_in(&app, &callers[2], "/v1/account/consents").await {
            callers[2].token = Some(app.customer_session(email).await);
        }
        for method in METHODS {
            // Only the methods the route answers (the router says 405 to the others).
            let plain = concrete(path, "x1");
            let r = app
                .send(build(&callers[0], method, &plain, &[], None))
                .await;
            if r.status() == StatusCode::METHOD_NOT_ALLOWED {
                continue;
            }
            // The customer's own routes as the customer, the privacy centre as a visitor, the
            // rest as the storefront integration and as an administrator.
            let who: &[usize] = if path.starts_with("/v1/account") {
                &[2]
            } else if path.starts_with("/privacy-centre") {
                &[3]
            } else {
                &[0, 1]
            };
            for caller in who.iter().filter_map(|i| callers.get(*i)) {
                probed += 1;
                echoes.extend(probe(&app, caller, method, path, &version).await);
            }
        }
    }
    eprintln!("{probed} probed in {:?}", started.elapsed());
    assert!(probed > 100, "only {probed} route, method and caller pairs");
    assert!(
        echoes.is_empty(),
        "{} errors repeat what was sent:\n{}",
        echoes.len(),
        echoes.join("\n")
    );
}
