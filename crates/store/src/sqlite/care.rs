//! Care sessions and customers' credentials in SQLite. Every statement runs on the pool,
//! whose connections commit with `synchronous = FULL`: a write is durable when the call
//! returns. Attempts are counted and codes consumed by single conditional statements, so
//! that concurrent requests, on one instance or several, cannot get past the limits.

use async_trait::async_trait;
use custodian_core::StoreError;
use custodian_core::care::{
    CareStore, StoredCareSession, StoredCustomerCode, StoredCustomerPassword, StoredCustomerSession,
};
use custodian_core::ids::{CareSessionId, CustomerId, UserId};
use jiff::Timestamp;
use sqlx::sqlite::SqlitePool;

use super::SqliteStore;
use super::codes::CUSTOMER_CODES;
use crate::rows::{
    count, database, stored_care_session, stored_customer_code, stored_customer_password,
    stored_customer_session, timestamp, timestamp_opt,
};

/// The care store on a SQLite database: see [`SqliteStore::care`].
#[derive(Debug, Clone)]
pub struct SqliteCare {
    pool: SqlitePool,
}

impl SqliteStore {
    /// The care store (care sessions, customers' codes, passwords and sessions) in this
    /// database.
    pub fn care(&self) -> SqliteCare {
        SqliteCare {
            pool: self.pool.clone(),
        }
    }
}

const CARE_COLUMNS: &str = "id, staff_user, customer_id, channel, code_digest, attempts, \
     created_at, code_expires_at, verified_at, active_until, closed_at";

