//! Delivery of one-time codes by email over SMTP: [`SmtpNotifier`], the core's
//! [`Notifier`] port on a mail relay.
//!
//! The address reaches this crate only through `Contact::address_for_delivery` and goes
//! nowhere but into the envelope and the `To` header. Errors never carry the relay's own
//! text, since relays quote the recipient in their refusals; they say what failed and the
//! SMTP status, nothing more. Only email is delivered: a phone code is refused before any
//! work by [`Notifier::delivers`].

#[cfg(feature = "fake-relay")]
pub mod fake_relay;

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use url::Url;

use custodian_core::notify::{Channel, CodeMessage, Contact, NoticeMessage, Notifier, NotifyError};

/// How long one delivery may take, connection to `QUIT`, unless configured otherwise: a dead
/// relay must not hold a request until the HTTP timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What an [`SmtpNotifier`] is built from. `Debug` hides the URL and the password.
#[derive(Clone)]
pub struct SmtpSettings {
    /// `smtp://host:port` (no TLS: a relay on this machine), `smtp://host:587?tls=required`
    /// (STARTTLS) or `smtps://host:465` (TLS from the first byte); a user and password may
    /// sit in the userinfo, percent-encoded.
    pub url: String,
    /// The password, if kept apart from the URL (the user is still the URL's).
    pub password: Option<String>,
    /// The `From` of every message: `no-reply@example.com` or `Name <no-reply@example.com>`.
    pub from: String,
    pub reply_to: Option<String>,
    /// The deadline of one whole delivery.
    pub timeout: Duration,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("from", &self.from)
            .field("reply_to", &self.reply_to)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Why the settings cannot make a notifier. The messages never quote the URL, which may hold
/// a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("the SMTP URL is not a URL")]
    NotAUrl,
    #[error("the SMTP URL's scheme `{0}` is neither `smtp` nor `smtps`")]
    Scheme(String),
    #[error("the SMTP URL's `tls` must be `required` or `opportunistic`")]
    Tls,
    #[error("the SMTP URL names no host")]
    NoHost,
    #[error("the SMTP URL's user or password is not valid percent-encoded UTF-8")]
    Userinfo,
    #[error("a password is given but the SMTP URL names no user")]
    PasswordWithoutUser,
    #[error(
        "credentials would cross the network in the clear: use `smtps://` or `?tls=required`, \
         or a relay on this machine"
    )]
    CleartextCredentials,
    #[error("the {what} address `{value}` is not an email address")]
    Address { what: &'static str, value: String },
    #[error("the SMTP transport cannot be built: {0}")]
    Transport(String),
}

/// Sends one-time codes as plain-text emails through an SMTP relay.
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    /// The right-hand side of Message-IDs: the From address's domain.
    domain: String,
    relay: String,
    timeout: Duration,
}

