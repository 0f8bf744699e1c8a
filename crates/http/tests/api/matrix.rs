//! The authorization matrix over HTTP, generated from the policy: every endpoint × every
//! role (a signed-in staff member of each), a configured integration, a narrowly scoped
//! issued token, the customer themselves and another customer × every purpose. What may succeed is read off the policy here, rule by rule,
//! without the access engine; the responses must match exactly. No staff member holds a care
//! session and no customer has given consent, so need-to-know roles and consent purposes must
//! release nothing.

use std::collections::BTreeSet;

use custodian_policy::{
    Category, DEFAULT_POLICY, LegalBasis, NeedToKnow, Operation, Policy, Purpose, Section, parse,
};
use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestApp, body_json, spawn_app};

/// Who calls, as the policy (or the token's scope) describes them.
struct Caller {
    name: String,
    token: String,
    operations: Vec<Operation>,
    /// `None`: every purpose.
    purposes: Option<Vec<String>>,
    role: Option<custodian_policy::Role>,
    /// A customer signed in: on their own record (`Some(true)`) or another's.
    customer: Option<bool>,
    /// A care agent holding a verified care session for the customer read.
    care_session: bool,
}

impl Caller {
    fn may(&self, op: Operation) -> bool {
        self.operations.contains(&op)
    }

    /// Whether the policy lets this caller see `category` for `purpose`, with no care session,
    /// no fulfilling order and no consent given.
    fn sees(&self, purpose: &Purpose, category: &Category) -> bool {
        if let Some(own) = self.customer {
            return own;
        }
        let serves = match (&self.role, &self.purposes) {
            (Some(role), _) => {
                let bound = match role.need_to_know {
                    NeedToKnow::Always => true,
                    NeedToKnow::CareSession => self.care_session,
                    NeedToKnow::FulfillingOrder | NeedToKnow::Pseudonymous => false,
                };
                role.purposes.contains(&purpose.id) && bound
            }
            (None, None) => true,
            (None, Some(ps)) => ps.iter().any(|p| p == purpose.id.as_str()),
        };
        let restricted = !category.restricted_to.is_empty() || category.is_sensitive();
        let listed = self
            .role
            .as_ref()
            .is_some_and(|r| category.restricted_to.contains(&r.id));
        serves
            && purpose.legal_basis != LegalBasis::Consent
            && purpose.uses(&category.id)
            && (!restricted || listed)
    }

    fn masks(&self, category: &Category) -> bool {
        self.role
            .as_ref()
            .is_some_and(|r| r.masked.contains(&category.id))
    }
}

