//! The outbox delivered to a real HTTP partner on loopback that verifies signatures, counts
//! deliveries per idempotency key and applies each once: through 500s, an outage (connection
//! refused) and answers slower than the timeout, every message ends applied exactly once and
//! none is lost; after the bound a message is dead-lettered and re-driven; a partner with no
//! URL waits. The clock is a fixed one moved by hand, so retries are due at once and no test
//! waits on a backoff (nor asserts a timing).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use custodian_core::access::{Principal, Scope};
use custodian_core::audit::CheckpointSigner;
use custodian_core::clock::FixedClock;
use custodian_core::ids::CustomerId;
use custodian_core::outbox::dispatch::{DispatchSettings, Dispatcher};
use custodian_core::outbox::{OutboxStatus, OutboxStore};
use custodian_core::vault::{PartnerMessage, RequestContext, Vault, digest};
use custodian_crypto::{BlindIndexKey, LocalKeyring, SecretKey};
use custodian_partners::fake_partner::{FakePartner, Mode};
use custodian_partners::{Endpoint, HttpPartnerSender};
use custodian_policy::{DEFAULT_POLICY, parse};
use custodian_store::{SqliteKeyStore, SqliteStore, SqliteVault};
use jiff::SignedDuration;
use serde_json::json;
use zeroize::Zeroizing;

const SECRET: &[u8] = b"carrier-webhook-secret-0123456789";

struct World {
    vault: Vault,
    outbox: Arc<SqliteVault>,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("vault.db").to_str().unwrap())
        .await
        .unwrap();
    let signer = CheckpointSigner::new(SecretKey::from_bytes(&[3; 32]).unwrap());
    let outbox = Arc::new(store.vault(signer).await.unwrap());
    let keys = dir.path().join("keys");
    let keyring = Arc::new(LocalKeyring::open_dir(&keys).unwrap());
    let key_store = Arc::new(
        SqliteKeyStore::open(keys.join("data-keys.db").to_str().unwrap())
            .await
            .unwrap(),
    );
    let clock = Arc::new(FixedClock::new("2026-03-01T08:00:00Z".parse().unwrap()));
    let vault = Vault::new(
        Arc::new(parse(DEFAULT_POLICY).unwrap()),
        outbox.clone(),
        key_store,
        keyring,
        BlindIndexKey::new(SecretKey::from_bytes(&[5; 32]).unwrap()),
        clock.clone(),
    )
    .with_outbox_store(outbox.clone());
    World {
        vault,
        outbox,
        clock,
        _dir: dir,
    }
}

fn storefront(purpose: &str) -> RequestContext {
    RequestContext {
        principal: Principal::Integration {
            name: "storefront".into(),
            scope: Scope::unrestricted(),
        },
        purpose: purpose.into(),
        request_id: None,
    }
}

/// `n` customers, each with an order handed to `partner` (its declared fields only).
async fn orders(w: &World, partner: &str, n: usize) -> Vec<CustomerId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let fields = json!({
            "account_name.full_name": format!("Khách Hàng Số {i}"),
            "account_email.email": format!("khach.{i}@example.com"),
        });
        let id = w
            .vault
            .create(&storefront("account"), fields.as_object().unwrap())
            .await
            .unwrap();
        let data = match partner {
            "carrier" => BTreeMap::from([
                (
                    "order_recipient.recipient_name".to_owned(),
                    json!(format!("Người Nhận {i}")),
                ),
                (
                    "order_shipping_address.address_line".to_owned(),
                    json!(format!("{i} Đường Láng")),
                ),
                ("order_items.quantity".to_owned(), json!(1 + i)),
            ]),
            _ => BTreeMap::from([
                (
                    "order_payment.payment_token".to_owned(),
                    json!(format!("tok_{i:04}")),
                ),
                ("order_payment.amount".to_owned(), json!(125_000)),
            ]),
        };
        w.vault
            .enqueue_partner_message(PartnerMessage {
                partner: w.vault.declared_partner(partner).unwrap(),
                customer: id.clone(),
                kind: "order.fulfilling".into(),
                idempotency_key: format!("order-{i}"),
                consent: None,
                data,
            })
            .await
            .unwrap();
        ids.push(id);
    }
    ids
}

fn sender(partners: &[(&str, &FakePartner)], timeout: Duration) -> Arc<HttpPartnerSender> {
    let endpoints = partners
        .iter()
        .map(|(id, partner)| {
            (
                (*id).to_owned(),
                Endpoint {
                    url: partner.url(),
                    secret: Zeroizing::new(SECRET.to_vec()),
                },
            )
        })
        .collect();
    Arc::new(HttpPartnerSender::new(endpoints, timeout).unwrap())
}

fn dispatcher(w: &World, sender: Arc<HttpPartnerSender>, max_attempts: u32) -> Dispatcher {
    Dispatcher::new(
        w.vault.clone(),
        w.outbox.clone(),
        sender,
        w.clock.clone(),
        DispatchSettings {
            max_attempts,
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(1),
            lease: Duration::from_secs(30),
            batch: 8,
            poll: Duration::from_millis(10),
        },
    )
}

/// One pass, then the clock moves past any backoff (and any lease a failed recording left).
async fn pass(w: &World, d: &Dispatcher) {
    d.run_once().await.unwrap();
    w.clock.advance(SignedDuration::from_secs(31));
}

