//! The one table of stable error codes. Codes are an API: clients match on them, so a code
//! is never renamed or reused. `docs/ERRORS.md` is generated from this table.

use std::fmt;

use serde::Serialize;

/// Declares every code once, with its HTTP status and description, so the enum, its
/// string, its status and the documentation cannot drift apart.
macro_rules! error_codes {
    ($($variant:ident => $code:literal, $status:literal, $description:literal;)+) => {
        /// A stable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)+
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as it appears in error bodies, e.g. `invalid_parameter`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            /// The HTTP status that carries this code.
            pub fn http_status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)+
                }
            }

            /// One line saying when the code is returned.
            pub fn description(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $description,)+
                }
            }
        }
    };
}

error_codes! {
    InvalidParameter => "invalid_parameter", 400, "A query or path parameter has a value the endpoint does not accept; `field` names it.";
    InvalidBody => "invalid_body", 400, "The request body is not the JSON the endpoint expects.";
    UnknownPurpose => "unknown_purpose", 400, "The purpose named is missing or not declared in the policy; `field` is `purpose`.";
    UndeclaredField => "undeclared_field", 400, "A field the policy does not declare was sent; nothing was written; `field` is the body member that holds it (`fields`, `items[2]`), never the name sent.";
    FieldNotAllowed => "field_not_allowed", 400, "A declared field that this endpoint or the named purpose does not collect was sent; nothing was written.";
    InvalidField => "invalid_field", 400, "A field's value does not fit its schema (type, format, length); nothing was written.";
    TextDirectionControl => "text_direction_control", 400, "A single-line value (a name, an address, an email, …) holds a bidirectional embedding, override or isolate (U+202A–U+202E, U+2066–U+2069), which would make what is shown differ from what is stored; nothing was written.";
    MissingField => "missing_field", 400, "A field the named purpose requires was not sent; nothing was written.";
    Unauthenticated => "unauthenticated", 401, "The request carries no valid credentials.";
    InvalidCredentials => "invalid_credentials", 401, "Sign-in refused: unknown login, wrong password or code, or the account is locked after repeated failures. Which one is never said.";
    TotpRequired => "totp_required", 401, "The password was right and the account has a second factor: sign in again with its current TOTP code.";
    PasswordChangeRequired => "password_change_required", 403, "The account must change its one-time password before doing anything else.";
    WeakPassword => "weak_password", 400, "A new password does not meet the password policy; the message names the reason code (`too_short`, `too_long`, `common`, `contains_context`, `repetitive`).";
    RoleUnknown => "role_unknown", 400, "The role named is not declared in the policy; `field` is `role`.";
    InvalidScope => "invalid_scope", 400, "A token scope names an operation, purpose or category the policy does not declare; `field` names which.";
    InvalidTotpCode => "invalid_totp_code", 400, "The TOTP code given to confirm an enrolment is not the current one.";
    LoginTaken => "login_taken", 409, "Another staff account has this login (compared ignoring case).";
    TotpAlreadyActive => "totp_already_active", 409, "The account already has a confirmed second factor.";
    UserNotFound => "user_not_found", 404, "No staff account has this id.";
    InvalidCode => "invalid_code", 400, "The one-time code is not the one sent to the customer; the care session stays open until its attempts are spent.";
    CodeExpired => "code_expired", 400, "The care session's code expired (10 minutes), was already used, or its 5 attempts are spent: open a new care session.";
    NoContactOnFile => "no_contact_on_file", 400, "The customer has no contact on file on the channel named; `field` is `channel`.";
    ChannelUnavailable => "channel_unavailable", 400, "One-time codes cannot be delivered on the channel named (e.g. `phone` where only email is configured); nothing was sent; `field` is `channel`.";
    CareSessionNotFound => "care_session_not_found", 404, "No care session of the calling agent has this id (another agent's session is not found either).";
    RateLimited => "rate_limited", 429, "Too many sign-in attempts for this login or from this address; retry after the time given.";
    OperationNotAllowed => "operation_not_allowed", 403, "The caller may not perform this operation: its role or token scope does not include it.";
    AccessDenied => "access_denied", 403, "The access engine refused the request as a whole; the message names the reason code (e.g. `no_care_session`), as `Withheld` codes do per field.";
    PurposeNotAllowed => "purpose_not_allowed", 403, "The named purpose does not allow this use of the data.";
    ConsentRequired => "consent_required", 403, "The named purpose rests on consent the customer has not given.";
    ConsentNotApplicable => "consent_not_applicable", 400, "A consent was given or refused for a purpose that does not rest on consent (a contract, say); `field` is `purpose`.";
    InvalidConsentOption => "invalid_consent_option", 400, "A consent's option is not one the purpose offers, or has a value the policy does not list; nothing was recorded; `field` is `choices[i].options`.";
    UnknownNoticeVersion => "unknown_notice_version", 400, "The notice version said to have been shown was never published by this service; `field` is `notice_version`.";
    RepresentativeRequired => "representative_required", 403, "The customer is a minor (by their date of birth): a consent must be given by a parent or legal guardian, named in `representative_name`; nothing was recorded.";
    ConsentNotFound => "consent_not_found", 404, "No entry of this customer's consent history has this id.";
    CardDataRefused => "card_data_refused", 400, "The request holds a full card number (13–19 digits passing the Luhn check, however written: digits of any script, any separators, invisible characters) or a card security code, in its body, query string, headers or path: it is refused whole, and nothing of it is stored or logged (PCI DSS 3.3.1). Send the payment processor's token, brand, last 4 digits and expiry instead; `field` is where it was found, keys shown as `<key>` (`$.<key>.<key>`, `$query.<key>`, `$header.<key>`).";
    OrderTransitionNotAllowed => "order_transition_not_allowed", 409, "The order's current state does not allow the move asked for (or another move got there first); the message lists the states it may move to.";
    OrderNotFound => "order_not_found", 404, "No order has this id (or it is not the caller's).";
    UnknownAuthority => "unknown_authority", 400, "A legal request names an authority the policy does not declare; `field` is `authority`.";
    SecondApproverRequired => "second_approver_required", 403, "A legal request must be approved by an administrator other than the one who recorded it.";
    LegalRequestNotPending => "legal_request_not_pending", 409, "The legal request is not in the state the step needs (approval needs `requested`, release `approved`); the message says where it is.";
    LegalRequestNotFound => "legal_request_not_found", 404, "No legal request has this id.";
    RequestTransitionNotAllowed => "request_transition_not_allowed", 409, "The request's current state does not allow the move asked for (or another move got there first).";
    RequestNotFound => "request_not_found", 404, "No request has this id.";
    LimitNotFound => "limit_not_found", 404, "The customer has no such restriction or objection in force.";
    ExportLinkNotFound => "export_link_not_found", 404, "No export download link has this token for the customer signed in: wrong, already used, or made for someone else (which one is never said).";
    ExportLinkExpired => "export_link_expired", 410, "The customer's own export download link is past its 24 hours, unused; ask for a new one.";
    CustomerNotFound => "customer_not_found", 404, "No customer has this id, or the customer was erased.";
    MessageNotFound => "message_not_found", 404, "No outbox message has this id.";
    MessageNotDead => "message_not_dead", 409, "Only a dead-lettered outbox message can be re-driven; this one is pending, delivered or dropped.";
    LegalHoldPurposeOnly => "legal_hold_purpose_only", 403, "Values kept by a legal hold after an erasure are readable only for the hold's purpose (`legal_obligation`); `field` is `purpose`.";
    ErasureReportNotFound => "erasure_report_not_found", 404, "No erasure of this customer is on record (they were not erased, or do not exist).";
    InvalidSignature => "invalid_signature", 401, "A partner's request is unsigned, its `Custodian-Signature` does not verify under the partner's shared secret, or its timestamp is more than five minutes from ours.";
    ErasureNoticeNotFound => "erasure_notice_not_found", 404, "No erasure notice sent to this partner has the `Custodian-Message-Id` given.";
    NotFound => "not_found", 404, "No resource exists at this path.";
    NoticeVersionNotFound => "notice_version_not_found", 404, "No published notice has the requested content hash.";
    MethodNotAllowed => "method_not_allowed", 405, "The path exists but does not accept this HTTP method.";
    PayloadTooLarge => "payload_too_large", 413, "The request body is larger than `http.max_body_bytes`.";
    UriTooLong => "uri_too_long", 414, "The request's target (path and query string) is longer than `http.max_uri_bytes` (over 65,534 bytes the HTTP parser refuses it first, with the same code); nothing was read.";
    MalformedRequest => "malformed_request", 400, "The request is not well-formed HTTP/1.1, as the HTTP parser reads it: its request line or a header does not parse (a control character other than tab in a header, an invalid or conflicting `Content-Length`, a `Transfer-Encoding` whose last coding is not `chunked`, or one in HTTP/1.0); nothing was read and the connection is closed.";
    HeadersTooLarge => "headers_too_large", 431, "The request has more than 100 header lines, or a head larger than the HTTP parser's buffer (about 400 KB); nothing was read and the connection is closed.";
    UnsupportedMediaType => "unsupported_media_type", 415, "The request body is not in a media type the endpoint accepts.";
    Timeout => "timeout", 503, "The request took longer than `http.request_timeout_secs`; it may be retried.";
    UnsupportedTransferEncoding => "unsupported_transfer_encoding", 501, "The request's `Transfer-Encoding` is not `chunked` alone (another coding before it, or `chunked` named twice): the service decodes no other coding; nothing was read.";
    Internal => "internal", 500, "An unexpected failure on the server; the request id in the logs identifies it.";
    Unavailable => "unavailable", 503, "A dependency of the server (such as the database) cannot answer right now.";
    TooManyConnections => "too_many_connections", 503, "The server holds as many connections as `http.max_connections` allows, or as many from this client's address as `http.max_connections_per_address` allows: the new connection is answered with this and closed at once, before its request is read. Retry after `Retry-After` seconds.";
    NotifierUnavailable => "notifier_unavailable", 503, "No channel can deliver one-time codes (none is configured, or delivery failed); nothing was sent.";
}

