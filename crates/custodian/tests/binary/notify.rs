//! End to end: `custodian serve` with a relay configured sends a customer's sign-in code by
//! email, and the code from that email signs the customer in. The relay is a fake on loopback.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use custodian_notify::fake_relay::{Behaviour, FakeRelay};

const EMAIL: &str = "le.loi.e2e@example.com";

/// One request with the given bearer token (or none).
fn call(
    address: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    (status, body.to_owned())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn a_customer_signs_in_with_the_code_emailed_through_the_relay() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let relay = runtime
        .block_on(FakeRelay::start(Behaviour::Accept))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = relay.url();
    let server = common::start(
        dir.path(),
        &[
            ("CUSTODIAN_NOTIFY__SMTP_URL", url.as_str()),
            (
                "CUSTODIAN_NOTIFY__FROM",
                "htpmart <no-reply@htpmart.example>",
            ),
        ],
    );
    let address = server.address.clone();

    let (status, body) = call(
        &address,
        "POST",
        "/v1/customers?purpose=account",
        Some(common::TOKEN),
        &format!(
            r#"{{"fields": {{"account_name.full_name": "Lê Lợi", "account_email.email": "{EMAIL}"}}}}"#
        ),
    );
    assert_eq!(status, 201, "{body}");
    let id = json(&body)["id"].as_str().unwrap().to_owned();

    let (status, body) = call(
        &address,
        "POST",
        "/v1/customer-sessions/code",
        None,
        &format!(r#"{{"email": "{EMAIL}", "lang": "vi"}}"#),
    );
    assert_eq!(status, 202, "{body}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while relay.received().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let received = relay.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.rcpt_to, vec![format!("<{EMAIL}>")]);
    assert_eq!(
        mail.header("From").unwrap(),
        "htpmart <no-reply@htpmart.example>"
    );
    assert_eq!(mail.header("Subject").unwrap(), "Mã đăng nhập htpmart");
    let text = mail.body().unwrap();
    let code: String = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_owned();

    let (status, body) = call(
        &address,
        "POST",
        "/v1/customer-sessions",
        None,
        &format!(r#"{{"email": "{EMAIL}", "code": "{code}"}}"#),
    );
    assert_eq!(status, 201, "{body}");
    let session = json(&body);
    let token = session["token"].as_str().unwrap().to_owned();
    assert_eq!(session["customer"], id.as_str());

    let (status, body) = call(
        &address,
        "GET",
        &format!("/v1/customers/{id}?purpose=account"),
        Some(&token),
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(EMAIL),
        "the customer reads their own record: {body}"
    );

    let log = server.log.lock().unwrap().join("\n");
    assert!(log.contains("one-time codes are sent by email"), "{log}");
    assert!(!log.contains(EMAIL) && !log.contains("le.loi"), "{log}");
    assert!(!log.contains(&code), "{log}");
    assert!(!log.contains(&token), "{log}");
}

#[test]
fn without_a_relay_codes_are_refused_and_the_start_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]);
    let (status, body) = call(
        &server.address,
        "POST",
        "/v1/customer-sessions/code",
        None,
        &format!(r#"{{"email": "{EMAIL}"}}"#),
    );
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("notifier_unavailable"), "{body}");
    let log = server.log.lock().unwrap().join("\n");
    assert!(log.contains("one-time codes cannot be sent"), "{log}");
}

#[test]
fn a_bad_relay_url_refuses_to_start_without_printing_the_password() {
    let dir = tempfile::tempdir().unwrap();
    for (url, from, expected) in [
        (
            "smtp://user:hunter2@mail.example:25",
            "no-reply@example.com",
            "in the clear",
        ),
        (
            "gopher://user:hunter2@mail.example",
            "no-reply@example.com",
            "gopher",
        ),
        (
            "smtps://user:hunter2@mail.example",
            "not an address",
            "not an email address",
        ),
    ] {
        let output = common::custodian(dir.path())
            .arg("serve")
            .env("CUSTODIAN_NOTIFY__SMTP_URL", url)
            .env("CUSTODIAN_NOTIFY__FROM", from)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}
