//! The cases every backend must pass. Each takes a fresh [`Backend`].

use std::sync::Arc;

use serde_json::{Map, Value, json};

use custodian_core::access::{Disclosure, Principal, Scope, Withheld};
use custodian_core::audit::{AuditEvent, ChainVerifier, CheckpointSigner, Decision};
use custodian_core::clock::{Clock, FixedClock, SystemClock};
use custodian_core::identity::{Identity, IdentityError, IdentityStore, RateLimiter, SignInError};
use custodian_core::ids::{CustomerId, HistoryId};
use custodian_core::notice::NoticeArchive;
use custodian_core::vault::KeyStore;
use custodian_core::vault::{
    Lookup, RequestContext, SealedField, StoredHistory, Transaction, Vault, VaultError, VaultStore,
    Write,
};
use custodian_crypto::{BlindIndexKey, KeyWrapper, LocalKeyring, SecretKey};
use custodian_policy::{DEFAULT_POLICY, parse};
use custodian_store::SqliteKeyStore;

/// A backend under test. `guard` keeps its temporary files or database alive.
pub struct Backend {
    pub store: Arc<dyn VaultStore>,
    /// The same database's outbox.
    pub outbox: Arc<dyn custodian_core::outbox::OutboxStore>,
    /// The same database's legal holds, erasure reports and confirmations.
    pub erasure: Arc<dyn custodian_core::rights::erasure::ErasureStore>,
    pub identity: Arc<dyn IdentityStore>,
    pub care: Arc<dyn custodian_core::care::CareStore>,
    pub legal: Arc<dyn custodian_core::legal::LegalStore>,
    pub requests: Arc<dyn custodian_core::rights::request::RequestStore>,
    pub exports: Arc<dyn custodian_core::rights::export::ExportLinkStore>,
    #[allow(dead_code, reason = "held for backends whose archive tests come later")]
    pub archive: Arc<dyn NoticeArchive>,
    pub guard: Box<dyn std::any::Any + Send>,
    /// Where the database is, for the cases that go around the store: raw SQL, and a search
    /// of everything it holds.
    pub raw: RawDatabase,
}

/// A backend's database as an operator would reach it, past the store.
pub enum RawDatabase {
    /// The SQLite database file (its write-ahead log beside it).
    Sqlite(std::path::PathBuf),
    /// The URL of the test database.
    Postgres(String),
}

pub use crate::care::{
    an_erased_customer_can_no_longer_sign_in, care_session_codes_expire_and_run_out,
    care_sessions_bind_one_agent_to_one_customer,
    customers_sign_in_with_a_code_sent_to_the_email_on_file,
    customers_sign_in_with_a_password_and_lock_out,
};
pub use crate::consent::{
    consent_evidence_is_truncated_sealed_and_erased,
    consent_gpc_withdraws_what_was_granted_without_it, consent_history_is_append_only,
    consent_is_never_bundled, consent_is_recorded_only_by_those_allowed,
    consent_needs_renewal_under_wider_terms, consent_of_a_minor_needs_a_representative,
    consent_receipts_cite_the_notice_shown, consent_silence_is_not_consent,
    consent_withdrawal_holds_from_the_next_read, consent_withdrawal_queues_partner_notices,
};
pub use crate::erasure::{
    erasure_for_a_request_is_the_customers_own, erasure_keeps_holds_reports_and_notifies,
    erasure_survives_a_crash_between_its_steps,
};
pub use crate::exports::{
    export_holds_everything_in_pages_and_zips, export_links_are_single_use_own_and_expire,
};
pub use crate::indexes::{
    concurrent_email_corrections_leave_exactly_the_current_index,
    index_rows_left_by_a_crash_never_find_anyone,
};
pub use crate::legal::legal_requests_move_forward_once;
pub use crate::orders::{
    erasure_takes_the_orders_with_it, order_moves_race_and_only_one_wins,
    orders_are_sealed_and_fulfilment_sees_them_only_while_fulfilling,
};
pub use crate::outbox::{
    outbox_claims_lease_retry_dead_letter_and_redrive, outbox_erasure_drops_what_is_pending,
    outbox_messages_carry_only_declared_fields_sealed, outbox_two_claimers_never_share_a_message,
};
pub use crate::requests::{
    limits_apply_once_and_lift_once, requests_merge_duplicates_and_move_forward_once,
};

/// Instantiates every case for a backend constructor `async fn() -> Option<Backend>`.
macro_rules! conformance_tests {
    ($backend:path) => {
        conformance_tests!(@cases $backend;
            create_then_read_round_trips,
            reads_withhold_what_the_purpose_does_not_use,
            ciphertext_moved_between_customers_does_not_open,
            ciphertext_moved_between_fields_does_not_open,
            lookups_use_the_blind_index,
            concurrent_email_corrections_leave_exactly_the_current_index,
            index_rows_left_by_a_crash_never_find_anyone,
            corrections_keep_an_encrypted_history,
            erasure_destroys_the_key_and_purges,
            conflicts_write_nothing_not_even_audit,
            the_audit_chain_verifies_and_names_no_values,
            concurrent_commits_are_grouped_and_all_durable,
            rotation_rewraps_every_key_while_serving,
            concurrent_transactions_apply_as_if_one_by_one,
            concurrent_corrections_keep_every_earlier_value,
            an_interrupted_rotation_resumes,
            identity_users_are_found_and_logins_unique,
            identity_sessions_expire_absolute_and_idle,
            identity_five_failures_lock_for_fifteen_minutes,
            identity_totp_is_required_and_codes_are_good_once,
            identity_tokens_are_issued_used_and_revoked,
            identity_scopes_are_kept_exactly,
            care_sessions_bind_one_agent_to_one_customer,
            care_session_codes_expire_and_run_out,
            customers_sign_in_with_a_code_sent_to_the_email_on_file,
            customers_sign_in_with_a_password_and_lock_out,
            an_erased_customer_can_no_longer_sign_in,
            consent_silence_is_not_consent,
            consent_is_never_bundled,
            consent_withdrawal_holds_from_the_next_read,
            consent_withdrawal_queues_partner_notices,
            consent_history_is_append_only,
            consent_receipts_cite_the_notice_shown,
            consent_needs_renewal_under_wider_terms,
            consent_of_a_minor_needs_a_representative,
            consent_evidence_is_truncated_sealed_and_erased,
            consent_is_recorded_only_by_those_allowed,
            consent_gpc_withdraws_what_was_granted_without_it,
            orders_are_sealed_and_fulfilment_sees_them_only_while_fulfilling,
            order_moves_race_and_only_one_wins,
            erasure_takes_the_orders_with_it,
            legal_requests_move_forward_once,
            requests_merge_duplicates_and_move_forward_once,
            limits_apply_once_and_lift_once,
            export_links_are_single_use_own_and_expire,
            export_holds_everything_in_pages_and_zips,
            outbox_messages_carry_only_declared_fields_sealed,
            outbox_claims_lease_retry_dead_letter_and_redrive,
            outbox_erasure_drops_what_is_pending,
            outbox_two_claimers_never_share_a_message,
            erasure_keeps_holds_reports_and_notifies,
            erasure_for_a_request_is_the_customers_own,
            erasure_survives_a_crash_between_its_steps,
        );
    };
    (@cases $backend:path; $($(#[$attr:meta])* $case:ident,)+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn $case() {
                let Some(backend) = $backend().await else { return };
                crate::suite::$case(backend).await;
            }
        )+
    };
}

