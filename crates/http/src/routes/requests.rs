//! Data subjects' requests (P1; Decree 356/2025 art. 5): a customer's own under
//! `/v1/account/requests`, staff entering a request made by phone, email or letter under
//! `/v1/customers/{id}/requests`, and the DPO moving them on and watching what is overdue.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::{IntoResponse, Response};
use custodian_core::care::RequestCodeSent;
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::ids::RequestId;
use custodian_core::rights::request::{LimitKind, ProcessingLimit, RequestChannel, RequestState};
use custodian_core::vault::{Fulfilment, RequestContext, RequestInput, RequestMove, RequestView};
use custodian_policy::Lang;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::{Caller, CustomerCaller, care_error};
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
    #[serde(default)]
    purposes: Vec<String>,
    /// The language of the code sent to verify a customer's own request.
    lang: Option<Lang>,
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
        \"partners_involved\"?, \"details\"?, \"purposes\"?: [purpose], \"lang\"?}`";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    lang: Option<Lang>,
}

impl BodyShape for CodeBody {
    const SHAPE: &'static str = "an object `{\"lang\"?: \"vi\" | \"en\"}`";
}

/// The code read back. `Debug` does not show it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    code: String,
}

impl std::fmt::Debug for VerifyBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyBody").finish_non_exhaustive()
    }
}

