//! Consent, on every backend, through the vault's public API: silence is not consent, no
//! bundling, withdrawal holds from the next read and is not retroactive (and is passed on to
//! partners), the history is append-only, receipts cite the notice actually shown, wider
//! terms need renewal, minors need a representative, evidence is sealed and dies with the
//! key, who may record, and Global Privacy Control.

use std::collections::BTreeMap;
use std::sync::Arc;

use custodian_core::access::{Disclosure, Principal, Scope, Withheld};
use custodian_core::care::Care;
use custodian_core::clock::{Clock, FixedClock};
use custodian_core::consent::{
    Collection, CollectionChannel, ConsentChange, ConsentState, Evidence, GivenBy,
};
use custodian_core::error::ErrorCode;
use custodian_core::identity::RateLimiter;
use custodian_core::ids::CustomerId;
use custodian_core::notice::{NoticeArchive, publish_current_notice};
use custodian_core::notify::{Channel, RecordingNotifier};
use custodian_core::outbox::OutboxStatus;
use custodian_core::vault::{
    ConsentEntryView, ConsentView, CustomerView, KeyStore, RecordedConsent, RequestContext,
    ShownNotice, Vault, VaultError, VaultStore,
};
use custodian_crypto::{BlindIndexKey, LocalKeyring, SecretKey};
use custodian_policy::{DEFAULT_POLICY, Lang, NoticeVersion, Operation, Policy, parse};
use custodian_store::SqliteKeyStore;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::care::agent;
use crate::suite::{Backend, RawDatabase, ctx, fields, verify_chain};

/// The clock's date: a customer born on 2010-03-01 turns 16 today.
const NOW: &str = "2026-03-01T08:00:00Z";
const CURRENT: &str = "2026.7";

/// Every purpose of the default policy that rests on consent, in policy order.
const CONSENT_PURPOSES: [&str; 5] = [
    "marketing",
    "personalised_ads",
    "analytics",
    "third_party_analytics",
    "care_quality",
];

/// A vault over the backend on a policy of our choosing, with a clock that moves only when
/// told, care sessions (and a notifier to read their codes from), and the policy's notice
/// published in the backend's archive, as `serve` publishes it before answering.
pub struct ConsentFixture {
    pub vault: Vault,
    pub care: Care,
    pub notifier: Arc<RecordingNotifier>,
    pub clock: Arc<FixedClock>,
    pub policy: Arc<Policy>,
    pub version: NoticeVersion,
    pub archive: Arc<dyn NoticeArchive>,
    pub store: Arc<dyn VaultStore>,
    pub key_store: Arc<SqliteKeyStore>,
    /// The key directory (master keys and the data-key database).
    pub keys: tempfile::TempDir,
}

impl ConsentFixture {
    pub async fn new(b: &Backend, source: &str) -> ConsentFixture {
        let keys = tempfile::tempdir().unwrap();
        let key_store = Arc::new(
            SqliteKeyStore::open(keys.path().join("data-keys.db").to_str().unwrap())
                .await
                .unwrap(),
        );
        let keyring = Arc::new(LocalKeyring::open_dir(keys.path()).unwrap());
        let policy = Arc::new(parse(source).unwrap());
        let clock = Arc::new(FixedClock::new(NOW.parse::<Timestamp>().unwrap()));
        publish_current_notice(&policy, source, b.archive.as_ref(), clock.as_ref())
            .await
            .unwrap();
        let vault = Vault::new(
            policy.clone(),
            b.store.clone(),
            key_store.clone(),
            keyring,
            BlindIndexKey::new(SecretKey::from_bytes(&[7; 32]).unwrap()),
            clock.clone(),
        )
        .with_care_store(b.care.clone())
        .with_outbox_store(b.outbox.clone());
        let notifier = Arc::new(RecordingNotifier::new());
        let care = Care::new(
            policy.clone(),
            vault.clone(),
            b.care.clone(),
            notifier.clone(),
            clock.clone(),
            SecretKey::from_bytes(&[9; 32]).unwrap(),
        )
        .with_rate_limiter(RateLimiter::new(1000, 1000));
        ConsentFixture {
            vault,
            care,
            notifier,
            clock,
            version: NoticeVersion::of(&policy),
            policy,
            archive: b.archive.clone(),
            store: b.store.clone(),
            key_store,
            keys,
        }
    }

    /// A customer created by the storefront, with a date of birth when given.
    pub async fn customer(&self, name: &str, email: &str, born: Option<&str>) -> CustomerId {
        let mut input = json!({ "account_name.full_name": name, "account_email.email": email });
        if let Some(born) = born {
            input["account_birth_date.date_of_birth"] = json!(born);
        }
        self.vault
            .create(&ctx("account"), &fields(input))
            .await
            .unwrap()
    }

    /// The published notice `given` names, as the HTTP layer resolves it.
    async fn shown(&self, given: &str) -> Result<ShownNotice, VaultError> {
        ShownNotice::resolve(self.archive.as_ref(), &self.policy, &self.version, given).await
    }

    /// A change asked for on the web form, by the customer, with the current notice.
    fn web(&self) -> Collection {
        Collection {
            channel: CollectionChannel::WebForm,
            recording_id: None,
            given_by: GivenBy::Customer,
            representative_name: None,
            evidence: Evidence::default(),
        }
    }

    /// Records `changes` for `id`, by `who`, under the current notice.
    async fn record(
        &self,
        who: &Principal,
        id: &CustomerId,
        collection: &Collection,
        changes: &[ConsentChange],
    ) -> Result<Vec<RecordedConsent>, VaultError> {
        let current = self.version.version.clone();
        self.record_under(&current, who, id, collection, changes)
            .await
    }

    /// Records `changes` for `id`, by `who`, under the notice `version` names.
    async fn record_under(
        &self,
        version: &str,
        who: &Principal,
        id: &CustomerId,
        collection: &Collection,
        changes: &[ConsentChange],
    ) -> Result<Vec<RecordedConsent>, VaultError> {
        let shown = self.shown(version).await?;
        self.vault
            .record_consents(&by(who), id, &shown, collection, changes)
            .await
    }

    /// The customer records changes of their own on the web form.
    pub async fn choose(&self, id: &CustomerId, changes: &[ConsentChange]) -> Vec<RecordedConsent> {
        self.record(&me(id), id, &self.web(), changes)
            .await
            .unwrap()
    }

