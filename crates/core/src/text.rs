//! Unicode hygiene for what people type: the form a value is stored and compared in, the
//! form the card guard searches, and the characters a single line of text may not hold.
//!
//! Two normal forms serve two ends. Values are *stored* in NFC (canonical composition: a
//! name typed with combining accents reads back as the same letters typed precomposed, and
//! is found by the same lookups), which never changes what a value means. Text is *searched*
//! for card numbers in a folded form — NFKC, format characters removed, every decimal digit
//! of any script made its ASCII digit — which may change meaning but never hides a digit.

use std::cmp::Ordering;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

mod digit_values;

/// `text` in Unicode Normalization Form C.
pub fn nfc(text: &str) -> String {
    text.nfc().collect()
}

/// `text` as the card guard reads it: compatibility-normalised (NFKC: full-width and
/// mathematical digits, superscripts, circled numbers become plain digits), without what is
/// drawn as nothing or only on the character before it ([`is_invisible`]), and with every
/// character that stands for one digit — a decimal digit of any script, a dingbat or Han
/// numeral ([`digit_value`]) — written as its ASCII digit.
pub fn fold_for_search(text: &str) -> String {
    text.nfkc()
        .filter(|c| !is_invisible(*c))
        .map(|c| digit_value(c).map_or(c, ascii_digit))
        .collect()
}

/// Whether a character shows nothing of its own: a format character (Cf: zero-width spaces
/// and joiners, direction marks, the soft hyphen), a mark drawn on the character before it
/// (Mn, Me: accents, variation selectors, the keycap), a code point Unicode has not assigned,
/// or any other default-ignorable code point (Unicode's `Default_Ignorable_Code_Point`: the
/// Hangul fillers, which are letters that draw nothing, the Mongolian free variation
/// selectors, the tag characters, …).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Format
            | GeneralCategory::NonspacingMark
            | GeneralCategory::EnclosingMark
            | GeneralCategory::Unassigned
    ) || DEFAULT_IGNORABLE
        .iter()
        .any(|(first, last)| (*first..=*last).contains(&c))
}

