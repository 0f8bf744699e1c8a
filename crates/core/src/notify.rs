//! Sending one-time codes to a customer's email or phone: the [`Notifier`] port.
//!
//! The contact travels as a [`Contact`] holding a [`Personal`], so nothing outside this crate
//! reads the address by accident: a notifier reaches it through the one deliberate exit,
//! [`Contact::address_for_delivery`]. Email goes out through `custodian-notify`'s
//! `SmtpNotifier` when the service is configured with a relay; without one the service runs
//! with the [`DisabledNotifier`], and nothing that needs a code can succeed. Neither contacts
//! nor codes are ever logged, and the `Debug` of every type here hides them.

use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use zeroize::Zeroizing;

use custodian_crypto::OneTimeCode;
use custodian_policy::Lang;

use crate::access::mask;
use crate::personal::Personal;

/// Where a code goes: the customer's email or phone, in the clear (inside this crate only).
pub enum Contact {
    Email(Personal),
    Phone(Personal),
}

impl Contact {
    /// A contact from an address already checked and normalised elsewhere: for tests of
    /// notifiers outside this crate. Making one reveals nothing; reading it back is the rare
    /// act, hence [`Contact::address_for_delivery`].
    pub fn new(channel: Channel, address: String) -> Contact {
        let value = Personal::new(address);
        match channel {
            Channel::Email => Contact::Email(value),
            Channel::Phone => Contact::Phone(value),
        }
    }

    pub fn channel(&self) -> Channel {
        match self {
            Contact::Email(_) => Channel::Email,
            Contact::Phone(_) => Channel::Phone,
        }
    }

    /// Enough to recognise the address (`n***@example.com`, `***-***-1234`), not to use it.
    pub fn masked(&self) -> String {
        match self {
            Contact::Email(v) => mask(custodian_policy::FieldType::Email, v.expose()),
            Contact::Phone(v) => mask(custodian_policy::FieldType::Phone, v.expose()),
        }
    }

    /// The address itself, for [`Notifier`] implementations to deliver to and for nothing
    /// else: its result must never be logged, put in an error, a metric or a `Debug` output.
    /// This is the only way the clear contact leaves this crate.
    pub fn address_for_delivery(&self) -> &str {
        self.value().expose()
    }

    pub(crate) fn value(&self) -> &Personal {
        match self {
            Contact::Email(v) | Contact::Phone(v) => v,
        }
    }
}

impl fmt::Debug for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contact::Email(_) => f.write_str("Contact::Email(<redacted>)"),
            Contact::Phone(_) => f.write_str("Contact::Phone(<redacted>)"),
        }
    }
}

/// Which of the customer's contacts a code is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Email,
    Phone,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Phone => "phone",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        match text {
            "email" => Some(Channel::Email),
            "phone" => Some(Channel::Phone),
            _ => None,
        }
    }
}

/// What a code is for: said in the message, so a customer never reads a care agent a code
/// that was meant to sign them in, or the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodePurpose {
    CustomerSignIn,
    CareVerification,
    /// Confirms that the customer made a request about their data (see it, delete it, …).
    RequestVerification,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::CustomerSignIn => "customer_sign_in",
            CodePurpose::CareVerification => "care_verification",
            CodePurpose::RequestVerification => "request_verification",
        }
    }
}

/// A one-time code to send, with what it is for, the language to say it in and its expiry.
pub struct CodeMessage {
    code: OneTimeCode,
    pub purpose: CodePurpose,
    pub lang: Lang,
    pub expires_at: Timestamp,
    /// How long the code is good for, as the message says it.
    pub valid_for: SignedDuration,
}

impl CodeMessage {
    pub fn new(
        code: OneTimeCode,
        purpose: CodePurpose,
        lang: Lang,
        expires_at: Timestamp,
        valid_for: SignedDuration,
    ) -> CodeMessage {
        CodeMessage {
            code,
            purpose,
            lang,
            expires_at,
            valid_for,
        }
    }

    /// The code, for the notifier to put in the message and nowhere else.
    pub fn code(&self) -> &str {
        self.code.expose()
    }