    async fn consents(&self, id: &CustomerId) -> Vec<ConsentView> {
        self.vault.consents(&by(&me(id)), id).await.unwrap()
    }

    async fn history(&self, id: &CustomerId) -> Vec<ConsentEntryView> {
        self.vault.consent_history(&by(&me(id)), id).await.unwrap()
    }

    async fn read(&self, who: &Principal, purpose: &str, id: &CustomerId) -> CustomerView {
        let request = RequestContext {
            principal: who.clone(),
            ..ctx(purpose)
        };
        self.vault.read(&request, id).await.unwrap()
    }

    /// Opens and verifies a care session of `agent` for `customer`, by a code to the email.
    async fn verify_session(&self, agent: &Principal, customer: &CustomerId) {
        let opened = self
            .care
            .open_care_session(agent, customer, Channel::Email, Lang::Vi, None)
            .await
            .unwrap();
        let code = self.notifier.last_code().unwrap();
        self.care
            .verify_care_session(agent, &opened.id, &code, None)
            .await
            .unwrap();
    }
}

pub fn me(id: &CustomerId) -> Principal {
    Principal::Customer { id: id.clone() }
}

/// A request by `who`; the consent use cases name no purpose of their own.
pub fn by(who: &Principal) -> RequestContext {
    RequestContext {
        principal: who.clone(),
        ..ctx("account")
    }
}

pub fn grant(purpose: &str) -> ConsentChange {
    ConsentChange {
        purpose: purpose.into(),
        state: ConsentState::Granted,
        options: BTreeMap::new(),
    }
}

pub fn deny(purpose: &str) -> ConsentChange {
    ConsentChange {
        state: ConsentState::Denied,
        ..grant(purpose)
    }
}

fn with_options(mut change: ConsentChange, options: Value) -> ConsentChange {
    change.options = options
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    change
}

fn code<T: std::fmt::Debug>(result: Result<T, VaultError>) -> ErrorCode {
    match result {
        Err(VaultError::Rejected(e)) => e.code,
        other => panic!("not a refusal: {other:?}"),
    }
}

fn state<'a>(views: &'a [ConsentView], purpose: &str) -> &'a ConsentView {
    views
        .iter()
        .find(|v| v.purpose == purpose)
        .unwrap_or_else(|| panic!("no consent view for `{purpose}`: {views:?}"))
}

/// A consent's state, and whether it needs renewal.
fn standing(view: &ConsentView) -> (&'static str, bool) {
    (view.state, view.needs_renewal)
}

fn states(views: &[ConsentView]) -> Vec<(&str, &str)> {
    views
        .iter()
        .map(|v| (v.purpose.as_str(), v.state))
        .collect()
}

/// Every field of the view withheld because the purpose rests on consent not given.
fn assert_consent_required(view: &CustomerView, who: &str) {
    assert!(!view.fields.is_empty(), "{who}: no fields");
    for (name, disclosure) in &view.fields {
        assert_eq!(
            *disclosure,
            Disclosure::Withheld(Withheld::ConsentRequired),
            "{who}: {name}"
        );
    }
}

/// No field of the view withheld for want of consent: the consent stands.
fn assert_consent_stands(view: &CustomerView, who: &str) {
    for (name, disclosure) in &view.fields {
        assert_ne!(
            *disclosure,
            Disclosure::Withheld(Withheld::ConsentRequired),
            "{who}: {name}"
        );
    }
}

/// An integration whose token may read, for `purpose` only.
fn integration_for(purpose: &str) -> Principal {
    let policy = parse(DEFAULT_POLICY).unwrap();
    Principal::Integration {
        name: "mailer".into(),
        scope: Scope {
            operations: vec![Operation::CustomersRead],
            purposes: Some(vec![policy.purpose_named(purpose).unwrap().id.clone()]),
            restricted: Vec::new(),
        },
    }
}

fn storefront() -> Principal {
    Principal::Integration {
        name: "storefront".into(),
        scope: Scope::unrestricted(),
    }
}

/// `DEFAULT_POLICY` with each `from` (which must occur exactly once) replaced by its `to`.
fn policy_with(replacements: &[(&str, &str)]) -> String {
    let mut source = DEFAULT_POLICY.to_owned();
    for (from, to) in replacements {
        assert_eq!(source.matches(from).count(), 1, "`{from}` occurs once");
        source = source.replacen(from, to, 1);
    }
    source
}

/// The default policy's notice version, as written.
const VERSION_LINE: &str = "version = \"2026.7\"";

/// Runs one statement on the backend's database through a connection of its own, as an
/// operator's shell would.
pub async fn raw_execute(b: &Backend, statement: &'static str) -> Result<u64, String> {
    match &b.raw {
        RawDatabase::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            let done = sqlx::query(statement).execute(&pool).await;
            pool.close().await;
            done.map(|d| d.rows_affected()).map_err(|e| e.to_string())
        }
        RawDatabase::Postgres(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            let done = sqlx::query(statement).execute(&mut conn).await;
            conn.close().await.unwrap();
            done.map(|d| d.rows_affected()).map_err(|e| e.to_string())
        }
    }
}

/// Everything the database holds, as bytes: the SQLite files (with the write-ahead log, not
/// yet checkpointed), or a `pg_dump` of the PostgreSQL database.
pub fn raw_contents(b: &Backend) -> Vec<u8> {
    match &b.raw {
        RawDatabase::Sqlite(path) => {
            let dir = path.parent().unwrap();
            let stem = path.file_name().unwrap().to_str().unwrap();
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with(stem)
                {
                    bytes.extend(std::fs::read(&path).unwrap());
                }
            }
            bytes
        }
        RawDatabase::Postgres(url) => crate::postgres::pg_dump(url).into_bytes(),
    }
}

/// Whether `needle` is in `haystack` as UTF-8, in either case, or hex-encoded (as a dump
/// writes binary columns).
pub fn holds(haystack: &[u8], needle: &str) -> bool {
    let hex = |s: &str| -> String { s.bytes().map(|b| format!("{b:02x}")).collect() };
    let text = String::from_utf8_lossy(haystack).to_lowercase();
    [needle.to_owned(), needle.to_lowercase()]
        .iter()
        .any(|form| text.contains(&form.to_lowercase()) || text.contains(&hex(form)))
}

// ----- 1. Silence is not consent -----

