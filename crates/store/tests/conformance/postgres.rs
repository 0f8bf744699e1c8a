//! The suite on PostgreSQL, plus what only PostgreSQL has: a `pg_dump` to search for
//! plaintext.
//!
//! `CUSTODIAN_TEST_POSTGRES_URL` names a throwaway cluster with an admin role (`.ci/run`
//! starts one; `bash .ci/postgres.sh` starts one by hand). Each test gets a database of its
//! own, so the tests run in parallel. Without the variable the tests are skipped, saying so —
//! except in CI (`CI` set), where a skipped backend would be a silent hole, so they fail.

use std::io::Write as _;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Once};

use custodian_core::StoreError;
use custodian_core::access::{Disclosure, Withheld};
use custodian_core::audit::{AuditEvent, ChainVerifier, Decision};
use custodian_core::clock::SystemClock;
use custodian_core::health::Health;
use custodian_core::ids::{CustomerId, HistoryId};
use custodian_core::notice::{NoticeArchive, PublishOutcome, PublishedNotice, RenderedNotice};
use custodian_core::vault::{Conflict, SealedField, StoredHistory, Transaction, VaultStore, Write};
use custodian_core::vault::{KeyStore, Lookup, StoredKey, Vault};
use custodian_crypto::{BlindIndexKey, LocalKeyring, WrappedKey};
use custodian_store::{PgKeyStore, PgStore};
use jiff::Timestamp;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::suite::{Backend, Fixture, RawDatabase, marker_customer};

const URL_VAR: &str = "CUSTODIAN_TEST_POSTGRES_URL";

pub async fn backend() -> Option<Backend> {
    let db = TestDatabase::create().await?;
    let store = PgStore::open(&db.url).await.unwrap();
    let vault = Arc::new(store.vault(crate::suite::signer()).await.unwrap());
    let raw = RawDatabase::Postgres(db.url.clone());
    Some(Backend {
        store: vault.clone(),
        outbox: vault.clone(),
        erasure: vault,
        identity: Arc::new(store.identity()),
        care: Arc::new(store.care()),
        legal: Arc::new(store.legal()),
        requests: Arc::new(store.requests()),
        exports: Arc::new(store.exports()),
        archive: Arc::new(store),
        guard: Box::new(db),
        raw,
    })
}

conformance_tests!(backend);

/// A database of its own for one test, on the cluster of `CUSTODIAN_TEST_POSTGRES_URL`.
///
/// Dropped at the end of the test, except in CI: there the cluster is deleted whole
/// afterwards, and `.ci/run` counts the databases left as proof the tests ran against it.
pub struct TestDatabase {
    pub name: String,
    /// The URL of this database.
    pub url: String,
    admin: PgConnectOptions,
}

impl TestDatabase {
    /// Creates `custodian_test_<random hex>`, or returns `None` (skipped) without a cluster.
    pub async fn create() -> Option<TestDatabase> {
        let admin_url = admin_url()?;
        let admin = PgConnectOptions::from_str(&admin_url)
            .unwrap_or_else(|e| panic!("{URL_VAR} is not a PostgreSQL URL: {e}"));
        let name = format!("custodian_test_{}", random_hex());
        let mut conn = admin.connect().await.unwrap_or_else(|e| {
            panic!("cannot connect to the PostgreSQL test cluster named by {URL_VAR}: {e}")
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let url = with_database(&admin_url, &name);
        Some(TestDatabase { name, url, admin })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::env::var_os("CI").is_some() {
            return;
        }
        // Drop runs inside the test's runtime, which cannot be blocked on: a runtime of its
        // own on a thread of its own drops the database. FORCE ends connections still open.
        let admin = self.admin.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = admin.connect().await?;
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut conn)
                    .await?;
                conn.close().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            say(&format!("could not drop test database {}", self.name));
        }
    }
}

