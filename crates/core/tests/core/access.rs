//! The access engine against the default policy: named scenarios, then a property test that
//! compares every decision with a plain reading of the policy, rule by rule.

use custodian_core::access::{
    AccessContext, AccessEngine, FieldOutcome, Principal, Purposes, Scope, SystemTask, Withheld,
};
use custodian_core::ids::CustomerId;
use custodian_policy::{
    Category, CategoryId, DEFAULT_POLICY, LegalBasis, NeedToKnow, Operation, Policy, PurposeId,
    Section, parse,
};
use proptest::prelude::*;

fn policy() -> Policy {
    static POLICY: std::sync::LazyLock<Policy> =
        std::sync::LazyLock::new(|| parse(DEFAULT_POLICY).unwrap());
    POLICY.clone()
}

fn staff(role: &str) -> Principal {
    Principal::Staff {
        user: "usr_test".into(),
        role: policy().role_named(role).unwrap().id.clone(),
    }
}

fn pid(id: &str) -> PurposeId {
    policy().purpose_named(id).unwrap().id.clone()
}

fn cid(id: &str) -> CategoryId {
    policy().category_named(id).unwrap().id.clone()
}

fn customer(n: u8) -> CustomerId {
    CustomerId::parse(&format!("cus_{:032x}", n)).unwrap()
}

fn category<'a>(policy: &'a Policy, id: &str) -> &'a Category {
    policy
        .categories
        .iter()
        .find(|c| c.id.as_str() == id)
        .unwrap()
}

/// The outcome for `category` when `principal` asks about customer 1 for `purpose`.
fn outcome(
    engine: &AccessEngine,
    policy: &Policy,
    principal: &Principal,
    purpose: &str,
    context: &AccessContext,
    cat: &str,
) -> FieldOutcome {
    let decision = engine.decide(principal, &pid(purpose), Some(&customer(1)), context);
    engine.outcome(&decision, category(policy, cat))
}

#[test]
fn a_care_agent_sees_a_customer_only_in_a_verified_care_session_and_contacts_masked() {
    let policy = policy();
    let engine = AccessEngine::new(&policy);
    let agent = staff("care_agent");
    let none = AccessContext::default();
    let session = AccessContext {
        care_session: true,
        ..AccessContext::default()
    };
    let o = |ctx: &AccessContext, cat| outcome(&engine, &policy, &agent, "customer_care", ctx, cat);
    assert_eq!(
        o(&none, "account_name"),
        FieldOutcome::Withheld(Withheld::NoCareSession)
    );
    assert_eq!(o(&session, "account_name"), FieldOutcome::Clear);
    assert_eq!(o(&session, "account_email"), FieldOutcome::Masked);
    assert_eq!(o(&session, "account_phone"), FieldOutcome::Masked);
    assert_eq!(
        o(&session, "account_birth_date"),
        FieldOutcome::Withheld(Withheld::NotForPurpose)
    );
    // Not a purpose of the role, session or not.
    assert_eq!(
        outcome(
            &engine,
            &policy,
            &agent,
            "marketing",
            &session,
            "account_email"
        ),
        FieldOutcome::Withheld(Withheld::PurposeNotAllowed)
    );
}

#[test]
fn sensitive_categories_reach_only_their_listed_roles() {
    let policy = policy();
    let engine = AccessEngine::new(&policy);
    let consented = AccessContext {
        consents: engine.purposes(["care_quality", "marketing", "analytics"]),
        ..AccessContext::default()
    };
    assert_eq!(
        outcome(
            &engine,
            &policy,
            &staff("qa_reviewer"),
            "care_quality",
            &consented,
            "voice_recording"
        ),
        FieldOutcome::Clear
    );
    // An integration sees a sensitive category only if its scope lists it.
    let storefront = Principal::Integration {
        name: "storefront".into(),
        scope: Scope::unrestricted(),
    };
    assert_eq!(
        outcome(
            &engine,
            &policy,
            &storefront,
            "care_quality",
            &consented,
            "voice_recording"
        ),
        FieldOutcome::Withheld(Withheld::NotForRole)
    );
    let pbx = Principal::Integration {
        name: "pbx".into(),
        scope: Scope {
            restricted: vec![cid("voice_recording")],
            ..Scope::unrestricted()
        },
    };
    assert_eq!(
        outcome(
            &engine,
            &policy,
            &pbx,
            "care_quality",
            &consented,
            "voice_recording"
        ),
        FieldOutcome::Clear
    );
}

