//! The vault on SQLite: reads through the pool, writes through one group-commit writer with
//! a connection of its own.

use async_trait::async_trait;
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, QueryBuilder, Row, Sqlite, SqlitePool};

use custodian_core::StoreError;
use custodian_core::audit::{AuditEntry, AuditEvent, Checkpoint, CheckpointSigner};
use custodian_core::ids::{CustomerId, HistoryId, OrderId};
use custodian_core::vault::{
    Conflict, OrderSummary, StoredConsent, StoredCustomer, StoredHistory, StoredOrder, Transaction,
    VaultStore, Write,
};

use super::{SqliteStore, database, end_transaction};
use crate::rows::{
    CONSENT_COLUMNS, DISCLOSURE_COLUMNS, OUTBOX_COLUMNS, customer_id, limit_kinds, list_text,
    order_id, order_state, order_summary, payload_columns, sealed_field, seq_of, seq_param,
    stored_consent, stored_order, timestamp,
};
use crate::writer::{
    BatchBackend, BatchState, ChainHead, CustomerState, Writer, admit, customers_expected_in,
    customers_in, orders_moved_in,
};

/// The vault's storage on SQLite. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteVault {
    pub(super) pool: SqlitePool,
    writer: Writer,
}

impl SqliteStore {
    /// The vault in this database, signing audit checkpoints with `signer`. Opens a dedicated
    /// writer connection.
    pub async fn vault(&self, signer: CheckpointSigner) -> Result<SqliteVault, StoreError> {
        let conn = SqliteConnection::connect_with(&self.options)
            .await
            .map_err(database)?;
        let writer = Writer::spawn(SqliteWriter { conn, signer });
        Ok(SqliteVault {
            pool: self.pool.clone(),
            writer,
        })
    }
}

struct SqliteWriter {
    conn: SqliteConnection,
    signer: CheckpointSigner,
}

#[async_trait]
impl BatchBackend for SqliteWriter {
    type Op = Transaction;
    type Done = Result<(), Conflict>;

    async fn apply(
        &mut self,
        batch: &[Transaction],
    ) -> Result<Vec<Result<(), Conflict>>, StoreError> {
        // IMMEDIATE takes the write lock now, so the chain head read below cannot go stale
        // under another process (a `keys rotate` run, say).
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut self.conn)
            .await
            .map_err(database)?;
        let outcome = apply_batch(&mut self.conn, &self.signer, batch).await;
        end_transaction(&mut self.conn, outcome).await
    }
}

/// Rows per multi-row statement: well under SQLite's limit of 32766 bound values.
const ROWS_PER_STATEMENT: usize = 500;

