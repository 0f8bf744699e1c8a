#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests fail loudly"
)]
//! The SMTP notifier against a fake relay on loopback: what is sent, to whom, and how a
//! refusing, absent or silent relay fails.

use std::time::Duration;

use custodian_core::notify::{
    Channel, CodeMessage, CodePurpose, Contact, NoticeMessage, Notifier, NotifyError,
};
use custodian_crypto::OneTimeCode;
use custodian_notify::fake_relay::{Behaviour, FakeRelay};
use custodian_notify::{SmtpConfigError, SmtpNotifier, SmtpSettings};
use custodian_policy::Lang;
use jiff::{SignedDuration, Timestamp};

const TO: &str = "tran.hung.dao@example.com";

fn settings(url: &str) -> SmtpSettings {
    SmtpSettings {
        url: url.to_owned(),
        password: None,
        from: "htpmart <no-reply@htpmart.example>".to_owned(),
        reply_to: Some("care@htpmart.example".to_owned()),
        timeout: Duration::from_secs(5),
    }
}

fn message(lang: Lang, purpose: CodePurpose) -> CodeMessage {
    CodeMessage::new(
        OneTimeCode::generate(6).unwrap(),
        purpose,
        lang,
        Timestamp::from_second(1_800_000_600).unwrap(),
        SignedDuration::from_mins(10),
    )
}

fn contact(address: &str) -> Contact {
    Contact::new(Channel::Email, address.to_owned())
}

#[tokio::test]
async fn codes_go_to_the_address_with_subject_body_and_headers_in_both_languages() {
    let relay = FakeRelay::start(Behaviour::Accept).await.unwrap();
    let notifier = SmtpNotifier::new(&settings(&relay.url())).unwrap();
    assert!(notifier.delivers(Channel::Email));
    assert!(!notifier.delivers(Channel::Phone));
    let mut expected = Vec::new();
    for lang in Lang::ALL {
        for purpose in [CodePurpose::CustomerSignIn, CodePurpose::CareVerification] {
            let m = message(lang, purpose);
            notifier.send_code(&contact(TO), &m).await.unwrap();
            expected.push((m.subject(), m.render().to_string(), m.code().to_owned()));
        }
    }
    let received = relay.received();
    assert_eq!(received.len(), expected.len());
    for (got, (subject, text, code)) in received.iter().zip(&expected) {
        assert_eq!(got.mail_from, "<no-reply@htpmart.example>");
        assert_eq!(got.rcpt_to, vec![format!("<{TO}>")]);
        assert_eq!(got.header("Subject").unwrap(), *subject, "{}", got.data);
        assert_eq!(
            got.header("From").unwrap(),
            "htpmart <no-reply@htpmart.example>"
        );
        assert_eq!(got.header("To").unwrap(), TO);
        assert_eq!(got.header("Reply-To").unwrap(), "care@htpmart.example");
        assert!(
            got.header("Content-Type")
                .unwrap()
                .to_ascii_lowercase()
                .contains("charset=utf-8")
        );
        let id = got.header("Message-ID").unwrap();
        assert!(
            id.starts_with('<') && id.ends_with("@htpmart.example>"),
            "{id}"
        );
        // The Date is the code's making, by the injected clock: 10 minutes before expiry.
        assert!(
            got.header("Date").unwrap().contains("2027"),
            "{:?}",
            got.header("Date")
        );
        let body = got.body().unwrap();
        assert_eq!(body.trim_end(), text.as_str());
        assert!(body.contains(code.as_str()));
        assert!(!subject.contains(code.as_str()));
    }
    assert!(expected.iter().any(|(s, ..)| s.contains("Mã")));
    let ids: std::collections::HashSet<_> =
        received.iter().map(|r| r.header("Message-ID")).collect();
    assert_eq!(ids.len(), received.len(), "every Message-ID differs");
}

#[tokio::test]
async fn a_notice_about_a_request_goes_out_as_plain_text() {
    let relay = FakeRelay::start(Behaviour::Accept).await.unwrap();
    let notifier = SmtpNotifier::new(&settings(&relay.url())).unwrap();
    let text = "Yêu cầu của bạn cần thêm thời gian.\n\nYour request needs more time.\n";
    let notice = NoticeMessage::new(
        "Về yêu cầu dữ liệu cá nhân của bạn / About your personal-data request",
        text.to_owned(),
        Timestamp::from_second(1_800_000_000).unwrap(),
    );
    notifier.send_notice(&contact(TO), &notice).await.unwrap();
    let received = relay.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, vec![format!("<{TO}>")]);
    assert_eq!(received[0].header("Subject").unwrap(), notice.subject);
    // SMTP carries lines ended by CRLF.
    assert_eq!(
        received[0].body().unwrap().replace("\r\n", "\n").trim_end(),
        text.trim_end()
    );
    let phone = Contact::new(Channel::Phone, "+84901234567".to_owned());
    assert!(matches!(
        notifier.send_notice(&phone, &notice).await,
        Err(NotifyError::ChannelUnavailable(Channel::Phone))
    ));
}

