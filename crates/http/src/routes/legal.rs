//! `/v1/legal-requests` (P16): the DPO records an authority's request, a second administrator
//! approves it, the DPO produces the release (a download for the authority) and, when the
//! law allows, lifts the silence so the customers see it in their ledger.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, HeaderMap};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::ids::{CustomerId, LegalRequestId};
use custodian_core::legal::LegalRequest;
use custodian_core::vault::{LegalRequestInput, RequestContext};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::Caller;
use crate::error::HttpError;
use crate::request::{BodyShape, JsonBody};
use crate::routes::customers::request_id;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    authority: String,
    reference: String,
    customers: Vec<String>,
    categories: Vec<String>,
    period_from: Option<String>,
    period_to: Option<String>,
    notify: bool,
    silence_until: Option<String>,
}

impl BodyShape for RequestBody {
    const SHAPE: &'static str = "an object `{\"authority\", \"reference\", \"customers\": [\"cus_…\"], \
        \"categories\": [\"…\"], \"period_from\"?, \"period_to\"?, \"notify\": true|false, \
        \"silence_until\"?: \"<RFC 3339>\"}`";
}

#[derive(Debug, Serialize)]
pub struct Requests {
    requests: Vec<LegalRequest>,
}

fn context(caller: Caller, headers: &HeaderMap) -> RequestContext {
    RequestContext {
        principal: caller.0,
        purpose: "legal_obligation".to_owned(),
        request_id: request_id(headers),
    }
}

fn request_id_of(raw: &str) -> Result<LegalRequestId, HttpError> {
    LegalRequestId::parse(raw).ok_or_else(|| {
        HttpError(
            ApiError::new(
                ErrorCode::LegalRequestNotFound,
                "no legal request has this id",
            )
            .with_field("id"),
        )
    })
}

fn invalid(field: &str, message: &str) -> HttpError {
    HttpError(ApiError::new(ErrorCode::InvalidBody, message).with_field(field))
}

/// `POST /v1/legal-requests` (DPO: `legal.record`) → 201, the request as recorded.
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RequestBody>,
) -> Result<Response, HttpError> {
    let customers = body
        .customers
        .iter()
        .map(|c| CustomerId::parse(c))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| invalid("customers", "`customers` are customer ids (`cus_…`)"))?;
    let time = |value: Option<&str>, field: &str| -> Result<Option<Timestamp>, HttpError> {
        value
            .map(|t| {
                t.parse::<Timestamp>()
                    .map_err(|_| invalid(field, &format!("`{field}` is an RFC 3339 time")))
            })
            .transpose()
    };
    let silence_until = time(body.silence_until.as_deref(), "silence_until")?;
    let period_from = time(body.period_from.as_deref(), "period_from")?;
    let period_to = time(body.period_to.as_deref(), "period_to")?;
    let ctx = context(caller, &headers);
    let input = LegalRequestInput {
        authority: body.authority,
        reference: body.reference,
        customers,
        categories: body.categories,
        period_from,
        period_to,
        notify: body.notify,
        silence_until,
    };
    let request = state.vault.record_legal_request(&ctx, input).await?;
    Ok((StatusCode::CREATED, Json(request)).into_response())
}

/// `GET /v1/legal-requests` (DPO and administrators).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Json<Requests>, HttpError> {
    let ctx = context(caller, &headers);
    Ok(Json(Requests {
        requests: state.vault.legal_requests(&ctx).await?,
    }))
}

/// `POST /v1/legal-requests/{id}/approve` (a second administrator: `legal.approve`).
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Json<LegalRequest>, HttpError> {
    let id = request_id_of(&raw)?;
    let ctx = context(caller, &headers);
    Ok(Json(state.vault.approve_legal_request(&ctx, &id).await?))
}

/// `POST /v1/legal-requests/{id}/release` (DPO) → the release, as a download.
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Response, HttpError> {
    let id = request_id_of(&raw)?;
    let ctx = context(caller, &headers);
    let document = state.vault.release_legal_request(&ctx, &id).await?;
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"legal-release-{id}.json\""))
            .map_err(|_| HttpError(ApiError::internal()))?;
    Ok(([(CONTENT_DISPOSITION, disposition)], Json(document)).into_response())
}

/// `POST /v1/legal-requests/{id}/lift-silence` (DPO): the customers may now be told.
pub async fn lift_silence(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<StatusCode, HttpError> {
    let id = request_id_of(&raw)?;
    let ctx = context(caller, &headers);
    state.vault.lift_legal_silence(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
