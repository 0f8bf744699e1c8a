//! The customer's export on every backend: links that only their customer can use, once,
//! within 24 hours (two racing redemptions, one wins), gone with the customer; an export that
//! holds every category the customer has data in, reads orders a page at a time, and opens
//! as a ZIP of JSON and HTML.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::sync::Arc;

use async_trait::async_trait;
use custodian_core::access::{Principal, SystemTask};
use custodian_core::clock::Clock;
use custodian_core::error::ErrorCode;
use custodian_core::ids::CustomerId;
use custodian_core::orders::OrderState;
use custodian_core::rights::export::{ExportDocument, ExportOrder, ExportSink};
use custodian_core::rights::export_zip::{WriteOut, ZipSink};
use custodian_core::rights::request::RequestChannel;
use custodian_core::vault::{
    PartnerMessage, RequestContext, RequestInput, RequestRules, Vault, VaultError,
};
use custodian_crypto::TokenDigest;
use custodian_policy::{DEFAULT_POLICY, Lang};
use jiff::SignedDuration;
use serde_json::{Map, Value, json};

use crate::care::agent;
use crate::consent::{ConsentFixture, by, deny, grant, me};
use crate::suite::{Backend, ctx, fields};

fn code(e: VaultError) -> ErrorCode {
    match e {
        VaultError::Rejected(api) => api.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn staff(role: &str) -> RequestContext {
    RequestContext {
        principal: agent(role),
        ..ctx("account")
    }
}

fn vault(f: &ConsentFixture, b: &Backend) -> Vault {
    f.vault
        .clone()
        .with_export_store(b.exports.clone())
        .with_request_store(b.requests.clone(), RequestRules::default())
        .with_legal_store(b.legal.clone())
}

pub async fn export_links_are_single_use_own_and_expire(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let vault = vault(&f, &b);
    let a = f.customer("Lâm Gia Huy", "huy.lam@example.com", None).await;
    let c = f.customer("Kiều Oanh", "oanh.kieu@example.com", None).await;

    let link = vault
        .issue_export_link(&by(&me(&a)), &a, None)
        .await
        .unwrap();
    let token = link.token.expose().to_owned();
    assert!(token.starts_with("csx_"));
    assert_eq!(
        link.expires_at,
        f.clock.now() + SignedDuration::from_hours(24)
    );
    // Only the digest is kept.
    let digest = TokenDigest::of(token.as_bytes()).to_hex();
    let stored = b.exports.get(&digest).await.unwrap().unwrap();
    assert_eq!(stored.customer, a);
    assert!(stored.used_at.is_none());
    assert!(!stored.digest.contains(&token));

    // Who may make one: the customer, the DPO; not another customer, not a care agent.
    let e = vault
        .issue_export_link(&by(&me(&c)), &a, None)
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::CustomerNotFound);
    let e = vault
        .issue_export_link(&staff("care_agent"), &a, None)
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::OperationNotAllowed);
    let dpo_link = vault
        .issue_export_link(&staff("dpo"), &a, None)
        .await
        .unwrap();

    // Anyone but its customer: not found, as for a wrong token.
    for who in [by(&me(&c)), staff("dpo")] {
        let e = vault.redeem_export_link(&who, &token).await.unwrap_err();
        assert_eq!(code(e), ErrorCode::ExportLinkNotFound);
    }
    let e = vault
        .redeem_export_link(&by(&me(&a)), "csx_not-a-token")
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::ExportLinkNotFound);

    // Two redemptions at once: one wins.
    let owner = by(&me(&a));
    let (one, two) = tokio::join!(
        vault.redeem_export_link(&owner, &token),
        vault.redeem_export_link(&owner, &token),
    );
    let won: Vec<CustomerId> = [one, two].into_iter().filter_map(Result::ok).collect();
    assert_eq!(won, vec![a.clone()]);
    let e = vault.redeem_export_link(&owner, &token).await.unwrap_err();
    assert_eq!(code(e), ErrorCode::ExportLinkNotFound);
    assert!(
        b.exports
            .get(&digest)
            .await
            .unwrap()
            .unwrap()
            .used_at
            .is_some()
    );

    // The DPO's link is the customer's to use, until it expires.
    f.clock.advance(SignedDuration::from_hours(24));
    let e = vault
        .redeem_export_link(&owner, dpo_link.token.expose())
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::ExportLinkExpired);

    // Erased, the customer's links are gone.
    let fresh = vault
        .issue_export_link(&by(&me(&c)), &c, None)
        .await
        .unwrap();
    let fresh_digest = TokenDigest::of(fresh.token.expose().as_bytes()).to_hex();
    assert!(b.exports.get(&fresh_digest).await.unwrap().is_some());
    vault.erase(&ctx("account"), &c).await.unwrap();
    assert!(b.exports.get(&fresh_digest).await.unwrap().is_none());
    let e = vault
        .issue_export_link(&by(&me(&c)), &c, None)
        .await
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::CustomerNotFound);
}

/// A sink that keeps the ZIP and notes the size of every page of orders it is handed.
struct Recording {
    zip: ZipSink<WriteOut<Vec<u8>>>,
    pages: Vec<usize>,
}

