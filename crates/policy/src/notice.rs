//! The public privacy notice, generated entirely from the policy. Its structure follows the
//! seed policy (1. scope of collection, 2. uses, 3. sharing, 4. security) and adds what the
//! law asks the notice to say: sensitive data, transfers abroad, retention, rights, contact.

use crate::doc::{Document, Inline, Line, html_escape};
use crate::labels;
use crate::model::*;
use crate::text::{Lang, Text};
use crate::version::NoticeVersion;

/// The output formats of the notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
}

/// The stylesheet embedded in the HTML notice. The HTTP layer allows exactly this style in
/// its Content-Security-Policy by hash, so no other style or script can run on the page.
/// On a narrow screen (under 40rem) tables stack their rows, each cell headed by its
/// column's `data-label`, and long words break anywhere: nothing scrolls sideways.
pub const NOTICE_CSS: &str = "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.55;color:#1b1b1b}\
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
th{background:#f3f3f3}nav{text-align:right}code{background:#f3f3f3;padding:0 .2rem}footer{margin-top:3rem;color:#555;font-size:.9rem}\
p,li,pre{overflow-wrap:anywhere}pre{white-space:pre-wrap}\
@media (max-width:40rem){body{margin:1rem auto}table,tbody,tr,td{display:block}\
thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
tr{border:1px solid #ccc;margin:0 0 .75rem}td{border:none;border-bottom:1px solid #eee}\
td::before{content:attr(data-label);display:block;font-weight:600}}";

/// Renders the notice in one language and format.
pub fn render(policy: &Policy, lang: Lang, format: Format) -> String {
    let doc = build(policy, lang);
    match format {
        Format::Markdown => doc.to_markdown(),
        Format::Html => html_page(policy, lang, &doc),
    }
}

fn html_page(policy: &Policy, lang: Lang, doc: &Document) -> String {
    let other = match lang {
        Lang::Vi => (Lang::En, "English"),
        Lang::En => (Lang::Vi, "Tiếng Việt"),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · {controller}</title>\n<style>{NOTICE_CSS}</style>\n</head>\n<body>\n\
         <nav><a href=\"?lang={other_tag}\" hreflang=\"{other_tag}\" lang=\"{other_tag}\">{other_name}</a></nav>\n\
         <main>\n{body}</main>\n</body>\n</html>\n",
        title = html_escape(policy.notice.texts.title.get(lang)),
        controller = html_escape(&policy.controller.name),
        other_tag = other.0,
        other_name = other.1,
        body = doc.to_html(),
    )
}

/// Picks the text for the notice's language.
struct Writer<'a> {
    policy: &'a Policy,
    lang: Lang,
    doc: Document,
}

impl Writer<'_> {
    fn t<'t>(&self, text: &'t Text) -> &'t str {
        text.get(self.lang)
    }

    fn w(&self, vi: &str, en: &str) -> String {
        match self.lang {
            Lang::Vi => vi.to_owned(),
            Lang::En => en.to_owned(),
        }
    }

    /// Starts a section: its heading, then the policy's own passage for it.
    fn open(&mut self, level: u8, vi: &str, en: &str, passage: &Text) {
        self.doc.heading(level, self.w(vi, en));
        self.doc.para(self.t(passage).to_owned());
    }

    fn category_label(&self, id: &CategoryId) -> String {
        self.policy
            .category(id)
            .map_or_else(|| id.to_string(), |c| self.t(&c.label).to_owned())
    }

    fn purpose_label(&self, id: &PurposeId) -> String {
        self.policy
            .purpose(id)
            .map_or_else(|| id.to_string(), |p| self.t(&p.label).to_owned())
    }

    /// Fields grouped by category, in first-mention order: `Shipping address (Street, Ward)`.
    /// A category named alone means all of it was listed or it has a single field.
    fn fields_summary(&self, fields: &[FieldRef]) -> String {
        let mut groups: Vec<(&CategoryId, Vec<&str>)> = Vec::new();
        for f in fields {
            match groups.iter_mut().find(|(c, _)| *c == &f.category) {
                Some((_, names)) => names.push(&f.field),
                None => groups.push((&f.category, vec![&f.field])),
            }
        }
        self.join(groups.into_iter().map(|(id, names)| {
            let Some(category) = self.policy.category(id) else {
                return id.to_string();
            };
            if names.len() == category.fields.len() {
                return self.t(&category.label).to_owned();
            }
            let labels: Vec<&str> = names
                .iter()
                .filter_map(|n| category.field(n))
                .map(|f| self.t(&f.label))
                .collect();
            format!("{} ({})", self.t(&category.label), labels.join(", "))
        }))
    }

    fn labelled(&self, label: String, value: String) -> Line {
        vec![
            Inline::Strong(format!("{label}:")),
            Inline::Text(format!(" {value}")),
        ]
    }

    fn join(&self, items: impl Iterator<Item = String>) -> String {
        items.collect::<Vec<_>>().join("; ")
    }
}