/// The admin URL, or `None` with a clear message when the tests are to be skipped.
fn admin_url() -> Option<String> {
    if let Ok(url) = std::env::var(URL_VAR) {
        return Some(url);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{URL_VAR} is not set, but CI is: the PostgreSQL conformance suite must run in CI \
         (.ci/run starts a throwaway cluster and sets it)"
    );
    static SKIPPED: Once = Once::new();
    SKIPPED.call_once(|| {
        say(&format!(
            "postgres conformance skipped: {URL_VAR} is not set \
             (`bash .ci/postgres.sh` starts a throwaway cluster)"
        ));
    });
    None
}

/// Writes to the process's stderr directly, past the test harness's capture, so a skip is
/// seen without `--nocapture`.
fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

fn random_hex() -> String {
    custodian_crypto::random_bytes::<8>()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `url` with its database (the path) replaced by `database`; query parameters are kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// The `pg_dump` for the test cluster: the first on `PATH` (`.ci/postgres.sh` puts the
/// cluster's own there), else the newest server installation's.
fn pg_dump_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("pg_dump"))
        .find(|path| path.is_file());
    if let Some(path) = on_path {
        return path;
    }
    let mut installed: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            let path = entry.path().join("bin/pg_dump");
            path.exists().then_some((major, path))
        })
        .collect();
    installed.sort();
    installed
        .pop()
        .map_or_else(|| PathBuf::from("pg_dump"), |(_, path)| path)
}

