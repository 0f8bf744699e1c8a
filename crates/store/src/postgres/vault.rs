//! The vault on PostgreSQL: reads through the pool, writes through one group-commit writer
//! with a connection of its own. Unlike SQLite's, a batch is applied write by write, each
//! transaction under a savepoint: PostgreSQL statements cost no thread hand-off, and the
//! conformance suite holds both to the same behaviour.

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool};
use sqlx::{Connection, Row};

use custodian_core::StoreError;
use custodian_core::audit::{AuditEntry, Checkpoint, CheckpointSigner};
use custodian_core::ids::{CustomerId, HistoryId, OrderId};
use custodian_core::vault::{
    Conflict, OrderSummary, StoredConsent, StoredCustomer, StoredHistory, StoredOrder, Transaction,
    VaultStore, Write,
};

use super::{PgStore, database};
use crate::rows::{
    CONSENT_COLUMNS, DISCLOSURE_COLUMNS, OUTBOX_COLUMNS, limit_kinds, list_text, order_summary,
    payload_columns, sealed_field, seq_of, seq_param, stored_consent, stored_order, timestamp,
};
use crate::writer::{BatchBackend, ChainHead, Writer};

/// The vault's storage on PostgreSQL. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PgVault {
    pub(super) pool: PgPool,
    writer: Writer,
}

impl PgStore {
    /// The vault in this database, signing audit checkpoints with `signer`. Opens a dedicated
    /// writer connection (re-opened after a connection failure).
    pub async fn vault(&self, signer: CheckpointSigner) -> Result<PgVault, StoreError> {
        let conn = PgConnection::connect_with(&self.options)
            .await
            .map_err(database)?;
        let writer = Writer::spawn(PgWriter {
            options: self.options.clone(),
            conn: Some(conn),
            signer,
        });
        Ok(PgVault {
            pool: self.pool.clone(),
            writer,
        })
    }
}

struct PgWriter {
    options: PgConnectOptions,
    /// `None` after a failure that may have left the connection unusable (the server
    /// restarted, the network dropped): the next batch connects again rather than failing
    /// for the life of the process.
    conn: Option<PgConnection>,
    signer: CheckpointSigner,
}

#[async_trait]
impl BatchBackend for PgWriter {
    type Op = Transaction;
    type Done = Result<(), Conflict>;

    async fn apply(
        &mut self,
        batch: &[Transaction],
    ) -> Result<Vec<Result<(), Conflict>>, StoreError> {
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => PgConnection::connect_with(&self.options)
                .await
                .map_err(database)?,
        };
        // READ COMMITTED whatever the server's default: after waiting for the head lock, each
        // statement must see what the batch that held it committed.
        sqlx::query("BEGIN ISOLATION LEVEL READ COMMITTED")
            .execute(&mut conn)
            .await
            .map_err(database)?;
        match apply_batch(&mut conn, &self.signer, batch).await {
            Ok(outcomes) => {
                // A failed COMMIT leaves the outcome unknown to us; the connection is
                // dropped (closing it rolls back whatever is still open) and the batch
                // reported as failed.
                sqlx::query("COMMIT")
                    .execute(&mut conn)
                    .await
                    .map_err(database)?;
                self.conn = Some(conn);
                Ok(outcomes)
            }
            Err(e) => {
                if sqlx::query("ROLLBACK").execute(&mut conn).await.is_ok() {
                    self.conn = Some(conn);
                }
                Err(e)
            }
        }
    }
}

