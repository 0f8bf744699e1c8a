//! "My choices": each purpose resting on consent, its state now, one form per purpose to
//! grant or withdraw it (never bundled), what declining costs; below, the consent history.
//! Changes are recorded by `record_consents` on the `web_form` channel with this request as
//! evidence, exactly as `/v1/account/consents` records them.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use custodian_core::consent::{
    Collection, CollectionChannel, ConsentChange, ConsentState, Evidence, GivenBy,
};
use custodian_core::vault::{RequestContext, ShownNotice};
use custodian_policy::{LegalBasis, PurposeChoices};

use crate::AppState;
use crate::routes::staff::ClientAddress;

use super::error::{Failure, failure_page, vault_failure};
use super::html::Html;
use super::layout::{Page, cell, form_open, moment, render};
use super::paths;
use super::request_id;
use super::session::{Form, Signed, see_other};
use super::texts::{self, T};

fn context(signed: &Signed, headers: &HeaderMap) -> RequestContext {
    RequestContext {
        principal: signed.session.principal.clone(),
        purpose: String::new(),
        request_id: request_id(headers),
    }
}

/// `GET /privacy-centre/choices`.
pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let lang = signed.lang;
    let ctx = context(&signed, &headers);
    let id = &signed.session.customer;
    let current = match state.vault.consents(&ctx, id).await {
        Ok(c) => c,
        Err(e) => return vault_failure(lang, e),
    };
    let history = match state.vault.consent_history(&ctx, id).await {
        Ok(h) => h,
        Err(e) => return vault_failure(lang, e),
    };
    let policy = &state.policy;
    let label = |purpose: &str| {
        policy
            .purpose_named(purpose)
            .map_or_else(|| purpose.to_owned(), |p| p.label.get(lang).to_owned())
    };
    let mut h = Html::new();
    h.el("<h1>", T::ChoicesTitle.get(lang), "</h1>")
        .el("<p>", T::ChoicesIntro.get(lang), "</p>");
    if uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "saved=1"))
    {
        h.el(
            "<p class=\"notice\" role=\"status\">",
            T::ChoiceSaved.get(lang),
            "</p>",
        );
    }
    for purpose in policy
        .purposes
        .iter()
        .filter(|p| p.legal_basis == LegalBasis::Consent)
    {
        let pid = purpose.id.as_str();
        let view = current.iter().find(|c| c.purpose == pid);
        let state_now = view.map_or("not_asked", |v| v.state);
        let renewal = view.is_some_and(|v| v.needs_renewal);
        let granted = state_now == "granted" && !renewal;
        let choices = PurposeChoices::of(policy, purpose, lang);
        h.raw("<section class=\"choice\"><h2>")
            .text(purpose.label.get(lang))
            .raw("</h2>")
            .el("<p>", purpose.description.get(lang), "</p>")
            .raw("<p><strong>")
            .text(T::CurrentState.get(lang))
            .raw(":</strong> <span class=\"state state-")
            .text(if granted { "granted" } else { "denied" })
            .raw("\">");
        let state_text = match (state_now, renewal) {
            (_, true) => T::StateNeedsRenewal,
            ("granted", _) => T::StateGranted,
            ("denied", _) => T::StateDenied,
            _ => T::StateNotAsked,
        };
        h.text(state_text.get(lang)).raw("</span></p>");
        if let Some(consent) = &choices.consent {
            h.raw("<p><strong>")
                .text(T::DeclineCost.get(lang))
                .raw(":</strong> ")
                .text(consent.decline_cost)
                .raw("</p>");
        }
        form_open(&mut h, paths::CHOICES, lang, &signed.csrf);
        h.raw("<input type=\"hidden\" name=\"purpose\" value=\"")
            .text(pid)
            .raw("\"><input type=\"hidden\" name=\"state\" value=\"")
            .raw(if granted { "denied" } else { "granted" })
            .raw("\"><button type=\"submit\">")
            .text(if granted { T::Withdraw } else { T::Grant }.get(lang))
            .raw("<span class=\"visually-hidden\">: ")
            .text(purpose.label.get(lang))
            .raw("</span></button></form></section>");
    }
    h.raw("<section aria-labelledby=\"history\"><h2 id=\"history\">")
        .text(T::HistoryTitle.get(lang))
        .raw("</h2>");
    if history.is_empty() {
        h.el("<p>", T::NoHistory.get(lang), "</p>");
    } else {
        h.raw("<table><thead><tr>")
            .el("<th scope=\"col\">", T::When.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Purpose.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Choice.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Channel.get(lang), "</th>")
            .el(
                "<th scope=\"col\">",
                T::NoticeVersionLabel.get(lang),
                "</th>",
            )
            .raw("</tr></thead><tbody>");
        // Newest first: the latest change is what the customer looks for.
        for entry in history.iter().rev() {
            let choice = if entry.state == "granted" {
                T::StateGranted
            } else {
                T::StateDenied
            };
            h.raw("<tr>");
            cell(&mut h, T::When.get(lang), &moment(entry.at));
            cell(&mut h, T::Purpose.get(lang), &label(&entry.purpose));
            cell(&mut h, T::Choice.get(lang), choice.get(lang));
            cell(
                &mut h,
                T::Channel.get(lang),
                texts::channel(entry.channel, lang),
            );
            cell(
                &mut h,
                T::NoticeVersionLabel.get(lang),
                &entry.notice_version,
            );
            h.raw("</tr>");
        }
        h.raw("</tbody></table>");
    }
    h.raw("</section>");
    let page = Page {
        lang,
        title: T::ChoicesTitle.get(lang),
        path: paths::CHOICES,
        nav: Some(&signed.csrf),
    };
    render(&page, h, StatusCode::OK)
}

/// `POST /privacy-centre/choices` `purpose`, `state`: one purpose granted or withdrawn.
pub async fn change(
    State(state): State<AppState>,
    signed: Signed,
    ClientAddress(ip): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = signed.lang;
    let form = Form::parse(&body);
    if let Err(refused) = signed.check(&state, &form, &headers) {
        return refused.into_response();
    }
    let (Some(purpose), Some(consent_state)) = (
        form.get("purpose"),
        form.get("state").and_then(ConsentState::parse),
    ) else {
        return failure_page(lang, Failure::Invalid, None);
    };
    let ctx = context(&signed, &headers);
    let collection = Collection {
        channel: CollectionChannel::WebForm,
        recording_id: None,
        given_by: GivenBy::Customer,
        representative_name: None,
        evidence: Evidence {
            request_id: ctx.request_id.clone(),
            user_agent: headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            ip,
            gpc: crate::request::gpc_signal(&headers),
        },
    };
    let change = ConsentChange {
        purpose: purpose.to_owned(),
        state: consent_state,
        options: Default::default(),
    };
    let shown = match ShownNotice::resolve(
        state.archive.as_ref(),
        &state.policy,
        &state.notice_version,
        &state.notice_version.version,
    )
    .await
    {
        Ok(shown) => shown,
        Err(e) => return vault_failure(lang, e),
    };
    match state
        .vault
        .record_consents(
            &ctx,
            &signed.session.customer,
            &shown,
            &collection,
            &[change],
        )
        .await
    {
        Ok(_) => see_other(&format!("{}&saved=1", paths::href(paths::CHOICES, lang))),
        Err(e) => vault_failure(lang, e),
    }
}
