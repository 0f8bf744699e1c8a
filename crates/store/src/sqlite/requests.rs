//! Data subjects' requests in SQLite. One open request of a kind per customer is enforced by a
//! partial unique index, so a duplicate can never slip in between a check and an insert; a
//! move is a conditional update, written with its event in one transaction.

use async_trait::async_trait;
use custodian_core::StoreError;
use custodian_core::ids::{CustomerId, RequestId};
use custodian_core::rights::request::{RequestEvent, RequestState, RequestStore, StoredRequest};
use jiff::civil::Date;
use sqlx::sqlite::SqlitePool;

use super::SqliteStore;
use crate::rows::{REQUEST_COLUMNS, database, request_event, stored_request};

/// The request store on a SQLite database: see [`SqliteStore::requests`].
#[derive(Debug, Clone)]
pub struct SqliteRequests {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Data subjects' requests and their trail, in this database.
    pub fn requests(&self) -> SqliteRequests {
        SqliteRequests {
            pool: self.pool.clone(),
        }
    }
}

const EVENT_INSERT: &str = "INSERT INTO request_events (request_id, at, from_state, to_state, \
     actor, note) VALUES (?, ?, ?, ?, ?, ?)";

#[async_trait]
impl RequestStore for SqliteRequests {
    async fn create(
        &self,
        r: &StoredRequest,
        event: &RequestEvent,
    ) -> Result<Result<(), StoredRequest>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(database)?;
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO requests ({REQUEST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, \
             ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
        )))
        .bind(r.id.as_str())
        .bind(r.customer.as_str())
        .bind(&r.kind)
        .bind(r.state.as_str())
        .bind(r.channel.as_str())
        .bind(&r.entered_by)
        .bind(r.received_at.to_string())
        .bind(r.partners_involved)
        .bind(r.acknowledge_by.to_string())
        .bind(r.complete_by.to_string())
        .bind(r.extension_limit.to_string())
        .bind(&r.reason)
        .bind(r.details.as_ref().map(|d| d.sealed.clone()))
        .bind(r.details.as_ref().map(|d| i64::from(d.key_version)))
        .bind(r.updated_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(database)?;
        if done.rows_affected() == 0 {
            let open = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {REQUEST_COLUMNS} FROM requests WHERE customer_id = ? AND kind = ? \
                 AND state NOT IN ('completed', 'rejected')"
            )))
            .bind(r.customer.as_str())
            .bind(&r.kind)
            .fetch_optional(&mut *tx)
            .await
            .map_err(database)?;
            tx.rollback().await.map_err(database)?;
            return match open {
                Some(row) => Ok(Err(stored_request(&row)?)),
                None => Err(StoreError::Corrupt(
                    "a request conflicted with nothing".into(),
                )),
            };
        }
        insert_event(&mut tx, event).await?;
        tx.commit().await.map_err(database)?;
        Ok(Ok(()))
    }

    async fn get(&self, id: &RequestId) -> Result<Option<StoredRequest>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?
        .as_ref()
        .map(stored_request)
        .transpose()
    }

    async fn of_customer(&self, customer: &CustomerId) -> Result<Vec<StoredRequest>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE customer_id = ? ORDER BY id"
        )))
        .bind(customer.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(stored_request)
        .collect()
    }

    async fn open(&self) -> Result<Vec<StoredRequest>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM requests \
             WHERE state NOT IN ('completed', 'rejected') ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(stored_request)
        .collect()
    }

    async fn transition(
        &self,
        from: RequestState,
        event: &RequestEvent,
        complete_by: Option<Date>,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(database)?;
        let done = sqlx::query(
            "UPDATE requests SET state = ?, updated_at = ?, \
             complete_by = COALESCE(?, complete_by), reason = COALESCE(?, reason) \
             WHERE id = ? AND state = ?",
        )
        .bind(event.to.as_str())
        .bind(event.at.to_string())
        .bind(complete_by.map(|d| d.to_string()))
        .bind(reason)
        .bind(event.request.as_str())
        .bind(from.as_str())
        .execute(&mut *tx)
        .await
        .map_err(database)?;
        if done.rows_affected() != 1 {
            tx.rollback().await.map_err(database)?;
            return Ok(false);
        }
        insert_event(&mut tx, event).await?;
        tx.commit().await.map_err(database)?;
        Ok(true)
    }

    async fn note(&self, event: &RequestEvent) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(database)?;
        insert_event(&mut tx, event).await?;
        tx.commit().await.map_err(database)?;
        Ok(())
    }

    async fn events(&self, id: &RequestId) -> Result<Vec<RequestEvent>, StoreError> {
        sqlx::query(
            "SELECT request_id, at, from_state, to_state, actor, note FROM request_events \
             WHERE request_id = ? ORDER BY seq",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(request_event)
        .collect()
    }
}

async fn insert_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    event: &RequestEvent,
) -> Result<(), StoreError> {
    sqlx::query(EVENT_INSERT)
        .bind(event.request.as_str())
        .bind(event.at.to_string())
        .bind(event.from.map(RequestState::as_str))
        .bind(event.to.as_str())
        .bind(&event.actor)
        .bind(&event.note)
        .execute(&mut **tx)
        .await
        .map_err(database)?;
    Ok(())
}
