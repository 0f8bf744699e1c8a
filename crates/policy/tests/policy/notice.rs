//! The notice says everything the policy declares, in both languages, in the seed's order.

use custodian_policy::notice::{Format, render};
use custodian_policy::{DEFAULT_POLICY, Lang, NoticeVersion, Policy, parse};

fn policy() -> Policy {
    parse(DEFAULT_POLICY).unwrap()
}

/// Markdown escapes punctuation; compare against the text with escapes removed.
fn plain(markdown: &str) -> String {
    markdown.replace('\\', "")
}

#[test]
fn every_category_purpose_and_recipient_appears_in_both_languages_and_formats() {
    let p = policy();
    for lang in Lang::ALL {
        for format in [Format::Markdown, Format::Html] {
            let notice = render(&p, lang, format);
            let notice = if format == Format::Markdown {
                plain(&notice)
            } else {
                notice.replace("&#39;", "'")
            };
            let mut expected: Vec<&str> = Vec::new();
            expected.extend(p.categories.iter().map(|c| c.label.get(lang)));
            expected.extend(
                p.categories
                    .iter()
                    .flat_map(|c| c.fields.iter().map(|f| f.label.get(lang))),
            );
            expected.extend(p.purposes.iter().map(|x| x.label.get(lang)));
            expected.extend(p.roles.iter().map(|x| x.label.get(lang)));
            expected.extend(p.partners.iter().map(|x| x.name.get(lang)));
            expected.extend(p.partners.iter().map(|x| x.agreement.reference.as_str()));
            expected.extend(p.authorities.iter().map(|x| x.name.get(lang)));
            expected.extend(p.legal_holds.iter().map(|x| x.label.get(lang)));
            expected.extend(p.rights.iter().map(|x| x.label.get(lang)));
            expected.extend(p.security_measures.iter().map(|x| x.get(lang)));
            for o in p.purposes.iter().flat_map(|x| x.optional.iter()) {
                expected.push(o.decline_cost.get(lang));
            }
            for cost in p.purposes.iter().filter_map(|x| x.decline_cost.as_ref()) {
                expected.push(cost.get(lang));
            }
            expected.extend([p.controller.email.as_str(), p.controller.dpo.email.as_str()]);
            for text in expected {
                assert!(
                    notice.contains(text),
                    "{lang} {format:?} notice lacks `{text}`"
                );
            }
        }
    }
}

#[test]
fn follows_the_seed_sections_in_order() {
    let p = policy();
    let cases = [
        (
            Lang::Vi,
            vec![
                "Chính sách bảo mật thông tin",
                "1. Phạm vi thu thập thông tin",
                "Thông tin bạn cung cấp trực tiếp",
                "Thông tin về việc sử dụng dịch vụ của bạn",
                "Thông tin thoại",
                "Thông tin bạn đã xem",
                "Thông tin khác chúng tôi thu thập được",
                "Dịch vụ phân tích của bên thứ ba",
                "Tùy chọn của bạn",
                "2. Chúng tôi sử dụng thông tin của bạn như thế nào?",
                "3. Chúng tôi chia sẻ thông tin với ai?",
                "4. Bảo mật thông tin của bạn",
                "5. Dữ liệu cá nhân nhạy cảm",
                "6. Chuyển dữ liệu ra nước ngoài",
                "7. Thời gian lưu giữ",
                "8. Quyền của bạn",
                "9. Liên hệ",
            ],
        ),
        (
            Lang::En,
            vec![
                "Privacy policy",
                "1. Scope of the information we collect",
                "Information you give us directly",
                "Information about your use of the Service",
                "Voice information",
                "Information you have viewed",
                "Other information we collect",
                "Third-party analytics services",
                "Your choices",
                "2. How do we use your information?",
                "3. Who do we share information with?",
                "4. Security of your information",
                "5. Sensitive personal data",
                "6. Transfers abroad",
                "7. How long we keep information",
                "8. Your rights",
                "9. Contact",
            ],
        ),
    ];
    for (lang, headings) in cases {
        let notice = render(&p, lang, Format::Markdown);
        let mut from = 0;
        for h in headings {
            let at = notice[from..]
                .find(h)
                .unwrap_or_else(|| panic!("{lang}: `{h}` missing or out of order"));
            from += at + h.len();
        }
    }
}

#[test]
fn html_is_a_complete_page_in_the_right_language_and_cites_the_version() {
    let p = policy();
    let version = NoticeVersion::of(&p);
    let html = render(&p, Lang::En, Format::Html);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.contains(&format!(
        "<style>{}</style>",
        custodian_policy::notice::NOTICE_CSS
    )));
    assert!(html.contains(version.short_hash()));
    assert!(html.contains("href=\"?lang=vi\""));
    assert!(!html.contains("<script"));
    let vi = render(&p, Lang::Vi, Format::Html);
    assert!(vi.starts_with("<!DOCTYPE html>\n<html lang=\"vi\">"));
    assert!(vi.contains("Phiên bản 2026.7"));
}

#[test]
fn sensitive_and_cross_border_sections_list_exactly_what_the_policy_marks() {
    let p = policy();
    let md = plain(&render(&p, Lang::En, Format::Markdown));
    let sensitive = &md[md.find("## 5.").unwrap()..md.find("## 6.").unwrap()];
    for c in &p.categories {
        assert_eq!(
            sensitive.contains(c.label.en.as_str()),
            c.is_sensitive(),
            "{}",
            c.id
        );
    }
    let abroad = &md[md.find("## 6.").unwrap()..md.find("## 7.").unwrap()];
    for partner in &p.partners {
        assert_eq!(
            abroad.contains(partner.name.en.as_str()),
            partner.cross_border,
            "{}",
            partner.id
        );
    }
}

#[test]
fn snapshot_vietnamese() {
    insta::assert_snapshot!(
        "notice_vi_md",
        render(&policy(), Lang::Vi, Format::Markdown)
    );
}

#[test]
fn snapshot_english() {
    insta::assert_snapshot!(
        "notice_en_md",
        render(&policy(), Lang::En, Format::Markdown)
    );
}

#[test]
fn snapshot_html() {
    insta::assert_snapshot!("notice_vi_html", render(&policy(), Lang::Vi, Format::Html));
}
