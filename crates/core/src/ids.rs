//! Opaque, typed identifiers: random, prefixed by what they name, never sequential.

use std::fmt;

use serde::Serialize;

use custodian_crypto::random_bytes;

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new random id (128 bits from the OS generator).
            pub fn generate() -> Result<$name, custodian_crypto::CryptoError> {
                Ok($name(format!("{}{}", $prefix, hex::encode(random_bytes::<16>()?))))
            }

            /// Accepts exactly the shape [`Self::generate`] produces.
            pub fn parse(s: &str) -> Option<$name> {
                let hex = s.strip_prefix($prefix)?;
                (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
                    .then(|| $name(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

opaque_id!(
    /// A data subject: a customer (or, later, a guest).
    CustomerId,
    "cus_"
);
opaque_id!(
    /// One earlier value of a corrected field.
    HistoryId,
    "hst_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_random_and_parse_back() {
        let a = CustomerId::generate().unwrap();
        let b = CustomerId::generate().unwrap();
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("cus_"));
        assert_eq!(CustomerId::parse(a.as_str()), Some(a.clone()));
        for bad in [
            "",
            "cus_",
            "cus_XYZ",
            "hst_0123456789abcdef0123456789abcdef",
            "cus_0123456789ABCDEF0123456789abcdef",
            "1",
        ] {
            assert_eq!(CustomerId::parse(bad), None, "{bad}");
        }
    }
}
