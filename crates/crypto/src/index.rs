//! Blind indexes: keyed hashes of normalised values, for exact-match lookup of email and
//! phone without decrypting anything. Without the index key they reveal nothing, not even
//! through a dictionary of common addresses.

use hmac::Mac;

use crate::keys::SecretKey;
use crate::mac::hmac;

/// The key of the blind indexes, separate from every encryption key.
#[derive(Debug, Clone)]
pub struct BlindIndexKey(SecretKey);

impl BlindIndexKey {
    pub fn new(key: SecretKey) -> BlindIndexKey {
        BlindIndexKey(key)
    }

    /// The index of an already normalised value of one kind (`email`, `phone`). The kind is
    /// part of the input, so an email and a phone never share an index.
    pub fn index(&self, kind: &str, normalised: &str) -> [u8; 32] {
        let parts: [&[u8]; 4] = [
            b"custodian/blind-index/v1\0",
            kind.as_bytes(),
            b"\0",
            normalised.as_bytes(),
        ];
        hmac(&self.0, &parts).finalize().into_bytes().into()
    }
}

/// Trims and lower-cases an email address. Returns `None` if it is not one.
pub fn normalise_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@')?;
    let valid = !local.is_empty()
        && !domain.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && !local.contains('@');
    valid.then_some(email)
}

/// Normalises a phone number to E.164 (`+84901234567`). Separators (space, `-`, `.`, `(`,
/// `)`) are dropped, `00` becomes `+`, and a national number starting with `0` takes the
/// default country's calling code (`84`, Vietnam). Returns `None` if it is not a number.
pub fn normalise_phone(phone: &str, default_calling_code: &str) -> Option<String> {
    let compact: String = phone
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let international = if let Some(rest) = compact.strip_prefix('+') {
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix("00") {
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix('0') {
        format!("{default_calling_code}{rest}")
    } else {
        return None;
    };
    let valid = (8..=15).contains(&international.len())
        && international.bytes().all(|b| b.is_ascii_digit())
        && !international.starts_with('0');
    valid.then(|| format!("+{international}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_normalise_case_and_space() {
        assert_eq!(
            normalise_email("  An.Nguyen@Example.COM "),
            Some("an.nguyen@example.com".into())
        );
        for bad in [
            "",
            "no-at",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@.com",
            "a@example.",
        ] {
            assert_eq!(normalise_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn phones_normalise_to_e164() {
        for (input, expected) in [
            ("0901 234 567", "+84901234567"),
            ("+84 90-123-4567", "+84901234567"),
            ("0084901234567", "+84901234567"),
            ("(+1) 415.555.0100", "+14155550100"),
        ] {
            assert_eq!(
                normalise_phone(input, "84").as_deref(),
                Some(expected),
                "{input}"
            );
        }
        for bad in [
            "",
            "12345",
            "+84abc",
            "901234567",
            "+0123456789",
            "+1234567890123456",
        ] {
            assert_eq!(normalise_phone(bad, "84"), None, "{bad}");
        }
    }

    #[test]
    fn indexes_are_deterministic_keyed_and_separated_by_kind() {
        let key = BlindIndexKey::new(SecretKey::from_bytes(&[1; 32]).unwrap());
        let other = BlindIndexKey::new(SecretKey::from_bytes(&[2; 32]).unwrap());
        let a = key.index("email", "an@example.com");
        assert_eq!(a, key.index("email", "an@example.com"));
        assert_ne!(a, other.index("email", "an@example.com"));
        assert_ne!(a, key.index("phone", "an@example.com"));
    }
}
