//! Checking and normalising personal values against the policy's field schema, before
//! anything is encrypted or stored. Errors name the field, never its value.

use std::net::IpAddr;

use serde_json::Value;

use custodian_crypto::{PhoneRegion, normalise_email, normalise_phone};
use custodian_policy::{Country, Field, FieldType};

use crate::error::ErrorCode;
use crate::personal::Personal;
use crate::text::{is_bidi_control, nfc};

/// Why a value was refused, and the stable code it is refused with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidValue {
    pub code: ErrorCode,
    pub message: String,
}

fn invalid(message: impl Into<String>) -> InvalidValue {
    InvalidValue {
        code: ErrorCode::InvalidField,
        message: message.into(),
    }
}

/// The region national phone numbers are read in: the controller's jurisdiction (the policy's
/// `controller.jurisdiction`, `VN` for the default policy), if libphonenumber has metadata for
/// it; otherwise none, and only international numbers are accepted.
pub fn phone_region(jurisdiction: &Country) -> PhoneRegion {
    PhoneRegion::from_iso(jurisdiction.as_str()).unwrap_or(PhoneRegion::NONE)
}

/// The forms of email address accepted, for error messages.
const EMAIL_FORMS: &str = "name@domain, e.g. an.nguyen@example.com, without quotes, IP addresses, \
     invisible characters or reserved domains such as .test";

/// Validates `value` for `field` and returns it normalised, ready to seal. Text is stored in
/// NFC, so a value typed with combining marks is the same value as typed precomposed (and is
/// found by the same lookups). Every field is one line: control characters and the
/// bidirectional controls that reorder what is shown are refused.
pub fn normalise(
    field: &Field,
    value: &Value,
    phone_region: PhoneRegion,
) -> Result<Personal, InvalidValue> {
    let text = match field.ty {
        FieldType::Integer => {
            return value
                .as_i64()
                .map(|n| Personal::new(n.to_string()))
                .ok_or_else(|| invalid("must be a whole number"));
        }
        FieldType::EnumSet => return enum_set(field, value),
        FieldType::Blob => return Err(invalid("is binary and cannot be sent as JSON")),
        _ => value.as_str().ok_or_else(|| invalid("must be a string"))?,
    };
    let composed = nfc(text);
    let text = composed.trim();
    if text.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters"));
    }
    if text.chars().any(is_bidi_control) {
        return Err(InvalidValue {
            code: ErrorCode::TextDirectionControl,
            message: "must not contain bidirectional embeddings, overrides or isolates".into(),
        });
    }
    let normalised = match field.ty {
        FieldType::String => text.to_owned(),
        FieldType::Email => {
            normalise_email(text).map_err(|e| invalid(format!("{e} (accepted: {EMAIL_FORMS})")))?
        }
        FieldType::Phone => normalise_phone(text, phone_region)
            .map_err(|e| invalid(format!("{e} (accepted: {})", phone_region.accepted_forms())))?,
        FieldType::Date => text
            .parse::<jiff::civil::Date>()
            .map_err(|_| invalid("is not a date (YYYY-MM-DD)"))?
            .to_string(),
        FieldType::Datetime => text
            .parse::<jiff::Timestamp>()
            .map_err(|_| invalid("is not an RFC 3339 date and time"))?
            .to_string(),
        FieldType::MonthYear => month_year(text)?,
        FieldType::Digits => {
            if !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid("must contain digits only"));
            }
            text.to_owned()
        }
        FieldType::Token => {
            if !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
            {
                return Err(invalid(
                    "must be a token of letters, digits, `_`, `-`, `.` or `:`",
                ));
            }
            text.to_owned()
        }
        FieldType::Enum => {
            if !field.values.iter().any(|v| v == text) {
                return Err(invalid(format!(
                    "must be one of {}",
                    field.values.join(", ")
                )));
            }
            text.to_owned()
        }
        FieldType::Ip => truncate_ip(text)?,
        FieldType::Integer | FieldType::EnumSet | FieldType::Blob => {
            return Err(invalid("has an unsupported type"));
        }
    };
    if let Some(max) = field.max_length
        && normalised.chars().count() > max as usize
    {
        return Err(invalid(format!("is longer than {max} characters")));
    }
    Ok(Personal::new(normalised))
}

