//! The vault's admin commands: `keys rotate`, `keys status`, `audit verify`. Each opens the
//! same database and keys as `serve`, and may run while the service does.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use custodian_core::audit::{ChainBreak, ChainVerifier};
use custodian_core::care::CareStore;
use custodian_core::clock::SystemClock;
use custodian_core::health::Health;
use custodian_core::identity::IdentityStore;
use custodian_core::legal::LegalStore;
use custodian_core::notice::NoticeArchive;
use custodian_core::outbox::OutboxStore;
use custodian_core::rights::erasure::ErasureStore;
use custodian_core::rights::export::ExportLinkStore;
use custodian_core::rights::request::RequestStore;
use custodian_core::vault::{KeyStore, Vault, VaultStore};
use custodian_crypto::KeyWrapper;
use custodian_store::{PgKeyStore, PgStore, SqliteKeyStore, SqliteStore};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::Config;
use crate::keys::Keys;
use crate::policy_source::PolicySource;
use crate::{Failure, output};

/// The name of the customers' data-key database in the key directory: kept apart from the
/// data, so that a backup of the data holds no key.
const KEY_STORE_FILE: &str = "data-keys.db";

/// The database, the vault's storage in it, the data-key store, and the keys.
pub struct Opened {
    pub archive: Arc<dyn NoticeArchive>,
    pub health: Arc<dyn Health>,
    pub vault_store: Arc<dyn VaultStore>,
    pub identity_store: Arc<dyn IdentityStore>,
    pub care_store: Arc<dyn CareStore>,
    /// The outbox to partners, in the same database as the vault.
    pub outbox_store: Arc<dyn OutboxStore>,
    /// Legal holds, erasure reports and partners' confirmations, in the same database.
    pub erasure_store: Arc<dyn ErasureStore>,
    /// Legal requests and releases, in the same database.
    pub legal_store: Arc<dyn LegalStore>,
    /// Data subjects' requests, in the same database.
    pub request_store: Arc<dyn RequestStore>,
    /// Customers' export download links, in the same database.
    pub export_store: Arc<dyn ExportLinkStore>,
    pub key_store: Arc<dyn KeyStore>,
    pub keys: Keys,
    data: Data,
    key_data: KeyData,
}

