//! The validated policy. A [`Policy`] value can only be obtained from
//! [`crate::parse`], so every id it holds resolves and every text is complete.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::text::Text;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub(crate) String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// Id of a data category, e.g. `account_email`.
    CategoryId
);
id_type!(
    /// Id of a purpose of processing, e.g. `order_fulfilment`.
    PurposeId
);
id_type!(
    /// Id of an internal role, e.g. `care_agent`.
    RoleId
);
id_type!(
    /// Id of a partner (an outside recipient under agreement), e.g. `carrier`.
    PartnerId
);
id_type!(
    /// Id of an authority that may lawfully request data, e.g. `tax_authority`.
    AuthorityId
);
id_type!(
    /// Id of a legal hold, e.g. `accounting_records`.
    LegalHoldId
);

/// The whole policy: the contract the system keeps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    pub notice: Notice,
    pub controller: Controller,
    pub categories: Vec<Category>,
    pub purposes: Vec<Purpose>,
    pub roles: Vec<Role>,
    pub partners: Vec<Partner>,
    pub authorities: Vec<Authority>,
    pub retention: Vec<RetentionRule>,
    pub legal_holds: Vec<LegalHold>,
    pub rights: Vec<Right>,
    pub security_measures: Vec<Text>,
}

impl Policy {
    pub fn category(&self, id: &CategoryId) -> Option<&Category> {
        self.categories.iter().find(|c| &c.id == id)
    }

    pub fn purpose(&self, id: &PurposeId) -> Option<&Purpose> {
        self.purposes.iter().find(|p| &p.id == id)
    }

    pub fn role(&self, id: &RoleId) -> Option<&Role> {
        self.roles.iter().find(|r| &r.id == id)
    }

    /// The purpose with this id, given as text (from a request, say).
    pub fn role_named(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id.as_str() == id)
    }

    pub fn category_named(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id.as_str() == id)
    }

    pub fn purpose_named(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.id.0 == id)
    }

    /// The category and field named by `category.field`.
    pub fn field_named(&self, reference: &str) -> Option<(&Category, &Field)> {
        let (category, field) = reference.split_once('.')?;
        let category = self.categories.iter().find(|c| c.id.0 == category)?;
        Some((category, category.field(field)?))
    }

    /// Purposes that use the category, required or optional, in declaration order.
    pub fn purposes_using<'a>(
        &'a self,
        category: &'a CategoryId,
    ) -> impl Iterator<Item = &'a Purpose> {
        self.purposes.iter().filter(move |p| p.uses(category))
    }

    /// Partners that receive at least one field of the category.
    pub fn partners_receiving<'a>(
        &'a self,
        category: &'a CategoryId,
    ) -> impl Iterator<Item = &'a Partner> {
        self.partners
            .iter()
            .filter(move |p| p.fields.iter().any(|f| &f.category == category))
    }

    /// Retention rules that apply to the category.
    pub fn retention_of<'a>(
        &'a self,
        category: &'a CategoryId,
    ) -> impl Iterator<Item = &'a RetentionRule> {
        self.retention
            .iter()
            .filter(move |r| &r.category == category)
    }
}

/// Metadata and the texts of the notice that cannot be generated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// The human version, e.g. `2026.1`. Paired with a content hash in [`crate::NoticeVersion`].
    pub version: String,
    pub effective: jiff::civil::Date,
    pub texts: NoticeTexts,
}

/// Hand-written passages of the notice, one per place in its structure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeTexts {
    pub title: Text,
    pub intro: Text,
    pub collected_directly: Text,
    pub collected_from_use: Text,
    pub third_party_analytics: Text,
    pub choices: Text,
    pub global_privacy_control: Text,
    pub uses: Text,
    pub sharing_internal: Text,
    pub sharing_partners: Text,
    pub sharing_authorities: Text,
    pub security: Text,
    pub sensitive: Text,
    pub cross_border: Text,
    pub retention: Text,
    pub children: Text,
    pub rights: Text,
    pub contact: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Controller {
    pub name: String,
    pub site: String,
    pub email: String,
    /// Where the controller can be written to (its postal address), in each language: the
    /// notice shows it (Law 91 asks for the controller's contact details) and every consent
    /// receipt carries it (Kantara CR v1.1 `piiControllers[].address`).
    pub address: Text,
    /// How the controller can be called, in each language (Kantara `piiControllers[].phone`).
    pub phone: Text,
    /// ISO 3166-1 alpha-2 country whose law applies, `VN` by default.
    pub jurisdiction: Country,
    /// Below this age a customer is a minor: every consent must come from a parent or legal
    /// guardian (Law 91/2025 art. 24). Their date of birth says who is a minor.
    pub age_of_consent: u32,
    pub dpo: Dpo,
}

