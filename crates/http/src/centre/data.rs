//! "My data": each category the customer has data in, their own values, and why it is held —
//! purposes with their legal basis, retention and recipients, from the policy's record of
//! processing (`custodian_policy::records`), not re-derived here.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use custodian_core::access::Disclosure;
use custodian_core::vault::RequestContext;
use custodian_policy::labels;
use custodian_policy::records::{Activity, records};
use custodian_policy::{Category, Lang, Policy};

use crate::AppState;

use super::error::vault_failure;
use super::html::Html;
use super::layout::{Page, render};
use super::paths;
use super::request_id;
use super::session::Signed;
use super::texts::T;

/// The purpose a customer's own read is audited under: the data subject sees their whole
/// record whatever the purpose, and `account` is the purpose their account is held for.
const OWN_READ_PURPOSE: &str = "account";

/// `GET /privacy-centre`.
pub async fn page(State(state): State<AppState>, signed: Signed, headers: HeaderMap) -> Response {
    let lang = signed.lang;
    let ctx = RequestContext {
        principal: signed.session.principal.clone(),
        purpose: OWN_READ_PURPOSE.to_owned(),
        request_id: request_id(&headers),
    };
    let view = match state.vault.read(&ctx, &signed.session.customer).await {
        Ok(view) => view,
        Err(e) => return vault_failure(lang, e),
    };
    let activities = records(&state.policy).activities;
    let mut h = Html::new();
    h.el("<h1>", T::DataTitle.get(lang), "</h1>")
        .el("<p>", T::DataIntro.get(lang), "</p>");
    let mut any = false;
    for category in &state.policy.categories {
        let prefix = format!("{}.", category.id.as_str());
        let held: Vec<(&str, &Disclosure)> = view
            .fields
            .iter()
            .filter(|(name, d)| name.starts_with(&prefix) && !matches!(d, Disclosure::Withheld(_)))
            .map(|(name, d)| (name.as_str(), d))
            .collect();
        if held.is_empty() {
            continue;
        }
        any = true;
        category_section(&mut h, &state.policy, category, &held, &activities, lang);
    }
    if !any {
        h.el("<p>", T::NoData.get(lang), "</p>");
    }
    let page = Page {
        lang,
        title: T::DataTitle.get(lang),
        path: paths::DATA,
        nav: Some(&signed.csrf),
    };
    render(&page, h, StatusCode::OK)
}

fn category_section(
    h: &mut Html,
    policy: &Policy,
    category: &Category,
    held: &[(&str, &Disclosure)],
    activities: &[Activity],
    lang: Lang,
) {
    let id = category.id.as_str();
    h.raw("<section class=\"category\"><h2>")
        .text(category.label.get(lang))
        .raw("</h2>")
        .el("<p>", category.description.get(lang), "</p>")
        .raw("<dl>");
    for (name, disclosure) in held {
        let label = policy
            .field_named(name)
            .map_or(*name, |(_, field)| field.label.get(lang));
        h.el("<dt>", label, "</dt>");
        match disclosure {
            Disclosure::Value(v) | Disclosure::Masked(v) => h.el("<dd>", v, "</dd>"),
            Disclosure::Withheld(_) => h.el("<dd>", T::Withheld.get(lang), "</dd>"),
        };
    }
    h.raw("</dl>")
        .el("<h3>", T::WhyHeld.get(lang), "</h3>")
        .raw("<ul class=\"reasons\">");
    for activity in activities
        .iter()
        .filter(|a| a.data_categories.iter().any(|c| c.category.as_str() == id))
    {
        h.raw("<li><p><strong>")
            .text(activity.name.get(lang))
            .raw("</strong></p><dl class=\"inline\">")
            .el("<dt>", T::LegalBasisLabel.get(lang), "</dt>")
            .el(
                "<dd>",
                labels::legal_basis(activity.legal_basis).get(lang),
                "</dd>",
            );
        for retention in activity
            .retention
            .iter()
            .filter(|r| r.category.as_str() == id)
        {
            h.el("<dt>", T::Retention.get(lang), "</dt>")
                .raw("<dd>")
                .text(&format!(
                    "{} {}",
                    retention.duration.describe(lang),
                    labels::anchor(retention.from).get(lang)
                ));
            h.raw("</dd>");
        }
        let recipients: Vec<&str> = activity
            .external_recipients
            .iter()
            .filter(|p| p.fields.iter().any(|f| f.starts_with(&format!("{id}."))))
            .map(|p| p.name.get(lang))
            .collect();
        h.el("<dt>", T::Recipients.get(lang), "</dt>");
        if recipients.is_empty() {
            h.el("<dd>", T::NoRecipients.get(lang), "</dd>");
        } else {
            h.el("<dd>", &recipients.join(", "), "</dd>");
        }
        h.raw("</dl></li>");
    }
    h.raw("</ul></section>");
}