impl fmt::Debug for SmtpNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpNotifier")
            .field("relay", &self.relay)
            .field("from", &self.from.email.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SmtpNotifier {
    pub fn new(settings: &SmtpSettings) -> Result<SmtpNotifier, SmtpConfigError> {
        let url = Url::parse(&settings.url).map_err(|_| SmtpConfigError::NotAUrl)?;
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let encrypted = match (url.scheme(), tls.as_deref()) {
            ("smtps", _) | ("smtp", Some("required")) => true,
            ("smtp", None | Some("opportunistic")) => false,
            ("smtp", Some(_)) => return Err(SmtpConfigError::Tls),
            (scheme, _) => return Err(SmtpConfigError::Scheme(scheme.to_owned())),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or(SmtpConfigError::NoHost)?;
        let user = decode(url.username())?;
        let password = match (&settings.password, url.password()) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(p)) => Some(decode(p)?),
            (None, None) => None,
        };
        let credentials = match password {
            Some(_) if user.is_empty() => return Err(SmtpConfigError::PasswordWithoutUser),
            Some(password) => Some(Credentials::new(user, password)),
            None => None,
        };
        if credentials.is_some() && !encrypted && !is_loopback(host) {
            return Err(SmtpConfigError::CleartextCredentials);
        }
        let from = mailbox("From", &settings.from)?;
        let reply_to = settings
            .reply_to
            .as_deref()
            .map(|r| mailbox("Reply-To", r))
            .transpose()?;
        let relay = match url.port() {
            Some(port) => format!("{}://{host}:{port}", url.scheme()),
            None => format!("{}://{host}", url.scheme()),
        };
        // lettre reads the URL again; the userinfo is stripped so that it takes the
        // credentials only from here, where `password` may override the URL's.
        let mut bare = url.clone();
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(bare.as_str())
            .map_err(|e| SmtpConfigError::Transport(e.to_string()))?
            .timeout(Some(settings.timeout));
        if let Some(credentials) = credentials {
            builder = builder.credentials(credentials);
        }
        Ok(SmtpNotifier {
            transport: builder.build(),
            domain: from.email.domain().to_owned(),
            from,
            reply_to,
            relay,
            timeout: settings.timeout,
        })
    }

    /// The relay as `scheme://host:port`, without credentials: for the start-up log.
    pub fn relay(&self) -> &str {
        &self.relay
    }

    /// The message for `to`, as it is sent.
    pub fn compose(&self, to: &str, message: &CodeMessage) -> Result<Message, NotifyError> {
        // The Date is when the code was made, by the service's clock.
        let sent_at = message
            .expires_at
            .checked_sub(message.valid_for)
            .unwrap_or(message.expires_at);
        self.plain_text(to, message.subject(), sent_at, message.render().to_string())
    }

    /// A notice about a request as an email.
    pub fn compose_notice(
        &self,
        to: &str,
        message: &NoticeMessage,
    ) -> Result<Message, NotifyError> {
        self.plain_text(
            to,
            message.subject,
            message.sent_at,
            message.text().to_owned(),
        )
    }

    /// One plain-text UTF-8 message from the configured sender, with a random Message-ID at
    /// its domain.
    fn plain_text(
        &self,
        to: &str,
        subject: &str,
        sent_at: jiff::Timestamp,
        text: String,
    ) -> Result<Message, NotifyError> {
        let to: Address = to
            .parse()
            .map_err(|_| failed("the contact is not a deliverable email address"))?;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|_| failed("no randomness for a Message-ID"))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(subject)
            .date(SystemTime::try_from(sent_at).unwrap_or(SystemTime::UNIX_EPOCH))
            .message_id(Some(format!("<{}@{}>", hex::encode(id), self.domain)))
            .header(ContentType::TEXT_PLAIN);
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        builder
            .body(Body::new(text))
            .map_err(|_| failed("the message cannot be built"))
    }

    async fn deliver(&self, email: Message) -> Result<(), NotifyError> {
        match tokio::time::timeout(self.timeout, self.transport.send(email)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(smtp_failure(&e)),
            Err(_) => Err(failed(format!(
                "the relay did not answer within {} s",
                self.timeout.as_secs_f32()
            ))),
        }
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    fn delivers(&self, channel: Channel) -> bool {
        channel == Channel::Email
    }

    async fn send_code(&self, to: &Contact, message: &CodeMessage) -> Result<(), NotifyError> {
        if to.channel() != Channel::Email {
            return Err(NotifyError::ChannelUnavailable(to.channel()));
        }
        let email = self.compose(to.address_for_delivery(), message)?;
        self.deliver(email).await
    }

    async fn send_notice(&self, to: &Contact, message: &NoticeMessage) -> Result<(), NotifyError> {
        if to.channel() != Channel::Email {
            return Err(NotifyError::ChannelUnavailable(to.channel()));
        }
        let email = self.compose_notice(to.address_for_delivery(), message)?;
        self.deliver(email).await
    }
}

fn failed(reason: impl Into<String>) -> NotifyError {
    NotifyError::Failed(reason.into())
}

/// What went wrong, by kind and status code only: a relay's text often quotes the address.
fn smtp_failure(e: &lettre::transport::smtp::Error) -> NotifyError {
    let status = e
        .status()
        .map(|code| format!(" ({code})"))
        .unwrap_or_default();
    failed(if e.is_permanent() {
        format!("the relay refused the message{status}")
    } else if e.is_transient() {
        format!("the relay deferred the message{status}; it may be retried")
    } else if e.is_timeout() {
        "the relay did not answer in time".to_owned()
    } else if e.is_tls() {
        "the TLS handshake with the relay failed".to_owned()
    } else {
        "the relay could not be reached or broke off the conversation".to_owned()
    })
}

fn decode(text: &str) -> Result<String, SmtpConfigError> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| SmtpConfigError::Userinfo)
}

fn mailbox(what: &'static str, value: &str) -> Result<Mailbox, SmtpConfigError> {
    value.parse().map_err(|_| SmtpConfigError::Address {
        what,
        value: value.to_owned(),
    })
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
