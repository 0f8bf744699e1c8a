//! Custodian's storage: implementations of the ports declared in `custodian-core`.
//!
//! One module per database, each with its own migrations under `migrations/<database>/`.
//! SQLite is the default; a `postgres` module will sit beside it and pass the same tests.
//!
//! Opening a deployment: the data store, then the key store, then
//! `move_blind_indexes` on the data store (`SqliteStore`, `PgStore`), which moves the blind
//! indexes older versions kept with the data into the key store, before anything is served.

mod blind_index;
pub mod postgres;
mod rows;
pub mod sqlite;
mod writer;

pub use postgres::{
    PgCare, PgExports, PgIdentity, PgKeyStore, PgLegal, PgRequests, PgStore, PgVault,
};
pub use sqlite::{
    SqliteCare, SqliteExports, SqliteIdentity, SqliteKeyStore, SqliteLegal, SqliteRequests,
    SqliteStore, SqliteVault,
};
