//! The audit log: append-only and hash-chained. Each entry carries the hash of the one before
//! it; checkpoints, authenticated with a key of their own, pin the chain so that rewriting,
//! reordering or truncating it is detected by [`ChainVerifier`].
//!
//! INVARIANT: an event names who, what (customer id, categories, fields), why (purpose), the
//! decision, the request id and the time — never a personal value.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use custodian_crypto::MacKey;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What the decision was for the fields involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Every field asked for was released or written.
    Allowed,
    /// Some fields were released, others withheld.
    Partial,
    /// Nothing was released or written.
    Denied,
}

/// One thing that happened to personal data, before it is placed in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: Timestamp,
    /// The principal, e.g. `integration:storefront`, `system:rotation`.
    pub actor: String,
    /// e.g. `customer.create`, `customer.read`, `customer.correct`, `customer.lookup`.
    pub action: String,
    pub customer: Option<String>,
    /// The categories of `fields`, deduplicated.
    pub categories: Vec<String>,
    /// Fields released or written, as `category.field`.
    pub fields: Vec<String>,
    /// Fields withheld, as `category.field:reason`.
    pub withheld: Vec<String>,
    pub purpose: Option<String>,
    pub decision: Decision,
    pub request_id: Option<String>,
}

impl AuditEvent {
    /// The event as the bytes the chain hashes and the store keeps.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising a struct of strings, a timestamp and enums cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// An event placed in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: u64,
    pub prev_hash: String,
    pub hash: String,
    /// The customer the event concerns, copied out of it (not hashed twice) so stores can
    /// index it for breach-impact queries.
    pub customer: Option<String>,
    /// The event exactly as hashed (JSON of [`AuditEvent`]).
    pub event: Vec<u8>,
}

impl AuditEntry {
    /// Chains `event` after the entry with `prev_hash` at `seq - 1`.
    pub fn chain(seq: u64, prev_hash: &str, event: &AuditEvent) -> AuditEntry {
        let customer = event.customer.clone();
        let event = event.to_bytes();
        AuditEntry {
            seq,
            prev_hash: prev_hash.to_owned(),
            hash: entry_hash(seq, prev_hash, &event),
            customer,
            event,
        }
    }

    pub fn decode(&self) -> Option<AuditEvent> {
        serde_json::from_slice(&self.event).ok()
    }
}

fn entry_hash(seq: u64, prev_hash: &str, event: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"custodian/audit/v1\0");
    h.update(seq.to_be_bytes());
    h.update(prev_hash.as_bytes());
    h.update(event);
    hex::encode(h.finalize())
}

/// The head of the chain at some sequence number, authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: String,
    pub at: Timestamp,
    /// Hex HMAC-SHA256 over seq, hash and time under the audit key.
    pub mac: String,
}

/// Signs and checks checkpoints with the audit key, which nothing else uses.
#[derive(Debug, Clone)]
pub struct CheckpointSigner(MacKey);

impl CheckpointSigner {
    pub fn new(key: custodian_crypto::SecretKey) -> CheckpointSigner {
        CheckpointSigner(MacKey::new(key, "custodian/audit-checkpoint/v1"))
    }

    fn message(seq: u64, hash: &str, at: Timestamp) -> Vec<u8> {
        format!("{seq}\0{hash}\0{}", at.as_nanosecond()).into_bytes()
    }

    pub fn checkpoint(&self, seq: u64, hash: &str, at: Timestamp) -> Checkpoint {
        let mac = hex::encode(self.0.sign(&Self::message(seq, hash, at)));
        Checkpoint {
            seq,
            hash: hash.to_owned(),
            at,
            mac,
        }
    }

    pub fn is_authentic(&self, c: &Checkpoint) -> bool {
        hex::decode(&c.mac)
            .is_ok_and(|tag| self.0.verify(&Self::message(c.seq, &c.hash, c.at), &tag))
    }
}

/// Why the chain does not verify, at the first place it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {found} follows entry {expected_after}: entries are missing or reordered")]
    Gap { expected_after: u64, found: u64 },
    #[error("entry {seq} does not carry the hash of the entry before it")]
    Unlinked { seq: u64 },
    #[error("entry {seq} was altered: its hash does not match its content")]
    Altered { seq: u64 },
    #[error("checkpoint at entry {seq} is not authentic")]
    ForgedCheckpoint { seq: u64 },
    #[error("checkpoint at entry {seq} does not match the chain: entries up to it were rewritten")]
    CheckpointMismatch { seq: u64 },
    #[error("checkpoint at entry {seq} but the log ends at entry {last}: the log was truncated")]
    Truncated { seq: u64, last: u64 },
}