fn build(policy: &Policy, lang: Lang) -> Document {
    let mut w = Writer {
        policy,
        lang,
        doc: Document::default(),
    };
    let texts = &policy.notice.texts;
    let version = NoticeVersion::of(policy);
    w.doc.heading(1, w.t(&texts.title).to_owned());
    w.doc.para(w.t(&texts.intro).to_owned());
    let effective = policy.notice.effective.to_string();
    let version_line = match lang {
        Lang::Vi => format!(
            "Phiên bản {} · có hiệu lực từ {effective} · mã nội dung ",
            version.version
        ),
        Lang::En => format!(
            "Version {} · effective {effective} · content hash ",
            version.version
        ),
    };
    w.doc.line(vec![
        Inline::Text(version_line),
        Inline::Code(version.short_hash().to_owned()),
    ]);

    scope(&mut w);
    uses(&mut w);
    sharing(&mut w);
    security(&mut w);
    sensitive(&mut w);
    cross_border(&mut w);
    retention(&mut w);
    rights(&mut w);
    contact(&mut w);
    w.doc
}

/// Section 1, scope of collection: what you give us, what we collect about your use,
/// third-party analytics, your choices.
fn scope(w: &mut Writer<'_>) {
    let texts = &w.policy.notice.texts;
    w.doc.heading(
        2,
        w.w(
            "1. Phạm vi thu thập thông tin",
            "1. Scope of the information we collect",
        ),
    );
    w.open(
        3,
        "1.1. Thông tin bạn cung cấp trực tiếp",
        "1.1. Information you give us directly",
        &texts.collected_directly,
    );
    for section in Section::ALL.into_iter().filter(|s| s.given_directly()) {
        categories_of(w, section);
    }
    w.open(
        3,
        "1.2. Thông tin về việc sử dụng dịch vụ của bạn",
        "1.2. Information about your use of the Service",
        &texts.collected_from_use,
    );
    for section in Section::ALL.into_iter().filter(|s| !s.given_directly()) {
        categories_of(w, section);
    }

    w.open(
        3,
        "1.3. Dịch vụ phân tích của bên thứ ba",
        "1.3. Third-party analytics services",
        &texts.third_party_analytics,
    );
    let items = w
        .policy
        .partners
        .iter()
        .filter(|p| p.kind == PartnerKind::Analytics)
        .map(|p| {
            let fields = w.fields_summary(&p.fields);
            vec![
                Inline::Strong(w.t(&p.name).to_owned()),
                Inline::Text(format!(
                    " — {}: {fields}. {}: {}.",
                    w.w("nhận", "receives"),
                    w.w(
                        "Chỉ khi bạn đồng ý với mục đích",
                        "Only if you agree to the purpose"
                    ),
                    w.purpose_label(&p.purpose)
                )),
            ]
        })
        .collect();
    w.doc.list(items);

    w.doc
        .heading(3, w.w("1.4. Tùy chọn của bạn", "1.4. Your choices"));
    w.doc.para(w.t(&texts.choices).to_owned());
    let mut rows = Vec::new();
    for p in &w.policy.purposes {
        if let Some(cost) = &p.decline_cost {
            let what = format!("{} ({})", w.t(&p.label), w.w("sự đồng ý", "consent"));
            rows.push(vec![what, w.t(cost).to_owned()]);
        }
        for o in &p.optional {
            let what = format!("{} — {}", w.category_label(&o.category), w.t(&p.label));
            rows.push(vec![what, w.t(&o.decline_cost).to_owned()]);
        }
    }
    let header = vec![
        w.w("Thông tin hoặc sự đồng ý", "Information or consent"),
        w.w("Nếu bạn từ chối", "If you decline"),
    ];
    w.doc.table(header, rows);
    w.doc.para(w.t(&texts.global_privacy_control).to_owned());
    w.doc.para(w.t(&texts.children).to_owned());
}

