//! Customers' data keys in a SQLite database of their own, kept in the key directory and
//! never in the data database: a backup of the data then holds no key, and destroying a key
//! here erases its customer everywhere at once.

use async_trait::async_trait;
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, QueryBuilder, Row, Sqlite, SqlitePool};

use custodian_core::StoreError;
use custodian_core::ids::CustomerId;
use custodian_core::rights::erasure::StoredHoldKey;
use custodian_core::vault::{KeyStore, StoredKey};
use custodian_crypto::WrappedKey;

use super::{connect_options, database, end_transaction, migration, open_pool};
use crate::rows::{stored_hold_key, stored_key, version};
use crate::writer::{BatchBackend, BatchWriter};

#[derive(Debug, Clone)]
pub struct SqliteKeyStore {
    pool: SqlitePool,
    /// Writes are group-committed like the vault's: a burst of new customers shares one sync.
    writer: BatchWriter<KeyOp, bool>,
}

/// A change to the key store. Each reports whether it changed a row.
#[derive(Debug)]
enum KeyOp {
    Put(StoredKey),
    Destroy(CustomerId),
    Rewrap {
        customer: CustomerId,
        from_kek_version: u32,
        wrapped: WrappedKey,
    },
    PutHold(StoredHoldKey),
    DestroyHold(CustomerId, String),
    RewrapHold {
        customer: CustomerId,
        hold: String,
        from_kek_version: u32,
        wrapped: WrappedKey,
    },
}

impl SqliteKeyStore {
    /// Opens (creating it if missing) the key database at `path`.
    pub async fn open(path: &str) -> Result<SqliteKeyStore, StoreError> {
        // Deleted keys are overwritten with zeros, not left in free pages.
        let options = connect_options(path)?.pragma("secure_delete", "ON");
        let migrator = sqlx::migrate::Migrator::with_migrations(vec![
            migration(
                1,
                "data keys",
                include_str!("../../migrations/sqlite-keys/0001_data_keys.sql"),
            ),
            migration(
                2,
                "hold keys",
                include_str!("../../migrations/sqlite-keys/0002_hold_keys.sql"),
            ),
        ]);
        let pool = open_pool(&options, &migrator).await?;
        let conn = SqliteConnection::connect_with(&options)
            .await
            .map_err(database)?;
        let writer = BatchWriter::spawn(KeyWriter { conn });
        Ok(SqliteKeyStore { pool, writer })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

struct KeyWriter {
    conn: SqliteConnection,
}

#[async_trait]
impl BatchBackend for KeyWriter {
    type Op = KeyOp;
    type Done = bool;

    async fn apply(&mut self, batch: &[KeyOp]) -> Result<Vec<bool>, StoreError> {
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut self.conn)
            .await
            .map_err(database)?;
        let outcome = apply_key_ops(&mut self.conn, batch).await;
        let changed = end_transaction(&mut self.conn, outcome).await?;
        let destroyed = batch
            .iter()
            .zip(&changed)
            .any(|(op, c)| *c && matches!(op, KeyOp::Destroy(_) | KeyOp::DestroyHold(..)));
        if destroyed {
            truncate_wal(&mut self.conn).await?;
        }
        Ok(changed)
    }
}

/// New keys go in with one statement per batch (a burst of sign-ups is the common case);
/// the rare destroys and re-wraps follow one by one, in order.
async fn apply_key_ops(
    conn: &mut SqliteConnection,
    batch: &[KeyOp],
) -> Result<Vec<bool>, StoreError> {
    let puts: Vec<&StoredKey> = batch
        .iter()
        .filter_map(|op| match op {
            KeyOp::Put(key) => Some(key),
            _ => None,
        })
        .collect();
    let mut inserted: Vec<String> = Vec::new();
    for chunk in puts.chunks(500) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO data_keys (customer_id, key_version, kek_version, wrapped_key) ",
        );
        q.push_values(chunk, |mut row, key| {
            row.push_bind(key.customer.as_str().to_owned())
                .push_bind(i64::from(key.key_version))
                .push_bind(i64::from(key.wrapped.kek_version))
                .push_bind(key.wrapped.bytes.clone());
        });
        q.push(" ON CONFLICT DO NOTHING RETURNING customer_id");
        for row in q.build().fetch_all(&mut *conn).await.map_err(database)? {
            inserted.push(row.try_get("customer_id").map_err(database)?);
        }
    }
    let mut changed = Vec::with_capacity(batch.len());
    for op in batch {
        changed.push(match op {
            KeyOp::Put(key) => inserted.iter().any(|id| id == key.customer.as_str()),
            other => apply_key_op(conn, other).await?,
        });
    }
    Ok(changed)
}

