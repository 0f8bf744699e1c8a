//! Turns the policy as written ([`crate::raw`]) into a [`Policy`], or reports every defect
//! with the place it is at. Checks run in one pass per kind of entry; references are
//! resolved against the ids declared anywhere in the file, so order of declaration is free.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use toml::Spanned;

use crate::diagnostic::{Code, Diagnostic, Location, PolicyErrors};
use crate::duration::Duration;
use crate::model::*;
use crate::raw::*;
use crate::text::{Lang, Text};

/// The policy format this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Parses and validates a policy. Pure: the caller reads the file.
pub fn parse(source: &str) -> Result<Policy, PolicyErrors> {
    let raw: RawPolicy =
        toml::from_str(source).map_err(|e| PolicyErrors(vec![from_toml(source, &e)]))?;
    let mut v = Validator::default();
    let policy = v.policy(raw);
    if v.errors.is_empty() {
        Ok(policy)
    } else {
        let mut errors = v.errors;
        errors.sort_by_key(|d| d.span.as_ref().map(|s| s.start));
        for d in &mut errors {
            d.location = d.span.as_ref().map(|s| Location::of(source, s.start));
        }
        Err(PolicyErrors(errors))
    }
}

fn from_toml(source: &str, e: &toml::de::Error) -> Diagnostic {
    let message = e.message().trim().to_owned();
    let code = if message.starts_with("unknown field") {
        Code::UnknownKey
    } else if message.starts_with("missing field") {
        Code::MissingKey
    } else if message.starts_with("unknown variant") || message.starts_with("invalid type") {
        Code::InvalidValue
    } else {
        Code::Syntax
    };
    let span = e.span();
    Diagnostic {
        code,
        message,
        location: span.as_ref().map(|s| Location::of(source, s.start)),
        span,
    }
}

#[derive(Default)]
struct Validator {
    errors: Vec<Diagnostic>,
}

/// The ids declared in the file, collected before any reference is checked.
struct Declared {
    categories: HashMap<String, HashSet<String>>,
    purposes: HashMap<String, LegalBasis>,
    roles: HashSet<String>,
}

impl Validator {
    fn error(&mut self, code: Code, span: Range<usize>, message: String) {
        self.errors.push(Diagnostic {
            code,
            message,
            location: None,
            span: Some(span),
        });
    }

    fn policy(&mut self, raw: RawPolicy) -> Policy {
        if *raw.schema.get_ref() != SCHEMA_VERSION {
            self.error(
                Code::UnsupportedSchema,
                raw.schema.span(),
                format!(
                    "schema `{}` is not supported; this build reads schema `{SCHEMA_VERSION}`",
                    raw.schema.get_ref()
                ),
            );
        }
        let declared = self.declarations(&raw);
        let notice = self.notice(&raw.notice);
        let controller = self.controller(&raw.controller);
        let categories: Vec<Category> = raw
            .categories
            .iter()
            .map(|c| self.category(c, &declared))
            .collect();
        let purposes: Vec<Purpose> = raw
            .purposes
            .iter()
            .map(|p| self.purpose(p, &declared))
            .collect();
        let roles: Vec<Role> = raw.roles.iter().map(|r| self.role(r, &declared)).collect();
        let partners: Vec<Partner> = raw
            .partners
            .iter()
            .map(|p| self.partner(p, &declared, &purposes, &controller))
            .collect();
        let authorities = raw
            .authorities
            .iter()
            .map(|a| Authority {
                id: AuthorityId(a.id.get_ref().clone()),
                name: self.text(&a.name, &format!("authority `{}` name", a.id.get_ref())),
                legal_basis: self.text(
                    &a.legal_basis,
                    &format!("authority `{}` legal basis", a.id.get_ref()),
                ),
            })
            .collect();
        let retention: Vec<RetentionRule> = raw
            .retention
            .iter()
            .map(|r| self.retention(r, &declared, &purposes))
            .collect();
        let legal_holds = raw
            .legal_holds
            .iter()
            .map(|h| self.legal_hold(h, &declared))
            .collect();
        let rights = self.rights(&raw.rights);
        let security_measures = raw
            .security_measures
            .iter()
            .enumerate()
            .map(|(i, t)| self.text(t, &format!("security measure {}", i + 1)))
            .collect();

        self.category_cross_checks(&raw.categories, &categories, &purposes, &roles, &retention);
        self.role_cross_checks(&raw.roles, &categories, &purposes);
        self.limits(&raw);

        Policy {
            notice,
            controller,
            categories,
            purposes,
            roles,
            partners,
            authorities,
            retention,
            legal_holds,
            rights,
            security_measures,
        }
    }