#[async_trait]
impl ExportSink for Recording {
    fn passes(&self) -> u32 {
        self.zip.passes()
    }

    async fn begin(&mut self, pass: u32, doc: &ExportDocument) -> std::io::Result<()> {
        self.zip.begin(pass, doc).await
    }

    async fn orders(&mut self, pass: u32, page: &[ExportOrder]) -> std::io::Result<()> {
        self.pages.push(page.len());
        self.zip.orders(pass, page).await
    }

    async fn end(&mut self, pass: u32, doc: &ExportDocument) -> std::io::Result<()> {
        self.zip.end(pass, doc).await
    }
}

fn items(n: usize) -> Vec<Map<String, Value>> {
    vec![fields(json!({
        "product_id": format!("sku-{n}"),
        "product_name": "Nón lá <Huế>",
        "quantity": 1,
        "unit_price": 120000,
    }))]
}

fn order_fields() -> Map<String, Value> {
    fields(json!({
        "order_recipient.recipient_name": "Lâm Gia Huy",
        "order_shipping_address.address_line": "7 Lê Lợi",
        "order_shipping_address.ward": "Bến Nghé",
        "order_shipping_address.province": "Hồ Chí Minh",
        "order_shipping_address.country": "VN",
    }))
}

/// Unzips `bytes`: every file's name and contents.
fn unzip(bytes: Vec<u8>) -> BTreeMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        files.insert(file.name().unwrap().to_string(), text);
    }
    files
}

