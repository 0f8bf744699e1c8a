//! Which policy changes void a consent given under the earlier policy: a new meaning, a new
//! recipient, a longer retention — and nothing else.

use custodian_policy::consent::{consent_mode_signals, refused_by_gpc};
use custodian_policy::{ConsentTerms, DEFAULT_POLICY, Policy, RenewalReason, parse};

fn terms(policy: &Policy, purpose: &str) -> ConsentTerms {
    ConsentTerms::of(policy, policy.purpose_named(purpose).unwrap())
}

fn changed(from: &str, to: &str) -> Policy {
    assert_eq!(DEFAULT_POLICY.matches(from).count(), 1, "`{from}` once");
    parse(&DEFAULT_POLICY.replacen(from, to, 1)).unwrap()
}

fn renewal(after: &Policy, purpose: &str) -> Option<RenewalReason> {
    let before = parse(DEFAULT_POLICY).unwrap();
    terms(&before, purpose).renewal_under(&terms(after, purpose))
}

#[test]
fn the_same_policy_needs_no_renewal_and_terms_digest_stably() {
    let p = parse(DEFAULT_POLICY).unwrap();
    for purpose in &p.purposes {
        let t = ConsentTerms::of(&p, purpose);
        assert_eq!(t.renewal_under(&t), None);
        assert_eq!(t.digest(), ConsentTerms::of(&p, purpose).digest());
    }
    assert_ne!(
        terms(&p, "marketing").digest(),
        terms(&p, "analytics").digest()
    );
}

#[test]
fn a_new_meaning_needs_renewal() {
    let after = changed(
        "Send offers on the channels (email, SMS, app notifications)",
        "Send offers and surveys on the channels (email, SMS, app notifications)",
    );
    assert_eq!(
        renewal(&after, "marketing"),
        Some(RenewalReason::MeaningChanged)
    );
    assert_eq!(
        renewal(&after, "analytics"),
        None,
        "only the purpose that changed"
    );
}

#[test]
fn a_new_recipient_needs_renewal_but_one_fewer_does_not() {
    let after = changed(
        "id = \"analyst\"\nlabel = { vi = \"Nhân viên phân tích\", en = \"Analyst\" }\npurposes = [\"analytics\"]",
        "id = \"analyst\"\nlabel = { vi = \"Nhân viên phân tích\", en = \"Analyst\" }\npurposes = [\"analytics\", \"marketing\"]",
    );
    assert_eq!(
        renewal(&after, "marketing"),
        Some(RenewalReason::RecipientAdded)
    );
    let before = after;
    let now = parse(DEFAULT_POLICY).unwrap();
    assert_eq!(
        terms(&before, "marketing").renewal_under(&terms(&now, "marketing")),
        None
    );
}

#[test]
fn a_longer_retention_needs_renewal_but_a_shorter_one_does_not() {
    let rule = "category = \"viewing_history\"\nduration = \"13m\"";
    let longer = changed(rule, "category = \"viewing_history\"\nduration = \"2y\"");
    assert_eq!(
        renewal(&longer, "analytics"),
        Some(RenewalReason::RetentionLengthened)
    );
    assert_eq!(
        renewal(&longer, "third_party_analytics"),
        Some(RenewalReason::RetentionLengthened)
    );
    assert_eq!(
        renewal(&longer, "personalised_ads"),
        None,
        "does not use viewing history"
    );
    let shorter = changed(rule, "category = \"viewing_history\"\nduration = \"6m\"");
    assert_eq!(renewal(&shorter, "analytics"), None);
}

#[test]
fn an_unrelated_change_of_the_notice_needs_no_renewal() {
    let after = changed(
        "contact = { vi = \"Mọi câu hỏi",
        "contact = { vi = \"Mọi thắc mắc",
    );
    for purpose in [
        "marketing",
        "analytics",
        "third_party_analytics",
        "personalised_ads",
    ] {
        assert_eq!(renewal(&after, purpose), None, "{purpose}");
    }
}

#[test]
fn consent_mode_and_gpc_follow_the_partners_of_each_purpose() {
    let p = parse(DEFAULT_POLICY).unwrap();
    let purpose = |id| p.purpose_named(id).unwrap();
    assert_eq!(
        consent_mode_signals(&p, purpose("third_party_analytics")),
        ["analytics_storage"]
    );
    assert_eq!(
        consent_mode_signals(&p, purpose("personalised_ads")),
        ["ad_storage", "ad_user_data", "ad_personalization"]
    );
    assert!(consent_mode_signals(&p, purpose("analytics")).is_empty());
    assert!(consent_mode_signals(&p, purpose("marketing")).is_empty());
    let gpc: Vec<&str> = p
        .purposes
        .iter()
        .filter(|x| refused_by_gpc(&p, x))
        .map(|x| x.id.as_str())
        .collect();
    assert_eq!(gpc, ["personalised_ads", "third_party_analytics"]);
}