/// Applies a batch with a handful of statements in all, whatever its size: each statement a
/// round trip to SQLite's worker thread, which is what bounds throughput, not the sync.
/// Which transactions apply is decided first, in order, by [`admit`]; the admitted writes are
/// then grouped by kind, in an order that gives the same result as applying them one by one.
async fn apply_batch(
    conn: &mut SqliteConnection,
    signer: &CheckpointSigner,
    batch: &[Transaction],
) -> Result<Vec<Result<(), Conflict>>, StoreError> {
    let outcomes = admit(batch, batch_state(conn, batch).await?);
    let admitted: Vec<&Transaction> = batch
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| o.is_ok())
        .map(|(tx, _)| tx)
        .collect();

    let mut creates = Vec::new();
    let mut fields = Vec::new();
    let mut history = Vec::new();
    let mut purges = Vec::new();
    let mut consents = Vec::new();
    let mut orders = Vec::new();
    let mut moves = Vec::new();
    let mut messages = Vec::new();
    let mut deliveries = Vec::new();
    let mut held = Vec::new();
    let mut erasures = Vec::new();
    for write in admitted.iter().flat_map(|tx| &tx.writes) {
        match write {
            Write::CreateCustomer { id, created_at } => creates.push((id, created_at)),
            Write::ExpectField { .. } => {}
            Write::PutField {
                customer,
                value,
                at,
            } => fields.push((customer, value, at)),
            Write::PutHistory { customer, entry } => history.push((customer, entry)),
            Write::PurgeCustomer { customer, at } => purges.push((customer, at)),
            Write::RecordConsent { consent } => consents.push(consent),
            Write::CreateOrder { order } => orders.push(order),
            Write::MoveOrder {
                order,
                from,
                to,
                at,
                ..
            } => moves.push((order, from, to, at)),
            Write::EnqueueMessage { message } => messages.push(message),
            Write::MessageDelivered { disclosure } => deliveries.push(disclosure),
            Write::HoldRecords { records, .. } => held.extend(records),
            Write::RecordErasure { erasure, notices } => erasures.push((erasure, notices)),
        }
    }
    for chunk in creates.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO customers (id, created_at) ");
        q.push_values(chunk, |mut row, (id, at)| {
            row.push_bind(id.as_str().to_owned())
                .push_bind(at.to_string());
        });
        q.build().execute(&mut *conn).await.map_err(database)?;
    }
    for chunk in fields.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO customer_fields (customer_id, field, sealed, key_version, updated_at) ",
        );
        q.push_values(chunk, |mut row, (customer, value, at)| {
            row.push_bind(customer.as_str().to_owned())
                .push_bind(value.field.clone())
                .push_bind(value.sealed.clone())
                .push_bind(i64::from(value.key_version))
                .push_bind(at.to_string());
        });
        // Rows are applied in order, so a later correction of the same field wins.
        q.push(
            " ON CONFLICT (customer_id, field) DO UPDATE SET sealed = excluded.sealed, \
             key_version = excluded.key_version, updated_at = excluded.updated_at",
        );
        q.build().execute(&mut *conn).await.map_err(database)?;
    }
    for chunk in history.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO field_history (id, customer_id, field, sealed, key_version, replaced_at) ",
        );
        q.push_values(chunk, |mut row, (customer, entry)| {
            row.push_bind(entry.id.as_str().to_owned())
                .push_bind(customer.as_str().to_owned())
                .push_bind(entry.value.field.clone())
                .push_bind(entry.value.sealed.clone())
                .push_bind(i64::from(entry.value.key_version))
                .push_bind(entry.replaced_at.to_string());
        });
        q.build().execute(&mut *conn).await.map_err(database)?;
    }
    for chunk in orders.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO orders (id, customer_id, state, placed_at, updated_at) ",
        );
        q.push_values(chunk, |mut row, o| {
            row.push_bind(o.id.as_str().to_owned())
                .push_bind(o.customer.as_str().to_owned())
                .push_bind(o.state.as_str())
                .push_bind(o.placed_at.to_string())
                .push_bind(o.updated_at.to_string());
        });
        q.build().execute(&mut *conn).await.map_err(database)?;
    }
    let order_fields: Vec<_> = orders
        .iter()
        .flat_map(|o| o.fields.iter().map(move |f| (&o.id, f)))
        .collect();
    for chunk in order_fields.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO order_fields (order_id, field, sealed, key_version) ",
        );
        q.push_values(chunk, |mut row, (id, f)| {
            row.push_bind(id.as_str().to_owned())
                .push_bind(f.field.clone())
                .push_bind(f.sealed.clone())
                .push_bind(i64::from(f.key_version));
        });
        q.build().execute(&mut *conn).await.map_err(database)?;
    }
    // In order: admission checked each move against the state the one before it left.
    for (order, from, to, at) in moves {
        sqlx::query("UPDATE orders SET state = ?, updated_at = ? WHERE id = ?")
            .bind(to.as_str())
            .bind(at.to_string())
            .bind(order.as_str())
            .execute(&mut *conn)
            .await
            .map_err(database)?;
        sqlx::query(
            "INSERT INTO order_moves (order_id, from_state, to_state, at) VALUES (?, ?, ?, ?)",
        )
        .bind(order.as_str())
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(at.to_string())
        .execute(&mut *conn)
        .await
        .map_err(database)?;
    }
    // In order: the latest entry per purpose is the consent as it stands.
    for chunk in consents.chunks(ROWS_PER_STATEMENT) {
        let mut q =
            QueryBuilder::<Sqlite>::new(format!("INSERT INTO consent_events ({CONSENT_COLUMNS}) "));
        q.push_values(chunk, |mut row, c| {
            row.push_bind(c.id.as_str().to_owned())
                .push_bind(c.customer.as_str().to_owned())
                .push_bind(c.purpose.clone())
                .push_bind(c.state.as_str())
                .push_bind(c.at.to_string())
                .push_bind(c.notice_version.clone())
                .push_bind(c.notice_hash.clone())
                .push_bind(c.channel.as_str())
                .push_bind(c.recording_id.clone())
                .push_bind(c.given_by.as_str())
                .push_bind(c.recorded_by.clone())
                .push_bind(c.options.clone())
                .push_bind(c.terms.clone())
                .push_bind(c.request_id.clone())
                .push_bind(c.gpc)
                .push_bind(c.evidence.as_ref().map(|e| e.sealed.clone()))
                .push_bind(c.evidence.as_ref().map(|e| i64::from(e.key_version)));
        });
        q.build().execute(&mut *conn).await.map_err(database)?;
    }
    for chunk in messages.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO outbox ({OUTBOX_COLUMNS}, lease_ms) "
        ));
        q.push_values(chunk, |mut row, m| {
            row.push_bind(m.id.as_str().to_owned())
                .push_bind(m.partner.clone())
                .push_bind(m.customer.as_str().to_owned())
                .push_bind(m.kind.clone())
                .push_bind(m.idempotency_key.clone())
                .push_bind(m.purpose.clone())
                .push_bind(m.legal_basis.clone())
                .push_bind(m.consent.as_ref().map(|c| c.as_str().to_owned()))
                .push_bind(list_text(&m.fields))
                .push_bind(payload_columns(&m.payload).0)
                .push_bind(payload_columns(&m.payload).1)
                .push_bind(m.created_at.to_string())
                .push_bind(m.status.as_str())
                .push_bind(i64::from(m.attempts))
                .push_bind(m.next_attempt_at.as_millisecond())
                .push_bind(m.last_error.clone())
                .push_bind(m.delivered_at.map(|t| t.to_string()))
                .push_bind(payload_columns(&m.payload).2)
                .push_bind(None::<i64>);
        });
        // The same event enqueued twice for a partner is one message.
        q.push(" ON CONFLICT (partner, idempotency_key) DO NOTHING");
        q.build().execute(&mut *conn).await.map_err(database)?;
    }
    for d in deliveries {
        sqlx::query(
            "UPDATE outbox SET status = 'delivered', delivered_at = ?, lease_ms = NULL, \
             last_error = NULL WHERE id = ?",
        )
        .bind(d.at.to_string())
        .bind(d.message.as_str())
        .execute(&mut *conn)
        .await
        .map_err(database)?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO disclosures ({DISCLOSURE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (message_id) DO NOTHING"
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
    // Rows are applied in order: a value held again (a retried erasure) replaces the first.
    for chunk in held.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO held_values (customer_id, hold_id, order_id, field, sealed, key_version, \
             held_until_ms) ",
        );
        q.push_values(chunk, |mut row, r| {
            row.push_bind(r.customer.as_str().to_owned())
                .push_bind(r.hold.clone())
                .push_bind(r.order.as_str().to_owned())
                .push_bind(r.value.field.clone())
                .push_bind(r.value.sealed.clone())
                .push_bind(i64::from(r.value.key_version))
                .push_bind(r.held_until.as_millisecond());
        });
        q.push(
            " ON CONFLICT (customer_id, hold_id, order_id, field) DO UPDATE SET \
             sealed = excluded.sealed, key_version = excluded.key_version, \
             held_until_ms = excluded.held_until_ms",
        );
        q.build().execute(&mut *conn).await.map_err(database)?;
    }
    for (erasure, notices) in erasures {
        sqlx::query(
            "INSERT INTO erasure_reports (customer_id, request_id, erased_at, report) \
             VALUES (?, ?, ?, ?)",
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
                 VALUES (?, ?, ?, ?)",
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
    // Last: an erasure removes whatever the batch wrote for the customer before it.
    for (customer, at) in purges {
        sqlx::query("UPDATE customers SET erased_at = ? WHERE id = ?")
            .bind(at.to_string())
            .bind(customer.as_str())
            .execute(&mut *conn)
            .await
            .map_err(database)?;
        // What was still to go out cannot any more: the key is gone. A payload that is not
        // personal (an erasure notice) is not sealed, and goes out all the same.
        sqlx::query(
            "UPDATE outbox SET status = 'dropped', lease_ms = NULL \
             WHERE customer_id = ? AND status IN ('pending', 'dead') AND payload_sealed = 1",
        )
        .bind(customer.as_str())
        .execute(&mut *conn)
        .await
        .map_err(database)?;
        for table in ["customer_fields", "field_history", "export_links"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE customer_id = ?"
            )))
            .bind(customer.as_str())
            .execute(&mut *conn)
            .await
            .map_err(database)?;
        }
        sqlx::query(
            "DELETE FROM order_fields WHERE order_id IN (SELECT id FROM orders WHERE customer_id = ?)",
        )
        .bind(customer.as_str())
        .execute(&mut *conn)
        .await
        .map_err(database)?;
    }
    append_audit(conn, signer, &admitted).await?;
    Ok(outcomes)
}

