//! Time-based one-time passwords (RFC 6238) as authenticator apps expect them: HMAC-SHA1,
//! six digits, a 30-second step. SHA-1 is what the apps implement; HMAC-SHA1 remains sound as a
//! MAC, which is all TOTP asks of it.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{CryptoError, random_bytes};

/// 160 bits, the length RFC 4226 recommends and the apps expect.
pub const TOTP_SECRET_LEN: usize = 20;
const DIGITS: usize = 6;
const MODULUS: u32 = 1_000_000;
const STEP_SECONDS: i64 = 30;
// Steps either side of the current one that are accepted, for clocks that drift.
const DRIFT_STEPS: u64 = 1;
// SHA-1's block: a key shorter than the block is zero-padded to it by HMAC itself.
const HMAC_SHA1_BLOCK: usize = 64;

/// A person's TOTP secret. Zeroed on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TotpSecret([u8; TOTP_SECRET_LEN]);

impl TotpSecret {
    pub fn generate() -> Result<TotpSecret, CryptoError> {
        Ok(TotpSecret(random_bytes()?))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<TotpSecret, CryptoError> {
        let array: [u8; TOTP_SECRET_LEN] = bytes.try_into().map_err(|_| {
            CryptoError::InvalidKey(format!(
                "expected {TOTP_SECRET_LEN} bytes, got {}",
                bytes.len()
            ))
        })?;
        Ok(TotpSecret(array))
    }

    /// The raw bytes, for sealing before storage.
    pub fn as_bytes(&self) -> &[u8; TOTP_SECRET_LEN] {
        &self.0
    }

    /// The secret as people type it into an app: RFC 4648 base32, upper case, no padding.
    pub fn to_base32(&self) -> Zeroizing<String> {
        base32_encode(&self.0)
    }

    /// Reads a base32 secret, ignoring case, spaces and trailing padding. Anything else, or a
    /// secret of the wrong length, is refused.
    pub fn from_base32(text: &str) -> Result<TotpSecret, CryptoError> {
        let bytes = base32_decode(text)?;
        TotpSecret::from_bytes(&bytes)
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// The `otpauth://` URI an authenticator app reads from a QR code. It holds the secret.
pub fn provisioning_uri(secret: &TotpSecret, issuer: &str, account: &str) -> Zeroizing<String> {
    let issuer = percent_encode(issuer);
    let account = percent_encode(account);
    let secret = secret.to_base32();
    Zeroizing::new(format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}\
         &algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        secret.as_str()
    ))
}

/// The code for the step that holds `unix_seconds`, zero-padded to six digits. Times before
/// 1970 have no step; they get the code of step 0.
pub fn code_at(secret: &TotpSecret, unix_seconds: i64) -> String {
    let step = step_at(unix_seconds).unwrap_or(0);
    format_code(hotp(secret, step))
}

/// Checks a code presented at `unix_seconds`. Accepts the code of the current step or of
/// one step either side, provided that step is later than `last_used_step` (a code is good
/// once). Returns the step matched, which the caller stores as the new `last_used_step`.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_seconds: i64,
    last_used_step: Option<u64>,
) -> Option<u64> {
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(unix_seconds)?;
    let first = current.saturating_sub(DRIFT_STEPS);
    let last = current.saturating_add(DRIFT_STEPS);
    let mut matched = None;
    // Every candidate is computed and compared, whichever matches.
    for step in first..=last {
        let expected = Zeroizing::new(format_code(hotp(secret, step)));
        let equal = bool::from(expected.as_bytes().ct_eq(code.as_bytes()));
        let fresh = last_used_step.is_none_or(|used| step > used);
        if equal && fresh {
            matched = Some(step);
        }
    }
    matched
}

fn step_at(unix_seconds: i64) -> Option<u64> {
    u64::try_from(unix_seconds.div_euclid(STEP_SECONDS)).ok()
}

fn format_code(value: u32) -> String {
    format!("{:0width$}", value % MODULUS, width = DIGITS)
}

