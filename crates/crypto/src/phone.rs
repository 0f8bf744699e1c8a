//! Phone numbers read by libphonenumber's rules and metadata (through the `phonenumber` crate,
//! whose version names the metadata release it carries), stored in E.164 (`+84912345678`).
//!
//! What is accepted, for a default region (Vietnam for a controller in Vietnam):
//! - a national number (`0912 345 678`, `0912-345-678`, `(091) 234 5678`, `1800 1234`), read
//!   in the default region;
//! - an international one (`+84 912 345 678`, `0084 912 345 678`, `+44 (0)20 7031 3000`, the
//!   trunk zero after the country code dropped as libphonenumber drops it), or the country
//!   code without `+` where libphonenumber reads it so (`84912345678`);
//! - an RFC 3966 `tel:` URI (`tel:+84-912-345-678`, `tel:0912345678;phone-context=+84`);
//! - any of these with full-width digits or no-break spaces (folded by NFKC first).
//!
//! What is refused: whatever libphonenumber does not call valid (a wrong length, the 11-digit
//! mobiles renumbered in 2018, an unassigned prefix or area code, a country code that does
//! not exist), and, on purpose, extensions (E.164 has no room for one) and letters (vanity
//! numbers). Only the characters of the forms above reach the parser, at most
//! [`MAX_PHONE_INPUT`] of them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex, PoisonError};

use phonenumber::Mode;
use phonenumber::country::{Id, Source};
use phonenumber::metadata::DATABASE;
use regex::{Regex, RegexBuilder};
use unicode_normalization::UnicodeNormalization;

/// The longest phone number input read, in characters (after NFKC).
pub const MAX_PHONE_INPUT: usize = 64;

/// The region national numbers are read in, or none: then only international forms are
/// accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(Option<Id>);

impl PhoneRegion {
    /// Vietnam.
    pub const VIETNAM: PhoneRegion = PhoneRegion(Some(Id::VN));
    /// No region: national numbers are refused.
    pub const NONE: PhoneRegion = PhoneRegion(None);

    /// The region of an ISO 3166-1 alpha-2 code (`VN`, `us`), if libphonenumber has metadata
    /// for it.
    pub fn from_iso(code: &str) -> Option<PhoneRegion> {
        let code = code.to_ascii_uppercase();
        let id: Id = code.parse().ok()?;
        DATABASE.by_id(id.as_ref())?;
        Some(PhoneRegion(Some(id)))
    }

    /// The region's ISO 3166-1 alpha-2 code, if there is one.
    pub fn iso(&self) -> Option<&'static str> {
        DATABASE.by_id(self.0?.as_ref()).map(|m| m.id())
    }

    /// The accepted forms, illustrated with the region's example mobile number:
    /// `national (0912 345 678), international (+84 912 345 678) or a tel: URI`.
    pub fn accepted_forms(&self) -> String {
        let example = self.0.and_then(|id| {
            let meta = DATABASE.by_id(id.as_ref())?;
            let mobile = meta.descriptors().mobile()?.example()?;
            let number = phonenumber::parse(Some(id), mobile).ok()?;
            let national = formatted(&number, Mode::National)?;
            let international = formatted(&number, Mode::International)?;
            Some((national, international))
        });
        match example {
            Some((national, international)) => {
                format!("national ({national}), international ({international}) or a tel: URI")
            }
            None => "international (+ and the country code, e.g. +84 912 345 678) or a tel: URI"
                .to_owned(),
        }
    }
}

fn formatted(number: &phonenumber::PhoneNumber, mode: Mode) -> Option<String> {
    let mut out = String::new();
    write!(out, "{}", number.format().mode(mode)).ok()?;
    Some(out)
}

/// Why a phone number was refused. Names no part of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Not in any of the accepted forms (letters, an extension, stray characters, too long).
    #[error("is not written as a phone number")]
    Malformed,
    /// Read, but libphonenumber does not call it a valid number.
    #[error("is not a valid phone number")]
    Invalid,
}