fn enum_set(field: &Field, value: &Value) -> Result<Personal, InvalidValue> {
    let items = value.as_array().ok_or_else(|| invalid("must be a list"))?;
    let mut chosen = Vec::new();
    for item in items {
        let item = item
            .as_str()
            .ok_or_else(|| invalid("must be a list of strings"))?;
        if !field.values.iter().any(|v| v == item) {
            return Err(invalid(format!(
                "may contain only {}",
                field.values.join(", ")
            )));
        }
        if chosen.contains(&item) {
            return Err(invalid("must not repeat a value"));
        }
        chosen.push(item);
    }
    // Stored in the schema's order, so equal sets are equal values.
    let ordered: Vec<&str> = field
        .values
        .iter()
        .map(String::as_str)
        .filter(|v| chosen.contains(v))
        .collect();
    Ok(Personal::new(
        serde_json::to_string(&ordered).unwrap_or_default(),
    ))
}

fn month_year(text: &str) -> Result<String, InvalidValue> {
    let (month, year) = text
        .split_once('/')
        .ok_or_else(|| invalid("must be MM/YY"))?;
    let ok = month.len() == 2
        && year.len() == 2
        && month.parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
        && year.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(text.to_owned())
    } else {
        Err(invalid("must be MM/YY"))
    }
}

