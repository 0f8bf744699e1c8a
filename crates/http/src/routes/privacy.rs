//! The public privacy notice, current or archived.

use axum::extract::{Query, State};
use axum::http::header::{CONTENT_LANGUAGE, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use custodian_core::error::{ApiError, ErrorCode};
use custodian_policy::notice::Format;
use serde::Deserialize;

use crate::AppState;
use crate::error::HttpError;
use crate::negotiate::request_lang;

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    lang: Option<String>,
    format: Option<String>,
    version: Option<String>,
}

pub async fn notice(
    State(state): State<AppState>,
    Query(query): Query<NoticeQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let lang = request_lang(query.lang.as_deref(), &headers)?;
    let format = match query.format.as_deref() {
        None | Some("html") => Format::Html,
        Some("md") => Format::Markdown,
        Some(_) => {
            return Err(
                ApiError::invalid_parameter("format", "`format` must be `html` or `md`").into(),
            );
        }
    };
    let body = match query.version.as_deref() {
        None => state.notices.get(lang, format).to_owned(),
        Some(hash) => archived(&state, hash).await?.get(lang, format).to_owned(),
    };
    let content_type = match format {
        Format::Html => "text/html; charset=utf-8",
        Format::Markdown => "text/markdown; charset=utf-8",
    };
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CONTENT_LANGUAGE, HeaderValue::from_static(lang.tag())),
            (VARY, HeaderValue::from_static("Accept-Language")),
        ],
        body,
    )
        .into_response())
}

async fn archived(
    state: &AppState,
    hash: &str,
) -> Result<custodian_core::notice::RenderedNotice, HttpError> {
    let well_formed = hash
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if !well_formed {
        return Err(ApiError::invalid_parameter(
            "version",
            "a notice version is `sha256:` followed by 64 hex digits",
        )
        .into());
    }
    let found = state.archive.get(hash).await.map_err(|e| {
        tracing::error!(error = %e, "reading an archived notice failed");
        HttpError(ApiError::unavailable())
    })?;
    match found {
        Some(notice) => Ok(notice.rendered),
        None => Err(ApiError::new(
            ErrorCode::NoticeVersionNotFound,
            "`version` is not the content hash of a published notice (see /v1/policy/versions)",
        )
        .with_field("version")
        .into()),
    }
}