fn categories_of(w: &mut Writer<'_>, section: Section) {
    let categories: Vec<&Category> = w
        .policy
        .categories
        .iter()
        .filter(|c| c.section == section)
        .collect();
    if categories.is_empty() {
        return;
    }
    w.doc.heading(4, w.t(&labels::section(section)).to_owned());
    let items = categories
        .into_iter()
        .map(|c| {
            let mut line = vec![Inline::Strong(w.t(&c.label).to_owned())];
            if let Sensitivity::Sensitive(kind) = c.sensitivity {
                line.push(Inline::Text(format!(
                    " ({}: {})",
                    w.w("dữ liệu nhạy cảm", "sensitive data"),
                    w.t(&labels::sensitive_kind(kind))
                )));
            }
            let fields = c
                .fields
                .iter()
                .map(|f| w.t(&f.label).to_owned())
                .collect::<Vec<_>>()
                .join(", ");
            let purposes = w.join(w.policy.purposes_using(&c.id).map(|p| {
                let optional = if p.required.contains(&c.id) {
                    ""
                } else {
                    &*w.w(" (nếu bạn cung cấp)", " (if you give it)")
                };
                format!("{}{optional}", w.t(&p.label))
            }));
            line.push(Inline::Text(format!(
                " — {} {}: {fields}. {}: {purposes}.",
                w.t(&c.description),
                w.w("Gồm", "Made of"),
                w.w("Dùng để", "Used to")
            )));
            line
        })
        .collect();
    w.doc.list(items);
}

