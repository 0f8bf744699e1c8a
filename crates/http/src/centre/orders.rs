//! "Orders": the customer's orders, their state and when they were placed.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use custodian_core::vault::RequestContext;

use crate::AppState;

use super::error::vault_failure;
use super::html::Html;
use super::layout::{Page, cell, cell_open, moment, render};
use super::paths;
use super::request_id;
use super::session::Signed;
use super::texts::T;

/// `GET /privacy-centre/orders`.
pub async fn page(State(state): State<AppState>, signed: Signed, headers: HeaderMap) -> Response {
    let lang = signed.lang;
    let ctx = RequestContext {
        principal: signed.session.principal.clone(),
        purpose: String::new(),
        request_id: request_id(&headers),
    };
    let orders = match state.vault.orders_of(&ctx, &signed.session.customer).await {
        Ok(o) => o,
        Err(e) => return vault_failure(lang, e),
    };
    let mut h = Html::new();
    h.el("<h1>", T::OrdersTitle.get(lang), "</h1>");
    if orders.is_empty() {
        h.el("<p>", T::NoOrders.get(lang), "</p>");
    } else {
        h.raw("<table><thead><tr>")
            .el("<th scope=\"col\">", T::Order.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Status.get(lang), "</th>")
            .el("<th scope=\"col\">", T::Placed.get(lang), "</th>")
            .raw("</tr></thead><tbody>");
        for order in &orders {
            h.raw("<tr>");
            cell_open(&mut h, T::Order.get(lang));
            h.el("<code>", &order.id.to_string(), "</code></td>");
            cell(&mut h, T::Status.get(lang), order.state.as_str());
            cell(&mut h, T::Placed.get(lang), &moment(order.placed_at));
            h.raw("</tr>");
        }
        h.raw("</tbody></table>");
    }
    let page = Page {
        lang,
        title: T::OrdersTitle.get(lang),
        path: paths::ORDERS,
        nav: Some(&signed.csrf),
    };
    render(&page, h, StatusCode::OK)
}
