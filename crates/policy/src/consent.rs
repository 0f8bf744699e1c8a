//! What a customer agrees to when they consent to a purpose, so that a later policy can tell
//! which consents it leaves standing and which must be asked again.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::duration::DurationUnit;
use crate::model::{Anchor, PartnerKind, Policy, Purpose};

/// The terms of a consent to one purpose: what the purpose means, who receives data for it,
/// and how long each category it uses is kept. A consent given under earlier terms stands
/// while the current terms are no wider (same meaning, no new recipient, nothing kept
/// longer); otherwise it needs renewal and counts as not given until the customer renews it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentTerms {
    /// `sha256:` over the purpose's label and description in every language and the
    /// categories it uses, required and optional.
    pub meaning: String,
    /// Roles and partners that receive data for the purpose.
    pub recipients: BTreeSet<String>,
    /// For each category the purpose uses, how long it is kept at most.
    pub retention: BTreeMap<String, Keep>,
}

/// The longest a category is kept for a purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keep {
    /// An upper bound in days: a month counts 31 days, a year 366.
    pub days: u32,
    /// The events the periods count from.
    pub from: BTreeSet<Anchor>,
}

/// Why a consent given under earlier terms must be asked again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewalReason {
    /// The purpose's description or the categories it uses changed.
    MeaningChanged,
    /// A role or partner now receives data for the purpose.
    RecipientAdded,
    /// A category is kept longer, or counted from another event.
    RetentionLengthened,
}

impl RenewalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RenewalReason::MeaningChanged => "meaning_changed",
            RenewalReason::RecipientAdded => "recipient_added",
            RenewalReason::RetentionLengthened => "retention_lengthened",
        }
    }
}

impl ConsentTerms {
    /// The terms of `purpose` under `policy`.
    pub fn of(policy: &Policy, purpose: &Purpose) -> ConsentTerms {
        let mut hasher = Sha256::new();
        hasher.update(b"custodian-consent-meaning\0");
        // Serialised texts and ids: deterministic, since they hold no maps.
        for part in [
            serde_json::to_vec(&purpose.label),
            serde_json::to_vec(&purpose.description),
            serde_json::to_vec(&purpose.categories().collect::<Vec<_>>()),
        ] {
            hasher.update(part.unwrap_or_default());
            hasher.update(b"\0");
        }
        let recipients = policy
            .roles
            .iter()
            .filter(|r| r.purposes.contains(&purpose.id))
            .map(|r| r.id.as_str().to_owned())
            .chain(
                policy
                    .partners
                    .iter()
                    .filter(|p| p.purpose == purpose.id)
                    .map(|p| p.id.as_str().to_owned()),
            )
            .collect();
        let retention = purpose
            .categories()
            .map(|category| {
                let rules = policy
                    .retention_of(category)
                    .filter(|r| r.purpose.as_ref().is_none_or(|p| p == &purpose.id));
                let mut keep = Keep {
                    days: 0,
                    from: BTreeSet::new(),
                };
                for rule in rules {
                    let per_unit = match rule.duration.unit {
                        DurationUnit::Days => 1,
                        DurationUnit::Months => 31,
                        DurationUnit::Years => 366,
                    };
                    keep.days = keep.days.max(rule.duration.amount.saturating_mul(per_unit));
                    keep.from.insert(rule.from);
                }
                (category.as_str().to_owned(), keep)
            })
            .collect();
        ConsentTerms {
            meaning: format!("sha256:{}", hex::encode(hasher.finalize())),
            recipients,
            retention,
        }
    }

    /// Whether a consent given under `self` must be renewed under `current`, and why.
    pub fn renewal_under(&self, current: &ConsentTerms) -> Option<RenewalReason> {
        if self.meaning != current.meaning {
            return Some(RenewalReason::MeaningChanged);
        }
        if !current.recipients.is_subset(&self.recipients) {
            return Some(RenewalReason::RecipientAdded);
        }
        let lengthened =
            current
                .retention
                .iter()
                .any(|(category, now)| match self.retention.get(category) {
                    Some(then) => now.days > then.days || now.from != then.from,
                    None => true,
                });
        lengthened.then_some(RenewalReason::RetentionLengthened)
    }

    /// `sha256:` over the terms: equal terms, equal digest. What a browser keeps to notice
    /// that an anonymous visitor's stored choice must be asked again.
    pub fn digest(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(canonical)))
    }
}

/// Consent Mode v2 signals (Google's tags) that follow a consent to `purpose`: analytics
/// storage where an analytics partner receives its data, the three advertising signals where
/// an ad network does.
pub fn consent_mode_signals(policy: &Policy, purpose: &Purpose) -> Vec<&'static str> {
    let kinds: BTreeSet<PartnerKind> = policy
        .partners
        .iter()
        .filter(|p| p.purpose == purpose.id)
        .map(|p| p.kind)
        .collect();
    let mut signals = Vec::new();
    if kinds.contains(&PartnerKind::Analytics) {
        signals.push("analytics_storage");
    }
    if kinds.contains(&PartnerKind::AdNetwork) {
        signals.extend(["ad_storage", "ad_user_data", "ad_personalization"]);
    }
    signals
}

/// Whether a Global Privacy Control signal refuses `purpose`: it shares data with an ad
/// network or a third-party analytics service.
pub fn refused_by_gpc(policy: &Policy, purpose: &Purpose) -> bool {
    policy.partners.iter().any(|p| {
        p.purpose == purpose.id && matches!(p.kind, PartnerKind::AdNetwork | PartnerKind::Analytics)
    })
}
