//! The guard against card data (PCI DSS 3.3.1, 3.4.1): a full card number or a security code
//! anywhere in a request refuses the whole request, before anything is stored or logged. The
//! finding names where, never what.

use serde_json::Value;

/// What was found, and where (a JSON path of keys and indexes: no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardData {
    /// A run of 13 to 19 digits, alone or separated by single spaces or dashes, that passes
    /// the Luhn check: a primary account number.
    CardNumber { at: String },
    /// A key that names a card's security code (CVV, CVC, CID, …) or its full number,
    /// whatever its value.
    CardField { at: String },
}

impl CardData {
    pub fn at(&self) -> &str {
        match self {
            CardData::CardNumber { at } | CardData::CardField { at } => at,
        }
    }
}

/// Keys that may only ever hold what must never be stored, compared without case, `_`,
/// `-` or spaces.
const CARD_KEYS: [&str; 12] = [
    "cvv",
    "cvv2",
    "cvc",
    "cvc2",
    "cid",
    "csc",
    "securitycode",
    "cardsecuritycode",
    "cardverificationvalue",
    "cardnumber",
    "pan",
    "primaryaccountnumber",
];

/// The first card number or card field in `value`, depth first.
pub fn find_card_data(value: &Value) -> Option<CardData> {
    find(value, &mut String::from("$"))
}

fn find(value: &Value, path: &mut String) -> Option<CardData> {
    match value {
        Value::String(s) => {
            contains_card_number(s).then(|| CardData::CardNumber { at: path.clone() })
        }
        Value::Number(n) => {
            contains_card_number(&n.to_string()).then(|| CardData::CardNumber { at: path.clone() })
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = find(item, path);
            path.truncate(len);
            found
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let len = path.len();
            path.push('.');
            path.push_str(&shown_key(key));
            let found = if is_card_key(key) {
                Some(CardData::CardField { at: path.clone() })
            } else {
                contains_card_number(key)
                    .then(|| CardData::CardNumber { at: path.clone() })
                    .or_else(|| find(item, path))
            };
            path.truncate(len);
            found
        }),
        Value::Null | Value::Bool(_) => None,
    }
}

fn is_card_key(key: &str) -> bool {
    let folded: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    CARD_KEYS.contains(&folded.as_str())
}

/// A key as it may appear in an error: itself when it looks like an identifier.
fn shown_key(key: &str) -> String {
    let id_like = key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if id_like && !contains_card_number(key) {
        key.to_owned()
    } else {
        "<key>".to_owned()
    }
}

/// Whether the text holds a card number: 13–19 digits, consecutive or grouped by single
/// spaces or dashes, standing on their own (not inside a longer run of digits, nor glued to
/// letters as in an identifier like `cus_0197…`, whose hex digits would otherwise match now
/// and then), passing the Luhn check.
pub fn contains_card_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let starts_run = bytes.get(start).is_some_and(u8::is_ascii_digit)
            && (start == 0 || !bytes.get(start - 1).is_some_and(u8::is_ascii_alphanumeric));
        if starts_run && run_holds_card_number(bytes.get(start..).unwrap_or_default()) {
            return true;
        }
        start += 1;
    }
    false
}

/// Reads digits (with single separators between them) from the start of `run`, and checks
/// every count from 13 to 19 that ends where a group of digits ends.
fn run_holds_card_number(run: &[u8]) -> bool {
    let mut digits: Vec<u8> = Vec::with_capacity(19);
    let mut i = 0;
    while let Some(&b) = run.get(i) {
        if b.is_ascii_digit() {
            digits.push(b - b'0');
            if digits.len() > 19 {
                return false;
            }
            i += 1;
            let next = run.get(i);
            let group_ends = !next.is_some_and(u8::is_ascii_digit);
            let stands_alone = !next.is_some_and(u8::is_ascii_alphabetic);
            if group_ends && stands_alone && digits.len() >= 13 && luhn(&digits) {
                return true;
            }
        } else if matches!(b, b' ' | b'-') && run.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 1;
        } else {
            return false;
        }
    }
    false
}

/// The Luhn (mod 10) check over digits, most significant first.
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // Test card numbers published by the card networks for testing: never real cards.
    const VISA: &str = "4111111111111111";
    const AMEX: &str = "378282246310005";
    const MASTERCARD: &str = "5555555555554444";

    #[test]
    fn card_numbers_are_found_with_or_without_separators() {
        for text in [
            VISA,
            AMEX,
            MASTERCARD,
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "3782 822463 10005",
            "pay with 4111111111111111 please",
            "ship to 12 Lê Lợi, card 5555-5555-5555-4444",
        ] {
            assert!(contains_card_number(text), "{text}");
        }
    }

    #[test]
    fn other_numbers_are_not_card_numbers() {
        for text in [
            "4111111111111112",       // fails Luhn
            "411111111111",           // 12 digits
            "41111111111111111111",   // 20 digits
            "+84912345678",           // a phone
            "0912 345 678",           // a phone, grouped
            "4242",                   // last four
            "2028-07",                // an expiry
            "tok_1N3fKx2eZvKYlo2C",   // a processor token
            "Số 12, ngõ 34, phố Huế", // an address
            "4111  1111 1111 1111",   // two spaces do not group
            "",
        ] {
            assert!(!contains_card_number(text), "{text}");
        }
    }

    #[test]
    fn identifiers_are_never_taken_for_card_numbers() {
        let now = jiff::Timestamp::from_second(1_764_500_000).unwrap();
        for _ in 0..20_000 {
            let id = crate::ids::CustomerId::generate(now).unwrap();
            assert!(!contains_card_number(id.as_str()), "{id}");
            let id = crate::ids::OrderId::generate(now).unwrap();
            assert!(!contains_card_number(id.as_str()), "{id}");
        }
    }

    #[test]
    fn a_card_anywhere_in_a_request_is_found_and_located_without_its_value() {
        let body = json!({
            "items": [{ "product_id": "sku-1", "product_name": "Áo", "quantity": 1 }],
            "fields": { "order_shipping_address.address_line": format!("note {VISA}") },
        });
        let found = find_card_data(&body).unwrap();
        assert_eq!(found.at(), "$.fields.order_shipping_address.address_line");
        assert!(!found.at().contains(VISA));

        let as_number = json!({ "fields": { "x": 4_111_111_111_111_111_u64 } });
        assert!(matches!(
            find_card_data(&as_number),
            Some(CardData::CardNumber { .. })
        ));
        let as_key = json!({ "fields": { VISA: "x" } });
        let found = find_card_data(&as_key).unwrap();
        assert_eq!(found.at(), "$.fields.<key>");
    }

    #[test]
    fn security_code_keys_are_refused_whatever_their_value() {
        for key in [
            "cvv",
            "CVC",
            "cvv2",
            "security_code",
            "Card-Number",
            "pan",
            "card number",
        ] {
            let body = json!({ "payment": { key: "123" } });
            assert!(
                matches!(find_card_data(&body), Some(CardData::CardField { .. })),
                "{key}"
            );
        }
        let fine = json!({ "payment": { "card_last4": "4242", "card_brand": "visa" } });
        assert_eq!(find_card_data(&fine), None);
    }
}
