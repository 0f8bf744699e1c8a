//! Key and plaintext types: zeroed on drop, never printed, never serialised.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{CryptoError, random_bytes};

/// Every key here is 256 bits.
pub const KEY_LEN: usize = 32;

/// 256 bits of secret key material.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    pub fn generate() -> Result<SecretKey, CryptoError> {
        Ok(SecretKey(random_bytes()?))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<SecretKey, CryptoError> {
        let array: [u8; KEY_LEN] = bytes.try_into().map_err(|_| {
            CryptoError::InvalidKey(format!("expected {KEY_LEN} bytes, got {}", bytes.len()))
        })?;
        Ok(SecretKey(array))
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A key for one use, derived from this one (HMAC-SHA256 of `label`): keys for different
    /// uses stay independent although one secret is kept.
    pub fn derive(&self, label: &str) -> SecretKey {
        use hmac::Mac;
        let derived = crate::mac::hmac(self, &[b"custodian key derivation\0", label.as_bytes()])
            .finalize()
            .into_bytes();
        SecretKey(derived.into())
    }
}

#[cfg(test)]
mod derive_tests {
    use super::*;

    #[test]
    fn derived_keys_differ_by_label_and_are_stable() {
        let key = SecretKey([5; KEY_LEN]);
        assert_eq!(key.derive("a").0, key.derive("a").0);
        assert_ne!(key.derive("a").0, key.derive("b").0);
        assert_ne!(key.derive("a").0, key.0);
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A customer's data key, in the clear. Lives only in memory, only as long as needed.
#[derive(Clone, Debug)]
pub struct DataKey(pub(crate) SecretKey);

impl DataKey {
    pub fn generate() -> Result<DataKey, CryptoError> {
        Ok(DataKey(SecretKey::generate()?))
    }

    /// A key of the service's own (not a customer's), used to seal a secret of the service
    /// with [`crate::seal`], such as staff members' TOTP secrets.
    pub fn from_secret(key: SecretKey) -> DataKey {
        DataKey(key)
    }
}

/// Decrypted bytes. Zeroed on drop; its `Debug` shows only the length.
pub struct Plaintext(Zeroizing<Vec<u8>>);

impl Plaintext {
    pub fn new(bytes: Vec<u8>) -> Plaintext {
        Plaintext(Zeroizing::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as UTF-8 text, if they are.
    pub fn into_string(self) -> Result<Zeroizing<String>, CryptoError> {
        let bytes: Vec<u8> = self.0.to_vec();
        String::from_utf8(bytes).map(Zeroizing::new).map_err(|e| {
            let mut bytes = e.into_bytes();
            bytes.zeroize();
            CryptoError::Malformed
        })
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plaintext(<{} bytes redacted>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_never_printed() {
        let key = SecretKey::from_bytes(&[7u8; KEY_LEN]).unwrap();
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
        let text = Plaintext::new(b"marker-123".to_vec());
        assert_eq!(format!("{text:?}"), "Plaintext(<10 bytes redacted>)");
    }

    #[test]
    fn wrong_length_is_refused() {
        assert!(SecretKey::from_bytes(&[0u8; 31]).is_err());
    }
}