    /// Collects declared ids and reports malformed and duplicate ones.
    fn declarations(&mut self, raw: &RawPolicy) -> Declared {
        let mut seen = HashMap::new();
        self.unique("category", raw.categories.iter().map(|c| &c.id), &mut seen);
        let mut seen = HashMap::new();
        self.unique("purpose", raw.purposes.iter().map(|p| &p.id), &mut seen);
        // Roles, partners and authorities are all recipients: one namespace, so a ledger or an
        // audit entry naming a recipient is never ambiguous.
        let mut seen = HashMap::new();
        self.unique("recipient", raw.roles.iter().map(|r| &r.id), &mut seen);
        self.unique("recipient", raw.partners.iter().map(|p| &p.id), &mut seen);
        self.unique(
            "recipient",
            raw.authorities.iter().map(|a| &a.id),
            &mut seen,
        );
        let mut seen = HashMap::new();
        self.unique(
            "legal hold",
            raw.legal_holds.iter().map(|h| &h.id),
            &mut seen,
        );
        for c in &raw.categories {
            let mut seen = HashMap::new();
            let what = format!("field of category `{}`", c.id.get_ref());
            self.unique(&what, c.fields.iter().map(|f| &f.name), &mut seen);
        }
        Declared {
            categories: raw
                .categories
                .iter()
                .map(|c| {
                    (
                        c.id.get_ref().clone(),
                        c.fields.iter().map(|f| f.name.get_ref().clone()).collect(),
                    )
                })
                .collect(),
            purposes: raw
                .purposes
                .iter()
                .map(|p| (p.id.get_ref().clone(), *p.legal_basis.get_ref()))
                .collect(),
            roles: raw.roles.iter().map(|r| r.id.get_ref().clone()).collect(),
        }
    }

