//! The outbox's bookkeeping on SQLite: claims, failed attempts, dead letters. Enqueueing and
//! delivery go through the vault's group-commit writer (`vault.rs`).

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::{QueryBuilder, Sqlite};

use custodian_core::StoreError;
use custodian_core::ids::{CustomerId, OutboxId};
use custodian_core::outbox::{DisclosureRecord, OutboxMessage, OutboxStatus, OutboxStore};

use super::SqliteVault;
use crate::rows::{
    DISCLOSURE_COLUMNS, OUTBOX_COLUMNS, database, disclosure_record, outbox_message,
};

#[async_trait]
impl OutboxStore for SqliteVault {
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
        // One statement: SQLite runs it under its write lock, so two claimers (two
        // connections, or two processes on the file) never take the same message.
        let mut q = QueryBuilder::<Sqlite>::new("UPDATE outbox SET lease_ms = ");
        q.push_bind(lease_until.as_millisecond());
        q.push(
            " WHERE seq IN (SELECT seq FROM outbox WHERE status = 'pending' \
             AND next_attempt_ms <= ",
        );
        q.push_bind(now.as_millisecond());
        q.push(" AND (lease_ms IS NULL OR lease_ms <= ");
        q.push_bind(now.as_millisecond());
        q.push(") AND partner IN (");
        let mut list = q.separated(", ");
        for partner in partners {
            list.push_bind(partner.clone());
        }
        q.push(") ORDER BY seq LIMIT ");
        q.push_bind(i64::from(limit));
        q.push(format!(") RETURNING {OUTBOX_COLUMNS}"));
        let mut claimed = q
            .build()
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
            "UPDATE outbox SET attempts = ?, status = ?, \
             next_attempt_ms = COALESCE(?, next_attempt_ms), last_error = ?, lease_ms = NULL \
             WHERE id = ? AND status = 'pending'",
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
             WHERE id = ? AND status IN ('pending', 'dead')",
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
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = ? ORDER BY seq LIMIT ?"
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
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = ?"
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
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE customer_id = ? ORDER BY seq"
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
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_ms = ?, \
             lease_ms = NULL WHERE id = ? AND status = 'dead'",
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
            "SELECT {DISCLOSURE_COLUMNS} FROM disclosures WHERE customer_id = ? ORDER BY seq"
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