/// The data-protection officer, addressed by role, never by a person's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dpo {
    pub title: Text,
    pub email: String,
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Country(pub(crate) String);

impl Country {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Category {
    pub id: CategoryId,
    pub label: Text,
    pub description: Text,
    pub section: Section,
    pub sensitivity: Sensitivity,
    /// Roles that may ever see this category. Empty means "every role whose purpose uses it";
    /// a sensitive category always names its roles.
    pub restricted_to: Vec<RoleId>,
    pub fields: Vec<Field>,
}

impl Category {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn is_sensitive(&self) -> bool {
        matches!(self.sensitivity, Sensitivity::Sensitive(_))
    }
}

/// Where the notice lists a category, following the seed policy's section 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// Given directly: creating an account or profile.
    Account,
    /// Given directly: placing an order.
    Order,
    /// Given directly: contacting customer care.
    Care,
    /// About the use of the service: voice recordings of calls.
    Voice,
    /// About the use of the service: content viewed and for how long.
    Viewing,
    /// About the use of the service: other information (technical data).
    Other,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Account,
        Section::Order,
        Section::Care,
        Section::Voice,
        Section::Viewing,
        Section::Other,
    ];

    /// Whether the customer gives this data directly (seed §1, first list) or it is collected
    /// about their use of the service (seed §1, second list).
    pub fn given_directly(self) -> bool {
        matches!(self, Section::Account | Section::Order | Section::Care)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "level", content = "kind", rename_all = "snake_case")]
pub enum Sensitivity {
    Basic,
    /// Sensitive under Decree 356/2025 art. 4, with the kind that makes it so.
    Sensitive(SensitiveKind),
}

/// The kinds of sensitive data of Decree 356/2025 art. 4 that a shop may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensitiveKind {
    BankCard,
    OnlineBehaviour,
    Biometric,
    IdDocument,
    Health,
    PreciseLocation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    pub name: String,
    pub label: Text,
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub format: Option<String>,
    pub max_length: Option<u32>,
    /// Allowed values of an `enum` or `enum_set` field.
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Email,
    Phone,
    Date,
    Datetime,
    MonthYear,
    Integer,
    Digits,
    Token,
    Enum,
    EnumSet,
    Ip,
    Blob,
}

impl FieldType {
    /// Types whose values are text of unbounded length unless the schema bounds them.
    pub fn needs_max_length(self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Digits
                | FieldType::Token
                | FieldType::Blob
        )
    }

    pub fn has_values(self) -> bool {
        matches!(self, FieldType::Enum | FieldType::EnumSet)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    Consent,
    Contract,
    LegalObligation,
    LegitimateInterest,
}

/// Who the data is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// Registered customers.
    Customers,
    /// Guests who order without an account.
    Guests,
    /// People who call the call centre.
    Callers,
    /// Visitors of the website.
    Visitors,
}

impl Subject {
    pub const ALL: [Subject; 4] = [
        Subject::Customers,
        Subject::Guests,
        Subject::Callers,
        Subject::Visitors,
    ];

    /// The id as the policy file writes it (`customers`, `guests`, `callers`, `visitors`).
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Customers => "customers",
            Subject::Guests => "guests",
            Subject::Callers => "callers",
            Subject::Visitors => "visitors",
        }
    }

    pub fn parse(s: &str) -> Option<Subject> {
        Subject::ALL
            .into_iter()
            .find(|subject| subject.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Purpose {
    pub id: PurposeId,
    pub label: Text,
    pub description: Text,
    pub legal_basis: LegalBasis,
    pub subjects: Vec<Subject>,
    pub required: Vec<CategoryId>,
    pub optional: Vec<OptionalUse>,
    /// What declining this purpose costs (P12). Present for every consent-based purpose.
    pub decline_cost: Option<Text>,
}

impl Purpose {
    pub fn uses(&self, category: &CategoryId) -> bool {
        self.uses_id(category.as_str())
    }

    pub fn uses_id(&self, category: &str) -> bool {
        self.required.iter().any(|c| c.as_str() == category)
            || self
                .optional
                .iter()
                .any(|o| o.category.as_str() == category)
    }

    /// Every category the purpose may use: required first, then optional.
    pub fn categories(&self) -> impl Iterator<Item = &CategoryId> {
        self.required
            .iter()
            .chain(self.optional.iter().map(|o| &o.category))
    }
}

/// A category a purpose may use when the customer gives it, and what declining it costs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionalUse {
    pub category: CategoryId,
    pub decline_cost: Text,
}

/// An internal role: the purposes it may serve, what it may do, and how it sees data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Role {
    pub id: RoleId,
    pub label: Text,
    pub purposes: Vec<PurposeId>,
    /// The operations its members may perform; any other is refused.
    pub operations: Vec<Operation>,
    /// Categories the role sees masked (enough to recognise, not to read); every other
    /// category its purposes use, it sees in the clear.
    pub masked: Vec<CategoryId>,
    /// When a member may see a customer at all.
    pub need_to_know: NeedToKnow,
}