/// The backends behind the trait objects, kept to close them.
enum Data {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

enum KeyData {
    Sqlite(SqliteKeyStore),
    Postgres(PgKeyStore),
}

impl Opened {
    pub async fn close(&self) {
        match &self.data {
            Data::Sqlite(s) => s.close().await,
            Data::Postgres(s) => s.close().await,
        }
        match &self.key_data {
            KeyData::Sqlite(s) => s.close().await,
            KeyData::Postgres(s) => s.close().await,
        }
    }
}

/// The data database seen through each port, and the backend itself.
type DataStores = (
    Arc<dyn NoticeArchive>,
    Arc<dyn Health>,
    (
        Arc<dyn VaultStore>,
        Arc<dyn OutboxStore>,
        Arc<dyn ErasureStore>,
    ),
    Arc<dyn IdentityStore>,
    Arc<dyn CareStore>,
    Data,
);

/// Whether `inner` is `outer` or lies below it (both exist).
fn is_inside(inner: &std::path::Path, outer: &std::path::Path) -> bool {
    match (inner.canonicalize(), outer.canonicalize()) {
        (Ok(inner), Ok(outer)) => inner.starts_with(outer),
        _ => false,
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens what `serve` and the admin commands share: SQLite files by default, PostgreSQL for
/// a `postgres://` URL. Creates the data directory, the key files and the databases on first
/// use. Errors never quote a URL: it may hold a password.
pub async fn open(config: &Config) -> Result<Opened, Failure> {
    crate::serve::create_private_dir(&config.data_dir, "data directory")?;
    let keys_dir = config.keys_dir();
    crate::serve::create_private_dir(&keys_dir, "key directory")?;
    if is_inside(&keys_dir, &config.data_dir) {
        return Err(Failure::invalid(
            "error: `keys.dir` is inside `data_dir`: keep the keys apart, or a backup of the data holds them",
        ));
    }
    let keys = Keys::load(config)?;
    let cannot = |what: &str, e: custodian_core::StoreError| {
        Failure::invalid(format!("error: cannot open {what}: {e}"))
    };

    let (key_store, key_data): (Arc<dyn KeyStore>, KeyData) = match &config.keys.database_url {
        Some(url) if is_postgres(url.expose()) => {
            let s = PgKeyStore::open(url.expose())
                .await
                .map_err(|e| cannot("the data-key store", e))?;
            (Arc::new(s.clone()), KeyData::Postgres(s))
        }
        Some(_) => {
            return Err(Failure::invalid(
                "error: `keys.database_url` must be a `postgres://` URL",
            ));
        }
        None => {
            let path = keys_dir.join(KEY_STORE_FILE);
            let s = SqliteKeyStore::open(&path.to_string_lossy())
                .await
                .map_err(|e| cannot("the data-key store", e))?;
            (Arc::new(s.clone()), KeyData::Sqlite(s))
        }
    };
    let database = config.database();
    if config
        .keys
        .database_url
        .as_ref()
        .is_some_and(|k| k.expose() == database)
    {
        return Err(Failure::invalid(
            "error: `keys.database_url` names the data's own database: keep the keys apart, or a backup of the data holds them",
        ));
    }
    let (
        archive,
        health,
        (vault_store, outbox_store, erasure_store),
        identity_store,
        care_store,
        data,
    ): DataStores = if is_postgres(&database) {
        let s = PgStore::open(&database)
            .await
            .map_err(|e| cannot("the database", e))?;
        let vault = s
            .vault(keys.audit.clone())
            .await
            .map_err(|e| cannot("the vault", e))?;
        let vault = Arc::new(vault);
        (
            Arc::new(s.clone()),
            Arc::new(s.clone()),
            (vault.clone(), vault.clone(), vault),
            Arc::new(s.identity()),
            Arc::new(s.care()),
            Data::Postgres(s),
        )
    } else {
        let s = SqliteStore::open(&database)
            .await
            .map_err(|e| cannot("the database", e))?;
        let vault = s
            .vault(keys.audit.clone())
            .await
            .map_err(|e| cannot("the vault", e))?;
        let vault = Arc::new(vault);
        (
            Arc::new(s.clone()),
            Arc::new(s.clone()),
            (vault.clone(), vault.clone(), vault),
            Arc::new(s.identity()),
            Arc::new(s.care()),
            Data::Sqlite(s),
        )
    };
    // A key store that is new or empty while the data holds customers means the keys are
    // not where they should be (a moved or missing key directory): starting would show
    // every customer as erased.
    let keys_held: u64 = key_store
        .key_versions()
        .await
        .map_err(|e| cannot("the data-key store", e))?
        .iter()
        .map(|(_, n)| n)
        .sum();
    if keys_held == 0
        && vault_store
            .live_customers()
            .await
            .map_err(|e| cannot("the vault", e))?
            > 0
    {
        return Err(Failure::invalid(format!(
            "error: the data-key store in `{}` holds no key but the database holds customers: is `keys.dir` (or `keys.database_url`) right?",
            keys_dir.display()
        )));
    }
    // Blind indexes an older version kept with the data go to the key store, before anything
    // is served (a no-op once done). Only once the key store is known to be the right one: a
    // row is copied only for a customer whose key it holds.
    match &data {
        Data::Postgres(s) => s.move_blind_indexes(key_store.as_ref()).await,
        Data::Sqlite(s) => s.move_blind_indexes(key_store.as_ref()).await,
    }
    .map_err(|e| {
        Failure::invalid(format!(
            "error: cannot move the blind indexes to the data-key store: {e}"
        ))
    })?;
    let (legal_store, request_store): (Arc<dyn LegalStore>, Arc<dyn RequestStore>) = match &data {
        Data::Postgres(s) => (Arc::new(s.legal()), Arc::new(s.requests())),
        Data::Sqlite(s) => (Arc::new(s.legal()), Arc::new(s.requests())),
    };
    let export_store: Arc<dyn ExportLinkStore> = match &data {
        Data::Postgres(s) => Arc::new(s.exports()),
        Data::Sqlite(s) => Arc::new(s.exports()),
    };
    Ok(Opened {
        archive,
        health,
        vault_store,
        identity_store,
        care_store,
        outbox_store,
        erasure_store,
        legal_store,
        request_store,
        export_store,
        key_store,
        keys,
        data,
        key_data,
    })
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::io(format!("error: cannot start the async runtime: {e}")))
}

fn unavailable(e: impl std::fmt::Display) -> Failure {
    Failure::io(format!("error: the vault's storage failed: {e}"))
}

/// `custodian keys rotate`.
pub fn rotate(config_file: Option<&Path>, batch: u32) -> Result<(), Failure> {
    let config = Config::load(config_file)?;
    let policy = PolicySource::resolve(None, config_file)?.parse()?;
    runtime()?.block_on(async {
        let opened = open(&config).await?;
        let keyring = opened.keys.keyring.clone();
        let active = keyring.active_version();
        let behind: u64 = stale_keys(opened.key_store.as_ref(), active).await?;
        if opened.keys.configured {
            output::out(&format!(
                "master keys come from `keys.master`: re-wrapping under its highest version, \
                 {active} (to rotate, add a new `N:<base64>` version there first)"
            ));
        } else if behind > 0 {
            output::out(&format!(
                "resuming: {behind} data key(s) are not yet under the active master key \
                 version {active}"
            ));
        } else {
            let added = keyring
                .add_version()
                .map_err(|e| Failure::io(format!("error: cannot add a master key: {e}")))?;
            output::out(&format!(
                "added master key version {added} in `{}`",
                config.keys_dir().display()
            ));
        }
        let vault = Vault::new(
            Arc::new(policy),
            opened.vault_store.clone(),
            opened.key_store.clone(),
            keyring.clone(),
            opened.keys.index.clone(),
            Arc::new(SystemClock),
        );
        let bar = progress_bar();
        let result = vault
            .rewrap_keys(batch, |p| {
                bar.set_length(p.total);
                bar.set_position(p.rewrapped);
            })
            .await;
        bar.finish_and_clear();
        let done = result.map_err(|e| Failure::io(format!("error: rotation stopped: {e}")))?;
        output::out(&format!(
            "re-wrapped {} data key(s) under master key version {}",
            done.rewrapped, done.target_version
        ));
        let left = stale_keys(opened.key_store.as_ref(), done.target_version).await?;
        if left > 0 {
            // A running service wraps new keys under the version it knew until it reloads
            // its key directory; those few are caught by the next run.
            output::out(&format!(
                "{left} data key(s) created meanwhile are under an older version; \
                 run `custodian keys rotate` again to finish"
            ));
        }
        opened.close().await;
        Ok(())
    })
}

/// Live data keys not wrapped under `version`.
async fn stale_keys(store: &dyn KeyStore, version: u32) -> Result<u64, Failure> {
    let versions = store.key_versions().await.map_err(unavailable)?;
    Ok(versions
        .iter()
        .filter(|(v, _)| *v != version)
        .map(|(_, n)| n)
        .sum())
}

/// Progress on standard error, drawn only for a person watching a terminal.
fn progress_bar() -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(0), target);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} data keys re-wrapped ({eta} left)")
    {
        bar.set_style(style);
    }
    bar
}

