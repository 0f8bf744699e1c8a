//! The decision engine: may this principal, for this purpose, see these fields of this
//! customer — in the clear, masked, or not at all, and why.
//!
//! The policy is compiled once into bit sets (categories and purposes are at most 128 each,
//! which the policy validator enforces), so a decision is a couple of hash lookups and a few
//! bitwise operations: no allocation, no interpretation of rules per request.
//!
//! Rules, in the order they apply (the first that refuses decides):
//! 1. the principal may act for the purpose (staff: their role serves it; integrations: their
//!    token's scope lists it; customers: only on their own record; the system: never);
//! 2. need-to-know (staff): a care session for a care agent, a fulfilling order for
//!    fulfilment, never an identified customer for an analyst;
//! 3. the customer's restriction (only legal obligations go on) and objections;
//! 4. consent, where the purpose rests on it: never asked means no;
//! 5. per category: the purpose uses it; a restricted category (every sensitive one) is seen
//!    only by the roles it lists, or integrations whose scope lists it; a role bound to a
//!    fulfilling order sees only an order's categories; masked if the role masks it.

use std::collections::HashMap;

/// The engine's lookup tables. Their keys come from the policy, never from a request, so a
/// fast hasher without strong collision resistance is safe here: a caller can only look up.
type Map<V> = HashMap<String, V, foldhash::fast::RandomState>;

use serde::Serialize;

use custodian_policy::{
    Category, LegalBasis, NeedToKnow, Operation, Policy, PurposeId, RoleId, Section,
};

use super::{Principal, Withheld};
use crate::ids::CustomerId;

/// A set of the policy's categories, by position in the policy.
type Categories = u128;

/// A set of the policy's purposes, by position in the policy (consents, objections).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purposes(u128);

impl Purposes {
    pub fn union(self, other: Purposes) -> Purposes {
        Purposes(self.0 | other.0)
    }
}

/// What the engine must know about the customer and the request besides the policy. The
/// caller establishes each fact from its own records; everything defaults to "no".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessContext {
    /// Purposes the customer has consented to, as of now.
    pub consents: Purposes,
    /// Purposes the customer objected to.
    pub objections: Purposes,
    /// The customer restricted processing.
    pub restricted: bool,
    /// The acting staff member holds an active, identity-verified care session for this
    /// customer.
    pub care_session: bool,
    /// The request is about an order that is being fulfilled.
    pub fulfilling_order: bool,
}

/// The outcome for one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "reason")]
pub enum FieldOutcome {
    Clear,
    Masked,
    Withheld(Withheld),
}

impl FieldOutcome {
    pub fn is_released(self) -> bool {
        !matches!(self, FieldOutcome::Withheld(_))
    }
}

/// One decision: what a principal may see of a customer for a purpose, category by category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Refuses every category at once (rules 1 to 4).
    refusal: Option<Withheld>,
    uses: Categories,
    visible: Categories,
    masked: Categories,
}

impl Decision {
    /// Why nothing at all is released, when that is decided before any category is looked at.
    pub fn refusal(&self) -> Option<Withheld> {
        self.refusal
    }

    /// Whether any category could be released.
    pub fn releases_any(&self) -> bool {
        self.refusal.is_none() && self.visible != 0
    }

    /// The outcome for the category at `position` in the policy's list of categories: no
    /// lookup at all, for callers that walk the categories in order.
    pub fn outcome_at(&self, position: usize) -> FieldOutcome {
        match u32::try_from(position) {
            Ok(bit) if bit < 128 => self.outcome_bit(bit),
            _ => FieldOutcome::Withheld(Withheld::NotForPurpose),
        }
    }

    fn outcome_bit(&self, bit: u32) -> FieldOutcome {
        let has = |set: Categories| set.checked_shr(bit).is_some_and(|s| s & 1 == 1);
        match self.refusal {
            Some(reason) => FieldOutcome::Withheld(reason),
            None if !has(self.uses) => FieldOutcome::Withheld(Withheld::NotForPurpose),
            None if !has(self.visible) => FieldOutcome::Withheld(Withheld::NotForRole),
            None if has(self.masked) => FieldOutcome::Masked,
            None => FieldOutcome::Clear,
        }
    }
}

