//! Customers' data keys, and the blind indexes of their emails and phones, on PostgreSQL, for
//! several service instances that must all reach every key (a key directory on one machine
//! cannot serve them). Give it a database of its own, apart from the data: a backup of the
//! data then holds no key and no index.
//!
//! Erasure deletes the key's row and the customer's indexes in one transaction. PostgreSQL
//! has no `secure_delete`: the deleted rows' bytes stay in the tables' pages until vacuumed
//! and in the write-ahead log until it is recycled, so `destroy` vacuums both tables at once;
//! WAL archives and backups of this database keep the wrapped key, which stays unusable only
//! while its master-key version is retired, and the indexes.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Row};

use custodian_core::StoreError;
use custodian_core::ids::CustomerId;
use custodian_core::rights::erasure::StoredHoldKey;
use custodian_core::vault::{BlindIndex, KeyStore, StoredKey};
use custodian_crypto::WrappedKey;

use super::{ACQUIRE_TIMEOUT, MAX_CONNECTIONS, database, migration};
use crate::blind_index::{DESTROY, FIND, PRUNE, PRUNE_ALL, PUT, REMOVE, found_row};
use crate::rows::{stored_hold_key, stored_key, version};

/// The schema the key tables (and their migration history) live in.
const SCHEMA: &str = "custodian_keys";

/// The data-key store on PostgreSQL. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PgKeyStore {
    pool: PgPool,
}

