//! Passwords: Argon2id hashes stored as PHC strings, and the policy a new password must meet
//! (NIST SP 800-63B: length, not common, not the account's own name, not one repeated run).

use std::fmt;
use std::sync::OnceLock;

use argon2::password_hash::phc;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use zeroize::Zeroizing;

use crate::{CryptoError, random_bytes};

/// Argon2id with OWASP's first recommended setting: 19 MiB of memory, 2 passes, 1 lane.
const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const OUTPUT_LEN: usize = 32;
const SALT_LEN: usize = 16;

// A stored hash asks for its own parameters, and verifying honours them. These bounds keep a
// tampered or foreign row from making one login allocate gigabytes or run for minutes.
const MAX_M_COST: u32 = 256 * 1024;
const MAX_T_COST: u32 = 16;
const MAX_P_COST: u32 = 16;
const MIN_OUTPUT_LEN: usize = 16;
const MAX_OUTPUT_LEN: usize = 64;

/// The fewest characters (not bytes) a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The most characters a new password may have: enough for any passphrase.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// An Argon2id password hash in PHC string form (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
/// Only values that parse, with parameters within the accepted bounds, exist.
#[derive(Clone)]
pub struct PasswordHash {
    text: String,
    phc: phc::PasswordHash,
    params: Params,
}

impl PasswordHash {
    /// A stored hash. Refuses anything that is not Argon2id version 19 with a salt, an output
    /// and parameters within bounds; the error never contains the string.
    pub fn parse(text: &str) -> Result<PasswordHash, CryptoError> {
        let phc = phc::PasswordHash::new(text).map_err(|_| CryptoError::InvalidPasswordHash)?;
        PasswordHash::from_phc(text.to_owned(), phc)
    }

    fn from_phc(text: String, phc: phc::PasswordHash) -> Result<PasswordHash, CryptoError> {
        let invalid = CryptoError::InvalidPasswordHash;
        if phc.algorithm != argon2::ARGON2ID_IDENT || phc.version != Some(Version::V0x13.into()) {
            return Err(invalid);
        }
        let params = Params::try_from(&phc).map_err(|_| CryptoError::InvalidPasswordHash)?;
        let salt_len = phc.salt.as_ref().map_or(0, |salt| salt.len());
        let output_len = phc.hash.as_ref().map_or(0, |hash| hash.len());
        let within_bounds = params.m_cost() <= MAX_M_COST
            && params.t_cost() <= MAX_T_COST
            && params.p_cost() <= MAX_P_COST
            && params.keyid().is_empty()
            && params.data().is_empty()
            && salt_len >= argon2::MIN_SALT_LEN
            && (MIN_OUTPUT_LEN..=MAX_OUTPUT_LEN).contains(&output_len);
        if !within_bounds {
            return Err(invalid);
        }
        Ok(PasswordHash { text, phc, params })
    }

    /// The PHC string, for storage.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PasswordHash(argon2id v=19 m={},t={},p={})",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost()
        )
    }
}

fn current_params() -> Result<Params, CryptoError> {
    Params::new(M_COST, T_COST, P_COST, Some(OUTPUT_LEN)).map_err(|_| CryptoError::PasswordHashing)
}

