//! Customers' data keys, and the blind indexes of their emails and phones, in a SQLite
//! database of their own, kept in the key directory and never in the data database: a backup
//! of the data then holds no key and no index, and destroying a key here (its indexes with
//! it) erases its customer everywhere at once.

use async_trait::async_trait;
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, QueryBuilder, Row, Sqlite, SqlitePool};

use custodian_core::StoreError;
use custodian_core::ids::CustomerId;
use custodian_core::rights::erasure::StoredHoldKey;
use custodian_core::vault::{BlindIndex, KeyStore, StoredKey};
use custodian_crypto::WrappedKey;

use super::{connect_options, database, end_transaction, migration, open_pool, truncate_wal};
use crate::blind_index::{DESTROY, FIND, PRUNE, PRUNE_ALL, PUT, REMOVE, found_row};
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
    /// A new key, with the blind indexes of its customer's first values.
    Put(StoredKey, Vec<BlindIndex>),
    /// A key and every blind index of its customer.
    Destroy(CustomerId),
    PutIndexes(Vec<BlindIndex>),
    PruneIndexes {
        customer: CustomerId,
        kind: String,
        keep: Option<[u8; 32]>,
    },
    RemoveIndex {
        customer: CustomerId,
        kind: String,
        sealed_digest: [u8; 32],
    },
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
            migration(
                3,
                "blind indexes",
                include_str!("../../migrations/sqlite-keys/0003_blind_indexes.sql"),
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
        // Also when the key was already gone: its customer's indexes may have gone now.
        let destroyed = batch
            .iter()
            .any(|op| matches!(op, KeyOp::Destroy(_) | KeyOp::DestroyHold(..)));
        if destroyed {
            truncate_key_wal(&mut self.conn).await?;
        }
        Ok(changed)
    }
}

/// New keys go in with one statement per batch (a burst of sign-ups is the common case), then
/// the indexes of those inserted; the other changes follow one by one, in order.
async fn apply_key_ops(
    conn: &mut SqliteConnection,
    batch: &[KeyOp],
) -> Result<Vec<bool>, StoreError> {
    let puts: Vec<&StoredKey> = batch
        .iter()
        .filter_map(|op| match op {
            KeyOp::Put(key, _) => Some(key),
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
            KeyOp::Put(key, indexes) => {
                let new = inserted.iter().any(|id| id == key.customer.as_str());
                // Not under a key that was there before: that would be someone else's.
                if new {
                    put_indexes(conn, indexes).await?;
                }
                new
            }
            other => apply_key_op(conn, other).await?,
        });
    }
    Ok(changed)
}

async fn put_indexes(
    conn: &mut SqliteConnection,
    indexes: &[BlindIndex],
) -> Result<(), StoreError> {
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

/// Folds the write-ahead log into the database (where `secure_delete` zeroed the destroyed
/// keys and indexes) and truncates it: until then the log still holds the pages as they were
/// before the delete. If a reader keeps it from finishing, the next destruction will.
async fn truncate_key_wal(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    if !truncate_wal(conn).await? {
        tracing::warn!(
            "the key store's write-ahead log could not be truncated yet; destroyed keys linger in it until the next checkpoint"
        );
    }
    Ok(())
}

async fn apply_key_op(conn: &mut SqliteConnection, op: &KeyOp) -> Result<bool, StoreError> {
    let done = match op {
        // New keys go in together, in `apply_key_ops`.
        KeyOp::Put(..) => return Ok(false),
        KeyOp::Destroy(customer) => {
            sqlx::query(DESTROY)
                .bind(customer.as_str())
                .execute(&mut *conn)
                .await
                .map_err(database)?;
            sqlx::query("DELETE FROM data_keys WHERE customer_id = ?")
                .bind(customer.as_str())
                .execute(&mut *conn)
                .await
        }
        KeyOp::PutIndexes(indexes) => {
            put_indexes(conn, indexes).await?;
            return Ok(true);
        }
        KeyOp::PruneIndexes {
            customer,
            kind,
            keep: Some(keep),
        } => {
            sqlx::query(PRUNE)
                .bind(customer.as_str())
                .bind(kind)
                .bind(keep.to_vec())
                .execute(&mut *conn)
                .await
        }
        KeyOp::PruneIndexes {
            customer,
            kind,
            keep: None,
        } => {
            sqlx::query(PRUNE_ALL)
                .bind(customer.as_str())
                .bind(kind)
                .execute(&mut *conn)
                .await
        }
        KeyOp::RemoveIndex {
            customer,
            kind,
            sealed_digest,
        } => {
            sqlx::query(REMOVE)
                .bind(customer.as_str())
                .bind(kind)
                .bind(sealed_digest.to_vec())
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
    async fn put(&self, key: &StoredKey, indexes: &[BlindIndex]) -> Result<(), StoreError> {
        if self
            .writer
            .submit(KeyOp::Put(key.clone(), indexes.to_vec()))
            .await?
        {
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

    async fn put_indexes(&self, indexes: &[BlindIndex]) -> Result<(), StoreError> {
        if indexes.is_empty() {
            return Ok(());
        }
        self.writer
            .submit(KeyOp::PutIndexes(indexes.to_vec()))
            .await
            .map(|_| ())
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
        let op = KeyOp::PruneIndexes {
            customer: customer.clone(),
            kind: kind.to_owned(),
            keep: keep.copied(),
        };
        self.writer.submit(op).await.map(|_| ())
    }

    async fn remove_index(
        &self,
        customer: &CustomerId,
        kind: &str,
        sealed_digest: &[u8; 32],
    ) -> Result<(), StoreError> {
        let op = KeyOp::RemoveIndex {
            customer: customer.clone(),
            kind: kind.to_owned(),
            sealed_digest: *sealed_digest,
        };
        self.writer.submit(op).await.map(|_| ())
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