/// What a principal may ask the vault to do. A role names the ones it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Operation {
    #[serde(rename = "customers.create")]
    CustomersCreate,
    #[serde(rename = "customers.read")]
    CustomersRead,
    #[serde(rename = "customers.history")]
    CustomersHistory,
    #[serde(rename = "customers.lookup")]
    CustomersLookup,
    #[serde(rename = "customers.correct")]
    CustomersCorrect,
    #[serde(rename = "customers.erase")]
    CustomersErase,
    /// Asking the access engine why it would release or withhold each field.
    #[serde(rename = "access.explain")]
    AccessExplain,
    /// Reading a customer's consents, their history and receipts.
    #[serde(rename = "consents.read")]
    ConsentsRead,
    /// Recording a consent or its withdrawal on a customer's behalf (a recorded call, a
    /// letter, the storefront's own form).
    #[serde(rename = "consents.record")]
    ConsentsRecord,
    /// Placing an order, for a customer or a guest.
    #[serde(rename = "orders.create")]
    OrdersCreate,
    /// Reading an order: its state, and each of its fields as the access decision allows.
    #[serde(rename = "orders.read")]
    OrdersRead,
    /// Moving an order along its states (paid, fulfilling, shipped, …).
    #[serde(rename = "orders.transition")]
    OrdersTransition,
    /// Entering a data subject's request made by phone, email or letter (a customer records
    /// their own in the privacy centre).
    #[serde(rename = "requests.record")]
    RequestsRecord,
    /// Reading a customer's requests and their deadlines.
    #[serde(rename = "requests.read")]
    RequestsRead,
    /// Moving requests on (acknowledge, verify, extend, complete, reject); the overdue list.
    #[serde(rename = "requests.manage")]
    RequestsManage,
    /// Recording an authority's request for a legal disclosure, and producing its release.
    #[serde(rename = "legal.record")]
    LegalRecord,
    /// Approving a legal disclosure recorded by someone else.
    #[serde(rename = "legal.approve")]
    LegalApprove,
    /// Creating staff accounts and changing their roles.
    #[serde(rename = "users.manage")]
    UsersManage,
    /// Issuing, listing and revoking integrations' API tokens.
    #[serde(rename = "tokens.manage")]
    TokensManage,
    /// Listing the outbox's messages to partners (never their payloads) and re-driving dead
    /// letters.
    #[serde(rename = "outbox.manage")]
    OutboxManage,
}

impl Operation {
    pub const ALL: [Operation; 20] = [
        Operation::CustomersCreate,
        Operation::CustomersRead,
        Operation::CustomersHistory,
        Operation::CustomersLookup,
        Operation::CustomersCorrect,
        Operation::CustomersErase,
        Operation::AccessExplain,
        Operation::ConsentsRead,
        Operation::ConsentsRecord,
        Operation::OrdersCreate,
        Operation::OrdersRead,
        Operation::OrdersTransition,
        Operation::RequestsRecord,
        Operation::RequestsRead,
        Operation::RequestsManage,
        Operation::LegalRecord,
        Operation::LegalApprove,
        Operation::UsersManage,
        Operation::TokensManage,
        Operation::OutboxManage,
    ];

