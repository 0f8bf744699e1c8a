//! The customer's export (P1) against a reference run in the same process: one customer with
//! 10,000 orders and ~100 consent changes, exported as the ZIP a download streams (audit
//! event, every value opened, JSON and HTML deflated), timed to its last byte; the reference
//! reads the same rows raw from SQLite and serialises them to JSON, with no decryption, no
//! audit and no ZIP.
//!
//! Usage: `cargo build --release -p custodian-bench --bin rights-bench &&
//! target/release/rights-bench` (options: `--orders N`, `--consents N`, `--runs N`). Prints a
//! Markdown table for docs/PERFORMANCE.md. Peak memory is the process's resident high-water
//! mark (Linux `VmHWM`, reset before each run), and how far it rose above the resident set at
//! the start of the run.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on the terminal"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use custodian_core::access::{Principal, Scope, SystemTask};
use custodian_core::audit::CheckpointSigner;
use custodian_core::clock::SystemClock;
use custodian_core::consent::{
    Collection, CollectionChannel, ConsentChange, ConsentState, Evidence, GivenBy,
};
use custodian_core::ids::CustomerId;
use custodian_core::notice::publish_current_notice;
use custodian_core::rights::export_zip::{WriteOut, ZipSink};
use custodian_core::vault::{RequestContext, ShownNotice, Vault, VaultStore};
use custodian_crypto::{BlindIndexKey, LocalKeyring, SecretKey};
use custodian_policy::{DEFAULT_POLICY, Lang, NoticeVersion, parse};
use custodian_store::{SqliteKeyStore, SqliteStore};
use serde_json::{Map, Value, json};
use sqlx::Row;

/// One measured run: its time, the bytes it produced, and (peak RSS, RSS at the start) in KiB.
type Run = (Duration, u64, Option<(u64, u64)>);

struct Options {
    orders: usize,
    consents: usize,
    runs: usize,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        orders: 10_000,
        consents: 100,
        runs: 3,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("`{arg}` needs a value"))?;
        let n: usize = value.parse().map_err(|_| format!("bad {arg}"))?;
        match arg.as_str() {
            "--orders" => o.orders = n,
            "--consents" => o.consents = n,
            "--runs" => o.runs = n.max(1),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(o)
}

/// Counts the bytes it is given, and drops them (as a socket would take them away).
#[derive(Default)]
struct Counting(u64);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Resets the process's resident high-water mark to the current resident set (Linux).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn e(x: impl std::fmt::Display) -> String {
    x.to_string()
}

