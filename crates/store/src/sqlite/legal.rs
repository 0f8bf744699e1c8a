//! Legal requests and releases in SQLite. Every statement runs on the pool, whose connections commit with `synchronous = FULL`. Approval
//! and release are conditional updates, so that of two administrators, or two instances, only
//! one moves a request; a release's ledger entries are written in the same transaction.

use async_trait::async_trait;
use custodian_core::StoreError;
use custodian_core::ids::{CustomerId, LegalRequestId};
use custodian_core::legal::{LegalRelease, LegalRequest, LegalStore};
use jiff::Timestamp;
use sqlx::sqlite::SqlitePool;

use super::SqliteStore;
use crate::rows::{LEGAL_REQUEST_COLUMNS, database, legal_release, legal_request, list_text};

/// The legal store on a SQLite database: see [`SqliteStore::legal`].
#[derive(Debug, Clone)]
pub struct SqliteLegal {
    pool: SqlitePool,
}

impl SqliteStore {
    /// The legal store (authorities' requests and the releases made for them) in this
    /// database.
    pub fn legal(&self) -> SqliteLegal {
        SqliteLegal {
            pool: self.pool.clone(),
        }
    }
}

#[async_trait]
impl LegalStore for SqliteLegal {
    async fn create(&self, r: &LegalRequest) -> Result<(), StoreError> {
        let customers: Vec<String> = r.customers.iter().map(ToString::to_string).collect();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO legal_requests ({LEGAL_REQUEST_COLUMNS}) VALUES \
             (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )))
        .bind(r.id.as_str())
        .bind(&r.authority)
        .bind(&r.reference)
        .bind(list_text(&customers))
        .bind(list_text(&r.categories))
        .bind(r.period_from.map(|t| t.to_string()))
        .bind(r.period_to.map(|t| t.to_string()))
        .bind(r.notify)
        .bind(r.silence_until.map(|t| t.to_string()))
        .bind(r.status.as_str())
        .bind(&r.requested_by)
        .bind(r.requested_at.to_string())
        .bind(&r.approved_by)
        .bind(r.approved_at.map(|t| t.to_string()))
        .bind(r.released_at.map(|t| t.to_string()))
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn get(&self, id: &LegalRequestId) -> Result<Option<LegalRequest>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LEGAL_REQUEST_COLUMNS} FROM legal_requests WHERE id = ?"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .as_ref()
        .map(legal_request)
        .transpose()
    }

    async fn list(&self) -> Result<Vec<LegalRequest>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LEGAL_REQUEST_COLUMNS} FROM legal_requests ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(legal_request)
        .collect()
    }

    async fn approve(
        &self,
        id: &LegalRequestId,
        by: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE legal_requests SET status = 'approved', approved_by = ?, approved_at = ? \
             WHERE id = ? AND status = 'requested'",
        )
        .bind(by)
        .bind(at.to_string())
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }

    async fn release(
        &self,
        id: &LegalRequestId,
        at: Timestamp,
        releases: &[LegalRelease],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(database)?;
        let done = sqlx::query(
            "UPDATE legal_requests SET status = 'released', released_at = ? \
             WHERE id = ? AND status = 'approved'",
        )
        .bind(at.to_string())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(database)?;
        if done.rows_affected() != 1 {
            tx.rollback().await.map_err(database)?;
            return Ok(false);
        }
        for r in releases {
            sqlx::query(
                "INSERT INTO legal_releases (request_id, customer_id, authority, categories, \
                 fields, at, digest, visible_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(r.request.as_str())
            .bind(r.customer.as_str())
            .bind(&r.authority)
            .bind(list_text(&r.categories))
            .bind(list_text(&r.fields))
            .bind(r.at.to_string())
            .bind(&r.digest)
            .bind(r.visible_from.map(|t| t.to_string()))
            .execute(&mut *tx)
            .await
            .map_err(database)?;
        }
        tx.commit().await.map_err(database)?;
        Ok(true)
    }

    async fn lift_silence(&self, id: &LegalRequestId, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE legal_releases SET visible_from = ? WHERE request_id = ? \
             AND (visible_from IS NULL OR visible_from > ?)",
        )
        .bind(at.to_string())
        .bind(id.as_str())
        .bind(at.to_string())
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn releases_of(&self, customer: &CustomerId) -> Result<Vec<LegalRelease>, StoreError> {
        sqlx::query(
            "SELECT request_id, customer_id, authority, categories, fields, at, digest, \
             visible_from FROM legal_releases WHERE customer_id = ? ORDER BY seq",
        )
        .bind(customer.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(legal_release)
        .collect()
    }
}
