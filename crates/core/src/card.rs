//! The guard against card data (P6, PCI DSS 3.3.1, 3.4.1): a full card number or a card
//! security code anywhere in what a request sends refuses the whole request, before anything
//! is stored or logged. It runs on every body, form and query string the service accepts
//! (the HTTP front applies it where requests enter); a finding names where, never what.
//!
//! Text is read in the folded form of [`crate::text::fold_for_search`] first (NFKC, format
//! and other invisible characters removed, every character standing for a digit made
//! ASCII), so a number is found however it is spelled; then a card number is 13–19 digits
//! passing the Luhn check, written in groups separated by short runs of anything that is
//! not a letter or a digit.
//!
//! What keeps other numbers out (measured on a generated corpus, `card/corpus.rs`):
//! - a run glued to letters (`cus_0197ab…`, `DH123…`) belongs to an identifier, not a card;
//! - a number right after `+` with at most 15 digits, or starting with the `00` that dials
//!   out with at most 17, is a phone number in international form (E.164 allows no more);
//!   a card number is never written with a `+`, and never starts with 0 (ISO/IEC 7812);
//! - a product's barcode (13 digits with a valid GTIN-13 check digit) and a phone's identity
//!   labelled as such (`IMEI` and 15 digits) are not card numbers;
//! - `+` and `=` between groups join quantities, not a card's groups;
//! - the digits of different JSON values, form fields or keys are never joined;
//! - only a run whose digits end where a group ends is tried, and never a run inside a
//!   longer run of digits.

use serde_json::Value;

use crate::text::fold_for_search;

#[cfg(test)]
mod corpus;
#[cfg(any(test, feature = "test-support"))]
pub mod spelling;

/// What was found, and where (a path of keys and indexes: no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardData {
    /// A primary account number, however written.
    CardNumber { at: String },
    /// A key that names a card's security code, PIN, track data or full number, whatever
    /// its value.
    CardField { at: String },
}

impl CardData {
    pub fn at(&self) -> &str {
        match self {
            CardData::CardNumber { at } | CardData::CardField { at } => at,
        }
    }
}

/// The fewest and most digits of a card number (ISO/IEC 7812).
const CARD_DIGITS: std::ops::RangeInclusive<usize> = 13..=19;

/// The most characters between two groups of a card number's digits that still read as one
/// separator (`4111 - 1111`, `4111 / 1111`); more, and they are two numbers.
const MAX_SEPARATOR: usize = 3;

/// The most digits of a phone number in international form (ITU-T E.164).
const MAX_PHONE_DIGITS: usize = 15;

/// The first card number or card field in a JSON value, depth first. `$` is the root.
pub fn find_in_json(value: &Value) -> Option<CardData> {
    find(value, &mut String::from("$"))
}

/// The first card number or card field among name–value pairs (a form body, a query
/// string), each located as `<place>.<name>`.
pub fn find_in_pairs<'a>(
    place: &str,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<CardData> {
    pairs.into_iter().find_map(|(name, value)| {
        let at = || format!("{place}.{}", shown_key(name));
        if is_card_key(name) {
            Some(CardData::CardField { at: at() })
        } else if contains_card_number(name) || contains_card_number(value) {
            Some(CardData::CardNumber { at: at() })
        } else {
            None
        }
    })
}

/// A card number in one piece of text, located at `place`.
pub fn find_in_text(place: &str, text: &str) -> Option<CardData> {
    contains_card_number(text).then(|| CardData::CardNumber {
        at: place.to_owned(),
    })
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
            } else if contains_card_number(key) {
                Some(CardData::CardNumber { at: path.clone() })
            } else {
                find(item, path)
            };
            path.truncate(len);
            found
        }),
        Value::Null | Value::Bool(_) => None,
    }
}

/// A key as it appears in an error's location: always `<key>`. A key is what the client sent,
/// and one that looks like an identifier can still be a phone number or a name, so none is
/// shown; array indices (`[2]`), which the guard counts itself, still locate the place.
fn shown_key(_key: &str) -> String {
    "<key>".to_owned()
}

