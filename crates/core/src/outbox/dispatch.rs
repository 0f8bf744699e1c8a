//! The delivery worker: claims due messages with a lease, opens each through the vault
//! (audited before decryption), sends it through the [`PartnerSender`], and records the
//! outcome — delivered (and in the ledger), retried after an exponential backoff with full
//! jitter, dead-lettered after `max_attempts`, or dropped when the customer was erased.
//! Several dispatchers, in one process or many sharing a database, never hold the same
//! message at once: the store's claim is exclusive until the lease ends.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::task::JoinSet;

use super::{Delivery, OutboxMessage, OutboxStore, PartnerSender};
use crate::clock::Clock;
use crate::vault::{Vault, VaultError, public_message_id};

/// How the dispatcher retries and polls.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Attempts before a message is dead-lettered.
    pub max_attempts: u32,
    /// The first retry waits up to this long; each further one up to twice as long…
    pub backoff_base: Duration,
    /// …but never more than this.
    pub backoff_cap: Duration,
    /// How long a claim holds a message: longer than a send can take.
    pub lease: Duration,
    /// Messages claimed (and sent concurrently) at a time.
    pub batch: u32,
    /// How long the loop sleeps when nothing was due.
    pub poll: Duration,
}

impl Default for DispatchSettings {
    fn default() -> DispatchSettings {
        DispatchSettings {
            max_attempts: 12,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(3600),
            lease: Duration::from_secs(120),
            batch: 32,
            poll: Duration::from_secs(1),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    pub claimed: usize,
    pub delivered: usize,
    pub retried: usize,
    pub dead: usize,
    pub dropped: usize,
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Delivered,
    Retried,
    Dead,
    Dropped,
}

/// Delivers the outbox.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    vault: Vault,
    store: Arc<dyn OutboxStore>,
    sender: Arc<dyn PartnerSender>,
    clock: Arc<dyn Clock>,
    settings: DispatchSettings,
}

impl Dispatcher {
    pub fn new(
        vault: Vault,
        store: Arc<dyn OutboxStore>,
        sender: Arc<dyn PartnerSender>,
        clock: Arc<dyn Clock>,
        settings: DispatchSettings,
    ) -> Dispatcher {
        Dispatcher {
            vault,
            store,
            sender,
            clock,
            settings,
        }
    }

    /// One pass: claims what is due (for the partners the sender reaches) and sends it,
    /// concurrently, recording each outcome.
    pub async fn run_once(&self) -> Result<DispatchReport, VaultError> {
        let partners = self.sender.partners();
        let mut report = DispatchReport::default();
        if partners.is_empty() {
            return Ok(report);
        }
        let now = self.clock.now();
        let lease_until = now
            .saturating_add(signed(self.settings.lease))
            .unwrap_or(now);
        let claimed = self
            .store
            .claim(&partners, now, lease_until, self.settings.batch.max(1))
            .await?;
        report.claimed = claimed.len();
        let mut sends = JoinSet::new();
        for message in claimed {
            let me = self.clone();
            sends.spawn(async move { me.deliver(message).await });
        }
        let mut failure = None;
        while let Some(done) = sends.join_next().await {
            match done {
                Ok(Ok(Outcome::Delivered)) => report.delivered += 1,
                Ok(Ok(Outcome::Retried)) => report.retried += 1,
                Ok(Ok(Outcome::Dead)) => report.dead += 1,
                Ok(Ok(Outcome::Dropped)) => report.dropped += 1,
                // The message stays leased; when the lease ends it is claimed again.
                Ok(Err(e)) => failure = Some(e),
                Err(_) => {}
            }
        }
        match failure {
            Some(e) if report.delivered + report.retried + report.dead + report.dropped == 0 => {
                Err(e)
            }
            Some(e) => {
                tracing::warn!(error = %e, "an outbox delivery could not be recorded; it will be retried");
                Ok(report)
            }
            None => Ok(report),
        }
    }

    /// Runs passes until `stop` completes, sleeping `poll` whenever nothing was due. A pass
    /// under way when `stop` completes is finished first (each send is bounded by the
    /// sender's timeout).
    pub async fn run(&self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let busy = match self.run_once().await {
                Ok(report) => report.claimed > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox pass failed");
                    false
                }
            };
            if busy {
                tokio::select! {
                    biased;
                    () = &mut stop => return,
                    () = std::future::ready(()) => {}
                }
            } else {
                tokio::select! {
                    () = &mut stop => return,
                    () = tokio::time::sleep(self.settings.poll) => {}
                }
            }
        }
    }

    async fn deliver(&self, message: OutboxMessage) -> Result<Outcome, VaultError> {
        let Some(body) = self.vault.open_for_delivery(&message).await? else {
            self.store.drop_message(&message.id).await?;
            return Ok(Outcome::Dropped);
        };
        let delivery = Delivery {
            partner: &message.partner,
            message_id: public_message_id(&message.id),
            idempotency_key: &message.idempotency_key,
            timestamp: self.clock.now().as_second(),
            body: body.bytes(),
        };
        match self.sender.send(delivery).await {
            Ok(()) => {
                self.vault.record_delivery(&message, body.bytes()).await?;
                Ok(Outcome::Delivered)
            }
            Err(error) => {
                let attempts = message.attempts.saturating_add(1);
                let kind = error.to_string();
                if attempts >= self.settings.max_attempts {
                    self.store
                        .record_failure(&message.id, attempts, None, &kind)
                        .await?;
                    tracing::warn!(
                        message = %message.id, partner = %message.partner, attempts, error = %kind,
                        "outbox message dead-lettered"
                    );
                    return Ok(Outcome::Dead);
                }
                let now = self.clock.now();
                let next = now
                    .saturating_add(signed(self.backoff(attempts)))
                    .unwrap_or(now);
                self.store
                    .record_failure(&message.id, attempts, Some(next), &kind)
                    .await?;
                Ok(Outcome::Retried)
            }
        }
    }

    /// Full jitter: a uniformly random wait between zero and `min(cap, base × 2^(n-1))`
    /// after the n-th failure.
    fn backoff(&self, attempts: u32) -> Duration {
        let base = u64::try_from(self.settings.backoff_base.as_millis()).unwrap_or(u64::MAX);
        let cap = u64::try_from(self.settings.backoff_cap.as_millis()).unwrap_or(u64::MAX);
        let exponent = attempts.saturating_sub(1).min(63);
        let ceiling = base.saturating_mul(1u64 << exponent).min(cap);
        let random = custodian_crypto::random_bytes::<8>()
            .map(u64::from_le_bytes)
            .unwrap_or(ceiling);
        Duration::from_millis(random % ceiling.saturating_add(1))
    }
}

fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// When a message failed `attempts` times is next due, at the latest (for tests and docs).
pub fn latest_retry(settings: &DispatchSettings, attempts: u32, now: Timestamp) -> Timestamp {
    let exponent = attempts.saturating_sub(1).min(31);
    let ceiling = settings
        .backoff_base
        .saturating_mul(1u32 << exponent)
        .min(settings.backoff_cap);
    now.saturating_add(signed(ceiling)).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_stays_within_its_ceiling() {
        let settings = DispatchSettings {
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_millis(1000),
            ..DispatchSettings::default()
        };
        let now = Timestamp::UNIX_EPOCH;
        assert_eq!(
            latest_retry(&settings, 1, now),
            now + SignedDuration::from_millis(100)
        );
        assert_eq!(
            latest_retry(&settings, 3, now),
            now + SignedDuration::from_millis(400)
        );
        assert_eq!(
            latest_retry(&settings, 30, now),
            now + SignedDuration::from_millis(1000)
        );
    }
}
