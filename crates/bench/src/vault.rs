//! The vault's write and read throughput over HTTP, against a reference run in the same
//! process: raw SQLite inserts of rows of the same size, one row per durable transaction.
//!
//! Usage: `cargo build --release -p custodian -p custodian-bench && target/release/vault-bench`
//! (options: `--custodian PATH`, `--clients N`, `--requests N`). Prints a Markdown table for
//! docs/PERFORMANCE.md. Both sides sync every commit to disk (SQLite synchronous=FULL): the
//! vault shares each sync among a batch of requests (group commit); the reference cannot.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on the terminal"
)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

const TOKEN: &str = "bench-token-0123456789abcdef0123456789abcdef";

struct Options {
    custodian: PathBuf,
    clients: usize,
    requests: usize,
    /// Load an already running server (for profiling) instead of starting one.
    address: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        custodian: PathBuf::from("target/release/custodian"),
        clients: 64,
        requests: 4000,
        address: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("`{arg}` needs a value"))?;
        match arg.as_str() {
            "--custodian" => o.custodian = PathBuf::from(value),
            "--clients" => o.clients = value.parse().map_err(|_| "bad --clients")?,
            "--requests" => o.requests = value.parse().map_err(|_| "bad --requests")?,
            "--address" => o.address = Some(value),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let o = options()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;

    // Reference: the same number of rows, each ~ the bytes one customer creation writes
    // (three sealed fields, a blind index, an audit entry), one durable transaction each.
    // Run before and after the vault, since the cost of a sync drifts on shared machines:
    // the ratio is taken against the mean of the two.
    let before = raw_inserts(&dir.path().join("reference-1.db"), o.requests, 900).await?;

    let (mut server, addr) = match &o.address {
        Some(address) => (None, address.clone()),
        None => {
            let (child, address) = start(&o.custodian, dir.path(), &[]).await?;
            (Some(child), address)
        }
    };
    let created = run(&addr, o.clients, o.requests, Phase::Create).await?;
    let read = run(
        &addr,
        o.clients,
        o.requests,
        Phase::Read(created.ids.clone()),
    )
    .await?;
    let ordered = run(
        &addr,
        o.clients,
        o.requests,
        Phase::Order(created.ids.clone()),
    )
    .await?;
    let paid = run(
        &addr,
        o.clients,
        o.requests,
        Phase::Move(ordered.ids.clone(), "paid"),
    )
    .await?;
    // Into fulfilment: each move commits two outbox messages (carrier, payment processor)
    // with it. No partner has an address yet, so they wait in the outbox.
    let fulfilling = run(
        &addr,
        o.clients,
        o.requests,
        Phase::Move(ordered.ids.clone(), "fulfilling"),
    )
    .await?;
    if let Some(server) = server.as_mut() {
        let _ = server.kill().await;
        let _ = server.wait().await;
    }
    let delivery = match &o.address {
        Some(_) => None,
        None => Some(deliver(&o, dir.path(), 2 * o.requests).await?),
    };
    let after = raw_inserts(&dir.path().join("reference-2.db"), o.requests, 900).await?;
    let reference = Stats {
        rate: (before.rate + after.rate) / 2.0,
        p50: (before.p50 + after.p50) / 2.0,
        p99: (before.p99 + after.p99) / 2.0,
    };

    println!("| measure | rate (/s) | p50 (ms) | p99 (ms) |");
    println!("|---|---|---|---|");
    for (name, r) in [("before", &before), ("after", &after), ("mean", &reference)] {
        println!(
            "| raw SQLite insert, 1 row per durable transaction (reference, {name}) | {:.0} | {:.2} | {:.2} |",
            r.rate, r.p50, r.p99
        );
    }
    println!(
        "| customers created over HTTP ({} clients) | {:.0} | {:.2} | {:.2} |",
        o.clients, created.stats.rate, created.stats.p50, created.stats.p99
    );
    println!(
        "| purpose-bound reads over HTTP ({} clients) | {:.0} | {:.2} | {:.2} |",
        o.clients, read.stats.rate, read.stats.p50, read.stats.p99
    );
    println!(
        "| orders placed over HTTP ({} clients) | {:.0} | {:.2} | {:.2} |",
        o.clients, ordered.stats.rate, ordered.stats.p50, ordered.stats.p99
    );
    println!(
        "| orders paid over HTTP ({} clients) | {:.0} | {:.2} | {:.2} |",
        o.clients, paid.stats.rate, paid.stats.p50, paid.stats.p99
    );
    println!(
        "| orders into fulfilment over HTTP, 2 outbox messages committed with each ({} clients) | {:.0} | {:.2} | {:.2} |",
        o.clients, fulfilling.stats.rate, fulfilling.stats.p50, fulfilling.stats.p99
    );
    if let Some(d) = &delivery {
        println!();
        println!(
            "| delivery to a local receiver (signed, verified) | messages | seconds | rate (/s) |"
        );
        println!("|---|---|---|---|");
        println!(
            "| reference: the same bodies signed and posted directly, 32 connections | {} | {:.2} | {:.0} |",
            d.messages,
            d.direct_secs,
            d.messages as f64 / d.direct_secs
        );
        println!(
            "| the outbox, from a restart with the partners' addresses to the last delivery | {} | {:.2} | {:.0} |",
            d.messages,
            d.outbox_secs,
            d.messages as f64 / d.outbox_secs
        );
        println!();
        println!(
            "outbox delivery / direct posting = {:.2}x",
            d.direct_secs / d.outbox_secs
        );
    }
    println!();
    println!(
        "fulfilment / reference = {:.2}x",
        fulfilling.stats.rate / reference.rate
    );
    println!(
        "create / reference = {:.2}x; read / reference = {:.2}x; order / reference = {:.2}x",
        created.stats.rate / reference.rate,
        read.stats.rate / reference.rate,
        ordered.stats.rate / reference.rate
    );
    Ok(())
}

