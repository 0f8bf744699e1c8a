//! The outbox's bookkeeping on PostgreSQL: claims, failed attempts, dead letters. Enqueueing and
//! delivery go through the vault's group-commit writer (`vault.rs`).

use async_trait::async_trait;
use jiff::Timestamp;

use custodian_core::StoreError;
use custodian_core::ids::{CustomerId, OutboxId};
use custodian_core::outbox::{DisclosureRecord, OutboxMessage, OutboxStatus, OutboxStore};

use super::PgVault;
use crate::rows::{
    DISCLOSURE_COLUMNS, OUTBOX_COLUMNS, database, disclosure_record, outbox_message,
};

#[async_trait]
impl OutboxStore for PgVault {
    async fn claim(
        &self,
        partners: &[String],
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        if partners.is_empty() {
            return Ok(Vec::new());
        }
        // Rows another instance is claiming are locked: SKIP LOCKED passes them by rather
        // than waiting, and once that claim commits their lease excludes them. Two
        // instances on one database therefore never hold the same message at once.
        let mut claimed = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET lease_ms = $1 WHERE seq IN (SELECT seq FROM outbox \
             WHERE status = 'pending' AND next_attempt_ms <= $2 \
             AND (lease_ms IS NULL OR lease_ms <= $2) AND partner = ANY($3) \
             ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING {OUTBOX_COLUMNS}"
        )))
        .bind(lease_until.as_millisecond())
        .bind(now.as_millisecond())
        .bind(partners)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(outbox_message)
        .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(claimed)
    }

    async fn record_failure(
        &self,
        id: &OutboxId,
        attempts: u32,
        next: Option<Timestamp>,
        error: &str,
    ) -> Result<(), StoreError> {
        let status = if next.is_some() { "pending" } else { "dead" };
        sqlx::query(
            "UPDATE outbox SET attempts = $1, status = $2, \
             next_attempt_ms = COALESCE($3::BIGINT, next_attempt_ms), last_error = $4, lease_ms = NULL \
             WHERE id = $5 AND status = 'pending'",
        )
        .bind(i64::from(attempts))
        .bind(status)
        .bind(next.map(|t| t.as_millisecond()))
        .bind(error)
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn drop_message(&self, id: &OutboxId) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET status = 'dropped', lease_ms = NULL \
             WHERE id = $1 AND status IN ('pending', 'dead')",
        )
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn messages(
        &self,
        status: OutboxStatus,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = $1 ORDER BY seq LIMIT $2"
        )))
        .bind(status.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(outbox_message)
        .collect()
    }

    async fn message(&self, id: &OutboxId) -> Result<Option<OutboxMessage>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .as_ref()
        .map(outbox_message)
        .transpose()
    }

    async fn customer_messages(
        &self,
        customer: &CustomerId,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE customer_id = $1 ORDER BY seq"
        )))
        .bind(customer.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(outbox_message)
        .collect()
    }

    async fn redrive(&self, id: &OutboxId, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_ms = $1, \
             lease_ms = NULL WHERE id = $2 AND status = 'dead'",
        )
        .bind(now.as_millisecond())
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }

    async fn disclosures(
        &self,
        customer: &CustomerId,
    ) -> Result<Vec<DisclosureRecord>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DISCLOSURE_COLUMNS} FROM disclosures WHERE customer_id = $1 ORDER BY seq"
        )))
        .bind(customer.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(disclosure_record)
        .collect()
    }
}
