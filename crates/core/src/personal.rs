//! Personal values in the clear. The type makes the vault's rule hard to break by accident:
//! a [`Personal`] cannot be printed, logged or serialised, and only this crate can read it —
//! which it does only to encrypt it, or to hand it out through an access decision
//! ([`crate::access::Disclosure`]).

use std::fmt;

use zeroize::Zeroizing;

/// A personal value, validated and normalised, in the clear. Zeroed on drop.
pub struct Personal(Zeroizing<String>);

impl Personal {
    pub(crate) fn new(value: String) -> Personal {
        Personal(Zeroizing::new(value))
    }

    /// The clear text. Crate-private: plaintext leaves the core only as a `Disclosure`.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Personal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Personal(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let p = Personal::new("marker-7f3a".into());
        assert_eq!(format!("{p:?}"), "Personal(<redacted>)");
        assert_eq!(format!("{:?}", Some(&p)), "Some(Personal(<redacted>))");
    }
}
