//! P12: what each purpose may ask, which fields it requires, and what declining costs.
use std::collections::BTreeSet;

use custodian_policy::choices::purposes_for;
use custodian_policy::consent::{consent_mode_signals, refused_by_gpc};
use custodian_policy::{
    ConsentTerms, DEFAULT_POLICY, Lang, LegalBasis, Policy, PurposeChoices, Subject, parse,
};

fn policy() -> Policy {
    parse(DEFAULT_POLICY).unwrap()
}

fn choices<'a>(policy: &'a Policy, id: &str, lang: Lang) -> PurposeChoices<'a> {
    PurposeChoices::of(policy, policy.purpose_named(id).unwrap(), lang)
}

#[test]
fn an_order_requires_only_its_required_categories_and_says_what_the_rest_cost() {
    let policy = policy();
    let purpose = policy.purpose_named("order_fulfilment").unwrap();
    for lang in Lang::ALL {
        let order = choices(&policy, "order_fulfilment", lang);
        assert_eq!(order.legal_basis, LegalBasis::Contract);
        assert!(order.consent.is_none());
        let required: BTreeSet<&str> = order
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.field.split_once('.').unwrap().0)
            .collect();
        let declared: BTreeSet<&str> = purpose.required.iter().map(|c| c.as_str()).collect();
        assert_eq!(required, declared);
        for field in &order.fields {
            let category = field.field.split_once('.').unwrap().0;
            match purpose
                .optional
                .iter()
                .find(|o| o.category.as_str() == category)
            {
                Some(optional) => {
                    assert!(!field.required, "{}", field.field);
                    assert_eq!(field.decline_cost, Some(optional.decline_cost.get(lang)));
                }
                None => assert_eq!(field.decline_cost, None, "{}", field.field),
            }
        }
    }
    let en = choices(&policy, "order_fulfilment", Lang::En);
    let phone = en
        .fields
        .iter()
        .find(|f| f.field == "order_contact_phone.contact_phone")
        .unwrap();
    assert_eq!(
        phone.decline_cost,
        Some("Without a contact phone number the carrier cannot call you before delivery.")
    );
    let vi = choices(&policy, "order_fulfilment", Lang::Vi);
    let phone = vi
        .fields
        .iter()
        .find(|f| f.field == "order_contact_phone.contact_phone")
        .unwrap();
    assert!(phone.decline_cost.unwrap().contains("đơn vị vận chuyển"));
}

/// Declining a consent or an optional field never blocks an order: a field is required only
/// by the purpose that lists its category as required, and every purpose an order needs rests
/// on the contract, never on a consent that could be declined.
#[test]
fn no_consent_and_no_optional_field_is_required_by_anything_else() {
    let policy = policy();
    for purpose in &policy.purposes {
        let listed = PurposeChoices::of(&policy, purpose, Lang::En);
        for field in &listed.fields {
            let category = field.field.split_once('.').unwrap().0;
            assert_eq!(
                field.required,
                purpose.required.iter().any(|c| c.as_str() == category),
                "{} for {}",
                field.field,
                purpose.id
            );
            assert_eq!(field.required, field.decline_cost.is_none());
        }
        assert_eq!(
            listed.consent.is_some(),
            purpose.legal_basis == LegalBasis::Consent,
            "{}",
            purpose.id
        );
    }
    for id in ["order_fulfilment", "legal_obligation"] {
        assert_ne!(
            policy.purpose_named(id).unwrap().legal_basis,
            LegalBasis::Consent
        );
    }
}

#[test]
fn a_consent_says_what_declining_costs_and_what_it_covers() {
    let policy = policy();
    for purpose in policy
        .purposes
        .iter()
        .filter(|p| p.legal_basis == LegalBasis::Consent)
    {
        for lang in Lang::ALL {
            let consent = PurposeChoices::of(&policy, purpose, lang).consent.unwrap();
            assert_eq!(
                consent.decline_cost,
                purpose.decline_cost.as_ref().unwrap().get(lang)
            );
            assert_eq!(consent.terms, ConsentTerms::of(&policy, purpose).digest());
            assert_eq!(consent.consent_mode, consent_mode_signals(&policy, purpose));
            assert_eq!(consent.refused_by_gpc, refused_by_gpc(&policy, purpose));
        }
    }
    let ads = choices(&policy, "personalised_ads", Lang::En)
        .consent
        .unwrap();
    assert_eq!(
        ads.consent_mode,
        ["ad_storage", "ad_user_data", "ad_personalization"]
    );
    assert!(ads.refused_by_gpc);
    let ga = choices(&policy, "third_party_analytics", Lang::En)
        .consent
        .unwrap();
    assert_eq!(ga.consent_mode, ["analytics_storage"]);
    assert!(ga.refused_by_gpc);
    let own = choices(&policy, "analytics", Lang::En).consent.unwrap();
    assert!(own.consent_mode.is_empty());
    assert!(!own.refused_by_gpc);
    assert!(own.options.is_empty());
}

#[test]
fn marketing_carries_its_channels_and_frequency() {
    let policy = policy();
    let marketing = choices(&policy, "marketing", Lang::En).consent.unwrap();
    assert_eq!(
        marketing.options.keys().collect::<Vec<_>>(),
        [
            "marketing_preferences.channels",
            "marketing_preferences.frequency"
        ]
    );
    let channels = &marketing.options["marketing_preferences.channels"];
    assert_eq!(channels.label, "Channels");
    assert_eq!(channels.values, ["email", "sms", "push"]);
    assert!(channels.multiple);
    let frequency = &marketing.options["marketing_preferences.frequency"];
    assert_eq!(frequency.values, ["weekly", "monthly"]);
    assert!(!frequency.multiple);
    let vi = choices(&policy, "marketing", Lang::Vi).consent.unwrap();
    assert_eq!(
        vi.options["marketing_preferences.channels"].label,
        "Kênh nhận tin"
    );
}

#[test]
fn fields_carry_labels_types_and_sensitivity() {
    let policy = policy();
    let analytics = choices(&policy, "analytics", Lang::En);
    let first = &analytics.fields[0];
    assert!(first.field.starts_with("viewing_history."));
    assert!(first.required);
    assert!(first.sensitive, "viewing history is online behaviour");
    let json = serde_json::to_value(&analytics).unwrap();
    assert!(json["fields"][0]["type"].is_string());
    assert!(json["fields"][0]["category_label"].is_string());
    let ads = choices(&policy, "personalised_ads", Lang::En);
    let email = ads
        .fields
        .iter()
        .find(|f| f.field == "account_email.email")
        .unwrap();
    assert!(email.required && !email.sensitive);
    assert_eq!(email.category_label, "Email address");
}

#[test]
fn subjects_select_their_purposes() {
    let policy = policy();
    let visitors: Vec<&str> = purposes_for(&policy, Subject::Visitors)
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(
        visitors,
        [
            "personalised_ads",
            "analytics",
            "third_party_analytics",
            "security"
        ]
    );
    for subject in Subject::ALL {
        assert_eq!(Subject::parse(subject.as_str()), Some(subject));
    }
    assert_eq!(Subject::parse("Visitors"), None);
}
