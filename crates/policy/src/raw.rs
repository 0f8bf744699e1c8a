//! The policy file as written: what serde reads, with source spans kept for diagnostics.
//! Nothing outside this crate sees these types; [`crate::validate`] turns them into a
//! [`crate::Policy`] or a list of precise errors.

use serde::Deserialize;
use toml::Spanned;

use crate::model::{
    Anchor, DataForm, ExpiryAction, FieldType, LegalBasis, NeedToKnow, Operation, PartnerKind,
    RightKind, Section, SensitiveKind, Subject,
};

pub(crate) type Id = Spanned<String>;

/// A bilingual text as written; a missing translation is reported by validation, not serde,
/// so the message can say which text lacks which language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTextInner {
    pub vi: Option<String>,
    pub en: Option<String>,
}

pub(crate) type RawText = Spanned<RawTextInner>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    pub schema: Spanned<u32>,
    pub notice: RawNotice,
    pub controller: RawController,
    #[serde(default, rename = "category")]
    pub categories: Vec<RawCategory>,
    #[serde(default, rename = "purpose")]
    pub purposes: Vec<RawPurpose>,
    #[serde(default, rename = "role")]
    pub roles: Vec<RawRole>,
    #[serde(default, rename = "partner")]
    pub partners: Vec<RawPartner>,
    #[serde(default, rename = "authority")]
    pub authorities: Vec<RawAuthority>,
    #[serde(default)]
    pub retention: Vec<RawRetention>,
    #[serde(default, rename = "legal_hold")]
    pub legal_holds: Vec<RawLegalHold>,
    #[serde(default, rename = "right")]
    pub rights: Vec<RawRight>,
    #[serde(default)]
    pub security_measures: Vec<RawText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotice {
    pub version: Spanned<String>,
    pub effective: Spanned<String>,
    pub texts: RawNoticeTexts,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNoticeTexts {
    pub title: RawText,
    pub intro: RawText,
    pub collected_directly: RawText,
    pub collected_from_use: RawText,
    pub third_party_analytics: RawText,
    pub choices: RawText,
    pub global_privacy_control: RawText,
    pub uses: RawText,
    pub sharing_internal: RawText,
    pub sharing_partners: RawText,
    pub sharing_authorities: RawText,
    pub security: RawText,
    pub sensitive: RawText,
    pub cross_border: RawText,
    pub retention: RawText,
    pub children: RawText,
    pub rights: RawText,
    pub contact: RawText,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawController {
    pub name: Spanned<String>,
    pub site: Spanned<String>,
    pub email: Spanned<String>,
    /// The controller's postal address and telephone: optional here so that their absence is
    /// reported with its own code (`missing_controller_contact`), not as a TOML error.
    pub address: Option<RawText>,
    pub phone: Option<RawText>,
    pub jurisdiction: Spanned<String>,
    pub age_of_consent: Spanned<u32>,
    pub dpo: RawDpo,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDpo {
    pub title: RawText,
    pub email: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCategory {
    pub id: Id,
    pub label: RawText,
    pub description: RawText,
    pub section: Section,
    pub sensitivity: Spanned<RawSensitivity>,
    pub sensitive_kind: Option<Spanned<SensitiveKind>>,
    #[serde(default)]
    pub restricted_to: Vec<Id>,
    #[serde(default, rename = "field")]
    pub fields: Vec<RawField>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawSensitivity {
    Basic,
    Sensitive,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawField {
    pub name: Id,
    pub label: RawText,
    #[serde(rename = "type")]
    pub ty: Spanned<FieldType>,
    pub format: Option<String>,
    pub max_length: Option<u32>,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPurpose {
    pub id: Id,
    pub label: RawText,
    pub description: RawText,
    pub legal_basis: Spanned<LegalBasis>,
    pub subjects: Vec<Subject>,
    #[serde(default)]
    pub required: Vec<Id>,
    #[serde(default)]
    pub optional: Vec<RawOptionalUse>,
    pub decline_cost: Option<RawText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOptionalUse {
    pub category: Id,
    pub decline_cost: Option<RawText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRole {
    pub id: Id,
    pub label: RawText,
    pub purposes: Vec<Id>,
    #[serde(default)]
    pub operations: Vec<Operation>,
    #[serde(default)]
    pub masked: Vec<Id>,
    #[serde(default)]
    pub need_to_know: NeedToKnow,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPartner {
    pub id: Id,
    pub name: RawText,
    pub kind: PartnerKind,
    pub purpose: Id,
    pub fields: Spanned<Vec<Id>>,
    pub data_form: DataForm,
    pub agreement: RawAgreement,
    pub country: Spanned<String>,
    pub cross_border: Spanned<bool>,
    pub transfer_safeguard: Option<RawText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAgreement {
    pub reference: Spanned<String>,
    pub signed: Spanned<String>,
    pub processing_period: RawText,
    pub deletion: RawText,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuthority {
    pub id: Id,
    pub name: RawText,
    pub legal_basis: RawText,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetention {
    pub category: Id,
    pub purpose: Option<Id>,
    pub duration: Spanned<String>,
    pub from: Anchor,
    pub at_expiry: ExpiryAction,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLegalHold {
    pub id: Id,
    pub label: RawText,
    pub categories: Vec<Id>,
    pub purpose: Id,
    pub duration: Spanned<String>,
    pub from: Anchor,
    pub basis: RawText,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRight {
    pub kind: Spanned<RightKind>,
    pub label: RawText,
    pub description: RawText,
    pub due_days: u32,
}