/// Normalises a phone number to E.164 (`+84912345678`), reading national numbers in
/// `region`. See the module's documentation for the accepted forms.
pub fn normalise_phone(phone: &str, region: PhoneRegion) -> Result<String, PhoneError> {
    let folded = fold(phone)?;
    let (code, nsn) = read(region, &folded).ok_or(PhoneError::Invalid)?;
    if !is_valid(code, &nsn) {
        return Err(PhoneError::Invalid);
    }
    Ok(format!("+{code}{nsn}"))
}

/// Reads `folded` as libphonenumber's `parseHelper` does: its country code and national
/// significant number.
///
/// The crate finds where the country code is (after `+`, after the region's international
/// call prefix — `00` in Vietnam —, in a `tel:` URI's context, written without `+`, or not
/// at all), and which; the rest is read here. The crate's own reading strips national
/// prefixes by the default region's rules from foreign numbers too (a `+229 01…` number from
/// Benin loses its leading `0` to Vietnam's trunk prefix) and strips them where
/// libphonenumber keeps them (`+7 800…`, a Russian free call, is not `8` and `00…`).
fn read(region: PhoneRegion, folded: &str) -> Option<(u16, String)> {
    let first = phonenumber::parse(region.0, folded).ok()?;
    // Refused by `fold` already; E.164 has no room for an extension.
    if first.extension().is_some() {
        return None;
    }
    let code = first.code().value();
    let region_meta = region.0.and_then(|id| DATABASE.by_id(id.as_ref()));
    // In a `tel:` URI with a context, the number is before the parameters.
    let number = folded.split_once(';').map_or(folded, |(number, _)| number);
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let (meta, national) = match first.code().source() {
        Source::Default => (region_meta?, digits),
        Source::Number => {
            let meta = region_meta?;
            let full = digits;
            let rest = full.get(code.to_string().len()..)?.to_owned();
            let (stripped, _) = strip_national_prefix(meta, &rest);
            let general = meta.descriptors().general().national_number().as_str();
            let extract = (!full_match(general, &full) && full_match(general, &stripped))
                || length(meta, &full) == Length::TooLong;
            if extract {
                (meta, stripped)
            } else {
                (meta, full)
            }
        }
        Source::Plus if folded.contains(';') => (main_meta(code)?, digits),
        Source::Plus | Source::Idd => {
            let written = if first.code().source() == Source::Idd {
                let idd = region_meta
                    .and_then(|meta| meta.international_prefix())
                    .and_then(|re| re.find(&digits))
                    .filter(|m| m.start() == 0)?;
                digits.get(idd.end()..)?
            } else {
                &digits
            };
            let after = written.strip_prefix(&code.to_string())?;
            (main_meta(code)?, after.to_owned())
        }
    };
    let code = meta.country_code();
    let (stripped, _) = strip_national_prefix(meta, &national);
    let nsn = if matches!(
        length(meta, &stripped),
        Length::TooShort | Length::LocalOnly | Length::Invalid
    ) {
        national
    } else {
        stripped
    };
    (2..=17).contains(&nsn.len()).then_some((code, nsn))
}

/// libphonenumber's `maybeStripNationalPrefixAndCarrierCode`: the number without its national
/// prefix (and carrier code), transformed by the country's rule where it has one (Argentina's
/// mobiles), unless the number was one of the country's and what is left would not be; and
/// whether anything was stripped.
fn strip_national_prefix(meta: &phonenumber::Metadata, number: &str) -> (String, bool) {
    let unchanged = (number.to_owned(), false);
    // Without a pattern of its own, the national prefix is the pattern.
    let prefix = match (meta.national_prefix_for_parsing(), meta.national_prefix()) {
        (Some(pattern), _) => pattern.as_str(),
        (None, Some(prefix)) => prefix,
        (None, None) => return unchanged,
    };
    let Some(re) = compiled(&format!("^(?:{prefix})")) else {
        return unchanged;
    };
    let Some(captures) = re.captures(number) else {
        return unchanged;
    };
    let general = meta.descriptors().general().national_number().as_str();
    let viable = full_match(general, number);
    let last = captures.len().saturating_sub(1);
    let end = captures.get(0).map_or(0, |m| m.end());
    let rest = number.get(end..).unwrap_or("");
    let rule = meta
        .national_prefix_transform_rule()
        .filter(|r| !r.is_empty());
    let result = match rule {
        Some(rule) if last > 0 && captures.get(last).is_some() => {
            let mut replaced = String::new();
            captures.expand(&braced(rule), &mut replaced);
            replaced + rest
        }
        _ => rest.to_owned(),
    };
    if viable && !full_match(general, &result) {
        return unchanged;
    }
    (result, true)
}

