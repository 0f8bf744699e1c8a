//! The embedded SQLite backend.

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

pub use care::SqliteCare;
pub use exports::SqliteExports;
pub use identity::SqliteIdentity;
pub use keys::SqliteKeyStore;
pub use legal::SqliteLegal;
pub use requests::SqliteRequests;
pub use vault::SqliteVault;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use custodian_core::StoreError;
use custodian_core::vault::KeyStore;
use sqlx::Connection;

use crate::rows::database;
use custodian_core::health::Health;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite serialises writers anyway; a few connections let reads proceed beside a write.
const MAX_CONNECTIONS: u32 = 4;

/// A SQLite database holding everything Custodian stores.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Kept to open the vault's dedicated writer connection.
    options: SqliteConnectOptions,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at a `sqlite://...` URL or a file path,
    /// and applies pending migrations.
    pub async fn open(url_or_path: &str) -> Result<SqliteStore, StoreError> {
        let options = connect_options(url_or_path)?;
        let pool = open_pool(&options, &migrator()).await?;
        Ok(SqliteStore { pool, options })
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Moves the blind indexes that versions before the key store held them kept in this
    /// database (table `blind_indexes`) into `keys`, each with the digest of its customer's
    /// current sealed value (none for an erased customer), then drops the table: from then on
    /// the data database holds no blind index. Call it once the key store is open and before
    /// serving. Idempotent, safe to repeat after a crash, and nearly free once done (the table
    /// is gone). The deleting connection has `secure_delete` on and the write-ahead log is
    /// truncated afterwards, so the hashes do not linger in free pages. Returns how many rows
    /// the table held.
    pub async fn move_blind_indexes(&self, keys: &dyn KeyStore) -> Result<u64, StoreError> {
        if !has_legacy_indexes(&self.pool).await? {
            return Ok(0);
        }
        let options = self.options.clone().pragma("secure_delete", "ON");
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .map_err(database)?;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .map_err(database)?;
        // Again under the write lock: another process may have moved them meanwhile.
        let outcome = match has_legacy_indexes(&mut conn).await {
            Ok(true) => crate::blind_index::move_legacy::<sqlx::Sqlite>(&mut conn, keys).await,
            Ok(false) => Ok(0),
            Err(e) => Err(e),
        };
        let moved = end_transaction(&mut conn, outcome).await?;
        if !truncate_wal(&mut conn).await? {
            tracing::warn!(
                "the data database's write-ahead log could not be truncated yet; the moved blind indexes linger in it until the next checkpoint"
            );
        }
        conn.close().await.map_err(database)?;
        if moved > 0 {
            tracing::info!(rows = moved, "blind indexes moved to the key store");
        }
        Ok(moved)
    }
}

/// Whether the data database still has the table of blind indexes older versions kept there.
async fn has_legacy_indexes<'c, E>(executor: E) -> Result<bool, StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
{
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'blind_indexes'",
    )
    .fetch_optional(executor)
    .await
    .map_err(database)?;
    Ok(found.is_some())
}

#[async_trait]
impl Health for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(())
    }
}

/// Options shared by every SQLite database Custodian opens.
fn connect_options(url_or_path: &str) -> Result<SqliteConnectOptions, StoreError> {
    let options = if url_or_path.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url_or_path).map_err(database)?
    } else {
        SqliteConnectOptions::new().filename(url_or_path)
    };
    Ok(options
        .create_if_missing(true)
        // WAL lets readers run beside the writer; FULL makes every commit durable before
        // it is acknowledged.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT))
}

async fn open_pool(
    options: &SqliteConnectOptions,
    migrator: &Migrator,
) -> Result<SqlitePool, StoreError> {
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options.clone())
        .await
        .map_err(database)?;
    migrator
        .run(&pool)
        .await
        .map_err(|e| StoreError::Database(Box::new(e)))?;
    Ok(pool)
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

/// The migrations, embedded in the binary. Built with `Migrator::with_migrations` rather
/// than `sqlx::migrate!` so the build needs no sqlx proc-macros (compile time on small
/// machines); versions and checksums match what `migrate!` would produce.
fn migrator() -> Migrator {
    Migrator::with_migrations(vec![
        migration(
            1,
            "notice versions",
            include_str!("../../migrations/sqlite/0001_notice_versions.sql"),
        ),
        migration(
            2,
            "vault",
            include_str!("../../migrations/sqlite/0002_vault.sql"),
        ),
        migration(
            3,
            "identity",
            include_str!("../../migrations/sqlite/0003_identity.sql"),
        ),
        migration(
            4,
            "care",
            include_str!("../../migrations/sqlite/0004_care.sql"),
        ),
        migration(
            5,
            "consent",
            include_str!("../../migrations/sqlite/0005_consent.sql"),
        ),
        migration(
            6,
            "orders",
            include_str!("../../migrations/sqlite/0006_orders.sql"),
        ),
        migration(
            7,
            "outbox",
            include_str!("../../migrations/sqlite/0007_outbox.sql"),
        ),
        migration(
            8,
            "legal",
            include_str!("../../migrations/sqlite/0008_legal.sql"),
        ),
        migration(
            9,
            "requests",
            include_str!("../../migrations/sqlite/0009_requests.sql"),
        ),
        migration(
            10,
            "exports",
            include_str!("../../migrations/sqlite/0010_exports.sql"),
        ),
        migration(
            11,
            "erasure",
            include_str!("../../migrations/sqlite/0011_erasure.sql"),
        ),
        migration(
            12,
            "limits",
            include_str!("../../migrations/sqlite/0012_limits.sql"),
        ),
    ])
}

/// Ends a transaction opened with `BEGIN IMMEDIATE`: commits on success, rolls back
/// otherwise — also when the commit itself fails, so the connection never stays inside a
/// transaction and every later batch fails with it.
async fn end_transaction<T>(
    conn: &mut sqlx::SqliteConnection,
    outcome: Result<T, StoreError>,
) -> Result<T, StoreError> {
    let outcome = match outcome {
        Ok(value) => sqlx::query("COMMIT")
            .execute(&mut *conn)
            .await
            .map(|_| value)
            .map_err(database),
        Err(e) => Err(e),
    };
    if outcome.is_err() {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    }
    outcome
}

/// Folds the write-ahead log into the database and truncates it, so that the log no longer
/// holds pages as they were before a delete. A reader can keep the checkpoint from finishing,
/// so it is retried for half a second; returns whether it finished.
async fn truncate_wal(conn: &mut sqlx::SqliteConnection) -> Result<bool, StoreError> {
    for _ in 0..20 {
        let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *conn)
            .await
            .map_err(database)?;
        let busy: i64 = sqlx::Row::try_get(&row, 0).map_err(database)?;
        if busy == 0 {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(false)
}

#[cfg(test)]
mod tests;