pub async fn consent_silence_is_not_consent(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let id = f
        .customer("Đoàn Minh Khôi", "khoi.doan@example.com", None)
        .await;
    let marketer = agent("marketing");
    assert_consent_required(
        &f.read(&marketer, "marketing", &id).await,
        "marketing staff",
    );
    assert_consent_required(
        &f.read(&integration_for("marketing"), "marketing", &id)
            .await,
        "marketing integration",
    );
    for purpose in CONSENT_PURPOSES {
        assert_consent_required(&f.read(&storefront(), purpose, &id).await, purpose);
    }
    // Nor can a consent purpose collect anything.
    let collect = f
        .vault
        .correct(
            &ctx("marketing"),
            &id,
            &fields(json!({ "marketing_preferences.frequency": "weekly" })),
        )
        .await;
    assert_eq!(code(collect), ErrorCode::ConsentRequired);

    let views = f.consents(&id).await;
    assert_eq!(
        states(&views),
        CONSENT_PURPOSES
            .iter()
            .map(|p| (*p, "not_asked"))
            .collect::<Vec<_>>(),
        "every consent purpose, and only those"
    );
    for view in &views {
        assert!(!view.needs_renewal, "{view:?}");
        assert!(view.changed_at.is_none() && view.notice_version.is_none());
        assert_eq!(view.options, json!({}));
    }
    assert!(f.history(&id).await.is_empty());
}

// ----- 2. No bundling -----

pub async fn consent_is_never_bundled(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let id = f
        .customer("Hà Thị Ngọc Ánh", "anh.ha@example.com", None)
        .await;
    let recorded = f.choose(&id, &[grant("analytics")]).await;
    assert_eq!(recorded.len(), 1, "one entry for one purpose");
    assert_eq!(
        (recorded[0].purpose.as_str(), recorded[0].state),
        ("analytics", "granted")
    );

    assert_consent_stands(&f.read(&storefront(), "analytics", &id).await, "analytics");
    for purpose in ["third_party_analytics", "personalised_ads", "marketing"] {
        assert_consent_required(&f.read(&storefront(), purpose, &id).await, purpose);
    }
    assert_consent_required(
        &f.read(&agent("marketing"), "marketing", &id).await,
        "marketing staff",
    );
    let views = f.consents(&id).await;
    assert_eq!(
        states(&views),
        [
            ("marketing", "not_asked"),
            ("personalised_ads", "not_asked"),
            ("analytics", "granted"),
            ("third_party_analytics", "not_asked"),
            ("care_quality", "not_asked"),
        ]
    );
    let history = f.history(&id).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].purpose, "analytics");
}

// ----- 3. Withdrawal: at once, not retroactive -----

pub async fn consent_withdrawal_holds_from_the_next_read(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let email = "bao.trinh@example.com";
    let id = f.customer("Trịnh Quốc Bảo", email, None).await;
    let marketer = agent("marketing");
    let options = json!({
        "marketing_preferences.channels": ["email"],
        "marketing_preferences.frequency": "weekly",
    });
    let granted = f
        .choose(&id, &[with_options(grant("marketing"), options.clone())])
        .await;
    // Collected for marketing, now that it may be.
    f.vault
        .correct(&ctx("marketing"), &id, &fields(options.clone()))
        .await
        .unwrap();
    let view = f.read(&marketer, "marketing", &id).await;
    assert_eq!(
        view.fields["marketing_preferences.channels"],
        Disclosure::Value("[\"email\"]".into())
    );
    assert_eq!(
        view.fields["marketing_preferences.frequency"],
        Disclosure::Value("weekly".into())
    );
    // The policy masks contact details for marketing staff.
    assert_eq!(
        view.fields["account_email.email"],
        Disclosure::Masked("b***@example.com".into())
    );
    let integration = f
        .read(&integration_for("marketing"), "marketing", &id)
        .await;
    assert_eq!(
        integration.fields["account_email.email"],
        Disclosure::Value(email.into())
    );
    let before = f.store.audit_entries(0, 10_000).await.unwrap();
    let read_event = before
        .iter()
        .filter_map(|e| e.decode())
        .rfind(|e| e.action == "customer.read" && e.actor.starts_with("staff:"))
        .unwrap();
    assert_eq!(read_event.purpose.as_deref(), Some("marketing"));
    assert!(
        read_event
            .fields
            .iter()
            .any(|f| f == "marketing_preferences.channels"),
        "{read_event:?}"
    );

    f.clock.advance(SignedDuration::from_secs(1));
    let withdrawn = f.choose(&id, &[deny("marketing")]).await;
    // The very next read: nothing.
    assert_consent_required(
        &f.read(&marketer, "marketing", &id).await,
        "marketing staff after withdrawal",
    );
    assert_consent_required(
        &f.read(&integration_for("marketing"), "marketing", &id)
            .await,
        "integration after withdrawal",
    );
    let correct = f
        .vault
        .correct(
            &ctx("marketing"),
            &id,
            &fields(json!({ "marketing_preferences.frequency": "monthly" })),
        )
        .await;
    assert_eq!(code(correct), ErrorCode::ConsentRequired);

    // Not retroactive: the grant stays in the history, the earlier reads in the audit log.
    let history = f.history(&id).await;
    assert_eq!(
        history
            .iter()
            .map(|e| (e.id.clone(), e.state))
            .collect::<Vec<_>>(),
        [
            (granted[0].id.clone(), "granted"),
            (withdrawn[0].id.clone(), "denied")
        ]
    );
    assert_eq!(history[0].options, options);
    assert_eq!(history[1].options, json!({}));
    let view = standing(state(&f.consents(&id).await, "marketing"));
    assert_eq!(view, ("denied", false));
    let after = f.store.audit_entries(0, 10_000).await.unwrap();
    assert_eq!(
        after[..before.len()],
        before[..],
        "earlier audit entries untouched"
    );
    let last_read = after
        .iter()
        .filter_map(|e| e.decode())
        .rfind(|e| e.action == "customer.read" && e.actor.starts_with("staff:"))
        .unwrap();
    assert!(last_read.fields.is_empty(), "{last_read:?}");
    assert!(
        last_read
            .withheld
            .iter()
            .any(|w| w.ends_with(":consent_required")),
        "{last_read:?}"
    );
    verify_chain(f.store.as_ref()).await;
}

// ----- 4. Withdrawal is passed on to partners -----

