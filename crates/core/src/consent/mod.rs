//! Consent: one per purpose that rests on it, proven by an append-only history.
//!
//! A consent is granted, denied, or never asked — and never asked means no. Each change is its
//! own entry (no bundling: a change names one purpose) citing the notice version shown, the
//! channel, who gave it (the customer, or a parent or guardian for a minor) and the evidence
//! of the request. The access engine reads the current state on every decision, so a
//! withdrawal holds from the next request on; a consent given under terms the policy has since
//! widened (see [`custodian_policy::ConsentTerms`]) counts as not given until it is renewed.
//!
//! The use cases are on [`crate::vault::Vault`] (they need the customer's key to seal the
//! evidence); this module holds the vocabulary and the receipts.

pub mod receipt;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The state a change sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentState {
    Granted,
    Denied,
}

impl ConsentState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentState::Granted => "granted",
            ConsentState::Denied => "denied",
        }
    }

    pub fn parse(s: &str) -> Option<ConsentState> {
        [ConsentState::Granted, ConsentState::Denied]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// How the consent was collected (Decree 356/2025 art. 6: the controller keeps the means).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectionChannel {
    /// A form on the shop's website: the banner, the preferences page, the privacy centre.
    WebForm,
    /// The shop's mobile app.
    App,
    /// Said on a call to the call centre, which was recorded; the recording's id is kept.
    RecordedCall,
    /// A reply to a text message.
    Sms,
    /// A reply by email.
    Email,
    /// A signed letter.
    Letter,
    /// The browser's Global Privacy Control signal: only ever a refusal.
    GpcSignal,
}

impl CollectionChannel {
    pub const ALL: [CollectionChannel; 7] = [
        CollectionChannel::WebForm,
        CollectionChannel::App,
        CollectionChannel::RecordedCall,
        CollectionChannel::Sms,
        CollectionChannel::Email,
        CollectionChannel::Letter,
        CollectionChannel::GpcSignal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CollectionChannel::WebForm => "web_form",
            CollectionChannel::App => "app",
            CollectionChannel::RecordedCall => "recorded_call",
            CollectionChannel::Sms => "sms",
            CollectionChannel::Email => "email",
            CollectionChannel::Letter => "letter",
            CollectionChannel::GpcSignal => "gpc_signal",
        }
    }

    pub fn parse(s: &str) -> Option<CollectionChannel> {
        CollectionChannel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Who gave (or refused) the consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GivenBy {
    /// The customer themselves.
    Customer,
    /// A parent of a minor customer.
    Parent,
    /// A legal guardian of the customer.
    Guardian,
}

impl GivenBy {
    pub fn as_str(self) -> &'static str {
        match self {
            GivenBy::Customer => "customer",
            GivenBy::Parent => "parent",
            GivenBy::Guardian => "guardian",
        }
    }

    pub fn parse(s: &str) -> Option<GivenBy> {
        [GivenBy::Customer, GivenBy::Parent, GivenBy::Guardian]
            .into_iter()
            .find(|g| g.as_str() == s)
    }

    pub fn is_representative(self) -> bool {
        self != GivenBy::Customer
    }
}

/// The request a change came with. The user agent and address are personal data: they are
/// kept sealed under the customer's key, with the representative's name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    pub request_id: Option<String>,
    pub user_agent: Option<String>,
    /// The client's address; only its network part is kept (see [`truncate_ip`]).
    pub ip: Option<std::net::IpAddr>,
    /// The browser sent a Global Privacy Control signal with the change.
    pub gpc: bool,
}

impl std::fmt::Debug for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evidence")
            .field("request_id", &self.request_id)
            .field("gpc", &self.gpc)
            .finish_non_exhaustive()
    }
}

/// The network part of an address: the first three octets of IPv4 (a /24), the first three
/// groups of IPv6 (a /48) — what GA4 and most analytics keep, enough to tell a region and an
/// operator, not a household.
pub fn truncate_ip(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0")
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            let part = |i: usize| s.get(i).copied().unwrap_or(0);
            format!("{:x}:{:x}:{:x}::", part(0), part(1), part(2))
        }
    }
}

/// A change to one consent, as asked for.
#[derive(Debug, Clone)]
pub struct ConsentChange {
    /// The purpose id as given; checked against the policy.
    pub purpose: String,
    pub state: ConsentState,
    /// Choices within the consent: for a purpose whose required categories hold enum fields
    /// (marketing's channels and frequency), the values agreed to.
    pub options: BTreeMap<String, serde_json::Value>,
}

/// How a set of changes was collected: shared by every change of one request. (The notice
/// shown when asking is a [`crate::vault::ShownNotice`], resolved from the archive.)
#[derive(Clone)]
pub struct Collection {
    pub channel: CollectionChannel,
    /// The call recording that holds the consent, for [`CollectionChannel::RecordedCall`].
    pub recording_id: Option<String>,
    pub given_by: GivenBy,
    /// The representative's name, required when [`GivenBy::is_representative`].
    pub representative_name: Option<String>,
    pub evidence: Evidence,
}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("channel", &self.channel)
            .field("given_by", &self.given_by)
            .field("evidence", &self.evidence)
            .finish_non_exhaustive()
    }
}