/// The blind-index key of every fixture.
pub fn index_key() -> BlindIndexKey {
    BlindIndexKey::new(SecretKey::from_bytes(&[7; 32]).unwrap())
}

pub fn signer() -> CheckpointSigner {
    CheckpointSigner::new(SecretKey::from_bytes(&[42; 32]).unwrap())
}

/// A vault over a store, with its own key directory (master keys and the data-key store)
/// in a temporary directory, apart from the data as in production.
pub struct Fixture {
    pub vault: Vault,
    pub keyring: Arc<LocalKeyring>,
    pub key_store: Arc<SqliteKeyStore>,
    pub keys_dir: tempfile::TempDir,
}

impl Fixture {
    pub async fn new(store: Arc<dyn VaultStore>) -> Fixture {
        let keys_dir = tempfile::tempdir().unwrap();
        let path = keys_dir.path().join("data-keys.db");
        let key_store = Arc::new(SqliteKeyStore::open(path.to_str().unwrap()).await.unwrap());
        Fixture::with_keys(store, keys_dir, key_store)
    }

    /// A vault over `store` using the keys of an existing key directory.
    pub fn with_keys(
        store: Arc<dyn VaultStore>,
        keys_dir: tempfile::TempDir,
        key_store: Arc<SqliteKeyStore>,
    ) -> Fixture {
        let keyring = Arc::new(LocalKeyring::open_dir(keys_dir.path()).unwrap());
        let policy = Arc::new(parse(DEFAULT_POLICY).unwrap());
        let index = index_key();
        let clock = Arc::new(SystemClock);
        let vault = Vault::new(
            policy,
            store,
            key_store.clone(),
            keyring.clone(),
            index,
            clock,
        );
        Fixture {
            vault,
            keyring,
            key_store,
            keys_dir,
        }
    }
}

pub fn ctx(purpose: &str) -> RequestContext {
    RequestContext {
        principal: Principal::Integration {
            name: "conformance".into(),
            scope: Scope::unrestricted(),
        },
        purpose: purpose.into(),
        request_id: Some("req-test".into()),
    }
}

