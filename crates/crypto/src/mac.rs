//! Message authentication for records that must not be rewritten (audit checkpoints).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::keys::SecretKey;

type HmacSha256 = Hmac<Sha256>;

/// An HMAC-SHA256 key with one purpose, named by its domain string.
#[derive(Debug, Clone)]
pub struct MacKey {
    key: SecretKey,
    domain: &'static str,
}

impl MacKey {
    pub fn new(key: SecretKey, domain: &'static str) -> MacKey {
        MacKey { key, domain }
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 32] {
        hmac(&self.key, &[self.domain.as_bytes(), b"\0", message])
            .finalize()
            .into_bytes()
            .into()
    }

    /// Constant-time comparison of `tag` with the tag of `message`.
    pub fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        hmac(&self.key, &[self.domain.as_bytes(), b"\0", message])
            .verify_slice(tag)
            .is_ok()
    }
}

/// HMAC-SHA256 keyed with `key`, fed `parts` in order.
pub(crate) fn hmac(key: &SecretKey, parts: &[&[u8]]) -> HmacSha256 {
    // HMAC takes keys of any length, so keying cannot fail; the fallback is never taken.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key.bytes())
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
    for part in parts {
        mac.update(part);
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_only_the_same_message_under_the_same_key_and_domain() {
        let key = MacKey::new(SecretKey::from_bytes(&[3; 32]).unwrap(), "audit");
        let tag = key.sign(b"seq=10");
        assert_eq!(tag.len(), 32);
        assert!(key.verify(b"seq=10", &tag));
        assert!(!key.verify(b"seq=11", &tag));
        assert!(
            !MacKey::new(SecretKey::from_bytes(&[3; 32]).unwrap(), "other").verify(b"seq=10", &tag)
        );
        assert!(
            !MacKey::new(SecretKey::from_bytes(&[4; 32]).unwrap(), "audit").verify(b"seq=10", &tag)
        );
    }
}
