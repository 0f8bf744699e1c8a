use axum::body::Body;
use axum::http::Request;
use custodian_policy::notice::{Format, render};
use custodian_policy::{DEFAULT_POLICY, Lang, parse};

use crate::helpers::{assert_error, body_text, header, spawn_app};

fn expected(lang: Lang, format: Format) -> String {
    render(&parse(DEFAULT_POLICY).unwrap(), lang, format)
}

fn with_accept_language(value: &str) -> Request<Body> {
    Request::get("/privacy")
        .header("accept-language", value)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn vietnamese_html_by_default() {
    let app = spawn_app().await;
    let response = app.get("/privacy").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "content-type"),
        "text/html; charset=utf-8"
    );
    assert_eq!(header(&response, "content-language"), "vi");
    assert_eq!(header(&response, "vary"), "Accept-Language");
    assert_eq!(body_text(response).await, expected(Lang::Vi, Format::Html));
}

#[tokio::test]
async fn both_languages_in_both_formats() {
    let app = spawn_app().await;
    for (lang, tag) in [(Lang::Vi, "vi"), (Lang::En, "en")] {
        let response = app.get(&format!("/privacy?lang={tag}")).await;
        assert_eq!(header(&response, "content-language"), tag);
        assert_eq!(body_text(response).await, expected(lang, Format::Html));
        let response = app.get(&format!("/privacy?lang={tag}&format=md")).await;
        assert_eq!(
            header(&response, "content-type"),
            "text/markdown; charset=utf-8"
        );
        assert_eq!(body_text(response).await, expected(lang, Format::Markdown));
    }
}

#[tokio::test]
async fn accept_language_is_negotiated_by_weight() {
    let app = spawn_app().await;
    for (accept, tag) in [
        ("en-US,en;q=0.9", "en"),
        ("fr, vi;q=0.5, en;q=0.7", "en"),
        ("en;q=0.2, vi-VN;q=0.8", "vi"),
        ("de, fr;q=0.5", "vi"),
        ("en;q=0", "vi"),
    ] {
        let response = app.send(with_accept_language(accept)).await;
        assert_eq!(
            header(&response, "content-language"),
            tag,
            "Accept-Language: {accept}"
        );
    }
}

#[tokio::test]
async fn the_lang_parameter_beats_the_header() {
    let app = spawn_app().await;
    let request = Request::get("/privacy?lang=vi")
        .header("accept-language", "en")
        .body(Body::empty())
        .unwrap();
    assert_eq!(header(&app.send(request).await, "content-language"), "vi");
}

#[tokio::test]
async fn archived_versions_are_served_exactly_as_stored() {
    let app = spawn_app().await;
    let old = app.archive_old_notice().await;
    let response = app.get(&format!("/privacy?version={old}&lang=en")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_text(response).await, "<p>old version</p>");
    let response = app.get(&format!("/privacy?version={old}&format=md")).await;
    assert_eq!(body_text(response).await, "bản cũ");
    let current = &app.version.content_hash;
    let response = app
        .get(&format!("/privacy?version={current}&lang=en"))
        .await;
    assert_eq!(body_text(response).await, expected(Lang::En, Format::Html));
}

#[tokio::test]
async fn an_unknown_version_is_not_found() {
    let app = spawn_app().await;
    let missing = format!("sha256:{}", "0".repeat(64));
    let error = assert_error(
        app.get(&format!("/privacy?version={missing}")).await,
        404,
        "notice_version_not_found",
    )
    .await;
    assert_eq!(error["field"], "version");
}

#[tokio::test]
async fn bad_parameters_name_the_field() {
    let app = spawn_app().await;
    for (uri, field) in [
        ("/privacy?lang=fr", "lang"),
        ("/privacy?lang=", "lang"),
        ("/privacy?format=pdf", "format"),
        ("/privacy?version=latest", "version"),
        ("/privacy?version=sha256:zz", "version"),
    ] {
        let error = assert_error(app.get(uri).await, 400, "invalid_parameter").await;
        assert_eq!(error["field"], field, "{uri}");
    }
    let error = assert_error(
        app.get("/privacy?lang=klingon").await,
        400,
        "invalid_parameter",
    )
    .await;
    // Named by its parameter with the values it accepts, never repeated.
    let message = error["message"].as_str().unwrap();
    assert!(!message.contains("klingon"), "{error}");
    assert!(message.contains("`vi` or `en`"), "{error}");
}