/// Keeps only the network part of an address (/24 for IPv4, /48 for IPv6): the policy
/// declares truncated addresses, so a full one is never stored.
fn truncate_ip(text: &str) -> Result<String, InvalidValue> {
    let ip: IpAddr = text.parse().map_err(|_| invalid("is not an IP address"))?;
    Ok(match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            std::net::Ipv4Addr::new(a, b, c, 0).to_string()
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0).to_string()
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(ty: FieldType, max: Option<u32>, values: &[&str]) -> Field {
        Field {
            name: "f".into(),
            label: custodian_policy::Text::fixed("f", "f"),
            ty,
            format: None,
            max_length: max,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    fn ok(f: &Field, v: Value) -> String {
        normalise(f, &v, PhoneRegion::VIETNAM)
            .unwrap()
            .expose()
            .to_owned()
    }

    #[test]
    fn text_is_stored_composed_and_refuses_reordering_controls() {
        let name = field(FieldType::String, Some(50), &[]);
        assert_eq!(ok(&name, json!("Nguye\u{0302}\u{0303}n")), "Nguyễn");
        let email = field(FieldType::Email, Some(254), &[]);
        assert_eq!(
            ok(&email, json!("Le\u{0302}@Example.com")),
            "lê@example.com"
        );
        for control in ["\u{202E}", "\u{2066}", "\u{202A}"] {
            let refused = normalise(
                &name,
                &json!(format!("An{control}nA")),
                PhoneRegion::VIETNAM,
            )
            .unwrap_err();
            assert_eq!(refused.code, ErrorCode::TextDirectionControl);
            assert!(!refused.message.contains("An"));
        }
        // Still the general code for other refusals.
        let refused = normalise(&name, &json!("a\nb"), PhoneRegion::VIETNAM).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidField);
    }

    #[test]
    fn normalises_each_type() {
        assert_eq!(
            ok(&field(FieldType::String, Some(10), &[]), json!("  Lan  ")),
            "Lan"
        );
        assert_eq!(
            ok(
                &field(FieldType::Email, Some(254), &[]),
                json!("Lan@Example.com")
            ),
            "lan@example.com"
        );
        assert_eq!(
            ok(
                &field(FieldType::Phone, Some(16), &[]),
                json!("0901 234 567")
            ),
            "+84901234567"
        );
        assert_eq!(
            ok(&field(FieldType::Date, None, &[]), json!("1990-02-28")),
            "1990-02-28"
        );
        assert_eq!(ok(&field(FieldType::Integer, None, &[]), json!(3)), "3");
        assert_eq!(
            ok(&field(FieldType::Enum, None, &["a", "b"]), json!("b")),
            "b"
        );
        assert_eq!(
            ok(
                &field(FieldType::EnumSet, None, &["a", "b", "c"]),
                json!(["c", "a"])
            ),
            "[\"a\",\"c\"]"
        );
        assert_eq!(
            ok(&field(FieldType::MonthYear, None, &[]), json!("09/27")),
            "09/27"
        );
        assert_eq!(
            ok(&field(FieldType::Ip, None, &[]), json!("203.0.113.77")),
            "203.0.113.0"
        );
        assert_eq!(
            ok(
                &field(FieldType::Ip, None, &[]),
                json!("2001:db8:85a3::8a2e:370:7334")
            ),
            "2001:db8:85a3::"
        );
    }

    #[test]
    fn phones_and_emails_in_every_spelling_are_one_value() {
        let phone = field(FieldType::Phone, Some(16), &[]);
        for spelling in [
            "0912 345 678",
            "+84 0912 345 678",
            "+84 (0)912 345 678",
            "tel:+84-912-345-678",
            "８４９１２３４５６７８",
            "0912\u{a0}345\u{a0}678",
        ] {
            assert_eq!(ok(&phone, json!(spelling)), "+84912345678", "{spelling:?}");
        }
        let email = field(FieldType::Email, Some(254), &[]);
        assert_eq!(ok(&email, json!("An@Bücher.de")), "an@xn--bcher-kva.de");
        assert_eq!(
            ok(&email, json!("an@xn--bcher-kva.de")),
            "an@xn--bcher-kva.de"
        );
    }

    #[test]
    fn refusals_name_the_accepted_forms() {
        let phone = field(FieldType::Phone, Some(16), &[]);
        let refused = normalise(&phone, &json!("0168 912 3456"), PhoneRegion::VIETNAM).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidField);
        assert_eq!(
            refused.message,
            "is not a valid phone number (accepted: national (0912 345 678), international \
             (+84 912 345 678) or a tel: URI)"
        );
        let email = field(FieldType::Email, Some(254), &[]);
        let refused = normalise(&email, &json!("a..b@shop.vn"), PhoneRegion::VIETNAM).unwrap_err();
        assert!(
            refused
                .message
                .starts_with("has an invalid name before `@` (accepted: name@domain")
        );
        assert!(!refused.message.contains("a..b"));
        let refused = normalise(&email, &json!("an@shop.test"), PhoneRegion::VIETNAM).unwrap_err();
        assert!(
            refused
                .message
                .starts_with("has a domain that receives no mail")
        );
    }

    #[test]
    fn the_phone_region_is_the_controllers_jurisdiction() {
        let policy = custodian_policy::parse(custodian_policy::DEFAULT_POLICY).unwrap();
        assert_eq!(
            phone_region(&policy.controller.jurisdiction),
            PhoneRegion::VIETNAM
        );
    }

    #[test]
    fn refuses_malformed_values_without_echoing_them() {
        let cases = [
            (field(FieldType::String, Some(3), &[]), json!("abcd")),
            (field(FieldType::String, Some(30), &[]), json!("a\u{7}b")),
            (field(FieldType::String, Some(30), &[]), json!("   ")),
            (field(FieldType::String, Some(30), &[]), json!(5)),
            (
                field(FieldType::Email, Some(254), &[]),
                json!("secret-marker"),
            ),
            (field(FieldType::Phone, Some(16), &[]), json!("call me")),
            (field(FieldType::Date, None, &[]), json!("1990-02-30")),
            (field(FieldType::Integer, None, &[]), json!("3")),
            (field(FieldType::Enum, None, &["a"]), json!("z")),
            (field(FieldType::EnumSet, None, &["a"]), json!(["a", "a"])),
            (field(FieldType::MonthYear, None, &[]), json!("13/27")),
            (field(FieldType::Digits, Some(4), &[]), json!("12a4")),
            (field(FieldType::Blob, Some(4), &[]), json!("AAAA")),
        ];
        for (f, v) in cases {
            let e = normalise(&f, &v, PhoneRegion::VIETNAM).unwrap_err();
            if let Some(s) = v.as_str() {
                assert!(
                    !e.message.contains(s.trim()) || s.trim().len() < 2,
                    "{} echoes the value",
                    e.message
                );
            }
        }
    }
}
