//! Who the principals are: staff users (password, optional TOTP, sessions) and integrations
//! (API tokens with a scope). Passwords are kept as Argon2id hashes, TOTP secrets sealed
//! under the identity key, session and API tokens as SHA-256 digests only.
//!
//! Every change to who may act, and every sign-in outcome, is appended to the identity
//! events (see [`action`]). They are written after the change they describe, not in the same
//! transaction: a crash between the two can lose an event, never invent one.

mod limit;
mod store;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use zeroize::Zeroizing;

use custodian_crypto::{
    ApiToken, CryptoError, DataKey, FieldBinding, PasswordHash, SecretKey, SessionToken,
    TokenDigest, TotpSecret, check_password_strength, hash_password, needs_rehash, totp,
    verify_dummy, verify_password,
};
use custodian_policy::{Operation, Policy};

use crate::StoreError;
use crate::access::{Principal, Scope};
use crate::clock::Clock;
use crate::error::{ApiError, ErrorCode, one_of};
use crate::ids::{TokenId, UserId};

pub use limit::{ATTEMPTS_PER_MINUTE, MAX_TRACKED_KEYS, RateLimiter};
pub use store::{
    IdentityConflict, IdentityEvent, IdentityStore, StoredScope, StoredSession, StoredToken,
    StoredUser,
};

/// Consecutive failed sign-ins that lock an account.
pub const MAX_FAILED_SIGN_INS: u32 = 5;
/// How long a lock-out lasts.
pub const LOCK_OUT: SignedDuration = SignedDuration::from_mins(15);
/// A session ends this long after sign-in, however active.
pub const SESSION_ABSOLUTE: SignedDuration = SignedDuration::from_hours(8);
/// A session ends after this long without a request.
pub const SESSION_IDLE: SignedDuration = SignedDuration::from_mins(30);
/// Last-seen and last-used times are written at most this often, not on every request. A
/// session's idle time is counted from the last write, so it can only end early, never late.
pub const TOUCH_INTERVAL: SignedDuration = SignedDuration::from_mins(1);
/// The login of the account [`Identity::bootstrap_admin`] creates, and the role it gets.
pub const BOOTSTRAP_LOGIN: &str = "admin";
pub const BOOTSTRAP_ROLE: &str = "admin";

const MAX_LOGIN_CHARS: usize = 254;

/// Who set a new account's password, which decides whether it is checked against the
/// password policy and whether the member must replace it at first sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Password {
    /// The member chose it: checked, kept.
    Chosen,
    /// An administrator set it: checked, good for one sign-in.
    SetByAdministrator,
    /// Generated at random (the first administrator's): good for one sign-in.
    Generated,
}
const MAX_TOKEN_NAME_CHARS: usize = 64;
const TOTP_ISSUER: &str = "Custodian";
const TOTP_FIELD: &str = "identity.totp_secret";

/// The `action` of each [`IdentityEvent`].
pub mod action {
    pub const USER_CREATE: &str = "user.create";
    pub const USER_ROLE_CHANGE: &str = "user.role_change";
    pub const USER_PASSWORD_CHANGE: &str = "user.password_change";
    pub const USER_TOTP_ENROL: &str = "user.totp_enrol";
    pub const USER_TOTP_CONFIRM: &str = "user.totp_confirm";
    pub const SIGN_IN_SUCCESS: &str = "sign_in.success";
    /// `detail`: `unknown_login`, `locked`, `wrong_password`, `wrong_totp`, `role_unknown`.
    pub const SIGN_IN_FAILURE: &str = "sign_in.failure";
    /// The failure that locked the account; `detail` is the end of the lock.
    pub const LOCK_OUT: &str = "sign_in.lock_out";
    pub const SIGN_OUT: &str = "session.sign_out";
    pub const SIGN_OUT_EVERYWHERE: &str = "session.sign_out_everywhere";
    pub const TOKEN_ISSUE: &str = "token.issue";
    pub const TOKEN_REVOKE: &str = "token.revoke";
}

