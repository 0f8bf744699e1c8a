//! Consents (P2, P12; Law 91/2025 art. 9–10, Decree 356/2025 art. 6): a customer's own under
//! `/v1/account/consents`, and on a customer's behalf (a recorded call, a letter, the
//! storefront's back end) under `/v1/customers/{id}/consents`.
//!
//! Evidence is taken from where it is true: for a customer's own session, the request's
//! `User-Agent`, address and `Sec-GPC`; for an integration relaying a browser's choice, the
//! `client` object it forwards; for staff, none (their browser is not the customer's).

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_DISPOSITION, HeaderMap, USER_AGENT};
use axum::response::{IntoResponse, Response};
use custodian_core::access::Principal;
use custodian_core::consent::{
    Collection, CollectionChannel, ConsentChange, ConsentState, Evidence, GivenBy,
};
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::ids::{ConsentId, CustomerId};
use custodian_core::vault::{
    ConsentEntryView, ConsentView, RecordedConsent, RequestContext, ShownNotice,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppState;
use crate::auth::{Caller, CustomerCaller};
use crate::error::HttpError;
use crate::negotiate::request_lang;
use crate::request::{BodyShape, CustomerPath, JsonBody};
use crate::routes::customers::request_id;
use crate::routes::staff::ClientAddress;

/// One choice: a purpose, granted or denied, with the options agreed to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceBody {
    purpose: String,
    state: String,
    #[serde(default)]
    options: serde_json::Map<String, Value>,
}

/// The browser a relayed choice was made in, as the storefront's back end saw it. Personal
/// data: its `Debug` shows nothing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    user_agent: Option<String>,
    ip: Option<String>,
}

impl std::fmt::Debug for ClientBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientBody(<redacted>)")
    }
}

/// Changes to a customer's consents, collected together.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    notice_version: String,
    channel: String,
    #[serde(default)]
    choices: Vec<ChoiceBody>,
    #[serde(default)]
    gpc: bool,
    recording_id: Option<String>,
    given_by: Option<String>,
    representative_name: Option<String>,
    client: Option<ClientBody>,
}

impl std::fmt::Debug for RecordBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBody")
            .field("notice_version", &self.notice_version)
            .field("channel", &self.channel)
            .field("choices", &self.choices)
            .field("gpc", &self.gpc)
            .finish_non_exhaustive()
    }
}

impl BodyShape for RecordBody {
    const SHAPE: &'static str = "an object `{\"notice_version\": \"…\", \"channel\": \"web_form\", \
        \"choices\": [{\"purpose\": \"…\", \"state\": \"granted\"|\"denied\", \"options\": {…}}]}`";
}

#[derive(Debug, Serialize)]
pub struct Consents {
    consents: Vec<ConsentView>,
}

#[derive(Debug, Serialize)]
pub struct History {
    history: Vec<ConsentEntryView>,
}

#[derive(Debug, Serialize)]
pub struct Recorded {
    changes: Vec<RecordedChange>,
}

