//! Custodian's domain and use cases.
//!
//! Architecture invariant: no HTTP and no SQL here. Storage is reached through the ports
//! (traits) this crate defines, implemented in `custodian-store`; time through [`clock::Clock`].

pub mod clock;
pub mod error;
pub mod health;
pub mod notice;
mod store_error;

pub use store_error::StoreError;