pub fn fields(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn value(view: &custodian_core::vault::CustomerView, field: &str) -> Option<String> {
    match view.fields.get(field)? {
        Disclosure::Value(v) => Some(v.clone()),
        Disclosure::Masked(_) | Disclosure::Withheld(_) => None,
    }
}

fn withheld(view: &custodian_core::vault::CustomerView, field: &str) -> Option<Withheld> {
    match view.fields.get(field)? {
        Disclosure::Withheld(w) => Some(*w),
        Disclosure::Value(_) | Disclosure::Masked(_) => None,
    }
}

async fn create(f: &Fixture, name: &str, email: &str, phone: &str) -> CustomerId {
    let input = fields(json!({
        "account_name.full_name": name,
        "account_email.email": email,
        "account_phone.phone": phone,
    }));
    f.vault.create(&ctx("account"), &input).await.unwrap()
}

/// Creates, reads, corrects and looks up a customer whose every value is a unique marker;
/// returns the markers as they would appear if stored in the clear.
pub async fn marker_customer(f: &Fixture, n: u32) -> Vec<String> {
    let tag = hex_tag();
    let name = format!("Marker Name {n} {tag}");
    let email = format!("marker.{n}.{tag}@example.com");
    let phone_digits = format!("90{:07}", 1_000_000 + n * 7919 % 8_000_000);
    let birth = format!("{}-03-14", 1940 + n);
    let corrected = format!("Marker Corrected {n} {tag}");
    let input = fields(json!({
        "account_name.full_name": name,
        "account_email.email": email,
        "account_phone.phone": format!("+84{phone_digits}"),
        "account_birth_date.date_of_birth": birth,
    }));
    let id = f.vault.create(&ctx("account"), &input).await.unwrap();
    f.vault.read(&ctx("account"), &id).await.unwrap();
    f.vault
        .correct(
            &ctx("account"),
            &id,
            &fields(json!({"account_name.full_name": corrected})),
        )
        .await
        .unwrap();
    f.vault.history(&ctx("account"), &id).await.unwrap();
    let found = f
        .vault
        .lookup(&ctx("account"), &Lookup::Email(email.clone()))
        .await
        .unwrap();
    assert_eq!(found, vec![id]);
    vec![
        name,
        email,
        format!("84{phone_digits}"),
        birth,
        corrected,
        format!("Marker Name {n} {tag}"),
    ]
}

fn hex_tag() -> String {
    let bytes = custodian_crypto::random_bytes::<6>().unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn create_then_read_round_trips(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let id = create(&f, "Trần Thị Lan", "Lan.Tran@Example.com", "0901 234 567").await;
    let view = f.vault.read(&ctx("account"), &id).await.unwrap();
    assert_eq!(
        value(&view, "account_name.full_name").as_deref(),
        Some("Trần Thị Lan")
    );
    assert_eq!(
        value(&view, "account_email.email").as_deref(),
        Some("lan.tran@example.com")
    );
    assert_eq!(
        value(&view, "account_phone.phone").as_deref(),
        Some("+84901234567")
    );
    assert_eq!(
        withheld(&view, "account_birth_date.date_of_birth"),
        Some(Withheld::NotCollected)
    );
    let stored = b.store.customer(&id).await.unwrap().unwrap();
    assert_eq!(stored.fields.len(), 3);
    for field in &stored.fields {
        assert!(
            !String::from_utf8_lossy(&field.sealed).contains("Lan"),
            "{} is stored in the clear",
            field.field
        );
    }
    drop(b.guard);
}

pub async fn reads_withhold_what_the_purpose_does_not_use(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let id = create(&f, "Lê Văn Minh", "minh@example.com", "+84902000001").await;
    // Customer care uses the name, email and phone, not the date of birth.
    let view = f.vault.read(&ctx("customer_care"), &id).await.unwrap();
    assert_eq!(
        value(&view, "account_name.full_name").as_deref(),
        Some("Lê Văn Minh")
    );
    assert_eq!(
        withheld(&view, "account_birth_date.date_of_birth"),
        Some(Withheld::NotForPurpose)
    );
    // Security uses none of the profile.
    let view = f.vault.read(&ctx("security"), &id).await.unwrap();
    assert!(
        view.fields
            .values()
            .all(|d| matches!(d, Disclosure::Withheld(Withheld::NotForPurpose)))
    );
    // Marketing rests on consent, which nobody has given yet.
    let view = f.vault.read(&ctx("marketing"), &id).await.unwrap();
    assert_eq!(
        withheld(&view, "account_email.email"),
        Some(Withheld::ConsentRequired)
    );
    assert!(matches!(
        f.vault.read(&ctx("no_such_purpose"), &id).await,
        Err(VaultError::Rejected(_))
    ));
}

/// Swaps the sealed values of one field between two customers.
async fn swap_field(b: &Backend, a: &CustomerId, c: &CustomerId, field_a: &str, field_c: &str) {
    let sa = b.store.customer(a).await.unwrap().unwrap();
    let sc = b.store.customer(c).await.unwrap().unwrap();
    let va = sa
        .fields
        .iter()
        .find(|f| f.field == field_a)
        .unwrap()
        .clone();
    let vc = sc
        .fields
        .iter()
        .find(|f| f.field == field_c)
        .unwrap()
        .clone();
    let at = jiff::Timestamp::UNIX_EPOCH;
    let mut moved_to_a = vc.clone();
    moved_to_a.field = field_a.to_owned();
    let mut moved_to_c = va.clone();
    moved_to_c.field = field_c.to_owned();
    let writes = vec![
        Write::PutField {
            customer: a.clone(),
            value: moved_to_a,
            at,
        },
        Write::PutField {
            customer: c.clone(),
            value: moved_to_c,
            at,
        },
    ];
    b.store
        .commit(Transaction {
            writes,
            audit: vec![],
        })
        .await
        .unwrap()
        .unwrap();
}

pub async fn ciphertext_moved_between_customers_does_not_open(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let a = create(&f, "Phạm An", "an@example.com", "+84903000001").await;
    let c = create(&f, "Võ Bình", "binh@example.com", "+84903000002").await;
    swap_field(&b, &a, &c, "account_email.email", "account_email.email").await;
    assert!(matches!(
        f.vault.read(&ctx("account"), &a).await,
        Err(VaultError::Crypto(_))
    ));
    assert!(matches!(
        f.vault.read(&ctx("account"), &c).await,
        Err(VaultError::Crypto(_))
    ));
}

pub async fn ciphertext_moved_between_fields_does_not_open(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let a = create(&f, "Đỗ Chi", "chi@example.com", "+84904000001").await;
    swap_field(&b, &a, &a, "account_email.email", "account_phone.phone").await;
    assert!(matches!(
        f.vault.read(&ctx("account"), &a).await,
        Err(VaultError::Crypto(_))
    ));
}

pub async fn lookups_use_the_blind_index(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let a = create(&f, "Ngô Dung", "dung@example.com", "0905 000 001").await;
    let _other = create(&f, "Ngô Em", "em@example.com", "0905 000 002").await;
    let by_email = f
        .vault
        .lookup(
            &ctx("account"),
            &Lookup::Email("  DUNG@example.com ".into()),
        )
        .await
        .unwrap();
    assert_eq!(by_email, vec![a.clone()]);
    let by_phone = f
        .vault
        .lookup(
            &ctx("customer_care"),
            &Lookup::Phone("+84 905-000-001".into()),
        )
        .await
        .unwrap();
    assert_eq!(by_phone, vec![a]);
    assert!(
        f.vault
            .lookup(&ctx("account"), &Lookup::Email("nobody@example.com".into()))
            .await
            .unwrap()
            .is_empty()
    );
    // A purpose that does not use email may not look up by it.
    assert!(matches!(
        f.vault
            .lookup(&ctx("security"), &Lookup::Email("dung@example.com".into()))
            .await,
        Err(VaultError::Rejected(_))
    ));
}

pub async fn corrections_keep_an_encrypted_history(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let id = create(&f, "Hồ Giang", "giang@example.com", "+84906000001").await;
    let change = fields(json!({"account_email.email": "giang.new@example.com"}));
    f.vault
        .correct(&ctx("account"), &id, &change)
        .await
        .unwrap();
    let view = f.vault.read(&ctx("account"), &id).await.unwrap();
    assert_eq!(
        value(&view, "account_email.email").as_deref(),
        Some("giang.new@example.com")
    );
    let history = f.vault.history(&ctx("account"), &id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].field, "account_email.email");
    assert_eq!(
        history[0].value,
        Disclosure::Value("giang@example.com".into())
    );
    let stored = b.store.history(&id).await.unwrap();
    assert!(!String::from_utf8_lossy(&stored[0].value.sealed).contains("giang"));
    // The index follows the correction.
    assert!(
        f.vault
            .lookup(&ctx("account"), &Lookup::Email("giang@example.com".into()))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.vault
            .lookup(
                &ctx("account"),
                &Lookup::Email("giang.new@example.com".into())
            )
            .await
            .unwrap(),
        vec![id.clone()]
    );
    // Correcting to the same value changes nothing.
    f.vault
        .correct(&ctx("account"), &id, &change)
        .await
        .unwrap();
    assert_eq!(b.store.history(&id).await.unwrap().len(), 1);
}

pub async fn erasure_destroys_the_key_and_purges(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let id = create(&f, "Khúc Hoa", "hoa@example.com", "+84907000001").await;
    f.vault
        .correct(
            &ctx("account"),
            &id,
            &fields(json!({"account_name.full_name": "Khúc Thị Hoa"})),
        )
        .await
        .unwrap();
    assert!(f.key_store.get(&id).await.unwrap().is_some());
    f.vault.erase(&ctx("account"), &id).await.unwrap();

    let view = f.vault.read(&ctx("account"), &id).await.unwrap();
    assert!(
        view.fields
            .values()
            .all(|d| *d == Disclosure::Withheld(Withheld::Erased))
    );
    let after = b.store.customer(&id).await.unwrap().unwrap();
    assert!(after.erased && after.fields.is_empty());
    assert!(
        f.key_store.get(&id).await.unwrap().is_none(),
        "the key is destroyed"
    );
    assert!(b.store.history(&id).await.unwrap().is_empty());
    assert!(
        f.vault
            .lookup(&ctx("account"), &Lookup::Email("hoa@example.com".into()))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        f.vault.erase(&ctx("account"), &id).await,
        Err(VaultError::Rejected(_))
    ));
}