async fn apply_batch(
    conn: &mut PgConnection,
    signer: &CheckpointSigner,
    batch: &[Transaction],
) -> Result<Vec<Result<(), Conflict>>, StoreError> {
    // The chain head, locked until COMMIT: a batch of another instance on the same database
    // waits here, then chains after this one.
    let row = sqlx::query("SELECT seq, hash FROM audit_head FOR UPDATE")
        .fetch_optional(&mut *conn)
        .await
        .map_err(database)?
        .ok_or_else(|| StoreError::Corrupt("the audit head row is missing".into()))?;
    let started_at = seq_of(&row, "seq")?;
    let hash: String = row.try_get("hash").map_err(database)?;
    let mut head = ChainHead::new(Some((started_at, hash)));
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut last_event_at = None;
    for tx in batch {
        sqlx::query("SAVEPOINT tx")
            .execute(&mut *conn)
            .await
            .map_err(database)?;
        let outcome = apply_writes(conn, &tx.writes).await?;
        if outcome.is_ok() {
            for entry in head.append(&tx.audit) {
                insert_entry(conn, &entry).await?;
            }
            last_event_at = tx.audit.last().map(|e| e.at).or(last_event_at);
        } else {
            sqlx::query("ROLLBACK TO SAVEPOINT tx")
                .execute(&mut *conn)
                .await
                .map_err(database)?;
        }
        sqlx::query("RELEASE SAVEPOINT tx")
            .execute(&mut *conn)
            .await
            .map_err(database)?;
        outcomes.push(outcome);
    }
    if head.seq != started_at {
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2")
            .bind(seq_param(head.seq)?)
            .bind(&head.hash)
            .execute(&mut *conn)
            .await
            .map_err(database)?;
    }
    let last_checkpoint_at =
        sqlx::query("SELECT at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(database)?
            .map(|row| timestamp(&row, "at"))
            .transpose()?;
    if let Some(c) = head.checkpoint_due(signer, last_event_at, last_checkpoint_at) {
        sqlx::query("INSERT INTO audit_checkpoints (seq, hash, at, mac) VALUES ($1, $2, $3, $4)")
            .bind(seq_param(c.seq)?)
            .bind(&c.hash)
            .bind(c.at.to_string())
            .bind(&c.mac)
            .execute(&mut *conn)
            .await
            .map_err(database)?;
        // A copy of every checkpoint in the logs, off the database: anchors the chain
        // against an attacker who could rewrite the database (no personal data: a number and
        // a hash).
        tracing::info!(seq = c.seq, hash = %c.hash, "audit checkpoint");
    }
    Ok(outcomes)
}

async fn insert_entry(conn: &mut PgConnection, entry: &AuditEntry) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (seq, prev_hash, hash, customer_id, event) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(seq_param(entry.seq)?)
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .bind(&entry.customer)
    .bind(&entry.event)
    .execute(&mut *conn)
    .await
    .map_err(database)?;
    Ok(())
}