/// HOTP (RFC 4226) of one counter value, before reduction to digits.
fn hotp(secret: &TotpSecret, counter: u64) -> u32 {
    // Padding the key to the block ourselves is what HMAC would do, and keying with a key of
    // exactly the block length cannot fail.
    let mut key = [0u8; HMAC_SHA1_BLOCK];
    for (slot, byte) in key.iter_mut().zip(secret.0.iter()) {
        *slot = *byte;
    }
    let mut mac = <Hmac<Sha1> as KeyInit>::new((&key).into());
    key.zeroize();
    mac.update(&counter.to_be_bytes());
    let mut digest: [u8; 20] = mac.finalize().into_bytes().into();
    let offset = usize::from(digest.last().map_or(0, |b| b & 0x0f));
    // The offset is at most 15, so the four bytes from it are always within the 20.
    let word = digest
        .get(offset..offset + 4)
        .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
        .map_or(0, u32::from_be_bytes);
    digest.zeroize();
    word & 0x7fff_ffff
}

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32, without padding.
fn base32_encode(bytes: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(bytes.len().div_ceil(5) * 8));
    let mut buffer: u16 = 0;
    let mut bits: u32 = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(base32_char(buffer >> bits));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(base32_char(buffer << (5 - bits)));
    }
    out
}

fn base32_char(value: u16) -> char {
    BASE32_ALPHABET
        .get(usize::from(value & 0x1f))
        .map_or('A', |&c| char::from(c))
}

fn base32_value(c: char) -> Option<u16> {
    match c {
        'A'..='Z' => Some(c as u16 - 'A' as u16),
        'a'..='z' => Some(c as u16 - 'a' as u16),
        '2'..='7' => Some(c as u16 - '2' as u16 + 26),
        _ => None,
    }
}

/// Decodes RFC 4648 base32, ignoring case, spaces and trailing `=`. Refuses other characters,
/// lengths no encoder produces, and leftover bits that are not zero (so one value has one
/// spelling).
fn base32_decode(text: &str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let invalid = || CryptoError::InvalidEncoding("base32");
    let trimmed = text.trim_end_matches(|c: char| c == '=' || c.is_whitespace());
    let mut out = Zeroizing::new(Vec::with_capacity(trimmed.len() * 5 / 8));
    let mut buffer: u16 = 0;
    let mut bits: u32 = 0;
    let mut symbols: usize = 0;
    for c in trimmed.chars().filter(|c| *c != ' ') {
        let value = base32_value(c).ok_or_else(invalid)?;
        symbols += 1;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from(buffer >> bits).map_err(|_| invalid())?);
            buffer &= (1 << bits) - 1;
        }
    }
    // 1, 3 and 6 symbols past a whole group carry no complete byte: no encoder ends so.
    if matches!(symbols % 8, 1 | 3 | 6) || buffer != 0 {
        return Err(invalid());
    }
    Ok(out)
}