pub async fn conflicts_write_nothing_not_even_audit(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let before = b.store.audit_entries(0, 10_000).await.unwrap().len();
    let ghost = CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap();
    let sealed = custodian_core::vault::SealedField {
        field: "account_name.full_name".into(),
        sealed: vec![1, 2, 3],
        key_version: 1,
    };
    let tx = Transaction {
        writes: vec![Write::PutField {
            customer: ghost.clone(),
            value: sealed,
            at: jiff::Timestamp::UNIX_EPOCH,
        }],
        audit: vec![],
    };
    assert!(b.store.commit(tx).await.unwrap().is_err());
    assert!(b.store.customer(&ghost).await.unwrap().is_none());
    assert!(matches!(
        f.vault
            .correct(
                &ctx("account"),
                &ghost,
                &fields(json!({"account_name.full_name": "X"}))
            )
            .await,
        Err(VaultError::Rejected(_))
    ));
    // The refused correction is audited (denied); nothing else was added.
    let after = b.store.audit_entries(0, 10_000).await.unwrap();
    assert_eq!(after.len(), before + 1);
    let event = after.last().unwrap().decode().unwrap();
    assert_eq!(event.decision, custodian_core::audit::Decision::Denied);
}

pub async fn verify_chain(store: &dyn VaultStore) -> custodian_core::audit::ChainReport {
    let signer = signer();
    let mut verifier =
        ChainVerifier::new(&signer, store.audit_checkpoints().await.unwrap()).unwrap();
    let mut after = 0;
    loop {
        let page = store.audit_entries(after, 100).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        for entry in &page {
            verifier.push(entry).unwrap();
        }
    }
    verifier.finish().unwrap()
}

pub async fn the_audit_chain_verifies_and_names_no_values(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let mut markers = Vec::new();
    for n in 0..30 {
        markers.extend(marker_customer(&f, n).await);
    }
    let report = verify_chain(b.store.as_ref()).await;
    assert!(report.entries >= 150, "{report:?}");
    assert!(report.checkpoints >= 1, "{report:?}");
    let entries = b.store.audit_entries(0, 100_000).await.unwrap();
    let reads = entries
        .iter()
        .filter_map(|e| e.decode())
        .filter(|e| e.action == "customer.read")
        .count();
    assert_eq!(reads, 30);
    for entry in &entries {
        let text = String::from_utf8_lossy(&entry.event).to_lowercase();
        for m in &markers {
            assert!(
                !text.contains(&m.to_lowercase()),
                "audit entry {} holds a value",
                entry.seq
            );
        }
    }
}

pub async fn concurrent_commits_are_grouped_and_all_durable(b: Backend) {
    let f = Arc::new(Fixture::new(b.store.clone()).await);
    let mut tasks = Vec::new();
    for n in 0..200u32 {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let id = create(
                &f,
                &format!("Khách {n}"),
                &format!("k{n}@example.com"),
                &format!("+849100{n:05}"),
            )
            .await;
            (n, id)
        }));
    }
    let mut created = Vec::new();
    for t in tasks {
        created.push(t.await.unwrap());
    }
    for (n, id) in created.iter().step_by(17) {
        let view = f.vault.read(&ctx("account"), id).await.unwrap();
        assert_eq!(
            value(&view, "account_email.email"),
            Some(format!("k{n}@example.com"))
        );
    }
    let report = verify_chain(b.store.as_ref()).await;
    assert!(report.entries >= 200);
}

pub async fn rotation_rewraps_every_key_while_serving(b: Backend) {
    let f = Arc::new(Fixture::new(b.store.clone()).await);
    let mut ids = Vec::new();
    for n in 0..60u32 {
        ids.push(
            create(
                &f,
                &format!("Quay {n}"),
                &format!("q{n}@example.com"),
                &format!("+849200{n:05}"),
            )
            .await,
        );
    }
    assert_eq!(f.keyring.add_version().unwrap(), 2);
    // Reads, writes and new customers keep going during the rotation.
    let operations = 3 * ids.len();
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let busy = {
        let (f, ids, done) = (f.clone(), ids.clone(), done.clone());
        tokio::spawn(async move {
            let tick = || done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            for (n, id) in ids.iter().enumerate() {
                f.vault.read(&ctx("account"), id).await.unwrap();
                tick();
                let change = fields(json!({"account_name.full_name": format!("Quay đổi {n}")}));
                f.vault.correct(&ctx("account"), id, &change).await.unwrap();
                tick();
                create(
                    &f,
                    &format!("Mới {n}"),
                    &format!("m{n}@example.com"),
                    &format!("+849300{n:05}"),
                )
                .await;
                tick();
            }
        })
    };
    let first = f.vault.rewrap_keys(7, |_| {}).await.unwrap();
    // The load really ran during the rotation: it had begun, and had not finished, when the
    // first pass returned.
    let during = done.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        during > 0 && during < operations,
        "{during} of {operations} operations were done when the rotation ended: no overlap"
    );
    busy.await.unwrap();
    // A second pass (as after a crash, or to catch keys created meanwhile) finishes the job.
    f.vault.rewrap_keys(7, |_| {}).await.unwrap();
    assert_eq!(first.target_version, 2);
    let versions = f.key_store.key_versions().await.unwrap();
    assert_eq!(
        versions,
        vec![(2, 120)],
        "every live key is under the new version"
    );
    assert_eq!(f.keyring.active_version(), 2);
    for (n, id) in ids.iter().enumerate() {
        let view = f.vault.read(&ctx("account"), id).await.unwrap();
        assert_eq!(
            value(&view, "account_name.full_name"),
            Some(format!("Quay đổi {n}"))
        );
    }
    verify_chain(b.store.as_ref()).await;
}

