//! The suite on SQLite, plus what only SQLite has: files to search for plaintext.

use std::sync::Arc;

use custodian_core::access::{Disclosure, Withheld};
use custodian_core::ids::CustomerId;
use custodian_core::vault::{KeyStore, StoredKey, VaultStore};
use custodian_crypto::WrappedKey;
use custodian_store::{SqliteKeyStore, SqliteStore};

use crate::suite::{Backend, Fixture, RawDatabase, marker_customer};

pub async fn backend() -> Option<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    let vault = Arc::new(store.vault(crate::suite::signer()).await.unwrap());
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
        guard: Box::new(dir),
        raw: RawDatabase::Sqlite(path),
    })
}

conformance_tests!(backend);

#[tokio::test]
async fn the_sqlite_key_store_keeps_hold_keys_apart() {
    let dir = tempfile::tempdir().unwrap();
    let keys = SqliteKeyStore::open(dir.path().join("keys.db").to_str().unwrap())
        .await
        .unwrap();
    crate::erasure::hold_keys_keep_one_per_customer_and_hold(&keys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_key_store_keeps_blind_indexes_with_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let keys = SqliteKeyStore::open(dir.path().join("keys.db").to_str().unwrap())
        .await
        .unwrap();
    crate::indexes::blind_indexes_live_and_die_with_the_key(&keys).await;
}

/// Issue 13's property. An old backup of the data directory, with the index key, used to
/// confirm that an email or phone belonged to a customer erased since (compute the HMAC, find
/// the row). The indexes now live with the keys: the data's files never hold one, and the
/// erasure destroys them with the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_erasure_backup_of_the_data_with_the_index_key_cannot_confirm_an_erased_customers_email()
 {
    use crate::indexes::{files_contain, hash};
    use custodian_core::vault::Lookup;

    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("vault.db");
    let store = SqliteStore::open(live.to_str().unwrap()).await.unwrap();
    let data: Arc<dyn VaultStore> = Arc::new(store.vault(crate::suite::signer()).await.unwrap());
    let f = Fixture::new(data.clone()).await;
    let account = crate::suite::ctx("account");
    let (email, phone) = ("xac.nhan@example.com", "+84909400001");
    let input = crate::suite::fields(serde_json::json!({
        "account_name.full_name": "Xác Nhận",
        "account_email.email": email,
        "account_phone.phone": phone,
    }));
    let id = f.vault.create(&account, &input).await.unwrap();
    let email_hash = hash("account_email.email", email);
    let phone_hash = hash("account_phone.phone", phone);
    let by_email = Lookup::Email(email.to_owned());
    let by_phone = Lookup::Phone(phone.to_owned());

    // Before the erasure: found by email and by phone, through the key store, whose files
    // hold the hashes (so the searches below would find them where they are).
    for by in [&by_email, &by_phone] {
        assert_eq!(
            f.vault.lookup(&account, by).await.unwrap(),
            vec![id.clone()]
        );
    }
    let keys_dir = f.keys_dir.path().to_owned();
    assert!(files_contain(&keys_dir, "data-keys.db", &email_hash));

    // Two backups of the data directory: its files copied as they are (the write-ahead log
    // not checkpointed), and a checkpointed copy by `VACUUM INTO`.
    let copied = dir.path().join("copied");
    std::fs::create_dir(&copied).unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.starts_with("vault.db") {
            std::fs::copy(&path, copied.join(&name)).unwrap();
        }
    }
    let vacuumed = dir.path().join("vacuumed");
    std::fs::create_dir(&vacuumed).unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", live.display()))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "VACUUM INTO '{}'",
        vacuumed.join("vault.db").display()
    )))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    // Both hold the customer's row (their sealed email, found by the same search).
    let stored = data.customer(&id).await.unwrap().unwrap();
    let sealed = &stored
        .fields
        .iter()
        .find(|f| f.field == "account_email.email")
        .unwrap()
        .sealed;
    for backup in [&copied, &vacuumed] {
        assert!(files_contain(backup, "vault.db", sealed));
    }

    f.vault.erase(&account, &id).await.unwrap();

    // No backup, and not the live data either, holds a row derivable from HMAC(index key,
    // email or phone): there is nothing to confirm against.
    for data_dir in [copied.as_path(), vacuumed.as_path(), dir.path()] {
        for needle in [&email_hash, &phone_hash] {
            assert!(
                !files_contain(data_dir, "vault.db", needle),
                "a blind index is in {}",
                data_dir.display()
            );
        }
    }
    // The live system finds nothing, and neither does a restored backup beside it.
    for by in [&by_email, &by_phone] {
        assert!(f.vault.lookup(&account, by).await.unwrap().is_empty());
    }
    // The key store's files keep no trace of the destroyed indexes.
    for needle in [&email_hash, &phone_hash] {
        assert!(!files_contain(&keys_dir, "data-keys.db", needle));
    }
    let restored = SqliteStore::open(vacuumed.join("vault.db").to_str().unwrap())
        .await
        .unwrap();
    let restored: Arc<dyn VaultStore> =
        Arc::new(restored.vault(crate::suite::signer()).await.unwrap());
    assert!(!restored.customer(&id).await.unwrap().unwrap().erased);
    let Fixture {
        keys_dir,
        key_store,
        ..
    } = f;
    let from_backup = Fixture::with_keys(restored, keys_dir, key_store);
    for by in [&by_email, &by_phone] {
        assert!(
            from_backup
                .vault
                .lookup(&account, by)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

/// An older version's blind indexes, in the data database, move to the key store when it is
/// opened (twice at once here, as two processes would), and the table goes; the hashes do
/// not linger in the data's files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blind_indexes_kept_with_the_data_by_older_versions_move_to_the_key_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    let other = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    let data: Arc<dyn VaultStore> = Arc::new(store.vault(crate::suite::signer()).await.unwrap());
    let raw = RawDatabase::Sqlite(path.clone());
    let legacy = crate::indexes::legacy_deployment(data, &raw).await;
    let hash = crate::indexes::hash("account_email.email", "cu.song@example.com");
    assert!(crate::indexes::files_contain(dir.path(), "vault.db", &hash));
    let keys = legacy.fixture.key_store.as_ref();
    let (one, two) = tokio::join!(
        store.move_blind_indexes(keys),
        other.move_blind_indexes(keys)
    );
    let again = store.move_blind_indexes(keys).await.unwrap();
    crate::indexes::legacy_moved(&legacy, &raw, &[one.unwrap(), two.unwrap(), again]).await;
    assert!(!crate::indexes::files_contain(
        dir.path(),
        "vault.db",
        &hash
    ));
}

/// The canary: every field of many customers holds a unique marker; after creating,
/// reading, correcting and looking them up, no marker may appear in the database file or
/// its write-ahead log.
#[tokio::test]
async fn database_files_hold_no_personal_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    let vault_store: Arc<dyn VaultStore> =
        Arc::new(store.vault(crate::suite::signer()).await.unwrap());
    let fixture = Fixture::new(vault_store.clone()).await;
    let mut markers = Vec::new();
    for n in 0..20 {
        markers.extend(marker_customer(&fixture, n).await);
    }
    // Everything is still in the WAL (no checkpoint has run): read the files as they are.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("vault.db")
        {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(bytes.len() > 10_000, "the database files were read");
    let text = String::from_utf8_lossy(&bytes).to_lowercase();
    for marker in &markers {
        assert!(
            !text.contains(&marker.to_lowercase()),
            "`{marker}` found in the database files"
        );
    }
    // The markers were really there to be found, through the API.
    assert!(!markers.is_empty());
}

/// Crypto-shredding reaches backups: a copy of the database taken before an erasure holds
/// only ciphertext, and no key for it exists any more.
#[tokio::test]
async fn an_erased_customer_stays_unreadable_in_an_old_backup() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("vault.db");
    let store = SqliteStore::open(live.to_str().unwrap()).await.unwrap();
    let data: Arc<dyn VaultStore> = Arc::new(store.vault(crate::suite::signer()).await.unwrap());
    let f = Fixture::new(data).await;
    let input = crate::suite::fields(serde_json::json!({
        "account_name.full_name": "Backup Person",
        "account_email.email": "backup.person@example.com",
    }));
    let id = f
        .vault
        .create(&crate::suite::ctx("account"), &input)
        .await
        .unwrap();
    let backup = dir.path().join("backup.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", live.display()))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "VACUUM INTO '{}'",
        backup.display()
    )))
    .execute(&pool)
    .await
    .unwrap();
    f.vault
        .erase(&crate::suite::ctx("account"), &id)
        .await
        .unwrap();

    // Restore the backup beside the same key directory: the customer's rows are back, their
    // ciphertext intact, and still nothing can read it.
    let restored = SqliteStore::open(backup.to_str().unwrap()).await.unwrap();
    let restored: Arc<dyn VaultStore> =
        Arc::new(restored.vault(crate::suite::signer()).await.unwrap());
    assert_eq!(
        restored.customer(&id).await.unwrap().unwrap().fields.len(),
        2
    );
    let Fixture {
        keys_dir,
        key_store,
        ..
    } = f;
    let from_backup = Fixture::with_keys(restored, keys_dir, key_store);
    let view = from_backup
        .vault
        .read(&crate::suite::ctx("account"), &id)
        .await
        .unwrap();
    let erased = Disclosure::Withheld(Withheld::Erased);
    assert!(view.fields.values().all(|d| *d == erased));
}

