//! The conformance suite of the storage ports: the same cases against every backend, so that
//! SQLite and PostgreSQL cannot drift apart. `suite.rs` holds the cases; each backend module
//! instantiates them with `conformance_tests!` and a constructor.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr,
    reason = "tests fail loudly"
)]

#[macro_use]
mod suite;
// Every consent receipt checked against the Kantara v1.1 schema: the one helper, in the core.
mod care;
mod consent;
mod erasure;
mod exports;
mod indexes;
#[path = "../../../core/tests/kantara/mod.rs"]
mod kantara;
mod legal;
mod matrix;
mod orders;
mod outbox;
mod postgres;
mod requests;
mod sqlite;
