//! Care sessions and customers' own sign-in: the two ways someone outside staff's identity
//! comes to act on one customer.
//!
//! A care agent (a role whose `need_to_know` is `care_session`) sees a customer only within a
//! care session: the agent opens it, Custodian sends a one-time code to the contact on file
//! (read by Custodian itself, never shown to the agent), the customer reads the code back,
//! and the session is active for [`CARE_SESSION_ACTIVE`], for that agent and that customer
//! only. The vault asks the [`CareStore`] for such a session on every decision it makes for
//! a care agent.
//!
//! A customer signs in with a one-time code sent to the email on file, or with a password
//! they set, and gets a session that acts only on themselves (`Principal::Customer`).
//!
//! Codes are stored as HMACs under the code key (kept apart from the database), checked in
//! constant time, good once, for at most [`MAX_CODE_ATTEMPTS`] attempts. Every step is
//! written to the vault's audit log; never a code, a contact or a password.

mod requests;
mod store;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use custodian_crypto::{
    CryptoError, OneTimeCode, PasswordHash, SecretKey, SessionToken, TokenDigest,
    check_password_strength, digest_code, hash_password, needs_rehash, verify_code, verify_dummy,
    verify_password,
};
use custodian_policy::{Lang, NeedToKnow, Policy};

use crate::StoreError;
use crate::access::{Principal, SystemTask};
use crate::audit::{AuditEvent, Decision};
use crate::clock::Clock;
use crate::error::{ApiError, ErrorCode};
use crate::identity::{
    LOCK_OUT, MAX_FAILED_SIGN_INS, RateLimiter, SESSION_ABSOLUTE, SignInError, session_activity,
};
use crate::ids::{CareSessionId, CustomerId, UserId};
use crate::notify::{Channel, CodeMessage, CodePurpose, Notifier, NotifyError};
use crate::vault::{Vault, VaultError};

pub use requests::{RequestCodeSent, VerifiedRequest};
pub use store::{
    CareStore, StoredCareSession, StoredCustomerCode, StoredCustomerPassword, StoredCustomerSession,
};

/// Digits of every one-time code.
pub const CODE_DIGITS: usize = 6;
/// How long a code is good for.
pub const CODE_VALID: SignedDuration = SignedDuration::from_mins(10);
/// Attempts at one code, right or wrong; then it is spent.
pub const MAX_CODE_ATTEMPTS: u32 = 5;
/// How long a verified care session lasts, however active: a fixed span, so that an agent
/// who leaves a session open does not keep the customer's data open with it.
pub const CARE_SESSION_ACTIVE: SignedDuration = SignedDuration::from_mins(30);

/// The `action` of each audit event written here. Failures are `Denied`, with their reason
/// in `withheld` (`reason:…`).
pub mod action {
    pub const CARE_OPEN: &str = "care.open";
    pub const CARE_VERIFY: &str = "care.verify";
    pub const CARE_CLOSE: &str = "care.close";
    pub const CUSTOMER_CODE_REQUEST: &str = "customer.code_request";
    pub const CUSTOMER_SIGN_IN: &str = "customer.sign_in";
    pub const CUSTOMER_LOCK_OUT: &str = "customer.lock_out";
    pub const CUSTOMER_SIGN_OUT: &str = "customer.sign_out";
    pub const CUSTOMER_PASSWORD_SET: &str = "customer.password_set";
}

/// A failure of a care-session or customer-account use case.
#[derive(Debug, thiserror::Error)]
pub enum CareError {
    /// Refused, with a stable code.
    #[error("{0}")]
    Rejected(ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Too many code requests for this email or from this address.
    #[error("too many requests")]
    RateLimited { retry_after: SignedDuration },
}

impl CareError {
    /// The API error for the refusals; `None` for store and crypto failures (internal).
    pub fn api_error(&self) -> Option<ApiError> {
        match self {
            CareError::Rejected(e) => Some(e.clone()),
            CareError::RateLimited { retry_after } => Some(ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "too many attempts; retry in {} seconds",
                    retry_after.as_secs()
                ),
            )),
            CareError::Store(_) | CareError::Crypto(_) => None,
        }
    }
}

