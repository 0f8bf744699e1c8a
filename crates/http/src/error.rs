//! Turning the core's [`ApiError`] into a response, and giving every bare error status
//! produced by a layer the same JSON body.

use axum::BoxError;
use axum::Json;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use custodian_core::error::ApiError;
use custodian_core::identity::IdentityError;
use custodian_core::vault::VaultError;
use serde::Serialize;

/// An [`ApiError`] on its way out. (A local newtype: `IntoResponse` cannot be implemented
/// for the core's type here.)
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> HttpError {
        HttpError(e)
    }
}

/// A vault failure as the API reports it. Store and crypto failures are logged by kind only
/// (their messages name ids and versions, never values) and answered without detail.
impl From<VaultError> for HttpError {
    fn from(e: VaultError) -> HttpError {
        match e {
            VaultError::Rejected(api) => HttpError(api),
            VaultError::Store(e) => {
                tracing::error!(error = %e, "the vault's storage failed");
                HttpError(ApiError::unavailable())
            }
            VaultError::Crypto(e) => {
                tracing::error!(error = %e, "a vault cryptographic operation failed");
                HttpError(ApiError::internal())
            }
        }
    }
}

/// An identity failure as the API reports it, like a vault failure.
impl From<IdentityError> for HttpError {
    fn from(e: IdentityError) -> HttpError {
        match e {
            IdentityError::Rejected(api) => HttpError(api),
            IdentityError::Store(e) => {
                tracing::error!(error = %e, "the identity storage failed");
                HttpError(ApiError::unavailable())
            }
            IdentityError::Crypto(e) => {
                tracing::error!(error = %e, "an identity cryptographic operation failed");
                HttpError(ApiError::internal())
            }
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: &'a ApiError,
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(Envelope { error: &self.0 })).into_response()
    }
}

/// Replaces the body of any error response that is not already JSON (a 405 from the router,
/// a 413 from the body limit, a timeout) with the error table's body, keeping other headers
/// such as `Allow`.
pub async fn json_error_bodies<B>(response: Response<B>) -> Response
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    // The privacy centre's pages answer errors with an HTML page of their own.
    let is_html = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_json || is_html {
        return response.map(Body::new);
    }
    let (mut parts, _) = response.into_parts();
    let error = ApiError::for_status(status.as_u16());
    let json = serde_json::to_vec(&Envelope { error: &error }).unwrap_or_default();
    parts.status = StatusCode::from_u16(error.code.http_status()).unwrap_or(status);
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(json))
}

/// The response to a panic in a handler. The panic's message is not logged: it could
/// hold anything, including personal data.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    HttpError(ApiError::internal()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_layer_timeout_becomes_the_timeout_code() {
        let bare = Response::builder().status(408).body(Body::empty()).unwrap();
        let response = json_error_bodies(bare).await;
        assert_eq!(response.status(), 503);
        assert_eq!(body_of(response).await["error"]["code"], "timeout");
    }

    #[tokio::test]
    async fn a_panic_becomes_an_internal_error_without_its_message() {
        let response = panic_response(Box::new("customer jane@example.com"));
        assert_eq!(response.status(), 500);
        let body = body_of(response).await;
        assert_eq!(body["error"]["code"], "internal");
        assert!(!body.to_string().contains("jane"));
    }

    #[tokio::test]
    async fn successful_and_json_responses_pass_untouched() {
        let ok = Response::builder()
            .status(200)
            .body(Body::from("hello"))
            .unwrap();
        let response = json_error_bodies(ok).await;
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(&bytes[..], b"hello");
    }
}
