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
mod legal;
mod matrix;
mod orders;
mod outbox;
mod policy;
mod privacy;
mod requests;
mod rights;
mod security;
mod staff;
mod storefront;