pub async fn consent_withdrawal_queues_partner_notices(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let id = f.customer("Lâm Gia Huy", "huy.lam@example.com", None).await;
    let never = f
        .customer("Tạ Thu Trang", "trang.ta@example.com", None)
        .await;
    f.choose(
        &id,
        &[
            grant("personalised_ads"),
            grant("third_party_analytics"),
            grant("marketing"),
        ],
    )
    .await;
    // A refusal that was never a grant tells no partner.
    let refused = f
        .choose(
            &never,
            &[deny("personalised_ads"), deny("third_party_analytics")],
        )
        .await;
    assert!(refused.iter().all(|r| r.partners_notified.is_empty()));
    assert!(
        f.vault
            .customer_outbox(&by(&me(&never)), &never)
            .await
            .unwrap()
            .is_empty()
    );

    f.clock.advance(SignedDuration::from_secs(1));
    let withdrawn = f
        .choose(
            &id,
            &[
                deny("personalised_ads"),
                deny("third_party_analytics"),
                deny("marketing"),
            ],
        )
        .await;
    let told: Vec<(&str, Vec<String>)> = withdrawn
        .iter()
        .map(|r| (r.purpose.as_str(), r.partners_notified.clone()))
        .collect();
    assert_eq!(
        told,
        [
            ("personalised_ads", vec!["ad_network".to_owned()]),
            ("third_party_analytics", vec!["google_analytics".to_owned()]),
            ("marketing", vec![]),
        ]
    );
    // The grant of personalised ads put the customer on the ad network's audience; the
    // withdrawals follow it.
    let notices: Vec<_> = f
        .vault
        .customer_outbox(&by(&me(&id)), &id)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind != "audience.add")
        .collect();
    assert_eq!(notices.len(), 2, "{notices:?}");
    for (notice, (partner, entry)) in notices.iter().zip([
        ("ad_network", &withdrawn[0].id),
        ("google_analytics", &withdrawn[1].id),
    ]) {
        assert_eq!(notice.partner, partner);
        let message = b.outbox.message(&notice.id).await.unwrap().unwrap();
        assert_eq!(
            message.consent.as_ref(),
            Some(entry),
            "the withdrawal it is about"
        );
        assert_eq!(notice.kind, "consent.withdrawn");
        assert_eq!(notice.status, OutboxStatus::Pending);
        assert_eq!(notice.created_at, f.clock.now());
    }
    // The ad network knows the customer by their hashed email: that is all it is told.
    let ads = b.outbox.message(&notices[0].id).await.unwrap().unwrap();
    assert_eq!(ads.fields, ["account_email.email"]);
    let body = f.vault.open_for_delivery(&ads).await.unwrap().unwrap();
    let body: Value = serde_json::from_slice(body.bytes()).unwrap();
    assert_eq!(body["type"], "consent.withdrawn");
    assert_eq!(body["purpose"], "personalised_ads");
    let hashed = body["data"]["account_email.email"].as_str().unwrap();
    assert_eq!(hashed.len(), 64);
    assert!(!body.to_string().contains("huy.lam"), "{body}");
    // Withdrawn again: already withdrawn, nobody to tell.
    let again = f.choose(&id, &[deny("personalised_ads")]).await;
    assert!(again[0].partners_notified.is_empty());
    assert_eq!(
        f.vault
            .customer_outbox(&by(&me(&id)), &id)
            .await
            .unwrap()
            .len(),
        3,
        "the audience addition and the two withdrawals, nothing more"
    );
}

// ----- 5. The history is append-only -----

pub async fn consent_history_is_append_only(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let id = f
        .customer("Vương Thanh Tâm", "tam.vuong@example.com", None)
        .await;
    let dpo = agent("dpo");
    let steps: [(Principal, ConsentChange, CollectionChannel); 4] = [
        (me(&id), grant("analytics"), CollectionChannel::WebForm),
        (me(&id), grant("marketing"), CollectionChannel::App),
        (dpo.clone(), deny("analytics"), CollectionChannel::Letter),
        (me(&id), grant("analytics"), CollectionChannel::Email),
    ];
    let mut seen: Vec<ConsentEntryView> = Vec::new();
    for (who, change, channel) in steps {
        f.clock.advance(SignedDuration::from_secs(60));
        let collection = Collection { channel, ..f.web() };
        let recorded = f
            .record(&who, &id, &collection, std::slice::from_ref(&change))
            .await
            .unwrap();
        let history = f.history(&id).await;
        assert_eq!(history.len(), seen.len() + 1, "one more entry");
        for (old, now) in seen.iter().zip(&history) {
            assert_eq!(
                serde_json::to_value(old).unwrap(),
                serde_json::to_value(now).unwrap(),
                "an earlier entry changed"
            );
        }
        let last = history.last().unwrap();
        assert_eq!(last.id, recorded[0].id);
        assert!(last.id.as_str().starts_with("cnr_"));
        assert_eq!(last.purpose, change.purpose);
        assert_eq!(last.state, change.state.as_str());
        assert_eq!(last.at, f.clock.now());
        assert_eq!(last.notice_version, CURRENT);
        assert_eq!(last.notice_hash, f.version.content_hash);
        assert_eq!(last.channel, channel.as_str());
        assert_eq!(last.given_by, "customer");
        assert_eq!(last.recorded_by, who.audit_name());
        assert!(!last.gpc);
        seen = history;
    }
    assert!(seen.windows(2).all(|w| w[0].at < w[1].at), "in order");
    assert_eq!(
        states(&f.consents(&id).await)[..3],
        [
            ("marketing", "granted"),
            ("personalised_ads", "not_asked"),
            ("analytics", "granted")
        ]
    );

    // Around the store, with the database's own connection: refused.
    let mut statements = vec![
        "UPDATE consent_events SET state = 'denied'",
        "UPDATE consent_events SET notice_version = '2020.1'",
        "DELETE FROM consent_events",
    ];
    if matches!(b.raw, RawDatabase::Postgres(_)) {
        statements.push("TRUNCATE consent_events CASCADE");
    }
    for statement in statements {
        let refused = raw_execute(&b, statement).await;
        let err = refused.expect_err(statement);
        assert!(err.contains("append-only"), "{statement}: {err}");
    }
    let after = f.history(&id).await;
    assert_eq!(
        serde_json::to_value(&after).unwrap(),
        serde_json::to_value(&seen).unwrap()
    );
}