/// 2. How we use your information.
fn uses(w: &mut Writer<'_>) {
    w.open(
        2,
        "2. Chúng tôi sử dụng thông tin của bạn như thế nào?",
        "2. How do we use your information?",
        &w.policy.notice.texts.uses,
    );
    for p in &w.policy.purposes {
        w.doc.heading(3, w.t(&p.label).to_owned());
        w.doc.para(w.t(&p.description).to_owned());
        let mut items = vec![w.labelled(
            w.w("Căn cứ pháp lý", "Legal basis"),
            w.t(&labels::legal_basis(p.legal_basis)).to_owned(),
        )];
        items.push(w.labelled(
            w.w("Thông tin cần thiết", "Information needed"),
            w.join(p.required.iter().map(|c| w.category_label(c))),
        ));
        if !p.optional.is_empty() {
            items.push(w.labelled(
                w.w(
                    "Thông tin dùng nếu bạn cung cấp",
                    "Information used if you give it",
                ),
                w.join(p.optional.iter().map(|o| w.category_label(&o.category))),
            ));
        }
        items.push(
            w.labelled(
                w.w("Liên quan tới", "Concerns"),
                p.subjects
                    .iter()
                    .map(|s| w.t(&labels::subject(*s)).to_owned())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        );
        if let Some(cost) = &p.decline_cost {
            items.push(w.labelled(
                w.w("Nếu bạn từ chối", "If you decline"),
                w.t(cost).to_owned(),
            ));
        }
        w.doc.list(items);
    }
}

/// 3. Who we share information with: roles inside, partners outside, authorities.
fn sharing(w: &mut Writer<'_>) {
    let texts = &w.policy.notice.texts;
    w.doc.heading(
        2,
        w.w(
            "3. Chúng tôi chia sẻ thông tin với ai?",
            "3. Who do we share information with?",
        ),
    );
    w.open(
        3,
        "3.1. Trong nội bộ doanh nghiệp",
        "3.1. Inside the business",
        &texts.sharing_internal,
    );
    let rows = w
        .policy
        .roles
        .iter()
        .map(|r| {
            vec![
                w.t(&r.label).to_owned(),
                w.join(r.purposes.iter().map(|p| w.purpose_label(p))),
            ]
        })
        .collect();
    w.doc.table(
        vec![
            w.w("Vai trò", "Role"),
            w.w("Mục đích được phục vụ", "Purposes it may serve"),
        ],
        rows,
    );

    w.open(3, "3.2. Đối tác", "3.2. Partners", &texts.sharing_partners);
    for p in &w.policy.partners {
        w.doc.heading(4, w.t(&p.name).to_owned());
        let country = w.t(&labels::country(&p.country)).to_owned();
        let abroad = if p.cross_border {
            w.w(" (chuyển ra nước ngoài)", " (transfer abroad)")
        } else {
            String::new()
        };
        let items = vec![
            w.labelled(w.w("Mục đích", "Purpose"), w.purpose_label(&p.purpose)),
            w.labelled(
                w.w("Thông tin nhận được", "Information received"),
                w.fields_summary(&p.fields),
            ),
            w.labelled(
                w.w("Hình thức", "Form"),
                w.t(&labels::data_form(p.data_form)).to_owned(),
            ),
            w.labelled(
                w.w("Quốc gia xử lý", "Processed in"),
                format!("{country}{abroad}"),
            ),
            w.labelled(
                w.w("Thỏa thuận", "Agreement"),
                format!(
                    "{}, {} {}",
                    p.agreement.reference,
                    w.w("ký ngày", "signed"),
                    p.agreement.signed
                ),
            ),
            w.labelled(
                w.w("Thời hạn xử lý", "Processing period"),
                w.t(&p.agreement.processing_period).to_owned(),
            ),
            w.labelled(
                w.w("Sau khi hết hạn", "Afterwards"),
                w.t(&p.agreement.deletion).to_owned(),
            ),
        ];
        w.doc.list(items);
    }

    w.open(
        3,
        "3.3. Các bên khác khi pháp luật quy định",
        "3.3. Other parties where the law requires it",
        &texts.sharing_authorities,
    );
    let items = w
        .policy
        .authorities
        .iter()
        .map(|a| {
            vec![
                Inline::Strong(w.t(&a.name).to_owned()),
                Inline::Text(format!(" — {}", w.t(&a.legal_basis))),
            ]
        })
        .collect();
    w.doc.list(items);
}

/// 4. Security.
fn security(w: &mut Writer<'_>) {
    w.open(
        2,
        "4. Bảo mật thông tin của bạn",
        "4. Security of your information",
        &w.policy.notice.texts.security,
    );
    let items = w
        .policy
        .security_measures
        .iter()
        .map(|m| vec![Inline::Text(w.t(m).to_owned())])
        .collect();
    w.doc.list(items);
}

fn sensitive(w: &mut Writer<'_>) {
    w.open(
        2,
        "5. Dữ liệu cá nhân nhạy cảm",
        "5. Sensitive personal data",
        &w.policy.notice.texts.sensitive,
    );
    let rows = w
        .policy
        .categories
        .iter()
        .filter_map(|c| match c.sensitivity {
            Sensitivity::Sensitive(kind) => Some(vec![
                w.t(&c.label).to_owned(),
                w.t(&labels::sensitive_kind(kind)).to_owned(),
                w.join(
                    w.policy
                        .purposes_using(&c.id)
                        .map(|p| w.t(&p.label).to_owned()),
                ),
                w.join(
                    c.restricted_to
                        .iter()
                        .filter_map(|r| w.policy.role(r))
                        .map(|r| w.t(&r.label).to_owned()),
                ),
            ]),
            Sensitivity::Basic => None,
        })
        .collect();
    let header = vec![
        w.w("Thông tin", "Information"),
        w.w("Loại", "Kind"),
        w.w("Mục đích", "Purposes"),
        w.w(
            "Chỉ những vai trò được truy cập",
            "Only these roles may access it",
        ),
    ];
    w.doc.table(header, rows);
}

fn cross_border(w: &mut Writer<'_>) {
    w.doc.heading(
        2,
        w.w("6. Chuyển dữ liệu ra nước ngoài", "6. Transfers abroad"),
    );
    w.doc
        .para(w.t(&w.policy.notice.texts.cross_border).to_owned());
    let items = w
        .policy
        .partners
        .iter()
        .filter(|p| p.cross_border)
        .map(|p| {
            let mut line = vec![
                Inline::Strong(w.t(&p.name).to_owned()),
                Inline::Text(format!(
                    " — {}: {}. {}: {}.",
                    w.t(&labels::country(&p.country)),
                    w.fields_summary(&p.fields),
                    w.w("Mục đích", "Purpose"),
                    w.purpose_label(&p.purpose)
                )),
            ];
            if let Some(safeguard) = &p.transfer_safeguard {
                line.push(Inline::Text(format!(" {}", w.t(safeguard))));
            }
            line
        })
        .collect();
    w.doc.list(items);
}

fn retention(w: &mut Writer<'_>) {
    w.open(
        2,
        "7. Thời gian lưu giữ",
        "7. How long we keep information",
        &w.policy.notice.texts.retention,
    );
    let rows = w
        .policy
        .retention
        .iter()
        .map(|r| {
            vec![
                w.category_label(&r.category),
                r.purpose.as_ref().map_or_else(
                    || w.w("Mọi mục đích", "All purposes"),
                    |p| w.purpose_label(p),
                ),
                format!(
                    "{} {}",
                    r.duration.describe(w.lang),
                    w.t(&labels::anchor(r.from))
                ),
                w.t(&labels::expiry(r.at_expiry)).to_owned(),
            ]
        })
        .collect();
    let header = vec![
        w.w("Thông tin", "Information"),
        w.w("Mục đích", "Purpose"),
        w.w("Lưu giữ", "Kept for"),
        w.w("Sau đó", "Then"),
    ];
    w.doc.table(header, rows);
    if !w.policy.legal_holds.is_empty() {
        w.doc.heading(
            3,
            w.w(
                "Hồ sơ phải lưu giữ theo luật",
                "Records the law requires us to keep",
            ),
        );
        let items = w
            .policy
            .legal_holds
            .iter()
            .map(|h| {
                vec![
                    Inline::Strong(w.t(&h.label).to_owned()),
                    Inline::Text(format!(
                        " — {}: {}. {} {} {}, {}: {}. {}",
                        w.w("gồm", "covers"),
                        w.join(h.categories.iter().map(|c| w.category_label(c))),
                        w.w("Lưu giữ", "Kept for"),
                        h.duration.describe(w.lang),
                        w.t(&labels::anchor(h.from)),
                        w.w("chỉ dùng cho", "used only to"),
                        w.purpose_label(&h.purpose),
                        w.t(&h.basis)
                    )),
                ]
            })
            .collect();
        w.doc.list(items);
    }
}

fn rights(w: &mut Writer<'_>) {
    w.open(
        2,
        "8. Quyền của bạn",
        "8. Your rights",
        &w.policy.notice.texts.rights,
    );
    let rows = w
        .policy
        .rights
        .iter()
        .map(|r| {
            vec![
                w.t(&r.label).to_owned(),
                w.t(&r.description).to_owned(),
                match w.lang {
                    Lang::Vi => format!("{} ngày", r.due_days),
                    Lang::En => format!("{} days", r.due_days),
                },
            ]
        })
        .collect();
    let header = vec![
        w.w("Quyền", "Right"),
        w.w("Nội dung", "What it means"),
        w.w("Hoàn thành trong", "Completed within"),
    ];
    w.doc.table(header, rows);
}

fn contact(w: &mut Writer<'_>) {
    let c = &w.policy.controller;
    w.open(
        2,
        "9. Liên hệ",
        "9. Contact",
        &w.policy.notice.texts.contact,
    );
    let items = vec![
        vec![
            Inline::Strong(c.name.clone()),
            Inline::Text(" — ".to_owned()),
            Inline::Link {
                text: c.site.clone(),
                href: c.site.clone(),
            },
            Inline::Text(" — ".to_owned()),
            Inline::Link {
                text: c.email.clone(),
                href: format!("mailto:{}", c.email),
            },
        ],
        vec![
            Inline::Strong(w.w("Địa chỉ", "Address")),
            Inline::Text(format!(" — {}", w.t(&c.address))),
        ],
        vec![
            Inline::Strong(w.w("Điện thoại", "Telephone")),
            Inline::Text(format!(" — {}", w.t(&c.phone))),
        ],
        vec![
            Inline::Strong(w.t(&c.dpo.title).to_owned()),
            Inline::Text(" — ".to_owned()),
            Inline::Link {
                text: c.dpo.email.clone(),
                href: format!("mailto:{}", c.dpo.email),
            },
        ],
    ];
    w.doc.list(items);
}