impl ErrorCode {
    /// The code that describes a bare HTTP error status, for errors raised by middleware
    /// before any handler could choose a code.
    pub fn for_status(status: u16) -> ErrorCode {
        match status {
            400 => ErrorCode::InvalidParameter,
            401 => ErrorCode::Unauthenticated,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            408 => ErrorCode::Timeout,
            413 => ErrorCode::PayloadTooLarge,
            414 => ErrorCode::UriTooLong,
            415 => ErrorCode::UnsupportedMediaType,
            503 => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An error as the API reports it. The message is lowercase without a final period, names the
/// parameter at fault and the values it accepts, and never repeats what the client sent (which
/// could be personal data, or a payload to reflect): not whole, not cut short, not even when
/// it looks like an identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// The parameter or field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The values a parameter accepts, for a message: `` `a`, `b` or `c` `` (policy ids and fixed
/// vocabularies only, never what the client sent).
pub fn one_of<'a>(accepted: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = accepted.into_iter().map(|a| format!("`{a}`")).collect();
    match quoted.split_last() {
        None => "nothing".to_owned(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    pub fn invalid_parameter(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidParameter, message).with_field(field)
    }

    pub fn not_found() -> ApiError {
        ApiError::new(ErrorCode::NotFound, "no resource at this path")
    }

    pub fn internal() -> ApiError {
        ApiError::new(ErrorCode::Internal, "an internal error occurred")
    }

    pub fn unavailable() -> ApiError {
        ApiError::new(
            ErrorCode::Unavailable,
            "the service is temporarily unavailable",
        )
    }

    /// The generic error for a bare status produced outside any handler.
    pub fn for_status(status: u16) -> ApiError {
        let code = ErrorCode::for_status(status);
        let message = match code {
            ErrorCode::NotFound => "no resource at this path",
            ErrorCode::MethodNotAllowed => "this path does not accept the request method",
            ErrorCode::PayloadTooLarge => "the request body is too large",
            ErrorCode::UriTooLong => "the request target is too long",
            ErrorCode::UnsupportedMediaType => "the request body has an unsupported media type",
            ErrorCode::Timeout => "the request took too long",
            ErrorCode::Unavailable => "the service is temporarily unavailable",
            ErrorCode::InvalidParameter => "the request is malformed",
            ErrorCode::Unauthenticated => "the request carries no valid credentials",
            ErrorCode::InvalidBody => "the request body is malformed",
            _ => "an internal error occurred",
        };
        ApiError::new(code, message)
    }
}

/// When a request is refused whole, and when it is answered with some fields withheld.
const REFUSED_OR_WITHHELD: &str = r#"
## Refused whole, or answered field by field

A request is **refused whole** — an error status and one code, nothing done — when nothing of
it may be done: the caller may not perform the operation at all (`operation_not_allowed`, 403:
the role or the token's scope lacks it); a write, a lookup or a consent whose purpose does not
allow it (`purpose_not_allowed`, `consent_required`, `access_denied`, 403); a customer asking
for another customer's record (`customer_not_found`, 404: never a hint that it exists).

A **read** the caller may perform is answered **200**, field by field: each field the access
decision does not release is `{"withheld": "<reason>"}` (below), so the caller learns which
fields the purpose covers, never their values; a masked field shows only what its mask keeps.

Refused whole — a token whose scope does not include reading customers:

```http
GET /v1/customers/cus_0197c3d2a1b04e5f8a6b7c8d9e0f1a2b?purpose=account
403 {"error": {"code": "operation_not_allowed", "message": "…", "field": "operation"}}
```

Answered field by field — marketing staff reading a customer who has not consented to
marketing (the purpose rests on consent):

```http
GET /v1/customers/cus_0197c3d2a1b04e5f8a6b7c8d9e0f1a2b?purpose=marketing
200 {"id": "cus_…", "purpose": "marketing", "fields": {
      "account_email.email": {"withheld": "consent_required"},
      "account_name.full_name": {"withheld": "consent_required"}, …}}
```
"#;

/// What the HTTP/1.1 parser (hyper) refuses on its own, before any of the service's code sees
/// the request: hyper writes the bare status itself and offers no hook to give it a body.
const BEFORE_THE_SERVICE: &str = "\n## Refused before the service reads the request\n\n\
    A few malformed requests never reach the service: the HTTP/1.1 parser (hyper) refuses \
    them itself and closes the connection. Its own answer is a bare status with no body; the \
    service replaces it, as it leaves, with the JSON error above, so these are JSON too:\n\n\
    | status | code | when |\n|---|---|---|\n\
    | 400 | `malformed_request` | the request line or a header line does not parse: a control \
    character (other than tab) in a header name or value, a method or target with invalid \
    characters, an HTTP version other than 1.0 or 1.1; a `Transfer-Encoding` whose last coding \
    is not `chunked`, or any `Transfer-Encoding` in HTTP/1.0; an invalid or conflicting \
    `Content-Length` |\n\
    | 414 | `uri_too_long` | the request target is longer than 65,534 bytes (the parser's fixed \
    limit) |\n\
    | 431 | `headers_too_large` | more than 100 header lines, or a request head larger than the \
    parser's buffer (about 400 KB) |\n\
    | none | — | the request head is not complete within `http.header_read_timeout_secs` (also \
    the longest a kept-alive connection may stay idle): the connection is closed without \
    an answer |\n";

/// The error table as Markdown: the body of `docs/ERRORS.md`.
pub fn error_table_markdown() -> String {
    let mut out = String::from(
        "# Error codes\n\n\
         <!-- Generated from crates/core/src/error.rs by `UPDATE_DOCS=1 cargo test -p custodian-core`. Do not edit. -->\n\n\
         Every error response has the body `{\"error\": {\"code\": \"...\", \"message\": \"...\", \"field\": \"...\"}}`; \
         `field` is present only when one parameter or field is at fault. Codes are stable: \
         match on `code`, never on `message`.\n\n\
         | code | HTTP status | meaning |\n|---|---|---|\n",
    );
    for code in ErrorCode::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.as_str(),
            code.http_status(),
            code.description()
        ));
    }
    out.push_str(REFUSED_OR_WITHHELD);
    out.push_str(
        "\n## Why a field is withheld\n\nA read answers each field with `{\"value\": …}`, \
         `{\"masked\": …}` or `{\"withheld\": \"<reason>\"}`. The reasons are as stable as \
         the error codes:\n\n| reason | when |\n|---|---|\n",
    );
    for reason in crate::access::Withheld::ALL {
        out.push_str(&format!(
            "| `{}` | {} |\n",
            reason.as_str(),
            reason.description()
        ));
    }
    out.push_str(BEFORE_THE_SERVICE);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn every_code_string_is_unique_and_snake_case() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate error code `{s}`");
            assert!(
                s.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "`{s}` is not snake_case"
            );
        }
    }

    #[test]
    fn every_status_is_an_error_status() {
        for code in ErrorCode::ALL {
            assert!((400..600).contains(&code.http_status()), "{code}");
        }
    }

    #[test]
    fn errors_doc_is_fresh() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/ERRORS.md");
        let expected = error_table_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &expected).unwrap();
            return;
        }
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "docs/ERRORS.md is stale; regenerate it with `UPDATE_DOCS=1 cargo test -p custodian-core`"
        );
    }
}