fn storefront(purpose: &str) -> RequestContext {
    RequestContext {
        principal: Principal::Integration {
            name: "bench".into(),
            scope: Scope::unrestricted(),
        },
        purpose: purpose.into(),
        request_id: None,
    }
}

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let o = options()?;
    let dir = tempfile::tempdir().map_err(e)?;
    let db = dir.path().join("data.db");
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).map_err(e)?;
    let store = SqliteStore::open(db.to_str().ok_or("path")?)
        .await
        .map_err(e)?;
    let signer = CheckpointSigner::new(SecretKey::from_bytes(&[1; 32]).map_err(e)?);
    let vault_store: Arc<dyn VaultStore> = Arc::new(store.vault(signer).await.map_err(e)?);
    let key_store = Arc::new(
        SqliteKeyStore::open(keys.join("data-keys.db").to_str().ok_or("path")?)
            .await
            .map_err(e)?,
    );
    let policy = Arc::new(parse(DEFAULT_POLICY).map_err(e)?);
    let clock = Arc::new(SystemClock);
    publish_current_notice(&policy, DEFAULT_POLICY, &store, clock.as_ref())
        .await
        .map_err(e)?;
    let vault = Vault::new(
        policy.clone(),
        vault_store.clone(),
        key_store,
        Arc::new(LocalKeyring::open_dir(&keys).map_err(e)?),
        BlindIndexKey::new(SecretKey::from_bytes(&[2; 32]).map_err(e)?),
        clock.clone(),
    )
    .with_request_store(Arc::new(store.requests()), Default::default())
    .with_legal_store(Arc::new(store.legal()))
    .with_export_store(Arc::new(store.exports()));

    // The customer: a profile, consent changes, orders (placed concurrently, as a shop's
    // traffic would, so group commit shares the syncs).
    eprintln!(
        "setting up: 1 customer, {} consent changes, {} orders…",
        o.consents, o.orders
    );
    let setup = Instant::now();
    let id = vault
        .create(
            &storefront("account"),
            &fields(json!({
                "account_name.full_name": "Đoàn Thị Điểm",
                "account_email.email": "doan.thi.diem@example.com",
                "account_phone.phone": "0912345678",
                "account_birth_date.date_of_birth": "1985-02-14",
            })),
        )
        .await
        .map_err(e)?;
    let version = NoticeVersion::of(&policy);
    let shown = ShownNotice::resolve(&store, &policy, &version, &version.version)
        .await
        .map_err(e)?;
    let own = RequestContext {
        principal: Principal::Customer { id: id.clone() },
        ..storefront("account")
    };
    for n in 0..o.consents {
        let state = if n % 2 == 0 {
            ConsentState::Granted
        } else {
            ConsentState::Denied
        };
        let collection = Collection {
            channel: CollectionChannel::WebForm,
            recording_id: None,
            given_by: GivenBy::Customer,
            representative_name: None,
            evidence: Evidence::default(),
        };
        let change = ConsentChange {
            purpose: "personalised_ads".into(),
            state,
            options: BTreeMap::new(),
        };
        vault
            .record_consents(&own, &id, &shown, &collection, &[change])
            .await
            .map_err(e)?;
    }
    place_orders(&vault, &id, o.orders).await?;
    eprintln!("set up in {:.1} s", setup.elapsed().as_secs_f64());

    let operator = RequestContext {
        principal: Principal::System {
            task: SystemTask::RightsExport,
        },
        ..storefront("account")
    };
    let mut export_runs = Vec::new();
    let mut content = 0;
    let mut reference_runs = Vec::new();
    for run in 0..o.runs {
        // Alternate which goes first, so neither always gets the warmer cache.
        let order = if run % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            reset_peak();
            let before = status_kib("VmRSS:");
            let t = Instant::now();
            let bytes = if side == 0 {
                let mut sink = ZipSink::new(WriteOut(Counting::default()));
                vault
                    .export(&operator, &id, Lang::En, &mut sink)
                    .await
                    .map_err(e)?;
                content = sink.content();
                sink.into_out().0.0
            } else {
                reference(&db, &id).await?
            };
            let elapsed = t.elapsed();
            // The peak, and what the run added to the resident set at its peak.
            let peak = status_kib("VmHWM:").zip(before);
            if side == 0 {
                export_runs.push((elapsed, bytes, peak));
            } else {
                reference_runs.push((elapsed, bytes, peak));
            }
        }
    }
    let best = |runs: &[Run]| {
        runs.iter()
            .min_by_key(|r| r.0)
            .copied()
            .unwrap_or((Duration::ZERO, 0, None))
    };
    let (et, eb, ep) = best(&export_runs);
    let (rt, rb, rp) = best(&reference_runs);
    let mb = |b: u64| b as f64 / 1_000_000.0;
    let mbs = |b: u64, t: Duration| mb(b) / t.as_secs_f64().max(1e-9);
    let peak = |p: Option<(u64, u64)>| {
        p.map_or("n/a".to_owned(), |(peak, before)| {
            format!(
                "{:.0} MiB (+{:.1})",
                peak as f64 / 1024.0,
                peak.saturating_sub(before) as f64 / 1024.0
            )
        })
    };
    println!(
        "| run (best of {}; {} orders, {} consent changes) | time to last byte | output | MB/s | peak RSS (growth in the run) |",
        o.runs, o.orders, o.consents
    );
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| export: audit, open every value, JSON + HTML report, deflated ZIP | {:.2} s | {:.2} MB zipped ({:.1} MB of JSON and HTML) | {:.1} (of content) | {} |",
        et.as_secs_f64(),
        mb(eb),
        mb(content),
        mbs(content, et),
        peak(ep)
    );
    println!(
        "| reference: the same rows raw from SQLite, serialised to JSON | {:.2} s | {:.2} MB of JSON | {:.1} | {} |",
        rt.as_secs_f64(),
        mb(rb),
        mbs(rb, rt),
        peak(rp)
    );
    println!(
        "\nexport / reference time: {:.1}×",
        et.as_secs_f64() / rt.as_secs_f64().max(1e-9)
    );
    Ok(())
}

