//! Opaque, typed identifiers, prefixed by what they name: 48 bits of the creation time in
//! milliseconds, then 80 random bits (the layout of a UUIDv7), in lowercase hex.
//!
//! Why time first: ids are the keys of every table, and new rows whose keys are close land in
//! the same B-tree pages, so a batch of creations dirties a few pages instead of one per row
//! (random ids made group commit write ~5 scattered pages per customer). The cost is that an
//! id tells its holder when the record was created, to the millisecond; that is what any
//! principal allowed to see the record sees anyway (`created_at`), and ids never leave the
//! company: pseudonymous views use keyed pseudonyms, not ids. 80 random bits keep them
//! unguessable and unique (a collision needs ~2^40 ids in one millisecond).

use std::fmt;

use serde::Serialize;

use custodian_crypto::random_bytes;

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id for a record created at `now` (random bits from the OS generator).
            pub fn generate(now: jiff::Timestamp) -> Result<$name, custodian_crypto::CryptoError> {
                Ok($name(format!("{}{}", $prefix, hex::encode(time_ordered(now)?))))
            }

            /// Accepts exactly the shape [`Self::generate`] produces.
            pub fn parse(s: &str) -> Option<$name> {
                let hex = s.strip_prefix($prefix)?;
                (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
                    .then(|| $name(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// 48 bits of milliseconds since the Unix epoch (until the year 10889; earlier times clamp
/// to 0), then 80 random bits.
fn time_ordered(now: jiff::Timestamp) -> Result<[u8; 16], custodian_crypto::CryptoError> {
    let millis = u64::try_from(now.as_millisecond()).unwrap_or(0);
    let mut id = random_bytes::<16>()?;
    let (time, _) = id.split_at_mut(6);
    time.copy_from_slice(millis.to_be_bytes().get(2..).unwrap_or_default());
    Ok(id)
}

opaque_id!(
    /// A data subject: a customer (or, later, a guest).
    CustomerId,
    "cus_"
);
opaque_id!(
    /// One earlier value of a corrected field.
    HistoryId,
    "hst_"
);
opaque_id!(
    /// A member of staff who signs in.
    UserId,
    "usr_"
);
opaque_id!(
    /// An integration's API token (the id names it; the token itself is never kept).
    TokenId,
    "tok_"
);
opaque_id!(
    /// A care session: one agent, one customer, one verification code.
    CareSessionId,
    "csn_"
);
opaque_id!(
    /// One change of one consent: an entry of the customer's consent history, and the id of
    /// its receipt.
    ConsentId,
    "cnr_"
);
opaque_id!(
    /// An order, of a customer or a guest.
    OrderId,
    "ord_"
);
opaque_id!(
    /// A message to a partner in the transactional outbox (and, once delivered, the id of its
    /// entry in the customer's disclosure ledger). Never sent to the partner.
    OutboxId,
    "obx_"
);

opaque_id!(
    /// A request from an authority for a legal disclosure.
    LegalRequestId,
    "lgl_"
);
opaque_id!(
    /// A data subject's request (to see, take, correct, erase, withdraw, restrict, object).
    RequestId,
    "req_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_random_and_parse_back() {
        let now = jiff::Timestamp::from_millisecond(1_764_000_000_000).unwrap();
        let a = CustomerId::generate(now).unwrap();
        let b = CustomerId::generate(now).unwrap();
        assert_ne!(a, b, "the same millisecond still gives distinct ids");
        assert!(a.as_str().starts_with("cus_"));
        assert_eq!(CustomerId::parse(a.as_str()), Some(a.clone()));
        for bad in [
            "",
            "cus_",
            "cus_XYZ",
            "hst_0123456789abcdef0123456789abcdef",
            "cus_0123456789ABCDEF0123456789abcdef",
            "1",
        ] {
            assert_eq!(CustomerId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids_sort_by_creation_time_and_start_with_it() {
        let earlier = jiff::Timestamp::from_millisecond(1_764_000_000_000).unwrap();
        let later = jiff::Timestamp::from_millisecond(1_764_000_000_001).unwrap();
        for _ in 0..100 {
            let a = HistoryId::generate(earlier).unwrap();
            let b = HistoryId::generate(later).unwrap();
            assert!(a < b, "{a} sorts before {b}");
        }
        let id = CustomerId::generate(earlier).unwrap();
        assert_eq!(
            &id.as_str()[4..16],
            format!("{:012x}", 1_764_000_000_000_u64)
        );
        let before_epoch = jiff::Timestamp::from_millisecond(-5).unwrap();
        assert!(
            CustomerId::generate(before_epoch)
                .unwrap()
                .as_str()
                .starts_with("cus_000000000000")
        );
    }
}
