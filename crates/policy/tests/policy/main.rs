//! The policy as code, from outside: parsing and validation with their diagnostics
//! (`validation`), the notice and its snapshots (`notice`), its version (`version`), the
//! record of processing and the data-flow diagram (`records`), what a form may ask
//! (`choices`), and what a consent agrees to (`consent_terms`). One test binary, so the crate
//! links once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod choices;
mod consent_terms;
mod notice;
mod records;
mod validation;
mod version;
