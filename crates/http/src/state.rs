//! What every handler can reach: the policy, its notice, and the ports.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use custodian_core::care::Care;
use custodian_core::clock::Clock;
use custodian_core::health::Health;
use custodian_core::identity::Identity;
use custodian_core::notice::{NoticeArchive, RenderedNotice};
use custodian_core::vault::Vault;
use custodian_policy::{NoticeVersion, Policy};

use crate::auth::TokenTable;
use crate::centre::CentreKey;

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Larger request bodies are refused with `payload_too_large`.
    pub max_body_bytes: usize,
    /// Requests taking longer are answered with `timeout`.
    pub request_timeout: Duration,
    /// Requests whose target (path and query string) is longer are refused with
    /// `uri_too_long`.
    pub max_uri_bytes: usize,
    /// The shop's origins (`https://shop.example`, exact) whose pages may call the consent
    /// banner's API (`/v1/choices`, `/v1/account/consents*`) across origins.
    pub storefront_origins: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            max_uri_bytes: 8 * 1024,
            storefront_origins: Vec::new(),
        }
    }
}

/// Password hashes computed at once, at most (sign-ins, password changes).
const PASSWORD_CHECKS: usize = 4;

#[derive(Clone)]
pub struct AppState {
    pub policy: Arc<Policy>,
    pub notice_version: Arc<NoticeVersion>,
    /// The current notice, rendered once at start-up.
    pub notices: Arc<RenderedNotice>,
    pub archive: Arc<dyn NoticeArchive>,
    pub health: Arc<dyn Health>,
    /// The customers' vault: every use of personal data goes through it.
    pub vault: Vault,
    /// Staff accounts and sessions, and integrations' stored API tokens.
    pub identity: Arc<Identity>,
    /// Care sessions (need-to-know for care agents) and customers' sign-in.
    pub care: Arc<Care>,
    /// The integrations configured in `api.tokens`.
    pub tokens: Arc<TokenTable>,
    /// Bounds the password hashes computed at once: each takes 19 MiB and tens of ms.
    pub password_checks: Arc<tokio::sync::Semaphore>,
    pub clock: Arc<dyn Clock>,
    pub config: HttpConfig,
    /// The privacy centre's key for its CSRF tokens: random for each process unless set with
    /// [`AppState::with_centre_key`] (as `serve` does, from the identity key).
    pub centre: CentreKey,
}

/// The ports and services the handlers use, for [`AppState::new`].
#[allow(
    missing_debug_implementations,
    reason = "holds ports that are not Debug"
)]
pub struct Services {
    pub archive: Arc<dyn NoticeArchive>,
    pub health: Arc<dyn Health>,
    pub vault: Vault,
    pub identity: Identity,
    pub care: Care,
    pub tokens: TokenTable,
    pub clock: Arc<dyn Clock>,
}

impl AppState {
    /// Builds the state for `policy` (the one the vault runs on), rendering its notice once.
    pub fn new(policy: Arc<Policy>, services: Services, config: HttpConfig) -> AppState {
        AppState {
            notice_version: Arc::new(NoticeVersion::of(&policy)),
            notices: Arc::new(RenderedNotice::render(&policy)),
            policy,
            archive: services.archive,
            health: services.health,
            vault: services.vault,
            identity: Arc::new(services.identity),
            care: Arc::new(services.care),
            tokens: Arc::new(services.tokens),
            password_checks: Arc::new(tokio::sync::Semaphore::new(PASSWORD_CHECKS)),
            clock: services.clock,
            config,
            centre: CentreKey::generate(),
        }
    }
}

impl AppState {
    /// Keys the privacy centre's CSRF tokens with `key`: shared by every instance configured
    /// with it, and stable across restarts.
    pub fn with_centre_key(mut self, key: custodian_crypto::SecretKey) -> AppState {
        self.centre = CentreKey::from_key(key);
        self
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("notice_version", &self.notice_version)
            .field("tokens", &self.tokens)
            .field("clock", &self.clock)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
