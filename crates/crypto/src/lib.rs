//! Envelope encryption for Custodian.
//!
//! A master key-encryption key (KEK, versioned) wraps one data key (DEK) per customer; each
//! personal field is sealed with XChaCha20-Poly1305 under its customer's DEK, with associated
//! data binding the ciphertext to its customer, record, field and key version. Destroying a
//! customer's wrapped DEK makes every ciphertext of theirs unreadable (crypto-shredding).
//! Blind indexes (HMAC-SHA256 under a separate key) allow exact lookups without decrypting,
//! of email addresses and phone numbers put in one normal form first (RFC 5321/5322/6531 and
//! IDNA; libphonenumber's rules and E.164).
//!
//! The primitives for authenticating people and integrations live here too, pure and
//! synchronous: Argon2id password hashes and the password policy, TOTP second factors
//! (RFC 6238), and random bearer tokens and one-time codes of which only digests are stored.
//!
//! Architecture invariant: this crate knows nothing of customers' data model, storage or
//! HTTP. Plaintext it returns is wrapped in [`Plaintext`], zeroed on drop and never printed.

mod email;
mod error;
mod field;
mod index;
mod keyring;
mod keys;
mod mac;
mod password;
mod phone;
mod random;
mod token;
pub mod totp;

pub use email::{EmailError, MAX_EMAIL_LOCAL_OCTETS, MAX_EMAIL_OCTETS, normalise_email};
pub use error::CryptoError;
pub use field::{FieldBinding, open, seal};
pub use index::BlindIndexKey;
pub use keyring::{KeyWrapper, LocalKeyring, WrappedKey, decode_key, load_or_create_key};
pub use keys::{DataKey, KEY_LEN, Plaintext, SecretKey};
pub use mac::MacKey;
pub use password::{
    MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, PasswordHash, WeakPassword, check_password_strength,
    hash_password, needs_rehash, verify_dummy, verify_password,
};
pub use phone::{MAX_PHONE_INPUT, PhoneError, PhoneRegion, normalise_phone};
pub use random::random_bytes;
pub use token::{
    API_TOKEN_PREFIX, ApiToken, EXPORT_TOKEN_PREFIX, ExportToken, ONE_TIME_CODE_DIGITS,
    OneTimeCode, SESSION_TOKEN_PREFIX, SessionToken, TokenDigest, digest_code, verify_code,
};
pub use totp::TotpSecret;
