//! Blind indexes live with the keys (issue 13): in the key store, added before the data is
//! committed and pruned after, destroyed with the key in one transaction; lookups trust a row
//! only while the customer's current ciphertext is the one it was written for; and the rows
//! older versions kept in the data database move to the key store when it is opened.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::json;

use custodian_core::ids::CustomerId;
use custodian_core::vault::{
    BlindIndex, KeyStore, Lookup, StoredKey, VaultError, VaultStore, sealed_digest,
};
use custodian_crypto::WrappedKey;
use jiff::Timestamp;

use crate::erasure::FailingPurge;
use crate::suite::{Backend, Fixture, RawDatabase, ctx, fields, index_key};

const EMAIL: &str = "account_email.email";
const PHONE: &str = "account_phone.phone";

/// The blind index of a value (already normalised) of a kind, under the fixtures' index key.
pub fn hash(kind: &str, value: &str) -> [u8; 32] {
    index_key().index(kind, value)
}

async fn lookup(f: &Fixture, by: Lookup) -> Vec<CustomerId> {
    f.vault.lookup(&ctx("account"), &by).await.unwrap()
}

async fn by_email(f: &Fixture, email: &str) -> Vec<CustomerId> {
    lookup(f, Lookup::Email(email.to_owned())).await
}

/// The key store's rows for a value, whoever they name.
async fn rows(keys: &dyn KeyStore, kind: &str, value: &str) -> Vec<(CustomerId, [u8; 32])> {
    keys.find_index(kind, &hash(kind, value)).await.unwrap()
}

/// The digest of the customer's current sealed value of a field.
async fn current_digest(store: &dyn VaultStore, id: &CustomerId, field: &str) -> [u8; 32] {
    let customer = store.customer(id).await.unwrap().unwrap();
    let sealed = customer.fields.iter().find(|f| f.field == field).unwrap();
    sealed_digest(&sealed.sealed)
}

/// The key store's operations on blind indexes, on any key store: added with a new key or
/// beside it (idempotently, never for a customer without a key), found by kind and hash,
/// pruned up to the value kept, a refused write's row taken back, and every row of a customer
/// destroyed with their key — also when a destruction races an addition.
pub async fn blind_indexes_live_and_die_with_the_key(keys: &dyn KeyStore) {
    let id = || CustomerId::generate(Timestamp::UNIX_EPOCH).unwrap();
    let (a, c, nobody) = (id(), id(), id());
    let key = |customer: &CustomerId| StoredKey {
        customer: customer.clone(),
        key_version: 1,
        wrapped: WrappedKey {
            kek_version: 1,
            bytes: b"wrapped".to_vec(),
        },
    };
    let row = |customer: &CustomerId, kind: &str, hash: u8, digest: u8| BlindIndex {
        customer: customer.clone(),
        kind: kind.to_owned(),
        hash: [hash; 32],
        sealed_digest: [digest; 32],
    };
    let find = |kind: &'static str, hash: u8| async move {
        keys.find_index(kind, &[hash; 32]).await.unwrap()
    };

    // With the key, in one transaction.
    keys.put(&key(&a), &[row(&a, EMAIL, 1, 10), row(&a, PHONE, 2, 20)])
        .await
        .unwrap();
    assert_eq!(find(EMAIL, 1).await, vec![(a.clone(), [10; 32])]);
    assert_eq!(find(PHONE, 2).await, vec![(a.clone(), [20; 32])]);
    assert!(find(PHONE, 1).await.is_empty(), "kinds never mix");
    // Adding the same row again is harmless.
    keys.put_indexes(&[row(&a, EMAIL, 1, 10)]).await.unwrap();
    assert_eq!(find(EMAIL, 1).await, vec![(a.clone(), [10; 32])]);

    // A new value's row sits beside the old one until the prune...
    keys.put_indexes(&[row(&a, EMAIL, 3, 11)]).await.unwrap();
    assert_eq!(find(EMAIL, 1).await, vec![(a.clone(), [10; 32])]);
    assert_eq!(find(EMAIL, 3).await, vec![(a.clone(), [11; 32])]);
    // ... which keeps it, and a row added after it (a later write prunes for itself).
    keys.put_indexes(&[row(&a, EMAIL, 4, 12)]).await.unwrap();
    keys.prune_indexes(&a, EMAIL, Some(&[11; 32]))
        .await
        .unwrap();
    assert!(find(EMAIL, 1).await.is_empty());
    assert_eq!(find(EMAIL, 3).await, vec![(a.clone(), [11; 32])]);
    assert_eq!(find(EMAIL, 4).await, vec![(a.clone(), [12; 32])]);
    // A refused write takes back its own row, and only it.
    keys.remove_index(&a, EMAIL, &[12; 32]).await.unwrap();
    assert!(find(EMAIL, 4).await.is_empty());
    assert_eq!(find(EMAIL, 3).await, vec![(a.clone(), [11; 32])]);
    // Pruning for a value whose row is gone removes nothing.
    keys.prune_indexes(&a, EMAIL, Some(&[99; 32]))
        .await
        .unwrap();
    assert_eq!(find(EMAIL, 3).await, vec![(a.clone(), [11; 32])]);
    // Without a value to keep, every row of the kind goes, and no other kind's.
    keys.prune_indexes(&a, PHONE, None).await.unwrap();
    assert!(find(PHONE, 2).await.is_empty());
    assert_eq!(find(EMAIL, 3).await, vec![(a.clone(), [11; 32])]);

    // Two customers with the same value: both found, by customer.
    keys.put(&key(&c), &[row(&c, EMAIL, 3, 30)]).await.unwrap();
    let mut both = vec![(a.clone(), [11; 32]), (c.clone(), [30; 32])];
    both.sort();
    assert_eq!(find(EMAIL, 3).await, both);
    // No key, no index.
    keys.put_indexes(&[row(&nobody, EMAIL, 5, 50)])
        .await
        .unwrap();
    assert!(find(EMAIL, 5).await.is_empty());

    // Destroying the key destroys every index of the customer, and nobody else's.
    keys.put_indexes(&[row(&a, PHONE, 2, 21)]).await.unwrap();
    assert!(keys.destroy(&a).await.unwrap());
    assert_eq!(keys.get(&a).await.unwrap(), None);
    assert_eq!(find(EMAIL, 3).await, vec![(c.clone(), [30; 32])]);
    assert!(find(PHONE, 2).await.is_empty());
    // None comes back for an erased customer: a write that was under way adds nothing.
    keys.put_indexes(&[row(&a, EMAIL, 3, 13)]).await.unwrap();
    assert_eq!(find(EMAIL, 3).await, vec![(c.clone(), [30; 32])]);
    assert!(!keys.destroy(&a).await.unwrap());
    assert!(keys.destroy(&c).await.unwrap());
    assert!(find(EMAIL, 3).await.is_empty());

    // A destruction racing an addition: whichever goes first, no row outlives the key.
    for n in 0..20u8 {
        let racer = id();
        keys.put(&key(&racer), &[]).await.unwrap();
        let raced = [row(&racer, EMAIL, 100 + n, n)];
        let (added, destroyed) = tokio::join!(keys.put_indexes(&raced), keys.destroy(&racer),);
        added.unwrap();
        assert!(destroyed.unwrap());
        assert!(
            find(EMAIL, 100 + n).await.is_empty(),
            "an index outlived its key (round {n})"
        );
    }
}

