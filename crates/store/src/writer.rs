//! Group commit, for every backend: transactions queue to one writer task, which applies as
//! many as are waiting in one database transaction (one sync to disk for all of them) and
//! acknowledges each only after the commit returned. Durability is never weakened; the cost
//! of the sync is shared.

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use custodian_core::StoreError;
use custodian_core::audit::{AuditEntry, AuditEvent, Checkpoint, CheckpointSigner, GENESIS};
use std::collections::HashMap;

use custodian_core::ids::CustomerId;
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
        let id = match write {
            Write::CreateCustomer { id, .. } => id,
            Write::PutField { customer, .. }
            | Write::PutHistory { customer, .. }
            | Write::SetIndex { customer, .. }
            | Write::PurgeCustomer { customer, .. } => customer,
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// Decides, in order, which transactions of a batch can apply, from the state of the
/// customers they touch before the batch: exactly what applying them one by one would decide.
/// A backend can then write the admitted ones with a few statements for the whole batch
/// instead of a few per write.
pub(crate) fn admit(
    batch: &[Transaction],
    mut state: HashMap<CustomerId, CustomerState>,
) -> Vec<Result<(), Conflict>> {
    batch
        .iter()
        .map(|tx| {
            let mut changed: Vec<(&CustomerId, CustomerState)> = Vec::new();
            let now = |id: &CustomerId, changed: &[(&CustomerId, CustomerState)]| {
                changed
                    .iter()
                    .rev()
                    .find(|(c, _)| *c == id)
                    .map(|(_, s)| *s)
                    .or_else(|| state.get(id).copied())
                    .unwrap_or(CustomerState::Absent)
            };
            for write in &tx.writes {
                match write {
                    Write::CreateCustomer { id, .. } => {
                        if now(id, &changed) != CustomerState::Absent {
                            return Err(Conflict::CustomerExists(id.clone()));
                        }
                        changed.push((id, CustomerState::Live));
                    }
                    Write::PurgeCustomer { customer, .. } => {
                        if now(customer, &changed) != CustomerState::Live {
                            return Err(Conflict::NoSuchCustomer(customer.clone()));
                        }
                        changed.push((customer, CustomerState::Erased));
                    }
                    Write::PutField { customer, .. }
                    | Write::PutHistory { customer, .. }
                    | Write::SetIndex { customer, .. } => {
                        if now(customer, &changed) != CustomerState::Live {
                            return Err(Conflict::NoSuchCustomer(customer.clone()));
                        }
                    }
                }
            }
            for (id, s) in changed {
                state.insert(id.clone(), s);
            }
            Ok(())
        })
        .collect()
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
        let index = |n| Write::SetIndex {
            customer: id(n),
            kind: "k".into(),
            hash: None,
        };
        let batch = vec![
            tx(vec![create(1), index(1)]), // new customer, then a write to it: ok
            tx(vec![index(2)]),            // unknown customer
            tx(vec![create(3)]),           // exists already
            tx(vec![purge(4)]),            // live: ok
            tx(vec![index(4)]),            // erased by the previous transaction
            tx(vec![index(5), purge(6)]),  // the second write fails: the whole tx is refused
            tx(vec![index(5)]),            // and 5 is still live for the next one
        ];
        let state = HashMap::from([
            (id(3), CustomerState::Live),
            (id(4), CustomerState::Live),
            (id(5), CustomerState::Live),
            (id(6), CustomerState::Erased),
        ]);
        let ok: Vec<bool> = admit(&batch, state).iter().map(Result::is_ok).collect();
        assert_eq!(ok, [true, false, false, true, false, false, true]);
    }
}
