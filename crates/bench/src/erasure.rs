//! Erasure of a customer with many orders, against a reference run in the same process:
//! deleting the same rows raw in SQLite, in one durable transaction.
//!
//! Usage: `cargo build --release -p custodian-bench && target/release/erasure-bench`
//! (options: `--orders N`, default 10,000; `--clients N` placing them, default 32). Prints a
//! Markdown table for docs/PERFORMANCE.md. In-process, on the default SQLite backend (WAL,
//! `synchronous = FULL`) with the key database beside it, as `custodian serve` runs:
//!
//! - key destruction alone: one customer's data key deleted from the key database (and its
//!   write-ahead log truncated) — the moment of erasure;
//! - the full erasure (`Vault::erase`) of another customer with as many orders: the orders'
//!   fields the accounting hold keeps re-sealed under a hold key and committed, the key
//!   destroyed, erasure notices queued, the report stored and every other row purged;
//! - the reference: the same number of order-field rows, of the same sizes, deleted from a
//!   plain SQLite table in one transaction with the same settings.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on the terminal"
)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, QueryBuilder, Sqlite};

use custodian_core::access::{Principal, Scope};
use custodian_core::audit::CheckpointSigner;
use custodian_core::clock::SystemClock;
use custodian_core::ids::CustomerId;
use custodian_core::vault::{KeyStore, RequestContext, Vault, VaultStore};
use custodian_crypto::{BlindIndexKey, LocalKeyring, SecretKey};
use custodian_policy::{DEFAULT_POLICY, parse};
use custodian_store::{SqliteKeyStore, SqliteStore};

struct Options {
    orders: usize,
    clients: usize,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        orders: 10_000,
        clients: 32,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("`{arg}` needs a value"))?;
        match arg.as_str() {
            "--orders" => o.orders = value.parse().map_err(|_| "bad --orders")?,
            "--clients" => o.clients = value.parse().map_err(|_| "bad --clients")?,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(o)
}

