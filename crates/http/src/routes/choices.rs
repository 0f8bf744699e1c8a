//! `GET /v1/choices`: for a form the storefront shows, the fields it may ask, which each
//! purpose requires, and what declining an optional field or a consent costs (P12). Public and
//! cacheable: everything is derived from the policy the service runs on, nothing from a store.

use axum::extract::{Query, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_LANGUAGE, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use custodian_core::error::{ApiError, ErrorCode, one_of};
use custodian_policy::choices::purposes_for;
use custodian_policy::{Lang, NoticeVersion, Policy, Purpose, PurposeChoices, Subject};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::HttpError;
use crate::negotiate::request_lang;

/// How long a browser or a CDN may reuse an answer; a new policy takes at most this long to
/// reach the storefront (and the notice hash in the `ETag` tells the change at once).
const CACHE_CONTROL_VALUE: &str = "public, max-age=300";

#[derive(Debug, Deserialize)]
pub struct ChoicesQuery {
    purposes: Option<String>,
    subject: Option<String>,
    lang: Option<String>,
}

#[derive(Debug, Serialize)]
struct Choices<'a> {
    lang: Lang,
    notice: NoticeRef<'a>,
    gpc: Gpc<'a>,
    purposes: Vec<PurposeChoices<'a>>,
}

#[derive(Debug, Serialize)]
struct NoticeRef<'a> {
    version: &'a str,
    content_hash: &'a str,
    url: String,
}

#[derive(Debug, Serialize)]
struct Gpc<'a> {
    /// A Global Privacy Control signal is honoured as a refusal of every purpose whose
    /// `consent.refused_by_gpc` is true.
    honoured: bool,
    text: &'a str,
}

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<ChoicesQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let lang = request_lang(query.lang.as_deref(), &headers)?;
    let selected = select(
        &state.policy,
        query.purposes.as_deref(),
        query.subject.as_deref(),
    )?;
    let body = serde_json::to_vec(&choices(
        &state.policy,
        &state.notice_version,
        &selected,
        lang,
    ))
    .map_err(|_| HttpError(ApiError::internal()))?;
    // The body is a function of the policy, the language and the selection: its digest is a
    // strong validator.
    let etag = format!("\"{}\"", hex_prefix(&Sha256::digest(&body)));
    let cache = [
        (CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE)),
        (VARY, HeaderValue::from_static("Accept-Language")),
        (CONTENT_LANGUAGE, HeaderValue::from_static(lang.tag())),
        (
            ETAG,
            HeaderValue::from_str(&etag).map_err(|_| HttpError(ApiError::internal()))?,
        ),
    ];
    if not_modified(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((
        cache,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response())
}

/// The purposes asked for: those named in `purposes` (each must be declared; duplicates and
/// empty items are ignored), or those about `subject`, or every one. Always in the policy's
/// order.
fn select<'a>(
    policy: &'a Policy,
    purposes: Option<&str>,
    subject: Option<&str>,
) -> Result<Vec<&'a Purpose>, HttpError> {
    match (purposes, subject) {
        (Some(_), Some(_)) => Err(ApiError::invalid_parameter(
            "subject",
            "give either `purposes` or `subject`, not both",
        )
        .into()),
        (Some(list), None) => {
            let named: Vec<&str> = list.split(',').filter(|id| !id.is_empty()).collect();
            if named.is_empty() {
                return Err(ApiError::invalid_parameter(
                    "purposes",
                    "`purposes` lists no purpose (expected comma-separated purpose ids)",
                )
                .into());
            }
            if named.iter().any(|id| policy.purpose_named(id).is_none()) {
                return Err(ApiError::new(
                    ErrorCode::UnknownPurpose,
                    format!(
                        "`purposes` names a purpose the policy does not declare (declared: {})",
                        one_of(policy.purposes.iter().map(|p| p.id.as_str()))
                    ),
                )
                .with_field("purposes")
                .into());
            }
            Ok(policy
                .purposes
                .iter()
                .filter(|p| named.contains(&p.id.as_str()))
                .collect())
        }
        (None, Some(name)) => match Subject::parse(name) {
            Some(subject) => Ok(purposes_for(policy, subject).collect()),
            None => Err(ApiError::invalid_parameter(
                "subject",
                "`subject` must be `customers`, `guests`, `callers` or `visitors`",
            )
            .into()),
        },
        (None, None) => Ok(policy.purposes.iter().collect()),
    }
}

/// The whole answer, a pure function of its arguments.
fn choices<'a>(
    policy: &'a Policy,
    version: &'a NoticeVersion,
    purposes: &[&'a Purpose],
    lang: Lang,
) -> Choices<'a> {
    Choices {
        lang,
        notice: NoticeRef {
            version: &version.version,
            content_hash: &version.content_hash,
            url: format!("/privacy?lang={}", lang.tag()),
        },
        gpc: Gpc {
            honoured: true,
            text: policy.notice.texts.global_privacy_control.get(lang),
        },
        purposes: purposes
            .iter()
            .map(|purpose| PurposeChoices::of(policy, purpose, lang))
            .collect(),
    }
}

/// Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 §13.1.2) or is `*`.
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn hex_prefix(digest: &[u8]) -> String {
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use custodian_policy::{DEFAULT_POLICY, parse};

    fn ids(purposes: &[&Purpose]) -> Vec<String> {
        purposes.iter().map(|p| p.id.to_string()).collect()
    }

    #[test]
    fn selection_keeps_the_policys_order_once() {
        let policy = parse(DEFAULT_POLICY).unwrap();
        let picked = select(&policy, Some("analytics,marketing,analytics,"), None).unwrap();
        assert_eq!(ids(&picked), ["marketing", "analytics"]);
        let all = select(&policy, None, None).unwrap();
        assert_eq!(all.len(), policy.purposes.len());
        assert!(select(&policy, Some(","), None).is_err());
        assert!(select(&policy, Some("analytics"), Some("visitors")).is_err());
    }

    #[test]
    fn an_unknown_purpose_or_subject_is_named_by_its_parameter_never_echoed() {
        let policy = parse(DEFAULT_POLICY).unwrap();
        for (purposes, subject) in [(Some("marketing,zqcanary"), None), (None, Some("zqcanary"))] {
            let error = select(&policy, purposes, subject).unwrap_err().0;
            assert!(!error.message.contains("zqcanary"), "{}", error.message);
        }
    }

    #[test]
    fn if_none_match_compares_weakly_and_in_lists() {
        let mut headers = HeaderMap::new();
        headers.insert(IF_NONE_MATCH, HeaderValue::from_static("\"a\", W/\"b\""));
        assert!(not_modified(&headers, "\"b\""));
        assert!(not_modified(&headers, "\"a\""));
        assert!(!not_modified(&headers, "\"c\""));
        headers.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&headers, "\"c\""));
        assert!(!not_modified(&HeaderMap::new(), "\"c\""));
    }
}