// ----- 6. Receipts cite the notice actually shown -----

pub async fn consent_receipts_cite_the_notice_shown(b: Backend) {
    // The older notice described third-party analytics in other words.
    let older_source = policy_with(&[
        (VERSION_LINE, "version = \"2026.2\""),
        (
            "en = \"Analytics through a third-party service (Google Analytics)\"",
            "en = \"Analytics by Google Analytics\"",
        ),
    ]);
    let older = parse(&older_source).unwrap();
    let older_version = NoticeVersion::of(&older);
    let clock = FixedClock::new("2026-01-15T00:00:00Z".parse().unwrap());
    publish_current_notice(&older, &older_source, b.archive.as_ref(), &clock)
        .await
        .unwrap();
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    assert_ne!(older_version.content_hash, f.version.content_hash);
    let id = f
        .customer("Quách Mỹ Duyên", "duyen.quach@example.com", None)
        .await;

    // Shown the older notice on the app (a stale page, say).
    let shown = ShownNotice::resolve(f.archive.as_ref(), &f.policy, &f.version, "2026.2")
        .await
        .unwrap();
    assert_eq!(shown.version(), "2026.2");
    let app = Collection {
        channel: CollectionChannel::App,
        ..f.web()
    };
    let old = f
        .vault
        .record_consents(
            &by(&me(&id)),
            &id,
            &shown,
            &app,
            &[grant("third_party_analytics")],
        )
        .await
        .unwrap();
    // By hash too, and the current one.
    let by_hash = f.shown(&older_version.content_hash).await.unwrap();
    assert_eq!(by_hash.version(), "2026.2");
    let current = f
        .record(&me(&id), &id, &f.web(), &[grant("personalised_ads")])
        .await
        .unwrap();

    let receipt = f
        .vault
        .consent_receipt(&by(&me(&id)), &id, &old[0].id, Lang::En, f.archive.as_ref())
        .await
        .unwrap();
    let r = serde_json::to_value(&receipt).unwrap();
    crate::kantara::assert_kantara_receipt(&r);
    assert_eq!(r["version"], "KI-CR-v1.1.0");
    assert_eq!(r["consentReceiptID"], old[0].id.as_str());
    assert_eq!(r["piiPrincipalId"], id.as_str());
    assert_eq!(r["collectionMethod"], "app");
    assert_eq!(r["consentTimestamp"], f.clock.now().as_second());
    assert_eq!(r["language"], "en");
    assert_eq!(r["x-custodian"]["noticeVersion"], "2026.2");
    assert_eq!(r["x-custodian"]["noticeHash"], older_version.content_hash);
    assert_eq!(r["x-custodian"]["state"], "granted");
    assert_eq!(r["x-custodian"]["purposeId"], "third_party_analytics");
    assert_eq!(r["x-custodian"]["givenBy"], "customer");
    let url = r["policyUrl"].as_str().unwrap();
    assert!(url.contains(&older_version.content_hash), "{url}");
    assert!(!url.contains(&f.version.content_hash), "{url}");
    // Described as the notice shown described it.
    let purpose = &r["services"][0]["purposes"][0];
    assert_eq!(purpose["purpose"], "Analytics by Google Analytics");
    assert_eq!(purpose["consentType"], "EXPLICIT");
    assert_eq!(purpose["thirdPartyDisclosure"], true);
    // Viewing history is sensitive (online behaviour).
    assert_eq!(r["sensitive"], true);
    assert_eq!(r["spiCat"], json!(["Content viewed and for how long"]));

    let ads = f
        .vault
        .consent_receipt(
            &by(&me(&id)),
            &id,
            &current[0].id,
            Lang::Vi,
            f.archive.as_ref(),
        )
        .await
        .unwrap();
    let a = serde_json::to_value(&ads).unwrap();
    crate::kantara::assert_kantara_receipt(&a);
    assert_eq!(a["x-custodian"]["noticeVersion"], CURRENT);
    assert_eq!(a["x-custodian"]["noticeHash"], f.version.content_hash);
    assert_eq!(a["collectionMethod"], "web_form");
    assert_eq!(a["language"], "vi");
    assert_eq!(a["sensitive"], false, "email and phone are basic data");
    assert_eq!(a["spiCat"], json!([]));
    assert_eq!(
        a["services"][0]["purposes"][0]["thirdPartyDisclosure"],
        true
    );

    // A version never published is refused, and nothing is recorded.
    for unknown in ["2019.1", "sha256:0000"] {
        assert_eq!(
            code(f.shown(unknown).await),
            ErrorCode::UnknownNoticeVersion,
            "{unknown}"
        );
    }
    assert_eq!(f.history(&id).await.len(), 2);
    // Another customer's entry is not this customer's receipt.
    let other = f
        .customer("Mạc Đăng Khoa", "khoa.mac@example.com", None)
        .await;
    let refused = f
        .vault
        .consent_receipt(
            &by(&me(&other)),
            &other,
            &old[0].id,
            Lang::En,
            f.archive.as_ref(),
        )
        .await;
    assert_eq!(code(refused), ErrorCode::ConsentNotFound);
    let refused = f
        .vault
        .consent_receipt(
            &by(&me(&other)),
            &id,
            &old[0].id,
            Lang::En,
            f.archive.as_ref(),
        )
        .await;
    assert_eq!(code(refused), ErrorCode::CustomerNotFound);
}

// ----- 7. Renewal after a policy change -----

const VIEWING_13M: &str = "category = \"viewing_history\"\nduration = \"13m\"";
const VIEWING_2Y: &str = "category = \"viewing_history\"\nduration = \"2y\"";