/// Percent-encodes everything outside RFC 3986's unreserved set, byte by byte of the UTF-8.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(hex_digit(byte >> 4));
            out.push(hex_digit(byte & 0x0f));
        }
    }
    out
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).map_or('0', |c| c.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").unwrap()
    }

    #[test]
    fn rfc_6238_sha1_vectors() {
        // Appendix B gives eight digits; six-digit codes are the same value mod 10^6.
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(&rfc_secret(), time), eight[2..], "{time}");
        }
    }

    #[test]
    fn rfc_4226_hotp_vectors() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, code) in expected.into_iter().enumerate() {
            assert_eq!(hotp(&rfc_secret(), counter as u64) % MODULUS, code);
        }
    }

    #[test]
    fn codes_are_zero_padded_six_digits() {
        // Step 1 of the RFC secret (time 30..59) has a code with a leading zero.
        let code = code_at(&rfc_secret(), 1_111_111_109);
        assert_eq!(code, "081804");
        assert_eq!(code_at(&rfc_secret(), -1), code_at(&rfc_secret(), 0));
    }

    #[test]
    fn the_window_is_one_step_either_side() {
        let secret = TotpSecret::generate().unwrap();
        let now = 1_700_000_000;
        let step = (now / 30) as u64;
        let previous = code_at(&secret, now - 30);
        let current = code_at(&secret, now);
        let next = code_at(&secret, now + 30);
        assert_eq!(verify(&secret, &previous, now, None), Some(step - 1));
        assert_eq!(verify(&secret, &current, now, None), Some(step));
        assert_eq!(verify(&secret, &next, now, None), Some(step + 1));
        let too_old = code_at(&secret, now - 60);
        let too_new = code_at(&secret, now + 60);
        for code in [too_old, too_new] {
            if code != previous && code != current && code != next {
                assert_eq!(verify(&secret, &code, now, None), None);
            }
        }
    }

    #[test]
    fn a_code_is_good_once() {
        let secret = TotpSecret::generate().unwrap();
        let now = 1_700_000_000;
        let code = code_at(&secret, now);
        let used = verify(&secret, &code, now, None).unwrap();
        assert_eq!(verify(&secret, &code, now, Some(used)), None);
        assert_eq!(verify(&secret, &code, now + 10, Some(used)), None);
        let earlier = code_at(&secret, now - 30);
        if earlier != code {
            assert_eq!(verify(&secret, &earlier, now, Some(used)), None);
        }
        let next = code_at(&secret, now + 30);
        assert_eq!(verify(&secret, &next, now + 30, Some(used)), Some(used + 1));
    }

    #[test]
    fn codes_must_be_six_ascii_digits() {
        let secret = rfc_secret();
        let code = code_at(&secret, 59);
        assert_eq!(verify(&secret, &code, 59, None), Some(1));
        for bad in [
            "",
            "28708",
            "2870820",
            " 287082",
            "287 082",
            "28708a",
            "+28708",
            "２８７０８２",
            "94287082",
        ] {
            assert_eq!(verify(&secret, bad, 59, None), None, "{bad}");
        }
        assert_eq!(verify(&secret, &code, -1, None), None);
    }

    #[test]
    fn provisioning_uri_is_exact_and_encoded() {
        let uri = provisioning_uri(
            &rfc_secret(),
            "Custodian Vault",
            "an.nguyen+2fa@example.com",
        );
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/Custodian%20Vault:an.nguyen%2B2fa%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Custodian%20Vault\
             &algorithm=SHA1&digits=6&period=30"
        );
        let uri = provisioning_uri(&rfc_secret(), "Công ty A:B", "ä&?=#/");
        assert!(
            uri.starts_with("otpauth://totp/C%C3%B4ng%20ty%20A%3AB:%C3%A4%26%3F%3D%23%2F?secret=")
        );
    }

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()).as_str(), encoded);
            assert_eq!(base32_decode(encoded).unwrap().as_slice(), plain.as_bytes());
        }
        assert_eq!(base32_decode("MZXW6YQ=").unwrap().as_slice(), b"foob");
        assert_eq!(base32_decode("mzxw 6ytb oi").unwrap().as_slice(), b"foobar");
    }

    #[test]
    fn bad_base32_is_refused() {
        // `MZ` and `MZXR` spell whole bytes but leave bits that are not zero after them.
        for bad in [
            "M", "MZX", "MZXW6Y", "MZ", "MZXR", "MZ1", "MZ=X", "MZ-X", "MZ\tXQ", "MY\0",
        ] {
            assert!(
                matches!(
                    base32_decode(bad),
                    Err(CryptoError::InvalidEncoding("base32"))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn secrets_read_back_from_what_people_type() {
        let secret = rfc_secret();
        let text = secret.to_base32();
        assert_eq!(text.as_str(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let typed = "gezd gnbv gy3t qojq gezd gnbv gy3t qojq ";
        let back = TotpSecret::from_base32(typed).unwrap();
        assert_eq!(back.as_bytes(), secret.as_bytes());
        assert!(TotpSecret::from_base32("MZXW6YTBOI").is_err(), "too short");
        assert!(TotpSecret::from_base32(&format!("{}AA", text.as_str())).is_err());
    }

    #[test]
    fn secrets_are_never_printed() {
        assert_eq!(format!("{:?}", rfc_secret()), "TotpSecret(<redacted>)");
    }

    proptest! {
        #[test]
        fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let encoded = base32_encode(&bytes);
            prop_assert!(!encoded.contains('='));
            prop_assert_eq!(encoded.len(), (bytes.len() * 8).div_ceil(5));
            let decoded = base32_decode(&encoded).unwrap();
            prop_assert_eq!(decoded.as_slice(), &bytes[..]);
            let decoded = base32_decode(&encoded.to_lowercase()).unwrap();
            prop_assert_eq!(decoded.as_slice(), &bytes[..]);
        }

        #[test]
        fn base32_decoding_never_panics(text in "\\PC{0,64}") {
            let _ = base32_decode(&text);
        }

        #[test]
        fn secrets_round_trip_through_base32(bytes in any::<[u8; TOTP_SECRET_LEN]>()) {
            let secret = TotpSecret::from_bytes(&bytes).unwrap();
            let back = TotpSecret::from_base32(&secret.to_base32()).unwrap();
            prop_assert_eq!(back.as_bytes(), &bytes);
        }
    }
}