    fn unique<'a>(
        &mut self,
        kind: &str,
        ids: impl Iterator<Item = &'a Id>,
        seen: &mut HashMap<String, Range<usize>>,
    ) {
        for id in ids {
            if !valid_id(id.get_ref()) {
                self.error(
                    Code::InvalidId,
                    id.span(),
                    format!(
                        "{kind} id `{}` is not valid: use lower-case letters, digits and `_`, starting with a letter, at most 64 characters",
                        id.get_ref()
                    ),
                );
            }
            if seen.contains_key(id.get_ref()) {
                self.error(
                    Code::DuplicateId,
                    id.span(),
                    format!("duplicate {kind} id `{}`", id.get_ref()),
                );
            } else {
                seen.insert(id.get_ref().clone(), id.span());
            }
        }
    }

    fn text(&mut self, raw: &RawText, what: &str) -> Text {
        let inner = raw.get_ref();
        let mut pick = |lang: Lang, value: &Option<String>| match value {
            None => {
                self.error(
                    Code::MissingTranslation,
                    raw.span(),
                    format!("{what} has no `{lang}` translation"),
                );
                String::new()
            }
            Some(s) if s.trim().is_empty() => {
                self.error(
                    Code::EmptyText,
                    raw.span(),
                    format!("{what} has an empty `{lang}` text"),
                );
                String::new()
            }
            Some(s) => s.trim().to_owned(),
        };
        let vi = pick(Lang::Vi, &inner.vi);
        let en = pick(Lang::En, &inner.en);
        Text { vi, en }
    }

    fn date(&mut self, raw: &Spanned<String>, what: &str) -> jiff::civil::Date {
        match raw.get_ref().parse::<jiff::civil::Date>() {
            Ok(d) => d,
            Err(_) => {
                self.error(
                    Code::InvalidDate,
                    raw.span(),
                    format!(
                        "{what} `{}` is not a date of the form YYYY-MM-DD",
                        raw.get_ref()
                    ),
                );
                jiff::civil::Date::default()
            }
        }
    }

    fn duration(&mut self, raw: &Spanned<String>, what: &str) -> Duration {
        Duration::parse(raw.get_ref()).unwrap_or_else(|| {
            self.error(
                Code::InvalidDuration,
                raw.span(),
                format!(
                    "{what} `{}` is not a duration such as `30d`, `18m` or `10y`",
                    raw.get_ref()
                ),
            );
            Duration {
                amount: 0,
                unit: crate::duration::DurationUnit::Days,
            }
        })
    }

    fn country(&mut self, raw: &Spanned<String>, what: &str) -> Country {
        let s = raw.get_ref();
        if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_uppercase()) {
            self.error(
                Code::InvalidCountry,
                raw.span(),
                format!("{what} `{s}` is not an ISO 3166-1 alpha-2 country code such as `VN`"),
            );
        }
        Country(s.clone())
    }

    /// The notice links to it, so it must be a web address and nothing a browser would run.
    fn url(&mut self, raw: &Spanned<String>, what: &str) -> String {
        let s = raw.get_ref();
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"));
        if rest.is_none_or(|r| r.is_empty() || r.chars().any(|c| c.is_whitespace() || c == '"')) {
            self.error(
                Code::InvalidUrl,
                raw.span(),
                format!("{what} `{s}` is not an http(s) address"),
            );
        }
        s.clone()
    }

    fn email(&mut self, raw: &Spanned<String>, what: &str) -> String {
        let s = raw.get_ref();
        let ok = s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !s.chars().any(char::is_whitespace)
        });
        if !ok {
            self.error(
                Code::InvalidEmail,
                raw.span(),
                format!("{what} `{s}` is not an email address"),
            );
        }
        s.clone()
    }

    fn category_ref(&mut self, id: &Id, declared: &Declared, context: &str) -> CategoryId {
        if !declared.categories.contains_key(id.get_ref()) {
            self.error(
                Code::UnknownCategory,
                id.span(),
                format!("{context} names undeclared category `{}`", id.get_ref()),
            );
        }
        CategoryId(id.get_ref().clone())
    }

    fn purpose_ref(&mut self, id: &Id, declared: &Declared, context: &str) -> PurposeId {
        if !declared.purposes.contains_key(id.get_ref()) {
            self.error(
                Code::UnknownPurpose,
                id.span(),
                format!("{context} names undeclared purpose `{}`", id.get_ref()),
            );
        }
        PurposeId(id.get_ref().clone())
    }

    fn role_ref(&mut self, id: &Id, declared: &Declared, context: &str) -> RoleId {
        if !declared.roles.contains(id.get_ref()) {
            self.error(
                Code::UnknownRole,
                id.span(),
                format!("{context} names undeclared role `{}`", id.get_ref()),
            );
        }
        RoleId(id.get_ref().clone())
    }

    fn notice(&mut self, raw: &RawNotice) -> Notice {
        if raw.version.get_ref().trim().is_empty() {
            self.error(
                Code::EmptyText,
                raw.version.span(),
                "notice version is empty".to_owned(),
            );
        }
        let t = &raw.texts;
        let mut text = |raw: &RawText, name: &str| self.text(raw, &format!("notice text `{name}`"));
        let texts = NoticeTexts {
            title: text(&t.title, "title"),
            intro: text(&t.intro, "intro"),
            collected_directly: text(&t.collected_directly, "collected_directly"),
            collected_from_use: text(&t.collected_from_use, "collected_from_use"),
            third_party_analytics: text(&t.third_party_analytics, "third_party_analytics"),
            choices: text(&t.choices, "choices"),
            global_privacy_control: text(&t.global_privacy_control, "global_privacy_control"),
            uses: text(&t.uses, "uses"),
            sharing_internal: text(&t.sharing_internal, "sharing_internal"),
            sharing_partners: text(&t.sharing_partners, "sharing_partners"),
            sharing_authorities: text(&t.sharing_authorities, "sharing_authorities"),
            security: text(&t.security, "security"),
            sensitive: text(&t.sensitive, "sensitive"),
            cross_border: text(&t.cross_border, "cross_border"),
            retention: text(&t.retention, "retention"),
            children: text(&t.children, "children"),
            rights: text(&t.rights, "rights"),
            contact: text(&t.contact, "contact"),
        };
        Notice {
            version: raw.version.get_ref().trim().to_owned(),
            effective: self.date(&raw.effective, "notice effective date"),
            texts,
        }
    }

    fn controller(&mut self, raw: &RawController) -> Controller {
        Controller {
            name: raw.name.get_ref().clone(),
            site: self.url(&raw.site, "controller site"),
            email: self.email(&raw.email, "controller email"),
            address: self.contact(raw, raw.address.as_ref(), "address", "postal address"),
            phone: self.contact(raw, raw.phone.as_ref(), "phone", "telephone number"),
            jurisdiction: self.country(&raw.jurisdiction, "controller jurisdiction"),
            age_of_consent: self.age_of_consent(&raw.age_of_consent),
            dpo: Dpo {
                title: self.text(&raw.dpo.title, "data-protection officer title"),
                email: self.email(&raw.dpo.email, "data-protection officer email"),
            },
        }
    }

    /// A contact detail of the controller that the notice and every consent receipt must give:
    /// its absence has a code of its own, pointing at the controller's `name`.
    fn contact(
        &mut self,
        controller: &RawController,
        raw: Option<&RawText>,
        key: &str,
        what: &str,
    ) -> Text {
        match raw {
            Some(raw) => {
                let text = self.text(raw, &format!("controller {key}"));
                for (lang, value) in [(Lang::Vi, &text.vi), (Lang::En, &text.en)] {
                    if value.contains(['\n', '\r']) {
                        self.error(
                            Code::InvalidValue,
                            raw.span(),
                            format!("controller {key} (`{lang}`) must be one line"),
                        );
                    }
                }
                text
            }
            None => {
                self.error(
                    Code::MissingControllerContact,
                    controller.name.span(),
                    format!(
                        "`[controller]` has no `{key}`: give the controller's {what} in Vietnamese and English (the notice and every consent receipt show it)"
                    ),
                );
                Text {
                    vi: String::new(),
                    en: String::new(),
                }
            }
        }
    }

    fn age_of_consent(&mut self, raw: &Spanned<u32>) -> u32 {
        let age = *raw.get_ref();
        if !(13..=21).contains(&age) {
            self.error(
                Code::InvalidValue,
                raw.span(),
                format!("`age_of_consent` must be between 13 and 21, not {age}"),
            );
        }
        age
    }

    fn category(&mut self, raw: &RawCategory, declared: &Declared) -> Category {
        let id = raw.id.get_ref();
        let sensitivity = match (raw.sensitivity.get_ref(), &raw.sensitive_kind) {
            (RawSensitivity::Basic, None) => Sensitivity::Basic,
            (RawSensitivity::Sensitive, Some(kind)) => Sensitivity::Sensitive(*kind.get_ref()),
            (RawSensitivity::Basic, Some(kind)) => {
                self.error(
                    Code::SensitiveKind,
                    kind.span(),
                    format!("category `{id}` is basic but declares a `sensitive_kind`"),
                );
                Sensitivity::Basic
            }
            (RawSensitivity::Sensitive, None) => {
                self.error(
                    Code::SensitiveKind,
                    raw.sensitivity.span(),
                    format!("sensitive category `{id}` does not say which kind of sensitive data it is (`sensitive_kind`)"),
                );
                Sensitivity::Sensitive(SensitiveKind::OnlineBehaviour)
            }
        };
        if matches!(sensitivity, Sensitivity::Sensitive(_)) && raw.restricted_to.is_empty() {
            self.error(
                Code::SensitiveWithoutRestriction,
                raw.id.span(),
                format!("sensitive category `{id}` must name the roles allowed to see it in `restricted_to`"),
            );
        }
        if raw.fields.is_empty() {
            self.error(
                Code::EmptyFieldSet,
                raw.id.span(),
                format!("category `{id}` declares no field"),
            );
        }
        let fields = raw.fields.iter().map(|f| self.field(id, f)).collect();
        Category {
            id: CategoryId(id.clone()),
            label: self.text(&raw.label, &format!("category `{id}` label")),
            description: self.text(&raw.description, &format!("category `{id}` description")),
            section: raw.section,
            sensitivity,
            restricted_to: raw
                .restricted_to
                .iter()
                .map(|r| self.role_ref(r, declared, &format!("category `{id}`")))
                .collect(),
            fields,
        }
    }

    fn field(&mut self, category: &str, raw: &RawField) -> Field {
        let name = raw.name.get_ref();
        let ty = *raw.ty.get_ref();
        if ty.needs_max_length() && raw.max_length.is_none() {
            self.error(
                Code::MissingMaxLength,
                raw.ty.span(),
                format!(
                    "field `{category}.{name}` of type `{}` needs a `max_length`",
                    type_name(ty)
                ),
            );
        }
        if ty.has_values() && raw.values.is_empty() {
            self.error(
                Code::MissingEnumValues,
                raw.ty.span(),
                format!(
                    "field `{category}.{name}` of type `{}` needs its allowed `values`",
                    type_name(ty)
                ),
            );
        }
        Field {
            name: name.clone(),
            label: self.text(&raw.label, &format!("field `{category}.{name}` label")),
            ty,
            format: raw.format.clone(),
            max_length: raw.max_length,
            values: raw.values.clone(),
        }
    }

    fn purpose(&mut self, raw: &RawPurpose, declared: &Declared) -> Purpose {
        let id = raw.id.get_ref();
        let context = format!("purpose `{id}`");
        let required: Vec<CategoryId> = raw
            .required
            .iter()
            .map(|c| self.category_ref(c, declared, &context))
            .collect();
        let mut optional = Vec::new();
        for o in &raw.optional {
            let category = self.category_ref(&o.category, declared, &context);
            if required.contains(&category) {
                self.error(
                    Code::RequiredAndOptional,
                    o.category.span(),
                    format!(
                        "purpose `{id}` lists category `{category}` as both required and optional"
                    ),
                );
            }
            let decline_cost = match &o.decline_cost {
                Some(t) => self.text(t, &format!("purpose `{id}` decline cost of `{category}`")),
                None => {
                    self.error(
                        Code::MissingDeclineCost,
                        o.category.span(),
                        format!("optional category `{category}` of purpose `{id}` must say what declining it costs (`decline_cost`)"),
                    );
                    Text::fixed("", "")
                }
            };
            optional.push(OptionalUse {
                category,
                decline_cost,
            });
        }
        if required.is_empty() && optional.is_empty() {
            self.error(
                Code::EmptyFieldSet,
                raw.id.span(),
                format!("purpose `{id}` uses no category"),
            );
        }
        let legal_basis = *raw.legal_basis.get_ref();
        if legal_basis == LegalBasis::Consent && raw.decline_cost.is_none() {
            self.error(
                Code::MissingDeclineCost,
                raw.id.span(),
                format!("purpose `{id}` rests on consent and must say what declining it costs (`decline_cost`)"),
            );
        }
        Purpose {
            id: PurposeId(id.clone()),
            label: self.text(&raw.label, &format!("purpose `{id}` label")),
            description: self.text(&raw.description, &format!("purpose `{id}` description")),
            legal_basis,
            subjects: raw.subjects.clone(),
            required,
            optional,
            decline_cost: raw
                .decline_cost
                .as_ref()
                .map(|t| self.text(t, &format!("purpose `{id}` decline cost"))),
        }
    }

    fn role(&mut self, raw: &RawRole, declared: &Declared) -> Role {
        let id = raw.id.get_ref();
        let context = format!("role `{id}`");
        Role {
            id: RoleId(id.clone()),
            label: self.text(&raw.label, &format!("role `{id}` label")),
            purposes: raw
                .purposes
                .iter()
                .map(|p| self.purpose_ref(p, declared, &context))
                .collect(),
            operations: raw.operations.clone(),
            masked: raw
                .masked
                .iter()
                .map(|c| self.category_ref(c, declared, &context))
                .collect(),
            need_to_know: raw.need_to_know,
        }
    }

    fn partner(
        &mut self,
        raw: &RawPartner,
        declared: &Declared,
        purposes: &[Purpose],
        controller: &Controller,
    ) -> Partner {
        let id = raw.id.get_ref();
        let context = format!("partner `{id}`");
        let purpose = self.purpose_ref(&raw.purpose, declared, &context);
        let purpose_def = purposes.iter().find(|p| p.id == purpose);
        if raw.fields.get_ref().is_empty() {
            self.error(
                Code::EmptyFieldSet,
                raw.fields.span(),
                format!("partner `{id}` receives no field"),
            );
        }
        let mut fields = Vec::new();
        for f in raw.fields.get_ref() {
            let Some((category, field)) = f.get_ref().split_once('.') else {
                self.error(
                    Code::UnknownField,
                    f.span(),
                    format!(
                        "partner `{id}` field `{}` must be written `category.field`",
                        f.get_ref()
                    ),
                );
                continue;
            };
            match declared.categories.get(category) {
                None => {
                    self.error(
                        Code::UnknownCategory,
                        f.span(),
                        format!("{context} names undeclared category `{category}`"),
                    );
                }
                Some(names) if !names.contains(field) => {
                    self.error(
                        Code::UnknownField,
                        f.span(),
                        format!("{context} names field `{field}`, which category `{category}` does not declare"),
                    );
                }
                Some(_) => {
                    let category = CategoryId(category.to_owned());
                    if let Some(p) = purpose_def
                        && !p.uses(&category)
                    {
                        self.error(
                            Code::PartnerFieldOutsidePurpose,
                            f.span(),
                            format!(
                                "partner `{id}` receives `{}` but its purpose `{}` does not use category `{category}`",
                                f.get_ref(),
                                p.id
                            ),
                        );
                    }
                    fields.push(FieldRef {
                        category,
                        field: field.to_owned(),
                    });
                }
            }
        }
        let country = self.country(&raw.country, &format!("partner `{id}` country"));
        let cross_border = *raw.cross_border.get_ref();
        if cross_border != (country != controller.jurisdiction) {
            self.error(
                Code::CrossBorderMismatch,
                raw.cross_border.span(),
                format!(
                    "partner `{id}` is in `{country}` and the controller in `{}`, so `cross_border` must be `{}`",
                    controller.jurisdiction, !cross_border
                ),
            );
        }
        let a = &raw.agreement;
        Partner {
            id: PartnerId(id.clone()),
            name: self.text(&raw.name, &format!("partner `{id}` name")),
            kind: raw.kind,
            purpose,
            fields,
            data_form: raw.data_form,
            agreement: Agreement {
                reference: a.reference.get_ref().clone(),
                signed: self.date(&a.signed, &format!("partner `{id}` agreement date")),
                processing_period: self.text(
                    &a.processing_period,
                    &format!("partner `{id}` processing period"),
                ),
                deletion: self.text(&a.deletion, &format!("partner `{id}` deletion terms")),
            },
            country,
            cross_border,
            transfer_safeguard: raw
                .transfer_safeguard
                .as_ref()
                .map(|t| self.text(t, &format!("partner `{id}` transfer safeguard"))),
        }
    }

    fn retention(
        &mut self,
        raw: &RawRetention,
        declared: &Declared,
        purposes: &[Purpose],
    ) -> RetentionRule {
        let category = self.category_ref(&raw.category, declared, "retention rule");
        let purpose = raw.purpose.as_ref().map(|p| {
            let id = self.purpose_ref(p, declared, "retention rule");
            if let Some(def) = purposes.iter().find(|d| d.id == id)
                && !def.uses(&category)
            {
                self.error(
                    Code::RetentionPurposeMismatch,
                    p.span(),
                    format!("retention rule for `{category}` names purpose `{id}`, which does not use that category"),
                );
            }
            id
        });
        RetentionRule {
            duration: self.duration(&raw.duration, &format!("retention of `{category}`")),
            category,
            purpose,
            from: raw.from,
            at_expiry: raw.at_expiry,
        }
    }

    fn legal_hold(&mut self, raw: &RawLegalHold, declared: &Declared) -> LegalHold {
        let id = raw.id.get_ref();
        let context = format!("legal hold `{id}`");
        let purpose = self.purpose_ref(&raw.purpose, declared, &context);
        if let Some(basis) = declared.purposes.get(purpose.as_str())
            && *basis != LegalBasis::LegalObligation
        {
            self.error(
                Code::LegalHoldBasis,
                raw.purpose.span(),
                format!("legal hold `{id}` names purpose `{purpose}`, which does not rest on a legal obligation"),
            );
        }
        LegalHold {
            id: LegalHoldId(id.clone()),
            label: self.text(&raw.label, &format!("{context} label")),
            categories: raw
                .categories
                .iter()
                .map(|c| self.category_ref(c, declared, &context))
                .collect(),
            purpose,
            duration: self.duration(&raw.duration, &format!("{context} duration")),
            from: raw.from,
            basis: self.text(&raw.basis, &format!("{context} basis")),
        }
    }

    fn rights(&mut self, raw: &[RawRight]) -> Vec<Right> {
        let mut seen = HashSet::new();
        let mut rights = Vec::new();
        for r in raw {
            let kind = *r.kind.get_ref();
            if !seen.insert(kind) {
                self.error(
                    Code::DuplicateId,
                    r.kind.span(),
                    format!("duplicate right `{}`", kind.as_str()),
                );
            }
            rights.push(Right {
                kind,
                label: self.text(&r.label, &format!("right `{}` label", kind.as_str())),
                description: self.text(
                    &r.description,
                    &format!("right `{}` description", kind.as_str()),
                ),
                due_days: r.due_days,
            });
        }
        for kind in RightKind::ALL {
            if !seen.contains(&kind) {
                let at = raw.last().map_or(0..0, |r| r.kind.span());
                self.error(
                    Code::MissingRight,
                    at,
                    format!("the policy does not describe the right `{}`", kind.as_str()),
                );
            }
        }
        rights
    }

    /// Checks that need every purpose, role and retention rule resolved.
    fn category_cross_checks(
        &mut self,
        raw: &[RawCategory],
        categories: &[Category],
        purposes: &[Purpose],
        roles: &[Role],
        retention: &[RetentionRule],
    ) {
        for (raw, category) in raw.iter().zip(categories) {
            let id = &category.id;
            if !purposes.iter().any(|p| p.uses(id)) {
                self.error(
                    Code::UnusedCategory,
                    raw.id.span(),
                    format!("category `{id}` is used by no purpose"),
                );
            }
            if !retention.iter().any(|r| &r.category == id) {
                self.error(
                    Code::MissingRetention,
                    raw.id.span(),
                    format!("category `{id}` has no retention rule"),
                );
            }
            for role_id in &raw.restricted_to {
                let Some(role) = roles.iter().find(|r| r.id.as_str() == role_id.get_ref()) else {
                    continue; // reported as an unknown role already
                };
                let serves = role
                    .purposes
                    .iter()
                    .any(|p| purposes.iter().any(|d| &d.id == p && d.uses(id)));
                if !serves {
                    self.error(
                        Code::RestrictedRoleWithoutPurpose,
                        role_id.span(),
                        format!(
                            "role `{}` may see category `{id}` but serves no purpose that uses it",
                            role_id.get_ref()
                        ),
                    );
                }
            }
        }
    }
}