/// The state before the batch of every customer it touches, and the current values of the
/// fields its preconditions name.
async fn batch_state(
    conn: &mut SqliteConnection,
    batch: &[Transaction],
) -> Result<BatchState, StoreError> {
    let mut state = BatchState::default();
    for chunk in customers_in(batch).chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT id, erased_at IS NULL AS live FROM customers WHERE id IN (",
        );
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(id.as_str().to_owned());
        }
        q.push(")");
        for row in q.build().fetch_all(&mut *conn).await.map_err(database)? {
            let live: bool = row.try_get("live").map_err(database)?;
            let s = if live {
                CustomerState::Live
            } else {
                CustomerState::Erased
            };
            state.customers.insert(customer_id(&row, "id")?, s);
        }
    }
    for chunk in orders_moved_in(batch).chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT id, state FROM orders WHERE id IN (");
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(id.as_str().to_owned());
        }
        q.push(")");
        for row in q.build().fetch_all(&mut *conn).await.map_err(database)? {
            state
                .orders
                .insert(order_id(&row, "id")?, order_state(&row, "state")?);
        }
    }
    for chunk in customers_expected_in(batch).chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT customer_id, field, sealed FROM customer_fields WHERE customer_id IN (",
        );
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(id.as_str().to_owned());
        }
        q.push(")");
        for row in q.build().fetch_all(&mut *conn).await.map_err(database)? {
            let key = (
                customer_id(&row, "customer_id")?,
                row.try_get("field").map_err(database)?,
            );
            state
                .fields
                .insert(key, row.try_get("sealed").map_err(database)?);
        }
    }
    Ok(state)
}

