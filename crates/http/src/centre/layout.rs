//! The shell of every page: `<html lang>`, a skip link, the navigation (with sign-out as a
//! form), the language switch, and the main landmark the skip link leads to.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use custodian_policy::Lang;

use super::html::Html;
use super::paths;
use super::texts::T;

/// A page's frame.
#[derive(Debug)]
pub struct Page<'a> {
    pub lang: Lang,
    pub title: &'a str,
    /// This page's path, for the language switch.
    pub path: &'static str,
    /// For a signed-in customer: the navigation and the sign-out form's token.
    pub nav: Option<&'a str>,
}

const NAV: [(&str, T); 5] = [
    (paths::DATA, T::NavData),
    (paths::CHOICES, T::NavChoices),
    (paths::RECIPIENTS, T::NavRecipients),
    (paths::REQUESTS, T::NavRequests),
    (paths::ORDERS, T::NavOrders),
];

fn other(lang: Lang) -> Lang {
    match lang {
        Lang::Vi => Lang::En,
        Lang::En => Lang::Vi,
    }
}

/// The whole page around `main`, answered with `status`.
pub fn render(page: &Page<'_>, main: Html, status: StatusCode) -> Response {
    let lang = page.lang;
    let mut h = Html::new();
    h.raw("<!DOCTYPE html>\n<html lang=\"")
        .text(lang.tag())
        .raw("\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>")
        .text(page.title)
        .raw(" · ")
        .text(T::CentreName.get(lang))
        .raw("</title><link rel=\"stylesheet\" href=\"")
        .raw(paths::STYLE)
        .raw("\"></head><body><a class=\"skip\" href=\"#main\">")
        .text(T::SkipToContent.get(lang))
        .raw("</a><header><p class=\"brand\">")
        .text(T::CentreName.get(lang))
        .raw("</p>");
    let switch_to = other(lang);
    h.raw("<p class=\"lang\"><span class=\"visually-hidden\">")
        .text(T::Language.get(lang))
        .raw(": </span><a href=\"")
        .text(&paths::href(page.path, switch_to))
        .raw("\" hreflang=\"")
        .text(switch_to.tag())
        .raw("\" lang=\"")
        .text(switch_to.tag())
        .raw("\">")
        .text(T::OtherLanguage.get(lang))
        .raw("</a></p>");
    if let Some(csrf) = page.nav {
        h.raw("<nav aria-label=\"")
            .text(T::MainNav.get(lang))
            .raw("\"><ul>");
        for (path, label) in NAV {
            h.raw("<li><a href=\"")
                .text(&paths::href(path, lang))
                .raw("\"");
            if path == page.path {
                h.raw(" aria-current=\"page\"");
            }
            h.raw(">").text(label.get(lang)).raw("</a></li>");
        }
        h.raw("<li><form method=\"post\" action=\"")
            .text(&paths::href(paths::SIGN_OUT, lang))
            .raw("\">");
        csrf_field(&mut h, csrf);
        h.raw("<button type=\"submit\" class=\"link\">")
            .text(T::SignOut.get(lang))
            .raw("</button></form></li></ul></nav>");
    }
    h.raw("</header><main id=\"main\" tabindex=\"-1\">")
        .append(main)
        .raw("</main></body></html>\n");
    (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        h.into_string(),
    )
        .into_response()
}

/// The hidden CSRF field of a form.
pub fn csrf_field(h: &mut Html, csrf: &str) {
    h.raw("<input type=\"hidden\" name=\"csrf\" value=\"")
        .text(csrf)
        .raw("\">");
}

/// A form's opening tag, posting to `path` in `lang`, with its CSRF field.
pub fn form_open(h: &mut Html, path: &'static str, lang: Lang, csrf: &str) {
    h.raw("<form method=\"post\" action=\"")
        .text(&paths::href(path, lang))
        .raw("\">");
    csrf_field(h, csrf);
}

/// The attributes of a field refused with `error` (inside its tag: ` aria-invalid="true"
/// aria-describedby="…" autofocus`, the focus landing on it with no script), or nothing.
pub fn invalid_attrs(h: &mut Html, error_id: &'static str, error: Option<&str>) {
    if error.is_some() {
        h.raw(" aria-invalid=\"true\" aria-describedby=\"")
            .raw(error_id)
            .raw("\" autofocus");
    }
}

/// The message beside a refused field (between its label and the field), if any.
pub fn field_error(h: &mut Html, error_id: &'static str, error: Option<&str>) {
    if let Some(message) = error {
        h.raw("<span class=\"field-error\" id=\"")
            .raw(error_id)
            .raw("\">")
            .text(message)
            .raw("</span>");
    }
}

/// A table cell labelled with its column (`data-label`, shown before the value when a
/// narrow screen stacks the table's rows), holding escaped `text`.
pub fn cell(h: &mut Html, label: &str, text: &str) {
    cell_open(h, label);
    h.text(text).raw("</td>");
}

/// The opening tag of a labelled cell, for content built by the caller.
pub fn cell_open(h: &mut Html, label: &str) {
    h.raw("<td data-label=\"").text(label).raw("\">");
}

/// A `YYYY-MM-DD HH:MM UTC` rendering of a moment.
pub fn moment(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}
