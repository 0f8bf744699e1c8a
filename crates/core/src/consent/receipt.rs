//! Consent receipts in the fields of the Kantara Initiative Consent Receipt Specification
//! v1.1: one receipt per entry of the consent history, which the customer can download.
//!
//! Kantara's receipt records a consent given; a withdrawal or refusal is receipted the same
//! way, with the state in the `x-custodian` extension (with the notice version and who gave
//! it), so that every change can be proven with the same document.

use custodian_policy::{Lang, LegalBasis, Policy, Purpose, Sensitivity};
use serde::Serialize;

use crate::vault::StoredConsent;

/// The version string Kantara v1.1 receipts carry.
pub const KANTARA_VERSION: &str = "KI-CR-v1.1.0";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentReceipt {
    pub version: &'static str,
    pub jurisdiction: String,
    /// Seconds since the Unix epoch.
    pub consent_timestamp: i64,
    pub collection_method: String,
    #[serde(rename = "consentReceiptID")]
    pub consent_receipt_id: String,
    pub language: &'static str,
    pub pii_principal_id: String,
    pub pii_controllers: Vec<PiiController>,
    pub policy_url: String,
    pub services: Vec<Service>,
    pub sensitive: bool,
    pub spi_cat: Vec<String>,
    #[serde(rename = "x-custodian")]
    pub extension: Extension,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PiiController {
    pub pii_controller: String,
    pub on_behalf: bool,
    pub contact: String,
    pub address: PostalAddress,
    pub email: String,
    pub phone: String,
    pub pii_controller_url: String,
}

/// Kantara v1.1's `address` is an object (its example and implementations use schema.org's
/// `PostalAddress` names): the policy's address as written, and the controller's country.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostalAddress {
    pub street_address: String,
    pub address_country: String,
}

#[derive(Debug, Serialize)]
pub struct Service {
    pub service: String,
    pub purposes: Vec<ReceiptPurpose>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptPurpose {
    pub purpose: String,
    pub purpose_category: Vec<String>,
    pub consent_type: &'static str,
    pub pii_category: Vec<String>,
    pub primary_purpose: bool,
    pub termination: String,
    pub third_party_disclosure: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub third_party_name: Option<String>,
}

/// What Kantara's fields do not say: the state this change set and what it was given under.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub purpose_id: String,
    pub state: &'static str,
    pub notice_version: String,
    pub notice_hash: String,
    pub given_by: &'static str,
    pub options: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_id: Option<String>,
}

/// How a consent ends, in the customer's language.
fn termination(lang: Lang) -> String {
    match lang {
        Lang::Vi => "Bạn có thể rút lại bất cứ lúc nào, dễ dàng như khi đồng ý, trong phần tùy chọn quyền riêng tư hoặc qua bộ phận Chăm sóc Khách hàng; việc rút lại có hiệu lực ngay và không ảnh hưởng tới việc xử lý trước đó.",
        Lang::En => "You can withdraw at any time, as easily as you agreed, in your privacy preferences or through Customer Care; withdrawal takes effect at once and does not affect processing before it.",
    }
    .to_owned()
}

/// The receipt of one entry of the consent history, in `lang`. `None` when the entry's
/// purpose is no longer in the policy (its receipt can no longer be described truthfully).
pub fn receipt(policy: &Policy, entry: &StoredConsent, lang: Lang) -> Option<ConsentReceipt> {
    let purpose: &Purpose = policy.purpose_named(&entry.purpose)?;
    let categories: Vec<_> = purpose
        .categories()
        .filter_map(|id| policy.category(id))
        .collect();
    let spi_cat: Vec<String> = categories
        .iter()
        .filter(|c| matches!(c.sensitivity, Sensitivity::Sensitive(_)))
        .map(|c| c.label.get(lang).to_owned())
        .collect();
    let partners: Vec<String> = policy
        .partners
        .iter()
        .filter(|p| p.purpose == purpose.id)
        .map(|p| p.name.get(lang).to_owned())
        .collect();
    let controller = &policy.controller;
    Some(ConsentReceipt {
        version: KANTARA_VERSION,
        jurisdiction: controller.jurisdiction.as_str().to_owned(),
        consent_timestamp: entry.at.as_second(),
        collection_method: entry.channel.as_str().to_owned(),
        consent_receipt_id: entry.id.as_str().to_owned(),
        language: lang.tag(),
        pii_principal_id: entry.customer.as_str().to_owned(),
        pii_controllers: vec![PiiController {
            pii_controller: controller.name.clone(),
            on_behalf: false,
            contact: controller.dpo.title.get(lang).to_owned(),
            address: PostalAddress {
                street_address: controller.address.get(lang).to_owned(),
                address_country: controller.jurisdiction.as_str().to_owned(),
            },
            email: controller.dpo.email.clone(),
            phone: controller.phone.get(lang).to_owned(),
            pii_controller_url: controller.site.clone(),
        }],
        policy_url: format!(
            "{}/privacy?version={}&lang={}",
            controller.site.trim_end_matches('/'),
            entry.notice_hash,
            lang.tag()
        ),
        services: vec![Service {
            service: controller.name.clone(),
            purposes: vec![ReceiptPurpose {
                purpose: purpose.label.get(lang).to_owned(),
                purpose_category: vec![purpose.id.as_str().to_owned()],
                consent_type: if purpose.legal_basis == LegalBasis::Consent {
                    "EXPLICIT"
                } else {
                    "NOT_REQUIRED"
                },
                pii_category: categories
                    .iter()
                    .map(|c| c.label.get(lang).to_owned())
                    .collect(),
                primary_purpose: false,
                termination: termination(lang),
                third_party_disclosure: !partners.is_empty(),
                third_party_name: (!partners.is_empty()).then(|| partners.join("; ")),
            }],
        }],
        sensitive: !spi_cat.is_empty(),
        spi_cat,
        extension: Extension {
            purpose_id: entry.purpose.clone(),
            state: entry.state.as_str(),
            notice_version: entry.notice_version.clone(),
            notice_hash: entry.notice_hash.clone(),
            given_by: entry.given_by.as_str(),
            options: serde_json::from_str(&entry.options)
                .unwrap_or(serde_json::Value::Object(serde_json::Map::new())),
            recording_id: entry.recording_id.clone(),
        },
    })
}
