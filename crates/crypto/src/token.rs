//! Bearer tokens for integrations and sessions, and short one-time codes sent by email or SMS.
//!
//! A token is 256 random bits behind a prefix that says what it is (`cst_` for API tokens,
//! `css_` for sessions). Only its SHA-256 digest is stored: with that much entropy a fast
//! hash is enough, and a copy of the database yields no usable token. A one-time code has
//! only six to eight digits, so its stored form is keyed (HMAC-SHA256): without the key, a
//! copy of the database does not give the code away by trying every code.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::keys::SecretKey;
use crate::mac::hmac;
use crate::{CryptoError, random_bytes};

/// The prefix of API tokens (integrations).
pub const API_TOKEN_PREFIX: &str = "cst_";
/// The prefix of session tokens (browser and staff sessions).
pub const SESSION_TOKEN_PREFIX: &str = "css_";

/// Random bytes in a token, and their length in unpadded base64url.
const TOKEN_BYTES: usize = 32;
const TOKEN_CHARS: usize = 43;

fn generate_token(prefix: &str) -> Result<(Zeroizing<String>, TokenDigest), CryptoError> {
    let mut bytes: [u8; TOKEN_BYTES] = random_bytes()?;
    // Allocated at its final size, so no copy of the token is left behind by a reallocation.
    let mut token = Zeroizing::new(String::with_capacity(prefix.len() + TOKEN_CHARS));
    token.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(bytes.as_slice(), &mut token);
    bytes.zeroize();
    let digest = TokenDigest::of(token.as_bytes());
    Ok((token, digest))
}

/// An integration's API token (`cst_…`), in the clear: shown once, then only its digest is
/// kept. Zeroed on drop, never printed.
pub struct ApiToken(Zeroizing<String>);

impl ApiToken {
    /// A new token and the digest to store for it.
    pub fn generate() -> Result<(ApiToken, TokenDigest), CryptoError> {
        let (token, digest) = generate_token(API_TOKEN_PREFIX)?;
        Ok((ApiToken(token), digest))
    }

    /// The token, to show its owner the one time.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

/// A session token (`css_…`), in the clear: sent to the browser once, then only its digest is
/// kept. Zeroed on drop, never printed.
pub struct SessionToken(Zeroizing<String>);

impl SessionToken {
    /// A new token and the digest to store for it.
    pub fn generate() -> Result<(SessionToken, TokenDigest), CryptoError> {
        let (token, digest) = generate_token(SESSION_TOKEN_PREFIX)?;
        Ok((SessionToken(token), digest))
    }

    /// The token, to set in the session cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// The prefix of a customer's single-use export download link.
pub const EXPORT_TOKEN_PREFIX: &str = "csx_";

/// The token of a customer's export download link (`csx_…`), in the clear: handed to the
/// customer once, then only its digest is kept. Zeroed on drop, never printed.
pub struct ExportToken(Zeroizing<String>);

impl ExportToken {
    /// A new token and the digest to store for it.
    pub fn generate() -> Result<(ExportToken, TokenDigest), CryptoError> {
        let (token, digest) = generate_token(EXPORT_TOKEN_PREFIX)?;
        Ok((ExportToken(token), digest))
    }

    /// The token, to put in the link the one time.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ExportToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExportToken(<redacted>)")
    }
}

/// SHA-256 of a whole token, prefix included: what is stored and looked up.
#[derive(Clone, Copy)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of a presented token, as the client sent it.
    pub fn of(presented: &[u8]) -> TokenDigest {
        TokenDigest(Sha256::digest(presented).into())
    }

    /// A stored digest: 64 hexadecimal digits, either case.
    pub fn from_hex(text: &str) -> Result<TokenDigest, CryptoError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| CryptoError::InvalidEncoding("hex"))?;
        Ok(TokenDigest(bytes))
    }

    /// Lower-case hexadecimal, for storage.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time equality: how many leading bytes matched is not told by the time taken.
    pub fn ct_eq(&self, other: &TokenDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Enough to tell digests apart in a log, far too little to look one up.
        let hex = self.to_hex();
        write!(f, "TokenDigest({}…)", hex.get(..8).unwrap_or_default())
    }
}

/// The digits a one-time code may have.
pub const ONE_TIME_CODE_DIGITS: std::ops::RangeInclusive<usize> = 6..=8;

/// A code of random decimal digits, sent by email or SMS. Zeroed on drop, never printed.
pub struct OneTimeCode(Zeroizing<String>);

impl OneTimeCode {
    /// `digits` uniformly random decimal digits, 6 to 8 of them.
    pub fn generate(digits: usize) -> Result<OneTimeCode, CryptoError> {
        if !ONE_TIME_CODE_DIGITS.contains(&digits) {
            return Err(CryptoError::InvalidParameter(
                "a one-time code has 6 to 8 digits",
            ));
        }
        let mut code = Zeroizing::new(String::with_capacity(digits));
        while code.len() < digits {
            let mut batch: [u8; 16] = random_bytes()?;
            for digit in batch.iter().filter_map(|&byte| digit_of(byte)) {
                if code.len() < digits {
                    code.push(char::from(b'0' + digit));
                }
            }
            batch.zeroize();
        }
        Ok(OneTimeCode(code))
    }

    /// The code, to send the one time.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The form to store: see [`digest_code`].
    pub fn digest(&self, key: &SecretKey) -> [u8; 32] {
        digest_code(key, &self.0)
    }
}

/// The digit a random byte stands for, if any. 250 is the largest multiple of 10 a byte holds;
/// the bytes from it up are dropped rather than folded in, which would favour 0 to 5.
fn digit_of(byte: u8) -> Option<u8> {
    (byte < 250).then_some(byte % 10)
}

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode(<redacted>)")
    }
}