/// A failure of an identity use case.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Refused, with a stable code; nothing was changed.
    #[error("{0}")]
    Rejected(ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

fn reject(code: ErrorCode, message: impl Into<String>, field: &str) -> IdentityError {
    IdentityError::Rejected(ApiError::new(code, message).with_field(field))
}

/// Why a sign-in failed. Deliberately coarse: an unknown login, a wrong password, a wrong
/// or replayed TOTP code and a locked account are all [`SignInError::InvalidCredentials`].
/// During a lock-out even the right password is answered so: telling it apart would let
/// the guessing go on through the lock.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the login, password or code is not valid")]
    InvalidCredentials,
    /// The password was right and a TOTP code is needed: ask for it and sign in again.
    #[error("a TOTP code is required")]
    TotpRequired,
    #[error("too many sign-in attempts")]
    RateLimited { retry_after: SignedDuration },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl SignInError {
    /// The API error for the refusals; `None` for store and crypto failures (internal).
    pub fn api_error(&self) -> Option<ApiError> {
        match self {
            SignInError::InvalidCredentials => Some(ApiError::new(
                ErrorCode::InvalidCredentials,
                "the login, password or code is not valid",
            )),
            SignInError::TotpRequired => Some(ApiError::new(
                ErrorCode::TotpRequired,
                "a TOTP code is required",
            )),
            SignInError::RateLimited { retry_after } => Some(ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "too many sign-in attempts; retry in {} seconds",
                    retry_after.as_secs()
                ),
            )),
            SignInError::Store(_) | SignInError::Crypto(_) => None,
        }
    }
}

/// A successful sign-in. The token is shown once: only its digest is kept.
#[derive(Debug)]
pub struct SignedIn {
    pub token: SessionToken,
    pub user: UserId,
    pub principal: Principal,
    pub expires_at: Timestamp,
    /// The password is a one-time one: the session may do nothing but change it.
    pub must_change_password: bool,
}

/// A session that is still valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    pub user: UserId,
    /// `Principal::Staff`, named by user id (logins stay out of audit and logs).
    pub principal: Principal,
    pub expires_at: Timestamp,
    /// While set, everything but changing the password must be refused
    /// (`password_change_required`).
    pub must_change_password: bool,
}

/// The first administrator, created on first run: print the password once.
pub struct Bootstrap {
    pub user: UserId,
    pub login: &'static str,
    pub password: Zeroizing<String>,
}

impl fmt::Debug for Bootstrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bootstrap")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A new TOTP secret, to show once (as text and as a QR code of the URI).
pub struct TotpEnrolment {
    pub secret_base32: Zeroizing<String>,
    pub provisioning_uri: Zeroizing<String>,
}

impl fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpEnrolment(<redacted>)")
    }
}

/// A token as listed: never the token, nor its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: TokenId,
    pub name: String,
    pub scope: StoredScope,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A staff account as listed to administrators: no hash, no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub id: UserId,
    /// Staff data, shown to administrators so they can tell accounts apart; kept out of
    /// logs and audit entries, which name users by id.
    pub login: String,
    pub role: String,
    pub totp_active: bool,
    pub must_change_password: bool,
    pub locked_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub last_sign_in_at: Option<Timestamp>,
}

/// The identity use cases.
pub struct Identity {
    policy: Arc<Policy>,
    store: Arc<dyn IdentityStore>,
    clock: Arc<dyn Clock>,
    totp_key: DataKey,
    limiter: RateLimiter,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

/// What the login is compared by: case does not matter.
fn login_key(login: &str) -> String {
    login.trim().to_lowercase()
}

fn event(at: Timestamp, action: &str) -> IdentityEvent {
    IdentityEvent {
        at,
        action: action.to_owned(),
        user: None,
        token: None,
        detail: None,
    }
}

fn user_binding(user: &UserId) -> FieldBinding<'_> {
    FieldBinding {
        customer: user.as_str(),
        record: "totp",
        field: TOTP_FIELD,
        key_version: 1,
    }
}

impl Identity {
    /// `totp_key` seals staff members' TOTP secrets; keep it apart from the database, like
    /// the other keys.
    pub fn new(
        policy: Arc<Policy>,
        store: Arc<dyn IdentityStore>,
        clock: Arc<dyn Clock>,
        totp_key: SecretKey,
    ) -> Identity {
        Identity {
            policy,
            store,
            clock,
            totp_key: DataKey::from_secret(totp_key),
            limiter: RateLimiter::default(),
        }
    }

