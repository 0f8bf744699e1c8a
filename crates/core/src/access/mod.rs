//! The access boundary: plaintext leaves the vault only as a [`Disclosure`], and a
//! disclosure exists only where the [`AccessEngine`] released the field — in the clear or
//! masked — after the decision was written to the audit log.

mod engine;
mod mask;

use std::fmt;

use serde::Serialize;

use custodian_policy::{CategoryId, Operation, PurposeId, RoleId};

use crate::ids::CustomerId;
use crate::personal::Personal;

pub use engine::{AccessContext, AccessEngine, Decision, Explanation, FieldOutcome, Purposes};
pub use mask::mask;

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A member of staff, acting in one of the policy's roles.
    Staff { user: String, role: RoleId },
    /// A customer, who may act only on themselves.
    Customer { id: CustomerId },
    /// A system integrated through an API token (the storefront, the PBX, …).
    Integration { name: String, scope: Scope },
    /// Custodian itself, for one of its own tasks.
    System { task: SystemTask },
}

impl Principal {
    /// How the audit log names the principal.
    pub fn audit_name(&self) -> String {
        match self {
            Principal::Staff { user, role } => format!("staff:{user}:{role}"),
            Principal::Customer { id } => format!("customer:{id}"),
            Principal::Integration { name, .. } => format!("integration:{name}"),
            Principal::System { task } => format!("system:{}", task.as_str()),
        }
    }
}

/// What an integration's token lets it do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub operations: Vec<Operation>,
    /// The purposes it may act for; `None` is every purpose the policy declares.
    pub purposes: Option<Vec<PurposeId>>,
    /// Restricted categories (every sensitive one, and any with `restricted_to`) it may see:
    /// none unless listed.
    pub restricted: Vec<CategoryId>,
}

impl Scope {
    /// Every operation on customers' data, every purpose, and no restricted category. Never
    /// the administration of staff accounts and tokens.
    pub fn unrestricted() -> Scope {
        Scope {
            operations: Operation::ALL
                .into_iter()
                .filter(|o| !o.is_administration())
                .collect(),
            purposes: None,
            restricted: Vec::new(),
        }
    }
}

/// Custodian's own tasks, each with the narrowest rights it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemTask {
    /// Re-wraps data keys: never sees a personal value.
    KeyRotation,
    /// Reads a customer's email or phone on file to send a care-verification code: the
    /// value goes to the notifier, never to the agent.
    CareVerification,
    /// Finds a customer by the email they sign in with, to send them a code.
    CustomerSignIn,
    /// Reads a customer's date of birth to tell whether a consent must come from a parent
    /// or guardian: the date never leaves the core.
    ConsentAgeCheck,
    /// Opens an outbox message sealed under the customer's key to deliver it to the partner
    /// the policy names (and reads the identifiers a partner knows the customer by, to tell
    /// it of a withdrawal): the values go to that partner, never to a person.
    OutboxDelivery,
    /// Reads a customer's email on file to send the code that verifies a request about their
    /// data: the value goes to the notifier, never to whoever asked.
    RequestVerification,
    /// Reads a customer's email on file to tell them their request was extended or rejected,
    /// and why: the value goes to the notifier, never to staff.
    RequestNotice,
    /// Exports a customer's data for the operator (`custodian export`), to hand to the
    /// customer who asked for it.
    RightsExport,
}

impl SystemTask {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemTask::KeyRotation => "rotation",
            SystemTask::CareVerification => "care_verification",
            SystemTask::CustomerSignIn => "customer_sign_in",
            SystemTask::ConsentAgeCheck => "consent_age_check",
            SystemTask::OutboxDelivery => "outbox_delivery",
            SystemTask::RequestVerification => "request_verification",
            SystemTask::RequestNotice => "request_notice",
            SystemTask::RightsExport => "rights_export",
        }
    }
}

