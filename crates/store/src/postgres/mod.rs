//! The PostgreSQL backend, for production and for several service instances sharing one
//! database. It behaves exactly as the SQLite backend does (the conformance suite under
//! `tests/conformance/` runs against both, and `tests/conformance/postgres.rs` tests what
//! only PostgreSQL has); what differs is how it gets there:
//!
//! - durability: `synchronous_commit = on` is set on every connection, whatever the server's
//!   default, so a commit is acknowledged only once its WAL record is flushed;
//! - the audit chain across processes: every commit batch locks the one-row `audit_head`
//!   table first (see `vault.rs`), where SQLite uses `BEGIN IMMEDIATE`;
//! - migrations: sqlx takes an advisory lock while applying them, so instances starting at
//!   once apply each migration exactly once.

mod care;
mod codes;
mod erasure;
mod exports;
mod identity;
mod keys;
mod legal;
mod notice;
mod outbox;
mod requests;
mod vault;

pub use care::PgCare;
pub use exports::PgExports;
pub use identity::PgIdentity;
pub use keys::PgKeyStore;
pub use legal::PgLegal;
pub use requests::PgRequests;
pub use vault::PgVault;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use custodian_core::StoreError;
use custodian_core::vault::KeyStore;

use crate::rows::database;
use custodian_core::health::Health;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

/// Reads run through the pool beside the one writer connection; PostgreSQL serves them
/// concurrently, and a modest pool keeps several instances within the server's limit.
const MAX_CONNECTIONS: u32 = 8;
/// How long a caller waits for a pooled connection before the request fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A PostgreSQL database holding everything Custodian stores.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Kept to open (and re-open) the vault's dedicated writer connection.
    options: PgConnectOptions,
}

impl PgStore {
    /// Connects to the database at a `postgres://` (or `postgresql://`) URL and applies
    /// pending migrations. The database itself must exist.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        // The URL may hold a password: the error names neither.
        let options = PgConnectOptions::from_str(url).map_err(|_| {
            StoreError::Database("the PostgreSQL URL is not a valid `postgres://` URL".into())
        })?;
        let options = options
            // Acknowledged means durable, even on a server configured otherwise.
            .options([("synchronous_commit", "on")])
            .application_name("custodian");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(database)?;
        migrator()
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        Ok(PgStore { pool, options })
    }

    /// Closes every pooled connection, waiting for those in use to be returned. A vault's
    /// writer connection closes when the last handle to that vault is dropped.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Moves the blind indexes that versions before the key store held them kept in this
    /// database (table `blind_indexes`) into `keys`, each with the digest of its customer's
    /// current sealed value (none for an erased customer), then drops the table: from then on
    /// the data database holds no blind index. Call it once the key store is open and before
    /// serving. Idempotent, safe to repeat after a crash, and nearly free once done (the table
    /// is gone); instances starting at once take turns under an advisory lock. The dropped
    /// table's files are removed; its rows stay in the write-ahead log and in its archives
    /// until they age out. Returns how many rows the table held.
    pub async fn move_blind_indexes(&self, keys: &dyn KeyStore) -> Result<u64, StoreError> {
        if !has_legacy_indexes(&self.pool).await? {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await.map_err(database)?;
        sqlx::query("SELECT pg_advisory_xact_lock(7370212469083510002)")
            .execute(&mut *tx)
            .await
            .map_err(database)?;
        // Again under the lock: another instance may have moved them meanwhile.
        let moved = if has_legacy_indexes(&mut *tx).await? {
            crate::blind_index::move_legacy::<sqlx::Postgres>(&mut *tx, keys).await?
        } else {
            0
        };
        tx.commit().await.map_err(database)?;
        if moved > 0 {
            tracing::info!(rows = moved, "blind indexes moved to the key store");
        }
        Ok(moved)
    }
}

/// Whether the data database still has the table of blind indexes older versions kept there.
async fn has_legacy_indexes<'c, E>(executor: E) -> Result<bool, StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Postgres>,
{
    // A query of the catalogue under the statement's own snapshot: `to_regclass` reads a
    // cached catalogue that may not yet show another instance's drop of the table, even
    // after its transaction committed and released the lock this one now holds.
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables \
         WHERE schemaname = current_schema() AND tablename = 'blind_indexes')",
    )
    .fetch_one(executor)
    .await
    .map_err(database)
}

#[async_trait]
impl Health for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(())
    }
}

/// The migrations, embedded in the binary. Built with `Migrator::with_migrations` rather
/// than `sqlx::migrate!` so the build needs no sqlx proc-macros (compile time on small
/// machines); versions and checksums match what `migrate!` would produce.
fn migrator() -> Migrator {
    Migrator::with_migrations(vec![
        migration(
            1,
            "notice versions",
            include_str!("../../migrations/postgres/0001_notice_versions.sql"),
        ),
        migration(
            2,
            "vault",
            include_str!("../../migrations/postgres/0002_vault.sql"),
        ),
        migration(
            3,
            "identity",
            include_str!("../../migrations/postgres/0003_identity.sql"),
        ),
        migration(
            4,
            "care",
            include_str!("../../migrations/postgres/0004_care.sql"),
        ),
        migration(
            5,
            "consent",
            include_str!("../../migrations/postgres/0005_consent.sql"),
        ),
        migration(
            6,
            "orders",
            include_str!("../../migrations/postgres/0006_orders.sql"),
        ),
        migration(
            7,
            "outbox",
            include_str!("../../migrations/postgres/0007_outbox.sql"),
        ),
        migration(
            8,
            "legal",
            include_str!("../../migrations/postgres/0008_legal.sql"),
        ),
        migration(
            9,
            "requests",
            include_str!("../../migrations/postgres/0009_requests.sql"),
        ),
        migration(
            10,
            "exports",
            include_str!("../../migrations/postgres/0010_exports.sql"),
        ),
        migration(
            11,
            "erasure",
            include_str!("../../migrations/postgres/0011_erasure.sql"),
        ),
        migration(
            12,
            "limits",
            include_str!("../../migrations/postgres/0012_limits.sql"),
        ),
    ])
}

fn migration(version: i64, description: &'static str, sql: &'static str) -> Migration {
    Migration::new(
        version,
        description.into(),
        MigrationType::Simple,
        sql.into_sql_str(),
        false,
    )
}
