//! `custodian serve`: load everything, publish the notice, serve until a signal.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use custodian_core::StoreError;
use custodian_core::care::Care;
use custodian_core::clock::SystemClock;
use custodian_core::identity::Identity;
use custodian_core::notice::{PublishOutcome, publish_current_notice};
use custodian_core::notify::{DisabledNotifier, Notifier};
use custodian_core::outbox::dispatch::{DispatchSettings, Dispatcher};
use custodian_core::outbox::{PartnerSender, PartnerVerifier};
use custodian_core::vault::{RequestRules, Vault};
use custodian_crypto::KeyWrapper;
use custodian_http::TokenTable;
use custodian_http::{AppState, HttpConfig, Services};
use custodian_notify::{SmtpNotifier, SmtpSettings};
use custodian_partners::{Endpoint, HttpPartnerSender};
use custodian_policy::NoticeVersion;
use tokio::sync::Notify;
use tracing_subscriber::EnvFilter;
use zeroize::Zeroizing;

use crate::Failure;
use crate::admin;
use crate::config::{Config, LogFormat};
use crate::connections;
use crate::keys::{Keys, api_tokens};
use crate::policy_source::PolicySource;

pub fn run(config_file: Option<&Path>) -> Result<(), Failure> {
    let config = Config::load(config_file)?;
    init_logging(&config)?;
    let source = PolicySource::resolve(None, config_file)?;
    let policy = source.parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::io(format!("error: cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(config, policy, source))
}

async fn serve(
    config: Config,
    policy: custodian_policy::Policy,
    source: PolicySource,
) -> Result<(), Failure> {
    let tokens = api_tokens(config.api.tokens.as_ref())?;
    let notifier = notifier(&config)?;
    let sender = partner_sender(&config, &policy)?;
    // Partners sign their erasure confirmations with the secret of their webhooks.
    let verifier: Arc<dyn PartnerVerifier> = sender.clone();
    let sender: Arc<dyn PartnerSender> = sender;
    config.http.validate()?;
    let storefront_origins = config.storefront.validated_origins()?;
    let (jurisdiction, calendar) = config.rights.validated()?;
    let opened = admin::open(&config).await?;
    let clock = Arc::new(SystemClock);
    let version = NoticeVersion::of(&policy);
    match publish_current_notice(
        &policy,
        &source.text,
        opened.archive.as_ref(),
        clock.as_ref(),
    )
    .await
    {
        Ok(PublishOutcome::Published) => tracing::info!(
            version = %version.version, content_hash = %version.content_hash, "published a new notice version"
        ),
        Ok(PublishOutcome::AlreadyPublished) => tracing::info!(
            version = %version.version, content_hash = %version.content_hash, "notice version already published"
        ),
        Err(e @ StoreError::NoticeVersionConflict { .. }) => {
            return Err(Failure::invalid(format!("error: refusing to start: {e}")));
        }
        Err(e) => {
            return Err(Failure::invalid(format!(
                "error: cannot publish the notice: {e}"
            )));
        }
    }

    let keys = &opened.keys;
    let http = HttpConfig {
        max_body_bytes: config.http.max_body_bytes,
        request_timeout: Duration::from_secs(config.http.request_timeout_secs),
        max_uri_bytes: config.http.max_uri_bytes,
        storefront_origins,
    };
    let limits = connections::Limits {
        header_read_timeout: Duration::from_secs(config.http.header_read_timeout_secs),
        max_connections: config.http.max_connections,
        max_connections_per_address: config.http.max_connections_per_address,
    };
    let policy = Arc::new(policy);
    let vault = Vault::new(
        policy.clone(),
        opened.vault_store.clone(),
        opened.key_store.clone(),
        keys.keyring.clone(),
        keys.index.clone(),
        clock.clone(),
    )
    .with_care_store(opened.care_store.clone())
    .with_outbox_store(opened.outbox_store.clone())
    .with_erasure_store(opened.erasure_store.clone())
    .with_partner_verifier(verifier)
    .with_legal_store(opened.legal_store.clone())
    .with_request_store(
        opened.request_store.clone(),
        RequestRules::new(jurisdiction, calendar),
    )
    .with_export_store(opened.export_store.clone())
    .with_notifier(notifier.clone());
    log_keys(keys, &tokens);
    let identity = Identity::new(
        policy.clone(),
        opened.identity_store.clone(),
        clock.clone(),
        keys.identity.derive("staff totp secrets"),
    );
    let care = Care::new(
        policy.clone(),
        vault.clone(),
        opened.care_store.clone(),
        notifier,
        clock.clone(),
        keys.identity.derive("one-time codes"),
    );
    bootstrap_admin(&identity).await?;
    let dispatcher = Dispatcher::new(
        vault.clone(),
        opened.outbox_store.clone(),
        sender,
        clock.clone(),
        dispatch_settings(&config),
    );
    let services = Services {
        archive: opened.archive.clone(),
        health: opened.health.clone(),
        vault,
        identity,
        care,
        tokens,
        clock,
    };
    // Derived from the identity key (kept apart from the database, the same on every
    // instance): a form rendered by one instance, or before a restart, is accepted by another.
    let state = AppState::new(policy, services, http)
        .with_centre_key(keys.identity.derive("privacy centre forms"));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Failure::io(format!("error: cannot listen on {}: {e}", config.listen)))?;
    let address = listener
        .local_addr()
        .map_err(|e| Failure::io(format!("error: cannot read the bound address: {e}")))?;
    let shutdown = shutdown_signal();
    tracing::info!("listening on {address}");

    let stop = Arc::new(Notify::new());
    let server = {
        let stop = stop.clone();
        let app = custodian_http::router(state);
        // Each request head has a deadline, connections are capped in all and per client
        // (`http.*`); on the stop, the connections drain.
        connections::serve(listener, app, limits, async move { stop.notified().await })
    };
    let mut server = tokio::spawn(server);
    // The outbox's worker, beside the server; stopped with it (a pass under way finishes,
    // each send bounded by `outbox.timeout_secs`).
    let stop_outbox = Arc::new(Notify::new());
    let outbox = {
        let stop = stop_outbox.clone();
        tokio::spawn(async move { dispatcher.run(async move { stop.notified().await }).await })
    };
    let finished_early = tokio::select! {
        result = &mut server => Some(result),
        () = shutdown => None,
    };
    let result = match finished_early {
        Some(result) => result,
        None => {
            tracing::info!("shutting down");
            // `notify_one` keeps a permit if the server is not waiting yet, so the stop is not lost.
            stop.notify_one();
            let grace = Duration::from_secs(config.http.shutdown_grace_secs);
            match tokio::time::timeout(grace, &mut server).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!("grace period over; closing the remaining connections");
                    // Dropping the server closes every connection it still holds.
                    server.abort();
                    Ok(())
                }
            }
        }
    };
    stop_outbox.notify_one();
    let grace = Duration::from_secs(config.outbox.timeout_secs.saturating_add(5));
    if tokio::time::timeout(grace, outbox).await.is_err() {
        tracing::warn!("the outbox worker did not stop in time; its leases will lapse");
    }
    opened.close().await;
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            Ok(())
        }
        Err(e) => Err(Failure::invalid(format!(
            "error: the server task failed: {e}"
        ))),
    }
}