/// Corrections of the email committed at once leave exactly one row in the key store, the
/// current value's: lookups find the customer by it, and by no value they held before.
pub async fn concurrent_email_corrections_leave_exactly_the_current_index(b: Backend) {
    let f = Fixture::new(b.store.clone()).await;
    let original = "cung.luc.0@example.com";
    let id = f
        .vault
        .create(
            &ctx("account"),
            &fields(json!({"account_name.full_name": "Cùng Lúc", EMAIL: original})),
        )
        .await
        .unwrap();
    let emails = [
        "cung.luc.1@example.com",
        "cung.luc.2@example.com",
        "cung.luc.3@example.com",
        "cung.luc.4@example.com",
    ];
    let account = ctx("account");
    let inputs: Vec<_> = emails.iter().map(|e| fields(json!({ EMAIL: e }))).collect();
    let (one, two, three, four) = tokio::join!(
        f.vault.correct(&account, &id, &inputs[0]),
        f.vault.correct(&account, &id, &inputs[1]),
        f.vault.correct(&account, &id, &inputs[2]),
        f.vault.correct(&account, &id, &inputs[3]),
    );
    for result in [one, two, three, four] {
        result.unwrap();
    }
    let digest = current_digest(b.store.as_ref(), &id, EMAIL).await;
    let mut current = None;
    for email in emails.iter().chain([&original]) {
        let found = rows(f.key_store.as_ref(), EMAIL, email).await;
        if found.is_empty() {
            assert!(by_email(&f, email).await.is_empty(), "{email} still finds");
        } else {
            assert_eq!(found, vec![(id.clone(), digest)], "{email}");
            assert_eq!(by_email(&f, email).await, vec![id.clone()]);
            assert!(current.replace(*email).is_none(), "two values indexed");
        }
    }
    assert!(current.is_some(), "the current value is not indexed");
}