pub async fn consent_needs_renewal_under_wider_terms(b: Backend) {
    // The consent was given under today's default (viewing history kept 13 months); the
    // service now runs a policy that keeps it two years.
    let clock = FixedClock::new("2026-01-15T00:00:00Z".parse().unwrap());
    let older = parse(DEFAULT_POLICY).unwrap();
    publish_current_notice(&older, DEFAULT_POLICY, b.archive.as_ref(), &clock)
        .await
        .unwrap();
    let wider = policy_with(&[
        (VERSION_LINE, "version = \"2026.8\""),
        (VIEWING_13M, VIEWING_2Y),
    ]);
    let f = ConsentFixture::new(&b, &wider).await;
    assert_eq!(f.version.version, "2026.8");
    let id = f
        .customer("Khúc Thị Mai", "mai.khuc@example.com", None)
        .await;
    let under_older = f.web();
    f.record_under(
        CURRENT,
        &me(&id),
        &id,
        &under_older,
        &[grant("third_party_analytics"), grant("personalised_ads")],
    )
    .await
    .unwrap();

    let views = f.consents(&id).await;
    let tpa = state(&views, "third_party_analytics");
    assert_eq!((tpa.state, tpa.needs_renewal), ("granted", true), "{tpa:?}");
    assert_eq!(tpa.renewal_reason, Some("retention_lengthened"));
    assert_eq!(tpa.notice_version.as_deref(), Some(CURRENT));
    // Personalised ads use no viewing history: its terms did not change.
    let ads = state(&views, "personalised_ads");
    assert_eq!(
        (ads.state, ads.needs_renewal),
        ("granted", false),
        "{ads:?}"
    );
    assert_eq!(ads.renewal_reason, None);
    assert_consent_required(
        &f.read(&storefront(), "third_party_analytics", &id).await,
        "not renewed",
    );
    assert_consent_stands(
        &f.read(&storefront(), "personalised_ads", &id).await,
        "personalised_ads",
    );

    // Renewed under the current notice: released.
    f.clock.advance(SignedDuration::from_secs(1));
    f.choose(&id, &[grant("third_party_analytics")]).await;
    let views = f.consents(&id).await;
    let tpa = state(&views, "third_party_analytics");
    assert_eq!(
        (tpa.state, tpa.needs_renewal),
        ("granted", false),
        "{tpa:?}"
    );
    assert_eq!(tpa.notice_version.as_deref(), Some("2026.8"));
    assert_consent_stands(
        &f.read(&storefront(), "third_party_analytics", &id).await,
        "renewed",
    );

    // An edit of the notice's wording changes no consent's terms: the consent stands.
    let reworded = policy_with(&[
        (VERSION_LINE, "version = \"2026.9\""),
        (VIEWING_13M, VIEWING_2Y),
        (
            "We therefore keep confidential",
            "We therefore hold in confidence",
        ),
    ]);
    let g = ConsentFixture::new(&b, &reworded).await;
    assert_ne!(g.version.content_hash, f.version.content_hash);
    let views = g.consents(&id).await;
    let tpa = state(&views, "third_party_analytics");
    assert_eq!(
        (tpa.state, tpa.needs_renewal),
        ("granted", false),
        "{tpa:?}"
    );
    assert_consent_stands(
        &g.read(&storefront(), "third_party_analytics", &id).await,
        "reworded",
    );
    // And a consent given under 2026.7 still needs renewal under 2026.9 (wider retention).
    let other = g
        .customer("Lục Văn Phong", "phong.luc@example.com", None)
        .await;
    let under_older = g.web();
    g.record_under(
        CURRENT,
        &me(&other),
        &other,
        &under_older,
        &[grant("third_party_analytics")],
    )
    .await
    .unwrap();
    let tpa = standing(state(&g.consents(&other).await, "third_party_analytics"));
    assert_eq!(tpa, ("granted", true));
}

// ----- 8. Minors need a representative -----

pub async fn consent_of_a_minor_needs_a_representative(b: Backend) {
    const PARENT: &str = "Phùng Thị Hồng Nhung";
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let minor = f
        .customer(
            "Phùng Bảo Ngọc",
            "ngoc.phung@example.com",
            Some("2010-06-01"),
        )
        .await;
    let tomorrow = f
        .customer("Cù Minh Nhật", "nhat.cu@example.com", Some("2010-03-02"))
        .await;
    let sixteen = f
        .customer("Ông Thị Yến", "yen.ong@example.com", Some("2010-03-01"))
        .await;
    let unknown = f
        .customer("Giáp Văn Tùng", "tung.giap@example.com", None)
        .await;

    for id in [&minor, &tomorrow] {
        let refused = f
            .record(
                &me(id),
                id,
                &f.web(),
                &[grant("marketing"), deny("analytics")],
            )
            .await;
        assert_eq!(code(refused), ErrorCode::RepresentativeRequired);
        assert!(f.history(id).await.is_empty(), "nothing is recorded");
    }
    // A parent without a name, or a customer naming one, is refused.
    let nameless = Collection {
        given_by: GivenBy::Parent,
        ..f.web()
    };
    let refused = f
        .record(&me(&minor), &minor, &nameless, &[grant("marketing")])
        .await;
    assert_eq!(code(refused), ErrorCode::InvalidBody);
    let named = Collection {
        representative_name: Some(PARENT.into()),
        ..f.web()
    };
    let refused = f
        .record(&me(&minor), &minor, &named, &[grant("marketing")])
        .await;
    assert_eq!(code(refused), ErrorCode::InvalidBody);

    let by_parent = Collection {
        given_by: GivenBy::Parent,
        representative_name: Some(PARENT.into()),
        ..f.web()
    };
    f.record(&me(&minor), &minor, &by_parent, &[grant("marketing")])
        .await
        .unwrap();
    let by_guardian = Collection {
        given_by: GivenBy::Guardian,
        representative_name: Some("Kiều Văn Lực".into()),
        ..f.web()
    };
    f.record(
        &agent("dpo"),
        &tomorrow,
        &by_guardian,
        &[grant("analytics")],
    )
    .await
    .unwrap();
    // A refusal needs nobody.
    f.choose(&minor, &[deny("personalised_ads")]).await;

    let history = f.history(&minor).await;
    assert_eq!(
        history
            .iter()
            .map(|e| (e.purpose.as_str(), e.state, e.given_by))
            .collect::<Vec<_>>(),
        [
            ("marketing", "granted", "parent"),
            ("personalised_ads", "denied", "customer")
        ]
    );
    assert_eq!(
        history[0].evidence.as_ref().unwrap()["representative_name"],
        PARENT
    );
    assert!(history[1].evidence.is_none());
    assert_eq!(
        standing(state(&f.consents(&minor).await, "marketing")),
        ("granted", false)
    );
    assert_eq!(f.history(&tomorrow).await[0].given_by, "guardian");

    // Sixteen today, or no date of birth: an adult, who may grant alone.
    for id in [&sixteen, &unknown] {
        f.choose(id, &[grant("marketing")]).await;
        assert_eq!(f.history(id).await[0].given_by, "customer");
    }

    // The representative's name is sealed: nowhere in the database in the clear.
    let raw = raw_contents(&b);
    assert!(holds(&raw, minor.as_str()), "the database was searched");
    for name in [PARENT, "Kiều Văn Lực"] {
        assert!(!holds(&raw, name), "`{name}` found in the database");
    }
}

