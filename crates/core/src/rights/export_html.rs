//! The export's human-readable report: one self-contained HTML page in the customer's
//! language, with no script and no outside resource. Every value is escaped by [`escape`].

use std::fmt::Write as _;

use custodian_policy::Lang;

use super::export::{ExportDocument, ExportOrder, ExportValue};

/// Escapes text for an HTML element's content or a quoted attribute value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A fixed text of the report, in `lang`.
fn t(lang: Lang, vi: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

fn lang_of(doc: &ExportDocument) -> Lang {
    Lang::from_tag(doc.language).unwrap_or_default()
}

const STYLE: &str = "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;\
line-height:1.5;color:#111;background:#fff}table{border-collapse:collapse;margin:.5rem 0 1rem}\
th,td{border:1px solid #888;padding:.25rem .5rem;text-align:left;vertical-align:top}\
section{margin-bottom:1.5rem}dt{font-weight:bold}";

fn values_table(out: &mut String, lang: Lang, values: &[ExportValue]) {
    if values.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        t(lang, "Trường", "Field"),
        t(lang, "Giá trị", "Value")
    );
    for v in values {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(&v.label),
            escape(&v.value)
        );
    }
    out.push_str("</tbody></table>");
}

fn list(out: &mut String, items: impl IntoIterator<Item = String>) {
    out.push_str("<ul>");
    let mut any = false;
    for item in items {
        any = true;
        let _ = write!(out, "<li>{}</li>", escape(&item));
    }
    if !any {
        out.push_str("<li>—</li>");
    }
    out.push_str("</ul>");
}

