//! Care sessions and customers' sign-in, on every backend: the use cases of
//! `custodian_core::care` over the backend's care store, with a recording notifier and a
//! clock that moves only when told.

use std::sync::Arc;

use custodian_core::access::{Disclosure, Principal, Withheld};
use custodian_core::care::{Care, CareError, CareStore};
use custodian_core::clock::{Clock, FixedClock};
use custodian_core::error::ErrorCode;
use custodian_core::identity::{RateLimiter, SignInError};
use custodian_core::ids::{CareSessionId, CustomerId, UserId};
use custodian_core::notify::{
    Channel, CodeMessage, CodePurpose, Contact, DisabledNotifier, Notifier, NotifyError,
    RecordingNotifier,
};
use custodian_core::vault::{RequestContext, Vault};
use custodian_crypto::{BlindIndexKey, LocalKeyring, SecretKey};
use custodian_policy::{DEFAULT_POLICY, Lang, parse};
use custodian_store::SqliteKeyStore;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::suite::{Backend, ctx, fields};

pub const EMAIL: &str = "ly.kiet@example.com";
pub const NAME: &str = "Lý Thường Kiệt";
const PASSWORD: &str = "correct horse battery staple 42";

pub struct CareFixture {
    pub vault: Vault,
    pub care: Care,
    pub store: Arc<dyn CareStore>,
    pub notifier: Arc<RecordingNotifier>,
    pub clock: Arc<FixedClock>,
    _keys: tempfile::TempDir,
}

pub async fn care_fixture(b: &Backend) -> CareFixture {
    let keys = tempfile::tempdir().unwrap();
    let key_store = Arc::new(
        SqliteKeyStore::open(keys.path().join("data-keys.db").to_str().unwrap())
            .await
            .unwrap(),
    );
    let keyring = Arc::new(LocalKeyring::open_dir(keys.path()).unwrap());
    let policy = Arc::new(parse(DEFAULT_POLICY).unwrap());
    let clock = Arc::new(FixedClock::new(
        "2026-03-01T08:00:00Z".parse::<Timestamp>().unwrap(),
    ));
    let vault = Vault::new(
        policy.clone(),
        b.store.clone(),
        key_store,
        keyring,
        BlindIndexKey::new(SecretKey::from_bytes(&[7; 32]).unwrap()),
        clock.clone(),
    )
    .with_care_store(b.care.clone());
    let notifier = Arc::new(RecordingNotifier::new());
    let care = Care::new(
        policy,
        vault.clone(),
        b.care.clone(),
        notifier.clone(),
        clock.clone(),
        SecretKey::from_bytes(&[9; 32]).unwrap(),
    )
    .with_rate_limiter(RateLimiter::new(1000, 1000));
    CareFixture {
        vault,
        care,
        store: b.care.clone(),
        notifier,
        clock,
        _keys: keys,
    }
}

pub fn agent(role: &str) -> Principal {
    let now = "2026-03-01T08:00:00Z".parse::<Timestamp>().unwrap();
    Principal::Staff {
        user: UserId::generate(now).unwrap().to_string(),
        role: parse(DEFAULT_POLICY)
            .unwrap()
            .role_named(role)
            .unwrap()
            .id
            .clone(),
    }
}

pub async fn customer(f: &CareFixture, email: &str, phone: Option<&str>) -> CustomerId {
    let mut input = json!({ "account_name.full_name": NAME, "account_email.email": email });
    if let Some(phone) = phone {
        input["account_phone.phone"] = json!(phone);
    }
    f.vault
        .create(&ctx("account"), &fields(input))
        .await
        .unwrap()
}

pub fn as_agent(principal: &Principal, purpose: &str) -> RequestContext {
    RequestContext {
        principal: principal.clone(),
        ..ctx(purpose)
    }
}

/// What the agent reads of the customer's name and email for `customer_care`.
pub async fn agent_reads(
    f: &CareFixture,
    agent: &Principal,
    id: &CustomerId,
) -> (Disclosure, Disclosure) {
    let view = f
        .vault
        .read(&as_agent(agent, "customer_care"), id)
        .await
        .unwrap();
    (
        view.fields["account_name.full_name"].clone(),
        view.fields["account_email.email"].clone(),
    )
}