/// A customer's session, by a code sent to their email.
async fn customer_session(app: &TestApp, email: &str) -> String {
    let body = json!({ "email": email }).to_string();
    let response = app
        .call_as(None, "POST", "/v1/customer-sessions/code", Some(body))
        .await;
    assert_eq!(response.status(), 202);
    let code = app.notifier.last_code().unwrap().to_string();
    let body = json!({ "email": email, "code": code }).to_string();
    let response = app
        .call_as(None, "POST", "/v1/customer-sessions", Some(body))
        .await;
    assert_eq!(response.status(), 201);
    body_json(response).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A care agent's session, with a verified care session for `customer`.
async fn agent_in_session(app: &TestApp, customer: &str) -> String {
    app.identity
        .create_user(
            "in-session@staff.example",
            "care_agent",
            crate::helpers::STAFF_PASSWORD,
        )
        .await
        .unwrap();
    let token = app
        .sign_in("in-session@staff.example", crate::helpers::STAFF_PASSWORD)
        .await;
    let body = json!({ "customer": customer, "channel": "email" }).to_string();
    let response = app
        .call_as(Some(&token), "POST", "/v1/care-sessions", Some(body))
        .await;
    assert_eq!(response.status(), 201);
    let id = body_json(response).await["id"].as_str().unwrap().to_owned();
    let code = app.notifier.last_code().unwrap().to_string();
    let body = json!({ "code": code }).to_string();
    let uri = format!("/v1/care-sessions/{id}/verify");
    let response = app.call_as(Some(&token), "POST", &uri, Some(body)).await;
    assert_eq!(response.status(), 200);
    token
}

async fn callers(app: &TestApp, policy: &Policy, me: &str) -> Vec<Caller> {
    let mut all = Vec::new();
    let reading = vec![Operation::CustomersRead, Operation::CustomersHistory];
    all.push(Caller {
        name: "the customer themselves".into(),
        token: customer_session(app, "huong@example.com").await,
        operations: reading.clone(),
        purposes: None,
        role: None,
        customer: Some(true),
        care_session: false,
    });
    let other = app
        .create(json!({ "account_name.full_name": "Khách Khác", "account_email.email": "khac@example.com" }))
        .await;
    assert!(other.starts_with("cus_"));
    all.push(Caller {
        name: "another customer".into(),
        token: customer_session(app, "khac@example.com").await,
        operations: reading,
        purposes: None,
        role: None,
        customer: Some(false),
        care_session: false,
    });
    for role in &policy.roles {
        all.push(Caller {
            name: format!("role {}", role.id),
            token: app.staff(role.id.as_str()).await,
            operations: role.operations.clone(),
            purposes: None,
            role: Some(role.clone()),
            customer: None,
            care_session: false,
        });
    }
    all.push(Caller {
        name: "configured integration".into(),
        token: TOKEN.into(),
        operations: Operation::ALL
            .into_iter()
            .filter(|o| !o.is_administration())
            .collect(),
        purposes: None,
        role: None,
        customer: None,
        care_session: false,
    });
    let agent = policy.role_named("care_agent").expect("a care agent role");
    all.push(Caller {
        name: "care agent in a verified care session".into(),
        token: agent_in_session(app, me).await,
        operations: agent.operations.clone(),
        purposes: None,
        role: Some(agent.clone()),
        customer: None,
        care_session: true,
    });
    let admin = &all
        .iter()
        .find(|c| c.role.as_ref().is_some_and(|r| r.id.as_str() == "admin"))
        .expect("an admin role")
        .token;
    let scope =
        json!({ "name": "narrow", "operations": ["customers.read"], "purposes": ["account"] });
    let response = app
        .call_as(Some(admin), "POST", "/v1/tokens", Some(scope.to_string()))
        .await;
    assert_eq!(response.status(), 201);
    let token = body_json(response).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    all.push(Caller {
        name: "issued token (read, account)".into(),
        token,
        operations: vec![Operation::CustomersRead],
        purposes: Some(vec!["account".into()]),
        role: None,
        customer: None,
        care_session: false,
    });
    all
}

fn profile(policy: &Policy) -> impl Iterator<Item = (&Category, &custodian_policy::Field)> {
    policy
        .categories
        .iter()
        .filter(|c| c.section == Section::Account)
        .flat_map(|c| c.fields.iter().map(move |f| (c, f)))
}

/// A valid value for each profile field a creation may send.
fn sample(field: &str) -> Value {
    match field {
        "account_name.full_name" => json!("Hồ Xuân Hương"),
        "account_email.email" => json!("huong@example.com"),
        "account_phone.phone" => json!("+84901234567"),
        "account_birth_date.date_of_birth" => json!("1990-04-30"),
        "marketing_preferences.channels" => json!(["email"]),
        "marketing_preferences.frequency" => json!("weekly"),
        other => panic!("no sample for {other}"),
    }
}

#[tokio::test]
async fn every_endpoint_role_token_and_purpose_is_allowed_exactly_as_the_policy_says() {
    let app = spawn_app().await;
    let policy = parse(DEFAULT_POLICY).unwrap();
    let me = app
        .create(json!({ "account_name.full_name": "Hồ Xuân Hương", "account_email.email": "huong@example.com" }))
        .await;
    let callers = callers(&app, &policy, &me).await;
    let stored: BTreeSet<&str> = ["account_name.full_name", "account_email.email"].into();
    let category = |id: &str| policy.category_named(id).unwrap();
    let mut checked = 0;
    // How many checks expected success, and how many expected a refusal: both must occur.
    let mut outcomes = [0usize; 2];

    for caller in &callers {
        let token = Some(caller.token.as_str());
        for purpose in &policy.purposes {
            let p = purpose.id.as_str();
            let who = format!("{} for `{p}`", caller.name);

            // Read and history: allowed by the operation; each field as the policy says.
            for (op, uri) in [
                (
                    Operation::CustomersRead,
                    format!("/v1/customers/{me}?purpose={p}"),
                ),
                (
                    Operation::CustomersHistory,
                    format!("/v1/customers/{me}/history?purpose={p}"),
                ),
            ] {
                let response = app.call_as(token, "GET", &uri, None).await;
                let got = response.status().as_u16();
                if !caller.may(op) {
                    assert_eq!(got, 403, "{who}: {uri}");
                    continue;
                }
                // Another customer's record does not exist, as far as a customer can tell.
                if caller.customer == Some(false) {
                    assert_eq!(got, 404, "{who}: {uri}");
                    continue;
                }
                assert_eq!(got, 200, "{who}: {uri}");
                if op != Operation::CustomersRead {
                    continue;
                }
                let view = body_json(response).await;
                for (c, f) in profile(&policy) {
                    let name = format!("{}.{}", c.id, f.name);
                    let shown = &view["fields"][&name];
                    let expected = match (caller.sees(purpose, c), stored.contains(name.as_str())) {
                        (false, _) => "withheld",
                        (true, false) => "not_collected",
                        (true, true) if caller.masks(c) => "masked",
                        (true, true) => "value",
                    };
                    let actual = match shown {
                        v if v.get("value").is_some() => "value",
                        v if v.get("masked").is_some() => "masked",
                        v if v["withheld"] == "not_collected" => "not_collected",
                        v if v.get("withheld").is_some() => "withheld",
                        v => panic!("{who}: {name} is {v}"),
                    };
                    assert_eq!(actual, expected, "{who}: {name}: {shown}");
                }
            }

            // Look-up by email.
            let body = json!({ "email": "huong@example.com" }).to_string();
            let response = app
                .call_as(
                    token,
                    "POST",
                    &format!("/v1/customers/lookup?purpose={p}"),
                    Some(body),
                )
                .await;
            // Whom a look-up finds is not known beforehand: no care session can cover it.
            let allowed = caller.may(Operation::CustomersLookup)
                && !caller.care_session
                && caller.sees(purpose, category("account_email"));
            outcomes[usize::from(allowed)] += 1;
            assert_eq!(
                response.status() == 200,
                allowed,
                "{who}: lookup {}",
                response.status()
            );

            // Correction of the name, to the same value.
            let body = json!({ "fields": { "account_name.full_name": "Hồ Xuân Hương" } });
            let response = app
                .call_as(
                    token,
                    "PATCH",
                    &format!("/v1/customers/{me}?purpose={p}"),
                    Some(body.to_string()),
                )
                .await;
            let allowed = caller.may(Operation::CustomersCorrect)
                && caller.sees(purpose, category("account_name"));
            outcomes[usize::from(allowed)] += 1;
            assert_eq!(
                response.status() == 204,
                allowed,
                "{who}: correct {}",
                response.status()
            );

            // Creation with the profile fields the purpose requires.
            let fields: serde_json::Map<String, Value> = profile(&policy)
                .filter(|(c, _)| purpose.required.contains(&c.id))
                .map(|(c, f)| {
                    let name = format!("{}.{}", c.id, f.name);
                    let value = sample(&name);
                    (name, value)
                })
                .collect();
            let allowed = caller.may(Operation::CustomersCreate)
                && profile(&policy)
                    .filter(|(c, _)| purpose.required.contains(&c.id))
                    .all(|(c, _)| caller.sees(purpose, c));
            outcomes[usize::from(allowed)] += 1;
            let body = json!({ "fields": fields }).to_string();
            let response = app
                .call_as(
                    token,
                    "POST",
                    &format!("/v1/customers?purpose={p}"),
                    Some(body),
                )
                .await;
            assert_eq!(
                response.status() == 201,
                allowed,
                "{who}: create {}",
                response.status()
            );

            // Erasure of a customer of its own.
            let victim = app
                .create(json!({ "account_name.full_name": "Nạn Nhân", "account_email.email": format!("v{checked}@example.com") }))
                .await;
            let response = app
                .call_as(
                    token,
                    "DELETE",
                    &format!("/v1/customers/{victim}?purpose={p}"),
                    None,
                )
                .await;
            let allowed = caller.may(Operation::CustomersErase)
                && ["account_name", "account_email"]
                    .iter()
                    .any(|c| caller.sees(purpose, category(c)));
            outcomes[usize::from(allowed)] += 1;
            assert_eq!(
                response.status() == 200,
                allowed,
                "{who}: erase {}",
                response.status()
            );

            // The DPO's explanation.
            let uri = format!("/v1/access/explain?purpose={p}&role=care_agent&customer={me}");
            let response = app.call_as(token, "GET", &uri, None).await;
            let allowed = caller.may(Operation::AccessExplain);
            outcomes[usize::from(allowed)] += 1;
            assert_eq!(
                response.status() == 200,
                allowed,
                "{who}: explain {}",
                response.status()
            );
            checked += 1;
        }

        // Administration, which names no purpose.
        for (op, uri) in [
            (Operation::UsersManage, "/v1/users"),
            (Operation::TokensManage, "/v1/tokens"),
            (Operation::OutboxManage, "/v1/outbox?status=dead"),
        ] {
            let response = app.call_as(token, "GET", uri, None).await;
            assert_eq!(
                response.status() == 200,
                caller.may(op),
                "{}: {uri}",
                caller.name
            );
        }
    }
    assert_eq!(checked, callers.len() * policy.purposes.len());
    assert!(
        outcomes[0] > 0 && outcomes[1] > 0,
        "refused / allowed: {outcomes:?}"
    );
}