/// Everything before the orders.
pub fn head(doc: &ExportDocument) -> String {
    let lang = lang_of(doc);
    let mut out = String::with_capacity(16 * 1024);
    let title = t(lang, "Dữ liệu cá nhân của bạn", "Your personal data");
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} — {}</title><style>{STYLE}</style></head><body><main>\
         <h1>{} — {}</h1><p>{} {} · {} {} · {} {}</p>",
        escape(doc.language),
        title,
        escape(&doc.controller.name),
        title,
        escape(&doc.controller.name),
        t(lang, "Lập lúc", "Generated at"),
        escape(&doc.generated_at.to_string()),
        t(lang, "Mã khách hàng", "Customer id"),
        escape(doc.customer.id.as_str()),
        t(lang, "Phiên bản thông báo", "Notice version"),
        escape(&doc.notice_version),
    );
    let _ = write!(
        out,
        "<p>{} <a href=\"mailto:{}\">{}</a></p>",
        t(
            lang,
            "Câu hỏi về dữ liệu của bạn: người phụ trách bảo vệ dữ liệu,",
            "Questions about your data: the data protection officer,"
        ),
        escape(&doc.controller.dpo_email),
        escape(&doc.controller.dpo_email),
    );

    let _ = write!(
        out,
        "<h2>{}</h2>",
        t(lang, "Dữ liệu theo loại", "Data by category")
    );
    for c in &doc.categories {
        let _ = write!(
            out,
            "<section><h3>{}</h3><p>{}</p><dl><dt>{}</dt><dd>",
            escape(&c.label),
            escape(&c.description),
            t(
                lang,
                "Mục đích và cơ sở pháp lý",
                "Purposes and legal basis"
            ),
        );
        list(
            &mut out,
            c.purposes
                .iter()
                .map(|p| format!("{} — {}", p.label, p.legal_basis_label)),
        );
        let _ = write!(
            out,
            "</dd><dt>{}</dt><dd>",
            t(lang, "Thời hạn lưu trữ", "Retention")
        );
        list(&mut out, c.retention.iter().cloned());
        let _ = write!(
            out,
            "</dd><dt>{}</dt><dd>",
            t(lang, "Bên nhận", "Recipients")
        );
        list(
            &mut out,
            c.recipients
                .roles
                .iter()
                .chain(&c.recipients.partners)
                .map(|r| r.name.clone()),
        );
        out.push_str("</dd></dl>");
        if c.held_in == "orders" {
            let _ = write!(
                out,
                "<p>{}</p>",
                t(
                    lang,
                    "Các giá trị nằm trong đơn hàng của bạn, bên dưới.",
                    "The values are in your orders, below."
                )
            );
        }
        values_table(&mut out, lang, &c.values);
        out.push_str("</section>");
    }

    let _ = write!(
        out,
        "<h2>{}</h2>",
        t(lang, "Lịch sử chỉnh sửa", "Correction history")
    );
    if doc.corrections.is_empty() {
        out.push_str("<p>—</p>");
    } else {
        let _ = write!(
            out,
            "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            t(lang, "Trường", "Field"),
            t(lang, "Thay thế lúc", "Replaced at"),
            t(lang, "Giá trị trước đó", "Earlier value"),
        );
        for c in &doc.corrections {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&c.label),
                escape(&c.replaced_at.to_string()),
                escape(&c.value)
            );
        }
        out.push_str("</tbody></table>");
    }

    let _ = write!(
        out,
        "<h2>{}</h2>",
        t(lang, "Lịch sử đồng ý", "Consent history")
    );
    if doc.consents.is_empty() {
        out.push_str("<p>—</p>");
    } else {
        let _ = write!(
            out,
            "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            t(lang, "Thời điểm", "When"),
            t(lang, "Mục đích", "Purpose"),
            t(lang, "Trạng thái", "State"),
            t(lang, "Phiên bản thông báo", "Notice version"),
            t(lang, "Kênh", "Channel"),
            t(lang, "Mã biên nhận", "Receipt id"),
        );
        for c in &doc.consents {
            let state = match c.state {
                "granted" => t(lang, "đồng ý", "granted"),
                _ => t(lang, "không đồng ý / rút lại", "denied or withdrawn"),
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&c.at.to_string()),
                escape(&c.purpose_label),
                state,
                escape(&c.notice_version),
                escape(c.channel),
                escape(c.id.as_str()),
            );
        }
        out.push_str("</tbody></table>");
    }

    let _ = write!(
        out,
        "<h2>{}</h2>",
        t(lang, "Nhật ký tiết lộ dữ liệu", "Disclosure ledger")
    );
    if doc.disclosures.partners.is_empty() && doc.disclosures.authorities.is_empty() {
        out.push_str("<p>—</p>");
    } else {
        let _ = write!(
            out,
            "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            t(lang, "Thời điểm", "When"),
            t(lang, "Bên nhận", "Recipient"),
            t(lang, "Trường", "Fields"),
            t(lang, "Mục đích / cơ sở", "Purpose / basis"),
        );
        for d in &doc.disclosures.partners {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&d.at.to_string()),
                escape(&d.recipient),
                escape(&d.fields.join(", ")),
                escape(&format!("{} ({})", d.purpose, d.legal_basis)),
            );
        }
        for a in &doc.disclosures.authorities {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&a.at.to_string()),
                escape(&a.authority),
                escape(&a.fields.join(", ")),
                t(lang, "nghĩa vụ pháp lý", "legal obligation"),
            );
        }
        out.push_str("</tbody></table>");
    }

    let _ = write!(
        out,
        "<h2>{}</h2>",
        t(lang, "Yêu cầu của bạn", "Your requests")
    );
    if doc.requests.is_empty() {
        out.push_str("<p>—</p>");
    }
    for r in &doc.requests {
        let _ = write!(
            out,
            "<section><h3>{} · {}</h3><p>{} {} · {} {} · {} {}</p>",
            escape(&r.kind),
            escape(r.id.as_str()),
            t(lang, "Nhận lúc", "Received"),
            escape(&r.received_at.to_string()),
            t(lang, "Trạng thái", "State"),
            escape(r.state.label(lang)),
            t(lang, "Hạn hoàn thành", "Due by"),
            escape(&r.complete_by.to_string()),
        );
        if let Some(details) = &r.details {
            let _ = write!(out, "<p>{}</p>", escape(details));
        }
        if let Some(reason) = &r.reason {
            let _ = write!(
                out,
                "<p>{}: {}</p>",
                t(lang, "Lý do", "Reason"),
                escape(reason)
            );
        }
        list(
            &mut out,
            r.trail.iter().map(|e| {
                format!(
                    "{} — {}{}",
                    e.at,
                    e.to.label(lang),
                    e.note
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default()
                )
            }),
        );
        out.push_str("</section>");
    }

    if !doc.not_held.is_empty() {
        let _ = write!(
            out,
            "<h2>{}</h2><p>{}</p>",
            t(
                lang,
                "Chưa được lưu trong hệ thống này",
                "Not held by this system yet"
            ),
            t(
                lang,
                "Chính sách khai báo các loại dữ liệu này, nhưng hệ thống này chưa lưu chúng.",
                "The policy declares these kinds of data, but this system does not hold them yet."
            )
        );
        list(&mut out, doc.not_held.iter().map(|n| n.label.clone()));
    }

    let _ = write!(
        out,
        "<h2>{} ({})</h2>",
        t(lang, "Đơn hàng", "Orders"),
        doc.order_count
    );
    out
}

/// One page of orders.
pub fn orders(lang: Lang, page: &[ExportOrder]) -> String {
    let mut out = String::with_capacity(page.len() * 1024);
    for o in page {
        let _ = write!(
            out,
            "<section><h3>{} {}</h3><p>{} {} · {} {}</p>",
            t(lang, "Đơn hàng", "Order"),
            escape(o.id.as_str()),
            t(lang, "Đặt lúc", "Placed"),
            escape(&o.placed_at.to_string()),
            t(lang, "Trạng thái", "State"),
            escape(o.state.label(lang)),
        );
        values_table(&mut out, lang, &o.fields);
        for item in &o.items {
            values_table(&mut out, lang, item);
        }
        if !o.moves.is_empty() {
            list(
                &mut out,
                o.moves
                    .iter()
                    .map(|m| format!("{} — {} → {}", m.at, m.from.label(lang), m.to.label(lang))),
            );
        }
        out.push_str("</section>");
    }
    out
}

/// What follows the orders.
pub fn tail() -> &'static str {
    "</main></body></html>\n"
}

/// The report's language, from the document.
pub fn language(doc: &ExportDocument) -> Lang {
    lang_of(doc)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escape("Nguyễn Văn A"), "Nguyễn Văn A");
    }
}
