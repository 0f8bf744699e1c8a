//! The core from outside: access decisions against a plain reading of the policy (`access`),
//! and consent receipts against the Kantara Consent Receipt v1.1 schema (`kantara_receipts`).
//! One test binary, so the crate links once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod access;
// Shared with the HTTP and store tests, which include it by path too.
#[path = "../kantara/mod.rs"]
mod kantara;
mod kantara_receipts;