pub async fn export_holds_everything_in_pages_and_zips(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let vault = vault(&f, &b);
    let id = f
        .customer("Lâm Gia Huy", "huy.lam@example.com", Some("1990-04-30"))
        .await;
    let own = by(&me(&id));
    vault
        .correct(
            &ctx("account"),
            &id,
            &fields(json!({ "account_phone.phone": "0912345678" })),
        )
        .await
        .unwrap();
    vault
        .correct(
            &ctx("account"),
            &id,
            &fields(json!({ "account_phone.phone": "0987654321" })),
        )
        .await
        .unwrap();
    f.choose(&id, &[grant("marketing")]).await;
    f.choose(&id, &[deny("marketing")]).await;
    let orders = 230;
    let mut first = None;
    for n in 0..orders {
        let placed = vault
            .place_order(
                &ctx("order_fulfilment"),
                Some(&id),
                &items(n),
                &order_fields(),
            )
            .await
            .unwrap();
        first.get_or_insert(placed.id);
    }
    let first = first.unwrap();
    vault
        .move_order(&ctx("order_fulfilment"), &first, OrderState::Paid)
        .await
        .unwrap();
    vault
        .submit_request(
            &own,
            &id,
            RequestInput {
                kind: "access".into(),
                channel: RequestChannel::PrivacyCentre,
                partners_involved: false,
                details: Some("Tôi muốn một bản sao".into()),
                purposes: Vec::new(),
            },
        )
        .await
        .unwrap();
    // A delivered message: in the ledger.
    vault
        .enqueue_partner_message(PartnerMessage {
            partner: vault.declared_partner("carrier").unwrap(),
            customer: id.clone(),
            kind: "order.fulfilling".into(),
            idempotency_key: "export-1".into(),
            consent: None,
            data: BTreeMap::from([(
                "order_recipient.recipient_name".into(),
                json!("Lâm Gia Huy"),
            )]),
        })
        .await
        .unwrap();
    let now = f.clock.now();
    let claimed = b
        .outbox
        .claim(
            &["carrier".into()],
            now,
            now + SignedDuration::from_secs(60),
            10,
        )
        .await
        .unwrap();
    for message in &claimed {
        let body = vault.open_for_delivery(message).await.unwrap().unwrap();
        vault.record_delivery(message, body.bytes()).await.unwrap();
    }
    assert!(!claimed.is_empty());

    // Someone else's export: not found. A care agent: not allowed.
    let other = f.customer("Kiều Oanh", "oanh.kieu@example.com", None).await;
    let mut sink = Recording {
        zip: ZipSink::new(WriteOut(Vec::new())),
        pages: Vec::new(),
    };
    let e = vault
        .export(&by(&me(&other)), &id, Lang::En, &mut sink)
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        custodian_core::rights::export::ExportError::Vault(VaultError::Rejected(ref api))
            if api.code == ErrorCode::CustomerNotFound
    ));
    assert!(sink.pages.is_empty());

    let progress = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = progress.clone();
    let summary = vault
        .export_with_progress(&own, &id, Lang::En, &mut sink, &move |done, total| {
            seen.lock().unwrap().push((done, total))
        })
        .await
        .unwrap();
    assert_eq!(summary.orders, orders as u64);
    // Orders arrive a page at a time, once for the JSON and once for the report.
    assert_eq!(sink.pages, vec![100, 100, 30, 100, 100, 30]);
    assert_eq!(
        progress.lock().unwrap().last(),
        Some(&(2 * orders as u64, 2 * orders as u64))
    );

    let written = sink.zip.written();
    let bytes = sink.zip.into_out().0;
    assert_eq!(written, bytes.len() as u64);
    let files = unzip(bytes);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["README.txt", "export.json", "report.html"]
    );
    let doc: Value = serde_json::from_str(&files["export.json"]).unwrap();
    assert_eq!(doc["schema"], "custodian.export/1");
    assert_eq!(doc["language"], "en");
    assert_eq!(doc["customer"]["id"], id.as_str());
    let categories: Vec<&str> = doc["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for held in [
        "account_name",
        "account_birth_date",
        "account_email",
        "account_phone",
        "order_items",
        "order_recipient",
        "order_shipping_address",
    ] {
        assert!(categories.contains(&held), "{held} is in the export");
    }
    assert!(
        !categories.contains(&"marketing_preferences"),
        "no data, no category"
    );
    let email = doc["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "account_email")
        .unwrap();
    assert_eq!(email["label"], "Email address");
    assert_eq!(email["values"][0]["value"], "huy.lam@example.com");
    assert!(!email["purposes"].as_array().unwrap().is_empty());
    assert!(!email["retention"].as_array().unwrap().is_empty());
    // The phone was given by the first correction, replaced by the second.
    assert_eq!(doc["corrections"].as_array().unwrap().len(), 1);
    assert_eq!(doc["corrections"][0]["value"], "+84912345678");
    let consents = doc["consents"].as_array().unwrap();
    assert_eq!(consents.len(), 2);
    assert!(consents[0]["id"].as_str().unwrap().starts_with("cnr_"));
    assert_eq!(doc["disclosures"]["partners"].as_array().unwrap().len(), 1);
    assert_eq!(doc["requests"][0]["details"], "Tôi muốn một bản sao");
    assert!(!doc["requests"][0]["trail"].as_array().unwrap().is_empty());
    assert_eq!(doc["order_count"], orders);
    let exported = doc["orders"].as_array().unwrap();
    assert_eq!(exported.len(), orders);
    let moved = exported.iter().find(|o| o["id"] == first.as_str()).unwrap();
    assert_eq!(moved["state"], "paid");
    assert_eq!(moved["moves"][0]["to"], "paid");
    assert_eq!(moved["items"][0].as_array().unwrap().len(), 4);
    let not_held: Vec<&str> = doc["not_held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["category"].as_str().unwrap())
        .collect();
    assert!(not_held.contains(&"voice_recording"));
    assert!(not_held.contains(&"viewing_history"));

    // The document has exactly the keys its published schema lists, at the top and in each
    // category.
    let schema: Value =
        serde_json::from_str(include_str!("../../../../docs/export.schema.json")).unwrap();
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let listed = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&doc), listed(&schema["required"]));
    assert_eq!(keys(&doc), keys(&schema["properties"]));
    for category in doc["categories"].as_array().unwrap() {
        assert_eq!(
            keys(category),
            listed(&schema["$defs"]["category"]["required"])
        );
    }
    // For a validator outside the test (`docs/EXPORT.md`): the document, when asked for.
    if let Some(path) = std::env::var_os("CUSTODIAN_EXPORT_SAMPLE") {
        std::fs::write(path, &files["export.json"]).unwrap();
    }

    let html = &files["report.html"];
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.contains("Email address") && html.contains("huy.lam@example.com"));
    assert!(html.contains("Consent history") && html.contains("Disclosure ledger"));
    assert!(html.contains("Nón lá &lt;Huế&gt;"), "values are escaped");
    assert!(!html.contains("<script"));
    // States in words, not codes.
    assert!(html.contains("State Paid") && html.contains("Placed → Paid"));
    assert!(files["README.txt"].contains("export.json"));

    // In Vietnamese, by the operator's export task.
    let mut sink = ZipSink::new(WriteOut(Vec::new()));
    let operator = RequestContext {
        principal: Principal::System {
            task: SystemTask::RightsExport,
        },
        ..ctx("account")
    };
    vault
        .export(&operator, &id, Lang::Vi, &mut sink)
        .await
        .unwrap();
    let files = unzip(sink.into_out().0);
    assert!(files["report.html"].contains("<html lang=\"vi\">"));
    assert!(files["report.html"].contains("Địa chỉ email"));
    assert!(
        files["report.html"].contains("Đã thanh toán"),
        "an order's state in Vietnamese"
    );
    let doc: Value = serde_json::from_str(&files["export.json"]).unwrap();
    assert_eq!(doc["language"], "vi");

    // Each export is one audit event, naming what it opened.
    let entries = b.store.audit_entries(0, 100_000).await.unwrap();
    let exports: Vec<String> = entries
        .iter()
        .map(|e| String::from_utf8(e.event.clone()).unwrap())
        .filter(|e| e.contains("\"customer.export\"") && e.contains("\"allowed\""))
        .collect();
    assert_eq!(exports.len(), 2);
    assert!(exports[0].contains("account_email.email"));
    assert!(exports[0].contains("order_items"));
    assert!(!exports[0].contains("huy.lam@example.com"));
}
