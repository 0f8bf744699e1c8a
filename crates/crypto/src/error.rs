/// Why a cryptographic operation failed. Messages never include key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The ciphertext was altered, moved to another customer, record or field, or sealed
    /// under another key: authentication failed.
    #[error("ciphertext failed authentication")]
    Authentication,
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("no master key of version `{0}` is available")]
    UnknownKeyVersion(u32),
    #[error("key material is invalid: {0}")]
    InvalidKey(String),
    #[error("the system random number generator failed")]
    Random,
    /// A stored password hash that does not parse, or was not made with the algorithm and
    /// within the parameter bounds this system uses.
    #[error("password hash is malformed or uses parameters outside the accepted bounds")]
    InvalidPasswordHash,
    #[error("password hashing failed")]
    PasswordHashing,
    /// Text that should be in the named encoding (`base32`, `hex`) is not. The text itself is
    /// never part of the message: it may be a secret.
    #[error("value is not valid {0}")]
    InvalidEncoding(&'static str),
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
    #[error("key storage: {0}")]
    Io(#[from] std::io::Error),
}