#[derive(Debug, Clone)]
struct PurposeRules {
    bit: u32,
    uses: Categories,
    consent: bool,
    legal_obligation: bool,
}

#[derive(Debug, Clone)]
struct RoleRules {
    serves: Purposes,
    operations: Vec<Operation>,
    masked: Categories,
    /// Restricted categories that list this role.
    restricted_allowed: Categories,
    need_to_know: NeedToKnow,
}

/// The policy's access rules, compiled.
#[derive(Debug, Clone)]
pub struct AccessEngine {
    purposes: Map<PurposeRules>,
    roles: Map<RoleRules>,
    categories: Map<u32>,
    /// Categories seen only by the principals they list (every sensitive one).
    restricted: Categories,
    /// The categories an order holds: all a role bound to a fulfilling order may see.
    order: Categories,
}

impl AccessEngine {
    pub fn new(policy: &Policy) -> AccessEngine {
        // The validator caps categories and purposes at 128; anything past that is ignored
        // here rather than wrapped around.
        let categories: Map<u32> = policy
            .categories
            .iter()
            .zip(0..128u32)
            .map(|(c, bit)| (c.id.as_str().to_owned(), bit))
            .collect();
        let set = |ids: &mut dyn Iterator<Item = &str>| -> Categories {
            ids.filter_map(|id| categories.get(id))
                .fold(0, |set, bit| set | (1u128 << bit))
        };
        let restricted = set(&mut policy
            .categories
            .iter()
            .filter(|c| !c.restricted_to.is_empty() || c.is_sensitive())
            .map(|c| c.id.as_str()));
        let order = set(&mut policy
            .categories
            .iter()
            .filter(|c| c.section == Section::Order)
            .map(|c| c.id.as_str()));
        let purposes: Map<PurposeRules> = policy
            .purposes
            .iter()
            .zip(0..128u32)
            .map(|(p, bit)| {
                let rules = PurposeRules {
                    bit,
                    uses: set(&mut p.categories().map(|c| c.as_str())),
                    consent: p.legal_basis == LegalBasis::Consent,
                    legal_obligation: p.legal_basis == LegalBasis::LegalObligation,
                };
                (p.id.as_str().to_owned(), rules)
            })
            .collect();
        let roles = policy
            .roles
            .iter()
            .map(|r| {
                let rules = RoleRules {
                    serves: Purposes(
                        r.purposes
                            .iter()
                            .filter_map(|p| purposes.get(p.as_str()))
                            .fold(0, |set, p| set | (1u128 << p.bit)),
                    ),
                    operations: r.operations.clone(),
                    masked: set(&mut r.masked.iter().map(|c| c.as_str())),
                    restricted_allowed: set(&mut policy
                        .categories
                        .iter()
                        .filter(|c| c.restricted_to.contains(&r.id))
                        .map(|c| c.id.as_str())),
                    need_to_know: r.need_to_know,
                };
                (r.id.as_str().to_owned(), rules)
            })
            .collect();
        AccessEngine {
            purposes,
            roles,
            categories,
            restricted,
            order,
        }
    }

    /// The set of these purposes (unknown ids are ignored), for [`AccessContext`].
    pub fn purposes<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Purposes {
        Purposes(
            ids.into_iter()
                .filter_map(|id| self.purposes.get(id))
                .fold(0, |set, p| set | (1u128 << p.bit)),
        )
    }

