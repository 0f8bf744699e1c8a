//! Group commit, for every backend: transactions queue to one writer task, which applies as
//! many as are waiting in one database transaction (one sync to disk for all of them) and
//! acknowledges each only after the commit returned. Durability is never weakened; the cost
//! of the sync is shared.

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use custodian_core::StoreError;
use custodian_core::audit::{AuditEntry, AuditEvent, Checkpoint, CheckpointSigner, GENESIS};
use std::collections::HashMap;

use custodian_core::ids::{CustomerId, OrderId};
use custodian_core::orders::OrderState;
use custodian_core::vault::{Conflict, Transaction, Write};

/// The most operations committed together.
pub(crate) const MAX_BATCH: usize = 256;
/// How many operations may wait for the writer before callers wait to enqueue.
const QUEUE: usize = 4096;

pub(crate) type Outcome = Result<Result<(), Conflict>, StoreError>;

/// A database that applies a batch of operations in one database transaction.
#[async_trait]
pub(crate) trait BatchBackend: Send + 'static {
    /// One caller's unit of work.
    type Op: Send + 'static;
    /// What each caller is told once the batch is durable.
    type Done: Send + 'static;

    /// Applies `batch` in one database transaction and returns one result per operation, in
    /// order. An operation whose precondition fails is undone alone (a savepoint) and reports
    /// it in its `Done`; a database error fails the whole batch and nothing of it is kept.
    async fn apply(&mut self, batch: &[Self::Op]) -> Result<Vec<Self::Done>, StoreError>;
}

struct Job<Op, Done> {
    op: Op,
    reply: oneshot::Sender<Result<Done, StoreError>>,
}

/// The handle callers submit operations through.
#[derive(Debug)]
pub(crate) struct BatchWriter<Op, Done> {
    jobs: mpsc::Sender<Job<Op, Done>>,
}

impl<Op, Done> Clone for BatchWriter<Op, Done> {
    fn clone(&self) -> Self {
        BatchWriter {
            jobs: self.jobs.clone(),
        }
    }
}

impl<Op, Done> std::fmt::Debug for Job<Op, Done> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

/// The vault's writer: transactions with their audit events.
pub(crate) type Writer = BatchWriter<Transaction, Result<(), Conflict>>;

impl<Op: Send + 'static, Done: Send + 'static> BatchWriter<Op, Done> {
    /// Starts the writer task; it ends when every handle is dropped.
    pub(crate) fn spawn<B: BatchBackend<Op = Op, Done = Done>>(mut backend: B) -> Self {
        let (jobs, mut queue) = mpsc::channel::<Job<Op, Done>>(QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let (ops, replies): (Vec<Op>, Vec<_>) =
                    batch.drain(..).map(|j| (j.op, j.reply)).unzip();
                match backend.apply(&ops).await {
                    Ok(outcomes) => {
                        for (reply, outcome) in replies.into_iter().zip(outcomes) {
                            let _ = reply.send(Ok(outcome));
                        }
                    }
                    Err(e) => {
                        let message = e.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(StoreError::Database(message.clone().into())));
                        }
                    }
                }
            }
        });
        BatchWriter { jobs }
    }

    /// Queues `op` and waits until it is durable (or refused).
    pub(crate) async fn submit(&self, op: Op) -> Result<Done, StoreError> {
        let (reply, done) = oneshot::channel();
        let stopped = || StoreError::Database("the database writer has stopped".into());
        self.jobs
            .send(Job { op, reply })
            .await
            .map_err(|_| stopped())?;
        done.await.map_err(|_| stopped())?
    }
}

impl Writer {
    /// Queues a transaction and waits until it is durable (or refused).
    pub(crate) async fn commit(&self, tx: Transaction) -> Outcome {
        self.submit(tx).await
    }
}

/// The end of the audit chain while a batch is applied.
#[derive(Debug, Clone)]
pub(crate) struct ChainHead {
    pub seq: u64,
    pub hash: String,
    /// The head when the batch started, to decide whether it crossed a checkpoint boundary.
    started_at_seq: u64,
}

