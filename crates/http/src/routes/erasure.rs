//! Erasure's API (P1): what legal holds keep of an erased customer (for the legal-obligation
//! purpose only), the completion report for the DPO, and partners' confirmations that they
//! erased what they received — signed like our webhooks, with no bearer token.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::HeaderMap;
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::rights::erasure::ErasureReport;
use custodian_core::vault::{ConfirmationView, HeldOrderView};
use serde::Serialize;

use crate::AppState;
use crate::auth::Caller;
use crate::error::HttpError;
use crate::request::{CustomerPath, Purpose};
use crate::routes::customers::context;

/// The header a partner signs its confirmation with.
const SIGNATURE_HEADER: &str = "custodian-signature";

#[derive(Debug, Serialize)]
pub struct Held {
    held: Vec<HeldOrderView>,
}

/// `GET /v1/customers/{id}/held?purpose=legal_obligation` → what legal holds keep of the
/// erased customer, order by order; any other purpose is refused (`legal_hold_purpose_only`).
pub async fn held(
    State(state): State<AppState>,
    caller: Caller,
    purpose: Purpose,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
) -> Result<Json<Held>, HttpError> {
    let ctx = context(caller, purpose, &headers);
    let held = state.vault.read_held(&ctx, &id).await?;
    Ok(Json(Held { held }))
}

/// `GET /v1/customers/{id}/erasure` (the DPO: `requests.manage`) → the completion report of
/// the customer's erasure, each partner's notice as it stands.
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
) -> Result<Json<ErasureReport>, HttpError> {
    let ctx = crate::routes::consents::context(caller.0, &headers);
    Ok(Json(state.vault.erasure_report(&ctx, &id).await?))
}

/// `POST /v1/partners/{partner}/erasure-confirmations` with `{"message_id": "msg_…"}`, the
/// `Custodian-Message-Id` of the erasure notice, signed with the partner's shared secret in
/// `Custodian-Signature` → 200 with the confirmation on record (the first, if sent again).
/// Unsigned or badly signed → 401 `invalid_signature`; an unknown notice → 404.
pub async fn confirm(
    State(state): State<AppState>,
    Path(partner): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ConfirmationView>, HttpError> {
    let id_like = partner.len() <= 64
        && partner
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !id_like {
        return Err(HttpError(
            ApiError::new(ErrorCode::InvalidSignature, "no partner signs with this id")
                .with_field("partner"),
        ));
    }
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    Ok(Json(
        state
            .vault
            .confirm_erasure(&partner, signature, &body)
            .await?,
    ))
}