/// A stand-in for ciphertext: the store never looks inside.
fn sealed(field: &str, value: &str) -> SealedField {
    SealedField {
        field: field.to_owned(),
        sealed: value.as_bytes().to_vec(),
        key_version: 1,
    }
}

/// One transaction with one audit event naming it, so the chain shows what was committed.
fn tx(name: &str, customer: &CustomerId, writes: Vec<Write>) -> Transaction {
    let event = AuditEvent {
        at: jiff::Timestamp::UNIX_EPOCH,
        actor: "system:conformance".into(),
        action: name.to_owned(),
        customer: Some(customer.to_string()),
        categories: Vec::new(),
        fields: Vec::new(),
        withheld: Vec::new(),
        purpose: None,
        decision: Decision::Allowed,
        request_id: None,
    };
    Transaction {
        writes,
        audit: vec![event],
    }
}

const EMAIL: &str = "account_email.email";
const PHONE: &str = "account_phone.phone";
const NAME: &str = "account_name.full_name";

/// Customer `a` is created, written to and purged, then written to again (refused three
/// ways); customer `b` is created, has its email corrected twice, each time with its history,
/// survives a refused transaction that also named `a`, and gets a phone.
fn script(a: &CustomerId, b: &CustomerId) -> Vec<Transaction> {
    let at = jiff::Timestamp::UNIX_EPOCH;
    let history = |customer: &CustomerId, field: &str, value: &str| Write::PutHistory {
        customer: customer.clone(),
        entry: StoredHistory {
            id: HistoryId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap(),
            replaced_at: at,
            value: sealed(field, value),
        },
    };
    let put = |customer: &CustomerId, field: &str, value: &str| Write::PutField {
        customer: customer.clone(),
        value: sealed(field, value),
        at,
    };
    vec![
        tx(
            "t0.create",
            a,
            vec![
                Write::CreateCustomer {
                    id: a.clone(),
                    created_at: at,
                },
                put(a, NAME, "a0"),
                Write::CreateCustomer {
                    id: b.clone(),
                    created_at: at,
                },
                put(b, EMAIL, "b0"),
            ],
        ),
        tx(
            "t1.correct",
            b,
            vec![history(b, EMAIL, "b0"), put(b, EMAIL, "b1")],
        ),
        tx(
            "t2.correct",
            b,
            vec![history(b, EMAIL, "b1"), put(b, EMAIL, "b2")],
        ),
        tx(
            "t3.correct",
            a,
            vec![history(a, NAME, "a0"), put(a, NAME, "a1")],
        ),
        tx(
            "t4.purge",
            a,
            vec![Write::PurgeCustomer {
                customer: a.clone(),
                at,
            }],
        ),
        tx("t5.write_purged", a, vec![put(a, NAME, "a2")]),
        tx(
            "t6.mixed",
            b,
            vec![put(b, EMAIL, "b-lost"), put(a, EMAIL, "a-lost")],
        ),
        tx(
            "t7.recreate",
            a,
            vec![Write::CreateCustomer {
                id: a.clone(),
                created_at: at,
            }],
        ),
        tx(
            "t8.purge_again",
            a,
            vec![Write::PurgeCustomer {
                customer: a.clone(),
                at,
            }],
        ),
        tx("t9.phone", b, vec![put(b, PHONE, "b-phone")]),
    ]
}

/// What a customer's rows amount to, without ids or times.
#[derive(Debug, PartialEq, Eq)]
struct Rows {
    erased: bool,
    fields: Vec<(String, Vec<u8>)>,
    history: Vec<(String, Vec<u8>)>,
}

async fn rows(store: &dyn VaultStore, id: &CustomerId) -> Rows {
    let customer = store.customer(id).await.unwrap().unwrap();
    let mut fields: Vec<_> = customer
        .fields
        .into_iter()
        .map(|f| (f.field, f.sealed))
        .collect();
    fields.sort();
    let history = store
        .history(id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.value.field, h.value.sealed))
        .collect();
    Rows {
        erased: customer.erased,
        fields,
        history,
    }
}

/// A conflict, without the ids that differ from run to run.
fn outcome(result: &Result<(), custodian_core::vault::Conflict>) -> String {
    match result {
        Ok(()) => "ok".to_owned(),
        Err(c) => format!("{c:?}").split('(').next().unwrap().to_owned(),
    }
}