#[async_trait]
impl CareStore for SqliteCare {
    async fn insert_care_session(&self, s: &StoredCareSession) -> Result<(), StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO care_sessions ({CARE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )))
        .bind(s.id.as_str())
        .bind(s.staff.as_str())
        .bind(s.customer.as_str())
        .bind(&s.channel)
        .bind(s.code_digest.as_slice())
        .bind(i64::from(s.attempts))
        .bind(s.created_at.to_string())
        .bind(s.code_expires_at.to_string())
        .bind(s.verified_at.map(|t| t.to_string()))
        .bind(s.active_until.map(|t| t.to_string()))
        .bind(s.closed_at.map(|t| t.to_string()))
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn care_session(
        &self,
        id: &CareSessionId,
    ) -> Result<Option<StoredCareSession>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CARE_COLUMNS} FROM care_sessions WHERE id = ?"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .map(|row| stored_care_session(&row))
        .transpose()
    }

    async fn count_care_attempt(
        &self,
        id: &CareSessionId,
        max: u32,
    ) -> Result<Option<u32>, StoreError> {
        sqlx::query(
            "UPDATE care_sessions SET attempts = attempts + 1 \
             WHERE id = ? AND attempts < ? AND verified_at IS NULL AND closed_at IS NULL \
             RETURNING attempts",
        )
        .bind(id.as_str())
        .bind(i64::from(max))
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .map(|row| count(&row, "attempts"))
        .transpose()
    }

    async fn activate_care_session(
        &self,
        id: &CareSessionId,
        at: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE care_sessions SET verified_at = ?, active_until = ? \
             WHERE id = ? AND verified_at IS NULL AND closed_at IS NULL",
        )
        .bind(at.to_string())
        .bind(until.to_string())
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }

    async fn close_care_session(
        &self,
        id: &CareSessionId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE care_sessions SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
        )
        .bind(at.to_string())
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }

    async fn verified_care_sessions(
        &self,
        staff: &UserId,
        customer: &CustomerId,
    ) -> Result<Vec<Timestamp>, StoreError> {
        // Times are compared by the core: RFC 3339 text with fractional seconds of varying
        // length does not sort as the instants do.
        sqlx::query(
            "SELECT active_until FROM care_sessions \
             WHERE staff_user = ? AND customer_id = ? AND active_until IS NOT NULL \
             AND closed_at IS NULL",
        )
        .bind(staff.as_str())
        .bind(customer.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(|row| timestamp(row, "active_until"))
        .collect()
    }

    async fn put_customer_code(&self, code: &StoredCustomerCode) -> Result<(), StoreError> {
        CUSTOMER_CODES
            .put(
                &self.pool,
                code.customer.as_str(),
                &code.code_digest,
                code.attempts,
                code.expires_at,
            )
            .await
    }

    async fn customer_code(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<StoredCustomerCode>, StoreError> {
        CUSTOMER_CODES
            .get(&self.pool, customer.as_str(), stored_customer_code)
            .await
    }

    async fn count_customer_code_attempt(
        &self,
        customer: &CustomerId,
        max: u32,
    ) -> Result<Option<u32>, StoreError> {
        CUSTOMER_CODES
            .count_attempt(&self.pool, customer.as_str(), max)
            .await
    }

    async fn take_customer_code(
        &self,
        customer: &CustomerId,
        code_digest: &[u8; 32],
    ) -> Result<bool, StoreError> {
        CUSTOMER_CODES
            .take(&self.pool, customer.as_str(), code_digest)
            .await
    }

    async fn set_customer_password(
        &self,
        customer: &CustomerId,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO customer_passwords (customer_id, password_hash, failed_sign_ins) \
             VALUES (?, ?, 0) ON CONFLICT (customer_id) DO UPDATE SET \
             password_hash = excluded.password_hash, failed_sign_ins = 0, locked_until = NULL",
        )
        .bind(customer.as_str())
        .bind(password_hash)
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn customer_password(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<StoredCustomerPassword>, StoreError> {
        sqlx::query(
            "SELECT customer_id, password_hash, failed_sign_ins, locked_until \
             FROM customer_passwords WHERE customer_id = ?",
        )
        .bind(customer.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .map(|row| stored_customer_password(&row))
        .transpose()
    }

    async fn record_customer_failed_sign_in(
        &self,
        customer: &CustomerId,
        max_failures: u32,
        lock_until: Timestamp,
    ) -> Result<Option<(u32, Option<Timestamp>)>, StoreError> {
        // One statement, so that failures on several instances at once are all counted.
        let row = sqlx::query(
            "UPDATE customer_passwords SET \
             failed_sign_ins = CASE WHEN failed_sign_ins + 1 >= ? THEN 0 \
                                    ELSE failed_sign_ins + 1 END, \
             locked_until = CASE WHEN failed_sign_ins + 1 >= ? THEN ? ELSE locked_until END \
             WHERE customer_id = ? RETURNING failed_sign_ins, locked_until",
        )
        .bind(i64::from(max_failures))
        .bind(i64::from(max_failures))
        .bind(lock_until.to_string())
        .bind(customer.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some((
            count(&row, "failed_sign_ins")?,
            timestamp_opt(&row, "locked_until")?,
        )))
    }

    async fn record_customer_sign_in(&self, customer: &CustomerId) -> Result<(), StoreError> {
        sqlx::query("UPDATE customer_passwords SET failed_sign_ins = 0 WHERE customer_id = ?")
            .bind(customer.as_str())
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(())
    }

    async fn insert_customer_session(
        &self,
        session: &StoredCustomerSession,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO customer_sessions \
             (digest, customer_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&session.digest)
        .bind(session.customer.as_str())
        .bind(session.created_at.to_string())
        .bind(session.last_seen_at.to_string())
        .bind(session.expires_at.to_string())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn customer_session(
        &self,
        digest: &str,
    ) -> Result<Option<StoredCustomerSession>, StoreError> {
        sqlx::query(
            "SELECT digest, customer_id, created_at, last_seen_at, expires_at \
             FROM customer_sessions WHERE digest = ?",
        )
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .map(|row| stored_customer_session(&row))
        .transpose()
    }

    async fn touch_customer_session(&self, digest: &str, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE customer_sessions SET last_seen_at = ? WHERE digest = ?")
            .bind(at.to_string())
            .bind(digest)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(())
    }

    async fn delete_customer_session(&self, digest: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM customer_sessions WHERE digest = ?")
            .bind(digest)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_customer(&self, customer: &CustomerId) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(database)?;
        for table in [
            "care_sessions",
            "customer_codes",
            "customer_passwords",
            "customer_sessions",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE customer_id = ?"
            )))
            .bind(customer.as_str())
            .execute(&mut *tx)
            .await
            .map_err(database)?;
        }
        tx.commit().await.map_err(database)?;
        Ok(())
    }
}