impl From<VaultError> for CareError {
    fn from(e: VaultError) -> CareError {
        match e {
            VaultError::Rejected(e) => CareError::Rejected(e),
            VaultError::Store(e) => CareError::Store(e),
            VaultError::Crypto(e) => CareError::Crypto(e),
        }
    }
}

fn reject(code: ErrorCode, message: impl Into<String>, field: &str) -> CareError {
    CareError::Rejected(ApiError::new(code, message).with_field(field))
}

/// A vault failure during sign-in. The vault's calls made here refuse nothing (they only
/// read and audit), so a refusal is an internal failure, not something to tell the caller.
fn sign_in_failure(e: VaultError) -> SignInError {
    match e {
        VaultError::Store(e) => SignInError::Store(e),
        VaultError::Crypto(e) => SignInError::Crypto(e),
        VaultError::Rejected(e) => SignInError::Store(StoreError::Corrupt(e.message)),
    }
}

/// Where a request comes from: for rate limits and the audit log.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The client's address, for the per-address limit (`None`: only the per-account one).
    pub client: Option<IpAddr>,
    pub request_id: Option<String>,
}

/// A care session just opened: the code is on its way to the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareSessionOpened {
    pub id: CareSessionId,
    pub channel: Channel,
    pub code_expires_at: Timestamp,
}

/// A verified care session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareSessionActive {
    pub id: CareSessionId,
    pub customer: CustomerId,
    pub active_until: Timestamp,
}

/// A customer signed in. The token is shown once: only its digest is kept.
#[derive(Debug)]
pub struct CustomerSignedIn {
    pub token: SessionToken,
    pub customer: CustomerId,
    /// `Principal::Customer`.
    pub principal: Principal,
    pub expires_at: Timestamp,
}

/// A customer session that is still valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSession {
    pub customer: CustomerId,
    /// `Principal::Customer`.
    pub principal: Principal,
    pub expires_at: Timestamp,
}

/// The use cases of care sessions and customers' sign-in.
pub struct Care {
    policy: Arc<Policy>,
    vault: Vault,
    store: Arc<dyn CareStore>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    code_key: SecretKey,
    limiter: RateLimiter,
}

impl fmt::Debug for Care {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Care").finish_non_exhaustive()
    }
}

impl Care {
    /// `vault` must look care sessions up in the same `store` ([`Vault::with_care_store`]).
    /// `code_key` keys the HMACs of one-time codes: keep it apart from the database, like
    /// the identity key.
    pub fn new(
        policy: Arc<Policy>,
        vault: Vault,
        store: Arc<dyn CareStore>,
        notifier: Arc<dyn Notifier>,
        clock: Arc<dyn Clock>,
        code_key: SecretKey,
    ) -> Care {
        Care {
            policy,
            vault,
            store,
            notifier,
            clock,
            code_key,
            limiter: RateLimiter::default(),
        }
    }

    /// Replaces the rate limiter of customer sign-ins and code requests (tests).
    pub fn with_rate_limiter(mut self, limiter: RateLimiter) -> Care {
        self.limiter = limiter;
        self
    }