/// Crash consistency: whatever a crash leaves between the key store and the data — a row
/// added for a write never committed, a replaced value's row not pruned, a row naming a value
/// never held —, a lookup finds exactly the customers whose current value it is; the next
/// correction prunes what was left, and the erasure takes everything with the key.
pub async fn index_rows_left_by_a_crash_never_find_anyone(b: Backend) {
    let store = Arc::new(FailingPurge {
        inner: b.store.clone(),
        fail: false.into(),
        fail_any: false.into(),
    });
    let f = Fixture::new(store.clone()).await;
    let keys = f.key_store.clone();
    let account = ctx("account");
    let first = "sap.nguon@example.com";
    let id = f
        .vault
        .create(
            &account,
            &fields(json!({"account_name.full_name": "Sập Nguồn", EMAIL: first})),
        )
        .await
        .unwrap();
    let first_digest = current_digest(b.store.as_ref(), &id, EMAIL).await;

    // The process dies between the two stores: the new value's row is in, the data is not.
    let lost = "sap.mat@example.com";
    store.fail_any.store(true, Ordering::SeqCst);
    let crashed = f
        .vault
        .correct(&account, &id, &fields(json!({ EMAIL: lost })))
        .await;
    assert!(matches!(crashed, Err(VaultError::Store(_))), "{crashed:?}");
    assert_eq!(rows(keys.as_ref(), EMAIL, lost).await.len(), 1);
    assert!(by_email(&f, lost).await.is_empty());
    assert_eq!(by_email(&f, first).await, vec![id.clone()]);

    // A row naming a value the customer never held.
    let never = "sap.chua@example.com";
    keys.put_indexes(&[BlindIndex {
        customer: id.clone(),
        kind: EMAIL.to_owned(),
        hash: hash(EMAIL, never),
        sealed_digest: [0; 32],
    }])
    .await
    .unwrap();
    assert!(by_email(&f, never).await.is_empty());

    // The process dies after the commit, before the prune: the old value's row is still in.
    let second = "sap.sau@example.com";
    f.vault
        .correct(&account, &id, &fields(json!({ EMAIL: second })))
        .await
        .unwrap();
    let stale = BlindIndex {
        customer: id.clone(),
        kind: EMAIL.to_owned(),
        hash: hash(EMAIL, first),
        sealed_digest: first_digest,
    };
    keys.put_indexes(std::slice::from_ref(&stale))
        .await
        .unwrap();
    assert_eq!(rows(keys.as_ref(), EMAIL, first).await.len(), 1);
    assert!(by_email(&f, first).await.is_empty());
    assert_eq!(by_email(&f, second).await, vec![id.clone()]);

    // The next correction prunes every row left before its own.
    let last = "sap.cuoi@example.com";
    f.vault
        .correct(&account, &id, &fields(json!({ EMAIL: last })))
        .await
        .unwrap();
    for gone in [first, lost, never, second] {
        assert!(rows(keys.as_ref(), EMAIL, gone).await.is_empty(), "{gone}");
    }
    assert_eq!(rows(keys.as_ref(), EMAIL, last).await.len(), 1);
    assert_eq!(by_email(&f, last).await, vec![id.clone()]);

    // The erasure takes every row with the key, stale ones included; none can come back.
    keys.put_indexes(std::slice::from_ref(&stale))
        .await
        .unwrap();
    f.vault.erase(&account, &id).await.unwrap();
    keys.put_indexes(&[stale]).await.unwrap();
    for email in [first, lost, never, second, last] {
        assert!(
            rows(keys.as_ref(), EMAIL, email).await.is_empty(),
            "{email}"
        );
        assert!(by_email(&f, email).await.is_empty(), "{email}");
    }
}

/// A deployment as an older version left it: blind indexes in the data database's
/// `blind_indexes` table (written with the data), none in the key store.
pub struct Legacy {
    pub fixture: Fixture,
    /// A customer with an email and a phone.
    pub live: CustomerId,
    /// A customer with an email and no phone (a row is left for a phone all the same).
    pub no_phone: CustomerId,
    /// An erased customer (whose row an interrupted purge would have left).
    pub gone: CustomerId,
    /// How many rows the data database holds.
    pub rows: u64,
}

const LIVE_EMAIL: &str = "cu.song@example.com";
const LIVE_PHONE: &str = "+84909300001";
const NO_PHONE_EMAIL: &str = "cu.khong.so@example.com";
const STRAY_PHONE: &str = "+84909300002";
const GONE_EMAIL: &str = "cu.da.xoa@example.com";