/// On the very first start, creates the administrator and prints its one-time password —
/// once, on standard output, never in the logs. It must be changed at first sign-in.
async fn bootstrap_admin(identity: &Identity) -> Result<(), Failure> {
    let created = identity.bootstrap_admin().await.map_err(|e| {
        Failure::invalid(format!("error: cannot create the first administrator: {e}"))
    })?;
    if let Some(admin) = created {
        tracing::info!(user = %admin.user, "created the first administrator");
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "\nFirst start: an administrator was created.\n  login:    {}\n  password: {}\n\
             Sign in (POST /v1/sessions) and change this one-time password now; it is not shown \
             again.\n",
            admin.login,
            admin.password.as_str()
        );
        let _ = out.flush();
    }
    Ok(())
}

/// The SMTP notifier of `notify.*`, or the disabled one without `notify.smtp_url`. Refuses a
/// bad URL or address before anything opens; nothing said quotes the URL (it may hold a
/// password).
fn notifier(config: &Config) -> Result<Arc<dyn Notifier>, Failure> {
    let notify = &config.notify;
    let Some(url) = &notify.smtp_url else {
        tracing::warn!(
            "no SMTP relay configured (`notify.smtp_url`): one-time codes cannot be sent, so \
             customers cannot sign in by code and care sessions cannot be verified"
        );
        return Ok(Arc::new(DisabledNotifier));
    };
    let Some(from) = &notify.from else {
        return Err(Failure::invalid(
            "error: invalid configuration: `notify.from` is required with `notify.smtp_url`",
        ));
    };
    let settings = SmtpSettings {
        url: url.expose().to_owned(),
        password: notify.smtp_password.as_ref().map(|p| p.expose().to_owned()),
        from: from.clone(),
        reply_to: notify.reply_to.clone(),
        timeout: Duration::from_secs(notify.timeout_secs.max(1)),
    };
    let smtp = SmtpNotifier::new(&settings)
        .map_err(|e| Failure::invalid(format!("error: invalid configuration: `notify`: {e}")))?;
    tracing::info!(
        relay = smtp.relay(),
        timeout_secs = settings.timeout.as_secs(),
        "one-time codes are sent by email"
    );
    Ok(Arc::new(smtp))
}