async fn place_orders(vault: &Vault, id: &CustomerId, n: usize) -> Result<(), String> {
    const CONCURRENT: usize = 64;
    let ctx = storefront("order_fulfilment");
    let mut placed = 0;
    while placed < n {
        let batch = CONCURRENT.min(n - placed);
        let mut tasks = tokio::task::JoinSet::new();
        for k in placed..placed + batch {
            let vault = vault.clone();
            let id = id.clone();
            let ctx = ctx.clone();
            tasks.spawn(async move {
                let items = vec![fields(json!({
                    "product_id": format!("sku-{k}"),
                    "product_name": "Áo dài lụa",
                    "quantity": 1 + k % 3,
                    "unit_price": 350000,
                }))];
                let f = fields(json!({
                    "order_recipient.recipient_name": "Đoàn Thị Điểm",
                    "order_shipping_address.address_line": "12 Phố Huế",
                    "order_shipping_address.ward": "Hàng Bài",
                    "order_shipping_address.province": "Hà Nội",
                    "order_shipping_address.country": "VN",
                }));
                vault.place_order(&ctx, Some(&id), &items, &f).await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(e)?.map_err(e)?;
        }
        placed += batch;
    }
    Ok(())
}

/// The same rows the export reads, straight from SQLite, as JSON (ciphertext as hex), to
/// a counting writer: no audit, no decryption, no HTML, no ZIP.
async fn reference(db: &std::path::Path, id: &CustomerId) -> Result<u64, String> {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .map_err(e)?;
    let mut out = Counting::default();
    let customer = sqlx::query("SELECT field, sealed FROM customer_fields WHERE customer_id = ?")
        .bind(id.as_str())
        .fetch_all(&mut conn)
        .await
        .map_err(e)?;
    let consents = sqlx::query("SELECT * FROM consent_events WHERE customer_id = ? ORDER BY seq")
        .bind(id.as_str())
        .fetch_all(&mut conn)
        .await
        .map_err(e)?;
    let mut rows = Vec::new();
    for row in customer.iter().chain(&consents) {
        rows.push(row_json(row));
    }
    serde_json::to_writer(&mut out, &rows).map_err(e)?;
    // Orders a page at a time, as the export reads them.
    let mut after = String::new();
    loop {
        let page = sqlx::query(
            "SELECT o.id, o.state, o.placed_at, o.updated_at, f.field, f.sealed \
             FROM (SELECT * FROM orders WHERE customer_id = ? AND id > ? ORDER BY id LIMIT 100) o \
             LEFT JOIN order_fields f ON f.order_id = o.id ORDER BY o.id, f.field",
        )
        .bind(id.as_str())
        .bind(&after)
        .fetch_all(&mut conn)
        .await
        .map_err(e)?;
        let Some(last) = page.last() else { break };
        after = last.try_get("id").map_err(e)?;
        let json: Vec<Value> = page.iter().map(row_json).collect();
        serde_json::to_writer(&mut out, &json).map_err(e)?;
    }
    Ok(out.0)
}

fn row_json(row: &sqlx::sqlite::SqliteRow) -> Value {
    use sqlx::{Column, TypeInfo, ValueRef};
    let mut map = Map::new();
    for column in row.columns() {
        let i = column.ordinal();
        let value = match row.try_get_raw(i) {
            Ok(raw) if raw.is_null() => Value::Null,
            Ok(raw) => match raw.type_info().name() {
                "BLOB" => row
                    .try_get::<Vec<u8>, _>(i)
                    .map(|b| Value::String(hex(&b)))
                    .unwrap_or(Value::Null),
                "INTEGER" => row
                    .try_get::<i64, _>(i)
                    .map(Value::from)
                    .unwrap_or(Value::Null),
                _ => row
                    .try_get::<String, _>(i)
                    .map(Value::String)
                    .unwrap_or(Value::Null),
            },
            Err(_) => Value::Null,
        };
        map.insert(column.name().to_owned(), value);
    }
    Value::Object(map)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
