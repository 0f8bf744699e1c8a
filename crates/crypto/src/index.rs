//! Blind indexes: keyed hashes of normalised values, for exact-match lookup of email and
//! phone without decrypting anything. Without the index key they reveal nothing, not even
//! through a dictionary of common addresses. Values are put in their normal form first
//! (`email.rs`, `phone.rs`): an index finds only the one spelling it was computed on.

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

#[cfg(test)]
mod tests {
    use super::*;

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
