//! Extractors for what the customers API reads from a request: the purpose, a customer id
//! in the path, and a JSON body. Their errors never echo what the client sent: a purpose,
//! an id or a body could carry personal data.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::ids::CustomerId;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::HttpError;

const PURPOSE_HEADER: &str = "custodian-purpose";

/// The purpose a request names: `?purpose=<id>`, else the `Custodian-Purpose` header. Never
/// the path, so that it does not become part of the route. Checked against the policy by
/// the vault.
#[derive(Debug, Clone)]
pub struct Purpose(pub String);

#[derive(Deserialize)]
struct PurposeQuery {
    purpose: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Purpose {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Purpose, HttpError> {
        let from_query = Query::<PurposeQuery>::try_from_uri(&parts.uri)
            .map_err(|_| unknown_purpose("the query string is malformed"))?
            .0
            .purpose;
        let purpose = match from_query {
            Some(p) => Some(p),
            None => match parts.headers.get(PURPOSE_HEADER) {
                Some(v) => Some(v.to_str().map(str::to_owned).map_err(|_| {
                    unknown_purpose("the `Custodian-Purpose` header is not a purpose id")
                })?),
                None => None,
            },
        };
        match purpose {
            Some(p) if !p.trim().is_empty() => Ok(Purpose(p.trim().to_owned())),
            _ => Err(unknown_purpose(
                "a purpose is required: `?purpose=<id>` or the `Custodian-Purpose` header",
            )),
        }
    }
}

fn unknown_purpose(message: &str) -> HttpError {
    HttpError(ApiError::new(ErrorCode::UnknownPurpose, message).with_field("purpose"))
}

/// A customer id from the path. A malformed one is answered like an unknown one, without
/// repeating it.
#[derive(Debug, Clone)]
pub struct CustomerPath(pub CustomerId);

impl<S: Send + Sync> FromRequestParts<S> for CustomerPath {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<CustomerPath, HttpError> {
        let not_found = || {
            HttpError(
                ApiError::new(ErrorCode::CustomerNotFound, "no customer has this id")
                    .with_field("id"),
            )
        };
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        CustomerId::parse(&raw)
            .map(CustomerPath)
            .ok_or_else(not_found)
    }
}

/// A JSON body of type `T`. A body that is not JSON, or not of the expected shape, is
/// answered 400 `invalid_body` with a message that describes the expected shape and the
/// position of a syntax error, never the content (serde's own messages quote values).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// What each body type is described as in `invalid_body` messages.
pub trait BodyShape {
    const SHAPE: &'static str;
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned + BodyShape,
{
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<JsonBody<T>, HttpError> {
        let json_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| {
                let essence = v.split(';').next().unwrap_or("").trim();
                essence.eq_ignore_ascii_case("application/json")
            });
        if !json_type {
            return Err(HttpError(ApiError::for_status(415)));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| HttpError(ApiError::for_status(e.status().as_u16())))?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            let message = if e.is_data() {
                format!("the request body must be {}", T::SHAPE)
            } else {
                format!(
                    "the request body is not valid JSON (line {}, column {}); it must be {}",
                    e.line(),
                    e.column(),
                    T::SHAPE
                )
            };
            HttpError(ApiError::new(ErrorCode::InvalidBody, message))
        })
    }
}

/// Whether the request carries the Global Privacy Control signal: a `Sec-GPC` value of
/// exactly `1` (the GPC specification). Every line of the header is read, each as an HTTP list
/// (lines joined by commas are the same field): a `1` anywhere is the signal, so two lines
/// `0` and `1` count as `1` whichever comes first. Anything else (`true`, `yes`) is no signal.
pub(crate) fn gpc_signal(headers: &axum::http::HeaderMap) -> bool {
    headers.get_all("sec-gpc").iter().any(|line| {
        line.as_bytes()
            .split(|b| *b == b',')
            .any(|item| item.trim_ascii() == b"1")
    })
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::gpc_signal;

    fn lines(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("sec-gpc", HeaderValue::from_static(v));
        }
        headers
    }

    #[test]
    fn gpc_is_a_one_on_any_line_of_the_header() {
        assert!(gpc_signal(&lines(&["1"])));
        assert!(gpc_signal(&lines(&["0", "1"])), "a 0 first does not win");
        assert!(gpc_signal(&lines(&["1", "0"])));
        assert!(
            gpc_signal(&lines(&["0, 1"])),
            "the same two values on one line"
        );
        assert!(!gpc_signal(&lines(&[])));
        assert!(!gpc_signal(&lines(&["0"])));
        assert!(!gpc_signal(&lines(&["0", "0"])));
        assert!(!gpc_signal(&lines(&["true", "yes", "11", "1.0"])));
    }
}
