//! The outbox to partners and the disclosure ledger (P4, P15): administrators list messages
//! (never their payloads) and re-drive dead letters; a customer reads their own ledger, and
//! staff or integrations with `consents.read` read a customer's.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::ids::OutboxId;
use custodian_core::outbox::{DisclosureRecord, OutboxStatus};
use custodian_core::vault::OutboxView;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::{Caller, CustomerCaller};
use crate::error::HttpError;
use crate::request::CustomerPath;
use crate::routes::consents::{context, own};

/// The most messages one listing returns.
const LIST_LIMIT: u32 = 500;

#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    status: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Messages {
    messages: Vec<OutboxView>,
}

#[derive(Debug, Serialize)]
pub struct Disclosures {
    /// Releases to partners, through the outbox.
    disclosures: Vec<DisclosureRecord>,
    /// Releases to authorities the law required (a customer sees one once they may be told).
    legal: Vec<custodian_core::legal::LegalRelease>,
}

/// `GET /v1/outbox?status=dead|pending|delivered|dropped` (administrators: `outbox.manage`):
/// the oldest messages in that status (`dead` when not given), without payloads.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(query): Query<StatusQuery>,
) -> Result<Json<Messages>, HttpError> {
    let status = match query.status.as_deref() {
        None => OutboxStatus::Dead,
        Some(s) => OutboxStatus::parse(s).ok_or_else(|| {
            HttpError(
                ApiError::new(
                    ErrorCode::InvalidParameter,
                    "`status` is one of dead, pending, delivered, dropped",
                )
                .with_field("status"),
            )
        })?,
    };
    let ctx = context(caller.0, &headers);
    Ok(Json(Messages {
        messages: state
            .vault
            .outbox_messages(&ctx, status, LIST_LIMIT)
            .await?,
    }))
}

/// `POST /v1/outbox/{id}/redrive` (administrators: `outbox.manage`): a dead letter goes
/// back in the queue, due now, its attempts reset → 204.
pub async fn redrive(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<StatusCode, HttpError> {
    let ctx = context(caller.0, &headers);
    // Checked before the id, so a caller without the operation learns nothing of ids.
    if !state
        .vault
        .may(&ctx.principal, custodian_policy::Operation::OutboxManage)
    {
        return Err(HttpError(
            ApiError::new(
                ErrorCode::OperationNotAllowed,
                "this caller may not perform `outbox.manage`",
            )
            .with_field("operation"),
        ));
    }
    let id = OutboxId::parse(&raw).ok_or_else(|| {
        HttpError(
            ApiError::new(ErrorCode::MessageNotFound, "no outbox message has this id")
                .with_field("id"),
        )
    })?;
    state.vault.redrive(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/customers/{id}/outbox` (`consents.read`): the messages owed or sent to partners
/// about the customer (withdrawals passed on, orders shipped), without payloads.
pub async fn customer(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
) -> Result<Json<Messages>, HttpError> {
    let ctx = context(caller.0, &headers);
    Ok(Json(Messages {
        messages: state.vault.customer_outbox(&ctx, &id).await?,
    }))
}

/// `GET /v1/customers/{id}/disclosures` (`consents.read`): the customer's disclosure ledger.
pub async fn disclosures(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
) -> Result<Json<Disclosures>, HttpError> {
    let ctx = context(caller.0, &headers);
    Ok(Json(Disclosures {
        disclosures: state.vault.disclosures(&ctx, &id).await?,
        legal: state.vault.legal_ledger(&ctx, &id).await?,
    }))
}

/// `GET /v1/account/disclosures`: a signed-in customer's own ledger — who received what of
/// theirs, when, why, and on which consent.
pub async fn own_disclosures(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
) -> Result<Json<Disclosures>, HttpError> {
    let (ctx, id) = own(&customer, &headers);
    Ok(Json(Disclosures {
        disclosures: state.vault.disclosures(&ctx, &id).await?,
        legal: state.vault.legal_ledger(&ctx, &id).await?,
    }))
}