/// Opens and verifies a session of `agent` for `customer`.
pub async fn verified(f: &CareFixture, agent: &Principal, customer: &CustomerId) -> CareSessionId {
    let opened = f
        .care
        .open_care_session(agent, customer, Channel::Email, Lang::Vi, None)
        .await
        .unwrap();
    let code = f.notifier.last_code().unwrap();
    f.care
        .verify_care_session(agent, &opened.id, &code, None)
        .await
        .unwrap();
    opened.id
}

fn care_code(result: Result<impl std::fmt::Debug, CareError>) -> ErrorCode {
    match result {
        Err(CareError::Rejected(e)) => e.code,
        other => panic!("not a refusal: {other:?}"),
    }
}

const NO_SESSION: Disclosure = Disclosure::Withheld(Withheld::NoCareSession);

pub async fn care_sessions_bind_one_agent_to_one_customer(b: Backend) {
    let f = care_fixture(&b).await;
    let me = customer(&f, EMAIL, Some("0912345678")).await;
    let other = customer(&f, "other.person@example.com", None).await;
    let alice = agent("care_agent");
    let bob = agent("care_agent");
    assert_eq!(agent_reads(&f, &alice, &me).await, (NO_SESSION, NO_SESSION));

    let opened = f
        .care
        .open_care_session(&alice, &me, Channel::Email, Lang::En, None)
        .await
        .unwrap();
    assert!(opened.id.as_str().starts_with("csn_"));
    let code = f.notifier.last_code().unwrap();
    f.notifier.with_sent(|sent| {
        assert_eq!(sent.len(), 1);
        assert!(sent[0].sent_to(EMAIL));
        assert_eq!(sent[0].purpose, CodePurpose::CareVerification);
        assert!(sent[0].text.contains(code.as_str()));
    });
    // Opened is not verified; another agent cannot use or close it.
    assert_eq!(agent_reads(&f, &alice, &me).await, (NO_SESSION, NO_SESSION));
    let bobs = f
        .care
        .verify_care_session(&bob, &opened.id, &code, None)
        .await;
    assert_eq!(care_code(bobs), ErrorCode::CareSessionNotFound);
    let bobs = f.care.close_care_session(&bob, &opened.id, None).await;
    assert_eq!(care_code(bobs), ErrorCode::CareSessionNotFound);
    let wrong = if code.as_str() == "000000" {
        "111111"
    } else {
        "000000"
    };
    let wrong = f
        .care
        .verify_care_session(&alice, &opened.id, wrong, None)
        .await;
    assert_eq!(care_code(wrong), ErrorCode::InvalidCode);

    let active = f
        .care
        .verify_care_session(&alice, &opened.id, &format!(" {} ", code.as_str()), None)
        .await
        .unwrap();
    assert_eq!(active.customer, me);
    assert_eq!(
        agent_reads(&f, &alice, &me).await,
        (
            Disclosure::Value(NAME.into()),
            Disclosure::Masked("l***@example.com".into())
        )
    );
    // Only Alice, only for this customer, and the code is good once.
    assert_eq!(agent_reads(&f, &bob, &me).await, (NO_SESSION, NO_SESSION));
    assert_eq!(
        agent_reads(&f, &alice, &other).await,
        (NO_SESSION, NO_SESSION)
    );
    let again = f
        .care
        .verify_care_session(&alice, &opened.id, &code, None)
        .await;
    assert_eq!(care_code(again), ErrorCode::CodeExpired);

    // Thirty minutes, however busy.
    f.clock.advance(SignedDuration::from_mins(29));
    assert!(matches!(
        agent_reads(&f, &alice, &me).await.0,
        Disclosure::Value(_)
    ));
    f.clock.advance(SignedDuration::from_mins(1));
    assert_eq!(agent_reads(&f, &alice, &me).await, (NO_SESSION, NO_SESSION));

    // Closed early.
    let id = verified(&f, &alice, &me).await;
    assert!(matches!(
        agent_reads(&f, &alice, &me).await.0,
        Disclosure::Value(_)
    ));
    assert!(f.care.close_care_session(&alice, &id, None).await.unwrap());
    assert!(!f.care.close_care_session(&alice, &id, None).await.unwrap());
    assert_eq!(agent_reads(&f, &alice, &me).await, (NO_SESSION, NO_SESSION));

    // By phone too.
    f.care
        .open_care_session(&alice, &me, Channel::Phone, Lang::Vi, None)
        .await
        .unwrap();
    f.notifier.with_sent(|sent| {
        let last = sent.last().unwrap();
        assert_eq!(last.channel, Channel::Phone);
        assert_eq!(last.to_masked, "***-***-5678");
    });
}