/// `Default_Ignorable_Code_Point` (Unicode's DerivedCoreProperties.txt), as ranges.
const DEFAULT_IGNORABLE: [(char, char); 17] = [
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// The digit a character stands for: a decimal digit of any script ([`decimal_value`]), or
/// one of the other characters whose value is one digit (`digit_values.rs`).
pub fn digit_value(c: char) -> Option<u8> {
    decimal_value(c).or_else(|| {
        let runs = &digit_values::DIGIT_RUNS;
        let at = runs
            .binary_search_by(|(first, last, _)| {
                if c < *first {
                    Ordering::Greater
                } else if c > *last {
                    Ordering::Less
                } else {
                    Ordering::Equal
                }
            })
            .ok()?;
        let (first, _, value) = runs.get(at)?;
        u8::try_from(u32::from(c) - u32::from(*first) + u32::from(*value)).ok()
    })
}

/// A key's words as the card guard compares them: folded as for a search, then without
/// diacritics (NFD, marks dropped; `đ` read as `d`), so `mã bảo mật` and `ma_bao_mat` are
/// the same words.
pub fn fold_key(text: &str) -> String {
    fold_for_search(text)
        .nfd()
        .filter(|c| !is_invisible(*c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            other => other,
        })
        .collect()
}

/// The value of a decimal digit of any script (general category Nd), `None` for anything
/// else. Unicode guarantees (its stability policy) that Nd characters come in contiguous runs
/// of ten, from zero to nine, so a digit's value is its distance from the start of its run
/// of consecutive Nd characters, modulo ten (some runs hold several sets back to back, such
/// as the mathematical digits).
pub fn decimal_value(c: char) -> Option<u8> {
    if c.is_ascii_digit() {
        return Some(c as u8 - b'0');
    }
    if c.general_category() != GeneralCategory::DecimalNumber {
        return None;
    }
    let mut offset: u32 = 0;
    let mut at = u32::from(c);
    while let Some(previous) = at.checked_sub(1).and_then(char::from_u32) {
        if previous.general_category() != GeneralCategory::DecimalNumber {
            break;
        }
        offset += 1;
        at -= 1;
    }
    u8::try_from(offset % 10).ok()
}

fn ascii_digit(value: u8) -> char {
    char::from(b'0' + value.min(9))
}

/// Whether `c` reorders the text around it: the bidirectional embeddings and overrides
/// (U+202A–U+202E) and isolates (U+2066–U+2069). In a name or an address they make what is
/// shown differ from what is stored (a "Trojan Source" spelling), so single-line values
/// refuse them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_of_every_script_fold_to_ascii() {
        for (text, folded) in [
            ("٤١١١", "4111"),                 // Arabic-Indic
            ("۴۱۱۱", "4111"),                 // Extended Arabic-Indic (Persian)
            ("४१११", "4111"),                 // Devanagari
            ("৪১১১", "4111"),                 // Bengali
            ("๔๑๑๑", "4111"),                 // Thai
            ("４１１１", "4111"),             // full-width (NFKC)
            ("𝟒𝟏𝟏𝟏", "4111"),                 // mathematical bold (NFKC)
            ("𝟺𝟷𝟷𝟷", "4111"),                 // mathematical monospace (NFKC)
            ("⁴¹¹¹", "4111"),                 // superscripts (NFKC)
            ("4\u{200B}1\u{2060}11", "4111"), // zero-width space, word joiner (Cf)
            ("4\u{200E}1\u{202E}11", "4111"), // direction marks (Cf)
            ("4\u{00AD}111", "4111"),         // soft hyphen (Cf)
            ("Lê Lợi", "Lê Lợi"),
        ] {
            assert_eq!(fold_for_search(text), folded, "{text:?}");
        }
    }

    #[test]
    fn every_decimal_digit_has_the_value_of_its_place_in_its_run() {
        let mut checked = 0;
        for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
            if c.general_category() != GeneralCategory::DecimalNumber {
                assert_eq!(decimal_value(c), None, "{c:?}");
                continue;
            }
            let value = decimal_value(c).unwrap();
            // The zero of its set is `value` places before it, and is itself a digit zero.
            let zero = char::from_u32(u32::from(c) - u32::from(value)).unwrap();
            assert_eq!(decimal_value(zero), Some(0), "{c:?}");
            if c.is_ascii_digit() {
                assert_eq!(c.to_digit(10), Some(u32::from(value)));
            }
            checked += 1;
        }
        assert!(checked > 600, "{checked} decimal digits");
    }

    #[test]
    fn digit_runs_are_in_order_and_each_stands_for_one_digit() {
        let runs = &digit_values::DIGIT_RUNS;
        for pair in runs.windows(2) {
            assert!(pair[0].1 < pair[1].0, "{pair:?}");
        }
        for (first, last, value) in runs {
            assert!(first <= last);
            assert!(u32::from(*value) + (u32::from(*last) - u32::from(*first)) <= 9);
            assert_eq!(digit_value(*first), Some(*value));
            assert_eq!(decimal_value(*first), None, "{first:?} is a decimal digit");
        }
    }

    #[test]
    fn keys_are_compared_without_diacritics() {
        assert_eq!(fold_key("mã_bảo_mật"), "ma_bao_mat");
        assert_eq!(fold_key("Số thẻ"), "So the");
        assert_eq!(fold_key("đ"), "d");
    }

    #[test]
    fn nfc_composes_what_was_typed_decomposed() {
        let decomposed = "Nguye\u{0302}\u{0303}n Le\u{0302}";
        assert_eq!(nfc(decomposed), "Nguyễn Lê");
        assert_eq!(nfc("Nguyễn Lê"), "Nguyễn Lê");
    }

    #[test]
    fn bidi_controls_are_the_embeddings_overrides_and_isolates() {
        for c in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}'] {
            assert!(is_bidi_control(c));
        }
        for c in ['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'] {
            assert!(is_bidi_control(c));
        }
        for c in [
            'a', 'ễ', '\u{200E}', '\u{200F}', ' ', '\u{2065}', '\u{206A}',
        ] {
            assert!(!is_bidi_control(c));
        }
    }
}