    /// Replaces the sign-in rate limiter (tests, or other limits).
    pub fn with_rate_limiter(mut self, limiter: RateLimiter) -> Identity {
        self.limiter = limiter;
        self
    }

    async fn record(&self, event: IdentityEvent) -> Result<(), StoreError> {
        self.store.append_event(&event).await
    }

    fn check_role(&self, role: &str) -> Result<(), IdentityError> {
        match self.policy.role_named(role) {
            Some(_) => Ok(()),
            None => Err(reject(
                ErrorCode::RoleUnknown,
                format!(
                    "`role` must be a role the policy declares: {}",
                    one_of(self.policy.roles.iter().map(|r| r.id.as_str()))
                ),
                "role",
            )),
        }
    }

    // ----- staff users -----

    /// Creates a staff account with a password its member chose (set-up, and the member's own
    /// tooling). The login is an email address or a name, unique ignoring case; the role must
    /// be declared in the policy; the password must meet the policy.
    pub async fn create_user(
        &self,
        login: &str,
        role: &str,
        password: &str,
    ) -> Result<UserId, IdentityError> {
        self.create(login, role, password, Password::Chosen).await
    }

    /// Creates a staff account whose password an administrator set: it meets the policy and
    /// is good for one sign-in, after which the member must choose their own before doing
    /// anything else, as the first administrator must (someone else knows it).
    pub async fn create_user_with_one_time_password(
        &self,
        login: &str,
        role: &str,
        password: &str,
    ) -> Result<UserId, IdentityError> {
        self.create(login, role, password, Password::SetByAdministrator)
            .await
    }