/// A checkpoint is written whenever the chain crosses a multiple of this many entries, and
/// at the end of any batch that ends a run of activity longer than [`CHECKPOINT_SECONDS`].
const CHECKPOINT_EVERY: u64 = 64;
const CHECKPOINT_SECONDS: i64 = 5;

impl ChainHead {
    pub(crate) fn new(last: Option<(u64, String)>) -> ChainHead {
        let (seq, hash) = last.unwrap_or_else(|| (0, GENESIS.to_owned()));
        ChainHead {
            seq,
            hash,
            started_at_seq: seq,
        }
    }

    /// Chains `events` after the head, advancing it.
    pub(crate) fn append(&mut self, events: &[AuditEvent]) -> Vec<AuditEntry> {
        events
            .iter()
            .map(|event| {
                let entry = AuditEntry::chain(self.seq + 1, &self.hash, event);
                self.seq = entry.seq;
                self.hash.clone_from(&entry.hash);
                entry
            })
            .collect()
    }

    /// The checkpoint to write at the end of the batch, if one is due. `last_checkpoint_at`
    /// is the time of the newest checkpoint in the database.
    pub(crate) fn checkpoint_due(
        &self,
        signer: &CheckpointSigner,
        last_event_at: Option<jiff::Timestamp>,
        last_checkpoint_at: Option<jiff::Timestamp>,
    ) -> Option<Checkpoint> {
        let at = last_event_at?;
        let crossed = self.seq / CHECKPOINT_EVERY > self.started_at_seq / CHECKPOINT_EVERY;
        let stale =
            last_checkpoint_at.is_none_or(|t| at.duration_since(t).as_secs() >= CHECKPOINT_SECONDS);
        (self.seq > self.started_at_seq && (crossed || stale))
            .then(|| signer.checkpoint(self.seq, &self.hash, at))
    }
}

/// What a batch needs to know of a customer it touches, before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CustomerState {
    Absent,
    Live,
    Erased,
}

