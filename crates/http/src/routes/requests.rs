//! Data subjects' requests (P1; Decree 356/2025 art. 5): a customer's own under
//! `/v1/account/requests`, staff entering a request made by phone, email or letter under
//! `/v1/customers/{id}/requests`, and the DPO moving them on and watching what is overdue.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::{IntoResponse, Response};
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::ids::RequestId;
use custodian_core::rights::request::{RequestChannel, RequestState};
use custodian_core::vault::{RequestContext, RequestInput, RequestMove, RequestView};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::{Caller, CustomerCaller};
use crate::error::HttpError;
use crate::request::{BodyShape, CustomerPath, JsonBody};
use crate::routes::customers::request_id;

/// A request as asked. The customer's words are personal: `Debug` shows only the kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    kind: String,
    channel: Option<String>,
    #[serde(default)]
    partners_involved: bool,
    details: Option<String>,
}

impl std::fmt::Debug for SubmitBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmitBody")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl BodyShape for SubmitBody {
    const SHAPE: &'static str = "an object `{\"kind\": \"access\"|\"portability\"|\"correction\"|\
        \"deletion\"|\"consent_withdrawal\"|\"restriction\"|\"objection\", \"channel\"?, \
        \"partners_involved\"?, \"details\"?}`";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    to: String,
    reason: Option<String>,
    complete_by: Option<String>,
}

impl BodyShape for MoveBody {
    const SHAPE: &'static str = "an object `{\"to\": \"acknowledged\"|\"verified\"|\"in_progress\"|\
        \"extended\"|\"completed\"|\"rejected\", \"reason\"?, \"complete_by\"?: \"YYYY-MM-DD\"}`";
}

#[derive(Debug, Serialize)]
pub struct Requests {
    requests: Vec<RequestView>,
}

fn context(principal: custodian_core::access::Principal, headers: &HeaderMap) -> RequestContext {
    RequestContext {
        principal,
        purpose: String::new(),
        request_id: request_id(headers),
    }
}

fn invalid(field: &str, message: &str) -> HttpError {
    HttpError(ApiError::new(ErrorCode::InvalidBody, message).with_field(field))
}

fn submitted(view: RequestView) -> Response {
    let status = if view.merged {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    (status, Json(view)).into_response()
}

fn input(body: SubmitBody, default: RequestChannel) -> Result<RequestInput, HttpError> {
    let channel = match body.channel.as_deref() {
        None => default,
        Some(c) => RequestChannel::parse(c).ok_or_else(|| {
            invalid(
                "channel",
                "`channel` is privacy_centre, phone, email or letter",
            )
        })?,
    };
    Ok(RequestInput {
        kind: body.kind,
        channel,
        partners_involved: body.partners_involved,
        details: body.details,
    })
}

/// `POST /v1/account/requests`: the customer asks (201; 200 with `merged` when the same
/// kind of request is already open).
pub async fn own_submit(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SubmitBody>,
) -> Result<Response, HttpError> {
    let ctx = context(customer.session.principal.clone(), &headers);
    let input = input(body, RequestChannel::PrivacyCentre)?;
    let view = state
        .vault
        .submit_request(&ctx, &customer.session.customer, input)
        .await?;
    Ok(submitted(view))
}

/// `GET /v1/account/requests`: the customer's requests, due dates and days left.
pub async fn own_list(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
) -> Result<Json<Requests>, HttpError> {
    let ctx = context(customer.session.principal.clone(), &headers);
    Ok(Json(Requests {
        requests: state
            .vault
            .requests_of(&ctx, &customer.session.customer)
            .await?,
    }))
}

/// `POST /v1/customers/{id}/requests`: staff enter a request made by phone, email or letter.
pub async fn submit_for(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
    JsonBody(body): JsonBody<SubmitBody>,
) -> Result<Response, HttpError> {
    let ctx = context(caller.0, &headers);
    let input = input(body, RequestChannel::Phone)?;
    let view = state.vault.submit_request(&ctx, &id, input).await?;
    Ok(submitted(view))
}

/// `GET /v1/customers/{id}/requests`.
pub async fn list_for(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
) -> Result<Json<Requests>, HttpError> {
    let ctx = context(caller.0, &headers);
    Ok(Json(Requests {
        requests: state.vault.requests_of(&ctx, &id).await?,
    }))
}

/// `POST /v1/requests/{id}/moves` (the DPO).
pub async fn move_to(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<MoveBody>,
) -> Result<Json<RequestView>, HttpError> {
    let id = RequestId::parse(&raw).ok_or_else(|| {
        HttpError(
            ApiError::new(ErrorCode::RequestNotFound, "no request has this id").with_field("id"),
        )
    })?;
    let to = RequestState::parse(&body.to).ok_or_else(|| {
        invalid(
            "to",
            "`to` is acknowledged, verified, in_progress, extended, completed or rejected",
        )
    })?;
    let complete_by = body
        .complete_by
        .as_deref()
        .map(|d| {
            d.parse::<Date>()
                .map_err(|_| invalid("complete_by", "`complete_by` is a date, YYYY-MM-DD"))
        })
        .transpose()?;
    let ctx = context(caller.0, &headers);
    let change = RequestMove {
        to,
        reason: body.reason,
        complete_by,
    };
    Ok(Json(state.vault.move_request(&ctx, &id, change).await?))
}

/// `GET /v1/requests/overdue` (the DPO): open requests past their due date.
pub async fn overdue(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Json<Requests>, HttpError> {
    let ctx = context(caller.0, &headers);
    Ok(Json(Requests {
        requests: state.vault.overdue_requests(&ctx).await?,
    }))
}
