//! The authorization matrix at the vault: every operation × every kind of principal (each
//! policy role, the customer themselves and another customer, integrations with a full and a
//! narrow scope, the system) × every purpose. The engine is proven against the policy by the
//! property test in `crates/core/tests/core/access.rs`; this proves each use case applies its
//! decisions exactly — refused where the engine refuses, and releasing precisely the fields
//! (clear or masked) it allows. Decisions do not depend on the backend: SQLite suffices.

use std::sync::Arc;

use custodian_core::access::{
    AccessContext, AccessEngine, Disclosure, FieldOutcome, Principal, Scope, SystemTask, Withheld,
    mask,
};
use custodian_core::error::ErrorCode;
use custodian_core::ids::CustomerId;
use custodian_core::vault::{Lookup, RequestContext, VaultError};
use custodian_policy::{DEFAULT_POLICY, Operation, Policy, Section, parse};
use custodian_store::SqliteStore;
use serde_json::json;

use crate::suite::{Fixture, ctx, fields, signer};

const NAME: &str = "Lý Thường Kiệt";
const EMAIL: &str = "ly.kiet@example.com";

fn principals(policy: &Policy, me: &CustomerId) -> Vec<Principal> {
    let mut all: Vec<Principal> = policy
        .roles
        .iter()
        .map(|r| Principal::Staff {
            user: "usr_matrix".into(),
            role: r.id.clone(),
        })
        .collect();
    all.push(Principal::Customer { id: me.clone() });
    all.push(Principal::Customer {
        id: CustomerId::parse("cus_00000000000000000000000000000001").unwrap(),
    });
    all.push(Principal::Integration {
        name: "storefront".into(),
        scope: Scope::unrestricted(),
    });
    all.push(Principal::Integration {
        name: "reader".into(),
        scope: Scope {
            operations: vec![Operation::CustomersRead],
            purposes: Some(vec![policy.purpose_named("account").unwrap().id.clone()]),
            restricted: Vec::new(),
        },
    });
    all.push(Principal::System {
        task: SystemTask::KeyRotation,
    });
    all
}

fn code(result: &Result<impl std::fmt::Debug, VaultError>) -> Option<ErrorCode> {
    match result {
        Ok(_) => None,
        Err(VaultError::Rejected(e)) => Some(e.code),
        Err(other) => panic!("not a refusal: {other}"),
    }
}

/// A customer with a name and an email, created by the storefront for `account`.
async fn customer(f: &Fixture, email: &str) -> CustomerId {
    f.vault
        .create(
            &ctx("account"),
            &fields(json!({ "account_name.full_name": NAME, "account_email.email": email })),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn every_operation_applies_the_access_decision_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("vault.db").to_str().unwrap())
        .await
        .unwrap();
    let f = Fixture::new(Arc::new(store.vault(signer()).await.unwrap())).await;
    let policy = parse(DEFAULT_POLICY).unwrap();
    let engine = AccessEngine::new(&policy);
    let none = AccessContext::default();
    let me = customer(&f, EMAIL).await;
    let category = |id: &str| policy.category_named(id).unwrap();
    let mut checked = 0;

    for principal in principals(&policy, &me) {
        for purpose in &policy.purposes {
            let who = format!("{} for `{}`", principal.audit_name(), purpose.id);
            let request = RequestContext {
                principal: principal.clone(),
                ..ctx(purpose.id.as_str())
            };
            let may = |op| engine.may(&principal, op);
            let decision = engine.decide(&principal, &purpose.id, Some(&me), &none);
            let not_own = decision.refusal() == Some(Withheld::NotOwnRecord);

            // Read: refused outright, or every profile field exactly as decided.
            let read = f.vault.read(&request, &me).await;
            match code(&read) {
                _ if !may(Operation::CustomersRead) => {
                    assert_eq!(code(&read), Some(ErrorCode::OperationNotAllowed), "{who}")
                }
                _ if not_own => {
                    assert_eq!(code(&read), Some(ErrorCode::CustomerNotFound), "{who}")
                }
                Some(c) => panic!("{who}: read refused with {c}"),
                None => {
                    let view = read.unwrap();
                    for c in policy
                        .categories
                        .iter()
                        .filter(|c| c.section == Section::Account)
                    {
                        for field in &c.fields {
                            let name = format!("{}.{}", c.id, field.name);
                            let stored = match name.as_str() {
                                "account_name.full_name" => Some(NAME),
                                "account_email.email" => Some(EMAIL),
                                _ => None,
                            };
                            let expected = match (engine.outcome(&decision, c), stored) {
                                (FieldOutcome::Withheld(r), _) => Disclosure::Withheld(r),
                                (_, None) => Disclosure::Withheld(Withheld::NotCollected),
                                (FieldOutcome::Clear, Some(v)) => Disclosure::Value(v.into()),
                                (FieldOutcome::Masked, Some(v)) => {
                                    Disclosure::Masked(mask(field.ty, v))
                                }
                            };
                            assert_eq!(view.fields[&name], expected, "{who}: {name}");
                        }
                    }
                }
            }

            // Lookup by email: whom it finds is not known beforehand.
            let lookup = f.vault.lookup(&request, &Lookup::Email(EMAIL.into())).await;
            let before = engine.decide(&principal, &purpose.id, None, &none);
            let released = engine
                .outcome(&before, category("account_email"))
                .is_released();
            match code(&lookup) {
                _ if !may(Operation::CustomersLookup) => {
                    assert_eq!(code(&lookup), Some(ErrorCode::OperationNotAllowed), "{who}")
                }
                None => {
                    assert!(released, "{who}: lookup allowed");
                    assert_eq!(lookup.unwrap(), std::slice::from_ref(&me), "{who}");
                }
                Some(c) => assert!(!released, "{who}: lookup refused with {c}"),
            }

            // Correction of the name (to the same value: nothing changes).
            let correct = f
                .vault
                .correct(
                    &request,
                    &me,
                    &fields(json!({ "account_name.full_name": NAME })),
                )
                .await;
            let released = engine
                .outcome(&decision, category("account_name"))
                .is_released();
            match code(&correct) {
                _ if !may(Operation::CustomersCorrect) => assert_eq!(
                    code(&correct),
                    Some(ErrorCode::OperationNotAllowed),
                    "{who}"
                ),
                None => assert!(released, "{who}: correction allowed"),
                Some(c) => assert!(!released, "{who}: correction refused with {c}"),
            }

            // Erasure, of a customer of its own.
            let victim = customer(&f, &format!("victim{checked}@example.com")).await;
            let request = match &principal {
                Principal::Customer { id } if *id == me => RequestContext {
                    principal: Principal::Customer { id: victim.clone() },
                    ..request
                },
                _ => request,
            };
            let decision = engine.decide(&request.principal, &purpose.id, Some(&victim), &none);
            let releases_stored = ["account_name", "account_email"]
                .iter()
                .any(|c| engine.outcome(&decision, category(c)).is_released());
            let erase = f.vault.erase(&request, &victim).await;
            match code(&erase) {
                _ if !engine.may(&request.principal, Operation::CustomersErase) => {
                    assert_eq!(code(&erase), Some(ErrorCode::OperationNotAllowed), "{who}")
                }
                None => assert!(releases_stored, "{who}: erasure allowed"),
                Some(c) => assert!(!releases_stored, "{who}: erasure refused with {c}"),
            }
            checked += 4;
        }
    }
    assert!(checked >= 4 * 12 * policy.purposes.len(), "{checked}");
    // Whoever asked, the one customer everybody read is intact.
    let view = f.vault.read(&ctx("account"), &me).await.unwrap();
    assert_eq!(
        view.fields["account_name.full_name"],
        Disclosure::Value(NAME.into())
    );
}