/// Builds a [`Legacy`] deployment on `store` (whose database `raw` reaches).
pub async fn legacy_deployment(store: Arc<dyn VaultStore>, raw: &RawDatabase) -> Legacy {
    let f = Fixture::new(store.clone()).await;
    let account = ctx("account");
    let create = |input: serde_json::Value| {
        let vault = f.vault.clone();
        let account = account.clone();
        async move { vault.create(&account, &fields(input)).await.unwrap() }
    };
    let live = create(json!({
        "account_name.full_name": "Cũ Sống",
        EMAIL: LIVE_EMAIL,
        PHONE: LIVE_PHONE,
    }))
    .await;
    let no_phone = create(json!({
        "account_name.full_name": "Cũ Không Số",
        EMAIL: NO_PHONE_EMAIL,
    }))
    .await;
    let gone = create(json!({"account_name.full_name": "Cũ Đã Xoá", EMAIL: GONE_EMAIL})).await;
    f.vault.erase(&account, &gone).await.unwrap();
    // The older version kept no index in the key store.
    for (customer, kind) in [(&live, EMAIL), (&live, PHONE), (&no_phone, EMAIL)] {
        f.key_store
            .prune_indexes(customer, kind, None)
            .await
            .unwrap();
    }
    assert!(by_email(&f, LIVE_EMAIL).await.is_empty());
    // As if a move had copied one row and died before deleting it.
    f.key_store
        .put_indexes(&[BlindIndex {
            customer: live.clone(),
            kind: EMAIL.to_owned(),
            hash: hash(EMAIL, LIVE_EMAIL),
            sealed_digest: current_digest(store.as_ref(), &live, EMAIL).await,
        }])
        .await
        .unwrap();
    let legacy = [
        (&live, EMAIL, LIVE_EMAIL),
        (&live, PHONE, LIVE_PHONE),
        (&no_phone, EMAIL, NO_PHONE_EMAIL),
        (&no_phone, PHONE, STRAY_PHONE),
        (&gone, EMAIL, GONE_EMAIL),
    ];
    for (customer, kind, value) in legacy {
        raw_execute(
            raw,
            "INSERT INTO blind_indexes (customer_id, kind, hash) VALUES ($1, $2, $3)",
            customer.as_str(),
            kind,
            &hash(kind, value),
        )
        .await;
    }
    let rows = legacy.len() as u64;
    Legacy {
        fixture: f,
        live,
        no_phone,
        gone,
        rows,
    }
}

/// After the move (`moved`: how many rows each run reported): every row of a live customer's
/// current value is in the key store, once, and finds them; nothing of the erased customer
/// nor of a value no longer held was copied; the data database has no `blind_indexes` table.
pub async fn legacy_moved(legacy: &Legacy, raw: &RawDatabase, moved: &[u64]) {
    let f = &legacy.fixture;
    let keys = f.key_store.as_ref();
    assert_eq!(moved.iter().sum::<u64>(), legacy.rows, "{moved:?}");
    assert!(!legacy_table_exists(raw).await, "the legacy table is gone");
    assert_eq!(by_email(f, LIVE_EMAIL).await, vec![legacy.live.clone()]);
    assert_eq!(
        lookup(f, Lookup::Phone(LIVE_PHONE.to_owned())).await,
        vec![legacy.live.clone()]
    );
    assert_eq!(rows(keys, EMAIL, LIVE_EMAIL).await.len(), 1, "copied once");
    assert_eq!(rows(keys, PHONE, LIVE_PHONE).await.len(), 1);
    assert_eq!(
        by_email(f, NO_PHONE_EMAIL).await,
        vec![legacy.no_phone.clone()]
    );
    assert!(rows(keys, PHONE, STRAY_PHONE).await.is_empty());
    assert!(keys.get(&legacy.gone).await.unwrap().is_none());
    assert!(rows(keys, EMAIL, GONE_EMAIL).await.is_empty());
    assert!(by_email(f, GONE_EMAIL).await.is_empty());
}

/// Runs one statement with three arguments on the backend's database, past the store.
async fn raw_execute(raw: &RawDatabase, sql: &'static str, a: &str, b: &str, c: &[u8]) {
    match raw {
        RawDatabase::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            sqlx::query(sql)
                .bind(a)
                .bind(b)
                .bind(c)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        RawDatabase::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(sql)
                .bind(a)
                .bind(b)
                .bind(c)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

/// Whether the data database still has the table older versions kept blind indexes in.
pub async fn legacy_table_exists(raw: &RawDatabase) -> bool {
    match raw {
        RawDatabase::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            let found: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'blind_indexes'",
            )
            .fetch_optional(&pool)
            .await
            .unwrap();
            pool.close().await;
            found.is_some()
        }
        RawDatabase::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let found: bool = sqlx::query_scalar("SELECT to_regclass('blind_indexes') IS NOT NULL")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            found
        }
    }
}

/// Whether any file whose name starts with `prefix` in `dir` holds `needle`.
pub fn files_contain(dir: &std::path::Path, prefix: &str, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        name.starts_with(prefix)
            && path.is_file()
            && std::fs::read(&path)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
    })
}
