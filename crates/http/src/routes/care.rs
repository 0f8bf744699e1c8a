//! Care sessions (`/v1/care-sessions`): a care agent sees a customer only after the customer
//! reads back a code sent to their contact on file. Customers' own sessions
//! (`/v1/customer-sessions`, `/v1/account/password`): by a code to the email on file or a
//! password, to act on themselves only (P1, P3, P14).
//!
//! Emails, codes and passwords travel in bodies only, never in a URL, a log or an error.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::{IntoResponse, Response};
use custodian_core::care::{Caller as Origin, CareError};
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::ids::{CareSessionId, CustomerId};
use custodian_core::notify::Channel;
use custodian_policy::Lang;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::AppState;
use crate::auth::{Caller, CustomerCaller, care_error};
use crate::error::HttpError;
use crate::request::{BodyShape, JsonBody};
use crate::routes::customers::request_id;
use crate::routes::staff::{ClientAddress, password_work, signed_in_response, with_retry_after};

fn invalid(field: &str, message: &str) -> HttpError {
    HttpError(ApiError::invalid_parameter(field, message))
}

/// A refusal, with `Retry-After` when it is a rate limit.
fn refusal(e: CareError) -> Response {
    let retry = match &e {
        CareError::RateLimited { retry_after } => Some(*retry_after),
        _ => None,
    };
    with_retry_after(care_error(e).into_response(), retry)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    customer: String,
    /// `email` or `phone`: where the code goes.
    channel: String,
    #[serde(default)]
    lang: Option<Lang>,
}

impl BodyShape for OpenBody {
    const SHAPE: &'static str = "an object `{\"customer\": \"cus_…\", \"channel\": \"email\" | \
                                 \"phone\", \"lang\"?: \"vi\" | \"en\"}`";
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    code: Zeroizing<String>,
}

impl std::fmt::Debug for CodeBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeBody(<redacted>)")
    }
}

impl BodyShape for CodeBody {
    const SHAPE: &'static str = "an object `{\"code\": string}`";
}

#[derive(Debug, Serialize)]
pub struct OpenedView {
    id: CareSessionId,
    channel: &'static str,
    code_expires_at: Timestamp,
}

#[derive(Debug, Serialize)]
pub struct ActiveView {
    id: CareSessionId,
    customer: CustomerId,
    active_until: Timestamp,
}

/// `POST /v1/care-sessions` → 201: a code is on its way to the customer's contact on file
/// (which the agent never sees).
pub async fn open(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<OpenBody>,
) -> Result<Response, HttpError> {
    let customer = CustomerId::parse(&body.customer)
        .ok_or_else(|| invalid("customer", "not a customer id (`cus_…`)"))?;
    let channel = Channel::parse(&body.channel)
        .ok_or_else(|| invalid("channel", "the channel is `email` or `phone`"))?;
    let opened = state
        .care
        .open_care_session(
            &caller.0,
            &customer,
            channel,
            body.lang.unwrap_or_default(),
            request_id(&headers),
        )
        .await;
    Ok(match opened {
        Ok(o) => (
            StatusCode::CREATED,
            Json(OpenedView {
                id: o.id,
                channel: o.channel.as_str(),
                code_expires_at: o.code_expires_at,
            }),
        )
            .into_response(),
        Err(e) => refusal(e),
    })
}

fn session_not_found() -> HttpError {
    HttpError(
        ApiError::new(
            ErrorCode::CareSessionNotFound,
            "no care session of yours has this id",
        )
        .with_field("id"),
    )
}

fn session_id(raw: &str) -> Result<CareSessionId, HttpError> {
    CareSessionId::parse(raw).ok_or_else(session_not_found)
}

/// `POST /v1/care-sessions/{id}/verify` `{"code": …}` → 200: the session is active.
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CodeBody>,
) -> Result<Response, HttpError> {
    let id = session_id(&id)?;
    let verified = state
        .care
        .verify_care_session(&caller.0, &id, &body.code, request_id(&headers))
        .await;
    Ok(match verified {
        Ok(a) => Json(ActiveView {
            id: a.id,
            customer: a.customer,
            active_until: a.active_until,
        })
        .into_response(),
        Err(e) => refusal(e),
    })
}