/// Whether the customer exists and was not erased.
async fn live(conn: &mut PgConnection, customer: &CustomerId) -> Result<bool, StoreError> {
    Ok(
        sqlx::query("SELECT 1 FROM customers WHERE id = $1 AND erased_at IS NULL")
            .bind(customer.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(database)?
            .is_some(),
    )
}

async fn apply_writes(
    conn: &mut PgConnection,
    writes: &[Write],
) -> Result<Result<(), Conflict>, StoreError> {
    for write in writes {
        match write {
            Write::CreateCustomer { id, created_at } => {
                let done = sqlx::query(
                    "INSERT INTO customers (id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(id.as_str())
                .bind(created_at.to_string())
                .execute(&mut *conn)
                .await
                .map_err(database)?;
                if done.rows_affected() == 0 {
                    return Ok(Err(Conflict::CustomerExists(id.clone())));
                }
            }
            Write::ExpectField {
                customer,
                field,
                sealed,
            } => {
                if !live(conn, customer).await? {
                    return Ok(Err(Conflict::NoSuchCustomer(customer.clone())));
                }
                // The batch holds the audit_head lock, so no other writer can move the field
                // between this read and the transaction's commit.
                let now: Option<Vec<u8>> = sqlx::query_scalar(
                    "SELECT sealed FROM customer_fields WHERE customer_id = $1 AND field = $2",
                )
                .bind(customer.as_str())
                .bind(field)
                .fetch_optional(&mut *conn)
                .await
                .map_err(database)?;
                if now != *sealed {
                    return Ok(Err(Conflict::FieldChanged {
                        customer: customer.clone(),
                        field: field.clone(),
                    }));
                }
            }
            Write::PutField {
                customer,
                value,
                at,
            } => {
                if !live(conn, customer).await? {
                    return Ok(Err(Conflict::NoSuchCustomer(customer.clone())));
                }
                sqlx::query(
                    "INSERT INTO customer_fields (customer_id, field, sealed, key_version, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (customer_id, field) DO UPDATE SET \
                     sealed = excluded.sealed, key_version = excluded.key_version, \
                     updated_at = excluded.updated_at",
                )
                .bind(customer.as_str())
                .bind(&value.field)
                .bind(&value.sealed)
                .bind(i64::from(value.key_version))
                .bind(at.to_string())
                .execute(&mut *conn)
                .await
                .map_err(database)?;
            }
            Write::PutHistory { customer, entry } => {
                if !live(conn, customer).await? {
                    return Ok(Err(Conflict::NoSuchCustomer(customer.clone())));
                }
                sqlx::query(
                    "INSERT INTO field_history (id, customer_id, field, sealed, key_version, \
                     replaced_at, replaced_at_second, replaced_at_nanosecond) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(entry.id.as_str())
                .bind(customer.as_str())
                .bind(&entry.value.field)
                .bind(&entry.value.sealed)
                .bind(i64::from(entry.value.key_version))
                .bind(entry.replaced_at.to_string())
                .bind(entry.replaced_at.as_second())
                .bind(entry.replaced_at.subsec_nanosecond())
                .execute(&mut *conn)
                .await
                .map_err(database)?;
            }
            Write::PurgeCustomer { customer, at } => {
                let done = sqlx::query(
                    "UPDATE customers SET erased_at = $1 WHERE id = $2 AND erased_at IS NULL",
                )
                .bind(at.to_string())
                .bind(customer.as_str())
                .execute(&mut *conn)
                .await
                .map_err(database)?;
                if done.rows_affected() == 0 {
                    return Ok(Err(Conflict::NoSuchCustomer(customer.clone())));
                }
                // What was still to go out cannot any more: the key is gone. A payload that
                // is not personal (an erasure notice) is not sealed, and goes out all the same.
                sqlx::query(
                    "UPDATE outbox SET status = 'dropped', lease_ms = NULL \
                     WHERE customer_id = $1 AND status IN ('pending', 'dead') \
                     AND payload_sealed = 1",
                )
                .bind(customer.as_str())
                .execute(&mut *conn)
                .await
                .map_err(database)?;
                for table in ["customer_fields", "field_history", "export_links"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE customer_id = $1"
                    )))
                    .bind(customer.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(database)?;
                }
                sqlx::query(
                    "DELETE FROM order_fields WHERE order_id IN \
                     (SELECT id FROM orders WHERE customer_id = $1)",
                )
                .bind(customer.as_str())
                .execute(&mut *conn)
                .await
                .map_err(database)?;
            }
            Write::CreateOrder { order: o } => {
                if !live(conn, &o.customer).await? {
                    return Ok(Err(Conflict::NoSuchCustomer(o.customer.clone())));
                }
                sqlx::query(
                    "INSERT INTO orders (id, customer_id, state, placed_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(o.id.as_str())
                .bind(o.customer.as_str())
                .bind(o.state.as_str())
                .bind(o.placed_at.to_string())
                .bind(o.updated_at.to_string())
                .execute(&mut *conn)
                .await
                .map_err(database)?;
                for f in &o.fields {
                    sqlx::query(
                        "INSERT INTO order_fields (order_id, field, sealed, key_version) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(o.id.as_str())
                    .bind(&f.field)
                    .bind(&f.sealed)
                    .bind(i64::from(f.key_version))
                    .execute(&mut *conn)
                    .await
                    .map_err(database)?;
                }
            }
            Write::MoveOrder {
                order,
                customer,
                from,
                to,
                at,
            } => {
                if !live(conn, customer).await? {
                    return Ok(Err(Conflict::NoSuchCustomer(customer.clone())));
                }
                // Moves only from the state it was read in; the batch holds the audit_head
                // lock, and the row is updated in this statement, so no other move slips in.
                let done = sqlx::query(
                    "UPDATE orders SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4",
                )
                .bind(to.as_str())
                .bind(at.to_string())
                .bind(order.as_str())
                .bind(from.as_str())
                .execute(&mut *conn)
                .await
                .map_err(database)?;
                if done.rows_affected() == 0 {
                    return Ok(Err(Conflict::OrderMoved(order.clone())));
                }
                sqlx::query(
                    "INSERT INTO order_moves (order_id, from_state, to_state, at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(order.as_str())
                .bind(from.as_str())
                .bind(to.as_str())
                .bind(at.to_string())
                .execute(&mut *conn)
                .await
                .map_err(database)?;
            }
            Write::RecordConsent { consent: c } => {
                if !live(conn, &c.customer).await? {
                    return Ok(Err(Conflict::NoSuchCustomer(c.customer.clone())));
                }
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO consent_events ({CONSENT_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
                )))
                .bind(c.id.as_str())
                .bind(c.customer.as_str())
                .bind(&c.purpose)
                .bind(c.state.as_str())
                .bind(c.at.to_string())
                .bind(&c.notice_version)
                .bind(&c.notice_hash)
                .bind(c.channel.as_str())
                .bind(&c.recording_id)
                .bind(c.given_by.as_str())
                .bind(&c.recorded_by)
                .bind(&c.options)
                .bind(&c.terms)
                .bind(&c.request_id)
                .bind(c.gpc)
                .bind(c.evidence.as_ref().map(|e| e.sealed.clone()))
                .bind(c.evidence.as_ref().map(|e| i64::from(e.key_version)))
                .execute(&mut *conn)
                .await
                .map_err(database)?;
            }
            Write::EnqueueMessage { message: m } => {
                if !live(conn, &m.customer).await? {
                    return Ok(Err(Conflict::NoSuchCustomer(m.customer.clone())));
                }
                let payload = payload_columns(&m.payload);
                // The same event enqueued twice for a partner is one message.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                     $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
                     ON CONFLICT (partner, idempotency_key) DO NOTHING"
                )))
                .bind(m.id.as_str())
                .bind(&m.partner)
                .bind(m.customer.as_str())
                .bind(&m.kind)
                .bind(&m.idempotency_key)
                .bind(&m.purpose)
                .bind(&m.legal_basis)
                .bind(m.consent.as_ref().map(|c| c.as_str()))
                .bind(list_text(&m.fields))
                .bind(payload.0)
                .bind(payload.1)
                .bind(m.created_at.to_string())
                .bind(m.status.as_str())
                .bind(i64::from(m.attempts))
                .bind(m.next_attempt_at.as_millisecond())
                .bind(&m.last_error)
                .bind(m.delivered_at.map(|t| t.to_string()))
                .bind(payload.2)
                .execute(&mut *conn)
                .await
                .map_err(database)?;
            }
            Write::HoldRecords { customer, records } => {
                if !live(conn, customer).await? {
                    return Ok(Err(Conflict::NoSuchCustomer(customer.clone())));
                }
                for r in records {
                    sqlx::query(
                        "INSERT INTO held_values (customer_id, hold_id, order_id, field, sealed, \
                         key_version, held_until_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (customer_id, hold_id, order_id, field) DO UPDATE SET \
                         sealed = excluded.sealed, key_version = excluded.key_version, \
                         held_until_ms = excluded.held_until_ms",
                    )
                    .bind(r.customer.as_str())
                    .bind(&r.hold)
                    .bind(r.order.as_str())
                    .bind(&r.value.field)
                    .bind(&r.value.sealed)
                    .bind(i64::from(r.value.key_version))
                    .bind(r.held_until.as_millisecond())
                    .execute(&mut *conn)
                    .await
                    .map_err(database)?;
                }
            }
            Write::RecordErasure { erasure, notices } => {
                sqlx::query(
                    "INSERT INTO erasure_reports (customer_id, request_id, erased_at, report) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(erasure.customer.as_str())
                .bind(&erasure.request)
                .bind(erasure.erased_at.to_string())
                .bind(&erasure.report)
                .execute(&mut *conn)
                .await
                .map_err(database)?;
                for n in notices {
                    sqlx::query(
                        "INSERT INTO erasure_notices (public_id, message_id, partner, customer_id) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&n.public_id)
                    .bind(n.message.as_str())
                    .bind(&n.partner)
                    .bind(n.customer.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(database)?;
                }
            }
            Write::MessageDelivered { disclosure: d } => {
                sqlx::query(
                    "UPDATE outbox SET status = 'delivered', delivered_at = $1, lease_ms = NULL, \
                     last_error = NULL WHERE id = $2",
                )
                .bind(d.at.to_string())
                .bind(d.message.as_str())
                .execute(&mut *conn)
                .await
                .map_err(database)?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO disclosures ({DISCLOSURE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, \
                     $6, $7, $8, $9, $10) ON CONFLICT (message_id) DO NOTHING"
                )))
                .bind(d.message.as_str())
                .bind(d.customer.as_str())
                .bind(&d.recipient)
                .bind(list_text(&d.categories))
                .bind(list_text(&d.fields))
                .bind(&d.purpose)
                .bind(&d.legal_basis)
                .bind(d.consent.as_ref().map(|c| c.as_str()))
                .bind(d.at.to_string())
                .bind(&d.digest)
                .execute(&mut *conn)
                .await
                .map_err(database)?;
            }
        }
    }
    Ok(Ok(()))
}

#[async_trait]
impl VaultStore for PgVault {
    async fn commit(&self, tx: Transaction) -> Result<Result<(), Conflict>, StoreError> {
        self.writer.commit(tx).await
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<StoredCustomer>, StoreError> {
        // One query, so the customer and their fields are read from the same snapshot.
        let rows = sqlx::query(
            "SELECT c.created_at, c.erased_at, f.field, f.sealed, f.key_version, \
             (SELECT string_agg(l.kind || ':' || l.purpose, ',') FROM processing_limits l \
              WHERE l.customer_id = c.id AND l.lifted_at IS NULL) AS limits \
             FROM customers c LEFT JOIN customer_fields f ON f.customer_id = c.id \
             WHERE c.id = $1 ORDER BY f.field",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let erased_at: Option<String> = first.try_get("erased_at").map_err(database)?;
        let mut fields = Vec::with_capacity(rows.len());
        for row in &rows {
            let field: Option<String> = row.try_get("field").map_err(database)?;
            if field.is_some() {
                fields.push(sealed_field(row)?);
            }
        }
        Ok(Some(StoredCustomer {
            id: id.clone(),
            created_at: timestamp(first, "created_at")?,
            erased: erased_at.is_some(),
            fields,
            limits: limit_kinds(first.try_get("limits").map_err(database)?)?,
        }))
    }

    async fn live_customers(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE erased_at IS NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(database)?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt("negative count".into()))
    }

    async fn history(&self, id: &CustomerId) -> Result<Vec<StoredHistory>, StoreError> {
        // Oldest first by the instant itself, then by insertion (SQLite: text, then rowid).
        sqlx::query(
            "SELECT id, field, sealed, key_version, replaced_at FROM field_history \
             WHERE customer_id = $1 ORDER BY replaced_at_second, replaced_at_nanosecond, seq",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(|row| {
            let entry: String = row.try_get("id").map_err(database)?;
            Ok(StoredHistory {
                id: HistoryId::parse(&entry)
                    .ok_or_else(|| StoreError::Corrupt("bad history id".into()))?,
                replaced_at: timestamp(row, "replaced_at")?,
                value: sealed_field(row)?,
            })
        })
        .collect()
    }

    async fn order(&self, id: &OrderId) -> Result<Option<StoredOrder>, StoreError> {
        // One query, so the order and its fields are read from the same snapshot.
        let rows = sqlx::query(
            "SELECT o.id, o.customer_id, o.state, o.placed_at, o.updated_at, f.field, f.sealed, \
             f.key_version FROM orders o LEFT JOIN order_fields f ON f.order_id = o.id \
             WHERE o.id = $1 ORDER BY f.field",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        stored_order(&rows)
    }

    async fn orders_of(&self, customer: &CustomerId) -> Result<Vec<OrderSummary>, StoreError> {
        sqlx::query("SELECT id, state, placed_at FROM orders WHERE customer_id = $1 ORDER BY id")
            .bind(customer.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(database)?
            .iter()
            .map(order_summary)
            .collect()
    }

    async fn orders_page(
        &self,
        customer: &CustomerId,
        after: Option<&OrderId>,
        limit: u32,
    ) -> Result<Vec<StoredOrder>, StoreError> {
        // The page's orders first, then their fields: one snapshot, one round trip.
        let rows = sqlx::query(
            "SELECT o.id, o.customer_id, o.state, o.placed_at, o.updated_at, f.field, f.sealed, \
             f.key_version FROM (SELECT id, customer_id, state, placed_at, updated_at FROM orders \
             WHERE customer_id = $1 AND id > $2 ORDER BY id LIMIT $3) o \
             LEFT JOIN order_fields f ON f.order_id = o.id ORDER BY o.id, f.field",
        )
        .bind(customer.as_str())
        .bind(after.map(OrderId::as_str).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        crate::rows::stored_orders(&rows)
    }

    async fn order_moves(
        &self,
        orders: &[OrderId],
    ) -> Result<Vec<custodian_core::vault::OrderMove>, StoreError> {
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "SELECT order_id, from_state, to_state, at FROM order_moves WHERE order_id IN (",
        );
        let mut list = q.separated(", ");
        for id in orders {
            list.push_bind(id.as_str().to_owned());
        }
        q.push(") ORDER BY order_id, seq");
        q.build()
            .fetch_all(&self.pool)
            .await
            .map_err(database)?
            .iter()
            .map(crate::rows::order_move)
            .collect()
    }

    async fn order_field_names(&self, customer: &CustomerId) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(
            "SELECT DISTINCT f.field FROM orders o JOIN order_fields f ON f.order_id = o.id \
             WHERE o.customer_id = $1 ORDER BY f.field",
        )
        .bind(customer.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)
    }

    async fn order_count(&self, customer: &CustomerId) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE customer_id = $1")
            .bind(customer.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(database)?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt("negative count".into()))
    }

    async fn consents(&self, id: &CustomerId) -> Result<Vec<StoredConsent>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT ON (purpose) {CONSENT_COLUMNS} FROM consent_events \
             WHERE customer_id = $1 ORDER BY purpose, seq DESC"
        )))
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(stored_consent)
        .collect()
    }

    async fn consent_history(&self, id: &CustomerId) -> Result<Vec<StoredConsent>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONSENT_COLUMNS} FROM consent_events WHERE customer_id = $1 ORDER BY seq"
        )))
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(stored_consent)
        .collect()
    }

    async fn audit_entries(&self, after: u64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        sqlx::query(
            "SELECT seq, prev_hash, hash, customer_id, event FROM audit_log WHERE seq > $1 \
             ORDER BY seq LIMIT $2",
        )
        .bind(seq_param(after)?)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(database)?
        .iter()
        .map(|row| {
            Ok(AuditEntry {
                seq: seq_of(row, "seq")?,
                prev_hash: row.try_get("prev_hash").map_err(database)?,
                hash: row.try_get("hash").map_err(database)?,
                customer: row.try_get("customer_id").map_err(database)?,
                event: row.try_get("event").map_err(database)?,
            })
        })
        .collect()
    }

    async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        sqlx::query("SELECT seq, hash, at, mac FROM audit_checkpoints ORDER BY seq")
            .fetch_all(&self.pool)
            .await
            .map_err(database)?
            .iter()
            .map(|row| {
                Ok(Checkpoint {
                    seq: seq_of(row, "seq")?,
                    hash: row.try_get("hash").map_err(database)?,
                    at: timestamp(row, "at")?,
                    mac: row.try_get("mac").map_err(database)?,
                })
            })
            .collect()
    }
}