struct Stats {
    rate: f64,
    p50: f64,
    p99: f64,
}

fn stats(mut latencies: Vec<Duration>, elapsed: Duration) -> Stats {
    latencies.sort();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Stats {
        rate: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
    }
}

async fn raw_inserts(
    path: &std::path::Path,
    rows: usize,
    row_bytes: usize,
) -> Result<Stats, String> {
    use sqlx::ConnectOptions;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let body = vec![0x5au8; row_bytes];
    let mut latencies = Vec::with_capacity(rows);
    let start = Instant::now();
    for _ in 0..rows {
        let t = Instant::now();
        sqlx::query("INSERT INTO rows (body) VALUES (?)")
            .bind(&body)
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        latencies.push(t.elapsed());
    }
    Ok(stats(latencies, start.elapsed()))
}

async fn start(
    binary: &std::path::Path,
    dir: &std::path::Path,
    env: &[(String, String)],
) -> Result<(tokio::process::Child, String), String> {
    let mut child = Command::new(binary)
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("CUSTODIAN_LISTEN", "127.0.0.1:0")
        .env("CUSTODIAN_DATA_DIR", dir.join("data"))
        .env("CUSTODIAN_API__TOKENS", format!("bench={TOKEN}"))
        .env("CUSTODIAN_LOG__LEVEL", "warn,custodian::serve=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start `{}`: {e} (build it with cargo build --release -p custodian)",
                binary.display()
            )
        })?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        if let Some(addr) = line.split("listening on ").nth(1) {
            let addr = addr.trim().to_owned();
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Ok((child, addr));
        }
    }
    Err("the server exited before listening".into())
}