/// Folds the write-ahead log into the database (where `secure_delete` zeroed the destroyed
/// keys) and truncates it: until then the log still holds the pages as they were before the
/// delete. A reader can keep the checkpoint from finishing, so it is retried; if it still
/// cannot finish, the next destruction (or the next start) will.
async fn truncate_wal(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    for _ in 0..20 {
        let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *conn)
            .await
            .map_err(database)?;
        let busy: i64 = row.try_get(0).map_err(database)?;
        if busy == 0 {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    tracing::warn!(
        "the key store's write-ahead log could not be truncated yet; destroyed keys linger in it until the next checkpoint"
    );
    Ok(())
}

async fn apply_key_op(conn: &mut SqliteConnection, op: &KeyOp) -> Result<bool, StoreError> {
    let done = match op {
        // New keys go in together, in `apply_key_ops`.
        KeyOp::Put(_) => return Ok(false),
        KeyOp::Destroy(customer) => {
            sqlx::query("DELETE FROM data_keys WHERE customer_id = ?")
                .bind(customer.as_str())
                .execute(&mut *conn)
                .await
        }
        KeyOp::Rewrap {
            customer,
            from_kek_version,
            wrapped,
        } => {
            sqlx::query(
                "UPDATE data_keys SET kek_version = ?, wrapped_key = ? \
             WHERE customer_id = ? AND kek_version = ?",
            )
            .bind(i64::from(wrapped.kek_version))
            .bind(&wrapped.bytes)
            .bind(customer.as_str())
            .bind(i64::from(*from_kek_version))
            .execute(&mut *conn)
            .await
        }
        KeyOp::PutHold(key) => {
            sqlx::query(
                "INSERT INTO hold_keys (customer_id, hold_id, key_version, kek_version, \
                 wrapped_key) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(key.customer.as_str())
            .bind(&key.hold)
            .bind(i64::from(key.key_version))
            .bind(i64::from(key.wrapped.kek_version))
            .bind(&key.wrapped.bytes)
            .execute(&mut *conn)
            .await
        }
        KeyOp::DestroyHold(customer, hold) => {
            sqlx::query("DELETE FROM hold_keys WHERE customer_id = ? AND hold_id = ?")
                .bind(customer.as_str())
                .bind(hold)
                .execute(&mut *conn)
                .await
        }
        KeyOp::RewrapHold {
            customer,
            hold,
            from_kek_version,
            wrapped,
        } => {
            sqlx::query(
                "UPDATE hold_keys SET kek_version = ?, wrapped_key = ? \
                 WHERE customer_id = ? AND hold_id = ? AND kek_version = ?",
            )
            .bind(i64::from(wrapped.kek_version))
            .bind(&wrapped.bytes)
            .bind(customer.as_str())
            .bind(hold)
            .bind(i64::from(*from_kek_version))
            .execute(&mut *conn)
            .await
        }
    };
    Ok(done.map_err(database)?.rows_affected() > 0)
}

#[async_trait]
impl KeyStore for SqliteKeyStore {
    async fn put(&self, key: &StoredKey) -> Result<(), StoreError> {
        if self.writer.submit(KeyOp::Put(key.clone())).await? {
            Ok(())
        } else {
            Err(StoreError::Corrupt(
                "a data key already exists for this customer".into(),
            ))
        }
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
        self.writer.submit(KeyOp::Destroy(customer.clone())).await
    }

    async fn rewrap(
        &self,
        customer: &CustomerId,
        from_kek_version: u32,
        wrapped: &WrappedKey,
    ) -> Result<bool, StoreError> {
        let op = KeyOp::Rewrap {
            customer: customer.clone(),
            from_kek_version,
            wrapped: wrapped.clone(),
        };
        self.writer.submit(op).await
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

    async fn put_hold_key(&self, key: &StoredHoldKey) -> Result<StoredHoldKey, StoreError> {
        self.writer.submit(KeyOp::PutHold(key.clone())).await?;
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
             WHERE customer_id = ? AND hold_id = ?",
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
        let op = KeyOp::DestroyHold(customer.clone(), hold.to_owned());
        self.writer.submit(op).await
    }

    async fn hold_keys_not_wrapped_under(
        &self,
        kek_version: u32,
        limit: u32,
    ) -> Result<Vec<StoredHoldKey>, StoreError> {
        sqlx::query(
            "SELECT customer_id, hold_id, key_version, kek_version, wrapped_key FROM hold_keys \
             WHERE kek_version <> ? ORDER BY customer_id, hold_id LIMIT ?",
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
        let op = KeyOp::RewrapHold {
            customer: customer.clone(),
            hold: hold.to_owned(),
            from_kek_version,
            wrapped: wrapped.clone(),
        };
        self.writer.submit(op).await
    }

    async fn key_versions(&self) -> Result<Vec<(u32, u64)>, StoreError> {
        sqlx::query("SELECT kek_version, COUNT(*) AS n FROM data_keys GROUP BY kek_version ORDER BY kek_version")
            .fetch_all(&self.pool)
            .await
            .map_err(database)?
            .iter()
            .map(|row| {
                let n: i64 = row.try_get("n").map_err(database)?;
                Ok((version(row, "kek_version")?, u64::try_from(n).unwrap_or_default()))
            })
            .collect()
    }
}