/// What a successful verification covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainReport {
    pub entries: u64,
    pub checkpoints: u64,
    pub last_seq: u64,
}

/// Checks a chain entry by entry, so a long log is verified in bounded memory.
#[derive(Debug)]
pub struct ChainVerifier {
    /// Sorted by seq.
    checkpoints: Vec<Checkpoint>,
    next_checkpoint: usize,
    last_seq: u64,
    last_hash: String,
    entries: u64,
}

impl ChainVerifier {
    /// Starts a verification; every checkpoint must be authentic under `signer`.
    pub fn new(
        signer: &CheckpointSigner,
        mut checkpoints: Vec<Checkpoint>,
    ) -> Result<ChainVerifier, ChainBreak> {
        checkpoints.sort_by_key(|c| c.seq);
        if let Some(c) = checkpoints.iter().find(|c| !signer.is_authentic(c)) {
            return Err(ChainBreak::ForgedCheckpoint { seq: c.seq });
        }
        Ok(ChainVerifier {
            checkpoints,
            next_checkpoint: 0,
            last_seq: 0,
            last_hash: GENESIS.to_owned(),
            entries: 0,
        })
    }

    /// Checks the next entry (entries must come in ascending `seq`).
    pub fn push(&mut self, entry: &AuditEntry) -> Result<(), ChainBreak> {
        if entry.seq != self.last_seq + 1 {
            return Err(ChainBreak::Gap {
                expected_after: self.last_seq,
                found: entry.seq,
            });
        }
        if entry.prev_hash != self.last_hash {
            return Err(ChainBreak::Unlinked { seq: entry.seq });
        }
        if entry_hash(entry.seq, &entry.prev_hash, &entry.event) != entry.hash {
            return Err(ChainBreak::Altered { seq: entry.seq });
        }
        // The customer column is a copy of the hashed event's, kept for breach-impact
        // queries: it must say the same.
        if entry.decode().map(|e| e.customer) != Some(entry.customer.clone()) {
            return Err(ChainBreak::Altered { seq: entry.seq });
        }
        while let Some(c) = self
            .checkpoints
            .get(self.next_checkpoint)
            .filter(|c| c.seq <= entry.seq)
        {
            if c.seq < entry.seq || c.hash != entry.hash {
                return Err(ChainBreak::CheckpointMismatch { seq: c.seq });
            }
            self.next_checkpoint += 1;
        }
        self.last_seq = entry.seq;
        self.last_hash.clone_from(&entry.hash);
        self.entries += 1;
        Ok(())
    }

