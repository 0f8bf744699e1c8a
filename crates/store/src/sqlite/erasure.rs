//! Erasure's storage on SQLite: held values, reports, notices and partners' confirmations.
//! Held values, reports and notices are written by the vault's group-commit writer
//! (`vault.rs`); expiry and confirmations go through the pool.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::Row;

use custodian_core::StoreError;
use custodian_core::ids::CustomerId;
use custodian_core::rights::erasure::{
    ErasureConfirmation, ErasureNotice, ErasureStore, HeldRecord, StoredErasure,
};

use super::SqliteVault;
use crate::rows::{
    HELD_COLUMNS, customer_id, database, erasure_confirmation, erasure_notice, held_record,
    stored_erasure,
};

#[async_trait]
impl ErasureStore for SqliteVault {
    async fn held(&self, customer: &CustomerId) -> Result<Vec<HeldRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {HELD_COLUMNS} FROM held_values WHERE customer_id = ? \
             ORDER BY hold_id, order_id, field"
        )))
        .bind(customer.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(held_record)
        .collect()
    }

    async fn holds_ended(&self, now: Timestamp) -> Result<Vec<(CustomerId, String)>, StoreError> {
        sqlx::query(
            "SELECT customer_id, hold_id FROM held_values GROUP BY customer_id, hold_id \
             HAVING MAX(held_until_ms) <= ? ORDER BY customer_id, hold_id",
        )
        .bind(now.as_millisecond())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(|row| {
            Ok((
                customer_id(row, "customer_id")?,
                row.try_get("hold_id").map_err(database)?,
            ))
        })
        .collect()
    }

    async fn delete_expired_held(&self, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM held_values WHERE held_until_ms <= ?")
            .bind(now.as_millisecond())
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(done.rows_affected())
    }

    async fn erasure(&self, customer: &CustomerId) -> Result<Option<StoredErasure>, StoreError> {
        sqlx::query(
            "SELECT customer_id, request_id, erased_at, report FROM erasure_reports \
             WHERE customer_id = ?",
        )
        .bind(customer.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .as_ref()
        .map(stored_erasure)
        .transpose()
    }

    async fn notice(
        &self,
        partner: &str,
        public_id: &str,
    ) -> Result<Option<ErasureNotice>, StoreError> {
        sqlx::query(
            "SELECT public_id, message_id, partner, customer_id FROM erasure_notices \
             WHERE public_id = ? AND partner = ?",
        )
        .bind(public_id)
        .bind(partner)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .as_ref()
        .map(erasure_notice)
        .transpose()
    }

    async fn confirm(&self, c: &ErasureConfirmation) -> Result<ErasureConfirmation, StoreError> {
        sqlx::query(
            "INSERT INTO erasure_confirmations (public_id, partner, customer_id, confirmed_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (public_id) DO NOTHING",
        )
        .bind(&c.public_id)
        .bind(&c.partner)
        .bind(c.customer.as_str())
        .bind(c.confirmed_at.to_string())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        sqlx::query(
            "SELECT public_id, partner, customer_id, confirmed_at FROM erasure_confirmations \
             WHERE public_id = ?",
        )
        .bind(&c.public_id)
        .fetch_one(&self.pool)
        .await
        .map_err(database)
        .and_then(|row| erasure_confirmation(&row))
    }

    async fn confirmations(
        &self,
        customer: &CustomerId,
    ) -> Result<Vec<ErasureConfirmation>, StoreError> {
        sqlx::query(
            "SELECT public_id, partner, customer_id, confirmed_at FROM erasure_confirmations \
             WHERE customer_id = ? ORDER BY public_id",
        )
        .bind(customer.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(erasure_confirmation)
        .collect()
    }

    async fn notices(&self, customer: &CustomerId) -> Result<Vec<ErasureNotice>, StoreError> {
        sqlx::query(
            "SELECT public_id, message_id, partner, customer_id FROM erasure_notices \
             WHERE customer_id = ? ORDER BY partner",
        )
        .bind(customer.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(erasure_notice)
        .collect()
    }
}
