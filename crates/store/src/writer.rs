//! Group commit, for every backend: transactions queue to one writer task, which applies as
//! many as are waiting in one database transaction (one sync to disk for all of them) and
//! acknowledges each only after the commit returned. Durability is never weakened; the cost
//! of the sync is shared.

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use custodian_core::StoreError;
use custodian_core::audit::{AuditEntry, AuditEvent, Checkpoint, CheckpointSigner, GENESIS};
use custodian_core::vault::{Conflict, Transaction};

/// The most transactions committed together.
pub(crate) const MAX_BATCH: usize = 256;
/// How many transactions may wait for the writer before callers wait to enqueue.
const QUEUE: usize = 4096;

pub(crate) type Outcome = Result<Result<(), Conflict>, StoreError>;

/// A database that can apply a batch of transactions atomically, each all-or-nothing.
#[async_trait]
pub(crate) trait BatchBackend: Send + 'static {
    /// Applies `batch` in one database transaction. A transaction whose precondition fails
    /// is rolled back alone (savepoint) and reported as a conflict; a database error fails
    /// the whole batch and nothing of it is committed.
    async fn apply(&mut self, batch: &[Transaction]) -> Result<Vec<Result<(), Conflict>>, StoreError>;
}

struct Job {
    tx: Transaction,
    reply: oneshot::Sender<Outcome>,
}

/// The handle callers commit through.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl Writer {
    /// Starts the writer task; it ends when every handle is dropped.
    pub(crate) fn spawn<B: BatchBackend>(mut backend: B) -> Writer {
        let (jobs, mut queue) = mpsc::channel::<Job>(QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let (txs, replies): (Vec<Transaction>, Vec<_>) = batch.drain(..).map(|j| (j.tx, j.reply)).unzip();
                match backend.apply(&txs).await {
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
        Writer { jobs }
    }

    /// Queues `tx` and waits until it is durable (or refused).
    pub(crate) async fn commit(&self, tx: Transaction) -> Outcome {
        let (reply, done) = oneshot::channel();
        let stopped = || StoreError::Database("the database writer has stopped".into());
        self.jobs.send(Job { tx, reply }).await.map_err(|_| stopped())?;
        done.await.map_err(|_| stopped())?
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
        ChainHead { seq, hash, started_at_seq: seq }
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
        let stale = last_checkpoint_at.is_none_or(|t| at.duration_since(t).as_secs() >= CHECKPOINT_SECONDS);
        (self.seq > self.started_at_seq && (crossed || stale)).then(|| signer.checkpoint(self.seq, &self.hash, at))
    }
}