    pub fn finish(self) -> Result<ChainReport, ChainBreak> {
        if let Some(c) = self.checkpoints.get(self.next_checkpoint) {
            return Err(ChainBreak::Truncated {
                seq: c.seq,
                last: self.last_seq,
            });
        }
        Ok(ChainReport {
            entries: self.entries,
            checkpoints: self.checkpoints.len() as u64,
            last_seq: self.last_seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use custodian_crypto::SecretKey;

    use super::*;

    fn event(n: u64) -> AuditEvent {
        AuditEvent {
            at: Timestamp::from_second(1_800_000_000 + n as i64).unwrap(),
            actor: "integration:test".into(),
            action: "customer.read".into(),
            customer: Some(format!("cus_{n:032x}")),
            categories: vec!["account_email".into()],
            fields: vec!["account_email.email".into()],
            withheld: vec![],
            purpose: Some("account".into()),
            decision: Decision::Allowed,
            request_id: None,
        }
    }

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut entries: Vec<AuditEntry> = Vec::new();
        for seq in 1..=n {
            let prev = entries
                .last()
                .map_or(GENESIS.to_owned(), |e| e.hash.clone());
            entries.push(AuditEntry::chain(seq, &prev, &event(seq)));
        }
        entries
    }

    fn signer() -> CheckpointSigner {
        CheckpointSigner::new(SecretKey::from_bytes(&[5; 32]).unwrap())
    }

    fn verify(
        entries: &[AuditEntry],
        checkpoints: Vec<Checkpoint>,
    ) -> Result<ChainReport, ChainBreak> {
        let s = signer();
        let mut v = ChainVerifier::new(&s, checkpoints)?;
        for e in entries {
            v.push(e)?;
        }
        v.finish()
    }

    fn checkpoint_at(entries: &[AuditEntry], seq: u64) -> Checkpoint {
        let e = &entries[seq as usize - 1];
        signer().checkpoint(
            e.seq,
            &e.hash,
            Timestamp::from_second(1_900_000_000).unwrap(),
        )
    }

    #[test]
    fn an_intact_chain_verifies() {
        let entries = chain(10);
        let report = verify(
            &entries,
            vec![checkpoint_at(&entries, 5), checkpoint_at(&entries, 10)],
        )
        .unwrap();
        assert_eq!(
            report,
            ChainReport {
                entries: 10,
                checkpoints: 2,
                last_seq: 10
            }
        );
    }

    #[test]
    fn an_edited_entry_is_found() {
        let mut entries = chain(10);
        entries[3].event = event(99).to_bytes();
        assert_eq!(
            verify(&entries, vec![]),
            Err(ChainBreak::Altered { seq: 4 })
        );
    }

    #[test]
    fn an_edit_with_recomputed_hashes_is_caught_by_the_checkpoint() {
        let original = chain(10);
        let checkpoint = checkpoint_at(&original, 10);
        // Rewrite entry 4 and re-chain everything after it, as an attacker with database
        // access but without the audit key could.
        let mut entries: Vec<AuditEntry> = original[..3].to_vec();
        for seq in 4..=10 {
            let prev = entries.last().unwrap().hash.clone();
            let e = if seq == 4 { event(99) } else { event(seq) };
            entries.push(AuditEntry::chain(seq, &prev, &e));
        }
        assert_eq!(
            verify(&entries, vec![checkpoint]),
            Err(ChainBreak::CheckpointMismatch { seq: 10 })
        );
    }

    #[test]
    fn a_customer_column_that_disagrees_with_the_event_is_found() {
        let mut entries = chain(5);
        entries[2].customer = Some("cus_00000000000000000000000000000063".into());
        assert_eq!(
            verify(&entries, vec![]),
            Err(ChainBreak::Altered { seq: 3 })
        );
    }

    #[test]
    fn a_deleted_entry_is_found() {
        let mut entries = chain(10);
        entries.remove(6);
        assert_eq!(
            verify(&entries, vec![]),
            Err(ChainBreak::Gap {
                expected_after: 6,
                found: 8
            })
        );
    }

    #[test]
    fn reordered_entries_are_found() {
        let mut entries = chain(10);
        entries.swap(2, 3);
        assert!(matches!(
            verify(&entries, vec![]),
            Err(ChainBreak::Gap { .. })
        ));
        // Even with their sequence numbers swapped back, the links break.
        let (a, b) = (entries[2].seq, entries[3].seq);
        entries[2].seq = b;
        entries[3].seq = a;
        assert!(matches!(
            verify(&entries, vec![]),
            Err(ChainBreak::Unlinked { .. } | ChainBreak::Altered { .. })
        ));
    }

    #[test]
    fn truncation_below_a_checkpoint_is_found() {
        let entries = chain(10);
        let checkpoint = checkpoint_at(&entries, 8);
        assert_eq!(
            verify(&entries[..6], vec![checkpoint]),
            Err(ChainBreak::Truncated { seq: 8, last: 6 })
        );
    }

    #[test]
    fn a_forged_checkpoint_is_found() {
        let entries = chain(3);
        let mut checkpoint = checkpoint_at(&entries, 3);
        checkpoint.seq = 2;
        assert_eq!(
            verify(&entries, vec![checkpoint]),
            Err(ChainBreak::ForgedCheckpoint { seq: 2 })
        );
        let other = CheckpointSigner::new(SecretKey::from_bytes(&[6; 32]).unwrap());
        let foreign = other.checkpoint(3, &entries[2].hash, Timestamp::UNIX_EPOCH);
        assert_eq!(
            verify(&entries, vec![foreign]),
            Err(ChainBreak::ForgedCheckpoint { seq: 3 })
        );
    }

    #[test]
    fn events_hold_no_values_only_names() {
        let json = String::from_utf8(event(1).to_bytes()).unwrap();
        for key in [
            "actor",
            "action",
            "customer",
            "categories",
            "fields",
            "purpose",
            "decision",
            "request_id",
            "at",
        ] {
            assert!(json.contains(&format!("\"{key}\"")), "{key}");
        }
    }
}