#[tokio::test]
async fn a_phone_is_refused_without_a_connection() {
    let relay = FakeRelay::start(Behaviour::Accept).await.unwrap();
    let notifier = SmtpNotifier::new(&settings(&relay.url())).unwrap();
    let phone = Contact::new(Channel::Phone, "+84901234567".to_owned());
    let sent = notifier
        .send_code(&phone, &message(Lang::Vi, CodePurpose::CareVerification))
        .await;
    assert!(matches!(
        sent,
        Err(NotifyError::ChannelUnavailable(Channel::Phone))
    ));
    assert!(relay.received().is_empty());
}

#[tokio::test]
async fn a_refusing_relay_fails_without_naming_the_address() {
    let relay = FakeRelay::start(Behaviour::RefuseRecipient).await.unwrap();
    let notifier = SmtpNotifier::new(&settings(&relay.url())).unwrap();
    let m = message(Lang::En, CodePurpose::CustomerSignIn);
    let error = notifier.send_code(&contact(TO), &m).await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, NotifyError::Failed(_)));
    assert!(text.contains("550"), "{text}");
    assert!(
        !text.contains("example.com") && !text.contains(m.code()),
        "{text}"
    );
    assert!(relay.received().is_empty());
}

#[tokio::test]
async fn a_relay_that_is_down_fails() {
    let port = {
        let relay = FakeRelay::start(Behaviour::Accept).await.unwrap();
        relay.port()
    };
    // Nothing listens there any more (the relay and its listener are gone).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let notifier = SmtpNotifier::new(&settings(&format!("smtp://127.0.0.1:{port}"))).unwrap();
    let error = notifier
        .send_code(
            &contact(TO),
            &message(Lang::En, CodePurpose::CustomerSignIn),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, NotifyError::Failed(_)));
    assert!(!error.to_string().contains("tran.hung.dao"), "{error}");
}

#[tokio::test]
async fn a_silent_relay_times_out() {
    let relay = FakeRelay::start(Behaviour::Silent).await.unwrap();
    let mut s = settings(&relay.url());
    s.timeout = Duration::from_millis(300);
    let notifier = SmtpNotifier::new(&s).unwrap();
    let started = std::time::Instant::now();
    let error = notifier
        .send_code(
            &contact(TO),
            &message(Lang::En, CodePurpose::CustomerSignIn),
        )
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(error, NotifyError::Failed(_)));
    assert!(error.to_string().contains("did not answer"), "{error}");
}

#[test]
fn bad_settings_are_refused_without_quoting_the_url() {
    let refused = |url: &str, from: &str| {
        let mut s = settings(url);
        s.from = from.to_owned();
        let e = SmtpNotifier::new(&s).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        e
    };
    let ok_from = "no-reply@htpmart.example";
    assert_eq!(refused("not a url", ok_from), SmtpConfigError::NotAUrl);
    assert_eq!(
        refused("http://u:hunter2@mail.example", ok_from),
        SmtpConfigError::Scheme("http".into())
    );
    assert_eq!(
        refused("smtp://mail.example?tls=maybe", ok_from),
        SmtpConfigError::Tls
    );
    assert_eq!(
        refused("smtp://u:hunter2@mail.example:25", ok_from),
        SmtpConfigError::CleartextCredentials
    );
    assert!(matches!(
        refused("smtps://u:hunter2@mail.example", "not an address"),
        SmtpConfigError::Address { what: "From", .. }
    ));
    // Credentials over TLS, or to a relay on this machine, are fine.
    for url in [
        "smtps://u:hunter2@mail.example",
        "smtp://u:hunter2@mail.example:587?tls=required",
        "smtp://u:hunter2@127.0.0.1:25",
        "smtp://localhost:25",
    ] {
        let notifier = SmtpNotifier::new(&settings(url)).unwrap();
        assert!(!notifier.relay().contains("hunter2"));
        assert!(!format!("{notifier:?} {:?}", settings(url)).contains("hunter2"));
    }
    let mut s = settings("smtps://mail.example");
    s.password = Some("hunter2".into());
    assert_eq!(
        SmtpNotifier::new(&s).unwrap_err(),
        SmtpConfigError::PasswordWithoutUser
    );
}