    /// May `principal` perform `operation` at all? Checked before anything is read.
    pub fn may(&self, principal: &Principal, operation: Operation) -> bool {
        match principal {
            Principal::Staff { role, .. } => self
                .roles
                .get(role.as_str())
                .is_some_and(|r| r.operations.contains(&operation)),
            Principal::Integration { scope, .. } => {
                !operation.is_administration() && scope.operations.contains(&operation)
            }
            // A customer reads, and sees the history of, only their own record and orders, and
            // gives or withdraws only their own consents; the use case checks whose they are.
            Principal::Customer { .. } => matches!(
                operation,
                Operation::CustomersRead
                    | Operation::CustomersHistory
                    | Operation::ConsentsRead
                    | Operation::ConsentsRecord
                    | Operation::OrdersRead
                    | Operation::RequestsRecord
                    | Operation::RequestsRead
            ),
            Principal::System { .. } => false,
        }
    }

    /// What `principal` may see of `customer`'s data for `purpose`. A purpose the policy does
    /// not declare releases nothing.
    pub fn decide(
        &self,
        principal: &Principal,
        purpose: &PurposeId,
        customer: Option<&CustomerId>,
        context: &AccessContext,
    ) -> Decision {
        let refused = |reason| Decision {
            refusal: Some(reason),
            uses: 0,
            visible: 0,
            masked: 0,
        };
        let Some(p) = self.purposes.get(purpose.as_str()) else {
            return refused(Withheld::PurposeNotAllowed);
        };
        let in_set = |set: Purposes| set.0.checked_shr(p.bit).is_some_and(|s| s & 1 == 1);
        // Rule 1 and 2: who the principal is.
        let (visible, masked) = match principal {
            Principal::Customer { id } => {
                // The data subject sees their own record in full, whatever the purpose, and
                // nobody else's.
                return if customer == Some(id) {
                    Decision {
                        refusal: None,
                        uses: Categories::MAX,
                        visible: Categories::MAX,
                        masked: 0,
                    }
                } else {
                    refused(Withheld::NotOwnRecord)
                };
            }
            Principal::System { .. } => return refused(Withheld::PurposeNotAllowed),
            Principal::Staff { role, .. } => {
                let Some(r) = self.roles.get(role.as_str()) else {
                    return refused(Withheld::PurposeNotAllowed);
                };
                if !in_set(r.serves) {
                    return refused(Withheld::PurposeNotAllowed);
                }
                let bound = match r.need_to_know {
                    NeedToKnow::Always => None,
                    NeedToKnow::CareSession => {
                        (!context.care_session).then_some(Withheld::NoCareSession)
                    }
                    NeedToKnow::FulfillingOrder => {
                        (!context.fulfilling_order).then_some(Withheld::OrderNotFulfilling)
                    }
                    // Per-customer decisions are about identified people, looked up or not;
                    // pseudonymous and aggregate views do not come through here.
                    NeedToKnow::Pseudonymous => Some(Withheld::PseudonymousOnly),
                };
                if let Some(reason) = bound {
                    return refused(reason);
                }
                // Bound to an order, a role sees that order's fields, not the customer's account.
                let scope = match r.need_to_know {
                    NeedToKnow::FulfillingOrder => self.order,
                    _ => Categories::MAX,
                };
                ((!self.restricted | r.restricted_allowed) & scope, r.masked)
            }
            Principal::Integration { scope, .. } => {
                let allowed = scope
                    .purposes
                    .as_ref()
                    .is_none_or(|ps| ps.iter().any(|s| s == purpose));
                if !allowed {
                    return refused(Withheld::PurposeNotAllowed);
                }
                let listed = scope
                    .restricted
                    .iter()
                    .filter_map(|c| self.categories.get(c.as_str()))
                    .fold(0, |set, bit| set | (1u128 << bit));
                (!self.restricted | listed, 0)
            }
        };
        // Rules 3 and 4: the customer's own choices.
        if context.restricted && !p.legal_obligation {
            return refused(Withheld::Restricted);
        }
        if in_set(context.objections) && !p.legal_obligation {
            return refused(Withheld::Objected);
        }
        if p.consent && !in_set(context.consents) {
            return refused(Withheld::ConsentRequired);
        }
        // Rule 5 is applied per category by `Decision::outcome_at`.
        Decision {
            refusal: None,
            uses: p.uses,
            visible: visible & p.uses,
            masked: masked & p.uses,
        }
    }

