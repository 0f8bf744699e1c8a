//! Pending one-time codes: a customer's sign-in code, the code that verifies a request.
//! Each kind has its own table keyed by what it is for; the statements are the same: a new code
//! replaces the pending one, an attempt is counted before the code is compared, and a code is
//! taken once.

use custodian_core::StoreError;
use jiff::Timestamp;
use sqlx::sqlite::{SqlitePool, SqliteRow};

use crate::rows::{count, database};

/// A table of pending codes: `<key>, code_digest, attempts, expires_at`.
pub(super) struct CodeTable {
    table: &'static str,
    key: &'static str,
}

/// Customers' sign-in codes, one per customer.
pub(super) const CUSTOMER_CODES: CodeTable = CodeTable {
    table: "customer_codes",
    key: "customer_id",
};

/// Codes verifying data subjects' requests, one per request.
pub(super) const REQUEST_CODES: CodeTable = CodeTable {
    table: "request_codes",
    key: "request_id",
};

impl CodeTable {
    /// Keeps a code for `key`, replacing any pending one, with the attempts already counted
    /// against `key` (0 for a fresh start).
    pub(super) async fn put(
        &self,
        pool: &SqlitePool,
        key: &str,
        digest: &[u8; 32],
        attempts: u32,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let CodeTable { table, key: column } = self;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} ({column}, code_digest, attempts, expires_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT ({column}) DO UPDATE SET \
             code_digest = excluded.code_digest, attempts = excluded.attempts, \
             expires_at = excluded.expires_at"
        )))
        .bind(key)
        .bind(digest.as_slice())
        .bind(i64::from(attempts))
        .bind(expires_at.to_string())
        .execute(pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    /// The pending code of `key`, read by `row`.
    pub(super) async fn get<T>(
        &self,
        pool: &SqlitePool,
        key: &str,
        row: fn(&SqliteRow) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let CodeTable { table, key: column } = self;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {column}, code_digest, attempts, expires_at FROM {table} \
             WHERE {column} = ?"
        )))
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(database)?
        .as_ref()
        .map(row)
        .transpose()
    }

    /// Counts an attempt, up to `max`: the new count, or `None` once they are spent.
    pub(super) async fn count_attempt(
        &self,
        pool: &SqlitePool,
        key: &str,
        max: u32,
    ) -> Result<Option<u32>, StoreError> {
        let CodeTable { table, key: column } = self;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET attempts = attempts + 1 \
             WHERE {column} = ? AND attempts < ? RETURNING attempts"
        )))
        .bind(key)
        .bind(i64::from(max))
        .fetch_optional(pool)
        .await
        .map_err(database)?
        .map(|row| count(&row, "attempts"))
        .transpose()
    }

    /// Takes the code: true only for the first caller with this digest.
    pub(super) async fn take(
        &self,
        pool: &SqlitePool,
        key: &str,
        digest: &[u8; 32],
    ) -> Result<bool, StoreError> {
        let CodeTable { table, key: column } = self;
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE {column} = ? AND code_digest = ?"
        )))
        .bind(key)
        .bind(digest.as_slice())
        .execute(pool)
        .await
        .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }
}