/// Transactions on the same customers committed at once (so that they share a batch, or a
/// few) end exactly as if committed one by one, in the order they were submitted: a write to
/// a customer purged earlier in the same batch is refused, a refused transaction writes
/// nothing of itself (not even its audit event), and the rest of the batch still applies.
pub async fn concurrent_transactions_apply_as_if_one_by_one(b: Backend) {
    let store = b.store.as_ref();
    let (a1, b1) = (
        CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap(),
        CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap(),
    );
    let (a2, b2) = (
        CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap(),
        CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap(),
    );
    let before = store.audit_entries(0, 100_000).await.unwrap().len();

    // All at once. `join!` first polls each future in turn, and a commit joins the writer's
    // queue on its first poll: they are submitted in the script's order.
    let [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9]: [Transaction; 10] =
        script(&a1, &b1).try_into().unwrap();
    let r = tokio::join!(
        store.commit(t0),
        store.commit(t1),
        store.commit(t2),
        store.commit(t3),
        store.commit(t4),
        store.commit(t5),
        store.commit(t6),
        store.commit(t7),
        store.commit(t8),
        store.commit(t9),
    );
    let together: Vec<String> = [r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9]
        .iter()
        .map(|r| outcome(r.as_ref().unwrap()))
        .collect();
    let audited: Vec<String> = store.audit_entries(0, 100_000).await.unwrap()[before..]
        .iter()
        .map(|e| e.decode().unwrap().action)
        .collect();

    // One by one.
    let mut one_by_one = Vec::new();
    for t in script(&a2, &b2) {
        one_by_one.push(outcome(&store.commit(t).await.unwrap()));
    }

    assert_eq!(
        together,
        [
            "ok",
            "ok",
            "ok",
            "ok",
            "ok",
            "NoSuchCustomer",
            "NoSuchCustomer",
            "CustomerExists",
            "NoSuchCustomer",
            "ok"
        ]
    );
    assert_eq!(together, one_by_one);
    assert_eq!(
        audited,
        [
            "t0.create",
            "t1.correct",
            "t2.correct",
            "t3.correct",
            "t4.purge",
            "t9.phone"
        ],
        "the chain holds the admitted transactions, in order, and nothing of the refused"
    );
    let (ra, rb) = (rows(store, &a1).await, rows(store, &b1).await);
    assert_eq!(ra, rows(store, &a2).await);
    assert_eq!(rb, rows(store, &b2).await);
    // And what one by one means, spelled out.
    assert_eq!(
        ra,
        Rows {
            erased: true,
            fields: vec![],
            history: vec![]
        },
        "a purged customer keeps no field or history"
    );
    assert_eq!(
        rb,
        Rows {
            erased: false,
            fields: vec![
                (EMAIL.to_owned(), b"b2".to_vec()),
                (PHONE.to_owned(), b"b-phone".to_vec())
            ],
            history: vec![
                (EMAIL.to_owned(), b"b0".to_vec()),
                (EMAIL.to_owned(), b"b1".to_vec())
            ],
        }
    );
    verify_chain(store).await;

    // Through the vault: an erasure racing corrections of the same customer. Whichever
    // correction lands, the customer ends erased, with nothing left behind.
    let f = Fixture::new(b.store.clone()).await;
    let c = create(&f, "Đua Xoá", "dua.xoa@example.com", "+84908000001").await;
    let account = ctx("account");
    let to_one = fields(json!({NAME: "Đua Một", EMAIL: "dua.mot@example.com"}));
    let to_two = fields(json!({NAME: "Đua Hai", EMAIL: "dua.hai@example.com"}));
    let (first, erased, second) = tokio::join!(
        f.vault.correct(&account, &c, &to_one),
        f.vault.erase(&account, &c),
        f.vault.correct(&account, &c, &to_two),
    );
    erased.unwrap();
    for correction in [first, second] {
        assert!(
            matches!(correction, Ok(()) | Err(VaultError::Rejected(_))),
            "a correction racing an erasure failed otherwise: {correction:?}"
        );
    }
    let view = f.vault.read(&ctx("account"), &c).await.unwrap();
    assert!(
        view.fields
            .values()
            .all(|d| *d == Disclosure::Withheld(Withheld::Erased))
    );
    assert_eq!(
        rows(store, &c).await,
        Rows {
            erased: true,
            fields: vec![],
            history: vec![]
        }
    );
    assert!(f.key_store.get(&c).await.unwrap().is_none());
    for email in [
        "dua.xoa@example.com",
        "dua.mot@example.com",
        "dua.hai@example.com",
    ] {
        assert!(
            f.vault
                .lookup(&ctx("account"), &Lookup::Email(email.into()))
                .await
                .unwrap()
                .is_empty(),
            "an erased customer is still found by {email}"
        );
    }
    verify_chain(store).await;
}

/// The name history of a customer, oldest first, then their current name.
async fn names(f: &Fixture, id: &CustomerId) -> (Vec<String>, Option<String>) {
    let history = f
        .vault
        .history(&ctx("account"), id)
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.field == NAME)
        .map(|h| match h.value {
            Disclosure::Value(v) => v,
            other => panic!("history not in the clear: {other:?}"),
        })
        .collect();
    let view = f.vault.read(&ctx("account"), id).await.unwrap();
    (history, value(&view, NAME))
}

/// Corrections of the same field committed at once all count: the customer ends with one of
/// the new values and every earlier one in the history, once — as if applied one by one in
/// some order. A correction of another field at the same time is not lost either.
pub async fn concurrent_corrections_keep_every_earlier_value(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let id = create(&f, "Sửa Gốc", "sua.goc@example.com", "+84908000002").await;
    let rename = |n: &str| fields(json!({ NAME: n }));
    let account = ctx("account");
    let (to_one, to_two, to_three) = (rename("Sửa Một"), rename("Sửa Hai"), rename("Sửa Ba"));
    let to_email = fields(json!({EMAIL: "sua.moi@example.com"}));
    let (one, two, three, email) = tokio::join!(
        f.vault.correct(&account, &id, &to_one),
        f.vault.correct(&account, &id, &to_two),
        f.vault.correct(&account, &id, &to_three),
        f.vault.correct(&account, &id, &to_email),
    );
    for (n, result) in [one, two, three, email].into_iter().enumerate() {
        assert!(result.is_ok(), "correction {n} failed: {result:?}");
    }
    let (history, current) = names(&f, &id).await;
    let current = current.unwrap();
    assert_eq!(
        history.len(),
        3,
        "every replaced name is kept once: {history:?}, now {current:?}"
    );
    assert_eq!(history[0], "Sửa Gốc", "the original name comes first");
    let mut all: Vec<&str> = history[1..]
        .iter()
        .map(String::as_str)
        .chain([current.as_str()])
        .collect();
    all.sort_unstable();
    assert_eq!(
        all,
        ["Sửa Ba", "Sửa Hai", "Sửa Một"],
        "each new name is current or in the history, once: {history:?}, now {current:?}"
    );
    let view = f.vault.read(&ctx("account"), &id).await.unwrap();
    assert_eq!(
        value(&view, EMAIL).as_deref(),
        Some("sua.moi@example.com"),
        "the concurrent email correction was lost"
    );
    let emails: Vec<_> = f
        .vault
        .history(&ctx("account"), &id)
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.field == EMAIL)
        .map(|h| h.value)
        .collect();
    assert_eq!(emails, [Disclosure::Value("sua.goc@example.com".into())]);

    // Then one after another, on a second customer: each is the last value in turn.
    let other = create(&f, "Nối Gốc", "noi.goc@example.com", "+84908000003").await;
    for n in ["Nối Một", "Nối Hai"] {
        f.vault
            .correct(&ctx("account"), &other, &rename(n))
            .await
            .unwrap();
    }
    assert_eq!(
        names(&f, &other).await,
        (
            vec!["Nối Gốc".to_owned(), "Nối Một".to_owned()],
            Some("Nối Hai".to_owned())
        )
    );
    verify_chain(b.store.as_ref()).await;
}