fn hasher(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with a fresh 16-byte salt and the current parameters.
pub fn hash_password(password: &[u8]) -> Result<PasswordHash, CryptoError> {
    let salt: [u8; SALT_LEN] = random_bytes()?;
    hash_with_salt(password, &salt, current_params()?)
}

fn hash_with_salt(
    password: &[u8],
    salt: &[u8],
    params: Params,
) -> Result<PasswordHash, CryptoError> {
    let phc = hasher(params)
        .hash_password_with_salt(password, salt)
        .map_err(|_| CryptoError::PasswordHashing)?;
    PasswordHash::from_phc(phc.to_string(), phc)
}

/// Whether `password` is the one `hash` was made from. The hash's own parameters are used, and
/// the outputs are compared in constant time.
pub fn verify_password(hash: &PasswordHash, password: &[u8]) -> bool {
    hasher(hash.params.clone())
        .verify_password(password, &hash.phc)
        .is_ok()
}

// Made by `hash_password` with the current parameters; the test
// `the_dummy_hash_uses_the_current_parameters` fails if they change and it does not. Nobody's
// password: `verify_dummy` discards the result.
const DUMMY_HASH: &str = concat!(
    "$argon2id$v=19$m=19456,t=2,p=1",
    "$UmTSRbywLvmkPACITQoaOA",
    "$u78rBWhSkagm8gQvudvIvueNC5nbPM8+DSFWlJ7npcY",
);

fn dummy_hash() -> Option<&'static PasswordHash> {
    // A constant, not a hash computed on first use, so that even the first login for an
    // unknown account costs one verification, not two.
    static DUMMY: OnceLock<Option<PasswordHash>> = OnceLock::new();
    DUMMY
        .get_or_init(|| PasswordHash::parse(DUMMY_HASH).ok())
        .as_ref()
}

/// Spends the time of one verification with the current parameters and discards the result.
/// Call it when a login names no known account, so the answer takes as long as a wrong
/// password for a real one.
pub fn verify_dummy(password: &[u8]) {
    if let Some(dummy) = dummy_hash() {
        std::hint::black_box(verify_password(dummy, password));
    }
}

/// Whether `hash` was made with weaker parameters than the current ones. After a successful
/// verification, the caller hashes the password again and stores the new hash.
pub fn needs_rehash(hash: &PasswordHash) -> bool {
    let salt_len = hash.phc.salt.as_ref().map_or(0, |salt| salt.len());
    let output_len = hash.phc.hash.as_ref().map_or(0, |output| output.len());
    hash.params.m_cost() < M_COST
        || hash.params.t_cost() < T_COST
        || salt_len < SALT_LEN
        || output_len < OUTPUT_LEN
}

/// Why a new password is refused. The codes are stable: clients may match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("password has fewer than {} characters", MIN_PASSWORD_CHARS)]
    TooShort,
    #[error("password has more than {} characters", MAX_PASSWORD_CHARS)]
    TooLong,
    #[error("password is among the most commonly used")]
    Common,
    #[error("password contains the account's name or address")]
    ContainsContext,
    #[error("password repeats a few characters over and over")]
    Repetitive,
}

impl WeakPassword {
    pub fn code(&self) -> &'static str {
        match self {
            WeakPassword::TooShort => "too_short",
            WeakPassword::TooLong => "too_long",
            WeakPassword::Common => "common",
            WeakPassword::ContainsContext => "contains_context",
            WeakPassword::Repetitive => "repetitive",
        }
    }
}

// Shorter context words (a two-letter given name) would refuse many good passphrases that
// merely contain them; they are still refused as the whole password.
const MIN_CONTEXT_CHARS: usize = 4;

// Longest repeated unit that makes a password repetitive (`abababababab`, `passpasspass`).
const MAX_REPEATED_UNIT: usize = 4;

/// Checks a new password against the policy of NIST SP 800-63B: 12 to 128 characters, not a
/// few characters repeated, not a commonly used password, and not containing any of `context`
/// (the account's email, its local part, the person's name, the service's name), ignoring
/// case. No composition rules: a long passphrase of lower-case words is fine.
pub fn check_password_strength(password: &str, context: &[&str]) -> Result<(), WeakPassword> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(WeakPassword::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(WeakPassword::TooLong);
    }
    let lower = Zeroizing::new(password.to_lowercase());
    if is_repetitive(&lower) {
        return Err(WeakPassword::Repetitive);
    }
    if COMMON_PASSWORDS.contains(&lower.as_str()) {
        return Err(WeakPassword::Common);
    }
    let words = context.iter().flat_map(|word| {
        let word = word.trim().to_lowercase();
        // An address is also checked by its local part, the part people reuse.
        let local = word
            .split_once('@')
            .map(|(local, _)| local.to_owned())
            .filter(|local| !local.is_empty());
        std::iter::once(word).chain(local)
    });
    for word in words {
        let long_enough = word.chars().count() >= MIN_CONTEXT_CHARS;
        if !word.is_empty()
            && (*lower == word
                || (long_enough && lower.contains(&word))
                || word.contains(lower.as_str()))
        {
            return Err(WeakPassword::ContainsContext);
        }
    }
    Ok(())
}