/// `DELETE /v1/care-sessions/{id}` → 204: the agent no longer sees the customer.
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let id = session_id(&id)?;
    Ok(
        match state
            .care
            .close_care_session(&caller.0, &id, request_id(&headers))
            .await
        {
            Ok(true) => StatusCode::NO_CONTENT.into_response(),
            Ok(false) => session_not_found().into_response(),
            Err(e) => refusal(e),
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRequestBody {
    email: String,
    #[serde(default)]
    lang: Option<Lang>,
}

impl std::fmt::Debug for CodeRequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeRequestBody(<redacted>)")
    }
}

impl BodyShape for CodeRequestBody {
    const SHAPE: &'static str = "an object `{\"email\": string, \"lang\"?: \"vi\" | \"en\"}`";
}

/// `POST /v1/customer-sessions/code` → 202, whether or not the email is a customer's: a
/// code goes to it only if it is.
pub async fn request_code(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CodeRequestBody>,
) -> Result<Response, HttpError> {
    let origin = Origin {
        client,
        request_id: request_id(&headers),
    };
    let requested = state
        .care
        .request_customer_code(&body.email, body.lang.unwrap_or_default(), &origin)
        .await;
    Ok(match requested {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => refusal(e),
    })
}

/// Exactly one of `code` and `password`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerSignInBody {
    email: String,
    #[serde(default)]
    code: Option<Zeroizing<String>>,
    #[serde(default)]
    password: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for CustomerSignInBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerSignInBody(<redacted>)")
    }
}

impl BodyShape for CustomerSignInBody {
    const SHAPE: &'static str =
        "an object `{\"email\": string}` with exactly one of `\"code\"` or `\"password\"`";
}

#[derive(Debug, Serialize)]
pub struct CustomerSessionView {
    /// Shown once: only its digest is kept.
    token: String,
    customer: CustomerId,
    expires_at: Timestamp,
}

/// `POST /v1/customer-sessions` → 201 with a session token for the customer.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CustomerSignInBody>,
) -> Result<Response, HttpError> {
    let origin = Origin {
        client,
        request_id: request_id(&headers),
    };
    let care = state.care.clone();
    let outcome = match (body.code, body.password) {
        (Some(code), None) => {
            care.sign_in_customer_with_code(&body.email, &code, &origin)
                .await
        }
        (None, Some(password)) => {
            password_work(&state, async move {
                care.sign_in_customer_with_password(&body.email, &password, &origin)
                    .await
            })
            .await?
        }
        _ => {
            return Err(HttpError(ApiError::new(
                ErrorCode::InvalidBody,
                format!("the request body must be {}", CustomerSignInBody::SHAPE),
            )));
        }
    };
    signed_in_response(outcome.map(|signed_in| CustomerSessionView {
        token: signed_in.token.expose().to_owned(),
        customer: signed_in.customer,
        expires_at: signed_in.expires_at,
    }))
}

/// `DELETE /v1/customer-sessions/current` → 204.
pub async fn sign_out(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
) -> Result<StatusCode, HttpError> {
    state
        .care
        .sign_out_customer(&customer.token, request_id(&headers))
        .await
        .map_err(care_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPasswordBody {
    password: Zeroizing<String>,
}

impl std::fmt::Debug for NewPasswordBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPasswordBody(<redacted>)")
    }
}

impl BodyShape for NewPasswordBody {
    const SHAPE: &'static str = "an object `{\"password\": string}`";
}

/// `POST /v1/account/password` → 204: the signed-in customer sets a password.
pub async fn set_password(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<NewPasswordBody>,
) -> Result<StatusCode, HttpError> {
    let care = state.care.clone();
    let principal = customer.session.principal;
    let id = request_id(&headers);
    password_work(&state, async move {
        care.set_customer_password(&principal, &body.password, id)
            .await
    })
    .await?
    .map_err(care_error)?;
    Ok(StatusCode::NO_CONTENT)
}