fn ctx(purpose: &str) -> RequestContext {
    RequestContext {
        principal: Principal::Integration {
            name: "bench".into(),
            scope: Scope::unrestricted(),
        },
        purpose: purpose.into(),
        request_id: None,
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn order_fields(n: usize) -> Map<String, Value> {
    object(json!({
        "order_recipient.recipient_name": format!("Người Nhận Số {n}"),
        "order_shipping_address.address_line": format!("Số {n} ngõ Thử Nghiệm, phố Hàng Bạc"),
        "order_shipping_address.ward": "Hàng Bạc",
        "order_shipping_address.province": "Hà Nội",
        "order_shipping_address.country": "VN",
        "order_payment.payment_token": format!("tok_bench_{n}"),
        "order_payment.card_brand": "visa",
        "order_payment.card_last4": "4242",
        "order_payment.card_expiry": "12/29",
    }))
}

fn items(n: usize) -> Vec<Map<String, Value>> {
    vec![object(json!({
        "product_id": format!("sku-{n}"),
        "product_name": "Áo dài lụa",
        "quantity": 1,
        "unit_price": 1_250_000,
    }))]
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A customer with `orders` orders, placed by `clients` concurrent callers.
async fn customer_with_orders(
    vault: &Vault,
    n: usize,
    orders: usize,
    clients: usize,
) -> Result<CustomerId, String> {
    let id = vault
        .create(
            &ctx("account"),
            &object(json!({
                "account_name.full_name": format!("Khách Hàng Số {n}"),
                "account_email.email": format!("khach{n}@example.com"),
                "account_phone.phone": format!("+84 90{n:07}"),
            })),
        )
        .await
        .map_err(err)?;
    let per_client = orders.div_ceil(clients.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients.max(1) {
        let vault = vault.clone();
        let id = id.clone();
        let range = (c * per_client)..((c + 1) * per_client).min(orders);
        tasks.spawn(async move {
            for i in range {
                vault
                    .place_order(
                        &ctx("order_fulfilment"),
                        Some(&id),
                        &items(i),
                        &order_fields(i),
                    )
                    .await
                    .map_err(err)?;
            }
            Ok::<(), String>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(err)??;
    }
    Ok(id)
}

/// The reference: as many rows as the erased customer's order fields, of the same sizes,
/// deleted from a plain table in one durable transaction.
async fn raw_delete(path: &Path, rows: usize, bytes: usize) -> Result<Duration, String> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut conn = options.connect().await.map_err(err)?;
    sqlx::query(
        "CREATE TABLE order_fields (order_id TEXT NOT NULL, field TEXT NOT NULL, \
         sealed BLOB NOT NULL, PRIMARY KEY (order_id, field))",
    )
    .execute(&mut conn)
    .await
    .map_err(err)?;
    let rows: Vec<(String, String)> = (0..rows)
        .map(|i| (format!("ord_{:026}", i / 10), format!("field_{}", i % 10)))
        .collect();
    for chunk in rows.chunks(500) {
        let mut q =
            QueryBuilder::<Sqlite>::new("INSERT INTO order_fields (order_id, field, sealed) ");
        q.push_values(chunk, |mut row, (order, field)| {
            row.push_bind(order.clone())
                .push_bind(field.clone())
                .push_bind(vec![7u8; bytes]);
        });
        q.build().execute(&mut conn).await.map_err(err)?;
    }
    let started = Instant::now();
    let mut tx = conn.begin().await.map_err(err)?;
    // A condition, as the purge has: SQLite would otherwise drop the table's pages whole.
    sqlx::query("DELETE FROM order_fields WHERE order_id LIKE 'ord_%'")
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    tx.commit().await.map_err(err)?;
    let took = started.elapsed();
    conn.close().await.map_err(err)?;
    Ok(took)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let o = options()?;
    let dir = tempfile::tempdir().map_err(err)?;
    let store = SqliteStore::open(&dir.path().join("vault.db").to_string_lossy())
        .await
        .map_err(err)?;
    let signer = CheckpointSigner::new(SecretKey::from_bytes(&[3; 32]).map_err(err)?);
    let sqlite_vault = Arc::new(store.vault(signer).await.map_err(err)?);
    let keys_dir = dir.path().join("keys");
    let keyring = Arc::new(LocalKeyring::open_dir(&keys_dir).map_err(err)?);
    let key_store = Arc::new(
        SqliteKeyStore::open(&keys_dir.join("data-keys.db").to_string_lossy())
            .await
            .map_err(err)?,
    );
    let vault_store: Arc<dyn VaultStore> = sqlite_vault.clone();
    let vault = Vault::new(
        Arc::new(parse(DEFAULT_POLICY).map_err(|_| "the default policy".to_owned())?),
        vault_store.clone(),
        key_store.clone(),
        keyring,
        BlindIndexKey::new(SecretKey::from_bytes(&[5; 32]).map_err(err)?),
        Arc::new(SystemClock),
    )
    .with_outbox_store(sqlite_vault.clone())
    .with_erasure_store(sqlite_vault.clone())
    .with_care_store(Arc::new(store.care()));

    eprintln!("placing {} orders for each of two customers…", o.orders);
    let first = customer_with_orders(&vault, 1, o.orders, o.clients).await?;
    let second = customer_with_orders(&vault, 2, o.orders, o.clients).await?;
    let mut order_rows = 0;
    let mut order_bytes = 0;
    for summary in vault_store.orders_of(&second).await.map_err(err)? {
        if let Some(order) = vault_store.order(&summary.id).await.map_err(err)? {
            order_rows += order.fields.len();
            order_bytes += order.fields.iter().map(|f| f.sealed.len()).sum::<usize>();
        }
    }
    let row_bytes = order_bytes / order_rows.max(1);

    let reference_before =
        raw_delete(&dir.path().join("reference-1.db"), order_rows, row_bytes).await?;

    let started = Instant::now();
    let destroyed = key_store.destroy(&first).await.map_err(err)?;
    let key_only = started.elapsed();
    if !destroyed {
        return Err("the first customer had no key".into());
    }

    let started = Instant::now();
    let report = vault.erase(&ctx("account"), &second).await.map_err(err)?;
    let full = started.elapsed();
    let held: u64 = report.retained.iter().map(|r| r.values).sum();

    let reference_after =
        raw_delete(&dir.path().join("reference-2.db"), order_rows, row_bytes).await?;
    let reference = (reference_before + reference_after) / 2;

    println!(
        "| orders | order-field rows | values held | key destruction (ms) | full erasure (ms) | raw delete, reference (ms) | key / ref | full / ref |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {} | {} | {} | {} | {:.2}x | {:.1}x |",
        o.orders,
        order_rows,
        held,
        ms(key_only),
        ms(full),
        ms(reference),
        key_only.as_secs_f64() / reference.as_secs_f64().max(1e-9),
        full.as_secs_f64() / reference.as_secs_f64().max(1e-9),
    );
    Ok(())
}