pub async fn care_session_codes_expire_and_run_out(b: Backend) {
    let f = care_fixture(&b).await;
    let me = customer(&f, EMAIL, None).await;
    let alice = agent("care_agent");

    // Five attempts, then the code is spent, even the right one.
    let opened = f
        .care
        .open_care_session(&alice, &me, Channel::Email, Lang::Vi, None)
        .await
        .unwrap();
    let code = f.notifier.last_code().unwrap();
    let wrong = if code.as_str() == "000000" {
        "111111"
    } else {
        "000000"
    };
    for n in 1..=5 {
        let refused = f
            .care
            .verify_care_session(&alice, &opened.id, wrong, None)
            .await;
        let expected = if n < 5 {
            ErrorCode::InvalidCode
        } else {
            ErrorCode::CodeExpired
        };
        assert_eq!(care_code(refused), expected, "attempt {n}");
    }
    let late = f
        .care
        .verify_care_session(&alice, &opened.id, &code, None)
        .await;
    assert_eq!(care_code(late), ErrorCode::CodeExpired);

    // Ten minutes to read it back.
    let opened = f
        .care
        .open_care_session(&alice, &me, Channel::Email, Lang::Vi, None)
        .await
        .unwrap();
    let code = f.notifier.last_code().unwrap();
    f.clock.advance(SignedDuration::from_mins(10));
    let late = f
        .care
        .verify_care_session(&alice, &opened.id, &code, None)
        .await;
    assert_eq!(care_code(late), ErrorCode::CodeExpired);
    assert_eq!(agent_reads(&f, &alice, &me).await, (NO_SESSION, NO_SESSION));

    // Who may open one, for whom, on which channel.
    let sent = f.notifier.count();
    let refused = f
        .care
        .open_care_session(&agent("dpo"), &me, Channel::Email, Lang::Vi, None)
        .await;
    assert_eq!(care_code(refused), ErrorCode::OperationNotAllowed);
    let customer = Principal::Customer { id: me.clone() };
    let refused = f
        .care
        .open_care_session(&customer, &me, Channel::Email, Lang::Vi, None)
        .await;
    assert_eq!(care_code(refused), ErrorCode::OperationNotAllowed);
    let refused = f
        .care
        .open_care_session(&alice, &me, Channel::Phone, Lang::Vi, None)
        .await;
    assert_eq!(care_code(refused), ErrorCode::NoContactOnFile);
    let nobody = CustomerId::parse("cus_00000000000000000000000000000001").unwrap();
    let refused = f
        .care
        .open_care_session(&alice, &nobody, Channel::Email, Lang::Vi, None)
        .await;
    assert_eq!(care_code(refused), ErrorCode::CustomerNotFound);
    assert_eq!(f.notifier.count(), sent, "nothing sent for a refusal");

    // No delivery configured: nothing opens.
    let disabled = Care::new(
        Arc::new(parse(DEFAULT_POLICY).unwrap()),
        f.vault.clone(),
        f.store.clone(),
        Arc::new(DisabledNotifier),
        f.clock.clone(),
        SecretKey::from_bytes(&[9; 32]).unwrap(),
    );
    let refused = disabled
        .open_care_session(&alice, &me, Channel::Email, Lang::Vi, None)
        .await;
    assert_eq!(care_code(refused), ErrorCode::NotifierUnavailable);
    let refused = disabled
        .request_customer_code(EMAIL, Lang::Vi, &Default::default())
        .await;
    assert_eq!(care_code(refused), ErrorCode::NotifierUnavailable);

    // Email only (the SMTP notifier): a phone code is refused before anything is read.
    let email_only = Arc::new(EmailOnly(RecordingNotifier::new()));
    let care = Care::new(
        Arc::new(parse(DEFAULT_POLICY).unwrap()),
        f.vault.clone(),
        f.store.clone(),
        email_only.clone(),
        f.clock.clone(),
        SecretKey::from_bytes(&[9; 32]).unwrap(),
    );
    let refused = care
        .open_care_session(&alice, &me, Channel::Phone, Lang::Vi, None)
        .await;
    assert_eq!(care_code(refused), ErrorCode::ChannelUnavailable);
    assert_eq!(email_only.0.count(), 0);
    care.open_care_session(&alice, &me, Channel::Email, Lang::En, None)
        .await
        .unwrap();
    assert_eq!(email_only.0.count(), 1);
}

