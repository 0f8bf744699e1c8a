//! The care store's port: care sessions, and customers' own credentials (one-time sign-in
//! codes, passwords, sessions). Codes are kept only as HMACs under a key held apart from
//! the database, passwords as Argon2id hashes, session tokens as SHA-256 digests.

use std::fmt;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::StoreError;
use crate::ids::{CareSessionId, CustomerId, UserId};

/// A care session as stored: opened by one agent for one customer, active once the code
/// sent to the customer was read back, until `active_until` or until closed.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCareSession {
    pub id: CareSessionId,
    pub staff: UserId,
    pub customer: CustomerId,
    /// `email` or `phone`: where the code went.
    pub channel: String,
    /// HMAC-SHA256 of the code under the code key.
    pub code_digest: [u8; 32],
    /// Verification attempts made, right or wrong.
    pub attempts: u32,
    pub created_at: Timestamp,
    /// The code is good until then, if the session is not verified by then.
    pub code_expires_at: Timestamp,
    pub verified_at: Option<Timestamp>,
    pub active_until: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
}

impl fmt::Debug for StoredCareSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCareSession")
            .field("id", &self.id)
            .field("staff", &self.staff)
            .field("customer", &self.customer)
            .field("attempts", &self.attempts)
            .field("verified_at", &self.verified_at)
            .field("active_until", &self.active_until)
            .field("closed_at", &self.closed_at)
            .finish_non_exhaustive()
    }
}

/// A customer's pending sign-in code: at most one per customer, a new one replaces it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCustomerCode {
    pub customer: CustomerId,
    pub code_digest: [u8; 32],
    pub attempts: u32,
    pub expires_at: Timestamp,
}

impl fmt::Debug for StoredCustomerCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCustomerCode")
            .field("customer", &self.customer)
            .field("attempts", &self.attempts)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A customer's password and its lock-out state.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCustomerPassword {
    pub customer: CustomerId,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub failed_sign_ins: u32,
    pub locked_until: Option<Timestamp>,
}

impl fmt::Debug for StoredCustomerPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCustomerPassword")
            .field("customer", &self.customer)
            .field("failed_sign_ins", &self.failed_sign_ins)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}

/// A customer's session, found by the digest of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCustomerSession {
    /// SHA-256 of the session token, lower-case hex.
    pub digest: String,
    pub customer: CustomerId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Where care sessions and customers' credentials live. Every write is durable when the
/// call returns; the counting and consuming calls are atomic across instances.
#[async_trait]
pub trait CareStore: Send + Sync {
    async fn insert_care_session(&self, session: &StoredCareSession) -> Result<(), StoreError>;

    async fn care_session(
        &self,
        id: &CareSessionId,
    ) -> Result<Option<StoredCareSession>, StoreError>;

    /// Counts one verification attempt of an open, unverified session, only while fewer
    /// than `max` were made. Returns the count after it, or `None` when no attempt is left
    /// (or the session is verified, closed or gone).
    async fn count_care_attempt(
        &self,
        id: &CareSessionId,
        max: u32,
    ) -> Result<Option<u32>, StoreError>;

    /// Marks an open, unverified session verified and active until `until`. Returns false
    /// if it was verified or closed meanwhile: a code is good once.
    async fn activate_care_session(
        &self,
        id: &CareSessionId,
        at: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Closes the session unless it is closed already. Returns whether it changed.
    async fn close_care_session(
        &self,
        id: &CareSessionId,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// The ends (`active_until`) of the verified, unclosed sessions `staff` holds for
    /// `customer`: one indexed query, asked for every decision about a customer made for a
    /// care agent.
    async fn verified_care_sessions(
        &self,
        staff: &UserId,
        customer: &CustomerId,
    ) -> Result<Vec<Timestamp>, StoreError>;

    /// Inserts or replaces the customer's sign-in code (attempts start again from zero).
    async fn put_customer_code(&self, code: &StoredCustomerCode) -> Result<(), StoreError>;

    async fn customer_code(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<StoredCustomerCode>, StoreError>;

    /// As [`CareStore::count_care_attempt`], for the customer's sign-in code.
    async fn count_customer_code_attempt(
        &self,
        customer: &CustomerId,
        max: u32,
    ) -> Result<Option<u32>, StoreError>;

    /// Deletes the code if it still has this digest. Returns whether it did: the one
    /// request that does may sign in with it.
    async fn take_customer_code(
        &self,
        customer: &CustomerId,
        code_digest: &[u8; 32],
    ) -> Result<bool, StoreError>;

    /// Sets (or replaces) the password and clears the failure count and lock.
    async fn set_customer_password(
        &self,
        customer: &CustomerId,
        password_hash: &str,
    ) -> Result<(), StoreError>;

    async fn customer_password(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<StoredCustomerPassword>, StoreError>;

    /// As `IdentityStore::record_failed_sign_in`, for a customer's password.
    async fn record_customer_failed_sign_in(
        &self,
        customer: &CustomerId,
        max_failures: u32,
        lock_until: Timestamp,
    ) -> Result<Option<(u32, Option<Timestamp>)>, StoreError>;

    /// Resets the failure count after a successful password sign-in.
    async fn record_customer_sign_in(&self, customer: &CustomerId) -> Result<(), StoreError>;

    async fn insert_customer_session(
        &self,
        session: &StoredCustomerSession,
    ) -> Result<(), StoreError>;

    async fn customer_session(
        &self,
        digest: &str,
    ) -> Result<Option<StoredCustomerSession>, StoreError>;

    async fn touch_customer_session(&self, digest: &str, at: Timestamp) -> Result<(), StoreError>;

    /// Returns whether there was such a session.
    async fn delete_customer_session(&self, digest: &str) -> Result<bool, StoreError>;

    /// Removes everything of an erased customer here: care sessions, sign-in code, password
    /// and sessions.
    async fn purge_customer(&self, customer: &CustomerId) -> Result<(), StoreError>;
}
