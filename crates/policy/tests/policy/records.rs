//! The record of processing and the data-flow diagram cover the whole policy.

use custodian_policy::records::{dot, mermaid, records, to_markdown};
use custodian_policy::{DEFAULT_POLICY, Lang, parse};

#[test]
fn one_activity_per_purpose_with_its_recipients_transfers_and_retention() {
    let p = parse(DEFAULT_POLICY).unwrap();
    let r = records(&p);
    assert_eq!(r.activities.len(), p.purposes.len());
    let fulfilment = r
        .activities
        .iter()
        .find(|a| a.purpose.as_str() == "order_fulfilment")
        .unwrap();
    let partners: Vec<&str> = fulfilment
        .external_recipients
        .iter()
        .map(|x| x.partner.as_str())
        .collect();
    assert_eq!(partners, ["carrier", "payment_processor"]);
    assert!(fulfilment.transfers_abroad.is_empty());
    assert_eq!(
        fulfilment
            .internal_recipients
            .iter()
            .map(|x| x.as_str())
            .collect::<Vec<_>>(),
        ["fulfilment"]
    );
    assert!(
        fulfilment
            .retention
            .iter()
            .any(|x| x.category.as_str() == "order_payment")
    );

    let transfers: Vec<&str> = r
        .activities
        .iter()
        .flat_map(|a| a.transfers_abroad.iter())
        .map(|t| t.partner.as_str())
        .collect();
    assert_eq!(transfers, ["ad_network", "google_analytics"]);
    assert_eq!(r.authorities.len(), p.authorities.len());
    assert_eq!(r.security_measures.len(), p.security_measures.len());

    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["controller"]["jurisdiction"], "VN");
    assert_eq!(json["activities"][0]["legal_basis"], "contract");
}

#[test]
fn markdown_in_both_languages_names_every_purpose_and_embeds_the_diagram() {
    let p = parse(DEFAULT_POLICY).unwrap();
    for lang in Lang::ALL {
        let md = to_markdown(&p, lang).replace('\\', "");
        for purpose in &p.purposes {
            assert!(
                md.contains(purpose.label.get(lang)),
                "{lang}: {}",
                purpose.id
            );
        }
        assert!(md.contains("```mermaid\nflowchart LR"));
        // Art. 30(1)(a): the controller's contact details.
        assert!(
            md.contains(p.controller.address.get(lang)),
            "{lang}: address"
        );
        assert!(
            md.contains(p.controller.phone.get(lang)),
            "{lang}: telephone"
        );
    }
}

#[test]
fn diagrams_contain_every_node_and_mark_cross_border_flows() {
    let p = parse(DEFAULT_POLICY).unwrap();
    let (d, m) = (dot(&p), mermaid(&p));
    assert!(d.starts_with("digraph data_flow {"));
    assert!(d.trim_end().ends_with('}'));
    assert!(m.starts_with("flowchart LR\n"));
    for id in p
        .categories
        .iter()
        .map(|c| format!("categories_{}", c.id))
        .chain(p.purposes.iter().map(|x| format!("purposes_{}", x.id)))
        .chain(p.roles.iter().map(|x| format!("internal_{}", x.id)))
        .chain(p.partners.iter().map(|x| format!("partners_{}", x.id)))
        .chain(
            p.authorities
                .iter()
                .map(|x| format!("authorities_{}", x.id)),
        )
    {
        assert!(d.contains(&format!("{id} [label=")), "dot lacks {id}");
        assert!(m.contains(&format!("{id}[\"")), "mermaid lacks {id}");
    }
    assert!(d.contains("purposes_third_party_analytics -> partners_google_analytics [label=\"4 fields, cross-border to US\", style=dashed]"));
    assert!(m.contains("purposes_order_fulfilment -->|\"8 fields\"| partners_carrier"));
}

/// Both Markdown outputs — the record of processing and the notice — read as CommonMark the
/// way they are meant to: every bold label bold (no asterisk left in the text), headings,
/// lists and tables where they are written, in both languages.
#[test]
fn markdown_outputs_parse_as_intended_by_a_commonmark_parser() {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let p = parse(DEFAULT_POLICY).unwrap();
    for lang in Lang::ALL {
        let outputs = [
            ("records", to_markdown(&p, lang)),
            (
                "notice",
                custodian_policy::notice::render(
                    &p,
                    lang,
                    custodian_policy::notice::Format::Markdown,
                ),
            ),
        ];
        for (name, md) in outputs {
            let (mut strong, mut headings, mut tables) = (0, 0, 0);
            for event in Parser::new_ext(&md, Options::ENABLE_TABLES) {
                match event {
                    Event::Text(text) => assert!(
                        !text.contains("**") && !text.contains("__"),
                        "{name} ({lang}): markers shown as text in {text:?}"
                    ),
                    Event::Start(Tag::Strong) => strong += 1,
                    Event::Start(Tag::Heading { .. }) => headings += 1,
                    Event::Start(Tag::Table(_)) => tables += 1,
                    _ => {}
                }
            }
            // As many bold runs as the source opens (`**` pairs outside code spans).
            let written = md
                .lines()
                .filter(|l| !l.starts_with("    "))
                .map(|l| {
                    l.split('`')
                        .step_by(2)
                        .map(|s| s.matches("**").count())
                        .sum::<usize>()
                })
                .sum::<usize>()
                / 2;
            assert_eq!(strong, written, "{name} ({lang}): bold runs");
            assert!(headings > 3, "{name} ({lang}): headings");
            assert!(name != "notice" || tables > 0, "{name} ({lang}): tables");
        }
    }
}