/// Words that name, on their own, what must never be stored: a card's security code under
/// each network's name (CVV, CVC, CSC, CAV, CVN, CVD, CVE), or the magnetic stripe's tracks.
const SECRET_WORDS: [&str; 15] = [
    "cvv",
    "cvv2",
    "ccv",
    "cvc",
    "cvc2",
    "csc",
    "cav",
    "cav2",
    "cvn",
    "cvn2",
    "cvd",
    "cve",
    "track1",
    "track2",
    "magstripe",
];

/// The security codes' names that never occur inside an ordinary word, so that they are
/// found run together with others (`CVVNumber`, `cardcvv`, `c_v_v`).
const SECRET_INFIXES: [&str; 4] = ["cvv", "cvc", "cvn", "csc"];

/// Words that name a card secret when they are the whole key (`pin`, `pan`), but are
/// ordinary words next to others (`dung_luong_pin` is a battery's capacity, `pan_size`).
const SECRET_KEYS: [&str; 3] = ["pin", "pan", "pinblock"];

/// What a card's secret is called, as a qualifier followed by what it is: `card number`,
/// `security code`, `verification value`, `card verification code`, `primary account number`,
/// and the same in Vietnamese (`số thẻ`, `mã bảo mật`, read without diacritics). A key
/// matches when these words follow each other in it, written apart (`card_number`,
/// `cardNumber`, `Card-Number`) or run together (`cardnumber`).
const SECRET_PHRASES: [&[&str]; 33] = [
    &["card", "number"],
    &["card", "no"],
    &["card", "num"],
    &["card", "nr"],
    &["card", "code"],
    &["card", "pin"],
    &["card", "sec"],
    &["card", "ver"],
    &["card", "verif"],
    &["card", "verification"],
    &["card", "validation"],
    &["card", "security"],
    &["card", "identification"],
    &["security", "code"],
    &["security", "number"],
    &["security", "value"],
    &["security", "digits"],
    &["sec", "code"],
    &["verification", "value"],
    &["verification", "number"],
    &["verification", "digits"],
    &["primary", "account"],
    &["cc", "number"],
    &["cc", "num"],
    &["cc", "no"],
    &["pin", "block"],
    &["pan", "number"],
    &["track", "data"],
    &["mag", "stripe"],
    &["magnetic", "stripe"],
    &["so", "the"],
    &["ma", "bao", "mat"],
    &["ma", "cvv"],
];

/// Cards that are not payment cards: a phrase starting with `card` after one of these
/// (`id_card_number`, a citizen's identity card; `gift_card_code`) is not a card secret.
const OTHER_CARDS: [&str; 13] = [
    "id",
    "identity",
    "citizen",
    "gift",
    "loyalty",
    "member",
    "membership",
    "sim",
    "health",
    "insurance",
    "student",
    "library",
    "business",
];

/// Whether a key names a card secret, whatever its value: its words (split at anything that
/// is not a letter or digit and where case turns — `cardNumber`, `CVVNumber` —, folded as
/// values are and read without diacritics, lower-cased) hold a [`SECRET_WORDS`] word, a
/// [`SECRET_INFIXES`] name anywhere, a [`SECRET_KEYS`] word as the whole key, or a
/// [`SECRET_PHRASES`] phrase not about one of the [`OTHER_CARDS`].
pub fn is_card_key(key: &str) -> bool {
    let words = key_words(key);
    let joined = words.concat();
    if words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()))
        || SECRET_INFIXES.iter().any(|infix| joined.contains(infix))
        || matches!(words.as_slice(), [one] if SECRET_KEYS.contains(&one.as_str()))
    {
        return true;
    }
    SECRET_PHRASES.iter().any(|phrase| {
        let other_card = |before: &str| {
            phrase.first() == Some(&"card") && OTHER_CARDS.iter().any(|o| before.ends_with(o))
        };
        // Written apart, word after word.
        let apart = words.windows(phrase.len()).enumerate().any(|(i, window)| {
            let before = i.checked_sub(1).and_then(|j| words.get(j));
            window.iter().zip(phrase.iter()).all(|(w, p)| w == p)
                && !before.is_some_and(|b| other_card(b))
        });
        // Run together: as a word of its own, or, when long enough to be unambiguous,
        // anywhere in the key (`cardnumber`, `creditcardnumber`, but not `cardnotes`).
        let run_together = phrase.concat();
        let together = words.contains(&run_together)
            || (run_together.len() >= 7
                && joined
                    .match_indices(&run_together)
                    .any(|(at, _)| !other_card(joined.get(..at).unwrap_or(""))));
        apart || together
    })
}