/// HMAC-SHA256 of a one-time code under `key`: the form to store. The key must be kept apart
/// from the database that holds the digests.
pub fn digest_code(key: &SecretKey, code: &str) -> [u8; 32] {
    hmac(key, &[b"custodian/one-time-code/v1\0", code.as_bytes()])
        .finalize()
        .into_bytes()
        .into()
}

/// Whether `presented` is the code whose digest is `stored`, compared in constant time. The
/// code space is small: the caller limits the attempts per code.
pub fn verify_code(key: &SecretKey, presented: &str, stored: &[u8; 32]) -> bool {
    digest_code(key, presented).ct_eq(stored).into()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn is_base64url(text: &str) -> bool {
        text.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    #[test]
    fn tokens_have_their_prefix_and_43_base64url_characters() {
        let (api, api_digest) = ApiToken::generate().unwrap();
        let (session, session_digest) = SessionToken::generate().unwrap();
        for (token, prefix, digest) in [
            (api.expose(), "cst_", api_digest),
            (session.expose(), "css_", session_digest),
        ] {
            let body = token.strip_prefix(prefix).unwrap();
            assert_eq!(body.len(), TOKEN_CHARS, "{token}");
            assert!(is_base64url(body), "{token}");
            assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
            assert!(digest.ct_eq(&TokenDigest::of(token.as_bytes())));
        }
    }

    #[test]
    fn tokens_are_unique() {
        let tokens: HashSet<String> = (0..1000)
            .map(|_| ApiToken::generate().unwrap().0.expose().to_owned())
            .collect();
        assert_eq!(tokens.len(), 1000);
    }

    #[test]
    fn digests_are_stable_and_round_trip_through_hex() {
        let digest = TokenDigest::of(b"cst_example");
        let again = TokenDigest::of(b"cst_example");
        assert!(digest.ct_eq(&again));
        assert!(!digest.ct_eq(&TokenDigest::of(b"css_example")));
        // SHA-256 of the bytes: the same digest the HTTP layer computes today.
        assert_eq!(
            TokenDigest::of(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let hex = digest.to_hex();
        assert_eq!(hex.len(), 64);
        assert!(TokenDigest::from_hex(&hex).unwrap().ct_eq(&digest));
        assert!(
            TokenDigest::from_hex(&hex.to_uppercase())
                .unwrap()
                .ct_eq(&digest)
        );
        assert_eq!(
            format!("{digest:?}"),
            format!("TokenDigest({}…)", &hex[..8])
        );
    }

    #[test]
    fn malformed_hex_is_refused() {
        let hex = TokenDigest::of(b"x").to_hex();
        for bad in [
            String::new(),
            hex[..62].to_owned(),
            format!("{hex}00"),
            format!("{}zz", &hex[..62]),
            format!(" {}", &hex[..63]),
            format!("{}é", &hex[..62]),
        ] {
            assert!(
                matches!(
                    TokenDigest::from_hex(&bad),
                    Err(CryptoError::InvalidEncoding("hex"))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn secrets_are_never_printed() {
        let (api, _) = ApiToken::generate().unwrap();
        let (session, _) = SessionToken::generate().unwrap();
        let code = OneTimeCode::generate(6).unwrap();
        assert_eq!(format!("{api:?}"), "ApiToken(<redacted>)");
        assert_eq!(format!("{session:?}"), "SessionToken(<redacted>)");
        assert_eq!(format!("{code:?}"), "OneTimeCode(<redacted>)");
    }

    #[test]
    fn one_time_codes_have_the_asked_number_of_digits() {
        for digits in 6..=8 {
            let code = OneTimeCode::generate(digits).unwrap();
            assert_eq!(code.expose().len(), digits);
            assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        }
        for digits in [0, 5, 9, 100] {
            assert!(matches!(
                OneTimeCode::generate(digits),
                Err(CryptoError::InvalidParameter(_))
            ));
        }
    }

    #[test]
    fn every_digit_stands_for_as_many_bytes() {
        let mut counts = [0u32; 10];
        for digit in (0..=u8::MAX).filter_map(digit_of) {
            counts[usize::from(digit)] += 1;
        }
        assert_eq!(counts, [25; 10]);
    }

    #[test]
    fn drawn_digits_are_uniform() {
        // 600 000 digits; chi-square with 9 degrees of freedom. 27.88 is its 0.999 quantile, so
        // a fair generator fails about once in a thousand runs, while folding the six top byte
        // values in (0 to 5 each 1.6% too often) would score about 220.
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            for b in OneTimeCode::generate(6).unwrap().expose().bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        let expected = 60_000.0;
        let chi_square: f64 = counts
            .iter()
            .map(|&n| (f64::from(n) - expected).powi(2) / expected)
            .sum();
        assert!(chi_square < 27.88, "{counts:?}: chi-square {chi_square}");
    }

    #[test]
    fn code_digests_are_keyed_and_compared_exactly() {
        let key = SecretKey::from_bytes(&[5; 32]).unwrap();
        let other = SecretKey::from_bytes(&[6; 32]).unwrap();
        let code = OneTimeCode::generate(6).unwrap();
        let stored = code.digest(&key);
        assert_eq!(stored, digest_code(&key, code.expose()));
        assert_ne!(stored, digest_code(&other, code.expose()));
        assert!(verify_code(&key, code.expose(), &stored));
        assert!(!verify_code(&other, code.expose(), &stored));
        assert!(!verify_code(&key, &format!("{} ", code.expose()), &stored));
        assert_eq!(digest_code(&key, "123456"), digest_code(&key, "123456"));
        assert_ne!(digest_code(&key, "123456"), digest_code(&key, "123457"));
    }
}