/// Chains the admitted transactions' audit events after the current head, in one statement
/// per chunk, and writes a signed checkpoint when one is due.
async fn append_audit(
    conn: &mut SqliteConnection,
    signer: &CheckpointSigner,
    admitted: &[&Transaction],
) -> Result<(), StoreError> {
    let events: Vec<&AuditEvent> = admitted.iter().flat_map(|tx| &tx.audit).collect();
    let Some(last_event) = events.last() else {
        return Ok(());
    };
    let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(database)?
        .map(|row| {
            Ok::<_, StoreError>((
                seq_of(&row, "seq")?,
                row.try_get::<String, _>("hash").map_err(database)?,
            ))
        })
        .transpose()?;
    let mut head = ChainHead::new(last);
    let entries: Vec<AuditEntry> = admitted
        .iter()
        .flat_map(|tx| head.append(&tx.audit))
        .collect();
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO audit_log (seq, prev_hash, hash, customer_id, event) ",
        );
        let mut bad_seq = false;
        q.push_values(chunk, |mut row, entry| {
            let seq = i64::try_from(entry.seq).unwrap_or_else(|_| {
                bad_seq = true;
                0
            });
            row.push_bind(seq)
                .push_bind(entry.prev_hash.clone())
                .push_bind(entry.hash.clone())
                .push_bind(entry.customer.clone())
                .push_bind(entry.event.clone());
        });
        if bad_seq {
            return Err(StoreError::Corrupt("sequence number out of range".into()));
        }
        q.build().execute(&mut *conn).await.map_err(database)?;
    }
    let last_checkpoint_at =
        sqlx::query("SELECT at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(database)?
            .map(|row| timestamp(&row, "at"))
            .transpose()?;
    if let Some(c) = head.checkpoint_due(signer, Some(last_event.at), last_checkpoint_at) {
        sqlx::query("INSERT INTO audit_checkpoints (seq, hash, at, mac) VALUES (?, ?, ?, ?)")
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
    Ok(())
}

#[async_trait]
impl VaultStore for SqliteVault {
    async fn commit(&self, tx: Transaction) -> Result<Result<(), Conflict>, StoreError> {
        self.writer.commit(tx).await
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<StoredCustomer>, StoreError> {
        // One query, so the customer and their fields are read from the same snapshot.
        let rows = sqlx::query(
            "SELECT c.created_at, c.erased_at, f.field, f.sealed, f.key_version, \
             (SELECT group_concat(l.kind || ':' || l.purpose, ',') FROM processing_limits l \
              WHERE l.customer_id = c.id AND l.lifted_at IS NULL) AS limits \
             FROM customers c LEFT JOIN customer_fields f ON f.customer_id = c.id \
             WHERE c.id = ? ORDER BY f.field",
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
        sqlx::query(
            "SELECT id, field, sealed, key_version, replaced_at FROM field_history \
             WHERE customer_id = ? ORDER BY rowid",
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
             WHERE o.id = ? ORDER BY f.field",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        stored_order(&rows)
    }

    async fn orders_of(&self, customer: &CustomerId) -> Result<Vec<OrderSummary>, StoreError> {
        sqlx::query("SELECT id, state, placed_at FROM orders WHERE customer_id = ? ORDER BY id")
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
             WHERE customer_id = ? AND id > ? ORDER BY id LIMIT ?) o \
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
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
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
             WHERE o.customer_id = ? ORDER BY f.field",
        )
        .bind(customer.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(database)
    }

    async fn order_count(&self, customer: &CustomerId) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE customer_id = ?")
            .bind(customer.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(database)?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt("negative count".into()))
    }

    async fn consents(&self, id: &CustomerId) -> Result<Vec<StoredConsent>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONSENT_COLUMNS} FROM consent_events e WHERE customer_id = ? AND seq = \
             (SELECT MAX(seq) FROM consent_events l \
              WHERE l.customer_id = e.customer_id AND l.purpose = e.purpose) \
             ORDER BY purpose"
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
            "SELECT {CONSENT_COLUMNS} FROM consent_events WHERE customer_id = ? ORDER BY seq"
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
            "SELECT seq, prev_hash, hash, customer_id, event FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
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