// ----- 9. Evidence -----

pub async fn consent_evidence_is_truncated_sealed_and_erased(b: Backend) {
    const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 evidence-marker-7f3a";
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let id = f
        .customer("Thân Văn Đức", "duc.than@example.com", None)
        .await;
    let v4 = Collection {
        evidence: Evidence {
            request_id: Some("req-consent-1".into()),
            user_agent: Some(AGENT.into()),
            ip: Some("203.0.113.77".parse().unwrap()),
            gpc: false,
        },
        ..f.web()
    };
    f.record(&me(&id), &id, &v4, &[grant("analytics")])
        .await
        .unwrap();
    let v6 = Collection {
        evidence: Evidence {
            request_id: None,
            user_agent: None,
            ip: Some("2001:db8:85a3:8d3:1319:8a2e:370:7348".parse().unwrap()),
            gpc: false,
        },
        ..f.web()
    };
    f.record(&me(&id), &id, &v6, &[grant("marketing")])
        .await
        .unwrap();
    f.choose(&id, &[deny("care_quality")]).await;

    let history = f.history(&id).await;
    assert_eq!(
        history[0].evidence,
        Some(json!({ "truncated_ip": "203.0.113.0", "user_agent": AGENT }))
    );
    assert_eq!(
        history[1].evidence,
        Some(json!({ "truncated_ip": "2001:db8:85a3::" }))
    );
    assert_eq!(history[2].evidence, None, "none given");

    let raw = raw_contents(&b);
    assert!(holds(&raw, id.as_str()), "the database was searched");
    for clear in ["203.0.113.77", "2001:db8:85a3:8d3", "evidence-marker-7f3a"] {
        assert!(!holds(&raw, clear), "`{clear}` found in the database");
    }

    f.vault.erase(&ctx("account"), &id).await.unwrap();
    assert!(
        f.key_store.get(&id).await.unwrap().is_none(),
        "key destroyed"
    );
    // The entries stay, proving what was agreed; what was personal in them is unreadable.
    let kept = f.store.consent_history(&id).await.unwrap();
    assert_eq!(
        kept.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        history.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
    );
    let who = me(&id);
    assert_eq!(
        code(f.vault.consents(&by(&who), &id).await),
        ErrorCode::CustomerNotFound
    );
    assert_eq!(
        code(f.vault.consent_history(&by(&agent("dpo")), &id).await),
        ErrorCode::CustomerNotFound
    );
    assert_eq!(
        code(f.record(&who, &id, &f.web(), &[deny("analytics")]).await),
        ErrorCode::CustomerNotFound
    );
    assert_eq!(
        code(
            f.record(&agent("dpo"), &id, &f.web(), &[deny("analytics")])
                .await
        ),
        ErrorCode::CustomerNotFound
    );
    assert_eq!(f.store.consent_history(&id).await.unwrap().len(), 3);
}

// ----- 10. Who may record, and what -----

pub async fn consent_is_recorded_only_by_those_allowed(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let id = f.customer("Lã Thị Thu Hà", "ha.la@example.com", None).await;
    let other = f
        .customer("Ninh Văn Lộc", "loc.ninh@example.com", None)
        .await;

    // A customer, for themselves only.
    let refused = f
        .record(&me(&other), &id, &f.web(), &[grant("analytics")])
        .await;
    assert_eq!(code(refused), ErrorCode::CustomerNotFound);
    assert_eq!(
        code(f.vault.consents(&by(&me(&other)), &id).await),
        ErrorCode::CustomerNotFound
    );
    assert_eq!(
        code(f.vault.consent_history(&by(&me(&other)), &id).await),
        ErrorCode::CustomerNotFound
    );

    // A care agent only within a verified session of their own for this customer.
    let alice = agent("care_agent");
    let call = Collection {
        channel: CollectionChannel::RecordedCall,
        recording_id: Some("rec-20260301-0042".into()),
        ..f.web()
    };
    let refused = f.record(&alice, &id, &call, &[grant("care_quality")]).await;
    let Err(VaultError::Rejected(error)) = refused else {
        panic!("not refused: {refused:?}")
    };
    assert_eq!(error.code, ErrorCode::AccessDenied);
    assert!(error.message.contains("no_care_session"), "{error:?}");
    assert_eq!(
        code(f.vault.consents(&by(&alice), &id).await),
        ErrorCode::AccessDenied
    );
    f.verify_session(&alice, &id).await;
    let unrecorded = Collection {
        recording_id: None,
        ..call.clone()
    };
    assert_eq!(
        code(
            f.record(&alice, &id, &unrecorded, &[grant("care_quality")])
                .await
        ),
        ErrorCode::InvalidBody
    );
    f.record(&alice, &id, &call, &[grant("care_quality")])
        .await
        .unwrap();
    // The session is for this customer only.
    let refused = f
        .record(&alice, &other, &call, &[grant("care_quality")])
        .await;
    assert_eq!(code(refused), ErrorCode::AccessDenied);

    // The DPO always; marketing staff never.
    let dpo = agent("dpo");
    let letter = Collection {
        channel: CollectionChannel::Letter,
        ..f.web()
    };
    f.record(&dpo, &id, &letter, &[deny("personalised_ads")])
        .await
        .unwrap();
    assert_eq!(f.vault.consents(&by(&dpo), &id).await.unwrap().len(), 5);
    for role in ["marketing", "analyst", "admin"] {
        let refused = f
            .record(&agent(role), &id, &f.web(), &[grant("marketing")])
            .await;
        assert_eq!(code(refused), ErrorCode::OperationNotAllowed, "{role}");
    }

    // Marketing's options: its channels and frequency, from the listed values.
    let options = json!({
        "marketing_preferences.channels": ["email", "sms"],
        "marketing_preferences.frequency": "weekly",
    });
    f.choose(&id, &[with_options(grant("marketing"), options.clone())])
        .await;
    assert_eq!(state(&f.consents(&id).await, "marketing").options, options);

    let history = f.history(&id).await;
    assert_eq!(
        history
            .iter()
            .map(|e| (e.purpose.as_str(), e.recorded_by.clone(), e.channel))
            .collect::<Vec<_>>(),
        [
            ("care_quality", alice.audit_name(), "recorded_call"),
            ("personalised_ads", dpo.audit_name(), "letter"),
            ("marketing", me(&id).audit_name(), "web_form"),
        ]
    );
    assert_eq!(
        history[0].recording_id.as_deref(),
        Some("rec-20260301-0042")
    );
    assert_eq!(history[2].options, options);

    let bad_options = [
        (
            grant("marketing"),
            json!({ "marketing_preferences.colour": "red" }),
        ),
        (
            grant("marketing"),
            json!({ "account_email.email": "x@example.com" }),
        ),
        (
            grant("marketing"),
            json!({ "marketing_preferences.channels": ["fax"] }),
        ),
        (
            grant("marketing"),
            json!({ "marketing_preferences.channels": [] }),
        ),
        (
            grant("marketing"),
            json!({ "marketing_preferences.channels": ["email", "email"] }),
        ),
        (
            grant("marketing"),
            json!({ "marketing_preferences.channels": "email" }),
        ),
        (
            grant("marketing"),
            json!({ "marketing_preferences.frequency": "daily" }),
        ),
        (
            grant("marketing"),
            json!({ "marketing_preferences.frequency": ["weekly"] }),
        ),
        (
            deny("marketing"),
            json!({ "marketing_preferences.frequency": "weekly" }),
        ),
        (
            grant("analytics"),
            json!({ "marketing_preferences.frequency": "weekly" }),
        ),
    ];
    for (change, options) in bad_options {
        let changes = [
            grant("personalised_ads"),
            with_options(change, options.clone()),
        ];
        let refused = f.record(&me(&id), &id, &f.web(), &changes).await;
        assert_eq!(code(refused), ErrorCode::InvalidConsentOption, "{options}");
    }
    for (changes, expected) in [
        (
            vec![grant("order_fulfilment")],
            ErrorCode::ConsentNotApplicable,
        ),
        (
            vec![deny("legal_obligation")],
            ErrorCode::ConsentNotApplicable,
        ),
        (vec![grant("astrology")], ErrorCode::UnknownPurpose),
        (
            vec![grant("analytics"), deny("analytics")],
            ErrorCode::InvalidBody,
        ),
    ] {
        let refused = f.record(&me(&id), &id, &f.web(), &changes).await;
        assert_eq!(code(refused), expected, "{changes:?}");
    }
    assert_eq!(
        f.history(&id).await.len(),
        3,
        "no refusal recorded anything"
    );
    assert!(f.history(&other).await.is_empty());
}