    /// The subject line of an email carrying the code, in the message's language. It holds no
    /// code: subjects show in notification previews and mail-server logs.
    pub fn subject(&self) -> &'static str {
        match (self.lang, self.purpose) {
            (Lang::Vi, CodePurpose::CustomerSignIn) => "Mã đăng nhập htpmart",
            (Lang::Vi, CodePurpose::CareVerification) => "Mã xác minh chăm sóc khách hàng htpmart",
            (Lang::En, CodePurpose::CustomerSignIn) => "Your htpmart sign-in code",
            (Lang::En, CodePurpose::CareVerification) => {
                "Your htpmart customer-care verification code"
            }
            (Lang::Vi, CodePurpose::RequestVerification) => {
                "Mã xác nhận yêu cầu về dữ liệu cá nhân htpmart"
            }
            (Lang::En, CodePurpose::RequestVerification) => {
                "Your htpmart personal-data request code"
            }
        }
    }

    /// The short text to send, in the message's language.
    pub fn render(&self) -> Zeroizing<String> {
        let minutes = self.valid_for.as_mins().max(1);
        let code = self.code.expose();
        Zeroizing::new(match (self.lang, self.purpose) {
            (Lang::Vi, CodePurpose::CustomerSignIn) => format!(
                "Mã đăng nhập htpmart của bạn là {code}. Mã có hiệu lực trong {minutes} phút. \
                 Không chia sẻ mã này với bất kỳ ai."
            ),
            (Lang::Vi, CodePurpose::CareVerification) => format!(
                "Mã xác minh của bạn là {code}. Chỉ đọc mã này cho nhân viên chăm sóc khách hàng \
                 đang nói chuyện với bạn. Mã có hiệu lực trong {minutes} phút."
            ),
            (Lang::En, CodePurpose::CustomerSignIn) => format!(
                "Your htpmart sign-in code is {code}. It is valid for {minutes} minutes. \
                 Do not share it with anyone."
            ),
            (Lang::En, CodePurpose::CareVerification) => format!(
                "Your verification code is {code}. Read it only to the customer-care agent you \
                 are speaking with. It is valid for {minutes} minutes."
            ),
            (Lang::Vi, CodePurpose::RequestVerification) => format!(
                "Mã xác nhận yêu cầu về dữ liệu cá nhân của bạn là {code}. Nhập mã này để xác nhận \
                 chính bạn đã gửi yêu cầu. Mã có hiệu lực trong {minutes} phút. Nếu bạn không gửi \
                 yêu cầu nào, hãy bỏ qua tin này."
            ),
            (Lang::En, CodePurpose::RequestVerification) => format!(
                "Your code for your personal-data request is {code}. Enter it to confirm that you \
                 made the request. It is valid for {minutes} minutes. If you made no request, \
                 ignore this message."
            ),
        })
    }
}

impl fmt::Debug for CodeMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeMessage")
            .field("purpose", &self.purpose)
            .field("lang", &self.lang)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A message that tells a customer something about their request — an extension and its
/// reason, a rejection — by email. It carries no code. Written in Vietnamese and then in
/// English: a request keeps no language.
pub struct NoticeMessage {
    /// The subject line: it says what the message is about, never a personal detail.
    pub subject: &'static str,
    text: Zeroizing<String>,
    /// When it was written, by the service's clock.
    pub sent_at: Timestamp,
}

impl NoticeMessage {
    pub fn new(subject: &'static str, text: String, sent_at: Timestamp) -> NoticeMessage {
        NoticeMessage {
            subject,
            text: Zeroizing::new(text),
            sent_at,
        }
    }

    /// The text, for the notifier to put in the message and nowhere else.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for NoticeMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoticeMessage")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Why a code could not be sent. Never names the contact.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// No delivery is configured (`notifier_unavailable`).
    #[error("no channel can deliver one-time codes")]
    Unavailable,
    /// Delivery is configured, but not on this channel (`channel_unavailable`).
    #[error("one-time codes cannot be delivered by {}", .0.as_str())]
    ChannelUnavailable(Channel),
    /// The delivery service refused or failed; the message may be retried.
    #[error("the code could not be delivered: {0}")]
    Failed(String),
}

/// Sends one-time codes. Implementations must not log the contact or the code.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Whether any code can be sent at all: asked before anything that depends on who the
    /// recipient is, so that the answer cannot tell whether a recipient exists.
    fn available(&self) -> bool {
        true
    }

    /// Whether codes can be sent on `channel`: asked, like [`Notifier::available`], before
    /// any work that depends on the recipient. Every channel unless a notifier says otherwise.
    fn delivers(&self, channel: Channel) -> bool {
        let _ = channel;
        self.available()
    }

    async fn send_code(&self, to: &Contact, message: &CodeMessage) -> Result<(), NotifyError>;

    /// Sends a notice about a request (email only). A notifier that cannot says so.
    async fn send_notice(&self, to: &Contact, message: &NoticeMessage) -> Result<(), NotifyError> {
        let _ = (to, message);
        Err(NotifyError::Unavailable)
    }
}

/// The default until the outbox brings real delivery: every send fails, so nothing that
/// needs a code succeeds, and nobody believes a code was sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct DisabledNotifier;

#[async_trait]
impl Notifier for DisabledNotifier {
    fn available(&self) -> bool {
        false
    }

    async fn send_code(&self, _to: &Contact, _message: &CodeMessage) -> Result<(), NotifyError> {
        Err(NotifyError::Unavailable)
    }
}

/// A message a [`RecordingNotifier`] kept.
pub struct SentCode {
    pub channel: Channel,
    /// The address masked, to tell messages apart in assertions.
    pub to_masked: String,
    to: Personal,
    pub code: Zeroizing<String>,
    pub purpose: CodePurpose,
    pub lang: Lang,
    pub text: Zeroizing<String>,
    pub expires_at: Timestamp,
}

impl SentCode {
    /// Whether the message went to exactly this address (as normalised and stored).
    pub fn sent_to(&self, address: &str) -> bool {
        self.to.expose() == address
    }
}