    fn event(
        &self,
        now: Timestamp,
        actor: String,
        action: &str,
        customer: Option<&CustomerId>,
        request_id: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            at: now,
            actor,
            action: action.to_owned(),
            customer: customer.map(ToString::to_string),
            categories: Vec::new(),
            fields: Vec::new(),
            withheld: Vec::new(),
            purpose: None,
            decision: Decision::Allowed,
            request_id,
        }
    }

    // ----- care sessions -----

    /// The calling agent: a member of staff in a role that sees customers only within care
    /// sessions. Anyone else may not open or use one.
    fn agent(&self, principal: &Principal) -> Result<UserId, CareError> {
        let Principal::Staff { user, role } = principal else {
            return Err(not_an_agent());
        };
        let care_role = self
            .policy
            .role_named(role.as_str())
            .is_some_and(|r| r.need_to_know == NeedToKnow::CareSession);
        match UserId::parse(user) {
            Some(user) if care_role => Ok(user),
            _ => Err(not_an_agent()),
        }
    }

    /// Opens a care session for `customer`: sends a code to their contact on `channel`
    /// (read by Custodian, never shown to the agent), in `lang`.
    pub async fn open_care_session(
        &self,
        principal: &Principal,
        customer: &CustomerId,
        channel: Channel,
        lang: Lang,
        request_id: Option<String>,
    ) -> Result<CareSessionOpened, CareError> {
        let staff = self.agent(principal)?;
        // Before the contact is read: a session that cannot be verified is not worth a read
        // of the customer's data.
        if let Err(e) = deliverable(self.notifier.as_ref(), channel) {
            let mut event = self.care_event(principal, action::CARE_OPEN, customer, &request_id);
            event.decision = Decision::Denied;
            event.withheld.push(format!("channel:{}", channel.as_str()));
            event
                .withheld
                .push(format!("reason:{}", notifier_reason(&e)));
            self.vault.audit(event).await?;
            return Err(notifier_error(&e));
        }
        let Some(contact) = self
            .vault
            .contact_on_file(
                customer,
                channel,
                SystemTask::CareVerification,
                request_id.clone(),
            )
            .await?
        else {
            let error = if self.vault.customer_exists(customer).await? {
                reject(
                    ErrorCode::NoContactOnFile,
                    format!("the customer has no {} on file", channel.as_str()),
                    "channel",
                )
            } else {
                reject(ErrorCode::CustomerNotFound, "no customer has this id", "id")
            };
            let mut event = self.care_event(principal, action::CARE_OPEN, customer, &request_id);
            event.decision = Decision::Denied;
            event.withheld.push("reason:no_contact_on_file".into());
            self.vault.audit(event).await?;
            return Err(error);
        };
        let now = self.clock.now();
        let code = OneTimeCode::generate(CODE_DIGITS)?;
        let code_expires_at = now.saturating_add(CODE_VALID).unwrap_or(now);
        let session = StoredCareSession {
            id: CareSessionId::generate(now)?,
            staff,
            customer: customer.clone(),
            channel: channel.as_str().to_owned(),
            code_digest: code.digest(&self.code_key),
            attempts: 0,
            created_at: now,
            code_expires_at,
            verified_at: None,
            active_until: None,
            closed_at: None,
        };
        self.store.insert_care_session(&session).await?;
        let message = CodeMessage::new(
            code,
            CodePurpose::CareVerification,
            lang,
            code_expires_at,
            CODE_VALID,
        );
        let sent = self.notifier.send_code(&contact, &message).await;
        let mut event = self.care_event(principal, action::CARE_OPEN, customer, &request_id);
        event.withheld.push(format!("care_session:{}", session.id));
        event.withheld.push(format!("channel:{}", channel.as_str()));
        if let Err(e) = sent {
            // A session whose code never went out must not linger, waiting to be guessed.
            self.store.close_care_session(&session.id, now).await?;
            event.decision = Decision::Denied;
            event
                .withheld
                .push(format!("reason:{}", notifier_reason(&e)));
            self.vault.audit(event).await?;
            return Err(notifier_error(&e));
        }
        self.vault.audit(event).await?;
        Ok(CareSessionOpened {
            id: session.id,
            channel,
            code_expires_at,
        })
    }

    fn care_event(
        &self,
        principal: &Principal,
        action: &str,
        customer: &CustomerId,
        request_id: &Option<String>,
    ) -> AuditEvent {
        self.event(
            self.clock.now(),
            principal.audit_name(),
            action,
            Some(customer),
            request_id.clone(),
        )
    }

    /// The agent's own session with this id: another agent's is not found.
    async fn own_session(
        &self,
        staff: &UserId,
        id: &CareSessionId,
    ) -> Result<StoredCareSession, CareError> {
        match self.store.care_session(id).await? {
            Some(session) if session.staff == *staff => Ok(session),
            _ => Err(reject(
                ErrorCode::CareSessionNotFound,
                "no care session of yours has this id",
                "id",
            )),
        }
    }

    /// Checks the code the customer read to the agent and, if it is right, activates the
    /// session for [`CARE_SESSION_ACTIVE`].
    pub async fn verify_care_session(
        &self,
        principal: &Principal,
        id: &CareSessionId,
        code: &str,
        request_id: Option<String>,
    ) -> Result<CareSessionActive, CareError> {
        let staff = self.agent(principal)?;
        let session = match self.own_session(&staff, id).await {
            Ok(session) => session,
            Err(e) => {
                if let Some(other) = self.store.care_session(id).await? {
                    // Someone tried another agent's session: that is worth a line in the log.
                    let mut event = self.care_event(
                        principal,
                        action::CARE_VERIFY,
                        &other.customer,
                        &request_id,
                    );
                    event.decision = Decision::Denied;
                    event.withheld.push(format!("care_session:{id}"));
                    event.withheld.push("reason:not_own_session".into());
                    self.vault.audit(event).await?;
                }
                return Err(e);
            }
        };
        let now = self.clock.now();
        let mut event = self.care_event(
            principal,
            action::CARE_VERIFY,
            &session.customer,
            &request_id,
        );
        event.withheld.push(format!("care_session:{id}"));
        let refused = |reason: &str, mut event: AuditEvent| {
            event.decision = Decision::Denied;
            event.withheld.push(format!("reason:{reason}"));
            event
        };
        if session.verified_at.is_some() || session.closed_at.is_some() {
            self.vault.audit(refused("code_used", event)).await?;
            return Err(code_expired());
        }
        if now >= session.code_expires_at {
            self.vault.audit(refused("code_expired", event)).await?;
            return Err(code_expired());
        }
        // The attempt is counted before the code is compared: concurrent guesses cannot
        // get past the limit.
        let Some(attempts) = self.store.count_care_attempt(id, MAX_CODE_ATTEMPTS).await? else {
            self.vault.audit(refused("attempts_spent", event)).await?;
            return Err(code_expired());
        };
        if !verify_code(&self.code_key, code.trim(), &session.code_digest) {
            self.vault.audit(refused("wrong_code", event)).await?;
            return Err(if attempts >= MAX_CODE_ATTEMPTS {
                code_expired()
            } else {
                reject(
                    ErrorCode::InvalidCode,
                    format!(
                        "the code is not the one sent; {} attempts left",
                        MAX_CODE_ATTEMPTS - attempts
                    ),
                    "code",
                )
            });
        }
        let active_until = now.saturating_add(CARE_SESSION_ACTIVE).unwrap_or(now);
        if !self
            .store
            .activate_care_session(id, now, active_until)
            .await?
        {
            self.vault.audit(refused("code_used", event)).await?;
            return Err(code_expired());
        }
        self.vault.audit(event).await?;
        Ok(CareSessionActive {
            id: id.clone(),
            customer: session.customer,
            active_until,
        })
    }

    /// Ends the agent's session before its time. Returns false if it was closed already.
    pub async fn close_care_session(
        &self,
        principal: &Principal,
        id: &CareSessionId,
        request_id: Option<String>,
    ) -> Result<bool, CareError> {
        let staff = self.agent(principal)?;
        let session = self.own_session(&staff, id).await?;
        let closed = self.store.close_care_session(id, self.clock.now()).await?;
        if closed {
            let mut event = self.care_event(
                principal,
                action::CARE_CLOSE,
                &session.customer,
                &request_id,
            );
            event.withheld.push(format!("care_session:{id}"));
            self.vault.audit(event).await?;
        }
        Ok(closed)
    }

    // ----- customers' sign-in -----

    /// The rate-limit keys of an attempt: the email (hashed: the limiter's table holds no
    /// address) and the client's address.
    fn limits(&self, email: &str, caller: &Caller) -> Vec<String> {
        let key = Sha256::digest(email.trim().to_lowercase().as_bytes());
        let mut keys = vec![format!("customer:{}", hex::encode(key))];
        if let Some(addr) = caller.client {
            keys.push(format!("addr:{addr}"));
        }
        keys
    }

    fn sign_in_event(
        &self,
        now: Timestamp,
        action: &str,
        customer: Option<&CustomerId>,
        caller: &Caller,
    ) -> AuditEvent {
        let actor = match customer {
            Some(id) => Principal::Customer { id: id.clone() }.audit_name(),
            None => "system:customer_sign_in".to_owned(),
        };
        self.event(now, actor, action, customer, caller.request_id.clone())
    }

    /// Sends a sign-in code to `email` if it is the email on file of a customer. The answer
    /// is the same either way, and so is the work, as far as it can be: a code is generated
    /// and its message rendered whether or not anybody gets it.
    pub async fn request_customer_code(
        &self,
        email: &str,
        lang: Lang,
        caller: &Caller,
    ) -> Result<(), CareError> {
        let now = self.clock.now();
        self.limiter
            .take(&self.limits(email, caller), now)
            .map_err(|retry_after| CareError::RateLimited { retry_after })?;
        // Asked of the notifier, not of a delivery: the answer cannot depend on the email.
        deliverable(self.notifier.as_ref(), Channel::Email).map_err(|e| notifier_error(&e))?;
        let found = self
            .vault
            .customer_by_email(email, caller.request_id.clone())
            .await?;
        let code = OneTimeCode::generate(CODE_DIGITS)?;
        let digest = code.digest(&self.code_key);
        let expires_at = now.saturating_add(CODE_VALID).unwrap_or(now);
        let message = CodeMessage::new(
            code,
            CodePurpose::CustomerSignIn,
            lang,
            expires_at,
            CODE_VALID,
        );
        drop(message.render());
        let customer = found.as_ref().map(|(id, _)| id);
        let mut event = self.sign_in_event(now, action::CUSTOMER_CODE_REQUEST, customer, caller);
        match &found {
            Some((id, contact)) => {
                self.store
                    .put_customer_code(&StoredCustomerCode {
                        customer: id.clone(),
                        code_digest: digest,
                        attempts: 0,
                        expires_at,
                    })
                    .await?;
                // A failed delivery is not told to the caller: that would say the email is
                // known. It is in the audit log.
                if self.notifier.send_code(contact, &message).await.is_err() {
                    event.decision = Decision::Denied;
                    event.withheld.push("reason:not_delivered".into());
                }
            }
            None => {
                event.decision = Decision::Denied;
                event.withheld.push("reason:unknown_email".into());
            }
        }
        self.vault.audit(event).await?;
        Ok(())
    }

    /// Signs a customer in with the code sent to their email.
    pub async fn sign_in_customer_with_code(
        &self,
        email: &str,
        code: &str,
        caller: &Caller,
    ) -> Result<CustomerSignedIn, SignInError> {
        let now = self.clock.now();
        self.limiter
            .take(&self.limits(email, caller), now)
            .map_err(|retry_after| SignInError::RateLimited { retry_after })?;
        let found = self
            .vault
            .customer_by_email(email, caller.request_id.clone())
            .await
            .map_err(sign_in_failure)?;
        let code = code.trim();
        let Some((customer, _)) = found else {
            // The same comparison as for a known email, against nothing.
            let _ = verify_code(&self.code_key, code, &digest_code(&self.code_key, ""));
            return Err(self
                .sign_in_refused(now, None, "unknown_email", caller)
                .await);
        };
        let stored = self.store.customer_code(&customer).await?;
        let Some(stored) = stored.filter(|c| now < c.expires_at) else {
            let _ = verify_code(&self.code_key, code, &digest_code(&self.code_key, ""));
            return Err(self
                .sign_in_refused(now, Some(&customer), "no_code", caller)
                .await);
        };
        let counted = self
            .store
            .count_customer_code_attempt(&customer, MAX_CODE_ATTEMPTS)
            .await?;
        let right = verify_code(&self.code_key, code, &stored.code_digest);
        if counted.is_none() || !right {
            let reason = if counted.is_none() {
                "attempts_spent"
            } else {
                "wrong_code"
            };
            return Err(self
                .sign_in_refused(now, Some(&customer), reason, caller)
                .await);
        }
        if !self
            .store
            .take_customer_code(&customer, &stored.code_digest)
            .await?
        {
            return Err(self
                .sign_in_refused(now, Some(&customer), "code_used", caller)
                .await);
        }
        self.new_session(now, customer, caller).await
    }

    /// Sets the password of the signed-in customer (`Principal::Customer`); it must meet the
    /// password policy. Clears any lock-out.
    pub async fn set_customer_password(
        &self,
        principal: &Principal,
        password: &str,
        request_id: Option<String>,
    ) -> Result<(), CareError> {
        let Principal::Customer { id } = principal else {
            return Err(reject(
                ErrorCode::OperationNotAllowed,
                "only a customer sets their own password",
                "principal",
            ));
        };
        if !self.vault.customer_exists(id).await? {
            return Err(reject(
                ErrorCode::CustomerNotFound,
                "no customer has this id",
                "id",
            ));
        }
        check_password_strength(password, &["custodian", "htpmart"]).map_err(|weak| {
            reject(
                ErrorCode::WeakPassword,
                format!("{weak}: `{}`", weak.code()),
                "password",
            )
        })?;
        let hash = hash_password(password.as_bytes())?;
        self.store.set_customer_password(id, hash.as_str()).await?;
        let event = self.event(
            self.clock.now(),
            principal.audit_name(),
            action::CUSTOMER_PASSWORD_SET,
            Some(id),
            request_id,
        );
        self.vault.audit(event).await?;
        Ok(())
    }

    /// Signs a customer in with the email on file and their password, under the lock-out
    /// rules of staff sign-in: five failures in a row lock the password for 15 minutes.
    pub async fn sign_in_customer_with_password(
        &self,
        email: &str,
        password: &str,
        caller: &Caller,
    ) -> Result<CustomerSignedIn, SignInError> {
        let now = self.clock.now();
        self.limiter
            .take(&self.limits(email, caller), now)
            .map_err(|retry_after| SignInError::RateLimited { retry_after })?;
        let found = self
            .vault
            .customer_by_email(email, caller.request_id.clone())
            .await
            .map_err(sign_in_failure)?;
        let Some((customer, _)) = found else {
            verify_dummy(password.as_bytes());
            return Err(self
                .sign_in_refused(now, None, "unknown_email", caller)
                .await);
        };
        let Some(stored) = self.store.customer_password(&customer).await? else {
            verify_dummy(password.as_bytes());
            return Err(self
                .sign_in_refused(now, Some(&customer), "no_password", caller)
                .await);
        };
        if stored.locked_until.is_some_and(|until| now < until) {
            verify_dummy(password.as_bytes());
            return Err(self
                .sign_in_refused(now, Some(&customer), "locked", caller)
                .await);
        }
        let hash = PasswordHash::parse(&stored.password_hash)?;
        if !verify_password(&hash, password.as_bytes()) {
            let lock_until = now.saturating_add(LOCK_OUT).unwrap_or(now);
            let counted = self
                .store
                .record_customer_failed_sign_in(&customer, MAX_FAILED_SIGN_INS, lock_until)
                .await?;
            let error = self
                .sign_in_refused(now, Some(&customer), "wrong_password", caller)
                .await;
            if let Some((_, Some(until))) = counted
                && until == lock_until
            {
                let mut event =
                    self.sign_in_event(now, action::CUSTOMER_LOCK_OUT, Some(&customer), caller);
                event.decision = Decision::Denied;
                event.withheld.push(format!("until:{until}"));
                self.vault.audit(event).await.map_err(sign_in_failure)?;
            }
            return Err(error);
        }
        self.store.record_customer_sign_in(&customer).await?;
        if needs_rehash(&hash) {
            let rehashed = hash_password(password.as_bytes())?;
            self.store
                .set_customer_password(&customer, rehashed.as_str())
                .await?;
        }
        self.new_session(now, customer, caller).await
    }

    /// Records a refused sign-in and returns the one answer every refusal gets.
    async fn sign_in_refused(
        &self,
        now: Timestamp,
        customer: Option<&CustomerId>,
        reason: &str,
        caller: &Caller,
    ) -> SignInError {
        let mut event = self.sign_in_event(now, action::CUSTOMER_SIGN_IN, customer, caller);
        event.decision = Decision::Denied;
        event.withheld.push(format!("reason:{reason}"));
        match self.vault.audit(event).await {
            Ok(()) => SignInError::InvalidCredentials,
            Err(e) => sign_in_failure(e),
        }
    }

    async fn new_session(
        &self,
        now: Timestamp,
        customer: CustomerId,
        caller: &Caller,
    ) -> Result<CustomerSignedIn, SignInError> {
        let (token, digest) = SessionToken::generate()?;
        let expires_at = now.saturating_add(SESSION_ABSOLUTE).unwrap_or(now);
        self.store
            .insert_customer_session(&StoredCustomerSession {
                digest: digest.to_hex(),
                customer: customer.clone(),
                created_at: now,
                last_seen_at: now,
                expires_at,
            })
            .await?;
        let event = self.sign_in_event(now, action::CUSTOMER_SIGN_IN, Some(&customer), caller);
        self.vault.audit(event).await.map_err(sign_in_failure)?;
        Ok(CustomerSignedIn {
            token,
            customer: customer.clone(),
            principal: Principal::Customer { id: customer },
            expires_at,
        })
    }

    /// The customer a session token stands for, if the session is still valid and the
    /// customer still exists; counts the request as activity.
    pub async fn authenticate_customer_session(
        &self,
        presented: &str,
    ) -> Result<Option<CustomerSession>, CareError> {
        if !presented.starts_with(custodian_crypto::SESSION_TOKEN_PREFIX) {
            return Ok(None);
        }
        let digest = TokenDigest::of(presented.as_bytes());
        let Some(session) = self.store.customer_session(&digest.to_hex()).await? else {
            return Ok(None);
        };
        if !TokenDigest::from_hex(&session.digest)?.ct_eq(&digest) {
            return Ok(None);
        }
        let now = self.clock.now();
        let Some(touch) = session_activity(now, session.last_seen_at, session.expires_at) else {
            self.store.delete_customer_session(&session.digest).await?;
            return Ok(None);
        };
        // An erasure purges sessions; this holds even if the purge never ran.
        if !self.vault.customer_exists(&session.customer).await? {
            self.store.delete_customer_session(&session.digest).await?;
            return Ok(None);
        }
        if touch {
            self.store
                .touch_customer_session(&session.digest, now)
                .await?;
        }
        Ok(Some(CustomerSession {
            principal: Principal::Customer {
                id: session.customer.clone(),
            },
            customer: session.customer,
            expires_at: session.expires_at,
        }))
    }

    /// Ends the customer session of this token. Returns whether there was one.
    pub async fn sign_out_customer(
        &self,
        presented: &str,
        request_id: Option<String>,
    ) -> Result<bool, CareError> {
        let digest = TokenDigest::of(presented.as_bytes()).to_hex();
        let Some(session) = self.store.customer_session(&digest).await? else {
            return Ok(false);
        };
        let ended = self.store.delete_customer_session(&digest).await?;
        if ended {
            let event = self.event(
                self.clock.now(),
                Principal::Customer {
                    id: session.customer.clone(),
                }
                .audit_name(),
                action::CUSTOMER_SIGN_OUT,
                Some(&session.customer),
                request_id,
            );
            self.vault.audit(event).await?;
        }
        Ok(ended)
    }
}