/// Why a field was not released. Stable codes, shown to callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Withheld {
    /// The principal may not act for this purpose (its role or token does not include it).
    PurposeNotAllowed,
    /// A customer asked for another customer.
    NotOwnRecord,
    /// The role sees a customer only within an active, identity-verified care session.
    NoCareSession,
    /// The role sees an order's fields only while that order is being fulfilled.
    OrderNotFulfilling,
    /// The role works only with pseudonymous or aggregate data, never an identified customer.
    PseudonymousOnly,
    /// The customer restricted processing: only storage and legal obligations may use it.
    Restricted,
    /// The customer objected to this purpose.
    Objected,
    /// The purpose rests on consent, and the customer has not given it.
    ConsentRequired,
    /// The purpose named does not use this field's category.
    NotForPurpose,
    /// The category is restricted (every sensitive one is) and this principal is not listed.
    NotForRole,
    /// The customer never gave this field.
    NotCollected,
    /// The customer was erased: the value is gone for good.
    Erased,
}

impl Withheld {
    pub const ALL: [Withheld; 12] = [
        Withheld::PurposeNotAllowed,
        Withheld::NotOwnRecord,
        Withheld::NoCareSession,
        Withheld::OrderNotFulfilling,
        Withheld::PseudonymousOnly,
        Withheld::Restricted,
        Withheld::Objected,
        Withheld::ConsentRequired,
        Withheld::NotForPurpose,
        Withheld::NotForRole,
        Withheld::NotCollected,
        Withheld::Erased,
    ];

    /// When the reason is given, for docs/ERRORS.md.
    pub fn description(self) -> &'static str {
        match self {
            Withheld::PurposeNotAllowed => {
                "The caller may not act for this purpose: its role does not serve it, or its token's scope does not list it."
            }
            Withheld::NotOwnRecord => {
                "A customer asked about someone else (the request is answered `customer_not_found`)."
            }
            Withheld::NoCareSession => {
                "The role sees a customer only within an active, identity-verified care session for that customer."
            }
            Withheld::OrderNotFulfilling => {
                "The role sees an order's fields only while that order is being fulfilled."
            }
            Withheld::PseudonymousOnly => {
                "The role works only with pseudonymous or aggregate data, never an identified customer."
            }
            Withheld::Restricted => {
                "The customer restricted processing: only legal obligations may use their data."
            }
            Withheld::Objected => "The customer objected to this purpose.",
            Withheld::ConsentRequired => {
                "The purpose rests on consent the customer has not given (never asked means no)."
            }
            Withheld::NotForPurpose => "The purpose does not use this field's category.",
            Withheld::NotForRole => {
                "The category is restricted (every sensitive one is) and the caller is not among those it names."
            }
            Withheld::NotCollected => "The customer never gave this field.",
            Withheld::Erased => "The customer was erased; the value is gone for good.",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Withheld::PurposeNotAllowed => "purpose_not_allowed",
            Withheld::NotOwnRecord => "not_own_record",
            Withheld::NoCareSession => "no_care_session",
            Withheld::OrderNotFulfilling => "order_not_fulfilling",
            Withheld::PseudonymousOnly => "pseudonymous_only",
            Withheld::Restricted => "restricted",
            Withheld::Objected => "objected",
            Withheld::ConsentRequired => "consent_required",
            Withheld::NotForPurpose => "not_for_purpose",
            Withheld::NotForRole => "not_for_role",
            Withheld::NotCollected => "not_collected",
            Withheld::Erased => "erased",
        }
    }
}

/// A field's value as released by a decision — whole or masked — or the reason it was
/// withheld. The only way plaintext leaves the core.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    Value(String),
    Masked(String),
    Withheld(Withheld),
}

impl Disclosure {
    /// Releases `value` as the decision said. Crate-private: only use cases that recorded
    /// the decision call it.
    pub(crate) fn release(
        outcome: FieldOutcome,
        ty: custodian_policy::FieldType,
        value: &Personal,
    ) -> Disclosure {
        match outcome {
            FieldOutcome::Clear => Disclosure::Value(value.expose().to_owned()),
            FieldOutcome::Masked => Disclosure::Masked(mask(ty, value.expose())),
            FieldOutcome::Withheld(reason) => Disclosure::Withheld(reason),
        }
    }
}

impl fmt::Debug for Disclosure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disclosure::Value(_) => f.write_str("Value(<redacted>)"),
            Disclosure::Masked(_) => f.write_str("Masked(<redacted>)"),
            Disclosure::Withheld(reason) => write!(f, "Withheld({})", reason.as_str()),
        }
    }
}