/// A care agent, for every purpose: without a verified care session of their own for this
/// customer everything is `no_care_session`; with one, exactly what the engine releases
/// with `care_session` set — for `customer_care`, the name in the clear and the email
/// masked.
#[tokio::test]
async fn a_care_agent_reads_only_within_a_verified_session() {
    use crate::care::{agent, agent_reads, as_agent, care_fixture, customer, verified};
    let b = crate::sqlite::backend().await.unwrap();
    let f = care_fixture(&b).await;
    let policy = parse(DEFAULT_POLICY).unwrap();
    let engine = AccessEngine::new(&policy);
    let me = customer(&f, EMAIL, None).await;
    let alice = agent("care_agent");
    let with_session = AccessContext {
        care_session: true,
        ..AccessContext::default()
    };
    let read_all = |session: bool| {
        let f = &f;
        let alice = alice.clone();
        let me = me.clone();
        let engine = engine.clone();
        let policy = policy.clone();
        async move {
            for purpose in &policy.purposes {
                let context = if session {
                    with_session
                } else {
                    AccessContext::default()
                };
                let decision = engine.decide(&alice, &purpose.id, Some(&me), &context);
                let view = f
                    .vault
                    .read(&as_agent(&alice, purpose.id.as_str()), &me)
                    .await;
                let view = view.unwrap();
                for c in policy
                    .categories
                    .iter()
                    .filter(|c| c.section == Section::Account)
                {
                    for field in &c.fields {
                        let name = format!("{}.{}", c.id, field.name);
                        let stored = match name.as_str() {
                            "account_name.full_name" => Some(NAME),
                            "account_email.email" => Some(EMAIL),
                            _ => None,
                        };
                        let expected = match (engine.outcome(&decision, c), stored) {
                            (FieldOutcome::Withheld(r), _) => Disclosure::Withheld(r),
                            (_, None) => Disclosure::Withheld(Withheld::NotCollected),
                            (FieldOutcome::Clear, Some(v)) => Disclosure::Value(v.into()),
                            (FieldOutcome::Masked, Some(v)) => {
                                Disclosure::Masked(mask(field.ty, v))
                            }
                        };
                        assert_eq!(view.fields[&name], expected, "{}: {name}", purpose.id);
                        if !session && purpose.id.as_str() == "customer_care" {
                            assert_eq!(expected, Disclosure::Withheld(Withheld::NoCareSession));
                        }
                    }
                }
            }
        }
    };
    read_all(false).await;
    verified(&f, &alice, &me).await;
    read_all(true).await;
    assert_eq!(
        agent_reads(&f, &alice, &me).await,
        (
            Disclosure::Value(NAME.into()),
            Disclosure::Masked("l***@example.com".into())
        )
    );
}