#[test]
fn consent_restriction_and_objection_apply_to_every_principal_but_the_customer() {
    let policy = policy();
    let engine = AccessEngine::new(&policy);
    let marketer = staff("marketing");
    let given = AccessContext {
        consents: engine.purposes(["marketing"]),
        ..AccessContext::default()
    };
    let o = |ctx: &AccessContext| {
        outcome(
            &engine,
            &policy,
            &marketer,
            "marketing",
            ctx,
            "marketing_preferences",
        )
    };
    assert_eq!(
        o(&AccessContext::default()),
        FieldOutcome::Withheld(Withheld::ConsentRequired)
    );
    assert_eq!(o(&given), FieldOutcome::Clear);
    let objected = AccessContext {
        objections: engine.purposes(["marketing"]),
        ..given
    };
    assert_eq!(o(&objected), FieldOutcome::Withheld(Withheld::Objected));
    let restricted = AccessContext {
        restricted: true,
        ..given
    };
    assert_eq!(o(&restricted), FieldOutcome::Withheld(Withheld::Restricted));
    // Legal obligations go on under a restriction.
    assert_eq!(
        outcome(
            &engine,
            &policy,
            &staff("dpo"),
            "legal_obligation",
            &restricted,
            "order_items"
        ),
        FieldOutcome::Clear
    );
}

#[test]
fn customers_see_all_of_themselves_and_nothing_of_others() {
    let policy = policy();
    let engine = AccessEngine::new(&policy);
    let me = Principal::Customer { id: customer(1) };
    let restricted = AccessContext {
        restricted: true,
        ..AccessContext::default()
    };
    assert_eq!(
        outcome(
            &engine,
            &policy,
            &me,
            "account",
            &restricted,
            "account_email"
        ),
        FieldOutcome::Clear
    );
    let other = Principal::Customer { id: customer(2) };
    assert_eq!(
        outcome(
            &engine,
            &policy,
            &other,
            "account",
            &AccessContext::default(),
            "account_email"
        ),
        FieldOutcome::Withheld(Withheld::NotOwnRecord)
    );
    assert!(engine.may(&me, Operation::CustomersRead));
    assert!(!engine.may(&me, Operation::CustomersErase));
    assert!(!engine.may(&me, Operation::AccessExplain));
}

#[test]
fn analysts_never_see_an_identified_customer_and_the_system_sees_nothing() {
    let policy = policy();
    let engine = AccessEngine::new(&policy);
    let consented = AccessContext {
        consents: engine.purposes(["analytics"]),
        ..AccessContext::default()
    };
    assert_eq!(
        outcome(
            &engine,
            &policy,
            &staff("analyst"),
            "analytics",
            &consented,
            "viewing_history"
        ),
        FieldOutcome::Withheld(Withheld::PseudonymousOnly)
    );
    let rotation = Principal::System {
        task: SystemTask::KeyRotation,
    };
    assert_eq!(
        outcome(
            &engine,
            &policy,
            &rotation,
            "legal_obligation",
            &consented,
            "order_items"
        ),
        FieldOutcome::Withheld(Withheld::PurposeNotAllowed)
    );
    assert!(Operation::ALL.iter().all(|op| !engine.may(&rotation, *op)));
}

#[test]
fn explain_names_the_rule_behind_every_field() {
    let policy = policy();
    let engine = AccessEngine::new(&policy);
    let session = AccessContext {
        care_session: true,
        ..AccessContext::default()
    };
    let explained = engine.explain(
        &policy,
        &staff("care_agent"),
        &pid("customer_care"),
        Some(&customer(1)),
        &session,
    );
    let field = |name: &str| {
        explained
            .fields
            .iter()
            .find(|f| f.field == name)
            .unwrap_or_else(|| panic!("{name} in {explained:?}"))
    };
    assert_eq!(field("account_email.email").outcome, FieldOutcome::Masked);
    assert!(field("account_email.email").rule.contains("masked"));
    let audio = field("voice_recording.audio");
    assert_eq!(
        audio.outcome,
        FieldOutcome::Withheld(Withheld::NotForPurpose)
    );
    assert!(audio.rule.contains("does not use"), "{audio:?}");
    let total: usize = policy.categories.iter().map(|c| c.fields.len()).sum();
    assert_eq!(explained.fields.len(), total);
}

