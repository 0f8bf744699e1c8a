#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::sync::Mutex;

use async_trait::async_trait;
use custodian_policy::{DEFAULT_POLICY, parse};

use super::*;
use crate::clock::FixedClock;

/// The port in memory, with the semantics the SQL stores implement.
#[derive(Default)]
struct Memory {
    users: Mutex<Vec<StoredUser>>,
    sessions: Mutex<Vec<StoredSession>>,
    tokens: Mutex<Vec<StoredToken>>,
    events: Mutex<Vec<IdentityEvent>>,
}

impl Memory {
    fn with_user<T>(&self, id: &UserId, f: impl FnOnce(&mut StoredUser) -> T) -> Option<T> {
        self.users
            .lock()
            .unwrap()
            .iter_mut()
            .find(|u| &u.id == id)
            .map(f)
    }
}

#[async_trait]
impl IdentityStore for Memory {
    async fn insert_user(
        &self,
        user: &StoredUser,
    ) -> Result<Result<(), IdentityConflict>, StoreError> {
        let mut users = self.users.lock().unwrap();
        if users.iter().any(|u| u.login_key == user.login_key) {
            return Ok(Err(IdentityConflict::LoginTaken));
        }
        users.push(user.clone());
        Ok(Ok(()))
    }
    async fn user(&self, id: &UserId) -> Result<Option<StoredUser>, StoreError> {
        Ok(self.with_user(id, |u| u.clone()))
    }
    async fn user_by_login(&self, key: &str) -> Result<Option<StoredUser>, StoreError> {
        let users = self.users.lock().unwrap();
        Ok(users.iter().find(|u| u.login_key == key).cloned())
    }
    async fn users(&self) -> Result<Vec<StoredUser>, StoreError> {
        Ok(self.users.lock().unwrap().clone())
    }
    async fn count_users(&self) -> Result<u64, StoreError> {
        Ok(self.users.lock().unwrap().len() as u64)
    }
    async fn set_role(&self, id: &UserId, role: &str) -> Result<bool, StoreError> {
        Ok(self.with_user(id, |u| u.role = role.to_owned()).is_some())
    }
    async fn set_password(&self, id: &UserId, hash: &str, must: bool) -> Result<bool, StoreError> {
        Ok(self
            .with_user(id, |u| {
                u.password_hash = hash.to_owned();
                u.must_change_password = must;
            })
            .is_some())
    }
    async fn record_failed_sign_in(
        &self,
        id: &UserId,
        max: u32,
        lock_until: Timestamp,
    ) -> Result<Option<(u32, Option<Timestamp>)>, StoreError> {
        Ok(self.with_user(id, |u| {
            if u.failed_sign_ins + 1 >= max {
                u.failed_sign_ins = 0;
                u.locked_until = Some(lock_until);
            } else {
                u.failed_sign_ins += 1;
            }
            (u.failed_sign_ins, u.locked_until)
        }))
    }
    async fn record_sign_in(&self, id: &UserId, at: Timestamp) -> Result<(), StoreError> {
        self.with_user(id, |u| {
            u.failed_sign_ins = 0;
            u.last_sign_in_at = Some(at);
        });
        Ok(())
    }
    async fn set_totp(
        &self,
        id: &UserId,
        sealed: Option<&[u8]>,
        active: bool,
    ) -> Result<bool, StoreError> {
        Ok(self
            .with_user(id, |u| {
                u.totp_sealed = sealed.map(<[u8]>::to_vec);
                u.totp_active = active;
                u.totp_last_step = None;
            })
            .is_some())
    }
    async fn use_totp_step(&self, id: &UserId, step: u64) -> Result<bool, StoreError> {
        Ok(self
            .with_user(id, |u| {
                let fresh = u.totp_last_step.is_none_or(|last| step > last);
                if fresh {
                    u.totp_last_step = Some(step);
                }
                fresh
            })
            .unwrap_or(false))
    }
    async fn insert_session(&self, session: &StoredSession) -> Result<(), StoreError> {
        self.sessions.lock().unwrap().push(session.clone());
        Ok(())
    }
    async fn session(&self, digest: &str) -> Result<Option<StoredSession>, StoreError> {
        let sessions = self.sessions.lock().unwrap();
        Ok(sessions.iter().find(|s| s.digest == digest).cloned())
    }
    async fn touch_session(&self, digest: &str, at: Timestamp) -> Result<(), StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        if let Some(s) = sessions.iter_mut().find(|s| s.digest == digest) {
            s.last_seen_at = at;
        }
        Ok(())
    }
    async fn delete_session(&self, digest: &str) -> Result<bool, StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        let before = sessions.len();
        sessions.retain(|s| s.digest != digest);
        Ok(sessions.len() < before)
    }
    async fn delete_sessions_of(&self, user: &UserId) -> Result<u64, StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        let before = sessions.len();
        sessions.retain(|s| &s.user != user);
        Ok((before - sessions.len()) as u64)
    }
    async fn insert_token(&self, token: &StoredToken) -> Result<(), StoreError> {
        self.tokens.lock().unwrap().push(token.clone());
        Ok(())
    }
    async fn token_by_digest(&self, digest: &str) -> Result<Option<StoredToken>, StoreError> {
        let tokens = self.tokens.lock().unwrap();
        Ok(tokens.iter().find(|t| t.digest == digest).cloned())
    }
    async fn touch_token(&self, id: &TokenId, at: Timestamp) -> Result<(), StoreError> {
        let mut tokens = self.tokens.lock().unwrap();
        if let Some(t) = tokens.iter_mut().find(|t| &t.id == id) {
            t.last_used_at = Some(at);
        }
        Ok(())
    }
    async fn revoke_token(&self, id: &TokenId, at: Timestamp) -> Result<bool, StoreError> {
        let mut tokens = self.tokens.lock().unwrap();
        match tokens
            .iter_mut()
            .find(|t| &t.id == id && t.revoked_at.is_none())
        {
            Some(t) => {
                t.revoked_at = Some(at);
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn tokens(&self) -> Result<Vec<StoredToken>, StoreError> {
        Ok(self.tokens.lock().unwrap().clone())
    }
    async fn append_event(&self, event: &IdentityEvent) -> Result<(), StoreError> {
        self.events.lock().unwrap().push(event.clone());
        Ok(())
    }
    async fn events(&self) -> Result<Vec<IdentityEvent>, StoreError> {
        Ok(self.events.lock().unwrap().clone())
    }
}

const PASSWORD: &str = "lantern orbit meadow";

fn start() -> Timestamp {
    "2026-03-01T08:00:00Z".parse().unwrap()
}

fn identity() -> (Identity, Arc<FixedClock>, Arc<Memory>) {
    let clock = Arc::new(FixedClock::new(start()));
    let store = Arc::new(Memory::default());
    let identity = Identity::new(
        Arc::new(parse(DEFAULT_POLICY).unwrap()),
        store.clone(),
        clock.clone(),
        SecretKey::from_bytes(&[3; 32]).unwrap(),
    )
    // Generous, so that only the tests about the limit meet it.
    .with_rate_limiter(RateLimiter::new(1_000, 100));
    (identity, clock, store)
}

fn code(err: IdentityError) -> ErrorCode {
    match err {
        IdentityError::Rejected(e) => e.code,
        other => panic!("not a refusal: {other}"),
    }
}

fn actions(store: &Memory) -> Vec<String> {
    store
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.action.clone())
        .collect()
}

#[tokio::test]
async fn users_need_a_declared_role_a_strong_password_and_a_free_login() {
    let (id, _, store) = identity();
    let user = id
        .create_user("Lan.Nguyen@example.com", "care_agent", PASSWORD)
        .await
        .unwrap();
    assert!(user.as_str().starts_with("usr_"));
    let err = id
        .create_user("lan.nguyen@EXAMPLE.com", "care_agent", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::LoginTaken);
    let err = id
        .create_user("someone", "janitor", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::RoleUnknown);
    let err = id
        .create_user("someone", "analyst", "short")
        .await
        .unwrap_err();
    let IdentityError::Rejected(e) = err else {
        panic!()
    };
    assert_eq!(e.code, ErrorCode::WeakPassword);
    assert!(e.message.contains("`too_short`"), "{}", e.message);
    let err = id
        .create_user("someone", "analyst", "someone-someone-2026")
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::WeakPassword);
    assert_eq!(actions(&store), vec![action::USER_CREATE]);
    // The stored form holds a hash, and Debug shows neither it nor the login.
    let stored = store.users.lock().unwrap()[0].clone();
    assert!(stored.password_hash.starts_with("$argon2id$"));
    let shown = format!("{stored:?}");
    assert!(
        !shown.contains("lan.nguyen") && !shown.contains("argon2"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_bootstrap_admin_is_created_once_and_must_change_its_password() {
    let (id, _, _) = identity();
    let boot = id.bootstrap_admin().await.unwrap().unwrap();
    assert_eq!(format!("{boot:?}").matches("<redacted>").count(), 1);
    assert!(!format!("{boot:?}").contains(boot.password.as_str()));
    assert!(id.bootstrap_admin().await.unwrap().is_none());
    let signed = id
        .sign_in("ADMIN", &boot.password, None, None)
        .await
        .unwrap();
    assert!(signed.must_change_password);
    let session = id
        .authenticate_session(signed.token.expose())
        .await
        .unwrap()
        .unwrap();
    assert!(session.must_change_password);
    id.change_password(&boot.user, &boot.password, PASSWORD)
        .await
        .unwrap();
    let session = id
        .authenticate_session(signed.token.expose())
        .await
        .unwrap()
        .unwrap();
    assert!(!session.must_change_password);
    assert!(matches!(
        id.sign_in("admin", &boot.password, None, None).await,
        Err(SignInError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn sign_in_gives_a_session_that_expires_idle_and_absolute() {
    let (id, clock, store) = identity();
    let user = id.create_user("minh", "dpo", PASSWORD).await.unwrap();
    let signed = id.sign_in("Minh", PASSWORD, None, None).await.unwrap();
    assert_eq!(format!("{signed:?}").matches("redacted").count(), 1);
    assert_eq!(signed.expires_at, start() + SESSION_ABSOLUTE);
    let Principal::Staff { user: named, role } = &signed.principal else {
        panic!()
    };
    assert_eq!((named.as_str(), role.as_str()), (user.as_str(), "dpo"));
    // Only the digest is stored.
    let stored = store.sessions.lock().unwrap()[0].clone();
    assert_eq!(
        stored.digest,
        TokenDigest::of(signed.token.expose().as_bytes()).to_hex()
    );

    // Active every 29 minutes: the idle limit never ends it, the absolute one does.
    let token = signed.token.expose();
    for _ in 0..16 {
        clock.advance(SignedDuration::from_mins(29));
        assert!(id.authenticate_session(token).await.unwrap().is_some());
    }
    clock.advance(SignedDuration::from_mins(16));
    assert!(id.authenticate_session(token).await.unwrap().is_none());
    assert!(
        store.sessions.lock().unwrap().is_empty(),
        "expired sessions are removed"
    );

    // Idle for 30 minutes.
    let signed = id.sign_in("minh", PASSWORD, None, None).await.unwrap();
    clock.advance(SignedDuration::from_mins(30));
    assert!(
        id.authenticate_session(signed.token.expose())
            .await
            .unwrap()
            .is_none()
    );

    // Sign-out, one session or all of them.
    let one = id.sign_in("minh", PASSWORD, None, None).await.unwrap();
    let two = id.sign_in("minh", PASSWORD, None, None).await.unwrap();
    assert!(id.sign_out(one.token.expose()).await.unwrap());
    assert!(!id.sign_out(one.token.expose()).await.unwrap());
    assert!(
        id.authenticate_session(one.token.expose())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        id.authenticate_session(two.token.expose())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(id.sign_out_everywhere(&user).await.unwrap(), 1);
    assert!(
        id.authenticate_session(two.token.expose())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        id.authenticate_session("css_nonsense")
            .await
            .unwrap()
            .is_none()
    );
    assert!(id.authenticate_session("").await.unwrap().is_none());
}

#[tokio::test]
async fn five_failures_lock_the_account_for_fifteen_minutes_even_for_the_right_password() {
    let (id, clock, store) = identity();
    id.create_user("hoa", "analyst", PASSWORD).await.unwrap();
    for _ in 0..5 {
        assert!(matches!(
            id.sign_in("hoa", "wrong password here", None, None).await,
            Err(SignInError::InvalidCredentials)
        ));
    }
    assert!(matches!(
        id.sign_in("hoa", PASSWORD, None, None).await,
        Err(SignInError::InvalidCredentials)
    ));
    clock.advance(SignedDuration::from_mins(14));
    assert!(id.sign_in("hoa", PASSWORD, None, None).await.is_err());
    clock.advance(SignedDuration::from_mins(1));
    id.sign_in("hoa", PASSWORD, None, None).await.unwrap();
    let actions = actions(&store);
    assert_eq!(actions.iter().filter(|a| *a == action::LOCK_OUT).count(), 1);
    // An unknown login is answered the same way, and counts nowhere.
    assert!(matches!(
        id.sign_in("nobody", PASSWORD, None, None).await,
        Err(SignInError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn a_success_resets_the_failure_count() {
    let (id, _, _) = identity();
    id.create_user("hoa", "analyst", PASSWORD).await.unwrap();
    for _ in 0..3 {
        for _ in 0..4 {
            assert!(
                id.sign_in("hoa", "wrong password here", None, None)
                    .await
                    .is_err()
            );
        }
        id.sign_in("hoa", PASSWORD, None, None).await.unwrap();
    }
}

#[tokio::test]
async fn totp_is_required_once_confirmed_and_a_code_is_good_once() {
    let (id, clock, store) = identity();
    let user = id.create_user("thu", "care_agent", PASSWORD).await.unwrap();
    let enrolment = id.enrol_totp(&user).await.unwrap();
    assert_eq!(format!("{enrolment:?}"), "TotpEnrolment(<redacted>)");
    assert!(
        enrolment
            .provisioning_uri
            .starts_with("otpauth://totp/Custodian:thu?")
    );
    let secret = TotpSecret::from_base32(&enrolment.secret_base32).unwrap();
    // The stored form is sealed.
    let sealed = store.users.lock().unwrap()[0].totp_sealed.clone().unwrap();
    assert!(
        !sealed
            .windows(secret.as_bytes().len())
            .any(|w| w == secret.as_bytes())
    );
    // Not required until confirmed.
    id.sign_in("thu", PASSWORD, None, None).await.unwrap();
    let err = id.confirm_totp(&user, "000000").await.unwrap_err();
    assert_eq!(code(err), ErrorCode::InvalidTotpCode);
    let now = clock.now().as_second();
    id.confirm_totp(&user, &totp::code_at(&secret, now))
        .await
        .unwrap();
    assert_eq!(
        code(id.enrol_totp(&user).await.unwrap_err()),
        ErrorCode::TotpAlreadyActive
    );

    assert!(matches!(
        id.sign_in("thu", PASSWORD, None, None).await,
        Err(SignInError::TotpRequired)
    ));
    // The code that confirmed the enrolment is spent.
    assert!(matches!(
        id.sign_in("thu", PASSWORD, Some(&totp::code_at(&secret, now)), None)
            .await,
        Err(SignInError::InvalidCredentials)
    ));
    clock.advance(SignedDuration::from_secs(30));
    let code_now = totp::code_at(&secret, clock.now().as_second());
    id.sign_in("thu", PASSWORD, Some(&code_now), None)
        .await
        .unwrap();
    assert!(matches!(
        id.sign_in("thu", PASSWORD, Some(&code_now), None).await,
        Err(SignInError::InvalidCredentials)
    ));
    // A replayed code counts as a failure (the earlier one was reset by the success).
    let failures = store.users.lock().unwrap()[0].failed_sign_ins;
    assert_eq!(failures, 1);
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited_per_login_and_address() {
    let (id, clock, _) = identity();
    let id = id.with_rate_limiter(RateLimiter::default());
    id.create_user("an", "analyst", PASSWORD).await.unwrap();
    let addr: IpAddr = "192.0.2.7".parse().unwrap();
    for n in 0..10 {
        // Different logins from one address: only the address limit is met.
        let _ = id
            .sign_in(&format!("user{n}"), PASSWORD, None, Some(addr))
            .await;
    }
    let Err(SignInError::RateLimited { retry_after }) =
        id.sign_in("an", PASSWORD, None, Some(addr)).await
    else {
        panic!("not limited")
    };
    assert_eq!(retry_after, SignedDuration::from_secs(6));
    let api = SignInError::RateLimited { retry_after }
        .api_error()
        .unwrap();
    assert_eq!(api.code, ErrorCode::RateLimited);
    // From elsewhere the login is still free to try.
    id.sign_in("an", PASSWORD, None, Some("192.0.2.8".parse().unwrap()))
        .await
        .unwrap();
    clock.advance(SignedDuration::from_secs(6));
    id.sign_in("an", PASSWORD, None, Some(addr)).await.unwrap();
}

#[tokio::test]
async fn tokens_are_scoped_revocable_and_note_their_last_use_once_a_minute() {
    let (id, clock, store) = identity();
    let scope = id
        .scope_from_names(
            &["customers.read", "customers.lookup"],
            Some(&["order_fulfilment"]),
            &[],
        )
        .unwrap();
    let (token_id, token) = id.issue_token("storefront", &scope).await.unwrap();
    assert!(token_id.as_str().starts_with("tok_"));
    assert_eq!(format!("{token:?}"), "ApiToken(<redacted>)");
    let principal = id
        .authenticate_token(token.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        principal,
        Principal::Integration {
            name: "storefront".into(),
            scope: scope.clone(),
        }
    );
    let listed = id.list_tokens().await.unwrap();
    assert_eq!(listed[0].last_used_at, Some(start()));
    clock.advance(SignedDuration::from_secs(59));
    id.authenticate_token(token.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        id.list_tokens().await.unwrap()[0].last_used_at,
        Some(start())
    );
    clock.advance(SignedDuration::from_secs(1));
    id.authenticate_token(token.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        id.list_tokens().await.unwrap()[0].last_used_at,
        Some(clock.now())
    );
    // Only the digest is stored.
    assert_eq!(
        store.tokens.lock().unwrap()[0].digest,
        TokenDigest::of(token.expose().as_bytes()).to_hex()
    );

    assert!(id.revoke_token(&token_id).await.unwrap());
    assert!(!id.revoke_token(&token_id).await.unwrap());
    assert!(
        id.authenticate_token(token.expose())
            .await
            .unwrap()
            .is_none()
    );
    assert!(id.list_tokens().await.unwrap()[0].revoked_at.is_some());
    assert!(id.authenticate_token("cst_guess").await.unwrap().is_none());

    for (ops, purposes, restricted, field) in [
        (vec!["customers.fly"], None, vec![], "operations"),
        (
            vec!["customers.read"],
            Some(vec!["astrology"]),
            vec![],
            "purposes",
        ),
        (
            vec!["customers.read"],
            None,
            vec!["horoscope"],
            "restricted",
        ),
    ] {
        let err = id
            .scope_from_names(&ops, purposes.as_deref(), &restricted)
            .unwrap_err();
        let IdentityError::Rejected(e) = err else {
            panic!()
        };
        assert_eq!(
            (e.code, e.field.as_deref()),
            (ErrorCode::InvalidScope, Some(field))
        );
    }
    let empty = Scope {
        operations: vec![],
        ..Scope::unrestricted()
    };
    assert_eq!(
        code(id.issue_token("pbx", &empty).await.unwrap_err()),
        ErrorCode::InvalidScope
    );
    assert_eq!(
        code(id.issue_token("bad name", &scope).await.unwrap_err()),
        ErrorCode::InvalidParameter
    );
    assert_eq!(
        actions(&store),
        vec![action::TOKEN_ISSUE, action::TOKEN_REVOKE]
    );
}

#[tokio::test]
async fn a_stored_scope_the_policy_no_longer_declares_only_narrows() {
    let (id, _, store) = identity();
    let (_, token) = id.issue_token("pbx", &Scope::unrestricted()).await.unwrap();
    {
        let mut tokens = store.tokens.lock().unwrap();
        tokens[0].scope = StoredScope {
            operations: vec!["customers.read".into(), "customers.teleport".into()],
            purposes: Some(vec!["customer_care".into(), "gone".into()]),
            restricted: vec!["gone_too".into()],
        };
    }
    let Some(Principal::Integration { scope, .. }) =
        id.authenticate_token(token.expose()).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(scope.operations, vec![Operation::CustomersRead]);
    assert_eq!(
        scope
            .purposes
            .unwrap()
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>(),
        vec!["customer_care"]
    );
    assert!(scope.restricted.is_empty());
}

#[tokio::test]
async fn events_name_users_by_id_and_hold_no_secret() {
    let (id, _, store) = identity();
    let user = id.create_user("binh", "marketing", PASSWORD).await.unwrap();
    id.change_role(&user, "analyst").await.unwrap();
    assert_eq!(
        code(id.change_role(&user, "wizard").await.unwrap_err()),
        ErrorCode::RoleUnknown
    );
    let _ = id.sign_in("binh", "not the password", None, None).await;
    let _ = id.sign_in("nobody", PASSWORD, None, None).await;
    id.sign_in("binh", PASSWORD, None, None).await.unwrap();
    let events = id.events().await.unwrap();
    let text = format!("{events:?}");
    assert!(!text.contains("binh") && !text.contains(PASSWORD), "{text}");
    assert_eq!(
        actions(&store),
        vec![
            action::USER_CREATE,
            action::USER_ROLE_CHANGE,
            action::SIGN_IN_FAILURE,
            action::SIGN_IN_FAILURE,
            action::SIGN_IN_SUCCESS,
        ]
    );
    assert_eq!(events[2].detail.as_deref(), Some("wrong_password"));
    assert_eq!(events[3].detail.as_deref(), Some("unknown_login"));
    assert_eq!(events[3].user, None);
}
