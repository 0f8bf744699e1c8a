//! Customers' export download links in SQLite: kept by the digest of their token; a
//! redemption is one conditional update, so of two concurrent ones exactly one wins.

use async_trait::async_trait;
use custodian_core::StoreError;
use custodian_core::rights::export::{ExportLinkStore, StoredExportLink};
use jiff::Timestamp;
use sqlx::sqlite::SqlitePool;

use super::SqliteStore;
use crate::rows::{EXPORT_LINK_COLUMNS, database, export_link};

/// The export-link store on a SQLite database: see [`SqliteStore::exports`].
#[derive(Debug, Clone)]
pub struct SqliteExports {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Customers' export download links, in this database.
    pub fn exports(&self) -> SqliteExports {
        SqliteExports {
            pool: self.pool.clone(),
        }
    }
}

#[async_trait]
impl ExportLinkStore for SqliteExports {
    async fn create(&self, link: &StoredExportLink) -> Result<(), StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO export_links ({EXPORT_LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
        )))
        .bind(&link.digest)
        .bind(link.customer.as_str())
        .bind(link.request.as_ref().map(|r| r.as_str().to_owned()))
        .bind(&link.created_by)
        .bind(link.created_at.to_string())
        .bind(link.expires_at.to_string())
        .bind(link.used_at.map(|t| t.to_string()))
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    async fn get(&self, digest: &str) -> Result<Option<StoredExportLink>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EXPORT_LINK_COLUMNS} FROM export_links WHERE digest = ?"
        )))
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .as_ref()
        .map(export_link)
        .transpose()
    }

    async fn redeem(&self, digest: &str, at: Timestamp) -> Result<bool, StoreError> {
        // Expiry is compared on the parsed timestamp (stored text does not order reliably);
        // the update is conditional on the link being unused, so one redemption wins.
        let link = self.get(digest).await?;
        let Some(link) = link else { return Ok(false) };
        if at >= link.expires_at {
            return Ok(false);
        }
        let done =
            sqlx::query("UPDATE export_links SET used_at = ? WHERE digest = ? AND used_at IS NULL")
                .bind(at.to_string())
                .bind(digest)
                .execute(&self.pool)
                .await
                .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }
}