/// A plain-SQL `pg_dump` of the database at `url`: schema and every row, as an operator's
/// backup would hold them.
pub fn pg_dump(url: &str) -> String {
    let binary = pg_dump_binary();
    let output = std::process::Command::new(&binary)
        .args(["--no-owner", "--no-privileges", "--dbname", url])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    assert!(
        output.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The canary: every field of many customers holds a unique marker; after creating,
/// reading, correcting and looking them up, no marker may appear in a dump of the database,
/// neither as text nor hex-encoded (as `pg_dump` writes BYTEA columns).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dump_holds_no_personal_values() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = PgStore::open(&db.url).await.unwrap();
    let vault: Arc<dyn VaultStore> = Arc::new(store.vault(crate::suite::signer()).await.unwrap());
    let fixture = Fixture::new(vault.clone()).await;
    let mut markers = Vec::new();
    for n in 0..20 {
        markers.extend(marker_customer(&fixture, n).await);
    }
    let ids: Vec<String> = vault
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter_map(|entry| entry.decode().and_then(|e| e.customer))
        .collect();

    let dump = pg_dump(&db.url).to_lowercase();
    // The dump holds the data: the tables, and every customer's (non-personal) id.
    for table in ["customers", "customer_fields", "field_history", "audit_log"] {
        assert!(
            dump.contains(&format!("copy public.{table} ")),
            "{table} is in the dump"
        );
    }
    assert!(ids.len() >= 20, "the customers were audited");
    for id in &ids {
        assert!(
            dump.contains(&id.to_lowercase()),
            "customer {id} is in the dump"
        );
    }
    assert!(!markers.is_empty());
    for marker in &markers {
        let lower = marker.to_lowercase();
        assert!(
            !dump.contains(&lower),
            "`{marker}` found in the dump as text"
        );
        for form in [marker, &lower] {
            assert!(
                !dump.contains(&hex(form)),
                "`{marker}` found in the dump, hex-encoded"
            );
        }
    }
    store.close().await;
}

// What is particular to PostgreSQL: migrations under concurrent start, one audit chain for
// several instances, append-only triggers, exact timestamps, a lost writer connection.

fn notice(version: &str, hash: &str, at: &str) -> PublishedNotice {
    PublishedNotice {
        version: version.into(),
        content_hash: hash.into(),
        published_at: at.parse().unwrap(),
        policy_source: format!("# policy {version}"),
        rendered: RenderedNotice {
            vi_html: "<p>vi</p>".into(),
            vi_markdown: "vi".into(),
            en_html: "<p>en</p>".into(),
            en_markdown: "en".into(),
        },
    }
}

fn event(action: &str, customer: Option<&CustomerId>, at: Timestamp) -> AuditEvent {
    AuditEvent {
        at,
        actor: "integration:test".into(),
        action: action.into(),
        customer: customer.map(ToString::to_string),
        categories: vec![],
        fields: vec![],
        withheld: vec![],
        purpose: Some("account".into()),
        decision: Decision::Allowed,
        request_id: None,
    }
}

fn create(id: &CustomerId, at: Timestamp) -> Transaction {
    Transaction {
        writes: vec![Write::CreateCustomer {
            id: id.clone(),
            created_at: at,
        }],
        audit: vec![event("customer.create", Some(id), at)],
    }
}

async fn verify_chain(vault: &dyn VaultStore) -> u64 {
    let mut verifier = ChainVerifier::new(
        &crate::suite::signer(),
        vault.audit_checkpoints().await.unwrap(),
    )
    .unwrap();
    let mut after = 0;
    loop {
        let entries = vault.audit_entries(after, 100).await.unwrap();
        let Some(last) = entries.last() else { break };
        after = last.seq;
        for entry in &entries {
            verifier.push(entry).unwrap();
        }
    }
    verifier.finish().unwrap().entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_concurrently_migrates_once_and_answers_pings() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url.clone();
    let (a, b) = tokio::join!(PgStore::open(&url), PgStore::open(&url));
    let (a, b) = (a.unwrap(), b.unwrap());
    a.ping().await.unwrap();
    b.ping().await.unwrap();
    a.close().await;
    b.close().await;
    // Reopening applies nothing and succeeds.
    PgStore::open(&url).await.unwrap().ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_url_is_refused_without_echoing_it() {
    let err = PgStore::open("postgres://user:s3cret@[bad")
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notice_archive_publishes_once_and_detects_conflicts() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url.clone();
    let store = PgStore::open(&url).await.unwrap();
    let first = notice("2026.1", "sha256:aa", "2026-01-01T00:00:00.123456789Z");
    let second = notice("2026.2", "sha256:bb", "2026-02-01T00:00:00Z");
    assert_eq!(
        store.publish(first.clone()).await.unwrap(),
        PublishOutcome::Published
    );
    assert_eq!(
        store.publish(second.clone()).await.unwrap(),
        PublishOutcome::Published
    );
    assert_eq!(
        store
            .publish(notice("2026.1", "sha256:aa", "2027-01-01T00:00:00Z"))
            .await
            .unwrap(),
        PublishOutcome::AlreadyPublished
    );
    let err = store
        .publish(notice("2026.1", "sha256:cc", "2026-01-02T00:00:00Z"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NoticeVersionConflict { .. }),
        "{err}"
    );
    assert_eq!(
        store.list().await.unwrap(),
        vec![second.summary(), first.summary()]
    );
    // Nanoseconds survive the round trip.
    assert_eq!(store.get("sha256:aa").await.unwrap(), Some(first));
    assert_eq!(store.get("sha256:zz").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_rolls_back_its_own_transaction_only() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url.clone();
    let store = PgStore::open(&url).await.unwrap();
    let vault = store.vault(crate::suite::signer()).await.unwrap();
    let at: Timestamp = "2026-03-01T10:00:00.000000001Z".parse().unwrap();
    let id = CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap();
    let other = CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap();
    // Committed concurrently, so they are likely to share a batch.
    let (a, b, c) = tokio::join!(
        vault.commit(create(&id, at)),
        vault.commit(create(&id, at)),
        vault.commit(create(&other, at)),
    );
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(Result::is_err);
    assert_eq!(
        outcomes,
        [Ok(()), Err(Conflict::CustomerExists(id.clone()))]
    );
    assert_eq!(c.unwrap(), Ok(()));
    // The refused transaction left no audit entry.
    assert_eq!(verify_chain(&vault).await, 2);
    let stored = vault.customer(&id).await.unwrap().unwrap();
    assert_eq!(stored.created_at, at);
    assert!(!stored.erased);

    // A write to a customer that does not exist is a conflict, and writes nothing.
    let ghost = CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap();
    let put = Transaction {
        writes: vec![Write::PutField {
            customer: ghost.clone(),
            value: SealedField {
                field: "account.name".into(),
                sealed: vec![9],
                key_version: 1,
            },
            at,
        }],
        audit: vec![event("customer.correct", Some(&ghost), at)],
    };
    assert_eq!(
        vault.commit(put).await.unwrap(),
        Err(Conflict::NoSuchCustomer(ghost))
    );
    assert_eq!(verify_chain(&vault).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_oldest_first_by_the_instant_not_its_text() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url.clone();
    let store = PgStore::open(&url).await.unwrap();
    let vault = store.vault(crate::suite::signer()).await.unwrap();
    let id = CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap();
    let t0: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
    vault.commit(create(&id, t0)).await.unwrap().unwrap();
    // As text, ".1Z" sorts after ".12Z" and "05Z" after "05.5Z".
    let instants = [
        "2026-03-01T10:00:05.1Z",
        "2026-03-01T10:00:05.12Z",
        "2026-03-01T10:00:05.5Z",
        "2026-03-01T10:00:06Z",
    ];
    for at in instants.iter().rev() {
        let entry = StoredHistory {
            id: HistoryId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap(),
            replaced_at: at.parse().unwrap(),
            value: SealedField {
                field: "account.name".into(),
                sealed: at.as_bytes().to_vec(),
                key_version: 1,
            },
        };
        let tx = Transaction {
            writes: vec![Write::PutHistory {
                customer: id.clone(),
                entry,
            }],
            audit: vec![],
        };
        vault.commit(tx).await.unwrap().unwrap();
    }
    let history = vault.history(&id).await.unwrap();
    let got: Vec<String> = history.iter().map(|h| h.replaced_at.to_string()).collect();
    assert_eq!(got, instants);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_a_database_chain_one_audit_log() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url.clone();
    // Two service instances: two pools, two writer connections, one database.
    let first = PgStore::open(&url).await.unwrap();
    let second = PgStore::open(&url).await.unwrap();
    let vaults = [
        first.vault(crate::suite::signer()).await.unwrap(),
        second.vault(crate::suite::signer()).await.unwrap(),
    ];
    let at: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200_i64 {
        let vault = vaults[usize::try_from(i % 2).unwrap()].clone();
        let at = at + jiff::SignedDuration::from_millis(i);
        tasks.spawn(async move {
            let id = CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap();
            vault.commit(create(&id, at)).await.unwrap().unwrap();
            let read = Transaction {
                writes: vec![],
                audit: vec![event("customer.read", Some(&id), at)],
            };
            vault.commit(read).await.unwrap().unwrap();
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    assert_eq!(verify_chain(&vaults[0]).await, 400);
    assert!(!vaults[1].audit_checkpoints().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_tables_are_append_only() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url.clone();
    let store = PgStore::open(&url).await.unwrap();
    let vault = store.vault(crate::suite::signer()).await.unwrap();
    // A connection of its own, as an operator's `psql` session would be.
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let id = CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap();
    vault
        .commit(create(&id, Timestamp::UNIX_EPOCH))
        .await
        .unwrap()
        .unwrap();
    assert!(!vault.audit_checkpoints().await.unwrap().is_empty());
    for statement in [
        "UPDATE audit_log SET hash = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "UPDATE audit_checkpoints SET mac = 'x'",
        "DELETE FROM audit_checkpoints",
        "TRUNCATE audit_checkpoints",
        "UPDATE audit_head SET seq = 0",
        "DELETE FROM audit_head",
        "TRUNCATE audit_head",
    ] {
        let err = sqlx::query(statement)
            .execute(&mut admin)
            .await
            .expect_err(statement);
        assert!(
            err.to_string().contains("append-only") || err.to_string().contains("forward"),
            "{statement}: {err}"
        );
    }
    assert_eq!(verify_chain(&vault).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_reconnects_after_losing_its_connection() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url.clone();
    let store = PgStore::open(&url).await.unwrap();
    let vault = store.vault(crate::suite::signer()).await.unwrap();
    // A connection of its own, as an operator's `psql` session would be.
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let at = Timestamp::UNIX_EPOCH;
    vault
        .commit(create(
            &CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap(),
            at,
        ))
        .await
        .unwrap()
        .unwrap();
    // Kill the writer's connection from the server side, as a failover or restart would.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    let mut ok = false;
    for _ in 0..3 {
        // The first commit may fail (the batch in flight on the dead connection); the next
        // one reconnects.
        if let Ok(outcome) = vault
            .commit(create(
                &CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap(),
                at,
            ))
            .await
        {
            outcome.unwrap();
            ok = true;
            break;
        }
    }
    assert!(ok, "the writer did not recover");
    assert_eq!(verify_chain(&vault).await, 2);
}

/// One service instance: its own pools and writer, on the shared data and key databases,
/// with the shared master keyring.
async fn instance(data: &str, keys: &str, keyring_dir: &std::path::Path) -> Vault {
    let store = PgStore::open(data).await.unwrap();
    let vault_store: Arc<dyn VaultStore> =
        Arc::new(store.vault(crate::suite::signer()).await.unwrap());
    let key_store: Arc<dyn KeyStore> = Arc::new(PgKeyStore::open(keys).await.unwrap());
    let keyring = Arc::new(LocalKeyring::open_dir(keyring_dir).unwrap());
    Vault::new(
        Arc::new(custodian_policy::parse(custodian_policy::DEFAULT_POLICY).unwrap()),
        vault_store,
        key_store,
        keyring,
        BlindIndexKey::new(custodian_crypto::SecretKey::from_bytes(&[7; 32]).unwrap()),
        Arc::new(SystemClock),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_customers_through_the_postgres_key_store() {
    let Some(data) = TestDatabase::create().await else {
        return;
    };
    let Some(keys) = TestDatabase::create().await else {
        return;
    };
    let keyring_dir = tempfile::tempdir().unwrap();
    let a = instance(&data.url, &keys.url, keyring_dir.path()).await;
    let b = instance(&data.url, &keys.url, keyring_dir.path()).await;
    let ctx = crate::suite::ctx("account");
    let input = crate::suite::fields(serde_json::json!({
        "account_name.full_name": "Trịnh Công Sơn",
        "account_email.email": "son@example.com",
    }));
    // Created on one instance, found, read and erased on the other.
    let id = a.create(&ctx, &input).await.unwrap();
    let found = b
        .lookup(&ctx, &Lookup::Email("son@example.com".into()))
        .await
        .unwrap();
    assert_eq!(found, vec![id.clone()]);
    let view = b.read(&ctx, &id).await.unwrap();
    assert_eq!(
        view.fields.get("account_name.full_name"),
        Some(&Disclosure::Value("Trịnh Công Sơn".into()))
    );
    b.erase(&ctx, &id).await.unwrap();
    let view = a.read(&ctx, &id).await.unwrap();
    assert!(
        view.fields
            .values()
            .all(|d| *d == Disclosure::Withheld(Withheld::Erased))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_key_store_keeps_rewraps_and_destroys_keys() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    // Twice at once: the schema and the migrations are set up exactly once.
    let (keys, again) = tokio::join!(PgKeyStore::open(&db.url), PgKeyStore::open(&db.url));
    let (keys, again) = (keys.unwrap(), again.unwrap());
    let key = |customer: &CustomerId, kek_version, bytes: &[u8]| StoredKey {
        customer: customer.clone(),
        key_version: 1,
        wrapped: WrappedKey {
            kek_version,
            bytes: bytes.to_vec(),
        },
    };
    let (one, two) = (
        CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap(),
        CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap(),
    );
    keys.put(&key(&one, 1, b"one"), &[]).await.unwrap();
    keys.put(&key(&two, 1, b"two"), &[]).await.unwrap();
    assert!(keys.put(&key(&one, 1, b"again"), &[]).await.is_err());
    assert_eq!(again.get(&one).await.unwrap(), Some(key(&one, 1, b"one")));
    assert_eq!(keys.key_versions().await.unwrap(), vec![(1, 2)]);

    let rewrapped = WrappedKey {
        kek_version: 2,
        bytes: b"one/2".to_vec(),
    };
    assert!(keys.rewrap(&one, 1, &rewrapped).await.unwrap());
    // Only from the version it was read under: another pass got there first.
    assert!(!keys.rewrap(&one, 1, &rewrapped).await.unwrap());
    assert_eq!(keys.key_versions().await.unwrap(), vec![(1, 1), (2, 1)]);
    assert_eq!(
        keys.keys_not_wrapped_under(2, 10).await.unwrap(),
        vec![key(&two, 1, b"two")]
    );

    assert!(keys.destroy(&two).await.unwrap());
    assert!(!keys.destroy(&two).await.unwrap());
    assert_eq!(keys.get(&two).await.unwrap(), None);
    assert_eq!(keys.key_versions().await.unwrap(), vec![(2, 1)]);
    keys.close().await;
    again.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_key_store_keeps_blind_indexes_with_the_keys() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let keys = PgKeyStore::open(&db.url).await.unwrap();
    crate::indexes::blind_indexes_live_and_die_with_the_key(&keys).await;
    keys.close().await;
}

/// An older version's blind indexes, in the data database, move to the key store when it is
/// opened (by two instances at once here), and the table goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blind_indexes_kept_with_the_data_by_older_versions_move_to_the_key_store() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = PgStore::open(&db.url).await.unwrap();
    let other = PgStore::open(&db.url).await.unwrap();
    let data: Arc<dyn VaultStore> = Arc::new(store.vault(crate::suite::signer()).await.unwrap());
    let raw = RawDatabase::Postgres(db.url.clone());
    let legacy = crate::indexes::legacy_deployment(data, &raw).await;
    let keys = legacy.fixture.key_store.as_ref();
    let (one, two) = tokio::join!(
        store.move_blind_indexes(keys),
        other.move_blind_indexes(keys)
    );
    let again = store.move_blind_indexes(keys).await.unwrap();
    crate::indexes::legacy_moved(&legacy, &raw, &[one.unwrap(), two.unwrap(), again]).await;
    store.close().await;
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_key_store_keeps_hold_keys_apart() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let keys = PgKeyStore::open(&db.url).await.unwrap();
    crate::erasure::hold_keys_keep_one_per_customer_and_hold(&keys).await;
    keys.close().await;
}

/// Identity events can be added, never changed or removed (nor truncated).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_events_are_append_only() {
    use custodian_core::identity::{IdentityEvent, IdentityStore};
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = PgStore::open(&db.url).await.unwrap();
    let event = IdentityEvent {
        at: Timestamp::UNIX_EPOCH,
        action: "user.create".into(),
        user: None,
        token: None,
        detail: None,
    };
    store.identity().append_event(&event).await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    for statement in [
        "UPDATE identity_events SET action = 'x'",
        "DELETE FROM identity_events",
        "TRUNCATE identity_events",
    ] {
        assert!(
            sqlx::query(statement).execute(&mut conn).await.is_err(),
            "{statement}"
        );
    }
    assert_eq!(store.identity().events().await.unwrap(), vec![event]);
    conn.close().await.unwrap();
    store.close().await;
}
