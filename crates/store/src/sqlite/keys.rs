//! Customers' data keys in a SQLite database of their own, kept in the key directory and
//! never in the data database: a backup of the data then holds no key, and destroying a key
//! here erases its customer everywhere at once.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use custodian_core::StoreError;
use custodian_core::ids::CustomerId;
use custodian_core::vault::{KeyStore, StoredKey};
use custodian_crypto::WrappedKey;

use super::{connect_options, database, migration, open_pool};

#[derive(Debug, Clone)]
pub struct SqliteKeyStore {
    pool: SqlitePool,
}

impl SqliteKeyStore {
    /// Opens (creating it if missing) the key database at `path`.
    pub async fn open(path: &str) -> Result<SqliteKeyStore, StoreError> {
        // Deleted keys are overwritten with zeros, not left in free pages.
        let options = connect_options(path)?.pragma("secure_delete", "ON");
        let migrator = sqlx::migrate::Migrator::with_migrations(vec![migration(
            1,
            "data keys",
            include_str!("../../migrations/sqlite-keys/0001_data_keys.sql"),
        )]);
        Ok(SqliteKeyStore {
            pool: open_pool(&options, &migrator).await?,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl KeyStore for SqliteKeyStore {
    async fn put(&self, key: &StoredKey) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO data_keys (customer_id, key_version, kek_version, wrapped_key) VALUES (?, ?, ?, ?)")
            .bind(key.customer.as_str())
            .bind(i64::from(key.key_version))
            .bind(i64::from(key.wrapped.kek_version))
            .bind(&key.wrapped.bytes)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(())
    }

    async fn get(&self, customer: &CustomerId) -> Result<Option<StoredKey>, StoreError> {
        sqlx::query("SELECT customer_id, key_version, kek_version, wrapped_key FROM data_keys WHERE customer_id = ?")
            .bind(customer.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(database)?
            .as_ref()
            .map(stored_key)
            .transpose()
    }

    async fn destroy(&self, customer: &CustomerId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM data_keys WHERE customer_id = ?")
            .bind(customer.as_str())
            .execute(&self.pool)
            .await
            .map_err(database)?;
        // The write-ahead log still holds the page as it was before the delete: fold it into
        // the database (where secure_delete zeroed the row) and truncate it.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(done.rows_affected() > 0)
    }

    async fn rewrap(
        &self,
        customer: &CustomerId,
        from_kek_version: u32,
        wrapped: &WrappedKey,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE data_keys SET kek_version = ?, wrapped_key = ? WHERE customer_id = ? AND kek_version = ?",
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
             WHERE kek_version <> ? ORDER BY customer_id LIMIT ?",
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

    async fn key_versions(&self) -> Result<Vec<(u32, u64)>, StoreError> {
        sqlx::query("SELECT kek_version, COUNT(*) AS n FROM data_keys GROUP BY kek_version ORDER BY kek_version")
            .fetch_all(&self.pool)
            .await
            .map_err(database)?
            .iter()
            .map(|row| {
                let n: i64 = row.try_get("n").map_err(database)?;
                Ok((number(row, "kek_version")?, u64::try_from(n).unwrap_or_default()))
            })
            .collect()
    }
}

fn stored_key(row: &SqliteRow) -> Result<StoredKey, StoreError> {
    let id: String = row.try_get("customer_id").map_err(database)?;
    Ok(StoredKey {
        customer: CustomerId::parse(&id)
            .ok_or_else(|| StoreError::Corrupt("bad customer id".into()))?,
        key_version: number(row, "key_version")?,
        wrapped: WrappedKey {
            kek_version: number(row, "kek_version")?,
            bytes: row.try_get("wrapped_key").map_err(database)?,
        },
    })
}

fn number(row: &SqliteRow, column: &str) -> Result<u32, StoreError> {
    let v: i64 = row.try_get(column).map_err(database)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("bad number in `{column}`")))
}
