//! Data subjects' requests in SQLite. One open request of a kind per customer is enforced by a
//! partial unique index, so a duplicate can never slip in between a check and an insert; a
//! move is a conditional update, written with its event in one transaction.

use async_trait::async_trait;
use custodian_core::StoreError;
use custodian_core::ids::{CustomerId, RequestId};
use custodian_core::rights::request::{
    LimitKind, ProcessingLimit, RequestEvent, RequestState, RequestStore, StoredRequest,
    StoredRequestCode,
};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::sqlite::SqlitePool;

use super::SqliteStore;
use super::codes::REQUEST_CODES;
use crate::rows::{
    REQUEST_COLUMNS, database, processing_limit, request_event, stored_request, stored_request_code,
};

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
             ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
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
        .bind(purposes_json(&r.purposes)?)
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

    async fn limits(&self, customer: &CustomerId) -> Result<Vec<ProcessingLimit>, StoreError> {
        sqlx::query(
            "SELECT customer_id, kind, purpose, request_id, since FROM processing_limits \
             WHERE customer_id = ? AND lifted_at IS NULL ORDER BY seq",
        )
        .bind(customer.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(processing_limit)
        .collect()
    }

    async fn apply_limits(&self, limits: &[ProcessingLimit]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(database)?;
        for limit in limits {
            sqlx::query(
                "INSERT INTO processing_limits (customer_id, kind, purpose, request_id, since) \
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(limit.customer.as_str())
            .bind(limit.kind.as_str())
            .bind(limit.kind.purpose().unwrap_or(""))
            .bind(limit.request.as_ref().map(RequestId::as_str))
            .bind(limit.since.to_string())
            .execute(&mut *tx)
            .await
            .map_err(database)?;
        }
        tx.commit().await.map_err(database)?;
        Ok(())
    }

    async fn lift_limit(
        &self,
        customer: &CustomerId,
        kind: &LimitKind,
        at: Timestamp,
        by: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE processing_limits SET lifted_at = ?, lifted_by = ? \
             WHERE customer_id = ? AND kind = ? AND purpose = ? AND lifted_at IS NULL",
        )
        .bind(at.to_string())
        .bind(by)
        .bind(customer.as_str())
        .bind(kind.as_str())
        .bind(kind.purpose().unwrap_or(""))
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(done.rows_affected() == 1)
    }

    async fn put_request_code(&self, code: &StoredRequestCode) -> Result<(), StoreError> {
        REQUEST_CODES
            .put(
                &self.pool,
                code.request.as_str(),
                &code.code_digest,
                code.attempts,
                code.expires_at,
            )
            .await
    }

    async fn request_code(&self, id: &RequestId) -> Result<Option<StoredRequestCode>, StoreError> {
        REQUEST_CODES
            .get(&self.pool, id.as_str(), stored_request_code)
            .await
    }

    async fn count_request_code_attempt(
        &self,
        id: &RequestId,
        max: u32,
    ) -> Result<Option<u32>, StoreError> {
        REQUEST_CODES
            .count_attempt(&self.pool, id.as_str(), max)
            .await
    }

    async fn take_request_code(
        &self,
        id: &RequestId,
        digest: &[u8; 32],
    ) -> Result<bool, StoreError> {
        REQUEST_CODES.take(&self.pool, id.as_str(), digest).await
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

/// A request's purposes as stored: a JSON list.
fn purposes_json(purposes: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(purposes).map_err(|_| StoreError::Corrupt("bad purpose list".into()))
}
