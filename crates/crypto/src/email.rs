//! Email addresses: checked against RFC 5321/5322 (the `email_address` crate, then stricter
//! rules of our own) and RFC 6531 (Unicode local parts and domains), and put in one normal
//! form for storage and the blind index.
//!
//! Accepted: `local@domain` where
//! - the local part is a dot-atom (RFC 5322 `atext` — letters, digits and
//!   ``!#$%&'*+-/=?^_`{|}~`` — or any visible non-ASCII character, RFC 6531), one to 64
//!   octets, with no leading, trailing or doubled dot;
//! - the domain is a host name of at least two labels: valid under IDNA (UTS #46, the
//!   `idna` crate), each label of its ASCII form 1 to 63 octets of letters, digits and
//!   hyphens, no hyphen first or last, the top-level label not all digits;
//! - the whole is at most 254 octets, in its Unicode and in its ASCII form.
//!
//! Refused on purpose: quoted local parts (`"a b"@x.vn`) and address literals
//! (`a@[127.0.0.1]`) — legal in RFC 5321 but no shop customer has one, and both are
//! favourite disguises for injection —; display names (`An <an@x.vn>`); invisible
//! characters (controls, format characters such as zero-width joiners or bidirectional
//! marks, whitespace of any kind, private use and unassigned code points, a combining mark
//! starting a part); and the special-use or reserved top-level domains `.test`, `.invalid`,
//! `.localhost`, `.local`, `.example` (RFC 2606, RFC 6761, RFC 6762) and `.onion` (RFC 7686),
//! where no mail can be delivered. `example.com`, `example.net` and `example.org` are
//! accepted: they are real registrations (reserved for documentation, RFC 2606 §3, with a null
//! MX so nothing is ever delivered there), and they are what fixtures, demos and the
//! documentation use.
//!
//! The normal form: NFC; the domain in its ASCII form (A-labels, `xn--…`), lower-case, so
//! `an@bücher.de` and `an@xn--bcher-kva.de` are one address and the stored one is what DNS
//! and every mail server read; the local part lower-cased. RFC 5321 lets a server treat
//! `An` and `an` as different mailboxes, but providers do not, customers type either, and a
//! lookup must find the customer whichever they typed (the blind index was always computed
//! on the lower-cased address).

use email_address::{EmailAddress, Options};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The longest local part, in octets (RFC 5321 §4.5.3.1.1).
pub const MAX_EMAIL_LOCAL_OCTETS: usize = 64;
/// The longest address, in octets (RFC 5321's 256-octet path less its angle brackets).
pub const MAX_EMAIL_OCTETS: usize = 254;

/// Top-level domains where no mail is delivered (special-use or reserved).
const UNDELIVERABLE_TLDS: [&str; 6] = ["test", "invalid", "localhost", "local", "example", "onion"];

/// Why an email address was refused. Names no part of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Not `local@domain` by RFC 5322's rules (or a quoted local part, an address literal, a
    /// display name, an invisible character).
    #[error("is not an email address")]
    Malformed,
    /// The local part is empty, over 64 octets, or has a leading, trailing or doubled dot.
    #[error("has an invalid name before `@`")]
    LocalPart,
    /// The domain is not a valid host name.
    #[error("has an invalid domain")]
    Domain,
    /// The domain is special-use or reserved (`.test`, `.invalid`, `.localhost`, …).
    #[error("has a domain that receives no mail")]
    Undeliverable,
    /// Over 254 octets.
    #[error("is longer than 254 octets")]
    TooLong,
}

/// Checks an email address and returns its normal form (see the module's documentation).
pub fn normalise_email(email: &str) -> Result<String, EmailError> {
    let email: String = email.nfc().collect();
    let email = email.trim();
    if email.chars().any(invisible) {
        return Err(EmailError::Malformed);
    }
    // A display name, a quoted local part, an address literal: none is an address we store.
    if email.contains(['"', '<', '>', '[', ']', '(', ')', '\\']) {
        return Err(EmailError::Malformed);
    }
    let (local, domain) = email.rsplit_once('@').ok_or(EmailError::Malformed)?;
    check_local(local)?;
    let ascii = check_domain(domain)?;
    let options = Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text();
    EmailAddress::parse_with_options(&format!("{local}@{ascii}"), options)
        .map_err(|_| EmailError::Malformed)?;
    let normal = format!("{}@{ascii}", local.to_lowercase());
    if normal.len() > MAX_EMAIL_OCTETS || email.len() > MAX_EMAIL_OCTETS {
        return Err(EmailError::TooLong);
    }
    Ok(normal)
}