    /// Whether the operation changes who may act (staff accounts, tokens) rather than
    /// touching customers' data. Integrations never get these.
    pub fn is_administration(self) -> bool {
        matches!(
            self,
            Operation::UsersManage | Operation::TokensManage | Operation::OutboxManage
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::CustomersCreate => "customers.create",
            Operation::CustomersRead => "customers.read",
            Operation::CustomersHistory => "customers.history",
            Operation::CustomersLookup => "customers.lookup",
            Operation::CustomersCorrect => "customers.correct",
            Operation::CustomersErase => "customers.erase",
            Operation::AccessExplain => "access.explain",
            Operation::ConsentsRead => "consents.read",
            Operation::ConsentsRecord => "consents.record",
            Operation::OrdersCreate => "orders.create",
            Operation::OrdersRead => "orders.read",
            Operation::OrdersTransition => "orders.transition",
            Operation::RequestsRecord => "requests.record",
            Operation::RequestsRead => "requests.read",
            Operation::RequestsManage => "requests.manage",
            Operation::LegalRecord => "legal.record",
            Operation::LegalApprove => "legal.approve",
            Operation::UsersManage => "users.manage",
            Operation::TokensManage => "tokens.manage",
            Operation::OutboxManage => "outbox.manage",
        }
    }

    pub fn parse(s: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// Need-to-know: the condition under which a role's member may see a customer's data at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeedToKnow {
    /// Whenever the role serves the purpose.
    #[default]
    Always,
    /// Only within an active, identity-verified care session for that customer.
    CareSession,
    /// Only an order's categories (section `order`), while that order is being fulfilled:
    /// never the customer's account.
    FulfillingOrder,
    /// Never an identified customer: only pseudonymous or aggregate data.
    Pseudonymous,
}

/// A partner outside the company that receives data under a recorded agreement (Decree 356 art. 7).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Partner {
    pub id: PartnerId,
    pub name: Text,
    pub kind: PartnerKind,
    pub purpose: PurposeId,
    /// Exactly the fields this partner may receive; nothing else is reachable.
    pub fields: Vec<FieldRef>,
    pub data_form: DataForm,
    pub agreement: Agreement,
    pub country: Country,
    pub cross_border: bool,
    pub transfer_safeguard: Option<Text>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerKind {
    Carrier,
    PaymentProcessor,
    AdNetwork,
    Analytics,
    Other,
}

/// The form in which fields leave the company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataForm {
    /// The values themselves.
    Clear,
    /// Normalised then SHA-256 hashed, as audience-match services expect.
    Hashed,
    /// Keyed by a pseudonymous identifier, never by name or contact.
    Pseudonymous,
}

/// `category.field`, a reference to one field of one category.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct FieldRef {
    pub category: CategoryId,
    pub field: String,
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.category, self.field)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    pub reference: String,
    pub signed: jiff::civil::Date,
    pub processing_period: Text,
    pub deletion: Text,
}

/// An authority that may lawfully require disclosure (P16).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Authority {
    pub id: AuthorityId,
    pub name: Text,
    pub legal_basis: Text,
}

/// How long a category is kept, for one purpose or for all, and what happens at the end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionRule {
    pub category: CategoryId,
    /// `None`: the rule applies whatever the purpose.
    pub purpose: Option<PurposeId>,
    pub duration: Duration,
    pub from: Anchor,
    pub at_expiry: ExpiryAction,
}

/// The event a retention period counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    Collected,
    LastActivity,
    AccountClosed,
    OrderCompleted,
    CaseClosed,
    ConsentWithdrawn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryAction {
    Delete,
    Anonymise,
}

/// Data the law requires the shop to keep, even after the customer asks for deletion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegalHold {
    pub id: LegalHoldId,
    pub label: Text,
    pub categories: Vec<CategoryId>,
    pub purpose: PurposeId,
    pub duration: Duration,
    pub from: Anchor,
    pub basis: Text,
}

/// A right of the data subject, with the time the shop takes to complete a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Right {
    pub kind: RightKind,
    pub label: Text,
    pub description: Text,
    /// Days to complete a request after it is acknowledged.
    pub due_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RightKind {
    Access,
    Portability,
    Correction,
    Deletion,
    ConsentWithdrawal,
    Restriction,
    Objection,
}

impl RightKind {
    pub const ALL: [RightKind; 7] = [
        RightKind::Access,
        RightKind::Portability,
        RightKind::Correction,
        RightKind::Deletion,
        RightKind::ConsentWithdrawal,
        RightKind::Restriction,
        RightKind::Objection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RightKind::Access => "access",
            RightKind::Portability => "portability",
            RightKind::Correction => "correction",
            RightKind::Deletion => "deletion",
            RightKind::ConsentWithdrawal => "consent_withdrawal",
            RightKind::Restriction => "restriction",
            RightKind::Objection => "objection",
        }
    }
}