/// A rotation stopped mid-way — its future dropped after the first batch, as a crash would
/// stop it — leaves some keys under the new master key and some under the old, every
/// customer readable; run again, it finishes the job.
pub async fn an_interrupted_rotation_resumes(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let mut ids = Vec::new();
    for n in 0..40u32 {
        ids.push(
            create(
                &f,
                &format!("Dừng {n}"),
                &format!("d{n}@example.com"),
                &format!("+849400{n:05}"),
            )
            .await,
        );
    }
    let all_readable = |stage: &'static str| {
        let (f, ids) = (&f, &ids);
        async move {
            for (n, id) in ids.iter().enumerate() {
                let view = f.vault.read(&ctx("account"), id).await.unwrap();
                assert_eq!(
                    value(&view, NAME),
                    Some(format!("Dừng {n}")),
                    "{stage}: customer {n}"
                );
            }
        }
    };
    assert_eq!(f.keyring.add_version().unwrap(), 2);
    let (interrupt, interrupted) = tokio::sync::oneshot::channel::<u64>();
    let mut interrupt = Some(interrupt);
    let rotation = f.vault.rewrap_keys(2, |p| {
        if p.rewrapped > 0
            && let Some(interrupt) = interrupt.take()
        {
            let _ = interrupt.send(p.rewrapped);
        }
    });
    tokio::select! {
        biased;
        after = interrupted => assert_eq!(after.unwrap(), 2, "interrupted after the first batch"),
        done = rotation => panic!("the rotation was not interrupted: {done:?}"),
    }
    let versions = f.key_store.key_versions().await.unwrap();
    let under = |v: u32| {
        versions
            .iter()
            .find(|(k, _)| *k == v)
            .map_or(0, |(_, n)| *n)
    };
    assert!(
        under(2) >= 2 && under(1) > 0 && under(1) + under(2) == 40,
        "half rotated: {versions:?}"
    );
    all_readable("half rotated").await;

    let resumed = f.vault.rewrap_keys(2, |_| {}).await.unwrap();
    assert_eq!(resumed.target_version, 2);
    assert!(
        resumed.rewrapped > 0 && resumed.rewrapped <= under(1),
        "the second pass rewrapped what was left: {resumed:?}, {versions:?}"
    );
    assert_eq!(
        f.key_store.key_versions().await.unwrap(),
        vec![(2, 40)],
        "every key is under the new version"
    );
    all_readable("resumed").await;
    verify_chain(b.store.as_ref()).await;
}

// ----- identity -----

const STAFF_PASSWORD: &str = "lantern orbit meadow";

fn identity(b: &Backend) -> (Identity, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new("2026-03-01T08:00:00Z".parse().unwrap()));
    let identity = Identity::new(
        Arc::new(parse(DEFAULT_POLICY).unwrap()),
        b.identity.clone(),
        clock.clone(),
        SecretKey::from_bytes(&[9; 32]).unwrap(),
    )
    .with_rate_limiter(RateLimiter::new(1_000, 100));
    (identity, clock)
}

fn refusal(err: IdentityError) -> custodian_core::error::ErrorCode {
    match err {
        IdentityError::Rejected(e) => e.code,
        other => panic!("not a refusal: {other}"),
    }
}

pub async fn identity_users_are_found_and_logins_unique(b: Backend) {
    let (id, clock) = identity(&b);
    let boot = id.bootstrap_admin().await.unwrap().unwrap();
    assert!(id.bootstrap_admin().await.unwrap().is_none());
    // Lists are in id order, which is creation order only from one millisecond to the next.
    clock.advance(jiff::SignedDuration::from_millis(1));
    let user = id
        .create_user("Thao.Le@example.com", "care_agent", STAFF_PASSWORD)
        .await
        .unwrap();
    let err = id
        .create_user("thao.le@example.COM", "dpo", STAFF_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(refusal(err), custodian_core::error::ErrorCode::LoginTaken);
    let found = b
        .identity
        .user_by_login("thao.le@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, user);
    assert_eq!(found.login, "Thao.Le@example.com");
    assert_eq!(found.role, "care_agent");
    assert!(found.password_hash.starts_with("$argon2id$"));
    let users = id.users().await.unwrap();
    assert_eq!(
        users.iter().map(|u| u.id.clone()).collect::<Vec<_>>(),
        vec![boot.user.clone(), user.clone()]
    );
    assert!(users[0].must_change_password && !users[1].must_change_password);
    id.change_role(&user, "qa_reviewer").await.unwrap();
    assert_eq!(id.user(&user).await.unwrap().unwrap().role, "qa_reviewer");
    let signed = id
        .sign_in("admin", &boot.password, None, None)
        .await
        .unwrap();
    assert!(signed.must_change_password);
    id.change_password(&boot.user, &boot.password, STAFF_PASSWORD)
        .await
        .unwrap();
    assert!(
        !id.user(&boot.user)
            .await
            .unwrap()
            .unwrap()
            .must_change_password
    );
    let actions: Vec<String> = id
        .events()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "user.create",
            "user.create",
            "user.role_change",
            "sign_in.success",
            "user.password_change"
        ]
    );
}

pub async fn identity_sessions_expire_absolute_and_idle(b: Backend) {
    let (id, clock) = identity(&b);
    let user = id
        .create_user("an", "analyst", STAFF_PASSWORD)
        .await
        .unwrap();
    let signed = id.sign_in("an", STAFF_PASSWORD, None, None).await.unwrap();
    let token = signed.token.expose();
    for _ in 0..16 {
        clock.advance(jiff::SignedDuration::from_mins(29));
        let session = id.authenticate_session(token).await.unwrap().unwrap();
        assert_eq!(session.user, user);
    }
    clock.advance(jiff::SignedDuration::from_mins(16));
    assert!(id.authenticate_session(token).await.unwrap().is_none());

    let idle = id.sign_in("an", STAFF_PASSWORD, None, None).await.unwrap();
    clock.advance(jiff::SignedDuration::from_mins(30));
    assert!(
        id.authenticate_session(idle.token.expose())
            .await
            .unwrap()
            .is_none()
    );

    let one = id.sign_in("an", STAFF_PASSWORD, None, None).await.unwrap();
    let two = id.sign_in("an", STAFF_PASSWORD, None, None).await.unwrap();
    assert!(id.sign_out(one.token.expose()).await.unwrap());
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
}