fn is_repetitive(password: &str) -> bool {
    (1..=MAX_REPEATED_UNIT).any(|unit| {
        password.chars().nth(unit).is_some()
            && password
                .chars()
                .skip(unit)
                .zip(password.chars())
                .all(|(a, b)| a == b)
    })
}

/// Passwords that head the published lists of breached passwords, among those long enough to
/// pass the length rule (the shorter ones are refused by length already). Lower case: the
/// comparison ignores case.
const COMMON_PASSWORDS: &[&str] = &[
    "!qaz2wsx#edc",
    "!qaz@wsx#edc",
    "098765432109",
    "0987654321qwerty",
    "1029384756abc",
    "1122334455667788",
    "112233445566",
    "123321123321",
    "123456123456",
    "1234567890-=",
    "1234567890123",
    "12345678901234",
    "123456789012",
    "123456789012345",
    "1234567890123456",
    "1234567890qwerty",
    "123456789abc",
    "123456789qwe",
    "123456789qwerty",
    "123456abcdef",
    "123456qwerty",
    "1234abcd1234",
    "1234qwer1234",
    "1234qwerasdf",
    "1234qwerasdfzxcv",
    "123qweasdzxc",
    "1q2w3e4r5t6y",
    "1q2w3e4r5t6y7u",
    "1q2w3e4r5t6y7u8i",
    "1qaz2wsx3edc",
    "1qaz2wsx3edc4rfv",
    "1qazxsw23edc",
    "a1b2c3d4e5f6",
    "abc123abc123",
    "abc123456789",
    "abcd1234abcd",
    "abcdefg12345",
    "abcdefghijkl",
    "abcdefghijklmnop",
    "admin1234567",
    "admin@123456",
    "adminadmin123",
    "administrator",
    "administrator1",
    "anhyeuem1234",
    "anhyeuem123456",
    "asdfghjkl123",
    "asdfghjkl1234",
    "baseball1234",
    "changeme1234",
    "changeme123!",
    "charlie12345",
    "computer1234",
    "correcthorsebatterystaple",
    "dragon123456",
    "emyeuanh1234",
    "emyeuanh123456",
    "football1234",
    "iloveyou1234",
    "iloveyou12345",
    "iloveyou123456",
    "iloveyouiloveyou",
    "internet1234",
    "jennifer1234",
    "letmein12345",
    "letmeinletmein",
    "master123456",
    "matkhau12345",
    "matkhau123456",
    "michael12345",
    "monkey123456",
    "mypassword123",
    "mypassword1234",
    "newpassword123",
    "p@ssw0rd1234",
    "p@ssw0rd123!",
    "p@ssword1234",
    "passw0rd1234",
    "password1234",
    "password12345",
    "password123456",
    "password123!",
    "password2024",
    "password2025",
    "password2026",
    "passwordpassword",
    "princess1234",
    "q1w2e3r4t5y6",
    "qazwsxedcrfv",
    "qazwsxedcrfvtgb",
    "qwe123qwe123",
    "qweasdzxc123",
    "qwer1234asdf",
    "qwerty123!@#",
    "qwerty123456",
    "qwerty1234567",
    "qwertyqwerty",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwertyuiop1234",
    "qwertyuiopasdfgh",
    "qwertyuiopasdfghjkl",
    "secret123456",
    "shadow123456",
    "starwars1234",
    "sunshine1234",
    "superman1234",
    "thequickbrownfox",
    "trustno1trustno1",
    "welcome12345",
    "welcome123456",
    "whatever1234",
    "zaq12wsxcde3",
    "zxcvbnm123456",
    "zxcvbnmasdfghjkl",
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    // Cheap parameters for tests that are about the stored form, not the cost.
    fn weak_hash(password: &[u8]) -> PasswordHash {
        let params = Params::new(4096, 1, 1, Some(OUTPUT_LEN)).unwrap();
        hash_with_salt(password, &[9; SALT_LEN], params).unwrap()
    }

    #[test]
    fn a_hash_verifies_its_password_and_no_other() {
        let hash = hash_password(b"correct horse battery").unwrap();
        assert!(verify_password(&hash, b"correct horse battery"));
        assert!(!verify_password(&hash, b"correct horse batterz"));
        assert!(!verify_password(&hash, b""));
        assert!(!needs_rehash(&hash));
    }

    #[test]
    fn hashes_are_owasp_argon2id_phc_strings_that_parse_back() {
        let hash = hash_password(b"correct horse battery").unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
        let parsed = PasswordHash::parse(hash.as_str()).unwrap();
        assert_eq!(parsed.as_str(), hash.as_str());
        assert!(verify_password(&parsed, b"correct horse battery"));
        let again = hash_password(b"correct horse battery").unwrap();
        assert_ne!(again.as_str(), hash.as_str(), "salts must differ");
    }

    #[test]
    fn debug_shows_the_parameters_only() {
        let hash = weak_hash(b"pw");
        let shown = format!("{hash:?}");
        assert_eq!(shown, "PasswordHash(argon2id v=19 m=4096,t=1,p=1)");
        let salt_and_output = hash.as_str().rsplit('$').take(2);
        for part in salt_and_output {
            assert!(!shown.contains(part));
        }
    }

    #[test]
    fn weaker_parameters_need_a_rehash() {
        let hash = weak_hash(b"pw");
        assert!(needs_rehash(&hash));
        assert!(verify_password(&hash, b"pw"));
        let reparsed = PasswordHash::parse(hash.as_str()).unwrap();
        assert!(needs_rehash(&reparsed));
    }

    #[test]
    fn malformed_or_out_of_bounds_hashes_are_refused_and_never_verify() {
        let good = weak_hash(b"pw");
        let good = good.as_str();
        let (head, output) = good.rsplit_once('$').unwrap();
        let flipped = format!(
            "{head}${}{}",
            if output.starts_with('A') { 'B' } else { 'A' },
            &output[1..]
        );
        let tampered = PasswordHash::parse(&flipped).unwrap();
        assert!(!verify_password(&tampered, b"pw"));

        let refused = [
            "".to_owned(),
            "plain text".to_owned(),
            "$".to_owned(),
            "$argon2id".to_owned(),
            "$argon2id$v=19$m=4096,t=1,p=1".to_owned(),
            good.replacen("argon2id", "argon2i", 1),
            good.replacen("argon2id", "argon2d", 1),
            good.replacen("$v=19", "$v=16", 1),
            good.replacen("$v=19", "", 1),
            good.replacen("m=4096", "m=4294967295", 1),
            good.replacen("m=4096", "m=1048576", 1),
            good.replacen("t=1", "t=1000000", 1),
            good.replacen("p=1", "p=64", 1),
            good.replacen("m=4096", "m=x", 1),
            head.to_owned(),
            format!("{head}$AAAA"),
            format!("{good}$extra"),
            good.replacen("$argon2id", "$scrypt", 1),
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".to_owned(),
        ];
        for text in refused {
            let parsed = PasswordHash::parse(&text);
            assert!(
                matches!(parsed, Err(CryptoError::InvalidPasswordHash)),
                "{text}"
            );
            assert!(!parsed.is_ok_and(|hash| verify_password(&hash, b"pw")));
        }
    }

    #[test]
    fn the_dummy_hash_uses_the_current_parameters() {
        let dummy = dummy_hash().expect("the dummy hash parses");
        assert!(!needs_rehash(dummy));
        let current = current_params().unwrap();
        assert_eq!(dummy.params.m_cost(), current.m_cost());
        assert_eq!(dummy.params.t_cost(), current.t_cost());
        assert_eq!(dummy.params.p_cost(), current.p_cost());
        verify_dummy(b"anything");
    }

    #[test]
    fn strength_rules() {
        let ok = check_password_strength;
        assert_eq!(ok("correct horse battery", &[]), Ok(()));
        assert_eq!(
            ok("đây là mật khẩu", &[]),
            Ok(()),
            "15 characters, more bytes"
        );
        assert_eq!(ok("abcdefghijk", &[]), Err(WeakPassword::TooShort));
        assert_eq!(
            ok("ừừừừừừừừừừừ", &[]),
            Err(WeakPassword::TooShort),
            "11 chars, 33 bytes"
        );
        assert_eq!(ok(&"x".repeat(12), &[]), Err(WeakPassword::Repetitive));
        assert_eq!(ok(&"y7".repeat(6), &[]), Err(WeakPassword::Repetitive));
        assert_eq!(ok("PassPassPass", &[]), Err(WeakPassword::Repetitive));
        assert_eq!(ok("aAaAaAaAaAaA", &[]), Err(WeakPassword::Repetitive));
        assert_eq!(
            ok("abcdeabcdeabcde", &[]),
            Ok(()),
            "units over four are not refused"
        );
        assert_eq!(ok(&"long ".repeat(25), &[]), Ok(()));
        assert_eq!(ok(&"x".repeat(129), &[]), Err(WeakPassword::TooLong));
        assert_eq!(ok(&"đ".repeat(129), &[]), Err(WeakPassword::TooLong));
        assert_eq!(ok("Password1234", &[]), Err(WeakPassword::Common));
        assert_eq!(ok("QWERTY123456", &[]), Err(WeakPassword::Common));

        let context = ["An.Nguyen@example.com", "An", "Custodian"];
        assert_eq!(
            ok("an.nguyen@example.com", &context),
            Err(WeakPassword::ContainsContext)
        );
        assert_eq!(
            ok("my name is AN.NGUYEN", &context),
            Err(WeakPassword::ContainsContext)
        );
        assert_eq!(
            ok("custodian rules ok", &context),
            Err(WeakPassword::ContainsContext)
        );
        assert_eq!(
            ok("nguyen@example", &context),
            Err(WeakPassword::ContainsContext)
        );
        assert_eq!(
            ok("a banana plantation", &context),
            Ok(()),
            "short words only as a whole"
        );
        assert_eq!(
            ok("an", &["an"]),
            Err(WeakPassword::TooShort),
            "length comes first"
        );
        assert_eq!(ok("correct horse battery", &["", "  "]), Ok(()));
    }

    #[test]
    fn codes_are_stable() {
        let codes: Vec<&str> = [
            WeakPassword::TooShort,
            WeakPassword::TooLong,
            WeakPassword::Common,
            WeakPassword::ContainsContext,
            WeakPassword::Repetitive,
        ]
        .iter()
        .map(WeakPassword::code)
        .collect();
        assert_eq!(
            codes,
            [
                "too_short",
                "too_long",
                "common",
                "contains_context",
                "repetitive"
            ]
        );
    }

    #[test]
    fn the_common_list_holds_only_reachable_distinct_lower_case_entries() {
        let mut seen = HashSet::new();
        for entry in COMMON_PASSWORDS {
            assert_eq!(*entry, entry.to_lowercase());
            assert!((MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&entry.chars().count()));
            assert!(seen.insert(entry), "{entry} twice");
            assert!(
                !is_repetitive(entry),
                "{entry} is refused as repetitive already"
            );
        }
        assert!(COMMON_PASSWORDS.len() >= 100);
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,120}") {
            let _ = PasswordHash::parse(&text);
        }

        #[test]
        fn parsing_phc_shaped_noise_never_panics(
            fields in proptest::collection::vec("[a-z0-9=,+/]{0,24}", 0..7),
        ) {
            let _ = PasswordHash::parse(&format!("${}", fields.join("$")));
        }
    }
}