/// A key's words, lower-cased: split at every character that is not a letter or a digit, at
/// a lower-case letter followed by an upper-case one (`cardNumber`), and before the last
/// capital of a run of capitals followed by a lower-case letter (`CVVNumber`). Digits after
/// letters belong to them (`cvv2`).
fn key_words(key: &str) -> Vec<String> {
    let folded: Vec<char> = crate::text::fold_key(key).chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, &c) in folded.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let previous = i.checked_sub(1).and_then(|j| folded.get(j));
        let next = folded.get(i + 1);
        let camel = c.is_uppercase()
            && previous.is_some_and(|p| {
                p.is_lowercase() || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
            });
        if camel && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Whether the text holds a card number, however it is written: see the module's
/// documentation for what is read and what is left alone.
pub fn contains_card_number(text: &str) -> bool {
    // The quick way out for most values: plain ASCII with too few digits. (Other text is
    // always folded: one character may become several digits, `㉑` two.)
    if text.is_ascii() && text.bytes().filter(u8::is_ascii_digit).count() < *CARD_DIGITS.start() {
        return false;
    }
    let chars: Vec<char> = fold_for_search(text).chars().collect();
    (0..chars.len()).any(|start| starts_run(&chars, start) && run_holds_card_number(&chars, start))
}

/// Whether a run of digits may start at `start`: a digit that does not continue a word or a
/// number (`cus_0197…`, `DH123…`, `12345…`), nor a phone number's `+`.
fn starts_run(chars: &[char], start: usize) -> bool {
    let Some(c) = chars.get(start) else {
        return false;
    };
    if !c.is_ascii_digit() {
        return false;
    }
    match start.checked_sub(1).and_then(|i| chars.get(i)) {
        None => true,
        Some(before) => !before.is_alphanumeric(),
    }
}

/// Reads groups of digits from `start`, joined by separators of at most [`MAX_SEPARATOR`]
/// characters that are neither letters nor digits, and checks every count of 13 to 19 digits
/// that ends where a group ends and stands alone (is not followed by a letter).
fn run_holds_card_number(chars: &[char], start: usize) -> bool {
    // A phone number in international form: after `+`, or after the `00` that dials out,
    // at most E.164's digits. (No card number starts with 0: ISO/IEC 7812 gives 0 no issuer.)
    let after_plus = start
        .checked_sub(1)
        .and_then(|i| chars.get(i))
        .is_some_and(|c| *c == '+');
    let dials_out = chars.get(start..start + 2) == Some(&['0', '0']);
    let phone_digits = if after_plus {
        MAX_PHONE_DIGITS
    } else if dials_out {
        MAX_PHONE_DIGITS + 2
    } else {
        0
    };
    // A phone's identity (IMEI: 15 digits passing Luhn by design) when it says so.
    let imei = word_before(chars, start).eq_ignore_ascii_case("imei");
    let mut digits: Vec<u8> = Vec::with_capacity(*CARD_DIGITS.end());
    let mut i = start;
    loop {
        // One group of digits.
        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
            digits.push(d as u8);
            if digits.len() > *CARD_DIGITS.end() {
                return false;
            }
            i += 1;
        }
        let next = chars.get(i);
        let stands_alone = !next.is_some_and(|c| c.is_alphanumeric());
        let phone = digits.len() <= phone_digits;
        let other_number = phone || (imei && digits.len() == 15) || is_gtin13(&digits);
        if stands_alone && !other_number && CARD_DIGITS.contains(&digits.len()) && luhn(&digits) {
            return true;
        }
        if !stands_alone {
            return false;
        }
        // A separator, then the next group, or the end of the run.
        // `+` and `=` join quantities (`1.202.000 + 25.000 = 1.227.000`), never groups.
        let separator: Vec<&char> = chars
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| !c.is_alphanumeric())
            .collect();
        if separator.is_empty()
            || separator.len() > MAX_SEPARATOR
            || separator.iter().any(|c| matches!(c, '+' | '='))
        {
            return false;
        }
        let separator = separator.len();
        i += separator;
        if !chars.get(i).is_some_and(char::is_ascii_digit) {
            return false;
        }
    }
}

