//! Custodian's domain and use cases.
//!
//! Architecture invariant: no HTTP and no SQL here. Personal values in the clear exist
//! only inside this crate ([`personal`]); they leave it only as access-decided disclosures.
//! Storage is reached through the ports
//! (traits) this crate defines, implemented in `custodian-store`; time through [`clock::Clock`].

pub mod access;
pub mod audit;
pub mod card;
pub mod care;
pub mod clock;
pub mod consent;
pub mod error;
pub mod health;
pub mod identity;
pub mod ids;
pub mod legal;
pub mod notice;
pub mod notify;
pub mod orders;
pub mod outbox;
mod personal;
pub mod rights;
mod store_error;
pub mod text;
pub mod vault;

pub use store_error::StoreError;