impl PgKeyStore {
    /// Connects to the key database at a `postgres://` URL and applies pending migrations.
    pub async fn open(url: &str) -> Result<PgKeyStore, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|_| {
            StoreError::Database("the PostgreSQL URL is not a valid `postgres://` URL".into())
        })?;
        let mut conn = options.connect().await.map_err(database)?;
        // `CREATE SCHEMA IF NOT EXISTS` races with itself: instances starting at once take
        // turns under a transaction-scoped advisory lock.
        sqlx::raw_sql(
            "BEGIN; SELECT pg_advisory_xact_lock(7370212469083510001); \
             CREATE SCHEMA IF NOT EXISTS custodian_keys; COMMIT",
        )
        .execute(&mut conn)
        .await
        .map_err(database)?;
        conn.close().await.map_err(database)?;
        let options = options
            .options([("synchronous_commit", "on"), ("search_path", SCHEMA)])
            .application_name("custodian-keys");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(database)?;
        sqlx::migrate::Migrator::with_migrations(vec![
            migration(
                1,
                "data keys",
                include_str!("../../migrations/postgres-keys/0001_data_keys.sql"),
            ),
            migration(
                2,
                "hold keys",
                include_str!("../../migrations/postgres-keys/0002_hold_keys.sql"),
            ),
            migration(
                3,
                "blind indexes",
                include_str!("../../migrations/postgres-keys/0003_blind_indexes.sql"),
            ),
        ])
        .run(&pool)
        .await
        .map_err(|e| StoreError::Database(Box::new(e)))?;
        Ok(PgKeyStore { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Adds blind indexes to the transaction `conn` is in. Each customer's key is locked first
/// (`FOR SHARE`), so that a destruction running at the same time either comes after, and
/// deletes the rows with the key, or came before, and the rows are not added.
async fn put_indexes(conn: &mut PgConnection, indexes: &[BlindIndex]) -> Result<(), StoreError> {
    let mut customers: Vec<&str> = indexes.iter().map(|i| i.customer.as_str()).collect();
    customers.sort_unstable();
    customers.dedup();
    for customer in customers {
        sqlx::query("SELECT customer_id FROM data_keys WHERE customer_id = $1 FOR SHARE")
            .bind(customer)
            .fetch_optional(&mut *conn)
            .await
            .map_err(database)?;
    }
    for index in indexes {
        sqlx::query(PUT)
            .bind(index.customer.as_str())
            .bind(&index.kind)
            .bind(index.hash.to_vec())
            .bind(index.sealed_digest.to_vec())
            .execute(&mut *conn)
            .await
            .map_err(database)?;
    }
    Ok(())
}

#[async_trait]
impl KeyStore for PgKeyStore {
    async fn put(&self, key: &StoredKey, indexes: &[BlindIndex]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(database)?;
        sqlx::query(
            "INSERT INTO data_keys (customer_id, key_version, kek_version, wrapped_key) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(key.customer.as_str())
        .bind(i64::from(key.key_version))
        .bind(i64::from(key.wrapped.kek_version))
        .bind(&key.wrapped.bytes)
        .execute(&mut *tx)
        .await
        .map_err(database)?;
        put_indexes(&mut tx, indexes).await?;
        tx.commit().await.map_err(database)?;
        Ok(())
    }

    async fn get(&self, customer: &CustomerId) -> Result<Option<StoredKey>, StoreError> {
        sqlx::query(
            "SELECT customer_id, key_version, kek_version, wrapped_key FROM data_keys \
             WHERE customer_id = $1",
        )
        .bind(customer.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .as_ref()
        .map(stored_key)
        .transpose()
    }

    async fn destroy(&self, customer: &CustomerId) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(database)?;
        // The key first: its row lock makes a concurrent `put_indexes` wait, then add nothing.
        let done = sqlx::query("DELETE FROM data_keys WHERE customer_id = $1")
            .bind(customer.as_str())
            .execute(&mut *tx)
            .await
            .map_err(database)?;
        sqlx::query(DESTROY)
            .bind(customer.as_str())
            .execute(&mut *tx)
            .await
            .map_err(database)?;
        tx.commit().await.map_err(database)?;
        // Removes the dead row versions from the tables now rather than whenever autovacuum
        // comes by (see the module's note on what PostgreSQL still keeps).
        sqlx::query("VACUUM data_keys, blind_indexes")
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(done.rows_affected() > 0)
    }

    async fn put_indexes(&self, indexes: &[BlindIndex]) -> Result<(), StoreError> {
        if indexes.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(database)?;
        put_indexes(&mut tx, indexes).await?;
        tx.commit().await.map_err(database)
    }

    async fn find_index(
        &self,
        kind: &str,
        hash: &[u8; 32],
    ) -> Result<Vec<(CustomerId, [u8; 32])>, StoreError> {
        sqlx::query(FIND)
            .bind(kind)
            .bind(hash.to_vec())
            .fetch_all(&self.pool)
            .await
            .map_err(database)?
            .iter()
            .map(found_row)
            .collect()
    }

    async fn prune_indexes(
        &self,
        customer: &CustomerId,
        kind: &str,
        keep: Option<&[u8; 32]>,
    ) -> Result<(), StoreError> {
        let query = match keep {
            Some(keep) => sqlx::query(PRUNE)
                .bind(customer.as_str())
                .bind(kind)
                .bind(keep.to_vec()),
            None => sqlx::query(PRUNE_ALL).bind(customer.as_str()).bind(kind),
        };
        query.execute(&self.pool).await.map_err(database)?;
        Ok(())
    }

    async fn remove_index(
        &self,
        customer: &CustomerId,
        kind: &str,
        sealed_digest: &[u8; 32],
    ) -> Result<(), StoreError> {
        sqlx::query(REMOVE)
            .bind(customer.as_str())
            .bind(kind)
            .bind(sealed_digest.to_vec())
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(())
    }

    async fn rewrap(
        &self,
        customer: &CustomerId,
        from_kek_version: u32,
        wrapped: &WrappedKey,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE data_keys SET kek_version = $1, wrapped_key = $2 \
             WHERE customer_id = $3 AND kek_version = $4",
        )
        .bind(i64::from(wrapped.kek_version))
        .bind(&wrapped.bytes)
        .bind(customer.as_str())
        .bind(i64::from(from_kek_version))
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(done.rows_affected() > 0)
    }

    async fn keys_not_wrapped_under(
        &self,
        kek_version: u32,
        limit: u32,
    ) -> Result<Vec<StoredKey>, StoreError> {
        sqlx::query(
            "SELECT customer_id, key_version, kek_version, wrapped_key FROM data_keys \
             WHERE kek_version <> $1 ORDER BY customer_id LIMIT $2",
        )
        .bind(i64::from(kek_version))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(stored_key)
        .collect()
    }

    async fn put_hold_key(&self, key: &StoredHoldKey) -> Result<StoredHoldKey, StoreError> {
        sqlx::query(
            "INSERT INTO hold_keys (customer_id, hold_id, key_version, kek_version, wrapped_key) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(key.customer.as_str())
        .bind(&key.hold)
        .bind(i64::from(key.key_version))
        .bind(i64::from(key.wrapped.kek_version))
        .bind(&key.wrapped.bytes)
        .execute(&self.pool)
        .await
        .map_err(database)?;
        self.hold_key(&key.customer, &key.hold)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a hold key was not stored".into()))
    }

    async fn hold_key(
        &self,
        customer: &CustomerId,
        hold: &str,
    ) -> Result<Option<StoredHoldKey>, StoreError> {
        sqlx::query(
            "SELECT customer_id, hold_id, key_version, kek_version, wrapped_key FROM hold_keys \
             WHERE customer_id = $1 AND hold_id = $2",
        )
        .bind(customer.as_str())
        .bind(hold)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .as_ref()
        .map(stored_hold_key)
        .transpose()
    }

    async fn destroy_hold_key(
        &self,
        customer: &CustomerId,
        hold: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM hold_keys WHERE customer_id = $1 AND hold_id = $2")
            .bind(customer.as_str())
            .bind(hold)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        sqlx::query("VACUUM hold_keys")
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(done.rows_affected() > 0)
    }

    async fn hold_keys_not_wrapped_under(
        &self,
        kek_version: u32,
        limit: u32,
    ) -> Result<Vec<StoredHoldKey>, StoreError> {
        sqlx::query(
            "SELECT customer_id, hold_id, key_version, kek_version, wrapped_key FROM hold_keys \
             WHERE kek_version <> $1 ORDER BY customer_id, hold_id LIMIT $2",
        )
        .bind(i64::from(kek_version))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(stored_hold_key)
        .collect()
    }

    async fn rewrap_hold_key(
        &self,
        customer: &CustomerId,
        hold: &str,
        from_kek_version: u32,
        wrapped: &WrappedKey,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE hold_keys SET kek_version = $1, wrapped_key = $2 \
             WHERE customer_id = $3 AND hold_id = $4 AND kek_version = $5",
        )
        .bind(i64::from(wrapped.kek_version))
        .bind(&wrapped.bytes)
        .bind(customer.as_str())
        .bind(hold)
        .bind(i64::from(from_kek_version))
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(done.rows_affected() > 0)
    }

    async fn key_versions(&self) -> Result<Vec<(u32, u64)>, StoreError> {
        sqlx::query(
            "SELECT kek_version, COUNT(*) AS n FROM data_keys \
             GROUP BY kek_version ORDER BY kek_version",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(|row| {
            let n: i64 = row.try_get("n").map_err(database)?;
            let n = u64::try_from(n).map_err(|_| StoreError::Corrupt("bad key count".into()))?;
            Ok((version(row, "kek_version")?, n))
        })
        .collect()
    }
}