/// A Java replacement (`9$1`) in the `regex` crate's syntax (`9${1}`).
fn braced(rule: &str) -> String {
    let mut out = String::new();
    let mut chars = rule.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().copied()) {
            ('$', Some(d)) if d.is_ascii_digit() => {
                out.push_str("${");
                out.push(d);
                out.push('}');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

#[derive(Debug, PartialEq, Eq)]
enum Length {
    Possible,
    LocalOnly,
    TooShort,
    TooLong,
    Invalid,
}

/// libphonenumber's `testNumberLength` for an unknown type: against the lengths of all the
/// country's number types.
fn length(meta: &phonenumber::Metadata, number: &str) -> Length {
    let d = meta.descriptors();
    let types = [
        Some(d.general()),
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.personal_number(),
        d.voip(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ];
    let mut national: Vec<usize> = Vec::new();
    let mut local: Vec<usize> = Vec::new();
    for desc in types.into_iter().flatten() {
        national.extend(desc.possible_length().iter().map(|&l| usize::from(l)));
        local.extend(desc.possible_local_length().iter().map(|&l| usize::from(l)));
    }
    national.sort_unstable();
    national.dedup();
    let actual = number.len();
    if !national.contains(&actual) && local.contains(&actual) {
        return Length::LocalOnly;
    }
    match (national.first(), national.last()) {
        (Some(&min), _) if actual < min => Length::TooShort,
        (_, Some(&max)) if actual > max => Length::TooLong,
        _ if national.is_empty() || national.contains(&actual) => Length::Possible,
        _ => Length::Invalid,
    }
}

/// The metadata of the main country of a country code (`US` for `1`, `GB` for `44`), or of
/// the non-geographical entity (`800`, `882`, …).
fn main_meta(code: u16) -> Option<&'static phonenumber::Metadata> {
    let metas = DATABASE.by_code(&code)?;
    metas
        .iter()
        .find(|m| m.is_main_country_for_code())
        .or_else(|| metas.first())
        .copied()
}

/// Whether libphonenumber calls `number` valid: its country code's region that claims it (by
/// leading digits, or by matching a type) has a number type whose pattern matches the whole
/// national significant number, at one of that type's lengths. Done here rather than by
/// `PhoneNumber::is_valid`, which matches the metadata's patterns against a prefix only (it
/// takes `0120 163 1275`, an 11-digit mobile renumbered in 2018, for valid).
fn is_valid(code: u16, nsn: &str) -> bool {
    let Some(mut metas) = DATABASE.by_code(&code) else {
        return false;
    };
    // The main country first, as libphonenumber looks them up.
    metas.sort_by_key(|m| !m.is_main_country_for_code());
    if let [only] = metas.as_slice() {
        return has_type(only, nsn);
    }
    for meta in metas {
        match meta.leading_digits() {
            Some(leading) => {
                if leading.find(nsn).is_some_and(|m| m.start() == 0) {
                    return has_type(meta, nsn);
                }
            }
            None => {
                if has_type(meta, nsn) {
                    return true;
                }
            }
        }
    }
    false
}

/// libphonenumber's `getNumberTypeHelper(…) != UNKNOWN`.
fn has_type(meta: &phonenumber::Metadata, nsn: &str) -> bool {
    let d = meta.descriptors();
    if !matches_whole(d.general(), nsn) {
        return false;
    }
    [
        d.premium_rate(),
        d.toll_free(),
        d.shared_cost(),
        d.voip(),
        d.personal_number(),
        d.pager(),
        d.uan(),
        d.voicemail(),
        d.fixed_line(),
        d.mobile(),
    ]
    .into_iter()
    .flatten()
    .any(|desc| matches_whole(desc, nsn))
}

/// libphonenumber's `isNumberMatchingDesc`: a possible length, and the whole number matched.
fn matches_whole(desc: &phonenumber::metadata::Descriptor, nsn: &str) -> bool {
    let lengths = desc.possible_length();
    if !lengths.is_empty() && !lengths.iter().any(|&l| usize::from(l) == nsn.len()) {
        return false;
    }
    full_match(desc.national_number().as_str(), nsn)
}

/// Whether `pattern` (the metadata's syntax) matches the whole of `number`.
fn full_match(pattern: &str, number: &str) -> bool {
    compiled(&format!("^(?:{pattern})$")).is_some_and(|re| re.is_match(number))
}

/// A regular expression in the metadata's syntax (whitespace ignored), compiled once (a few
/// thousand at most: every type and prefix of every region).
fn compiled(source: &str) -> Option<Regex> {
    static CACHE: LazyLock<Mutex<HashMap<String, Option<Regex>>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    cache
        .entry(source.to_owned())
        .or_insert_with(|| {
            RegexBuilder::new(source)
                .ignore_whitespace(true)
                .build()
                .ok()
        })
        .clone()
}

/// NFKC (full-width digits and signs, no-break and ideographic spaces become ASCII), the
/// dashes libphonenumber knows become `-`, then only the characters of the accepted forms
/// may remain.
fn fold(phone: &str) -> Result<String, PhoneError> {
    let folded: String = phone
        .nfkc()
        .map(|c| match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            _ => c,
        })
        .collect();
    let folded = folded.trim();
    if folded.chars().count() > MAX_PHONE_INPUT {
        return Err(PhoneError::Malformed);
    }
    let (uri, rest) = match folded.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("tel:") => {
            (true, folded.get(4..).unwrap_or(""))
        }
        _ => (false, folded),
    };
    let ok = if uri {
        tel_uri(rest)
    } else {
        rest.chars().any(|c| c.is_ascii_digit())
            && rest
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')' | '/'))
            && rest
                .trim_start_matches(['(', ' '])
                .chars()
                .skip(1)
                .all(|c| c != '+')
    };
    if !ok {
        return Err(PhoneError::Malformed);
    }
    Ok(folded.to_owned())
}