impl BodyShape for VerifyBody {
    const SHAPE: &'static str = "an object `{\"code\": \"123456\"}`";
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

/// A customer's own request as submitted, and the code sent to verify it.
#[derive(Debug, Serialize)]
pub struct Submitted {
    #[serde(flatten)]
    request: RequestView,
    /// Where the code that verifies the request went (`email`), when one was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<RequestCodeSent>,
    /// Why no code went out (`{code, message}`), when none did.
    #[serde(skip_serializing_if = "Option::is_none")]
    verification_error: Option<ApiError>,
}

#[derive(Debug, Serialize)]
pub struct Limits {
    limits: Vec<ProcessingLimit>,
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

/// 201 for a new request, 200 when it was merged into the open one of its kind.
fn submitted(merged: bool, body: impl Serialize) -> Response {
    let status = if merged {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    (status, Json(body)).into_response()
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
        purposes: body.purposes,
    })
}

/// `POST /v1/account/requests`: the customer asks (201; 200 with `merged` when the same
/// kind of request is already open). The request is acknowledged at once and a code to verify
/// it goes to the email on file (`verification`); `POST …/{id}/verify` with that code carries
/// it out.
pub async fn own_submit(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SubmitBody>,
) -> Result<Response, HttpError> {
    let ctx = context(customer.session.principal.clone(), &headers);
    let lang = body.lang.unwrap_or_default();
    let input = input(body, RequestChannel::PrivacyCentre)?;
    let view = state
        .vault
        .submit_request(&ctx, &customer.session.customer, input)
        .await?;
    // The request stands whether or not its code could go out (no email on file, no relay):
    // the customer is told which, and may ask for a code again.
    let (verification, verification_error) = if view.state == RequestState::Acknowledged {
        match state.care.send_request_code(&ctx, &view.id, lang).await {
            Ok(sent) => (Some(sent), None),
            Err(e) => (None, Some(care_error(e).0)),
        }
    } else {
        (None, None)
    };
    Ok(submitted(
        view.merged,
        Submitted {
            request: view,
            verification,
            verification_error,
        },
    ))
}

fn request_path(raw: &str) -> Result<RequestId, HttpError> {
    RequestId::parse(raw).ok_or_else(|| {
        HttpError(
            ApiError::new(ErrorCode::RequestNotFound, "no request has this id").with_field("id"),
        )
    })
}

/// `POST /v1/account/requests/{id}/code` (the customer) and `POST /v1/requests/{id}/code` (the
/// DPO, for a request made by email or letter): sends a new code to the email on file.
pub async fn send_code(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<CodeBody>,
) -> Result<Json<RequestCodeSent>, HttpError> {
    let id = request_path(&raw)?;
    let ctx = context(caller.0, &headers);
    Ok(Json(
        state
            .care
            .send_request_code(&ctx, &id, body.lang.unwrap_or_default())
            .await
            .map_err(care_error)?,
    ))
}

/// What a fulfilled request did, as JSON: an access or portability request's download link
/// (`export.url`, for the customer to open signed in: its token is shown this once), a
/// deletion's report, the limits applied, the consents withdrawn.
pub fn fulfilment_json(fulfilment: &Fulfilment) -> serde_json::Value {
    let mut body = serde_json::to_value(fulfilment).unwrap_or_default();
    if let (Some(link), Some(map)) = (&fulfilment.export, body.as_object_mut()) {
        map.insert(
            "export".to_owned(),
            serde_json::json!({
                "url": super::exports::download_path(&link.token),
                "expires_at": link.expires_at,
            }),
        );
    }
    body
}

/// `POST /v1/account/requests/{id}/verify` and `POST /v1/requests/{id}/verify`: the code read
/// back. The customer's own request is then carried out at once (all but a correction).
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<Json<serde_json::Value>, HttpError> {
    let id = request_path(&raw)?;
    let ctx = context(caller.0, &headers);
    let verified = state
        .care
        .verify_request_code(&ctx, &id, &body.code)
        .await
        .map_err(care_error)?;
    Ok(Json(serde_json::json!({
        "request": verified.request,
        "fulfilment": verified.fulfilment.as_ref().map(fulfilment_json),
    })))
}

/// `POST /v1/requests/{id}/fulfil` (the DPO): carries out a verified request and completes it.
pub async fn fulfil(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Json<serde_json::Value>, HttpError> {
    let id = request_path(&raw)?;
    let ctx = context(caller.0, &headers);
    let fulfilment = state.vault.fulfil_request(&ctx, &id).await?;
    Ok(Json(fulfilment_json(&fulfilment)))
}

/// `GET /v1/account/limits`: the customer's restriction and objections in force.
pub async fn own_limits(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
) -> Result<Json<Limits>, HttpError> {
    let ctx = context(customer.session.principal.clone(), &headers);
    Ok(Json(Limits {
        limits: state
            .vault
            .limits_of(&ctx, &customer.session.customer)
            .await?,
    }))
}

/// `GET /v1/customers/{id}/limits`.
pub async fn limits_for(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
) -> Result<Json<Limits>, HttpError> {
    let ctx = context(caller.0, &headers);
    Ok(Json(Limits {
        limits: state.vault.limits_of(&ctx, &id).await?,
    }))
}

/// The limit a path names: `restriction`, or `objections/{purpose}`.
fn limit_kind(kind: &str, purpose: Option<String>) -> Result<LimitKind, HttpError> {
    match (kind, purpose) {
        ("restriction", None) => Ok(LimitKind::Restriction),
        ("objections", Some(p)) => Ok(LimitKind::Objection(p)),
        _ => Err(HttpError(
            ApiError::new(ErrorCode::LimitNotFound, "no such limit").with_field("kind"),
        )),
    }
}

/// `DELETE /v1/account/limits/restriction` and `…/limits/objections/{purpose}`: the customer
/// lifts their own limit (204).
pub async fn own_lift(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
    Path(path): Path<LimitPath>,
) -> Result<StatusCode, HttpError> {
    let ctx = context(customer.session.principal.clone(), &headers);
    let kind = limit_kind(&path.kind, path.purpose)?;
    state
        .vault
        .lift_limit(&ctx, &customer.session.customer, &kind)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/customers/{id}/limits/restriction` and `…/objections/{purpose}` (the DPO).
pub async fn lift_for(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(path): Path<CustomerLimitPath>,
) -> Result<StatusCode, HttpError> {
    let id = custodian_core::ids::CustomerId::parse(&path.id).ok_or_else(|| {
        HttpError(
            ApiError::new(ErrorCode::CustomerNotFound, "no customer has this id").with_field("id"),
        )
    })?;
    let ctx = context(caller.0, &headers);
    let kind = limit_kind(&path.kind, path.purpose)?;
    state.vault.lift_limit(&ctx, &id, &kind).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct LimitPath {
    kind: String,
    purpose: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CustomerLimitPath {
    id: String,
    kind: String,
    purpose: Option<String>,
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
    Ok(submitted(view.merged, view))
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
    let id = request_path(&raw)?;
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