#[derive(Debug, Serialize)]
pub struct RecordedChange {
    #[serde(flatten)]
    change: RecordedConsent,
    /// Where its receipt is downloaded.
    receipt: String,
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// Who the consents are recorded by, which decides what counts as evidence and which
/// channels they may claim.
enum Recorder {
    /// The customer, in their own session: evidence from this request.
    Customer {
        user_agent: Option<String>,
        ip: Option<IpAddr>,
        gpc_header: bool,
    },
    /// Staff or an integration, on the customer's behalf.
    OnBehalf,
}

pub(crate) fn context(principal: Principal, headers: &HeaderMap) -> RequestContext {
    RequestContext {
        principal,
        purpose: String::new(),
        request_id: request_id(headers),
    }
}

fn gpc_header(headers: &HeaderMap) -> bool {
    crate::request::gpc_signal(headers)
}

fn invalid(field: &str, message: String) -> HttpError {
    HttpError(ApiError::new(ErrorCode::InvalidBody, message).with_field(field))
}

/// Turns the body into the core's terms, refusing what the recorder may not claim.
fn collection(body: &RecordBody, recorder: &Recorder) -> Result<Collection, HttpError> {
    let channel = CollectionChannel::parse(&body.channel)
        .filter(|c| *c != CollectionChannel::GpcSignal)
        .ok_or_else(|| {
            invalid(
                "channel",
                "`channel` is one of web_form, app, recorded_call, sms, email, letter".to_owned(),
            )
        })?;
    let given_by = match body.given_by.as_deref() {
        None => GivenBy::Customer,
        Some(g) => GivenBy::parse(g).ok_or_else(|| {
            invalid(
                "given_by",
                "`given_by` is customer, parent or guardian".to_owned(),
            )
        })?,
    };
    let evidence = match (recorder, &body.client) {
        (
            Recorder::Customer {
                user_agent,
                ip,
                gpc_header,
            },
            None,
        ) => {
            if !matches!(channel, CollectionChannel::WebForm | CollectionChannel::App) {
                return Err(invalid(
                    "channel",
                    "a customer records their own choice on `web_form` or `app`".to_owned(),
                ));
            }
            Evidence {
                request_id: None,
                user_agent: user_agent.clone(),
                ip: *ip,
                gpc: *gpc_header || body.gpc,
            }
        }
        (Recorder::Customer { .. }, Some(_)) => {
            return Err(invalid(
                "client",
                "`client` is for relaying a browser's choice; a customer's own request is its evidence"
                    .to_owned(),
            ));
        }
        (Recorder::OnBehalf, client) => {
            let ip = match client.as_ref().and_then(|c| c.ip.as_deref()) {
                None => None,
                Some(text) => Some(text.parse::<IpAddr>().map_err(|_| {
                    invalid(
                        "client.ip",
                        "`client.ip` is an IPv4 or IPv6 address".to_owned(),
                    )
                })?),
            };
            Evidence {
                request_id: None,
                user_agent: client.as_ref().and_then(|c| c.user_agent.clone()),
                ip,
                gpc: body.gpc,
            }
        }
    };
    Ok(Collection {
        channel,
        recording_id: body.recording_id.clone(),
        given_by,
        representative_name: body.representative_name.clone(),
        evidence,
    })
}

fn changes(body: &RecordBody) -> Result<Vec<ConsentChange>, HttpError> {
    body.choices
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let state = ConsentState::parse(&c.state).ok_or_else(|| {
                invalid(
                    &format!("choices[{i}].state"),
                    "`state` is `granted` or `denied`".to_owned(),
                )
            })?;
            Ok(ConsentChange {
                purpose: c.purpose.clone(),
                state,
                options: c.options.clone().into_iter().collect(),
            })
        })
        .collect()
}

async fn record(
    state: &AppState,
    ctx: RequestContext,
    id: &CustomerId,
    body: &RecordBody,
    recorder: &Recorder,
    receipts_at: &str,
) -> Result<Json<Recorded>, HttpError> {
    let mut collection = collection(body, recorder)?;
    collection.evidence.request_id = ctx.request_id.clone();
    let changes = changes(body)?;
    let shown = ShownNotice::resolve(
        state.archive.as_ref(),
        &state.policy,
        &state.notice_version,
        &body.notice_version,
    )
    .await?;
    let recorded = state
        .vault
        .record_consents(&ctx, id, &shown, &collection, &changes)
        .await?;
    Ok(Json(Recorded {
        changes: recorded
            .into_iter()
            .map(|change| RecordedChange {
                receipt: format!("{receipts_at}/{}", change.id),
                change,
            })
            .collect(),
    }))
}

