//! What a form may ask for a purpose, and what declining costs (P12): the fields a purpose
//! uses, which of them it requires, what declining each optional one costs, and, for a purpose
//! that rests on consent, what declining the consent costs and what the consent covers.
//!
//! Every choice is per purpose. A field is `required` only for the purpose that lists its
//! category in `required`; declining an optional field or a consent therefore costs what its
//! `decline_cost` says and nothing more: a consent is never a prerequisite of an order.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::consent::{ConsentTerms, consent_mode_signals, refused_by_gpc};
use crate::model::{FieldType, LegalBasis, Policy, Purpose, Section, Subject};
use crate::text::Lang;

/// The choices of one purpose in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurposeChoices<'a> {
    pub id: &'a str,
    pub label: &'a str,
    pub description: &'a str,
    pub legal_basis: LegalBasis,
    /// Present exactly when the purpose rests on consent.
    pub consent: Option<ConsentChoice<'a>>,
    /// Every field of every category the purpose uses: required categories first, then
    /// optional ones, each in declaration order.
    pub fields: Vec<FieldChoice<'a>>,
}

/// What a consent to a purpose covers and what declining it costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentChoice<'a> {
    pub decline_cost: &'a str,
    /// [`ConsentTerms::digest`]: changes when the purpose's meaning, recipients or retention
    /// change, so a stored anonymous choice under other terms must be asked again.
    pub terms: String,
    /// The Google Consent Mode v2 signals that follow this consent.
    pub consent_mode: Vec<&'static str>,
    /// Whether a Global Privacy Control signal refuses this purpose.
    pub refused_by_gpc: bool,
    /// The choices a consent carries with it: each `enum` or `enum_set` field of a required
    /// category the customer gives directly on their account (marketing's channels and
    /// frequency), keyed `category.field`.
    pub options: BTreeMap<String, OptionChoice<'a>>,
}

/// The values a consent option may take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionChoice<'a> {
    pub label: &'a str,
    pub values: &'a [String],
    /// Several values at once (`enum_set`) or exactly one (`enum`).
    pub multiple: bool,
}

/// One field a form may ask for a purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChoice<'a> {
    /// `category.field`, as the vault's API names it.
    pub field: String,
    pub label: &'a str,
    pub category_label: &'a str,
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// The purpose cannot be served without it.
    pub required: bool,
    /// What declining it costs; `None` exactly when it is required.
    pub decline_cost: Option<&'a str>,
    pub sensitive: bool,
}

impl<'a> PurposeChoices<'a> {
    /// The choices of `purpose` under `policy`, in `lang`.
    pub fn of(policy: &'a Policy, purpose: &'a Purpose, lang: Lang) -> PurposeChoices<'a> {
        let required = purpose.required.iter().map(|c| (c, None));
        let optional = purpose
            .optional
            .iter()
            .map(|o| (&o.category, Some(o.decline_cost.get(lang))));
        let fields = required
            .chain(optional)
            .filter_map(|(id, cost)| policy.category(id).map(|c| (c, cost)))
            .flat_map(|(category, decline_cost)| {
                category.fields.iter().map(move |field| FieldChoice {
                    field: format!("{}.{}", category.id, field.name),
                    label: field.label.get(lang),
                    category_label: category.label.get(lang),
                    ty: field.ty,
                    required: decline_cost.is_none(),
                    decline_cost,
                    sensitive: category.is_sensitive(),
                })
            })
            .collect();
        PurposeChoices {
            id: purpose.id.as_str(),
            label: purpose.label.get(lang),
            description: purpose.description.get(lang),
            legal_basis: purpose.legal_basis,
            consent: ConsentChoice::of(policy, purpose, lang),
            fields,
        }
    }
}

impl<'a> ConsentChoice<'a> {
    fn of(policy: &'a Policy, purpose: &'a Purpose, lang: Lang) -> Option<ConsentChoice<'a>> {
        if purpose.legal_basis != LegalBasis::Consent {
            return None;
        }
        let options = purpose
            .required
            .iter()
            .filter_map(|id| policy.category(id))
            .filter(|category| category.section == Section::Account)
            .flat_map(|category| {
                category
                    .fields
                    .iter()
                    .filter(|field| field.ty.has_values())
                    .map(move |field| {
                        let option = OptionChoice {
                            label: field.label.get(lang),
                            values: &field.values,
                            multiple: field.ty == FieldType::EnumSet,
                        };
                        (format!("{}.{}", category.id, field.name), option)
                    })
            })
            .collect();
        Some(ConsentChoice {
            // INVARIANT: validation refuses a consent-based purpose without a decline cost.
            decline_cost: purpose
                .decline_cost
                .as_ref()
                .map_or("", |cost| cost.get(lang)),
            terms: ConsentTerms::of(policy, purpose).digest(),
            consent_mode: consent_mode_signals(policy, purpose),
            refused_by_gpc: refused_by_gpc(policy, purpose),
            options,
        })
    }
}

/// The purposes that process data about `subject`, in declaration order.
pub fn purposes_for(policy: &Policy, subject: Subject) -> impl Iterator<Item = &Purpose> {
    policy
        .purposes
        .iter()
        .filter(move |p| p.subjects.contains(&subject))
}
