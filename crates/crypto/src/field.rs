//! Sealing personal fields: XChaCha20-Poly1305 with a random 192-bit nonce, and associated
//! data that binds each ciphertext to where it belongs.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::keys::{DataKey, SecretKey};
use crate::{CryptoError, Plaintext, random_bytes};

/// The format byte leading every sealed value, so the format can evolve.
const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;

/// Where a ciphertext belongs. Opening it anywhere else fails: a value copied to another
/// customer, another record (a history entry, say) or another field does not decrypt.
#[derive(Debug, Clone, Copy)]
pub struct FieldBinding<'a> {
    pub customer: &'a str,
    /// The row the value lives in (the customer record itself, a history entry, …).
    pub record: &'a str,
    /// `category.field`.
    pub field: &'a str,
    /// Version of the customer's data key.
    pub key_version: u32,
}

impl FieldBinding<'_> {
    fn associated_data(&self) -> Vec<u8> {
        associated_data(
            b"custodian/field/v1",
            &[
                self.customer.as_bytes(),
                self.record.as_bytes(),
                self.field.as_bytes(),
            ],
            self.key_version,
        )
    }
}

/// Length-prefixed, so no two different bindings produce the same bytes.
pub(crate) fn associated_data(domain: &[u8], parts: &[&[u8]], version: u32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(domain.len() + 64);
    aad.extend_from_slice(domain);
    for part in parts {
        aad.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        aad.extend_from_slice(part);
    }
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

/// Seals `plaintext` under the customer's data key.
pub fn seal(
    key: &DataKey,
    binding: &FieldBinding<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    encrypt(&key.0, &binding.associated_data(), plaintext)
}

/// Opens a value sealed by [`seal`] with the same key and binding.
pub fn open(
    key: &DataKey,
    binding: &FieldBinding<'_>,
    sealed: &[u8],
) -> Result<Plaintext, CryptoError> {
    decrypt(&key.0, &binding.associated_data(), sealed)
}

pub(crate) fn encrypt(
    key: &SecretKey,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let cipher = XChaCha20Poly1305::new_from_slice(key.bytes())
        .map_err(|_| CryptoError::InvalidKey("length".into()))?;
    let nonce_bytes: [u8; NONCE_LEN] = random_bytes()?;
    let nonce = XNonce::from(nonce_bytes);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Authentication)?;
    let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    sealed.push(FORMAT_V1);
    sealed.extend_from_slice(&nonce_bytes);
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

pub(crate) fn decrypt(
    key: &SecretKey,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Plaintext, CryptoError> {
    let (&format, rest) = sealed.split_first().ok_or(CryptoError::Malformed)?;
    if format != FORMAT_V1 || rest.len() < NONCE_LEN {
        return Err(CryptoError::Malformed);
    }
    let (nonce_bytes, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce_array: [u8; NONCE_LEN] =
        nonce_bytes.try_into().map_err(|_| CryptoError::Malformed)?;
    let cipher = XChaCha20Poly1305::new_from_slice(key.bytes())
        .map_err(|_| CryptoError::InvalidKey("length".into()))?;
    let plaintext = cipher
        .decrypt(
            &XNonce::from(nonce_array),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Authentication)?;
    Ok(Plaintext::new(plaintext))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn binding<'a>(customer: &'a str, field: &'a str) -> FieldBinding<'a> {
        FieldBinding {
            customer,
            record: customer,
            field,
            key_version: 1,
        }
    }

    proptest! {
        #[test]
        fn round_trips(plaintext in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let key = DataKey::generate().unwrap();
            let b = binding("cus_1", "account_email.email");
            let sealed = seal(&key, &b, &plaintext).unwrap();
            let opened = open(&key, &b, &sealed).unwrap();
            prop_assert_eq!(opened.as_bytes(), &plaintext[..]);
        }

        #[test]
        fn any_flipped_bit_fails(plaintext in proptest::collection::vec(any::<u8>(), 1..256), index in any::<usize>(), bit in 0u8..8) {
            let key = DataKey::generate().unwrap();
            let b = binding("cus_1", "account_email.email");
            let mut sealed = seal(&key, &b, &plaintext).unwrap();
            let i = index % sealed.len();
            sealed[i] ^= 1 << bit;
            prop_assert!(open(&key, &b, &sealed).is_err());
        }

        #[test]
        fn truncation_fails(plaintext in proptest::collection::vec(any::<u8>(), 0..256), cut in 1usize..64) {
            let key = DataKey::generate().unwrap();
            let b = binding("cus_1", "account_email.email");
            let sealed = seal(&key, &b, &plaintext).unwrap();
            let keep = sealed.len().saturating_sub(cut);
            prop_assert!(open(&key, &b, &sealed[..keep]).is_err());
        }
    }

    #[test]
    fn a_ciphertext_moved_elsewhere_does_not_open() {
        let key = DataKey::generate().unwrap();
        let home = FieldBinding {
            customer: "cus_a",
            record: "cus_a",
            field: "account_email.email",
            key_version: 1,
        };
        let sealed = seal(&key, &home, b"an@example.com").unwrap();
        let elsewhere = [
            FieldBinding {
                customer: "cus_b",
                ..home
            },
            FieldBinding {
                record: "hist_1",
                ..home
            },
            FieldBinding {
                field: "account_phone.phone",
                ..home
            },
            FieldBinding {
                key_version: 2,
                ..home
            },
        ];
        for b in elsewhere {
            assert!(
                matches!(open(&key, &b, &sealed), Err(CryptoError::Authentication)),
                "{b:?}"
            );
        }
        let other_key = DataKey::generate().unwrap();
        assert!(open(&other_key, &home, &sealed).is_err());
    }

    #[test]
    fn bindings_are_unambiguous() {
        // "ab" + "c" must not collide with "a" + "bc".
        let one = associated_data(b"d", &[b"ab", b"c"], 1);
        let two = associated_data(b"d", &[b"a", b"bc"], 1);
        assert_ne!(one, two);
    }

    #[test]
    fn the_same_value_seals_differently_each_time() {
        let key = DataKey::generate().unwrap();
        let b = binding("cus_1", "account_name.full_name");
        assert_ne!(seal(&key, &b, b"x").unwrap(), seal(&key, &b, b"x").unwrap());
    }
}