pub async fn identity_five_failures_lock_for_fifteen_minutes(b: Backend) {
    let (id, clock) = identity(&b);
    let user = id.create_user("binh", "dpo", STAFF_PASSWORD).await.unwrap();
    for n in 1..=4 {
        assert!(matches!(
            id.sign_in("binh", "not the password", None, None).await,
            Err(SignInError::InvalidCredentials)
        ));
        assert_eq!(
            b.identity
                .user(&user)
                .await
                .unwrap()
                .unwrap()
                .failed_sign_ins,
            n
        );
    }
    assert!(
        id.sign_in("binh", "not the password", None, None)
            .await
            .is_err()
    );
    let locked = b.identity.user(&user).await.unwrap().unwrap();
    assert_eq!(
        locked.locked_until,
        Some(clock.now() + jiff::SignedDuration::from_mins(15))
    );
    assert!(matches!(
        id.sign_in("binh", STAFF_PASSWORD, None, None).await,
        Err(SignInError::InvalidCredentials)
    ));
    clock.advance(jiff::SignedDuration::from_secs(15 * 60 - 1));
    assert!(
        id.sign_in("binh", STAFF_PASSWORD, None, None)
            .await
            .is_err()
    );
    clock.advance(jiff::SignedDuration::from_secs(1));
    id.sign_in("binh", STAFF_PASSWORD, None, None)
        .await
        .unwrap();
    let events = id.events().await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "sign_in.lock_out")
            .count(),
        1
    );
    assert_eq!(events.last().unwrap().action, "sign_in.success");
}

pub async fn identity_totp_is_required_and_codes_are_good_once(b: Backend) {
    use custodian_crypto::{TotpSecret, totp};
    let (id, clock) = identity(&b);
    let user = id
        .create_user("chi", "care_agent", STAFF_PASSWORD)
        .await
        .unwrap();
    let enrolment = id.enrol_totp(&user).await.unwrap();
    let secret = TotpSecret::from_base32(&enrolment.secret_base32).unwrap();
    let stored = b.identity.user(&user).await.unwrap().unwrap();
    let sealed = stored.totp_sealed.unwrap();
    assert!(
        !sealed.windows(20).any(|w| w == secret.as_bytes()),
        "stored sealed"
    );
    id.confirm_totp(&user, &totp::code_at(&secret, clock.now().as_second()))
        .await
        .unwrap();
    assert!(matches!(
        id.sign_in("chi", STAFF_PASSWORD, None, None).await,
        Err(SignInError::TotpRequired)
    ));
    clock.advance(jiff::SignedDuration::from_secs(30));
    let code = totp::code_at(&secret, clock.now().as_second());
    id.sign_in("chi", STAFF_PASSWORD, Some(&code), None)
        .await
        .unwrap();
    assert!(matches!(
        id.sign_in("chi", STAFF_PASSWORD, Some(&code), None).await,
        Err(SignInError::InvalidCredentials)
    ));
    // The step just before is older than the one used: refused too.
    let earlier = totp::code_at(&secret, clock.now().as_second() - 30);
    assert!(
        id.sign_in("chi", STAFF_PASSWORD, Some(&earlier), None)
            .await
            .is_err()
    );
    assert!(b.identity.user(&user).await.unwrap().unwrap().totp_active);
}

pub async fn identity_tokens_are_issued_used_and_revoked(b: Backend) {
    let (id, clock) = identity(&b);
    let scope = id
        .scope_from_names(
            &["customers.create", "customers.read"],
            Some(&["account"]),
            &[],
        )
        .unwrap();
    let (token_id, token) = id.issue_token("storefront", &scope).await.unwrap();
    // Lists are in id order, which is creation order only from one millisecond to the next.
    clock.advance(jiff::SignedDuration::from_millis(1));
    let (_, other) = id.issue_token("pbx", &Scope::unrestricted()).await.unwrap();
    let first_use = clock.now();
    assert_eq!(
        id.authenticate_token(token.expose()).await.unwrap(),
        Some(Principal::Integration {
            name: "storefront".into(),
            scope
        })
    );
    clock.advance(jiff::SignedDuration::from_secs(30));
    id.authenticate_token(token.expose())
        .await
        .unwrap()
        .unwrap();
    let listed = id.list_tokens().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, token_id);
    assert_eq!(
        listed[0].last_used_at,
        Some(first_use),
        "at most one write a minute"
    );
    assert_eq!(listed[1].last_used_at, None);
    clock.advance(jiff::SignedDuration::from_secs(30));
    id.authenticate_token(token.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        id.list_tokens().await.unwrap()[0].last_used_at,
        Some(clock.now())
    );

    assert!(id.revoke_token(&token_id).await.unwrap());
    assert!(!id.revoke_token(&token_id).await.unwrap());
    assert!(
        id.authenticate_token(token.expose())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        id.list_tokens().await.unwrap()[0].revoked_at,
        Some(clock.now())
    );
    assert!(
        id.authenticate_token(other.expose())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        id.authenticate_token("cst_not-a-token")
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn identity_scopes_are_kept_exactly(b: Backend) {
    let (id, _) = identity(&b);
    let policy = parse(DEFAULT_POLICY).unwrap();
    let sensitive: Vec<&str> = policy
        .categories
        .iter()
        .filter(|c| c.is_sensitive())
        .map(|c| c.id.as_str())
        .take(2)
        .collect();
    let scopes = [
        id.scope_from_names(&["customers.read"], None, &[]).unwrap(),
        id.scope_from_names(&["customers.lookup"], Some(&[]), &[])
            .unwrap(),
        id.scope_from_names(
            &["customers.read", "access.explain", "customers.erase"],
            Some(&["customer_care", "order_fulfilment", "legal_obligation"]),
            &sensitive,
        )
        .unwrap(),
    ];
    for (n, scope) in scopes.iter().enumerate() {
        let (_, token) = id.issue_token(&format!("client-{n}"), scope).await.unwrap();
        let Some(Principal::Integration { scope: back, .. }) =
            id.authenticate_token(token.expose()).await.unwrap()
        else {
            panic!("token {n} not accepted")
        };
        assert_eq!(&back, scope, "scope {n}");
    }
    assert!(!sensitive.is_empty());
}