#[derive(Clone)]
enum Phase {
    Create,
    Read(Vec<String>),
    /// Orders for these customers, each sealed under its customer's key, one durable commit.
    Order(Vec<String>),
    /// Moves each of these orders to a state (each once).
    Move(Vec<String>, &'static str),
}

struct Run {
    stats: Stats,
    ids: Vec<String>,
}

async fn run(addr: &str, clients: usize, requests: usize, phase: Phase) -> Result<Run, String> {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let addr = addr.to_owned();
        let phase = phase.clone();
        let share = requests / clients + usize::from(c < requests % clients);
        tasks.push(tokio::spawn(async move {
            let mut conn = Http::connect(&addr).await?;
            let mut latencies = Vec::with_capacity(share);
            let mut ids = Vec::new();
            for i in 0..share {
                let t = Instant::now();
                match &phase {
                    Phase::Create => {
                        let n = c * 1_000_000 + i;
                        let body = json!({"fields": {
                            "account_name.full_name": format!("Khách Thử {n}"),
                            "account_email.email": format!("bench.{n}@example.com"),
                            "account_phone.phone": format!("+8491{n:07}"),
                        }});
                        let (status, body) = conn
                            .send(
                                "POST",
                                "/v1/customers?purpose=account",
                                Some(&body.to_string()),
                            )
                            .await?;
                        if status != 201 {
                            return Err(format!("create answered {status}"));
                        }
                        let v: serde_json::Value =
                            serde_json::from_str(&body).map_err(|e| e.to_string())?;
                        ids.push(
                            v.get("id")
                                .and_then(|id| id.as_str())
                                .unwrap_or_default()
                                .to_owned(),
                        );
                    }
                    Phase::Order(all) => {
                        let customer = all
                            .get((c * 7919 + i) % all.len().max(1))
                            .cloned()
                            .unwrap_or_default();
                        let body = json!({
                            "customer": customer,
                            "items": [{"product_id": format!("sku-{i}"), "product_name": "Áo dài lụa",
                                       "quantity": 1 + i % 3, "unit_price": 1_250_000}],
                            "fields": {
                                "order_recipient.recipient_name": format!("Khách Thử {c}-{i}"),
                                "order_shipping_address.address_line": format!("Số {i} phố Hàng Bạc"),
                                "order_shipping_address.ward": "Hàng Bạc",
                                "order_shipping_address.province": "Hà Nội",
                                "order_shipping_address.country": "VN",
                                "order_contact_phone.contact_phone": format!("+8491{:07}", c * 10_000 + i),
                                "order_payment.payment_token": format!("tok_bench_{c}_{i}"),
                                "order_payment.card_brand": "visa",
                                "order_payment.card_last4": "1111",
                                "order_payment.card_expiry": "04/29",
                            },
                        });
                        let (status, answer) = conn
                            .send(
                                "POST",
                                "/v1/orders?purpose=order_fulfilment",
                                Some(&body.to_string()),
                            )
                            .await?;
                        if status != 201 {
                            return Err(format!("order answered {status}: {answer}"));
                        }
                        let v: serde_json::Value =
                            serde_json::from_str(&answer).map_err(|e| e.to_string())?;
                        ids.push(
                            v.get("id")
                                .and_then(|id| id.as_str())
                                .unwrap_or_default()
                                .to_owned(),
                        );
                    }
                    Phase::Move(all, to) => {
                        // Each client takes its own slice, so every order moves once.
                        let order = all
                            .get(c + i * clients)
                            .cloned()
                            .unwrap_or_default();
                        let body = json!({ "to": to }).to_string();
                        let (status, answer) = conn
                            .send("POST", &format!("/v1/orders/{order}/moves"), Some(&body))
                            .await?;
                        if status != 200 {
                            return Err(format!("move answered {status}: {answer}"));
                        }
                    }
                    Phase::Read(all) => {
                        let id = all
                            .get((c * 7919 + i) % all.len().max(1))
                            .cloned()
                            .unwrap_or_default();
                        let (status, _) = conn
                            .send(
                                "GET",
                                &format!("/v1/customers/{id}?purpose=customer_care"),
                                None,
                            )
                            .await?;
                        if status != 200 {
                            return Err(format!("read answered {status}"));
                        }
                    }
                }
                latencies.push(t.elapsed());
            }
            Ok::<_, String>((latencies, ids))
        }));
    }
    let mut latencies = Vec::new();
    let mut ids = Vec::new();
    for t in tasks {
        let (l, i) = t.await.map_err(|e| e.to_string())??;
        latencies.extend(l);
        ids.extend(i);
    }
    Ok(Run {
        stats: stats(latencies, start.elapsed()),
        ids,
    })
}

/// A minimal HTTP/1.1 keep-alive client: enough for a benchmark, no extra dependency.
struct Http {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Http {
    async fn connect(addr: &str) -> Result<Http, String> {
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Http {
            reader: BufReader::new(stream),
            host: addr.to_owned(),
        })
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<(u16, String), String> {
        self.send_with(
            method,
            path,
            &format!("Authorization: Bearer {TOKEN}\r\n"),
            body,
        )
        .await
    }

