//! Consent receipts against the Kantara Consent Receipt v1.1 JSON schema (P1, P2): the receipt
//! of every purpose of the default policy, granted and withdrawn, in both languages, is valid;
//! and the schema is strict enough to refuse a controller without its address or telephone.

use crate::kantara;

use custodian_core::consent::receipt::receipt;
use custodian_core::consent::{CollectionChannel, ConsentState, GivenBy};
use custodian_core::ids::{ConsentId, CustomerId};
use custodian_core::vault::StoredConsent;
use custodian_policy::{DEFAULT_POLICY, Lang, parse};
use kantara::{assert_kantara_receipt, kantara_errors};

fn entry(purpose: &str, state: ConsentState) -> StoredConsent {
    let now: jiff::Timestamp = "2026-12-01T09:30:00Z".parse().unwrap();
    StoredConsent {
        id: ConsentId::generate(now).unwrap(),
        customer: CustomerId::generate(now).unwrap(),
        purpose: purpose.to_owned(),
        state,
        at: now,
        notice_version: "2026.7".to_owned(),
        notice_hash: "0123456789ab".to_owned(),
        channel: CollectionChannel::WebForm,
        recording_id: None,
        given_by: GivenBy::Customer,
        recorded_by: "customer:test".to_owned(),
        options: "{}".to_owned(),
        terms: "{}".to_owned(),
        request_id: None,
        gpc: false,
        evidence: None,
    }
}

#[test]
fn every_receipt_of_the_default_policy_is_a_valid_kantara_v1_1_receipt() {
    let policy = parse(DEFAULT_POLICY).unwrap();
    assert!(!policy.purposes.is_empty());
    for purpose in &policy.purposes {
        for state in [ConsentState::Granted, ConsentState::Denied] {
            for lang in Lang::ALL {
                let made = receipt(&policy, &entry(purpose.id.as_str(), state), lang).unwrap();
                let json = serde_json::to_value(&made).unwrap();
                assert_kantara_receipt(&json);
                let controller = &json["piiControllers"][0];
                assert_eq!(controller["phone"], policy.controller.phone.get(lang));
                assert_eq!(
                    controller["address"]["streetAddress"],
                    policy.controller.address.get(lang)
                );
                assert_eq!(controller["address"]["addressCountry"], "VN");
            }
        }
    }
}

#[test]
fn the_schema_refuses_a_controller_without_address_or_phone() {
    let policy = parse(DEFAULT_POLICY).unwrap();
    let purpose = policy.purposes[0].id.as_str();
    let made = receipt(&policy, &entry(purpose, ConsentState::Granted), Lang::Vi).unwrap();
    let valid = serde_json::to_value(&made).unwrap();
    for key in ["address", "phone", "contact", "email", "piiController"] {
        let mut broken = valid.clone();
        broken["piiControllers"][0]
            .as_object_mut()
            .unwrap()
            .remove(key);
        assert!(
            !kantara_errors(&broken).is_empty(),
            "a controller without `{key}` passed"
        );
    }
    for key in [
        "version",
        "consentTimestamp",
        "services",
        "spiCat",
        "sensitive",
    ] {
        let mut broken = valid.clone();
        broken.as_object_mut().unwrap().remove(key);
        assert!(!kantara_errors(&broken).is_empty(), "no `{key}` passed");
    }
    let mut wrong = valid.clone();
    wrong["consentTimestamp"] = serde_json::json!("2026-01-01T00:00:00Z");
    assert!(
        !kantara_errors(&wrong).is_empty(),
        "a string timestamp passed"
    );
    let mut wrong = valid;
    wrong["services"][0]["purposes"][0]["thirdPartyDisclosure"] = serde_json::json!(true);
    wrong["services"][0]["purposes"][0]
        .as_object_mut()
        .unwrap()
        .remove("thirdPartyName");
    assert!(
        !kantara_errors(&wrong).is_empty(),
        "a disclosure without the third party's name passed"
    );
}
