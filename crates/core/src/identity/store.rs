//! The identity store's port. It holds password hashes, sealed TOTP secrets and digests of
//! session and API tokens: never a password, a TOTP secret or a token in the clear.

use std::fmt;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::StoreError;
use crate::ids::{TokenId, UserId};

/// A member of staff as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredUser {
    pub id: UserId,
    /// As given at creation (shown to administrators).
    pub login: String,
    /// Lower case: what uniqueness and sign-in compare.
    pub login_key: String,
    /// A role id of the policy; a role the policy no longer declares signs nobody in.
    pub role: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub must_change_password: bool,
    /// Consecutive failed sign-ins since the last success or lock-out.
    pub failed_sign_ins: u32,
    pub locked_until: Option<Timestamp>,
    /// The TOTP secret sealed under the identity key; `None` when none was enrolled.
    pub totp_sealed: Option<Vec<u8>>,
    /// Whether the enrolled secret was confirmed with a code, and is therefore required.
    pub totp_active: bool,
    /// The last TOTP step accepted: a code is good once.
    pub totp_last_step: Option<u64>,
    pub created_at: Timestamp,
    pub last_sign_in_at: Option<Timestamp>,
}

impl fmt::Debug for StoredUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The login is staff data and stays out of logs; hashes and secrets all the more.
        f.debug_struct("StoredUser")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("must_change_password", &self.must_change_password)
            .field("failed_sign_ins", &self.failed_sign_ins)
            .field("locked_until", &self.locked_until)
            .field("totp_active", &self.totp_active)
            .finish_non_exhaustive()
    }
}

/// A staff session, found by the digest of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// SHA-256 of the session token, lower-case hex.
    pub digest: String,
    pub user: UserId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The absolute end, whatever the activity.
    pub expires_at: Timestamp,
}

/// An integration token's scope as stored: the policy's ids as text, resolved against the
/// policy when the token is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredScope {
    pub operations: Vec<String>,
    /// `None`: every purpose the policy declares.
    pub purposes: Option<Vec<String>>,
    pub restricted: Vec<String>,
}

/// An integration's API token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub id: TokenId,
    pub name: String,
    /// SHA-256 of the token, lower-case hex.
    pub digest: String,
    pub scope: StoredScope,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// One change to who may act, or one sign-in outcome: append-only, and never a secret or a
/// login in it (users are named by id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityEvent {
    pub at: Timestamp,
    /// e.g. `user.create`, `sign_in.failure`, `token.revoke`: see [`crate::identity::action`].
    pub action: String,
    pub user: Option<UserId>,
    pub token: Option<TokenId>,
    /// A role, a reason code (`wrong_password`, `unknown_login`, …): never free text.
    pub detail: Option<String>,
}

/// A precondition of an identity write did not hold; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityConflict {
    #[error("the login is taken")]
    LoginTaken,
}

/// Where users, sessions, tokens and identity events live. Every write must be durable when
/// the call returns.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Adds a user unless their `login_key` is taken.
    async fn insert_user(
        &self,
        user: &StoredUser,
    ) -> Result<Result<(), IdentityConflict>, StoreError>;

    async fn user(&self, id: &UserId) -> Result<Option<StoredUser>, StoreError>;

    async fn user_by_login(&self, login_key: &str) -> Result<Option<StoredUser>, StoreError>;

    /// Every user, by id: oldest first (in no set order within one millisecond).
    async fn users(&self) -> Result<Vec<StoredUser>, StoreError>;

    async fn count_users(&self) -> Result<u64, StoreError>;

    /// Returns whether the user exists.
    async fn set_role(&self, id: &UserId, role: &str) -> Result<bool, StoreError>;

    /// Returns whether the user exists.
    async fn set_password(
        &self,
        id: &UserId,
        password_hash: &str,
        must_change_password: bool,
    ) -> Result<bool, StoreError>;

    /// Counts one failed sign-in, atomically: when it makes `max_failures` in a row, the
    /// count starts again from zero and the account is locked until `lock_until`. Returns
    /// the count and lock after the change (`None` if the user does not exist).
    async fn record_failed_sign_in(
        &self,
        id: &UserId,
        max_failures: u32,
        lock_until: Timestamp,
    ) -> Result<Option<(u32, Option<Timestamp>)>, StoreError>;

    /// Resets the failure count and notes the time of the sign-in.
    async fn record_sign_in(&self, id: &UserId, at: Timestamp) -> Result<(), StoreError>;

    /// Replaces the user's TOTP secret (`None` removes it), sets whether it is required, and
    /// forgets the last step used.
    async fn set_totp(
        &self,
        id: &UserId,
        sealed: Option<&[u8]>,
        active: bool,
    ) -> Result<bool, StoreError>;

    /// Records `step` as the last TOTP step used, only if it is later than the one recorded:
    /// returns false when it is not (a replayed code), atomically across instances.
    async fn use_totp_step(&self, id: &UserId, step: u64) -> Result<bool, StoreError>;

    async fn insert_session(&self, session: &StoredSession) -> Result<(), StoreError>;

    async fn session(&self, digest: &str) -> Result<Option<StoredSession>, StoreError>;

    async fn touch_session(&self, digest: &str, at: Timestamp) -> Result<(), StoreError>;

    /// Returns whether there was such a session.
    async fn delete_session(&self, digest: &str) -> Result<bool, StoreError>;

    /// Ends every session of the user; returns how many there were.
    async fn delete_sessions_of(&self, user: &UserId) -> Result<u64, StoreError>;

    async fn insert_token(&self, token: &StoredToken) -> Result<(), StoreError>;

    async fn token_by_digest(&self, digest: &str) -> Result<Option<StoredToken>, StoreError>;

    async fn touch_token(&self, id: &TokenId, at: Timestamp) -> Result<(), StoreError>;

    /// Marks the token revoked at `at` unless it already is. Returns whether it changed.
    async fn revoke_token(&self, id: &TokenId, at: Timestamp) -> Result<bool, StoreError>;

    /// Every token, revoked ones included, by id: oldest first (in no set order within one
    /// millisecond).
    async fn tokens(&self) -> Result<Vec<StoredToken>, StoreError>;

    async fn append_event(&self, event: &IdentityEvent) -> Result<(), StoreError>;

    /// Every event, in the order appended.
    async fn events(&self) -> Result<Vec<IdentityEvent>, StoreError>;
}
