//! `/v1/customers`: create, read, correct, look up, history and erasure (P1, P2, P3, P5, P17).
//!
//! Every handler authenticates the caller, takes the purpose from the query or a header,
//! and hands the rest to the vault, which decides, audits and encrypts. Personal data
//! travels in bodies only: lookups are POSTs so that an email never sits in a URL.

use axum::Json;
use axum::extract::State;
use axum::http::header::{HeaderMap, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::ids::CustomerId;
use custodian_core::rights::erasure::ErasureReport;
use custodian_core::vault::{CustomerView, HistoryView, Lookup, RequestContext};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::AppState;
use crate::auth::Caller;
use crate::error::HttpError;
use crate::request::{BodyShape, CustomerPath, JsonBody, Purpose};

/// `{"fields": {"category.field": value, ...}}`, for creation and correction. Holds personal
/// values: its `Debug` names the fields only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldsBody {
    fields: Map<String, Value>,
}

impl std::fmt::Debug for FieldsBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldsBody")
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl BodyShape for FieldsBody {
    const SHAPE: &'static str = "an object `{\"fields\": {\"<category>.<field>\": <value>}}`";
}

/// `{"email": "..."}` or `{"phone": "..."}`. Its `Debug` never shows the value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupBody {
    email: Option<String>,
    phone: Option<String>,
}

impl std::fmt::Debug for LookupBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LookupBody(<redacted>)")
    }
}

impl BodyShape for LookupBody {
    const SHAPE: &'static str = "an object with exactly one of `email` or `phone`, a string";
}

#[derive(Debug, Serialize)]
pub struct Created {
    id: CustomerId,
}

#[derive(Debug, Serialize)]
pub struct History {
    entries: Vec<HistoryView>,
}

#[derive(Debug, Serialize)]
pub struct Found {
    customers: Vec<CustomerId>,
}

/// The request id the layers set (a client's safe one, or a fresh one).
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Who asks, why, and the request it belongs to.
pub(crate) fn context(caller: Caller, purpose: Purpose, headers: &HeaderMap) -> RequestContext {
    RequestContext {
        principal: caller.0,
        purpose: purpose.0,
        request_id: request_id(headers),
    }
}

/// `POST /v1/customers` → 201 `{"id": "cus_..."}`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    purpose: Purpose,
    headers: HeaderMap,
    JsonBody(body): JsonBody<FieldsBody>,
) -> Result<Response, HttpError> {
    let ctx = context(caller, purpose, &headers);
    let id = state.vault.create(&ctx, &body.fields).await?;
    let location = HeaderValue::from_str(&format!("/v1/customers/{id}"))
        .map_err(|_| HttpError(ApiError::internal()))?;
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        Json(Created { id }),
    )
        .into_response())
}

/// `GET /v1/customers/{id}` → what the purpose may see, field by field.
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    purpose: Purpose,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
) -> Result<Json<CustomerView>, HttpError> {
    let ctx = context(caller, purpose, &headers);
    Ok(Json(state.vault.read(&ctx, &id).await?))
}

/// `PATCH /v1/customers/{id}` → 204; replaced values go to the customer's history.
pub async fn correct(
    State(state): State<AppState>,
    caller: Caller,
    purpose: Purpose,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
    JsonBody(body): JsonBody<FieldsBody>,
) -> Result<StatusCode, HttpError> {
    let ctx = context(caller, purpose, &headers);
    state.vault.correct(&ctx, &id, &body.fields).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/customers/{id}/history` → earlier values, under the same decisions as a read.
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    purpose: Purpose,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
) -> Result<Json<History>, HttpError> {
    let ctx = context(caller, purpose, &headers);
    let entries = state.vault.history(&ctx, &id).await?;
    Ok(Json(History { entries }))
}

/// `POST /v1/customers/lookup` → the ids of customers with exactly this email or phone.
pub async fn lookup(
    State(state): State<AppState>,
    caller: Caller,
    purpose: Purpose,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LookupBody>,
) -> Result<Json<Found>, HttpError> {
    let by = match (body.email, body.phone) {
        (Some(email), None) => Lookup::Email(email),
        (None, Some(phone)) => Lookup::Phone(phone),
        _ => {
            return Err(HttpError(ApiError::new(
                ErrorCode::InvalidBody,
                format!("the request body must be {}", LookupBody::SHAPE),
            )));
        }
    };
    let ctx = context(caller, purpose, &headers);
    let customers = state.vault.lookup(&ctx, &by).await?;
    Ok(Json(Found { customers }))
}

/// `DELETE /v1/customers/{id}` → 200 with the completion report; the customer's key is
/// destroyed (crypto-shredding), what the law requires kept under a legal-hold key, partners
/// told to erase.
pub async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    purpose: Purpose,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
) -> Result<Json<ErasureReport>, HttpError> {
    let ctx = context(caller, purpose, &headers);
    Ok(Json(state.vault.erase(&ctx, &id).await?))
}