// ----- 11. Global Privacy Control -----

pub async fn consent_gpc_withdraws_what_was_granted_without_it(b: Backend) {
    let f = ConsentFixture::new(&b, DEFAULT_POLICY).await;
    let gpc = Collection {
        evidence: Evidence {
            gpc: true,
            ..Evidence::default()
        },
        ..f.web()
    };
    let id = f
        .customer("Âu Dương Phương", "phuong.au@example.com", None)
        .await;
    f.choose(
        &id,
        &[
            grant("personalised_ads"),
            grant("third_party_analytics"),
            grant("marketing"),
            grant("analytics"),
        ],
    )
    .await;
    f.clock.advance(SignedDuration::from_secs(1));
    // The signal alone, no explicit choice.
    let withdrawn = f.record(&me(&id), &id, &gpc, &[]).await.unwrap();
    assert_eq!(
        withdrawn
            .iter()
            .map(|r| (r.purpose.as_str(), r.state, r.partners_notified.clone()))
            .collect::<Vec<_>>(),
        [
            ("personalised_ads", "denied", vec!["ad_network".to_owned()]),
            (
                "third_party_analytics",
                "denied",
                vec!["google_analytics".to_owned()]
            ),
        ]
    );
    assert_eq!(
        states(&f.consents(&id).await),
        [
            ("marketing", "granted"),
            ("personalised_ads", "denied"),
            ("analytics", "granted"),
            ("third_party_analytics", "denied"),
            ("care_quality", "not_asked"),
        ]
    );
    let history = f.history(&id).await;
    for entry in &history[4..] {
        assert_eq!(entry.channel, "gpc_signal");
        assert!(entry.gpc);
        assert_eq!(entry.state, "denied");
    }
    assert_eq!(history.len(), 6);
    assert_consent_required(
        &f.read(&storefront(), "personalised_ads", &id).await,
        "after GPC",
    );
    // Sent again: nothing more to withdraw.
    assert!(f.record(&me(&id), &id, &gpc, &[]).await.unwrap().is_empty());

    // An explicit grant made while GPC is on is the customer's choice, and stands.
    let chose = f
        .customer("Tôn Nữ Hạnh", "hanh.ton@example.com", None)
        .await;
    let recorded = f
        .record(&me(&chose), &chose, &gpc, &[grant("personalised_ads")])
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    f.choose(&chose, &[grant("third_party_analytics")]).await;
    f.clock.advance(SignedDuration::from_secs(1));
    let later = f.record(&me(&chose), &chose, &gpc, &[]).await.unwrap();
    assert_eq!(
        later.iter().map(|r| r.purpose.as_str()).collect::<Vec<_>>(),
        ["third_party_analytics"],
        "only the grant made without GPC"
    );
    let views = f.consents(&chose).await;
    assert_eq!(state(&views, "personalised_ads").state, "granted");
    assert_eq!(state(&views, "third_party_analytics").state, "denied");
    assert_consent_stands(
        &f.read(&storefront(), "personalised_ads", &chose).await,
        "explicit grant under GPC",
    );
    // With the signal and an explicit choice in one request, the choice wins.
    let both = f
        .customer("Mẫn Quang Vinh", "vinh.man@example.com", None)
        .await;
    f.choose(
        &both,
        &[grant("personalised_ads"), grant("third_party_analytics")],
    )
    .await;
    let recorded = f
        .record(&me(&both), &both, &gpc, &[grant("personalised_ads")])
        .await
        .unwrap();
    assert_eq!(
        recorded
            .iter()
            .map(|r| (r.purpose.as_str(), r.state))
            .collect::<Vec<_>>(),
        [
            ("personalised_ads", "granted"),
            ("third_party_analytics", "denied")
        ]
    );
}