    /// A request with `headers` (complete lines, each ending in CRLF).
    async fn send_with(
        &mut self,
        method: &str,
        path: &str,
        headers: &str,
        body: Option<&str>,
    ) -> Result<(u16, String), String> {
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.reader
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut status_line = String::new();
        self.reader
            .read_line(&mut status_line)
            .await
            .map_err(|e| e.to_string())?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("bad status line")?;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            self.reader
                .read_line(&mut line)
                .await
                .map_err(|e| e.to_string())?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().map_err(|_| "bad content-length")?;
            }
        }
        let mut body = vec![0u8; length];
        self.reader
            .read_exact(&mut body)
            .await
            .map_err(|e| e.to_string())?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

const PARTNER_SECRET: &str = "bench-partner-secret-0123456789abcdef";

struct Delivery {
    messages: usize,
    direct_secs: f64,
    outbox_secs: f64,
}

/// A partner on loopback that verifies each signature and counts what it accepted.
async fn receiver() -> Result<(String, std::sync::Arc<std::sync::atomic::AtomicUsize>), String> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let counted = counted.clone();
                async move {
                    let signature = headers
                        .get(custodian_partners::SIGNATURE_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    if custodian_partners::verify_signature(
                        PARTNER_SECRET.as_bytes(),
                        signature,
                        &body,
                    )
                    .is_none()
                    {
                        return axum::http::StatusCode::UNAUTHORIZED;
                    }
                    counted.fetch_add(1, Ordering::Relaxed);
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let address = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((address, count))
}

/// Posts `messages` signed bodies straight to the receiver (the reference), then restarts
/// the service with the partners' addresses and times the outbox draining the same number.
async fn deliver(o: &Options, dir: &std::path::Path, messages: usize) -> Result<Delivery, String> {
    use std::sync::atomic::Ordering;
    let (address, count) = receiver().await?;
    let body = json!({
        "type": "order.fulfilling",
        "purpose": "order_fulfilment",
        "occurred_at": "2026-11-30T00:00:00Z",
        "data": {
            "order_recipient.recipient_name": "Khách Thử 12-345",
            "order_shipping_address.address_line": "Số 345 phố Hàng Bạc",
            "order_shipping_address.ward": "Hàng Bạc",
            "order_shipping_address.province": "Hà Nội",
            "order_shipping_address.country": "VN",
            "order_contact_phone.contact_phone": "+84910123456",
            "order_items.product_name": ["Áo dài lụa"],
            "order_items.quantity": [2],
        },
    })
    .to_string();
    let clients = 32;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (address, body) = (address.clone(), body.clone());
        let share = messages / clients + usize::from(c < messages % clients);
        tasks.push(tokio::spawn(async move {
            let mut conn = Http::connect(&address).await?;
            for i in 0..share {
                let t = 1_764_500_000 + i64::try_from(i).unwrap_or(0);
                let signature =
                    custodian_partners::signature(PARTNER_SECRET.as_bytes(), t, body.as_bytes());
                let headers = format!(
                    "{}: {signature}\r\nIdempotency-Key: ref-{c}-{i}\r\n",
                    custodian_partners::SIGNATURE_HEADER
                );
                let (status, _) = conn
                    .send_with("POST", "/hooks", &headers, Some(&body))
                    .await?;
                if status != 200 {
                    return Err(format!("the receiver answered {status}"));
                }
            }
            Ok::<_, String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let direct_secs = started.elapsed().as_secs_f64();
    let before = count.load(Ordering::Relaxed);

    let url = format!("http://{address}/hooks");
    let env: Vec<(String, String)> = ["CARRIER", "PAYMENT_PROCESSOR"]
        .iter()
        .flat_map(|p| {
            [
                (format!("CUSTODIAN_PARTNERS__{p}__URL"), url.clone()),
                (
                    format!("CUSTODIAN_PARTNERS__{p}__SECRET"),
                    PARTNER_SECRET.to_owned(),
                ),
            ]
        })
        .chain([("CUSTODIAN_OUTBOX__POLL_MS".to_owned(), "20".to_owned())])
        .collect();
    let started = Instant::now();
    let (mut server, _) = start(&o.custodian, dir, &env).await?;
    let deadline = Instant::now() + Duration::from_secs(600);
    while count.load(Ordering::Relaxed) - before < messages {
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {messages} messages arrived",
                count.load(Ordering::Relaxed) - before
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let outbox_secs = started.elapsed().as_secs_f64();
    let _ = server.kill().await;
    Ok(Delivery {
        messages,
        direct_secs,
        outbox_secs,
    })
}