/// The word right before a run of digits, past at most [`MAX_SEPARATOR`] separators (`IMEI`
/// in `IMEI: 3569…`).
fn word_before(chars: &[char], start: usize) -> String {
    let before = chars.get(..start).unwrap_or_default();
    let gap = before
        .iter()
        .rev()
        .take_while(|c| !c.is_alphanumeric())
        .count();
    if gap > MAX_SEPARATOR {
        return String::new();
    }
    let mut word: Vec<char> = before
        .iter()
        .rev()
        .skip(gap)
        .take_while(|c| c.is_alphanumeric())
        .take(16)
        .copied()
        .collect();
    word.reverse();
    word.into_iter().collect()
}

/// Whether 13 digits are a GTIN-13 (EAN-13, ISBN-13: a product's barcode, whose check digit
/// weighs digits 1, 3, 1, 3, … from the left). A 13-digit card number whose digits also
/// pass this check is taken for a barcode: 13-digit card numbers are no longer issued.
fn is_gtin13(digits: &[u8]) -> bool {
    digits.len() == 13
        && digits
            .iter()
            .enumerate()
            .map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 1 } else { 3 })
            .sum::<u32>()
            .is_multiple_of(10)
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
    use proptest::prelude::*;
    use serde_json::json;

    use super::spelling::{PREFIXES, Rng, SUFFIXES, spelled_card_number};
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Any Luhn-valid number, in any mix of scripts, separators and format characters,
        /// in any text, value, key or pair, is found.
        #[test]
        fn every_spelling_is_found_wherever_it_stands(seed: u64) {
            let spelled = spelled_card_number(seed);
            let mut rng = Rng::new(seed.rotate_left(17));
            let prefix = rng.pick(&PREFIXES).copied().unwrap_or("");
            let suffix = rng.pick(&SUFFIXES).copied().unwrap_or("");
            let text = format!("{prefix}{}{suffix}", spelled.text);
            prop_assert!(contains_card_number(&text), "{:?} ({})", text, spelled.digits);

            let bodies = [
                json!({ "fields": { "account_name.full_name": text } }),
                json!({ "items": [{ "product_name": "Áo", "note": [1, text] }] }),
                json!({ "fields": { text.clone(): "x" } }),
                json!([{ "details": { "nested": { "deeper": text } } }]),
            ];
            for body in &bodies {
                let found = find_in_json(body);
                prop_assert!(matches!(found, Some(CardData::CardNumber { .. })), "{body}");
                prop_assert!(!found.map(|f| f.at().to_owned()).unwrap_or_default().contains(&spelled.text));
            }
            prop_assert!(find_in_pairs("$form", [("details", text.as_str())]).is_some());
            prop_assert!(find_in_pairs("$form", [(text.as_str(), "x")]).is_some());
        }
    }

    // Test card numbers published by the card networks for testing: never real cards.
    const VISA: &str = "4111111111111111";
    const AMEX: &str = "378282246310005";
    const MASTERCARD: &str = "5555555555554444";

    #[test]
    fn card_numbers_are_found_however_they_are_written() {
        for text in [
            VISA,
            AMEX,
            MASTERCARD,
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4111  1111 1111 1111",
            "4111.1111.1111.1111",
            "4111/1111/1111/1111",
            "4111_1111_1111_1111",
            "4111 - 1111 - 1111 - 1111",
            "4111\u{00A0}1111\u{2009}1111\u{3000}1111",
            "4111\u{200B}1111\u{200B}1111\u{200B}1111",
            "4\u{200C}1\u{200D}1\u{2060}1\u{FEFF}111111111111",
            "٤١١١ ١١١١ ١١١١ ١١١١",
            "४१११-१११११-१११-११११", // Devanagari, odd groups
            "４１１１－１１１１－１１１１－１１１１",
            "𝟒𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏",
            "3782 822463 10005",
            "pay with 4111111111111111 please",
            "ship to 12 Lê Lợi, card 5555-5555-5555-4444",
            "(4111)(1111)(1111)(1111)",
            "04111111111111111",        // a leading zero changes no Luhn sum
            "004111111111111111",       // nor two: too long for 00 and a phone number
            "+4111111111111111",        // too long for a phone number
            "\u{3164}4111111111111111", // a Hangul filler: a blank "letter"
            "4111111111111111\u{3164}",
            "4111\u{3164}1111\u{3164}1111\u{3164}1111",
            "\u{FFA0}4111111111111111",
            "4111111111111111\u{345}", // a combining mark after it
            "4111\u{FE0F}\u{FE0F}\u{FE0F}\u{FE0F}1111 1111 1111", // variation selectors
            "4111 \u{FE0F}\u{FE0F}\u{FE0F}1111 1111 1111",
            "4111-\u{2065}\u{2065}\u{2065}1111-1111-1111", // unassigned
            "4\u{301}\u{301}\u{301}\u{301}111 1111 1111 1111",
            "4\u{FE0F}\u{20E3}1\u{FE0F}\u{20E3}1\u{FE0F}\u{20E3}1\u{FE0F}\u{20E3} - 1\u{FE0F}\u{20E3}1\u{FE0F}\u{20E3}1\u{FE0F}\u{20E3}1\u{FE0F}\u{20E3} - 1111 - 1111",
            "❹❶❶❶❶❶❶❶❶❶❶❶❶❶❶❶", // dingbat circled digits
            "⓸⓵⓵⓵⓵⓵⓵⓵⓵⓵⓵⓵⓵⓵⓵⓵",
            "➃➀➀➀ ➀➀➀➀ ➀➀➀➀ ➀➀➀➀",
            "四一一一一一一一一一一一一一一一", // Han numerals
            "IMEI 4111 1111 1111 1111",         // 16 digits: no IMEI
        ] {
            assert!(contains_card_number(text), "{text:?}");
        }
    }

    #[test]
    fn other_numbers_are_not_card_numbers() {
        for text in [
            "4111111111111112",                   // fails Luhn
            "411111111111",                       // 12 digits
            "41111111111111111111",               // 20 digits
            "+84912345678",                       // a phone
            "0912 345 678",                       // a phone, grouped
            "+86 138 0013 8000",                  // a foreign mobile, 13 digits
            "+8613800138000",                     // the same, written together
            "0086 138 0013 8000",                 // the same, dialled out with 00
            "0084912345678",                      // a Vietnamese mobile, dialled out
            "4242",                               // last four
            "2028-07",                            // an expiry
            "tok_1N3fKx2eZvKYlo2C",               // a processor token
            "Số 12, ngõ 34, phố Huế",             // an address
            "4111    1111 1111 1111",             // four spaces part two numbers
            "iPhone 15 Pro IMEI 356938035643809", // a phone's identity, labelled
            "IMEI: 35-693803-564380-9",
            "8930636083776",     // a Vietnamese product's barcode (EAN-13)
            "978-604-1-12341-0", // a book's ISBN-13
            "Tổng: 1.202.000 + 25.000 = 1.227.000", // arithmetic
            // Browsers' and in-app browsers' User-Agent headers, which the guard reads too.
            "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36",
            "Instagram 312.0.0.32.112 Android (33/13; 420dpi; 1080x2220; samsung; SM-A525F; a52q; qcom; en_US; 548323757)",
            "[FBAN/FBIOS;FBAV/441.0.0.23.105;FBBV/598123420;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.1.2]",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Zalo iOS/496 ZaloTheme/light ZaloLanguage/vn",
            "x4111111111111111", // glued to letters: an identifier
            "4111111111111111x",
            "",
        ] {
            assert!(!contains_card_number(text), "{text:?}");
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
    fn a_card_anywhere_in_a_body_is_found_and_located_without_its_value() {
        let body = json!({
            "items": [{ "product_id": "sku-1", "product_name": "Áo", "quantity": 1 }],
            "fields": { "order_shipping_address.address_line": format!("note {VISA}") },
        });
        let found = find_in_json(&body).unwrap();
        assert_eq!(found.at(), "$.<key>.<key>");
        assert!(!found.at().contains(VISA));

        let as_number = json!({ "fields": { "x": 4_111_111_111_111_111_u64 } });
        assert!(matches!(
            find_in_json(&as_number),
            Some(CardData::CardNumber { .. })
        ));
        let as_key = json!({ "fields": { VISA: "x" } });
        let found = find_in_json(&as_key).unwrap();
        assert_eq!(found.at(), "$.<key>.<key>");
    }

    #[test]
    fn pairs_are_searched_by_name_and_value() {
        let found = find_in_pairs("$query", [("purpose", "account"), ("q", VISA)]).unwrap();
        assert_eq!(
            found,
            CardData::CardNumber {
                at: "$query.<key>".into()
            }
        );
        let found = find_in_pairs("$form", [("cvv", "123")]).unwrap();
        assert_eq!(
            found,
            CardData::CardField {
                at: "$form.<key>".into()
            }
        );
        assert_eq!(find_in_pairs("$form", [("lang", "en")]), None);
    }

    #[test]
    fn security_code_keys_are_refused_whatever_their_value() {
        for key in [
            "cvv",
            "CVC",
            "cvv2",
            "CVV2",
            "security_code",
            "securityCode",
            "SecurityCode",
            "securitycode",
            "Card-Number",
            "cardNumber",
            "cardnumber",
            "card number",
            "card_no",
            "pan",
            "PAN",
            "pinblock",
            "card_verification",
            "card_verification_code",
            "cardVerificationValue",
            "verification_value",
            "security_number",
            "card_security_code",
            "primary_account_number",
            "PrimaryAccountNumber",
            "cc_number",
            "ccNum",
            "pin",
            "card_pin",
            "ｃｖｖ",              // full-width
            "c\u{200B}v\u{200B}v", // zero-width spaces
            "payment.cvc",
            "billing[card][number]",
            "track_data",
            "CVVNumber",
            "CVCCode",
            "cvvcode",
            "cardcvv",
            "cvcode",
            "PANnumber",
            "CSC2",
            "CVV2Code",
            "c_v_v",
            "C V V",
            "cVV",
            "cvV",
            "ccNo",
            "secCode",
            "cardSecCode",
            "card_ver_code",
            "cardVerifCode",
            "cv\u{301}v",
            "c\u{34F}vv",
            "cvv\u{3164}",
            "card\u{3164}number",
            "track2",
            "magstripe",
            "ma_bao_mat",
            "mã bảo mật",
            "so_the",
            "số_thẻ",
            "creditcardnumber",
        ] {
            assert!(is_card_key(key), "{key:?}");
            let body = json!({ "payment": { key: "123" } });
            assert!(
                matches!(find_in_json(&body), Some(CardData::CardField { .. })),
                "{key}"
            );
        }
    }

    #[test]
    fn ordinary_keys_are_not_card_keys() {
        for key in [
            "card_last4",
            "card_brand",
            "card_expiry",
            "payment_token",
            "processor_token",
            "verification_code", // a one-time code
            "code",
            "account_number",
            "phone_number",
            "order_number",
            "purpose",
            "csrf",
            "order_payment.card_last4",
            "account_email.email",
            "spinner",
            "pane",
            "opinion",
            "description",
            "security_question",
            "identification",
            "cid",
            "utm_source",
            "dung_luong_pin",
            "map_pin",
            "pin_location",
            "pan_size",
            "id_card_number",
            "gift_card_code",
            "loyalty_card_number",
            "membership_card_no",
            "giftcardnumber",
            "cardnotes",
            "card_notes",
            "business_card",
        ] {
            assert!(!is_card_key(key), "{key:?}");
        }
        let fine = json!({ "payment": { "card_last4": "4242", "card_brand": "visa" } });
        assert_eq!(find_in_json(&fine), None);
    }
}