impl fmt::Debug for SentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentCode")
            .field("channel", &self.channel)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

/// A notice a [`RecordingNotifier`] kept.
#[derive(Debug, Clone)]
pub struct SentNotice {
    pub to_masked: String,
    pub subject: &'static str,
    pub text: String,
}

/// Keeps every message in memory instead of sending it: for tests, in this crate and others.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    sent: Mutex<Vec<SentCode>>,
    notices: Mutex<Vec<SentNotice>>,
}

impl RecordingNotifier {
    pub fn new() -> RecordingNotifier {
        RecordingNotifier::default()
    }

    fn sent_lock(&self) -> std::sync::MutexGuard<'_, Vec<SentCode>> {
        // A poisoned lock means a test thread panicked; the list is still usable.
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many messages were sent.
    pub fn count(&self) -> usize {
        self.sent_lock().len()
    }

    /// The code of the last message sent, if any.
    pub fn last_code(&self) -> Option<Zeroizing<String>> {
        self.sent_lock().last().map(|m| m.code.clone())
    }

    /// Runs `f` over the messages sent so far.
    pub fn with_sent<T>(&self, f: impl FnOnce(&[SentCode]) -> T) -> T {
        f(&self.sent_lock())
    }

    /// The notices sent so far.
    pub fn notices(&self) -> Vec<SentNotice> {
        self.notices
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn send_code(&self, to: &Contact, message: &CodeMessage) -> Result<(), NotifyError> {
        self.sent_lock().push(SentCode {
            channel: to.channel(),
            to_masked: to.masked(),
            to: Personal::new(to.value().expose().to_owned()),
            code: Zeroizing::new(message.code().to_owned()),
            purpose: message.purpose,
            lang: message.lang,
            text: message.render(),
            expires_at: message.expires_at,
        });
        Ok(())
    }

    async fn send_notice(&self, to: &Contact, message: &NoticeMessage) -> Result<(), NotifyError> {
        self.notices
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(SentNotice {
                to_masked: to.masked(),
                subject: message.subject,
                text: message.text().to_owned(),
            });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests fail loudly"
    )]

    use super::*;

    fn message(lang: Lang, purpose: CodePurpose) -> CodeMessage {
        CodeMessage::new(
            OneTimeCode::generate(6).unwrap(),
            purpose,
            lang,
            Timestamp::from_second(1_800_000_000).unwrap(),
            SignedDuration::from_mins(10),
        )
    }

    #[test]
    fn messages_say_the_code_and_its_life_in_both_languages() {
        for lang in Lang::ALL {
            for purpose in [CodePurpose::CustomerSignIn, CodePurpose::CareVerification] {
                let m = message(lang, purpose);
                let text = m.render();
                assert!(text.contains(m.code()), "{lang:?} {purpose:?}");
                assert!(text.contains("10"), "{lang:?} {purpose:?}");
                assert!(text.chars().count() < 200, "short enough for an SMS or two");
            }
        }
        assert!(
            message(Lang::Vi, CodePurpose::CareVerification)
                .render()
                .contains("nhân viên")
        );
    }

    #[test]
    fn subjects_differ_by_purpose_and_language_and_hold_no_code() {
        let mut seen = std::collections::HashSet::new();
        for lang in Lang::ALL {
            for purpose in [CodePurpose::CustomerSignIn, CodePurpose::CareVerification] {
                let m = message(lang, purpose);
                assert!(!m.subject().contains(m.code()));
                assert!(seen.insert(m.subject()), "{lang:?} {purpose:?}");
            }
        }
    }

    #[test]
    fn the_address_leaves_only_through_its_named_exit() {
        let to = Contact::Email(Personal::new("nguyen@example.com".into()));
        assert_eq!(to.address_for_delivery(), "nguyen@example.com");
        assert!(!format!("{to:?}").contains("nguyen"));
        assert!(!DisabledNotifier.delivers(Channel::Email));
        assert!(RecordingNotifier::new().delivers(Channel::Phone));
    }

    #[tokio::test]
    async fn nothing_is_printed_and_the_disabled_notifier_refuses() {
        let to = Contact::Email(Personal::new("nguyen@example.com".into()));
        let m = message(Lang::En, CodePurpose::CustomerSignIn);
        let shown = format!("{to:?} {m:?}");
        assert!(
            !shown.contains("nguyen") && !shown.contains(m.code()),
            "{shown}"
        );
        assert!(matches!(
            DisabledNotifier.send_code(&to, &m).await,
            Err(NotifyError::Unavailable)
        ));
        let recording = RecordingNotifier::new();
        recording.send_code(&to, &m).await.unwrap();
        assert_eq!(recording.count(), 1);
        assert_eq!(recording.last_code().unwrap().as_str(), m.code());
        recording.with_sent(|sent| {
            assert!(sent[0].sent_to("nguyen@example.com"));
            assert_eq!(sent[0].to_masked, "n***@example.com");
            assert!(!format!("{:?}", sent[0]).contains("nguyen"));
        });
    }
}
