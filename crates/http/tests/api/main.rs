//! The HTTP API, driven in-process against a fresh SQLite store per test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod access_explain;
mod card_guard;
mod care;
mod centre;
mod choices;
mod consents;
mod customer_access;
mod customer_errors;
mod customers;
mod erasure;
mod errors;
mod exports;
mod health;
mod helpers;
// Every consent receipt checked against the Kantara v1.1 schema: the one helper, in the core.
#[path = "../../../core/tests/kantara/mod.rs"]
mod kantara;
mod legal;
mod matrix;
mod no_echo;
mod orders;
mod outbox;
mod policy;
mod privacy;
mod requests;
mod rights;
mod security;
mod staff;
mod storefront;
