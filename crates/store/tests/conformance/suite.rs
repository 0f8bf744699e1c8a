//! The cases every backend must pass. Each takes a fresh [`Backend`].

use std::sync::Arc;

use serde_json::{Map, Value, json};

use custodian_core::access::{Disclosure, Principal, Withheld};
use custodian_core::audit::{ChainVerifier, CheckpointSigner};
use custodian_core::clock::SystemClock;
use custodian_core::ids::CustomerId;
use custodian_core::notice::NoticeArchive;
use custodian_core::vault::KeyStore;
use custodian_core::vault::{
    Lookup, RequestContext, Transaction, Vault, VaultError, VaultStore, Write,
};
use custodian_crypto::{BlindIndexKey, KeyWrapper, LocalKeyring, SecretKey};
use custodian_policy::{DEFAULT_POLICY, parse};
use custodian_store::SqliteKeyStore;

/// A backend under test. `guard` keeps its temporary files or database alive.
pub struct Backend {
    pub store: Arc<dyn VaultStore>,
    #[allow(dead_code, reason = "held for backends whose archive tests come later")]
    pub archive: Arc<dyn NoticeArchive>,
    pub guard: Box<dyn std::any::Any + Send>,
}

/// Instantiates every case for a backend constructor `async fn() -> Option<Backend>`.
macro_rules! conformance_tests {
    ($backend:path) => {
        conformance_tests!(@cases $backend;
            create_then_read_round_trips,
            reads_withhold_what_the_purpose_does_not_use,
            ciphertext_moved_between_customers_does_not_open,
            ciphertext_moved_between_fields_does_not_open,
            lookups_use_the_blind_index,
            corrections_keep_an_encrypted_history,
            erasure_destroys_the_key_and_purges,
            conflicts_write_nothing_not_even_audit,
            the_audit_chain_verifies_and_names_no_values,
            concurrent_commits_are_grouped_and_all_durable,
            rotation_rewraps_every_key_while_serving,
        );
    };
    (@cases $backend:path; $($case:ident,)+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(backend) = $backend().await else { return };
                crate::suite::$case(backend).await;
            }
        )+
    };
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
        let index = BlindIndexKey::new(SecretKey::from_bytes(&[7; 32]).unwrap());
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
        Disclosure::Withheld(_) => None,
    }
}

fn withheld(view: &custodian_core::vault::CustomerView, field: &str) -> Option<Withheld> {
    match view.fields.get(field)? {
        Disclosure::Withheld(w) => Some(*w),
        Disclosure::Value(_) => None,
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
    let ghost = CustomerId::generate().unwrap();
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

async fn verify_chain(store: &dyn VaultStore) -> custodian_core::audit::ChainReport {
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
    let busy = {
        let f = f.clone();
        let ids = ids.clone();
        tokio::spawn(async move {
            for (n, id) in ids.iter().enumerate() {
                f.vault.read(&ctx("account"), id).await.unwrap();
                let change = fields(json!({"account_name.full_name": format!("Quay đổi {n}")}));
                f.vault.correct(&ctx("account"), id, &change).await.unwrap();
                create(
                    &f,
                    &format!("Mới {n}"),
                    &format!("m{n}@example.com"),
                    &format!("+849300{n:05}"),
                )
                .await;
            }
        })
    };
    let first = f.vault.rewrap_keys(7, |_| {}).await.unwrap();
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