impl Validator {
    /// A role may mask only a category one of its purposes uses.
    fn role_cross_checks(
        &mut self,
        raw: &[RawRole],
        categories: &[Category],
        purposes: &[Purpose],
    ) {
        for role in raw {
            let declared = |c: &Id| categories.iter().any(|d| d.id.as_str() == c.get_ref());
            // An undeclared category is reported as such already.
            for masked in role.masked.iter().filter(|c| declared(c)) {
                let used = role.purposes.iter().any(|p| {
                    purposes
                        .iter()
                        .any(|d| d.id.as_str() == p.get_ref() && d.uses_id(masked.get_ref()))
                });
                if !used {
                    self.error(
                        Code::RestrictedRoleWithoutPurpose,
                        masked.span(),
                        format!(
                            "role `{}` masks category `{}` but serves no purpose that uses it",
                            role.id.get_ref(),
                            masked.get_ref()
                        ),
                    );
                }
            }
        }
    }

    /// The access engine keeps categories and purposes in 128-bit sets.
    fn limits(&mut self, raw: &RawPolicy) {
        let counts = [
            (
                "categories",
                raw.categories.len(),
                raw.categories.get(MAX_IDS).map(|c| c.id.span()),
            ),
            (
                "purposes",
                raw.purposes.len(),
                raw.purposes.get(MAX_IDS).map(|p| p.id.span()),
            ),
        ];
        for (what, count, first_extra) in counts {
            if let Some(span) = first_extra {
                self.error(
                    Code::LimitExceeded,
                    span,
                    format!("a policy may declare at most {MAX_IDS} {what}, this one has {count}"),
                );
            }
        }
    }
}

/// The most categories, and the most purposes, a policy may declare.
pub const MAX_IDS: usize = 128;

fn valid_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 64
}

fn type_name(ty: FieldType) -> String {
    serde_json::to_value(ty)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
