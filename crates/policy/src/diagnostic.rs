//! Errors found in a policy file, each pointing at the place and naming the offending id.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

/// Stable codes for every defect a policy can have. They are part of the CLI's and the
/// API's contract: tests and tooling match on them, so never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The file is not valid TOML.
    Syntax,
    /// A key the policy format does not know.
    UnknownKey,
    /// A key the policy format requires is absent.
    MissingKey,
    /// A value of the wrong type or outside its allowed set.
    InvalidValue,
    UnsupportedSchema,
    InvalidId,
    DuplicateId,
    UnknownCategory,
    UnknownField,
    UnknownPurpose,
    UnknownRole,
    MissingTranslation,
    /// A consent-based purpose, or an optional use, without the cost of declining it (P12).
    MissingDeclineCost,
    /// A partner receives a field of a category its purpose does not use.
    PartnerFieldOutsidePurpose,
    /// A sensitive category that does not name the roles allowed to see it.
    SensitiveWithoutRestriction,
    /// A role allowed to see a category serves no purpose that uses it.
    RestrictedRoleWithoutPurpose,
    /// A category no purpose uses: collected for nothing (P2, P10).
    UnusedCategory,
    /// A category with no retention rule (P10).
    MissingRetention,
    /// A retention rule names a purpose that does not use its category.
    RetentionPurposeMismatch,
    /// A legal hold whose purpose does not rest on a legal obligation.
    LegalHoldBasis,
    /// A category listed both as required and as optional for one purpose.
    RequiredAndOptional,
    EmptyFieldSet,
    MissingMaxLength,
    MissingEnumValues,
    /// `sensitive_kind` given for a basic category, or missing for a sensitive one.
    SensitiveKind,
    CrossBorderMismatch,
    MissingRight,
    InvalidDate,
    InvalidDuration,
    InvalidCountry,
    InvalidEmail,
    InvalidUrl,
    EmptyText,
    /// The controller's postal address or telephone is not given: the notice must show the
    /// controller's contact details (Law 91) and a consent receipt needs both (Kantara v1.1).
    MissingControllerContact,
    /// More categories or purposes than the access engine holds (128 each).
    LimitExceeded,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "syntax",
            Code::UnknownKey => "unknown_key",
            Code::MissingKey => "missing_key",
            Code::InvalidValue => "invalid_value",
            Code::UnsupportedSchema => "unsupported_schema",
            Code::InvalidId => "invalid_id",
            Code::DuplicateId => "duplicate_id",
            Code::UnknownCategory => "unknown_category",
            Code::UnknownField => "unknown_field",
            Code::UnknownPurpose => "unknown_purpose",
            Code::UnknownRole => "unknown_role",
            Code::MissingTranslation => "missing_translation",
            Code::MissingDeclineCost => "missing_decline_cost",
            Code::PartnerFieldOutsidePurpose => "partner_field_outside_purpose",
            Code::SensitiveWithoutRestriction => "sensitive_without_restriction",
            Code::RestrictedRoleWithoutPurpose => "restricted_role_without_purpose",
            Code::UnusedCategory => "unused_category",
            Code::MissingRetention => "missing_retention",
            Code::RetentionPurposeMismatch => "retention_purpose_mismatch",
            Code::LegalHoldBasis => "legal_hold_basis",
            Code::RequiredAndOptional => "required_and_optional",
            Code::EmptyFieldSet => "empty_field_set",
            Code::MissingMaxLength => "missing_max_length",
            Code::MissingEnumValues => "missing_enum_values",
            Code::SensitiveKind => "sensitive_kind",
            Code::CrossBorderMismatch => "cross_border_mismatch",
            Code::MissingRight => "missing_right",
            Code::InvalidDate => "invalid_date",
            Code::InvalidDuration => "invalid_duration",
            Code::InvalidCountry => "invalid_country",
            Code::InvalidEmail => "invalid_email",
            Code::InvalidUrl => "invalid_url",
            Code::EmptyText => "empty_text",
            Code::MissingControllerContact => "missing_controller_contact",
            Code::LimitExceeded => "limit_exceeded",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A 1-based line and column (in characters) in the policy source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub fn of(source: &str, offset: usize) -> Location {
        let before = source.get(..offset).unwrap_or(source);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Location { line, column }
    }
}

/// One defect in a policy: a stable code, a message naming the offending id in backticks,
/// and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    pub location: Option<Location>,
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

impl Diagnostic {
    /// Formats as `file:line:column: error[code]: message`, the shape editors and CI understand.
    pub fn display_in(&self, file: &str) -> String {
        match self.location {
            Some(Location { line, column }) => format!(
                "{file}:{line}:{column}: error[{}]: {}",
                self.code, self.message
            ),
            None => format!("{file}: error[{}]: {}", self.code, self.message),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some(Location { line, column }) => {
                write!(f, "{line}:{column}: error[{}]: {}", self.code, self.message)
            }
            None => write!(f, "error[{}]: {}", self.code, self.message),
        }
    }
}

/// Every defect found in a policy, in source order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the policy has {} error(s)", .0.len())]
pub struct PolicyErrors(pub Vec<Diagnostic>);

impl PolicyErrors {
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    pub fn codes(&self) -> Vec<Code> {
        self.0.iter().map(|d| d.code).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based_and_count_characters() {
        let src = "a = 1\nbé = \"x\"\n";
        assert_eq!(Location::of(src, 0), Location { line: 1, column: 1 });
        let offset = src.find('=').unwrap();
        assert_eq!(Location::of(src, offset), Location { line: 1, column: 3 });
        let offset = src.rfind('=').unwrap();
        assert_eq!(Location::of(src, offset), Location { line: 2, column: 4 });
    }
}