/// An RFC 3966 `telephone-subscriber` without its scheme: a global number
/// (`+84-912-345-678`) or a local one with a `phone-context` that is a global number prefix
/// (`0912345678;phone-context=+84`). Visual separators `-`, `.`, `(`, `)`; no other
/// parameters (an `ext` would be an extension, an `isub` a subaddress: neither fits E.164).
fn tel_uri(rest: &str) -> bool {
    let (number, params) = match rest.split_once(';') {
        Some((number, params)) => (number, Some(params)),
        None => (rest, None),
    };
    let visual = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '.' | '(' | ')'))
            && s.chars().any(|c| c.is_ascii_digit())
    };
    match (number.strip_prefix('+'), params) {
        (Some(global), None) => visual(global),
        (None, Some(params)) => {
            visual(number)
                && params
                    .strip_prefix("phone-context=+")
                    .is_some_and(|context| visual(context) && !context.contains(';'))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vn(input: &str) -> Result<String, PhoneError> {
        normalise_phone(input, PhoneRegion::VIETNAM)
    }

    #[test]
    fn vietnamese_spellings_are_one_number() {
        for input in [
            "+84912345678",
            "+84 912 345 678",
            "0912 345 678",
            "0912-345-678",
            "0912.345.678",
            "(091) 234 5678",
            "+84 0912 345 678",
            "+84 (0)912 345 678",
            "0084 912 345 678",
            "84912345678",
            "tel:+84-912-345-678",
            "TEL:+84.912.345.678",
            "tel:0912345678;phone-context=+84",
            "０９１２　３４５　６７８",
            "＋８４９１２３４５６７８",
            "0912\u{a0}345\u{a0}678",
            "0912\u{2013}345\u{2013}678",
            "  0912 345 678  ",
        ] {
            assert_eq!(vn(input).as_deref(), Ok("+84912345678"), "{input:?}");
        }
    }

    #[test]
    fn vietnamese_service_and_fixed_numbers() {
        for (input, e164) in [
            ("1800 1234", "+8418001234"),
            ("1900 1234", "+8419001234"),
            ("1800 123456", "+841800123456"),
            ("1900 123 456", "+841900123456"),
            ("024 3825 1234", "+842438251234"),
            ("0236 382 1234", "+842363821234"),
        ] {
            assert_eq!(vn(input).as_deref(), Ok(e164), "{input:?}");
        }
    }

    #[test]
    fn foreign_numbers_in_international_form() {
        for (input, e164) in [
            ("+1 650 253 0000", "+16502530000"),
            ("+1 (650) 253-0000", "+16502530000"),
            ("001 650 253 0000", "+16502530000"),
            ("+44 (0)20 7031 3000", "+442070313000"),
            ("+33 6 12 34 56 78", "+33612345678"),
            ("tel:+49-30-901820", "+4930901820"),
        ] {
            assert_eq!(vn(input).as_deref(), Ok(e164), "{input:?}");
        }
    }

    #[test]
    fn what_libphonenumber_calls_invalid_is_refused() {
        for input in [
            "0912 345 67",      // too short
            "0912 345 6789",    // too long
            "0168 912 3456",    // 11-digit mobile, renumbered in 2018
            "+84 168 912 3456", // the same, internationally
            "04 3825 1234",     // Hanoi before the 2017 area codes
            "0212 345 678",     // unassigned prefix
            "+999 1234 5678",   // no such country code
            "+80 1234 5678",    // no such country code
            "1800 12",          // too short a free-call number
            "12345",
        ] {
            assert_eq!(vn(input), Err(PhoneError::Invalid), "{input:?}");
        }
    }

    #[test]
    fn extensions_letters_and_stray_characters_are_refused() {
        for input in [
            "",
            " ",
            "+",
            "0912 345 678 ext. 12",
            "0912 345 678 x12",
            "tel:+84-912-345-678;ext=12",
            "tel:+84-912-345-678;isub=12",
            "tel:0912345678",
            "tel:+84 912 345 678",
            "1-800-FLOWERS",
            "0912 345 67a8",
            "0912#345678",
            "+84+912345678",
            "84+912345678",
            "0912\u{200b}345678",
            &"0".repeat(MAX_PHONE_INPUT + 1),
        ] {
            assert_eq!(vn(input), Err(PhoneError::Malformed), "{input:?}");
        }
    }

    #[test]
    fn without_a_region_only_international_numbers_are_read() {
        assert_eq!(
            normalise_phone("+84 912 345 678", PhoneRegion::NONE).as_deref(),
            Ok("+84912345678")
        );
        assert!(normalise_phone("0912 345 678", PhoneRegion::NONE).is_err());
        let us = PhoneRegion::from_iso("us");
        assert_eq!(us.and_then(|r| r.iso()), Some("US"));
        assert_eq!(
            us.map(|r| normalise_phone("(650) 253-0000", r)),
            Some(Ok("+16502530000".to_owned()))
        );
        assert_eq!(PhoneRegion::from_iso("XX"), None);
        assert_eq!(PhoneRegion::from_iso("EU"), None);
    }

    proptest::proptest! {
        #[test]
        fn nothing_typed_makes_it_panic(
            input in "(tel:|TEL:|\\+|00|\\(\\+)?[0-9０-９+＋ ()./;=\\-–a-z\u{a0}]{0,30}",
            other in "\\PC{0,30}",
        ) {
            for region in [PhoneRegion::VIETNAM, PhoneRegion::NONE] {
                let _ = normalise_phone(&input, region);
                let _ = normalise_phone(&other, region);
            }
        }
    }

    #[test]
    fn the_hint_shows_the_regions_own_example() {
        assert_eq!(
            PhoneRegion::VIETNAM.accepted_forms(),
            "national (0912 345 678), international (+84 912 345 678) or a tel: URI"
        );
        assert!(
            PhoneRegion::NONE
                .accepted_forms()
                .starts_with("international")
        );
    }
}
