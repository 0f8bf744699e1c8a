//! The access boundary: plaintext leaves the vault only as a [`Disclosure`], and a
//! disclosure exists only where [`AccessEngine`] released the field.
//!
//! The engine here applies the policy's purpose rules and the consent rule "never asked means
//! no"; the full decision engine (roles, need-to-know, masking, restriction) replaces the
//! body of [`AccessEngine::decide`] without moving this boundary.

use std::fmt;

use serde::Serialize;

use custodian_policy::{Category, LegalBasis, Purpose};

use crate::personal::Personal;

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A system integrated through an API token (the storefront, the PBX, …).
    Integration { name: String },
    /// Custodian itself (key rotation, retention).
    System { task: &'static str },
}

impl Principal {
    /// How the audit log names the principal.
    pub fn audit_name(&self) -> String {
        match self {
            Principal::Integration { name } => format!("integration:{name}"),
            Principal::System { task } => format!("system:{task}"),
        }
    }
}

/// Why a field was not released. Stable codes, shown to callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Withheld {
    /// The purpose named does not use this field's category.
    NotForPurpose,
    /// The purpose rests on consent, and the customer has not given it.
    ConsentRequired,
    /// The customer never gave this field.
    NotCollected,
    /// The customer was erased: the value is gone for good.
    Erased,
}

impl Withheld {
    pub fn as_str(self) -> &'static str {
        match self {
            Withheld::NotForPurpose => "not_for_purpose",
            Withheld::ConsentRequired => "consent_required",
            Withheld::NotCollected => "not_collected",
            Withheld::Erased => "erased",
        }
    }
}

/// The decision for one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldDecision {
    Release,
    Withhold(Withheld),
}

/// Decides who may see what, for which purpose.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessEngine;

impl AccessEngine {
    /// May `principal` use `category` for `purpose`? Consent-based purposes count as not
    /// consented until consent records exist: never asked means no.
    pub fn decide(
        &self,
        _principal: &Principal,
        purpose: &Purpose,
        category: &Category,
    ) -> FieldDecision {
        if !purpose.uses(&category.id) {
            FieldDecision::Withhold(Withheld::NotForPurpose)
        } else if purpose.legal_basis == LegalBasis::Consent {
            FieldDecision::Withhold(Withheld::ConsentRequired)
        } else {
            FieldDecision::Release
        }
    }
}

/// A field's value as released by a decision, or the reason it was withheld. The only way
/// plaintext leaves the core.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    Value(String),
    Withheld(Withheld),
}

impl Disclosure {
    /// Releases `value`. Crate-private: only use cases that recorded a `Release` decision
    /// call it.
    pub(crate) fn release(value: &Personal) -> Disclosure {
        Disclosure::Value(value.expose().to_owned())
    }
}

impl fmt::Debug for Disclosure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disclosure::Value(_) => f.write_str("Value(<redacted>)"),
            Disclosure::Withheld(reason) => write!(f, "Withheld({})", reason.as_str()),
        }
    }
}
