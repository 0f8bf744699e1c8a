//! Masks: enough of a value to recognise it ("is this the email you gave us?"), not to read
//! or use it. Each shape keeps at most a few characters, whatever the value's length.

use custodian_policy::FieldType;

/// The masked form of `value`, a field of type `ty`.
pub fn mask(ty: FieldType, value: &str) -> String {
    match ty {
        // n***@example.com: the first character and the domain.
        FieldType::Email => match value.rsplit_once('@') {
            Some((local, domain)) => format!("{}***@{domain}", first(local)),
            None => "***".to_owned(),
        },
        // ***-***-1234: the last four digits.
        FieldType::Phone => format!("***-***-{}", last_digits(value, 4)),
        // ****1234: the last four characters of a card token, account number or code.
        FieldType::Token | FieldType::Digits => format!("****{}", last_chars(value, 4)),
        FieldType::String => format!("{}***", first(value)),
        FieldType::Date => "****-**-**".to_owned(),
        FieldType::MonthYear => "**/**".to_owned(),
        FieldType::Datetime
        | FieldType::Integer
        | FieldType::Enum
        | FieldType::EnumSet
        | FieldType::Ip
        | FieldType::Blob => "***".to_owned(),
    }
}

fn first(s: &str) -> String {
    s.chars().next().map(String::from).unwrap_or_default()
}

fn last_chars(s: &str, n: usize) -> String {
    // Short values show nothing: the last four of a four-character value is the value.
    let count = s.chars().count();
    if count <= n * 2 {
        return String::new();
    }
    s.chars().skip(count - n).collect()
}

fn last_digits(s: &str, n: usize) -> String {
    let digits: Vec<char> = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() <= n * 2 {
        return String::new();
    }
    digits.iter().skip(digits.len() - n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_what_recognises() {
        assert_eq!(
            mask(FieldType::Email, "nguyen.an@example.com"),
            "n***@example.com"
        );
        assert_eq!(mask(FieldType::Email, "not-an-email"), "***");
        assert_eq!(mask(FieldType::Phone, "+84901234567"), "***-***-4567");
        assert_eq!(mask(FieldType::Phone, "123"), "***-***-");
        assert_eq!(mask(FieldType::Token, "tok_abcdef987654"), "****7654");
        assert_eq!(mask(FieldType::Token, "1234"), "****");
        assert_eq!(mask(FieldType::String, "Nguyễn Văn An"), "N***");
        assert_eq!(mask(FieldType::String, ""), "***");
        assert_eq!(mask(FieldType::Date, "1990-04-30"), "****-**-**");
        assert_eq!(mask(FieldType::Enum, "weekly"), "***");
    }

    proptest::proptest! {
        /// Whatever the value, a mask shows at most a handful of its characters.
        #[test]
        fn a_mask_never_reveals_more_than_a_few_characters(value in "\\PC{0,80}") {
            for ty in [FieldType::Email, FieldType::Phone, FieldType::Token, FieldType::Digits,
                       FieldType::String, FieldType::Date, FieldType::Ip, FieldType::Blob] {
                let masked = mask(ty, &value);
                let kept = masked.chars().filter(|c| !"*-/@".contains(*c)).count();
                let domain = value.rsplit_once('@').map_or(0, |(_, d)| d.chars().count());
                proptest::prop_assert!(kept <= 4 + domain, "{ty:?}: {masked}");
            }
        }
    }
}
