//! "Who received my data": the disclosure ledger — each delivery to a partner, and the
//! authorities' part as the customer may see it (P4, P16).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use custodian_core::vault::RequestContext;
use custodian_policy::{Lang, Policy};

use crate::AppState;

use super::error::vault_failure;
use super::html::Html;
use super::layout::{Page, cell, moment, render};
use super::paths;
use super::request_id;
use super::session::Signed;
use super::texts::T;

fn category_labels(policy: &Policy, categories: &[String], lang: Lang) -> String {
    categories
        .iter()
        .map(|c| {
            policy
                .category_named(c)
                .map_or(c.as_str(), |cat| cat.label.get(lang))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /privacy-centre/recipients`.
pub async fn page(State(state): State<AppState>, signed: Signed, headers: HeaderMap) -> Response {
    let lang = signed.lang;
    let ctx = RequestContext {
        principal: signed.session.principal.clone(),
        purpose: String::new(),
        request_id: request_id(&headers),
    };
    let id = &signed.session.customer;
    let partners = match state.vault.disclosures(&ctx, id).await {
        Ok(d) => d,
        Err(e) => return vault_failure(lang, e),
    };
    let legal = match state.vault.legal_ledger(&ctx, id).await {
        Ok(l) => l,
        Err(e) => return vault_failure(lang, e),
    };
    let policy = &state.policy;
    let mut h = Html::new();
    h.el("<h1>", T::LedgerTitle.get(lang), "</h1>")
        .el("<p>", T::LedgerIntro.get(lang), "</p>")
        .el("<h2>", T::PartnersHeading.get(lang), "</h2>");
    if partners.is_empty() {
        h.el("<p>", T::NoDisclosures.get(lang), "</p>");
    } else {
        h.raw("<table><thead><tr>")
            .el("<th scope=\"col\">", T::When.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Recipient.get(lang), "</th>")
            .el("<th scope=\"col\">", T::DataSent.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Purpose.get(lang), "</th>")
            .raw("</tr></thead><tbody>");
        for d in partners.iter().rev() {
            let recipient = policy
                .partners
                .iter()
                .find(|p| p.id.as_str() == d.recipient)
                .map_or(d.recipient.as_str(), |p| p.name.get(lang));
            let purpose = policy
                .purpose_named(&d.purpose)
                .map_or(d.purpose.as_str(), |p| p.label.get(lang));
            h.raw("<tr>");
            cell(&mut h, T::When.get(lang), &moment(d.at));
            cell(&mut h, T::Recipient.get(lang), recipient);
            cell(
                &mut h,
                T::DataSent.get(lang),
                &category_labels(policy, &d.categories, lang),
            );
            cell(&mut h, T::Purpose.get(lang), purpose);
            h.raw("</tr>");
        }
        h.raw("</tbody></table>");
    }
    h.el("<h2>", T::AuthoritiesHeading.get(lang), "</h2>");
    if legal.is_empty() {
        h.el("<p>", T::NoLegal.get(lang), "</p>");
    } else {
        h.raw("<table><thead><tr>")
            .el("<th scope=\"col\">", T::When.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Recipient.get(lang), "</th>")
            .el("<th scope=\"col\">", T::DataSent.get(lang), "</th>")
            .el("<th scope=\"col\">", T::LegalBasisLabel.get(lang), "</th>")
            .raw("</tr></thead><tbody>");
        for r in legal.iter().rev() {
            let authority = policy
                .authorities
                .iter()
                .find(|a| a.id.as_str() == r.authority);
            h.raw("<tr>");
            cell(&mut h, T::When.get(lang), &moment(r.at));
            cell(
                &mut h,
                T::Recipient.get(lang),
                authority.map_or(r.authority.as_str(), |a| a.name.get(lang)),
            );
            cell(
                &mut h,
                T::DataSent.get(lang),
                &category_labels(policy, &r.categories, lang),
            );
            cell(
                &mut h,
                T::LegalBasisLabel.get(lang),
                authority.map_or("", |a| a.legal_basis.get(lang)),
            );
            h.raw("</tr>");
        }
        h.raw("</tbody></table>");
    }
    let page = Page {
        lang,
        title: T::LedgerTitle.get(lang),
        path: paths::RECIPIENTS,
        nav: Some(&signed.csrf),
    };
    render(&page, h, StatusCode::OK)
}
