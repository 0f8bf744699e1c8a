//! The record of processing activities (GDPR art. 30; Law 91/2025 art. 21) and the
//! data-flow diagram, both generated from the policy so they cannot drift from it.

use serde::Serialize;

use crate::doc::{Document, Inline};
use crate::duration::Duration;
use crate::labels;
use crate::model::*;
use crate::text::{Lang, Text};
use crate::version::NoticeVersion;

mod flow;

pub use flow::{dot, mermaid};

/// The whole record: who the controller is and one activity per purpose.
#[derive(Debug, Clone, Serialize)]
pub struct Records {
    pub notice_version: NoticeVersion,
    pub controller: ControllerRecord,
    pub activities: Vec<Activity>,
    /// Authorities that may lawfully require disclosure of any activity's data.
    pub authorities: Vec<AuthorityRecord>,
    pub legal_holds: Vec<LegalHoldRecord>,
    pub security_measures: Vec<Text>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControllerRecord {
    pub name: String,
    pub site: String,
    pub email: String,
    pub jurisdiction: Country,
    pub dpo_email: String,
    /// The controller's postal address and telephone (GDPR art. 30(1)(a): contact details).
    pub address: Text,
    pub phone: Text,
}

/// One processing activity: a purpose with everything art. 30 asks about it.
#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub purpose: PurposeId,
    pub name: Text,
    pub description: Text,
    pub legal_basis: LegalBasis,
    pub data_subjects: Vec<Subject>,
    pub data_categories: Vec<CategoryRecord>,
    /// Roles inside the business that may serve this purpose.
    pub internal_recipients: Vec<RoleId>,
    pub external_recipients: Vec<PartnerRecord>,
    pub transfers_abroad: Vec<TransferRecord>,
    pub retention: Vec<RetentionRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryRecord {
    pub category: CategoryId,
    pub label: Text,
    pub required: bool,
    pub sensitive: Option<SensitiveKind>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartnerRecord {
    pub partner: PartnerId,
    pub name: Text,
    pub fields: Vec<String>,
    pub data_form: DataForm,
    pub country: Country,
    pub agreement: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransferRecord {
    pub partner: PartnerId,
    pub country: Country,
    pub safeguard: Option<Text>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetentionRecord {
    pub category: CategoryId,
    pub duration: Duration,
    pub from: Anchor,
    pub at_expiry: ExpiryAction,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuthorityRecord {
    pub authority: AuthorityId,
    pub name: Text,
    pub legal_basis: Text,
}

#[derive(Debug, Clone, Serialize)]
pub struct LegalHoldRecord {
    pub hold: LegalHoldId,
    pub label: Text,
    pub categories: Vec<CategoryId>,
    pub purpose: PurposeId,
    pub duration: Duration,
    pub from: Anchor,
    pub basis: Text,
}

/// Builds the record of processing from the policy.
pub fn records(policy: &Policy) -> Records {
    let c = &policy.controller;
    Records {
        notice_version: NoticeVersion::of(policy),
        controller: ControllerRecord {
            name: c.name.clone(),
            site: c.site.clone(),
            email: c.email.clone(),
            jurisdiction: c.jurisdiction.clone(),
            dpo_email: c.dpo.email.clone(),
            address: c.address.clone(),
            phone: c.phone.clone(),
        },
        activities: policy
            .purposes
            .iter()
            .map(|p| activity(policy, p))
            .collect(),
        authorities: policy
            .authorities
            .iter()
            .map(|a| AuthorityRecord {
                authority: a.id.clone(),
                name: a.name.clone(),
                legal_basis: a.legal_basis.clone(),
            })
            .collect(),
        legal_holds: policy
            .legal_holds
            .iter()
            .map(|h| LegalHoldRecord {
                hold: h.id.clone(),
                label: h.label.clone(),
                categories: h.categories.clone(),
                purpose: h.purpose.clone(),
                duration: h.duration,
                from: h.from,
                basis: h.basis.clone(),
            })
            .collect(),
        security_measures: policy.security_measures.clone(),
    }
}

fn activity(policy: &Policy, purpose: &Purpose) -> Activity {
    let partners: Vec<&Partner> = policy
        .partners
        .iter()
        .filter(|p| p.purpose == purpose.id)
        .collect();
    Activity {
        purpose: purpose.id.clone(),
        name: purpose.label.clone(),
        description: purpose.description.clone(),
        legal_basis: purpose.legal_basis,
        data_subjects: purpose.subjects.clone(),
        data_categories: purpose
            .categories()
            .filter_map(|id| policy.category(id))
            .map(|c| CategoryRecord {
                category: c.id.clone(),
                label: c.label.clone(),
                required: purpose.required.contains(&c.id),
                sensitive: match c.sensitivity {
                    Sensitivity::Sensitive(kind) => Some(kind),
                    Sensitivity::Basic => None,
                },
            })
            .collect(),
        internal_recipients: policy
            .roles
            .iter()
            .filter(|r| r.purposes.contains(&purpose.id))
            .map(|r| r.id.clone())
            .collect(),
        external_recipients: partners
            .iter()
            .map(|p| PartnerRecord {
                partner: p.id.clone(),
                name: p.name.clone(),
                fields: p.fields.iter().map(ToString::to_string).collect(),
                data_form: p.data_form,
                country: p.country.clone(),
                agreement: p.agreement.reference.clone(),
            })
            .collect(),
        transfers_abroad: partners
            .iter()
            .filter(|p| p.cross_border)
            .map(|p| TransferRecord {
                partner: p.id.clone(),
                country: p.country.clone(),
                safeguard: p.transfer_safeguard.clone(),
            })
            .collect(),
        retention: policy
            .retention
            .iter()
            .filter(|r| {
                purpose.uses(&r.category) && r.purpose.as_ref().is_none_or(|p| p == &purpose.id)
            })
            .map(|r| RetentionRecord {
                category: r.category.clone(),
                duration: r.duration,
                from: r.from,
                at_expiry: r.at_expiry,
            })
            .collect(),
    }
}

/// The record of processing as Markdown in one language, with the data-flow diagram.
pub fn to_markdown(policy: &Policy, lang: Lang) -> String {
    let w = |vi: &str, en: &str| match lang {
        Lang::Vi => vi.to_owned(),
        Lang::En => en.to_owned(),
    };
    let r = records(policy);
    let category_label = |id: &CategoryId| {
        policy
            .category(id)
            .map_or_else(|| id.to_string(), |c| c.label.get(lang).to_owned())
    };
    let mut doc = Document::default();
    doc.heading(
        1,
        w(
            "Hồ sơ hoạt động xử lý dữ liệu cá nhân",
            "Record of processing activities",
        ),
    );
    doc.line(vec![
        Inline::Strong(w("Bên kiểm soát dữ liệu: ", "Controller: ")),
        Inline::Text(format!(
            "{} ({}, {}) — {}: {}",
            r.controller.name,
            r.controller.site,
            r.controller.email,
            w("cán bộ bảo vệ dữ liệu", "data-protection officer"),
            r.controller.dpo_email
        )),
    ]);
    doc.line(vec![
        Inline::Strong(w("Địa chỉ: ", "Address: ")),
        Inline::Text(r.controller.address.get(lang).to_owned()),
    ]);
    doc.line(vec![
        Inline::Strong(w("Điện thoại: ", "Telephone: ")),
        Inline::Text(r.controller.phone.get(lang).to_owned()),
    ]);
    doc.line(vec![
        Inline::Strong(w("Phiên bản chính sách: ", "Policy version: ")),
        Inline::Text(format!("{} ", r.notice_version.version)),
        Inline::Code(r.notice_version.content_hash.clone()),
    ]);
    for a in &r.activities {
        doc.heading(2, a.name.get(lang).to_owned());
        doc.para(a.description.get(lang).to_owned());
        let mut items = vec![
            vec![
                Inline::Strong(w("Mục đích: ", "Purpose: ")),
                Inline::Code(a.purpose.to_string()),
            ],
            vec![
                Inline::Strong(w("Căn cứ pháp lý: ", "Legal basis: ")),
                Inline::Text(labels::legal_basis(a.legal_basis).get(lang).to_owned()),
            ],
            vec![
                Inline::Strong(w("Chủ thể dữ liệu: ", "Data subjects: ")),
                Inline::Text(
                    a.data_subjects
                        .iter()
                        .map(|s| labels::subject(*s).get(lang).to_owned())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ],
            vec![
                Inline::Strong(w("Loại dữ liệu: ", "Data categories: ")),
                Inline::Text(
                    a.data_categories
                        .iter()
                        .map(|c| {
                            let mut s = c.label.get(lang).to_owned();
                            if !c.required {
                                s.push_str(&w(" (không bắt buộc)", " (optional)"));
                            }
                            if let Some(kind) = c.sensitive {
                                s.push_str(&format!(
                                    " [{}]",
                                    labels::sensitive_kind(kind).get(lang)
                                ));
                            }
                            s
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            ],
            vec![
                Inline::Strong(w("Người nhận trong nội bộ: ", "Internal recipients: ")),
                Inline::Text(
                    a.internal_recipients
                        .iter()
                        .filter_map(|id| policy.role(id))
                        .map(|r| r.label.get(lang).to_owned())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ],
        ];
        for p in &a.external_recipients {
            items.push(vec![
                Inline::Strong(w("Người nhận bên ngoài: ", "External recipient: ")),
                Inline::Text(format!(
                    "{} ({}, {}: {}) — {}",
                    p.name.get(lang),
                    p.country,
                    w("thỏa thuận", "agreement"),
                    p.agreement,
                    labels::data_form(p.data_form).get(lang)
                )),
                Inline::Text(": ".to_owned()),
                Inline::Code(p.fields.join(", ")),
            ]);
        }
        for t in &a.transfers_abroad {
            let mut text = format!("{} → {}", t.partner, t.country);
            if let Some(s) = &t.safeguard {
                text.push_str(&format!(". {}", s.get(lang)));
            }
            items.push(vec![
                Inline::Strong(w("Chuyển ra nước ngoài: ", "Transfer abroad: ")),
                Inline::Text(text),
            ]);
        }
        let retention = a
            .retention
            .iter()
            .map(|x| {
                format!(
                    "{}: {} {}, {}",
                    category_label(&x.category),
                    x.duration.describe(lang),
                    labels::anchor(x.from).get(lang),
                    labels::expiry(x.at_expiry).get(lang)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        items.push(vec![
            Inline::Strong(w("Thời hạn lưu giữ: ", "Retention: ")),
            Inline::Text(retention),
        ]);
        doc.list(items);
    }
    doc.heading(2, w("Cơ quan có thẩm quyền", "Authorities"));
    doc.list(
        r.authorities
            .iter()
            .map(|a| {
                vec![
                    Inline::Strong(a.name.get(lang).to_owned()),
                    Inline::Text(format!(" — {}", a.legal_basis.get(lang))),
                ]
            })
            .collect(),
    );
    doc.heading(2, w("Lưu giữ theo luật", "Legal holds"));
    doc.list(
        r.legal_holds
            .iter()
            .map(|h| {
                vec![
                    Inline::Strong(h.label.get(lang).to_owned()),
                    Inline::Text(format!(
                        " — {}; {} {}. {}",
                        h.categories
                            .iter()
                            .map(&category_label)
                            .collect::<Vec<_>>()
                            .join(", "),
                        h.duration.describe(lang),
                        labels::anchor(h.from).get(lang),
                        h.basis.get(lang)
                    )),
                ]
            })
            .collect(),
    );
    doc.heading(2, w("Biện pháp bảo mật", "Security measures"));
    doc.list(
        r.security_measures
            .iter()
            .map(|m| vec![Inline::Text(m.get(lang).to_owned())])
            .collect(),
    );
    doc.heading(2, w("Sơ đồ luồng dữ liệu", "Data-flow diagram"));
    doc.code("mermaid", mermaid(policy));
    doc.to_markdown()
}