/// The partners' webhooks of `partners.*`. Refuses an id the policy does not declare and a
/// URL that is not TLS (but to loopback); says once which partners have no URL (their
/// messages wait). Nothing said quotes a URL or a secret.
fn partner_sender(
    config: &Config,
    policy: &custodian_policy::Policy,
) -> Result<Arc<HttpPartnerSender>, Failure> {
    let mut endpoints = BTreeMap::new();
    for (id, partner) in &config.partners {
        if !policy.partners.iter().any(|p| p.id.as_str() == id) {
            return Err(Failure::invalid(format!(
                "error: invalid configuration: `partners.{id}`: the policy declares no partner `{id}`"
            )));
        }
        let Some(url) = &partner.url else { continue };
        let secret = partner.secret.as_ref().map(|s| s.expose()).unwrap_or("");
        endpoints.insert(
            id.clone(),
            Endpoint {
                url: url.expose().to_owned(),
                secret: Zeroizing::new(secret.as_bytes().to_vec()),
            },
        );
    }
    for partner in &policy.partners {
        if !endpoints.contains_key(partner.id.as_str()) {
            tracing::warn!(
                partner = partner.id.as_str(),
                "no URL configured for this partner (`partners.<id>.url`): its messages wait in the outbox"
            );
        }
    }
    let timeout = Duration::from_secs(config.outbox.timeout_secs.max(1));
    let sender = HttpPartnerSender::new(endpoints, timeout)
        .map_err(|e| Failure::invalid(format!("error: invalid configuration: {e}")))?;
    let reachable = sender.partners();
    if !reachable.is_empty() {
        tracing::info!(partners = %reachable.join(","), "outbox delivers to partners");
    }
    Ok(Arc::new(sender))
}

fn dispatch_settings(config: &Config) -> DispatchSettings {
    let outbox = &config.outbox;
    let timeout = Duration::from_secs(outbox.timeout_secs.max(1));
    DispatchSettings {
        max_attempts: outbox.max_attempts.max(1),
        backoff_base: Duration::from_millis(outbox.backoff_base_ms.max(1)),
        backoff_cap: Duration::from_secs(outbox.backoff_cap_secs.max(1)),
        // Longer than any send, so a message is never claimed again while it is going out.
        lease: timeout
            .saturating_mul(2)
            .saturating_add(Duration::from_secs(30)),
        batch: 32,
        poll: Duration::from_millis(outbox.poll_ms.max(10)),
    }
}

/// Names and versions only: never key material or tokens.
fn log_keys(keys: &Keys, tokens: &TokenTable) {
    let source = if keys.configured {
        "configuration"
    } else {
        "key files"
    };
    tracing::info!(
        master_key_version = keys.keyring.active_version(),
        source,
        "vault keys loaded"
    );
    if tokens.is_empty() {
        tracing::info!(
            "no API tokens configured (`api.tokens`): integrations need tokens issued by an \
             administrator (POST /v1/tokens)"
        );
    } else {
        let names: Vec<&str> = tokens.names().collect();
        tracing::info!(integrations = %names.join(","), "API tokens loaded");
    }
}

fn init_logging(config: &Config) -> Result<(), Failure> {
    let filter = EnvFilter::try_new(&config.log.level).map_err(|e| {
        Failure::invalid(format!(
            "error: invalid `log.level` `{}`: {e}",
            config.log.level
        ))
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match config.log.format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| Failure::invalid(format!("error: cannot start logging: {e}")))
}

/// Creates a directory readable only by the service's user: the data directory holds the
/// database, the key directory the keys.
pub fn create_private_dir(path: &Path, what: &str) -> Result<(), Failure> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(|e| {
        Failure::io(format!(
            "error: cannot create {what} `{}`: {e}",
            path.display()
        ))
    })
}

/// Installs the handlers for SIGINT and SIGTERM now — before the address is announced, so
/// that a signal sent as soon as the server can be reached is never lost to the default
/// action — and returns what completes on the first of them.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            // A handler that could not be installed never fires; the other still does.
            let wait = |handler: Option<tokio::signal::unix::Signal>| async move {
                match handler {
                    Some(mut handler) => {
                        handler.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {},
                () = wait(terminate) => {},
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