/// Characters nobody sees or that end an address: controls, format characters (zero-width
/// joiners, bidirectional marks, soft hyphens), any whitespace, separators, private use,
/// surrogates and unassigned code points.
fn invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c.general_category(),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::SpaceSeparator
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
                | GeneralCategory::PrivateUse
                | GeneralCategory::Surrogate
                | GeneralCategory::Unassigned
        )
}

fn combining(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::EnclosingMark
    )
}

/// A dot-atom of `atext` and visible non-ASCII, 1 to 64 octets.
fn check_local(local: &str) -> Result<(), EmailError> {
    if local.is_empty() || local.len() > MAX_EMAIL_LOCAL_OCTETS {
        return Err(EmailError::LocalPart);
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::LocalPart);
    }
    let atext =
        |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii();
    if !local.chars().all(atext) || local.starts_with(combining) {
        return Err(EmailError::LocalPart);
    }
    if local.split('.').any(|atom| atom.starts_with(combining)) {
        return Err(EmailError::LocalPart);
    }
    Ok(())
}

/// The domain's ASCII form, lower-case, if it is a deliverable host name.
fn check_domain(domain: &str) -> Result<String, EmailError> {
    if domain.is_empty() || domain.ends_with('.') {
        return Err(EmailError::Domain);
    }
    if domain.split('.').any(|label| label.starts_with(combining)) {
        return Err(EmailError::Domain);
    }
    // UTS #46 with the STD3 rules (letters, digits, hyphens), hyphens checked and DNS lengths
    // verified; maps case and compatibility forms, encodes Unicode labels as A-labels and
    // checks A-labels decode to valid ones.
    let ascii = idna::domain_to_ascii_strict(domain).map_err(|_| EmailError::Domain)?;
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(EmailError::Domain);
    }
    for label in &labels {
        let ldh = label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if label.is_empty()
            || label.len() > 63
            || !ldh
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(EmailError::Domain);
        }
    }
    let tld = labels.last().copied().unwrap_or("");
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EmailError::Domain);
    }
    if UNDELIVERABLE_TLDS.contains(&tld) {
        return Err(EmailError::Undeliverable);
    }
    Ok(ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_addresses_and_their_normal_form() {
        for (input, normal) in [
            ("an.nguyen@example.com", "an.nguyen@example.com"),
            ("  An.Nguyen@Example.COM ", "an.nguyen@example.com"),
            ("binh+orders@shop.com.vn", "binh+orders@shop.com.vn"),
            ("x@x.vn", "x@x.vn"),
            (
                "first.last@sub.domain-name.org",
                "first.last@sub.domain-name.org",
            ),
            // RFC 5322 atext, RFC 3696's examples.
            (
                "customer/department=shipping@example.com",
                "customer/department=shipping@example.com",
            ),
            ("!def!xyz%abc@example.com", "!def!xyz%abc@example.com"),
            ("_somename@example.com", "_somename@example.com"),
            ("$A12345@example.com", "$a12345@example.com"),
            ("o'brien@example.ie", "o'brien@example.ie"),
            // RFC 6531: Unicode local parts and domains; the domain stored as A-labels.
            ("an@bücher.de", "an@xn--bcher-kva.de"),
            ("an@xn--bcher-kva.de", "an@xn--bcher-kva.de"),
            ("an@BÜCHER.de", "an@xn--bcher-kva.de"),
            ("nguyễn.an@ví-dụ.vn", "nguyễn.an@xn--v-d-rma6749a.vn"),
            ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
            // Decomposed input is composed first.
            ("an@bu\u{308}cher.de", "an@xn--bcher-kva.de"),
            ("ÁN@example.com", "án@example.com"),
            // Reserved for documentation, yet accepted (see the module's documentation).
            ("an@example.org", "an@example.org"),
            ("an@mail.example.net", "an@mail.example.net"),
        ] {
            assert_eq!(normalise_email(input).as_deref(), Ok(normal), "{input:?}");
        }
    }

    #[test]
    fn invalid_addresses_are_refused_with_their_reason() {
        let long_label = format!("a@{}.vn", "b".repeat(64));
        let long_local = format!("{}@x.vn", "a".repeat(65));
        let long_local_octets = format!("{}@x.vn", "ễ".repeat(22)); // 66 octets, 22 characters
        let long_address = format!(
            "{}@{}.vn",
            "a".repeat(60),
            vec!["b".repeat(48); 4].join(".")
        );
        for (input, error) in [
            ("", EmailError::Malformed),
            ("no-at", EmailError::Malformed),
            ("a b@example.com", EmailError::Malformed),
            ("a@exa mple.com", EmailError::Malformed),
            ("an\u{200b}@example.com", EmailError::Malformed),
            ("an@exam\u{200d}ple.com", EmailError::Malformed),
            ("an\u{202e}@example.com", EmailError::Malformed),
            ("an\u{ad}@example.com", EmailError::Malformed),
            ("an\u{a0}b@example.com", EmailError::Malformed),
            ("an\u{e000}@example.com", EmailError::Malformed),
            ("an\n@example.com", EmailError::Malformed),
            ("\"a b\"@x.vn", EmailError::Malformed),
            ("\"an\"@x.vn", EmailError::Malformed),
            ("a@[127.0.0.1]", EmailError::Malformed),
            ("a@[IPv6:::1]", EmailError::Malformed),
            ("An <an@x.vn>", EmailError::Malformed),
            ("a(comment)@x.vn", EmailError::Malformed),
            ("@example.com", EmailError::LocalPart),
            (".an@example.com", EmailError::LocalPart),
            ("an.@example.com", EmailError::LocalPart),
            ("a..n@example.com", EmailError::LocalPart),
            ("a@b@example.com", EmailError::LocalPart),
            ("a,b@example.com", EmailError::LocalPart),
            ("a;b@example.com", EmailError::LocalPart),
            ("\u{301}an@example.com", EmailError::LocalPart),
            (&long_local, EmailError::LocalPart),
            (&long_local_octets, EmailError::LocalPart),
            ("a@", EmailError::Domain),
            ("a@b", EmailError::Domain),
            ("a@.com", EmailError::Domain),
            ("a@example.", EmailError::Domain),
            ("a@example..com", EmailError::Domain),
            ("a@-example.com", EmailError::Domain),
            ("a@example-.com", EmailError::Domain),
            ("a@exa_mple.com", EmailError::Domain),
            ("a@exa!mple.com", EmailError::Domain),
            ("a@ab--cd.com", EmailError::Domain),
            ("a@xn--zz.com", EmailError::Domain),
            ("a@1.2.3.4", EmailError::Domain),
            ("a@\u{301}x.vn", EmailError::Domain),
            (&long_label, EmailError::Domain),
            ("a@shop.test", EmailError::Undeliverable),
            ("a@x.invalid", EmailError::Undeliverable),
            ("a@localhost.localhost", EmailError::Undeliverable),
            ("a@printer.local", EmailError::Undeliverable),
            ("a@shop.example", EmailError::Undeliverable),
            ("a@x.onion", EmailError::Undeliverable),
            ("a@SHOP.TEST", EmailError::Undeliverable),
            (&long_address, EmailError::TooLong),
        ] {
            assert_eq!(normalise_email(input), Err(error), "{input:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn nothing_typed_makes_it_panic(
            input in "[a-zA-Z0-9.@\"\\[\\]()<> ü\u{301}\u{200d}-]{0,40}",
            other in "\\PC{0,40}",
        ) {
            let _ = normalise_email(&input);
            let _ = normalise_email(&other);
        }
    }

    #[test]
    fn ordinary_addresses_keep_the_old_normal_form() {
        // The blind indexes of existing customers were computed on `trim().to_lowercase()`.
        for input in [
            "An.Nguyen@Example.com",
            "binh+tag@shop.com.vn",
            "x_y-z@mail.co.uk",
        ] {
            assert_eq!(
                normalise_email(input),
                Ok(input.trim().to_lowercase()),
                "{input:?}"
            );
        }
    }
}
