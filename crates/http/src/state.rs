//! What every handler can reach: the policy, its notice, and the ports.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use custodian_core::clock::Clock;
use custodian_core::health::Health;
use custodian_core::notice::{NoticeArchive, RenderedNotice};
use custodian_core::vault::Vault;
use custodian_policy::{NoticeVersion, Policy};

use crate::auth::TokenTable;

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Larger request bodies are refused with `payload_too_large`.
    pub max_body_bytes: usize,
    /// Requests taking longer are answered with `timeout`.
    pub request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

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
    /// The integrations allowed to call the customers API.
    pub tokens: Arc<TokenTable>,
    pub clock: Arc<dyn Clock>,
    pub config: HttpConfig,
}

impl AppState {
    /// Builds the state for `policy` (the one `vault` runs on), rendering its notice once.
    pub fn new(
        policy: Arc<Policy>,
        archive: Arc<dyn NoticeArchive>,
        health: Arc<dyn Health>,
        vault: Vault,
        tokens: TokenTable,
        clock: Arc<dyn Clock>,
        config: HttpConfig,
    ) -> AppState {
        AppState {
            notice_version: Arc::new(NoticeVersion::of(&policy)),
            notices: Arc::new(RenderedNotice::render(&policy)),
            policy,
            archive,
            health,
            vault,
            tokens: Arc::new(tokens),
            clock,
            config,
        }
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