async fn pending(w: &World) -> usize {
    w.outbox
        .messages(OutboxStatus::Pending, 10_000)
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_applied_once_through_500s_an_outage_and_slow_answers() {
    let w = world().await;
    let mut carrier = FakePartner::start(SECRET).await.unwrap();
    let ids = orders(&w, "carrier", 12).await;
    let d = dispatcher(
        &w,
        sender(&[("carrier", &carrier)], Duration::from_millis(250)),
        50,
    );

    carrier.set_mode(Mode::Failing);
    for _ in 0..3 {
        pass(&w, &d).await;
    }
    assert!(carrier.seen().failed >= 12, "{:?}", carrier.seen());
    assert!(carrier.seen().applied.is_empty());

    carrier.down().await;
    for _ in 0..2 {
        pass(&w, &d).await;
    }
    carrier.up().await.unwrap();

    // Slower than the timeout: the partner applies, the sender gives up and tries again.
    carrier.set_mode(Mode::Slow(Duration::from_millis(600)));
    pass(&w, &d).await;

    carrier.set_mode(Mode::Up);
    for _ in 0..40 {
        if pending(&w).await == 0 {
            break;
        }
        pass(&w, &d).await;
    }
    assert_eq!(pending(&w).await, 0, "every message delivered");
    // Let the slow answers still in flight land before counting.
    tokio::time::sleep(Duration::from_millis(800)).await;

    let seen = carrier.seen();
    assert_eq!(seen.bad_signatures, 0);
    assert_eq!(seen.applied.len(), 12, "none lost: {seen:?}");
    assert!(seen.applied.values().all(|n| *n == 1), "none applied twice");
    assert!(
        seen.deliveries.values().any(|n| *n > 1),
        "retries did send duplicates, which the key made harmless: {seen:?}"
    );
    let keys: BTreeSet<&String> = seen.deliveries.keys().collect();
    assert_eq!(keys.len(), 12, "one key per message");

    // Each customer's ledger names the delivery once, with the digest of what was applied.
    let delivered = w
        .outbox
        .messages(OutboxStatus::Delivered, 100)
        .await
        .unwrap();
    assert_eq!(delivered.len(), 12);
    for id in &ids {
        let ledger = w.outbox.disclosures(id).await.unwrap();
        assert_eq!(ledger.len(), 1, "{ledger:?}");
        let message = delivered.iter().find(|m| &m.customer == id).unwrap();
        let body = &seen.bodies[&message.idempotency_key];
        assert_eq!(ledger[0].digest, digest(body));
        assert_eq!(ledger[0].recipient, "carrier");
        let text = String::from_utf8_lossy(body);
        assert!(!text.contains("cus_") && !text.contains("obx_"), "{text}");
        assert!(
            !text.contains("khach."),
            "only the carrier's fields: {text}"
        );
        let message_id = &seen.message_ids[&message.idempotency_key];
        assert!(message_id.starts_with("msg_") && !message_id.contains(&message.id.to_string()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_bound_a_message_is_dead_and_a_redrive_delivers_it() {
    let w = world().await;
    let processor = FakePartner::start(SECRET).await.unwrap();
    processor.set_mode(Mode::Failing);
    let ids = orders(&w, "payment_processor", 2).await;
    let d = dispatcher(
        &w,
        sender(&[("payment_processor", &processor)], Duration::from_secs(2)),
        3,
    );
    for _ in 0..5 {
        pass(&w, &d).await;
    }
    let dead = w.outbox.messages(OutboxStatus::Dead, 10).await.unwrap();
    assert_eq!(dead.len(), 2);
    assert!(dead.iter().all(|m| m.attempts == 3));
    assert_eq!(dead[0].last_error.as_deref(), Some("http_500"));
    assert_eq!(processor.seen().deliveries.values().sum::<usize>(), 6);

    processor.set_mode(Mode::Up);
    let admin = RequestContext {
        principal: Principal::Staff {
            user: "usr_0".into(),
            role: parse(DEFAULT_POLICY)
                .unwrap()
                .role_named("admin")
                .unwrap()
                .id
                .clone(),
        },
        purpose: "security".into(),
        request_id: None,
    };
    w.vault.redrive(&admin, &dead[0].id).await.unwrap();
    pass(&w, &d).await;
    let seen = processor.seen();
    assert_eq!(seen.applied.len(), 1);
    assert_eq!(w.outbox.disclosures(&ids[0]).await.unwrap().len(), 1);
    assert!(w.outbox.disclosures(&ids[1]).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_without_a_url_waits() {
    let w = world().await;
    let carrier = FakePartner::start(SECRET).await.unwrap();
    orders(&w, "carrier", 1).await;
    orders(&w, "payment_processor", 1).await;
    let d = dispatcher(
        &w,
        sender(&[("carrier", &carrier)], Duration::from_secs(2)),
        3,
    );
    for _ in 0..3 {
        pass(&w, &d).await;
    }
    let waiting = w.outbox.messages(OutboxStatus::Pending, 10).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].partner, "payment_processor");
    assert_eq!(waiting[0].attempts, 0, "not an attempt: nothing was tried");
    assert_eq!(carrier.seen().applied.len(), 1);
}