/// `custodian keys status`.
pub fn status(config_file: Option<&Path>) -> Result<(), Failure> {
    let config = Config::load(config_file)?;
    runtime()?.block_on(async {
        let opened = open(&config).await?;
        let active = opened.keys.keyring.active_version();
        let versions = opened.key_store.key_versions().await.map_err(unavailable)?;
        let mut lines = vec![format!("active master key version: {active}")];
        if versions.is_empty() {
            lines.push("no data keys".into());
        }
        for (version, count) in versions {
            lines.push(format!("master key version {version}: {count} data key(s)"));
        }
        output::out(&lines.join("\n"));
        opened.close().await;
        Ok(())
    })
}

/// `custodian audit verify`: exit 0 if the whole chain verifies, 1 at the first break.
pub fn verify(config_file: Option<&Path>) -> Result<(), Failure> {
    let config = Config::load(config_file)?;
    runtime()?.block_on(async {
        let opened = open(&config).await?;
        let store = opened.vault_store.as_ref();
        let broken = |e: ChainBreak| Failure::invalid(format!("audit chain broken: {e}"));
        let checkpoints = store.audit_checkpoints().await.map_err(unavailable)?;
        let mut verifier = ChainVerifier::new(&opened.keys.audit, checkpoints).map_err(broken)?;
        let mut after = 0;
        loop {
            let page = store
                .audit_entries(after, 1000)
                .await
                .map_err(unavailable)?;
            let Some(last) = page.last() else { break };
            let next = last.seq;
            for entry in &page {
                verifier.push(entry).map_err(broken)?;
            }
            after = next;
        }
        let report = verifier.finish().map_err(broken)?;
        output::out(&format!(
            "audit chain ok: {} entries, {} checkpoints, last entry {}",
            report.entries, report.checkpoints, report.last_seq
        ));
        opened.close().await;
        Ok(())
    })
}