/// Delivers email only, as the SMTP notifier does.
struct EmailOnly(RecordingNotifier);

#[async_trait::async_trait]
impl Notifier for EmailOnly {
    fn delivers(&self, channel: Channel) -> bool {
        channel == Channel::Email
    }

    async fn send_code(&self, to: &Contact, message: &CodeMessage) -> Result<(), NotifyError> {
        self.0.send_code(to, message).await
    }
}

fn invalid(result: Result<impl std::fmt::Debug, SignInError>) -> bool {
    matches!(result, Err(SignInError::InvalidCredentials))
}

pub async fn customers_sign_in_with_a_code_sent_to_the_email_on_file(b: Backend) {
    let f = care_fixture(&b).await;
    let me = customer(&f, EMAIL, None).await;
    let caller = Default::default();

    // An unknown email gets the same answer, and nothing is sent.
    f.care
        .request_customer_code("nobody.here@example.com", Lang::Vi, &caller)
        .await
        .unwrap();
    assert_eq!(f.notifier.count(), 0);
    assert!(invalid(
        f.care
            .sign_in_customer_with_code("nobody.here@example.com", "123456", &caller)
            .await
    ));

    // The email as the customer types it: case and spaces do not matter.
    f.care
        .request_customer_code(" Ly.Kiet@Example.com ", Lang::En, &caller)
        .await
        .unwrap();
    assert_eq!(f.notifier.count(), 1);
    let code = f.notifier.last_code().unwrap();
    f.notifier.with_sent(|sent| {
        assert!(sent[0].sent_to(EMAIL));
        assert_eq!(sent[0].purpose, CodePurpose::CustomerSignIn);
    });
    let wrong = if code.as_str() == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert!(invalid(
        f.care
            .sign_in_customer_with_code(EMAIL, wrong, &caller)
            .await
    ));
    let signed = f
        .care
        .sign_in_customer_with_code(EMAIL, &code, &caller)
        .await
        .unwrap();
    assert_eq!(signed.principal, Principal::Customer { id: me.clone() });
    assert!(signed.token.expose().starts_with("css_"));
    let session = f
        .care
        .authenticate_customer_session(signed.token.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.principal, Principal::Customer { id: me.clone() });
    // Good once.
    assert!(invalid(
        f.care
            .sign_in_customer_with_code(EMAIL, &code, &caller)
            .await
    ));
    assert!(
        f.care
            .sign_out_customer(signed.token.expose(), None)
            .await
            .unwrap()
    );
    assert!(
        f.care
            .authenticate_customer_session(signed.token.expose())
            .await
            .unwrap()
            .is_none()
    );

    // Five attempts per code.
    f.care
        .request_customer_code(EMAIL, Lang::Vi, &caller)
        .await
        .unwrap();
    let code = f.notifier.last_code().unwrap();
    let wrong = if code.as_str() == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        assert!(invalid(
            f.care
                .sign_in_customer_with_code(EMAIL, wrong, &caller)
                .await
        ));
    }
    assert!(invalid(
        f.care
            .sign_in_customer_with_code(EMAIL, &code, &caller)
            .await
    ));

    // Ten minutes.
    f.care
        .request_customer_code(EMAIL, Lang::Vi, &caller)
        .await
        .unwrap();
    let code = f.notifier.last_code().unwrap();
    f.clock.advance(SignedDuration::from_mins(10));
    assert!(invalid(
        f.care
            .sign_in_customer_with_code(EMAIL, &code, &caller)
            .await
    ));

    // Sessions end after 30 idle minutes, and after 8 hours however active.
    f.care
        .request_customer_code(EMAIL, Lang::Vi, &caller)
        .await
        .unwrap();
    let code = f.notifier.last_code().unwrap();
    let signed = f
        .care
        .sign_in_customer_with_code(EMAIL, &code, &caller)
        .await
        .unwrap();
    let token = signed.token.expose();
    for _ in 0..16 {
        f.clock.advance(SignedDuration::from_mins(29));
        assert!(
            f.care
                .authenticate_customer_session(token)
                .await
                .unwrap()
                .is_some()
        );
    }
    f.clock.advance(SignedDuration::from_mins(29));
    assert!(
        f.care
            .authenticate_customer_session(token)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn customers_sign_in_with_a_password_and_lock_out(b: Backend) {
    let f = care_fixture(&b).await;
    let me = customer(&f, EMAIL, None).await;
    let caller = Default::default();
    let principal = Principal::Customer { id: me.clone() };

    assert!(invalid(
        f.care
            .sign_in_customer_with_password(EMAIL, PASSWORD, &caller)
            .await
    ));
    let weak = f
        .care
        .set_customer_password(&principal, "password", None)
        .await;
    assert_eq!(care_code(weak), ErrorCode::WeakPassword);
    let staff = f
        .care
        .set_customer_password(&agent("admin"), PASSWORD, None)
        .await;
    assert_eq!(care_code(staff), ErrorCode::OperationNotAllowed);
    f.care
        .set_customer_password(&principal, PASSWORD, None)
        .await
        .unwrap();
    let stored = f.store.customer_password(&me).await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));

    let signed = f
        .care
        .sign_in_customer_with_password(EMAIL, PASSWORD, &caller)
        .await
        .unwrap();
    assert_eq!(signed.principal, principal);
    assert!(invalid(
        f.care
            .sign_in_customer_with_password("nobody.here@example.com", PASSWORD, &caller)
            .await
    ));
    for _ in 0..5 {
        assert!(invalid(
            f.care
                .sign_in_customer_with_password(EMAIL, "wrong password here", &caller)
                .await
        ));
    }
    // Locked: even the right password is refused, for fifteen minutes.
    assert!(invalid(
        f.care
            .sign_in_customer_with_password(EMAIL, PASSWORD, &caller)
            .await
    ));
    f.clock.advance(SignedDuration::from_mins(15));
    f.care
        .sign_in_customer_with_password(EMAIL, PASSWORD, &caller)
        .await
        .unwrap();
}