    async fn create(
        &self,
        login: &str,
        role: &str,
        password: &str,
        origin: Password,
    ) -> Result<UserId, IdentityError> {
        let must_change_password = origin != Password::Chosen;
        let login = login.trim();
        let chars = login.chars().count();
        if chars == 0
            || chars > MAX_LOGIN_CHARS
            || login.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(reject(
                ErrorCode::InvalidParameter,
                format!("a login has 1 to {MAX_LOGIN_CHARS} characters and no spaces"),
                "login",
            ));
        }
        self.check_role(role)?;
        if origin != Password::Generated {
            check_strength(password, login)?;
        }
        let now = self.clock.now();
        let hash = hash_password(password.as_bytes())?;
        let user = StoredUser {
            id: UserId::generate(now)?,
            login: login.to_owned(),
            login_key: login_key(login),
            role: role.to_owned(),
            password_hash: hash.as_str().to_owned(),
            must_change_password,
            failed_sign_ins: 0,
            locked_until: None,
            totp_sealed: None,
            totp_active: false,
            totp_last_step: None,
            created_at: now,
            last_sign_in_at: None,
        };
        if let Err(IdentityConflict::LoginTaken) = self.store.insert_user(&user).await? {
            return Err(reject(
                ErrorCode::LoginTaken,
                "another account has this login",
                "login",
            ));
        }
        self.record(IdentityEvent {
            user: Some(user.id.clone()),
            detail: Some(role.to_owned()),
            ..event(now, action::USER_CREATE)
        })
        .await?;
        Ok(user.id)
    }

    /// On first run (no user at all), creates `admin` with the role `admin` and a random
    /// one-time password that must be changed at first sign-in. Returns it once, to print;
    /// `None` when any user exists (also when another instance bootstrapped first).
    pub async fn bootstrap_admin(&self) -> Result<Option<Bootstrap>, IdentityError> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        // 128 random bits; hex so that it survives any terminal and copy-paste.
        let bytes = Zeroizing::new(custodian_crypto::random_bytes::<16>()?);
        let password = Zeroizing::new(hex::encode(bytes.as_slice()));
        match self
            .create(
                BOOTSTRAP_LOGIN,
                BOOTSTRAP_ROLE,
                &password,
                Password::Generated,
            )
            .await
        {
            Ok(user) => Ok(Some(Bootstrap {
                user,
                login: BOOTSTRAP_LOGIN,
                password,
            })),
            Err(IdentityError::Rejected(e)) if e.code == ErrorCode::LoginTaken => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn user(&self, id: &UserId) -> Result<Option<UserInfo>, IdentityError> {
        Ok(self.store.user(id).await?.map(|u| user_info(&u)))
    }

    /// Every staff account, oldest first (by id: in no set order within a millisecond).
    pub async fn users(&self) -> Result<Vec<UserInfo>, IdentityError> {
        Ok(self.store.users().await?.iter().map(user_info).collect())
    }

    pub async fn change_role(&self, user: &UserId, role: &str) -> Result<(), IdentityError> {
        self.check_role(role)?;
        if !self.store.set_role(user, role).await? {
            return Err(user_not_found());
        }
        self.record(IdentityEvent {
            user: Some(user.clone()),
            detail: Some(role.to_owned()),
            ..event(self.clock.now(), action::USER_ROLE_CHANGE)
        })
        .await?;
        Ok(())
    }

    /// Changes a password, given the current one (which a one-time password's holder has
    /// too). Clears `must_change_password`.
    pub async fn change_password(
        &self,
        user: &UserId,
        current: &str,
        new: &str,
    ) -> Result<(), IdentityError> {
        let stored = self.store.user(user).await?.ok_or_else(user_not_found)?;
        let hash = PasswordHash::parse(&stored.password_hash)?;
        if !verify_password(&hash, current.as_bytes()) {
            return Err(reject(
                ErrorCode::InvalidCredentials,
                "the current password is not valid",
                "current_password",
            ));
        }
        check_strength(new, &stored.login)?;
        if current == new {
            return Err(reject(
                ErrorCode::WeakPassword,
                "the new password is the current one: `reused`",
                "password",
            ));
        }
        let hash = hash_password(new.as_bytes())?;
        if !self.store.set_password(user, hash.as_str(), false).await? {
            return Err(user_not_found());
        }
        self.record(IdentityEvent {
            user: Some(user.clone()),
            ..event(self.clock.now(), action::USER_PASSWORD_CHANGE)
        })
        .await?;
        Ok(())
    }

    // ----- TOTP -----

    /// Starts (or restarts) enrolment of a second factor: a new secret, sealed and stored,
    /// not yet required until [`Identity::confirm_totp`]. Refused once one is confirmed.
    pub async fn enrol_totp(&self, user: &UserId) -> Result<TotpEnrolment, IdentityError> {
        let stored = self.store.user(user).await?.ok_or_else(user_not_found)?;
        if stored.totp_active {
            return Err(reject(
                ErrorCode::TotpAlreadyActive,
                "the account already has a second factor",
                "user",
            ));
        }
        let secret = TotpSecret::generate()?;
        let sealed =
            custodian_crypto::seal(&self.totp_key, &user_binding(user), secret.as_bytes())?;
        if !self.store.set_totp(user, Some(&sealed), false).await? {
            return Err(user_not_found());
        }
        self.record(IdentityEvent {
            user: Some(user.clone()),
            ..event(self.clock.now(), action::USER_TOTP_ENROL)
        })
        .await?;
        Ok(TotpEnrolment {
            secret_base32: secret.to_base32(),
            provisioning_uri: totp::provisioning_uri(&secret, TOTP_ISSUER, &stored.login),
        })
    }

    /// Activates the enrolled secret, given its current code: from now on sign-in needs one.
    pub async fn confirm_totp(&self, user: &UserId, code: &str) -> Result<(), IdentityError> {
        let stored = self.store.user(user).await?.ok_or_else(user_not_found)?;
        let Some(sealed) = stored
            .totp_sealed
            .as_deref()
            .filter(|_| !stored.totp_active)
        else {
            return Err(reject(
                ErrorCode::InvalidTotpCode,
                "no second factor is waiting for confirmation",
                "code",
            ));
        };
        let secret = self.open_totp(user, sealed)?;
        let now = self.clock.now();
        let Some(step) = totp::verify(&secret, code.trim(), now.as_second(), None) else {
            return Err(reject(
                ErrorCode::InvalidTotpCode,
                "the code is not the current one",
                "code",
            ));
        };
        self.store.set_totp(user, Some(sealed), true).await?;
        // The confirming code is spent: it cannot sign in as well.
        self.store.use_totp_step(user, step).await?;
        self.record(IdentityEvent {
            user: Some(user.clone()),
            ..event(now, action::USER_TOTP_CONFIRM)
        })
        .await?;
        Ok(())
    }

    fn open_totp(&self, user: &UserId, sealed: &[u8]) -> Result<TotpSecret, CryptoError> {
        let plain = custodian_crypto::open(&self.totp_key, &user_binding(user), sealed)?;
        TotpSecret::from_bytes(plain.as_bytes())
    }

    // ----- sign-in and sessions -----

    /// Signs a member of staff in. `client` is the address the attempt came from, for the
    /// per-address rate limit (`None` when unknown: only the per-login limit applies).
    pub async fn sign_in(
        &self,
        login: &str,
        password: &str,
        totp_code: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<SignedIn, SignInError> {
        let now = self.clock.now();
        let key = login_key(login);
        let mut limits = vec![format!("login:{key}")];
        if let Some(addr) = client {
            limits.push(format!("addr:{addr}"));
        }
        self.limiter
            .take(&limits, now)
            .map_err(|retry_after| SignInError::RateLimited { retry_after })?;

        let Some(user) = self.store.user_by_login(&key).await? else {
            verify_dummy(password.as_bytes());
            self.record(IdentityEvent {
                detail: Some("unknown_login".into()),
                ..event(now, action::SIGN_IN_FAILURE)
            })
            .await?;
            return Err(SignInError::InvalidCredentials);
        };
        if user.locked_until.is_some_and(|until| now < until) {
            verify_dummy(password.as_bytes());
            self.record(IdentityEvent {
                user: Some(user.id.clone()),
                detail: Some("locked".into()),
                ..event(now, action::SIGN_IN_FAILURE)
            })
            .await?;
            return Err(SignInError::InvalidCredentials);
        }
        let hash = PasswordHash::parse(&user.password_hash)?;
        if !verify_password(&hash, password.as_bytes()) {
            return Err(self.failed(&user, now, "wrong_password").await);
        }
        let Some(role) = self.policy.role_named(&user.role).map(|r| r.id.clone()) else {
            self.record(IdentityEvent {
                user: Some(user.id.clone()),
                detail: Some("role_unknown".into()),
                ..event(now, action::SIGN_IN_FAILURE)
            })
            .await?;
            return Err(SignInError::InvalidCredentials);
        };
        if user.totp_active {
            let Some(code) = totp_code else {
                return Err(SignInError::TotpRequired);
            };
            let Some(sealed) = user.totp_sealed.as_deref() else {
                return Err(StoreError::Corrupt("an active TOTP without a secret".into()).into());
            };
            let secret = self.open_totp(&user.id, sealed)?;
            let step = totp::verify(&secret, code.trim(), now.as_second(), user.totp_last_step);
            let fresh = match step {
                Some(step) => self.store.use_totp_step(&user.id, step).await?,
                None => false,
            };
            if !fresh {
                return Err(self.failed(&user, now, "wrong_totp").await);
            }
        }

        self.store.record_sign_in(&user.id, now).await?;
        if needs_rehash(&hash) {
            let rehashed = hash_password(password.as_bytes())?;
            self.store
                .set_password(&user.id, rehashed.as_str(), user.must_change_password)
                .await?;
        }
        let (token, digest) = SessionToken::generate()?;
        let expires_at = now.saturating_add(SESSION_ABSOLUTE).unwrap_or(now);
        self.store
            .insert_session(&StoredSession {
                digest: digest.to_hex(),
                user: user.id.clone(),
                created_at: now,
                last_seen_at: now,
                expires_at,
            })
            .await?;
        self.record(IdentityEvent {
            user: Some(user.id.clone()),
            ..event(now, action::SIGN_IN_SUCCESS)
        })
        .await?;
        Ok(SignedIn {
            token,
            principal: Principal::Staff {
                user: user.id.to_string(),
                role,
            },
            user: user.id,
            expires_at,
            must_change_password: user.must_change_password,
        })
    }

    /// Counts a failure (locking the account at the fifth in a row) and records it.
    async fn failed(&self, user: &StoredUser, now: Timestamp, reason: &str) -> SignInError {
        let lock_until = now.saturating_add(LOCK_OUT).unwrap_or(now);
        let outcome = async {
            let counted = self
                .store
                .record_failed_sign_in(&user.id, MAX_FAILED_SIGN_INS, lock_until)
                .await?;
            self.record(IdentityEvent {
                user: Some(user.id.clone()),
                detail: Some(reason.to_owned()),
                ..event(now, action::SIGN_IN_FAILURE)
            })
            .await?;
            if let Some((_, Some(until))) = counted
                && until == lock_until
            {
                self.record(IdentityEvent {
                    user: Some(user.id.clone()),
                    detail: Some(until.to_string()),
                    ..event(now, action::LOCK_OUT)
                })
                .await?;
            }
            Ok::<(), StoreError>(())
        }
        .await;
        match outcome {
            Ok(()) => SignInError::InvalidCredentials,
            Err(e) => SignInError::Store(e),
        }
    }

    /// The session a token stands for, if it is still valid; counts the request as activity.
    pub async fn authenticate_session(
        &self,
        presented: &str,
    ) -> Result<Option<StaffSession>, IdentityError> {
        if !presented.starts_with(custodian_crypto::SESSION_TOKEN_PREFIX) {
            return Ok(None);
        }
        let digest = TokenDigest::of(presented.as_bytes());
        let Some(session) = self.store.session(&digest.to_hex()).await? else {
            return Ok(None);
        };
        if !TokenDigest::from_hex(&session.digest)?.ct_eq(&digest) {
            return Ok(None);
        }
        let now = self.clock.now();
        let Some(touch) = session_activity(now, session.last_seen_at, session.expires_at) else {
            self.store.delete_session(&session.digest).await?;
            return Ok(None);
        };
        let Some(user) = self.store.user(&session.user).await? else {
            return Ok(None);
        };
        let Some(role) = self.policy.role_named(&user.role).map(|r| r.id.clone()) else {
            return Ok(None);
        };
        if touch {
            self.store.touch_session(&session.digest, now).await?;
        }
        Ok(Some(StaffSession {
            principal: Principal::Staff {
                user: user.id.to_string(),
                role,
            },
            user: user.id,
            expires_at: session.expires_at,
            must_change_password: user.must_change_password,
        }))
    }

    /// Ends the session of this token. Returns whether there was one.
    pub async fn sign_out(&self, presented: &str) -> Result<bool, IdentityError> {
        let digest = TokenDigest::of(presented.as_bytes()).to_hex();
        let Some(session) = self.store.session(&digest).await? else {
            return Ok(false);
        };
        let ended = self.store.delete_session(&digest).await?;
        if ended {
            self.record(IdentityEvent {
                user: Some(session.user),
                ..event(self.clock.now(), action::SIGN_OUT)
            })
            .await?;
        }
        Ok(ended)
    }

    /// Ends every session of the user. Returns how many there were.
    pub async fn sign_out_everywhere(&self, user: &UserId) -> Result<u64, IdentityError> {
        let ended = self.store.delete_sessions_of(user).await?;
        self.record(IdentityEvent {
            user: Some(user.clone()),
            detail: Some(ended.to_string()),
            ..event(self.clock.now(), action::SIGN_OUT_EVERYWHERE)
        })
        .await?;
        Ok(ended)
    }

    // ----- integration tokens -----

    /// A scope from the names a request gives, checked against the policy.
    pub fn scope_from_names(
        &self,
        operations: &[&str],
        purposes: Option<&[&str]>,
        restricted: &[&str],
    ) -> Result<Scope, IdentityError> {
        let operations = operations
            .iter()
            .map(|op| match Operation::parse(op) {
                None => Err(invalid_scope(
                    format!(
                        "`operations` names an operation that does not exist; an integration may hold {}",
                        integration_operations()
                    ),
                    "operations",
                )),
                // Integrations act on customers' data; only staff administer who may act.
                Some(o) if o.is_administration() => Err(invalid_scope(
                    format!(
                        "`operations` names an operation for staff only; an integration may hold {}",
                        integration_operations()
                    ),
                    "operations",
                )),
                Some(o) => Ok(o),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let purposes = match purposes {
            None => None,
            Some(names) => Some(
                names
                    .iter()
                    .map(|p| {
                        self.policy
                            .purpose_named(p)
                            .map(|p| p.id.clone())
                            .ok_or_else(|| {
                                invalid_scope(
                                    format!(
                                        "`purposes` names a purpose the policy does not declare (declared: {})",
                                        one_of(self.policy.purposes.iter().map(|p| p.id.as_str()))
                                    ),
                                    "purposes",
                                )
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let restricted = restricted
            .iter()
            .map(|c| {
                self.policy
                    .category_named(c)
                    .map(|c| c.id.clone())
                    .ok_or_else(|| {
                        invalid_scope(
                            "`restricted` names a category the policy does not declare (see /v1/policy)"
                                .to_owned(),
                            "restricted",
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Scope {
            operations,
            purposes,
            restricted,
        })
    }

    /// Issues an API token for an integration. The token is returned once; only its digest
    /// is stored.
    pub async fn issue_token(
        &self,
        name: &str,
        scope: &Scope,
    ) -> Result<(TokenId, ApiToken), IdentityError> {
        let chars = name.chars().count();
        if chars == 0
            || chars > MAX_TOKEN_NAME_CHARS
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(reject(
                ErrorCode::InvalidParameter,
                format!(
                    "a token name has 1 to {MAX_TOKEN_NAME_CHARS} letters, digits, `-`, `_` or `.`"
                ),
                "name",
            ));
        }
        let stored_scope = self.check_scope(scope)?;
        let now = self.clock.now();
        let (token, digest) = ApiToken::generate()?;
        let id = TokenId::generate(now)?;
        self.store
            .insert_token(&StoredToken {
                id: id.clone(),
                name: name.to_owned(),
                digest: digest.to_hex(),
                scope: stored_scope,
                created_at: now,
                last_used_at: None,
                revoked_at: None,
            })
            .await?;
        self.record(IdentityEvent {
            token: Some(id.clone()),
            detail: Some(name.to_owned()),
            ..event(now, action::TOKEN_ISSUE)
        })
        .await?;
        Ok((id, token))
    }

    fn check_scope(&self, scope: &Scope) -> Result<StoredScope, IdentityError> {
        if scope.operations.is_empty() {
            return Err(invalid_scope(
                "a scope names at least one operation".into(),
                "operations",
            ));
        }
        if scope
            .purposes
            .iter()
            .flatten()
            .any(|p| self.policy.purpose(p).is_none())
        {
            return Err(invalid_scope(
                "`purposes` names a purpose the policy does not declare".to_owned(),
                "purposes",
            ));
        }
        if scope
            .restricted
            .iter()
            .any(|c| self.policy.category(c).is_none())
        {
            return Err(invalid_scope(
                "`restricted` names a category the policy does not declare".to_owned(),
                "restricted",
            ));
        }
        Ok(StoredScope {
            operations: scope
                .operations
                .iter()
                .map(|o| o.as_str().to_owned())
                .collect(),
            purposes: scope
                .purposes
                .as_ref()
                .map(|ps| ps.iter().map(|p| p.as_str().to_owned()).collect()),
            restricted: scope
                .restricted
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
        })
    }

    /// The integration a presented API token stands for, unless it is unknown or revoked.
    pub async fn authenticate_token(
        &self,
        presented: &str,
    ) -> Result<Option<Principal>, IdentityError> {
        if !presented.starts_with(custodian_crypto::API_TOKEN_PREFIX) {
            return Ok(None);
        }
        // The digest of a 256-bit random token: finding it by index tells an attacker
        // nothing a timing could turn into a guess.
        let digest = TokenDigest::of(presented.as_bytes());
        let Some(token) = self.store.token_by_digest(&digest.to_hex()).await? else {
            return Ok(None);
        };
        if !TokenDigest::from_hex(&token.digest)?.ct_eq(&digest) || token.revoked_at.is_some() {
            return Ok(None);
        }
        let now = self.clock.now();
        if token
            .last_used_at
            .is_none_or(|used| now.duration_since(used) >= TOUCH_INTERVAL)
        {
            self.store.touch_token(&token.id, now).await?;
        }
        Ok(Some(Principal::Integration {
            name: token.name,
            scope: self.resolve_scope(&token.scope),
        }))
    }

    /// The stored scope against the current policy. What the policy no longer declares is
    /// dropped, which only ever narrows the scope.
    fn resolve_scope(&self, stored: &StoredScope) -> Scope {
        Scope {
            operations: stored
                .operations
                .iter()
                .filter_map(|o| Operation::parse(o))
                .filter(|o| !o.is_administration())
                .collect(),
            purposes: stored.purposes.as_ref().map(|ps| {
                ps.iter()
                    .filter_map(|p| self.policy.purpose_named(p).map(|p| p.id.clone()))
                    .collect()
            }),
            restricted: stored
                .restricted
                .iter()
                .filter_map(|c| self.policy.category_named(c).map(|c| c.id.clone()))
                .collect(),
        }
    }

    /// Revokes a token. Returns false when there is no such token or it was revoked already.
    pub async fn revoke_token(&self, id: &TokenId) -> Result<bool, IdentityError> {
        let now = self.clock.now();
        let revoked = self.store.revoke_token(id, now).await?;
        if revoked {
            self.record(IdentityEvent {
                token: Some(id.clone()),
                ..event(now, action::TOKEN_REVOKE)
            })
            .await?;
        }
        Ok(revoked)
    }

    /// Every token, revoked ones included, oldest first (by id: in no set order within a
    /// millisecond); never the token or its digest.
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>, IdentityError> {
        Ok(self
            .store
            .tokens()
            .await?
            .into_iter()
            .map(|t| TokenInfo {
                id: t.id,
                name: t.name,
                scope: t.scope,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
                revoked_at: t.revoked_at,
            })
            .collect())
    }

    /// The principal an issued token named `name` acts as (its newest live token), for
    /// explaining what it may see.
    pub async fn integration_named(&self, name: &str) -> Result<Option<Principal>, IdentityError> {
        Ok(self
            .store
            .tokens()
            .await?
            .into_iter()
            .rev()
            .find(|t| t.name == name && t.revoked_at.is_none())
            .map(|t| Principal::Integration {
                name: t.name,
                scope: self.resolve_scope(&t.scope),
            }))
    }

    /// The identity events, in order.
    pub async fn events(&self) -> Result<Vec<IdentityEvent>, IdentityError> {
        Ok(self.store.events().await?)
    }
}

/// Whether a session last seen at `last_seen` and ending at `expires_at` is still valid at
/// `now` (`None`: it has ended, absolutely or for idleness), and if so whether its last-seen
/// time is due to be written again. One rule for staff and customer sessions alike.
pub(crate) fn session_activity(
    now: Timestamp,
    last_seen: Timestamp,
    expires_at: Timestamp,
) -> Option<bool> {
    let idle_end = last_seen.saturating_add(SESSION_IDLE).unwrap_or(last_seen);
    if now >= expires_at || now >= idle_end {
        return None;
    }
    Some(now.duration_since(last_seen) >= TOUCH_INTERVAL)
}

fn check_strength(password: &str, login: &str) -> Result<(), IdentityError> {
    check_password_strength(password, &[login, "custodian"]).map_err(|weak| {
        reject(
            ErrorCode::WeakPassword,
            format!("{weak}: `{}`", weak.code()),
            "password",
        )
    })
}

/// The operations an integration's token may hold, for a message.
fn integration_operations() -> String {
    one_of(
        Operation::ALL
            .iter()
            .filter(|o| !o.is_administration())
            .map(|o| o.as_str()),
    )
}

fn invalid_scope(message: String, field: &str) -> IdentityError {
    reject(ErrorCode::InvalidScope, message, field)
}

fn user_not_found() -> IdentityError {
    reject(
        ErrorCode::UserNotFound,
        "no staff account has this id",
        "user",
    )
}

fn user_info(user: &StoredUser) -> UserInfo {
    UserInfo {
        id: user.id.clone(),
        login: user.login.clone(),
        role: user.role.clone(),
        totp_active: user.totp_active,
        must_change_password: user.must_change_password,
        locked_until: user.locked_until,
        created_at: user.created_at,
        last_sign_in_at: user.last_sign_in_at,
    }
}

#[cfg(test)]
mod tests;