    /// The decision for one category.
    pub fn outcome(&self, decision: &Decision, category: &Category) -> FieldOutcome {
        match self.categories.get(category.id.as_str()) {
            Some(bit) => decision.outcome_bit(*bit),
            None => FieldOutcome::Withheld(Withheld::NotForPurpose),
        }
    }

    /// The decision with the rule behind each field, for the DPO and admins.
    pub fn explain(
        &self,
        policy: &Policy,
        principal: &Principal,
        purpose: &PurposeId,
        customer: Option<&CustomerId>,
        context: &AccessContext,
    ) -> Explanation {
        let decision = self.decide(principal, purpose, customer, context);
        let fields = policy
            .categories
            .iter()
            .flat_map(|category| {
                let outcome = self.outcome(&decision, category);
                let rule = rule(principal, purpose, category, outcome);
                category.fields.iter().map(move |field| ExplainedField {
                    field: format!("{}.{}", category.id, field.name),
                    outcome,
                    rule: rule.clone(),
                })
            })
            .collect();
        Explanation {
            principal: principal.audit_name(),
            purpose: purpose.as_str().to_owned(),
            refusal: decision.refusal(),
            fields,
        }
    }
}

/// Why each field of a customer would be released or withheld.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub principal: String,
    pub purpose: String,
    /// The rule that refused everything, if one did.
    pub refusal: Option<Withheld>,
    pub fields: Vec<ExplainedField>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExplainedField {
    pub field: String,
    #[serde(flatten)]
    pub outcome: FieldOutcome,
    /// The rule that decided, in words.
    pub rule: String,
}

fn rule(
    principal: &Principal,
    purpose: &PurposeId,
    category: &Category,
    outcome: FieldOutcome,
) -> String {
    let who = match principal {
        Principal::Staff { role, .. } => format!("role `{role}`"),
        Principal::Integration { name, .. } => format!("integration `{name}`"),
        Principal::Customer { .. } => "the customer".to_owned(),
        Principal::System { task } => format!("system task `{}`", task.as_str()),
    };
    let c = &category.id;
    match outcome {
        FieldOutcome::Clear if matches!(principal, Principal::Customer { .. }) => {
            "customers see their own record in full".to_owned()
        }
        FieldOutcome::Clear => {
            format!("{who} may act for purpose `{purpose}`, which uses category `{c}`")
        }
        FieldOutcome::Masked => format!("{who} sees category `{c}` masked (role.masked)"),
        FieldOutcome::Withheld(reason) => match reason {
            Withheld::PurposeNotAllowed => format!("{who} may not act for purpose `{purpose}`"),
            Withheld::NotOwnRecord => "customers see only their own record".to_owned(),
            Withheld::NoCareSession => {
                format!("{who} sees a customer only within an identity-verified care session")
            }
            Withheld::OrderNotFulfilling => {
                format!("{who} sees an order only while it is being fulfilled")
            }
            Withheld::PseudonymousOnly => {
                format!("{who} works only with pseudonymous or aggregate data")
            }
            Withheld::Restricted => {
                "the customer restricted processing: only legal obligations may use it".to_owned()
            }
            Withheld::Objected => format!("the customer objected to purpose `{purpose}`"),
            Withheld::ConsentRequired => {
                format!("purpose `{purpose}` rests on consent the customer has not given")
            }
            Withheld::NotForPurpose => {
                format!("purpose `{purpose}` does not use category `{c}`")
            }
            Withheld::NotForRole => format!(
                "category `{c}` is restricted to {}; {who} is not one of them",
                if category.restricted_to.is_empty() {
                    "explicitly listed principals".to_owned()
                } else {
                    listed(&category.restricted_to)
                }
            ),
            Withheld::NotCollected | Withheld::Erased => reason.as_str().to_owned(),
        },
    }
}

fn listed(roles: &[RoleId]) -> String {
    roles
        .iter()
        .map(|r| format!("`{r}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