pub async fn an_erased_customer_can_no_longer_sign_in(b: Backend) {
    let f = care_fixture(&b).await;
    let me = customer(&f, EMAIL, None).await;
    let caller = Default::default();
    let principal = Principal::Customer { id: me.clone() };
    f.care
        .set_customer_password(&principal, PASSWORD, None)
        .await
        .unwrap();
    let signed = f
        .care
        .sign_in_customer_with_password(EMAIL, PASSWORD, &caller)
        .await
        .unwrap();
    f.care
        .request_customer_code(EMAIL, Lang::Vi, &caller)
        .await
        .unwrap();
    let alice = agent("care_agent");
    verified(&f, &alice, &me).await;

    f.vault.erase(&ctx("account"), &me).await.unwrap();
    assert!(
        f.care
            .authenticate_customer_session(signed.token.expose())
            .await
            .unwrap()
            .is_none()
    );
    assert!(invalid(
        f.care
            .sign_in_customer_with_password(EMAIL, PASSWORD, &caller)
            .await
    ));
    assert!(f.store.customer_password(&me).await.unwrap().is_none());
    assert!(f.store.customer_code(&me).await.unwrap().is_none());
    let Principal::Staff { user, .. } = &alice else {
        unreachable!()
    };
    let user = UserId::parse(user).unwrap();
    assert!(
        f.store
            .verified_care_sessions(&user, &me)
            .await
            .unwrap()
            .is_empty()
    );

    // A session the purge missed (written after it, as if by a racing sign-in) still dies:
    // authentication asks whether the customer exists.
    let other = customer(&f, "other.person@example.com", None).await;
    let principal = Principal::Customer { id: other.clone() };
    f.care
        .set_customer_password(&principal, PASSWORD, None)
        .await
        .unwrap();
    let signed = f
        .care
        .sign_in_customer_with_password("other.person@example.com", PASSWORD, &caller)
        .await
        .unwrap();
    f.vault.erase(&ctx("account"), &other).await.unwrap();
    f.store
        .insert_customer_session(&custodian_core::care::StoredCustomerSession {
            digest: custodian_crypto::TokenDigest::of(b"css_left_behind").to_hex(),
            customer: other.clone(),
            created_at: f.clock.now(),
            last_seen_at: f.clock.now(),
            expires_at: f.clock.now() + SignedDuration::from_hours(1),
        })
        .await
        .unwrap();
    assert!(
        f.care
            .authenticate_customer_session("css_left_behind")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        f.care
            .authenticate_customer_session(signed.token.expose())
            .await
            .unwrap()
            .is_none()
    );
}