/// The rules as the policy states them, without bit sets: what the engine must agree with.
fn reference(
    policy: &Policy,
    principal: &Principal,
    purpose: &PurposeId,
    subject: &CustomerId,
    ctx: &AccessContext,
    engine: &AccessEngine,
    cat: &Category,
) -> FieldOutcome {
    let withheld = FieldOutcome::Withheld;
    let Some(p) = policy.purpose(purpose) else {
        return withheld(Withheld::PurposeNotAllowed);
    };
    // A set holds the purpose if adding it changes nothing.
    let one = engine.purposes([purpose.as_str()]);
    let has = |set: Purposes| set.union(one) == set;
    let (masked, restricted_ok, order_only) = match principal {
        Principal::Customer { id } => {
            return if id == subject {
                FieldOutcome::Clear
            } else {
                withheld(Withheld::NotOwnRecord)
            };
        }
        Principal::System { .. } => return withheld(Withheld::PurposeNotAllowed),
        Principal::Staff { role, .. } => {
            let Some(r) = policy.role(role) else {
                return withheld(Withheld::PurposeNotAllowed);
            };
            if !r.purposes.contains(purpose) {
                return withheld(Withheld::PurposeNotAllowed);
            }
            match r.need_to_know {
                NeedToKnow::CareSession if !ctx.care_session => {
                    return withheld(Withheld::NoCareSession);
                }
                NeedToKnow::FulfillingOrder if !ctx.fulfilling_order => {
                    return withheld(Withheld::OrderNotFulfilling);
                }
                NeedToKnow::Pseudonymous => return withheld(Withheld::PseudonymousOnly),
                _ => {}
            }
            (
                r.masked.contains(&cat.id),
                cat.restricted_to.contains(role),
                r.need_to_know == NeedToKnow::FulfillingOrder,
            )
        }
        Principal::Integration { scope, .. } => {
            if scope
                .purposes
                .as_ref()
                .is_some_and(|ps| !ps.contains(purpose))
            {
                return withheld(Withheld::PurposeNotAllowed);
            }
            (false, scope.restricted.contains(&cat.id), false)
        }
    };
    let legal = p.legal_basis == LegalBasis::LegalObligation;
    if ctx.restricted && !legal {
        return withheld(Withheld::Restricted);
    }
    if has(ctx.objections) && !legal {
        return withheld(Withheld::Objected);
    }
    if p.legal_basis == LegalBasis::Consent && !has(ctx.consents) {
        return withheld(Withheld::ConsentRequired);
    }
    if !p.uses(&cat.id) {
        return withheld(Withheld::NotForPurpose);
    }
    let restricted = !cat.restricted_to.is_empty() || cat.is_sensitive();
    if restricted && !restricted_ok {
        return withheld(Withheld::NotForRole);
    }
    // Bound to an order, a role sees the order's categories only.
    if order_only && cat.section != Section::Order {
        return withheld(Withheld::NotForRole);
    }
    if masked {
        FieldOutcome::Masked
    } else {
        FieldOutcome::Clear
    }
}

fn principals(policy: &Policy) -> Vec<Principal> {
    let mut all: Vec<Principal> = policy.roles.iter().map(|r| staff(r.id.as_str())).collect();
    all.push(Principal::Customer { id: customer(1) });
    all.push(Principal::Customer { id: customer(2) });
    all.push(Principal::System {
        task: SystemTask::KeyRotation,
    });
    all.push(Principal::Integration {
        name: "storefront".into(),
        scope: Scope::unrestricted(),
    });
    all.push(Principal::Integration {
        name: "pbx".into(),
        scope: Scope {
            operations: vec![Operation::CustomersRead],
            purposes: Some(vec![pid("care_quality"), pid("customer_care")]),
            restricted: vec![cid("voice_recording")],
        },
    });
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Every principal, purpose, context and category: the engine
    /// decides exactly as the policy reads. In particular no combination releases a field the
    /// policy does not allow, and masking never turns into the clear.
    #[test]
    fn the_engine_decides_as_the_policy_reads(
        who in 0usize..64,
        which_purpose in 0usize..64,
        consents in proptest::collection::vec(any::<bool>(), 16),
        objections in proptest::collection::vec(any::<bool>(), 16),
        restricted in any::<bool>(),
        care_session in any::<bool>(),
        fulfilling_order in any::<bool>(),
    ) {
        let policy = policy();
        let engine = AccessEngine::new(&policy);
        let principals = principals(&policy);
        let principal = &principals[who % principals.len()];
        let purposes: Vec<PurposeId> = policy.purposes.iter().map(|p| p.id.clone()).collect();
        let purpose = &purposes[which_purpose % purposes.len()];
        let pick = |flags: &[bool]| engine.purposes(
            policy.purposes.iter().zip(flags).filter(|(_, f)| **f).map(|(p, _)| p.id.as_str()),
        );
        let ctx = AccessContext {
            consents: pick(&consents),
            objections: pick(&objections),
            restricted,
            care_session,
            fulfilling_order,
        };
        let subject = customer(1);
        let decision = engine.decide(principal, purpose, Some(&subject), &ctx);
        for cat in &policy.categories {
            let expected = reference(&policy, principal, purpose, &subject, &ctx, &engine, cat);
            prop_assert_eq!(
                engine.outcome(&decision, cat),
                expected,
                "{:?} for `{}`, category `{}`",
                principal, purpose.as_str(), cat.id.as_str()
            );
        }
    }
}

#[test]
fn fulfilment_sees_an_order_only_while_it_is_fulfilled_and_nothing_of_the_account() {
    let policy = policy();
    let engine = AccessEngine::new(&policy);
    let fulfilment = staff("fulfilment");
    let fulfilling = AccessContext {
        fulfilling_order: true,
        ..AccessContext::default()
    };
    let o = |ctx: &AccessContext, cat| {
        outcome(&engine, &policy, &fulfilment, "order_fulfilment", ctx, cat)
    };
    assert_eq!(
        o(&AccessContext::default(), "order_shipping_address"),
        FieldOutcome::Withheld(Withheld::OrderNotFulfilling)
    );
    assert_eq!(
        o(&fulfilling, "order_shipping_address"),
        FieldOutcome::Clear
    );
    assert_eq!(o(&fulfilling, "order_recipient"), FieldOutcome::Clear);
    // The purpose uses the account email, but an order's fulfilment needs none of the account.
    assert_eq!(
        o(&fulfilling, "account_email"),
        FieldOutcome::Withheld(Withheld::NotForRole)
    );
}