async fn receipt(
    state: &AppState,
    ctx: RequestContext,
    id: &CustomerId,
    entry: &str,
    lang: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, HttpError> {
    let lang = request_lang(lang, headers)?;
    let entry = ConsentId::parse(entry).ok_or_else(|| {
        HttpError(
            ApiError::new(
                ErrorCode::ConsentNotFound,
                "no consent of this customer has this id",
            )
            .with_field("id"),
        )
    })?;
    let receipt = state
        .vault
        .consent_receipt(&ctx, id, &entry, lang, state.archive.as_ref())
        .await?;
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"consent-receipt-{entry}.json\""
    ))
    .map_err(|_| HttpError(ApiError::internal()))?;
    Ok(([(CONTENT_DISPOSITION, disposition)], Json(receipt)).into_response())
}

// --- The customer's own: /v1/account/consents ---------------------------------------------

pub(crate) fn own(customer: &CustomerCaller, headers: &HeaderMap) -> (RequestContext, CustomerId) {
    (
        context(customer.session.principal.clone(), headers),
        customer.session.customer.clone(),
    )
}

/// `GET /v1/account/consents`: each consent purpose, granted, denied or never asked.
pub async fn own_current(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
) -> Result<Json<Consents>, HttpError> {
    let (ctx, id) = own(&customer, &headers);
    Ok(Json(Consents {
        consents: state.vault.consents(&ctx, &id).await?,
    }))
}

/// `POST /v1/account/consents`: the customer's own choices.
pub async fn own_record(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
    ClientAddress(ip): ClientAddress,
    JsonBody(body): JsonBody<RecordBody>,
) -> Result<Json<Recorded>, HttpError> {
    let (ctx, id) = own(&customer, &headers);
    let recorder = Recorder::Customer {
        user_agent: headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        ip,
        gpc_header: gpc_header(&headers),
    };
    record(
        &state,
        ctx,
        &id,
        &body,
        &recorder,
        "/v1/account/consents/receipts",
    )
    .await
}

/// `GET /v1/account/consents/history`, oldest first.
pub async fn own_history(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
) -> Result<Json<History>, HttpError> {
    let (ctx, id) = own(&customer, &headers);
    Ok(Json(History {
        history: state.vault.consent_history(&ctx, &id).await?,
    }))
}

/// `GET /v1/account/consents/receipts/{id}`: the Kantara receipt, as a download.
pub async fn own_receipt(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
    Path(entry): Path<String>,
    Query(query): Query<LangQuery>,
) -> Result<Response, HttpError> {
    let (ctx, id) = own(&customer, &headers);
    receipt(&state, ctx, &id, &entry, query.lang.as_deref(), &headers).await
}

// --- On a customer's behalf: /v1/customers/{id}/consents ----------------------------------

/// `GET /v1/customers/{id}/consents`.
pub async fn current(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
) -> Result<Json<Consents>, HttpError> {
    let ctx = context(caller.0, &headers);
    Ok(Json(Consents {
        consents: state.vault.consents(&ctx, &id).await?,
    }))
}

/// `POST /v1/customers/{id}/consents`: choices collected by staff or relayed by the
/// storefront.
pub async fn record_for(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
    JsonBody(body): JsonBody<RecordBody>,
) -> Result<Json<Recorded>, HttpError> {
    let ctx = context(caller.0, &headers);
    let receipts_at = format!("/v1/customers/{id}/consents/receipts");
    record(&state, ctx, &id, &body, &Recorder::OnBehalf, &receipts_at).await
}

/// `GET /v1/customers/{id}/consents/history`.
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
) -> Result<Json<History>, HttpError> {
    let ctx = context(caller.0, &headers);
    Ok(Json(History {
        history: state.vault.consent_history(&ctx, &id).await?,
    }))
}

/// `GET /v1/customers/{id}/consents/receipts/{receipt}`.
pub async fn receipt_for(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((raw, entry)): Path<(String, String)>,
    Query(query): Query<LangQuery>,
) -> Result<Response, HttpError> {
    let id = CustomerId::parse(&raw).ok_or_else(|| {
        HttpError(
            ApiError::new(ErrorCode::CustomerNotFound, "no customer has this id").with_field("id"),
        )
    })?;
    let ctx = context(caller.0, &headers);
    receipt(&state, ctx, &id, &entry, query.lang.as_deref(), &headers).await
}