fn not_an_agent() -> CareError {
    reject(
        ErrorCode::OperationNotAllowed,
        "only a care agent opens and uses care sessions",
        "principal",
    )
}

fn code_expired() -> CareError {
    reject(
        ErrorCode::CodeExpired,
        "the code expired, was used, or its attempts are spent: open a new care session",
        "code",
    )
}

/// Whether `notifier` can send a code on `channel`, asked of the notifier alone: the answer
/// never depends on the recipient.
fn deliverable(notifier: &dyn Notifier, channel: Channel) -> Result<(), NotifyError> {
    if !notifier.available() {
        Err(NotifyError::Unavailable)
    } else if !notifier.delivers(channel) {
        Err(NotifyError::ChannelUnavailable(channel))
    } else {
        Ok(())
    }
}

/// The reason an audit event gives for a code that was not sent.
fn notifier_reason(e: &NotifyError) -> &'static str {
    match e {
        NotifyError::Unavailable => "notifier_unavailable",
        NotifyError::ChannelUnavailable(_) => "channel_unavailable",
        NotifyError::Failed(_) => "not_delivered",
    }
}

fn notifier_error(e: &NotifyError) -> CareError {
    match e {
        NotifyError::ChannelUnavailable(channel) => reject(
            ErrorCode::ChannelUnavailable,
            format!(
                "one-time codes cannot be delivered by {}: choose another channel",
                channel.as_str()
            ),
            "channel",
        ),
        NotifyError::Unavailable => CareError::Rejected(ApiError::new(
            ErrorCode::NotifierUnavailable,
            "no channel can deliver one-time codes: none is configured",
        )),
        NotifyError::Failed(_) => CareError::Rejected(ApiError::new(
            ErrorCode::NotifierUnavailable,
            "the code could not be delivered",
        )),
    }
}