/// The customers a batch's writes name, each once.
pub(crate) fn customers_in(batch: &[Transaction]) -> Vec<&CustomerId> {
    let mut ids: Vec<&CustomerId> = Vec::new();
    for write in batch.iter().flat_map(|tx| &tx.writes) {
        let id = write_customer(write);
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The orders whose states the batch's moves need.
pub(crate) fn orders_moved_in(batch: &[Transaction]) -> Vec<&OrderId> {
    let mut ids: Vec<&OrderId> = Vec::new();
    for write in batch.iter().flat_map(|tx| &tx.writes) {
        if let Write::MoveOrder { order, .. } = write
            && !ids.contains(&order)
        {
            ids.push(order);
        }
    }
    ids
}

/// The customers whose field values the batch's preconditions need.
pub(crate) fn customers_expected_in(batch: &[Transaction]) -> Vec<&CustomerId> {
    let mut ids: Vec<&CustomerId> = Vec::new();
    for write in batch.iter().flat_map(|tx| &tx.writes) {
        if let Write::ExpectField { customer, .. } = write
            && !ids.contains(&customer)
        {
            ids.push(customer);
        }
    }
    ids
}

fn write_customer(write: &Write) -> &CustomerId {
    match write {
        Write::CreateCustomer { id, .. } => id,
        Write::ExpectField { customer, .. }
        | Write::PutField { customer, .. }
        | Write::PutHistory { customer, .. }
        | Write::PurgeCustomer { customer, .. }
        | Write::HoldRecords { customer, .. } => customer,
        Write::RecordErasure { erasure, .. } => &erasure.customer,
        Write::RecordConsent { consent } => &consent.customer,
        Write::CreateOrder { order } => &order.customer,
        Write::MoveOrder { customer, .. } => customer,
        Write::EnqueueMessage { message } => &message.customer,
        Write::MessageDelivered { disclosure } => &disclosure.customer,
    }
}

/// What a batch needs to know before anything is written: the state of every customer it
/// touches, and the current sealed value of every field a precondition names.
#[derive(Debug, Default)]
pub(crate) struct BatchState {
    pub customers: HashMap<CustomerId, CustomerState>,
    pub fields: HashMap<(CustomerId, String), Vec<u8>>,
    /// The state of every order the batch moves (absent: no such order).
    pub orders: HashMap<OrderId, OrderState>,
}

/// Decides, in order, which transactions of a batch can apply, from the state before the
/// batch: exactly what applying them one by one would decide. A backend can then write the
/// admitted ones with a few statements for the whole batch instead of a few per write.
pub(crate) fn admit(batch: &[Transaction], mut state: BatchState) -> Vec<Result<(), Conflict>> {
    batch
        .iter()
        .map(|tx| {
            let outcome = stage(&state, tx);
            if let Ok(changes) = &outcome {
                for change in changes {
                    match change {
                        Change::Customer(id, s) => {
                            state.customers.insert((*id).clone(), *s);
                            if *s == CustomerState::Erased {
                                state.fields.retain(|(c, _), _| c != *id);
                            }
                        }
                        Change::Field(id, field, sealed) => {
                            state
                                .fields
                                .insert(((*id).clone(), (*field).to_owned()), sealed.to_vec());
                        }
                        Change::Order(id, s) => {
                            state.orders.insert((*id).clone(), *s);
                        }
                    }
                }
            }
            outcome.map(|_| ())
        })
        .collect()
}

/// A change one transaction would make to the batch's state.
enum Change<'a> {
    Customer(&'a CustomerId, CustomerState),
    Field(&'a CustomerId, &'a str, &'a [u8]),
    Order(&'a OrderId, OrderState),
}

/// Checks one transaction's preconditions against the state, returning what it changes.
fn stage<'a>(state: &BatchState, tx: &'a Transaction) -> Result<Vec<Change<'a>>, Conflict> {
    let mut changes: Vec<Change<'a>> = Vec::new();
    let customer_now = |id: &CustomerId, changes: &[Change<'_>]| {
        changes
            .iter()
            .rev()
            .find_map(|c| match c {
                Change::Customer(c, s) if *c == id => Some(*s),
                _ => None,
            })
            .or_else(|| state.customers.get(id).copied())
            .unwrap_or(CustomerState::Absent)
    };
    let live = |id: &CustomerId, changes: &[Change<'_>]| {
        if customer_now(id, changes) == CustomerState::Live {
            Ok(())
        } else {
            Err(Conflict::NoSuchCustomer(id.clone()))
        }
    };
    for write in &tx.writes {
        match write {
            Write::CreateCustomer { id, .. } => {
                if customer_now(id, &changes) != CustomerState::Absent {
                    return Err(Conflict::CustomerExists(id.clone()));
                }
                changes.push(Change::Customer(id, CustomerState::Live));
            }
            Write::PurgeCustomer { customer, .. } => {
                live(customer, &changes)?;
                changes.push(Change::Customer(customer, CustomerState::Erased));
            }
            Write::ExpectField {
                customer,
                field,
                sealed,
            } => {
                live(customer, &changes)?;
                let now: Option<&[u8]> = changes
                    .iter()
                    .rev()
                    .find_map(|c| match c {
                        Change::Field(c, f, v) if *c == customer && *f == field => Some(*v),
                        _ => None,
                    })
                    .or_else(|| {
                        state
                            .fields
                            .get(&(customer.clone(), field.clone()))
                            .map(Vec::as_slice)
                    });
                if now != sealed.as_deref() {
                    return Err(Conflict::FieldChanged {
                        customer: customer.clone(),
                        field: field.clone(),
                    });
                }
            }
            Write::PutField {
                customer, value, ..
            } => {
                live(customer, &changes)?;
                changes.push(Change::Field(customer, &value.field, &value.sealed));
            }
            Write::PutHistory { customer, .. } => {
                live(customer, &changes)?;
            }
            Write::RecordConsent { consent } => live(&consent.customer, &changes)?,
            Write::CreateOrder { order } => {
                live(&order.customer, &changes)?;
                changes.push(Change::Order(&order.id, order.state));
            }
            Write::MoveOrder {
                order,
                customer,
                from,
                to,
                ..
            } => {
                live(customer, &changes)?;
                let now = changes
                    .iter()
                    .rev()
                    .find_map(|c| match c {
                        Change::Order(o, s) if *o == order => Some(*s),
                        _ => None,
                    })
                    .or_else(|| state.orders.get(order).copied());
                if now != Some(*from) {
                    return Err(Conflict::OrderMoved(order.clone()));
                }
                changes.push(Change::Order(order, *to));
            }
            Write::EnqueueMessage { message } => live(&message.customer, &changes)?,
            // What was released stays on record, even for a customer erased meanwhile.
            Write::MessageDelivered { .. } => {}
            Write::HoldRecords { customer, .. } => live(customer, &changes)?,
            // Committed with the purge, which checks the customer.
            Write::RecordErasure { .. } => {}
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;

    fn id(n: u8) -> CustomerId {
        CustomerId::parse(&format!("cus_{:032x}", n)).unwrap()
    }

    fn tx(writes: Vec<Write>) -> Transaction {
        Transaction {
            writes,
            audit: vec![],
        }
    }

    #[test]
    fn admission_follows_the_order_of_the_batch() {
        let at = Timestamp::UNIX_EPOCH;
        let create = |n| Write::CreateCustomer {
            id: id(n),
            created_at: at,
        };
        let purge = |n| Write::PurgeCustomer {
            customer: id(n),
            at,
        };
        let touch = |n| Write::ExpectField {
            customer: id(n),
            field: "k".into(),
            sealed: None,
        };
        let batch = vec![
            tx(vec![create(1), touch(1)]), // new customer, then a write to it: ok
            tx(vec![touch(2)]),            // unknown customer
            tx(vec![create(3)]),           // exists already
            tx(vec![purge(4)]),            // live: ok
            tx(vec![touch(4)]),            // erased by the previous transaction
            tx(vec![touch(5), purge(6)]),  // the second write fails: the whole tx is refused
            tx(vec![touch(5)]),            // and 5 is still live for the next one
        ];
        let state = HashMap::from([
            (id(3), CustomerState::Live),
            (id(4), CustomerState::Live),
            (id(5), CustomerState::Live),
            (id(6), CustomerState::Erased),
        ]);
        let state = BatchState {
            customers: state,
            fields: HashMap::new(),
            orders: HashMap::new(),
        };
        let ok: Vec<bool> = admit(&batch, state).iter().map(Result::is_ok).collect();
        assert_eq!(ok, [true, false, false, true, false, false, true]);
    }

    #[test]
    fn a_correction_expecting_a_value_that_changed_is_refused() {
        let at = Timestamp::UNIX_EPOCH;
        let expect = |v: Option<&[u8]>| Write::ExpectField {
            customer: id(1),
            field: "f".into(),
            sealed: v.map(<[u8]>::to_vec),
        };
        let put = |v: &[u8]| Write::PutField {
            customer: id(1),
            value: custodian_core::vault::SealedField {
                field: "f".into(),
                sealed: v.to_vec(),
                key_version: 1,
            },
            at,
        };
        let batch = vec![
            tx(vec![expect(Some(b"a")), put(b"b")]), // a → b: ok
            tx(vec![expect(Some(b"a")), put(b"c")]), // also read a: refused, b would be lost
            tx(vec![expect(Some(b"b")), put(b"c")]), // read b: ok
            tx(vec![expect(None), put(b"d")]),       // expected it unset: refused
        ];
        let state = BatchState {
            customers: HashMap::from([(id(1), CustomerState::Live)]),
            fields: HashMap::from([((id(1), "f".to_owned()), b"a".to_vec())]),
            orders: HashMap::new(),
        };
        let outcomes = admit(&batch, state);
        assert!(outcomes[0].is_ok() && outcomes[2].is_ok());
        assert!(matches!(outcomes[1], Err(Conflict::FieldChanged { .. })));
        assert!(matches!(outcomes[3], Err(Conflict::FieldChanged { .. })));
    }
}