/// The key database keeps no trace of a destroyed key in its files.
#[tokio::test]
async fn a_destroyed_key_leaves_no_bytes_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data-keys.db");
    let keys = SqliteKeyStore::open(path.to_str().unwrap()).await.unwrap();
    let marker: Vec<u8> = b"WRAPPED-KEY-MARKER-0123456789abcdef".to_vec();
    let id = CustomerId::generate(jiff::Timestamp::UNIX_EPOCH).unwrap();
    let wrapped = WrappedKey {
        kek_version: 1,
        bytes: marker.clone(),
    };
    let key = StoredKey {
        customer: id.clone(),
        key_version: 1,
        wrapped,
    };
    keys.put(&key, &[]).await.unwrap();
    assert!(keys.destroy(&id).await.unwrap());
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let found = bytes.windows(marker.len()).any(|w| w == marker.as_slice());
    assert!(!found, "the destroyed key is still in the files");
}

/// Two handles on one database file, as two processes would have (each its own writer
/// connection, its own handle on the key database), appending audit events at the same
/// time: the chain stays one chain — it verifies, from either handle, and holds every event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_file_keep_one_audit_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let mut vaults: Vec<Arc<dyn VaultStore>> = Vec::new();
    for _ in 0..2 {
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        vaults.push(Arc::new(store.vault(crate::suite::signer()).await.unwrap()));
    }
    let one = Arc::new(Fixture::new(vaults[0].clone()).await);
    // The second process's key directory: the same master key, the same key database.
    let keys_two = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(one.keys_dir.path()).unwrap() {
        let from = entry.unwrap().path();
        let name = from.file_name().unwrap().to_str().unwrap().to_owned();
        if name.starts_with("master-") {
            std::fs::copy(&from, keys_two.path().join(name)).unwrap();
        }
    }
    let key_db = one.keys_dir.path().join("data-keys.db");
    let key_store_two = Arc::new(
        SqliteKeyStore::open(key_db.to_str().unwrap())
            .await
            .unwrap(),
    );
    let two = Arc::new(Fixture::with_keys(
        vaults[1].clone(),
        keys_two,
        key_store_two,
    ));

    // Twenty clients, ten on each handle, each creating five customers one after another:
    // the two writers commit many batches each, in turns.
    let mut tasks = Vec::new();
    for client in 0..20u32 {
        let f = if client % 2 == 0 {
            one.clone()
        } else {
            two.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut created = Vec::new();
            for k in 0..5 {
                let n = client * 5 + k;
                let input = crate::suite::fields(serde_json::json!({
                    "account_name.full_name": format!("Hai Tiến Trình {n}"),
                    "account_email.email": format!("p{n}@example.com"),
                }));
                let id = f
                    .vault
                    .create(&crate::suite::ctx("account"), &input)
                    .await
                    .unwrap();
                created.push((client % 2, n, id));
            }
            created
        }));
    }
    let mut created = Vec::new();
    for t in tasks {
        created.extend(t.await.unwrap());
    }
    // The premise: one handle carried on the chain the other had written (SQLite's busy
    // handler tends to let one writer run for a while before the other gets the lock).
    let handle_of = |customer: &str| {
        created
            .iter()
            .find(|(_, _, id)| id.as_str() == customer)
            .map(|(h, _, _)| *h)
            .unwrap()
    };
    let order: Vec<u32> = vaults[0]
        .audit_entries(0, 1_000)
        .await
        .unwrap()
        .iter()
        .map(|e| handle_of(e.customer.as_deref().unwrap()))
        .collect();
    let turns = order.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(turns >= 1, "the two handles did not both write: {order:?}");

    for vault in &vaults {
        let report = crate::suite::verify_chain(vault.as_ref()).await;
        assert_eq!(report.entries, 100, "{report:?}");
        assert_eq!(report.last_seq, 100, "{report:?}");
        let entries = vault.audit_entries(0, 1_000).await.unwrap();
        let mut named: Vec<String> = entries
            .iter()
            .map(|e| e.decode().unwrap())
            .filter(|e| e.action == "customer.create")
            .map(|e| e.customer.unwrap())
            .collect();
        named.sort();
        let mut ids: Vec<String> = created.iter().map(|(_, _, id)| id.to_string()).collect();
        ids.sort();
        assert_eq!(
            named, ids,
            "one creation event per customer, from both processes"
        );
    }
    // Each process reads the other's customers.
    for (handle, n, id) in &created {
        let reader = if *handle == 0 { &two } else { &one };
        let view = reader
            .vault
            .read(&crate::suite::ctx("account"), id)
            .await
            .unwrap();
        assert_eq!(
            view.fields["account_email.email"],
            Disclosure::Value(format!("p{n}@example.com"))
        );
    }
    let report = crate::suite::verify_chain(vaults[1].as_ref()).await;
    assert_eq!(report.entries, 200, "{report:?}");
}

/// Identity events can be added, never changed or removed.
#[tokio::test]
async fn identity_events_are_append_only() {
    use custodian_core::identity::{IdentityEvent, IdentityStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    let event = IdentityEvent {
        at: jiff::Timestamp::UNIX_EPOCH,
        action: "user.create".into(),
        user: None,
        token: None,
        detail: None,
    };
    store.identity().append_event(&event).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    for statement in [
        "UPDATE identity_events SET action = 'x'",
        "DELETE FROM identity_events",
    ] {
        assert!(
            sqlx::query(statement).execute(&pool).await.is_err(),
            "{statement}"
        );
    }
    assert_eq!(store.identity().events().await.unwrap(), vec![event]);
}
